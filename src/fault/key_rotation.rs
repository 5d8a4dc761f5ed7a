//! `key_rotation`: replace the target's JWT secret file with a new random secret, so every token in use fails at
//! once (runbook Incident 4, "auth system down"); rollback restores the original byte for byte ([`restore`]).
//!
//! The new secret is written to a temporary file and renamed over the old one, so a service that re-reads the file
//! never sees half a secret. Neither secret is ever logged: the event detail names only the file.

use std::path::PathBuf;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::settings::{CheckSettings, Issues, SettingsContext};
use super::{Fault, FaultContext, FaultErrorKind, Intent, restore};

/// `[fault.key_rotation]`: replace the target's JWT secret file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct KeyRotationSpec {
    /// The secret file; omitted = the embedded simulator's (`[sim] auth = true`). Explicit: inside `[allow] paths`.
    #[serde(default)]
    pub secret_file: Option<PathBuf>,
}

impl KeyRotationSpec {
    fn resolve(&self, ctx: &FaultContext) -> Result<PathBuf, FaultErrorKind> {
        ctx.require_local()?;
        let file = match &self.secret_file {
            Some(f) => f.clone(),
            None => ctx.require_sim("key_rotation without `secret_file`")?.secret_file.clone().ok_or_else(|| {
                FaultErrorKind::Refused {
                    what: "the embedded simulator runs without auth, so it has no secret to rotate".into(),
                    fix: "set [sim] auth = true".into(),
                }
            })?,
        };
        let file = file.canonicalize().map_err(|e| FaultErrorKind::NotFound {
            what: format!("secret file {}: {e}", file.display()),
            fix: "correct `secret_file`".into(),
        })?;
        ctx.require_path(&file)?;
        Ok(file)
    }
}

impl CheckSettings for KeyRotationSpec {
    fn check(&self, cx: &SettingsContext, c: &mut Issues) {
        match &self.secret_file {
            Some(file) => c.allowed_path("secret_file", file, cx.allow),
            None => c.check(!cx.target && cx.auth, "", || {
                "without secret_file this rotates the embedded simulator's secret: set [sim] auth = true".to_owned()
            }),
        }
    }
}

impl Fault for KeyRotationSpec {
    fn kind(&self) -> &'static str {
        "key_rotation"
    }

    fn describe(&self) -> String {
        let file = self.secret_file.as_ref().map_or("the simulator's secret file".into(), |f| f.display().to_string());
        format!("key_rotation: write a new random JWT secret to {file}, restore the original at rollback")
    }

    fn preflight(&self, ctx: &FaultContext) -> Result<(), FaultErrorKind> {
        let file = self.resolve(ctx)?;
        std::fs::read(&file).map(drop).map_err(FaultErrorKind::io(format!("reading {}", file.display())))
    }

    fn inject(&self, ctx: &FaultContext, intent: &mut dyn Intent) -> Result<String, FaultErrorKind> {
        let file = self.resolve(ctx)?;
        let (backup, mode) = restore::back_up(intent, &file)?;
        let secret: String = (0..32).map(|_| format!("{:02x}", rand::random::<u8>())).collect();
        restore::replace(&file, &backup, format!("{secret}\n").as_bytes(), mode)?;
        Ok(format!("rotated the secret in {} (original kept in {})", file.display(), backup.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Allow, testutil};
    use super::*;

    #[test]
    fn rotates_and_restores_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("jwt.secret");
        std::fs::write(&f, b"  old-secret\n").unwrap();
        let spec = KeyRotationSpec { secret_file: Some(f.clone()) };
        assert!(spec.preflight(&testutil::ctx(Allow::default())).is_err(), "outside the allow-list");
        let ctx = testutil::ctx(Allow { paths: vec![dir.path().to_owned()], ..Allow::default() });
        let mut undo = Vec::new();
        let detail = spec.inject(&ctx, &mut undo).unwrap();
        let new = std::fs::read_to_string(&f).unwrap();
        assert!(new.trim().len() == 64 && !detail.contains(new.trim()), "never log the secret: {detail}");
        testutil::rollback(undo);
        assert_eq!(std::fs::read(&f).unwrap(), b"  old-secret\n");
    }
}
