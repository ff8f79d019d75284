//! One row of the ip-location-db ASN CSV files (`asn-ipv4.csv`,
//! `asn-ipv6.csv` of the npm package `@ip-location-db/asn`):
//!
//! ```text
//! 1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."
//! 2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project
//! ```
//!
//! Four fields — `ip_range_start`, `ip_range_end` (an inclusive range, both
//! ends of one family), `autonomous_system_number`,
//! `autonomous_system_organization` — in RFC 4180 CSV, split by the `csv`
//! crate's parser (`csv-core`) a line at a time: a field holding a comma is
//! quoted, a quote inside it is doubled, and a quoted field must close on its
//! line (the files never break one; a break inside quotes is the sign of a
//! quote left open). Text after a closing quote joins the field (`"a"b` is
//! `ab`), and a field opening with a space is not a quoted one. Spaces around
//! a field are dropped, also inside the quotes of an organisation. The
//! published files have no header line; one naming the fields is accepted.
//! The package's `-num` files, which write addresses as decimal numbers, are
//! refused: a number does not say which family it belongs to.

use std::borrow::Cow;
use std::net::IpAddr;

use crate::cidr::AddrRange;

/// A parsed row.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct AsnRow {
    pub(crate) range: AddrRange,
    pub(crate) number: u32,
    /// `None` when the field is empty.
    pub(crate) organization: Option<String>,
}

/// What is wrong with one line of an ASN CSV file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RowError {
    /// Not four fields.
    #[error(
        "expected 4 comma-separated fields (ip_range_start, ip_range_end, autonomous_system_number, \
         autonomous_system_organization), found {0}"
    )]
    FieldCount(usize),
    /// A quoted field runs over a line break: a quote left open.
    #[error("a quoted field is not closed on this line (fields spanning lines are not supported)")]
    UnclosedQuote,
    /// An address written as a decimal number, as in the `-num` files.
    #[error(
        "{field} `{value}` is a number, not an IP address: the `-num` CSV files are not supported, \
         use asn-ipv4.csv and asn-ipv6.csv"
    )]
    NumericAddress {
        /// `ip_range_start` or `ip_range_end`.
        field: &'static str,
        /// The field as written.
        value: String,
    },
    /// An address that does not parse.
    #[error("{field} `{value}` is not an IPv4 or IPv6 address")]
    BadAddress {
        /// `ip_range_start` or `ip_range_end`.
        field: &'static str,
        /// The field as written.
        value: String,
    },
    /// One end IPv4, the other IPv6.
    #[error("the range {first} – {last} mixes IPv4 and IPv6")]
    MixedFamilies {
        /// Start of the range.
        first: IpAddr,
        /// End of the range.
        last: IpAddr,
    },
    /// The start comes after the end.
    #[error("the range starts at {first}, after its end {last}")]
    Reversed {
        /// Start of the range.
        first: IpAddr,
        /// End of the range.
        last: IpAddr,
    },
    /// An IPv6 range overlapping `::/96`, where the database keeps IPv4.
    #[error(
        "the IPv6 range {first} – {last} reaches into ::/96, where the database keeps the IPv4 addresses; \
         write IPv4 ranges as IPv4"
    )]
    Ipv4CompatSpace {
        /// Start of the range.
        first: IpAddr,
        /// End of the range.
        last: IpAddr,
    },
    /// The AS number is not a 32-bit unsigned number.
    #[error("autonomous_system_number `{0}` is not an AS number (0 to 4294967295, written without `AS`)")]
    BadAsn(String),
}

/// Whether `line` is a header naming the fields rather than a row.
pub(crate) fn is_header(line: &str) -> bool {
    line.trim_start_matches([' ', '\t', '"']).to_ascii_lowercase().starts_with("ip_range_start")
}

/// Parses lines with the `csv` crate's parser (`csv-core`), one reader and
/// its buffers reused from line to line.
pub(crate) struct RowParser {
    reader: csv_core::Reader,
    /// The fields' text, unquoted, one after the other.
    text: Vec<u8>,
    /// Where each field ends in `text`.
    ends: Vec<usize>,
}

impl Default for RowParser {
    fn default() -> Self {
        let reader = csv_core::ReaderBuilder::new().terminator(csv_core::Terminator::Any(b'\n')).build();
        RowParser { reader, text: Vec::new(), ends: Vec::new() }
    }
}

impl RowParser {
    /// Parse one line (without its line break).
    pub(crate) fn parse(&mut self, line: &str) -> Result<AsnRow, RowError> {
        let fields = self.split(line)?;
        parse_fields(&fields)
    }

    /// The fields of `line`, unquoted.
    fn split(&mut self, line: &str) -> Result<Vec<Cow<'_, str>>, RowError> {
        if line.is_empty() {
            return Err(RowError::FieldCount(0));
        }
        // Unquoting never lengthens a line, and each comma ends one field.
        self.text.resize(line.len() + 1, 0);
        self.ends.resize(line.len() + 2, 0);
        self.reader.reset();
        let (_, _, text_len, fields) = self.reader.read_record(line.as_bytes(), &mut self.text, &mut self.ends);
        // The line break ends the record, unless a quote left open takes it into a field.
        let (ending, _, more_text, more_fields) =
            self.reader.read_record(b"\n", &mut self.text[text_len..], &mut self.ends[fields..]);
        if ending != csv_core::ReadRecordResult::Record {
            return Err(RowError::UnclosedQuote);
        }
        let text = &self.text[..text_len + more_text];
        let mut start = 0;
        let fields = self.ends[..fields + more_fields].iter().map(|&end| {
            // Fields are pieces of a `str` cut at ASCII quotes and commas: UTF-8 still.
            let field = String::from_utf8_lossy(&text[start..end]);
            start = end;
            field
        });
        Ok(fields.collect())
    }
}

/// Parse one line with a parser of its own.
#[cfg(test)]
pub(crate) fn parse_row(line: &str) -> Result<AsnRow, RowError> {
    RowParser::default().parse(line)
}

/// Parse one row's fields.
fn parse_fields(fields: &[Cow<'_, str>]) -> Result<AsnRow, RowError> {
    let [start, end, number, organization] = fields else {
        return Err(RowError::FieldCount(fields.len()));
    };
    let [start, end, number] = [start, end, number].map(|field| field.trim_matches([' ', '\t']));
    // An IPv4-mapped IPv6 address is an IPv4 address, as everywhere in Nightjar.
    let first = parse_addr("ip_range_start", start)?.to_canonical();
    let last = parse_addr("ip_range_end", end)?.to_canonical();
    let range = AddrRange::new(first, last).ok_or(if first.is_ipv4() == last.is_ipv4() {
        RowError::Reversed { first, last }
    } else {
        RowError::MixedFamilies { first, last }
    })?;
    if let AddrRange::V6 { first: start, .. } = range
        && start <= u128::from(u32::MAX)
    {
        return Err(RowError::Ipv4CompatSpace { first, last });
    }
    let number = number.parse::<u32>().map_err(|_| RowError::BadAsn(number.to_string()))?;
    // DB-IP cuts long names short, some at a space: "MidMichigan  Health ".
    let organization = organization.trim();
    let organization = (!organization.is_empty()).then(|| organization.to_string());
    Ok(AsnRow { range, number, organization })
}

fn parse_addr(field: &'static str, value: &str) -> Result<IpAddr, RowError> {
    value.parse().map_err(|_| {
        let value = value.to_string();
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            RowError::NumericAddress { field, value }
        } else {
            RowError::BadAddress { field, value }
        }
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().expect("a test address")
    }

    fn row(first: &str, last: &str, number: u32, organization: Option<&str>) -> AsnRow {
        AsnRow {
            range: AddrRange::new(ip(first), ip(last)).expect("a test range"),
            number,
            organization: organization.map(str::to_string),
        }
    }

    #[test]
    fn rows_as_published() {
        assert_eq!(
            parse_row(r#"1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc.""#),
            Ok(row("1.0.0.0", "1.0.0.255", 13335, Some("Cloudflare, Inc.")))
        );
        assert_eq!(
            parse_row("2001:200::,2001:200:1b9:ffff:ffff:ffff:ffff:ffff,2500,WIDE Project"),
            Ok(row("2001:200::", "2001:200:1b9:ffff:ffff:ffff:ffff:ffff", 2500, Some("WIDE Project")))
        );
        // Doubled quotes, as in asn-ipv4.csv line `2.26.200.0,2.26.215.255,201907,"LLC ""SPUTNIK"""`.
        assert_eq!(
            parse_row(r#"2.26.200.0,2.26.215.255,201907,"LLC ""SPUTNIK""""#),
            Ok(row("2.26.200.0", "2.26.215.255", 201907, Some(r#"LLC "SPUTNIK""#)))
        );
        assert_eq!(
            parse_row("1.0.0.0,1.0.0.255,4294967295,"),
            Ok(row("1.0.0.0", "1.0.0.255", u32::MAX, None)),
            "an empty organisation"
        );
    }

    #[test]
    fn spaces_around_fields_and_quoted_addresses() {
        assert_eq!(
            parse_row(r#" 1.0.0.0 ,"1.0.0.255", 13335 ,"Cloudflare, Inc."  "#),
            Ok(row("1.0.0.0", "1.0.0.255", 13335, Some("Cloudflare, Inc.")))
        );
        assert_eq!(parse_row(r#"1.0.0.0,1.0.0.255,1,"""""#), Ok(row("1.0.0.0", "1.0.0.255", 1, Some("\""))));
        // asn-ipv4.csv has 228 rows like this one, names cut short at a space.
        assert_eq!(
            parse_row("1.0.0.0,1.0.0.255,46119,MidMichigan  Health "),
            Ok(row("1.0.0.0", "1.0.0.255", 46119, Some("MidMichigan  Health")))
        );
        assert_eq!(parse_row(r#"1.0.0.0,1.0.0.255,1," Name ""#), Ok(row("1.0.0.0", "1.0.0.255", 1, Some("Name"))));
        assert_eq!(parse_row(r#"1.0.0.0,1.0.0.255,1,"  ""#), Ok(row("1.0.0.0", "1.0.0.255", 1, None)));
    }

    #[test]
    fn quotes_are_read_as_the_csv_crate_reads_them() {
        // A field opening with a space is not quoted: its comma splits it.
        assert_eq!(parse_row(r#"1.0.0.0,1.0.0.255,1, "Example, Inc.""#), Err(RowError::FieldCount(5)));
        // Text after a closing quote joins the field.
        assert_eq!(
            parse_row(r#"1.0.0.0,1.0.0.255,1,"LLC "SPUTNIK"""#),
            Ok(row("1.0.0.0", "1.0.0.255", 1, Some(r#"LLC SPUTNIK"""#)))
        );
    }

    #[test]
    fn mapped_addresses_are_ipv4() {
        assert_eq!(parse_row("::ffff:1.0.0.0,::ffff:1.0.0.255,7,x"), Ok(row("1.0.0.0", "1.0.0.255", 7, Some("x"))));
    }

    #[test]
    fn headers() {
        assert!(is_header("ip_range_start, ip_range_end, autonomous_system_number, autonomous_system_organization"));
        assert!(is_header(r#""IP_RANGE_START","ip_range_end""#));
        assert!(!is_header("1.0.0.0,1.0.0.255,13335,x"));
    }

    #[test]
    fn bad_rows_say_what_is_wrong() {
        let error = |line: &str| parse_row(line).expect_err(line);
        assert_eq!(error("1.0.0.0,1.0.0.255,13335"), RowError::FieldCount(3));
        assert_eq!(error("1.0.0.0,1.0.0.255,13335,a,b"), RowError::FieldCount(5));
        assert_eq!(error(""), RowError::FieldCount(0));
        assert_eq!(error(r#"1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."#), RowError::UnclosedQuote);
        assert_eq!(
            error("16777216,16777471,13335,x"),
            RowError::NumericAddress { field: "ip_range_start", value: "16777216".into() }
        );
        assert_eq!(
            error("1.0.0.0,1.0.0.256,13335,x"),
            RowError::BadAddress { field: "ip_range_end", value: "1.0.0.256".into() }
        );
        assert_eq!(
            error("1.0.0.0/24,1.0.0.255,13335,x"),
            RowError::BadAddress { field: "ip_range_start", value: "1.0.0.0/24".into() }
        );
        assert_eq!(
            error("1.0.0.0,2001:db8::,13335,x"),
            RowError::MixedFamilies { first: ip("1.0.0.0"), last: ip("2001:db8::") }
        );
        assert_eq!(error("1.0.0.9,1.0.0.1,13335,x"), RowError::Reversed { first: ip("1.0.0.9"), last: ip("1.0.0.1") });
        assert_eq!(
            error("2001:db8::9,2001:db8::1,1,x"),
            RowError::Reversed { first: ip("2001:db8::9"), last: ip("2001:db8::1") }
        );
        assert_eq!(error("::,::1:0:0,1,x"), RowError::Ipv4CompatSpace { first: ip("::"), last: ip("::1:0:0") });
        assert_eq!(error("1.0.0.0,1.0.0.255,AS13335,x"), RowError::BadAsn("AS13335".into()));
        assert_eq!(error("1.0.0.0,1.0.0.255,4294967296,x"), RowError::BadAsn("4294967296".into()));
        assert_eq!(error("1.0.0.0,1.0.0.255,-1,x"), RowError::BadAsn("-1".into()));
        assert!(error("1.0.0.0,1.0.0.255,,x").to_string().contains("autonomous_system_number ``"));
        assert!(error("16777216,16777471,13335,x").to_string().contains("asn-ipv4.csv"));
    }

    proptest! {
        #[test]
        fn any_line_parses_or_fails_cleanly(line in "\\PC*") {
            let _ = parse_row(&line);
        }

        #[test]
        fn quoting_round_trips(organization in "[^\r\n]*") {
            let quoted = organization.replace('"', "\"\"");
            let parsed = parse_row(&format!("1.0.0.0,1.0.0.255,64500,\"{quoted}\"")).expect("a quoted row");
            let organization = organization.trim();
            prop_assert_eq!(parsed.organization.as_deref(), (!organization.is_empty()).then_some(organization));
        }
    }
}
