//! Bearer-token authentication (the hardened deployment): HS256 JWTs with an `exp` claim, signed with a secret read
//! from a file.
//!
//! The file is re-read once per frame (a read of a few bytes, 90 times a second), so replacing it (a key rotation)
//! invalidates every older token from the next frame on. The secret is the file's content with surrounding
//! whitespace trimmed, so `echo secret > file` works. An unreadable or empty secret file rejects every token until
//! it is readable again. There is no leeway on `exp`: an expired token is refused at once.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::cli::SimTokenArgs;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    sub: String,
    iat: u64,
    exp: u64,
}

/// Read and trim the secret; the same rule for the server and `sim token`.
fn read_secret(path: &Path) -> anyhow::Result<Vec<u8>> {
    let raw = std::fs::read(path).map_err(|e| anyhow::anyhow!("cannot read secret file {}: {e}", path.display()))?;
    let secret = raw.trim_ascii().to_vec();
    anyhow::ensure!(!secret.is_empty(), "secret file {} is empty", path.display());
    Ok(secret)
}

pub(crate) struct Auth {
    path: PathBuf,
    secret: Option<Vec<u8>>,
    key: Option<DecodingKey>,
    validation: Validation,
}

impl Auth {
    /// Fails when the file cannot be read at start, so a typo in the path is seen at once.
    pub fn new(path: PathBuf) -> anyhow::Result<Auth> {
        read_secret(&path)?;
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 0;
        validation.set_required_spec_claims(&["exp"]);
        let mut auth = Auth { path, secret: None, key: None, validation };
        auth.refresh();
        Ok(auth)
    }

    /// Re-read the secret file; called at the start of every frame.
    pub fn refresh(&mut self) {
        let secret = read_secret(&self.path).ok();
        if secret != self.secret {
            self.key = secret.as_deref().map(DecodingKey::from_secret);
            self.secret = secret;
            tracing::info!("JWT secret (re)loaded from {}", self.path.display());
        }
    }

    /// Whether an `Authorization` header value carries a valid token for the current secret.
    pub fn allows(&self, authorization: Option<&str>) -> bool {
        let Some(key) = &self.key else { return false };
        let Some(token) = authorization.and_then(|h| h.strip_prefix("Bearer ")) else { return false };
        jsonwebtoken::decode::<Claims>(token.trim(), key, &self.validation).is_ok()
    }
}

/// Mint a token for `sim token`: valid for `ttl`, or expired `expired` ago. The harness mints its own tokens with it
/// (an embedded target's, the expired-token fault's), so they are exactly what the simulator accepts or refuses.
pub fn mint(secret: &[u8], ttl: Duration, expired: Option<Duration>) -> anyhow::Result<String> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let exp = match expired {
        Some(ago) => now.saturating_sub(ago.as_secs().max(1)),
        None => now + ttl.as_secs().max(1),
    };
    let claims = Claims { sub: "spacetime-drill".into(), iat: now, exp };
    Ok(jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &EncodingKey::from_secret(secret))?)
}

/// `spacetime-drill sim token`: print a token on stdout (the only place a token is ever printed).
pub(crate) fn token_command(args: &SimTokenArgs) -> anyhow::Result<()> {
    let secret = read_secret(&args.secret_file)?;
    println!("{}", mint(&secret, args.ttl, args.expired)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_invalidates_old_tokens() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("secret");
        std::fs::write(&path, "one\n").unwrap();
        let mut auth = Auth::new(path.clone()).unwrap();
        let old = mint(b"one", Duration::from_secs(60), None).unwrap();
        assert!(auth.allows(Some(&format!("Bearer {old}"))));
        assert!(!auth.allows(Some(&old)), "needs the Bearer scheme");
        assert!(!auth.allows(None));
        let expired = mint(b"one", Duration::ZERO, Some(Duration::from_secs(5))).unwrap();
        assert!(!auth.allows(Some(&format!("Bearer {expired}"))));
        std::fs::write(&path, "two").unwrap();
        auth.refresh();
        assert!(!auth.allows(Some(&format!("Bearer {old}"))));
        let new = mint(b"two", Duration::from_secs(60), None).unwrap();
        assert!(auth.allows(Some(&format!("Bearer {new}"))));
    }
}
