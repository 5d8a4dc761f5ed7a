//! Secrets (Bearer tokens) that cannot leak by accident.
//!
//! A [`Secret`] has no `Display`, prints `<redacted>` in `Debug`, and is not `Serialize`: the only way to the
//! bytes is [`Secret::expose`], called where a header is built. Scenario files name where a token comes from
//! (`token_env`, `token_file`), never the token itself, so a report embedding the scenario stays clean too.

use std::fmt;
use std::path::Path;

use anyhow::Context;

/// A Bearer token (or the JWT signing secret) from `token_env`, `token_file` or the embedded simulator.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a value the caller already holds (a generated simulator token, a test's); nothing is trimmed.
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    /// The bytes, only where they must leave: an `Authorization` header, a JWT signature, the simulator's secret
    /// file. Never into a message, a log line or a report.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The token in an environment variable; an unset or empty variable is an error naming the variable.
    pub fn from_env(var: &str) -> anyhow::Result<Self> {
        let v = std::env::var(var)
            .with_context(|| format!("the token variable {var} is not set; export it or use token_file"))?;
        let v = v.trim();
        anyhow::ensure!(!v.is_empty(), "the token variable {var} is empty");
        Ok(Self(v.to_owned()))
    }

    /// The first line of a file.
    pub fn from_file(path: &Path) -> anyhow::Result<Self> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("cannot read the token file {}", path.display()))?;
        let line = text.lines().next().unwrap_or("").trim();
        anyhow::ensure!(!line.is_empty(), "the token file {} is empty", path.display());
        Ok(Self(line.to_owned()))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("eyJhbGciOiJIUzI1NiJ9.payload.sig");
        assert!(!format!("{s:?}").contains("eyJ"));
        assert_eq!(s.expose(), "eyJhbGciOiJIUzI1NiJ9.payload.sig");
    }
}
