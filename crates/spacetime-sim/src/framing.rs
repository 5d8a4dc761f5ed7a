//! The wire both peers speak: `Content-Length: N\r\n\r\n<json>` frames over TCP (DAP and LSP alike), and the accept
//! loop the DAP and LSP servers share.
//!
//! Why a `tokio_util` codec: the same decoder serves the servers and the bridge's client, partial reads and several
//! frames per read are handled once, and `Framed` batches writes. The codec yields raw bodies (`Bytes`) rather than
//! JSON so each side parses into what it needs and a framing fault (which desynchronises the stream, so the
//! connection must close) stays distinct from one bad message (which a server can answer).
//!
//! Choices against Godot's own servers: Godot reads only a single `Content-Length` line; we accept any header order
//! and ignore others (`Content-Type`), as the LSP spec allows, because a stricter parser would only make the
//! simulator fail where real clients succeed. Godot's 4 MiB buffer becomes our body limit: a bigger frame is an error.

use std::future::Future;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use futures_util::{FutureExt, SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_util::codec::{Decoder, Encoder, Framed};

/// Largest body accepted (Godot's DAP and LSP buffers are 4 MiB).
pub(crate) const MAX_BODY: usize = 4 * 1024 * 1024;
/// A header block longer than this without its blank line is garbage, not a slow sender.
const MAX_HEADER: usize = 8 * 1024;

#[derive(Debug, thiserror::Error)]
pub(crate) enum FrameError {
    #[error("frame of {0} bytes exceeds the {MAX_BODY}-byte limit")]
    TooLong(usize),
    #[error("bad frame header: {0}")]
    BadHeader(String),
    #[error("bad JSON: {0}")]
    Json(#[from] serde_json::Error),
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// Decodes and encodes `Content-Length` frames. The state remembers a parsed header while the body is still
/// arriving, and how far an incomplete header was already searched, so a slow sender costs linear work.
#[derive(Debug, Default)]
pub(crate) struct ContentLengthCodec {
    body_len: Option<usize>,
    header_scanned: usize,
}

impl Decoder for ContentLengthCodec {
    type Item = Bytes;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        let len = match self.body_len {
            Some(len) => len,
            None => {
                let from = self.header_scanned.saturating_sub(3);
                let Some(end) = src[from..].windows(4).position(|w| w == b"\r\n\r\n").map(|i| from + i) else {
                    if src.len() > MAX_HEADER {
                        return Err(FrameError::BadHeader("no blank line after the headers".into()));
                    }
                    self.header_scanned = src.len();
                    return Ok(None);
                };
                self.header_scanned = 0;
                let len = parse_headers(&src[..end])?;
                src.advance(end + 4);
                self.body_len = Some(len);
                len
            }
        };
        if src.len() < len {
            src.reserve(len - src.len());
            return Ok(None);
        }
        self.body_len = None;
        Ok(Some(src.split_to(len).freeze()))
    }
}

fn parse_headers(block: &[u8]) -> Result<usize, FrameError> {
    let text = std::str::from_utf8(block).map_err(|_| FrameError::BadHeader("not UTF-8".into()))?;
    let mut len = None;
    for line in text.split("\r\n") {
        let (name, value) =
            line.split_once(':').ok_or_else(|| FrameError::BadHeader(format!("no colon in {line:?}")))?;
        if name.trim().eq_ignore_ascii_case("content-length") {
            let n: usize =
                value.trim().parse().map_err(|_| FrameError::BadHeader(format!("Content-Length {value:?}")))?;
            len = Some(n);
        }
    }
    let len = len.ok_or_else(|| FrameError::BadHeader("no Content-Length".into()))?;
    if len > MAX_BODY {
        return Err(FrameError::TooLong(len));
    }
    Ok(len)
}

impl Encoder<Bytes> for ContentLengthCodec {
    type Error = FrameError;

    fn encode(&mut self, body: Bytes, dst: &mut BytesMut) -> Result<(), FrameError> {
        if body.len() > MAX_BODY {
            return Err(FrameError::TooLong(body.len()));
        }
        let header = format!("Content-Length: {}\r\n\r\n", body.len());
        dst.reserve(header.len() + body.len());
        dst.put_slice(header.as_bytes());
        dst.put_slice(&body);
        Ok(())
    }
}

/// Serialize one message into a frame body.
pub(crate) fn to_body<T: serde::Serialize + ?Sized>(msg: &T) -> Result<Bytes, FrameError> {
    Ok(serde_json::to_vec(msg)?.into())
}

/// One server-side connection. Replies are queued and flushed only when no further request is already buffered, so
/// a client that pipelines many requests gets its answers in few writes (the bridge multiplexes its load this way).
pub(crate) struct ServerConn {
    framed: Framed<TcpStream, ContentLengthCodec>,
}

impl ServerConn {
    fn new(stream: TcpStream) -> Self {
        // Latency over throughput: replies are small and already batched by `next`.
        let _ = stream.set_nodelay(true);
        Self { framed: Framed::new(stream, ContentLengthCodec::default()) }
    }

    /// The next frame body; `None` when the client closed the connection.
    pub(crate) async fn next(&mut self) -> Option<Result<Bytes, FrameError>> {
        if let Some(ready) = self.framed.next().now_or_never() {
            return ready;
        }
        if let Err(e) = self.framed.flush().await {
            return Some(Err(e));
        }
        self.framed.next().await
    }

    /// Queue one reply (written at the next flush).
    pub(crate) async fn send(&mut self, body: Bytes) -> Result<(), FrameError> {
        self.framed.feed(body).await
    }

    /// Flush what is queued and close our side, as a clean `disconnect`/`exit` does.
    pub(crate) async fn close(mut self) -> Result<(), FrameError> {
        self.framed.close().await
    }
}

/// Accept clients forever, at most `max_clients` at once (Godot serves 8; one more is accepted and closed at once).
/// Connection tasks live in a `JoinSet` owned by this future: aborting the server closes every live connection,
/// exactly what a killed peer looks like to its clients.
pub(crate) async fn serve_clients<F, Fut>(listener: TcpListener, max_clients: usize, handle: F) -> anyhow::Result<()>
where
    F: Fn(ServerConn) -> Fut,
    Fut: Future<Output = Result<(), FrameError>> + Send + 'static,
{
    let mut live = JoinSet::new();
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    if live.len() >= max_clients {
                        tracing::warn!(%peer, max_clients, "too many clients; closing the new connection");
                        continue;
                    }
                    let conn = handle(ServerConn::new(stream));
                    live.spawn(async move {
                        if let Err(e) = conn.await {
                            tracing::debug!(%peer, "connection ended: {e}");
                        }
                    });
                }
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning on a listener that cannot accept.
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                }
            },
            Some(_) = live.join_next(), if !live.is_empty() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;
    use tokio_util::codec::FramedRead;

    fn decode_all(input: &[u8]) -> Vec<Result<Bytes, String>> {
        let mut codec = ContentLengthCodec::default();
        let mut buf = BytesMut::new();
        let mut out = Vec::new();
        // Feed one byte at a time: every split point is exercised.
        for b in input {
            buf.put_u8(*b);
            loop {
                match codec.decode(&mut buf) {
                    Ok(Some(body)) => out.push(Ok(body)),
                    Ok(None) => break,
                    Err(e) => return vec![Err(e.to_string())],
                }
            }
        }
        out
    }

    #[test]
    fn round_trip_and_byte_by_byte_split_reads() {
        let mut codec = ContentLengthCodec::default();
        let mut wire = BytesMut::new();
        for body in [&br#"{"seq":1}"#[..], br#"{"a":"\u00e9"}"#, b"{}"] {
            codec.encode(Bytes::copy_from_slice(body), &mut wire).unwrap();
        }
        let got: Vec<_> = decode_all(&wire).into_iter().map(Result::unwrap).collect();
        assert_eq!(got, vec![&br#"{"seq":1}"#[..], br#"{"a":"\u00e9"}"#, b"{}"]);
    }

    #[test]
    fn extra_headers_in_any_case_are_tolerated() {
        let input = b"Content-Type: application/vscode-jsonrpc; charset=utf-8\r\ncontent-length: 2\r\n\r\n{}";
        assert_eq!(decode_all(input), vec![Ok(Bytes::from_static(b"{}"))]);
    }

    #[test]
    fn absurd_lengths_and_garbage_are_errors() {
        let too_long = format!("Content-Length: {}\r\n\r\n", MAX_BODY + 1);
        assert!(decode_all(too_long.as_bytes())[0].as_ref().unwrap_err().contains("exceeds"));
        assert!(decode_all(b"Content-Type: x\r\n\r\n{}")[0].as_ref().unwrap_err().contains("no Content-Length"));
        assert!(decode_all(b"Content-Length: -3\r\n\r\n")[0].is_err());
        assert!(decode_all(&[b'x'; MAX_HEADER + 1])[0].is_err());
    }

    #[tokio::test]
    async fn decodes_frames_split_across_tcp_writes() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let writer = tokio::spawn(async move {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.set_nodelay(true).unwrap();
            for part in [&b"Content-Len"[..], b"gth: 7\r\n\r", b"\n{\"a\"", b":1}Content-Length: 2\r\n\r\n{}"] {
                s.write_all(part).await.unwrap();
                s.flush().await.unwrap();
                tokio::time::sleep(std::time::Duration::from_millis(5)).await;
            }
        });
        let (stream, _) = listener.accept().await.unwrap();
        let mut frames = FramedRead::new(stream, ContentLengthCodec::default());
        assert_eq!(frames.next().await.unwrap().unwrap(), Bytes::from_static(b"{\"a\":1}"));
        assert_eq!(frames.next().await.unwrap().unwrap(), Bytes::from_static(b"{}"));
        writer.await.unwrap();
        assert!(frames.next().await.is_none(), "EOF after the writer closes");
    }
}
