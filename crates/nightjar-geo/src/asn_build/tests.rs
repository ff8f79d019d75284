//! Small hand-made CSV files through the builder and back out through
//! [`GeoDb::lookup_asn`].

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use nightjar_packet::{Addr16, from_ip};

use super::*;
use crate::GeoDb;

fn ip(text: &str) -> Addr16 {
    from_ip(text.parse::<IpAddr>().expect("a test address"))
}

fn build(files: &[(&str, &str)]) -> Result<(GeoDb, AsnBuildReport), AsnBuildError> {
    let mut builder = AsnDbBuilder::new(&AsnDbOptions::default());
    for (name, csv) in files {
        builder.add_csv(*name, csv.as_bytes())?;
    }
    let built = builder.finish()?;
    Ok((GeoDb::from_bytes(built.bytes, "test-asn.mmdb").expect("a valid database"), built.report))
}

/// The AS number and organisation `db` holds for `addr`.
fn asn(db: &GeoDb, addr: &str) -> Option<(u32, Option<String>)> {
    db.lookup_asn(&ip(addr)).expect("a readable record").map(|asn| (asn.number, asn.name))
}

fn number(db: &GeoDb, addr: &str) -> Option<u32> {
    asn(db, addr).map(|(number, _)| number)
}

const IPV4_CSV: &str = "\
1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"
1.0.128.0,1.0.196.255,23969,TOT Public Company Limited
198.51.100.1,198.51.100.6,64500,\"LLC \"\"SPUTNIK\"\"\"
203.0.113.9,203.0.113.9,64501,
";

const IPV6_CSV: &str = "\
2001::,2001::ffff:ffff:ffff:ffff:ffff:ffff,6939,Hurricane Electric LLC
2001:db8::1,2001:db8::4,64502,Example Six
2002::,2002:ffff:ffff:ffff:ffff:ffff:ffff:ffff,6939,Hurricane Electric LLC
";

#[test]
fn ipv4_rows_round_trip_through_lookup_asn() {
    let (db, report) = build(&[("asn-ipv4.csv", IPV4_CSV)]).expect("a database");
    assert_eq!(asn(&db, "1.0.0.0"), Some((13335, Some("Cloudflare, Inc.".into()))));
    assert_eq!(number(&db, "1.0.0.255"), Some(13335));
    assert_eq!(number(&db, "1.0.1.0"), None);
    // 1.0.128.0–1.0.196.255 is a /18, a /22 and a /24: every part and both edges.
    for addr in ["1.0.128.0", "1.0.191.255", "1.0.192.0", "1.0.195.255", "1.0.196.0", "1.0.196.255"] {
        assert_eq!(number(&db, addr), Some(23969), "{addr}");
    }
    assert_eq!(number(&db, "1.0.127.255"), None);
    assert_eq!(number(&db, "1.0.197.0"), None);
    // 198.51.100.1–6 is /32, /31, /31, /32: the neighbours stay empty.
    assert_eq!(number(&db, "198.51.100.0"), None);
    for last_octet in 1..=6 {
        assert_eq!(asn(&db, &format!("198.51.100.{last_octet}")), Some((64500, Some(r#"LLC "SPUTNIK""#.into()))));
    }
    assert_eq!(number(&db, "198.51.100.7"), None);
    assert_eq!(asn(&db, "203.0.113.9"), Some((64501, None)), "an empty organisation is left out");
    assert_eq!(number(&db, "203.0.113.8"), None);
    // IPv4-mapped addresses are IPv4; IPv6 space holds nothing.
    assert_eq!(number(&db, "::ffff:1.0.0.7"), Some(13335));
    assert_eq!(number(&db, "2001:db8::1"), None);
    let expected = AsnBuildReport { ipv4_rows: 4, ipv4_networks: 1 + 3 + 4 + 1, ..AsnBuildReport::default() };
    assert_eq!(report, expected);
}

#[test]
fn ipv6_rows_round_trip_and_keep_teredo_and_6to4() {
    let (db, report) = build(&[("asn-ipv6.csv", IPV6_CSV)]).expect("a database");
    assert_eq!(asn(&db, "2001::1"), Some((6939, Some("Hurricane Electric LLC".into()))));
    assert_eq!(number(&db, "2001:0:ffff:ffff:ffff:ffff:ffff:ffff"), Some(6939));
    assert_eq!(number(&db, "2002:c000:0201::1"), Some(6939), "6to4 space is its own row, not an IPv4 alias");
    assert_eq!(number(&db, "2001:1::"), None);
    assert_eq!(number(&db, "2001:db8::"), None);
    for addr in ["2001:db8::1", "2001:db8::2", "2001:db8::3", "2001:db8::4"] {
        assert_eq!(number(&db, addr), Some(64502), "{addr}");
    }
    assert_eq!(number(&db, "2001:db8::5"), None);
    assert_eq!(number(&db, "1.0.0.1"), None);
    assert_eq!(report.ipv6_rows, 3);
    assert_eq!(report.ipv6_networks, 1 + 3 + 1);
}

#[test]
fn both_families_in_one_database() {
    let (db, report) = build(&[("asn-ipv4.csv", IPV4_CSV), ("asn-ipv6.csv", IPV6_CSV)]).expect("a database");
    assert_eq!(number(&db, "1.0.196.255"), Some(23969));
    assert_eq!(number(&db, "2001:db8::4"), Some(64502));
    assert_eq!((report.ipv4_rows, report.ipv6_rows), (4, 3));
    assert!(report.overlaps.is_empty());
    // The IPv4 networks are walked where the country code looks for them.
    assert_eq!(db.ipv4_layout(), crate::db::Ipv4Layout::CompatSubtree);
}

#[test]
fn headers_blank_lines_crlf_and_a_byte_order_mark_are_accepted() {
    let csv = "\u{feff}ip_range_start,ip_range_end,autonomous_system_number,autonomous_system_organization\r\n\
               \r\n\
               1.0.0.0,1.0.0.255,13335,\"Cloudflare, Inc.\"\r\n\
               1.0.4.0,1.0.7.255,38803,Gtelecom Pty Ltd";
    let (db, report) = build(&[("crlf.csv", csv)]).expect("a database");
    assert_eq!(asn(&db, "1.0.0.1"), Some((13335, Some("Cloudflare, Inc.".into()))));
    assert_eq!(asn(&db, "1.0.7.255"), Some((38803, Some("Gtelecom Pty Ltd".into()))));
    assert_eq!(report.ipv4_rows, 2);
}

#[test]
fn bad_rows_are_reported_with_file_and_line() {
    let message = |name: &str, csv: &str| build(&[("good.csv", IPV4_CSV), (name, csv)]).expect_err(csv).to_string();

    let msg = message("bad.csv", "1.0.0.0,1.0.0.255,13335,ok\n\n2.0.0.0,2.0.0.300,1,x\n");
    assert!(msg.starts_with("bad.csv:3: ip_range_end `2.0.0.300` is not an IPv4 or IPv6 address"), "{msg}");

    let msg = message("asn-ipv4-num.csv", "16777216,16777471,13335,\"Cloudflare, Inc.\"\n");
    assert!(msg.starts_with("asn-ipv4-num.csv:1: ip_range_start `16777216` is a number"), "{msg}");
    assert!(msg.contains("use asn-ipv4.csv and asn-ipv6.csv"), "{msg}");

    let msg = message("short.csv", "1.0.0.0,1.0.0.255\n");
    assert!(msg.starts_with("short.csv:1: expected 4 comma-separated fields"), "{msg}");

    let msg = message("reversed.csv", "1.0.0.0,1.0.0.255,1,x\n2001:db8::ff,2001:db8::1,2,y\n");
    assert!(msg.starts_with("reversed.csv:2: the range starts at 2001:db8::ff, after its end 2001:db8::1"), "{msg}");

    let msg = message("mixed.csv", "1.0.0.0,2001:db8::1,2,y\n");
    assert!(msg.starts_with("mixed.csv:1: the range 1.0.0.0 – 2001:db8::1 mixes IPv4 and IPv6"), "{msg}");

    let msg = message("asn.csv", "1.0.0.0,1.0.0.255,AS13335,x\n");
    assert!(msg.starts_with("asn.csv:1: autonomous_system_number `AS13335` is not an AS number"), "{msg}");

    let msg = message("quote.csv", "1.0.0.0,1.0.0.255,13335,\"Cloudflare\n, Inc.\"\n");
    assert!(msg.starts_with("quote.csv:1: a quoted field is not closed"), "{msg}");

    let mut not_text = b"1.0.0.0,1.0.0.255,1,x\n".to_vec();
    not_text.extend_from_slice(&[0x1f, 0x8b, 0x08, 0x00, 0xff, b'\n']);
    let mut builder = AsnDbBuilder::new(&AsnDbOptions::default());
    let msg = builder.add_csv("asn-ipv4.csv.gz", not_text.as_slice()).expect_err("gzip bytes").to_string();
    assert!(msg.starts_with("asn-ipv4.csv.gz:2: not UTF-8 text"), "{msg}");
}

#[test]
fn missing_files_and_empty_input_are_errors() {
    let mut builder = AsnDbBuilder::new(&AsnDbOptions::default());
    let msg = builder.add_csv_file("/nonexistent/asn-ipv4.csv").expect_err("no such file").to_string();
    assert!(msg.starts_with("cannot read /nonexistent/asn-ipv4.csv: "), "{msg}");

    let msg = build(&[("empty.csv", ""), ("header.csv", "ip_range_start,ip_range_end,asn,org\n")])
        .expect_err("no rows")
        .to_string();
    assert!(msg.contains("no rows") && msg.contains("@ip-location-db/asn"), "{msg}");
}

#[test]
fn reads_files_from_disk() {
    let dir = tempfile::tempdir().expect("a temp dir");
    let (v4, v6) = (dir.path().join("asn-ipv4.csv"), dir.path().join("asn-ipv6.csv"));
    std::fs::write(&v4, IPV4_CSV).expect("write");
    std::fs::write(&v6, IPV6_CSV).expect("write");
    let mut builder = AsnDbBuilder::new(&AsnDbOptions::default());
    builder.add_csv_file(&v4).expect("IPv4 rows");
    builder.add_csv_file(&v6).expect("IPv6 rows");
    let built = builder.finish().expect("a database");
    let db = GeoDb::from_bytes(built.bytes, "from-disk.mmdb").expect("valid");
    assert_eq!(number(&db, "1.0.0.1"), Some(13335));
    assert_eq!(number(&db, "2001:db8::3"), Some(64502));
}

// asn-ipv4.csv 2.3.2026061719 has 214.95.0.0–215.0.255.255 (AS749) at
// line 399115 and 215.0.0.0–215.1.3.255 (AS721) at line 399116.
#[test]
fn overlapping_rows_the_later_one_wins_and_is_reported() {
    let csv = "214.95.0.0,215.0.255.255,749,DoD\n215.0.0.0,215.1.3.255,721,DoD NIC\n";
    let (db, report) = build(&[("asn-ipv4.csv", csv)]).expect("a database");
    assert_eq!(number(&db, "214.255.255.255"), Some(749));
    assert_eq!(number(&db, "215.0.0.0"), Some(721));
    assert_eq!(number(&db, "215.0.255.255"), Some(721));
    assert_eq!(number(&db, "215.1.3.255"), Some(721));
    let line = |line| CsvLine { file: "asn-ipv4.csv".into(), line };
    assert_eq!(
        report.overlaps,
        vec![AsnOverlap {
            first: "215.0.0.0".parse().expect("an address"),
            last: "215.0.255.255".parse().expect("an address"),
            kept: line(2),
            overridden: line(1),
        }]
    );
    assert_eq!(report.overlaps[0].kept.to_string(), "asn-ipv4.csv:2");

    // Given in the other order, the wide row comes later and wins everywhere.
    let csv = "215.0.0.0,215.1.3.255,721,DoD NIC\n214.95.0.0,215.0.255.255,749,DoD\n";
    let (db, report) = build(&[("asn-ipv4.csv", csv)]).expect("a database");
    assert_eq!(number(&db, "215.0.0.0"), Some(749));
    assert_eq!(number(&db, "215.1.0.0"), Some(721));
    assert_eq!((report.overlaps[0].kept.line, report.overlaps[0].overridden.line), (2, 1));

    // Across files, and a row inside another; the families never overlap each other.
    let (db, report) = build(&[
        ("a.csv", "10.0.0.0,10.255.255.255,1,wide\n2001:db8::,2001:db8::ff,3,six\n"),
        ("b.csv", "10.1.0.0,10.1.0.255,2,narrow\n0.0.0.0,0.0.0.255,4,zero\n"),
    ])
    .expect("a database");
    assert_eq!(
        (number(&db, "10.0.255.255"), number(&db, "10.1.0.9"), number(&db, "10.1.1.0")),
        (Some(1), Some(2), Some(1))
    );
    assert_eq!(report.overlaps.len(), 1, "{:?}", report.overlaps);
    assert_eq!(report.overlaps[0].kept.to_string(), "b.csv:1");
    assert_eq!(report.overlaps[0].overridden.to_string(), "a.csv:1");
    assert_eq!(report.overlaps[0].last, "10.1.0.255".parse::<IpAddr>().expect("an address"));
}

#[test]
fn metadata_and_reproducible_output() {
    let options = AsnDbOptions {
        description: Some("IP to ASN data by RouteViews and DB-IP, licensed under CC BY 4.0".into()),
        build_epoch: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_781_000_000)),
        ..AsnDbOptions::default()
    };
    let bytes = || {
        let mut builder = AsnDbBuilder::new(&options);
        builder.add_csv("asn-ipv4.csv", IPV4_CSV.as_bytes()).expect("rows");
        builder.add_csv("asn-ipv6.csv", IPV6_CSV.as_bytes()).expect("rows");
        builder.finish().expect("a database").bytes
    };
    let first = bytes();
    assert_eq!(first, bytes(), "the same input and options give the same bytes");
    let db = GeoDb::from_bytes(first, "meta.mmdb").expect("valid");
    assert_eq!(db.database_type(), ASN_DATABASE_TYPE);
    assert_eq!(db.build_epoch(), 1_781_000_000);
    let description = &db.reader().metadata().description;
    assert_eq!(description.get("en").map(String::as_str), options.description.as_deref());
}
