//! Fault knobs: the faults that cannot be caused from outside the process (a memory leak, a slow frame).
//!
//! They are set by start-up flags or by `GET/POST /__sim/knobs`, a control route under a prefix the real API never
//! uses, so a harness can inject and roll them back like any other fault while API traffic stays untouched. The
//! leak really retains and touches its bytes, so the process's resident memory grows the way a real leak's does;
//! setting the leak back to 0 stops the growth but does not give memory back (a real leak only ends with a restart).

use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

/// Upper bound on per-frame busy work, so a typo cannot freeze the simulator for hours.
const MAX_FRAME_WORK_MS: f64 = 10_000.0;

#[derive(Default)]
pub struct Knobs {
    leak_bytes_per_request: AtomicU64,
    /// Stored as microseconds so it fits an atomic; the frame thread reads it every frame.
    frame_work_us: AtomicU64,
    leaked: Mutex<Vec<Box<[u8]>>>,
    leaked_bytes: AtomicU64,
}

/// The body of `GET /__sim/knobs` and of a `POST` (where every field is optional).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnobSettings {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leak_bytes_per_request: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frame_work_ms: Option<f64>,
    /// Read-only: bytes leaked so far.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub leaked_bytes: Option<u64>,
}

impl Knobs {
    pub fn new(leak_bytes_per_request: u64, frame_work_ms: f64) -> anyhow::Result<Knobs> {
        let knobs = Knobs::default();
        knobs.apply(&KnobSettings {
            leak_bytes_per_request: Some(leak_bytes_per_request),
            frame_work_ms: Some(frame_work_ms),
            leaked_bytes: None,
        })?;
        Ok(knobs)
    }

    /// Change the knobs named in `s`; the rest keep their value.
    pub fn apply(&self, s: &KnobSettings) -> anyhow::Result<()> {
        if let Some(ms) = s.frame_work_ms {
            anyhow::ensure!(
                ms.is_finite() && (0.0..=MAX_FRAME_WORK_MS).contains(&ms),
                "frame_work_ms must be between 0 and {MAX_FRAME_WORK_MS}, got {ms}"
            );
        }
        anyhow::ensure!(s.leaked_bytes.is_none(), "leaked_bytes is read-only");
        if let Some(ms) = s.frame_work_ms {
            self.frame_work_us.store((ms * 1000.0).round() as u64, Ordering::Relaxed);
        }
        if let Some(b) = s.leak_bytes_per_request {
            self.leak_bytes_per_request.store(b, Ordering::Relaxed);
        }
        Ok(())
    }

    pub fn settings(&self) -> KnobSettings {
        KnobSettings {
            leak_bytes_per_request: Some(self.leak_bytes_per_request.load(Ordering::Relaxed)),
            frame_work_ms: Some(self.frame_work_us.load(Ordering::Relaxed) as f64 / 1000.0),
            leaked_bytes: Some(self.leaked_bytes.load(Ordering::Relaxed)),
        }
    }

    pub fn frame_work(&self) -> std::time::Duration {
        std::time::Duration::from_micros(self.frame_work_us.load(Ordering::Relaxed))
    }

    /// Called once per API request: retain the configured bytes, written so the pages are really resident.
    pub fn leak_for_request(&self) {
        let n = self.leak_bytes_per_request.load(Ordering::Relaxed);
        if n == 0 {
            return;
        }
        let Ok(len) = usize::try_from(n) else { return };
        // A non-zero fill: zeroed allocations can come from untouched (copy-on-write zero) pages and would not show.
        let block = vec![0xA5u8; len].into_boxed_slice();
        self.leaked.lock().push(block);
        self.leaked_bytes.fetch_add(n, Ordering::Relaxed);
    }
}

/// The process's resident memory in bytes, from `/proc/self/statm` (what `ps`/`top` report as RSS).
pub fn resident_bytes() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    let page = nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE).ok()??;
    Some(pages * u64::try_from(page).ok()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knobs_validate_and_leak() {
        let k = Knobs::new(0, 0.0).unwrap();
        assert!(k.apply(&KnobSettings { frame_work_ms: Some(-1.0), ..Default::default() }).is_err());
        assert!(k.apply(&KnobSettings { leaked_bytes: Some(1), ..Default::default() }).is_err());
        k.apply(&KnobSettings { leak_bytes_per_request: Some(1000), ..Default::default() }).unwrap();
        k.leak_for_request();
        k.leak_for_request();
        assert_eq!(k.settings().leaked_bytes, Some(2000));
        assert_eq!(k.settings().frame_work_ms, Some(0.0));
        assert!(resident_bytes().unwrap() > 0);
    }
}
