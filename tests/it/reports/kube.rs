//! `deploy/kubernetes/`: the manifests parse, keep the shape the README describes, and the shard pods' arguments
//! are a command line this build accepts.

use clap::Parser;
use serde::Deserialize;
use serde_norway::Value;
use spacetime_drill::cli::{Cli, Command, Shard};

fn docs(file: &str) -> Vec<Value> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/kubernetes").join(file);
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

#[test]
fn the_shard_job_is_an_indexed_job_whose_args_this_build_accepts() {
    let docs = docs("shards.yaml");
    let kinds: Vec<&str> = docs.iter().map(|d| d["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["PersistentVolumeClaim", "ConfigMap", "Job"]);
    let job = job(&docs);
    let spec = &job["spec"];
    assert_eq!(spec["completionMode"], "Indexed");
    let n = spec["completions"].as_u64().unwrap();
    assert!(n >= 2);
    assert_eq!(spec["parallelism"].as_u64(), Some(n), "every shard at once");
    let pod = &spec["template"]["spec"];
    assert_eq!(pod["restartPolicy"], "Never");
    let args = strings(&pod["containers"][0]["args"]);
    let joined = args.join(" ");
    for want in ["run ", "--shard $(JOB_COMPLETION_INDEX)/", "--start-at $(START_AT)", "--target $(TARGET_URL)"] {
        assert!(joined.contains(want), "{want:?} missing from {joined}");
    }
    assert!(joined.contains(&format!("$(JOB_COMPLETION_INDEX)/{n}")), "--shard I/N with N = completions");
    assert!(joined.contains("--out /reports/shard-$(JOB_COMPLETION_INDEX)"));
    let mounts = serde_norway::to_string(&pod["containers"][0]["volumeMounts"]).unwrap();
    assert!(mounts.contains("/reports"));

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
    let Command::Run(run) = cli.command else { panic!("a run") };
    assert_eq!(run.shard, Some(Shard { index: n as u32 - 1, count: n as u32 }));
    assert!(run.start_at.is_some());
}

#[test]
fn the_merge_job_merges_every_shard_from_the_shared_volume() {
    let shards = docs("shards.yaml");
    let merge = docs("merge.yaml");
    let pod = &job(&merge)["spec"]["template"]["spec"];
    let script = strings(&pod["containers"][0]["args"]).join(" ");
    assert!(script.contains("spacetime-drill merge /reports/shard-*/report.json --out /reports/merged"), "{script}");
    let claim = |docs: &[Value]| {
        job(docs)["spec"]["template"]["spec"]["volumes"][0]["persistentVolumeClaim"]["claimName"].clone()
    };
    assert_eq!(claim(&merge), claim(&shards), "both jobs mount the same volume");
    assert_eq!(claim(&shards), shards[0]["metadata"]["name"]);
}

#[test]
fn shard_must_be_an_index_below_the_count() {
    assert_eq!("1/3".parse::<Shard>(), Ok(Shard { index: 1, count: 3 }));
    for bad in ["3/3", "1", "a/2", "0/0", "-1/2"] {
        assert!(bad.parse::<Shard>().is_err(), "{bad}");
    }
}
