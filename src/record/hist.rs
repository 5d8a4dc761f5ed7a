//! A latency histogram that serializes itself exactly (hdrhistogram's V2 deflate format, base64), so reports from
//! different runs or shards can be merged into the percentiles one run recording every sample would have given.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer, V2Serializer};
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

    /// Two significant digits (1 % error, 26 KiB dense): the per-second rows' precision, where a window's p95 is
    /// compared with thresholds tens of percent apart and memory per second matters more.
    pub fn coarse() -> Self {
        Self::with_sigfig(2)
    }

    /// Empty it, keeping its allocation (per-second rows recycle their dense histograms).
    pub fn clear(&mut self) {
        self.0.reset();
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
        Self::from_v2(&bytes)
    }

    /// Decode either V2 flavour (plain or deflate): the deserializer tells them apart by their cookie.
    fn from_v2(bytes: &[u8]) -> Result<Self, String> {
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut &bytes[..])
            .map_err(|e| format!("histogram does not decode: {e:?}"))?;
        Ok(Self(h))
    }

    /// The plain V2 encoding (run-length varints, no deflate): a sparse second of a few hundred samples takes a few
    /// hundred bytes, and encoding it costs microseconds rather than deflate's tens.
    pub fn compact(&self) -> CompactHist {
        let mut buf = Vec::new();
        V2Serializer::new().serialize(&self.0, &mut buf).expect("serializing into memory cannot fail");
        CompactHist(buf)
    }
}

/// A histogram at rest: its V2 bytes. Per-second rows keep these once a second can no longer receive samples, so a
/// long run costs bytes per second, not a dense histogram per second. Serialized as base64 like [`Hist`], and
/// [`Hist::from_base64`] reads it back.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompactHist(Vec<u8>);

impl CompactHist {
    /// The dense form; an empty `CompactHist` (no samples ever) gives an empty histogram.
    pub fn expand(&self, sigfig: u8) -> Hist {
        if self.0.is_empty() {
            Hist::with_sigfig(sigfig)
        } else {
            Hist::from_v2(&self.0).expect("bytes we encoded decode")
        }
    }

    /// Encoded size in bytes, for the memory figures in the module doc and the benches.
    pub fn size(&self) -> usize {
        self.0.len()
    }
}

impl Serialize for CompactHist {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for CompactHist {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bytes = STANDARD.decode(&s).map_err(serde::de::Error::custom)?;
        // Empty bytes are a second that never had a sample (see `expand`); anything else must decode.
        if !bytes.is_empty() {
            Hist::from_v2(&bytes).map_err(serde::de::Error::custom)?;
        }
        Ok(Self(bytes))
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

/// Both histogram forms are a base64 string in JSON (hdrhistogram's V2 encoding; deflated for [`Hist`]).
fn base64_schema() -> schemars::Schema {
    schemars::json_schema!({
        "type": "string",
        "contentEncoding": "base64",
        "description": "an hdrhistogram in its V2 encoding (deflated for per-phase histograms), base64"
    })
}

impl schemars::JsonSchema for Hist {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Histogram".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        base64_schema()
    }
}

impl schemars::JsonSchema for CompactHist {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "CompactHistogram".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        base64_schema()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_compact_histogram_round_trips() {
        let empty = CompactHist::default();
        let json = serde_json::to_string(&empty).unwrap();
        let back: CompactHist = serde_json::from_str(&json).unwrap();
        assert_eq!(back, empty);
        assert!(back.expand(2).is_empty());
        assert!(serde_json::from_str::<CompactHist>("\"AAAA\"").is_err(), "garbage still fails");
    }

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

    #[test]
    fn compact_round_trips_and_stays_small() {
        let mut h = Hist::coarse();
        for i in 0..1000 {
            h.record(20_000 + i * 37);
        }
        let c = h.compact();
        assert!(c.size() < 1024, "{} bytes", c.size());
        assert_eq!(c.expand(2), h);
        let json = serde_json::to_string(&c).unwrap();
        let back: CompactHist = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
        assert_eq!(Hist::from_base64(json.trim_matches('"')).unwrap(), h);
    }
}
