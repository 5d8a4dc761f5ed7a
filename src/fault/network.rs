//! `network`: toxics on the built-in proxy the run routes the target's traffic through for the whole run (runbook
//! Incident 3 scenario D, Incident 1). Inject sets the toxics, rollback clears them; routing never changes.
//!
//! The toxics live only in the run's memory, so they die with it: the journal's [`Undo::ClearToxics`] clears them
//! while the run lives and is a no-op on replay (watchdog, `recover`), where there is nothing left to clear.

use std::sync::{Arc, Weak};

/// The kind's settings, defined beside the proxy that applies them.
pub use super::proxy::NetworkSpec;
use super::proxy::{Proxy, Toxics};
use super::settings::{CheckSettings, Issues, SettingsContext, rule};
use super::{Fault, FaultContext, FaultErrorKind, Intent, Undo};
use std::time::Duration;

/// The faults' handle on the run's proxy: cloneable, usable from sync code, and weak, so the run still owns the
/// proxy (`Arc::into_inner(proxy)` then [`Proxy::shutdown`]) and a handle never keeps it alive.
#[derive(Clone)]
pub struct ProxyHandle(Weak<Proxy>);

impl ProxyHandle {
    /// A handle that does not keep `proxy` alive: once the run drops it, faults find it stopped.
    pub fn new(proxy: &Arc<Proxy>) -> ProxyHandle {
        ProxyHandle(Arc::downgrade(proxy))
    }

    /// Set the toxics; false when the proxy has already stopped.
    pub fn set(&self, toxics: Toxics) -> bool {
        self.0.upgrade().map(|p| p.set(toxics)).is_some()
    }

    /// Back to a clean pass-through; a stopped proxy has no toxics to clear.
    pub fn clear(&self) {
        if let Some(p) = self.0.upgrade() {
            p.clear();
        }
    }
}

fn toxics(spec: &NetworkSpec) -> Result<Toxics, FaultErrorKind> {
    Toxics::try_from(spec).map_err(|e| FaultErrorKind::Refused { what: e.to_string(), fix: "change the toxic".into() })
}

fn proxy(ctx: &FaultContext) -> Result<&ProxyHandle, FaultErrorKind> {
    ctx.proxy.as_ref().ok_or_else(|| FaultErrorKind::Refused {
        what: "network needs the run's built-in proxy, and none was started".into(),
        fix: "run the scenario with `spacetime-drill run`, which routes the target through the proxy".into(),
    })
}

/// The longest delay a toxic may add (latency plus jitter, slow close): an hour is past any client's timeout, and
/// keeps `Instant + delay` far from overflowing.
pub const MAX_DELAY: Duration = Duration::from_secs(3600);
/// 10 Gbit/s: above that a cap caps nothing on loopback.
pub const MAX_BANDWIDTH_KBPS: u64 = 10_000_000;

impl CheckSettings for NetworkSpec {
    const EXAMPLE: &'static str = "latency = \"300ms\"\njitter = \"50ms\"";

    fn check(&self, _cx: &SettingsContext, c: &mut Issues) {
        let n = self;
        let any = n.latency.is_some() || n.bandwidth_kbps.is_some() || n.reset || n.timeout;
        c.check(any || n.slow_close.is_some(), "", || {
            "no toxic set; set latency, bandwidth_kbps, reset, timeout or slow_close".to_owned()
        });
        c.check(n.jitter.is_none() || n.latency.is_some(), "jitter", || {
            "jitter varies latency; set latency too".to_owned()
        });
        let worst = n.latency.unwrap_or_default().checked_add(n.jitter.unwrap_or_default());
        c.check(worst.is_some_and(|d| d <= MAX_DELAY), "latency", || {
            format!("latency + jitter must be at most {}; use e.g. \"300ms\"", humantime::format_duration(MAX_DELAY))
        });
        if let Some(d) = n.slow_close {
            c.check(d <= MAX_DELAY, "slow_close", || {
                format!("must be at most {}; use e.g. \"2s\"", humantime::format_duration(MAX_DELAY))
            });
        }
        if let Some(kbps) = n.bandwidth_kbps {
            c.rule("bandwidth_kbps", rule::within(kbps, 1..=MAX_BANDWIDTH_KBPS, "kbps"));
        }
        c.check(!(n.reset && n.timeout), "timeout", || {
            "reset and timeout both cut traffic; keep one (reset: clients see resets, timeout: they hang)".to_owned()
        });
    }
}

impl Fault for NetworkSpec {
    fn kind(&self) -> &'static str {
        "network"
    }

    fn describe(&self) -> String {
        let mut parts = Vec::new();
        let ms = |d: std::time::Duration| format!("{} ms", d.as_millis());
        parts.extend(self.latency.map(|l| format!("latency {}", ms(l))));
        parts.extend(self.jitter.map(|j| format!("jitter ±{}", ms(j))));
        parts.extend(self.bandwidth_kbps.map(|k| format!("bandwidth {k} kbps")));
        parts.extend(self.reset.then(|| "reset".to_owned()));
        parts.extend(self.timeout.then(|| "blackhole".to_owned()));
        parts.extend(self.slow_close.map(|s| format!("slow close {}", ms(s))));
        format!("network: {} ({:?}) on the run's proxy", parts.join(", "), self.direction)
    }

    fn preflight(&self, ctx: &FaultContext) -> Result<(), FaultErrorKind> {
        toxics(self)?;
        proxy(ctx).map(drop)
    }

    fn inject(&self, ctx: &FaultContext, intent: &mut dyn Intent) -> Result<String, FaultErrorKind> {
        let toxics = toxics(self)?;
        let proxy = proxy(ctx)?;
        intent.record(Undo::ClearToxics)?;
        if !proxy.set(toxics) {
            return Err(FaultErrorKind::NotFound { what: "the run's proxy has stopped".into(), fix: "none".into() });
        }
        Ok(self.describe())
    }
}
