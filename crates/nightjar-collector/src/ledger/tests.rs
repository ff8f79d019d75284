use super::*;

#[test]
fn seq_sets_merge_into_ranges() {
    let mut set = SeqSet::default();
    for seq in [1, 2, 3, 7, 5, 6, 4, 10, u64::MAX, 0] {
        set.insert(seq);
    }
    assert_eq!(set.range_count(), 3, "0..=7, 10, MAX");
    for seq in [0, 4, 7, 10, u64::MAX] {
        assert!(set.contains(seq), "{seq}");
    }
    for seq in [8, 9, 11, u64::MAX - 1] {
        assert!(!set.contains(seq), "{seq}");
    }
    assert_eq!(set.max(), Some(u64::MAX));
}

fn prepared(dataset: &Path, name: &str) -> PreparedFile {
    let temp_path = dataset.join(IN_PROGRESS_DIR).join(format!("{name}.parquet"));
    fs::create_dir_all(temp_path.parent().unwrap()).unwrap();
    fs::write(&temp_path, b"parquet bytes").unwrap();
    PreparedFile {
        temp_path,
        final_path: dataset.join("day=2026-11-22").join(format!("part-{name}.parquet")),
        day: chrono::NaiveDate::from_ymd_opt(2026, 11, 22).unwrap(),
        rows: 1,
        bytes: 13,
    }
}

#[test]
fn recovery_publishes_accepted_files_and_removes_unaccepted_ones() {
    let state = tempfile::tempdir().unwrap();
    let dataset = tempfile::tempdir().unwrap();
    let (mut ledger, recovery) = Ledger::open(state.path(), dataset.path()).unwrap();
    assert_eq!(recovery, Recovery::default());

    // Batch 1: accepted and published. Batch 2: accepted, crash before publish.
    // Batch 3: prepared, crash before the ledger line.
    let one = prepared(dataset.path(), "c-s1-1-0");
    ledger.record("s1", 1, 1, std::slice::from_ref(&one), &BatchDigest::of(b"one")).unwrap();
    one.publish().unwrap();
    let two = prepared(dataset.path(), "c-s1-2-0");
    ledger.record("s1", 2, 1, std::slice::from_ref(&two), &BatchDigest::of(b"two")).unwrap();
    let three = prepared(dataset.path(), "c-s1-3-0");
    // Another writer's leftover is not the collector's to remove.
    let import = prepared(dataset.path(), "import-77-0");
    drop(ledger);

    let (ledger, recovery) = Ledger::open(state.path(), dataset.path()).unwrap();
    assert_eq!(recovery, Recovery { batches: 2, published: 1, removed: 1, torn_lines: 0 });
    assert!(ledger.contains("s1", 1) && ledger.contains("s1", 2) && !ledger.contains("s1", 3));
    assert!(two.final_path.exists() && !two.temp_path.exists());
    assert!(!three.temp_path.exists() && !three.final_path.exists());
    assert!(import.temp_path.exists());
}

#[test]
fn a_torn_last_line_is_cut_and_a_damaged_middle_line_is_an_error() {
    let state = tempfile::tempdir().unwrap();
    let dataset = tempfile::tempdir().unwrap();
    let (mut ledger, _) = Ledger::open(state.path(), dataset.path()).unwrap();
    ledger.record("s1", 1, 5, &[], &BatchDigest::of(b"five")).unwrap();
    drop(ledger);
    let log = state.path().join(LEDGER_DIR).join("s1.jsonl");
    let mut bytes = fs::read(&log).unwrap();
    bytes.extend_from_slice(b"{\"seq\":2,\"ro");
    fs::write(&log, &bytes).unwrap();
    let (ledger, recovery) = Ledger::open(state.path(), dataset.path()).unwrap();
    assert_eq!(recovery.torn_lines, 1);
    assert!(ledger.contains("s1", 1) && !ledger.contains("s1", 2));
    assert!(fs::read(&log).unwrap().ends_with(b"\n"));

    let mut bytes = b"not json\n".to_vec();
    bytes.extend(fs::read(&log).unwrap());
    fs::write(&log, &bytes).unwrap();
    let err = Ledger::open(state.path(), dataset.path()).unwrap_err();
    assert!(err.to_string().contains("s1.jsonl:1"), "{err}");
}

#[test]
fn digests_survive_a_restart_and_old_lines_without_one_stay_comparable_as_unknown() {
    let state = tempfile::tempdir().unwrap();
    let dataset = tempfile::tempdir().unwrap();
    let (mut ledger, _) = Ledger::open(state.path(), dataset.path()).unwrap();
    let first = BatchDigest::of(b"first content");
    ledger.record("s1", 1, 5, &[], &first).unwrap();
    drop(ledger);
    // A line from before digests were kept.
    let log = state.path().join(LEDGER_DIR).join("s1.jsonl");
    let mut bytes = fs::read(&log).unwrap();
    bytes.extend_from_slice(b"{\"seq\":2,\"rows\":3,\"files\":[]}\n");
    fs::write(&log, &bytes).unwrap();

    let (ledger, _) = Ledger::open(state.path(), dataset.path()).unwrap();
    assert_eq!(ledger.stored("s1", 1, &first), Accepted::Same);
    assert_eq!(ledger.stored("s1", 1, &BatchDigest::of(b"other content")), Accepted::Different);
    assert_eq!(ledger.stored("s1", 2, &first), Accepted::Unknown);
    assert_eq!(ledger.stored("s1", 3, &first), Accepted::No);
    assert_eq!(ledger.stored("s2", 1, &first), Accepted::No);
}
