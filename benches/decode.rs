//! Decode + classify + append to Arrow, from frames in memory, on one core:
//! the per-packet work every sensor and `nightjar import` does.
//! Goal: ≥ 10 million packets per second per core.

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use nightjar_benches::{bench_packets, generated_frames};
use nightjar_packet::{LinkType, classify, decode};
use nightjar_record::{Ingest, IngestRules};

const BATCH_ROWS: usize = 65_536;

fn decode_classify_append(c: &mut Criterion) {
    let frames = generated_frames(bench_packets(1_000_000));
    let mut group = c.benchmark_group("per_packet");
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.sample_size(10);
    group.bench_function("decode", |b| {
        b.iter(|| {
            let mut ok = 0u64;
            for f in &frames {
                ok += u64::from(decode(LinkType::Ethernet, &f.bytes).is_ok());
            }
            ok
        })
    });
    group.bench_function("decode_classify", |b| {
        b.iter(|| {
            let mut scans = 0u64;
            for f in &frames {
                if let Ok(p) = decode(LinkType::Ethernet, &f.bytes) {
                    scans += u64::from(classify(&p).tool.is_some());
                }
            }
            scans
        })
    });
    group.bench_function("decode_classify_append", |b| {
        b.iter(|| {
            let mut ingest = Ingest::new(IngestRules::default());
            let mut rows = 0usize;
            for f in &frames {
                ingest.push(f.timestamp_ns, LinkType::Ethernet, &f.bytes);
                if ingest.pending() >= BATCH_ROWS {
                    rows += ingest.finish_batch("bench", 0).num_rows();
                }
            }
            rows + ingest.finish_batch("bench", 0).num_rows()
        })
    });
    group.finish();
}

criterion_group!(benches, decode_classify_append);
criterion_main!(benches);
