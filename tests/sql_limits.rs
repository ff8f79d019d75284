//! The SQL layer's limits cannot be bypassed, through `nightjar sql` and through `nightjar
//! serve-sql` (the real ADBC Flight SQL driver):
//! - a deep chain of `OR` or `+` terms is refused with the depth limit, not a stack overflow
//!   that aborts the process, and the server still answers afterwards;
//! - functions whose output grows with an argument (`repeat`, `lpad`, `range`, `array_repeat`…)
//!   are refused beyond the memory limit before they allocate, also as constants, and `EXPLAIN`
//!   of them does not allocate; a doubling recursive CTE stops at the memory limit;
//! - a CPU-bound query stops at its time limit, however long its computation between batches;
//! - two heavy queries on the server do not starve another client's `SELECT 1`.
//!
//! The serve-sql tests need `python3` with `adbc-driver-flightsql` and `pyarrow`; they are reported ignored
//! without them unless `NIGHTJAR_SYSTEM_TESTS=require`.

use std::ffi::OsStr;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use nightjar_test_kit::prereq::{self, Skipped};
use nightjar_test_kit::serve_sql_process::ServeSqlProcess;

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");

/// A cross join of 400 million pairs: one batch of output takes the whole computation, far
/// longer than the limits the tests set (about 40 s on a debug build).
const CPU_BOUND: &str = "SELECT count(*) FROM generate_series(1, 20000) a, generate_series(1, 20000) b \
                         WHERE (a.value * b.value) % 7919 = 1";

fn or_chain(terms: usize) -> String {
    let terms: Vec<String> = (0..terms).map(|port| format!("dst_port = {port}")).collect();
    format!("SELECT count(*) FROM packets WHERE {}", terms.join(" OR "))
}

fn plus_chain(terms: usize) -> String {
    format!("SELECT {}", vec!["1"; terms].join(" + "))
}

/// `nightjar sql` on an empty dataset with `args`, killed if it runs longer than `within`.
fn sql(data: &Path, args: &[&str], within: Duration) -> (Output, Duration) {
    let started = Instant::now();
    let mut child = Command::new(NIGHTJAR)
        .arg("sql")
        .arg("--data")
        .arg(data)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the nightjar binary runs");
    while child.try_wait().expect("wait for nightjar sql").is_none() {
        if started.elapsed() > within {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let output = child.wait_with_output().expect("nightjar sql output");
    (output, started.elapsed())
}

/// The error `nightjar sql` printed, after checking it exited with an error rather than a crash.
fn refused(output: &Output, what: &str) -> String {
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert_eq!(output.status.code(), Some(1), "{what}: not a clean refusal ({:?}):\n{stderr}", output.status);
    stderr
}

fn deep_or_and_plus_chains_are_refused_by_nightjar_sql_instead_of_overflowing_the_stack() {
    let data = tempfile::tempdir().expect("temporary folder");
    let work = tempfile::tempdir().expect("temporary folder");
    for (name, statement) in [
        ("2,000 OR terms", or_chain(2_000)),
        ("3,000 + terms", plus_chain(3_000)),
        ("20,000 OR terms", or_chain(20_000)),
    ] {
        // Through a file: 20,000 terms are longer than a command line may be.
        let script = work.path().join("deep.sql");
        std::fs::write(&script, &statement).expect("script written");
        let (output, _) = sql(data.path(), &["-f", script.to_str().expect("UTF-8 path")], Duration::from_secs(60));
        let stderr = refused(&output, name);
        assert!(stderr.contains("nest deeper than 1000 levels") && stderr.contains("IN ("), "{name}: {stderr}");
    }
    let nested_explain = format!("{}SELECT 1", "EXPLAIN ".repeat(5_000));
    let (output, _) = sql(data.path(), &["-c", &nested_explain], Duration::from_secs(60));
    assert!(refused(&output, "nested EXPLAIN").contains("EXPLAIN does not nest"));

    // Within the limit, the same shapes are answered.
    let (output, _) = sql(data.path(), &["--format", "csv", "-c", &plus_chain(900)], Duration::from_secs(60));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert!(
        String::from_utf8_lossy(&output.stdout).ends_with("\n900\n"),
        "{}",
        String::from_utf8_lossy(&output.stdout)
    );
    let (output, _) = sql(data.path(), &["--format", "csv", "-c", &or_chain(900)], Duration::from_secs(60));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

fn functions_that_grow_with_an_argument_are_refused_beyond_the_memory_limit() {
    let data = tempfile::tempdir().expect("temporary folder");
    let huge = [
        ("repeat", "SELECT length(repeat(arrow_cast('x', 'LargeUtf8'), 100000000000))"),
        ("repeat", "SELECT max(length(repeat('x', 100000))) FROM generate_series(1, 100000)"),
        ("repeat", "SELECT max(length(repeat(arrow_cast(value, 'Utf8'), 1000000))) FROM generate_series(1, 1000)"),
        ("lpad", "SELECT length(lpad('x', 2000000000))"),
        ("rpad", "SELECT length(rpad('x', 2000000000, 'yz'))"),
        ("range", "SELECT cardinality(range(1, 10000000000))"),
        ("generate_series", "SELECT cardinality(generate_series(1, 10000000000))"),
        ("range", "SELECT cardinality(range(DATE '1970-01-01', DATE '9999-01-01', INTERVAL '1 second'))"),
        ("array_repeat", "SELECT cardinality(array_repeat(1, 1000000000))"),
        ("array_resize", "SELECT cardinality(array_resize([1], 1000000000))"),
        ("replace", "SELECT length(replace(repeat('a', 100000), 'a', repeat('b', 100000)))"),
    ];
    for (function, statement) in huge {
        let (output, elapsed) =
            sql(data.path(), &["--memory-limit", "256MiB", "-c", statement], Duration::from_secs(60));
        let stderr = refused(&output, statement);
        assert!(
            stderr.contains(&format!("{function}()")) && stderr.contains("memory limit of 268435456 bytes"),
            "{statement}: {stderr}"
        );
        assert!(elapsed < Duration::from_secs(20), "{statement}: took {elapsed:?}");
    }
    // A literal is repeated on every row of a batch: one of 40 KB is 320 MB per batch.
    let literal =
        format!("SELECT max(length(s)) FROM (SELECT '{}' AS s FROM generate_series(1, 50000))", "x".repeat(40_000));
    let (output, _) = sql(data.path(), &["--memory-limit", "256MiB", "-c", &literal], Duration::from_secs(60));
    let stderr = refused(&output, "a 40 KB literal");
    assert!(stderr.contains("literal of 40000 bytes") && stderr.contains("limit of 32768 bytes"), "{stderr}");
    // Planning never builds the value: EXPLAIN answers.
    let explain = "EXPLAIN SELECT repeat(arrow_cast('x', 'LargeUtf8'), 100000000000)";
    let (output, _) = sql(data.path(), &["--memory-limit", "256MiB", "-c", explain], Duration::from_secs(60));
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    // A string that doubles on every step of a recursive CTE stops at the memory limit.
    let doubling = "WITH RECURSIVE t(s, n) AS (SELECT 'x', 1 UNION ALL SELECT s || s, n + 1 FROM t WHERE n < 64) \
                    SELECT max(length(s)) FROM t";
    let (output, _) = sql(data.path(), &["--memory-limit", "256MiB", "-c", doubling], Duration::from_secs(60));
    assert!(refused(&output, "doubling CTE").contains("more memory than the limit of 268435456 bytes"));
    // Values within the limit are built as before.
    let (output, _) = sql(
        data.path(),
        &[
            "--memory-limit",
            "256MiB",
            "--format",
            "csv",
            "-c",
            "SELECT length(repeat('ab', 1000)) AS n, cardinality(range(1, 11)) AS r",
        ],
        Duration::from_secs(60),
    );
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        "n,r\n2000,10\n",
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // No child of this test grew far beyond its limit.
    let peak_kib = children_peak_rss_kib();
    assert!(peak_kib < 1_500_000, "a nightjar sql process reached {peak_kib} KiB under a 256 MiB limit");
}

/// The largest resident set any waited-for child of this process reached, in KiB.
fn children_peak_rss_kib() -> i64 {
    // SAFETY: getrusage only writes the struct it is given.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_CHILDREN is a valid selector.
    let status = unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut usage) };
    assert_eq!(status, 0, "getrusage");
    usage.ru_maxrss
}

fn a_cpu_bound_query_stops_at_its_time_limit() {
    let data = tempfile::tempdir().expect("temporary folder");
    let (output, elapsed) = sql(data.path(), &["--time-limit", "2s", "-c", CPU_BOUND], Duration::from_secs(30));
    let stderr = refused(&output, "CPU-bound query");
    assert!(stderr.contains("time limit of 2 s"), "{stderr}");
    assert!(elapsed < Duration::from_secs(6), "stopped after {elapsed:?} under a 2 s limit");
}

/// `nightjar serve-sql` on plain gRPC on loopback, with a token; killed on drop.
struct ServeSql {
    process: ServeSqlProcess,
    token: String,
    _work: tempfile::TempDir,
}

impl ServeSql {
    fn start(extra: &[&str]) -> ServeSql {
        let work = tempfile::tempdir().expect("temporary folder");
        let (data, tokens) = (work.path().join("data"), work.path().join("sql-tokens"));
        std::fs::create_dir(&data).expect("data folder");
        let added = Command::new(NIGHTJAR)
            .args(["serve-sql", "add-token", "analyst", "--tokens"])
            .arg(&tokens)
            .output()
            .expect("nightjar runs");
        assert!(added.status.success(), "add-token: {}", String::from_utf8_lossy(&added.stderr));
        let token = String::from_utf8(added.stdout).expect("UTF-8").trim().to_owned();
        let mut args: Vec<&OsStr> =
            vec!["--listen".as_ref(), "127.0.0.1:0".as_ref(), "--data".as_ref(), data.as_os_str()];
        args.extend(["--tokens".as_ref(), tokens.as_os_str()]);
        args.extend(extra.iter().map(OsStr::new));
        let process = ServeSqlProcess::start(NIGHTJAR, args);
        ServeSql { process, token, _work: work }
    }

    fn client(&self, mode: &str, sql: Option<&str>) -> Command {
        let mut command = Command::new("python3");
        command.arg(repo_root().join("tests/readers/sql_limits_client.py")).args([
            self.process.uri(),
            &self.token,
            mode,
        ]);
        command.args(sql);
        command
    }

    /// Whether the server process is still running.
    fn alive(&mut self) -> bool {
        self.process.alive()
    }
}

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn json_of(output: Output, what: &str) -> Value {
    assert!(output.status.success(), "{what} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&output.stdout).expect("the client prints JSON")
}

fn serve_sql_refuses_deep_and_exploding_statements_and_keeps_serving() -> Result<(), Skipped> {
    prereq::python_imports(
        "sql_limits",
        "adbc_driver_flightsql.dbapi, adbc_driver_manager, pyarrow",
        "pip install -r .ci/python-requirements.txt",
    )?;
    let mut server = ServeSql::start(&["--memory-limit", "256MiB"]);
    let statements = [
        or_chain(2_000),
        plus_chain(3_000),
        or_chain(20_000),
        "SELECT length(repeat(arrow_cast('x', 'LargeUtf8'), 100000000000))".to_owned(),
        "SELECT cardinality(range(1, 10000000000))".to_owned(),
    ];
    let mut client =
        server.client("statements", None).stdin(Stdio::piped()).stdout(Stdio::piped()).spawn().expect("python3 runs");
    client.stdin.take().expect("stdin is piped").write_all(statements.join("\n").as_bytes()).expect("SQL sent");
    let seen = json_of(client.wait_with_output().expect("the client ends"), "sql_limits_client.py statements");
    let seen = seen.as_array().expect("a list of outcomes");
    assert_eq!(seen.len(), statements.len() + 1);
    for (outcome, statement) in seen.iter().zip(&statements[..3]) {
        assert_eq!(outcome["status"], "INVALID_ARGUMENT", "{}…: {outcome}", &statement[..40]);
        assert!(outcome["message"].as_str().is_some_and(|m| m.contains("nest deeper than 1000 levels")), "{outcome}");
    }
    for (outcome, function) in seen[3..5].iter().zip(["repeat()", "range()"]) {
        // The driver reports gRPC's RESOURCE_EXHAUSTED as INTERNAL, naming the gRPC code.
        let message = outcome["message"].as_str().unwrap_or_default();
        assert!(message.contains("ResourceExhausted") && message.contains(function), "{outcome}");
        assert!(message.contains("memory limit of 268435456 bytes"), "{outcome}");
    }
    assert_eq!(seen[5]["value"], 1, "SELECT 1 after the refusals: {}", seen[5]);
    assert!(server.alive(), "serve-sql died");
    Ok(())
}

fn two_heavy_queries_on_serve_sql_do_not_starve_another_clients_select_1() -> Result<(), Skipped> {
    prereq::python_imports(
        "sql_limits",
        "adbc_driver_flightsql.dbapi, adbc_driver_manager, pyarrow",
        "pip install -r .ci/python-requirements.txt",
    )?;
    let mut server = ServeSql::start(&["--time-limit", "10s"]);
    let mut heavy: Vec<Child> = (0..2)
        .map(|_| server.client("one", Some(CPU_BOUND)).stdout(Stdio::piped()).spawn().expect("python3 runs"))
        .collect();
    // Let both heavy queries get going before the light one arrives.
    std::thread::sleep(Duration::from_millis(1_500));
    let pings = json_of(server.client("pings", None).output().expect("python3 runs"), "pings");
    // Not starved: the light client got its answers while the heavy queries still ran (on a busy
    // machine its own start-up may take seconds; what counts is that it did not wait for them).
    let heavy_running = heavy.iter_mut().map(|child| child.try_wait().ok().flatten()).filter(Option::is_none).count();
    assert!(heavy_running > 0, "the SELECT 1 calls ended only after the heavy queries did");
    for ping in pings.as_array().expect("a list of outcomes") {
        assert_eq!(ping["value"], 1, "{ping}");
        let seconds = ping["seconds"].as_f64().expect("seconds");
        assert!(seconds < 2.0, "SELECT 1 took {seconds:.2} s while two heavy queries ran");
    }
    for child in heavy {
        let outcome = json_of(child.wait_with_output().expect("the heavy client ends"), "heavy query");
        assert_eq!(outcome["status"], "TIMEOUT", "{outcome}");
        let seconds = outcome["seconds"].as_f64().expect("seconds");
        assert!(seconds < 10.0 + 4.0, "a heavy query stopped after {seconds:.1} s under a 10 s limit");
    }
    // The heavy queries' work stops too, not only their answers: every operator stops at its
    // next input batch, so the server goes idle once the join has finished the batch in hand
    // (2 s on an idle machine; the queries would otherwise compute for a minute more).
    let stopped = Instant::now();
    let mut last = cpu_ticks(server.process.id());
    let idle = loop {
        std::thread::sleep(Duration::from_millis(1_000));
        let now = cpu_ticks(server.process.id());
        if now - last < 10 {
            break stopped.elapsed();
        }
        assert!(
            stopped.elapsed() < Duration::from_secs(30),
            "serve-sql still computes 30 s after stopping its queries"
        );
        last = now;
    };
    eprintln!("serve-sql idle {idle:?} after its heavy queries were stopped");
    assert!(server.alive(), "serve-sql died");
    Ok(())
}

/// The CPU time a process has used so far, user and system, in clock ticks.
fn cpu_ticks(pid: u32) -> u64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("the process's /proc stat");
    // The fields after the command name (which may hold spaces) start with the state, field 3;
    // utime and stime are fields 14 and 15.
    let after_name = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after_name.split_whitespace().collect();
    let field = |index: usize| fields.get(index).and_then(|value| value.parse::<u64>().ok()).unwrap_or(0);
    field(11) + field(12)
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(deep_or_and_plus_chains_are_refused_by_nightjar_sql_instead_of_overflowing_the_stack),
        trial!(functions_that_grow_with_an_argument_are_refused_beyond_the_memory_limit),
        trial!(alone a_cpu_bound_query_stops_at_its_time_limit),
        trial!(serve_sql_refuses_deep_and_exploding_statements_and_keeps_serving),
        trial!(alone two_heavy_queries_on_serve_sql_do_not_starve_another_clients_select_1),
    ]
}
