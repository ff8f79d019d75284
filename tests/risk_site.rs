//! `nightjar publish` end to end: every published file is free of IP
//! addresses and dark prefixes, the open data is described by its
//! datapackage.json, and the site works in headless Chromium with no request
//! leaving the page.
//!
//! At a phone's 390 x 844 viewport the front page, a country, a port, a risk and the downloads
//! page do not scroll sideways (tables scroll in their own box).
//!
//! The browser tests need Debian's `chromium` and Python's `playwright`
//! (`.ci/install-system-tools`, `.ci/python-requirements.txt`); they are reported ignored
//! without them unless `NIGHTJAR_SYSTEM_TESTS=require`. Screenshots go to
//! `$NIGHTJAR_TEST_ARTIFACTS/risk_site/` or the test's target tmp folder,
//! printed by the test.

use std::collections::BTreeSet;
use std::fs;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::process::Command;

use arrow::array::{Array, FixedSizeBinaryArray};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;

use crate::support::risk_data;
use nightjar_test_kit::prereq::{self, Skipped};

use risk_data::{DARK_PREFIXES, dataset, files_under, nightjar};

/// Every source and destination address of the dataset, as text.
fn dataset_addresses(data: &Path) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for file in files_under(data).into_iter().filter(|p| p.extension().is_some_and(|e| e == "parquet")) {
        let reader = ParquetRecordBatchReaderBuilder::try_new(fs::File::open(&file).unwrap()).unwrap().build().unwrap();
        for batch in reader {
            let batch = batch.unwrap();
            for column in ["src_ip", "dst_ip"] {
                let addrs =
                    batch.column_by_name(column).unwrap().as_any().downcast_ref::<FixedSizeBinaryArray>().unwrap();
                for i in 0..addrs.len() {
                    let bytes: [u8; 16] = addrs.value(i).try_into().unwrap();
                    let v6 = Ipv6Addr::from(bytes);
                    out.insert(v6.to_ipv4_mapped().map(|v4| v4.to_string()).unwrap_or_else(|| v6.to_string()));
                }
            }
        }
    }
    out
}

/// Tokens of `text` that parse as an IPv4 or IPv6 address.
fn address_like(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':'))
        .map(|t| t.trim_matches('.'))
        .filter(|t| {
            (t.contains('.') && t.parse::<Ipv4Addr>().is_ok())
                || (t.contains("::") && t.parse::<Ipv6Addr>().is_ok())
                || (t.matches(':').count() >= 7 && t.parse::<Ipv6Addr>().is_ok())
        })
        .map(str::to_string)
        .collect()
}

/// The realistic dataset in `work/dataset`, published per week into `work/site`: the dataset,
/// the site and what publish printed.
fn published(work: &Path) -> (PathBuf, PathBuf, String) {
    let data = dataset(work);
    let site = work.join("site");
    let printed =
        nightjar(&["publish", "--data", data.to_str().unwrap(), "--out", site.to_str().unwrap(), "--period", "week"]);
    (data, site, printed)
}

fn published_files_hold_no_address_and_are_described_by_the_datapackage() {
    let work = tempfile::tempdir().unwrap();
    let (data, site, summary) = published(work.path());
    assert!(summary.contains("ASN rows suppressed (fewer than 3 sources):"), "{summary}");

    let addresses = dataset_addresses(&data);
    assert!(addresses.len() > 500, "{}", addresses.len());
    let files = files_under(&site);
    assert!(files.len() > 40, "{files:?}");
    for file in &files {
        let text = fs::read_to_string(file).unwrap();
        let name = file.strip_prefix(&site).unwrap().display().to_string();
        assert_eq!(address_like(&text), Vec::<String>::new(), "{name} holds address-like text");
        for prefix in DARK_PREFIXES {
            let network = prefix.split('/').next().unwrap();
            assert!(!text.contains(network), "{name} names the dark prefix {prefix}");
        }
        assert!(!text.contains("192.0.2.") && !text.contains("2001:db8"), "{name} names the darknet");
        // No address actually in the data, as a whole token.
        let tokens: BTreeSet<&str> = text
            .split(|c: char| !(c.is_ascii_hexdigit() || c == '.' || c == ':'))
            .map(|t| t.trim_matches('.'))
            .collect();
        let leaked: Vec<&String> = addresses.iter().filter(|a| tokens.contains(a.as_str())).collect();
        assert!(leaked.is_empty(), "{name} holds addresses of the dataset: {leaked:?}");
        // Nothing external: no fonts or images; the only stylesheet and script a page loads are
        // the site's own.
        if name.ends_with(".html") {
            for needle in ["@import", "url(", "<img", "<iframe"] {
                assert!(!text.contains(needle), "{name} loads something: {needle}");
            }
            let links: Vec<&str> = text.split("<link ").skip(1).filter_map(|rest| rest.split('>').next()).collect();
            assert_eq!(
                links,
                ["rel=\"stylesheet\" href=\"assets/site.css\""],
                "{name} links only the site's stylesheet"
            );
            let loaded: Vec<&str> =
                text.split("<script src=\"").skip(1).filter_map(|rest| rest.split('"').next()).collect();
            assert!(loaded.iter().all(|src| *src == "assets/map.js"), "{name} loads {loaded:?}");
        }
    }

    // datapackage.json describes every data file, with field schemas that match the CSV headers.
    let package: Value =
        serde_json::from_str(&fs::read_to_string(site.join("data/datapackage.json")).unwrap()).unwrap();
    let described: BTreeSet<String> =
        package["resources"].as_array().unwrap().iter().map(|r| r["path"].as_str().unwrap().to_string()).collect();
    let data_files: BTreeSet<String> = files_under(&site.join("data"))
        .iter()
        .map(|p| p.file_name().unwrap().to_str().unwrap().to_string())
        .filter(|n| n != "datapackage.json")
        .collect();
    assert_eq!(described, data_files);
    for resource in package["resources"].as_array().unwrap().iter().filter(|r| r["format"] == "csv") {
        let csv = fs::read_to_string(site.join("data").join(resource["path"].as_str().unwrap())).unwrap();
        let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
        let fields: Vec<&str> =
            resource["schema"]["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
        assert_eq!(header, fields, "{}", resource["path"]);
    }
    for kind in ["day", "week", "month", "quarter", "year"] {
        for stem in ["countries", "asns", "coverage"] {
            assert!(described.contains(&format!("{stem}-{kind}.csv")), "{stem}-{kind}.csv");
        }
    }
    assert!(described.contains("ports-day.csv") && described.contains("summary.json"), "{described:?}");
    // One shared map script, not a copy of the world per page.
    let map_pages: Vec<&PathBuf> =
        files.iter().filter(|f| fs::read_to_string(f).unwrap().contains("src=\"assets/map.js\"")).collect();
    assert!(map_pages.len() >= 13, "the front page and every risk page draw the map: {}", map_pages.len());
    let world = fs::read_to_string(site.join("assets/map.js")).unwrap();
    let shape =
        world.split("\"d\":").nth(1).and_then(|rest| rest.get(..120)).expect("the shapes are in the shared script");
    for file in files.iter().filter(|f| f.extension().is_some_and(|e| e == "html")) {
        assert!(!fs::read_to_string(file).unwrap().contains(shape), "{} inlines the map", file.display());
    }
    // The taxonomy is published as it is in schemas/.
    let shipped = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/risks.csv")).unwrap();
    assert_eq!(fs::read_to_string(site.join("data/risks.csv")).unwrap(), shipped);
    // ASN rows below k are gone, and the site says how many there were.
    let asns = fs::read_to_string(site.join("data/asns-day.csv")).unwrap();
    let sources_at = asns.lines().next().unwrap().split(',').position(|c| c == "sources").unwrap();
    assert!(
        asns.lines().skip(1).all(|l| l
            .split(',')
            .nth(sources_at)
            .and_then(|s| s.parse::<u64>().ok())
            .is_some_and(|n| n >= 3)
            || l.contains('"'))
    );
    let summary_json: Value =
        serde_json::from_str(&fs::read_to_string(site.join("data/summary.json")).unwrap()).unwrap();
    let suppressed = summary_json["asn_rows_suppressed_total"].as_u64().unwrap();
    assert!(suppressed > 0, "a realistic dataset has small ASes");
    let index = fs::read_to_string(site.join("index.html")).unwrap();
    assert!(index.contains(&format!("data-suppressed=\"{suppressed}\"")), "the front page states the suppressed rows");
}

fn browser_available() -> Result<PathBuf, Skipped> {
    let chromium =
        ["/usr/bin/chromium", "/usr/bin/chromium-browser"].into_iter().map(PathBuf::from).find(|p| p.exists());
    let playwright =
        Command::new("python3").args(["-c", "import playwright.sync_api"]).output().is_ok_and(|o| o.status.success());
    let why = match (&chromium, playwright) {
        (Some(chromium), true) => return Ok(chromium.clone()),
        (None, _) => "Debian's chromium is not installed (see .ci/install-system-tools)",
        (_, false) => "python3 cannot import playwright (see .ci/python-requirements.txt)",
    };
    Err(prereq::missing("risk_site browser test", why))
}

/// Where the browser tests save their screenshots.
fn screenshots() -> PathBuf {
    std::env::var_os("NIGHTJAR_TEST_ARTIFACTS")
        .map(|dir| PathBuf::from(dir).join("risk_site"))
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("risk_site"))
}

/// Run the browser script `reader` of tests/readers on `site` (and `pages` of it), with its
/// screenshots in `$NIGHTJAR_TEST_ARTIFACTS/risk_site/` or the target's tmp folder; its report.
fn browse(reader: &str, site: &Path, chromium: &Path, pages: &[&str]) -> Value {
    let shots = screenshots();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/readers").join(reader);
    let out = Command::new("python3")
        .arg(script)
        .arg(site)
        .arg(&shots)
        .arg(chromium)
        .args(pages)
        .output()
        .expect("python3 runs");
    assert!(out.status.success(), "{reader} failed:\n{}", String::from_utf8_lossy(&out.stderr));
    eprintln!("screenshots of the site: {}", shots.display());
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{reader} prints JSON: {e}"))
}

fn the_site_renders_in_headless_chromium_without_leaving_the_page() -> Result<(), Skipped> {
    let chromium = browser_available()?;
    let work = tempfile::tempdir().unwrap();
    let (_, site, _) = published(work.path());
    let seen = browse("site_check.py", &site, &chromium, &[]);

    assert_eq!(seen["left_the_page"], Value::Array(vec![]), "requests left the page: {seen}");
    assert_eq!(seen["console_errors"], Value::Array(vec![]), "{seen}");
    assert!(seen["requests"].as_array().unwrap().iter().all(|u| u.as_str().unwrap().starts_with("file:")));
    // The map: ~176 shapes drawn, many coloured, several classes of the palette.
    assert!(seen["map_paths"].as_u64().unwrap() > 150, "{seen}");
    assert!(seen["coloured_countries"].as_u64().unwrap() > 20, "{seen}");
    assert!(seen["distinct_fills"].as_array().unwrap().len() >= 4, "{seen}");
    assert!(seen["map_box"][0].as_f64().unwrap() > 500.0, "the map is drawn at its width: {seen}");
    // The ranking table is sorted by sources, ranks agree.
    let counts: Vec<f64> = seen["table_counts"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert!(counts.len() > 20 && counts.windows(2).all(|w| w[0] >= w[1]), "{counts:?}");
    let ranks: Vec<f64> = seen["table_ranks"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(ranks[0], 1.0);
    assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{ranks:?}");
    // The switch: legends and fills follow, the table re-sorts by rate.
    assert_eq!(
        (seen["score_legend_visible"].as_bool(), seen["count_legend_visible"].as_bool()),
        (Some(true), Some(false))
    );
    let rates: Vec<f64> =
        seen["table_rates_after_switch"].as_array().unwrap().iter().filter_map(|v| v.as_f64()).collect();
    assert!(rates.windows(2).all(|w| w[0] >= w[1]), "{rates:?}");
    assert!(seen["fills_after_rate_switch"].as_u64().unwrap() > 0, "{seen}");
    // A country page opened from the table, with one chart per risk.
    assert!(seen["country_url"].as_str().unwrap().contains("/country-"), "{seen}");
    assert_eq!(seen["country_charts"].as_u64(), Some(12), "{seen}");
    assert!(seen["risk_page_title"].as_str().unwrap().contains("SSH"), "{seen}");
    assert!(seen["suppressed_note"].as_str().unwrap().contains("fewer than 3 sources"), "{seen}");
    for shot in ["index-count.png", "index-rate.png", "country.png", "risk-ssh.png"] {
        assert!(fs::metadata(screenshots().join(shot)).is_ok_and(|m| m.len() > 10_000), "screenshot {shot}");
    }
    Ok(())
}

/// The pages a phone reader opens first must not scroll sideways at 390 x 844 CSS pixels: tables
/// scroll inside their own box, the map and charts shrink to the screen.
fn the_site_reads_on_a_phone_without_sideways_scrolling() -> Result<(), Skipped> {
    let chromium = browser_available()?;
    let work = tempfile::tempdir().unwrap();
    let (_, site, _) = published(work.path());
    let country = files_under(&site)
        .iter()
        .filter_map(|f| f.file_name()?.to_str().map(str::to_string))
        .find(|name| name.starts_with("country-"))
        .expect("a country page");
    let pages = ["index.html", country.as_str(), "port-tcp-22.html", "risk-ssh.html", "downloads.html"];
    let seen = browse("phone_layout.py", &site, &chromium, &pages);
    assert_eq!(seen["left_the_page"], Value::Array(vec![]), "{seen}");
    assert_eq!(seen["console_errors"], Value::Array(vec![]), "{seen}");
    for page in pages {
        let measured = &seen["pages"][page];
        let (scroll, inner) = (measured["scroll_width"].as_u64().unwrap(), measured["inner_width"].as_u64().unwrap());
        assert_eq!(inner, 390, "{page}: the phone viewport: {measured}");
        assert!(scroll <= inner, "{page} scrolls sideways on a phone: {measured}");
        assert_eq!(measured["tables"], measured["tables_in_scroll_box"], "{page}: every table scrolls in its own box");
    }
    assert!(seen["pages"]["index.html"]["map_drawn"].as_u64().unwrap() > 150, "the shared map draws: {seen}");
    Ok(())
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(published_files_hold_no_address_and_are_described_by_the_datapackage),
        trial!(the_site_renders_in_headless_chromium_without_leaving_the_page),
        trial!(the_site_reads_on_a_phone_without_sideways_scrolling),
    ]
}
