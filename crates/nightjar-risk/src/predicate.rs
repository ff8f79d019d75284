//! The one place where each risk's rule (`schemas/risks.csv`) becomes SQL.
//!
//! Every predicate reads the packet record columns of schema v1. "TCP SYN" is
//! `class = 'scan' AND protocol = 6`: the classifier calls a TCP packet a
//! scan exactly when it has SYN without ACK. The Mirai rule (sequence number
//! = destination address) is the classifier's `tool = 'mirai'`, decided at
//! the sensor before any privacy transform of `dst_ip`, so it is not
//! recomputed here. A source counts as Mirai-infected on one such SYN, even
//! among other traffic: unlike the 16-bit Masscan and ZMap signatures, the
//! rule is a 32-bit equality (2⁻³² per SYN by chance, see `nightjar_packet`'s
//! fingerprint rules), a bot sweeping all of IPv4 reaches a small telescope
//! only a few times a day, and an address behind NAT mixes an infected
//! device's SYNs with its neighbours' traffic. (The `sources` view, which
//! says what a source *was*, asks in addition that most of its scan packets
//! carry the label.) Each packet predicate is wrapped in `coalesce(…, false)`
//! in the SQL so that a null port (a later IP fragment) means "no", never
//! "unknown" — which matters for `other-scan`, defined by what the others
//! are not.

/// How a risk's flag is computed for one packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Predicate {
    /// A condition on the packet's own columns.
    Packet(&'static str),
    /// A scan packet (`class = 'scan'`) that none of the listed risks flags.
    ScanNotIn(&'static [&'static str]),
    /// A packet that any of the listed risks flags.
    AnyOf(&'static [&'static str]),
}

/// The scanning and infection risks (1–9) that `other-scan` is the rest of.
const NAMED_SCANS: &[&str] = &["mirai", "telnet", "ssh", "rdp", "smb", "web", "database", "iot", "amplifier-probe"];

/// Every risk that a source poses (1–9 and 11; not 10, a victim).
const POSED: &[&str] =
    &["mirai", "telnet", "ssh", "rdp", "smb", "web", "database", "iot", "amplifier-probe", "other-scan"];

/// Slug → predicate, for every risk of `schemas/risks.csv` (a test checks both directions).
pub const PREDICATES: &[(&str, Predicate)] = &[
    ("mirai", Predicate::Packet("class = 'scan' AND protocol = 6 AND tool = 'mirai'")),
    (
        "telnet",
        Predicate::Packet(
            "class = 'scan' AND protocol = 6 AND dst_port IN (23, 2323) AND tool IS DISTINCT FROM 'mirai'",
        ),
    ),
    ("ssh", Predicate::Packet("class = 'scan' AND protocol = 6 AND dst_port IN (22, 2222)")),
    ("rdp", Predicate::Packet("class = 'scan' AND protocol = 6 AND dst_port = 3389")),
    ("smb", Predicate::Packet("class = 'scan' AND protocol = 6 AND dst_port IN (445, 139)")),
    ("web", Predicate::Packet("class = 'scan' AND protocol = 6 AND dst_port IN (80, 443, 8080, 8443, 8000, 8888)")),
    (
        "database",
        Predicate::Packet("class = 'scan' AND protocol = 6 AND dst_port IN (1433, 3306, 5432, 6379, 9200, 27017)"),
    ),
    ("iot", Predicate::Packet("class = 'scan' AND protocol = 6 AND dst_port IN (7547, 5555, 37215, 52869, 8291, 81)")),
    (
        "amplifier-probe",
        Predicate::Packet(
            "class = 'scan' AND protocol = 17 AND dst_port IN (53, 123, 161, 1900, 19, 11211, 389, 3702, 5683, 17)",
        ),
    ),
    ("ddos-victim", Predicate::Packet("class = 'backscatter'")),
    ("other-scan", Predicate::ScanNotIn(NAMED_SCANS)),
    ("any", Predicate::AnyOf(POSED)),
];

/// The predicate of the risk called `slug`, if it has one.
pub fn predicate(slug: &str) -> Option<Predicate> {
    PREDICATES.iter().find(|(s, _)| *s == slug).map(|(_, p)| *p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Taxonomy;

    #[test]
    fn every_risk_of_the_csv_has_a_predicate_and_every_predicate_a_risk() {
        let taxonomy = Taxonomy::embedded();
        for risk in taxonomy.risks() {
            assert!(predicate(&risk.slug).is_some(), "risk `{}` of schemas/risks.csv has no SQL predicate", risk.slug);
        }
        for (slug, _) in PREDICATES {
            assert!(taxonomy.get(slug).is_ok(), "predicate `{slug}` is not a risk of schemas/risks.csv");
        }
        assert_eq!(PREDICATES.len(), taxonomy.risks().len());
    }

    #[test]
    fn derived_risks_name_the_risks_their_rules_name() {
        let taxonomy = Taxonomy::embedded();
        // other-scan: every Infected or Scanning risk but itself.
        let named: Vec<&str> = taxonomy
            .risks()
            .iter()
            .filter(|r| (r.taxonomy == "Infected" || r.taxonomy == "Scanning") && r.slug != "other-scan")
            .map(|r| r.slug.as_str())
            .collect();
        assert_eq!(predicate("other-scan"), Some(Predicate::ScanNotIn(NAMED_SCANS)));
        assert_eq!(NAMED_SCANS, &named[..]);
        // any: every risk but the Attacked and Combined ones.
        let posed: Vec<&str> = taxonomy
            .risks()
            .iter()
            .filter(|r| r.taxonomy != "Attacked" && r.taxonomy != "Combined")
            .map(|r| r.slug.as_str())
            .collect();
        assert_eq!(POSED, &posed[..]);
        // Derived risks only refer to packet risks or to earlier derived ones.
        for (slug, p) in PREDICATES {
            if let Predicate::AnyOf(parts) | Predicate::ScanNotIn(parts) = p {
                for part in *parts {
                    assert!(predicate(part).is_some(), "{slug} refers to unknown `{part}`");
                    assert!(!matches!(predicate(part), Some(Predicate::AnyOf(_))), "{slug} refers to a combined risk");
                }
            }
        }
    }

    #[test]
    fn packet_rules_list_the_ports_of_the_csv_rule() {
        fn numbers(text: &str) -> Vec<u32> {
            let mut found: Vec<u32> =
                text.split(|c: char| !c.is_ascii_digit()).filter_map(|t| t.parse().ok()).collect();
            found.sort_unstable();
            found
        }
        let taxonomy = Taxonomy::embedded();
        let mut checked = 0;
        for risk in taxonomy.risks() {
            let Some(Predicate::Packet(sql)) = predicate(&risk.slug) else { continue };
            // "TCP SYN to 23 or 2323, not …" / "UDP probe to 53, 123, … (hunting …)"
            let Some((_, rule_ports)) = risk.rule.split_once(" to ") else { continue };
            let rule_ports = numbers(rule_ports.split('(').next().unwrap_or_default());
            let sql_ports = sql.split_once("dst_port").map(|(_, rest)| rest.split(" AND ").next().unwrap_or_default());
            assert_eq!(numbers(sql_ports.unwrap_or_default()), rule_ports, "ports of `{}`: {sql}", risk.slug);
            checked += 1;
        }
        assert_eq!(checked, 8, "every port-based risk is checked");
    }
}
