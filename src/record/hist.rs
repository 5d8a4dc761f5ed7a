//! A latency histogram that serializes itself exactly (hdrhistogram's V2 deflate format, base64), so reports from
//! different runs or shards can be merged into the percentiles one run recording every sample would have given.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer};
use serde::{Deserialize, Serialize};

/// Highest value tracked; anything slower is recorded as this (one hour in µs).
pub const MAX_US: u64 = 3_600_000_000;

#[derive(Debug, Clone, PartialEq)]
pub struct Hist(pub Histogram<u64>);

impl Hist {
    /// Three significant digits: 0.1 % error, the precision the runbook's 200 ms boundary deserves.
    pub fn new() -> Self {
        Self::with_sigfig(3)
    }

    pub fn with_sigfig(sigfig: u8) -> Self {
        Self(Histogram::new_with_bounds(1, MAX_US, sigfig).expect("static histogram bounds are valid"))
    }

    pub fn record(&mut self, v: u64) {
        self.0.saturating_record(v.max(1));
    }

    pub fn add(&mut self, other: &Hist) {
        self.0.add(&other.0).expect("histograms with the same bounds always add");
    }

    pub fn len(&self) -> u64 {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Quantile in the recorded unit; `None` when nothing was recorded.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        (!self.0.is_empty()).then(|| self.0.value_at_quantile(q))
    }

    pub fn to_base64(&self) -> String {
        let mut buf = Vec::new();
        V2DeflateSerializer::new().serialize(&self.0, &mut buf).expect("serializing into memory cannot fail");
        STANDARD.encode(buf)
    }

    pub fn from_base64(s: &str) -> Result<Self, String> {
        let bytes = STANDARD.decode(s).map_err(|e| format!("histogram is not base64: {e}"))?;
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut bytes.as_slice())
            .map_err(|e| format!("histogram does not decode: {e:?}"))?;
        Ok(Self(h))
    }
}

impl Default for Hist {
    fn default() -> Self {
        Self::new()
    }
}

impl Serialize for Hist {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_base64())
    }
}

impl<'de> Deserialize<'de> for Hist {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Self::from_base64(&s).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_exactly() {
        let mut h = Hist::new();
        for v in [1, 20_000, 20_500, 950_000, MAX_US * 2] {
            h.record(v);
        }
        let back = Hist::from_base64(&h.to_base64()).unwrap();
        assert_eq!(back, h);
        assert_eq!(back.quantile(1.0), h.quantile(1.0));
    }
}
