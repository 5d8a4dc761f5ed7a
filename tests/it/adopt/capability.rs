//! A drill that mounts a tmpfs (`[sim] data_fs_mib`) run without CAP_SYS_ADMIN, as in a container started without
//! `--cap-add SYS_ADMIN`: exit 2 naming the capability, before any load or fault, nothing left mounted or journaled.

use std::process::{Command, Stdio};

use crate::support::EXE;

#[test]
fn a_tmpfs_drill_without_cap_sys_admin_stops_before_injecting_and_names_the_capability() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("journal.jsonl");
    let out = dir.path().join("out");
    // util-linux's setpriv drops the capability from the bounding set, so even root runs the drill without it.
    let child = Command::new("setpriv")
        .args(["--bounding-set", "-sys_admin", "--inh-caps", "-sys_admin", EXE])
        .args(["run", "scenarios/disk-exhaustion.toml", "--quiet", "--out", out.to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SPACETIME_DRILL_JOURNAL", &journal)
        .env_remove("GITHUB_STEP_SUMMARY")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("setpriv (util-linux) runs the binary");
    // setpriv execs the drill, so this is the drill's PID, which names its run directory (its tmpfs's parent).
    let pid = child.id();
    let o = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "stderr: {stderr}");
    assert!(stderr.contains("CAP_SYS_ADMIN") && stderr.contains("--cap-add SYS_ADMIN"), "{stderr}");
    assert!(stderr.contains("nothing was injected"), "{stderr}");
    assert!(!out.join("report.json").exists(), "stopped before the run, so nothing was judged");
    let journal = std::fs::read_to_string(&journal).unwrap_or_default();
    assert!(!journal.contains("intent"), "no fault was journaled: {journal}");
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap();
    let prefix = format!("{}{pid}-", spacetime_drill::target::run_dir::PREFIX);
    assert!(!mounts.contains(&prefix), "{mounts}");
}
