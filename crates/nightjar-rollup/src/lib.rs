//! Rollups: per-day aggregates of the packets that keep indicators, trends and port activity
//! for years after the packets themselves are gone (`schemas/rollups-v1.md`).
//!
//! Three Delta tables inside the dataset's root, partitioned by `day`, written by Nightjar as
//! days complete:
//! - `source_days`: one row per day and source (per attribution when it changed within the day):
//!   first and last seen, packets, bytes, distinct ports and destinations, sensors, classes,
//!   tools, spoof signs, research label, country, ASN, AS name, and two flags per risk of
//!   `schemas/risks.csv` — enough to count the distinct risky sources of any period of whole days
//!   exactly as the packets do, with or without research sources and likely-spoofed packets;
//! - `country_hours`: one row per hour, country and risk: distinct sources and packets;
//! - `port_days`: one row per day, protocol and destination port: packets, distinct sources,
//!   scan packets and scan sources.
//!
//! [`refresh`] writes the rollups of every complete day (before today, UTC) that are not current
//! — a day's rollup is current when its `source_days` rows stand for as many packets as the
//! packet table holds for the day — and leaves the others alone.
//!
//! ```no_run
//! # async fn example() -> Result<(), nightjar_rollup::RollupError> {
//! use nightjar_rollup::{RefreshOptions, refresh};
//! let today = chrono::Utc::now().date_naive();
//! for outcome in refresh("data", &RefreshOptions { days: None, today }).await? {
//!     println!("{outcome}");
//! }
//! # Ok(()) }
//! ```

mod current;
mod error;
mod refresh;
pub mod sql;

pub use current::rollups_current;
pub use error::RollupError;
pub use refresh::{DayOutcome, DayState, RefreshOptions, day_status, refresh, rolled_up_packets};
