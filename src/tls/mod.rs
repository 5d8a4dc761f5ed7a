//! TLS for every path from the harness to a target (load engines, `/status` probe, telemetry). rustls only, with
//! the crypto provider named explicitly. (The simulator's listeners configure themselves in its own crate.)
//!
//! Why one place: the run builds one [`ClientConfig`] ([`client_config`]) and every client shares it, so they verify
//! the same way, present the same client certificate and share one session cache (a reconnecting worker resumes
//! instead of doing a full handshake). The provider is passed to every builder rather than installed process-wide:
//! goose's reqwest and tokio-tungstenite each look for a process default, and with two providers linked that lookup
//! panics. ALPN offers only `http/1.1`, the one protocol the service (and our engines) speak.
//!
//! Certificate failures are turned into sentences here ([`explain`]): "unknown CA" and how to trust it, not
//! `InvalidCertificate(UnknownIssuer)`.
//!
//! | file | concept |
//! |---|---|
//! | `mod.rs` | [`TlsOptions`], the client configuration |
//! | `pem` | reading PEM certificates and keys, with errors a user can act on |
//! | `dial` | [`Dialer`]: TCP, then TLS with the URL's host as server name |
//! | `check` | [`preflight`] before any load, and [`explain`]: a certificate failure in words |
//! | `insecure` | the verifier behind `insecure = true` |

mod check;
mod dial;
mod insecure;
mod pem;

pub use check::{explain, preflight};
pub use dial::{Dialer, Stream};
pub use pem::{ca_certificates, certificates, private_key};

use std::path::PathBuf;
use std::sync::Arc;

use rustls::crypto::{CryptoProvider, aws_lc_rs};
use rustls::{ClientConfig, RootCertStore};

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
    /// PEM private key of `client_cert`; one without the other is refused, as a half-configured mTLS would fail only
    /// at the handshake.
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
        builder.dangerous().with_custom_certificate_verifier(Arc::new(insecure::AcceptAny(provider)))
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
