//! Every TOML example in README.md and scenarios/README.md is fed to `validate` and then to `run --dry-run` with
//! its phases cut to a second each (and no `recover_within`, which that could never show): what `validate` accepts,
//! `run` starts. Examples aimed at a deployment over TLS are pointed at a simulator serving HTTPS/WSS, with this
//! test's CA and client certificate in place of the deployment's files (and of the system's roots), and the
//! blast-radius example's directory is a tmpfs of its own.

use std::time::Duration;

use spacetime_drill::target::data_fs::DataFs;

use super::{Pki, drill, https, tls_sim, wss};

fn blocks(text: &str) -> Vec<String> {
    text.split("```toml\n").skip(1).map(|b| b.split("```").next().unwrap().to_owned()).collect()
}

#[test]
fn every_documented_example_validates_and_then_runs() {
    let pki = Pki::new();
    let sim = tls_sim(&pki, "server", &[]);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut examples = Vec::new();
    for doc in ["README.md", "scenarios/README.md"] {
        let text = std::fs::read_to_string(root.join(doc)).unwrap();
        examples.extend(blocks(&text).into_iter().enumerate().map(|(i, b)| (format!("{doc} example {i}"), b)));
    }
    assert!(examples.len() >= 12, "{} examples", examples.len());
    assert!(examples.iter().any(|(_, b)| b.contains("https://")), "a TLS example is among them");
    let dir = tempfile::tempdir().unwrap();
    // `disk_fill` acts only on a filesystem of its own, preflighted even in a dry run: a small tmpfs, unmounted on drop.
    let host_fs =
        DataFs::mount(4, dir.path().join("fs")).expect("a tmpfs for the blast-radius example (tests run as root)");
    let prepared: Vec<(String, String, bool, bool)> = examples
        .iter()
        .map(|(name, block)| {
            let block = block.replace("/mnt/drill", &host_fs.path().display().to_string());
            let mut doc: toml::Table = toml::from_str(&block).unwrap_or_else(|e| panic!("{name}: {e}"));
            if let Some(t) = doc.get_mut("target").and_then(|t| t.as_table_mut()) {
                let tls = t["url"].as_str().unwrap().starts_with("https://");
                assert!(tls, "{name}: examples of a [target] are TLS deployments; point this test at one");
                t.insert("url".into(), https(&sim, "127.0.0.1").into());
                if t.contains_key("telemetry") {
                    t.insert("telemetry".into(), wss(&sim).into());
                }
                for (key, file) in [("ca_file", "ca.pem"), ("client_cert", "client.pem"), ("client_key", "client.key")]
                {
                    if t.contains_key(key) {
                        t.insert(key.into(), pki.arg(file).into());
                    }
                }
            }
            for phase in doc["phase"].as_array_mut().unwrap() {
                phase.as_table_mut().unwrap().insert("duration".into(), "1s".into());
            }
            // 1 s after the last rollback could never show a recovery, which validate refuses (the full-length
            // examples validate in the unit tests, `readme_examples_are_valid_scenarios`).
            if let Some(expect) = doc.get_mut("expect").and_then(|e| e.as_table_mut()) {
                expect.remove("recover_within");
            }
            let path = dir.path().join(format!("{}.toml", name.replace([' ', '/', '.'], "_")));
            std::fs::write(&path, toml::to_string(&doc).unwrap()).unwrap();
            (name.clone(), path.display().to_string(), doc.contains_key("target"), doc.contains_key("host"))
        })
        .collect();
    // The test CA stands in for the system's roots (rustls-native-certs reads SSL_CERT_FILE), as a deployment's
    // publicly trusted certificate would be verified.
    let ca = pki.arg("ca.pem");
    let envs = [("SPACETIME_TOKEN", "not-checked-by-this-simulator"), ("SSL_CERT_FILE", ca.as_str())];
    // Simulators under load: this takes its turn with the drills, two examples at a time.
    let _one = crate::run::one_at_a_time();
    for chunk in prepared.chunks(2) {
        std::thread::scope(|s| {
            for (name, path, tls, hosts) in chunk {
                s.spawn(move || {
                    let v = drill(&["validate", path], &[], Duration::from_secs(10));
                    assert_eq!(v.code, Some(0), "{name} validates: {}", v.stderr);
                    if *hosts {
                        // Its hosts do not exist here: that they are unreachable is a fact validate cannot know.
                        // tests/it/hosts runs the same shapes against an OpenSSH server of its own.
                        return;
                    }
                    let r = drill(&["run", path, "--dry-run", "--quiet"], &envs, Duration::from_secs(60));
                    assert!(
                        matches!(r.code, Some(0 | 1)),
                        "{name}: validate accepted it, so run runs it: {}",
                        r.stderr
                    );
                    let report = r.report.unwrap_or_else(|| panic!("{name}: a report"));
                    assert_eq!(report["status"], "completed", "{name}");
                    let phase = &report["phases"][0];
                    assert!(phase["requests"].as_u64().unwrap() > 0, "{name}: load was sent: {phase}");
                    if *tls {
                        assert_eq!(phase["errors"], 0, "{name}: every request over TLS answered: {phase}");
                    }
                });
            }
        });
    }
}
