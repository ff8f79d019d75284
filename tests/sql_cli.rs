//! `nightjar sql` as an analyst runs it: `-c`, `-f`, standard input, output formats, backslash
//! commands, errors that point into the SQL, and refusals of anything that is not a read.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use nightjar_test_kit::fixture;

const NIGHTJAR: &str = env!("CARGO_BIN_EXE_nightjar");

fn sql(data: &Path, args: &[&str]) -> Output {
    Command::new(NIGHTJAR).arg("sql").arg("--data").arg(data).args(args).output().expect("the nightjar binary runs")
}

fn ok(output: Output) -> String {
    assert!(output.status.success(), "nightjar sql failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).expect("UTF-8")
}

fn fixture_dataset() -> tempfile::TempDir {
    let data = tempfile::tempdir().expect("temporary folder");
    fixture::write(data.path());
    data
}

fn commands_print_tables_csv_and_json_lines_with_addresses_as_text() {
    let data = fixture_dataset();
    let table = ok(sql(
        data.path(),
        &[
            "-c",
            "SELECT ip_text(src_ip) AS source, count(*) AS packets FROM packets GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 2",
        ],
    ));
    assert!(table.contains("| 198.51.100.200 | 3       |"), "{table}");
    assert!(table.contains("2 rows"), "{table}");

    let csv = ok(sql(
        data.path(),
        &["--format", "csv", "-c", "SELECT src_ip, dst_port FROM packets WHERE tool = 'masscan' ORDER BY time"],
    ));
    assert_eq!(csv, "src_ip,dst_port\n203.0.113.5,22\n203.0.113.5,3389\n203.0.113.5,22\n");

    let jsonl = ok(sql(
        data.path(),
        &["--format", "jsonl", "-c", "SELECT victim, packets FROM backscatter_victims ORDER BY day, victim"],
    ));
    let rows: Vec<Value> = jsonl.lines().map(|line| serde_json::from_str(line).expect("JSON line")).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["victim"], "198.51.100.200");
    assert_eq!(rows[0]["packets"], 2);

    let header_only = ok(sql(data.path(), &["--format", "csv", "-c", "SELECT src_ip, day FROM packets WHERE false"]));
    assert_eq!(header_only, "src_ip,day\n");
}

fn tables_show_at_most_max_rows_and_say_how_many_there_were() {
    let data = fixture_dataset();
    let out = ok(sql(data.path(), &["--max-rows", "3", "-c", "SELECT * FROM packets"]));
    assert!(out.contains("16 rows, 3 shown"), "{out}");
    assert_eq!(out.lines().filter(|line| line.starts_with("| 20")).count(), 3, "{out}");
}

fn files_and_standard_input_run_every_statement_in_order() {
    let data = fixture_dataset();
    let work = tempfile::tempdir().expect("temporary folder");
    let script = work.path().join("daily.sql");
    std::fs::write(
        &script,
        "-- two statements\nSELECT count(*) AS packets FROM packets;\n\nSELECT count(*) AS days FROM (SELECT DISTINCT day FROM packets);\n",
    )
    .expect("script written");
    let out = ok(sql(data.path(), &["--format", "csv", "-f", script.to_str().expect("UTF-8 path")]));
    assert_eq!(out, "packets\n16\ndays\n2\n");

    let mut child = Command::new(NIGHTJAR)
        .args(["sql", "--format", "csv", "--data"])
        .arg(data.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("nightjar sql starts");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(b"SELECT count(*) AS mirai FROM packets WHERE tool = 'mirai';\n")
        .expect("SQL written");
    let out = ok(child.wait_with_output().expect("nightjar sql ends"));
    assert_eq!(out, "mirai\n3\n");
}

fn parquet_output_keeps_every_row_and_the_stored_address_form() {
    let data = fixture_dataset();
    let work = tempfile::tempdir().expect("temporary folder");
    let file = work.path().join("sources.parquet");
    ok(sql(
        data.path(),
        &["--format", "parquet", "-o", file.to_str().expect("UTF-8 path"), "-c", "SELECT * FROM sources"],
    ));
    let reader = parquet::file::serialized_reader::SerializedFileReader::new(
        std::fs::File::open(&file).expect("the Parquet file exists"),
    )
    .expect("a Parquet file");
    use parquet::file::reader::FileReader;
    assert_eq!(reader.metadata().file_metadata().num_rows(), 13);
    let schema = reader.metadata().file_metadata().schema_descr();
    let src = schema.columns().iter().find(|column| column.name() == "src_ip").expect("src_ip column");
    assert_eq!(src.type_length(), 16);

    let refused = sql(data.path(), &["--format", "parquet", "-c", "SELECT 1"]);
    assert!(!refused.status.success());
    assert!(String::from_utf8_lossy(&refused.stderr).contains("--output"));
}

fn backslash_commands_list_and_describe_tables_and_functions() {
    let data = fixture_dataset();
    let listed = ok(sql(data.path(), &["-c", "\\d"]));
    for name in ["packets", "sources", "port_activity", "backscatter_victims"] {
        assert!(listed.contains(name), "{name} missing from \\d:\n{listed}");
    }
    let described = ok(sql(data.path(), &["-c", "\\d packets"]));
    assert!(described.contains("src_ip") && described.contains("address (16 bytes"), "{described}");
    assert!(described.contains("day") && described.contains("Date32"), "{described}");
    let view = ok(sql(data.path(), &["-c", "\\d port_activity"]));
    assert!(view.contains("GROUP BY day, protocol, dst_port"), "the view's SQL is shown:\n{view}");
    let functions = ok(sql(data.path(), &["-c", "\\df"]));
    assert!(functions.contains("inet_in(addr, 'cidr')") && functions.contains("port_service"), "{functions}");
}

fn errors_point_at_the_problem_and_fail_the_command() {
    let data = fixture_dataset();
    let out = sql(data.path(), &["-c", "SELECT src_ip,\n       nosuch\nFROM packets"]);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("No field named nosuch"), "{stderr}");
    assert!(stderr.contains("at line 2, column 8:\n         nosuch\n         ^"), "{stderr}");

    let out = sql(data.path(), &["-c", "SELECT 1; CREATE TABLE t AS SELECT 1"]);
    assert!(!out.status.success(), "a refused statement fails the command");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("only reads the dataset") && stderr.contains("CREATE TABLE"), "{stderr}");

    let missing = sql(Path::new("/nonexistent/nightjar-data"), &["-c", "SELECT 1"]);
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no such folder"));
}

fn the_time_limit_stops_a_runaway_query() {
    let data = fixture_dataset();
    let started = std::time::Instant::now();
    let out =
        sql(data.path(), &["--time-limit", "500ms", "-c", "SELECT sum(value) FROM generate_series(1, 100000000000)"]);
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("time limit of 500 ms"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
}

fn the_parent_of_a_dataset_json_and_decimal_sizes_are_understood() {
    let work = tempfile::tempdir().expect("temporary folder");
    let dataset = work.path().join("data");
    fixture::write(&dataset);
    // The folder above the dataset: an error naming the dataset, not zero rows.
    let parent = sql(work.path(), &["-c", "SELECT count(*) FROM packets"]);
    let stderr = String::from_utf8_lossy(&parent.stderr);
    assert_eq!(parent.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains(&format!("--data {}", dataset.display())), "{stderr}");
    // `json` is the JSON lines format; sizes may be decimal.
    let json =
        ok(sql(&dataset, &["--format", "json", "--memory-limit", "1.5 GiB", "-c", "SELECT 1 AS one, 'a' AS two"]));
    assert_eq!(json, "{\"one\":1,\"two\":\"a\"}\n");
    let refused = sql(&dataset, &["--memory-limit", "1.5 parsecs", "-c", "SELECT 1"]);
    assert_eq!(refused.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("is not a unit"));
}

/// This file's tests, run by the harness in `main.rs`.
pub(crate) fn tests() -> Vec<nightjar_test_kit::harness::Trial> {
    use nightjar_test_kit::trial;
    vec![
        trial!(commands_print_tables_csv_and_json_lines_with_addresses_as_text),
        trial!(tables_show_at_most_max_rows_and_say_how_many_there_were),
        trial!(files_and_standard_input_run_every_statement_in_order),
        trial!(parquet_output_keeps_every_row_and_the_stored_address_form),
        trial!(backslash_commands_list_and_describe_tables_and_functions),
        trial!(errors_point_at_the_problem_and_fail_the_command),
        trial!(the_time_limit_stops_a_runaway_query),
        trial!(the_parent_of_a_dataset_json_and_decimal_sizes_are_understood),
    ]
}
