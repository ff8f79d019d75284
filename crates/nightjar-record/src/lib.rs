//! The Nightjar packet record: schema v1 as Arrow, and the builder that turns
//! decoded packets into record batches.
//!
//! Sensors, the collector and `nightjar import` all produce batches with
//! [`PacketBatchBuilder`]; the collector and the query layer check batches
//! against [`packet_schema()`]. The contract is `schemas/packet-record-v1.md`.
//!
//! ```
//! use nightjar_packet::{classify, decode, LinkType};
//! use nightjar_record::{PacketBatchBuilder, RecordOptions, packet_schema};
//!
//! let frame: [u8; 28] = [
//!     0x45, 0, 0, 28, 0, 1, 0, 0, 64, 1, 0, 0, 198, 51, 100, 7, 192, 0, 2, 10, // IPv4
//!     8, 0, 0, 0, 0, 1, 0, 1, // ICMP echo request
//! ];
//! let packet = decode(LinkType::Raw, &frame).unwrap();
//! let mut builder = PacketBatchBuilder::new(RecordOptions::default());
//! builder.append(1_700_000_000_000_000, &packet, &classify(&packet), None);
//! let batch = builder.finish("sensor-a", 1);
//! assert_eq!(batch.num_rows(), 1);
//! assert_eq!(batch.schema(), packet_schema());
//! ```

pub mod answer;
mod builder;
mod columns;
mod ingest;
mod ipc_frames;
mod row_checks;
mod schema;
pub mod wire;

pub use builder::{PacketBatchBuilder, RecordOptions};
pub use ingest::{FilterReason, FrameOutcome, Ingest, IngestCounters, IngestRules};
pub use schema::{ADDRESS_WIDTH, SCHEMA_VERSION, SCHEMA_VERSION_KEY, col, packet_schema};

#[cfg(test)]
mod contract_tests;

#[cfg(test)]
mod builder_tests;

#[cfg(test)]
mod wire_tests;
