//! Live progress while a run goes: a one-line indicatif bar on a terminal, a plain line every few seconds
//! otherwise (CI logs), nothing with `--quiet`. It only reads the recorder, so it cannot disturb the measurement.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;

use crate::api::ServiceState;
use crate::record::{Hist, Recorder, SecondRecord};

/// How often a non-terminal gets a line.
const PLAIN_EVERY: u32 = 5;

pub(crate) struct Progress {
    bar: Option<ProgressBar>,
    quiet: bool,
}

impl Progress {
    pub(crate) fn new(quiet: bool, total: Duration) -> Self {
        let bar = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::new(total.as_secs().max(1));
            bar.set_style(
                ProgressStyle::with_template("{spinner} [{elapsed_precise}] {bar:24} {pos}/{len}s {msg}")
                    .expect("static template is valid"),
            );
            bar
        });
        Self { bar, quiet }
    }

    /// Print an event line (phase changes) above the bar, or as a plain line.
    pub fn line(&self, msg: &str) {
        match &self.bar {
            Some(bar) => bar.println(msg),
            None if !self.quiet => eprintln!("{msg}"),
            None => {}
        }
    }

    /// Refresh once a second until cancelled.
    pub async fn follow(&self, rec: Recorder, phase_names: Vec<String>, cancel: CancellationToken) {
        if self.quiet {
            return;
        }
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        let mut n = 0u32;
        loop {
            tokio::select! {
                _ = cancel.cancelled() => break,
                _ = tick.tick() => {}
            }
            n += 1;
            let elapsed = rec.elapsed(std::time::Instant::now());
            let phase = phase_names.get(rec.phase()).map_or("", String::as_str);
            let msg = rec.last_second().map_or_else(|| phase.to_owned(), |s| status_line(phase, &s));
            match &self.bar {
                Some(bar) => {
                    bar.set_position(elapsed as u64);
                    bar.set_message(msg);
                }
                None if n % PLAIN_EVERY == 0 => eprintln!("[{elapsed:>6.1}s] {msg}"),
                None => {}
            }
        }
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

fn state(s: Option<ServiceState>) -> &'static str {
    match s {
        Some(ServiceState::Connected) => "up",
        Some(ServiceState::Connecting | ServiceState::Initializing | ServiceState::Reconnecting) => "conn",
        Some(ServiceState::Error) => "ERR",
        Some(ServiceState::Disconnected) => "down",
        None => "?",
    }
}

fn status_line(phase: &str, s: &SecondRecord) -> String {
    let (count, errors) = s.endpoints.iter().fold((0, 0), |(c, e), x| (c + x.count, e + x.errors));
    let mut latency = Hist::coarse();
    for e in &s.endpoints {
        latency.add(&e.latency.expand());
    }
    let err = if count == 0 { 0.0 } else { errors as f64 * 100.0 / count as f64 };
    let p95 = latency.quantile(0.95).map_or_else(|| "-".into(), |v| format!("{:.1}ms", v as f64 / 1000.0));
    let fps = s.fps_mean.map_or_else(|| "-".into(), |f| format!("{f:.0}"));
    let (dap, lsp) = s.status.as_ref().map_or((None, None), |st| (st.dap, st.lsp));
    format!("{phase} | {count} req/s | p95 {p95} | err {err:.1}% | fps {fps} | dap {} lsp {}", state(dap), state(lsp))
}
