//! `nightjar import` end to end on damaged input: what can be read is
//! written, every problem is reported, and the exit status says so.

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

#[path = "support/summary.rs"]
mod summary;

use summary::count;

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");

fn nightjar(args: &[&str]) -> Output {
    Command::new(NIGHTJAR).args(args).output().expect("the nightjar binary runs")
}

fn generate(path: &Path, packets: &str, seed: &str) {
    let out = nightjar(&["generate", "--out", path.to_str().unwrap(), "--packets", packets, "--seed", seed]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn damaged_files_are_reported_and_everything_readable_is_kept() {
    let work = tempfile::tempdir().unwrap();
    let good = work.path().join("good.pcap");
    let cut = work.path().join("cut.pcap");
    let junk = work.path().join("junk.pcap");
    generate(&good, "3000", "11");
    let bytes = fs::read(&good).unwrap();
    // Cut the file in the middle of a record.
    fs::write(&cut, &bytes[..bytes.len() / 2 + 7]).unwrap();
    fs::write(&junk, b"this is not a capture file at all").unwrap();

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

#[test]
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
    let mut ip = vec![0x45, 0, 0, 40, 0, 1, 0x40, 0, 64, 6, 0, 0];
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&[192, 0, 2, 1]);
    let sum = ip.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], w[1]]))).sum::<u32>();
    let checksum = !((sum & 0xffff) + (sum >> 16)) as u16;
    ip[10..12].copy_from_slice(&checksum.to_be_bytes());
    let tcp = [0x9c, 0x40, 0, 22, 0, 0, 0, 1, 0, 0, 0, 0, 0x50, 0x02, 0x04, 0, 0, 0, 0, 0];
    let mut frame = vec![0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2, 0x08, 0x00];
    frame.extend_from_slice(&ip);
    frame.extend_from_slice(&tcp);
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as u32;
    let mut pcap = vec![0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0];
    for field in [now, 0, frame.len() as u32, frame.len() as u32] {
        pcap.extend_from_slice(&field.to_le_bytes());
    }
    pcap.extend_from_slice(&frame);
    fs::write(path, pcap).unwrap();
}

#[test]
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

#[test]
fn bad_arguments_are_named() {
    let out = nightjar(&["import", "x.pcap", "--out", "/tmp/unused", "--dark-prefix", "192.0.2.300/24"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--dark-prefix") && stderr.contains("192.0.2.300/24"), "{stderr}");
}
