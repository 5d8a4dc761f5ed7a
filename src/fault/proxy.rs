//! The `network` fault's built-in TCP proxy.
//!
//! A run routes the target's traffic through one [`Proxy`] from start to end, so turning a toxic on or off never
//! changes where clients connect: the fault only swaps the proxy's [`Toxics`], and rolling it back is [`Proxy::clear`],
//! a single in-memory store that cannot fail. Every connection watches the toxics (a `watch` channel) and re-reads
//! them between chunks and while it waits, so a change reaches open connections at once.

mod pump;
mod spec;
#[cfg(test)]
mod tests;

use std::io;
use std::net::SocketAddr;

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{oneshot, watch};
use tokio::task::{JoinHandle, JoinSet};

use pump::{End, Pump};
use spec::Flow;
pub use spec::{Direction, NetworkSpec, SpecError, Toxics};

/// A TCP proxy in front of one upstream address. Dropping it stops everything too; [`Proxy::shutdown`] also waits.
pub struct Proxy {
    local: SocketAddr,
    toxics: watch::Sender<Toxics>,
    /// Dropping this ends the accept loop, which aborts every connection task.
    stop: oneshot::Sender<()>,
    listener: JoinHandle<()>,
}

impl Proxy {
    /// Listen on `listen` (e.g. `127.0.0.1:0`) and forward every connection to `upstream`, with no toxics yet.
    pub async fn start(listen: SocketAddr, upstream: SocketAddr) -> io::Result<Proxy> {
        let listener = TcpListener::bind(listen).await?;
        let local = listener.local_addr()?;
        let (toxics, _) = watch::channel(Toxics::default());
        let (stop, stopped) = oneshot::channel();
        let listener = tokio::spawn(accept_loop(listener, upstream, toxics.clone(), stopped));
        Ok(Proxy { local, toxics, stop, listener })
    }

    /// Where clients connect.
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// Replace the toxics; new data on every connection, open or new, gets them.
    pub fn set(&self, toxics: Toxics) {
        self.toxics.send_replace(toxics);
    }

    /// Back to a clean pass-through (the rollback). Held bytes are forwarded, not dropped.
    pub fn clear(&self) {
        self.set(Toxics::default());
    }

    /// Stop listening and close every connection, then return.
    pub async fn shutdown(self) {
        let Proxy { stop, listener, .. } = self;
        drop(stop);
        if let Err(e) = listener.await {
            tracing::warn!("proxy accept loop ended abnormally: {e}");
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    upstream: SocketAddr,
    toxics: watch::Sender<Toxics>,
    mut stopped: oneshot::Receiver<()>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = &mut stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((client, _)) => {
                    connections.spawn(serve(client, upstream, toxics.subscribe()));
                }
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning on the error.
                    tracing::debug!("proxy accept failed: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                }
            },
            Some(_) = connections.join_next() => {}
        }
    }
    connections.shutdown().await;
}

/// Carry one client connection to the upstream and back until both sides are done or a toxic ends it.
async fn serve(mut client: TcpStream, upstream: SocketAddr, toxics: watch::Receiver<Toxics>) {
    if toxics.borrow().reset() {
        reset(&client);
        return;
    }
    let mut server = match TcpStream::connect(upstream).await {
        Ok(server) => server,
        Err(e) => {
            // Mirror the refusal: the client sees a reset, as it would connecting to the target directly.
            tracing::debug!("proxy could not reach upstream {upstream}: {e}");
            reset(&client);
            return;
        }
    };
    // Requests and responses are small; Nagle would add delay the scenario did not ask for.
    for stream in [&client, &server] {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!("proxy could not set TCP_NODELAY: {e}");
        }
    }
    let end = {
        let (client_read, client_write) = client.split();
        let (server_read, server_write) = server.split();
        let up = Pump::new(Flow::Up, toxics.clone()).run(client_read, server_write);
        let down = Pump::new(Flow::Down, toxics).run(server_read, client_write);
        tokio::pin!(up, down);
        // A clean close of one way waits for the other; anything else ends both at once.
        tokio::select! {
            end = &mut up => if matches!(end, End::Closed) { down.await } else { end },
            end = &mut down => if matches!(end, End::Closed) { up.await } else { end },
        }
    };
    match end {
        End::Reset => {
            reset(&client);
            reset(&server);
        }
        End::Failed(e) => tracing::debug!("proxied connection failed: {e}"),
        End::Closed | End::Hole | End::Stopped => {}
    }
}

/// Make the coming close an RST (SO_LINGER 0), which is what the reset toxic and a refused upstream look like.
fn reset(stream: &TcpStream) {
    if let Err(e) = stream.set_zero_linger() {
        tracing::debug!("proxy could not set SO_LINGER 0: {e}");
    }
}
