//! The open model: requests arrive on a schedule, whatever the service does, and each is timed from when it was due.
//!
//! One scheduler task walks the arrivals of every phase against absolute deadlines and hands each to an idle worker.
//! A worker owns one keep-alive connection and runs one request at a time, so the in-flight cap is the worker count
//! and no task or buffer is allocated per request. Workers are started lazily and reused last-in first-out, so the
//! connections opened track the real concurrency (a 1 ms service at 100 req/s uses one or two), not the cap: the
//! bridge closes its 101st connection. An arrival that finds every worker busy and the cap reached is dropped and
//! counted: sending it later would hide the overload, queueing it would grow without bound.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::api::Endpoint;
use crate::record::{Outcome, Recorder};

use super::http::{Client, Target};
use super::plan::LoadPlan;
use super::requests::Bodies;
use super::schedule::{Arrivals, Mixer};

/// A send more than this after its due time counts as late: the generator, not the service, fell behind.
pub const LATE: Duration = Duration::from_millis(1);

/// Dispatch at most this many overdue arrivals in a row before yielding, so catching up never starves the workers.
const BURST: u32 = 64;

struct Job {
    phase: usize,
    endpoint: Endpoint,
    payload: usize,
    intended: Instant,
}

/// What workers share: the idle list (worker ids, most recently idle last).
struct Shared {
    idle: Mutex<Vec<usize>>,
    rec: Recorder,
    bodies: Bodies,
    timeout: Duration,
    cancel: CancellationToken,
}

/// Run every phase of `plan` from `start` on the open model; returns once the last phase's schedule is done and
/// every request in flight has finished (bounded by the request timeout), or at once on `cancel` (requests in flight
/// then are abandoned unrecorded: the harness stopped them, not the service).
pub async fn run_open(plan: &LoadPlan, rec: Recorder, start: Instant, cancel: CancellationToken) -> anyhow::Result<()> {
    plan.check()?;
    let target = Arc::new(Target::new(plan)?);
    let shared = Arc::new(Shared {
        idle: Mutex::new(Vec::with_capacity(plan.max_in_flight)),
        rec,
        bodies: Bodies::new(plan),
        timeout: plan.timeout,
        cancel: cancel.clone(),
    });
    let mut senders: Vec<mpsc::Sender<Job>> = Vec::new();
    let mut workers = JoinSet::new();
    let mut payloads = [0usize; 4];
    let mut phase_start = start;
    let mut burst = 0;
    'phases: for (phase, p) in plan.phases.iter().enumerate() {
        let mut mixer = Mixer::new(&p.mix);
        for offset in Arrivals::new(p) {
            let intended = phase_start + offset;
            if intended > Instant::now() {
                burst = 0;
                tokio::select! {
                    biased;
                    _ = cancel.cancelled() => break 'phases,
                    _ = tokio::time::sleep_until(intended.into()) => {}
                }
            } else if burst >= BURST {
                burst = 0;
                tokio::task::yield_now().await;
                if cancel.is_cancelled() {
                    break 'phases;
                }
            } else {
                burst += 1;
            }
            let endpoint = mixer.next_endpoint();
            let payload = payloads[endpoint.index()];
            payloads[endpoint.index()] += 1;
            let job = Job { phase, endpoint, payload, intended };
            let idle = shared.idle.lock().pop();
            match idle {
                Some(id) => {
                    // An idle worker's one-slot channel is empty, so this cannot fail while it lives.
                    let _ = senders[id].try_send(job);
                }
                None if senders.len() < plan.max_in_flight => {
                    let (tx, rx) = mpsc::channel(1);
                    let _ = tx.try_send(job);
                    workers.spawn(worker(senders.len(), rx, Client::new(target.clone()), shared.clone()));
                    senders.push(tx);
                }
                None => shared.rec.dropped(phase, intended, endpoint),
            }
        }
        phase_start += p.duration;
    }
    // Closing the channels lets each worker finish its request and exit.
    drop(senders);
    while workers.join_next().await.is_some() {}
    Ok(())
}

async fn worker(id: usize, mut jobs: mpsc::Receiver<Job>, mut client: Client, shared: Arc<Shared>) {
    while let Some(job) = jobs.recv().await {
        let sent = Instant::now();
        if sent.saturating_duration_since(job.intended) > LATE {
            shared.rec.late(job.phase);
        }
        let body = shared.bodies.get(job.endpoint, job.payload);
        let outcome = tokio::select! {
            biased;
            _ = shared.cancel.cancelled() => return,
            r = tokio::time::timeout_at((sent + shared.timeout).into(), client.exchange(job.endpoint, body)) => {
                r.unwrap_or_else(|_| {
                    client.reset();
                    Outcome::Timeout
                })
            }
        };
        shared.rec.request(job.phase, job.endpoint, job.intended, sent, Instant::now(), outcome);
        shared.idle.lock().push(id);
    }
}
