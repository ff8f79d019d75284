//! Which sensor a request comes from: its bearer token, and the sensor id it claims.

use axum::http::{HeaderMap, header};

use crate::refusal::Refusal;
use crate::server::AppState;

/// Why a request's token was not accepted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthFailure {
    /// No `Authorization` header.
    Missing,
    /// An `Authorization` header of another scheme than `Bearer`, or not text.
    NotBearer,
    /// A bearer token no sensor has (or a revoked one's).
    Unknown,
    /// The sensor list cannot be read now.
    ListUnreadable,
}

impl AuthFailure {
    /// The answer to the client.
    pub fn refusal(self) -> Refusal {
        match self {
            AuthFailure::Missing => Refusal::unauthorized("missing `Authorization: Bearer <token>`"),
            AuthFailure::NotBearer => {
                Refusal::unauthorized("the `Authorization` header must be `Bearer <token>` (another scheme was sent)")
            }
            AuthFailure::Unknown => Refusal::unauthorized("unknown or revoked token"),
            AuthFailure::ListUnreadable => Refusal::unavailable("the collector cannot check tokens now"),
        }
    }

    /// The reason label for metrics and logs.
    pub fn reason(self) -> &'static str {
        match self {
            AuthFailure::Missing => "missing_token",
            AuthFailure::NotBearer => "not_bearer",
            AuthFailure::Unknown => "unknown_token",
            AuthFailure::ListUnreadable => "token_list_unreadable",
        }
    }
}

/// The token of an `Authorization` value: scheme `Bearer` in any case (RFC 9110 §11.1), then
/// the token.
fn bearer_token(value: &str) -> Option<&str> {
    let (scheme, token) = value.trim().split_once(char::is_whitespace)?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// The sensor a request's bearer token belongs to.
pub fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<String, AuthFailure> {
    let value = headers.get(header::AUTHORIZATION).ok_or(AuthFailure::Missing)?;
    let token = value.to_str().ok().and_then(bearer_token).ok_or(AuthFailure::NotBearer)?;
    match state.tokens.sensor_for(token) {
        Ok(Some(sensor)) => Ok(sensor),
        Ok(None) => Err(AuthFailure::Unknown),
        Err(error) => {
            tracing::error!(error = %nightjar_ops::error_chain(&error), "cannot read the sensor list");
            Err(AuthFailure::ListUnreadable)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_scheme_is_case_insensitive() {
        assert_eq!(bearer_token("Bearer abc"), Some("abc"));
        assert_eq!(bearer_token("bearer abc"), Some("abc"));
        assert_eq!(bearer_token("BEARER   abc  "), Some("abc"));
        assert_eq!(bearer_token("Basic abc"), None);
        assert_eq!(bearer_token("Bearer"), None);
        assert_eq!(bearer_token("Bearer "), None);
    }
}
