//! The simulated Godot debug adapter (DAP): what `spacetime-drill sim dap` serves and the bridge forwards
//! `/debug/evaluate` to.
//!
//! It answers only what the bridge and the runbook use: `initialize` (followed by the `initialized` event, in the
//! same write as Godot does), `configurationDone`, `threads` (the bridge's health check: cheap and answered by
//! Godot too), `evaluate` on a fixed game state, and `disconnect`. Anything else gets a DAP error response rather
//! than silence, so a client never waits for a timeout to learn a command is unsupported.
//!
//! Each connection is independent (its own `seq` counter), requests are answered in order, and at most 8 clients
//! are served at once, like Godot's adapter. The project directory is accepted for symmetry with the LSP server
//! (and the `sim dap --project-dir` flag); the game state does not depend on it.

#[path = "dap_expr.rs"]
mod expr;

use std::path::PathBuf;

use bytes::Bytes;
use serde_json::{Value, json};
use tokio::net::TcpListener;

use super::framing::{FrameError, ServerConn, serve_clients, to_body};

/// Godot's debug adapter serves at most 8 clients.
const MAX_CLIENTS: usize = 8;

/// Serve DAP clients on `listener` until the task is aborted (which closes every live connection).
pub async fn serve(listener: TcpListener, project_dir: PathBuf) -> anyhow::Result<()> {
    tracing::info!(addr = ?listener.local_addr()?, project = %project_dir.display(), "debug adapter listening");
    serve_clients(listener, MAX_CLIENTS, session).await
}

async fn session(mut conn: ServerConn) -> Result<(), FrameError> {
    let mut seq = 0_i64;
    while let Some(frame) = conn.next().await {
        let msg: Value = match serde_json::from_slice(&frame?) {
            Ok(msg) => msg,
            Err(e) => {
                // A DAP error response needs the request's seq; without one the message can only be dropped.
                tracing::warn!("ignoring a DAP message that is not JSON: {e}");
                continue;
            }
        };
        if msg["type"] != "request" {
            continue;
        }
        let command = msg["command"].as_str().unwrap_or_default();
        let outcome = handle(command, &msg["arguments"]);
        seq += 1;
        conn.send(response(seq, &msg, command, &outcome)?).await?;
        match command {
            "initialize" => {
                seq += 1;
                conn.send(to_body(&json!({"seq": seq, "type": "event", "event": "initialized"}))?).await?;
            }
            "disconnect" => return conn.close().await,
            _ => {}
        }
    }
    Ok(())
}

/// A request's answer: a response body, or the error message of a `success: false` response.
fn handle(command: &str, args: &Value) -> Result<Value, String> {
    match command {
        "initialize" => Ok(json!({
            "supportsConfigurationDoneRequest": true,
            "supportsEvaluateForHovers": true,
            "supportsSetVariable": true,
            "supportsTerminateRequest": true,
            "supportsRestartRequest": false,
        })),
        "configurationDone" | "disconnect" => Ok(Value::Null),
        "threads" => Ok(json!({"threads": [{"id": 1, "name": "Main"}]})),
        "evaluate" => {
            let expression = args["expression"].as_str().ok_or("evaluate needs an \"expression\" string")?;
            let value = expr::evaluate(expression)?;
            Ok(json!({"result": value.to_string(), "type": value.type_name(), "variablesReference": 0}))
        }
        other => Err(format!("Unsupported command: {other}")),
    }
}

fn response(seq: i64, request: &Value, command: &str, outcome: &Result<Value, String>) -> Result<Bytes, FrameError> {
    let mut msg = json!({
        "seq": seq,
        "type": "response",
        "request_seq": request["seq"],
        "command": command,
        "success": outcome.is_ok(),
    });
    match outcome {
        Ok(Value::Null) => {}
        Ok(body) => msg["body"] = body.clone(),
        Err(message) => msg["message"] = message.as_str().into(),
    }
    to_body(&msg)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::framing::ContentLengthCodec;
    use futures_util::{SinkExt, StreamExt};
    use tokio::net::TcpStream;
    use tokio_util::codec::Framed;

    pub(crate) type Client = Framed<TcpStream, ContentLengthCodec>;

    /// Serve on a free port; the returned handle's abort is a killed adapter.
    pub(crate) async fn start() -> (std::net::SocketAddr, tokio::task::JoinHandle<anyhow::Result<()>>) {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        (addr, tokio::spawn(serve(listener, PathBuf::from("."))))
    }

    pub(crate) async fn call(c: &mut Client, msg: Value) {
        c.send(to_body(&msg).unwrap()).await.unwrap();
    }

    pub(crate) async fn recv(c: &mut Client) -> Value {
        let frame = tokio::time::timeout(std::time::Duration::from_secs(5), c.next()).await.unwrap();
        serde_json::from_slice(&frame.unwrap().unwrap()).unwrap()
    }

    async fn client(addr: std::net::SocketAddr) -> Client {
        Framed::new(TcpStream::connect(addr).await.unwrap(), ContentLengthCodec::default())
    }

    async fn evaluate(c: &mut Client, seq: i64, expression: &str) -> Value {
        let args = json!({"expression": expression, "frameId": 0, "context": "watch"});
        call(c, json!({"seq": seq, "type": "request", "command": "evaluate", "arguments": args})).await;
        let r = recv(c).await;
        assert_eq!((r["type"].as_str(), r["request_seq"].as_i64()), (Some("response"), Some(seq)));
        r
    }

    #[tokio::test]
    async fn initialize_then_initialized_event() {
        let (addr, server) = start().await;
        let mut c = client(addr).await;
        call(
            &mut c,
            json!({"seq": 1, "type": "request", "command": "initialize", "arguments": {"adapterID": "godot"}}),
        )
        .await;
        let r = recv(&mut c).await;
        assert_eq!(r["success"], true);
        assert_eq!(r["request_seq"], 1);
        assert_eq!(r["body"]["supportsConfigurationDoneRequest"], true);
        assert_eq!(r["body"]["supportsEvaluateForHovers"], true);
        let ev = recv(&mut c).await;
        assert_eq!((ev["type"].as_str(), ev["event"].as_str()), (Some("event"), Some("initialized")));
        assert!(ev["seq"].as_i64() > r["seq"].as_i64());
        server.abort();
    }

    #[tokio::test]
    async fn evaluate_reads_state_computes_and_names_unknowns() {
        let (addr, server) = start().await;
        let mut c = client(addr).await;
        let r = evaluate(&mut c, 1, "player.health").await;
        assert_eq!(r["body"], json!({"result": "100", "type": "int", "variablesReference": 0}));
        let r = evaluate(&mut c, 2, "player.jetpack_fuel").await;
        assert_eq!((r["body"]["result"].as_str(), r["body"]["type"].as_str()), (Some("100.0"), Some("float")));
        let r = evaluate(&mut c, 3, "player.position").await;
        assert_eq!(r["body"]["result"], "(0, 1.6, 0)");
        let r = evaluate(&mut c, 4, "(player.health + 20) * 2 / 3").await;
        assert_eq!((r["body"]["result"].as_str(), r["body"]["type"].as_str()), (Some("80"), Some("int")));
        let r = evaluate(&mut c, 5, "player.shield").await;
        assert_eq!(r["success"], false);
        assert!(r["message"].as_str().unwrap().contains("player.shield"), "{r}");
        call(&mut c, json!({"seq": 6, "type": "request", "command": "stepOut"})).await;
        let r = recv(&mut c).await;
        assert_eq!((r["success"].as_bool(), r["request_seq"].as_i64()), (Some(false), Some(6)));
        server.abort();
    }

    #[tokio::test]
    async fn serves_eight_clients_and_closes_a_ninth() {
        let (addr, server) = start().await;
        let mut clients = Vec::new();
        for seq in 1..=MAX_CLIENTS as i64 {
            let mut c = client(addr).await;
            assert_eq!(evaluate(&mut c, seq, "player.health").await["success"], true);
            clients.push(c);
        }
        let mut ninth = client(addr).await;
        let end = tokio::time::timeout(std::time::Duration::from_secs(5), ninth.next()).await.unwrap();
        assert!(end.is_none(), "the ninth client is closed without an answer");
        drop(clients.pop());
        // A freed slot is usable again (the server reaps the closed connection first: retry within a deadline).
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
        loop {
            let mut c = client(addr).await;
            let threads = to_body(&json!({"seq": 1, "type": "request", "command": "threads"})).unwrap();
            // Sending may fail outright when the server already closed this attempt.
            if c.send(threads).await.is_ok()
                && let Ok(Some(Ok(_))) = tokio::time::timeout(std::time::Duration::from_secs(1), c.next()).await
            {
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "a slot never freed up");
        }
        server.abort();
    }

    #[tokio::test]
    async fn disconnect_answers_then_closes_while_other_clients_go_on() {
        let (addr, server) = start().await;
        let (mut a, mut b) = (client(addr).await, client(addr).await);
        call(&mut a, json!({"seq": 1, "type": "request", "command": "disconnect", "arguments": {}})).await;
        let r = recv(&mut a).await;
        assert_eq!((r["command"].as_str(), r["success"].as_bool()), (Some("disconnect"), Some(true)));
        let end = tokio::time::timeout(std::time::Duration::from_secs(5), a.next()).await.unwrap();
        assert!(end.is_none(), "the adapter closes after answering disconnect");
        assert_eq!(evaluate(&mut b, 1, "player.health").await["body"]["result"], "100");
        server.abort();
    }
}
