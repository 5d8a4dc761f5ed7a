//! Key paths and source positions: the bridge between "which key is wrong" and "line 12, column 1".
//!
//! The typed model stays free of `toml::Spanned` wrappers (the rest of the harness reads plain values); instead the
//! file is also parsed into toml's spanned document tree, and a check names the key it objects to as a [`KeyPath`].
//! The same tree turns a serde error's byte range back into the table and key it happened in, so that "unknown
//! field" can say *in which table* and suggest the field that was meant.

use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use super::error::did_you_mean;

/// A path from the document root to a key, e.g. `phase[2].load.rate`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPath(Vec<Seg>);

#[derive(Debug, Clone, PartialEq, Eq)]
enum Seg {
    Key(String),
    Index(usize),
}

impl KeyPath {
    pub fn key(&self, key: &str) -> KeyPath {
        self.with(Seg::Key(key.to_owned()))
    }

    pub fn index(&self, index: usize) -> KeyPath {
        self.with(Seg::Index(index))
    }

    fn with(&self, seg: Seg) -> KeyPath {
        let mut segs = self.0.clone();
        segs.push(seg);
        KeyPath(segs)
    }

    /// The table this path points into, as its header is written: `[[phase]]`, `[load.mix]`, `the top level`.
    fn table_name(&self) -> String {
        let keys: Vec<&str> =
            self.0.iter().filter_map(|s| if let Seg::Key(k) = s { Some(k.as_str()) } else { None }).collect();
        match self.0.last() {
            None => "the top level".to_owned(),
            Some(Seg::Index(_)) => format!("[[{}]]", keys.join(".")),
            Some(Seg::Key(_)) => format!("[{}]", keys.join(".")),
        }
    }

    /// The last key and the table holding it; an array index is folded into its key (`scenes[2]` → `scenes`).
    fn split_key(&self) -> (String, KeyPath) {
        let mut segs = self.0.clone();
        while let Some(Seg::Index(_)) = segs.last() {
            segs.pop();
        }
        match segs.pop() {
            Some(Seg::Key(k)) => (k, KeyPath(segs)),
            _ => (String::new(), KeyPath::default()),
        }
    }
}

/// A scenario's text with its spanned document tree.
pub struct Doc<'a> {
    pub text: &'a str,
    root: DeTable<'a>,
}

impl<'a> Doc<'a> {
    pub fn parse(text: &'a str) -> Result<Doc<'a>, toml::de::Error> {
        Ok(Doc { text, root: DeTable::parse(text)?.into_inner() })
    }

    /// Byte range to point at for `path`: the key itself when it is written, else the nearest written ancestor
    /// (a check on a defaulted value points at the table that left it out), else the start of the file.
    pub fn span_of(&self, path: &KeyPath) -> Range<usize> {
        self.resolve(path).0
    }

    /// How a message names `path`: a table by its header (`[fault.disk_fill]`), a value as `rate in [load]`.
    pub fn describe(&self, path: &KeyPath) -> String {
        match self.resolve(path).1 {
            _ if path.0.is_empty() => path.table_name(),
            Some(DeValue::Table(_)) => path.table_name(),
            _ => {
                let (key, table) = path.split_key();
                format!("{key} in {}", table.table_name())
            }
        }
    }

    /// The span to point at for `path` (see [`Doc::span_of`]) and the value there, if all of `path` is written.
    fn resolve(&self, path: &KeyPath) -> (Range<usize>, Option<&DeValue<'a>>) {
        let mut span = 0..0;
        let mut here: Option<&DeValue> = None;
        for seg in &path.0 {
            let next = match (seg, here) {
                (Seg::Key(k), None) => entry(&self.root, k),
                (Seg::Key(k), Some(DeValue::Table(t))) => entry(t, k),
                (Seg::Index(i), Some(DeValue::Array(a))) => a.get(*i).map(|v| (v.span(), v.get_ref())),
                _ => None,
            };
            let Some((s, v)) = next else { return (span, None) };
            span = s;
            here = Some(v);
        }
        (span, here)
    }

    /// The key path of the key whose span is exactly `span`, else of the smallest value containing it (the deepest
    /// on a tie: an array of tables can share its span with its first table).
    fn path_at(&self, span: &Range<usize>) -> Option<KeyPath> {
        let mut best: Option<(usize, KeyPath)> = None;
        walk_table(&self.root, &KeyPath::default(), &mut |path, key, value| {
            let size = if key == *span {
                0
            } else if value.start <= span.start && span.end <= value.end {
                1 + value.len()
            } else {
                return;
            };
            if best.as_ref().is_none_or(|(b, _)| size <= *b) {
                best = Some((size, path.clone()));
            }
        });
        best.map(|(_, p)| p)
    }

    /// Rewrite a toml/serde error into a message that names the table and key and says how to fix it.
    pub fn explain(&self, err: &toml::de::Error) -> (Range<usize>, String) {
        let span = err.span().unwrap_or(0..0);
        let raw = err.message().trim_end();
        let path = self.path_at(&span).unwrap_or_default();
        let (key, table) = path.split_key();
        let ticked = ticked(raw);
        let expected = || ticked[1..].join(", ");
        let message = if raw.starts_with("unknown field") {
            if ticked.len() == 1 {
                format!("unknown field \"{key}\" in {}, which takes no settings; remove it", table.table_name())
            } else {
                let dym = did_you_mean(&key, ticked[1..].iter().copied());
                format!("unknown field \"{key}\" in {}, expected one of: {}{dym}", table.table_name(), expected())
            }
        } else if raw.starts_with("missing field") {
            missing_field(ticked.first().copied().unwrap_or_default(), &path)
        } else if raw.starts_with("invalid type: map, expected a sequence") && !key.is_empty() {
            format!(
                "[{key}] is one table, but {key} takes a list of them: write [[{key}]] (two brackets), once per {key}"
            )
        } else if raw.starts_with("unknown variant") {
            let dym = did_you_mean(ticked[0], ticked[1..].iter().copied());
            let value = ticked[0];
            format!(
                "unknown value \"{value}\" for {key} in {}, expected one of: {}{dym}",
                table.table_name(),
                expected()
            )
        } else if key.is_empty() {
            raw.to_owned()
        } else {
            format!("{key} in {}: {}{}", table.table_name(), plain_types(raw), self.duration_hint(raw, &span))
        };
        (span, message)
    }

    /// For a bad duration, humantime's own reason (which unit it did not know) and an example of a good one.
    fn duration_hint(&self, raw: &str, span: &Range<usize>) -> String {
        if !raw.contains("expected a duration") {
            return String::new();
        }
        let written = self.text.get(span.clone()).unwrap_or_default().trim_matches(|c| c == '"' || c == '\'');
        let reason = humantime::parse_duration(written).err().map(|e| format!(" ({e})")).unwrap_or_default();
        format!("{reason}; write a duration as a string such as \"30s\", \"1m 30s\" or \"500ms\"")
    }
}

/// A TOML syntax error as a message; a duplicate key or table also names the key and where it was first defined
/// (toml says only "duplicate key").
pub fn explain_syntax(text: &str, err: &toml::de::Error) -> String {
    let raw = err.message().trim_end();
    let Some(span) = err.span().filter(|_| raw.starts_with("duplicate key")) else { return raw.to_owned() };
    let written = text.get(span.start..).unwrap_or_default().trim_start_matches(['"', '\'']);
    let key: String = written.chars().take_while(|c| c.is_alphanumeric() || "_-".contains(*c)).collect();
    // Everything before the duplicate's line parses (the duplicate is the first error), and its last definition of
    // the same key is the one the duplicate repeats.
    let before = &text[..text[..span.start.min(text.len())].rfind('\n').map_or(0, |i| i + 1)];
    let mut first = None;
    if let Ok(doc) = Doc::parse(before) {
        walk_table(&doc.root, &KeyPath::default(), &mut |path, at, _| {
            if path.split_key().0 == key && at.start != usize::MAX {
                first = first.max(Some(at.start));
            }
        });
    }
    match first {
        Some(at) => {
            let line = super::error::LineCol::of(text, at).line;
            format!("duplicate key \"{key}\": first defined on line {line}; keep one of the two (merge their settings)")
        }
        None => format!("duplicate key \"{key}\"; keep one of the two (merge their settings)"),
    }
}

fn missing_field(field: &str, table: &KeyPath) -> String {
    if field == "phase" && table.0.is_empty() {
        return "no [[phase]] table: add at least one, e.g. [[phase]] with name = \"baseline\" and duration = \"30s\""
            .to_owned();
    }
    format!("missing field \"{field}\" in {}; add {field} = ...", table.table_name())
}

fn entry<'t, 'a>(table: &'t DeTable<'a>, key: &str) -> Option<(Range<usize>, &'t DeValue<'a>)> {
    table.iter().find(|(k, _)| k.get_ref() == key).map(|(k, v)| (k.span(), v.get_ref()))
}

/// Called with `(path, key span, value span)` for every key and array element (an element has no key span).
type Visit<'f> = dyn FnMut(&KeyPath, Range<usize>, Range<usize>) + 'f;

/// Calls `f` for every key and array element below `table`.
fn walk_table(table: &DeTable, at: &KeyPath, f: &mut Visit) {
    for (k, v) in table {
        let path = at.key(k.get_ref());
        f(&path, k.span(), v.span());
        walk_value(v, &path, f);
    }
}

fn walk_value(value: &Spanned<DeValue>, at: &KeyPath, f: &mut Visit) {
    match value.get_ref() {
        DeValue::Table(t) => walk_table(t, at, f),
        DeValue::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                let path = at.index(i);
                f(&path, usize::MAX..usize::MAX, v.span());
                walk_value(v, &path, f);
            }
        }
        _ => {}
    }
}

/// serde names Rust types ("expected u16"); a scenario's author thinks in TOML values.
fn plain_types(message: &str) -> String {
    let words = [
        ("expected f64", "expected a number"),
        ("expected u16", "expected a whole number 0-65535"),
        ("expected u32", "expected a whole number ≥ 0"),
        ("expected u64", "expected a whole number ≥ 0"),
        ("expected usize", "expected a whole number ≥ 0"),
        ("expected a sequence", "expected an array [...]"),
    ];
    words.iter().fold(message.to_owned(), |m, (rust, toml)| m.replace(rust, toml))
}

/// The `backquoted` words of a serde message: the offending name first, then the expected ones.
fn ticked(message: &str) -> Vec<&str> {
    message.split('`').skip(1).step_by(2).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "name = \"x\"\n[load]\nrate = 5.0\n[load.mix]\nstatus = 1\n\n[[phase]]\nname = \"a\"\n\n[[phase]]\nname = \"b\"\nduration = \"1s\"\n";

    fn at(doc: &Doc, path: &KeyPath) -> (usize, usize) {
        let lc = super::super::error::LineCol::of(doc.text, doc.span_of(path).start);
        (lc.line, lc.column)
    }

    #[test]
    fn span_of_finds_written_keys_and_falls_back_to_ancestors() {
        let doc = Doc::parse(TEXT).unwrap();
        let root = KeyPath::default();
        assert_eq!(at(&doc, &root.key("load").key("rate")), (3, 1));
        assert_eq!(at(&doc, &root.key("load").key("mix").key("status")), (5, 1));
        assert_eq!(at(&doc, &root.key("phase").index(1).key("duration")), (12, 1));
        // phase[0] has no duration: point at that phase's table.
        assert_eq!(at(&doc, &root.key("phase").index(0).key("duration")).0, 7);
        assert_eq!(at(&doc, &root.key("expect").key("incident")), (1, 1));
    }

    #[test]
    fn describe_names_tables_by_header_and_values_by_key() {
        let doc = Doc::parse(TEXT).unwrap();
        let root = KeyPath::default();
        assert_eq!(doc.describe(&root.key("load").key("rate")), "rate in [load]");
        assert_eq!(doc.describe(&root.key("load").key("mix")), "[load.mix]");
        assert_eq!(doc.describe(&root.key("phase").index(1)), "[[phase]]");
        assert_eq!(doc.describe(&root.key("phase").index(0).key("duration")), "duration in [[phase]]");
        assert_eq!(doc.describe(&root.key("load").key("scenes").index(2)), "scenes in [load]");
    }

    #[test]
    fn table_names_read_like_headers() {
        let root = KeyPath::default();
        assert_eq!(root.table_name(), "the top level");
        assert_eq!(root.key("phase").index(3).table_name(), "[[phase]]");
        assert_eq!(root.key("load").key("mix").table_name(), "[load.mix]");
        assert_eq!(root.key("fault").index(0).key("disk_fill").table_name(), "[fault.disk_fill]");
    }
}
