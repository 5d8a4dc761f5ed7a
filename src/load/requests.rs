//! The request bodies, serialized once before the run: the hot path only clones a `Bytes` (a reference count).

use bytes::Bytes;
use serde_json::json;

use crate::api::Endpoint;
use crate::record::Outcome;

use super::plan::LoadPlan;

/// Bodies per endpoint, indexed by [`Endpoint::index`]; `/status` has one empty body.
#[derive(Debug, Clone)]
pub struct Bodies([Vec<Bytes>; Endpoint::ALL.len()]);

impl Bodies {
    pub fn new(plan: &LoadPlan) -> Self {
        let ser = |v: serde_json::Value| Bytes::from(v.to_string());
        Self([
            vec![Bytes::new()],
            plan.scenes.iter().map(|s| ser(json!({ "scene_path": s }))).collect(),
            plan.expressions
                .iter()
                .map(|e| ser(json!({ "expression": e, "frameId": 0, "context": "watch" })))
                .collect(),
            plan.completions
                .iter()
                .map(|c| {
                    ser(json!({
                        "textDocument": { "uri": c.uri },
                        "position": { "line": c.line, "character": c.character },
                    }))
                })
                .collect(),
        ])
    }

    /// The `n`-th body of `endpoint`, round robin. The plan check guarantees a list is non-empty when its endpoint
    /// has weight; an empty one gives an empty body rather than a panic.
    pub fn get(&self, endpoint: Endpoint, n: usize) -> Bytes {
        let list = &self.0[endpoint.index()];
        if list.is_empty() { Bytes::new() } else { list[n % list.len()].clone() }
    }
}

/// The outcome of a complete HTTP answer: its status, and for a 2xx whether the body carries a top-level `"error"`
/// key (the bridge answers some failures with 200 and an error body).
pub fn classify_response(status: u16, body: &[u8]) -> Outcome {
    let outcome = Outcome::from_status(status);
    if outcome == Outcome::Ok && has_error_key(body) { Outcome::ErrorBody } else { outcome }
}

/// Only parse when the bytes `"error"` occur: almost every healthy body skips serde entirely.
fn has_error_key(body: &[u8]) -> bool {
    #[derive(serde::Deserialize)]
    struct TopLevel {
        error: Option<serde::de::IgnoredAny>,
    }
    const KEY: &[u8] = b"\"error\"";
    body.windows(KEY.len()).any(|w| w == KEY)
        && serde_json::from_slice::<TopLevel>(body).is_ok_and(|t| t.error.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_key_only_at_top_level() {
        assert_eq!(classify_response(200, br#"{"error":"x","message":"y"}"#), Outcome::ErrorBody);
        assert_eq!(classify_response(200, br#"{"status":"error"}"#), Outcome::Ok);
        assert_eq!(classify_response(200, br#"{"response":{"error":"nested"}}"#), Outcome::Ok);
        assert_eq!(classify_response(200, b"not json \"error\""), Outcome::Ok);
        assert_eq!(classify_response(503, br#"{"error":"x"}"#), Outcome::Unavailable);
    }
}
