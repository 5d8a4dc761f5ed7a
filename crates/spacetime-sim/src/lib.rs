//! The SpaceTime simulator: a faithful stand-in for the GodotBridge HTTP API, its telemetry WebSocket, and the
//! Godot editor's DAP and LSP servers, so that every fault the runbook describes can happen to it for real.
//!
//! # Faithful to the contract (`../shared/spacetime-api.md`)
//! - One main loop at 90 Hz handles every queued request inside a frame ([`main_loop`]): latency at rest is about
//!   one frame, slow work lowers the FPS telemetry reports. DAP/LSP round trips are dispatched from the frame and
//!   answered when the peer replies, so they never hold the frame.
//! - 127.0.0.1 only; HTTP falls back 8080 → 8083 → 8084 → 8085 and the telemetry port to the next ports when taken,
//!   logged on stderr and in `<data dir>/logs/spacetime.log` ([`serve`]).
//! - 100-connection cap, 10 MiB body limit, no idle timeout ([`bridge`]); routes, bodies, status codes and error
//!   shapes ([`routes`]); `/status` with sorted keys and the legacy numbering (connected = 2).
//! - DAP and LSP are separate child processes (`sim dap`, `sim lsp`) that die with the bridge (`PR_SET_PDEATHSIG`),
//!   so a test can `kill -9` them; the bridge reaches them only over TCP through [`link`].
//! - `/scene/load` reads and parses the real `.tscn`, checks its `ext_resource` dependencies and writes the import
//!   cache and a log line into the data directory ([`scene`]), so a renamed, corrupt or incomplete scene, or a
//!   full disk, fails as it would in the engine.
//! - HS256 JWT auth with a rotating secret file ([`auth`]); telemetry events and commands ([`telemetry`]).
//!
//! # Where the contract is silent, the simulator chooses
//! - Check order: auth, route (404), method (405), body (400), then the route's rules; the 401 applies to unknown
//!   paths too. `/__sim/` control routes need no token and are not API traffic (no frame, no leak, no auth).
//! - A DAP/LSP error answer (e.g. an unknown variable) is 200 `{"status":"error","error":"<peer message>"}`; a
//!   timeout is 504 `{"error":"Gateway Timeout","message":"Debug adapter did not respond within 10 seconds",..}`.
//! - `/lsp/completion` requires `textDocument` and `position` (400 `Missing required parameter: <name>`);
//!   completion items are passed through as the language server sent them.
//! - 400 messages for `..`, NUL and over-long scene paths name the rule broken; a `scene_path` that is not a string
//!   is treated as an invalid path. 500 messages are `Scene load failed: <path> is corrupt: <why>`,
//!   `Scene load failed: missing dependency <res path>`, `Scene load failed: cannot write import cache: <OS error>`.
//! - `scene_loaded` (with `load_time_ms`, the real time of reading, checking and writing) and
//!   `scene_load_failed` (only for 500s: a load was attempted) are sent at the start of the next frame, as a
//!   deferred scene change completes. These events are the simulator's invention, as the research notes say.
//! - `fps` figures: `fps` = frames started per second over the last 0.5 s, `frame_time_ms` = its inverse,
//!   `physics_time_ms` = the mean time a frame spent working (requests + busy work); `memory_usage_mb` = the
//!   bridge's resident memory from `/proc/self/statm`.
//! - The data directory defaults to a new temporary directory removed at exit; the default project is generated
//!   in `<data dir>/project`. Every scene load appends a line to `<data dir>/logs/spacetime.log` (it grows with
//!   load, as a real engine log does) and replaces `<data dir>/import_cache/<scene>.scn`.
//! - FPS: the loop catches up after a stall of up to 4 frames (a busy host), and starts afresh after a longer
//!   one, so slow frames show as low FPS and scheduling hiccups do not.
//! - The secret file is re-read every frame; whitespace around the secret is ignored.
//! - `GET /metrics` serves `http_request_duration_seconds` by route and code without a token, off the frame, as
//!   the control routes ([`metrics`]).

#![warn(missing_docs)]

pub mod api;
pub mod auth;
mod bridge;
pub mod cli;
mod dap;
mod datalog;
mod framing;
mod knobs;
pub mod launch;
mod link;
mod lsp;
mod main_loop;
mod metrics;
mod project;
mod routes;
mod scene;
mod serve;
mod telemetry;
mod tls;

use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::{SimArgs, SimCommand, SimPeerArgs};

pub use bridge::CONTROL_PREFIX;

/// Everything a frame needs; owned by the main-loop thread.
struct Engine {
    project_dir: PathBuf,
    data_dir: PathBuf,
    log: Arc<datalog::DataLog>,
    auth: Option<auth::Auth>,
    knobs: Arc<knobs::Knobs>,
    dap: link::Link,
    lsp: link::Link,
    hub: Arc<telemetry::Hub>,
    rt: tokio::runtime::Handle,
}

/// `spacetime-drill sim [dap|lsp|token]`.
pub fn main(args: SimArgs) -> anyhow::Result<()> {
    match args.child {
        None => serve::serve(args.serve),
        Some(SimCommand::Dap(a)) => peer(a, link::Peer::Dap),
        Some(SimCommand::Lsp(a)) => peer(a, link::Peer::Lsp),
        Some(SimCommand::Token(a)) => auth::token_command(&a),
    }
}

/// Serve DAP or LSP alone on its port (the bridge starts these as its children).
fn peer(args: SimPeerArgs, which: link::Peer) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind((std::net::Ipv4Addr::LOCALHOST, args.port)).await?;
        if let Some(f) = &args.port_file {
            serve::write_atomic(f, listener.local_addr()?.port().to_string().as_bytes())
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", f.display()))?;
        }
        match which {
            link::Peer::Dap => dap::serve(listener, args.project_dir).await,
            link::Peer::Lsp => lsp::serve(listener, args.project_dir).await,
        }
    })
}
