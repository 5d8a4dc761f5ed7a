//! Completion items for the simulated language server: GDScript keywords plus the identifiers declared in the
//! project's `.gd` files.
//!
//! Why a cache refreshed by age: `/lsp/completion` is on the load path (thousands of requests a second), so walking
//! the project per request would make the simulator, not the service model, the bottleneck; yet a test or a fault
//! that edits a script must see the change. Rescanning at most once per [`REFRESH`] (off the async threads) keeps
//! both. The answer is kept pre-serialized because every response carries the same list.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::Mutex;
use tokio::time::Instant;

/// How stale the identifier list may get.
const REFRESH: Duration = Duration::from_secs(1);
/// Bounds on the walk, so a huge or looping tree cannot stall the server.
const MAX_DEPTH: usize = 16;
const MAX_FILES: usize = 10_000;

const KEYWORDS: &[&str] = &[
    "and",
    "as",
    "assert",
    "await",
    "break",
    "breakpoint",
    "class",
    "class_name",
    "const",
    "continue",
    "elif",
    "else",
    "enum",
    "extends",
    "false",
    "for",
    "func",
    "if",
    "in",
    "is",
    "match",
    "not",
    "null",
    "or",
    "pass",
    "preload",
    "return",
    "self",
    "signal",
    "static",
    "super",
    "true",
    "var",
    "void",
    "when",
    "while",
    "yield",
];

/// LSP `CompletionItemKind` values.
mod kind {
    pub const FUNCTION: u8 = 3;
    pub const VARIABLE: u8 = 6;
    pub const CLASS: u8 = 7;
    pub const ENUM: u8 = 13;
    pub const KEYWORD: u8 = 14;
    pub const CONSTANT: u8 = 21;
    pub const EVENT: u8 = 23;
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Item {
    pub label: String,
    pub kind: u8,
    pub detail: String,
}

pub(crate) struct Index {
    root: PathBuf,
    cached: Mutex<Option<(Instant, Arc<str>)>>,
}

impl Index {
    pub(crate) fn new(root: PathBuf) -> Self {
        Self { root, cached: Mutex::new(None) }
    }

    /// The completion items as a JSON array, rescanned when older than [`REFRESH`].
    pub(crate) async fn items_json(&self) -> Arc<str> {
        let mut cached = self.cached.lock().await;
        if let Some((at, json)) = cached.as_ref()
            && at.elapsed() < REFRESH
        {
            return json.clone();
        }
        let root = self.root.clone();
        let items = tokio::task::spawn_blocking(move || items(&root)).await.unwrap_or_else(|e| {
            tracing::warn!("project scan failed: {e}");
            keyword_items()
        });
        // Items are plain strings and numbers: serializing them cannot fail.
        let json: Arc<str> = serde_json::to_string(&items).unwrap_or_else(|_| "[]".into()).into();
        *cached = Some((Instant::now(), json.clone()));
        json
    }
}

fn keyword_items() -> Vec<Item> {
    KEYWORDS.iter().map(|k| Item { label: (*k).into(), kind: kind::KEYWORD, detail: "keyword".into() }).collect()
}

/// Keywords, then the project's identifiers sorted by name (a declaration found twice is listed once).
pub(crate) fn items(root: &Path) -> Vec<Item> {
    let mut found = BTreeMap::new();
    let mut files = Vec::new();
    collect_scripts(root, 0, &mut files);
    for file in files {
        let Ok(text) = std::fs::read_to_string(&file) else { continue };
        for line in text.lines() {
            if let Some(item) = declaration(line) {
                found.entry(item.label.clone()).or_insert(item);
            }
        }
    }
    let mut all = keyword_items();
    all.extend(found.into_values());
    all
}

fn collect_scripts(dir: &Path, depth: usize, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for entry in entries.flatten() {
        if out.len() >= MAX_FILES {
            return;
        }
        let path = entry.path();
        let hidden = entry.file_name().to_string_lossy().starts_with('.');
        match entry.file_type() {
            Ok(t) if t.is_dir() && !hidden && depth < MAX_DEPTH => collect_scripts(&path, depth + 1, out),
            Ok(t) if t.is_file() && path.extension().is_some_and(|e| e == "gd") => out.push(path),
            _ => {}
        }
    }
}

/// A top-level or member declaration on one line: `func`, `var`, `const`, `signal`, `enum`, `class`, `class_name`,
/// after any annotations (`@export`, `@onready`) and `static`.
fn declaration(line: &str) -> Option<Item> {
    let mut words = line.split_whitespace().skip_while(|w| w.starts_with('@') || *w == "static");
    let keyword = words.next()?;
    let kind = match keyword {
        "func" => kind::FUNCTION,
        "var" => kind::VARIABLE,
        "const" => kind::CONSTANT,
        "signal" => kind::EVENT,
        "enum" => kind::ENUM,
        "class" | "class_name" => kind::CLASS,
        _ => return None,
    };
    let rest = words.next()?;
    let name: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect();
    if name.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let detail = line.trim().trim_end_matches(':').trim_end().to_string();
    Some(Item { label: name, kind, detail })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_declarations_after_annotations_and_static() {
        let cases = [
            ("func take_damage(amount: int) -> void:", "take_damage", kind::FUNCTION),
            ("static func create() -> Player:", "create", kind::FUNCTION),
            ("@export var max_speed := 5.0", "max_speed", kind::VARIABLE),
            ("@onready var cam = $Camera3D", "cam", kind::VARIABLE),
            ("signal died", "died", kind::EVENT),
            ("signal hit(by)", "hit", kind::EVENT),
            ("class_name Player", "Player", kind::CLASS),
            ("const GRAVITY = 9.8", "GRAVITY", kind::CONSTANT),
        ];
        for (line, label, k) in cases {
            let item = declaration(line).unwrap_or_else(|| panic!("{line}"));
            assert_eq!((item.label.as_str(), item.kind), (label, k), "{line}");
        }
        assert_eq!(
            declaration("func take_damage(amount: int) -> void:").unwrap().detail,
            "func take_damage(amount: int) -> void"
        );
        for not_decl in ["", "  # var commented", "extends Node3D", "health -= 1", "var 9lives"] {
            assert_eq!(declaration(not_decl), None, "{not_decl}");
        }
    }
}
