//! The journal's guarantees: durable intents, idempotent replay, torn lines, and hostile files (issue 13).

use super::*;

fn scope(dir: &Path) -> Scope {
    Scope { paths: vec![dir.canonicalize().unwrap()], ports: vec![] }
}

#[test]
fn intent_is_durable_before_change_and_replay_is_idempotent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("j/journal.jsonl");
    let ballast = dir.path().join(".spacetime-drill-ballast.1.0");
    {
        let mut j = ensure_clean(&path).unwrap();
        assert!(matches!(Journal::open(&path), Err(JournalError::Busy { .. })));
        j.intend("fill", &Undo::DeleteFile { path: ballast.clone() }, &scope(dir.path())).unwrap();
        // The intent is on disk before the change exists: a crash here leaves a replayable journal.
        assert!(std::fs::read_to_string(&path).unwrap().contains("\"op\":\"intent\""));
        std::fs::write(&ballast, b"x").unwrap();
    } // "crash": the lock is dropped with the owner
    let mode = |p: &Path| std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions());
    assert_eq!((mode(&path) & 0o777, mode(path.parent().unwrap()) & 0o777), (0o600, 0o700));
    let err = ensure_clean(&path).err().unwrap().to_string();
    assert!(err.contains("spacetime-drill recover") && err.contains("fill"), "{err}");
    let mut j = Journal::open(&path).unwrap();
    let r = j.replay(None).unwrap();
    assert_eq!(r.rolled_back.len(), 1);
    assert!(!ballast.exists() && !j.dirty());
    assert_eq!(std::fs::read_to_string(&path).unwrap(), format!("{HEADER}\n"), "clean = the header alone");
    drop(j);
    let mut j = ensure_clean(&path).unwrap();
    let r = j.replay(None).unwrap();
    assert!(r.rolled_back.is_empty() && r.failed.is_empty());
}

#[test]
fn torn_last_line_is_cut_and_ids_continue() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let undo = Undo::DeleteFile { path: dir.path().join(".spacetime-drill-ballast.b") };
    let mut j = Journal::open(&path).unwrap();
    let id = j.intend("a", &undo, &scope(dir.path())).unwrap();
    j.done(id).unwrap();
    drop(j);
    let mut f = OpenOptions::new().append(true).open(&path).unwrap();
    f.write_all(b"{\"op\":\"intent\",\"id\":7,\"fau").unwrap();
    let mut j = Journal::open(&path).unwrap();
    let pending = Pending { id, fault: "a".into(), undo: undo.clone(), scope: scope(dir.path()), done: true };
    assert_eq!(j.pending, [pending]);
    let next = j.intend("c", &undo, &scope(dir.path())).unwrap();
    assert!(next > id);
    drop(j);
    let j = Journal::open(&path).unwrap();
    assert_eq!(j.pending.len(), 2, "an append after a torn line survives");
    assert!(j.refuse_unreadable().is_ok(), "the torn line was cut, not kept as unreadable");
}

/// Issue 13: a crafted or corrupted journal does nothing but what its entries' scopes allow, lines it cannot
/// read are kept, and a file that is not a journal is left as it was, with nothing created beside it.
#[test]
fn hostile_journals_touch_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (allowed, outside) = (dir.path().join("allowed"), dir.path().join("outside"));
    std::fs::create_dir_all(&allowed).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    let victim = outside.join(".spacetime-drill-ballast.x");
    std::fs::write(&victim, b"keep me").unwrap();
    let path = dir.path().join("journal.jsonl");
    let mut j = Journal::open(&path).unwrap();
    // Outside the recorded scope; a scope of / counts for nothing; a file that is not the tool's ballast.
    j.intend("a", &Undo::DeleteFile { path: victim.clone() }, &scope(&allowed)).unwrap();
    j.intend("b", &Undo::DeleteFile { path: victim.clone() }, &Scope { paths: vec!["/".into()], ports: vec![] })
        .unwrap();
    let plain = allowed.join("notes.txt");
    std::fs::write(&plain, b"keep me too").unwrap();
    j.intend("c", &Undo::DeleteFile { path: plain.clone() }, &scope(&allowed)).unwrap();
    let restore = Undo::RestoreFile {
        path: outside.join("f"),
        backup: outside.join(".f.spacetime-drill-backup.1.1"),
        mode: 0o7777,
        sha256: "0".repeat(64),
    };
    j.intend("d", &restore, &scope(&allowed)).unwrap();
    drop(j);
    std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(b"not json\n").unwrap();
    let mut j = Journal::open(&path).unwrap();
    let r = j.replay(None).unwrap();
    assert_eq!(r.failed.len(), 4, "{r:?}");
    assert!(r.failed.iter().all(|(_, e)| e.starts_with("refused, kept in the journal")), "{r:?}");
    assert_eq!(r.unreadable, [6]);
    assert!(victim.exists() && plain.exists());
    drop(j);
    let e = ensure_clean(&path).err().unwrap().to_string();
    assert!(e.contains("1 line(s) it cannot read (lines 6); they are kept"), "{e}");
    assert!(std::fs::read_to_string(&path).unwrap().contains("not json"), "never dropped");

    let passwd = dir.path().join("passwd");
    std::fs::write(&passwd, b"root:x:0:0::/root:/bin/sh\n").unwrap();
    let e = Journal::open_existing(&passwd).err().unwrap().to_string();
    assert!(e.contains("is not a spacetime-drill journal"), "{e}");
    assert_eq!(std::fs::read(&passwd).unwrap(), b"root:x:0:0::/root:/bin/sh\n");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 4, "nothing created beside it");
    assert!(Journal::open_existing(&dir.path().join("missing")).unwrap().is_none());
}

/// Ports are scoped like paths: an undo naming a port its fault was not allowed is refused and kept, and so is a
/// record whose process is live but not a holder; a line written before ports were scoped may touch none.
#[test]
fn undos_touch_only_the_ports_their_fault_was_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    let allowed = Scope { paths: vec![], ports: vec![8080] };
    let me = std::process::id();
    // Our own PID with another start time: a holder that is gone, whose record would signal nothing.
    let gone = |port| Undo::KillHolder { pid: me, start_time: 0, port: Some(port) };
    let knobs = |port: u16| Undo::SetKnobs {
        url: format!("http://127.0.0.1:{port}{}knobs", spacetime_sim::CONTROL_PREFIX),
        json: "{}".into(),
    };
    let live =
        Undo::KillHolder { pid: me, start_time: crate::fault::procfs::start_time(me).unwrap(), port: Some(8080) };
    assert!(gone(8080).permitted(&allowed).is_ok() && knobs(8080).permitted(&allowed).is_ok());
    let mut j = Journal::open(&path).unwrap();
    j.intend("held", &gone(9), &allowed).unwrap();
    j.intend("knobs", &knobs(9), &allowed).unwrap();
    j.intend("self", &live, &allowed).unwrap();
    drop(j);
    // The previous line format (no ports in the scope, none on the holder) still reads, and is held to no port.
    let old = r#"{"op":"intent","id":4,"fault":"old","undo":{"undo":"set_knobs","url":"http://127.0.0.1:8080/__sim/knobs","json":"{}"},"scope":{"paths":[]}}"#;
    std::fs::OpenOptions::new().append(true).open(&path).unwrap().write_all(format!("{old}\n").as_bytes()).unwrap();
    let mut j = Journal::open(&path).unwrap();
    let r = j.replay(None).unwrap();
    let failed: Vec<&str> = r.failed.iter().map(|(_, e)| e.as_str()).collect();
    assert_eq!(failed.len(), 4, "{r:?}");
    assert!(r.rolled_back.is_empty() && r.unreadable.is_empty() && j.pending.len() == 4, "{r:?}");
    assert!(failed[0].contains("port 8080 is not one the fault was allowed (ports [])"), "{failed:?}");
    assert!(failed[1].contains(&format!("pid {me} is not a spacetime-drill holder")), "{failed:?}");
    for e in &failed[2..] {
        assert!(e.contains("port 9 is not one the fault was allowed (ports [8080])"), "{failed:?}");
    }
}

#[test]
fn journals_others_could_write_are_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.jsonl");
    drop(Journal::open(&path).unwrap());
    let chmod = |mode| std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(mode));
    chmod(0o666).unwrap();
    let e = Journal::open_existing(&path).err().unwrap().to_string();
    assert!(e.contains("is not trusted") && e.contains("writable by group or others (mode 0666)"), "{e}");
    chmod(0o600).unwrap();
    if nix::unistd::geteuid().is_root() {
        std::os::unix::fs::chown(&path, Some(65534), None).unwrap();
        let e = Journal::open_existing(&path).err().unwrap().to_string();
        assert!(e.contains("owned by uid 65534, not by you"), "{e}");
    }
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    assert!(Journal::open_existing(&link).is_err(), "a symlink is not followed");
}
