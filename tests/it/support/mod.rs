//! Helpers shared by the integration tests: a simulator started on free ports, a raw HTTP/1.1 client that can
//! tell "no response" apart from an error status, a telemetry client, and polling with a deadline.

#![allow(dead_code)] // each test module uses a different subset

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::Value;
use spacetime_sim::launch::{SimOptions, SimProcess};
use tokio_tungstenite::tungstenite::{self, Message, stream::MaybeTlsStream};

pub const EXE: &str = env!("CARGO_BIN_EXE_spacetime-drill");

/// Start a simulator on free ports; it is killed (with its DAP/LSP children) when dropped.
pub fn sim(opts: SimOptions) -> SimProcess {
    SimProcess::spawn(EXE.as_ref(), &opts).expect("simulator starts")
}

/// A simulator started with extra `sim` flags.
pub fn sim_with(args: &[&str]) -> SimProcess {
    sim(SimOptions { extra_args: args.iter().map(|s| s.to_string()).collect(), ..Default::default() })
}

#[derive(Debug)]
pub struct Resp {
    pub status: u16,
    pub raw: String,
    pub body: Value,
}

/// One request on a fresh connection (`Connection: close`); `Err` when the server closed without a response.
pub fn request(port: u16, method: &str, path: &str, body: Option<&str>, token: Option<&str>) -> std::io::Result<Resp> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(15)))?;
    let body = body.unwrap_or("");
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(head.as_bytes())?;
    read_response(&mut s)
}

pub fn read_response(s: &mut TcpStream) -> std::io::Result<Resp> {
    let mut buf = Vec::new();
    s.read_to_end(&mut buf)?;
    let text = String::from_utf8_lossy(&buf).to_string();
    let bad = || std::io::Error::new(std::io::ErrorKind::UnexpectedEof, format!("no HTTP response: {text:?}"));
    let status = text.split(' ').nth(1).and_then(|c| c.parse().ok()).ok_or_else(bad)?;
    let raw = text.split_once("\r\n\r\n").map(|(_, b)| b.to_string()).ok_or_else(bad)?;
    let body = serde_json::from_str(&raw).unwrap_or(Value::Null);
    Ok(Resp { status, raw, body })
}

pub fn get(port: u16, path: &str) -> Resp {
    request(port, "GET", path, None, None).expect("a response")
}

pub fn post(port: u16, path: &str, body: &str) -> Resp {
    request(port, "POST", path, Some(body), None).expect("a response")
}

/// Poll `f` every 50 ms until it returns `Some`, or panic with `what` after `secs`.
pub fn wait_for<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out after {secs} s waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A blocking telemetry client.
pub struct Telemetry(tungstenite::WebSocket<MaybeTlsStream<TcpStream>>);

impl Telemetry {
    pub fn connect(url: &str) -> Telemetry {
        let (mut ws, _) = tungstenite::connect(url).expect("telemetry connects");
        if let MaybeTlsStream::Plain(s) = ws.get_mut() {
            s.set_read_timeout(Some(Duration::from_secs(5))).expect("read timeout");
        }
        Telemetry(ws)
    }

    pub fn send(&mut self, v: Value) {
        self.0.send(Message::text(v.to_string())).expect("telemetry send");
    }

    /// The next JSON text message (binary and control frames skipped).
    pub fn next(&mut self) -> Value {
        loop {
            match self.0.read().expect("telemetry message") {
                Message::Text(t) => return serde_json::from_str(t.as_str()).expect("telemetry JSON"),
                _ => continue,
            }
        }
    }

    /// Read until `pick` accepts a message, for at most `secs`.
    pub fn until<T>(&mut self, secs: u64, what: &str, mut pick: impl FnMut(&Value) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            assert!(Instant::now() < deadline, "timed out after {secs} s waiting for telemetry {what}");
            if let Some(v) = pick(&self.next()) {
                return v;
            }
        }
    }

    /// The next `fps` event's data.
    pub fn fps(&mut self) -> Value {
        self.until(10, "fps", |m| (m["event"] == "fps").then(|| m["data"].clone()))
    }
}

/// Resident memory of a process in bytes, from `/proc/PID/statm`.
pub fn rss_bytes(pid: u32) -> u64 {
    let statm = std::fs::read_to_string(format!("/proc/{pid}/statm")).expect("statm");
    let pages: u64 = statm.split_whitespace().nth(1).and_then(|p| p.parse().ok()).expect("rss pages");
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).expect("sysconf").expect("page size");
    pages * page as u64
}
