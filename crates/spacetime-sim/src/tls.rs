//! HTTPS and WSS for the simulator (`--tls-cert`, `--tls-key`, `--tls-client-ca`), so a harness can be tested
//! against a TLS deployment without one. rustls with its provider named explicitly: a process-wide default would
//! be ambiguous with two providers linked.

use std::path::Path;
use std::sync::Arc;

use anyhow::Context;
use rustls::crypto::aws_lc_rs;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};

/// The listeners' configuration: the certificate chain and key, and with `client_ca` a client certificate signed by
/// that CA required of every client (mTLS). ALPN `http/1.1`, the one protocol the bridge speaks.
pub fn server_config(cert: &Path, key: &Path, client_ca: Option<&Path>) -> anyhow::Result<Arc<ServerConfig>> {
    let provider = Arc::new(aws_lc_rs::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
    let builder = match client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for c in certificates(ca)? {
                roots.add(c).with_context(|| format!("{}: a certificate in it is unusable as a CA", ca.display()))?;
            }
            builder
                .with_client_cert_verifier(WebPkiClientVerifier::builder_with_provider(roots.into(), provider).build()?)
        }
        None => builder.with_no_client_auth(),
    };
    let key =
        PrivateKeyDer::from_pem_file(key).with_context(|| format!("cannot read a PEM key from {}", key.display()))?;
    let mut config = builder.with_single_cert(certificates(cert)?, key)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

fn certificates(path: &Path) -> anyhow::Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|it| it.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("cannot read PEM certificates from {}", path.display()))?;
    anyhow::ensure!(!certs.is_empty(), "{} holds no PEM certificate", path.display());
    Ok(certs)
}
