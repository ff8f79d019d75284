//! The query layer's integration tests, as one test binary (`cargo test --workspace --test query`):
//! the engine's guarantees, golden SQL outputs on the fixed dataset of `nightjar_test_kit::fixture`,
//! and SQL of any shape.

mod distinct_counts;
mod engine;
mod golden;
mod sql_shapes;
mod table_snapshots;
