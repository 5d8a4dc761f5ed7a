//! A latency histogram that serializes itself exactly (hdrhistogram's V2 deflate format, base64), so reports from
//! different runs or shards can be merged into the percentiles one run recording every sample would have given.

use std::io::Read;
use std::ops::RangeInclusive;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hdrhistogram::Histogram;
use hdrhistogram::serialization::{Deserializer, Serializer, V2DeflateSerializer, V2Serializer};
use serde::{Deserialize, Serialize};

/// Highest value tracked; anything slower is recorded as this (one hour in µs).
pub const MAX_US: u64 = 3_600_000_000;
/// The precision of a per-phase histogram ([`Hist::new`]) and of a per-second one ([`Hist::coarse`], at rest as
/// [`CompactHist`]); a report is read back at exactly these, so every histogram read adds to the ones it meets.
const FINE_SIGFIG: u8 = 3;
const COMPACT_SIGFIG: u8 = 2;

/// A latency (µs) or FPS (×100) histogram bounded to 1..[`MAX_US`], at one of two precisions; in JSON a base64
/// string that reads back to the same counts, so merged reports give exact percentiles.
#[derive(Debug, Clone, PartialEq)]
pub struct Hist(pub Histogram<u64>);

impl Hist {
    /// Three significant digits: 0.1 % error, the precision the runbook's 200 ms boundary deserves.
    pub fn new() -> Self {
        Self::with_sigfig(FINE_SIGFIG)
    }

    /// Any precision: the harness itself writes only [`Hist::new`]'s and [`Hist::coarse`]'s (tests build others to
    /// see them refused).
    pub fn with_sigfig(sigfig: u8) -> Self {
        Self(Histogram::new_with_bounds(1, MAX_US, sigfig).expect("static histogram bounds are valid"))
    }

    /// Two significant digits (1 % error, 26 KiB dense): the per-second rows' precision, where a window's p95 is
    /// compared with thresholds tens of percent apart and memory per second matters more.
    pub fn coarse() -> Self {
        Self::with_sigfig(COMPACT_SIGFIG)
    }

    /// Empty it, keeping its allocation (per-second rows recycle their dense histograms).
    pub fn clear(&mut self) {
        self.0.reset();
    }

    /// Count one value; 0 counts as 1 and anything past [`MAX_US`] as [`MAX_US`], so no sample is ever lost.
    pub fn record(&mut self, v: u64) {
        self.0.saturating_record(v.max(1));
    }

    /// Add another's counts, as if every one of its samples had been recorded here (shard and phase merges).
    /// Histograms read from a report are checked to share these bounds, so this cannot fail.
    pub fn add(&mut self, other: &Hist) {
        self.0.add(&other.0).expect("histograms with the same bounds always add");
    }

    /// How many samples were recorded: a phase's request count, or its FPS sample count.
    pub fn len(&self) -> u64 {
        self.0.len()
    }

    /// No sample at all: a quantile would be meaningless (reports show null, not 0).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Quantile in the recorded unit; `None` when nothing was recorded.
    pub fn quantile(&self, q: f64) -> Option<u64> {
        (!self.0.is_empty()).then(|| self.0.value_at_quantile(q))
    }

    fn to_base64(&self) -> String {
        let mut buf = Vec::new();
        V2DeflateSerializer::new().serialize(&self.0, &mut buf).expect("serializing into memory cannot fail");
        STANDARD.encode(buf)
    }

    /// Decode a histogram of any precision this harness writes (1 to 3 significant digits).
    pub fn from_base64(s: &str) -> Result<Self, String> {
        Self::from_base64_with(s, 1..=3)
    }

    fn from_base64_with(s: &str, sigfigs: RangeInclusive<u8>) -> Result<Self, String> {
        let bytes = STANDARD.decode(s).map_err(|e| format!("histogram is not base64: {e}"))?;
        Self::from_v2(&bytes, sigfigs)
    }

    /// Decode either V2 flavour (plain or deflate), checked first against what this harness writes.
    ///
    /// Why the checks come before hdrhistogram sees the bytes: it trusts the header. It allocates the payload length
    /// the header claims (up to 4 GiB) before reading it, and sizes the counts array from the claimed bounds, and a
    /// histogram with other bounds later fails to `add` to ours. So: deflate is inflated here with a cap, the header
    /// must say our bounds (1 µs to [`MAX_US`]) and a precision in `sigfigs`, the payload must be as long as claimed,
    /// and no value may lie past the bucket holding [`MAX_US`].
    fn from_v2(bytes: &[u8], sigfigs: RangeInclusive<u8>) -> Result<Self, String> {
        let inflated;
        let plain = match be_u32(bytes, 0) {
            Some(V2_DEFLATE_COOKIE) => {
                let mut out = Vec::new();
                let stream = bytes.get(8..).unwrap_or_default();
                flate2::read::ZlibDecoder::new(stream)
                    .take(MAX_ENCODED as u64 + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| format!("histogram does not inflate: {e}"))?;
                if out.len() > MAX_ENCODED {
                    return Err(format!("histogram inflates to more than {MAX_ENCODED} bytes"));
                }
                inflated = out;
                &inflated[..]
            }
            _ => bytes,
        };
        check_header(plain, &sigfigs)?;
        let h: Histogram<u64> = Deserializer::new()
            .deserialize(&mut &plain[..])
            .map_err(|e| format!("histogram does not decode: {e:?}"))?;
        if h.max() > h.highest_equivalent(MAX_US) {
            return Err(format!("histogram holds {} µs, past its bound of {MAX_US} µs (1 h)", h.max()));
        }
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

/// The V2 cookies (hdrhistogram's `V2_COOKIE`, `V2_COMPRESSED_COOKIE`, which it does not export).
const V2_COOKIE: u32 = 0x1c84_9313;
const V2_DEFLATE_COOKIE: u32 = 0x1c84_9314;
/// cookie, payload length, normalizing offset, digits (u32 each), lowest, highest, ratio (u64/f64 each).
const V2_HEADER: usize = 40;
/// Far above any histogram within our bounds (a dense 3-digit one encodes to tens of KiB).
const MAX_ENCODED: usize = 1 << 20;

fn be_u32(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

fn be_u64(bytes: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_be_bytes(bytes.get(at..at + 8)?.try_into().ok()?))
}

fn check_header(plain: &[u8], sigfigs: &RangeInclusive<u8>) -> Result<(), String> {
    if plain.len() < V2_HEADER || be_u32(plain, 0) != Some(V2_COOKIE) {
        return Err("histogram is not an hdrhistogram V2 encoding".into());
    }
    let payload = be_u32(plain, 4).unwrap_or(u32::MAX) as usize;
    if payload != plain.len() - V2_HEADER {
        return Err(format!("histogram claims {payload} bytes of counts but holds {}", plain.len() - V2_HEADER));
    }
    let digits = be_u32(plain, 12).unwrap_or_default();
    let (low, high) = (be_u64(plain, 16).unwrap_or_default(), be_u64(plain, 24).unwrap_or_default());
    if !u8::try_from(digits).is_ok_and(|d| sigfigs.contains(&d)) || low != 1 || high != MAX_US {
        return Err(format!(
            "histogram has bounds 1..={high} µs at {digits} significant digits; this harness writes 1..={MAX_US} µs \
             at {}..={} digits",
            sigfigs.start(),
            sigfigs.end()
        ));
    }
    Ok(())
}

/// A histogram at rest: its V2 bytes. Per-second rows keep these once a second can no longer receive samples, so a
/// long run costs bytes per second, not a dense histogram per second. Serialized as base64 like [`Hist`], and
/// [`Hist::from_base64`] reads it back.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CompactHist(Vec<u8>);

impl CompactHist {
    /// The dense form, at the per-second precision it was written at ([`Hist::coarse`]); an empty `CompactHist` (no
    /// samples ever) gives an empty histogram.
    pub fn expand(&self) -> Hist {
        if self.0.is_empty() {
            Hist::coarse()
        } else {
            Hist::from_v2(&self.0, 1..=3).expect("bytes we encoded, or checked when read, decode")
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
            Hist::from_v2(&bytes, COMPACT_SIGFIG..=COMPACT_SIGFIG).map_err(serde::de::Error::custom)?;
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
        Self::from_base64_with(&s, FINE_SIGFIG..=FINE_SIGFIG).map_err(serde::de::Error::custom)
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
        assert!(back.expand().is_empty());
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
        assert_eq!(c.expand(), h);
        let json = serde_json::to_string(&c).unwrap();
        let back: CompactHist = serde_json::from_str(&json).unwrap();
        assert_eq!(back, c);
        assert_eq!(Hist::from_base64(json.trim_matches('"')).unwrap(), h);
    }

    /// Issue 13: a report's histogram with other bounds, values past 1 h, or a header lying about its length is an
    /// error when read, never an `expect` panic in `merge`/`report` or a 4 GiB allocation.
    #[test]
    fn hostile_histograms_are_errors() {
        let encode = |h: &Histogram<u64>| {
            let mut buf = Vec::new();
            V2DeflateSerializer::new().serialize(h, &mut buf).unwrap();
            STANDARD.encode(buf)
        };
        let mut wide = Histogram::<u64>::new_with_bounds(1, MAX_US * 4, 3).unwrap();
        wide.record(MAX_US * 3).unwrap();
        let e = serde_json::from_str::<Hist>(&format!("\"{}\"", encode(&wide))).unwrap_err().to_string();
        assert!(e.contains("bounds 1..=14400000000") && e.contains("1..=3600000000"), "{e}");
        // Our bounds, but a count in the last bucket's tail, past MAX_US.
        let mut tail = Histogram::<u64>::new_with_bounds(1, MAX_US, 3).unwrap();
        tail.record(tail.highest_equivalent(MAX_US) + 1).unwrap();
        let e = Hist::from_base64(&encode(&tail)).unwrap_err();
        assert!(e.contains("past its bound"), "{e}");
        // A plain V2 header claiming 4 GiB of counts.
        let mut lie = Vec::new();
        V2Serializer::new().serialize(&Hist::new().0, &mut lie).unwrap();
        lie[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        let e = Hist::from_base64(&STANDARD.encode(&lie)).unwrap_err();
        assert!(e.contains("claims 4294967295 bytes"), "{e}");
        // A deflate bomb: 4 MiB of zeros behind the compressed cookie.
        let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        std::io::Write::write_all(&mut z, &vec![0u8; 4 << 20]).unwrap();
        let mut bomb = [V2_DEFLATE_COOKIE.to_be_bytes(), 0u32.to_be_bytes()].concat();
        bomb.extend(z.finish().unwrap());
        assert!(Hist::from_base64(&STANDARD.encode(&bomb)).unwrap_err().contains("more than"));
        // A per-phase histogram must be the fine one, a per-second one the coarse one.
        let coarse = format!("\"{}\"", Hist::coarse().to_base64());
        assert!(serde_json::from_str::<Hist>(&coarse).unwrap_err().to_string().contains("2 significant digits"));
    }
}
