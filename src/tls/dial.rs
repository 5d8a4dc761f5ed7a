//! One connection to a target URL, plain or TLS: what the load engines, the `/status` probe and the telemetry client
//! all open.

use std::io;
use std::sync::Arc;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_util::either::Either;

use super::{TlsOptions, client_config};
use crate::url::ServiceUrl;

/// A connection to the target: plain TCP or TLS over it.
pub type Stream = Either<TcpStream, tokio_rustls::client::TlsStream<TcpStream>>;

/// Where and how to connect for one URL: TCP to `host:port`, then TLS with the URL's host as server name (an IP
/// address is checked against the certificate's IP SANs) when the URL is `https`/`wss`.
#[derive(Clone)]
pub struct Dialer {
    addr: String,
    tls: Option<(TlsConnector, ServerName<'static>)>,
}

impl std::fmt::Debug for Dialer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dialer").field("addr", &self.addr).field("tls", &self.tls.as_ref().map(|t| &t.1)).finish()
    }
}

impl Dialer {
    /// `config` is the run's; a TLS URL without one gets the defaults (system roots), so a hand-built plan works.
    pub fn new(url: &ServiceUrl, config: Option<&Arc<ClientConfig>>) -> anyhow::Result<Dialer> {
        let tls = if url.secure {
            let config = match config {
                Some(c) => c.clone(),
                None => client_config(&TlsOptions::default())?,
            };
            let name = ServerName::try_from(url.host.clone())
                .map_err(|e| anyhow::anyhow!("{}: {e}; a TLS server name must be a DNS name or IP address", url))?;
            Some((TlsConnector::from(config), name))
        } else {
            None
        };
        Ok(Dialer { addr: url.authority(), tls })
    }

    /// Connect to `addr` instead (the network fault's proxy); the server name stays the URL's.
    pub fn via(mut self, addr: std::net::SocketAddr) -> Dialer {
        self.addr = addr.to_string();
        self
    }

    /// A new connection; with TLS, handshaken (a resumed session when the cache has one).
    pub async fn dial(&self) -> io::Result<Stream> {
        let tcp = TcpStream::connect(&self.addr).await?;
        // Requests are small and latency is what we measure: never wait for Nagle.
        tcp.set_nodelay(true)?;
        match &self.tls {
            None => Ok(Either::Left(tcp)),
            Some((connector, name)) => Ok(Either::Right(connector.connect(name.clone(), tcp).await?)),
        }
    }
}
