//! Remote write over HTTPS: a real Prometheus serving its API (and so its remote-write receiver) over TLS only
//! (`--web.config.file`), with a certificate from a CA made at test time. A short run pushes to it with that CA in
//! `--ca-file` and Prometheus holds the run's counts; without the CA the push is refused with the certificate
//! problem named, and `insecure` skips the check, as it does for the target.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use serde_json::Value;
use spacetime_drill::metrics::remote_write::{WriteRequest, Writer};
use spacetime_drill::tls::{Dialer, TlsOptions, client_config};
use spacetime_drill::url::{ServiceUrl, UrlRole};

use super::{PromServer, read_report, spawn_run, wait_run};
use crate::tls::Pki;

/// Prometheus with only its remote-write receiver in use, serving HTTPS with `pki`'s server certificate.
struct TlsPrometheus(PromServer);

impl TlsPrometheus {
    fn start(pki: &Pki) -> TlsPrometheus {
        let web = format!(
            "tls_server_config:\n  cert_file: {}\n  key_file: {}\n",
            pki.arg("server.pem"),
            pki.arg("server.key")
        );
        let files = [("web.yml", web.as_str()), ("prometheus.yml", "global:\n  scrape_interval: 1m\n")];
        TlsPrometheus(PromServer::spawn(&files, &["--web.config.file=web.yml"]))
    }

    fn url(&self, path: &str) -> String {
        format!("https://127.0.0.1:{}{path}", self.0.port)
    }
}

/// `GET` over HTTPS trusting `ca`: the body of a 200 answer, `None` for anything else.
async fn https_get(url: &str, ca: &std::path::Path) -> Option<String> {
    let config = client_config(&TlsOptions { ca_file: Some(ca.to_owned()), ..Default::default() }).unwrap();
    let parsed = ServiceUrl::parse(url, UrlRole::RemoteWrite).unwrap();
    let stream = Dialer::new(&parsed, Some(&config)).unwrap().dial().await.ok()?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.ok()?;
    tokio::spawn(conn);
    let req = hyper::Request::get(parsed.path.as_str())
        .header("host", parsed.authority())
        .body(Empty::<Bytes>::new())
        .unwrap();
    let resp = sender.send_request(req).await.ok()?;
    let ok = resp.status() == 200;
    let body = resp.into_body().collect().await.ok()?.to_bytes();
    ok.then(|| String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_write_over_https_is_verified_with_the_runs_ca_file() {
    let pki = Pki::new();
    let prom = TlsPrometheus::start(&pki);
    let ca = pki.path("ca.pem");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while https_get(&prom.url("/-/ready"), &ca).await.is_none() {
        assert!(tokio::time::Instant::now() < deadline, "prometheus did not get ready over https");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let write_url = prom.url("/api/v1/write");

    // Without the CA the receiver is refused, with the problem and its fix in words; `insecure` gets through.
    let empty = WriteRequest::default();
    let refused = Writer::new(&write_url, &TlsOptions::default()).unwrap().send(&empty, Duration::from_secs(5)).await;
    let refused = refused.unwrap_err();
    assert!(refused.contains("unknown CA") && refused.contains("ca_file"), "{refused}");
    let insecure = TlsOptions { insecure: true, ..Default::default() };
    Writer::new(&write_url, &insecure).unwrap().send(&empty, Duration::from_secs(5)).await.unwrap();

    // A run (embedded simulator, plain HTTP) pushing over HTTPS with the CA given as --ca-file.
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("s.toml");
    // Observe only: whatever the machine's load does to the verdict, the pushes are what is tested.
    let body = "[load]\nrate = 40\n[expect]\nincident = \"any\"\n[[phase]]\nname = \"only\"\nduration = \"2s\"\n";
    std::fs::write(&file, body).unwrap();
    let out = work.path().join("out");
    let args = [
        "run",
        file.to_str().unwrap(),
        "--quiet",
        "--out",
        out.to_str().unwrap(),
        "--metrics-remote-write",
        &write_url,
        "--ca-file",
        ca.to_str().unwrap(),
        "--shard",
        "0/1",
    ];
    let child = spawn_run(&args, work.path());
    let o = tokio::task::spawn_blocking(move || wait_run(child)).await.unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(0), "stderr: {stderr}");
    assert!(!stderr.contains("remote write failing"), "every push got through: {stderr}");
    let report = read_report(&out);
    let total: u64 = report["phases"].as_array().unwrap().iter().map(|p| p["requests"].as_u64().unwrap()).sum();
    assert!(total >= 40, "{total}");
    let promql = r#"sum(max_over_time(drill_requests_total{job="spacetime-drill",shard="0"}[5m]))"#;
    let q = form_urlencoded::Serializer::new(String::new()).append_pair("query", promql).finish();
    let body = https_get(&prom.url(&format!("/api/v1/query?{q}")), &ca).await.expect("the query answers");
    let v: Value = serde_json::from_str(&body).unwrap();
    let pushed: f64 = v["data"]["result"][0]["value"][1].as_str().unwrap_or_else(|| panic!("{v}")).parse().unwrap();
    assert_eq!(pushed as u64, total, "Prometheus holds the run's final counts");
}
