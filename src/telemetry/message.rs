//! What one telemetry text frame means to the harness.
//!
//! The stream's shapes come from several server versions (see the API contract, "Telemetry WebSocket"), so parsing is
//! deliberately loose: only the fields the harness records are required, everything else may be missing or extra,
//! and a frame that cannot be understood is classified rather than rejected, because a watcher that crashes on an
//! odd frame would turn a harmless server quirk into a telemetry gap.

use serde_json::Value;

/// A classified text frame.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Frame {
    /// The `connected` welcome a server sends first.
    Welcome,
    Fps {
        fps: f64,
        memory_mb: Option<f64>,
    },
    SceneLoaded,
    SceneLoadFailed {
        scene: String,
        error: String,
    },
    Alert {
        level: String,
        message: String,
    },
    /// A known message the harness does not record (`vr_tracking`, `pong`, `snapshot`, focus events, ...).
    Ignored,
    /// Well-formed JSON with an event or type nobody documented.
    Unknown,
    /// Not JSON, not an object, or a known event without the fields that make it useful.
    Malformed,
}

/// Events the contract or the original server's sources name, which carry nothing the harness records.
const IGNORED_EVENTS: &[&str] =
    &["vr_tracking", "vr_initialized", "vr_focus_gained", "vr_focus_lost", "error", "warning", "custom", "snapshot"];

/// Non-event envelopes (`type`) that answer our own commands.
const IGNORED_TYPES: &[&str] = &["pong", "snapshot", "ack", "response"];

pub(crate) fn classify(text: &str) -> Frame {
    let Ok(Value::Object(v)) = serde_json::from_str::<Value>(text) else {
        return Frame::Malformed;
    };
    let str_of = |obj: &serde_json::Map<String, Value>, k: &str| obj.get(k).and_then(Value::as_str).map(str::to_owned);
    match v.get("type").and_then(Value::as_str) {
        Some("event") => {}
        Some("alert") => {
            return match str_of(&v, "message") {
                Some(message) => {
                    Frame::Alert { level: str_of(&v, "level").unwrap_or_else(|| "unknown".into()), message }
                }
                None => Frame::Malformed,
            };
        }
        Some(t) if IGNORED_TYPES.contains(&t) => return Frame::Ignored,
        Some(_) => return Frame::Unknown,
        None => return Frame::Malformed,
    }
    let empty = serde_json::Map::new();
    let data = v.get("data").and_then(Value::as_object).unwrap_or(&empty);
    match v.get("event").and_then(Value::as_str) {
        Some("connected") => Frame::Welcome,
        Some("fps") => match data.get("fps").and_then(Value::as_f64) {
            Some(fps) => Frame::Fps { fps, memory_mb: data.get("memory_usage_mb").and_then(Value::as_f64) },
            None => Frame::Malformed,
        },
        Some("scene_loaded") => Frame::SceneLoaded,
        Some("scene_load_failed") => Frame::SceneLoadFailed {
            scene: str_of(data, "scene").unwrap_or_default(),
            error: str_of(data, "error").unwrap_or_default(),
        },
        Some(e) if IGNORED_EVENTS.contains(&e) => Frame::Ignored,
        Some(_) => Frame::Unknown,
        None => Frame::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_the_contract_shapes() {
        let welcome = r#"{"type":"event","event":"connected","data":{"peer_id":1,"server_version":"1.0.0","capabilities":["fps"]},"timestamp":1}"#;
        assert_eq!(classify(welcome), Frame::Welcome);
        let fps = r#"{"type":"event","event":"fps","data":{"fps":89.5,"frame_time_ms":11.2,"memory_usage_mb":2500.0},"timestamp":1}"#;
        assert_eq!(classify(fps), Frame::Fps { fps: 89.5, memory_mb: Some(2500.0) });
        let old_fps = r#"{"type":"event","event":"fps","data":{"fps":90,"frame_time_ms":11.1}}"#;
        assert_eq!(classify(old_fps), Frame::Fps { fps: 90.0, memory_mb: None });
        let failed = r#"{"type":"event","event":"scene_load_failed","data":{"scene":"res://a.tscn","error":"disk"}}"#;
        assert_eq!(classify(failed), Frame::SceneLoadFailed { scene: "res://a.tscn".into(), error: "disk".into() });
        let alert = r#"{"type":"alert","level":"warning","message":"FPS dropped below 85","timestamp":1}"#;
        assert_eq!(classify(alert), Frame::Alert { level: "warning".into(), message: "FPS dropped below 85".into() });
        assert_eq!(classify(r#"{"type":"event","event":"vr_tracking","data":{}}"#), Frame::Ignored);
        assert_eq!(classify(r#"{"type":"pong"}"#), Frame::Ignored);
    }

    #[test]
    fn odd_frames_are_classified_not_rejected() {
        assert_eq!(classify(r#"{"type":"event","event":"player_spawned","data":{}}"#), Frame::Unknown);
        assert_eq!(classify(r#"{"type":"mystery"}"#), Frame::Unknown);
        assert_eq!(classify("{not json"), Frame::Malformed);
        assert_eq!(classify("[1,2]"), Frame::Malformed);
        assert_eq!(classify(r#"{"type":"event","event":"fps","data":{"fps":"fast"}}"#), Frame::Malformed);
        assert_eq!(classify(r#"{"event":"fps"}"#), Frame::Malformed);
    }
}
