//! The load engine alone, for side-by-side benchmarks with wrk and oha (`spacetime-drill bench-load`, hidden).
//!
//! Three shapes: a closed loop (each of N connections sends its next request as soon as the last one is answered,
//! which is how wrk and oha measure throughput), the open model at a fixed rate (the real engine, [`run_open`], on a
//! one-phase plan), and goose users ([`run_users`], to set beside plain goose). The first two send through the same
//! request path as a run ([`open::send`]: the same hyper connection, timeout and [`Recorder`]), the third through
//! the run's goose transaction, so what the benchmark measures is what a run costs.
//! The figures are printed as one JSON object on stdout, so a script can run this under `/usr/bin/time -v` and
//! `taskset` exactly like the peers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::api::Endpoint;
use crate::cli::BenchLoadArgs;
use crate::judge::Profile;
use crate::metrics::{Exporter, MetricsOptions, Sources};
use crate::record::{Hist, Record, Recorder};
use crate::scenario::{LoadModel, Mix, Scenario};

use super::http::{Client, Target};
use super::open::{self, Job, Shared};
use super::plan::{LoadPlan, PhasePlan};
use super::{run_open, run_users};

/// What `bench-load` prints.
#[derive(Debug, Serialize)]
pub struct BenchResult {
    /// Requests sent and finished (answered, refused or timed out), over every endpoint; dropped arrivals are not
    /// among them.
    pub requests: u64,
    /// Of `requests`, every outcome but `ok` (error statuses, refused connections, timeouts).
    pub errors: u64,
    /// Wall time of the measurement, the divisor of `rps`.
    pub seconds: f64,
    /// `requests / seconds`: the throughput the loadgen comparison (`benches/loadgen.py`) reads.
    pub rps: f64,
    /// Intended-time latency (the open model's; equal to service time in a closed loop), ms.
    pub p50_ms: Option<f64>,
    /// As `p50_ms`, 90th percentile; `None` (as for every quantile here) when nothing was answered.
    pub p90_ms: Option<f64>,
    /// As `p50_ms`, 95th percentile: the runbook's latency figure.
    pub p95_ms: Option<f64>,
    /// As `p50_ms`, 99th percentile.
    pub p99_ms: Option<f64>,
    /// From the actual send, ms.
    pub service_p50_ms: Option<f64>,
    /// As `service_p50_ms`, 90th percentile.
    pub service_p90_ms: Option<f64>,
    /// As `service_p50_ms`, 99th percentile; far below `p99_ms` means the generator, not the server, queued.
    pub service_p99_ms: Option<f64>,
    /// Sends more than [`LATE`](super::LATE) after their due time: the generator fell behind its schedule.
    pub late: u64,
    /// Open model arrivals never sent because every connection was busy at the in-flight cap.
    pub dropped: u64,
}

/// `spacetime-drill bench-load`: build the runtime, run one measurement, print its JSON.
pub(crate) fn main(args: &BenchLoadArgs) -> anyhow::Result<()> {
    let threads = args.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(threads.max(1)).enable_all().build()?;
    let mut plan = status_plan(&args.url, args.connections, args.rate.unwrap_or(0.0), args.duration)?;
    if plan.url()?.secure {
        let opts = crate::tls::TlsOptions { ca_file: args.ca_file.clone(), ..Default::default() };
        plan.tls = Some(crate::tls::client_config(&opts)?);
    }
    let result = rt.block_on(async {
        let (rec, start) = recorder(&plan.phases);
        // With `--metrics-listen`, served as in a run, so the metrics pass of loadgen.py measures what a run costs.
        let exporter = match args.metrics_listen {
            Some(listen) => Some(exporter(listen, &rec).await?),
            None => None,
        };
        let result = match (args.rate, args.users) {
            (Some(_), _) => fixed_rate_on(&plan, rec, start).await,
            (None, Some(n)) => users(plan.clone(), n, rec, start).await,
            (None, None) => closed_loop(&plan, args.connections, args.duration, args.requests, rec, start).await,
        };
        if let Some(e) = exporter {
            e.finish().await;
        }
        result
    })?;
    println!("{}", serde_json::to_string(&result)?);
    Ok(())
}

async fn exporter(listen: std::net::SocketAddr, rec: &Recorder) -> anyhow::Result<Exporter> {
    let mut e = Exporter::start(MetricsOptions { listen: Some(listen), ..MetricsOptions::default() }).await?;
    let sources = Sources {
        rec: rec.clone(),
        scenario: "bench-load".into(),
        phases: vec!["bench".into()],
        faults: Vec::new(),
        held: Arc::new(Vec::new),
        profile: Profile::default(),
    };
    e.attach(sources, None);
    Ok(e)
}

/// A one-phase plan of `GET /status` only.
pub fn status_plan(url: &str, connections: usize, rate: f64, duration: Duration) -> anyhow::Result<LoadPlan> {
    anyhow::ensure!(connections >= 1, "--connections must be at least 1");
    let text = "[[phase]]\nname = \"bench\"\nduration = \"1s\"";
    let scenario = Scenario::parse(std::path::Path::new("bench-load"), text).map_err(|e| anyhow::anyhow!("{e:?}"))?;
    let mut plan = LoadPlan::from_scenario(&scenario, url, None)?;
    plan.model = LoadModel::Open;
    plan.max_in_flight = connections;
    plan.phases[0].duration = duration;
    (plan.phases[0].rate_start, plan.phases[0].rate_end) = (rate, rate);
    plan.phases[0].mix = Mix::STATUS_ONLY;
    Ok(plan)
}

/// The open model on `plan` as a benchmark: figures of its first phase.
pub async fn fixed_rate(plan: &LoadPlan) -> anyhow::Result<BenchResult> {
    let (rec, start) = recorder(&plan.phases);
    fixed_rate_on(plan, rec, start).await
}

async fn fixed_rate_on(plan: &LoadPlan, rec: Recorder, start: Instant) -> anyhow::Result<BenchResult> {
    run_open(plan, rec.clone(), start, CancellationToken::new()).await?;
    Ok(summarize(&rec.finish(), start.elapsed()))
}

/// `n` goose users without think time on `plan`'s first phase.
async fn users(mut plan: LoadPlan, n: usize, rec: Recorder, start: Instant) -> anyhow::Result<BenchResult> {
    plan.model = LoadModel::Users;
    plan.phases[0].users = n;
    (plan.ramp, plan.think_time) = (Duration::ZERO, Duration::ZERO);
    run_users(&plan, rec.clone(), start, CancellationToken::new()).await?;
    Ok(summarize(&rec.finish(), start.elapsed()))
}

/// `connections` closed loops on `plan`'s first phase mix for `duration` (or until `max` requests were sent).
async fn closed_loop(
    plan: &LoadPlan,
    connections: usize,
    duration: Duration,
    max: Option<u64>,
    rec: Recorder,
    start: Instant,
) -> anyhow::Result<BenchResult> {
    let shared = Arc::new(Shared::new(plan, rec.clone(), CancellationToken::new()));
    let target = Arc::new(Target::new(plan)?);
    let (issued, max) = (Arc::new(AtomicU64::new(0)), max.unwrap_or(u64::MAX));
    let end = start + duration;
    let mut loops = JoinSet::new();
    for id in 0..connections {
        let (shared, target, issued) = (shared.clone(), target.clone(), issued.clone());
        let mut mixer = super::Mixer::new(&plan.phases[0].mix);
        loops.spawn(async move {
            let mut client = Client::new(target);
            while Instant::now() < end && issued.fetch_add(1, Ordering::Relaxed) < max {
                let job = Job { phase: 0, endpoint: mixer.next_endpoint(), payload: id, intended: Instant::now() };
                if !open::send(&mut client, &shared, job).await {
                    break;
                }
            }
        });
    }
    while loops.join_next().await.is_some() {}
    Ok(summarize(&rec.finish(), start.elapsed()))
}

fn recorder(phases: &[PhasePlan]) -> (Recorder, Instant) {
    let names: Vec<String> = phases.iter().map(|p| p.name.clone()).collect();
    let start = Instant::now();
    (Recorder::new(start, &names), start)
}

fn summarize(rec: &Record, elapsed: Duration) -> BenchResult {
    let phase = &rec.phases[0];
    let (mut latency, mut service, mut requests, mut errors) = (Hist::new(), Hist::new(), 0, 0);
    for ep in Endpoint::ALL {
        let e = &phase.endpoints[ep.index()];
        latency.add(&e.latency);
        service.add(&e.service);
        requests += e.count();
        errors += e.errors();
    }
    let ms = |h: &Hist, q| h.quantile(q).map(|us| us as f64 / 1000.0);
    let seconds = elapsed.as_secs_f64();
    BenchResult {
        requests,
        errors,
        seconds,
        rps: requests as f64 / seconds,
        p50_ms: ms(&latency, 0.50),
        p90_ms: ms(&latency, 0.90),
        p95_ms: ms(&latency, 0.95),
        p99_ms: ms(&latency, 0.99),
        service_p50_ms: ms(&service, 0.50),
        service_p90_ms: ms(&service, 0.90),
        service_p99_ms: ms(&service, 0.99),
        late: phase.late,
        dropped: phase.dropped,
    }
}
