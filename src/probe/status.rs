//! One `GET /status`, and what changed since the last one.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::header::{AUTHORIZATION, HOST, HeaderValue};
use hyper_util::rt::TokioIo;

use crate::api::{ServiceState, StateMapping, StatusBody};
use crate::record::{EventKind, StatusSample};
use crate::tls::Dialer;

pub(super) struct StatusClient {
    dialer: Dialer,
    host: HeaderValue,
    auth: Option<HeaderValue>,
    timeout: Duration,
}

/// What one probe saw: the sample to record, and why it was unreachable or unparsable (for events and logs).
pub(super) struct Reading {
    pub sample: StatusSample,
    pub detail: String,
}

impl StatusClient {
    pub fn new(dialer: Dialer, host: &str, token: Option<&str>, timeout: Duration) -> anyhow::Result<Self> {
        let auth = token
            .map(|t| {
                let mut v = HeaderValue::try_from(format!("Bearer {t}"))
                    .map_err(|_| anyhow::anyhow!("the token contains characters a header cannot carry"))?;
                v.set_sensitive(true);
                anyhow::Ok(v)
            })
            .transpose()?;
        Ok(Self { dialer, host: HeaderValue::from_str(host)?, auth, timeout })
    }

    pub async fn probe(&self, mapping: StateMapping) -> Reading {
        let sent = Instant::now();
        let result = tokio::time::timeout(self.timeout, self.get()).await;
        let latency_ms = sent.elapsed().as_secs_f64() * 1000.0;
        let unknown = |reachable, detail: String| Reading {
            sample: StatusSample { reachable, latency_ms, overall_ready: None, dap: None, lsp: None },
            detail,
        };
        match result {
            Err(_) => unknown(false, format!("no answer within {:?}", self.timeout)),
            Ok(Err(e)) => unknown(false, e),
            Ok(Ok((status, body))) if !status.is_success() => unknown(
                true,
                format!("HTTP {status}: {}", String::from_utf8_lossy(&body).chars().take(200).collect::<String>()),
            ),
            Ok(Ok((_, body))) => match serde_json::from_slice::<StatusBody>(&body) {
                Err(e) => unknown(true, format!("unparsable /status body: {e}")),
                Ok(b) => Reading {
                    sample: StatusSample {
                        reachable: true,
                        latency_ms,
                        overall_ready: Some(b.overall_ready),
                        dap: mapping.decode(b.debug_adapter.state),
                        lsp: mapping.decode(b.language_server.state),
                    },
                    detail: "HTTP 200".into(),
                },
            },
        }
    }

    /// One request on a new connection: each probe connects afresh, so a restarted or replaced service is seen as
    /// a client arriving now would see it, and a half-dead kept-alive socket cannot mask an outage.
    async fn get(&self) -> Result<(hyper::StatusCode, Bytes), String> {
        let mut req = hyper::Request::get("/status").header(HOST, self.host.clone());
        if let Some(auth) = &self.auth {
            req = req.header(AUTHORIZATION, auth.clone());
        }
        let req = req.body(Empty::<Bytes>::new()).map_err(|e| e.to_string())?;
        let stream = self.dialer.dial().await.map_err(|e| format!("connect: {}", error_chain(&e)))?;
        let (mut sender, conn) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await.map_err(|e| error_chain(&e))?;
        // The connection task ends with the response (the sender is dropped) or when the server closes.
        tokio::spawn(async move {
            let _ = conn.await;
        });
        let resp = sender.send_request(req).await.map_err(|e| error_chain(&e))?;
        let status = resp.status();
        let body = resp.into_body().collect().await.map_err(|e| format!("body: {e}"))?.to_bytes();
        Ok((status, body))
    }
}

/// hyper's top-level error says only "client error (Connect)"; the cause (refused, reset) is what a person needs.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(cause) = src {
        s.push_str(": ");
        s.push_str(&cause.to_string());
        src = cause.source();
    }
    s
}

/// The last thing seen, so only changes become events. The first parsed body is the baseline and makes no state
/// events (its values are in the per-second samples); reachability starts as "reachable", so a target that is down
/// from the start shows as a `StatusReachable { reachable: false }` event.
pub(super) struct Changes {
    reachable: bool,
    /// Answering, but not with a `/status` body (a 401 from a wrong token, a proxy's error page).
    answering_badly: bool,
    states: Option<(Option<ServiceState>, Option<ServiceState>, bool)>,
}

impl Default for Changes {
    fn default() -> Self {
        Self { reachable: true, answering_badly: false, states: None }
    }
}

impl Changes {
    pub fn observe(&mut self, r: &Reading) -> Vec<EventKind> {
        let mut events = Vec::new();
        let s = &r.sample;
        if s.reachable != self.reachable {
            self.reachable = s.reachable;
            events.push(EventKind::StatusReachable { reachable: s.reachable, detail: r.detail.clone() });
        }
        let bad = s.reachable && s.overall_ready.is_none();
        if std::mem::replace(&mut self.answering_badly, bad) != bad && bad {
            events.push(EventKind::ProbeFailed { probe: "status".into(), error: r.detail.clone() });
        }
        // Only a parsed body says anything about the services; an outage leaves the last known states in place, so
        // after a restart the events show how the services came back relative to before.
        let Some(ready) = s.overall_ready else { return events };
        let now = (s.dap, s.lsp, ready);
        if let Some((dap, lsp, was_ready)) = self.states.replace(now) {
            for (service, from, to) in [("dap", dap, s.dap), ("lsp", lsp, s.lsp)] {
                if from != to {
                    events.push(EventKind::ServiceStateChanged { service: service.into(), from, to });
                }
            }
            if was_ready != ready {
                events.push(EventKind::OverallReadyChanged { ready });
            }
        }
        events
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(reachable: bool, dap: Option<ServiceState>, ready: Option<bool>) -> Reading {
        let sample = StatusSample { reachable, latency_ms: 1.0, overall_ready: ready, dap, lsp: dap };
        Reading { sample, detail: "d".into() }
    }

    #[test]
    fn only_changes_become_events() {
        use ServiceState::*;
        let mut c = Changes::default();
        assert!(c.observe(&reading(true, Some(Connected), Some(true))).is_empty());
        assert!(c.observe(&reading(true, Some(Connected), Some(true))).is_empty());
        assert_eq!(c.observe(&reading(false, None, None)).len(), 1);
        assert!(c.observe(&reading(false, None, None)).is_empty());
        let back = c.observe(&reading(true, Some(Connecting), Some(false)));
        assert_eq!(back.len(), 4, "{back:?}");
        assert!(matches!(back[0], EventKind::StatusReachable { reachable: true, .. }));
        assert!(matches!(back[3], EventKind::OverallReadyChanged { ready: false }));
    }

    #[test]
    fn a_wrong_answer_is_logged_once_per_spell() {
        let mut c = Changes::default();
        let bad = || reading(true, None, None);
        assert!(matches!(c.observe(&bad())[..], [EventKind::ProbeFailed { .. }]));
        assert!(c.observe(&bad()).is_empty());
        assert!(c.observe(&reading(true, None, Some(true))).is_empty());
        assert_eq!(c.observe(&bad()).len(), 1);
    }

    #[test]
    fn a_target_down_from_the_start_is_an_event() {
        let mut c = Changes::default();
        assert_eq!(c.observe(&reading(false, None, None)).len(), 1);
    }
}
