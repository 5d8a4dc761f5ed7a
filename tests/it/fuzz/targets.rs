//! The fuzz targets: structure-aware mutations of real inputs (the shipped scenarios, a golden report), fed to the
//! functions a user's file reaches, which must return errors and never panic. Shared by the bounded test
//! (`tests/it/fuzz/mod.rs`) and the 1 M-input benchmark (`benches/fuzz.rs`).
//!
//! Why `arbitrary` (its `Unstructured` byte source) and not proptest: a target is a plain
//! `fn(&mut Unstructured) -> arbitrary::Result<()>`, so the same function runs from a seeded loop in `cargo test`,
//! from the benchmark's million inputs, and unchanged under cargo-fuzz/libFuzzer should a nightly job ever want
//! coverage guidance; and a crash is replayed from its bytes (saved as a fixture), so proptest's shrinking is not
//! needed. Structure-aware: the input is parsed, one to four values anywhere in its tree are replaced by hostile
//! ones (huge, negative, non-finite, wrong type, `..` paths, absurd durations, corrupt histograms) or removed, and
//! the result is written back as text, sometimes with its bytes cut or flipped too.

use std::path::Path;

use arbitrary::Unstructured;

/// The shipped scenarios, read once.
pub fn scenario_corpus() -> Vec<(String, toml::Table)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios");
    let mut files: Vec<_> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
    files.retain(|p| p.extension().is_some_and(|e| e == "toml"));
    files.sort();
    files
        .iter()
        .map(|p| {
            (
                p.file_name().unwrap().to_string_lossy().into_owned(),
                toml::from_str(&std::fs::read_to_string(p).unwrap()).unwrap(),
            )
        })
        .collect()
}

/// The golden report, read once: as a JSON tree to mutate, and as the report the mutants are compared and merged with.
pub fn report_corpus() -> (serde_json::Value, spacetime_drill::report::Report) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/golden/report.json");
    (
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap(),
        spacetime_drill::report::read_json(&path).unwrap(),
    )
}

/// The text of one mutated scenario.
pub fn scenario_input(u: &mut Unstructured, corpus: &[(String, toml::Table)]) -> arbitrary::Result<String> {
    let (_, base) = u.choose(corpus)?;
    let mut doc = toml::Value::Table(base.clone());
    for _ in 0..u.int_in_range(1..=4)? {
        mutate_toml(u, &mut doc)?;
    }
    let text = toml::to_string(&doc).unwrap_or_default();
    mutate_bytes(u, text)
}

/// Load a mutated scenario as `validate` and `run` do; a file accepted must yield a plan the engines take.
pub fn scenario_target(u: &mut Unstructured, corpus: &[(String, toml::Table)]) -> arbitrary::Result<()> {
    let text = scenario_input(u, corpus)?;
    if let Ok(s) = spacetime_drill::scenario::Scenario::parse(Path::new("fuzz.toml"), &text) {
        let plan = spacetime_drill::load::LoadPlan::from_scenario(&s, "http://127.0.0.1:1", None).unwrap();
        let total: std::time::Duration = plan.phases.iter().map(|p| p.duration).sum();
        assert!(total <= spacetime_drill::scenario::limits::MAX_TIMELINE);
        let requests: f64 = plan.phases.iter().map(|p| p.expected_requests()).sum();
        assert!(requests.is_finite() && requests >= 0.0);
        let _ = std::time::Instant::now().checked_add(total).expect("a checked timeline fits an Instant");
    }
    Ok(())
}

/// The text of one mutated report.
pub fn report_input(u: &mut Unstructured, golden: &serde_json::Value) -> arbitrary::Result<String> {
    let mut doc = golden.clone();
    for _ in 0..u.int_in_range(1..=4)? {
        mutate_json(u, &mut doc)?;
    }
    mutate_bytes(u, doc.to_string())
}

/// Read a mutated report as `report`, `compare` and `merge` do, and act on it as they do.
pub fn report_target(
    u: &mut Unstructured,
    (golden, g): &(serde_json::Value, spacetime_drill::report::Report),
) -> arbitrary::Result<()> {
    use spacetime_drill::report;
    let text = report_input(u, golden)?;
    let Ok(r) = report::parse_json(&text) else { return Ok(()) };
    let _ = report::compare(g, &r, &Default::default()).map(|c| c.render(false));
    let _ = report::compare(&r, g, &Default::default()).map(|c| c.render(false));
    if let Ok(m) = report::merge(&[g.clone(), r.clone()]) {
        let _ = report::render_table(&m);
    }
    let _ = report::render_table(&r);
    let _ = report::render_summary(&r, &mut Vec::new());
    let _ = report::summarize(&r.record);
    Ok(())
}

fn hostile_toml(u: &mut Unstructured) -> arbitrary::Result<toml::Value> {
    use toml::Value as V;
    Ok(match u.int_in_range(0..=15)? {
        0 => V::Integer(i64::MAX),
        1 => V::Integer(-1),
        2 => V::Integer(0),
        3 => V::Float(1e308),
        4 => V::Float(f64::NAN),
        5 => V::Float(-0.0),
        6 => V::String("18446744073709551615s".into()),
        7 => V::String("9223372036854775807s".into()),
        8 => V::String("1ns".into()),
        9 => V::String("res://../../etc/passwd.tscn".into()),
        10 => V::String("/..".into()),
        11 => V::String(String::new()),
        12 => V::Boolean(u.arbitrary()?),
        13 => V::Array(vec![V::String("/".into()); u.int_in_range(0..=3)?]),
        14 => V::Integer(u.arbitrary::<i64>()?),
        _ => V::String(u.arbitrary::<String>()?),
    })
}

/// Replace, remove or add one value somewhere in the tree.
fn mutate_toml(u: &mut Unstructured, v: &mut toml::Value) -> arbitrary::Result<()> {
    match v {
        toml::Value::Table(t) if !t.is_empty() && u.ratio(3, 4)? => {
            let key = u.choose(&t.keys().cloned().collect::<Vec<_>>())?.clone();
            match u.int_in_range(0..=9)? {
                0 => drop(t.remove(&key)),
                1 => drop(t.insert(format!("{key}_x"), hostile_toml(u)?)),
                2..=4 => drop(t.insert(key, hostile_toml(u)?)),
                _ => mutate_toml(u, t.get_mut(&key).expect("chosen from its keys"))?,
            }
        }
        toml::Value::Array(a) if !a.is_empty() && u.ratio(3, 4)? => {
            let i = u.choose_index(a.len())?;
            match u.int_in_range(0..=5)? {
                0 => drop(a.remove(i)),
                1 => a.push(a[i].clone()),
                _ => mutate_toml(u, &mut a[i])?,
            }
        }
        other => *other = hostile_toml(u)?,
    }
    Ok(())
}

fn hostile_json(u: &mut Unstructured, was: &serde_json::Value) -> arbitrary::Result<serde_json::Value> {
    use serde_json::json;
    Ok(match u.int_in_range(0..=13)? {
        0 => json!(u64::MAX),
        1 => json!(-1),
        2 => json!(0),
        3 => json!(1e308),
        4 => json!(-1e308),
        5 => json!(null),
        6 => json!(""),
        7 => json!([]),
        8 => json!({}),
        // A histogram's bytes, cut or flipped: base64 of the original, damaged.
        9 | 10 => match was.as_str() {
            Some(s) if !s.is_empty() => {
                let mut b = s.as_bytes().to_vec();
                let i = u.choose_index(b.len())?;
                b[i] = u.arbitrary()?;
                b.truncate(u.int_in_range(0..=b.len())?);
                json!(String::from_utf8_lossy(&b))
            }
            _ => json!(u.arbitrary::<String>()?),
        },
        11 => json!(u.arbitrary::<f64>()?),
        12 => json!(u.arbitrary::<i64>()?),
        _ => json!(u.arbitrary::<String>()?),
    })
}

fn mutate_json(u: &mut Unstructured, v: &mut serde_json::Value) -> arbitrary::Result<()> {
    match v {
        serde_json::Value::Object(o) if !o.is_empty() && u.ratio(7, 8)? => {
            let key = u.choose(&o.keys().cloned().collect::<Vec<_>>())?.clone();
            match u.int_in_range(0..=9)? {
                0 => drop(o.remove(&key)),
                1..=3 => {
                    let new = hostile_json(u, &o[&key])?;
                    o.insert(key, new);
                }
                _ => mutate_json(u, o.get_mut(&key).expect("chosen from its keys"))?,
            }
        }
        serde_json::Value::Array(a) if !a.is_empty() && u.ratio(7, 8)? => {
            let i = u.choose_index(a.len())?;
            match u.int_in_range(0..=5)? {
                0 => drop(a.remove(i)),
                1 => a.push(a[i].clone()),
                _ => mutate_json(u, &mut a[i])?,
            }
        }
        other => *other = hostile_json(u, other)?,
    }
    Ok(())
}

/// Now and then, damage the text itself: cut it, or overwrite a byte (kept UTF-8: the readers take `&str`).
fn mutate_bytes(u: &mut Unstructured, text: String) -> arbitrary::Result<String> {
    if text.is_empty() || !u.ratio(1, 8)? {
        return Ok(text);
    }
    let mut b = text.into_bytes();
    let i = u.choose_index(b.len())?;
    if u.arbitrary()? {
        b.truncate(i);
    } else {
        b[i] = u.arbitrary()?;
    }
    Ok(String::from_utf8_lossy(&b).into_owned())
}
