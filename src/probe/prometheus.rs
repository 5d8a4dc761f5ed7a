//! `[probe] prometheus` and `queries`: the service's own metrics as evidence. Each named PromQL query is asked of
//! Prometheus's HTTP API (`POST /api/v1/query`) every probe interval, on the same half-interval grid as the other
//! probes, and its one number is recorded per second under its name; the judge turns a query with a threshold
//! into a named check and cites it in the findings of its incident.
//!
//! A Prometheus that is down, slow or answers an error never stalls the run: every query is bounded by the probe
//! timeout, a failed sample is counted per query in the second it was due (`prometheus/<name>`), and each failure
//! spell is one `probe_failed` event naming the query and Prometheus's own message (a PromQL error says which
//! query it was). An empty result or NaN (no traffic yet) is no sample, not a failure.

use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::record::{EventKind, Recorder};
use crate::scenario::Probe;

/// The queries of one run and where to ask them.
#[derive(Debug, Clone)]
pub struct QueryPlan {
    /// `http://host:port[/prefix]/api/v1/query`.
    pub url: hyper::Uri,
    /// `(name, PromQL)`.
    pub queries: Vec<(String, String)>,
    pub(crate) interval: Duration,
    pub(crate) timeout: Duration,
}

impl QueryPlan {
    /// `None` without `[probe] prometheus` or without queries (validate has checked the URL).
    pub fn from_probe(probe: &Probe) -> Option<QueryPlan> {
        let base = probe.prometheus.as_ref()?.trim_end_matches('/');
        if probe.queries.is_empty() {
            return None;
        }
        let url = format!("{base}/api/v1/query").parse().ok()?;
        let queries = probe.queries.iter().map(|(n, q)| (n.clone(), q.spec().query)).collect();
        // As the other probes: each sample bounded so that a tick never outlasts its interval.
        Some(QueryPlan { url, queries, interval: probe.interval, timeout: probe.interval.min(Duration::from_secs(1)) })
    }
}

/// Ask every query each interval until `cancel`.
pub async fn watch(plan: QueryPlan, rec: Recorder, cancel: CancellationToken) {
    let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new()).build_http();
    let mut failing = vec![false; plan.queries.len()];
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + plan.interval / 2, plan.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Skip);
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            _ = ticker.tick() => {}
        }
        let at = Instant::now();
        let asks = plan.queries.iter().map(|(_, q)| ask(&client, &plan.url, q, plan.timeout));
        let answers = tokio::select! {
            () = cancel.cancelled() => return,
            a = futures_util::future::join_all(asks) => a,
        };
        for (((name, _), answer), failing) in plan.queries.iter().zip(answers).zip(failing.iter_mut()) {
            match answer {
                Ok(Some(v)) => rec.query(at, name, v),
                Ok(None) => {}
                Err(error) => {
                    let probe = format!("prometheus/{name}");
                    rec.probe_failed(at, &probe);
                    if !std::mem::replace(failing, true) {
                        tracing::warn!(%probe, %error, "probe failing");
                        rec.event(at, EventKind::ProbeFailed { probe, error });
                    }
                    continue;
                }
            }
            *failing = false;
        }
    }
}

/// One instant query: its number, `None` for no data, or why it failed.
async fn ask(
    client: &Client<HttpConnector, Full<Bytes>>,
    url: &hyper::Uri,
    query: &str,
    timeout: Duration,
) -> Result<Option<f64>, String> {
    let form = form_urlencoded::Serializer::new(String::new()).append_pair("query", query).finish();
    let req = hyper::Request::post(url.clone())
        .header(hyper::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(form)))
        .map_err(|e| e.to_string())?;
    let work = async {
        let resp = client.request(req).await.map_err(|e| format!("{url}: {:#}", anyhow::Error::from(e)))?;
        let status = resp.status();
        let body = resp.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
        Ok::<_, String>((status, body))
    };
    let (status, body) =
        tokio::time::timeout(timeout, work).await.map_err(|_| format!("no answer within {timeout:?}"))??;
    let json: Value = serde_json::from_slice(&body).map_err(|_| {
        format!(
            "HTTP {status}, not Prometheus's API: {}",
            String::from_utf8_lossy(&body).chars().take(200).collect::<String>()
        )
    })?;
    number(&json)
}

/// The one number of an API answer: a scalar, or a vector of one element (several elements are an error: the
/// query must aggregate them, or the check would be judged on whichever came first).
pub fn number(json: &Value) -> Result<Option<f64>, String> {
    if json["status"] != "success" {
        let kind = json["errorType"].as_str().unwrap_or("error");
        return Err(format!("{kind}: {}", json["error"].as_str().unwrap_or("no message")));
    }
    let data = &json["data"];
    let sample = match data["resultType"].as_str() {
        Some("scalar") => Some(&data["result"]),
        Some("vector") => match data["result"].as_array().map(Vec::as_slice) {
            Some([]) => None,
            Some([one]) => Some(&one["value"]),
            Some(many) => return Err(format!("{} series answered; aggregate them to one (sum, max, ...)", many.len())),
            None => return Err("a vector answer without a result list".into()),
        },
        other => return Err(format!("the answer is a {}, not one number", other.unwrap_or("nothing"))),
    };
    let Some(sample) = sample else { return Ok(None) };
    let text = sample[1].as_str().ok_or("a sample without a value")?;
    let v: f64 = text.parse().map_err(|_| format!("{text:?} is not a number"))?;
    Ok(v.is_finite().then_some(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_are_one_number_or_none_or_a_reason() {
        let vector = |result: Value| json!({"status": "success", "data": {"resultType": "vector", "result": result}});
        assert_eq!(number(&vector(json!([{"metric": {}, "value": [1.0, "0.25"]}]))), Ok(Some(0.25)));
        assert_eq!(number(&vector(json!([]))), Ok(None));
        assert_eq!(number(&vector(json!([{"metric": {}, "value": [1.0, "NaN"]}]))), Ok(None));
        let two = vector(json!([{"value": [1.0, "1"]}, {"value": [1.0, "2"]}]));
        assert!(number(&two).unwrap_err().contains("2 series"));
        let scalar = json!({"status": "success", "data": {"resultType": "scalar", "result": [1.0, "3"]}});
        assert_eq!(number(&scalar), Ok(Some(3.0)));
        let bad = json!({"status": "error", "errorType": "bad_data", "error": "parse error at char 5"});
        assert_eq!(number(&bad), Err("bad_data: parse error at char 5".into()));
    }
}
