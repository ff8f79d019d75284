//! `nightjar publish` is never blocked by the text of third-party databases: an AS *named* like
//! an address prefix is published as its AS number, the site and the output say how many names
//! were redacted, and no published file holds the address-like name.

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

// Only the runner, the dark prefixes and the file lister of the shared dataset helpers are used here.
use crate::support::risk_data;

use risk_data::{DARK_PREFIXES, files_under, nightjar};

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
    let pcap = work.path().join("dark.pcap");
    let data = work.path().join("data");
    let site = work.path().join("site");
    let mmdb = asn_db(work.path());
    nightjar(&[
        "generate",
        "--out",
        pcap.to_str().unwrap(),
        "--packets",
        "20000",
        "--seed",
        "23",
        "--start",
        "2026-11-21",
        "--duration",
        "172800",
        "--dark-prefix",
        DARK_PREFIXES[0],
    ]);
    nightjar(&[
        "import",
        pcap.to_str().unwrap(),
        "--data",
        data.to_str().unwrap(),
        "--asn-db",
        mmdb.to_str().unwrap(),
        "-q",
    ]);
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
    let asns: Value = serde_json::from_str(&fs::read_to_string(site.join("data/asns-month.json")).unwrap()).unwrap();
    let names: Vec<&str> = asns
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["asn"] == 64500 || row["area"] == "64500")
        .filter_map(|row| row["as_name"].as_str())
        .collect();
    assert!(!names.is_empty() && names.iter().all(|name| *name == "AS64500"), "{asns}");
    let risk_page = fs::read_to_string(site.join("risk-any.html")).unwrap();
    assert!(risk_page.contains("1 AS name from the ASN database read as an IP address"), "{risk_page}");
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![trial!(an_as_named_like_an_address_is_published_as_its_number)]
}
