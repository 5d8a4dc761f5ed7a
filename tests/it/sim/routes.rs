//! Every route's success and error shapes, as the contract gives them.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Telemetry, get, post, read_response, sim};

#[test]
fn status_has_sorted_keys_and_legacy_numbering() {
    let s = sim(Default::default());
    let r = get(s.ports.http, "/status");
    assert_eq!(r.status, 200);
    let order =
        ["\"debug_adapter\"", "\"last_activity\"", "\"port\"", "\"retry_count\"", "\"service_name\"", "\"state\""];
    let at: Vec<usize> = order.iter().map(|k| r.raw.find(k).unwrap_or_else(|| panic!("{k} in {}", r.raw))).collect();
    assert!(at.windows(2).all(|w| w[0] < w[1]), "keys sorted: {}", r.raw);
    assert!(r.raw.find("\"language_server\"") < r.raw.find("\"overall_ready\""));
    assert_eq!(r.body["debug_adapter"]["port"], s.ports.dap);
    assert_eq!(r.body["language_server"]["port"], s.ports.lsp);
    assert_eq!(r.body["debug_adapter"]["service_name"], "Debug Adapter");
    assert_eq!(r.body["language_server"]["service_name"], "Language Server");
    let states = [&r.body["debug_adapter"]["state"], &r.body["language_server"]["state"]].map(|v| v.as_i64().unwrap());
    assert!(states.iter().all(|s| (0..=4).contains(s)), "legacy numbering: {states:?}");
    assert_eq!(r.body["overall_ready"], states == [2, 2]);
}

#[test]
fn connect_and_disconnect_answer_at_once() {
    let s = sim(Default::default());
    let r = post(s.ports.http, "/connect", "");
    assert_eq!((r.status, r.body.clone()), (200, json!({"status":"connecting","message":"Connection initiated"})));
    let r = post(s.ports.http, "/disconnect", "{}");
    assert_eq!((r.status, r.body), (200, json!({"status":"disconnected","message":"Disconnection complete"})));
    // Disconnected on request: both proxies refuse at once, not after the 10 s timeout.
    let started = Instant::now();
    let r = post(s.ports.http, "/debug/evaluate", r#"{"expression":"player.health","frameId":0,"context":"watch"}"#);
    assert_eq!(
        r.body,
        json!({"error":"Service Unavailable","message":"Debug adapter not connected","status_code":503})
    );
    let r = post(
        s.ports.http,
        "/lsp/completion",
        r#"{"textDocument":{"uri":"file:///p.gd"},"position":{"line":1,"character":0}}"#,
    );
    assert_eq!(
        r.body,
        json!({"error":"Service Unavailable","message":"Language server not connected","status_code":503})
    );
    assert!(started.elapsed() < Duration::from_secs(5), "503 comes at once");
}

#[test]
fn scene_load_succeeds_writes_cache_and_log_and_tells_telemetry() {
    let s = sim(Default::default());
    let mut t = Telemetry::connect(&s.telemetry_url());
    assert_eq!(t.next()["event"], "connected");
    let r = post(s.ports.http, "/scene/load", "");
    assert_eq!(
        (r.status, r.body),
        (200, json!({"status":"loading","scene":"res://vr_main.tscn","message":"Scene load initiated successfully"}))
    );
    let loaded = t.until(5, "scene_loaded", |m| (m["event"] == "scene_loaded").then(|| m["data"].clone()));
    assert_eq!(loaded["scene"], "res://vr_main.tscn");
    assert!(loaded["load_time_ms"].as_f64().unwrap() >= 0.0);
    for scene in ["res://node_3d.tscn", "res://scenes/space_station.tscn", "res://tests/test_scene.tscn"] {
        let r = post(s.ports.http, "/scene/load", &json!({ "scene_path": scene }).to_string());
        assert_eq!((r.status, r.body["scene"].as_str()), (200, Some(scene)));
    }
    assert!(s.data_dir.join("import_cache/vr_main.tscn.scn").is_file());
    assert!(s.data_dir.join("import_cache/scenes_space_station.tscn.scn").is_file());
    let log = std::fs::read_to_string(s.data_dir.join("logs/spacetime.log")).unwrap();
    assert!(log.contains("Scene loaded: res://scenes/space_station.tscn"), "{log}");
}

#[test]
fn scene_load_rejects_bad_paths() {
    let s = sim(Default::default());
    let long = format!("res://scenes/{}.tscn", "a".repeat(520));
    let cases = [
        (json!({"scene_path": "vr_main.tscn"}), 400),
        (json!({"scene_path": "res://scripts/player.gd"}), 400),
        (json!({"scene_path": "res://scenes/../addons/debug_tools/debug_panel.tscn"}), 400),
        (json!({"scene_path": "res://scenes/a\u{0}.tscn"}), 400),
        (json!({"scene_path": long}), 400),
        (json!({"scene_path": 7}), 400),
        (json!({"scene_path": "res://addons/debug_tools/debug_panel.tscn"}), 403),
        (json!({"scene_path": "res://scenes/nowhere.tscn"}), 404),
    ];
    for (body, status) in cases {
        let r = post(s.ports.http, "/scene/load", &body.to_string());
        assert_eq!((r.status, &r.body["status_code"]), (status, &json!(status)), "{body}: {}", r.raw);
    }
    let r = post(s.ports.http, "/scene/load", r#"{"scene_path":"res://addons/debug_tools/debug_panel.tscn"}"#);
    assert_eq!(
        r.body,
        json!({"error":"Forbidden","message":"Scene path not authorized. Access denied.","status_code":403})
    );
    let r = post(s.ports.http, "/scene/load", r#"{"scene_path":"res://scenes/nowhere.tscn"}"#);
    assert_eq!(r.body["message"], "Scene file not found: res://scenes/nowhere.tscn");
}

#[test]
fn generic_errors_have_the_contract_shape() {
    let s = sim(Default::default());
    let p = s.ports.http;
    let r = get(p, "/health");
    assert_eq!(r.body, json!({"error":"Not Found","message":"Endpoint not found: /health","status_code":404}));
    assert_eq!(post(p, "/debug/memory_profile", "{}").status, 404, "does not exist on the real bridge");
    let r = get(p, "/scene/load");
    assert_eq!((r.status, r.body["error"].as_str()), (405, Some("Method Not Allowed")));
    assert_eq!(post(p, "/status", "").status, 405);
    for bad in ["{not json", "[1,2]", "\"x\""] {
        let r = post(p, "/scene/load", bad);
        assert_eq!(r.body, json!({"error":"Bad Request","message":"Invalid JSON in request body","status_code":400}));
    }
    let r = post(p, "/debug/evaluate", r#"{"frameId":0}"#);
    assert_eq!(r.body["message"], "Missing required parameter: expression");
    let r = post(p, "/lsp/completion", r#"{"textDocument":{"uri":"file:///p.gd"}}"#);
    assert_eq!(r.body["message"], "Missing required parameter: position");
}

#[test]
fn body_over_10_mib_closes_the_connection_without_a_response() {
    let s = sim(Default::default());
    let mut c = TcpStream::connect(("127.0.0.1", s.ports.http)).unwrap();
    c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let len = 11 * 1024 * 1024;
    let head = format!("POST /scene/load HTTP/1.1\r\nHost: x\r\nContent-Length: {len}\r\n\r\n");
    c.write_all(head.as_bytes()).unwrap();
    // The server may close while we are still sending; either way no response may come back.
    let _ = c.write_all(&vec![b' '; 64 * 1024]);
    assert!(read_response(&mut c).is_err(), "no HTTP response to an over-size body");
    // A 9 MiB body is still read and answered.
    let big = format!("{{\"scene_path\":\"res://vr_main.tscn\",\"pad\":\"{}\"}}", "x".repeat(9 * 1024 * 1024));
    assert_eq!(post(s.ports.http, "/scene/load", &big).status, 200);
}

#[test]
fn knobs_live_under_their_own_prefix() {
    let s = sim(Default::default());
    let r = get(s.ports.http, "/__sim/knobs");
    assert_eq!(r.body, json!({"frame_work_ms":0.0,"leak_bytes_per_request":0,"leaked_bytes":0}));
    let r = post(s.ports.http, "/__sim/knobs", r#"{"frame_work_ms":1.5}"#);
    assert_eq!((r.status, &r.body["frame_work_ms"]), (200, &json!(1.5)));
    assert_eq!(post(s.ports.http, "/__sim/knobs", r#"{"frame_work_ms":-3}"#).status, 400);
    assert_eq!(post(s.ports.http, "/__sim/knobs", r#"{"typo":1}"#).status, 400);
    assert_eq!(get(s.ports.http, "/__sim/other").status, 404);
}

#[test]
fn telemetry_answers_commands() {
    let s = sim(Default::default());
    let mut t = Telemetry::connect(&s.telemetry_url());
    let hello = t.next();
    assert_eq!(hello["type"], "event");
    assert_eq!(hello["event"], "connected");
    assert_eq!(hello["data"]["server_version"], "1.0.0");
    assert_eq!(hello["data"]["capabilities"], json!(["fps", "vr_tracking", "scene_info", "events"]));
    t.send(json!({"command": "ping"}));
    t.until(5, "pong", |m| (m["type"] == "pong").then_some(()));
    t.send(json!({"command": "get_snapshot"}));
    let snap = t.until(5, "snapshot", |m| (m["type"] == "snapshot").then(|| m["data"].clone()));
    assert!(snap["memory_usage_mb"].as_f64().unwrap() > 1.0);
    t.send(json!({"command": "set_update_interval", "interval": 0.1}));
    t.until(5, "interval ack", |m| (m["event"] == "update_interval_changed").then_some(()));
    let first = t.fps();
    for key in ["fps", "frame_time_ms", "physics_time_ms", "memory_usage_mb"] {
        assert!(first[key].is_number(), "{key} in {first}");
    }
    // Server timestamps of three consecutive samples: 0.2 s apart now, 1 s at the default 0.5 s interval.
    let stamps: Vec<f64> = (0..3)
        .map(|_| t.until(5, "fps", |m| (m["event"] == "fps").then(|| m["timestamp"].as_f64().unwrap())))
        .collect();
    assert!(stamps[2] - stamps[0] < 0.7, "fps every 0.1 s: {stamps:?}");
    t.send(json!({"command": "nonsense"}));
    t.until(5, "error event", |m| (m["event"] == "error").then_some(()));
}
