//! Certificate problems stop a run before any load, with exit 2 and the problem named; `ca_file` and
//! `insecure = true` each make it pass (and an insecure run says so beside the verdict); mTLS works against a
//! simulator that requires a client certificate and fails clearly without one.

use std::time::Duration;

use super::{Pki, drill, https, tls_sim, write, wss};

const SHORT: &str = "[load]\nrate = 20\n[[phase]]\nname = \"only\"\nduration = \"1s\"\n";
const LIMIT: Duration = Duration::from_secs(30);

#[test]
fn unknown_ca_expired_and_name_mismatch_stop_the_run_and_ca_file_or_insecure_fix_them() {
    let pki = Pki::new();
    let (good, expired) = (tls_sim(&pki, "server", &[]), tls_sim(&pki, "expired", &[]));
    let dir = tempfile::tempdir().unwrap();
    let scenario = write(dir.path(), "s.toml", SHORT);
    let scenario = scenario.to_str().unwrap();
    let ca = pki.arg("ca.pem");
    let refused = [
        (https(&good, "127.0.0.1"), None, "signed by an unknown CA"),
        (https(&expired, "127.0.0.1"), Some(ca.as_str()), "certificate has expired"),
        (https(&good, "localhost"), Some(ca.as_str()), "name mismatch"),
    ];
    for (url, ca_file, problem) in &refused {
        let mut args = vec!["run", scenario, "--quiet", "--target", url];
        args.extend(ca_file.iter().flat_map(|c| ["--ca-file", c]));
        let r = drill(&args, &[], LIMIT);
        assert_eq!(r.code, Some(2), "{url}: a certificate problem is a harness error");
        assert!(r.stderr.contains(problem) && r.stderr.contains("TLS to"), "{url}: want {problem:?} in {}", r.stderr);
        assert!(r.report.is_none(), "{url}: stopped before any load, so nothing was measured or reported");
    }

    let passes = |r: &super::Ran, insecure: bool| {
        assert_eq!(r.code, Some(0), "{}", r.stderr);
        let report = r.report.as_ref().unwrap();
        assert_eq!(report["target"]["insecure"], insecure);
        let phase = &report["phases"][0];
        assert!(phase["requests"].as_u64().unwrap() >= 15 && phase["errors"] == 0, "{phase}");
        let warned = r.stdout.contains("was NOT verified");
        assert_eq!(warned, insecure, "the console says so beside the verdict exactly when insecure");
        assert_eq!(r.files.len(), 4, "html, junit, summary and post-mortem: {:?}", r.files.iter().map(|f| &f.0));
        for (name, text) in &r.files {
            assert_eq!(text.contains("was NOT verified"), insecure, "{name} says so beside the verdict");
        }
    };
    let url = https(&good, "127.0.0.1");
    const ALL: &str = "html,junit,md";
    passes(&drill(&["run", scenario, "--format", ALL, "--target", &url, "--ca-file", &ca], &[], LIMIT), false);
    let url = https(&expired, "127.0.0.1");
    passes(&drill(&["run", scenario, "--format", ALL, "--target", &url, "--insecure"], &[], LIMIT), true);
    let insecure = format!("[target]\nurl = \"{}\"\ninsecure = true\n{SHORT}", https(&good, "localhost"));
    let insecure = write(dir.path(), "insecure.toml", &insecure);
    passes(&drill(&["run", insecure.to_str().unwrap(), "--format", ALL], &[], LIMIT), true);
}

#[test]
fn mtls_works_with_a_client_certificate_and_fails_clearly_without() {
    let pki = Pki::new();
    let sim = tls_sim(&pki, "server", &["--tls-client-ca".into(), pki.arg("client-ca.pem")]);
    let dir = tempfile::tempdir().unwrap();
    let target = |client: &str| {
        format!(
            "[target]\nurl = \"{}\"\ntelemetry = \"{}\"\nca_file = \"{}\"\n{client}[load]\nrate = 20\n[[phase]]\n\
             name = \"only\"\nduration = \"2s\"\n",
            https(&sim, "127.0.0.1"),
            wss(&sim),
            pki.arg("ca.pem")
        )
    };
    let with = format!("client_cert = \"{}\"\nclient_key = \"{}\"\n", pki.arg("client.pem"), pki.arg("client.key"));
    let with = write(dir.path(), "with.toml", &target(&with));
    let r = drill(&["run", with.to_str().unwrap(), "--quiet"], &[], LIMIT);
    assert_eq!(r.code, Some(0), "{}", r.stderr);
    let report = r.report.unwrap();
    assert_eq!(report["phases"][0]["errors"], 0, "{}", report["phases"][0]);
    assert!(report["phases"][0]["fps"]["median"].as_f64().is_some(), "telemetry over wss with the client certificate");

    let without = write(dir.path(), "without.toml", &target(""));
    let r = drill(&["run", without.to_str().unwrap(), "--quiet"], &[], LIMIT);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("requires a client certificate") && r.stderr.contains("client_cert"), "{}", r.stderr);
    assert!(r.report.is_none());
}
