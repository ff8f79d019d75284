//! `nightjar import` end to end: damaged input fails the import and writes nothing (or, with
//! `--keep-partial`, what can be read), every problem is reported, the exit status says so, a
//! file already imported is refused, and a dark prefix must say its mask.

use std::fs;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use nightjar_test_kit::frames::{Ipv4Probe, Tcp, ethernet};
use nightjar_test_kit::summary::count;

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");

fn nightjar(args: &[&str]) -> Output {
    Command::new(NIGHTJAR).args(args).output().expect("the nightjar binary runs")
}

fn generate(path: &Path, packets: &str, seed: &str) {
    let out = nightjar(&["generate", "--out", path.to_str().unwrap(), "--packets", packets, "--seed", seed]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Three captures in `work`: a good one of 3,000 packets, the same cut in the middle of a record,
/// and a file that is no capture at all.
fn good_cut_and_junk(work: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let good = work.join("good.pcap");
    let cut = work.join("cut.pcap");
    let junk = work.join("junk.pcap");
    generate(&good, "3000", "11");
    let bytes = fs::read(&good).unwrap();
    fs::write(&cut, &bytes[..bytes.len() / 2 + 7]).unwrap();
    fs::write(&junk, b"this is not a capture file at all").unwrap();
    (good, cut, junk)
}

fn damaged_files_are_reported_and_everything_readable_is_kept() {
    let work = tempfile::tempdir().unwrap();
    let (good, cut, junk) = good_cut_and_junk(work.path());

    let alone = nightjar(&["import", good.to_str().unwrap(), "--out", work.path().join("a").to_str().unwrap(), "-q"]);
    assert!(alone.status.success());
    let good_frames = count(&String::from_utf8_lossy(&alone.stdout), "frames read");
    assert_eq!(good_frames, 3000);

    let dataset = work.path().join("b");
    let out = nightjar(&[
        "import",
        good.to_str().unwrap(),
        cut.to_str().unwrap(),
        junk.to_str().unwrap(),
        "--out",
        dataset.to_str().unwrap(),
        "--keep-partial",
        "-q",
    ]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "a damaged input fails the run\n{stdout}\n{stderr}");
    assert!(stderr.contains("truncated capture"), "{stderr}");
    assert!(stderr.contains("not a pcap or pcapng file"), "{stderr}");
    assert!(stderr.contains("2 of 3 capture files"), "{stderr}");
    // Everything before the cut was read and written.
    let frames = count(&stdout, "frames read");
    assert!(frames > good_frames + 1000 && frames < 2 * good_frames, "{stdout}");
    assert_eq!(count(&stdout, "parquet rows"), count(&stdout, "records kept"));
    assert!(fs::read_dir(&dataset).unwrap().any(|e| e.unwrap().file_name().to_string_lossy().starts_with("day=")));
}

fn dark_prefix_and_research_list_shape_the_records() {
    let work = tempfile::tempdir().unwrap();
    let pcap = work.path().join("g.pcap");
    generate(&pcap, "2000", "5");
    // Generated traffic aims at 192.0.2.0/24: a different dark prefix keeps nothing.
    let out = nightjar(&[
        "import",
        pcap.to_str().unwrap(),
        "--out",
        work.path().join("none").to_str().unwrap(),
        "--dark-prefix",
        "198.51.100.0/24",
        "-q",
    ]);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert_eq!(count(&summary, "records kept"), 0);
    assert_eq!(count(&summary, "outside dark"), count(&summary, "frames read") - count(&summary, "skipped"));

    // Every IPv4 source is "research" under a /0 list entry.
    let list = work.path().join("research.txt");
    fs::write(&list, "# everyone\n0.0.0.0/0 Example Survey\n").unwrap();
    let out = nightjar(&[
        "import",
        pcap.to_str().unwrap(),
        "--out",
        work.path().join("r").to_str().unwrap(),
        "--research-list",
        list.to_str().unwrap(),
        "-q",
    ]);
    let summary = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success());
    assert_eq!(count(&summary, "research"), count(&summary, "records kept"));

    fs::write(&list, "0.0.0.0/0 fine\n10.0.0.1/8 typo\n").unwrap();
    let out = nightjar(&[
        "import",
        pcap.to_str().unwrap(),
        "--out",
        work.path().join("x").to_str().unwrap(),
        "--research-list",
        list.to_str().unwrap(),
    ]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("line 2") && stderr.contains("10.0.0.0/8"), "{stderr}");
}

/// A pcap with one TCP SYN from `src` to 192.0.2.1:22 (Ethernet, IPv4).
fn one_syn_pcap(path: &Path, src: [u8; 4]) {
    let syn = Ipv4Probe::new(Ipv4Addr::from(src), Ipv4Addr::new(192, 0, 2, 1))
        .dont_fragment()
        .with_checksum()
        .tcp(Tcp::syn(40000, 22));
    let frame = ethernet([0x02, 0, 0, 0, 0, 1], [0x02, 0, 0, 0, 0, 2], &syn);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as u32;
    let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0];
    for field in [now, 0, frame.len() as u32, frame.len() as u32] {
        pcap.extend_from_slice(&field.to_le_bytes());
    }
    pcap.extend_from_slice(&frame);
    fs::write(path, pcap).unwrap();
}

fn the_bundled_research_list_applies_when_none_is_given() {
    let work = tempfile::tempdir().unwrap();
    let pcap = work.path().join("censys.pcap");
    // 162.142.125.0/24 is a range Censys publishes as its scanners'.
    one_syn_pcap(&pcap, [162, 142, 125, 7]);
    let import = |name: &str, extra: &[&str]| {
        let out_dir = work.path().join(name);
        let mut args = vec!["import", pcap.to_str().unwrap(), "--out", out_dir.to_str().unwrap(), "-q"];
        args.extend_from_slice(extra);
        let out = nightjar(&args);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).to_string()
    };
    let bundled = import("bundled", &[]);
    assert_eq!((count(&bundled, "records kept"), count(&bundled, "research")), (1, 1), "{bundled}");
    let none = import("none", &["--research-list", "/dev/null"]);
    assert_eq!((count(&none, "records kept"), count(&none, "research")), (1, 0), "{none}");
}

fn bad_arguments_are_named() {
    let out = nightjar(&["import", "x.pcap", "--out", "/tmp/unused", "--dark-prefix", "192.0.2.300/24"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--dark-prefix") && stderr.contains("192.0.2.300/24"), "{stderr}");
}

/// Every path under `dir`, relative to it, sorted.
fn tree(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(next) = stack.pop() {
        for entry in fs::read_dir(&next).unwrap() {
            let path = entry.unwrap().path();
            out.push(path.strip_prefix(dir).unwrap().display().to_string());
            if path.is_dir() {
                stack.push(path);
            }
        }
    }
    out.sort();
    out
}

fn a_failed_import_leaves_nothing_behind_and_prints_no_summary() {
    let work = tempfile::tempdir().unwrap();
    let (good, cut, junk) = good_cut_and_junk(work.path());

    // A file that is no capture at all: refused before the dataset is created.
    let fresh = work.path().join("fresh");
    let out = nightjar(&["import", junk.to_str().unwrap(), "--data", fresh.to_str().unwrap(), "-q"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("not a pcap or pcapng file") && stderr.contains("nothing was imported"), "{stderr}");
    assert!(out.stdout.is_empty(), "no summary: {}", String::from_utf8_lossy(&out.stdout));
    assert!(!fresh.exists(), "{:?}", fresh.exists().then(|| tree(&fresh)));

    // A file cut in the middle: read until the cut, then everything written is removed.
    let out = nightjar(&["import", good.to_str().unwrap(), cut.to_str().unwrap(), "--data", fresh.to_str().unwrap()]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("truncated capture") && stderr.contains("nothing was imported"), "{stderr}");
    assert!(stderr.contains("--keep-partial"), "{stderr}");
    assert!(out.stdout.is_empty(), "no summary: {}", String::from_utf8_lossy(&out.stdout));
    assert!(!fresh.exists(), "{:?}", fresh.exists().then(|| tree(&fresh)));

    // Into an existing dataset: it is left exactly as it was.
    let existing = work.path().join("existing");
    assert!(nightjar(&["import", good.to_str().unwrap(), "--data", existing.to_str().unwrap(), "-q"]).status.success());
    let before = tree(&existing);
    let other = work.path().join("other.pcap");
    generate(&other, "2000", "12");
    let bytes = fs::read(&other).unwrap();
    fs::write(&cut, &bytes[..bytes.len() / 2 + 7]).unwrap();
    let out = nightjar(&["import", cut.to_str().unwrap(), "--data", existing.to_str().unwrap(), "-q"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert_eq!(tree(&existing), before);
}

fn a_capture_imported_before_is_refused_unless_allowed() {
    let work = tempfile::tempdir().unwrap();
    let pcap = work.path().join("week.pcap");
    let copy = work.path().join("copy-of-week.pcap");
    generate(&pcap, "2000", "21");
    fs::copy(&pcap, &copy).unwrap();
    let data = work.path().join("data");
    let data_text = data.to_str().unwrap();
    let first = nightjar(&["import", pcap.to_str().unwrap(), "--data", data_text, "-q"]);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let rows = count(&String::from_utf8_lossy(&first.stdout), "parquet rows");
    let stored = |expected: u64| {
        let out = nightjar(&["sql", "--data", data_text, "--format", "csv", "-c", "SELECT count(*) AS n FROM packets"]);
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        assert_eq!(String::from_utf8_lossy(&out.stdout), format!("n\n{expected}\n"));
    };
    stored(rows);
    let ledger: serde_json::Value = serde_json::from_slice(&fs::read(data.join("_imports.json")).unwrap()).unwrap();
    assert_eq!(ledger["imports"][0]["file"], "week.pcap", "{ledger}");

    // The same contents under another name: refused, nothing added.
    let again = nightjar(&["import", copy.to_str().unwrap(), "--out", data_text, "-q"]);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("already imported") && stderr.contains("week.pcap"), "{stderr}");
    assert!(stderr.contains("--allow-duplicate"), "{stderr}");
    stored(rows);

    // The same file twice on one command line is refused too.
    let twice = nightjar(&[
        "import",
        pcap.to_str().unwrap(),
        pcap.to_str().unwrap(),
        "--data",
        work.path().join("t").to_str().unwrap(),
    ]);
    assert_eq!(twice.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&twice.stderr).contains("same contents"));

    let allowed = nightjar(&["import", copy.to_str().unwrap(), "--data", data_text, "--allow-duplicate", "-q"]);
    assert!(allowed.status.success(), "{}", String::from_utf8_lossy(&allowed.stderr));
    stored(2 * rows);
}

fn a_dark_prefix_without_a_mask_is_refused_with_the_masks_to_choose() {
    let out = nightjar(&["import", "x.pcap", "--data", "/tmp/unused", "--dark-prefix", "192.0.2.0"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("192.0.2.0/24") && stderr.contains("192.0.2.0/32"), "{stderr}");
    let out = nightjar(&["import", "x.pcap", "--data", "/tmp/unused", "--dark-prefix", "2001:db8::"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("2001:db8::/64") && stderr.contains("2001:db8::/128"), "{stderr}");
}

fn the_summary_speaks_of_one_file_in_the_singular() {
    let work = tempfile::tempdir().unwrap();
    let pcap = work.path().join("one.pcap");
    generate(&pcap, "500", "3");
    let out = nightjar(&["import", pcap.to_str().unwrap(), "--data", work.path().join("d").to_str().unwrap(), "-q"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("imported 1 file into "), "{stdout}");
}

/// On a terminal every long step shows its progress: the capture being read, and the Parquet write
/// as a bar over the rows (one step per day's file). `script` gives the import a terminal.
fn on_a_terminal_the_write_phase_shows_a_bar_over_its_rows() -> Result<(), nightjar_test_kit::prereq::Skipped> {
    let script = nightjar_test_kit::prereq::which("script").ok_or_else(|| {
        nightjar_test_kit::prereq::missing("import_cli::progress", "`script` (util-linux) is not installed")
    })?;
    let work = tempfile::tempdir().unwrap();
    let pcap = work.path().join("week.pcap");
    let out = nightjar(&["generate", "--out", pcap.to_str().unwrap(), "--packets", "60000", "--duration", "604800"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let command = format!("{NIGHTJAR} import {} --data {}", pcap.display(), work.path().join("data").display());
    let shown = Command::new(script).args(["-qec", &command, "/dev/null"]).output().expect("script runs");
    let screen = String::from_utf8_lossy(&shown.stdout);
    assert!(shown.status.success(), "{screen}");
    assert!(screen.contains("writing sorted, compressed Parquet"), "the write phase has a bar:\n{screen}");
    assert!(screen.contains("rows"), "counted in rows:\n{screen}");
    Ok(())
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(damaged_files_are_reported_and_everything_readable_is_kept),
        trial!(dark_prefix_and_research_list_shape_the_records),
        trial!(the_bundled_research_list_applies_when_none_is_given),
        trial!(bad_arguments_are_named),
        trial!(a_failed_import_leaves_nothing_behind_and_prints_no_summary),
        trial!(a_capture_imported_before_is_refused_unless_allowed),
        trial!(a_dark_prefix_without_a_mask_is_refused_with_the_masks_to_choose),
        trial!(the_summary_speaks_of_one_file_in_the_singular),
        trial!(on_a_terminal_the_write_phase_shows_a_bar_over_its_rows),
    ]
}
