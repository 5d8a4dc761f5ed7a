//! The simulator's command line, as clap types only. `spacetime-drill sim` embeds these, and
//! [`crate::launch`] speaks them, so this file is the simulator's whole outside interface besides the API itself.

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// `spacetime-drill sim`'s arguments, opaque outside this crate: the harness embeds the command line without coupling
/// to its flags, and only [`crate::main`] reads them. (The harness's `Sim` variant doc is the help text; it overrides
/// this one.)
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct SimArgs {
    #[command(subcommand)]
    pub(crate) child: Option<SimCommand>,
    #[command(flatten)]
    pub(crate) serve: SimServeArgs,
}

#[derive(Debug, Subcommand)]
pub(crate) enum SimCommand {
    /// Serve only the debug adapter (DAP) on its port.
    Dap(SimPeerArgs),
    /// Serve only the language server (LSP) on its port.
    Lsp(SimPeerArgs),
    /// Mint an HS256 JWT signed with the secret in a file.
    Token(SimTokenArgs),
}

#[derive(Debug, Args, Clone)]
pub(crate) struct SimServeArgs {
    /// HTTP API port (0 = any free port). Taken at start: falls back to 8083, 8084, 8085 as the real bridge does.
    #[arg(long, default_value_t = 8080)]
    pub http_port: u16,
    /// Telemetry WebSocket port (0 = any free port).
    #[arg(long, default_value_t = 8081)]
    pub telemetry_port: u16,
    /// Debug adapter port (0 = any free port).
    #[arg(long, default_value_t = 6006)]
    pub dap_port: u16,
    /// Language server port (0 = any free port).
    #[arg(long, default_value_t = 6005)]
    pub lsp_port: u16,
    /// Once everything listens, write the bound ports and PIDs here as JSON.
    #[arg(long)]
    pub ports_file: Option<PathBuf>,
    /// The Godot project (`res://` root); default: a generated project inside the data directory.
    #[arg(long)]
    pub project_dir: Option<PathBuf>,
    /// Where logs and the per-load import cache are written; default: a new temporary directory.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Require HS256 JWTs signed with the secret in this file; the file is re-read when it changes.
    #[arg(long)]
    pub jwt_secret_file: Option<PathBuf>,
    /// Serve HTTPS and WSS with this PEM certificate (chain) instead of plain HTTP and WS; needs `--tls-key`.
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of `--tls-cert`.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require a client certificate signed by a CA in this PEM file (mTLS); needs `--tls-cert`.
    #[arg(long, requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// Fault knob: bytes retained (leaked) per HTTP request.
    #[arg(long, default_value_t = 0)]
    pub leak_bytes_per_request: u64,
    /// Fault knob: extra busy work per frame, in milliseconds.
    #[arg(long, default_value_t = 0.0)]
    pub frame_work_ms: f64,
}

#[derive(Debug, Args, Clone)]
pub(crate) struct SimPeerArgs {
    /// Port to listen on (0 = any free port).
    #[arg(long)]
    pub port: u16,
    /// The Godot project (`res://` root) the server reads `.gd` files from.
    #[arg(long)]
    pub project_dir: PathBuf,
    /// Write the bound port here once listening.
    #[arg(long)]
    pub port_file: Option<PathBuf>,
}

#[derive(Debug, Args, Clone)]
pub(crate) struct SimTokenArgs {
    /// File holding the HS256 signing secret.
    #[arg(long)]
    pub secret_file: PathBuf,
    /// How long the token is valid, e.g. `1h`, `90s`; a negative lifetime is not allowed, use `--expired`.
    #[arg(long, default_value = "1h", value_parser = humantime::parse_duration)]
    pub ttl: std::time::Duration,
    /// Mint a token that expired this long ago instead.
    #[arg(long, value_parser = humantime::parse_duration)]
    pub expired: Option<std::time::Duration>,
}
