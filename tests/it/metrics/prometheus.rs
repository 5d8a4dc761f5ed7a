//! One real Prometheus, one 20 s drill with a latency fault (300 ms of work per simulator frame): what
//! Prometheus scraped and received by remote write agrees with report.json, and the Prometheus probe's view of the
//! simulator's own latency becomes a check and evidence in the verdict, and a chart and a per-phase table in the
//! HTML and Markdown reports.

use std::time::Duration;

use serde_json::Value;

use super::{PromServer, eventually, free_port, http_get, read_report, spawn_run, wait_run};

/// A Prometheus server scraping every second what the harness's `/sd` lists (the harness and the run's simulator).
struct Prometheus(PromServer);

impl Prometheus {
    fn start(harness_port: u16) -> Prometheus {
        let config = format!(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\nscrape_configs:\n  - \
             job_name: drill-scrape\n    http_sd_configs:\n      - url: http://127.0.0.1:{harness_port}/sd\n        \
             refresh_interval: 1s\n"
        );
        let p = Prometheus(PromServer::spawn(&[("prometheus.yml", &config)], &[]));
        let port = p.0.port;
        eventually(Duration::from_secs(30), "prometheus ready", || http_get(port, "/-/ready"));
        p
    }

    /// An instant query's `data.result`.
    fn query(&self, promql: &str) -> Value {
        let q = form_urlencoded::Serializer::new(String::new()).append_pair("query", promql).finish();
        let body = http_get(self.0.port, &format!("/api/v1/query?{q}")).unwrap_or_else(|| panic!("query {promql}"));
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(v["status"], "success", "{promql}: {v}");
        v["data"]["result"].clone()
    }

    fn scalar(&self, promql: &str) -> f64 {
        let r = self.query(promql);
        r[0]["value"][1].as_str().unwrap_or_else(|| panic!("{promql}: {r}")).parse().unwrap()
    }
}

fn scenario(prometheus_port: u16) -> String {
    format!(
        r#"
[load]
rate = 60

[probe]
prometheus = "http://127.0.0.1:{prometheus_port}"

[probe.queries]
service_p95_s = {{ query = "histogram_quantile(0.95, sum by (le) (rate(http_request_duration_seconds_bucket[3s])))", below = 0.2, incident = "slow_responses" }}
bad_q = "sum(("

[[phase]]
name = "baseline"
duration = "6s"

[[phase]]
name = "fault"
duration = "8s"
faults = ["slow"]

[[phase]]
name = "recovery"
duration = "6s"

[[fault]]
name = "slow"
[fault.frame_work]
ms = 300

# Observe only: the test asserts what Prometheus and the report saw, not a gate.
[expect]
incident = "any"
"#
    )
}

fn phase<'a>(report: &'a Value, name: &str) -> (usize, &'a Value) {
    let phases = report["verdict"]["phases"].as_array().unwrap();
    let i = phases.iter().position(|p| p["name"] == name).unwrap();
    (i, &phases[i])
}

fn event_t(report: &Value, kind: &str) -> f64 {
    report["record"]["events"].as_array().unwrap().iter().find(|e| e["event"] == kind).unwrap()["t"].as_f64().unwrap()
}

#[test]
fn prometheus_scrapes_and_receives_a_drill_and_its_queries_judge_it() {
    // A drill whose verdict depends on latency and FPS: it takes its turn with the others.
    let _one = crate::run::one_at_a_time();
    let harness = free_port();
    let prom = Prometheus::start(harness);
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("s.toml");
    std::fs::write(&file, scenario(prom.0.port)).unwrap();
    let out = work.path().join("out");
    let remote = format!("http://127.0.0.1:{}/api/v1/write", prom.0.port);
    let listen = format!("127.0.0.1:{harness}");
    let args = ["run", file.to_str().unwrap(), "--quiet", "--out", out.to_str().unwrap(), "--format", "html,md"];
    let metrics = ["--metrics-listen", &listen, "--metrics-remote-write", &remote, "--shard", "0/1"];
    let o = wait_run(spawn_run(&[&args[..], &metrics[..]].concat(), work.path()));
    assert!(o.status.success(), "stderr: {}", String::from_utf8_lossy(&o.stderr));
    let report = read_report(&out);

    // 1. p95 of the fault phase from the exported buckets vs the exact HDR p95 of report.json.
    let (fault_index, fault) = phase(&report, "fault");
    let exact_s = report["phases"][fault_index]["latency_ms"]["p95"].as_f64().unwrap() / 1000.0;
    let read_s = prom.scalar(
        r#"histogram_quantile(0.95, sum by (le) (max_over_time(drill_request_duration_seconds_bucket{job="drill-scrape",phase="fault"}[5m])))"#,
    );
    let error = spacetime_drill::metrics::BUCKET_ERROR;
    assert!((0.005..2.0).contains(&exact_s), "the fault's p95 {exact_s} s is in the fine buckets");
    eprintln!("fault-phase p95: PromQL {read_s:.4} s, report.json {exact_s:.4} s (bucket error {error:.2})");
    assert!((read_s - exact_s).abs() <= error * exact_s + 0.001, "PromQL p95 {read_s} s vs report {exact_s} s");

    // 2. The fault-active series is 1 exactly while the fault was held, to the scrape.
    let (injected, rolled_back) = (event_t(&report, "fault_injected"), event_t(&report, "fault_rolled_back"));
    let started = chrono::DateTime::parse_from_rfc3339(report["started_at"].as_str().unwrap()).unwrap();
    let t0 = started.timestamp_millis() as f64 / 1000.0;
    let samples = prom.query(r#"drill_fault_active{job="drill-scrape",fault="slow",kind="frame_work"}[5m]"#);
    let values: Vec<(f64, bool)> =
        samples[0]["values"].as_array().unwrap().iter().map(|v| (v[0].as_f64().unwrap() - t0, v[1] == "1")).collect();
    let ones: Vec<f64> = values.iter().filter(|v| v.1).map(|v| v.0).collect();
    assert!(ones.len() >= 6, "one scrape a second over an 8 s fault: {values:?}");
    // Every 1 lies in the window; the first scrape after each edge already shows it.
    let (first_on, last_on) = (ones[0], *ones.last().unwrap());
    let first_off = values.iter().find(|v| v.0 > last_on).map(|v| v.0).expect("a scrape after the rollback");
    let one_scrape = 1.0;
    eprintln!(
        "fault window {injected:.3}..{rolled_back:.3} s; first 1 at {first_on:.3} s, last 1 at {last_on:.3} s, \
         first 0 after it at {first_off:.3} s"
    );
    let ms = 0.01; // Prometheus stamps scrapes to the millisecond
    assert!(first_on >= injected - ms && first_on - injected <= one_scrape, "{values:?}");
    assert!(last_on <= rolled_back + ms && first_off - rolled_back <= one_scrape, "{values:?}");
    assert!(values.iter().all(|&(t, on)| on == (first_on..=last_on).contains(&t)), "one block of 1s: {values:?}");

    // 3. The probe saw the simulator's own p95 rise past 0.2 s; the check fails in the fault phase only, and the
    //    slow-responses finding cites it.
    let seconds = report["record"]["seconds"].as_array().unwrap();
    let seen = |phase: usize| -> Vec<f64> {
        seconds.iter().filter(|s| s["phase"] == phase).filter_map(|s| s["queries"]["service_p95_s"].as_f64()).collect()
    };
    assert!(seen(fault_index).iter().any(|&v| v > 0.2), "service p95 during the fault: {:?}", seen(fault_index));
    let check =
        |p: &Value| p["checks"].as_array().unwrap().iter().find(|c| c["name"] == "service_p95_s").cloned().unwrap();
    assert_eq!(check(fault)["state"], "fail", "{}", check(fault));
    assert_ne!(check(phase(&report, "baseline").1)["state"], "fail");
    // In the windows of the fault phase: the phase's own summary keeps its worst window, where the frozen frames'
    // FPS (P1) may lead and PromQL's rate window may not have caught up yet.
    let windows = report["verdict"]["windows"].as_array().unwrap();
    let slow: Vec<&Value> = windows
        .iter()
        .filter(|w| w["phase"] == fault_index)
        .flat_map(|w| w["incidents"].as_array().unwrap())
        .filter(|f| f["incident"] == "slow_responses")
        .collect();
    let cited = slow.iter().flat_map(|f| f["evidence"].as_array().unwrap()).find(|e| {
        e["metric"] == "prometheus service_p95_s" && e["measured"].as_f64().unwrap() > 0.2 && e["cmp"] == ">="
    });
    assert!(cited.is_some(), "{slow:?}");

    // 4. A PromQL error is a counted failure with the query's name, and the run went on.
    let failed =
        report["record"]["events"].as_array().unwrap().iter().find(|e| e["probe"] == "prometheus/bad_q").cloned();
    assert!(failed.as_ref().is_some_and(|e| e["error"].as_str().unwrap().contains("bad_data")), "{failed:?}");
    let bad: u64 = seconds.iter().filter_map(|s| s["probe_failures"]["prometheus/bad_q"].as_u64()).sum();
    assert!(bad >= 15, "one failure per probe tick: {bad}");

    // 5. Remote write: the pushed series carry the shard and end with the same counts as report.json.
    let total: u64 = report["phases"].as_array().unwrap().iter().map(|p| p["requests"].as_u64().unwrap()).sum();
    let pushed = prom.scalar(r#"sum(max_over_time(drill_requests_total{job="spacetime-drill",shard="0"}[5m]))"#) as u64;
    let scraped = prom.scalar(r#"sum(max_over_time(drill_requests_total{job="drill-scrape"}[5m]))"#) as u64;
    assert_eq!((pushed, scraped), (total, total));
    assert_eq!(prom.query(r#"drill_run_info{job="spacetime-drill",shard="0"}"#).as_array().map(Vec::len), Some(1));

    // 6. The reports show the queries, not only report.json: a chart per query in the HTML, and in the Markdown
    //    summary a table per phase whose fault row has the answer that broke the check as its max.
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<figure aria-label=\"Prometheus query service_p95_s\"><svg"), "a drawn chart");
    assert!(html.contains("Prometheus query bad_q: no samples in this run"), "a query that never answered says so");
    let md = std::fs::read_to_string(out.join("summary.md")).unwrap();
    let section = md.split("### fault").nth(1).unwrap().split("### ").next().unwrap();
    let row = section.lines().find(|l| l.starts_with("| service_p95_s |")).unwrap_or_else(|| panic!("{section}"));
    let cells: Vec<&str> = row.split('|').map(str::trim).collect();
    let max: f64 = cells[3].parse().unwrap();
    let worst = seen(fault_index).into_iter().fold(f64::MIN, f64::max);
    assert!(max > 0.2 && (max - worst).abs() <= worst * 1e-3, "{row} vs the record's worst answer {worst}");
    assert_eq!(cells[6], "< 0.2", "{row}");
    let bad_row = section.lines().find(|l| l.starts_with("| bad_q |")).unwrap_or_else(|| panic!("{section}"));
    let cells: Vec<&str> = bad_row.split('|').map(str::trim).collect();
    assert_eq!(cells[2..5], ["-", "-", "0"], "no answer: {bad_row}");
    assert!(cells[5].parse::<u64>().unwrap() > 0, "its failed asks counted: {bad_row}");
}
