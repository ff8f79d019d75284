//! `nightjar lookup ADDRESS`: what the dataset knows about one source agrees with SQL over the
//! same dataset, as a table and as JSON; an address never seen says so; the parent folder of a
//! dataset is refused naming the dataset.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");

fn nightjar(args: &[&str]) -> Output {
    Command::new(NIGHTJAR).args(args).output().expect("the nightjar binary runs")
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8")
}

fn imported(work: &Path) -> String {
    let pcap = work.join("dark.pcap");
    let data = work.join("data");
    ok(nightjar(&["generate", "--out", pcap.to_str().unwrap(), "--packets", "5000", "--seed", "31"]));
    ok(nightjar(&["import", pcap.to_str().unwrap(), "--data", data.to_str().unwrap(), "-q"]));
    data.to_str().unwrap().to_string()
}

/// The busiest source by SQL: its address, packets, days and distinct ports.
fn busiest(data: &str) -> (String, u64, u64, u64) {
    let csv = ok(nightjar(&[
        "sql",
        "--data",
        data,
        "--format",
        "csv",
        "-c",
        "SELECT ip_text(src_ip) AS source, count(*) AS packets, count(DISTINCT day) AS days, \
         count(DISTINCT dst_port) AS ports FROM packets GROUP BY src_ip ORDER BY packets DESC, source LIMIT 1",
    ]));
    let line = csv.lines().nth(1).expect("a source");
    let fields: Vec<&str> = line.split(',').collect();
    (fields[0].to_string(), fields[1].parse().unwrap(), fields[2].parse().unwrap(), fields[3].parse().unwrap())
}

fn a_source_is_described_as_sql_counts_it() {
    let work = tempfile::tempdir().unwrap();
    let data = imported(work.path());
    let (address, packets, days, ports) = busiest(&data);

    let json: Value = serde_json::from_str(&ok(nightjar(&["lookup", &address, "--data", &data, "--format", "json"])))
        .expect("one JSON document");
    assert_eq!(json["address"], address.as_str());
    assert_eq!(json["packets"], packets, "{json}");
    assert_eq!(json["days"].as_array().unwrap().len() as u64, days, "{json}");
    let per_day: u64 = json["days"].as_array().unwrap().iter().map(|d| d["packets"].as_u64().unwrap()).sum();
    assert_eq!(per_day, packets, "{json}");
    let listed_ports = json["ports"].as_array().unwrap().len() as u64;
    assert_eq!(listed_ports, ports.min(20), "{json}");
    assert!(json["classes"].as_array().is_some_and(|c| !c.is_empty()), "{json}");
    for key in ["first_seen", "last_seen", "country", "asn", "as_name", "tools", "research", "sensors"] {
        assert!(json.get(key).is_some(), "{key} missing: {json}");
    }

    let line = ok(nightjar(&["lookup", &address, "--data", &data, "--format", "jsonl"]));
    assert_eq!(line.lines().count(), 1, "{line}");
    assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), json);

    let table = ok(nightjar(&["lookup", &address, "--data", &data]));
    assert!(table.contains(&format!("packets          {packets}")), "{table}");
    assert!(table.contains(&format!("days seen        {days} {}", if days == 1 { "day" } else { "days" })), "{table}");
}

fn an_unknown_address_says_so_and_a_bad_location_names_the_dataset() {
    let work = tempfile::tempdir().unwrap();
    let data = imported(work.path());
    let table = ok(nightjar(&["lookup", "2001:db8::dead", "--data", &data]));
    assert_eq!(table, "2001:db8::dead: not in the dataset (no packet from it)\n");
    let json: Value =
        serde_json::from_str(&ok(nightjar(&["lookup", "198.18.0.1", "--data", &data, "--format", "json"]))).unwrap();
    assert_eq!(json["packets"], 0, "{json}");
    assert_eq!(json["days"], serde_json::json!([]), "{json}");

    let parent = nightjar(&["lookup", "198.18.0.1", "--data", work.path().to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&parent.stderr);
    assert_eq!(parent.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("--data {data}")), "{stderr}");

    let not_an_address = nightjar(&["lookup", "198.18.0.1/24", "--data", &data]);
    assert_eq!(not_an_address.status.code(), Some(2));
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(a_source_is_described_as_sql_counts_it),
        trial!(an_unknown_address_says_so_and_a_bad_location_names_the_dataset),
    ]
}
