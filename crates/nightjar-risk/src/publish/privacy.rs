//! The last check before a published file is written: no IP address in it.

use std::net::{Ipv4Addr, Ipv6Addr};

/// The first piece of `text` that reads as an IPv4 or IPv6 address (or the
/// address part of a CIDR prefix), if any.
pub fn find_address(text: &str) -> Option<&str> {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':')).map(|token| token.trim_matches('.')).find(
        |token| {
            (token.contains('.') && token.parse::<Ipv4Addr>().is_ok())
                || (token.contains(':') && token.parse::<Ipv6Addr>().is_ok())
                || token.rsplit_once(':').is_some_and(|(_, v4)| v4.contains('.') && v4.parse::<Ipv4Addr>().is_ok())
        },
    )
}

#[cfg(test)]
mod tests {
    use super::find_address;

    #[test]
    fn addresses_are_found_and_numbers_dates_and_versions_are_not() {
        assert_eq!(find_address("dark 192.0.2.0/24 here"), Some("192.0.2.0"));
        assert_eq!(find_address("src=2001:db8::1,"), Some("2001:db8::1"));
        assert_eq!(find_address("::ffff:198.51.100.7"), Some("::ffff:198.51.100.7"));
        assert_eq!(find_address("at 10.1.2.3."), Some("10.1.2.3"));
        for clean in ["2026-11-29", "version 2.3.2026061719", "score 43.21", "12:30", "1.5e-7", "AS15169", "a:b"] {
            assert_eq!(find_address(clean), None, "{clean}");
        }
    }
}
