//! Issue 13: a crafted journal handed to `recover --journal`, or left for a watchdog, touches nothing. An entry
//! outside the scope recorded with it is refused and kept; a journal someone else could have written (another
//! owner, group- or world-writable) is refused before a line is read, so its rollback commands never run; a file
//! that is not a journal is left byte for byte as it was, with nothing created beside it. Ports are scoped like
//! paths: a line naming a holder of a port its fault was not allowed leaves that holder holding.

use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};

use spacetime_drill::fault::journal::HEADER;
use spacetime_drill::fault::procfs;

use super::{EXE, free_port};

/// `recover --journal` and a watchdog whose run is already gone, on the same file: (exit ok, output) each.
fn both(journal: &Path) -> [(bool, String); 2] {
    let run = |args: &[&str]| {
        let out = Command::new(EXE).args(args).arg(journal).stdin(Stdio::null()).output().unwrap();
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        (out.status.success(), text)
    };
    [run(&["recover", "--journal"]), run(&["watchdog", "--journal"])]
}

fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

#[test]
fn crafted_journals_are_refused_by_recover_and_the_watchdog_with_nothing_touched() {
    let dir = tempfile::tempdir().unwrap();
    let (allowed, outside) = (dir.path().join("allowed"), dir.path().join("outside"));
    std::fs::create_dir_all(&allowed).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let victim = outside.join(".spacetime-drill-ballast.victim");
    let secret = outside.join("secret");
    std::fs::write(&victim, "unrelated").unwrap();
    std::fs::write(&secret, "original").unwrap();
    let marker = dir.path().join("marker");
    let scope = serde_json::json!({ "paths": [allowed.canonicalize().unwrap()] });
    let line = |id: u32, undo: serde_json::Value| {
        serde_json::json!({ "op": "intent", "id": id, "fault": "crafted", "undo": undo, "scope": scope }).to_string()
    };
    let delete = line(1, serde_json::json!({ "undo": "delete_file", "path": victim }));
    let restore = line(
        2,
        serde_json::json!({
            "undo": "restore_file", "path": secret, "backup": outside.join(".secret.spacetime-drill-backup.1.1"),
            "mode": 0o7777, "sha256": "0".repeat(64)
        }),
    );
    let command = line(3, serde_json::json!({ "undo": "run_command", "cmd": format!("touch {}", marker.display()) }));
    let journal = dir.path().join("journal.jsonl");
    let write = |lines: &[&str], mode: u32| {
        std::fs::write(&journal, format!("{HEADER}\n{}\n", lines.join("\n"))).unwrap();
        std::fs::set_permissions(&journal, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    let untouched = || {
        std::fs::read_to_string(&victim).unwrap() == "unrelated"
            && std::fs::read_to_string(&secret).unwrap() == "original"
            && !marker.exists()
    };

    // Owned by us, private: each entry outside its scope is refused and kept.
    write(&[&delete, &restore], 0o600);
    for (ok, out) in both(&journal) {
        assert!(!ok && out.contains("refused, kept in the journal"), "{out}");
        assert!(out.contains("not a ballast file inside the fault's allowed paths"), "{out}");
        assert!(out.contains("outside the fault's allowed paths"), "{out}");
    }
    assert!(untouched() && std::fs::read_to_string(&journal).unwrap().contains("delete_file"));

    // Writable by others, or owned by someone else: refused before reading, so the command never runs.
    write(&[&delete, &restore, &command], 0o666);
    for (ok, out) in both(&journal) {
        assert!(!ok && out.contains("is not trusted") && out.contains("writable by group or others"), "{out}");
    }
    if nix::unistd::geteuid().is_root() {
        write(&[&command], 0o600);
        std::os::unix::fs::chown(&journal, Some(65534), Some(65534)).unwrap();
        for (ok, out) in both(&journal) {
            assert!(!ok && out.contains("owned by uid 65534, not by you"), "{out}");
        }
    }
    assert!(untouched(), "nothing deleted, restored or run");

    // Not a journal at all: refused, unchanged, nothing created beside it.
    let passwd = dir.path().join("passwd");
    std::fs::write(&passwd, "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    let before = entries(dir.path());
    for (ok, out) in both(&passwd) {
        assert!(!ok && out.contains("is not a spacetime-drill journal"), "{out}");
    }
    assert_eq!(std::fs::read_to_string(&passwd).unwrap(), "root:x:0:0:root:/root:/bin/sh\n");
    assert_eq!(entries(dir.path()), before, "no .lock or anything else created");
}

#[test]
fn a_crafted_line_naming_another_port_leaves_its_holder_holding() {
    let dir = tempfile::tempdir().unwrap();
    let (held, other) = (free_port(), free_port());
    // A real holder, as a port_conflict fault starts it; it holds until its stdin closes.
    let spec = format!(r#"{{"hold":"port","port":{held},"accept_close":false}}"#);
    let mut holder = Command::new(EXE)
        .args(["watchdog", "--hold", &spec])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut ready = String::new();
    BufReader::new(holder.stdout.take().unwrap()).read_line(&mut ready).unwrap();
    assert!(ready.starts_with("ready"), "{ready}");
    let (pid, start_time) = (holder.id(), procfs::start_time(holder.id()).unwrap());
    let intent = |id: u32, port: u16, ports: &[u16]| {
        let undo = serde_json::json!({ "undo": "kill_holder", "pid": pid, "start_time": start_time, "port": port });
        let scope = serde_json::json!({ "paths": [], "ports": ports });
        serde_json::json!({ "op": "intent", "id": id, "fault": "crafted", "undo": undo, "scope": scope }).to_string()
    };
    // The held port, outside the scope recorded with it; and an allowed port with the PID of another port's holder.
    let journal = dir.path().join("journal.jsonl");
    std::fs::write(&journal, format!("{HEADER}\n{}\n{}\n", intent(1, held, &[other]), intent(2, other, &[other])))
        .unwrap();
    std::fs::set_permissions(&journal, std::fs::Permissions::from_mode(0o600)).unwrap();
    let before = std::fs::read_to_string(&journal).unwrap();
    for (ok, out) in both(&journal) {
        assert!(!ok && out.contains("2 failed"), "{out}");
        assert!(out.contains(&format!("port {held} is not one the fault was allowed (ports [{other}])")), "{out}");
        assert!(out.contains(&format!("holder pid {pid} holds port {held}, not the port its record names ({other})")));
    }
    assert!(holder.try_wait().unwrap().is_none(), "the holder was not killed");
    assert!(std::net::TcpListener::bind(("127.0.0.1", held)).is_err(), "its port is still held");
    assert_eq!(std::fs::read_to_string(&journal).unwrap(), before, "both entries kept");
    drop(holder.stdin.take());
    holder.wait().unwrap();
}
