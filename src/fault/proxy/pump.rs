//! One direction of one proxied connection: read chunks, hold them as the toxics say, write them in order.
//!
//! The pump re-reads the toxics whenever they change, even while it waits to read or write, so a toxic switched on
//! or off acts on open connections at once. Held bytes are never dropped when a toxic is removed: their due times
//! are pulled in to what the new toxics allow (toxiproxy's latency toxic forwards on interrupt for the same reason).
//! A blackhole is the one toxic that loses bytes (read and discarded, as in toxiproxy); the connection then ends
//! when it is lifted, because a stream with a hole in it must not be carried on.
//! With no toxic the loop is a plain read → write with one reused buffer and no timers.

use std::collections::VecDeque;
use std::io;

use bytes::{Buf, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio::time::{Instant, sleep_until};

use super::spec::{Flow, Toxics};

/// Bytes per read; also the unit the buffer is reclaimed in.
const CHUNK: usize = 16 * 1024;
/// Most bytes one direction holds (under latency or bandwidth) before it stops reading and lets TCP push back.
const MAX_HELD: usize = 256 * 1024;

/// How a direction ended; anything but `Closed` ends the whole connection.
#[derive(Debug)]
pub(super) enum End {
    /// EOF read, everything held written, the close passed on.
    Closed,
    /// The reset toxic is on: the connection must be torn down with RST.
    Reset,
    /// A blackhole discarded bytes and has been lifted: the stream has a hole and must not carry on.
    Hole,
    /// The proxy is shutting down.
    Stopped,
    Failed(io::Error),
}

struct Held {
    due: Instant,
    data: Bytes,
}

pub(super) struct Pump {
    flow: Flow,
    toxics: watch::Receiver<Toxics>,
    held: VecDeque<Held>,
    held_bytes: usize,
    buf: BytesMut,
    /// When the bandwidth cap lets the next byte go.
    link_free: Instant,
    eof_at: Option<Instant>,
    lost_bytes: bool,
}

impl Pump {
    pub(super) fn new(flow: Flow, toxics: watch::Receiver<Toxics>) -> Pump {
        Pump {
            flow,
            toxics,
            held: VecDeque::new(),
            held_bytes: 0,
            buf: BytesMut::new(),
            link_free: Instant::now(),
            eof_at: None,
            lost_bytes: false,
        }
    }

    pub(super) async fn run(mut self, mut from: impl AsyncRead + Unpin, mut to: impl AsyncWrite + Unpin) -> End {
        loop {
            let toxics = *self.toxics.borrow_and_update();
            if toxics.reset() {
                return End::Reset;
            }
            let leg = *toxics.leg(self.flow);
            if self.lost_bytes && !leg.blackhole {
                return End::Hole;
            }
            if leg.blackhole && !self.held.is_empty() {
                self.held.clear();
                self.held_bytes = 0;
                self.lost_bytes = true;
            }
            if let Some(eof_at) = self.eof_at.filter(|_| self.held.is_empty()) {
                let close_at = eof_at + leg.slow_close;
                if close_at <= Instant::now() {
                    return match to.shutdown().await {
                        Ok(()) => End::Closed,
                        Err(e) => End::Failed(e),
                    };
                }
                tokio::select! {
                    changed = self.toxics.changed() => if changed.is_err() { return End::Stopped },
                    () = sleep_until(close_at) => {}
                }
                continue;
            }
            // The head chunk goes when it is due and the link is free.
            let head = self.held.front().map(|h| {
                let due = if leg.kbps.is_some() { h.due.max(self.link_free) } else { h.due };
                let len = h.data.len().min(leg.max_write());
                (due, &h.data[..len])
            });
            let may_read = self.eof_at.is_none() && self.held_bytes < MAX_HELD;
            if may_read {
                self.buf.reserve(CHUNK);
            }
            tokio::select! {
                biased;
                changed = self.toxics.changed() => {
                    if changed.is_err() {
                        return End::Stopped;
                    }
                    let latest = Instant::now() + self.toxics.borrow().leg(self.flow).max_delay();
                    self.held.iter_mut().for_each(|h| h.due = h.due.min(latest));
                }
                written = write_when_due(&mut to, head), if head.is_some() => match written {
                    Ok(0) => return End::Failed(io::ErrorKind::WriteZero.into()),
                    Ok(n) => self.wrote(n, leg.transmit_time(n)),
                    Err(e) => return End::Failed(e),
                },
                read = from.read_buf(&mut self.buf), if may_read => match read {
                    Ok(0) => self.eof_at = Some(Instant::now()),
                    Ok(_) if leg.blackhole => {
                        self.buf.clear();
                        self.lost_bytes = true;
                    }
                    Ok(_) => self.hold(leg.delay()),
                    Err(e) => return End::Failed(e),
                },
            }
        }
    }

    /// Queue what was just read; a chunk is never due before the one ahead of it, so jitter cannot reorder bytes.
    fn hold(&mut self, delay: std::time::Duration) {
        let data = self.buf.split().freeze();
        let mut due = Instant::now() + delay;
        if let Some(last) = self.held.back() {
            due = due.max(last.due);
        }
        self.held_bytes += data.len();
        self.held.push_back(Held { due, data });
    }

    fn wrote(&mut self, n: usize, link_time: Option<std::time::Duration>) {
        if let Some(t) = link_time {
            self.link_free = self.link_free.max(Instant::now()) + t;
        }
        self.held_bytes -= n;
        let head = self.held.front_mut().expect("a write needs a held chunk");
        head.data.advance(n);
        if head.data.is_empty() {
            self.held.pop_front();
        }
    }
}

/// Wait for `due` (no timer when it has passed, the pass-through case) and make one write; cancel-safe.
async fn write_when_due(to: &mut (impl AsyncWrite + Unpin), head: Option<(Instant, &[u8])>) -> io::Result<usize> {
    let Some((due, bytes)) = head else { return Ok(0) };
    if due > Instant::now() {
        sleep_until(due).await;
    }
    to.write(bytes).await
}
