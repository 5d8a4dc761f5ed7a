//! TLS for every path from the harness to a target (load engines, `/status` probe, telemetry), and for the
//! simulator's HTTPS/WSS listeners. rustls only, with the crypto provider named explicitly.
//!
//! Why one place: the run builds one [`ClientConfig`] ([`client_config`]) and every client shares it, so they verify
//! the same way, present the same client certificate and share one session cache (a reconnecting worker resumes
//! instead of doing a full handshake). The provider is passed to every builder rather than installed process-wide:
//! goose's reqwest and tokio-tungstenite each look for a process default, and with two providers linked that lookup
//! panics. ALPN offers only `http/1.1`, the one protocol the service (and our engines) speak.
//!
//! Certificate failures are turned into sentences here ([`explain`]): "unknown CA" and how to trust it, not
//! `InvalidCertificate(UnknownIssuer)`.

use std::error::Error as StdError;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{AlertDescription, CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig};
use rustls::{SignatureScheme, server::WebPkiClientVerifier};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_util::either::Either;

use crate::url::ServiceUrl;

/// A connection to the target: plain TCP or TLS over it.
pub type Stream = Either<TcpStream, tokio_rustls::client::TlsStream<TcpStream>>;

/// How to verify the target and what to present to it: `[target]` `ca_file`, `insecure`, `client_cert`,
/// `client_key`, or the same `run` options.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TlsOptions {
    /// PEM certificates trusted besides the system's roots (a private CA).
    pub ca_file: Option<PathBuf>,
    /// Accept any certificate: no verification at all (reports say so next to the verdict).
    pub insecure: bool,
    /// PEM certificate chain presented to a server that asks for one (mTLS), with its key.
    pub client_cert: Option<PathBuf>,
    pub client_key: Option<PathBuf>,
}

/// The provider every config is built with.
fn provider() -> Arc<CryptoProvider> {
    Arc::new(aws_lc_rs::default_provider())
}

/// The run's one client configuration: system roots plus `ca_file` (or no verification with `insecure`), the
/// client certificate when given, ALPN `http/1.1`, rustls's default session cache (resumption).
pub fn client_config(opts: &TlsOptions) -> anyhow::Result<Arc<ClientConfig>> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
    let builder = if opts.insecure {
        builder.dangerous().with_custom_certificate_verifier(Arc::new(AcceptAny(provider)))
    } else {
        let mut roots = RootCertStore::empty();
        let native = rustls_native_certs::load_native_certs();
        if !native.errors.is_empty() {
            tracing::debug!(errors = ?native.errors, "some system root certificates could not be read");
        }
        roots.add_parsable_certificates(native.certs);
        if let Some(ca) = &opts.ca_file {
            for cert in ca_certificates(ca).map_err(anyhow::Error::msg)? {
                roots.add(cert).map_err(|e| anyhow::anyhow!("ca_file {}: {e}", ca.display()))?;
            }
        }
        builder.with_root_certificates(roots)
    };
    let mut config = match (&opts.client_cert, &opts.client_key) {
        (Some(cert), Some(key)) => builder
            .with_client_auth_cert(
                certificates(cert).map_err(anyhow::Error::msg)?,
                private_key(key).map_err(anyhow::Error::msg)?,
            )
            .map_err(|e| anyhow::anyhow!("client_cert {} and client_key {}: {e}", cert.display(), key.display()))?,
        (None, None) => builder.with_no_client_auth(),
        _ => anyhow::bail!("client_cert and client_key go together; give both or neither"),
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// The PEM certificates in `path`, at least one; the error names the file, the OS or PEM problem and the fix.
pub fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let shown = path.display();
    std::fs::metadata(path)
        .map_err(|e| format!("cannot read {shown}: {e}; give the path of a PEM certificate file"))?;
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("cannot read {shown} as PEM: {e}; give a PEM file (-----BEGIN CERTIFICATE-----)"))?;
    if certs.is_empty() {
        return Err(format!(
            "{shown} holds no PEM certificate (no -----BEGIN CERTIFICATE----- block); give the certificate in PEM, \
             e.g. convert DER with `openssl x509 -inform der -in X -out X.pem`"
        ));
    }
    Ok(certs)
}

/// Like [`certificates`], each also usable as a trust anchor (a CA bundle).
pub fn ca_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = certificates(path)?;
    let mut roots = RootCertStore::empty();
    for cert in &certs {
        roots
            .add(cert.clone())
            .map_err(|e| format!("{}: a certificate in it is unusable as a CA: {e}", path.display()))?;
    }
    Ok(certs)
}

/// The PEM private key in `path` (PKCS#8, PKCS#1 or SEC1).
pub fn private_key(path: &Path) -> Result<PrivateKeyDer<'static>, String> {
    let shown = path.display();
    std::fs::metadata(path).map_err(|e| format!("cannot read {shown}: {e}; give the path of a PEM private key"))?;
    PrivateKeyDer::from_pem_file(path).map_err(|e| {
        format!("{shown} holds no usable PEM private key ({e}); give the key in PEM (-----BEGIN PRIVATE KEY-----)")
    })
}

/// The simulator's listener configuration: its certificate and key, and with `client_ca` a required client
/// certificate signed by that CA.
pub fn server_config(cert: &Path, key: &Path, client_ca: Option<&Path>) -> anyhow::Result<Arc<ServerConfig>> {
    let provider = provider();
    let builder = ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in ca_certificates(ca).map_err(anyhow::Error::msg)? {
                roots.add(c)?;
            }
            builder
                .with_client_cert_verifier(WebPkiClientVerifier::builder_with_provider(roots.into(), provider).build()?)
        }
        None => builder.with_no_client_auth(),
    };
    let certs = certificates(cert).map_err(anyhow::Error::msg)?;
    let mut config = builder.with_single_cert(certs, private_key(key).map_err(anyhow::Error::msg)?)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

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

/// A sentence naming the TLS problem in an error chain and its fix, or `None` when the error is not about TLS.
pub fn explain(err: &(dyn StdError + 'static)) -> Option<String> {
    let mut cur = Some(err);
    while let Some(e) = cur {
        let tls = e
            .downcast_ref::<rustls::Error>()
            .or_else(|| e.downcast_ref::<io::Error>().and_then(|io| io.get_ref()).and_then(|i| i.downcast_ref()));
        if let Some(t) = tls {
            return Some(sentence(t));
        }
        cur = e.source();
    }
    None
}

const TRUST: &str = "trust its CA with [target] ca_file (or --ca-file), or skip verification with insecure = true \
                     (or --insecure)";

fn sentence(e: &rustls::Error) -> String {
    use CertificateError as C;
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => {
                format!("the server's certificate is signed by an unknown CA (unknown issuer); {TRUST}")
            }
            C::Expired | C::ExpiredContext { .. } => {
                format!(
                    "the server's certificate has expired ({c}); renew it, or skip verification with insecure = true"
                )
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => format!(
                "the server's certificate does not match the URL's host (name mismatch: {c}); use a host name the \
                 certificate holds, or skip verification with insecure = true"
            ),
            C::NotValidYet | C::NotValidYetContext { .. } => {
                format!("the server's certificate is not valid yet ({c}); check the clocks, or insecure = true")
            }
            other => format!("the server's certificate was refused ({other}); {TRUST}"),
        },
        rustls::Error::AlertReceived(AlertDescription::CertificateRequired) => {
            "the server requires a client certificate (TLS alert certificate_required); give [target] client_cert \
             and client_key (or --client-cert and --client-key)"
                .to_owned()
        }
        rustls::Error::AlertReceived(
            a @ (AlertDescription::BadCertificate | AlertDescription::UnknownCA | AlertDescription::CertificateUnknown),
        ) => format!(
            "the server refused our client certificate (TLS alert {a:?}); give client_cert/client_key signed by a CA \
             the server trusts"
        ),
        other => format!("TLS handshake failed: {other}"),
    }
}

/// `insecure = true`: every certificate is accepted, but handshake signatures are still checked (they prove the
/// peer holds the key of the certificate it sent; skipping them would not make a broken server work any better).
#[derive(Debug)]
struct AcceptAny(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAny {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0.signature_verification_algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Before any load: one `GET /status` over a new connection to the API, and a WebSocket handshake with the
/// telemetry URL, when they are TLS. A certificate problem stops the run here with its reason; a server that wants a
/// client certificate is only heard after the TLS 1.3 handshake, hence a whole request rather than a handshake.
/// Anything that is not about TLS (refused, slow, 401) is left for the run to measure.
pub async fn preflight(api: &str, telemetry: Option<&str>, config: &Arc<ClientConfig>) -> anyhow::Result<()> {
    use crate::url::UrlRole;
    const BOUND: std::time::Duration = std::time::Duration::from_secs(10);
    let api_url = ServiceUrl::parse(api, UrlRole::Api)?;
    if api_url.secure {
        let dialer = Dialer::new(&api_url, Some(config))?;
        let host = api_url.authority();
        let asked = tokio::time::timeout(BOUND, async {
            let stream = dialer.dial().await?;
            let (mut sender, conn) =
                hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await?;
            tokio::spawn(conn);
            let req = hyper::Request::get("/status")
                .header(hyper::header::HOST, host)
                .body(http_body_util::Empty::<bytes::Bytes>::new())?;
            sender.send_request(req).await?;
            anyhow::Ok(())
        });
        if let Ok(Err(e)) = asked.await {
            if let Some(why) = e.chain().find_map(explain) {
                anyhow::bail!("TLS to {api}: {why}");
            }
        }
    }
    if let Some(ws) = telemetry {
        let ws_url = ServiceUrl::parse(ws, UrlRole::Telemetry)?;
        if ws_url.secure {
            let dialer = Dialer::new(&ws_url, Some(config))?;
            let opened = tokio::time::timeout(BOUND, async {
                let stream = dialer.dial().await?;
                tokio_tungstenite::client_async(ws, stream).await?;
                anyhow::Ok(())
            });
            if let Ok(Err(e)) = opened.await {
                if let Some(why) = e.chain().find_map(explain) {
                    anyhow::bail!("TLS to {ws}: {why}");
                }
            }
        }
    }
    Ok(())
}
