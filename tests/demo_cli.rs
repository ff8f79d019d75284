//! `nightjar demo` in a clean folder: the real pipeline end to end, its outputs on disk, a site
//! of a few megabytes (one shared map, not one per page), and a second run that starts clean.

use std::path::Path;

/// The most a demo's site may weigh, 10 MB: it once was 35 MB for an 8 MB dataset.
const SITE_LIMIT_BYTES: u64 = 10_000_000;

/// Bytes of every file under `dir`.
fn bytes_under(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("a readable folder")
        .map(|entry| entry.expect("a folder entry").path())
        .map(|path| if path.is_dir() { bytes_under(&path) } else { path.metadata().map_or(0, |m| m.len()) })
        .sum()
}
use std::process::{Command, Output};

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");

fn demo(dir: &Path) -> Output {
    Command::new(NIGHTJAR)
        .args(["demo", "--packets", "40000", "--days", "2", "--dir"])
        .arg(dir)
        .output()
        .expect("the nightjar binary runs")
}

fn stdout_of(output: &Output) -> String {
    assert!(
        output.status.success(),
        "nightjar demo failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("UTF-8")
}

/// The number after `label` in the demo's report, e.g. "sensor kept 39912 packets".
fn number_after(text: &str, label: &str) -> u64 {
    let start = text.find(label).unwrap_or_else(|| panic!("no `{label}` in:\n{text}")) + label.len();
    text[start..].split_whitespace().next().and_then(|word| word.parse().ok()).expect("a number")
}

fn the_demo_runs_the_pipeline_and_leaves_a_dataset_a_risk_table_and_a_site() {
    let work = tempfile::tempdir().expect("temporary folder");
    let dir = work.path().join("demo");
    let out = stdout_of(&demo(&dir));

    for step in 1..=5 {
        assert!(out.contains(&format!("[{step}/5]")), "step {step} missing:\n{out}");
    }
    let kept = number_after(&out, "sensor kept ");
    let uploaded = number_after(&out, "uploaded ");
    assert!(kept > 39_000, "most generated packets reach the dark prefixes:\n{out}");
    assert_eq!(uploaded, kept, "every kept packet was uploaded:\n{out}");

    // The dataset holds every uploaded packet once.
    let data = dir.join("data");
    let counted = Command::new(NIGHTJAR)
        .args(["sql", "--format", "csv", "--data"])
        .arg(&data)
        .args(["-c", "SELECT count(*) AS n, count(DISTINCT sensor) AS sensors FROM packets"])
        .output()
        .expect("nightjar sql runs");
    assert!(counted.status.success(), "{}", String::from_utf8_lossy(&counted.stderr));
    assert_eq!(String::from_utf8_lossy(&counted.stdout), format!("n,sensors\n{kept},1\n"));

    // The risk table: ranked countries for the "any" risk.
    let table_header = out.lines().find(|line| line.starts_with("period")).expect("a risk table");
    assert!(table_header.contains("country") && table_header.contains("score") && table_header.contains("rank"));
    let ranked: Vec<&str> = out.lines().filter(|line| line.contains(" any ")).collect();
    assert!((3..=10).contains(&ranked.len()), "the ten highest-ranked countries:\n{out}");
    assert!(ranked[0].contains(" 100.00 ") && ranked[0].contains(" 1 "), "rank 1 scores 100: {}", ranked[0]);

    // The published site, with its open data.
    let index = dir.join("site/index.html");
    assert!(out.contains(&index.display().to_string()), "the site's path is printed:\n{out}");
    let html = std::fs::read_to_string(&index).expect("index.html");
    assert!(
        html.contains("data-map-values") && html.contains("<script src=\"assets/map.js\">"),
        "the front page draws the map with the shared script"
    );
    assert!(dir.join("site/data/datapackage.json").is_file());
    assert!(dir.join("site/downloads.html").is_file() && dir.join("site/assets/map.js").is_file());
    for next in ["nightjar sql --data", "nightjar risk --data", "nightjar publish --data"] {
        assert!(out.contains(next), "`{next}` is suggested:\n{out}");
    }
    // Every hint runs as printed in a shell where no `nightjar` is on PATH (as after `cargo run`).
    let hints: Vec<&str> = out.lines().skip_while(|line| *line != "Try next:").skip(1).map(str::trim).collect();
    assert_eq!(hints.len(), 6, "{out}");
    for hint in
        hints.iter().filter(|hint| hint.contains(" -c ") || hint.contains(" risk ") || hint.contains(" publish "))
    {
        let ran = Command::new("sh")
            .args(["-c", hint])
            .current_dir(work.path())
            .env("PATH", "/usr/bin:/bin")
            .stdin(std::process::Stdio::null())
            .output()
            .expect("sh runs");
        assert!(ran.status.success(), "`{hint}` failed: {}", String::from_utf8_lossy(&ran.stderr));
        assert!(!ran.stdout.is_empty(), "`{hint}` printed nothing");
    }

    // A second run clears the first and says so.
    let again = stdout_of(&demo(&dir));
    assert!(again.contains("Starting clean"), "{again}");
    assert_eq!(number_after(&again, "sensor kept "), kept, "the same seed gives the same traffic");
}

/// The demo as a new user runs it (400,000 packets over three days, today's still arriving):
/// a site under 10 MB, whose front page shows the latest complete day.
fn the_demo_site_is_small_and_opens_on_a_complete_day() {
    let work = tempfile::tempdir().expect("temporary folder");
    let dir = work.path().join("demo");
    let out = Command::new(NIGHTJAR).arg("demo").arg("--dir").arg(&dir).output().expect("the nightjar binary runs");
    let out = stdout_of(&out);
    let site = bytes_under(&dir.join("site"));
    eprintln!("demo site: {site} bytes, dataset: {} bytes", bytes_under(&dir.join("data")));
    assert!(site < SITE_LIMIT_BYTES, "the demo's site is {site} bytes:\n{out}");
    // Today's last packet is now; before 23:00 UTC that leaves today incomplete (after it, today
    // counts as complete: its last packet is within an hour of the day's end).
    let now = chrono::Utc::now();
    if now.time() < chrono::NaiveTime::from_hms_opt(23, 0, 0).expect("a valid time") {
        let today = now.date_naive();
        let index = std::fs::read_to_string(dir.join("site/index.html")).expect("index.html");
        assert!(!index.contains(&format!("by country, {today}</h1>")), "today is still arriving: {index}");
        assert!(index.contains(&format!("The latest period, {today} (partial: {today} only), is partial")), "{index}");
    }
}

fn the_demo_refuses_a_folder_it_did_not_make() {
    let work = tempfile::tempdir().expect("temporary folder");
    std::fs::write(work.path().join("thesis.txt"), "precious").expect("file written");
    let out = demo(work.path());
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("not an earlier demo's folder"));
    assert!(work.path().join("thesis.txt").exists());
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(the_demo_runs_the_pipeline_and_leaves_a_dataset_a_risk_table_and_a_site),
        trial!(the_demo_site_is_small_and_opens_on_a_complete_day),
        trial!(the_demo_refuses_a_folder_it_did_not_make),
    ]
}
