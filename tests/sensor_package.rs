//! The sensor's Debian package on this machine, as a partner installs it:
//! `dpkg -i` of the package `.ci/run` builds (`cargo deb -p nightjar-sensor`,
//! its path in `NIGHTJAR_SENSOR_DEB`) makes the system user, the binary, the
//! configuration as a conffile readable by that user only, the spool folder
//! and the hardened unit with `CAP_NET_RAW` only. With the configuration
//! edited as INSTALL.md says, `nightjar-sensor --check` run as the sensor's
//! user reports every check against a real collector over TLS; the installed
//! binary, run as the unit runs it (that user, `CAP_NET_RAW` only), captures
//! on loopback and uploads. Installing the package again (dpkg's upgrade path)
//! and `dpkg -r` keep the spool and the edited configuration, `dpkg -P`
//! removes both. The test purges the package at the end.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use nightjar_test_kit::collector_process::CollectorProcess;
use nightjar_test_kit::prereq::{self, Skipped};

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");
/// Where `.ci/run` says the package it built is.
const DEB_VAR: &str = "NIGHTJAR_SENSOR_DEB";
const TEST: &str = "sensor_package::dpkg_installs_a_working_sensor_and_purge_removes_its_spool";

/// The package, and the system user it makes for the service.
const PACKAGE: &str = "nightjar-sensor";
const USER: &str = PACKAGE;

/// What it installs (INSTALL.md's table), and what the test puts beside the configuration as
/// the operator would (token, CA certificate).
const BINARY: &str = "/usr/bin/nightjar-sensor";
const CONFIG_DIR: &str = "/etc/nightjar";
const CONFIG: &str = "/etc/nightjar/sensor.toml";
const TOKEN: &str = "/etc/nightjar/sensor.token";
const CA: &str = "/etc/nightjar/collector-ca.pem";
/// The spool's folder (the sensor makes `spool/` in it at its first start).
const STATE_DIR: &str = "/var/lib/nightjar-sensor";
const SPOOL: &str = "/var/lib/nightjar-sensor/spool";

/// The id the collector knows the installed sensor by.
const SENSOR_ID: &str = "partner-pkg";

/// Run `program args` to completion; its output.
fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"))
}

/// Run it and require success; its stdout.
fn succeed(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The package, root, dpkg and setpriv, and a machine where no sensor is installed yet.
fn prerequisites() -> Result<PathBuf, Skipped> {
    let deb = std::env::var_os(DEB_VAR).map(PathBuf::from).filter(|deb| deb.is_file()).ok_or_else(|| {
        prereq::missing(TEST, format!("{DEB_VAR} names no .deb (`cargo deb -p nightjar-sensor`, as .ci/run does)"))
    })?;
    if !prereq::is_root() {
        return Err(prereq::missing(TEST, "not running as root (dpkg -i)"));
    }
    for tool in ["dpkg", "dpkg-query", "setpriv", "getent", "userdel"] {
        if prereq::which(tool).is_none() {
            return Err(prereq::missing(TEST, format!("`{tool}` is not installed (see .ci/install-system-tools)")));
        }
    }
    if run("dpkg-query", &["-W", PACKAGE]).status.success() || Path::new(CONFIG_DIR).exists() {
        return Err(prereq::missing(TEST, format!("a {PACKAGE} is installed here already (or {CONFIG_DIR} exists)")));
    }
    Ok(deb)
}

/// Purges the package and removes what the test and the package left, also when the test fails.
struct Installed {
    user_was_there: bool,
}

impl Drop for Installed {
    fn drop(&mut self) {
        let _ = run("dpkg", &["-P", PACKAGE]);
        let _ = std::fs::remove_file(TOKEN);
        let _ = std::fs::remove_file(CA);
        let _ = std::fs::remove_dir(CONFIG_DIR);
        if !self.user_was_there {
            // The package keeps its system user on purge, as Debian does; the test made it.
            let _ = run("userdel", &[USER]);
            let _ = run("groupdel", &[USER]);
        }
    }
}

/// Uid and gid of the sensor's user, with its home and shell.
fn sensor_user() -> (u32, u32, String, String) {
    let entry = succeed("getent", &["passwd", USER]);
    let fields: Vec<&str> = entry.trim().split(':').collect();
    assert_eq!(fields.len(), 7, "{entry}");
    (fields[2].parse().unwrap(), fields[3].parse().unwrap(), fields[5].to_string(), fields[6].to_string())
}

/// Mode bits (permissions only), owner and group of `path`.
fn owner_and_mode(path: &str) -> (u32, u32, u32) {
    let meta = std::fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    (meta.uid(), meta.gid(), meta.permissions().mode() & 0o7777)
}

/// Replace `line` (which must be there) in the installed configuration, as the operator does.
fn edit_config(config: &mut String, line: &str, replacement: &str) {
    assert!(config.contains(line), "the installed {CONFIG} has no line `{line}`:\n{config}");
    *config = config.replacen(line, replacement, 1);
}

/// The installed binary as the sensor's user, with `capabilities` (`+net_raw`) ambient.
fn as_sensor_user(capabilities: Option<&str>) -> Command {
    let mut command = Command::new("setpriv");
    command.args(["--reuid", USER, "--regid", USER, "--init-groups"]);
    if let Some(capabilities) = capabilities {
        command.args(["--inh-caps", capabilities, "--ambient-caps", capabilities, "--bounding-set", "-all,+net_raw"]);
    }
    command.arg(BINARY);
    command
}

/// A collector over TLS on loopback that knows `SENSOR_ID`: its process, certificate and token.
fn start_collector(dir: &Path) -> (CollectorProcess, String, String) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".into()]).unwrap();
    std::fs::write(dir.join("collector.crt"), certified.cert.pem()).unwrap();
    std::fs::write(dir.join("collector.key"), certified.signing_key.serialize_pem()).unwrap();
    let config = dir.join("collector.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:0\"\ntls_cert = \"collector.crt\"\ntls_key = \"collector.key\"\n\
         dataset_dir = \"data\"\nstate_dir = \"state\"\ncompact_interval_s = 0\n",
    )
    .unwrap();
    let added = Command::new(NIGHTJAR).args(["collector", "add-sensor", SENSOR_ID, "--config"]).arg(&config).output();
    let added = added.unwrap();
    assert!(added.status.success(), "{}", String::from_utf8_lossy(&added.stderr));
    let token = String::from_utf8(added.stdout).unwrap();
    (CollectorProcess::start(NIGHTJAR, &config), certified.cert.pem(), token)
}

/// Every file below `dir` with its bytes, sorted: what a removal must keep.
fn contents(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut found = Vec::new();
    let mut folders = vec![dir.to_path_buf()];
    while let Some(folder) = folders.pop() {
        for entry in std::fs::read_dir(&folder).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                found.push((path.clone(), std::fs::read(&path).unwrap_or_default()));
            }
        }
    }
    found.sort();
    found
}

/// Wait until the file `path` holds `text`.
fn wait_for(path: &Path, text: &str, timeout: Duration) {
    let deadline = Instant::now() + timeout;
    while !std::fs::read_to_string(path).unwrap_or_default().contains(text) {
        assert!(
            Instant::now() < deadline,
            "no `{text}` within {timeout:?}:\n{}",
            std::fs::read_to_string(path).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn dpkg_installs_a_working_sensor_and_purge_removes_its_spool() -> Result<(), Skipped> {
    let deb = prerequisites()?;
    let _installed = Installed { user_was_there: run("getent", &["passwd", USER]).status.success() };
    succeed("dpkg", &["-i", &deb.display().to_string()]);

    // The user, the files, their owners and modes, the unit.
    let (uid, gid, home, shell) = sensor_user();
    assert!(uid > 0 && uid < 1000, "a system user: uid {uid}");
    assert_eq!((home.as_str(), shell.as_str()), (STATE_DIR, "/usr/sbin/nologin"));
    assert_eq!(owner_and_mode(BINARY), (0, 0, 0o755));
    assert_eq!(owner_and_mode(CONFIG_DIR), (0, gid, 0o750));
    assert_eq!(owner_and_mode(CONFIG), (0, gid, 0o640), "the config is readable by the sensor's user only");
    assert_eq!(owner_and_mode(STATE_DIR), (uid, gid, 0o700), "the spool's folder is the sensor user's alone");
    let conffiles = succeed("dpkg-query", &["-W", "-f", "${Conffiles}", PACKAGE]);
    assert!(conffiles.contains(CONFIG), "{CONFIG} is a conffile: {conffiles}");
    let files = succeed("dpkg", &["-L", PACKAGE]);
    let unit = files.lines().find(|f| f.ends_with("/systemd/system/nightjar-sensor.service"));
    let unit = std::fs::read_to_string(unit.unwrap_or_else(|| panic!("no unit among:\n{files}"))).unwrap();
    for line in [
        "User=nightjar-sensor",
        "ExecStart=/usr/bin/nightjar-sensor --config /etc/nightjar/sensor.toml",
        "AmbientCapabilities=CAP_NET_RAW",
        "CapabilityBoundingSet=CAP_NET_RAW",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/nightjar-sensor",
    ] {
        assert!(unit.lines().any(|l| l == line), "the unit has `{line}`:\n{unit}");
    }
    let capabilities: Vec<&str> = unit
        .lines()
        .filter(|l| !l.starts_with('#'))
        .flat_map(|l| l.split(['=', ' ']))
        .filter(|w| w.starts_with("CAP_"))
        .collect();
    assert!(capabilities.iter().all(|c| *c == "CAP_NET_RAW"), "CAP_NET_RAW only: {capabilities:?}");

    // As installed, the check says what is missing: the token.
    let first = as_sensor_user(None).args(["--config", CONFIG, "--check", "--offline"]).output().unwrap();
    let said = String::from_utf8_lossy(&first.stdout);
    assert!(!first.status.success(), "{said}");
    assert!(said.starts_with("FAILED  files") && said.contains(TOKEN), "{said}");

    // Configured as INSTALL.md says, against a collector on loopback.
    let dir = tempfile::tempdir().unwrap();
    let (collector, certificate, token) = start_collector(dir.path());
    std::fs::write(TOKEN, token).unwrap();
    std::fs::write(CA, certificate).unwrap();
    succeed("chown", &[&format!("root:{USER}"), TOKEN]);
    succeed("chmod", &["0440", TOKEN]);
    let mut config = std::fs::read_to_string(CONFIG).unwrap();
    edit_config(&mut config, "id = \"partner-1\"", &format!("id = \"{SENSOR_ID}\""));
    edit_config(
        &mut config,
        "url = \"https://collector.example.net:8443\"",
        &format!("url = \"https://127.0.0.1:{}\"", collector.port()),
    );
    edit_config(&mut config, "interface = \"eth1\"", "interface = \"lo\"");
    edit_config(&mut config, "promiscuous = true", "promiscuous = false");
    // A dark address on loopback, so that a datagram the test sends there is captured.
    edit_config(
        &mut config,
        "dark_prefixes = [\"192.0.2.0/24\", \"2001:db8:2::/64\"]",
        "dark_prefixes = [\"127.0.0.2/32\"]",
    );
    std::fs::write(CONFIG, config).unwrap();

    let check = as_sensor_user(None).args(["--config", CONFIG, "--check"]).output().unwrap();
    let report = String::from_utf8_lossy(&check.stdout);
    assert!(check.status.success(), "{report}{}", String::from_utf8_lossy(&check.stderr));
    for check in ["files", "spool", "capture", "connect", "tls", "token", "sensor id", "clock"] {
        assert!(
            report.lines().any(|l| l.starts_with("ok") && l[8..].starts_with(check)),
            "the check reports `{check}`:\n{report}"
        );
    }
    assert!(report.contains(&format!("check passed: {CONFIG}")), "{report}");

    // The installed binary as the unit runs it: the sensor's user, CAP_NET_RAW only.
    let log = dir.path().join("sensor.log");
    let mut sensor = as_sensor_user(Some("+net_raw"))
        .args(["--config", CONFIG])
        .env("NIGHTJAR_LOG", "info,nightjar_sensor::uplink=debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    wait_for(&log, "sensor started", Duration::from_secs(30));
    let probe = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    probe.send_to(b"knock", "127.0.0.2:9").unwrap();
    wait_for(&log, "batch acknowledged", Duration::from_secs(30));
    succeed("kill", &["-TERM", &sensor.id().to_string()]);
    assert!(sensor.wait().unwrap().success(), "{}", std::fs::read_to_string(&log).unwrap_or_default());
    drop(collector);
    assert_eq!(owner_and_mode(SPOOL).0, uid, "the sensor made its spool as its user");
    let spool = contents(Path::new(SPOOL));
    let next_seq = std::fs::read_to_string(Path::new(SPOOL).join("next-seq")).unwrap();
    assert!(next_seq.trim().parse::<u64>().unwrap() >= 2, "a batch was numbered: next-seq {next_seq}");

    // Installing the package again takes dpkg's upgrade path (old prerm, new postinst): the
    // spool, its owner and the edited configuration stay as they were.
    succeed("dpkg", &["-i", &deb.display().to_string()]);
    assert_eq!(contents(Path::new(SPOOL)), spool, "an upgrade keeps the spool as it was");
    assert_eq!(owner_and_mode(STATE_DIR), (uid, gid, 0o700));
    assert!(std::fs::read_to_string(CONFIG).unwrap().contains(SENSOR_ID), "an upgrade keeps the edited configuration");

    // Removal keeps the spool and the configuration; the binary goes.
    succeed("dpkg", &["-r", PACKAGE]);
    assert!(!Path::new(BINARY).exists());
    assert_eq!(contents(Path::new(SPOOL)), spool, "dpkg -r keeps the spool as it was");
    assert!(std::fs::read_to_string(CONFIG).unwrap().contains(SENSOR_ID), "dpkg -r keeps the edited configuration");
    let status = succeed("dpkg-query", &["-W", "-f", "${db:Status-Status}", PACKAGE]);
    assert_eq!(status, "config-files");

    // Purge removes the spool and the configuration.
    succeed("dpkg", &["-P", PACKAGE]);
    assert!(!Path::new(STATE_DIR).exists(), "dpkg -P removes the spool");
    assert!(!Path::new(CONFIG).exists(), "dpkg -P removes the configuration");
    Ok(())
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![trial!(dpkg_installs_a_working_sensor_and_purge_removes_its_spool)]
}
