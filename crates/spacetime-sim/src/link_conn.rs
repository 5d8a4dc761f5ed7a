//! One live connection of a [`Link`](super::Link): the per-peer wire format, the pending-request map and the reader
//! and writer tasks.
//!
//! Why this shape: thousands of requests a second share one socket, so a request costs one id from an atomic, one
//! map insert and one channel send; a single writer task batches frames into few writes, and a single reader task
//! completes requests by id. When the reader sees the socket close it closes the map at once, so every waiting and
//! every later request fails with `NotConnected` immediately rather than at its timeout.
//!
//! Ids are matched as integers, but a float id (`1.0`) is accepted too: Godot's own client lost its DAP handshake
//! because GDScript parses JSON numbers as floats, and the simulator must not repeat that failure.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use parking_lot::Mutex;
use serde::Serialize;
use serde_json::Value;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;
use tokio_util::codec::{FramedRead, FramedWrite};

use super::{Inner, LinkError, Peer};
use crate::framing::{ContentLengthCodec, to_body};

type Reply = Result<Value, LinkError>;

pub(super) struct Conn {
    peer: Peer,
    next_id: AtomicI64,
    /// `None` once the connection is closed: nothing can be added to a dead connection.
    pending: Mutex<Option<HashMap<i64, oneshot::Sender<Reply>>>>,
    frames: mpsc::UnboundedSender<Bytes>,
}

/// The tasks that keep a connection alive; each ends with the reason the connection is no longer usable.
/// Dropping the set aborts them, which closes the socket.
pub(super) type Tasks = JoinSet<String>;

impl Conn {
    /// Start the reader and writer on `stream`. The returned receiver fires when a DAP `initialized` event arrives.
    pub(super) fn start(peer: Peer, stream: TcpStream, link: Arc<Inner>) -> (Arc<Conn>, Tasks, oneshot::Receiver<()>) {
        let _ = stream.set_nodelay(true);
        let (read, write) = stream.into_split();
        let (frames, queue) = mpsc::unbounded_channel();
        let conn =
            Arc::new(Conn { peer, next_id: AtomicI64::new(1), pending: Mutex::new(Some(HashMap::new())), frames });
        let (initialized_tx, initialized_rx) = oneshot::channel();
        let mut tasks = JoinSet::new();
        tasks.spawn(write_frames(FramedWrite::new(write, ContentLengthCodec::default()), queue));
        let reader = conn.clone();
        tasks.spawn(async move {
            let why =
                reader.read_frames(FramedRead::new(read, ContentLengthCodec::default()), link, initialized_tx).await;
            reader.close();
            why
        });
        (conn, tasks, initialized_rx)
    }

    /// Send one request and wait for its answer (DAP `body`, LSP `result`) at most `timeout`.
    pub(super) async fn call(&self, command: &str, arguments: &Value, timeout: Duration) -> Reply {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let frame = match self.peer {
            Peer::Dap => to_body(&DapRequest { seq: id, r#type: "request", command, arguments }),
            Peer::Lsp => to_body(&LspRequest { jsonrpc: "2.0", id, method: command, params: arguments }),
        }
        .map_err(|e| LinkError::Failed(e.to_string()))?;
        let (tx, rx) = oneshot::channel();
        match self.pending.lock().as_mut() {
            Some(map) => map.insert(id, tx),
            None => return Err(LinkError::NotConnected),
        };
        // Removes the entry if the caller gives up (timeout or a dropped future) before the answer arrives.
        let _guard = Forget { conn: self, id };
        if self.frames.send(frame).is_err() {
            return Err(LinkError::NotConnected);
        }
        match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(reply)) => reply,
            Ok(Err(_closed)) => Err(LinkError::NotConnected),
            Err(_elapsed) => Err(LinkError::Timeout),
        }
    }

    /// Send an LSP notification (no answer expected).
    pub(super) fn notify(&self, method: &str, params: &Value) -> Result<(), LinkError> {
        let frame = to_body(&LspNotification { jsonrpc: "2.0", method, params })
            .map_err(|e| LinkError::Failed(e.to_string()))?;
        self.frames.send(frame).map_err(|_| LinkError::NotConnected)
    }

    /// Fail every waiting request and refuse new ones.
    pub(super) fn close(&self) {
        if let Some(map) = self.pending.lock().take() {
            for (_, waiter) in map {
                let _ = waiter.send(Err(LinkError::NotConnected));
            }
        }
    }

    async fn read_frames(
        &self,
        mut frames: FramedRead<tokio::net::tcp::OwnedReadHalf, ContentLengthCodec>,
        link: Arc<Inner>,
        initialized: oneshot::Sender<()>,
    ) -> String {
        let mut initialized = Some(initialized);
        loop {
            let frame = match frames.next().await {
                None => return "Connection closed by peer".into(),
                Some(Err(e)) => return format!("Protocol error: {e}"),
                Some(Ok(frame)) => frame,
            };
            let msg: Value = match serde_json::from_slice(&frame) {
                Ok(msg) => msg,
                Err(e) => return format!("Protocol error: bad JSON: {e}"),
            };
            link.touch();
            match self.peer {
                Peer::Dap => self.dispatch_dap(msg, &mut initialized),
                Peer::Lsp => self.dispatch_lsp(msg),
            }
        }
    }

    fn dispatch_dap(&self, mut msg: Value, initialized: &mut Option<oneshot::Sender<()>>) {
        match msg["type"].as_str() {
            Some("response") => {
                let reply = if msg["success"] == true {
                    Ok(msg["body"].take())
                } else {
                    let message = msg["message"].as_str().or(msg["body"]["error"]["format"].as_str());
                    Err(LinkError::Failed(message.unwrap_or("request failed").to_string()))
                };
                self.complete(&msg["request_seq"], reply);
            }
            Some("event") if msg["event"] == "initialized" => {
                if let Some(tx) = initialized.take() {
                    let _ = tx.send(());
                }
            }
            // Other events (`output`, `stopped`, ...) and reverse requests are not used by the bridge.
            _ => {}
        }
    }

    fn dispatch_lsp(&self, mut msg: Value) {
        // Server-to-client requests and notifications carry a `method`; only responses complete our requests.
        if msg.get("method").is_some() {
            return;
        }
        let reply = match msg.get("error") {
            Some(err) => Err(LinkError::Failed(err["message"].as_str().unwrap_or("request failed").to_string())),
            None => Ok(msg["result"].take()),
        };
        self.complete(&msg["id"], reply);
    }

    fn complete(&self, id: &Value, reply: Reply) {
        let Some(id) = id.as_i64().or_else(|| id.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)) else {
            return;
        };
        let waiter = self.pending.lock().as_mut().and_then(|map| map.remove(&id));
        if let Some(waiter) = waiter {
            let _ = waiter.send(reply);
        }
    }
}

struct Forget<'a> {
    conn: &'a Conn,
    id: i64,
}

impl Drop for Forget<'_> {
    fn drop(&mut self) {
        if let Some(map) = self.conn.pending.lock().as_mut() {
            map.remove(&self.id);
        }
    }
}

/// Write queued frames, flushing only when the queue is momentarily empty (many requests, few syscalls).
async fn write_frames(
    mut sink: FramedWrite<tokio::net::tcp::OwnedWriteHalf, ContentLengthCodec>,
    mut queue: mpsc::UnboundedReceiver<Bytes>,
) -> String {
    while let Some(frame) = queue.recv().await {
        let mut next = Some(frame);
        while let Some(frame) = next {
            if let Err(e) = sink.feed(frame).await {
                return format!("Write failed: {e}");
            }
            next = queue.try_recv().ok();
        }
        if let Err(e) = sink.flush().await {
            return format!("Write failed: {e}");
        }
    }
    "Link closed".into()
}

#[derive(Serialize)]
struct DapRequest<'a> {
    seq: i64,
    r#type: &'static str,
    command: &'a str,
    arguments: &'a Value,
}

#[derive(Serialize)]
struct LspRequest<'a> {
    jsonrpc: &'static str,
    id: i64,
    method: &'a str,
    params: &'a Value,
}

#[derive(Serialize)]
struct LspNotification<'a> {
    jsonrpc: &'static str,
    method: &'a str,
    params: &'a Value,
}
