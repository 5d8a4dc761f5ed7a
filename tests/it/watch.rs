//! Telemetry and probes against servers started here: a WebSocket server speaking the contract's telemetry (and
//! some junk), and an HTTP server whose `/status` the test changes under the probe's feet.

mod probe;
mod telemetry;

use std::time::{Duration, Instant};

use spacetime_drill::record::{Event, EventKind, Recorder};

/// Poll `f` every 20 ms until it yields, failing the test after `within`.
async fn until<T>(what: &str, within: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + within;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

fn events(rec: &Recorder, pick: impl Fn(&EventKind) -> bool) -> Vec<Event> {
    rec.finish().events.into_iter().filter(|e| pick(&e.kind)).collect()
}

fn recorder(phases: &[&str]) -> Recorder {
    let names: Vec<String> = phases.iter().map(|s| s.to_string()).collect();
    let rec = Recorder::new(Instant::now(), &names);
    rec.enter_phase(0, Instant::now());
    rec
}
