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
    use nightjar_record::col;

    let mut w = writer(IpVersion::V6, Ipv4Aliasing::Enabled);
    w.insert_value(net("193.0.14.0/24"), asn_record(25152, "RIPE-NCC-K-ROOT")).expect("insert");
    let asn_db = std::sync::Arc::new(build(&w, "asn.mmdb"));
    let enricher = Enricher::new(std::sync::Arc::new(GeoDb::embedded_country()), Some(asn_db));

    let sources = ["193.0.14.129", "8.8.8.8", "198.51.100.7", "193.0.14.129"];
    let batch = enricher.enrich(&echo_requests_from(&sources)).expect("enrich");
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

/// A packet record batch of raw IPv4 ICMP echo requests to 192.0.2.10, one from each source.
fn echo_requests_from(sources: &[&str]) -> arrow::record_batch::RecordBatch {
    use nightjar_packet::{LinkType, classify, decode};
    use nightjar_record::{PacketBatchBuilder, RecordOptions};

    let mut builder = PacketBatchBuilder::new(RecordOptions::default());
    for source in sources {
        let mut frame = vec![0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0];
        frame.extend_from_slice(&source.parse::<std::net::Ipv4Addr>().expect("a test address").octets());
        frame.extend_from_slice(&[192, 0, 2, 10, 8, 0, 0, 0, 0, 1, 0, 1]);
        let packet = decode(LinkType::Raw, &frame).expect("valid echo request");
        builder.append(0, &packet, &classify(&packet), None);
    }
    builder.finish("s", 1)
}

#[test]
fn answers_kept_across_batches_are_the_databases_answers() {
    // Real networks of the bundled databases (several countries and ASes)
    // and a documentation address with no answer.
    let pool =
        ["1.1.1.1", "8.8.8.8", "193.0.14.129", "202.12.27.33", "200.160.0.8", "41.0.0.1", "198.51.100.7", "9.9.9.9"];
    let databases =
        || (std::sync::Arc::new(GeoDb::embedded_country()), Some(std::sync::Arc::new(GeoDb::embedded_asn())));
    // Generations of three answers: the eight sources churn through them.
    let (country, asn) = databases();
    let kept = Enricher::with_answer_capacity(country, asn, 3);
    for round in 0..6 {
        let sources: Vec<&str> = (0..5).map(|i| pool[(round * 3 + i * i) % pool.len()]).collect();
        let batch = echo_requests_from(&sources);
        let (country, asn) = databases();
        let expected = Enricher::with_answer_capacity(country, asn, 1).enrich(&batch).expect("enrich");
        assert_eq!(kept.enrich(&batch).expect("enrich"), expected, "round {round}");
    }
}

/// Every expected answer below is a row of the CSV files the bundled
/// database was built from (`@ip-location-db/asn` 2.3.2026061719), quoted
/// with its file and line.
#[test]
fn embedded_asn_database_answers_as_its_csv_rows_say() {
    let db = GeoDb::embedded_asn();
    let asn = |addr: &str| {
        db.lookup_asn(&ip(addr)).expect("a readable record").map(|asn| (asn.number, asn.name.unwrap_or_default()))
    };
    let expect =
        |addr: &str, number: u32, name: &str| assert_eq!(asn(addr), Some((number, name.to_string())), "{addr}");
    // asn-ipv4.csv:1      1.0.0.0,1.0.0.255,13335,"Cloudflare, Inc."
    expect("1.0.0.0", 13335, "Cloudflare, Inc.");
    // asn-ipv4.csv:8      1.1.1.0,1.1.1.255,13335,"Cloudflare, Inc."
    expect("1.1.1.1", 13335, "Cloudflare, Inc.");
    // asn-ipv4.csv:5321   8.8.8.0,8.8.8.255,15169,Google LLC
    expect("8.8.8.8", 15169, "Google LLC");
    expect("::ffff:8.8.8.8", 15169, "Google LLC");
    // asn-ipv4.csv:7341   9.9.9.0,9.9.9.255,19281,Quad9
    expect("9.9.9.9", 19281, "Quad9");
    // asn-ipv4.csv:308101 193.0.14.0,193.0.17.255,25152,Reseaux IP Europeens Network Coordination Centre (RIPE NCC)
    expect("193.0.14.129", 25152, "Reseaux IP Europeens Network Coordination Centre (RIPE NCC)");
    // asn-ipv4.csv:352572 202.12.27.0,202.12.27.255,7500,WIDE Project
    expect("202.12.27.33", 7500, "WIDE Project");
    // asn-ipv4.csv:399115 214.95.0.0,215.0.255.255,749,United States Department of Defense (DoD)
    // asn-ipv4.csv:399116 215.0.0.0,215.1.3.255,721,DoD Network Information Center
    // overlap on 215.0.0.0/16, where the later row wins.
    expect("214.255.0.1", 749, "United States Department of Defense (DoD)");
    expect("215.0.0.1", 721, "DoD Network Information Center");
    // asn-ipv4.csv:411961 223.255.254.0,223.255.254.255,55415,Marina Bay Sands Pte Ltd (the last row)
    expect("223.255.254.255", 55415, "Marina Bay Sands Pte Ltd");
    // asn-ipv6.csv:1      2001::,2001::ffff:ffff:ffff:ffff:ffff:ffff,6939,Hurricane Electric LLC (Teredo)
    expect("2001::1", 6939, "Hurricane Electric LLC");
    // asn-ipv6.csv:9302   2001:7fd::,2001:7fd::ffff:ffff:ffff:ffff:ffff,25152,Reseaux IP Europeens … (RIPE NCC)
    expect("2001:7fd::1", 25152, "Reseaux IP Europeens Network Coordination Centre (RIPE NCC)");
    // asn-ipv6.csv:9810   2001:dc3::,2001:dc3:ffff:ffff:ffff:ffff:ffff:ffff,7500,WIDE Project
    expect("2001:dc3::35", 7500, "WIDE Project");
    // asn-ipv6.csv:17109  2001:4860:4805::,2001:4860:4805:ffff:ffff:ffff:ffff:ffff,43515,Google Ireland Limited
    expect("2001:4860:4805::1", 43515, "Google Ireland Limited");
    // asn-ipv6.csv:17112  2001:4860:480d::,2001:4860:ffff:ffff:ffff:ffff:ffff:ffff,15169,Google LLC
    expect("2001:4860:4860::8888", 15169, "Google LLC");
    // asn-ipv6.csv:17580  2002::,2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff,6939,Hurricane Electric LLC (6to4)
    expect("2002:c000:201::1", 6939, "Hurricane Electric LLC");
    // asn-ipv6.csv:41583  2606:4700:4700::,2606:4700:4700:ffff:ffff:ffff:ffff:ffff,13335,"Cloudflare, Inc."
    expect("2606:4700:4700::1111", 13335, "Cloudflare, Inc.");
    // asn-ipv6.csv:103197 2c0f:fff0::,2c0f:fff0:ffff:ffff:ffff:ffff:ffff:ffff,37125,Layer3 Limited (the last row)
    expect("2c0f:fff0::1", 37125, "Layer3 Limited");
    // No row covers private, loopback or documentation space.
    for addr in ["10.0.0.1", "127.0.0.1", "192.0.2.1", "2001:db8::1", "::1"] {
        assert_eq!(asn(addr), None, "{addr}");
    }
    assert!(db.origin().starts_with("embedded asn.mmdb"), "{}", db.origin());
    assert_eq!(db.database_type(), ASN_DATABASE_TYPE);
    let description = &db.reader().metadata().description;
    let attribution = description.get("en").map(String::as_str).unwrap_or_default();
    assert!(attribution.contains("IP to ASN data by RouteViews and DB-IP, licensed under CC BY 4.0"), "{attribution}");
    assert!(attribution.contains(EMBEDDED_ASN_DB_VERSION), "{attribution}");
}

/// Run by `data/refresh.sh` with the CSV files just downloaded:
/// `NIGHTJAR_ASN_CSV_DIR=… cargo test -p nightjar-geo --lib -- --ignored embedded_asn_db_matches_every_csv_row`.
/// Both ends of every row must answer the row's AS, or that of a later row
/// covering the same address (an overlap, where the later row wins).
#[test]
#[ignore = "needs NIGHTJAR_ASN_CSV_DIR, the unpacked @ip-location-db/asn package the bundled asn.mmdb was built from"]
fn embedded_asn_db_matches_every_csv_row() {
    use std::io::BufRead;

    let dir = std::env::var_os("NIGHTJAR_ASN_CSV_DIR").expect("NIGHTJAR_ASN_CSV_DIR names the unpacked package");
    let dir = std::path::Path::new(&dir);
    let mut rows = Vec::new();
    for name in ["asn-ipv4.csv", "asn-ipv6.csv"] {
        let file = std::fs::File::open(dir.join(name)).expect("the package's CSV file");
        for (index, line) in std::io::BufReader::new(file).lines().enumerate() {
            let line = line.expect("a UTF-8 line");
            let row = crate::asn_csv::parse_row(&line).unwrap_or_else(|e| panic!("{name}:{}: {e}", index + 1));
            rows.push((format!("{name}:{}", index + 1), row));
        }
    }
    let db = GeoDb::embedded_asn();
    let mut checked = 0;
    for (index, (location, row)) in rows.iter().enumerate() {
        let (first, last) = row.range.bounds();
        for end in [first, last] {
            let addr: Addr16 = if row.range.is_v6() {
                end.to_be_bytes()
            } else {
                nightjar_packet::map_v4(u32::try_from(end).expect("an IPv4 address").to_be_bytes())
            };
            let found = db.lookup_asn(&addr).expect("a readable record");
            let answers = |other: &crate::asn_csv::AsnRow| {
                found.as_ref().is_some_and(|asn| asn.number == other.number && asn.name == other.organization)
            };
            let overridden = || {
                rows[index + 1..].iter().any(|(_, later)| {
                    let (later_first, later_last) = later.range.bounds();
                    later.range.is_v6() == row.range.is_v6()
                        && (later_first..=later_last).contains(&end)
                        && answers(later)
                })
            };
            assert!(answers(row) || overridden(), "{location}: {row:?} but the database has {found:?} at {end:#x}");
            checked += 1;
        }
    }
    assert!(checked > 1_000_000, "{checked} addresses checked");
}
