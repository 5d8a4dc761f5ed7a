//! The injector the orchestrator drives: preflight every fault before any load, inject a named fault at its phase's
//! start (journal first), roll it back at the phase end or at its TTL, whichever comes first, and roll back everything
//! on error, drop, panic or signal. Every injection, rollback and failure becomes a [`FaultEvent`].
//!
//! The TTL runs on its own OS thread, not on the run's async timeline, so a stalled timeline cannot hold a fault past
//! its window. All state sits behind one mutex, so `rollback_all` may be called from any thread (the run's blocking
//! pool, a [`RollbackGuard`] dropped while unwinding) and a second call finds nothing left to do. Ctrl-C and SIGTERM
//! do not call it themselves: they cancel the run, whose timeline then rolls back.

use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::undo::Scope;
use super::{Fault, FaultContext, FaultError, FaultErrorKind, Intent, Journal, Undo};

/// One entry of the run's fault timeline.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultEvent {
    pub(crate) t: Instant,
    /// The fault's name (`[[fault]] name`).
    pub fault: String,
    /// Which step of the fault's life this is.
    pub kind: FaultEventKind,
    /// What was done, or would be done (dry run): command output, PIDs, paths.
    pub detail: String,
}

/// The steps a fault goes through; the run turns each into a record event, and a `Failed` one into a harness error.
#[derive(Debug, Clone, PartialEq)]
pub enum FaultEventKind {
    /// `--dry-run`: the fault would have been injected now; nothing was changed.
    DryRun,
    /// The change is made (its undo already journaled).
    Injected,
    /// The change is undone, at the phase end, at its TTL or in the final rollback; its journal entry is cleared.
    RolledBack,
    /// An injection or a rollback failed; a failed rollback leaves the journal dirty.
    Failed {
        /// The fault's error message, with the fix it suggests.
        error: String,
    },
}

/// A fault the scenario declares, with its name and the longest it may be held.
pub struct Planned {
    /// `[[fault]] name`: how phases refer to it and how events and the journal name it.
    pub name: String,
    /// The kind with its settings, local or through a host's agent.
    pub fault: Box<dyn Fault>,
    /// `[[fault]] ttl`: rolled back this long after injection even if its phase has not ended.
    pub ttl: Duration,
}

/// Shared handle; clones drive the same faults.
#[derive(Clone)]
pub struct Injector {
    inner: Arc<Mutex<Inner>>,
}

struct Inner {
    journal: Journal,
    ctx: FaultContext,
    planned: Vec<Planned>,
    /// In injection order; rolled back newest first.
    held: Vec<Held>,
    events: Vec<FaultEvent>,
    dry_run: bool,
    next_generation: u64,
}

struct Held {
    name: String,
    /// Tells a TTL timer of an earlier injection of the same fault from this one.
    generation: u64,
    undo: Vec<(u64, Undo)>,
    /// Dropping it cancels the TTL timer.
    _ttl: mpsc::Sender<()>,
}

/// Every preflight failure at once, so a user fixes a scenario in one go.
#[derive(Debug, thiserror::Error)]
#[error("preflight failed, nothing was changed:\n  {}", .0.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n  "))]
pub struct PreflightError(pub Vec<FaultError>);

/// Rolls back everything still held when dropped: on a normal end, an early return, or a panic's unwinding.
pub struct RollbackGuard(Injector);

impl Drop for RollbackGuard {
    fn drop(&mut self) {
        for e in self.0.rollback_all() {
            tracing::error!("{e}");
        }
    }
}

struct JournalIntent<'a> {
    journal: &'a mut Journal,
    fault: &'a str,
    scope: Scope,
    undo: &'a mut Vec<(u64, Undo)>,
}

impl Intent for JournalIntent<'_> {
    fn record(&mut self, undo: Undo) -> Result<(), FaultErrorKind> {
        let id = self.journal.intend(self.fault, &undo, &self.scope)?;
        self.undo.push((id, undo));
        Ok(())
    }
}

impl Injector {
    /// `journal` comes from [`super::ensure_clean`]; with `dry_run` nothing is ever injected.
    pub fn new(journal: Journal, ctx: FaultContext, planned: Vec<Planned>, dry_run: bool) -> Injector {
        let inner = Inner { journal, ctx, planned, held: Vec::new(), events: Vec::new(), dry_run, next_generation: 0 };
        Injector { inner: Arc::new(Mutex::new(inner)) }
    }

    /// Check every fault; call before the first request. Changes nothing, also in dry-run mode.
    pub fn preflight_all(&self) -> Result<(), PreflightError> {
        let inner = self.inner.lock();
        let errors: Vec<FaultError> = inner
            .planned
            .iter()
            .filter_map(|p| p.fault.preflight(&inner.ctx).err().map(|kind| named(&p.name, kind, false)))
            .collect();
        if errors.is_empty() { Ok(()) } else { Err(PreflightError(errors)) }
    }

    /// A guard that rolls everything back when dropped; keep it alive for the whole run.
    pub fn guard(&self) -> RollbackGuard {
        RollbackGuard(self.clone())
    }

    /// Inject the fault named `name` (a no-op if it is already held). A failed injection is rolled back at once.
    pub fn inject(&self, name: &str) -> Result<(), FaultError> {
        let mut guard = self.inner.lock();
        let inner = &mut *guard;
        let planned = inner.planned.iter().find(|p| p.name == name).ok_or_else(|| {
            let what = format!("no fault named `{name}` is declared");
            named(name, FaultErrorKind::NotFound { what, fix: "add a [[fault]] with this name".into() }, false)
        })?;
        if inner.held.iter().any(|h| h.name == name) {
            return Ok(());
        }
        if inner.dry_run {
            inner.events.push(event(name, FaultEventKind::DryRun, planned.fault.describe()));
            return Ok(());
        }
        let mut undo = Vec::new();
        let scope = Scope::of(&inner.ctx);
        let mut intent = JournalIntent { journal: &mut inner.journal, fault: name, scope, undo: &mut undo };
        let result = planned.fault.inject(&inner.ctx, &mut intent);
        let ttl = planned.ttl;
        match result {
            Ok(detail) => {
                for (id, _) in &undo {
                    // The change is made; failing to note that only costs a redundant (idempotent) replay.
                    let _ = inner.journal.done(*id);
                }
                inner.events.push(event(name, FaultEventKind::Injected, detail));
                let generation = inner.next_generation;
                inner.next_generation += 1;
                let ttl = self.start_ttl(name, generation, ttl);
                inner.held.push(Held { name: name.into(), generation, undo, _ttl: ttl });
                Ok(())
            }
            Err(kind) => {
                inner.events.push(event(name, FaultEventKind::Failed { error: kind.to_string() }, "injection".into()));
                let pending = !inner.undo(name, undo, "after the failed injection").is_empty();
                Err(named(name, kind, pending))
            }
        }
    }

    fn start_ttl(&self, name: &str, generation: u64, ttl: Duration) -> mpsc::Sender<()> {
        let (tx, rx) = mpsc::channel::<()>();
        let weak: Weak<Mutex<Inner>> = Arc::downgrade(&self.inner);
        let name = name.to_owned();
        std::thread::spawn(move || {
            if rx.recv_timeout(ttl) == Err(RecvTimeoutError::Timeout)
                && let Some(inner) = weak.upgrade()
            {
                let mut inner = inner.lock();
                if let Some(i) = inner.held.iter().position(|h| h.name == name && h.generation == generation) {
                    let held = inner.held.remove(i);
                    let why = format!("TTL of {} reached", humantime::format_duration(ttl));
                    for e in inner.undo(&name, held.undo, &why) {
                        tracing::error!("{e}");
                    }
                }
            }
        });
        tx
    }

    /// Roll back the fault named `name` (a no-op if it is not held).
    pub fn rollback(&self, name: &str) -> Result<(), FaultError> {
        let mut inner = self.inner.lock();
        let Some(i) = inner.held.iter().position(|h| h.name == name) else { return Ok(()) };
        let held = inner.held.remove(i);
        inner.undo(name, held.undo, "window ended").into_iter().next().map_or(Ok(()), Err)
    }

    /// Roll back everything held, newest first; returns the failures (their undo stays in the journal).
    pub fn rollback_all(&self) -> Vec<FaultError> {
        let mut inner = self.inner.lock();
        let mut errors = Vec::new();
        while let Some(held) = inner.held.pop() {
            errors.extend(inner.undo(&held.name, held.undo, "rolling back everything"));
        }
        errors
    }

    /// Names of the faults held now.
    pub fn held(&self) -> Vec<String> {
        self.inner.lock().held.iter().map(|h| h.name.clone()).collect()
    }

    /// Whether the journal still holds an undo (a failed rollback): the run must then say to run `recover`.
    pub fn journal_dirty(&self) -> bool {
        self.inner.lock().journal.dirty()
    }

    /// The events since the last call, in order.
    pub fn take_events(&self) -> Vec<FaultEvent> {
        std::mem::take(&mut self.inner.lock().events)
    }
}

impl Inner {
    /// Undo one fault's records newest first; each is cleared from the journal only once it succeeded. `why` says
    /// what triggered it, for the event log.
    fn undo(&mut self, name: &str, undo: Vec<(u64, Undo)>, why: &str) -> Vec<FaultError> {
        let mut errors = Vec::new();
        for (id, record) in undo.into_iter().rev() {
            match record.rollback(Some(&self.ctx)) {
                Ok(detail) => {
                    let cleared = self.journal.rolled_back(id).map_err(|e| named(name, e.into(), true));
                    self.events.push(event(name, FaultEventKind::RolledBack, format!("{why}: {detail}")));
                    errors.extend(cleared.err());
                }
                Err(kind) => {
                    let failed = FaultEventKind::Failed { error: kind.to_string() };
                    self.events.push(event(name, failed, format!("rollback ({why})")));
                    errors.push(named(name, kind, true));
                }
            }
        }
        errors
    }
}

fn named(fault: &str, kind: FaultErrorKind, rollback_pending: bool) -> FaultError {
    FaultError { fault: fault.into(), kind, rollback_pending }
}

fn event(fault: &str, kind: FaultEventKind, detail: String) -> FaultEvent {
    FaultEvent { t: Instant::now(), fault: fault.into(), kind, detail }
}

#[cfg(test)]
mod tests {
    use super::super::exec::ExecSpec;
    use super::super::noop::NoopSpec;
    use super::super::{Allow, testutil};
    use super::*;

    fn marker_fault(m: &std::path::Path, inject_tail: &str) -> Box<dyn Fault> {
        let (inject, rollback) = (format!("touch {}{inject_tail}", m.display()), format!("rm -f {}", m.display()));
        Box::new(ExecSpec { inject, rollback })
    }

    fn injector(dir: &std::path::Path, faults: Vec<(&str, Box<dyn Fault>, u64)>, dry_run: bool) -> Injector {
        let journal = super::super::ensure_clean(&dir.join("journal.jsonl")).unwrap();
        let planned =
            faults.into_iter().map(|(n, f, ttl)| Planned { name: n.into(), fault: f, ttl: Duration::from_secs(ttl) });
        Injector::new(journal, testutil::ctx(Allow::default()), planned.collect(), dry_run)
    }

    #[test]
    fn inject_rollback_events_and_a_clean_journal() {
        let dir = tempfile::tempdir().unwrap();
        let m = dir.path().join("m");
        let inj = injector(dir.path(), vec![("a", Box::new(NoopSpec {}), 60), ("b", marker_fault(&m, ""), 60)], false);
        inj.preflight_all().unwrap();
        inj.inject("a").unwrap();
        inj.inject("b").unwrap();
        assert!(m.exists() && inj.journal_dirty());
        assert_eq!(inj.held(), ["a", "b"]);
        inj.rollback("b").unwrap();
        assert!(!m.exists() && !inj.journal_dirty());
        let kinds: Vec<_> = inj.take_events().into_iter().map(|e| (e.fault, e.kind)).collect();
        assert_eq!(
            kinds,
            [
                ("a".into(), FaultEventKind::Injected),
                ("b".into(), FaultEventKind::Injected),
                ("b".into(), FaultEventKind::RolledBack)
            ]
        );
        assert!(inj.inject("nope").unwrap_err().to_string().contains("no fault named `nope`"));
    }

    #[test]
    fn ttl_guard_dry_run_and_failed_injection_all_roll_back() {
        let dir = tempfile::tempdir().unwrap();
        let (m1, m2, m3) = (dir.path().join("1"), dir.path().join("2"), dir.path().join("3"));
        let faults = vec![
            ("ttl", marker_fault(&m1, ""), 1),
            ("held", marker_fault(&m2, ""), 600),
            ("bad", marker_fault(&m3, "; exit 4"), 600),
        ];
        let inj = injector(dir.path(), faults, false);
        let guard = inj.guard();
        inj.inject("ttl").unwrap();
        inj.inject("held").unwrap();
        assert!(testutil::eventually(|| !m1.exists()), "the TTL rolled it back without anyone asking");
        let e = inj.inject("bad").unwrap_err();
        assert!(!e.rollback_pending && e.to_string().contains("exit status: 4"), "{e}");
        assert!(!m3.exists(), "a failed injection is undone at once");
        drop(guard);
        assert!(!m2.exists() && !inj.journal_dirty() && inj.held().is_empty());

        let dry = injector(&dir.path().join("dry"), vec![("held", marker_fault(&m2, ""), 600)], true);
        dry.inject("held").unwrap();
        assert!(!m2.exists());
        assert_eq!(dry.take_events()[0].kind, FaultEventKind::DryRun);
    }
}
