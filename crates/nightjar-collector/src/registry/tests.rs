use super::*;
use crate::sensor_state::SensorState::{New, Ok, Refused, Silent, Stalled};

const T0: i64 = 1_800_000_000;

fn registry(dir: &Path) -> Registry {
    Registry::open(dir).with_silent_after(60)
}

fn state(registry: &Registry, sensor: &str, now: i64) -> SensorState {
    SensorState::of(registry.snapshot().get(sensor), now, registry.silent_after_s())
}

fn beat(kept: u64, spooled: u64) -> serde_json::Value {
    serde_json::json!({"sensor": "s1", "spooled_batches": spooled, "counters": {"kept_packets_total": kept}})
}

#[test]
fn counts_persist_and_come_back() {
    let dir = tempfile::tempdir().unwrap();
    let registry = Registry::open(dir.path());
    registry.batch("s1", 100, false, 6_000);
    registry.batch("s1", 50, false, 6_030);
    registry.batch("s1", 50, true, 6_031);
    registry.error("s1", "422 rejected: bad schema", true, 6_040);
    registry.heartbeat("s2", serde_json::json!({"uptime_s": 5}), 6_050);
    registry.persist().unwrap();
    let back = Registry::open(dir.path()).snapshot();
    let s1 = &back["s1"];
    assert_eq!((s1.batches, s1.rows, s1.duplicates, s1.rejected), (2, 150, 1, 1));
    assert_eq!(s1.rows_last_hour(6_040), 150);
    assert_eq!(s1.rows_last_hour(6_000 + 7_200), 0);
    assert_eq!(s1.last_seen, Some(6_040));
    assert_eq!(back["s2"].last_seen, Some(6_050));
    assert_eq!(back["s2"].batches, 0);
    assert_eq!(back["s2"].state, Some(New));
}

#[test]
fn registry_files_written_before_states_existed_still_read() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join(REGISTRY_FILE),
        r#"{"s1": {"first_seen": 1, "last_seen": 2, "last_batch": 2, "batches": 1, "rows": 5, "duplicates": 0,
             "rejected": 0, "last_error": null, "heartbeat": null, "recent": [[0, 5]]}}"#,
    )
    .unwrap();
    let back = Registry::open(dir.path()).snapshot();
    assert_eq!((back["s1"].rows, back["s1"].state, back["s1"].refusal.clone()), (5, None, None));
}

#[test]
fn new_then_ok_then_silent_then_back() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    assert_eq!(SensorState::of(None, T0, 60), Silent, "a sensor never heard from is silent");
    registry.heartbeat("s1", beat(0, 0), T0);
    assert_eq!(state(&registry, "s1", T0), New);
    registry.batch("s1", 10, false, T0 + 5);
    assert_eq!(state(&registry, "s1", T0 + 5), Ok);
    assert!(registry.check_states(T0 + 30).is_empty(), "no change, no log line");
    let changes = registry.check_states(T0 + 66);
    assert_eq!(changes, vec![StateChange { sensor: "s1".into(), from: Some(Ok), to: Silent }]);
    assert!(registry.check_states(T0 + 90).is_empty(), "silent is reported once");
    registry.heartbeat("s1", beat(0, 0), T0 + 100);
    assert_eq!(registry.snapshot()["s1"].state, Some(Ok), "back at once, without waiting for the check");
}

#[test]
fn a_quiet_sensor_with_heartbeats_only_becomes_ok_after_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    registry.heartbeat("s1", beat(0, 0), T0);
    registry.heartbeat("s1", beat(0, 0), T0 + 30);
    assert_eq!(state(&registry, "s1", T0 + 30), New);
    registry.heartbeat("s1", beat(0, 0), T0 + 61);
    assert_eq!(state(&registry, "s1", T0 + 61), Ok);
}

#[test]
fn a_token_used_under_another_id_is_refused_with_both_ids_kept() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    // The operator's case: heartbeats get through, every upload is refused.
    registry.heartbeat("tokyo-1", beat(100, 0), T0);
    registry.refused("tokyo-1", "osaka-1", "this token belongs to sensor `tokyo-1`, not to `osaka-1`", T0 + 1);
    registry.heartbeat("tokyo-1", beat(200, 1), T0 + 30);
    let status = &registry.snapshot()["tokyo-1"];
    assert_eq!(state(&registry, "tokyo-1", T0 + 30), Refused);
    assert_eq!(status.state, Some(Refused));
    let refusal = status.refusal.as_ref().unwrap();
    assert_eq!((refusal.at, refusal.claimed_sensor.as_str()), (T0 + 1, "osaka-1"));
    assert!(status.last_error.as_ref().unwrap().1.contains("not to `osaka-1`"));
    // Still refused while batches wait in its spool, also past the stall window.
    registry.heartbeat("tokyo-1", beat(300, 2), T0 + 90);
    assert_eq!(state(&registry, "tokyo-1", T0 + 90), Refused);
    // Fixed: the next upload is stored.
    registry.batch("tokyo-1", 7, false, T0 + 100);
    assert_eq!(state(&registry, "tokyo-1", T0 + 100), Ok);
}

#[test]
fn an_empty_spool_clears_a_refusal_but_silence_wins_over_it() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    registry.refused("s1", "s9", "forbidden", T0);
    assert_eq!(state(&registry, "s1", T0), Refused);
    assert_eq!(state(&registry, "s1", T0 + 61), Silent);
    registry.heartbeat("s1", beat(5, 0), T0 + 70);
    assert_eq!(state(&registry, "s1", T0 + 70), Ok);
}

#[test]
fn claimed_ids_with_terminal_escapes_are_kept_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    let claimed = format!("evil\u{1b}[2J\u{1b}]0;title\u{7}{}", "x".repeat(500));
    registry.refused("s1", &claimed, &format!("not `{claimed}`"), T0);
    let status = &registry.snapshot()["s1"];
    let refusal = status.refusal.as_ref().unwrap();
    for text in [&refusal.claimed_sensor, &refusal.reason, &status.last_error.as_ref().unwrap().1] {
        assert!(!text.chars().any(char::is_control), "{text:?}");
        assert!(text.chars().count() <= MAX_MESSAGE_CHARS + "refused: ".len(), "{text:?}");
    }
    assert!(refusal.claimed_sensor.starts_with("evil\\u{1b}[2J"));
    assert!(refusal.claimed_sensor.chars().count() <= MAX_CLAIMED_CHARS);
}

#[test]
fn kept_packets_growing_without_stored_rows_is_a_stall() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    registry.batch("s1", 10, false, T0);
    registry.heartbeat("s1", beat(100, 0), T0 + 1);
    registry.heartbeat("s1", beat(150, 0), T0 + 30);
    assert_eq!(state(&registry, "s1", T0 + 30), Ok, "growth between batches is normal");
    registry.heartbeat("s1", beat(200, 0), T0 + 60);
    assert_eq!(state(&registry, "s1", T0 + 60), Ok);
    registry.heartbeat("s1", beat(250, 0), T0 + 90);
    assert_eq!(state(&registry, "s1", T0 + 90), Stalled, "kept grew since T0+30 and nothing was stored");
    assert_eq!(registry.snapshot()["s1"].state, Some(Stalled), "the heartbeat itself reported it");
    registry.batch("s1", 10, false, T0 + 95);
    assert_eq!(state(&registry, "s1", T0 + 95), Ok);
}

#[test]
fn a_spool_that_does_not_drain_is_a_stall_found_by_the_periodic_check() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    registry.heartbeat("s1", beat(0, 3), T0);
    registry.heartbeat("s1", beat(0, 3), T0 + 30);
    assert_eq!(registry.check_states(T0 + 59), vec![]);
    // The next heartbeat is late but within the window: only the check sees the stall.
    let changes = registry.check_states(T0 + 60);
    assert_eq!(changes, vec![StateChange { sensor: "s1".into(), from: Some(New), to: Stalled }]);
}

#[test]
fn a_sensor_that_restarted_with_an_empty_spool_is_not_stalled() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    registry.heartbeat("s1", beat(1_000, 0), T0);
    registry.heartbeat("s1", beat(2_000, 0), T0 + 30);
    registry.heartbeat("s1", beat(10, 0), T0 + 40);
    registry.heartbeat("s1", beat(10, 0), T0 + 100);
    assert_eq!(state(&registry, "s1", T0 + 100), Ok);
}

#[test]
fn states_survive_a_restart_without_being_logged_again() {
    let dir = tempfile::tempdir().unwrap();
    let registry = registry(dir.path());
    registry.heartbeat("s1", beat(0, 0), T0);
    assert_eq!(registry.check_states(T0 + 61).len(), 1);
    registry.persist().unwrap();
    let reopened = Registry::open(dir.path()).with_silent_after(60);
    assert!(reopened.check_states(T0 + 120).is_empty());
}
