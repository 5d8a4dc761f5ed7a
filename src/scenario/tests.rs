//! Checks on whole scenarios: the documented examples pass, every fault kind parses into its variant, and each
//! semantic rule rejects what it should with a message that says how to fix it.

use std::path::Path;
use std::time::Duration;

use super::*;

fn parse(text: &str) -> Result<Scenario, Vec<ScenarioError>> {
    Scenario::parse(Path::new("t.toml"), text)
}

/// `text` plus one phase holding fault "f" (if any).
fn with_phase(text: &str) -> String {
    let faults = if text.contains("[[fault]]") { "faults = [\"f\"]\n" } else { "" };
    format!("{text}\n[[phase]]\nname = \"p\"\nduration = \"10s\"\n{faults}")
}

#[test]
fn readme_examples_are_valid_scenarios() {
    let readme = include_str!("../../scenarios/README.md");
    let blocks: Vec<&str> = readme.split("```toml\n").skip(1).map(|b| b.split("```").next().unwrap()).collect();
    assert!(blocks.len() >= 8);
    for (i, block) in blocks.iter().enumerate() {
        // Examples naming TLS files on a deployment's host are validated with real files, and run, by
        // tests/it/tls/examples.rs.
        if block.contains("ca_file") || block.contains("client_cert") {
            continue;
        }
        if let Err(e) = parse(block) {
            panic!("README example {i} is invalid: {e:?}\n{block}");
        }
    }
}

#[test]
fn every_fault_kind_parses_into_its_variant_with_its_window_as_ttl() {
    for (kind, body) in FaultSpec::EXAMPLES {
        let text = format!(
            "[sim]\nauth = true\n[[phase]]\nname = \"a\"\nduration = \"5s\"\nfaults = [\"f\"]\n\
             [[phase]]\nname = \"b\"\nduration = \"7s\"\nfaults = [\"f\"]\n\
             [[fault]]\nname = \"f\"\n[fault.{kind}]\n{body}\n"
        );
        let s = parse(&text).unwrap_or_else(|e| panic!("{kind}: {e:?}"));
        assert_eq!(s.faults.len(), 1);
        assert_eq!(s.faults[0].kind.name(), *kind);
        assert_eq!(s.faults[0].ttl, Duration::from_secs(12), "{kind}: two back-to-back phases = one 12 s window");
    }
}

#[test]
fn semantic_rules_reject_with_a_fix() {
    let cases: &[(&str, &str)] = &[
        ("phase = []", "add at least one [[phase]]"),
        ("[load]\nrate = 0", "rate in [load]: 0 is not allowed"),
        ("[load]\nmax_in_flight = 0", "max_in_flight in [load]: 0 is out of range; use 1 to 65536"),
        ("[load]\nmix = { status = 0, scene_load = 0, debug_evaluate = 0, lsp_completion = 0 }", "every weight is 0"),
        ("[load]\nscenes = [\"vr_main.tscn\"]", "write it as res://"),
        ("[load]\nmodel = \"users\"\nusers = 0", "users in [load]: 0 is out of range; use 1 to 100000 users"),
        ("[target]\nurl = \"http://h:1/api\"", "\"/api\" after the host, which the load engines would ignore"),
        ("[target]\nurl = \"http://h:1\"\ntelemetry = \"http://h:2\"", "must be ws://host[:port][/path]"),
        ("[expect]\nincident = \"healthy\"\nseverity = \"P2\"", "\"healthy\" has no severity"),
        ("[expect]\nseverity = \"P2\"", "a severity needs the incident"),
        ("[expect]\ndetect_within = \"5s\"", "there is no [[fault]]"),
        ("[thresholds]\ndisk_p2_pct = 99", "disk_p1_pct (95) must be greater than disk_p2_pct (99)"),
        ("[thresholds]\nerror_rate_pct = 150", "is not a percentage"),
        ("[thresholds]\nwindow = \"0s\"", "window in [thresholds]: must be a whole number of seconds, 1 or more"),
        ("[allow]\npaths = [\"/\"]", "is / (every file of the host)"),
        ("name = \"a b\"", "cannot name a report directory"),
        ("[[fault]]\nname = \"f\"", "has no kind; add exactly one of: [fault.port_conflict]"),
        ("[[fault]]\nname = \"f\"\nttl = \"0s\"\n[fault.noop]", "ttl in [[fault]]: must be longer than 0"),
        ("[[fault]]\nname = \"f\"\n[fault.disk_fill]\npercent = 90\nfree_bytes = 1", "exactly one of percent"),
        (
            "[allow]\npaths = [\"/mnt\"]\n[[fault]]\nname = \"f\"\n[fault.disk_fill]\npath = \"/\"\npercent = 9",
            "is / (every file of the host): never a fault target nor in the blast radius",
        ),
        ("[[fault]]\nname = \"f\"\n[fault.port_conflict]\nport = 8080", "add it to [allow] ports"),
        ("[[fault]]\nname = \"f\"\n[fault.kill_process]\nname = \"godot\"", "add it to [allow] processes"),
        ("[[fault]]\nname = \"f\"\n[fault.kill_process]\nsim = \"dap\"\nport = 1", "exactly one of sim"),
        ("[[fault]]\nname = \"f\"\n[fault.kill_process]\nsim = \"dap\"\nsignal = \"STOP\"\nrestart = true", "CONT"),
        (
            "[allow]\nprocesses = [\"g\"]\n[[fault]]\nname = \"f\"\n[fault.kill_process]\nname = \"g\"\nrestart = true",
            "restart needs restart_command",
        ),
        ("[[fault]]\nname = \"f\"\n[fault.network]\ndirection = \"upstream\"", "no toxic set"),
        ("[[fault]]\nname = \"f\"\n[fault.network]\njitter = \"5ms\"", "set latency too"),
        ("[[fault]]\nname = \"f\"\n[fault.network]\nreset = true\ntimeout = true", "keep one"),
        ("[[fault]]\nname = \"f\"\n[fault.expired_token]\nshare = 0.5", "set [sim] auth = true"),
        ("[sim]\nauth = true\n[[fault]]\nname = \"f\"\n[fault.expired_token]\nshare = 0", "use a fraction in (0, 1]"),
        ("[[fault]]\nname = \"f\"\n[fault.key_rotation]", "set [sim] auth = true"),
        (
            "[[fault]]\nname = \"f\"\n[fault.scene]\nscene = \"res://a.tscn\"\naction = \"remove_dependency\"",
            "needs dependency",
        ),
        (
            "[[fault]]\nname = \"f\"\n[fault.scene]\nscene = \"res://a.tscn\"\naction = \"rename\"\ndependency = \"res://b\"",
            "applies to remove_dependency only",
        ),
        (
            "[[fault]]\nname = \"f\"\n[fault.exec]\ninject = \" \"\nrollback = \"true\"",
            "inject in [fault.exec]: is empty",
        ),
        ("[[fault]]\nname = \"f\"\n[fault.frame_work]\nms = -1.0", "ms in [fault.frame_work]"),
        // Issue 13, each class of "Why": unbounded numbers ...
        ("[load]\nmax_in_flight = 9223372036854775807", "max_in_flight in [load]: 9223372036854775807 is out of range"),
        ("[load]\nrate = 1e12", "rate in [load]: 1000000000000 is not allowed; use a number of requests per second"),
        ("[load]\nmodel = \"users\"\nusers = 3000000000", "users in [load]: 3000000000 is out of range"),
        ("[load]\ntimeout = \"500000000000s\"", "timeout in [load]: 15844years"),
        ("[probe]\ninterval = \"1ns\"", "interval in [probe]: 1ns is out of range; use 100ms to 1h"),
        (
            "[[fault]]\nname = \"f\"\n[fault.network]\nlatency = \"18446744073709551615s\"\njitter = \"1s\"",
            "latency in [fault.network]: latency + jitter must be at most 1h",
        ),
        (
            "[[fault]]\nname = \"f\"\n[fault.memory_leak]\nbytes_per_request = 18446744073709551615",
            "bytes_per_request in [fault.memory_leak]: 18446744073709551615 is out of range; use 1 to 16777216",
        ),
        ("[[fault]]\nname = \"f\"\n[fault.cpu_hog]\nthreads = 4000000000", "threads in [fault.cpu_hog]: 4000000000"),
        (
            "[[fault]]\nname = \"f\"\n[fault.connection_flood]\nconnections = 4000000000",
            "connections in [fault.connection_flood]: 4000000000 is out of range",
        ),
        ("[[fault]]\nname = \"f\"\nttl = \"900000h\"\n[fault.noop]", "ttl in [[fault]]: 102years"),
        // ... simulator knobs against a [target] ...
        ("[target]\nurl = \"http://h:1\"\n[sim]\nframe_work_ms = 5.0", "[sim] sets up the embedded simulator"),
        (
            "[target]\nurl = \"http://h:1\"\n[[fault]]\nname = \"f\"\n[fault.memory_leak]\nbytes_per_request = 1",
            "memory_leak turns a knob of the embedded simulator, and this scenario has a [target]",
        ),
        // ... res:// paths that leave the project, an allow-list entry that is /, a tmpfs without a size ...
        ("[load]\nscenes = [\"res://../../etc/x.tscn\"]", "leaves the project"),
        (
            "[[fault]]\nname = \"f\"\n[fault.scene]\nscene = \"res:///etc/a.tscn\"\naction = \"rename\"",
            "leaves the project",
        ),
        ("[allow]\npaths = [\"/..\"]", "/.. is / (every file of the host)"),
        ("[allow]\npaths = [\"/srv/../data\"]", "holds \"..\"; write it as /data"),
        ("[sim]\ndata_fs_mib = 0", "data_fs_mib in [sim]: 0 is out of range; use 1 to 16384 MiB"),
        // ... an empty fault name, and a severity the tolerated worst contradicts.
        ("[[fault]]\nname = \"\"\n[fault.noop]", "name in [[fault]]: is empty; name the fault"),
        (
            "[[fault]]\nname = \"f\"\n[fault.noop]\n[expect]\nincident = \"high_error_rate\"\nseverity = \"P1\"\nworst = \"P3\"",
            "worst = \"P3\" tolerates nothing worse than P3, but severity = \"P1\"",
        ),
    ];
    for (text, phrase) in cases {
        let text = if text.starts_with("phase") { text.to_string() } else { with_phase(text) };
        let errors = parse(&text).err().unwrap_or_else(|| panic!("accepted:\n{text}"));
        let all: Vec<String> = errors.iter().map(ToString::to_string).collect();
        assert!(all.iter().any(|e| e.contains(phrase)), "want {phrase:?} for:\n{text}\ngot: {all:#?}");
        assert!(errors.iter().all(|e| e.kind == ErrorKind::Check && e.at.is_some()), "{all:#?}");
    }
}

#[test]
fn users_and_open_model_settings_do_not_mix() {
    let errors = parse("[load]\nmodel = \"users\"\n[[phase]]\nname = \"p\"\nduration = \"1s\"\nload = { rate = 5 }\n");
    assert!(errors.unwrap_err()[0].message.contains("set users instead"));
    let errors = parse("[[phase]]\nname = \"p\"\nduration = \"1s\"\nload = { users = 5 }\n");
    assert!(errors.unwrap_err()[0].message.contains("set rate instead"));
}

/// Issue 13: `validate` panicked on two phases of 2^63 s (a sum overflowing), and a users-model phase override was
/// refused only at run time.
#[test]
fn huge_timelines_and_user_overrides_are_refused_without_a_panic() {
    let phase = |n: u32| format!("[[phase]]\nname = \"p{n}\"\nduration = \"9223372036854775807s\"\nfaults = [\"f\"]\n");
    let text = format!("[[fault]]\nname = \"f\"\n[fault.noop]\n{}{}", phase(1), phase(2));
    let all: Vec<String> = parse(&text).unwrap_err().iter().map(ToString::to_string).collect();
    assert!(all.iter().any(|e| e.contains("longer than the 1day allowed")), "{all:#?}");
    let eight_days: String = (0..8).map(|n| format!("[[phase]]\nname = \"d{n}\"\nduration = \"24h\"\n")).collect();
    let e = parse(&eight_days).unwrap_err()[0].to_string();
    assert!(e.contains("the phases add up to more than 7days"), "{e}");
    let users = "[load]\nmodel = \"users\"\nusers = 4\n[[phase]]\nname = \"a\"\nduration = \"1s\"\n\
                 [[phase]]\nname = \"b\"\nduration = \"1s\"\nload = { users = 9 }\n";
    let e = parse(users).unwrap_err()[0].to_string();
    assert!(e.contains("users = 9, but the users model runs one user count for the whole run (4)"), "{e}");
}

#[test]
fn thresholds_resolve_overrides_over_runbook_defaults() {
    let s = parse(&with_phase("[thresholds]\np95_ms = 250\nwindow = \"10s\"")).unwrap();
    let profile = s.file.thresholds.resolve();
    assert_eq!(profile.p95_ms, 250.0);
    assert_eq!(profile.window, Duration::from_secs(10));
    assert_eq!(profile.error_rate_pct, 1.0, "not overridden: the runbook's 1 %");
    assert_eq!(profile.disk_p1_pct, 95.0);
}

#[test]
fn name_defaults_to_the_file_stem() {
    let s = Scenario::parse(Path::new("scenarios/ci-gate.toml"), &with_phase("")).unwrap();
    assert_eq!(s.name, "ci-gate");
    let s = Scenario::parse(Path::new("x.toml"), &with_phase("name = \"gate\"")).unwrap();
    assert_eq!(s.name, "gate");
}

/// The judge sees recovery as `recovery_windows` healthy windows from the rollback's second on, and the last one
/// ends with the run: a drill ending sooner after its last rollback would fail `recover_within` every time.
#[test]
fn recover_within_needs_room_after_the_last_rollback_to_be_seen() {
    let drill = |tail: u32, ttl: &str, thresholds: &str| {
        parse(&format!(
            "[[phase]]\nname = \"b\"\nduration = \"5s\"\n[[phase]]\nname = \"f\"\nduration = \"3s\"\nfaults = [\"f\"]\n\
             [[phase]]\nname = \"r\"\nduration = \"{tail}s\"\n[[fault]]\nname = \"f\"\n{ttl}[fault.noop]\n{thresholds}\
             [expect]\nincident = \"slow_responses\"\nrecover_within = \"30s\"\n"
        ))
    };
    let err = drill(5, "", "").expect_err("5 s after the rollback cannot hold two 5 s windows a second apart");
    let err: Vec<String> = err.iter().map(ToString::to_string).collect();
    assert!(err[0].starts_with("t.toml:16:") && err[0].contains("ends 5s after \"f\" is rolled back"), "{err:?}");
    assert!(err[0].contains("at least 6s long"), "{err:?}");
    assert!(drill(6, "", "").is_ok(), "window 5 s + 1 step");
    assert!(drill(5, "ttl = \"2s\"\n", "").is_ok(), "rolled back at its ttl, 1 s before its phase ends");
    let three = "[thresholds]\nrecovery_windows = 3\n";
    assert!(drill(6, "", three).is_err() && drill(7, "", three).is_ok(), "each further window needs a step more");
}
