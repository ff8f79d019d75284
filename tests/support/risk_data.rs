//! A realistic multi-day dataset for the risk and publish tests: `nightjar
//! generate` over three days, IPv4 and IPv6 darknets, then `nightjar import`
//! (countries and ASNs from the bundled databases).

use std::path::{Path, PathBuf};
use std::process::Command;

pub const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");

/// The darknets the traffic is aimed at; no published file may name them.
pub const DARK_PREFIXES: [&str; 2] = ["192.0.2.0/24", "2001:db8:7::/48"];

/// Run nightjar; it must succeed. Returns stdout.
pub fn nightjar(args: &[&str]) -> String {
    let out = Command::new(NIGHTJAR).args(args).output().expect("the nightjar binary runs");
    assert!(
        out.status.success(),
        "nightjar {args:?} failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("nightjar prints UTF-8")
}

/// Traffic for `nightjar generate`: from 00:00 UTC of `start` for `seconds`, aimed at `dark_prefixes`.
pub struct Traffic<'a> {
    pub packets: u64,
    pub seed: u64,
    pub start: &'a str,
    pub seconds: u64,
    pub dark_prefixes: &'a [&'a str],
}

/// Generate `traffic` into `work/dark.pcap` and import it into `work/dataset`, with
/// `import_options` (e.g. `--asn-db FILE`) added to the import.
pub fn generate_and_import(work: &Path, traffic: &Traffic, import_options: &[&str]) -> PathBuf {
    let pcap = work.join("dark.pcap");
    let dataset = work.join("dataset");
    let pcap_text = pcap.to_str().expect("utf-8 path");
    let (packets, seed, seconds) = (traffic.packets.to_string(), traffic.seed.to_string(), traffic.seconds.to_string());
    let mut generate = vec!["generate", "--out", pcap_text, "--packets", &packets, "--seed", &seed];
    generate.extend(["--start", traffic.start, "--duration", &seconds]);
    for prefix in traffic.dark_prefixes {
        generate.extend(["--dark-prefix", prefix]);
    }
    nightjar(&generate);
    let mut import = vec!["import", pcap_text, "--data", dataset.to_str().expect("utf-8 path"), "--quiet"];
    import.extend(import_options);
    nightjar(&import);
    dataset
}

/// Generate and import 30,000 packets from 2026-11-21 over three days into `work/dataset`.
pub fn dataset(work: &Path) -> PathBuf {
    let traffic =
        Traffic { packets: 30_000, seed: 17, start: "2026-11-21", seconds: 259_200, dark_prefixes: &DARK_PREFIXES };
    generate_and_import(work, &traffic, &[])
}

/// Every file under `dir`, in path order.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).expect("a readable folder") {
        let path = entry.expect("a folder entry").path();
        if path.is_dir() {
            out.extend(files_under(&path));
        } else {
            out.push(path);
        }
    }
    out.sort();
    out
}
