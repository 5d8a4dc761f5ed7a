//! Bad TLS and URL input is refused by `validate` at the key's file:line:column with the reason and the fix, and
//! by `run --target`/`--telemetry`/`--ca-file` the same way, before anything starts.

use std::time::Duration;

use super::{Pki, drill, write};

const PHASE: &str = "[[phase]]\nname = \"p\"\nduration = \"1s\"\n";

/// `validate` on a scenario whose `[target]` is `target`: exit 2 and its one message.
fn refused(dir: &std::path::Path, target: &str) -> String {
    let path = write(dir, "s.toml", &format!("[target]\n{target}\n{PHASE}"));
    let r = drill(&["validate", path.to_str().unwrap()], &[], Duration::from_secs(10));
    assert_eq!(r.code, Some(2), "{target}");
    r.stderr.lines().next().unwrap_or_default().to_owned()
}

#[test]
fn missing_unreadable_and_non_pem_tls_files_are_validate_errors_at_their_key() {
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s.toml").display().to_string();
    let garbage = write(dir.path(), "garbage.pem", "this is not PEM\n").display().to_string();
    let url = "url = \"https://127.0.0.1:8443\"";
    let (cert, key) = (pki.arg("client.pem"), pki.arg("client.key"));
    let cases = [
        (
            format!("{url}\nca_file = \"/nonexistent/ca.pem\""),
            "3:1",
            "ca_file in [target]: cannot read /nonexistent/ca.pem: No such file or directory",
        ),
        (format!("{url}\nca_file = \"{}\"", dir.path().display()), "3:1", "Is a directory"),
        (format!("{url}\nca_file = \"{garbage}\""), "3:1", "holds no PEM certificate"),
        (format!("{url}\nclient_cert = \"{garbage}\"\nclient_key = \"{key}\""), "3:1", "client_cert in [target]: "),
        (format!("{url}\nclient_cert = \"{cert}\"\nclient_key = \"/nonexistent/k.pem\""), "4:1", "No such file"),
        (format!("{url}\nclient_cert = \"{cert}\"\nclient_key = \"{garbage}\""), "4:1", "no usable PEM private key"),
        (format!("{url}\nclient_cert = \"{cert}\""), "3:1", "client_cert needs client_key"),
        (
            format!("{url}\nca_file = \"{}\"\ninsecure = true", pki.arg("ca.pem")),
            "4:1",
            "insecure = true verifies nothing",
        ),
    ];
    for (target, at, phrase) in &cases {
        let first = refused(dir.path(), target);
        assert!(first.starts_with(&format!("{s}:{at}: ")), "{target}: want {at}: {first}");
        assert!(first.contains(phrase), "{target}: want {phrase:?} in {first}");
        assert!(first.contains("; give") || first.contains("needs") || first.contains("keep one"), "a fix: {first}");
    }
    let good = format!("{url}\nca_file = \"{}\"\nclient_cert = \"{cert}\"\nclient_key = \"{key}\"", pki.arg("ca.pem"));
    let path = write(dir.path(), "s.toml", &format!("[target]\n{good}\n{PHASE}"));
    assert_eq!(drill(&["validate", path.to_str().unwrap()], &[], Duration::from_secs(10)).code, Some(0));
}

#[test]
fn urls_with_credentials_a_bad_port_or_another_scheme_are_refused_everywhere() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s.toml").display().to_string();
    let cases = [
        ("url = \"https://user:hunter2@127.0.0.1:8443\"", "2:1", "carries credentials"),
        ("url = \"https://127.0.0.1:0\"", "2:1", "port 0 is not a port; use 1-65535"),
        ("url = \"https://127.0.0.1:65536\"", "2:1", "the port must be a number 1-65535"),
        ("url = \"ftp://127.0.0.1:21\"", "2:1", "scheme \"ftp\" is not supported"),
        ("url = \"wss://127.0.0.1:8081\"", "2:1", "scheme \"wss\" is not supported"),
        ("url = \"https://127.0.0.1:8443/api\"", "2:1", "\"/api\" after the host"),
        ("url = \"https://h:1\"\ntelemetry = \"https://h:2\"", "3:1", "must be ws://host[:port][/path] or wss://"),
        ("url = \"https://h:1\"\ntelemetry = \"wss://u:p@h:2\"", "3:1", "carries credentials"),
    ];
    for (target, at, phrase) in cases {
        let first = refused(dir.path(), target);
        assert!(first.starts_with(&format!("{s}:{at}: ")), "{target}: want {at}: {first}");
        assert!(first.contains(phrase) && !first.contains("hunter2"), "{target}: want {phrase:?} in {first}");
    }
    // The same check on the command line, before the run touches anything.
    let scenario = write(dir.path(), "ok.toml", PHASE);
    let scenario = scenario.to_str().unwrap();
    let limit = Duration::from_secs(10);
    for (flag, url, phrase) in [
        (
            "--target",
            "https://user:hunter2@127.0.0.1:8443",
            "--target: \"https://***@127.0.0.1:8443\" carries credentials",
        ),
        ("--target", "http://127.0.0.1:0", "--target: \"http://127.0.0.1:0\": port 0"),
        ("--target", "gopher://127.0.0.1:70", "scheme \"gopher\""),
        ("--telemetry", "http://127.0.0.1:8081", "--telemetry: \"http://127.0.0.1:8081\": scheme \"http\""),
    ] {
        let mut args = vec!["run", scenario, "--quiet", flag, url];
        if flag == "--telemetry" {
            args.extend(["--target", "https://127.0.0.1:1"]);
        }
        let r = drill(&args, &[], limit);
        assert_eq!(r.code, Some(2), "{flag} {url}");
        assert!(r.stderr.contains(phrase) && !r.stderr.contains("hunter2"), "{flag} {url}: want {phrase:?}");
        assert!(r.report.is_none());
    }
    let r = drill(&["run", scenario, "--target", "https://127.0.0.1:1", "--ca-file", "/nonexistent.pem"], &[], limit);
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("--ca-file: cannot read /nonexistent.pem: No such file"), "{}", r.stderr);
}
