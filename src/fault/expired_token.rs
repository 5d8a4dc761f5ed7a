//! `expired_token`: a share of the load's requests carries an expired or wrongly signed JWT (runbook Incident 4,
//! scenario A: intermittent 401s are P2, all of them P1).
//!
//! The fault acts on the harness's own load, not on the target: it spoils the run's [`LoadTokens`], which the load
//! implements on the handle both engines consult per request (which requests go bad is deterministic, see the
//! load's `AuthFault`). So it touches no file,
//! port or process, and nothing outlives the run: the only undo is "clear the handle", which the live rollback does
//! and which a journal replay after a crash need not do (the handle died with the process).
//!
//! Minting: `wrong_signature` signs a valid-looking token with a fresh random secret, which works against any
//! target. `expired` needs the target's real secret (the token must fail on `exp`, not on its signature), which the
//! run knows only for the embedded simulator; without it preflight refuses with a clear message.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use std::time::Duration;

use super::settings::{CheckSettings, Issues, SettingsContext};
use super::{Fault, FaultContext, FaultErrorKind, Intent, LoadTokens, Undo};
use spacetime_sim::auth::mint;

/// `[fault.expired_token]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpiredTokenSpec {
    /// Share of requests that carry the bad token while the fault is held, in (0, 1]; 1 = every request (P1),
    /// less = intermittent (P2).
    #[serde(default = "every")]
    #[schemars(range(min = 0, max = 1))]
    pub share: f64,
    /// Which bad token: expired (right signature, `exp` in the past) or signed with the wrong secret.
    #[serde(default)]
    pub mode: BadTokenMode,
}

/// Which bad token the spoiled requests carry; both are rejected with 401, for different reasons.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BadTokenMode {
    /// Signed with the target's own secret, `exp` an hour in the past: rejected for expiry alone. Needs the
    /// secret, so only against the embedded simulator.
    #[default]
    Expired,
    /// Signed with a secret the target does not know: rejected on its signature. Works against any target.
    WrongSignature,
}

fn every() -> f64 {
    1.0
}

/// How long ago an `expired` token expired: well past any clock skew a validator might allow.
const EXPIRED_AGO: Duration = Duration::from_secs(3600);

impl ExpiredTokenSpec {
    fn check<'c>(&self, ctx: &'c FaultContext) -> Result<&'c dyn LoadTokens, FaultErrorKind> {
        let share = self.share;
        if !(share > 0.0 && share <= 1.0) {
            return Err(FaultErrorKind::Refused {
                what: format!("share = {share} is outside (0, 1]"),
                fix: "give the share of requests to spoil, e.g. 0.5 (intermittent) or 1.0 (all)".into(),
            });
        }
        if self.mode == BadTokenMode::Expired && ctx.jwt_secret.is_none() {
            return Err(no_secret());
        }
        ctx.auth.as_deref().ok_or_else(|| FaultErrorKind::Refused {
            what: "expired_token spoils the run's own load, and this run has none".into(),
            fix: "use it inside `spacetime-drill run`".into(),
        })
    }

    fn token(&self, ctx: &FaultContext) -> Result<String, FaultErrorKind> {
        let minted = match self.mode {
            BadTokenMode::Expired => {
                let secret = ctx.jwt_secret.as_ref().ok_or_else(no_secret)?;
                mint(secret.expose().as_bytes(), Duration::ZERO, Some(EXPIRED_AGO))
            }
            BadTokenMode::WrongSignature => {
                let wrong: [u8; 32] = rand::random();
                mint(&wrong, Duration::from_secs(24 * 3600), None)
            }
        };
        minted.map_err(|e| FaultErrorKind::Refused {
            what: format!("cannot mint the bad token: {e}"),
            fix: "report this as a bug".into(),
        })
    }
}

fn no_secret() -> FaultErrorKind {
    FaultErrorKind::Refused {
        what: "mode = \"expired\" needs the target's JWT secret, which this run knows only for the embedded simulator"
            .into(),
        fix: "use mode = \"wrong_signature\" against an external target".into(),
    }
}

impl CheckSettings for ExpiredTokenSpec {
    const EXAMPLE: &'static str = "share = 0.3";

    fn check(&self, cx: &SettingsContext, c: &mut Issues) {
        c.check(self.share.is_finite() && self.share > 0.0 && self.share <= 1.0, "share", || {
            format!("{} is not a share; use a fraction in (0, 1], e.g. 0.3 or 1", self.share)
        });
        c.check(cx.auth, "", || {
            let fix = if cx.target { "give [target] token_env or token_file" } else { "set [sim] auth = true" };
            format!("bad tokens change nothing while requests carry no token; {fix}")
        });
    }
}

impl Fault for ExpiredTokenSpec {
    fn kind(&self) -> &'static str {
        "expired_token"
    }

    fn describe(&self) -> String {
        let what = match self.mode {
            BadTokenMode::Expired => "an expired token",
            BadTokenMode::WrongSignature => "a wrongly signed token",
        };
        format!("expired_token: {:.1} % of requests carry {what}", self.share * 100.0)
    }

    fn preflight(&self, ctx: &FaultContext) -> Result<(), FaultErrorKind> {
        self.check(ctx).map(drop)
    }

    fn inject(&self, ctx: &FaultContext, intent: &mut dyn Intent) -> Result<String, FaultErrorKind> {
        let auth = self.check(ctx)?;
        let token = self.token(ctx)?;
        intent.record(Undo::ClearAuthFault)?;
        auth.spoil(self.share, &token)
            .map_err(|what| FaultErrorKind::Refused { what, fix: "check [fault.expired_token]".into() })?;
        Ok(self.describe().replacen("expired_token: ", "", 1))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use parking_lot::Mutex;

    use super::*;
    use crate::fault::Allow;
    use crate::fault::testutil::ctx;
    use crate::secret::Secret;

    /// The load's side, as the fault sees it: what it was last told to spoil (the load's own tests cover the rest).
    #[derive(Default)]
    struct Tokens(Mutex<Option<(f64, String)>>);

    impl LoadTokens for Tokens {
        fn spoil(&self, share: f64, token: &str) -> Result<(), String> {
            *self.0.lock() = Some((share, token.to_owned()));
            Ok(())
        }
        fn restore(&self) {
            *self.0.lock() = None;
        }
    }

    /// The spec, a run's context holding the load's tokens (and the secret when given), and the tokens.
    fn fault(share: f64, mode: BadTokenMode, secret: Option<&str>) -> (ExpiredTokenSpec, FaultContext, Arc<Tokens>) {
        let tokens = Arc::new(Tokens::default());
        let mut c = ctx(Allow::default());
        c.auth = Some(tokens.clone());
        c.jwt_secret = secret.map(Secret::new);
        (ExpiredTokenSpec { share, mode }, c, tokens)
    }

    #[test]
    fn parses_with_expired_by_default() {
        let s: ExpiredTokenSpec = toml::from_str("share = 0.5").unwrap();
        assert_eq!(s, ExpiredTokenSpec { share: 0.5, mode: BadTokenMode::Expired });
        let s: ExpiredTokenSpec = toml::from_str("mode = \"wrong_signature\"").unwrap();
        assert_eq!((s.share, s.mode), (1.0, BadTokenMode::WrongSignature));
        assert!(toml::from_str::<ExpiredTokenSpec>("share = 1.0\nmode = \"nope\"").is_err());
    }

    #[test]
    fn preflight_refuses_bad_share_expired_without_secret_and_no_load() {
        let refused = |share, mode, secret| {
            let (f, c, _) = fault(share, mode, secret);
            f.preflight(&c).err().map(|e| e.to_string())
        };
        assert!(refused(0.0, BadTokenMode::WrongSignature, None).is_some());
        assert!(refused(1.5, BadTokenMode::WrongSignature, None).is_some());
        let err = refused(0.5, BadTokenMode::Expired, None).unwrap();
        assert!(err.contains("wrong_signature"), "{err}");
        assert!(refused(0.5, BadTokenMode::WrongSignature, None).is_none());
        let (f, _, _) = fault(0.5, BadTokenMode::WrongSignature, None);
        assert!(f.preflight(&ctx(Allow::default())).is_err(), "no load to spoil");
    }

    #[test]
    fn inject_spoils_tokens_and_its_undo_clears_them() {
        let (f, c, tokens) = fault(1.0, BadTokenMode::Expired, Some("s3cret"));
        let mut undo = Vec::new();
        f.inject(&c, &mut undo).unwrap();
        let (share, token) = tokens.0.lock().clone().unwrap();
        assert_eq!(share, 1.0);
        assert_eq!(token.split('.').count(), 3, "a JWT: {token}");
        assert!(!f.describe().contains(&token), "the token is never shown");
        assert_eq!(undo, [Undo::ClearAuthFault]);
        undo[0].rollback(Some(&c)).unwrap();
        assert!(tokens.0.lock().is_none());
    }
}
