//! `report.json`: the canonical, versioned form every other renderer and `compare`/`merge` read back.
//!
//! Readers accept the current [`SCHEMA_VERSION`] and the one before it, migrated on read, so a baseline stored by
//! the previous release still gates the next one; a newer report is refused naming the version it needs. A report is
//! also checked for times no run writes ([`bounds`]), so a hostile or corrupt file is an error naming the file and
//! the field, never a panic in a renderer.

mod bounds;

use std::path::Path;

use anyhow::Context;
use serde_json::Value;
use sha2::Digest;

use super::render::write_atomically;
use super::{Outcome, Report, SCHEMA_VERSION, ScenarioInfo, decide};
use crate::judge::{VerdictEvent, VerdictEventKind};
use crate::record::EventKind;

/// The oldest schema this build migrates.
pub const OLDEST_READ: u32 = SCHEMA_VERSION - 1;

/// Write atomically (temp file + rename) so a reader or a crash never leaves half a report.
pub fn write_json(report: &Report, path: &Path) -> anyhow::Result<()> {
    write_atomically(path, |w| render_json(report, w))
}

/// The report with the verdict's timeline entries joined into `record.events` in time order, as schema v3 lists
/// them (the record itself holds only what was measured; see [`split_verdict_events`] for the way back).
pub fn render_json(report: &Report, w: &mut dyn std::io::Write) -> anyhow::Result<()> {
    let mut v = serde_json::to_value(report)?;
    if let (Some(verdict), Some(events)) = (&report.verdict, v["record"]["events"].as_array_mut()) {
        events.extend(verdict.events().iter().map(|e| serde_json::to_value(e).expect("plain data")));
        events.sort_by(|a, b| a["t"].as_f64().unwrap_or(0.0).total_cmp(&b["t"].as_f64().unwrap_or(0.0)));
    }
    Ok(serde_json::to_writer_pretty(w, &v)?)
}

/// Take the verdict's entries back out of `record.events`: they are derived from the verdict, which the report
/// carries whole.
fn split_verdict_events(v: &mut Value) {
    if let Some(events) = v.pointer_mut("/record/events").and_then(Value::as_array_mut) {
        events.retain(|e| !e["event"].as_str().is_some_and(|tag| VerdictEventKind::TAGS.contains(&tag)));
    }
}

/// The JSON Schema of `report.json`, derived from the types that write it (so it cannot drift; a test checks that
/// the committed `reports/schema.json` is this). `record.events` lists the record's events and the verdict's, as
/// [`render_json`] writes them.
pub fn schema() -> String {
    let mut generator = schemars::generate::SchemaSettings::default().into_generator();
    let verdict_event = generator.subschema_for::<VerdictEvent>();
    let mut schema = generator.root_schema_for::<Report>();
    let items = schema.pointer_mut("/$defs/Record/properties/events/items").expect("a record lists its events");
    let event = std::mem::take(items);
    *items = serde_json::json!({ "anyOf": [event, verdict_event] });
    serde_json::to_string_pretty(&schema).expect("a JSON Schema is plain JSON")
}

/// Read and check a `report.json` (current or previous schema version), naming the file in any error; the file is
/// refused past a size cap rather than read whole into memory.
pub fn read_json(path: &Path) -> anyhow::Result<Report> {
    let text = crate::input::read_text(path, crate::input::REPORT_CAP)
        .with_context(|| format!("cannot read {}", path.display()))?;
    parse_json(&text).with_context(|| format!("{} is not a report this build reads", path.display()))
}

/// Parse a report of the current or the previous schema version (migrated to the current one) and check it.
pub fn parse_json(text: &str) -> anyhow::Result<Report> {
    let mut v: Value = serde_json::from_str(text).context("not JSON")?;
    let version = v.get("schema_version").and_then(Value::as_u64);
    let supported = format!("this build reads schema_version {OLDEST_READ} and {SCHEMA_VERSION}");
    match version {
        Some(n) if n > u64::from(SCHEMA_VERSION) => {
            anyhow::bail!("schema_version {n} is newer than {supported}: read it with a spacetime-drill that reads {n}")
        }
        Some(n) if n < u64::from(OLDEST_READ) => {
            anyhow::bail!("schema_version {n} is older than {supported}; re-run the drill to get a new report")
        }
        None => anyhow::bail!("no schema_version: not a spacetime-drill report"),
        Some(_) => bounds::check(&v)?,
    }
    split_verdict_events(&mut v);
    if version == Some(u64::from(SCHEMA_VERSION)) {
        return serde_json::from_value(v).context("not a spacetime-drill report");
    }
    add_v3_fields(&mut v);
    let mut r: Report = serde_json::from_value(v).context("not a spacetime-drill report")?;
    r.schema_version = SCHEMA_VERSION;
    r.scenario.hash = ScenarioInfo::hash_of(&r.scenario.file);
    // Judged again from the stored verdict: a run without `[expect]` now expects healthy.
    if let Some(verdict) = &r.verdict {
        r.expectations = crate::judge::expectations(r.scenario.file.expect.as_ref(), verdict);
    }
    r.outcome = decide(&r);
    Ok(r)
}

/// Schema 2 → 3, the fields 3 added, as far as the JSON alone fills them (the rest is derived once the report is
/// read). Harness errors were not stored, but every failed injection or rollback is in the event log.
fn add_v3_fields(v: &mut Value) {
    let errors: Vec<Value> = v["record"]["events"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|e| match serde_json::from_value::<EventKind>(e.clone()) {
            Ok(EventKind::FaultFailed { fault, error }) => Some(format!("fault {fault} failed: {error}").into()),
            _ => None,
        })
        .collect();
    let Some(obj) = v.as_object_mut() else { return };
    // Schema 2 had no run id: one derived from when and what ran tells two runs apart, and one report given twice not.
    let started = obj.get("started_at").and_then(Value::as_str).unwrap_or_default();
    let name = obj.get("scenario").and_then(|s| s.get("name")).and_then(Value::as_str).unwrap_or_default();
    let digest = sha2::Sha256::digest(format!("{started} {name}"));
    let run_id: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    obj.insert("run_id".into(), run_id.into());
    obj.insert("errors".into(), errors.into());
    obj.insert("outcome".into(), serde_json::to_value(Outcome::UNDECIDED).expect("plain data"));
    obj.insert("shard".into(), Value::Null);
    obj.insert("baseline".into(), Value::Null);
    if let Some(scenario) = obj.get_mut("scenario").and_then(Value::as_object_mut) {
        scenario.insert("hash".into(), "".into());
    }
}
