//! Lookups on the bundled database, and on small databases of both record
//! shapes and every IPv4 layout, built here with `mmdb-writer`.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use mmdb_writer::ipnet::IpNet;
use mmdb_writer::{IpVersion, Ipv4Aliasing, Value, Writer};
use nightjar_packet::{Addr16, Prefix, from_ip};

use super::*;

fn ip(text: &str) -> Addr16 {
    from_ip(text.parse::<IpAddr>().expect("a test address"))
}

fn code(text: &str) -> Option<CountryCode> {
    CountryCode::new(text)
}

fn prefix(text: &str) -> Prefix {
    text.parse().expect("a test prefix")
}

fn net(text: &str) -> IpNet {
    text.parse().expect("a test network")
}

fn writer(ip_version: IpVersion, ipv4_aliasing: Ipv4Aliasing) -> Writer {
    Writer::builder("Nightjar-Test-Country")
        .ip_version(ip_version)
        .ipv4_aliasing(ipv4_aliasing)
        .build_epoch(SystemTime::UNIX_EPOCH + Duration::from_secs(1_767_225_600))
        .build()
}

fn build(writer: &Writer, origin: &str) -> GeoDb {
    GeoDb::from_bytes(writer.to_bytes().expect("the test database serialises"), origin).expect("a valid test database")
}

fn flat(country: &str) -> Value {
    Value::map([("country_code", Value::from(country))])
}

fn nested(country: Option<&str>, registered: Option<&str>) -> Value {
    let iso = |c: &str| Value::map([("iso_code", Value::from(c)), ("geoname_id", Value::from(1u32))]);
    let mut fields = vec![("continent", Value::map([("code", Value::from("EU"))]))];
    if let Some(c) = country {
        fields.push(("country", iso(c)));
    }
    if let Some(c) = registered {
        fields.push(("registered_country", iso(c)));
    }
    Value::map(fields)
}

// The expected countries are those of well-known root servers, checked in
// the bundled data: k.root (RIPE NCC, Amsterdam), m.root (WIDE, Tokyo).
#[test]
fn embedded_database_knows_root_servers() {
    let db = GeoDb::embedded_country();
    assert_eq!(db.country(&ip("193.0.14.129")), code("NL"));
    assert_eq!(db.country(&ip("2001:7fd::1")), code("NL"));
    assert_eq!(db.country(&ip("202.12.27.33")), code("JP"));
    assert_eq!(db.country(&ip("2001:dc3::35")), code("JP"));
    assert_eq!(db.country(&ip("8.8.8.8")), code("US"));
    assert_eq!(db.country(&ip("192.0.2.1")), None);
    assert_eq!(db.country(&ip("2001:db8::1")), None);
    assert!(db.origin().starts_with("embedded iptoasn-country.mmdb"), "{}", db.origin());
}

// The bundled file keeps IPv4 under ::/96 only, with no ::ffff:0:0/96 alias:
// a mapped address looked up as IPv6 would find nothing.
#[test]
fn mapped_addresses_are_looked_up_as_ipv4() {
    let db = GeoDb::embedded_country();
    let mapped: IpAddr = "::ffff:202.12.27.33".parse().expect("a mapped address");
    let as_v6 = db.reader().lookup(mapped).expect("a lookup");
    assert!(!as_v6.has_data(), "the bundled file has no ::ffff:0:0/96 alias");
    assert_eq!(db.country_of_ip(mapped).expect("a lookup"), code("JP"));
    assert_eq!(db.country(&ip("::ffff:202.12.27.33")), code("JP"));
}

#[test]
fn embedded_ipv4_networks_cover_the_world_in_order() {
    let db = GeoDb::embedded_country();
    let networks = db.ipv4_networks().expect("a walk over the bundled database");
    assert!(networks.len() > 100_000, "{} networks", networks.len());
    assert!(networks.iter().all(|(_, p)| p.is_v4()));
    assert!(networks.windows(2).all(|w| w[0].1.network() < w[1].1.network()), "address order");
    let countries: std::collections::HashSet<_> = networks.iter().map(|(c, _)| *c).collect();
    assert!(countries.len() > 200, "{} countries", countries.len());
    let k_root = ip("193.0.14.129");
    let (country, _) = networks.iter().find(|(_, p)| p.contains(&k_root)).expect("k.root's network");
    assert_eq!(Some(*country), code("NL"));
    // Every network's first address looks up to the network's country.
    for (country, prefix) in networks.iter().step_by(997) {
        assert_eq!(db.country(&prefix.network()), Some(*country), "{prefix}");
    }
}

#[test]
fn embedded_ipv6_networks_leave_out_ipv4_space() {
    let db = GeoDb::embedded_country();
    let networks = db.ipv6_networks().expect("a walk over the bundled database");
    assert!(networks.len() > 10_000, "{} networks", networks.len());
    assert!(networks.iter().all(|(_, p)| !p.is_v4() && p.network()[..12] != [0; 12]));
    let m_root = ip("2001:dc3::35");
    let (country, _) = networks.iter().find(|(_, p)| p.contains(&m_root)).expect("m.root's network");
    assert_eq!(Some(*country), code("JP"));
}

#[test]
fn flat_country_code_records() {
    let mut w = writer(IpVersion::V6, Ipv4Aliasing::Enabled);
    w.insert_value(net("198.51.100.0/24"), flat("JP")).expect("insert");
    w.insert_value(net("2001:db8::/32"), flat("de")).expect("insert");
    let db = build(&w, "flat.mmdb");
    assert_eq!(db.country(&ip("198.51.100.7")), code("JP"));
    assert_eq!(db.country(&ip("2001:db8::1")), code("DE"));
    assert_eq!(db.country(&ip("203.0.113.1")), None);
    assert_eq!(
        db.ipv4_networks().expect("walk"),
        vec![(CountryCode::new("JP").expect("JP"), prefix("198.51.100.0/24"))]
    );
    assert_eq!(db.ipv6_networks().expect("walk"), vec![(CountryCode::new("DE").expect("DE"), prefix("2001:db8::/32"))]);
}

#[test]
fn nested_iso_code_records_fall_back_to_registered_country() {
    let mut w = writer(IpVersion::V6, Ipv4Aliasing::Enabled);
    w.insert_value(net("198.51.100.0/25"), nested(Some("FR"), Some("FR"))).expect("insert");
    w.insert_value(net("198.51.100.128/25"), nested(None, Some("US"))).expect("insert");
    w.insert_value(net("203.0.113.0/24"), nested(None, None)).expect("insert");
    let db = build(&w, "GeoLite2-Country.mmdb");
    assert_eq!(db.country(&ip("198.51.100.1")), code("FR"));
    assert_eq!(db.country(&ip("198.51.100.200")), code("US"));
    assert_eq!(db.country(&ip("203.0.113.1")), None, "a record with no country");
    let networks = db.ipv4_networks().expect("walk");
    let expected = vec![
        (CountryCode::new("FR").expect("FR"), prefix("198.51.100.0/25")),
        (CountryCode::new("US").expect("US"), prefix("198.51.100.128/25")),
    ];
    assert_eq!(networks, expected, "the record without a country is left out");
}

#[test]
fn ipv4_only_database() {
    let mut w = writer(IpVersion::V4, Ipv4Aliasing::Enabled);
    w.insert_value(net("198.51.100.0/24"), flat("BR")).expect("insert");
    let db = build(&w, "v4.mmdb");
    assert_eq!(db.country(&ip("198.51.100.9")), code("BR"));
    assert_eq!(db.lookup_country(&ip("2001:db8::1")).expect("no error"), None);
    assert_eq!(db.ipv4_networks().expect("walk").len(), 1);
    assert!(db.ipv6_networks().expect("walk").is_empty());
}

#[test]
fn database_with_ipv4_only_in_mapped_form() {
    let mut w = writer(IpVersion::V6, Ipv4Aliasing::Disabled);
    w.insert_value(net("::ffff:198.51.100.0/120"), flat("KE")).expect("insert");
    let db = build(&w, "mapped.mmdb");
    assert_eq!(db.country(&ip("198.51.100.77")), code("KE"));
    assert_eq!(
        db.ipv4_networks().expect("walk"),
        vec![(CountryCode::new("KE").expect("KE"), prefix("198.51.100.0/24"))]
    );
    assert!(db.ipv6_networks().expect("walk").is_empty());
}

#[test]
fn errors_name_the_file_and_the_fix() {
    let missing = GeoDb::open("/nonexistent/GeoLite2-Country.mmdb").expect_err("no such file");
    let msg = missing.to_string();
    assert!(msg.contains("/nonexistent/GeoLite2-Country.mmdb") && msg.contains("path"), "{msg}");

    let dir = tempfile::tempdir().expect("a temp dir");
    let csv = dir.path().join("country.csv");
    std::fs::write(&csv, "1.0.0.0,1.0.0.255,AU\n").expect("write");
    let msg = GeoDb::open(&csv).expect_err("not an mmdb").to_string();
    assert!(msg.contains("country.csv") && msg.contains("not a valid MaxMind DB"), "{msg}");

    // Records that are not maps cannot hold a country.
    let mut w = writer(IpVersion::V6, Ipv4Aliasing::Enabled);
    w.insert_value(net("198.51.100.0/24"), Value::from("JP")).expect("insert");
    let db = build(&w, "strings.mmdb");
    let msg = db.lookup_country(&ip("198.51.100.1")).expect_err("a string record").to_string();
    assert!(msg.contains("strings.mmdb") && msg.contains("198.51.100.1"), "{msg}");
    assert_eq!(db.country(&ip("198.51.100.1")), None);
    assert!(db.ipv4_networks().is_err());
}

#[test]
fn opens_a_file_from_disk() {
    let mut w = writer(IpVersion::V6, Ipv4Aliasing::Enabled);
    w.insert_value(net("198.51.100.0/24"), flat("JP")).expect("insert");
    let dir = tempfile::tempdir().expect("a temp dir");
    let path = dir.path().join("test.mmdb");
    std::fs::write(&path, w.to_bytes().expect("serialise")).expect("write");
    let db = GeoDb::open(&path).expect("open");
    assert_eq!(db.country(&ip("198.51.100.1")), code("JP"));
    assert_eq!(db.database_type(), "Nightjar-Test-Country");
    assert_eq!(db.build_epoch(), 1_767_225_600);
    assert_eq!(db.origin(), path.display().to_string());
}

fn asn_record(number: u32, name: &str) -> Value {
    Value::map([
        ("autonomous_system_number", Value::from(number)),
        ("autonomous_system_organization", Value::from(name)),
    ])
}

#[test]
fn asn_records_are_read() {
    let mut w = writer(IpVersion::V6, Ipv4Aliasing::Enabled);
    w.insert_value(net("198.51.100.0/24"), asn_record(64500, "Example Transit")).expect("insert");
    let db = build(&w, "asn.mmdb");
    let asn = db.lookup_asn(&ip("198.51.100.9")).expect("lookup").expect("an AS");
    assert_eq!((asn.number, asn.name.as_deref()), (64500, Some("Example Transit")));
    assert_eq!(db.lookup_asn(&ip("203.0.113.1")).expect("lookup"), None);
}

#[test]
fn enricher_fills_country_asn_and_name_per_source() {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::UInt32Type;
    use nightjar_packet::{LinkType, classify, decode};
    use nightjar_record::{PacketBatchBuilder, RecordOptions, col};

    let mut w = writer(IpVersion::V6, Ipv4Aliasing::Enabled);
    w.insert_value(net("193.0.14.0/24"), asn_record(25152, "RIPE-NCC-K-ROOT")).expect("insert");
    let asn_db = std::sync::Arc::new(build(&w, "asn.mmdb"));
    let enricher = Enricher::new(std::sync::Arc::new(GeoDb::embedded_country()), Some(asn_db));

    let mut builder = PacketBatchBuilder::new(RecordOptions::default());
    for source in [[193, 0, 14, 129], [8, 8, 8, 8], [198, 51, 100, 7], [193, 0, 14, 129]] {
        // Raw IPv4 ICMP echo request from `source` to 192.0.2.10.
        let mut frame = vec![0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0];
        frame.extend_from_slice(&source);
        frame.extend_from_slice(&[192, 0, 2, 10, 8, 0, 0, 0, 0, 1, 0, 1]);
        let packet = decode(LinkType::Raw, &frame).expect("valid echo request");
        builder.append(0, &packet, &classify(&packet), None);
    }
    let batch = enricher.enrich(&builder.finish("s", 1)).expect("enrich");
    let country = batch.column_by_name(col::COUNTRY).expect("country column");
    let country = country.as_string::<i32>();
    assert_eq!((country.value(0), country.value(1)), ("NL", "US"));
    assert!(country.is_null(2), "documentation addresses have no country");
    assert_eq!(country.value(3), "NL");
    let asn = batch.column_by_name(col::ASN).expect("asn column");
    let asn = asn.as_primitive::<UInt32Type>();
    assert_eq!((asn.value(0), asn.is_null(1), asn.value(3)), (25152, true, 25152));
    let name = batch.column_by_name(col::AS_NAME).expect("as_name column");
    assert_eq!(name.as_string::<i32>().value(0), "RIPE-NCC-K-ROOT");
    assert_eq!(batch.schema(), nightjar_record::packet_schema());
}
