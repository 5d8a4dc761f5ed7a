//! The closed model ("realistic users") on goose 0.19: each user sends a request, waits for it, thinks, repeats.
//!
//! Only this file imports goose; the rules come from `../shared/research/goose.md` §10, each tested there by running
//! code. goose stops its timer at the response headers, so the body is timed here; goose knows nothing of our
//! phases, so each request is tagged with the phase current at its start and recorded into the same [`Recorder`]
//! as the open model. A closed model cannot show a stall's true latency (users simply stop sending), which is why
//! the open model is the default and this mode exists for staging runs that want user behaviour.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use goose::config::GooseConfiguration;
use goose::prelude::*;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HeaderValue};
use parking_lot::Mutex;
use tokio_util::sync::CancellationToken;

use crate::record::{Outcome, Recorder};

use super::AuthFault;
use super::http::classify_error;
use super::plan::LoadPlan;
use super::requests::{Bodies, classify_response};
use super::schedule::Mixer;

/// What every user's transaction shares.
struct Shared {
    rec: Recorder,
    bodies: Bodies,
    /// One mixer per phase, shared by all users, so the whole run follows each phase's weights.
    mixers: Vec<Mutex<Mixer>>,
    payloads: [AtomicUsize; crate::api::Endpoint::ALL.len()],
    auth: Option<HeaderValue>,
    auth_fault: AuthFault,
}

/// Run `plan` as goose users until the timeline ends (`start` + the plan's total) or `cancel` fires, then stop
/// them with the killswitch and wait for goose to return: the `execute()` future is never aborted, since aborted
/// users keep sending.
pub async fn run_users(
    plan: &LoadPlan,
    rec: Recorder,
    start: Instant,
    cancel: CancellationToken,
) -> anyhow::Result<()> {
    let auth = match &plan.token {
        Some(t) => {
            let mut v = HeaderValue::from_str(&format!("Bearer {}", t.expose()))?;
            v.set_sensitive(true);
            Some(v)
        }
        None => None,
    };
    let shared = Arc::new(Shared {
        rec,
        bodies: Bodies::new(plan),
        mixers: plan.phases.iter().map(|p| Mutex::new(Mixer::new(&p.mix))).collect(),
        payloads: Default::default(),
        auth,
        auth_fault: plan.auth_fault.clone(),
    });
    let tx = Transaction::new(Arc::new(move |user| {
        let shared = shared.clone();
        Box::pin(async move { one_request(user, &shared).await })
    }))
    .set_name("request");
    let mut scenario = Scenario::new("spacetime");
    let (host, client) = client(plan)?;
    if let Some(builder) = client {
        // Each user swaps goose's default client for one on the run's TLS config before its first request.
        let set = Transaction::new(Arc::new(move |user| {
            let builder = builder.clone();
            Box::pin(async move { user.set_client_builder(builder()).await.map_err(Box::new) })
        }))
        .set_name("tls client")
        .set_on_start();
        scenario = scenario.register_transaction(set);
    }
    let scenario = scenario
        .register_transaction(tx)
        .set_wait_time(plan.think_time, plan.think_time)
        .map_err(|e| anyhow::anyhow!("goose wait time: {e:?}"))?;
    let attack = GooseAttack::initialize_with_config(config(plan, host))
        .map_err(|e| anyhow::anyhow!("goose configuration: {e:?}"))?
        .register_scenario(scenario);

    let end = start + plan.total();
    let finished = CancellationToken::new();
    let stopper = tokio::spawn(stop_at(end, cancel, finished.clone()));
    let result = attack.execute().await;
    finished.cancel();
    let _ = stopper.await;
    result.map(drop).map_err(|e| anyhow::anyhow!("goose run failed: {e:?}"))
}

/// goose.md §10.1: everything set in code, nothing read from argv or printed by goose.
fn config(plan: &LoadPlan, host: String) -> GooseConfiguration {
    let users = plan.phases.first().map_or(1, |p| p.users);
    let ramp = plan.ramp.as_secs_f64();
    // goose counts `run_time` after the ramp; it is only an upper bound, the killswitch ends the run on time.
    let run_time = plan.total().saturating_sub(plan.ramp) + Duration::from_secs(1);
    let mut c = GooseConfiguration::default();
    c.host = Some(host);
    c.users = Some(users);
    c.increase_rate = Some(if ramp > 0.0 { format!("{:.3}", users as f64 / ramp) } else { users.to_string() });
    c.run_time = Some(format!("{}s", run_time.as_secs().max(1)));
    c.timeout = Some(format!("{:.3}", plan.timeout.as_secs_f64()));
    c.quiet = 0;
    c.verbose = 2; // lets our tracing filter decide; a lower value caps the process-wide `log` level (goose.md §3)
    c.no_print_metrics = true;
    // Every request is in our Recorder; goose's own aggregation (a message to its parent per request) would be
    // paid twice and read by nobody.
    c.no_metrics = true;
    c.no_telnet = true;
    c.no_reset_metrics = true;
    c
}

type ClientFactory = Arc<dyn Fn() -> reqwest::ClientBuilder + Send + Sync>;

/// The host goose sends to, and for an `https` target a reqwest client on the run's one rustls config (goose's
/// default client would verify against other roots and present no client certificate). With the network fault's
/// proxy (`via`), plain HTTP goes to the proxy's address; over TLS reqwest cannot connect elsewhere than the URL's
/// host and port while verifying that host, so the plan check refuses that combination.
fn client(plan: &LoadPlan) -> anyhow::Result<(String, Option<ClientFactory>)> {
    let url = plan.url()?;
    if !url.secure {
        return Ok((plan.via.map_or_else(|| plan.base_url.clone(), |a| format!("http://{a}")), None));
    }
    let tls = match &plan.tls {
        Some(c) => c.clone(),
        None => crate::tls::client_config(&crate::tls::TlsOptions::default())?,
    };
    let timeout = plan.timeout;
    let factory: ClientFactory = Arc::new(move || {
        reqwest::Client::builder().tls_backend_preconfigured((*tls).clone()).timeout(timeout).http1_only()
    });
    Ok((plan.base_url.clone(), Some(factory)))
}

/// Trigger the killswitch at the end of the timeline or on cancel, and keep triggering it until goose returns:
/// goose resets the killswitch when a run starts, so a trigger before its users started would be lost.
async fn stop_at(end: Instant, cancel: CancellationToken, finished: CancellationToken) {
    tokio::select! {
        _ = finished.cancelled() => return,
        _ = cancel.cancelled() => {}
        _ = tokio::time::sleep_until(end.into()) => {}
    }
    loop {
        goose::trigger_killswitch("spacetime-drill: timeline ended or run cancelled");
        tokio::select! {
            _ = finished.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(100)) => {}
        }
    }
}

async fn one_request(user: &mut GooseUser, shared: &Shared) -> TransactionResult {
    let phase = shared.rec.phase().min(shared.mixers.len() - 1);
    let endpoint = shared.mixers[phase].lock().next_endpoint();
    let n = shared.payloads[endpoint.index()].fetch_add(1, Ordering::Relaxed);
    let method = if endpoint.is_post() { GooseMethod::Post } else { GooseMethod::Get };
    let mut rb = user.get_request_builder(&method, endpoint.path())?;
    if let Some(auth) = shared.auth_fault.pick().or_else(|| shared.auth.clone()) {
        rb = rb.header(AUTHORIZATION, auth);
    }
    if endpoint.is_post() {
        rb = rb.header(CONTENT_TYPE, "application/json").body(shared.bodies.get(endpoint, n));
    }
    let request = GooseRequest::builder().method(method).path(endpoint.path()).set_request_builder(rb).build();
    let started = Instant::now();
    let mut g = user.request(request).await?;
    let outcome = match g.response {
        Ok(r) => {
            let status = r.status().as_u16();
            match r.bytes().await {
                Ok(body) => classify_response(status, &body),
                Err(e) if e.is_timeout() => Outcome::Timeout,
                Err(e) => classify_error(&e),
            }
        }
        Err(e) if e.is_timeout() => Outcome::Timeout,
        Err(e) => classify_error(&e),
    };
    shared.rec.request(phase, endpoint, started, started, Instant::now(), outcome);
    if outcome.is_error() && g.request.success {
        // A 200 with an error body, or a body that broke off: goose counted it a success.
        return user.set_failure(outcome.label(), &mut g.request, None, None);
    }
    Ok(())
}
