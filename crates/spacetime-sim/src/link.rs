//! The bridge's connection manager for one peer (the debug adapter or the language server): connects, performs the
//! handshake, checks health, backs off and reconnects, and multiplexes the bridge's requests over one connection.
//!
//! The state machine is the real bridge's (legacy `/status` numbering): `Connecting` on start and on
//! [`Link::connect`]; `Connected` after the handshake; on any failure `Reconnecting` with waits of 1, 2, 4, 8 and
//! 16 s (`retry_count` counts them), then `Error` until [`Link::connect`]. [`Link::disconnect`] parks it in
//! `Disconnected`. Why these choices:
//! - One supervisor task per link owns every transition, so there is a single writer of the state machine. The
//!   public calls (`connect`, `disconnect`) also write the state synchronously, so `/status` read right after
//!   `POST /disconnect` already shows it; an epoch counter keeps a supervisor step that started before such a call
//!   from overwriting it afterwards.
//! - A dead peer is noticed two ways: the reader task sees the socket close (a killed process: at once), and a health
//!   request every 5 s must be answered within 5 s (a hung process). Any answer counts, an error included: the check
//!   asks "is it alive", not "is it right". DAP uses `threads` (cheap, answered by Godot); LSP uses an unknown
//!   `$/` method, which a compliant server must answer with `MethodNotFound`.
//! - `last_error` is cleared on a successful connection: a connected service showing a stale error misleads whoever
//!   reads `/status` during an incident.
//! - `disconnect` closes the socket without a DAP `disconnect`/LSP `shutdown` exchange: it must take effect at once,
//!   even against a hung peer.

#[path = "link_conn.rs"]
mod conn;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::api::ServiceState;
use conn::Conn;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Peer {
    Dap,
    Lsp,
}

impl Peer {
    fn health_check(self) -> (&'static str, Value) {
        match self {
            Peer::Dap => ("threads", json!({})),
            Peer::Lsp => ("$/spacetime/healthCheck", json!({})),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LinkStatus {
    pub state: ServiceState,
    pub last_activity: f64,
    pub retry_count: u32,
    pub last_error: Option<String>,
    pub port: u16,
}

#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("not connected")]
    NotConnected,
    #[error("timed out")]
    Timeout,
    #[error("{0}")]
    Failed(String),
}

/// The link's clock: the real bridge's values by default, shortened by tests.
#[derive(Debug, Clone)]
pub(crate) struct Timings {
    pub connect_timeout: Duration,
    pub handshake_timeout: Duration,
    pub health_interval: Duration,
    pub health_timeout: Duration,
    pub request_timeout: Duration,
    pub backoff: Vec<Duration>,
}

impl Default for Timings {
    fn default() -> Self {
        Self {
            connect_timeout: Duration::from_secs(3),
            handshake_timeout: Duration::from_secs(3),
            health_interval: Duration::from_secs(5),
            health_timeout: Duration::from_secs(5),
            request_timeout: Duration::from_secs(10),
            backoff: [1, 2, 4, 8, 16].map(Duration::from_secs).to_vec(),
        }
    }
}

#[derive(Clone)]
pub struct Link {
    handle: Arc<Handle>,
}

/// Dropping the last `Link` drops the command sender, which ends the supervisor and with it the connection.
struct Handle {
    inner: Arc<Inner>,
    commands: mpsc::UnboundedSender<Command>,
}

enum Command {
    Connect,
    Disconnect,
}

struct Inner {
    peer: Peer,
    addr: SocketAddr,
    timings: Timings,
    created: Instant,
    /// Seconds since `created` (f64 bits): updated per received frame, so kept out of the mutex.
    last_activity: AtomicU64,
    shared: Mutex<Shared>,
}

struct Shared {
    state: ServiceState,
    retry_count: u32,
    last_error: Option<String>,
    /// Bumped by `connect`/`disconnect`; supervisor writes carry the epoch they started in.
    epoch: u64,
    conn: Option<Arc<Conn>>,
}

impl Inner {
    fn touch(&self) {
        self.last_activity.store(self.created.elapsed().as_secs_f64().to_bits(), Ordering::Relaxed);
    }

    /// Apply `f` unless `connect`/`disconnect` was called since the step that began in `epoch`.
    fn update(&self, epoch: u64, f: impl FnOnce(&mut Shared)) -> bool {
        let mut shared = self.shared.lock();
        let current = shared.epoch == epoch;
        if current {
            f(&mut shared);
        }
        current
    }
}

impl Link {
    /// Start managing the connection to `addr`; connecting begins at once in the background.
    pub fn spawn(peer: Peer, addr: SocketAddr) -> Link {
        Self::spawn_with(peer, addr, Timings::default())
    }

    pub(crate) fn spawn_with(peer: Peer, addr: SocketAddr, timings: Timings) -> Link {
        let inner = Arc::new(Inner {
            peer,
            addr,
            timings,
            created: Instant::now(),
            last_activity: AtomicU64::new(0f64.to_bits()),
            shared: Mutex::new(Shared {
                state: ServiceState::Connecting,
                retry_count: 0,
                last_error: None,
                epoch: 0,
                conn: None,
            }),
        });
        let (commands, rx) = mpsc::unbounded_channel();
        tokio::spawn(supervise(inner.clone(), rx));
        Link { handle: Arc::new(Handle { inner, commands }) }
    }

    pub fn status(&self) -> LinkStatus {
        let inner = &self.handle.inner;
        let shared = inner.shared.lock();
        LinkStatus {
            state: shared.state,
            last_activity: f64::from_bits(inner.last_activity.load(Ordering::Relaxed)),
            retry_count: shared.retry_count,
            last_error: shared.last_error.clone(),
            port: inner.addr.port(),
        }
    }

    /// Reset the backoff and connect now, unless already connected.
    pub fn connect(&self) {
        {
            let mut shared = self.handle.inner.shared.lock();
            if shared.state == ServiceState::Connected {
                return;
            }
            shared.epoch += 1;
            shared.state = ServiceState::Connecting;
            shared.retry_count = 0;
        }
        let _ = self.handle.commands.send(Command::Connect);
    }

    /// Close the connection and stay `Disconnected` until [`Link::connect`].
    pub fn disconnect(&self) {
        let conn = {
            let mut shared = self.handle.inner.shared.lock();
            shared.epoch += 1;
            shared.state = ServiceState::Disconnected;
            shared.retry_count = 0;
            shared.conn.take()
        };
        if let Some(conn) = conn {
            conn.close();
        }
        let _ = self.handle.commands.send(Command::Disconnect);
    }

    /// Forward one request (DAP command or LSP method); the answer is the DAP `body` or the LSP `result`.
    pub async fn request(&self, command: &str, arguments: Value) -> Result<Value, LinkError> {
        let inner = &self.handle.inner;
        let conn = {
            let shared = inner.shared.lock();
            match (&shared.conn, shared.state) {
                (Some(conn), ServiceState::Connected) => conn.clone(),
                _ => return Err(LinkError::NotConnected),
            }
        };
        conn.call(command, &arguments, inner.timings.request_timeout).await
    }
}

/// The one task that drives the state machine until every `Link` is dropped.
async fn supervise(inner: Arc<Inner>, mut commands: mpsc::UnboundedReceiver<Command>) {
    let mut epoch = 0;
    let mut active = true;
    let mut retries = 0;
    // A command restarts the cycle: from the epoch it set, connecting or parked, with a fresh backoff.
    macro_rules! steer {
        ($command:expr) => {{
            let Some(command) = $command else { return };
            epoch = inner.shared.lock().epoch;
            active = matches!(command, Command::Connect);
            retries = 0;
            continue;
        }};
    }
    loop {
        if !active {
            steer!(commands.recv().await);
        }
        let ended = tokio::select! {
            ended = session(&inner, epoch) => ended,
            command = commands.recv() => steer!(command),
        };
        if ended.was_connected {
            retries = 0;
        }
        let Some(delay) = inner.timings.backoff.get(retries).copied() else {
            inner.update(epoch, |s| {
                s.state = ServiceState::Error;
                s.last_error = Some(ended.why);
            });
            active = false;
            continue;
        };
        retries += 1;
        inner.update(epoch, |s| {
            s.state = ServiceState::Reconnecting;
            s.retry_count = u32::try_from(retries).unwrap_or(u32::MAX);
            s.last_error = Some(ended.why);
        });
        tokio::select! {
            () = tokio::time::sleep(delay) => {}
            command = commands.recv() => steer!(command),
        }
    }
}

/// Why a session ended, and whether it had reached `Connected` (which restarts the backoff sequence).
struct Ended {
    was_connected: bool,
    why: String,
}

/// One connection from TCP connect to its end. Never returns while the connection is healthy.
async fn session(inner: &Arc<Inner>, epoch: u64) -> Ended {
    let failed = |why: String| Ended { was_connected: false, why };
    let t = &inner.timings;
    let stream = match tokio::time::timeout(t.connect_timeout, TcpStream::connect(inner.addr)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::ConnectionRefused => return failed("Connection refused".into()),
        Ok(Err(e)) => return failed(e.to_string()),
        Err(_) => return failed("Connection timed out".into()),
    };
    let (conn, mut tasks, initialized) = Conn::start(inner.peer, stream, inner.clone());
    let _teardown = Teardown { inner, conn: &conn };
    let handshake = tokio::time::timeout(t.handshake_timeout, handshake(inner.peer, &conn, initialized, t));
    tokio::select! {
        done = handshake => match done {
            Ok(Ok(())) => {}
            Ok(Err(why)) => return failed(why),
            Err(_) => return failed("Handshake timed out".into()),
        },
        why = tasks.join_next() => return failed(ended(why)),
    }
    inner.touch();
    let installed = inner.update(epoch, |s| {
        s.state = ServiceState::Connected;
        s.retry_count = 0;
        s.last_error = None;
        s.conn = Some(conn.clone());
    });
    if !installed {
        return failed("superseded by connect or disconnect".into());
    }
    let (command, arguments) = inner.peer.health_check();
    let mut health = tokio::time::interval_at(Instant::now() + t.health_interval, t.health_interval);
    let lost = |why: String| Ended { was_connected: true, why };
    loop {
        tokio::select! {
            why = tasks.join_next() => return lost(ended(why)),
            _ = health.tick() => match conn.call(command, &arguments, t.health_timeout).await {
                Ok(_) | Err(LinkError::Failed(_)) => {}
                Err(LinkError::Timeout) => return lost("Health check timed out".into()),
                Err(LinkError::NotConnected) => return lost(ended(tasks.join_next().await)),
            },
        }
    }
}

async fn handshake(
    peer: Peer,
    conn: &Conn,
    initialized: tokio::sync::oneshot::Receiver<()>,
    t: &Timings,
) -> Result<(), String> {
    let failed = |e: LinkError| format!("Handshake failed: {e}");
    match peer {
        Peer::Dap => {
            let args = json!({
                "clientID": "spacetime-drill", "clientName": "spacetime-drill", "adapterID": "godot",
                "linesStartAt1": true, "columnsStartAt1": true, "pathFormat": "path",
            });
            conn.call("initialize", &args, t.handshake_timeout).await.map_err(failed)?;
            initialized.await.map_err(|_| "Connection closed before the initialized event".to_string())
        }
        Peer::Lsp => {
            let args = json!({"processId": std::process::id(), "rootUri": null, "capabilities": {}});
            conn.call("initialize", &args, t.handshake_timeout).await.map_err(failed)?;
            conn.notify("initialized", &json!({})).map_err(failed)
        }
    }
}

fn ended(task: Option<Result<String, tokio::task::JoinError>>) -> String {
    match task {
        Some(Ok(why)) => why,
        Some(Err(e)) => format!("Connection task failed: {e}"),
        None => "Connection closed".into(),
    }
}

/// However a session ends (failure, or dropped by a command), its waiters fail at once and `request` stops using it.
struct Teardown<'a> {
    inner: &'a Inner,
    conn: &'a Arc<Conn>,
}

impl Drop for Teardown<'_> {
    fn drop(&mut self) {
        self.conn.close();
        let mut shared = self.inner.shared.lock();
        if shared.conn.as_ref().is_some_and(|c| Arc::ptr_eq(c, self.conn)) {
            shared.conn = None;
        }
    }
}

#[cfg(test)]
#[path = "link_tests.rs"]
mod tests;
