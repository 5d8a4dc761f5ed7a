//! The API's routes, handled inside a frame: auth, routing, validation, and the reply or the dispatch to DAP/LSP.
//!
//! Order of checks: authentication first (an unknown path without a token is 401, as the hardened server does),
//! then the route (404), the method (405), the body (400), then the route's own rules. A body may be empty where
//! every field is optional; a body that is JSON but not an object is "Invalid JSON in request body".
//!
//! When DAP or LSP answers with an error (e.g. an unknown variable), the reply is 200
//! `{"status":"error","error":"<the peer's message>"}`: the bridge itself worked, the evaluation did not, and a
//! client (like the harness) that counts a 200 carrying `"error"` as a failure sees it.

use bytes::Bytes;
use hyper::Method;
use serde_json::{Map, Value, json};
use tokio::sync::oneshot;

use super::Engine;
use super::link::{Link, LinkError};
use super::scene::{self, SceneError};
use crate::api::{ServiceStatus, StateMapping, StatusBody};

/// What the connection task hands to the frame.
pub struct ApiRequest {
    pub method: Method,
    pub path: String,
    pub authorization: Option<String>,
    pub body: Bytes,
}

/// What the frame hands back; serialized by the connection task, off the frame.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

impl Reply {
    fn ok(body: Value) -> Reply {
        Reply { status: 200, body }
    }
}

/// The contract's error body: reason phrase, detail, status code.
pub fn error(status: u16, message: impl Into<String>) -> Reply {
    let reason = hyper::StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Error");
    Reply { status, body: json!({"error": reason, "message": message.into(), "status_code": status}) }
}

fn unauthorized() -> Reply {
    Reply {
        status: 401,
        body: json!({"error": "Unauthorized", "message": "Missing or invalid authentication token",
                     "details": "Include 'Authorization: Bearer <token>' header"}),
    }
}

#[derive(Clone, Copy)]
enum Route {
    Status,
    Connect,
    Disconnect,
    SceneLoad,
    Evaluate,
    Completion,
}

fn route(path: &str) -> Option<(Route, Method)> {
    Some(match path {
        "/status" => (Route::Status, Method::GET),
        "/connect" => (Route::Connect, Method::POST),
        "/disconnect" => (Route::Disconnect, Method::POST),
        "/scene/load" => (Route::SceneLoad, Method::POST),
        "/debug/evaluate" => (Route::Evaluate, Method::POST),
        "/lsp/completion" => (Route::Completion, Method::POST),
        _ => return None,
    })
}

/// A request that waits on DAP or LSP: sent from a task so the frame goes on.
struct Forward {
    link: Link,
    route: Route,
    args: Map<String, Value>,
}

/// Handle one request inside the frame; the reply is sent now, or later by a task waiting on DAP/LSP.
pub fn handle(engine: &Engine, req: ApiRequest, reply: oneshot::Sender<Reply>) {
    match answer(engine, req) {
        // The client may have gone away; nothing to do then.
        Ok(r) => drop(reply.send(r)),
        Err(fwd) => {
            engine.rt.spawn(async move {
                let _ = reply.send(forward(fwd).await);
            });
        }
    }
}

fn answer(engine: &Engine, req: ApiRequest) -> Result<Reply, Forward> {
    if let Some(auth) = &engine.auth
        && !auth.allows(req.authorization.as_deref())
    {
        return Ok(unauthorized());
    }
    let Some((route, method)) = route(&req.path) else {
        return Ok(error(404, format!("Endpoint not found: {}", req.path)));
    };
    if req.method != method {
        return Ok(error(405, format!("Method {} not allowed for {}", req.method, req.path)));
    }
    // GET /status ignores any body.
    let body = match route {
        Route::Status => Map::new(),
        _ => match body_object(&req.body) {
            Ok(b) => b,
            Err(r) => return Ok(r),
        },
    };
    let required: &[&str] = match route {
        Route::Evaluate => &["expression"],
        Route::Completion => &["textDocument", "position"],
        _ => &[],
    };
    if let Some(missing) = required.iter().find(|k| !body.contains_key(**k)) {
        return Ok(error(400, format!("Missing required parameter: {missing}")));
    }
    Ok(match route {
        Route::Connect => {
            engine.dap.connect();
            engine.lsp.connect();
            Reply::ok(json!({"status": "connecting", "message": "Connection initiated"}))
        }
        Route::Disconnect => {
            engine.dap.disconnect();
            engine.lsp.disconnect();
            Reply::ok(json!({"status": "disconnected", "message": "Disconnection complete"}))
        }
        Route::SceneLoad => scene_load(engine, &body),
        Route::Evaluate => return Err(Forward { link: engine.dap.clone(), route, args: body }),
        Route::Completion => return Err(Forward { link: engine.lsp.clone(), route, args: body }),
        Route::Status => status_reply(engine),
    })
}

fn body_object(body: &[u8]) -> Result<Map<String, Value>, Reply> {
    if body.trim_ascii().is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(error(400, "Invalid JSON in request body")),
    }
}

fn status_reply(engine: &Engine) -> Reply {
    let service = |link: &Link, name: &str| {
        let s = link.status();
        ServiceStatus {
            last_error: s.last_error,
            last_activity: s.last_activity,
            port: s.port,
            retry_count: s.retry_count,
            service_name: name.to_string(),
            state: StateMapping::Legacy.encode(s.state),
        }
    };
    let dap = service(&engine.dap, "Debug Adapter");
    let lsp = service(&engine.lsp, "Language Server");
    let ready =
        [&dap, &lsp].iter().all(|s| s.state == StateMapping::Legacy.encode(crate::api::ServiceState::Connected));
    // Through `Value`, whose maps are sorted, so keys come out alphabetically as Godot writes them.
    match serde_json::to_value(StatusBody { debug_adapter: dap, language_server: lsp, overall_ready: ready }) {
        Ok(body) => Reply::ok(body),
        Err(e) => error(500, e.to_string()),
    }
}

fn scene_load(engine: &Engine, body: &Map<String, Value>) -> Reply {
    let path = match body.get("scene_path") {
        None | Some(Value::Null) => scene::DEFAULT_SCENE,
        Some(Value::String(s)) => s.as_str(),
        Some(_) => return error(400, "Invalid scene path. Must start with 'res://' and end with '.tscn'"),
    };
    let result =
        scene::validate(path).and_then(|()| scene::load(&engine.project_dir, &engine.data_dir, &engine.log, path));
    match result {
        Ok(load_time_ms) => {
            engine.hub.scene_loaded(path);
            engine.hub.defer("scene_loaded", json!({"scene": path, "load_time_ms": load_time_ms}));
            Reply::ok(json!({"status": "loading", "scene": path, "message": "Scene load initiated successfully"}))
        }
        Err(e) => {
            if let SceneError::Failed(why) = &e {
                engine.hub.defer("scene_load_failed", json!({"scene": path, "error": why}));
            }
            error(e.status(), e.to_string())
        }
    }
}

async fn forward(f: Forward) -> Reply {
    let (command, peer) = match f.route {
        Route::Evaluate => ("evaluate", "Debug adapter"),
        _ => ("textDocument/completion", "Language server"),
    };
    match f.link.request(command, Value::Object(f.args)).await {
        Ok(v) if command == "evaluate" => Reply::ok(json!({"status": "evaluated", "response": v})),
        Ok(v) => {
            let items = match v {
                Value::Array(items) => Value::Array(items),
                Value::Object(mut list) => list.remove("items").unwrap_or_else(|| json!([])),
                _ => json!([]),
            };
            Reply::ok(json!({"status": "success", "items": items}))
        }
        Err(LinkError::NotConnected) => error(503, format!("{peer} not connected")),
        Err(LinkError::Timeout) => error(504, format!("{peer} did not respond within 10 seconds")),
        Err(LinkError::Failed(why)) => Reply::ok(json!({"status": "error", "error": why})),
    }
}
