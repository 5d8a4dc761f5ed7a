//! Issue 2, "It must fail for real", item 1: the debug adapter killed with SIGKILL, seen through `/status` within
//! the bridge's 5 s health check, and brought back the runbook's way (a new DAP on the port, then `POST /connect`).

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;
use serde_json::Value;
use spacetime_sim::launch::SimOptions;

use crate::support::{EXE, get, post, sim, wait_for};

fn status(port: u16) -> Value {
    get(port, "/status").body
}

#[test]
fn killed_dap_is_seen_within_6s_and_comes_back_after_connect() {
    let s = sim(SimOptions::default());
    let http = s.ports.http;
    wait_for(10, "both services connected", || status(http)["overall_ready"].as_bool().filter(|r| *r));

    kill(Pid::from_raw(s.ports.pids.dap as i32), Signal::SIGKILL).unwrap();
    let killed = Instant::now();
    let seen = wait_for(6, "the DAP reported not connected", || {
        let st = status(http);
        (st["debug_adapter"]["state"] != 2).then_some(st)
    });
    assert!(killed.elapsed() <= Duration::from_secs(6), "noticed after {:?}", killed.elapsed());
    assert_eq!(seen["overall_ready"], false);
    let eval = post(http, "/debug/evaluate", r#"{"expression":"player.health"}"#);
    assert_eq!(eval.status, 503, "{}", eval.body);
    assert_eq!(eval.body["message"], "Debug adapter not connected", "{}", eval.body);
    let lsp = post(
        http,
        "/lsp/completion",
        r#"{"textDocument":{"uri":"file:///project/x.gd"},"position":{"line":0,"character":0}}"#,
    );
    assert_eq!(lsp.status, 200, "the language server is unaffected: {}", lsp.body);

    // A new debug adapter on the same port, then the runbook's Incident 2 scenario C: POST /connect.
    let mut dap = Command::new(EXE)
        .args(["sim", "dap", "--port", &s.ports.dap.to_string(), "--project-dir"])
        .arg(&s.project_dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let connected = wait_for(10, "the new DAP accepted a connect", || {
        assert_eq!(post(http, "/connect", "{}").status, 200);
        std::thread::sleep(Duration::from_millis(300));
        status(http)["overall_ready"].as_bool().filter(|r| *r)
    });
    assert!(connected);
    let eval = post(http, "/debug/evaluate", r#"{"expression":"player.health"}"#);
    assert_eq!(eval.status, 200, "{}", eval.body);
    let _ = dap.kill();
    let _ = dap.wait();
}
