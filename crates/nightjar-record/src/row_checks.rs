//! What every row of an upload must hold before the collector stores it.
//!
//! The schema check ([`crate::wire::check_schema`]) makes sure the columns have the right
//! types; these checks make sure the values are ones a Nightjar sensor can produce, so the
//! dataset never holds a row its readers cannot interpret (an `ip_version` of 9, a `class` of
//! `pwned`, a 40 MB research label):
//!
//! | column | allowed |
//! | --- | --- |
//! | `sensor` | the sensor named in the request's headers |
//! | `batch_seq` | the request's `Nightjar-Batch-Seq` |
//! | `time` | within the collector's accepted clock skew |
//! | `ip_version` | 4 or 6; with 4, `src_ip` in IPv4-mapped form (`::ffff:a.b.c.d`; `dst_ip` may be a privacy offset) |
//! | `class` | `backscatter`, `scan`, `other` |
//! | `tool` | null, or a tool name of the classifier (`mirai`, `masscan`, `zmap`) |
//! | `spoof` | null, or a spoofing sign of the classifier (`high_ttl`, …) |
//! | `research` | null, or 1–[`MAX_LABEL_BYTES`] bytes of printable text |
//! | `tcp_opts` | null, or at most [`MAX_TCP_OPTION_LETTERS`] printable ASCII letters |
//! | `payload` | null, or at most [`MAX_PAYLOAD_BYTES`] bytes |
//!
//! The enrichment columns (`country`, `asn`, `as_name`) are not checked: the collector
//! replaces whatever a sensor put there.

use arrow::array::{Array, AsArray, BinaryArray, FixedSizeBinaryArray, StringArray};
use arrow::datatypes::{TimestampMicrosecondType, UInt8Type, UInt64Type};
use arrow::record_batch::RecordBatch;
use nightjar_packet::{SpoofSign, Tool, TrafficClass};

use crate::schema::{col, packet_schema};
use crate::wire::WireError;

/// Longest research label, bytes.
pub const MAX_LABEL_BYTES: usize = 128;
/// Most letters in the TCP option layout: 40 option bytes, one letter each at most.
pub const MAX_TCP_OPTION_LETTERS: usize = 40;
/// Longest retained payload prefix, bytes (an IP packet's whole length).
pub const MAX_PAYLOAD_BYTES: usize = 65_535;

/// The IPv4-mapped prefix of an IPv4 address stored in 16 bytes.
const V4_MAPPED: [u8; 12] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff];

/// What the rows of one request must match.
#[derive(Clone, Copy, Debug)]
pub struct RowExpectations<'a> {
    /// The sensor of the request.
    pub sensor: &'a str,
    /// The request's batch sequence number.
    pub batch_seq: u64,
    /// Earliest accepted time, µs since the epoch.
    pub earliest_us: i64,
    /// Latest accepted time, µs since the epoch.
    pub latest_us: i64,
}

fn column<'b>(batch: &'b RecordBatch, name: &str) -> &'b dyn Array {
    let index = packet_schema().index_of(name).expect("the column is in the packet record schema");
    batch.column(index).as_ref()
}

fn strings<'b>(batch: &'b RecordBatch, name: &str) -> &'b StringArray {
    column(batch, name).as_string::<i32>()
}

fn shown(text: &str) -> String {
    let mut out: String = text.chars().take(40).flat_map(char::escape_debug).collect();
    if text.chars().count() > 40 {
        out.push('…');
    }
    out
}

fn printable(text: &str) -> bool {
    !text.chars().any(char::is_control)
}

/// Checks every row of `batches` (already of the packet record schema) against `expect` and the
/// value domains of the module's table. The error names the first bad row and column.
pub fn check_rows(batches: &[RecordBatch], expect: &RowExpectations<'_>) -> Result<(), WireError> {
    let classes: Vec<&str> = TrafficClass::ALL.iter().map(|c| c.name()).collect();
    let tools: Vec<&str> = Tool::ALL.iter().map(|t| t.name()).collect();
    let signs: Vec<&str> = SpoofSign::ALL.iter().map(|s| s.name()).collect();
    let mut offset = 0;
    for batch in batches {
        let sensors = strings(batch, col::SENSOR);
        let seqs = column(batch, col::BATCH_SEQ).as_primitive::<UInt64Type>();
        let times = column(batch, col::TIME).as_primitive::<TimestampMicrosecondType>();
        let versions = column(batch, col::IP_VERSION).as_primitive::<UInt8Type>();
        let sources = column(batch, col::SRC_IP).as_fixed_size_binary();
        let class = strings(batch, col::CLASS);
        let tool = strings(batch, col::TOOL);
        let spoof = strings(batch, col::SPOOF);
        let research = strings(batch, col::RESEARCH);
        let tcp_opts = strings(batch, col::TCP_OPTS);
        let payload: &BinaryArray = column(batch, col::PAYLOAD).as_binary::<i32>();
        for row in 0..batch.num_rows() {
            let at = |problem: String| WireError::Row { row: offset + row, problem };
            if sensors.is_null(row) || sensors.value(row) != expect.sensor {
                return Err(at(format!(
                    "`{}` is not the sensor `{}` named in the headers",
                    col::SENSOR,
                    expect.sensor
                )));
            }
            if seqs.value(row) != expect.batch_seq {
                return Err(at(format!(
                    "`{}` {} differs from the header's {}",
                    col::BATCH_SEQ,
                    seqs.value(row),
                    expect.batch_seq
                )));
            }
            let time = times.value(row);
            if time < expect.earliest_us || time > expect.latest_us {
                return Err(at(format!("`{}` {time} µs lies outside the accepted clock skew", col::TIME)));
            }
            check_addresses(versions.value(row), sources, row).map_err(at)?;
            let named = |array: &StringArray, name: &str, allowed: &[&str], nullable: bool| {
                if array.is_null(row) {
                    return if nullable { Ok(()) } else { Err(at(format!("`{name}` is null"))) };
                }
                let value = array.value(row);
                if allowed.contains(&value) {
                    Ok(())
                } else {
                    Err(at(format!("`{name}` `{}` is not one of {}", shown(value), allowed.join(", "))))
                }
            };
            named(class, col::CLASS, &classes, false)?;
            named(tool, col::TOOL, &tools, true)?;
            named(spoof, col::SPOOF, &signs, true)?;
            if research.is_valid(row) {
                let label = research.value(row);
                if label.is_empty() || label.len() > MAX_LABEL_BYTES || !printable(label) {
                    return Err(at(format!(
                        "`{}` must be 1 to {MAX_LABEL_BYTES} bytes of printable text, not `{}` ({} bytes)",
                        col::RESEARCH,
                        shown(label),
                        label.len()
                    )));
                }
            }
            if tcp_opts.is_valid(row) {
                let layout = tcp_opts.value(row);
                if layout.len() > MAX_TCP_OPTION_LETTERS || !layout.bytes().all(|b| b.is_ascii_graphic()) {
                    return Err(at(format!(
                        "`{}` must be at most {MAX_TCP_OPTION_LETTERS} option letters, not `{}`",
                        col::TCP_OPTS,
                        shown(layout)
                    )));
                }
            }
            if payload.is_valid(row) && payload.value(row).len() > MAX_PAYLOAD_BYTES {
                return Err(at(format!(
                    "`{}` holds {} bytes, more than an IP packet's {MAX_PAYLOAD_BYTES}",
                    col::PAYLOAD,
                    payload.value(row).len()
                )));
            }
        }
        offset += batch.num_rows();
    }
    Ok(())
}

fn check_addresses(version: u8, sources: &FixedSizeBinaryArray, row: usize) -> Result<(), String> {
    match version {
        6 => Ok(()),
        4 if sources.value(row).starts_with(&V4_MAPPED) => Ok(()),
        4 => Err(format!(
            "`{}` is 4 but `{}` is not an IPv4-mapped address (::ffff:a.b.c.d)",
            col::IP_VERSION,
            col::SRC_IP
        )),
        other => Err(format!("`{}` is {other}; it must be 4 or 6", col::IP_VERSION)),
    }
}
