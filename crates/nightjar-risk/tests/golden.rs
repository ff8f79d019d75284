//! Golden tests: a small dataset whose every count, score, rank, rate and
//! excess is worked out by hand below, run through the real indicator SQL
//! over Parquet written by the dataset writer.
//!
//! The dataset (sources are 10.x addresses, darknet 192.0.2.0/24):
//!
//! | day | sensor | source | country / AS | packet | counts for |
//! | --- | --- | --- | --- | --- | --- |
//! | 11-23 | a | 10.0.0.1, .2, .3 | JP / 64500 | SYN → 22 | ssh |
//! | 11-23 | a | 10.0.0.7 | JP / 64500 | ICMP echo request | other-scan |
//! | 11-23 | a | 10.0.0.9 | JP / 64500 | SYN → 22, research list | ssh only with --include-research |
//! | 11-23 | a | 10.1.0.1, .2, .3 | US / 64501 | SYN → 22 | ssh |
//! | 11-23 | a | 10.1.0.9 | US / 64501 | SYN → 22, TTL 250 (likely spoofed) | ssh only with --include-spoofed |
//! | 11-23 | b | 10.2.0.1 | FR / 64502 | SYN → 2222 | ssh |
//! | 11-23 | b | 10.2.0.5 | FR / 64502 | SYN-ACK (backscatter) | ddos-victim |
//! | 11-23 | b | 10.3.0.1 | DE / 64503 | SYN → 23, seq = dst (Mirai) | mirai (not telnet) |
//! | 11-24 | a | 10.0.0.1 (again), 10.0.0.4 | JP / 64500 | SYN → 22 | ssh |
//! | 11-30 | a | 10.1.0.1 | US / 64501 | SYN → 3389 | rdp |
//!
//! Address space: JP 1,000,000; US 4,000,000; FR 2,000,000; DE none.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringArray, UInt32Array};
use arrow::datatypes::DataType;
use arrow::record_batch::RecordBatch;
use datafusion::prelude::{ParquetReadOptions, SessionContext};
use nightjar_dataset::{PartitionedWriter, WriterOptions};
use nightjar_packet::{LinkType, classify, decode};
use nightjar_record::{PacketBatchBuilder, RecordOptions};
use nightjar_risk::{
    AddressSpace, Exclusions, Grouping, IndicatorQuery, IndicatorReport, IndicatorRow, PeriodKind, Taxonomy,
};

const DAY_23: i64 = 1_795_392_000_000_000; // 2026-11-23T00:00:00Z in µs
const DAY_US: i64 = 86_400_000_000;
/// The first day of the dataset, a Monday.
const MONDAY: &str = "2026-11-23";

#[derive(Clone, Copy)]
enum Probe {
    Syn(u16),
    SynAck,
    Mirai,
    Echo,
}

struct Row {
    day: i64,
    sensor: &'static str,
    src: [u8; 4],
    country: &'static str,
    asn: u32,
    probe: Probe,
    ttl: u8,
    research: Option<&'static str>,
}

fn frame(src: [u8; 4], dst: [u8; 4], ttl: u8, probe: Probe) -> Vec<u8> {
    let (protocol, transport): (u8, Vec<u8>) = match probe {
        Probe::Echo => (1, vec![8, 0, 0, 0, 0, 1, 0, 1]),
        Probe::Syn(_) | Probe::SynAck | Probe::Mirai => {
            let (port, flags, seq) = match probe {
                Probe::Syn(port) => (port, 0x02, 12345u32),
                Probe::SynAck => (80, 0x12, 777),
                _ => (23, 0x02, u32::from_be_bytes(dst)),
            };
            let mut tcp = vec![0u8; 20];
            tcp[0..2].copy_from_slice(&40000u16.to_be_bytes());
            tcp[2..4].copy_from_slice(&port.to_be_bytes());
            tcp[4..8].copy_from_slice(&seq.to_be_bytes());
            tcp[12] = 5 << 4;
            tcp[13] = flags;
            tcp[14..16].copy_from_slice(&1024u16.to_be_bytes());
            (6, tcp)
        }
    };
    let total = 20 + transport.len() as u16;
    let mut ip = vec![0x45, 0];
    ip.extend_from_slice(&total.to_be_bytes());
    ip.extend_from_slice(&[0, 7, 0, 0, ttl, protocol, 0, 0]);
    ip.extend_from_slice(&src);
    ip.extend_from_slice(&dst);
    ip.extend(transport);
    ip
}

fn dark(probe: Probe, research: bool, ttl: u8) -> [u8; 4] {
    let host = match probe {
        _ if research || ttl >= 200 => 5,
        Probe::Syn(_) => 1,
        Probe::Mirai => 2,
        Probe::Echo => 3,
        Probe::SynAck => 4,
    };
    [192, 0, 2, host]
}

fn rows() -> Vec<Row> {
    let r = |day: i64, sensor, src, country, asn, probe| Row {
        day,
        sensor,
        src,
        country,
        asn,
        probe,
        ttl: 64,
        research: None,
    };
    let mut rows = vec![
        r(0, "a", [10, 0, 0, 1], "JP", 64500, Probe::Syn(22)),
        r(0, "a", [10, 0, 0, 2], "JP", 64500, Probe::Syn(22)),
        r(0, "a", [10, 0, 0, 3], "JP", 64500, Probe::Syn(22)),
        r(0, "a", [10, 0, 0, 7], "JP", 64500, Probe::Echo),
        r(0, "a", [10, 1, 0, 1], "US", 64501, Probe::Syn(22)),
        r(0, "a", [10, 1, 0, 2], "US", 64501, Probe::Syn(22)),
        r(0, "a", [10, 1, 0, 3], "US", 64501, Probe::Syn(22)),
        r(0, "b", [10, 2, 0, 1], "FR", 64502, Probe::Syn(2222)),
        r(0, "b", [10, 2, 0, 5], "FR", 64502, Probe::SynAck),
        r(0, "b", [10, 3, 0, 1], "DE", 64503, Probe::Mirai),
        r(1, "a", [10, 0, 0, 1], "JP", 64500, Probe::Syn(22)),
        r(1, "a", [10, 0, 0, 4], "JP", 64500, Probe::Syn(22)),
        r(7, "a", [10, 1, 0, 1], "US", 64501, Probe::Syn(3389)),
    ];
    rows.push(Row { research: Some("lab"), ..r(0, "a", [10, 0, 0, 9], "JP", 64500, Probe::Syn(22)) });
    rows.push(Row { ttl: 250, ..r(0, "a", [10, 1, 0, 9], "US", 64501, Probe::Syn(22)) });
    rows
}

/// Write the dataset: one batch per (sensor, day), with the chosen country and AS attached.
fn write_dataset(dir: &std::path::Path) {
    let mut writer = PartitionedWriter::new(dir, "golden", WriterOptions::default()).expect("writer");
    let rows = rows();
    let mut seq = 0;
    for sensor in ["a", "b"] {
        for day in [0, 1, 7] {
            let group: Vec<&Row> = rows.iter().filter(|r| r.sensor == sensor && r.day == day).collect();
            if group.is_empty() {
                continue;
            }
            let mut builder = PacketBatchBuilder::new(RecordOptions::default());
            for (i, row) in group.iter().enumerate() {
                let bytes = frame(row.src, dark(row.probe, row.research.is_some(), row.ttl), row.ttl, row.probe);
                let packet = decode(LinkType::Raw, &bytes).expect("a valid test frame");
                builder.append(DAY_23 + row.day * DAY_US + i as i64, &packet, &classify(&packet), row.research);
            }
            seq += 1;
            let batch = builder.finish(sensor, seq);
            let schema = batch.schema();
            let mut columns: Vec<ArrayRef> = batch.columns().to_vec();
            let set = |columns: &mut Vec<ArrayRef>, name: &str, array: ArrayRef| {
                columns[schema.index_of(name).expect("a v1 column")] = array;
            };
            set(&mut columns, "country", Arc::new(StringArray::from_iter_values(group.iter().map(|r| r.country))));
            set(&mut columns, "asn", Arc::new(UInt32Array::from_iter_values(group.iter().map(|r| r.asn))));
            set(
                &mut columns,
                "as_name",
                Arc::new(StringArray::from_iter_values(group.iter().map(|r| format!("{}-NET", r.country)))),
            );
            writer.write(&RecordBatch::try_new(schema.clone(), columns).expect("same schema")).expect("write");
        }
    }
    writer.commit().expect("commit");
}

struct Fixture {
    _dir: tempfile::TempDir,
    ctx: SessionContext,
}

async fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("tempdir");
    write_dataset(dir.path());
    let ctx = SessionContext::new();
    let options = ParquetReadOptions::default().table_partition_cols(vec![("day".into(), DataType::Date32)]);
    ctx.register_parquet("packets", dir.path().to_str().expect("utf-8 path"), options).await.expect("register");
    Fixture { _dir: dir, ctx }
}

fn space() -> AddressSpace {
    AddressSpace::from_counts([("JP", 1_000_000), ("US", 4_000_000), ("FR", 2_000_000)])
}

/// The query of `risks` over `from..=to` by country, research scanners and likely-spoofed
/// packets excluded (change fields with `..query(…)` for the other cases).
fn query(kind: PeriodKind, from: &str, to: &str, risks: &[&str]) -> IndicatorQuery {
    let taxonomy = Taxonomy::embedded();
    IndicatorQuery {
        kind,
        from: from.parse().expect("date"),
        to: to.parse().expect("date"),
        by: Grouping::Country,
        risks: risks.iter().map(|s| taxonomy.get(s).expect("a risk").clone()).collect(),
        exclusions: Exclusions::default(),
    }
}

async fn report(f: &Fixture, query: &IndicatorQuery) -> IndicatorReport {
    IndicatorReport::compute(&f.ctx, query, &Taxonomy::embedded(), &space()).await.expect("indicators")
}

/// The report of `risks` on Monday 2026-11-23 alone, by country.
async fn monday(f: &Fixture, risks: &[&str]) -> IndicatorReport {
    report(f, &query(PeriodKind::Day, MONDAY, MONDAY, risks)).await
}

fn rows_of<'a>(report: &'a IndicatorReport, period: &str, risk: &str) -> Vec<&'a IndicatorRow> {
    report.rows.iter().filter(|r| r.period == period && r.risk == risk).collect()
}

/// (area, sources, rank) of a period and risk, by rank.
fn summary(report: &IndicatorReport, period: &str, risk: &str) -> Vec<(String, u64, u64)> {
    rows_of(report, period, risk).iter().map(|r| (r.area.clone(), r.sources, r.rank)).collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

fn owned(rows: &[(&str, u64, u64)]) -> Vec<(String, u64, u64)> {
    rows.iter().map(|(a, s, r)| (a.to_string(), *s, *r)).collect()
}

#[tokio::test]
async fn a_day_with_a_tie_scores_ranks_rates_and_excess_by_hand() {
    let f = fixture().await;
    let r = monday(&f, &["ssh"]).await;
    // JP 3 and US 3 tie for rank 1; FR is third (competition ranking 1, 1, 3).
    assert_eq!(summary(&r, "2026-11-23", "ssh"), owned(&[("JP", 3, 1), ("US", 3, 1), ("FR", 1, 3)]));
    let rows = rows_of(&r, "2026-11-23", "ssh");
    // Score: max 3; JP and US 100 × ln 3 / ln 3 = 100; FR 100 × ln 1 / ln 3 = 0.
    assert_eq!(rows.iter().map(|r| r.score).collect::<Vec<_>>(), [100.0, 100.0, 0.0]);
    // Rate per million: 3 / 1 M, 3 / 4 M, 1 / 2 M.
    let rates: Vec<f64> = rows.iter().map(|r| r.rate_per_million.expect("known space")).collect();
    assert!(close(rates[0], 3.0) && close(rates[1], 0.75) && close(rates[2], 0.5), "{rates:?}");
    // Excess: with x = ln(addresses / 1 M) = (0, 2 ln 2, ln 2) and y = (ln 3, ln 3, 0),
    // Sxy = 0 so the slope is 0, residuals are (ln3/3, ln3/3, -2 ln3/3), their
    // population sd is ln3·√2/3, and the standard scores are (1/√2, 1/√2, -√2).
    let excess: Vec<f64> = rows.iter().map(|r| r.excess.expect("three countries fit")).collect();
    let half = std::f64::consts::FRAC_1_SQRT_2;
    assert!(
        close(excess[0], half) && close(excess[1], half) && close(excess[2], -std::f64::consts::SQRT_2),
        "{excess:?}"
    );
    // Coverage: sensors a and b; dark addresses .1 .2 .3 .4 .5 (excluded packets count: coverage is the darknet's view).
    assert_eq!((r.coverage[0].sensors, r.coverage[0].dark_addresses), (2, 5));
}

#[tokio::test]
async fn a_single_country_with_max_one_scores_100_and_has_no_excess() {
    let f = fixture().await;
    let r = monday(&f, &["mirai", "telnet"]).await;
    let mirai = rows_of(&r, "2026-11-23", "mirai");
    assert_eq!(mirai.len(), 1);
    // max == 1: ln(1) = 0, and by definition the count-1 row scores 100.
    assert_eq!((mirai[0].area.as_str(), mirai[0].sources, mirai[0].score, mirai[0].rank), ("DE", 1, 100.0, 1));
    // DE has no address space: no rate; one point: no excess.
    assert_eq!((mirai[0].rate_per_million, mirai[0].excess), (None, None));
    // A Mirai-fingerprinted SYN to 23 is not a telnet scanner.
    assert!(rows_of(&r, "2026-11-23", "telnet").is_empty());
}

#[tokio::test]
async fn a_week_counts_sources_distinct_across_its_days() {
    let f = fixture().await;
    let r = report(&f, &query(PeriodKind::Week, MONDAY, "2026-11-30", &["ssh", "rdp"])).await;
    // JP: .1 .2 .3 on Monday, .1 .4 on Tuesday → 4 distinct (not 3 + 2 = 5).
    assert_eq!(summary(&r, "2026-W48", "ssh"), owned(&[("JP", 4, 1), ("US", 3, 2), ("FR", 1, 3)]));
    let us = rows_of(&r, "2026-W48", "ssh")[1];
    // 100 × ln 3 / ln 4.
    assert!(close(us.score, 100.0 * 3f64.ln() / 4f64.ln()), "{}", us.score);
    assert!(close(us.score, 79.248_125_036_057_8), "{}", us.score);
    // The second week holds only US's RDP scan, and is clipped to its first day.
    assert_eq!(summary(&r, "2026-W49", "rdp"), owned(&[("US", 1, 1)]));
    assert!(rows_of(&r, "2026-W49", "ssh").is_empty());
    assert_eq!(r.coverage.len(), 2);
    assert_eq!(
        (r.coverage[1].first_day.to_string(), r.coverage[1].last_day.to_string()),
        ("2026-11-30".into(), "2026-11-30".into())
    );
    // A month over the same days: one period.
    let m = report(&f, &query(PeriodKind::Month, MONDAY, "2026-11-30", &["ssh"])).await;
    assert_eq!(summary(&m, "2026-11", "ssh"), owned(&[("JP", 4, 1), ("US", 3, 2), ("FR", 1, 3)]));
}

#[tokio::test]
async fn empty_periods_have_coverage_zero_and_no_rows() {
    let f = fixture().await;
    let r = report(&f, &query(PeriodKind::Day, "2026-11-25", "2026-11-27", &["ssh", "any"])).await;
    assert!(r.rows.is_empty());
    let coverage: Vec<(String, u64, u64)> =
        r.coverage.iter().map(|c| (c.period.clone(), c.sensors, c.dark_addresses)).collect();
    assert_eq!(coverage, [("2026-11-25".into(), 0, 0), ("2026-11-26".into(), 0, 0), ("2026-11-27".into(), 0, 0)]);
    // Tuesday alone: one sensor, one dark address.
    let t = report(&f, &query(PeriodKind::Day, "2026-11-24", "2026-11-24", &["ssh"])).await;
    assert_eq!((t.coverage[0].sensors, t.coverage[0].dark_addresses), (1, 1));
    assert_eq!(summary(&t, "2026-11-24", "ssh"), owned(&[("JP", 2, 1)]));
}

#[tokio::test]
async fn any_and_other_scan_and_ddos_victims() {
    let f = fixture().await;
    let r = monday(&f, &["other-scan", "ddos-victim", "any"]).await;
    // The ICMP echo request is the only scan no named risk flags.
    assert_eq!(summary(&r, "2026-11-23", "other-scan"), owned(&[("JP", 1, 1)]));
    assert_eq!(summary(&r, "2026-11-23", "ddos-victim"), owned(&[("FR", 1, 1)]));
    // any: JP .1 .2 .3 .7 = 4; US 3; FR 1 (its victim is not a risk posed); DE 1 (Mirai). Ties at 3.
    assert_eq!(summary(&r, "2026-11-23", "any"), owned(&[("JP", 4, 1), ("US", 3, 2), ("DE", 1, 3), ("FR", 1, 3)]));
    let any = rows_of(&r, "2026-11-23", "any");
    assert!(close(any[1].score, 100.0 * 3f64.ln() / 4f64.ln()));
    assert_eq!((any[2].score, any[3].score), (0.0, 0.0));
}

#[tokio::test]
async fn research_and_spoofed_switches_and_the_sql_says_which_applied() {
    let f = fixture().await;
    let ssh_monday = query(PeriodKind::Day, MONDAY, MONDAY, &["ssh"]);
    let both = Exclusions { research: false, spoofed: false };
    let r = report(&f, &IndicatorQuery { exclusions: both, ..ssh_monday.clone() }).await;
    assert_eq!(summary(&r, "2026-11-23", "ssh"), owned(&[("JP", 4, 1), ("US", 4, 1), ("FR", 1, 3)]));
    assert!(r.to_text().contains("research scanners included; likely-spoofed packets included"));
    let only_research = Exclusions { research: false, spoofed: true };
    let r = report(&f, &IndicatorQuery { exclusions: only_research, ..ssh_monday }).await;
    assert_eq!(summary(&r, "2026-11-23", "ssh"), owned(&[("JP", 4, 1), ("US", 3, 2), ("FR", 1, 3)]));
    let json = r.to_json();
    assert_eq!(
        (json["research_scanners_excluded"].as_bool(), json["likely_spoofed_excluded"].as_bool()),
        (Some(false), Some(true))
    );
}

#[tokio::test]
async fn asn_tables_are_k_suppressed_and_count_what_they_removed() {
    let f = fixture().await;
    let by_asn = IndicatorQuery { by: Grouping::Asn, ..query(PeriodKind::Day, MONDAY, MONDAY, &["ssh", "mirai"]) };
    let mut r = report(&f, &by_asn).await;
    assert_eq!(summary(&r, "2026-11-23", "ssh"), owned(&[("64500", 3, 1), ("64501", 3, 1), ("64502", 1, 3)]));
    assert_eq!(rows_of(&r, "2026-11-23", "ssh")[0].as_name.as_deref(), Some("JP-NET"));
    assert!(rows_of(&r, "2026-11-23", "ssh").iter().all(|r| r.rate_per_million.is_none() && r.excess.is_none()));
    r.suppress(3);
    // AS64502 (1 source) for ssh and AS64503 (1 Mirai source) are removed.
    assert_eq!(summary(&r, "2026-11-23", "ssh"), owned(&[("64500", 3, 1), ("64501", 3, 1)]));
    assert_eq!((r.suppressed_rows, r.suppression_k), (2, Some(3)));
    let csv = r.to_csv().expect("csv");
    assert!(csv.starts_with("period,first_day,last_day,partial,asn,as_name,risk,sources,score,rank\n"), "{csv}");
}

#[tokio::test]
async fn the_sql_is_readable_and_prunes_days() {
    let taxonomy = Taxonomy::embedded();
    let sql = query(PeriodKind::Month, "2026-11-01", "2026-11-30", &["telnet"]).sql(taxonomy.risks());
    assert!(sql.contains("WHERE day BETWEEN DATE '2026-11-01' AND DATE '2026-11-30'"), "{sql}");
    assert!(sql.contains("-- 2 telnet: TCP SYN to 23 or 2323, not Mirai-fingerprinted"), "{sql}");
    assert!(sql.contains("AND research IS NULL") && sql.contains("AND spoof IS NULL"), "{sql}");
    assert!(sql.contains("bool_or(is_telnet) AS is_telnet"), "{sql}");
    assert!(sql.contains("count(*) FILTER (WHERE is_telnet) AS \"telnet\""), "{sql}");
    // Only the flags the asked risks read are carried per source.
    assert!(!sql.contains("bool_or(is_ssh)"), "{sql}");
    // The days filter reaches the scan as a partition filter (files of other days are not listed).
    let f = fixture().await;
    let plan = f.ctx.sql(&format!("EXPLAIN {sql}")).await.expect("plan").collect().await.expect("explain");
    let text = arrow::util::pretty::pretty_format_batches(&plan).expect("print").to_string();
    assert!(text.contains("day@") || text.contains("day >=") || text.contains("day <="), "{text}");
}
