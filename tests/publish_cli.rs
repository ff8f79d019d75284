//! `nightjar publish` is never blocked by the text of third-party databases: an AS *named* like
//! an address prefix is published as its AS number, the site and the output say how many names
//! were redacted, and no published file holds the address-like name. And the site a reader gets:
//! a name for every country and no country page for a regional code, per-million rankings
//! without tiny territories, a downloads page with licence and citation, methods, each
//! country's top ASes and ports, a page per risk port with its history, one shared map.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::support::risk_data;

use risk_data::{DARK_PREFIXES, Traffic, dataset, files_under, generate_and_import, nightjar};

/// The name an AS really has in a public ASN database.
const ADDRESS_LIKE_NAME: &str = "203.31.164.0/23";

/// An ASN database where half of IPv4 belongs to AS64500, named like a prefix.
fn asn_db(work: &Path) -> PathBuf {
    let csv = work.join("asn-ipv4.csv");
    fs::write(
        &csv,
        format!(
            "0.0.0.0,127.255.255.255,64500,\"{ADDRESS_LIKE_NAME}\"\n128.0.0.0,255.255.255.255,64501,Example Transit\n"
        ),
    )
    .unwrap();
    let mmdb = work.join("asn.mmdb");
    nightjar(&["geo", "build-asn", "--csv", csv.to_str().unwrap(), "--out", mmdb.to_str().unwrap()]);
    mmdb
}

fn an_as_named_like_an_address_is_published_as_its_number() {
    let work = tempfile::tempdir().unwrap();
    let site = work.path().join("site");
    let mmdb = asn_db(work.path());
    let traffic = Traffic {
        packets: 20_000,
        seed: 23,
        start: "2026-11-21",
        seconds: 172_800,
        dark_prefixes: &DARK_PREFIXES[..1],
    };
    let data = generate_and_import(work.path(), &traffic, &["--asn-db", mmdb.to_str().unwrap()]);
    let stored = nightjar(&[
        "sql",
        "--data",
        data.to_str().unwrap(),
        "--format",
        "csv",
        "-c",
        "SELECT count(*) AS n FROM packets WHERE asn = 64500",
    ]);
    assert!(stored.lines().nth(1).and_then(|n| n.parse::<u64>().ok()).unwrap_or(0) > 0, "{stored}");

    let out =
        nightjar(&["publish", "--data", data.to_str().unwrap(), "--out", site.to_str().unwrap(), "--k", "1", "-q"]);
    assert!(out.contains("AS names redacted: 1"), "{out}");
    for file in files_under(&site) {
        let text = fs::read_to_string(&file).unwrap();
        assert!(!text.contains("203.31.164.0"), "{} holds the address-like AS name", file.display());
    }
    let summary: Value = serde_json::from_str(&fs::read_to_string(site.join("data/summary.json")).unwrap()).unwrap();
    assert_eq!(summary["as_names_redacted"], 1, "{summary}");
    assert_eq!(summary["as_names_redacted_asns"], serde_json::json!([64500]), "{summary}");
    let asns = fs::read_to_string(site.join("data/asns-month.csv")).unwrap();
    assert!(column(&asns, "asn").contains(&"64500"), "{asns}");
    let names = fs::read_to_string(site.join("data/asn-names.csv")).unwrap();
    assert!(names.lines().any(|line| line == "64500,AS64500"), "{names}");
    let risk_page = fs::read_to_string(site.join("risk-any.html")).unwrap();
    assert!(risk_page.contains("1 AS name from the ASN database read as an IP address"), "{risk_page}");
}

/// The cell `column` of every data row of a CSV table without quoted cells.
fn column<'a>(csv: &'a str, column: &str) -> Vec<&'a str> {
    let at = csv.lines().next().unwrap().split(',').position(|c| c == column).unwrap();
    csv.lines().skip(1).map(|line| line.split(',').nth(at).unwrap_or_default()).collect()
}

/// The text between `start` and the next `end` after it.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let from = text.find(start).unwrap_or_else(|| panic!("no {start}")) + start.len();
    &text[from..from + text[from..].find(end).unwrap()]
}

/// The ports in the rules of schemas/risks.csv, as the page each must have: `port-tcp-22.html`.
fn risk_port_pages() -> Vec<String> {
    let risks = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/risks.csv")).unwrap();
    let mut pages = Vec::new();
    for line in risks.lines().skip(1) {
        let (protocol, rest) = match (line.split_once("TCP SYN to "), line.split_once("UDP probe to ")) {
            (Some((_, rest)), _) => ("tcp", rest),
            (_, Some((_, rest))) => ("udp", rest),
            _ => continue,
        };
        let numbers = rest.split(['(', '"']).next().unwrap();
        for port in numbers.split(|c: char| !c.is_ascii_digit()).filter(|n| !n.is_empty()) {
            pages.push(format!("port-{protocol}-{port}.html"));
        }
    }
    pages
}

fn the_site_names_ranks_and_documents_what_it_publishes() {
    let work = tempfile::tempdir().unwrap();
    let data = dataset(work.path());
    let site = work.path().join("site");
    nightjar(&["publish", "--data", data.to_str().unwrap(), "--out", site.to_str().unwrap(), "-q"]);
    let read = |name: &str| fs::read_to_string(site.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));

    // Every country page is titled with a name, not its code; regional codes get no page.
    let countries = read("data/countries-month.csv");
    let codes: std::collections::BTreeSet<&str> = column(&countries, "country").into_iter().collect();
    assert!(codes.len() > 50, "{codes:?}");
    let mut pages = 0;
    for code in &codes {
        let page = site.join(format!("country-{code}.html"));
        if ["AP", "EU", "A1", "A2", "O1"].contains(code) {
            assert!(!page.exists(), "{code} is not a country and has no page");
            assert!(read("countries.html").contains(&format!("({code})")), "{code} is listed as a region");
            continue;
        }
        let html = fs::read_to_string(&page).unwrap_or_else(|_| panic!("{code} has a page"));
        let title = between(&html, "<h1>", "</h1>");
        assert!(title.ends_with(&format!(" ({code})")) && title.len() > code.len() + 4, "{code}: {title}");
        pages += 1;
    }
    assert!(pages > 50);

    // Per million addresses: only countries of at least a million addresses (rate <= sources
    // exactly when addresses >= 1,000,000); the tiny territories have counts but no rate.
    let sources = column(&countries, "sources");
    let rates = column(&countries, "rate_per_million");
    let mut without_rate = 0;
    for ((code, count), rate) in column(&countries, "country").iter().zip(&sources).zip(&rates) {
        match rate.parse::<f64>() {
            Ok(rate) => assert!(rate <= count.parse::<f64>().unwrap(), "{code}: {rate} per million from {count}"),
            Err(_) => without_rate += 1,
        }
    }
    assert!(without_rate > 0, "small territories have sources but no rate");
    let methods = read("methods.html");
    assert!(methods.contains("at least <strong>1,000,000</strong> IPv4 addresses"), "{methods}");

    // "Open data" is a page for people: each file, what it holds, licence, how to cite.
    for page in files_under(&site).iter().filter(|p| p.extension().is_some_and(|e| e == "html")) {
        let html = fs::read_to_string(page).unwrap();
        assert!(html.contains("<a href=\"downloads.html\">Open data</a>"), "{}", page.display());
    }
    let downloads = read("downloads.html");
    for file in files_under(&site.join("data")) {
        let name = file.file_name().unwrap().to_str().unwrap();
        assert!(downloads.contains(&format!("<a href=\"data/{name}\">{name}</a>")), "{name} is listed");
    }
    for needle in ["CC BY 4.0", "How to cite", "Nightjar darknet risk indicators, 2026-11-21 to 2026-11-23"] {
        assert!(downloads.contains(needle), "{needle}");
    }

    // A country page lists its top ASes (at least k = 3 sources each) and targeted ports.
    let us = read("country-US.html");
    let asns = between(&us, "<table class=\"top-asns\">", "</table>");
    let asn_sources: Vec<u64> =
        asns.split("<td class=\"n\">").skip(1).map(|cell| cell.split('<').next().unwrap().parse().unwrap()).collect();
    assert!(!asn_sources.is_empty() && asn_sources.iter().all(|n| *n >= 3), "{asns}");
    assert!(asn_sources.windows(2).all(|w| w[0] >= w[1]), "{asn_sources:?}");
    let ports = between(&us, "<table class=\"top-ports\">", "</table>");
    assert!(ports.contains("TCP ") && ports.contains("port-tcp-"), "{ports}");

    // Every port a risk is defined by has a page with its daily history.
    let port_pages = risk_port_pages();
    assert!(port_pages.len() > 30, "{port_pages:?}");
    for page in &port_pages {
        let html = read(page);
        let history = between(&html, "<table class=\"history\">", "</table>");
        for day in ["2026-11-21", "2026-11-22", "2026-11-23"] {
            assert!(history.contains(&format!("<td>{day}")), "{page} has {day}");
        }
        assert!(read("ports.html").contains(&format!("href=\"{page}\"")), "ports.html links {page}");
    }
    let ssh = read("port-tcp-22.html");
    assert!(ssh.contains("TCP 22 (SSH)") && ssh.contains("risk-ssh.html"), "{ssh}");

    // One shared map script, loaded by the map pages.
    assert!(read("index.html").contains("<script src=\"assets/map.js\"></script>"));
    assert!(read("assets/map.js").contains("NIGHTJAR_WORLD"));
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(an_as_named_like_an_address_is_published_as_its_number),
        trial!(the_site_names_ranks_and_documents_what_it_publishes),
    ]
}
