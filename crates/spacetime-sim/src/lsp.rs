//! The simulated GDScript language server (LSP, JSON-RPC 2.0): what `spacetime-drill sim lsp` serves and the bridge
//! forwards `/lsp/completion` to.
//!
//! It implements the lifecycle a client needs (`initialize`, `initialized`, `shutdown`, `exit`) and
//! `textDocument/completion`. Completion ignores the document and position and offers every keyword and project
//! identifier: the bridge only relays the list, and a context-free answer keeps each request cheap and its result
//! predictable for the harness. Unknown requests get JSON-RPC `MethodNotFound` (which the bridge's health check
//! relies on: any answer proves the server alive); unknown notifications are ignored, as the spec requires. After
//! `shutdown`, requests get `InvalidRequest`, also per the spec.

#[path = "lsp_index.rs"]
mod index;

use std::path::PathBuf;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::framing::{FrameError, ServerConn, serve_clients, to_body};

/// Godot's language server serves at most 8 clients.
const MAX_CLIENTS: usize = 8;

/// JSON-RPC error codes.
const PARSE_ERROR: i64 = -32700;
const INVALID_REQUEST: i64 = -32600;
const METHOD_NOT_FOUND: i64 = -32601;

/// Serve LSP clients on `listener` until the task is aborted (which closes every live connection).
pub async fn serve(listener: TcpListener, project_dir: PathBuf) -> anyhow::Result<()> {
    tracing::info!(addr = ?listener.local_addr()?, project = %project_dir.display(), "language server listening");
    let index = Arc::new(index::Index::new(project_dir));
    serve_clients(listener, MAX_CLIENTS, move |conn| session(conn, index.clone())).await
}

async fn session(mut conn: ServerConn, index: Arc<index::Index>) -> Result<(), FrameError> {
    let mut shut_down = false;
    while let Some(frame) = conn.next().await {
        let msg: Value = match serde_json::from_slice(&frame?) {
            Ok(msg) => msg,
            Err(e) => {
                conn.send(error(&Value::Null, PARSE_ERROR, &e.to_string())?).await?;
                continue;
            }
        };
        let method = msg["method"].as_str().unwrap_or_default();
        let Some(id) = msg.get("id") else {
            // A notification: only `exit` does anything.
            if method == "exit" {
                return conn.close().await;
            }
            continue;
        };
        let reply = match method {
            _ if shut_down => error(id, INVALID_REQUEST, "the server is shut down")?,
            "initialize" => result(
                id,
                &json!({
                    "capabilities": {
                        "textDocumentSync": 1,
                        "completionProvider": {"resolveProvider": false, "triggerCharacters": [".", "$"]},
                    },
                    "serverInfo": {"name": "spacetime-drill GDScript language server (simulated)"},
                }),
            )?,
            "textDocument/completion" => completion(id, &index.items_json().await)?,
            "shutdown" => {
                shut_down = true;
                result(id, &Value::Null)?
            }
            other => error(id, METHOD_NOT_FOUND, &format!("Method not found: {other}"))?,
        };
        conn.send(reply).await?;
    }
    Ok(())
}

fn result(id: &Value, result: &Value) -> Result<Bytes, FrameError> {
    to_body(&json!({"jsonrpc": "2.0", "id": id, "result": result}))
}

fn error(id: &Value, code: i64, message: &str) -> Result<Bytes, FrameError> {
    to_body(&json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}}))
}

/// The item list is spliced in pre-serialized: it is the same for every request and the bulk of the reply.
fn completion(id: &Value, items_json: &str) -> Result<Bytes, FrameError> {
    let id = serde_json::to_string(id)?;
    Ok(format!(r#"{{"jsonrpc":"2.0","id":{id},"result":{{"isIncomplete":false,"items":{items_json}}}}}"#).into())
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::dap::tests::{Client, call, recv};
    use crate::framing::ContentLengthCodec;
    use futures_util::StreamExt;
    use tokio::net::TcpStream;
    use tokio_util::codec::Framed;

    /// A temp project with one script, served on a free port; the handle's abort is a killed server.
    pub(crate) async fn start() -> (std::net::SocketAddr, tokio::task::JoinHandle<anyhow::Result<()>>, tempfile::TempDir)
    {
        let project = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(project.path().join("scripts")).unwrap();
        std::fs::write(
            project.path().join("scripts/player.gd"),
            "extends CharacterBody3D\nclass_name Player\nsignal died\n@export var jetpack_fuel := 100.0\n\nfunc take_damage(amount: int) -> void:\n\tpass\n",
        )
        .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        (addr, tokio::spawn(serve(listener, project.path().to_path_buf())), project)
    }

    async fn client(addr: std::net::SocketAddr) -> Client {
        Framed::new(TcpStream::connect(addr).await.unwrap(), ContentLengthCodec::default())
    }

    async fn request(c: &mut Client, id: i64, method: &str, params: Value) -> Value {
        call(c, json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})).await;
        let r = recv(c).await;
        assert_eq!(r["id"], id, "{r}");
        r
    }

    #[tokio::test]
    async fn lifecycle_and_completion_with_project_identifiers() {
        let (addr, server, _project) = start().await;
        let mut c = client(addr).await;
        let r = request(&mut c, 1, "initialize", json!({"processId": null, "rootUri": null, "capabilities": {}})).await;
        assert!(r["result"]["capabilities"]["completionProvider"].is_object(), "{r}");
        call(&mut c, json!({"jsonrpc": "2.0", "method": "initialized", "params": {}})).await;

        let params =
            json!({"textDocument": {"uri": "file:///project/player.gd"}, "position": {"line": 10, "character": 4}});
        let r = request(&mut c, 2, "textDocument/completion", params).await;
        let items = r["result"]["items"].as_array().unwrap();
        let find = |label: &str| items.iter().find(|i| i["label"] == label).cloned();
        assert_eq!(find("func").unwrap()["kind"], 14);
        assert_eq!(find("extends").unwrap()["detail"], "keyword");
        let f = find("take_damage").expect("a func from the project's script");
        assert_eq!(
            (f["kind"].as_u64(), f["detail"].as_str()),
            (Some(3), Some("func take_damage(amount: int) -> void"))
        );
        assert!(find("died").is_some() && find("jetpack_fuel").is_some() && find("Player").is_some());

        let r = request(&mut c, 3, "workspace/unknownThing", json!({})).await;
        assert_eq!(r["error"]["code"], METHOD_NOT_FOUND);
        let r = request(&mut c, 4, "shutdown", Value::Null).await;
        assert!(r["result"].is_null() && r.get("error").is_none(), "{r}");
        call(&mut c, json!({"jsonrpc": "2.0", "method": "exit"})).await;
        let end = tokio::time::timeout(std::time::Duration::from_secs(5), c.next()).await.unwrap();
        assert!(end.is_none(), "exit closes the connection");
        server.abort();
    }
}
