//! When a server may listen without TLS: the one rule the collector and `serve-sql` share.
//!
//! Tokens travel in every request, so a server that anyone on the network can reach speaks TLS.
//! Plain text is allowed on a loopback address, or where the operator says a TLS-terminating
//! proxy sits in front (`allow_insecure`). A certificate without its key, or a key without its
//! certificate, is always a mistake.

use std::net::SocketAddr;

/// What is wrong with a server's transport settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TransportProblem {
    /// A certificate is given but no key.
    CertificateWithoutKey,
    /// A key is given but no certificate.
    KeyWithoutCertificate,
    /// Neither is given, the address is not loopback and plain text was not allowed.
    PlainTextOffLoopback,
}

/// Checks a server's transport settings; `None` when they may be used as they are.
pub fn transport_problem(
    listen: SocketAddr,
    has_certificate: bool,
    has_key: bool,
    allow_insecure: bool,
) -> Option<TransportProblem> {
    match (has_certificate, has_key) {
        (true, false) => Some(TransportProblem::CertificateWithoutKey),
        (false, true) => Some(TransportProblem::KeyWithoutCertificate),
        (false, false) if !listen.ip().is_loopback() && !allow_insecure => Some(TransportProblem::PlainTextOffLoopback),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_only_on_loopback_or_when_allowed() {
        let public: SocketAddr = "0.0.0.0:8443".parse().expect("an address");
        let loopback: SocketAddr = "[::1]:8443".parse().expect("an address");
        assert_eq!(transport_problem(public, false, false, false), Some(TransportProblem::PlainTextOffLoopback));
        assert_eq!(transport_problem(public, false, false, true), None);
        assert_eq!(transport_problem(loopback, false, false, false), None);
        assert_eq!(transport_problem(public, true, true, false), None);
        assert_eq!(transport_problem(loopback, true, false, true), Some(TransportProblem::CertificateWithoutKey));
        assert_eq!(transport_problem(loopback, false, true, true), Some(TransportProblem::KeyWithoutCertificate));
    }
}
