//! The open model: requests arrive on a schedule, whatever the service does, and each is timed from when it was due.
//!
//! One scheduler thread walks the arrivals of every phase against absolute deadlines and hands each to an idle worker.
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
use super::plan::{LoadPlan, PhasePlan};
use super::requests::Bodies;
use super::schedule::{Arrivals, Mixer};

/// A send more than this after its due time counts as late: the generator, not the service, fell behind.
pub const LATE: Duration = Duration::from_millis(1);

/// Longest the pacer sleeps without looking at the cancellation token.
const CANCEL_CHECK: Duration = Duration::from_millis(50);

pub(super) struct Job {
    pub phase: usize,
    pub endpoint: Endpoint,
    pub payload: usize,
    pub intended: Instant,
}

/// What workers share: the idle list (worker ids, most recently idle last).
pub(super) struct Shared {
    idle: Mutex<Vec<usize>>,
    rec: Recorder,
    bodies: Bodies,
    timeout: Duration,
    cancel: CancellationToken,
}

impl Shared {
    pub fn new(plan: &LoadPlan, rec: Recorder, cancel: CancellationToken) -> Self {
        Self {
            idle: Mutex::new(Vec::with_capacity(plan.max_in_flight)),
            rec,
            bodies: Bodies::new(plan),
            timeout: plan.timeout,
            cancel,
        }
    }
}

/// Run every phase of `plan` from `start` on the open model; returns once the last phase's schedule is done and
/// every request in flight has finished (bounded by the request timeout), or at once on `cancel` (requests in flight
/// then are abandoned unrecorded: the harness stopped them, not the service).
pub async fn run_open(plan: &LoadPlan, rec: Recorder, start: Instant, cancel: CancellationToken) -> anyhow::Result<()> {
    plan.check()?;
    let shared = Arc::new(Shared::new(plan, rec, cancel));
    let pacer = Pacer {
        phases: plan.phases.clone(),
        max_in_flight: plan.max_in_flight,
        target: Arc::new(Target::new(plan)?),
        shared,
        runtime: tokio::runtime::Handle::current(),
    };
    let mut workers = tokio::task::spawn_blocking(move || pacer.run(start)).await?;
    while workers.join_next().await.is_some() {}
    Ok(())
}

/// The scheduler. It runs on its own thread and sleeps with the OS timer (~50 µs slack) rather than tokio's, whose
/// 1 ms wheel plus the poller's ms timeout made sends ~1.1 ms late at the median: all of it charged to the service
/// in the intended-time latency (measured against a 20 ms server: p50 21.7 ms with tokio's timer).
struct Pacer {
    phases: Vec<PhasePlan>,
    max_in_flight: usize,
    target: Arc<Target>,
    shared: Arc<Shared>,
    runtime: tokio::runtime::Handle,
}

impl Pacer {
    fn run(self, start: Instant) -> JoinSet<()> {
        let shared = &self.shared;
        let mut senders: Vec<mpsc::Sender<Job>> = Vec::new();
        let mut workers = JoinSet::new();
        let mut payloads = [0usize; 4];
        let mut phase_start = start;
        'phases: for (phase, p) in self.phases.iter().enumerate() {
            let mut mixer = Mixer::new(&p.mix);
            for offset in Arrivals::new(p) {
                let intended = phase_start + offset;
                if !sleep_until(intended, &shared.cancel) {
                    break 'phases;
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
                    None if senders.len() < self.max_in_flight => {
                        let (tx, rx) = mpsc::channel(1);
                        let _ = tx.try_send(job);
                        let client = Client::new(self.target.clone());
                        workers.spawn_on(worker(senders.len(), rx, client, shared.clone()), &self.runtime);
                        senders.push(tx);
                    }
                    None => shared.rec.dropped(phase, intended, endpoint),
                }
            }
            phase_start += p.duration;
        }
        // Dropping the senders lets each worker finish its request and exit.
        workers
    }
}

/// Sleep until `deadline` on this thread; false when cancelled first (checked at least every 50 ms).
fn sleep_until(deadline: Instant, cancel: &CancellationToken) -> bool {
    loop {
        if cancel.is_cancelled() {
            return false;
        }
        let now = Instant::now();
        if now >= deadline {
            return true;
        }
        std::thread::sleep((deadline - now).min(CANCEL_CHECK));
    }
}

async fn worker(id: usize, mut jobs: mpsc::Receiver<Job>, mut client: Client, shared: Arc<Shared>) {
    while let Some(job) = jobs.recv().await {
        if !send(&mut client, &shared, job).await {
            return;
        }
        shared.idle.lock().push(id);
    }
}

/// Send one job on `client`, bounded by the request timeout, and record it; false when the run was cancelled
/// (the request is then abandoned unrecorded). The one request path of every loop (open workers, `bench`).
pub(super) async fn send(client: &mut Client, shared: &Shared, job: Job) -> bool {
    let sent = Instant::now();
    if sent.saturating_duration_since(job.intended) > LATE {
        shared.rec.late(job.phase);
    }
    let body = shared.bodies.get(job.endpoint, job.payload);
    let outcome = tokio::select! {
        biased;
        _ = shared.cancel.cancelled() => return false,
        r = tokio::time::timeout_at((sent + shared.timeout).into(), client.exchange(job.endpoint, body)) => {
            r.unwrap_or_else(|_| {
                client.reset();
                Outcome::Timeout
            })
        }
    };
    shared.rec.request(job.phase, job.endpoint, job.intended, sent, Instant::now(), outcome);
    true
}
