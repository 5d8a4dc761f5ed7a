//! The simulator's processes: the ports file, children that never outlive the bridge, a clean SIGTERM, restart.

use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

use crate::support::{get, sim, wait_for};

/// Gone, or a zombie waiting for a reaper (it runs no more code either way).
fn dead(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_or(true, |s| s.rsplit(')').next().is_some_and(|rest| rest.trim_start().starts_with('Z')))
}

#[test]
fn children_listen_on_the_ports_file_ports_and_die_with_the_bridge() {
    let s = sim(Default::default());
    let p = s.ports;
    assert!(p.pids.bridge != p.pids.dap && p.pids.dap != p.pids.lsp);
    for port in [p.dap, p.lsp, p.telemetry] {
        std::net::TcpStream::connect(("127.0.0.1", port)).expect("listening");
    }
    kill(Pid::from_raw(p.pids.bridge as i32), Signal::SIGKILL).unwrap();
    wait_for(5, "DAP and LSP children to die with the bridge", || (dead(p.pids.dap) && dead(p.pids.lsp)).then_some(()));
}

#[test]
fn sigterm_stops_the_bridge_and_its_children() {
    let s = sim(Default::default());
    let p = s.ports;
    kill(Pid::from_raw(p.pids.bridge as i32), Signal::SIGTERM).unwrap();
    wait_for(5, "a clean stop", || [p.pids.bridge, p.pids.dap, p.pids.lsp].into_iter().all(dead).then_some(()));
}

#[test]
fn restart_comes_back_on_the_same_http_port() {
    let mut s = sim(Default::default());
    let (http, bridge) = (s.ports.http, s.ports.pids.bridge);
    s.restart().unwrap();
    assert_eq!(s.ports.http, http);
    assert_ne!(s.ports.pids.bridge, bridge);
    assert_eq!(get(http, "/status").status, 200);
}
