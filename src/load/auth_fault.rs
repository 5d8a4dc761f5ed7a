//! The load-side hook of the `expired_token` fault: a share of requests carries a bad `Authorization` header.
//!
//! [`AuthFault`] is a cloneable handle carried in the [`LoadPlan`](super::LoadPlan); the fault sets and clears it
//! from any thread while both engines consult it once per request. Which requests go bad is deterministic, not
//! random: the n-th request consulted while the fault is held is bad when `floor((n+1)·share)` steps past
//! `floor(n·share)` (Bresenham's rule), so a share of 0.5 makes exactly every other request bad, 0.25 every fourth,
//! and any window of k requests holds `k·share` bad ones ±1. A run that repeats therefore sees the same pattern,
//! and a test can assert the share exactly.
//!
//! Cost when the fault is not held: one relaxed atomic load per request. Held: one `fetch_add` on a shared counter,
//! and for a bad request a read lock and a `HeaderValue` clone (a reference count).

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use hyper::header::HeaderValue;
use parking_lot::RwLock;

/// Shares are held in parts per million: an integer, so a per-request check needs no float and no lock.
const PPM: u64 = 1_000_000;

#[derive(Default)]
struct Inner {
    /// Share of bad requests in ppm; 0 = not held.
    ppm: AtomicU32,
    /// Requests consulted while held; reset by each `set`.
    seen: AtomicU64,
    /// The header the bad requests carry (`Bearer <bad token>`), marked sensitive so it is never logged.
    header: RwLock<Option<HeaderValue>>,
}

/// A handle on the auth fault; clones share it. The default is "not held".
#[derive(Clone, Default)]
pub struct AuthFault(Arc<Inner>);

impl std::fmt::Debug for AuthFault {
    /// Never shows the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthFault").field("ppm", &self.0.ppm.load(Ordering::Relaxed)).finish_non_exhaustive()
    }
}

/// `set` was given something that cannot be a header or a share.
#[derive(Debug, thiserror::Error, PartialEq)]
pub enum AuthFaultError {
    /// The share of requests to spoil is outside (0, 1] or not a number; 0 is `clear`, not a share.
    #[error("share {0} must be in (0, 1]")]
    BadShare(f64),
    /// The bad token holds bytes no HTTP header may carry (a newline, a control character); the error never
    /// quotes it.
    #[error("the token is not a valid header value")]
    BadToken,
}

impl AuthFault {
    /// Hold the fault: from now on `share` of the requests (0 < share ≤ 1) carry `Bearer <token>`.
    pub fn set(&self, share: f64, token: &str) -> Result<(), AuthFaultError> {
        if !(share > 0.0 && share <= 1.0) {
            return Err(AuthFaultError::BadShare(share));
        }
        let mut header = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| AuthFaultError::BadToken)?;
        header.set_sensitive(true);
        *self.0.header.write() = Some(header);
        self.0.seen.store(0, Ordering::Relaxed);
        // Release: a request that sees the share also sees the header written above.
        self.0.ppm.store(((share * PPM as f64).round() as u32).max(1), Ordering::Release);
        Ok(())
    }

    /// Stop the fault; idempotent. Requests already built keep the header they got.
    pub fn clear(&self) {
        self.0.ppm.store(0, Ordering::Release);
        *self.0.header.write() = None;
    }

    /// The bad header if this request is one of the share, `None` otherwise (and always when not held).
    pub fn pick(&self) -> Option<HeaderValue> {
        let ppm = u64::from(self.0.ppm.load(Ordering::Acquire));
        if ppm == 0 {
            return None;
        }
        let n = self.0.seen.fetch_add(1, Ordering::Relaxed);
        if (n + 1) * ppm / PPM > n * ppm / PPM { self.0.header.read().clone() } else { None }
    }
}

/// The fault module's view of this handle (`expired_token` spoils and restores through it).
impl crate::fault::LoadTokens for AuthFault {
    fn spoil(&self, share: f64, token: &str) -> Result<(), String> {
        self.set(share, token).map_err(|e| e.to_string())
    }

    fn restore(&self) {
        self.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bad_in(f: &AuthFault, n: usize) -> usize {
        (0..n).filter(|_| f.pick().is_some()).count()
    }

    #[test]
    fn share_is_exact_and_spread() {
        let f = AuthFault::default();
        assert_eq!(bad_in(&f, 100), 0, "not held: every request is good");
        f.set(0.5, "x").unwrap();
        let picks: Vec<bool> = (0..6).map(|_| f.pick().is_some()).collect();
        assert_eq!(picks, [false, true, false, true, false, true]);
        f.set(0.25, "x").unwrap();
        assert_eq!(bad_in(&f, 1000), 250);
        f.set(1.0, "x").unwrap();
        assert_eq!(bad_in(&f, 10), 10);
        assert_eq!(f.pick().unwrap().to_str().unwrap(), "Bearer x");
        f.clear();
        assert_eq!(bad_in(&f, 100), 0);
    }

    #[test]
    fn refuses_bad_shares_and_never_shows_the_token() {
        let f = AuthFault::default();
        for share in [0.0, -0.1, 1.5, f64::NAN] {
            assert!(matches!(f.set(share, "x"), Err(AuthFaultError::BadShare(_))), "{share}");
        }
        assert_eq!(bad_in(&f, 100), 0, "a refused share holds nothing");
        assert_eq!(f.set(0.5, "bad\ntoken"), Err(AuthFaultError::BadToken));
        f.set(0.5, "secret-token").unwrap();
        assert!(!format!("{f:?}").contains("secret-token"));
    }
}
