//! `spacetime-drill sim`: start the whole service. DAP and LSP children first, then the bridge's HTTP server and the
//! telemetry WebSocket, then the ports file; on SIGTERM or SIGINT, stop and take the children down.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::either::Either;

use super::auth::Auth;
use super::datalog::DataLog;
use super::knobs::Knobs;
use super::launch::{Pids, Ports};
use super::link::{Link, Peer};
use super::telemetry::Hub;
use super::{Engine, bridge, main_loop, project, telemetry};
use crate::cli::SimServeArgs;
use crate::tls;

/// The real bridge's fallback list after the configured port.
const HTTP_FALLBACKS: [u16; 3] = [8083, 8084, 8085];
/// The telemetry server tries its port and this many after it.
const TELEMETRY_TRIES: u16 = 5;
const CHILD_START_TIMEOUT: Duration = Duration::from_secs(15);

pub fn serve(args: SimServeArgs) -> anyhow::Result<()> {
    let mut _temp = None;
    let data_dir = match &args.data_dir {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create data dir {}", d.display()))?;
            d.clone()
        }
        None => _temp.insert(tempfile::Builder::new().prefix("spacetime-sim-").tempdir()?).path().to_path_buf(),
    };
    let log = Arc::new(DataLog::open(&data_dir)?);
    let project_dir = match &args.project_dir {
        Some(p) => {
            anyhow::ensure!(p.is_dir(), "project dir {} is not a directory", p.display());
            p.clone()
        }
        None => {
            let p = data_dir.join("project");
            project::generate(&p)?;
            p
        }
    };
    let auth = args.jwt_secret_file.clone().map(Auth::new).transpose()?;
    // Read before anything starts, so a bad certificate or key fails the start with its reason.
    let tls = match (&args.tls_cert, &args.tls_key) {
        (Some(cert), Some(key)) => {
            Some(TlsAcceptor::from(tls::server_config(cert, key, args.tls_client_ca.as_deref())?))
        }
        _ => None,
    };
    let knobs = Arc::new(Knobs::new(args.leak_bytes_per_request, args.frame_work_ms)?);
    // Spawned from the main thread: PR_SET_PDEATHSIG fires when the spawning *thread* exits.
    let run_dir = data_dir.join("run");
    std::fs::create_dir_all(&run_dir)?;
    let mut dap = PeerChild::spawn("dap", args.dap_port, &project_dir, &run_dir)?;
    let mut lsp = PeerChild::spawn("lsp", args.lsp_port, &project_dir, &run_dir)?;
    let children = (|| Ok::<_, anyhow::Error>((dap.wait_port()?, lsp.wait_port()?)))();
    let result = children.and_then(|(dap_port, lsp_port)| {
        let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
        let pids = Pids { bridge: std::process::id(), dap: dap.child.id(), lsp: lsp.child.id() };
        let parts = Parts { args, data_dir, project_dir, log, auth, tls, knobs, dap_port, lsp_port, pids };
        rt.block_on(run(parts))
    });
    dap.stop();
    lsp.stop();
    result
}

struct Parts {
    args: SimServeArgs,
    data_dir: PathBuf,
    project_dir: PathBuf,
    log: Arc<DataLog>,
    auth: Option<Auth>,
    tls: Option<TlsAcceptor>,
    knobs: Arc<Knobs>,
    dap_port: u16,
    lsp_port: u16,
    pids: Pids,
}

async fn run(p: Parts) -> anyhow::Result<()> {
    let mut http_tries = vec![p.args.http_port];
    if p.args.http_port != 0 {
        http_tries.extend(HTTP_FALLBACKS.iter().filter(|f| **f != p.args.http_port));
    }
    let http = bind_first("HTTP API", &http_tries, &p.log).await?;
    let http_port = http.local_addr()?.port();
    let ws_tries: Vec<u16> = match p.args.telemetry_port {
        0 => vec![0],
        first => (0..TELEMETRY_TRIES).filter_map(|i| first.checked_add(i)).filter(|t| *t != http_port).collect(),
    };
    let ws = bind_first("telemetry", &ws_tries, &p.log).await?;
    let ws_port = ws.local_addr()?.port();

    let local = |port| SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let hub = Hub::new();
    let engine = Engine {
        project_dir: p.project_dir,
        data_dir: p.data_dir.clone(),
        log: p.log.clone(),
        auth: p.auth,
        knobs: p.knobs.clone(),
        dap: Link::spawn(Peer::Dap, local(p.dap_port)),
        lsp: Link::spawn(Peer::Lsp, local(p.lsp_port)),
        hub: hub.clone(),
        rt: tokio::runtime::Handle::current(),
    };
    let frames = main_loop::start(engine)?;
    tokio::spawn(bridge::serve(http, p.tls.clone(), frames, p.knobs));
    tokio::spawn(telemetry::serve(ws, p.tls.clone(), hub));

    let ports = Ports { http: http_port, telemetry: ws_port, dap: p.dap_port, lsp: p.lsp_port, pids: p.pids };
    if let Some(file) = &p.args.ports_file {
        write_atomic(file, serde_json::to_string(&ports)?.as_bytes())
            .with_context(|| format!("cannot write {}", file.display()))?;
    }
    let s = if p.tls.is_some() { "s" } else { "" };
    let ready = format!(
        "SpaceTime simulator ready: http{s}://127.0.0.1:{http_port} telemetry ws{s}://127.0.0.1:{ws_port} DAP {} \
         LSP {} (data dir {})",
        p.dap_port,
        p.lsp_port,
        p.data_dir.display()
    );
    eprintln!("{ready}");
    let _ = p.log.line(&ready);

    use tokio::signal::unix::{SignalKind, signal};
    let (mut term, mut int) = (signal(SignalKind::terminate())?, signal(SignalKind::interrupt())?);
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
    let _ = p.log.line("Shutting down");
    Ok(())
}

/// A client connection of the bridge or the telemetry server: plain, or TLS when the simulator serves HTTPS/WSS.
pub(super) type Conn = Either<TcpStream, tokio_rustls::server::TlsStream<TcpStream>>;

/// The TLS handshake of an accepted connection, when the simulator serves TLS; bounded, so a client that connects
/// and says nothing cannot hold the task forever.
pub(super) async fn handshake(stream: TcpStream, tls: Option<&TlsAcceptor>) -> std::io::Result<Conn> {
    let Some(acceptor) = tls else { return Ok(Either::Left(stream)) };
    let accepted = tokio::time::timeout(Duration::from_secs(10), acceptor.accept(stream)).await;
    Ok(Either::Right(accepted.map_err(|_| std::io::Error::from(ErrorKind::TimedOut))??))
}

/// Bind the first free port of `tries` on 127.0.0.1, logging each one taken (0 = any free port).
async fn bind_first(what: &str, tries: &[u16], log: &DataLog) -> anyhow::Result<TcpListener> {
    let _ = log.line(&format!("{what}: ports to try: {tries:?}"));
    for (i, port) in tries.iter().enumerate() {
        match TcpListener::bind((Ipv4Addr::LOCALHOST, *port)).await {
            Ok(l) => {
                if i > 0 {
                    log.announce(&format!("{what}: port {} is in use, listening on fallback port {port}", tries[0]));
                }
                return Ok(l);
            }
            Err(e) if e.kind() == ErrorKind::AddrInUse => log.announce(&format!("{what}: port {port} is in use")),
            Err(e) => return Err(e).with_context(|| format!("cannot bind {what} port {port}")),
        }
    }
    anyhow::bail!("{what}: every port of {tries:?} is in use")
}

/// Write via a temporary file (`<path>.tmp`) and a rename, so a reader never sees half a file; the simulator's one
/// atomic write (it cannot use the harness's). A failed write removes the temporary file: on a full disk it would
/// keep the space taken after the fault is rolled back.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let result = std::fs::write(&tmp, bytes).and_then(|()| std::fs::rename(&tmp, path));
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

/// A DAP or LSP child process: `spacetime-drill sim dap|lsp`.
struct PeerChild {
    name: &'static str,
    child: Child,
    port_file: PathBuf,
}

impl PeerChild {
    fn spawn(name: &'static str, port: u16, project_dir: &Path, run_dir: &Path) -> anyhow::Result<PeerChild> {
        let port_file = run_dir.join(format!("{name}.port"));
        let _ = std::fs::remove_file(&port_file);
        let mut cmd = Command::new(std::env::current_exe()?);
        cmd.args(["sim", name, "--port", &port.to_string(), "--project-dir"])
            .arg(project_dir)
            .arg("--port-file")
            .arg(&port_file);
        super::launch::die_with_parent(&mut cmd);
        let child = cmd.spawn().with_context(|| format!("cannot start the {name} child"))?;
        Ok(PeerChild { name, child, port_file })
    }

    /// Wait for the child to write its port, or fail if it exits or takes too long.
    fn wait_port(&mut self) -> anyhow::Result<u16> {
        let deadline = Instant::now() + CHILD_START_TIMEOUT;
        loop {
            if let Some(port) = std::fs::read_to_string(&self.port_file).ok().and_then(|s| s.trim().parse().ok()) {
                return Ok(port);
            }
            if let Some(status) = self.child.try_wait()? {
                anyhow::bail!("the {} child exited at start ({status})", self.name);
            }
            anyhow::ensure!(Instant::now() < deadline, "the {} child did not listen within 15 s", self.name);
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stop(&mut self) {
        // Already gone (e.g. killed by a test) is fine.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
