//! The pipeline on real frames: privacy on whole batches, batching by size
//! and age, and a spool that cannot write.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::sync::mpsc::sync_channel;
use std::time::Duration;

use arrow::array::{Array, AsArray};
use arrow::datatypes::UInt32Type;
use std::net::Ipv4Addr;

use nightjar_packet::{Addr16, LinkType, PrefixSet, from_ip};
use nightjar_record::{Ingest, IngestRules, col};

use super::spooler::spool_batch;
use super::*;
use crate::capture::{FrameSource, Polled};
use crate::metrics::Metrics;
use crate::spool::{Spool, SpoolConfig};
use nightjar_test_kit::frames::{Ipv4Probe, Tcp};

/// A Mirai SYN 198.51.100.7 → 192.0.2.10:23, sequence number = destination.
fn mirai_syn() -> Vec<u8> {
    let dst = Ipv4Addr::new(192, 0, 2, 10);
    let syn = Tcp { seq: u32::from(dst), window: 5840, ..Tcp::syn(50000, 23) };
    Ipv4Probe::new(Ipv4Addr::new(198, 51, 100, 7), dst).id(0x1234).tcp(syn)
}

/// The stored form of an address written as text.
fn addr(text: &str) -> Addr16 {
    from_ip(text.parse().expect("a test address"))
}

/// Backscatter: 203.0.113.10 tells 192.0.2.50 that UDP port 53 is
/// unreachable, quoting the datagram forged from 192.0.2.50.
fn port_unreachable() -> Vec<u8> {
    let mut frame = vec![0x45, 0, 0, 56, 0, 1, 0, 0, 64, 1, 0, 0, 203, 0, 113, 10, 192, 0, 2, 50];
    frame.extend_from_slice(&[3, 3, 0, 0, 0, 0, 0, 0]);
    frame.extend_from_slice(&[0x45, 0, 0, 36, 0, 2, 0, 0, 64, 17, 0, 0, 192, 0, 2, 50, 203, 0, 113, 10]);
    frame.extend_from_slice(&[0x30, 0x39, 0, 53, 0, 16, 0, 0]);
    frame
}

fn dark() -> PrefixSet {
    PrefixSet::new(vec!["192.0.2.0/24".parse().unwrap()])
}

fn ingest(frames: &[&[u8]]) -> Ingest {
    let mut ingest = Ingest::new(IngestRules { dark_prefixes: dark(), ..IngestRules::default() });
    for frame in frames {
        ingest.push(1_700_000_000_000_000_000, LinkType::Raw, frame);
    }
    ingest
}

fn address(batch: &arrow::record_batch::RecordBatch, column: &str, row: usize) -> Option<Addr16> {
    let array = batch.column_by_name(column).unwrap().as_fixed_size_binary();
    (!array.is_null(row)).then(|| array.value(row).try_into().unwrap())
}

#[test]
fn offset_privacy_hides_every_dark_address_in_a_batch() {
    let (syn, unreachable) = (mirai_syn(), port_unreachable());
    let batch = ingest(&[&syn, &unreachable]).finish_batch("s", 1);
    let hidden = PrivacyTransform::new(DestinationPrivacy::Offset, &dark()).apply(&batch);
    let offset = |n: u8| {
        let mut a = [0u8; 16];
        a[15] = n;
        a
    };
    assert_eq!(address(&hidden, col::DST_IP, 0), Some(offset(10)));
    assert_eq!(address(&hidden, col::DST_IP, 1), Some(offset(50)));
    // The victim's quote names the forged dark source: hidden too.
    assert_eq!(address(&hidden, col::INNER_SRC_IP, 1), Some(offset(50)));
    assert_eq!(address(&hidden, col::INNER_DST_IP, 1), Some(addr("203.0.113.10")));
    assert_eq!(address(&hidden, col::SRC_IP, 0), Some(addr("198.51.100.7")), "sources are not the partner's");
    // Mirai's sequence number was the destination address.
    let seq = hidden.column_by_name(col::TCP_SEQ).unwrap().as_primitive::<UInt32Type>();
    assert_eq!(seq.value(0), 10);
    assert!(seq.is_null(1));
    // Nothing else changes.
    for name in [col::TIME, col::SRC_PORT, col::DST_PORT, col::CLASS, col::TOOL, col::IP_VERSION] {
        assert_eq!(hidden.column_by_name(name), batch.column_by_name(name), "{name} changed");
    }
}

#[test]
fn prefix_privacy_keeps_the_block_only() {
    let batch = ingest(&[&mirai_syn()]).finish_batch("s", 1);
    let hidden = PrivacyTransform::new(DestinationPrivacy::Prefix, &dark()).apply(&batch);
    assert_eq!(address(&hidden, col::DST_IP, 0), Some(addr("192.0.2.0")));
    let seq = hidden.column_by_name(col::TCP_SEQ).unwrap().as_primitive::<UInt32Type>();
    assert_eq!(seq.value(0), u32::from(Ipv4Addr::new(192, 0, 2, 0)));
    let kept = PrivacyTransform::new(DestinationPrivacy::Keep, &dark()).apply(&batch);
    assert_eq!(kept, batch);
}

#[test]
fn renumber_sets_every_rows_seq() {
    let syn = mirai_syn();
    let batch = ingest(&[&syn, &syn]).finish_batch("s", 0);
    let numbered = renumber(&batch, 77);
    let seqs = numbered.column_by_name(col::BATCH_SEQ).unwrap().as_primitive::<arrow::datatypes::UInt64Type>();
    assert_eq!(seqs.values().to_vec(), [77, 77]);
}

/// A source that gives `frames` copies of a frame, then idles until stopped or ends.
struct Repeat {
    frame: Vec<u8>,
    left: usize,
    end: bool,
}

impl FrameSource for Repeat {
    fn poll(&mut self) -> Polled<'_> {
        if self.left == 0 {
            if self.end {
                return Polled::End;
            }
            std::thread::sleep(Duration::from_millis(5));
            return Polled::Idle;
        }
        self.left -= 1;
        Polled::Frame { timestamp_ns: 1, link: LinkType::Raw, data: &self.frame }
    }
    fn describe(&self) -> String {
        "test frames".into()
    }
}

fn capture_loop(
    left: usize,
    end: bool,
    max_rows: usize,
    max_age: Duration,
) -> (CaptureLoop, std::sync::mpsc::Receiver<arrow::record_batch::RecordBatch>, Stop) {
    let (tx, rx) = sync_channel(64);
    let stop: Stop = Arc::new(StopSignal::default());
    let capture = CaptureLoop {
        source: Box::new(Repeat { frame: mirai_syn(), left, end }),
        ingest: ingest(&[]),
        batch: BatchConfig { max_rows, max_age },
        sensor: "s".into(),
        closed: tx,
        stop: Arc::clone(&stop),
        metrics: Arc::new(Metrics::default()),
    };
    (capture, rx, stop)
}

#[test]
fn batches_close_at_max_rows_and_the_rest_at_the_end() {
    let (capture, rx, _stop) = capture_loop(25, true, 10, Duration::from_secs(3600));
    let metrics = Arc::clone(&capture.metrics);
    assert_eq!(capture.run(), CaptureEnd::SourceEnded);
    let sizes: Vec<usize> = rx.try_iter().map(|b| b.num_rows()).collect();
    assert_eq!(sizes, [10, 10, 5]);
    assert_eq!(metrics.snapshot().kept, 25);
    assert_eq!(metrics.batches_closed.get(), 3);
}

#[test]
fn a_quiet_source_still_closes_batches_by_age() {
    let (capture, rx, stop) = capture_loop(3, false, 1000, Duration::from_millis(50));
    let thread = std::thread::spawn(move || capture.run());
    let batch = rx.recv_timeout(Duration::from_secs(5)).expect("the age bound closes the batch");
    assert_eq!(batch.num_rows(), 3);
    stop.request(StopMode::Graceful);
    assert_eq!(thread.join().unwrap(), CaptureEnd::Stopped);
}

#[test]
fn graceful_stop_spools_the_open_batch_and_abort_does_not() {
    for (mode, expected) in [(StopMode::Graceful, vec![4]), (StopMode::Abort, vec![])] {
        let (capture, rx, stop) = capture_loop(4, false, 1000, Duration::from_secs(3600));
        let metrics = Arc::clone(&capture.metrics);
        let thread = std::thread::spawn(move || capture.run());
        while metrics.snapshot().kept < 4 {
            std::thread::sleep(Duration::from_millis(5));
        }
        stop.request(mode);
        thread.join().unwrap();
        let sizes: Vec<usize> = rx.try_iter().map(|b| b.num_rows()).collect();
        assert_eq!(sizes, expected, "{mode:?}");
    }
}

#[test]
fn a_full_disk_loses_one_batch_counted_and_the_next_one_is_spooled() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(crate::spool::tests::FaultyStorage::default());
    let metrics = Arc::new(Metrics::default());
    let config = SpoolConfig { dir: dir.path().to_path_buf(), max_bytes: 1 << 30 };
    let spool = Spool::open(&config, "s", storage.clone(), Arc::clone(&metrics)).unwrap();
    let privacy = PrivacyTransform::new(DestinationPrivacy::Keep, &dark());
    let syn = mirai_syn();
    let batch = ingest(&[&syn, &syn, &syn]).finish_batch("s", 0);
    storage.disk_full.store(true, Ordering::SeqCst);
    assert_eq!(spool_batch(&spool, &privacy, 3, &metrics, &batch), None);
    assert_eq!(metrics.spool_write_errors.get(), 1);
    assert_eq!(metrics.spool_write_lost_rows.get(), 3);
    storage.disk_full.store(false, Ordering::SeqCst);
    let seq = spool_batch(&spool, &privacy, 3, &metrics, &batch).expect("spooled once the disk has room");
    let spooled = spool.checkout().unwrap();
    assert_eq!(spooled.seq, seq);
    let decoded = nightjar_record::wire::decode(&spooled.body, true, Default::default()).unwrap();
    let expect =
        nightjar_record::wire::RowExpectations { sensor: "s", batch_seq: seq, earliest_us: 0, latest_us: i64::MAX };
    nightjar_record::wire::check_rows(&decoded, &expect).unwrap();
    assert_eq!(metrics.spooled_rows.get(), 3);
}
