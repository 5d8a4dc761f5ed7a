//! The `[fault.network]` table and the form the proxy's hot loop reads.
//!
//! The scenario speaks in toxiproxy's terms (latency, jitter, bandwidth, reset, timeout, slow close, per direction);
//! [`Toxics`] is that table resolved once into per-direction numbers, so a chunk never looks at the direction rules.

use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Which way the toxics act. `upstream` is client → target (requests), `downstream` is target → client (responses).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Requests and responses alike (the default); a round trip pays latency twice.
    #[default]
    Both,
    /// Client → target only: requests are delayed, throttled or swallowed.
    Upstream,
    /// Target → client only: responses are delayed, throttled or swallowed.
    Downstream,
}

/// A network fault, applied by the run's built-in TCP proxy while the fault is held.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NetworkSpec {
    /// Which way latency, jitter, bandwidth, timeout and slow close act (`both`, `upstream` or `downstream`).
    /// `reset` always acts on the whole connection.
    #[serde(default)]
    pub direction: Direction,
    /// Delay added to every chunk, e.g. `"300ms"`; latency plus jitter at most 1 h. Order is kept. With `direction = "both"` a round trip pays it twice.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub latency: Option<Duration>,
    /// Each chunk's delay is drawn uniformly from `latency - jitter ..= latency + jitter` (never below zero), as in
    /// toxiproxy, so the mean stays `latency`; e.g. `"50ms"`.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub jitter: Option<Duration>,
    /// Throughput cap in kilobits per second (1 kbps = 1000 bit/s). Must be at least 1; use `timeout` for nothing.
    #[serde(default)]
    #[schemars(range(min = 1, max = crate::fault::network::MAX_BANDWIDTH_KBPS))]
    pub bandwidth_kbps: Option<u64>,
    /// Reset (TCP RST, SO_LINGER 0) every open connection and every new one while the fault is held.
    #[serde(default)]
    pub reset: bool,
    /// Blackhole: bytes are read and discarded (with any a latency still held), nothing is forwarded, connections stay open so clients hit their own
    /// timeouts. Closes still pass, so abandoned connections do not pile up. When the fault ends, connections that
    /// lost bytes are closed (their byte stream has a hole); the others carry on.
    #[serde(default)]
    pub timeout: bool,
    /// When either side closes, wait this long before passing the close on, e.g. `"2s"`; at most 1 h.
    #[serde(default, with = "humantime_serde")]
    #[schemars(with = "Option<String>")]
    pub slow_close: Option<Duration>,
}

/// Why a [`NetworkSpec`] cannot be applied.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SpecError {
    /// `bandwidth_kbps = 0`: nothing would ever pass, which is what `timeout` says explicitly.
    #[error("bandwidth_kbps = 0 would stop all traffic; use `timeout = true` for a blackhole")]
    ZeroBandwidth,
}

/// The toxics in force on the proxy: a resolved [`NetworkSpec`]. The default is a clean pass-through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Toxics {
    legs: [Leg; 2],
    reset: bool,
}

/// One way through the proxy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Flow {
    /// Client → target.
    Up = 0,
    /// Target → client.
    Down = 1,
}

/// The toxics acting on one [`Flow`]; all-zero means pass-through.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Leg {
    pub latency: Duration,
    pub jitter: Duration,
    pub kbps: Option<u64>,
    pub blackhole: bool,
    pub slow_close: Duration,
}

impl TryFrom<&NetworkSpec> for Toxics {
    type Error = SpecError;

    fn try_from(spec: &NetworkSpec) -> Result<Self, SpecError> {
        if spec.bandwidth_kbps == Some(0) {
            return Err(SpecError::ZeroBandwidth);
        }
        let leg = Leg {
            latency: spec.latency.unwrap_or_default(),
            jitter: spec.jitter.unwrap_or_default(),
            kbps: spec.bandwidth_kbps,
            blackhole: spec.timeout,
            slow_close: spec.slow_close.unwrap_or_default(),
        };
        let pick = |on: bool| if on { leg } else { Leg::default() };
        Ok(Toxics {
            legs: [pick(spec.direction != Direction::Downstream), pick(spec.direction != Direction::Upstream)],
            reset: spec.reset,
        })
    }
}

impl Toxics {
    pub(super) fn leg(&self, flow: Flow) -> &Leg {
        &self.legs[flow as usize]
    }

    pub(super) fn reset(&self) -> bool {
        self.reset
    }
}

impl Leg {
    /// The delay for the next chunk; random within the jitter band.
    pub(super) fn delay(&self) -> Duration {
        if self.jitter.is_zero() {
            return self.latency;
        }
        let low = self.latency.saturating_sub(self.jitter);
        rand::random_range(low..=self.latency + self.jitter)
    }

    /// The longest any chunk may still be held: what was queued under an older, slower toxic is pulled in to this.
    pub(super) fn max_delay(&self) -> Duration {
        self.latency + self.jitter
    }

    /// How long `bytes` occupy the link at the configured rate.
    pub(super) fn transmit_time(&self, bytes: usize) -> Option<Duration> {
        self.kbps.map(|kbps| Duration::from_nanos(bytes as u64 * 8_000_000 / kbps))
    }

    /// Largest write under the bandwidth cap: 100 ms worth of bytes, so throughput is smooth rather than bursty.
    pub(super) fn max_write(&self) -> usize {
        self.kbps.map_or(usize::MAX, |kbps| ((kbps * 1000 / 8 / 10) as usize).max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(table: &str) -> Result<NetworkSpec, toml::de::Error> {
        toml::from_str(table)
    }

    #[test]
    fn table_reads_humantime_and_defaults_to_both_directions() {
        let spec = parse("latency = \"300ms\"\njitter = \"20ms\"\nbandwidth_kbps = 64\nslow_close = \"1s\"").unwrap();
        assert_eq!(spec.direction, Direction::Both);
        assert_eq!(spec.latency, Some(Duration::from_millis(300)));
        let toxics = Toxics::try_from(&spec).unwrap();
        assert_eq!(toxics.leg(Flow::Up), toxics.leg(Flow::Down));
        assert_eq!(toxics.leg(Flow::Up).slow_close, Duration::from_secs(1));
    }

    #[test]
    fn direction_leaves_the_other_way_clean() {
        let spec = parse("direction = \"upstream\"\nlatency = \"1s\"\ntimeout = true").unwrap();
        let toxics = Toxics::try_from(&spec).unwrap();
        assert!(toxics.leg(Flow::Up).blackhole);
        assert_eq!(*toxics.leg(Flow::Down), Leg::default());
    }

    #[test]
    fn unknown_fields_and_zero_bandwidth_are_refused() {
        assert!(parse("latency_ms = 300").is_err());
        let spec = parse("bandwidth_kbps = 0").unwrap();
        assert_eq!(Toxics::try_from(&spec), Err(SpecError::ZeroBandwidth));
    }

    #[test]
    fn jitter_stays_in_its_band_and_bandwidth_has_the_right_units() {
        let leg = Leg { latency: Duration::from_millis(50), jitter: Duration::from_millis(20), ..Leg::default() };
        for _ in 0..1000 {
            let d = leg.delay();
            assert!((Duration::from_millis(30)..=Duration::from_millis(70)).contains(&d), "{d:?}");
        }
        let leg = Leg { kbps: Some(100), ..Leg::default() };
        assert_eq!(leg.transmit_time(50_000), Some(Duration::from_secs(4)));
        assert_eq!(leg.max_write(), 1250);
    }
}
