//! The holder-backed kinds against real sockets and processes: busy threads, idle connections, and a port squatted
//! while the (fake) simulator restarts onto a fallback port.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use spacetime_drill::fault::connection_flood::ConnectionFloodSpec;
use spacetime_drill::fault::cpu_hog::CpuHogSpec;
use spacetime_drill::fault::port_conflict::{PortConflictSpec, PortMode};
use spacetime_drill::fault::runner::Planned;
use spacetime_drill::fault::{Allow, FaultEventKind, FaultSpec, Injector, ServiceControl, ensure_clean};

use super::{ctx, eventually, free_port, injector};

/// The pid a holder reported in its injection event ("... (holder pid N)").
fn holder_pid(inj: &Injector) -> u32 {
    let ev = inj.take_events().into_iter().find(|e| e.kind == FaultEventKind::Injected).unwrap();
    ev.detail.rsplit("holder pid ").next().unwrap().trim_end_matches(')').parse().unwrap()
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| !s.contains(") Z "))
}

#[test]
fn cpu_hog_spins_threads_in_a_holder_until_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let inj =
        injector(&dir.path().join("j"), Allow::default(), vec![("hog", FaultSpec::CpuHog(CpuHogSpec { threads: 2 }))]);
    inj.inject("hog").unwrap();
    let pid = holder_pid(&inj);
    let threads = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    assert!(
        threads
            .lines()
            .any(|l| l.starts_with("Threads:") && l.split_whitespace().nth(1).unwrap().parse::<u32>().unwrap() >= 3)
    );
    inj.rollback("hog").unwrap();
    assert!(eventually(Duration::from_secs(2), || !alive(pid)));
}

#[test]
fn connection_flood_holds_idle_connections_until_rollback() {
    let dir = tempfile::tempdir().unwrap();
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let mut c = ctx(Allow::default());
    c.target.http_port = server.local_addr().unwrap().port();
    let spec = FaultSpec::ConnectionFlood(ConnectionFloodSpec { connections: 5 });
    let planned = vec![Planned { name: "flood".into(), fault: spec.build(), ttl: Duration::from_secs(60) }];
    let inj = Injector::new(ensure_clean(&dir.path().join("j")).unwrap(), c, planned, false);
    inj.preflight_all().unwrap();
    inj.inject("flood").unwrap();
    let mut accepted: Vec<TcpStream> = (0..5).map(|_| server.accept().unwrap().0).collect();
    inj.rollback("flood").unwrap();
    for s in &mut accepted {
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        assert_eq!(s.read(&mut [0u8; 1]).unwrap(), 0, "closed by the rollback, having sent nothing");
    }
}

/// A stand-in for the embedded simulator: binds its port, or a fallback when the port is taken.
struct FakeSim {
    port: u16,
    listener: Mutex<Option<TcpListener>>,
}

impl FakeSim {
    fn bound_port(&self) -> Option<u16> {
        self.listener.lock().as_ref().map(|l| l.local_addr().unwrap().port())
    }
}

impl ServiceControl for FakeSim {
    fn stop(&self) -> Result<(), String> {
        self.listener.lock().take();
        Ok(())
    }
    fn start(&self) -> Result<(), String> {
        let l = TcpListener::bind(("127.0.0.1", self.port)).or_else(|_| TcpListener::bind("127.0.0.1:0"));
        *self.listener.lock() = Some(l.map_err(|e| e.to_string())?);
        Ok(())
    }
    fn revive(&self, _pid: u32, _name: &str) -> Result<(), String> {
        self.start()
    }
}

#[test]
fn port_conflict_with_restart_pushes_the_service_to_a_fallback_port_and_back() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let sim = Arc::new(FakeSim { port, listener: Mutex::new(None) });
    sim.start().unwrap();
    assert_eq!(sim.bound_port(), Some(port));
    let mut c = ctx(Allow { ports: vec![port], ..Allow::default() });
    c.service = Some(sim.clone());
    let spec = FaultSpec::PortConflict(PortConflictSpec {
        port: Some(port),
        mode: PortMode::Listen,
        restart: true,
        restart_command: None,
    });
    let planned = vec![Planned { name: "squat".into(), fault: spec.build(), ttl: Duration::from_secs(60) }];
    let inj = Injector::new(ensure_clean(&dir.path().join("j")).unwrap(), c, planned, false);
    inj.preflight_all().unwrap();
    inj.inject("squat").unwrap();
    assert_ne!(sim.bound_port(), Some(port), "the restarted service fell back");
    inj.rollback("squat").unwrap();
    assert_eq!(sim.bound_port(), Some(port), "back on its own port after the rollback");
    assert!(!inj.journal_dirty());
}
