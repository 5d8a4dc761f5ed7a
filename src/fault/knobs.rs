//! The simulator's fault knobs (`GET/POST /__sim/knobs`), shared by `memory_leak` and `frame_work`: set one knob,
//! journal its previous value first ([`Undo::SetKnobs`]), and post that value back at rollback.
//!
//! The client is a few lines of HTTP/1.1 over a blocking socket rather than hyper: faults run in sync code that may
//! sit on a tokio worker (where a nested runtime panics) or in the watchdog (which has none), and the knobs route is
//! ours, on 127.0.0.1, answering small JSON bodies with `Connection: close`.

use std::io::{ErrorKind, Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use serde_json::Value;

use super::{FaultContext, FaultErrorKind, Intent, Undo};

const TIMEOUT: Duration = Duration::from_secs(5);

/// Why a knobs request failed: `Gone` (nothing listens) is success for a rollback, since the knobs died with it.
#[derive(Debug, thiserror::Error)]
pub enum KnobError {
    #[error("nothing answers at {0}")]
    Gone(String),
    #[error("{url}: {why}")]
    Failed { url: String, why: String },
}

/// `GET` (no body) or `POST` (a JSON body) to the knobs URL; returns the JSON answer of a 200.
pub fn request(url: &str, body: Option<&Value>) -> Result<Value, KnobError> {
    let failed = |why: String| KnobError::Failed { url: url.into(), why };
    let rest = url.strip_prefix("http://").ok_or_else(|| failed("not an http:// URL".into()))?;
    let (authority, path) = rest.split_once('/').map_or((rest, "/".to_owned()), |(a, p)| (a, format!("/{p}")));
    let addr = authority.to_socket_addrs().ok().and_then(|mut a| a.next()).ok_or_else(|| failed("bad host".into()))?;
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| match e.kind() {
        ErrorKind::ConnectionRefused => KnobError::Gone(url.into()),
        _ => failed(e.to_string()),
    })?;
    let body = body.map(Value::to_string).unwrap_or_default();
    let method = if body.is_empty() { "GET" } else { "POST" };
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n",
        body.len()
    );
    let mut answer = Vec::new();
    stream
        .set_read_timeout(Some(TIMEOUT))
        .and_then(|()| stream.set_write_timeout(Some(TIMEOUT)))
        .and_then(|()| stream.write_all(format!("{head}{body}").as_bytes()))
        .and_then(|()| stream.read_to_end(&mut answer))
        .map_err(|e| failed(e.to_string()))?;
    let text = String::from_utf8_lossy(&answer);
    let (head, body) = text.split_once("\r\n\r\n").ok_or_else(|| failed("no HTTP answer".into()))?;
    let status = head.split_whitespace().nth(1).unwrap_or_default();
    if status != "200" {
        return Err(failed(format!("status {status}: {body}")));
    }
    serde_json::from_str(body).map_err(|e| failed(format!("bad JSON ({e}): {body}")))
}

/// Preflight of a knob fault: the run has the embedded simulator and its knobs answer.
pub fn preflight(ctx: &FaultContext, kind: &str) -> Result<(), FaultErrorKind> {
    let sim = ctx.require_sim(&format!("{kind} (a simulator knob)"))?;
    request(&sim.knobs_url, None).map(drop).map_err(|e| FaultErrorKind::NotFound {
        what: format!("the simulator's knobs do not answer: {e}"),
        fix: "check that the simulator is running".into(),
    })
}

/// Set `knob` to `value`, journaling its current value first.
pub fn set(
    ctx: &FaultContext,
    intent: &mut dyn Intent,
    kind: &str,
    knob: &str,
    value: Value,
) -> Result<String, FaultErrorKind> {
    let url = ctx.require_sim(&format!("{kind} (a simulator knob)"))?.knobs_url.clone();
    let err =
        |e: KnobError| FaultErrorKind::Command { cmd: format!("set the simulator's {knob}"), output: e.to_string() };
    let before = request(&url, None).map_err(err)?;
    let previous = before.get(knob).cloned().unwrap_or(Value::from(0));
    let json = serde_json::json!({ knob: previous }).to_string();
    intent.record(Undo::SetKnobs { url: url.clone(), json })?;
    request(&url, Some(&serde_json::json!({ knob: value.clone() }))).map_err(err)?;
    Ok(format!("set {knob} = {value} (was {previous})"))
}

/// The rollback of [`Undo::SetKnobs`].
pub fn restore(url: &str, json: &str) -> Result<String, FaultErrorKind> {
    let err = |why: String| FaultErrorKind::Command { cmd: format!("POST {url} {json}"), output: why };
    let body: Value = serde_json::from_str(json).map_err(|e| err(e.to_string()))?;
    match request(url, Some(&body)) {
        Ok(_) => Ok(format!("knobs set back to {json}")),
        Err(KnobError::Gone(_)) => Ok(format!("the simulator at {url} is gone, and its knobs with it")),
        Err(e) => Err(err(e.to_string())),
    }
}
