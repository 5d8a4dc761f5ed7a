//! `/scene/load` for real: path rules, the allow-list, reading and parsing the `.tscn`, checking every dependency it
//! names, and writing the import cache and a log line into the data directory.
//!
//! The import cache is written to a temporary file and renamed over the previous one (as Godot's importer does),
//! so every load needs fresh blocks: on a full disk the write fails with `No space left on device` even when the
//! scene was cached before.

use std::io::ErrorKind;
use std::path::Path;
use std::time::Instant;

use super::datalog::DataLog;

pub const DEFAULT_SCENE: &str = "res://vr_main.tscn";
const MAX_PATH_CHARS: usize = 512;
const ALLOWED_FILES: [&str; 2] = ["res://vr_main.tscn", "res://node_3d.tscn"];
const ALLOWED_DIRS: [&str; 2] = ["res://scenes/", "res://tests/"];

/// Why a load was refused, one variant per status code of the contract.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SceneError {
    #[error("{0}")]
    BadPath(String),
    #[error("Scene path not authorized. Access denied.")]
    Forbidden,
    #[error("Scene file not found: {0}")]
    NotFound(String),
    #[error("Scene load failed: {0}")]
    Failed(String),
}

impl SceneError {
    pub fn status(&self) -> u16 {
        match self {
            Self::BadPath(_) => 400,
            Self::Forbidden => 403,
            Self::NotFound(_) => 404,
            Self::Failed(_) => 500,
        }
    }
}

/// The 400 and 403 rules, checked before touching the disk.
pub fn validate(path: &str) -> Result<(), SceneError> {
    if !path.starts_with("res://") || !path.ends_with(".tscn") {
        return Err(SceneError::BadPath("Invalid scene path. Must start with 'res://' and end with '.tscn'".into()));
    }
    if path.contains("..") {
        return Err(SceneError::BadPath("Invalid scene path: '..' is not allowed".into()));
    }
    if path.contains('\0') {
        return Err(SceneError::BadPath("Invalid scene path: NUL bytes are not allowed".into()));
    }
    if path.chars().count() > MAX_PATH_CHARS {
        return Err(SceneError::BadPath(format!("Invalid scene path: longer than {MAX_PATH_CHARS} characters")));
    }
    if ALLOWED_FILES.contains(&path) || ALLOWED_DIRS.iter().any(|d| path.starts_with(d)) {
        Ok(())
    } else {
        Err(SceneError::Forbidden)
    }
}

/// Parse a text scene: the `[gd_scene ... format=N]` header, then every `[ext_resource ... path="res://..."]`.
/// Returns the dependencies, or why the file is not a scene.
pub fn parse(text: &str) -> Result<Vec<String>, String> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let header = lines.next().ok_or("empty file")?;
    if !header.starts_with("[gd_scene") || !header.ends_with(']') {
        return Err("missing [gd_scene] header".into());
    }
    let format = attribute(header, "format").ok_or("[gd_scene] header has no format")?;
    if !matches!(format, "2" | "3") {
        return Err(format!("unsupported scene format {format}"));
    }
    let mut deps = Vec::new();
    for line in lines {
        if line.starts_with('[') && !line.ends_with(']') {
            return Err(format!("unterminated section: {line}"));
        }
        if line.starts_with("[ext_resource") {
            let dep = attribute(line, "path").ok_or_else(|| format!("ext_resource without path: {line}"))?;
            deps.push(dep.to_string());
        }
    }
    Ok(deps)
}

/// The value of `name=value` or `name="value"` inside a section line.
fn attribute<'a>(line: &'a str, name: &str) -> Option<&'a str> {
    let start = line.find(&format!(" {name}="))? + name.len() + 2;
    let rest = &line[start..];
    match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next(),
        None => rest.split([' ', ']']).next(),
    }
}

fn resolve(project: &Path, res_path: &str) -> std::path::PathBuf {
    project.join(res_path.trim_start_matches("res://"))
}

/// Load a validated scene; returns the load time in milliseconds.
pub fn load(project: &Path, data_dir: &Path, log: &DataLog, scene: &str) -> Result<f64, SceneError> {
    let started = Instant::now();
    let bytes = match std::fs::read(resolve(project, scene)) {
        Ok(b) => b,
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(SceneError::NotFound(scene.into())),
        Err(e) => return Err(SceneError::Failed(format!("cannot read {scene}: {e}"))),
    };
    let text = std::str::from_utf8(&bytes).map_err(|_| SceneError::Failed(format!("{scene} is not a text scene")))?;
    let deps = parse(text).map_err(|why| SceneError::Failed(format!("{scene} is corrupt: {why}")))?;
    if let Some(missing) = deps.iter().find(|d| !d.starts_with("res://") || !resolve(project, d).exists()) {
        return Err(SceneError::Failed(format!("missing dependency {missing}")));
    }
    write_cache(data_dir, scene, &bytes).map_err(|e| SceneError::Failed(format!("cannot write import cache: {e}")))?;
    let ms = started.elapsed().as_secs_f64() * 1000.0;
    log.line(&format!("Scene loaded: {scene} ({} dependencies, {ms:.2} ms)", deps.len()))
        .map_err(|e| SceneError::Failed(format!("cannot write log: {e}")))?;
    Ok(ms)
}

fn write_cache(data_dir: &Path, scene: &str, bytes: &[u8]) -> std::io::Result<()> {
    let dir = data_dir.join("import_cache");
    std::fs::create_dir_all(&dir)?;
    let name = scene.trim_start_matches("res://").replace('/', "_");
    super::serve::write_atomic(&dir.join(format!("{name}.scn")), bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_rules() {
        assert_eq!(validate("res://vr_main.tscn"), Ok(()));
        assert_eq!(validate("res://scenes/a/b.tscn"), Ok(()));
        assert_eq!(validate("res://addons/x.tscn"), Err(SceneError::Forbidden));
        for bad in ["vr_main.tscn", "res://vr_main.gd", "res://scenes/../x.tscn", "res://scenes/\0.tscn"] {
            assert_eq!(validate(bad).map_err(|e| e.status()), Err(400), "{bad:?}");
        }
        assert_eq!(validate(&format!("res://scenes/{}.tscn", "a".repeat(600))).map_err(|e| e.status()), Err(400));
    }

    #[test]
    fn parses_header_and_dependencies() {
        let text = "[gd_scene load_steps=2 format=3]\n[ext_resource type=\"Script\" path=\"res://a.gd\" id=\"1\"]\n";
        assert_eq!(parse(text), Ok(vec!["res://a.gd".to_string()]));
        assert!(parse("\u{1}garbage").is_err());
        assert!(parse("[gd_scene format=9]").is_err());
        assert!(parse("[gd_scene format=3]\n[ext_resource path=\"res://a.gd\"").is_err());
    }
}
