//! The ports the risk taxonomy names (`schemas/risks.csv`, as SQL in [`crate::predicate`]), each
//! of which gets a page with its history.

use std::collections::BTreeMap;

use crate::predicate::{PREDICATES, Predicate};

/// A transport port a risk of the taxonomy is defined by.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct RiskPort {
    /// IANA protocol number: 6 (TCP) or 17 (UDP).
    pub protocol: u8,
    /// The destination port.
    pub port: u16,
    /// The slugs of the risks counted on it.
    pub risks: Vec<String>,
}

/// Well-known services of the risk ports, for people.
const SERVICES: &[(u8, u16, &str)] = &[
    (6, 22, "SSH"),
    (6, 23, "Telnet"),
    (6, 81, "HTTP, IoT devices"),
    (6, 80, "HTTP"),
    (6, 139, "NetBIOS session"),
    (6, 443, "HTTPS"),
    (6, 445, "SMB"),
    (6, 1433, "Microsoft SQL Server"),
    (6, 2222, "SSH, alternate"),
    (6, 2323, "Telnet, alternate"),
    (6, 3306, "MySQL"),
    (6, 3389, "RDP"),
    (6, 5432, "PostgreSQL"),
    (6, 5555, "Android Debug Bridge"),
    (6, 6379, "Redis"),
    (6, 7547, "TR-069 (CWMP)"),
    (6, 8000, "HTTP, alternate"),
    (6, 8080, "HTTP proxy, alternate"),
    (6, 8291, "MikroTik Winbox"),
    (6, 8443, "HTTPS, alternate"),
    (6, 8888, "HTTP, alternate"),
    (6, 9200, "Elasticsearch"),
    (6, 27017, "MongoDB"),
    (6, 37215, "Huawei HG532 UPnP"),
    (6, 52869, "Realtek UPnP"),
    (17, 17, "QOTD"),
    (17, 19, "Chargen"),
    (17, 53, "DNS"),
    (17, 123, "NTP"),
    (17, 161, "SNMP"),
    (17, 389, "CLDAP"),
    (17, 1900, "SSDP"),
    (17, 3702, "WS-Discovery"),
    (17, 5683, "CoAP"),
    (17, 11211, "Memcached"),
];

/// `TCP` or `UDP` (or the number).
pub fn protocol_name(protocol: u8) -> String {
    match protocol {
        6 => "TCP".into(),
        17 => "UDP".into(),
        other => format!("protocol {other}"),
    }
}

/// `TCP 22 (SSH)`.
pub fn port_name(protocol: u8, port: u16) -> String {
    match SERVICES.iter().find(|(p, n, _)| *p == protocol && *n == port) {
        Some((_, _, service)) => format!("{} {port} ({service})", protocol_name(protocol)),
        None => format!("{} {port}", protocol_name(protocol)),
    }
}

/// The page of a port: `port-tcp-22.html`.
pub fn port_page(protocol: u8, port: u16) -> String {
    format!("port-{}-{port}.html", protocol_name(protocol).to_lowercase().replace(' ', "-"))
}

/// The port list of one predicate: the numbers of `dst_port IN (…)` or `dst_port = N`.
fn ports_of(condition: &str) -> Vec<u16> {
    if let Some((_, rest)) = condition.split_once("dst_port IN (") {
        let list = rest.split(')').next().unwrap_or_default();
        return list.split(',').filter_map(|n| n.trim().parse().ok()).collect();
    }
    condition
        .split_once("dst_port = ")
        .and_then(|(_, rest)| rest.split(|c: char| !c.is_ascii_digit()).next())
        .and_then(|n| n.parse().ok())
        .into_iter()
        .collect()
}

/// Every port a packet risk names, by protocol and port, with the risks counted on it.
pub fn risk_ports() -> Vec<RiskPort> {
    let mut ports: BTreeMap<(u8, u16), Vec<String>> = BTreeMap::new();
    for (slug, predicate) in PREDICATES {
        let Predicate::Packet(condition) = predicate else { continue };
        let protocol = if condition.contains("protocol = 6") {
            6
        } else if condition.contains("protocol = 17") {
            17
        } else {
            continue;
        };
        for port in ports_of(condition) {
            ports.entry((protocol, port)).or_default().push((*slug).to_string());
        }
    }
    ports.into_iter().map(|((protocol, port), risks)| RiskPort { protocol, port, risks }).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_port_of_the_taxonomy_is_found_with_its_risk_and_named() {
        let ports = risk_ports();
        let find = |protocol, port| ports.iter().find(|p| p.protocol == protocol && p.port == port);
        assert_eq!(find(6, 22).map(|p| p.risks.clone()), Some(vec!["ssh".to_string()]));
        assert_eq!(find(6, 3389).map(|p| p.risks.clone()), Some(vec!["rdp".to_string()]));
        assert_eq!(find(17, 53).map(|p| p.risks.clone()), Some(vec!["amplifier-probe".to_string()]));
        assert!(find(6, 2323).is_some() && find(6, 52869).is_some() && find(17, 17).is_some());
        // Every port number listed in a rule of risks.csv is a page.
        assert_eq!(ports.len(), 2 + 2 + 1 + 2 + 6 + 6 + 6 + 10);
        for port in &ports {
            assert!(port_name(port.protocol, port.port).contains('('), "{port:?} has a service name");
        }
        assert_eq!(port_page(6, 22), "port-tcp-22.html");
        assert_eq!(port_name(17, 9999), "UDP 9999");
    }
}
