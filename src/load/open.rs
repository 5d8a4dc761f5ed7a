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
use super::timer::{Deadlines, Timer};

/// A send more than this after its due time counts as late: the generator, not the service, fell behind.
pub const LATE: Duration = Duration::from_millis(1);

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
    deadlines: Deadlines,
    cancel: CancellationToken,
}

impl Shared {
    pub fn new(plan: &LoadPlan, rec: Recorder, cancel: CancellationToken) -> Self {
        Self {
            idle: Mutex::new(Vec::with_capacity(plan.max_in_flight)),
            rec,
            bodies: Bodies::new(plan),
            timeout: plan.timeout,
            deadlines: Deadlines::new(plan.timeout),
            cancel,
        }
    }
}

/// Run every phase of `plan` from `start` on the open model; returns once the last phase's schedule is done and
/// every request in flight has finished (bounded by the request timeout), or at once on `cancel` (requests in flight
/// then are abandoned unrecorded: the harness stopped them, not the service).
pub async fn run_open(plan: &LoadPlan, rec: Recorder, start: Instant, cancel: CancellationToken) -> anyhow::Result<()> {
    let shared = Arc::new(Shared::new(plan, rec, cancel));
    let pacer = Pacer {
        phases: plan.phases.clone(),
        max_in_flight: plan.max_in_flight,
        target: Arc::new(Target::new(plan)?),
        shared,
        timer: Timer::new()?,
    };
    // A task of its own, so the pacer runs on a runtime thread like the workers it wakes (a caller's `block_on`
    // thread would make every hand-over a cross-thread wake-up).
    let mut workers = tokio::spawn(pacer.run(start)).await??;
    while workers.join_next().await.is_some() {}
    Ok(())
}

/// The scheduler: a task on the runtime that sleeps on a [`Timer`] (precise to microseconds) to each arrival's
/// deadline and hands the request to a worker on the same runtime.
struct Pacer {
    phases: Vec<PhasePlan>,
    max_in_flight: usize,
    target: Arc<Target>,
    shared: Arc<Shared>,
    timer: Timer,
}

impl Pacer {
    async fn run(self, start: Instant) -> std::io::Result<JoinSet<()>> {
        let shared = &self.shared;
        let mut senders: Vec<mpsc::Sender<Job>> = Vec::new();
        let mut workers = JoinSet::new();
        let mut payloads = [0usize; Endpoint::ALL.len()];
        let mut phase_start = start;
        'phases: for (phase, p) in self.phases.iter().enumerate() {
            let mut mixer = Mixer::new(&p.mix);
            for offset in Arrivals::new(p) {
                let intended = phase_start + offset;
                tokio::select! {
                    biased;
                    _ = shared.cancel.cancelled() => break 'phases,
                    slept = self.timer.sleep_until(intended) => slept?,
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
                        workers.spawn(worker(senders.len(), rx, client, shared.clone()));
                        senders.push(tx);
                    }
                    None => shared.rec.dropped(phase, intended, endpoint),
                }
            }
            phase_start += p.duration;
        }
        // Dropping the senders lets each worker finish its request and exit.
        Ok(workers)
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
    let deadline = sent + shared.timeout;
    let answered = tokio::select! {
        biased;
        _ = shared.cancel.cancelled() => return false,
        outcome = client.exchange(job.endpoint, body) => Some((outcome, Instant::now())),
        _ = shared.deadlines.passed(deadline) => None,
    };
    let (outcome, done) = answered.unwrap_or_else(|| {
        client.reset();
        (Outcome::Timeout, deadline)
    });
    shared.rec.request(job.phase, job.endpoint, job.intended, sent, done, outcome);
    true
}
