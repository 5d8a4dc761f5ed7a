//! How one request ended, as one closed enum: errors are counted by kind, never by message text, so the judge and
//! the reports can branch on them and the counters stay a fixed-size array.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema)]
/// Reports show an outcome by its [`label`](Self::label) (`timeout`, `401`, ...), and count them in arrays ordered as
/// the variants are here.
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// A 2xx with a body that is not an error: the only outcome not counted as an error.
    Ok,
    /// The TCP connect was refused: nothing listening on the port (a killed or not yet restarted service).
    ConnectRefused,
    /// No complete response within the request timeout (connect included).
    Timeout,
    /// The connection was reset or aborted mid-request (a kept-alive one, mostly: on a connection opened for the
    /// request a reset is the server hanging up, [`ClosedWithoutResponse`](Self::ClosedWithoutResponse)).
    Reset,
    /// The server accepted the connection and closed it without answering (the bridge past its connection limit).
    ClosedWithoutResponse,
    /// HTTP 401: a missing, wrong or expired token.
    Unauthorized,
    /// HTTP 403: a scene path outside the service's allow-list.
    Forbidden,
    /// HTTP 404: a scene file that does not exist, or a path the service does not serve.
    NotFound,
    /// HTTP 429: the service's rate limit.
    TooManyRequests,
    /// Any other 4xx.
    OtherClientError,
    /// HTTP 503: the backend a request needs (the debug adapter, the language server) is not connected.
    Unavailable,
    /// Any other 5xx, or a status outside 2xx-5xx.
    OtherServerError,
    /// A 2xx whose body carries `"error"`.
    ErrorBody,
    /// Anything else that kept a response from arriving (DNS, TLS, a malformed response).
    OtherError,
}

impl Outcome {
    /// How many outcomes exist: the fixed length of every outcome-count array, so counting never allocates.
    pub const COUNT: usize = 14;
    pub(crate) const ALL: [Outcome; Self::COUNT] = [
        Self::Ok,
        Self::ConnectRefused,
        Self::Timeout,
        Self::Reset,
        Self::ClosedWithoutResponse,
        Self::Unauthorized,
        Self::Forbidden,
        Self::NotFound,
        Self::TooManyRequests,
        Self::OtherClientError,
        Self::Unavailable,
        Self::OtherServerError,
        Self::ErrorBody,
        Self::OtherError,
    ];

    /// Classify an HTTP status; the caller still checks a 2xx body for `"error"`.
    pub fn from_status(status: u16) -> Self {
        match status {
            200..=299 => Self::Ok,
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            429 => Self::TooManyRequests,
            400..=499 => Self::OtherClientError,
            503 => Self::Unavailable,
            _ => Self::OtherServerError,
        }
    }

    pub(crate) fn is_error(self) -> bool {
        self != Self::Ok
    }

    /// The request never got an HTTP answer: what the runbook's "API unresponsive" is made of.
    pub fn is_unanswered(self) -> bool {
        matches!(
            self,
            Self::ConnectRefused | Self::Timeout | Self::Reset | Self::ClosedWithoutResponse | Self::OtherError
        )
    }

    /// The position in every outcome-count array (`outcomes` in the record): the order of the variants above.
    pub fn index(self) -> usize {
        self as usize
    }

    /// The short name reports use: the HTTP status where there is one, so a reader matches it with the service's
    /// logs; the keys of a summary's `outcomes` and the `outcome` of a `first_error` event.
    pub fn label(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::ConnectRefused => "connect_refused",
            Self::Timeout => "timeout",
            Self::Reset => "reset",
            Self::ClosedWithoutResponse => "closed_without_response",
            Self::Unauthorized => "401",
            Self::Forbidden => "403",
            Self::NotFound => "404",
            Self::TooManyRequests => "429",
            Self::OtherClientError => "other_4xx",
            Self::Unavailable => "503",
            Self::OtherServerError => "other_5xx",
            Self::ErrorBody => "error_body",
            Self::OtherError => "other_error",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_is_in_index_order() {
        for (i, o) in Outcome::ALL.iter().enumerate() {
            assert_eq!(o.index(), i);
        }
    }

    #[test]
    fn statuses_classify() {
        assert_eq!(Outcome::from_status(200), Outcome::Ok);
        assert_eq!(Outcome::from_status(401), Outcome::Unauthorized);
        assert_eq!(Outcome::from_status(418), Outcome::OtherClientError);
        assert_eq!(Outcome::from_status(503), Outcome::Unavailable);
        assert_eq!(Outcome::from_status(504), Outcome::OtherServerError);
    }
}
