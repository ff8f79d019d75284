//! Who is calling: the `authorization` header of every call.
//!
//! Clients either send `authorization: Bearer <token>` on every call, or first do a Flight
//! handshake with `authorization: Basic base64(user:token)` — the user name is not checked, the
//! password is the token — and get `authorization: Bearer <token>` back to send from then on
//! (what ADBC's `username`/`password` options and `FlightSqlServiceClient::handshake` do).

use base64::Engine;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use tonic::Status;
use tonic::metadata::MetadataMap;

use crate::tokens::TokenSet;

const HOW: &str = "send `authorization: Bearer <token>`, or a handshake with the token as the password; \
                   tokens come from `nightjar serve-sql add-token`";

/// The token of a `Bearer` or `Basic` `authorization` header.
fn presented_token(metadata: &MetadataMap) -> Result<String, Status> {
    let Some(header) = metadata.get("authorization") else {
        return Err(Status::unauthenticated(format!("no token: {HOW}")));
    };
    let header =
        header.to_str().map_err(|_| Status::unauthenticated(format!("the authorization header is not text: {HOW}")))?;
    let (scheme, value) = header.trim().split_once(' ').unwrap_or((header, ""));
    if scheme.eq_ignore_ascii_case("bearer") {
        return Ok(value.trim().to_string());
    }
    if scheme.eq_ignore_ascii_case("basic") {
        // Go's Flight client (ADBC) sends the credentials without `=` padding.
        let lenient = GeneralPurpose::new(
            &base64::alphabet::STANDARD,
            GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
        );
        let decoded = lenient
            .decode(value.trim())
            .ok()
            .and_then(|bytes| String::from_utf8(bytes).ok())
            .ok_or_else(|| Status::unauthenticated(format!("the Basic credentials are not base64 text: {HOW}")))?;
        let (_user, password) = decoded.split_once(':').unwrap_or(("", decoded.as_str()));
        return Ok(password.to_string());
    }
    Err(Status::unauthenticated(format!("unsupported authorization scheme `{scheme}`: {HOW}")))
}

/// Checks the call's token; returns the analyst's name, or `Unauthenticated` saying what is wrong.
pub fn authenticate(tokens: &TokenSet, metadata: &MetadataMap) -> Result<(String, String), Status> {
    let token = presented_token(metadata)?;
    if token.is_empty() {
        return Err(Status::unauthenticated(format!("empty token: {HOW}")));
    }
    match tokens.name_for(&token) {
        Ok(Some(name)) => Ok((name, token)),
        Ok(None) => {
            Err(Status::unauthenticated("invalid token: it is not in the server's tokens file (revoked, or mistyped)"))
        }
        Err(error) => {
            // As an error value, so the log shows its causes (the system's error, the bad line).
            let error: &(dyn std::error::Error + 'static) = &error;
            tracing::error!(error, "cannot read the tokens file; refusing every call until it is fixed");
            Err(Status::unavailable("the server cannot read its tokens file; tell its operator"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata(value: &str) -> MetadataMap {
        let mut map = MetadataMap::new();
        map.insert("authorization", value.parse().unwrap());
        map
    }

    #[test]
    fn bearer_and_basic_headers_carry_the_token_and_others_are_refused_with_a_hint() {
        assert_eq!(presented_token(&metadata("Bearer njq_abc")).unwrap(), "njq_abc");
        let basic = base64::engine::general_purpose::STANDARD.encode("token:njq_abc");
        assert_eq!(presented_token(&metadata(&format!("Basic {basic}"))).unwrap(), "njq_abc");
        let unpadded = base64::engine::general_purpose::STANDARD_NO_PAD.encode("token:njq_abc");
        assert_eq!(presented_token(&metadata(&format!("Basic {unpadded}"))).unwrap(), "njq_abc");
        let refused = presented_token(&metadata("Digest x")).unwrap_err();
        assert!(refused.message().contains("Bearer"), "{refused}");
        let missing = presented_token(&MetadataMap::new()).unwrap_err();
        assert_eq!(missing.code(), tonic::Code::Unauthenticated);
    }
}
