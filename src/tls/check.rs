//! A TLS target checked before any load, and certificate failures in words: "unknown CA" and how to trust it, not
//! `InvalidCertificate(UnknownIssuer)`.

use std::error::Error as StdError;
use std::io;
use std::sync::Arc;

use rustls::{AlertDescription, CertificateError, ClientConfig};

use super::Dialer;
use crate::url::{ServiceUrl, UrlRole};

/// Before any load: one `GET /status` over a new connection to the API, and a WebSocket handshake with the
/// telemetry URL, when they are TLS. A certificate problem stops the run here with its reason; a server that wants a
/// client certificate is only heard after the TLS 1.3 handshake, hence a whole request rather than a handshake.
/// Anything that is not about TLS (refused, slow, 401) is left for the run to measure.
pub async fn preflight(api: &str, telemetry: Option<&str>, config: &Arc<ClientConfig>) -> anyhow::Result<()> {
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
