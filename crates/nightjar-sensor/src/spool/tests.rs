//! Crash safety, sequence numbers, the size bound and fault handling of the spool.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::*;
use crate::metrics::Metrics;

/// The real file system, with a switch that makes every write fail as a
/// full disk does.
#[derive(Debug, Default)]
pub(crate) struct FaultyStorage {
    pub(crate) disk_full: AtomicBool,
}

impl SpoolStorage for FaultyStorage {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        FsStorage.create_dir_all(dir)
    }
    fn write_synced(&self, path: &Path, bytes: &[u8]) -> io::Result<()> {
        if self.disk_full.load(Ordering::SeqCst) {
            // A full disk typically takes part of the write first.
            let _ = std::fs::write(path, &bytes[..bytes.len() / 2]);
            return Err(io::Error::from_raw_os_error(libc::ENOSPC));
        }
        FsStorage.write_synced(path, bytes)
    }
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        FsStorage.rename(from, to)
    }
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        FsStorage.sync_dir(dir)
    }
    fn read(&self, path: &Path) -> io::Result<Vec<u8>> {
        FsStorage.read(path)
    }
    fn remove(&self, path: &Path) -> io::Result<()> {
        FsStorage.remove(path)
    }
    fn list(&self, dir: &Path) -> io::Result<Vec<PathBuf>> {
        FsStorage.list(dir)
    }
}

const SENSOR: &str = "tokyo-1";

fn config(dir: &Path, max_bytes: u64) -> SpoolConfig {
    SpoolConfig { dir: dir.to_path_buf(), max_bytes }
}

fn open(dir: &Path) -> (Spool, Arc<Metrics>) {
    open_with(dir, DEFAULT_SPOOL_MAX_BYTES, Arc::new(FsStorage))
}

fn open_with(dir: &Path, max_bytes: u64, storage: Arc<dyn SpoolStorage>) -> (Spool, Arc<Metrics>) {
    let metrics = Arc::new(Metrics::default());
    let spool = Spool::open(&config(dir, max_bytes), SENSOR, storage, Arc::clone(&metrics)).unwrap();
    (spool, metrics)
}

/// Allocate a number and push a batch whose body is `body_len` bytes.
fn push(spool: &Spool, rows: u32, body_len: usize) -> u64 {
    let seq = spool.allocate_seq().unwrap();
    let body = vec![(seq % 251) as u8; body_len];
    assert!(matches!(spool.push(seq, rows, body).unwrap(), Push::Spooled { .. }));
    seq
}

fn batch_file(dir: &Path, seq: u64) -> PathBuf {
    dir.join("batches").join(format!("{seq:020}.njb"))
}

#[test]
fn batches_come_out_oldest_first_and_leave_when_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let (spool, metrics) = open(dir.path());
    let a = push(&spool, 3, 100);
    let b = push(&spool, 4, 100);
    assert!(a < b);
    assert_eq!(spool.stats().batches, 2);
    let first = spool.checkout().unwrap();
    assert_eq!((first.seq, first.rows, first.sensor.as_str()), (a, 3, SENSOR));
    assert_eq!(first.body, vec![(a % 251) as u8; 100]);
    spool.acknowledge(a);
    assert!(!batch_file(dir.path(), a).exists());
    assert_eq!(spool.checkout().unwrap().seq, b);
    spool.acknowledge(b);
    assert!(spool.checkout().is_none());
    assert_eq!(metrics.spool_batches.get(), 0);
    assert_eq!(metrics.spool_bytes.get(), 0);
}

#[test]
fn sequence_numbers_never_repeat_across_reopen() {
    let dir = tempfile::tempdir().unwrap();
    let mut used = Vec::new();
    for _ in 0..3 {
        let (spool, _) = open(dir.path());
        used.push(push(&spool, 1, 10));
        // Allocated, never used (a crash between numbering and writing): a gap.
        used.push(spool.allocate_seq().unwrap());
        let last = push(&spool, 1, 10);
        spool.acknowledge(last);
        used.push(last);
    }
    let mut sorted = used.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), used.len(), "a number was handed out twice: {used:?}");
    assert_eq!(sorted, used, "numbers only grow: {used:?}");
    let (spool, _) = open(dir.path());
    assert!(spool.stats().next_seq > *used.last().unwrap());
}

#[test]
fn a_lost_seq_file_restarts_past_the_spooled_batches() {
    let dir = tempfile::tempdir().unwrap();
    let last = {
        let (spool, _) = open(dir.path());
        push(&spool, 1, 10);
        push(&spool, 1, 10)
    };
    std::fs::remove_file(dir.path().join("next-seq")).unwrap();
    let (spool, _) = open(dir.path());
    assert_eq!(spool.allocate_seq().unwrap(), last + 1);
}

#[test]
fn an_unreadable_seq_file_stops_the_start_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    drop(open(dir.path()));
    std::fs::write(dir.path().join("next-seq"), "garbage\n").unwrap();
    let error = Spool::open(&config(dir.path(), 1 << 30), SENSOR, Arc::new(FsStorage), Arc::default()).unwrap_err();
    assert!(matches!(error, SpoolError::SeqFile { .. }), "{error}");
    assert!(error.to_string().contains("next-seq"), "{error}");
}

#[test]
fn a_torn_temp_file_is_ignored_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let kept = {
        let (spool, _) = open(dir.path());
        push(&spool, 2, 50)
    };
    // A crash in the middle of writing the next batch leaves half a file in tmp/.
    let whole = SpooledBatch { seq: kept + 1, rows: 9, created_us: 0, sensor: SENSOR.into(), body: vec![7; 500] };
    let bytes = whole.encode();
    let torn = dir.path().join("tmp").join(format!("{:020}.njb", kept + 1));
    std::fs::write(&torn, &bytes[..bytes.len() / 2]).unwrap();
    let (spool, metrics) = open(dir.path());
    assert_eq!(metrics.torn_temp_files.get(), 1);
    assert!(!torn.exists());
    assert_eq!(spool.pending(), [kept]);
    assert_eq!(metrics.quarantined_batches.get(), 0);
}

#[test]
fn corrupt_files_are_quarantined_with_a_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (flipped, truncated, good, foreign) = {
        let (spool, _) = open(dir.path());
        (push(&spool, 1, 64), push(&spool, 1, 64), push(&spool, 1, 64), spool.allocate_seq().unwrap())
    };
    let path = batch_file(dir.path(), flipped);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&path, bytes).unwrap();
    let path = batch_file(dir.path(), truncated);
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() - 10]).unwrap();
    let other = SpooledBatch { seq: foreign, rows: 1, created_us: 0, sensor: "osaka-2".into(), body: vec![1; 8] };
    std::fs::write(batch_file(dir.path(), foreign), other.encode()).unwrap();
    std::fs::write(dir.path().join("batches").join("README"), "not a batch").unwrap();

    let (spool, metrics) = open(dir.path());
    assert_eq!(spool.pending(), [good]);
    assert_eq!(metrics.quarantined_batches.get(), 3);
    let quarantine = dir.path().join("quarantine");
    let why = |seq: u64| std::fs::read_to_string(quarantine.join(format!("{seq:020}.njb.why"))).unwrap();
    assert!(why(flipped).contains("checksum"), "{}", why(flipped));
    assert!(why(truncated).contains("promises"), "{}", why(truncated));
    assert!(why(foreign).contains("osaka-2"), "{}", why(foreign));
    assert!(quarantine.join(format!("{flipped:020}.njb")).exists());
    assert!(dir.path().join("batches").join("README").exists(), "foreign names are left alone");
    // Numbering goes on past every file seen, quarantined ones too.
    assert!(spool.allocate_seq().unwrap() > foreign);
}

#[test]
fn damage_found_at_upload_time_is_quarantined_and_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (spool, metrics) = open(dir.path());
    let damaged = push(&spool, 1, 64);
    let next = push(&spool, 1, 64);
    let path = batch_file(dir.path(), damaged);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[50] ^= 1;
    std::fs::write(&path, bytes).unwrap();
    assert_eq!(spool.checkout().unwrap().seq, next);
    assert_eq!(metrics.quarantined_batches.get(), 1);
    assert_eq!(spool.pending(), [next]);
}

#[test]
fn the_size_bound_drops_the_oldest_and_counts_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let max = MIN_SPOOL_MAX_BYTES;
    let (spool, metrics) = open_with(dir.path(), max, Arc::new(FsStorage));
    let body = 300_000;
    let file = (HEADER_LEN + SENSOR.len() + body) as u64;
    let fit = max / file; // 3 batches fit in 1 MiB
    assert_eq!(fit, 3);
    let seqs: Vec<u64> = (0..7).map(|i| push(&spool, 10 + i, body)).collect();
    let dropped = seqs.len() as u64 - fit;
    assert_eq!(metrics.dropped_spool_full_batches.get(), dropped);
    assert_eq!(metrics.dropped_spool_full_rows.get(), (10..10 + dropped as u32).map(u64::from).sum::<u64>());
    assert_eq!(spool.pending(), seqs[dropped as usize..]);
    assert_eq!(spool.stats().bytes, fit * file);
    assert!(spool.stats().bytes <= max);
    for seq in &seqs[..dropped as usize] {
        assert!(!batch_file(dir.path(), *seq).exists());
    }
}

#[test]
fn the_batch_in_flight_is_never_evicted() {
    let dir = tempfile::tempdir().unwrap();
    let (spool, metrics) = open_with(dir.path(), MIN_SPOOL_MAX_BYTES, Arc::new(FsStorage));
    let first = push(&spool, 1, 300_000);
    assert_eq!(spool.checkout().unwrap().seq, first);
    let later: Vec<u64> = (0..4).map(|_| push(&spool, 1, 300_000)).collect();
    assert_eq!(spool.pending()[0], first, "the batch being uploaded stays");
    assert_eq!(metrics.dropped_spool_full_batches.get(), 2);
    assert_eq!(spool.pending()[1..], later[2..]);
}

#[test]
fn a_batch_larger_than_the_bound_is_dropped_itself() {
    let dir = tempfile::tempdir().unwrap();
    let (spool, metrics) = open_with(dir.path(), MIN_SPOOL_MAX_BYTES, Arc::new(FsStorage));
    let kept = push(&spool, 1, 100);
    let seq = spool.allocate_seq().unwrap();
    assert_eq!(spool.push(seq, 5, vec![0; 2 << 20]).unwrap(), Push::Dropped);
    assert_eq!(spool.pending(), [kept]);
    assert_eq!(metrics.dropped_spool_full_rows.get(), 5);
}

#[test]
fn a_lowered_bound_is_enforced_at_start() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (spool, _) = open(dir.path());
        for _ in 0..5 {
            push(&spool, 1, 400_000);
        }
    }
    let (spool, metrics) = open_with(dir.path(), MIN_SPOOL_MAX_BYTES, Arc::new(FsStorage));
    assert_eq!(spool.stats().batches, 2);
    assert_eq!(metrics.dropped_spool_full_batches.get(), 3);
}

#[test]
fn a_full_disk_fails_one_write_and_the_spool_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(FaultyStorage::default());
    let (spool, _) = open_with(dir.path(), 1 << 30, storage.clone());
    let before = push(&spool, 1, 100);
    let seq = spool.allocate_seq().unwrap();
    storage.disk_full.store(true, Ordering::SeqCst);
    let error = spool.push(seq, 1, vec![1; 100]).unwrap_err();
    assert!(error.is_disk_full(), "{error}");
    assert!(spool.allocate_seq().unwrap_err().is_disk_full());
    assert_eq!(spool.pending(), [before], "nothing half-written counts as spooled");
    assert!(!batch_file(dir.path(), seq).exists());
    storage.disk_full.store(false, Ordering::SeqCst);
    let after = push(&spool, 1, 100);
    assert!(after > seq);
    assert_eq!(spool.pending(), [before, after]);
    drop(spool);
    let (spool, metrics) = open(dir.path());
    assert_eq!(spool.pending(), [before, after]);
    assert_eq!(metrics.torn_temp_files.get(), 0, "the failed write cleaned up after itself");
}

#[test]
fn rejected_batches_are_moved_aside_with_the_collectors_reason() {
    let dir = tempfile::tempdir().unwrap();
    let (spool, _) = open(dir.path());
    let seq = push(&spool, 1, 10);
    assert_eq!(spool.checkout().unwrap().seq, seq);
    spool.reject(seq, "HTTP 422 rejected: column `time` out of skew");
    assert!(spool.pending().is_empty());
    let rejected = dir.path().join("rejected");
    assert!(rejected.join(format!("{seq:020}.njb")).exists());
    let why = std::fs::read_to_string(rejected.join(format!("{seq:020}.njb.why"))).unwrap();
    assert!(why.contains("422"), "{why}");
}

#[test]
fn one_sensor_per_spool() {
    let dir = tempfile::tempdir().unwrap();
    let (_held, _) = open(dir.path());
    let error = Spool::open(&config(dir.path(), 1 << 30), SENSOR, Arc::new(FsStorage), Arc::default()).unwrap_err();
    assert!(matches!(error, SpoolError::Locked { .. }), "{error}");
}

#[test]
fn an_unwritable_spool_dir_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    let spool_dir = file.join("spool");
    let error = Spool::open(&config(&spool_dir, 1 << 30), SENSOR, Arc::new(FsStorage), Arc::default()).unwrap_err();
    assert!(error.to_string().contains(&spool_dir.display().to_string()), "{error}");
}
