//! `nightjar cluster`: a real scheduler and two executor processes on loopback, over datasets in
//! the S3 API server (moto), against the same commands run on one machine.
//!
//! - every statement of the query layer's golden SQL files gives the same rows, or fails too;
//! - `nightjar risk` for a day and a week gives the same report, counted from the packets and
//!   from the `source_days` rollup;
//! - `EXPLAIN` shows the plan split into Ballista's stages;
//! - an executor without Nightjar's functions, or of another Nightjar version, makes the query
//!   fail with an error naming the function or both versions;
//! - an executor killed in the middle of a query: Ballista notices it lost the executor (no
//!   heartbeat within the scheduler's `--executor-timeout`), runs its tasks on the other one,
//!   and the query finishes with the answer one machine gives.
//!
//! Needs `python3` with `moto[server]`; reported ignored without it unless
//! `NIGHTJAR_SYSTEM_TESTS=require`.

use std::fs::File;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nightjar_test_kit::fixture;
use nightjar_test_kit::ports::ReservedPort;
use nightjar_test_kit::prereq::Skipped;

use crate::support::s3::{BUCKET, S3Server};

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");
const GOLDEN: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../nightjar-query/tests/golden");

/// A scheduler and its executors, stopped when dropped; their logs in `logs`.
struct Cluster {
    processes: Vec<Child>,
    address: String,
    logs: PathBuf,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for process in &mut self.processes {
            let _ = process.kill();
            let _ = process.wait();
        }
    }
}

/// How one executor of a test cluster is started.
#[derive(Clone, Copy)]
enum ExecutorKind {
    Nightjar,
    /// Ballista's executor as it comes, without Nightjar's functions.
    Bare,
    /// A Nightjar executor posing as another release.
    OtherVersion,
}

impl Cluster {
    fn start(s3: &S3Server, work: &Path, executors: &[ExecutorKind]) -> Cluster {
        let logs = work.join("logs");
        std::fs::create_dir_all(&logs).expect("log folder");
        let scheduler_port = ReservedPort::loopback();
        let address = format!("df://127.0.0.1:{}", scheduler_port.port());
        let listen = scheduler_port.address().to_string();
        drop(scheduler_port);
        let mut cluster = Cluster { processes: Vec::new(), address: address.clone(), logs: logs.clone() };
        cluster.spawn(
            "scheduler",
            s3,
            &["cluster", "scheduler", "--listen", &listen, "--executor-timeout", "10s"],
            &[],
        );
        let deadline = Instant::now() + Duration::from_secs(60);
        while TcpStream::connect(&listen).is_err() {
            assert!(Instant::now() < deadline, "the scheduler did not listen:\n{}", cluster.log("scheduler"));
            std::thread::sleep(Duration::from_millis(100));
        }
        for (index, kind) in executors.iter().enumerate() {
            let (flight, grpc) = (ReservedPort::loopback(), ReservedPort::loopback());
            let (flight_port, grpc_port) = (flight.port().to_string(), grpc.port().to_string());
            drop((flight, grpc));
            let work_dir = work.join(format!("executor-{index}"));
            std::fs::create_dir_all(&work_dir).expect("executor folder");
            let mut args = vec!["cluster", "executor", "--scheduler", &address, "--flight-port", &flight_port];
            args.extend(["--grpc-port", &grpc_port, "--work-dir", work_dir.to_str().expect("UTF-8 path")]);
            let mut env = Vec::new();
            match kind {
                ExecutorKind::Nightjar => {}
                ExecutorKind::Bare => args.push("--without-nightjar"),
                ExecutorKind::OtherVersion => env.push(("NIGHTJAR_CLUSTER_VERSION", "0.0.1-other")),
            }
            cluster.spawn(&format!("executor-{index}"), s3, &args, &env);
            let deadline = Instant::now() + Duration::from_secs(60);
            // Executors ask the scheduler for tasks; the Flight service serves their shuffle data.
            while TcpStream::connect(("127.0.0.1", flight_port.parse::<u16>().expect("port"))).is_err() {
                let name = format!("executor-{index}");
                assert!(Instant::now() < deadline, "{name} did not listen:\n{}", cluster.log(&name));
                std::thread::sleep(Duration::from_millis(100));
            }
        }
        cluster
    }

    fn spawn(&mut self, name: &str, s3: &S3Server, args: &[&str], env: &[(&str, &str)]) {
        let log = File::create(self.logs.join(format!("{name}.log"))).expect("log file");
        let child = Command::new(NIGHTJAR)
            .args(args)
            .envs(s3.env())
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("nightjar cluster starts");
        self.processes.push(child);
    }

    fn log(&self, name: &str) -> String {
        std::fs::read_to_string(self.logs.join(format!("{name}.log"))).unwrap_or_default()
    }

    fn logs(&self) -> String {
        let mut all = String::new();
        for entry in std::fs::read_dir(&self.logs).expect("log folder").flatten() {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            let tail: Vec<&str> = text.lines().rev().take(15).collect();
            all += &format!(
                "--- {}\n{}\n",
                entry.file_name().to_string_lossy(),
                tail.into_iter().rev().collect::<Vec<_>>().join("\n")
            );
        }
        all
    }
}

/// Runs `nightjar ARGS` with the S3 server's settings, on the cluster when given.
fn nightjar(s3: &S3Server, args: &[&str], cluster: Option<&Cluster>) -> Output {
    let mut command = Command::new(NIGHTJAR);
    command.args(args).envs(s3.env());
    if let Some(cluster) = cluster {
        command.args(["--cluster", &cluster.address]);
    }
    command.output().expect("nightjar runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The statements of a golden SQL file (each ends with `;` at the end of a line).
fn statements(script: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in script.lines() {
        if current.is_empty() && (line.trim().is_empty() || line.starts_with("--")) {
            continue;
        }
        current.push_str(line);
        current.push('\n');
        if line.trim_end().ends_with(';') {
            out.push(std::mem::take(&mut current));
        }
    }
    out
}

/// Uploads the golden fixture as a Delta table to `s3://BUCKET/golden`; returns its URL.
fn golden_table(s3: &S3Server, work: &Path) -> String {
    let local = work.join("golden");
    fixture::write(&local);
    let converted = Command::new(NIGHTJAR).arg("convert").arg(&local).output().expect("nightjar convert runs");
    assert!(converted.status.success(), "convert: {}", text(&converted.stderr));
    let upload = Command::new("python3")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/readers/s3_upload.py"))
        .args([&s3.endpoint, BUCKET, "golden"])
        .arg(&local)
        .output()
        .expect("python3 runs");
    assert!(upload.status.success(), "upload failed: {}", text(&upload.stderr));
    format!("s3://{BUCKET}/golden")
}

/// The last clause of an error message (`a: b: c` → `c`): what a wrapped error still says.
fn last_clause(message: &str) -> &str {
    let line = message.lines().rev().find(|line| !line.trim().is_empty()).unwrap_or_default();
    line.rsplit(": ").next().unwrap_or(line).trim()
}

fn golden_sql_and_risk_give_the_local_answers_on_two_executors() -> Result<(), Skipped> {
    let s3 = S3Server::start("cluster")?;
    let work = tempfile::tempdir().expect("temporary folder");
    let golden = golden_table(&s3, work.path());
    let cluster = Cluster::start(&s3, work.path(), &[ExecutorKind::Nightjar, ExecutorKind::Nightjar]);

    let mut compared = 0;
    for name in ["distinct_counts", "functions", "views"] {
        let script = std::fs::read_to_string(Path::new(GOLDEN).join(format!("{name}.sql"))).expect("golden file");
        for statement in statements(&script) {
            let args = ["sql", "--data", &golden, "--format", "csv", "-c", &statement];
            let (local, distributed) = (nightjar(&s3, &args, None), nightjar(&s3, &args, Some(&cluster)));
            if local.status.success() {
                assert!(
                    distributed.status.success(),
                    "{name}: the cluster failed where one machine answered:\n{statement}\n{}\n{}",
                    text(&distributed.stderr),
                    cluster.logs()
                );
                assert_eq!(text(&distributed.stdout), text(&local.stdout), "{name}: different rows for\n{statement}");
            } else {
                let expected = last_clause(&text(&local.stderr)).to_owned();
                assert!(
                    !distributed.status.success(),
                    "{name}: the cluster answered where one machine failed:\n{statement}"
                );
                assert!(
                    text(&distributed.stderr).contains(&expected),
                    "{name}: the cluster's error does not say `{expected}`:\n{}",
                    text(&distributed.stderr)
                );
            }
            compared += 1;
        }
    }
    assert!(compared >= 30, "only {compared} golden statements compared");

    // From the packets, then (once `nightjar rollup` wrote them) from the source_days rollup.
    for counted_from in ["\"counted_from\": \"packets\"", "\"counted_from\": \"rollups\""] {
        if counted_from.contains("rollups") {
            let rolled = nightjar(&s3, &["rollup", "--data", &golden], None);
            assert!(rolled.status.success(), "nightjar rollup: {}", text(&rolled.stderr));
        }
        for (period, from, to) in [("day", "2026-11-20", "2026-11-20"), ("week", "2026-11-16", "2026-11-22")] {
            let args = ["risk", "--data", &golden, "--period", period, "--from", from, "--to", to, "--format", "json"];
            let (local, distributed) = (nightjar(&s3, &args, None), nightjar(&s3, &args, Some(&cluster)));
            assert!(local.status.success(), "risk {period}: {}", text(&local.stderr));
            let logs = cluster.logs();
            assert!(
                distributed.status.success(),
                "risk {period} on the cluster: {}\n{logs}",
                text(&distributed.stderr)
            );
            let report = text(&local.stdout);
            assert!(report.contains(counted_from), "risk {period} was not {counted_from}:\n{report}");
            assert!(report.contains("\"sources\": "), "risk {period} counted nothing:\n{report}");
            assert_eq!(text(&distributed.stdout), report, "risk {period} {counted_from}: different reports");
        }
    }

    let explain = nightjar(
        &s3,
        &[
            "sql",
            "--data",
            &golden,
            "--format",
            "csv",
            "-c",
            "EXPLAIN SELECT country, count(DISTINCT src_ip) FROM packets GROUP BY country",
        ],
        Some(&cluster),
    );
    assert!(explain.status.success(), "EXPLAIN on the cluster: {}", text(&explain.stderr));
    let plan = text(&explain.stdout);
    assert!(
        plan.contains("distributed_plan") && plan.contains("ShuffleWriterExec"),
        "EXPLAIN does not show the plan's stages:\n{plan}"
    );
    Ok(())
}

fn executors_without_nightjar_or_of_another_version_refuse_clearly() -> Result<(), Skipped> {
    let s3 = S3Server::start("cluster")?;
    let work = tempfile::tempdir().expect("temporary folder");
    let golden = golden_table(&s3, work.path());
    let query = "SELECT ip_text(src_ip) AS source, count(*) AS packets FROM packets GROUP BY 1 ORDER BY 1";

    // Ballista's own executor reads a local folder, but has none of Nightjar's functions...
    let folder = work.path().join("folder");
    fixture::write(&folder);
    let folder = folder.to_str().expect("UTF-8 path").to_owned();
    let bare = Cluster::start(&s3, &work.path().join("bare"), &[ExecutorKind::Bare]);
    let refused = nightjar(&s3, &["sql", "--data", &folder, "-c", query], Some(&bare));
    assert!(!refused.status.success(), "a bare Ballista executor answered Nightjar's query");
    let message = text(&refused.stderr);
    assert!(message.contains("ip_text"), "the error does not name the function:\n{message}\n{}", bare.logs());
    // ...nor the store of a table's snapshot.
    let refused =
        nightjar(&s3, &["sql", "--data", &golden, "-c", "SELECT count(DISTINCT src_ip) FROM packets"], Some(&bare));
    assert!(!refused.status.success(), "a bare Ballista executor read a Delta table's snapshot");
    let message = text(&refused.stderr);
    assert!(message.contains("nightjar-snapshot://"), "the error does not name the snapshot store:\n{message}");
    drop(bare);

    let other = Cluster::start(&s3, &work.path().join("other"), &[ExecutorKind::OtherVersion]);
    let refused = nightjar(&s3, &["sql", "--data", &golden, "-c", query], Some(&other));
    assert!(!refused.status.success(), "an executor of another version answered");
    let message = text(&refused.stderr);
    let ours = env!("CARGO_PKG_VERSION");
    assert!(
        message.contains("0.0.1-other") && message.contains(&format!("Nightjar {ours}")),
        "the error does not name both versions:\n{message}\n{}",
        other.logs()
    );
    Ok(())
}

/// Imports a generated week into `s3://BUCKET/week`; returns its URL.
fn generated_week(s3: &S3Server, work: &Path, packets: u32) -> String {
    let pcap = work.join("week.pcap");
    let generated = Command::new(NIGHTJAR)
        .args(["generate", "--packets", &packets.to_string(), "--seed", "4", "--dark-prefix", "192.0.2.0/24"])
        .args(["--start", "2026-11-02", "--duration", "604800", "--out"])
        .arg(&pcap)
        .output()
        .expect("nightjar generate runs");
    assert!(generated.status.success(), "generate: {}", text(&generated.stderr));
    let url = format!("s3://{BUCKET}/week");
    let imported = nightjar(
        s3,
        &["import", "--quiet", "--dark-prefix", "192.0.2.0/24", "--data", &url, pcap.to_str().expect("UTF-8")],
        None,
    );
    assert!(imported.status.success(), "import: {}", text(&imported.stderr));
    url
}

fn a_query_outlives_an_executor_killed_in_its_middle() -> Result<(), Skipped> {
    let s3 = S3Server::start("cluster")?;
    let work = tempfile::tempdir().expect("temporary folder");
    let week = generated_week(&s3, work.path(), 100_000);
    // Pairs of one source's packets on different days: seconds of work over every file.
    let query = "SELECT count(*) AS pairs, count(DISTINCT a.src_ip) AS sources \
                 FROM packets a JOIN packets b ON a.src_ip = b.src_ip AND a.day <> b.day";
    let args = ["sql", "--data", &week, "--format", "csv", "-c", query];
    let local = nightjar(&s3, &args, None);
    assert!(local.status.success(), "{}", text(&local.stderr));

    let mut cluster = Cluster::start(&s3, work.path(), &[ExecutorKind::Nightjar, ExecutorKind::Nightjar]);
    let mut client = Command::new(NIGHTJAR)
        .args(args)
        .args(["--cluster", &cluster.address])
        .envs(s3.env())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("nightjar sql starts");
    // Kill executor 0 as soon as it runs a task of the query.
    let deadline = Instant::now() + Duration::from_secs(120);
    while !cluster.log("executor-0").contains("Received task") {
        assert!(Instant::now() < deadline, "executor 0 never got a task:\n{}", cluster.logs());
        assert!(client.try_wait().expect("client state").is_none(), "the query ended before executor 0 got a task");
        std::thread::sleep(Duration::from_millis(20));
    }
    let victim = &mut cluster.processes[1];
    victim.kill().expect("executor 0 killed");
    victim.wait().expect("executor 0 reaped");
    assert!(client.try_wait().expect("client state").is_none(), "the query ended before the kill: nothing shown");
    let finished = client.wait_with_output().expect("the query ends");
    assert!(
        finished.status.success(),
        "the query failed when an executor died: {}\n{}",
        text(&finished.stderr),
        cluster.logs()
    );
    assert_eq!(text(&finished.stdout), text(&local.stdout), "the surviving executor gave another answer");
    assert!(
        cluster.log("scheduler").contains("heartbeat timed out"),
        "the scheduler did not notice the lost executor:\n{}",
        cluster.log("scheduler")
    );
    Ok(())
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(golden_sql_and_risk_give_the_local_answers_on_two_executors),
        trial!(executors_without_nightjar_or_of_another_version_refuse_clearly),
        trial!(a_query_outlives_an_executor_killed_in_its_middle),
    ]
}
