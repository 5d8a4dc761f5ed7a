//! The simulator's own log file in the data directory (like `/var/log/spacetime/*.log` for the real service).
//!
//! Appends go straight to the file with no buffering, so a full disk fails the very write that needs the space,
//! which is how a scene load on a full disk fails for real.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

pub struct DataLog {
    path: PathBuf,
    file: Mutex<File>,
}

impl DataLog {
    pub fn open(data_dir: &Path) -> anyhow::Result<DataLog> {
        let dir = data_dir.join("logs");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join("spacetime.log");
        let file = OpenOptions::new().create(true).append(true).open(&path)?;
        Ok(DataLog { path, file: Mutex::new(file) })
    }

    /// Append one timestamped line.
    pub fn line(&self, msg: &str) -> std::io::Result<()> {
        let now = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S%.3fZ");
        let line = format!("{now} {msg}\n");
        self.file.lock().write_all(line.as_bytes())
    }

    /// Log to the file and to stderr (tracing), for start-up facts an operator looks for in both places.
    pub fn announce(&self, msg: &str) {
        tracing::warn!("{msg}");
        if let Err(e) = self.line(msg) {
            tracing::warn!("cannot write {}: {e}", self.path.display());
        }
    }
}
