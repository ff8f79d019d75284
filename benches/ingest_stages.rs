//! The collector's per-row work for one upload, stage by stage, on one core:
//! decode the sensor's zstd Arrow IPC body, enrich (country, ASN, AS name),
//! sort and encode to Parquet. Each stage's rows per second bounds the
//! ingest rate per core from above; the ingest goal is 5 million rows per
//! second per core end to end (see BENCHMARKS.md).

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nightjar_benches::{bench_packets, generated_frames};
use nightjar_dataset::{PartitionedWriter, WriterOptions, file_properties};
use nightjar_geo::{Enricher, GeoDb};
use nightjar_packet::LinkType;
use nightjar_record::wire::{self, DecodeLimits};
use nightjar_record::{Ingest, IngestRules, packet_schema};
use parquet::arrow::ArrowWriter;

/// Rows per upload, as the sensor sends by default.
const BATCH_ROWS: usize = 65_536;

/// Generated traffic as the sensors' record batches of `BATCH_ROWS` rows.
fn sensor_batches() -> Vec<RecordBatch> {
    let mut ingest = Ingest::new(IngestRules::default());
    let mut batches = Vec::new();
    for (seq, frame) in generated_frames(bench_packets(1_000_000)).iter().enumerate() {
        ingest.push(frame.timestamp_ns, LinkType::Ethernet, &frame.bytes);
        if ingest.pending() >= BATCH_ROWS {
            batches.push(ingest.finish_batch("bench", seq as u64));
        }
    }
    batches
}

fn enricher() -> Enricher {
    Enricher::new(Arc::new(GeoDb::embedded_country()), Some(Arc::new(GeoDb::embedded_asn())))
}

fn ingest_stages(c: &mut Criterion) {
    let batches = sensor_batches();
    let rows: usize = batches.iter().map(RecordBatch::num_rows).sum();
    let bodies: Vec<Vec<u8>> =
        batches.iter().map(|b| wire::encode(std::slice::from_ref(b), 3).expect("encode")).collect();
    let enriched: Vec<RecordBatch> = {
        let enricher = enricher();
        batches.iter().map(|b| enricher.enrich(b).expect("enrich")).collect()
    };
    let limits = DecodeLimits { max_decompressed_bytes: 1 << 30, max_rows: 1 << 20 };
    let options = WriterOptions { max_rows_per_file: usize::MAX, ..WriterOptions::default() };
    let properties = file_properties(&options).expect("the dataset's Parquet properties");

    let mut group = c.benchmark_group("ingest_rows");
    group.throughput(Throughput::Elements(rows as u64));
    group.sample_size(10);
    group.bench_function("wire_decode", |b| {
        b.iter(|| bodies.iter().map(|body| wire::decode(body, true, limits).expect("decode").len()).sum::<usize>())
    });
    // A new enricher per pass: every source of the pass is looked up once
    // in both databases, then answered from its cache within the pass.
    group.bench_function("enrich", |b| {
        b.iter(|| {
            let enricher = enricher();
            batches.iter().map(|batch| enricher.enrich(batch).expect("enrich").num_rows()).sum::<usize>()
        })
    });
    // One Parquet file per upload, encoded in memory: the encoder alone.
    group.bench_function("parquet_encode", |b| {
        b.iter(|| {
            let mut bytes = 0;
            for batch in &enriched {
                let mut writer =
                    ArrowWriter::try_new(Vec::new(), packet_schema(), Some(properties.clone())).expect("writer");
                writer.write(batch).expect("encode");
                bytes += writer.into_inner().expect("finish").len();
            }
            bytes
        })
    });
    // What the collector does after enrichment: sort, encode, fsync, one
    // prepared file per upload.
    let folder = tempfile::tempdir().expect("a temporary folder");
    group.bench_function("sort_encode_fsync", |b| {
        b.iter(|| {
            let mut files = 0;
            for (n, batch) in enriched.iter().enumerate() {
                let mut writer =
                    PartitionedWriter::new(folder.path(), &format!("bench-{n}"), options.clone()).expect("writer");
                writer.write(batch).expect("write");
                for file in writer.prepare().expect("prepare") {
                    std::fs::remove_file(&file.temp_path).expect("remove the prepared file");
                    files += 1;
                }
            }
            files
        })
    });
    group.finish();
}

criterion_group!(benches, ingest_stages);
criterion_main!(benches);
