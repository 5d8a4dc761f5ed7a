//! PEM files named by `ca_file`, `client_cert`, `client_key` and the simulator's `--tls-*` options. `validate` calls
//! these too, so a file that would fail the run is an error at its key before anything starts.

use std::path::Path;

use rustls::RootCertStore;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

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
