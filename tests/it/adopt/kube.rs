//! `deploy/kubernetes/`: the manifests pass a Kubernetes schema validator, keep the shape the README describes
//! (shards on the image as its non-root user, a merge with no shell, a failed shard failing the flow at once), the
//! pods' arguments are a command line this build accepts, and `wait.sh` returns as soon as a Job fails.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use serde::Deserialize;
use serde_norway::Value;
use spacetime_drill::cli::{Cli, Command as Sub, Shard};

use super::help;

fn manifest(file: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes").join(file)
}

fn docs(file: &str) -> Vec<Value> {
    let path = manifest(file);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::Deserializer::from_str(&text).map(|d| Value::deserialize(d).expect("valid YAML")).collect()
}

fn job(docs: &[Value]) -> &Value {
    let jobs: Vec<&Value> = docs.iter().filter(|d| d["kind"] == "Job").collect();
    assert_eq!(jobs.len(), 1, "one Job per file");
    assert_eq!(jobs[0]["apiVersion"], "batch/v1");
    jobs[0]
}

fn strings(v: &Value) -> Vec<String> {
    v.as_sequence().expect("a list").iter().map(|s| s.as_str().expect("a string").to_owned()).collect()
}

/// `kubernetes-validate --strict` (PyPI; .ci/run installs it): every resource against the Kubernetes schemas, no
/// unknown field. Returns the exit status and the output.
fn validate(files: &[PathBuf]) -> (bool, String) {
    let out =
        Command::new("kubernetes-validate").args(["--strict", "--quiet"]).args(files).output().expect(
            "kubernetes-validate runs (install it: python3 -m pip install kubernetes-validate, as .ci/run does)",
        );
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

#[test]
fn the_manifests_pass_the_kubernetes_schemas_and_a_typo_does_not() {
    let (ok, out) = validate(&[manifest("shards.yaml"), manifest("merge.yaml")]);
    assert!(ok, "{out}");
    // The validator is really looking: the same Job with a misspelt field is refused.
    let dir = tempfile::tempdir().unwrap();
    let typo = dir.path().join("merge.yaml");
    let text = std::fs::read_to_string(manifest("merge.yaml")).unwrap();
    std::fs::write(&typo, text.replace("activeDeadlineSeconds", "activeDeadlineSecond")).unwrap();
    let (ok, out) = validate(&[typo]);
    assert!(!ok && out.contains("activeDeadlineSecond"), "{out}");
}

/// Both pods: the image built by deploy/image/build.sh, its entrypoint (no `command`, no shell), its non-root user,
/// nothing writable but the mounted volumes.
fn assert_runs_the_image_unprivileged(pod: &Value) {
    let container = &pod["containers"][0];
    assert!(container["image"].as_str().unwrap().starts_with("spacetime-drill:"), "{:?}", container["image"]);
    assert!(container.get("command").is_none(), "the image's entrypoint is spacetime-drill; there is no shell");
    assert_eq!(pod["securityContext"]["runAsUser"].as_u64(), Some(65532), "the image's user");
    assert_eq!(pod["securityContext"]["runAsNonRoot"].as_bool(), Some(true));
    let sc = &container["securityContext"];
    assert_eq!(sc["readOnlyRootFilesystem"].as_bool(), Some(true));
    assert_eq!(sc["allowPrivilegeEscalation"].as_bool(), Some(false));
    assert_eq!(strings(&sc["capabilities"]["drop"]), ["ALL"]);
    let mounts: Vec<&str> =
        container["volumeMounts"].as_sequence().unwrap().iter().map(|m| m["mountPath"].as_str().unwrap()).collect();
    assert!(mounts.contains(&"/reports") && mounts.contains(&"/tmp"), "{mounts:?}");
}

#[test]
fn the_shard_job_is_an_indexed_job_that_fails_at_the_first_failed_shard() {
    let docs = docs("shards.yaml");
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["PersistentVolumeClaim", "ConfigMap", "Job"]);
    let job = job(&docs);
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let n = spec["completions"].as_u64().unwrap();
    assert!(n >= 2);
    assert_eq!(spec["parallelism"].as_u64(), Some(n), "every shard at once");
    // Promptly: no retry of a shard, the Job failed at the first failed index, and a ceiling on the whole flow.
    assert_eq!(spec["backoffLimitPerIndex"].as_u64(), Some(0));
    assert_eq!(spec["maxFailedIndexes"].as_u64(), Some(0));
    assert!(spec["activeDeadlineSeconds"].as_u64().is_some_and(|s| (60..=4 * 3600).contains(&s)));
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    assert_runs_the_image_unprivileged(pod);
    let args = strings(&pod["containers"][0]["args"]);
    let joined = args.join(" ");
    for want in ["run ", "--shard $(JOB_COMPLETION_INDEX)/", "--start-at $(START_AT)", "--target $(TARGET_URL)"] {
        assert!(joined.contains(want), "{want:?} missing from {joined}");
    }
    assert!(joined.contains(&format!("$(JOB_COMPLETION_INDEX)/{n}")), "--shard I/N with N = completions");
    assert!(joined.contains("--out /reports/shards/shard-$(JOB_COMPLETION_INDEX)"));

    // What Kubernetes would substitute, parsed by this build's own command line.
    let last = (n - 1).to_string();
    let real: Vec<String> = args
        .iter()
        .map(|a| {
            a.replace("$(JOB_COMPLETION_INDEX)", &last)
                .replace("$(START_AT)", "2030-01-01T12:00:00Z")
                .replace("$(TARGET_URL)", "https://staging.example:8080")
        })
        .collect();
    let cli = Cli::try_parse_from(std::iter::once("spacetime-drill".to_string()).chain(real)).expect("args parse");
    let Sub::Run(run) = cli.command else { panic!("a run") };
    assert_eq!(run.shard, Some(Shard { index: n as u32 - 1, count: n as u32 }));
    assert!(run.start_at.is_some());
}

#[test]
fn the_merge_job_merges_the_shards_directory_without_a_shell() {
    let shards = docs("shards.yaml");
    let merge = docs("merge.yaml");
    let spec = &job(&merge)["spec"];
    assert_eq!(spec["backoffLimit"].as_u64(), Some(0));
    assert!(spec["activeDeadlineSeconds"].as_u64().is_some());
    let pod = &spec["template"]["spec"];
    assert_runs_the_image_unprivileged(pod);
    let args = strings(&pod["containers"][0]["args"]);
    assert!(!args.iter().any(|a| a.contains('*') || a == "sh" || a == "-c"), "no glob, no shell: {args:?}");
    assert_eq!(args[..4], ["merge", "/reports/shards", "--out", "/reports/merged"], "{args:?}");
    // The shards write below the directory merged, and the merged report lands outside it.
    let shard_out = strings(&job(&shards)["spec"]["template"]["spec"]["containers"][0]["args"]);
    let shard_out = &shard_out[shard_out.iter().position(|a| a == "--out").unwrap() + 1];
    assert!(Path::new(shard_out).starts_with(&args[1]), "{shard_out} under {}", args[1]);
    assert!(!Path::new(&args[3]).starts_with(&args[1]));
    let merge_help = help(&["merge"]);
    for flag in args.iter().filter(|a| a.starts_with("--")) {
        assert!(merge_help.contains(flag.as_str()), "`merge --help` has no {flag}");
    }
    let claim = |docs: &[Value]| {
        job(docs)["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"].clone()
    };
    assert_eq!(claim(&merge), claim(&shards), "both jobs mount the same volume");
    assert_eq!(claim(&shards), shards[0]["metadata"]["name"]);
}

/// A stand-in `kubectl` whose Job is in the state written to `$FAKE_JOB_STATE`: `wait --for=condition=X` succeeds
/// at once when the state is X, otherwise it sleeps out its timeout (at most 1 s here) and fails, as kubectl does.
const FAKE_KUBECTL: &str = r#"#!/bin/sh
case "$1" in
  get) [ "$(cat "$FAKE_JOB_STATE")" != missing ] || { echo "NotFound" >&2; exit 1; } ;;
  wait)
    want=${2#--for=condition=}
    [ "$(cat "$FAKE_JOB_STATE")" = "$want" ] && exit 0
    [ "$3" = "--timeout=0s" ] || sleep 1
    exit 1 ;;
esac
"#;

/// `wait.sh` with the fake kubectl: its exit status and how long it took.
fn wait_sh(state_at_start: &str, later: Option<(&str, Duration)>) -> (Option<i32>, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let kubectl = dir.path().join("kubectl");
    std::fs::write(&kubectl, FAKE_KUBECTL).unwrap();
    std::fs::set_permissions(&kubectl, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let state = dir.path().join("state");
    std::fs::write(&state, state_at_start).unwrap();
    let path = format!("{}:{}", dir.path().display(), std::env::var("PATH").unwrap_or_default());
    let start = Instant::now();
    let mut child = Command::new(manifest("wait.sh"))
        .args(["job/spacetime-drill-shards", "60"])
        .env("PATH", path)
        .env("FAKE_JOB_STATE", &state)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut later = later;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (status.code(), start.elapsed());
        }
        if let Some((s, _)) = later.filter(|(_, at)| start.elapsed() >= *at) {
            std::fs::write(&state, s).unwrap();
            later = None;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            return (None, start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn wait_sh_returns_as_soon_as_the_job_fails_or_completes() {
    // Running, then a shard fails: exit 1 within one wait slice (5 s), not at the 60 s timeout.
    let (code, took) = wait_sh("running", Some(("failed", Duration::from_secs(1))));
    assert_eq!(code, Some(1), "a failed Job fails the wait (after {took:?})");
    assert!(took < Duration::from_secs(20), "{took:?}");
    let (code, _) = wait_sh("complete", None);
    assert_eq!(code, Some(0));
    let (code, _) = wait_sh("missing", None);
    assert_eq!(code, Some(2), "a Job that cannot be read is an error, not a wait");
}

#[test]
fn shard_must_be_an_index_below_the_count() {
    assert_eq!("1/3".parse::<Shard>(), Ok(Shard { index: 1, count: 3 }));
    for bad in ["3/3", "1", "a/2", "0/0", "-1/2"] {
        assert!(bad.parse::<Shard>().is_err(), "{bad}");
    }
}
