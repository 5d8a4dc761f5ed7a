//! `expired_token`: a share of the load's requests carries an expired or wrongly signed JWT (runbook Incident 4,
//! scenario A: intermittent 401s are P2, all of them P1).
//!
//! The fault acts on the harness's own load, not on the target: it sets the run's [`AuthFault`] handle, which both
//! engines consult per request (which requests go bad is deterministic, see [`AuthFault`]). So it touches no file,
//! port or process, and nothing outlives the run: the only undo is "clear the handle", which the live rollback does
//! and which a journal replay after a crash need not do (the handle died with the process).
//!
//! Minting: `wrong_signature` signs a valid-looking token with a fresh random secret, which works against any
//! target. `expired` needs the target's real secret (the token must fail on `exp`, not on its signature), which the
//! run knows only for the embedded simulator; without it preflight refuses with a clear message.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use std::time::Duration;

use super::{Fault, FaultContext, FaultErrorKind, Intent};
use crate::load::AuthFault;
use crate::secret::Secret;
use crate::sim::auth::mint;

/// `[fault.expired_token]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpiredTokenSpec {
    /// Share of requests that carry the bad token while the fault is held, in (0, 1]; 1 = every request.
    pub share: f64,
    /// Which bad token: expired (right signature, `exp` in the past) or signed with the wrong secret.
    #[serde(default)]
    pub mode: BadTokenMode,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum BadTokenMode {
    #[default]
    Expired,
    WrongSignature,
}

/// The fault as the run holds it: the spec, the load's handle, and the target's JWT secret when the run knows it.
pub struct ExpiredToken {
    spec: ExpiredTokenSpec,
    auth: AuthFault,
    secret: Option<Secret>,
}

/// How long ago an `expired` token expired: well past any clock skew a validator might allow.
const EXPIRED_AGO: Duration = Duration::from_secs(3600);

impl ExpiredToken {
    /// `auth` is the run's `LoadPlan::auth_fault`; `secret` the target's JWT secret (the embedded simulator's), or
    /// `None` for an external target.
    pub fn new(spec: ExpiredTokenSpec, auth: AuthFault, secret: Option<Secret>) -> Self {
        Self { spec, auth, secret }
    }

    /// The live rollback: stop sending bad tokens. Idempotent; there is nothing to undo after a crash.
    pub fn clear(&self) {
        self.auth.clear();
    }

    fn check(&self) -> Result<(), FaultErrorKind> {
        let share = self.spec.share;
        if !(share > 0.0 && share <= 1.0) {
            return Err(FaultErrorKind::Refused {
                what: format!("share = {share} is outside (0, 1]"),
                fix: "give the share of requests to spoil, e.g. 0.5 (intermittent) or 1.0 (all)".into(),
            });
        }
        if self.spec.mode == BadTokenMode::Expired && self.secret.is_none() {
            return Err(no_secret());
        }
        Ok(())
    }

    fn token(&self) -> Result<String, FaultErrorKind> {
        let minted = match self.spec.mode {
            BadTokenMode::Expired => {
                let secret = self.secret.as_ref().ok_or_else(no_secret)?;
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

impl Fault for ExpiredToken {
    fn kind(&self) -> &'static str {
        "expired_token"
    }

    fn describe(&self) -> String {
        let what = match self.spec.mode {
            BadTokenMode::Expired => "an expired token",
            BadTokenMode::WrongSignature => "a wrongly signed token",
        };
        format!("expired_token: {:.1} % of requests carry {what}", self.spec.share * 100.0)
    }

    fn preflight(&self, _ctx: &FaultContext) -> Result<(), FaultErrorKind> {
        self.check()
    }

    fn inject(&self, _ctx: &FaultContext, _intent: &mut dyn Intent) -> Result<String, FaultErrorKind> {
        self.check()?;
        let token = self.token()?;
        self.auth
            .set(self.spec.share, &token)
            .map_err(|e| FaultErrorKind::Refused { what: e.to_string(), fix: "check [fault.expired_token]".into() })?;
        Ok(self.describe().replacen("expired_token: ", "", 1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fault::Allow;
    use crate::fault::testutil::ctx;

    fn fault(share: f64, mode: BadTokenMode, secret: Option<&str>) -> (ExpiredToken, AuthFault) {
        let auth = AuthFault::default();
        (ExpiredToken::new(ExpiredTokenSpec { share, mode }, auth.clone(), secret.map(Secret::new)), auth)
    }

    #[test]
    fn parses_with_expired_by_default() {
        let s: ExpiredTokenSpec = toml::from_str("share = 0.5").unwrap();
        assert_eq!(s, ExpiredTokenSpec { share: 0.5, mode: BadTokenMode::Expired });
        let s: ExpiredTokenSpec = toml::from_str("share = 1.0\nmode = \"wrong_signature\"").unwrap();
        assert_eq!(s.mode, BadTokenMode::WrongSignature);
        assert!(toml::from_str::<ExpiredTokenSpec>("share = 1.0\nmode = \"nope\"").is_err());
    }

    #[test]
    fn preflight_refuses_bad_share_and_expired_without_secret() {
        let c = ctx(Allow::default());
        assert!(fault(0.0, BadTokenMode::WrongSignature, None).0.preflight(&c).is_err());
        assert!(fault(1.5, BadTokenMode::WrongSignature, None).0.preflight(&c).is_err());
        let err = fault(0.5, BadTokenMode::Expired, None).0.preflight(&c).unwrap_err().to_string();
        assert!(err.contains("wrong_signature"), "{err}");
        assert!(fault(0.5, BadTokenMode::WrongSignature, None).0.preflight(&c).is_ok());
    }

    #[test]
    fn inject_holds_the_handle_and_clear_releases_it() {
        let (f, auth) = fault(1.0, BadTokenMode::Expired, Some("s3cret"));
        f.inject(&ctx(Allow::default()), &mut Vec::new()).unwrap();
        assert!(auth.is_held());
        let header = auth.pick().unwrap();
        let token = header.to_str().unwrap().strip_prefix("Bearer ").unwrap().to_owned();
        assert!(!f.describe().contains(&token), "the token is never shown");
        f.clear();
        assert!(!auth.is_held() && auth.pick().is_none());
    }
}
