//! The body of a batch upload, as `schemas/wire-protocol-v1.md` defines it:
//! an Arrow IPC stream of packet record batches, compressed with zstd.
//!
//! Sensors [`encode`]; the collector [`decode`]s within [`DecodeLimits`] (a
//! small body must not inflate into gigabytes) and [`check_batch`]es the
//! result against the schema and the request's headers.

use std::io::{Cursor, Read};

use arrow::datatypes::Schema;
use arrow::ipc::reader::StreamReader;
use arrow::ipc::writer::StreamWriter;
use arrow::record_batch::RecordBatch;

pub use crate::row_checks::{MAX_LABEL_BYTES, MAX_PAYLOAD_BYTES, MAX_TCP_OPTION_LETTERS, RowExpectations, check_rows};
use crate::schema::{SCHEMA_VERSION, SCHEMA_VERSION_KEY, packet_schema};

/// `Content-Type` of an upload body.
pub const CONTENT_TYPE: &str = "application/vnd.apache.arrow.stream";
/// `Content-Encoding` of a compressed upload body.
pub const ENCODING_ZSTD: &str = "zstd";
/// Header naming the uploading sensor.
pub const HEADER_SENSOR: &str = "nightjar-sensor";
/// Header carrying the batch sequence number.
pub const HEADER_BATCH_SEQ: &str = "nightjar-batch-seq";
/// Header carrying the record schema version.
pub const HEADER_SCHEMA_VERSION: &str = "nightjar-schema-version";
/// The value of [`HEADER_SCHEMA_VERSION`] for this schema.
pub const WIRE_SCHEMA_VERSION: u32 = SCHEMA_VERSION;

/// Why an upload body cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    /// Not a readable (zstd-compressed) Arrow IPC stream.
    #[error("the body is not a readable Arrow IPC stream: {0}")]
    Unreadable(String),
    /// The body inflates past the limit.
    #[error("the body decompresses to more than {limit} bytes")]
    DecompressedTooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// More rows than the limit.
    #[error("the body holds more than {limit} rows")]
    TooManyRows {
        /// The limit in rows.
        limit: usize,
    },
    /// Readable, but not the packet record schema v1.
    #[error("the batch does not have the packet record schema v1: {0}")]
    Schema(String),
    /// A row does not belong to the request it came in.
    #[error("row {row}: {problem}")]
    Row {
        /// 0-based row index over the whole body.
        row: usize,
        /// What is wrong.
        problem: String,
    },
}

/// Encode batches as an upload body: Arrow IPC stream, zstd-compressed at `level`.
pub fn encode(batches: &[RecordBatch], level: i32) -> Result<Vec<u8>, WireError> {
    let schema = packet_schema();
    let mut stream = StreamWriter::try_new(Vec::new(), &schema).map_err(|e| WireError::Unreadable(e.to_string()))?;
    for batch in batches {
        stream.write(batch).map_err(|e| WireError::Schema(e.to_string()))?;
    }
    let ipc = stream.into_inner().map_err(|e| WireError::Unreadable(e.to_string()))?;
    zstd::bulk::compress(&ipc, level).map_err(|e| WireError::Unreadable(e.to_string()))
}

/// What a collector accepts in one body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DecodeLimits {
    /// Largest decompressed body, bytes.
    pub max_decompressed_bytes: u64,
    /// Most rows in one body.
    pub max_rows: usize,
}

impl Default for DecodeLimits {
    fn default() -> Self {
        DecodeLimits { max_decompressed_bytes: 512 * 1024 * 1024, max_rows: 4_000_000 }
    }
}

/// Decode an upload body (zstd-compressed when `zstd` is true) into batches,
/// checking the schema on the way.
pub fn decode(body: &[u8], zstd: bool, limits: DecodeLimits) -> Result<Vec<RecordBatch>, WireError> {
    decode_ipc(inflate(body, zstd, limits)?, limits)
}

/// The uncompressed Arrow IPC stream of an upload body, within the decompressed-size limit.
pub fn inflate(body: &[u8], zstd: bool, limits: DecodeLimits) -> Result<Vec<u8>, WireError> {
    if zstd {
        let decoder = zstd::stream::read::Decoder::new(body).map_err(|e| WireError::Unreadable(e.to_string()))?;
        let mut inflated = Vec::new();
        decoder
            .take(limits.max_decompressed_bytes.saturating_add(1))
            .read_to_end(&mut inflated)
            .map_err(|e| WireError::Unreadable(format!("zstd: {e}")))?;
        if inflated.len() as u64 > limits.max_decompressed_bytes {
            return Err(WireError::DecompressedTooLarge { limit: limits.max_decompressed_bytes });
        }
        Ok(inflated)
    } else {
        if body.len() as u64 > limits.max_decompressed_bytes {
            return Err(WireError::DecompressedTooLarge { limit: limits.max_decompressed_bytes });
        }
        Ok(body.to_vec())
    }
}

/// The batches of an uncompressed Arrow IPC stream (from [`inflate`]), checked against the
/// schema and the row limit, and carrying exactly the packet record schema (field and schema
/// metadata a sender added are dropped).
pub fn decode_ipc(ipc: Vec<u8>, limits: DecodeLimits) -> Result<Vec<RecordBatch>, WireError> {
    // Arrow's IPC reader trusts some lengths in the stream and panics on a few damaged ones
    // (found by fuzzing: crates/nightjar-collector/fuzz). A damaged body is the sender's
    // error, answered like any other unreadable body, never a crash.
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| read_stream(ipc, limits))) {
        Ok(result) => result,
        Err(panic) => {
            let detail = panic
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| panic.downcast_ref::<&str>().copied())
                .unwrap_or("no detail");
            Err(WireError::Unreadable(format!("the Arrow IPC stream is damaged ({detail})")))
        }
    }
}

/// The batches of an uncompressed Arrow IPC stream of the record schema, within the row limit.
fn read_stream(ipc: Vec<u8>, limits: DecodeLimits) -> Result<Vec<RecordBatch>, WireError> {
    crate::ipc_frames::check_frames(&ipc, limits.max_rows)?;
    let reader = StreamReader::try_new(Cursor::new(ipc), None).map_err(|e| WireError::Unreadable(e.to_string()))?;
    check_schema(&reader.schema())?;
    let mut batches = Vec::new();
    let mut rows = 0usize;
    for batch in reader {
        let batch = batch.map_err(|e| WireError::Unreadable(e.to_string()))?;
        rows += batch.num_rows();
        if rows > limits.max_rows {
            return Err(WireError::TooManyRows { limit: limits.max_rows });
        }
        // The dataset writer wants the schema exactly, metadata included: a sender's extra
        // field or schema metadata would pass here and fail there.
        let batch = RecordBatch::try_new(packet_schema(), batch.columns().to_vec())
            .map_err(|e| WireError::Schema(e.to_string()))?;
        batches.push(batch);
    }
    Ok(batches)
}

/// Whether `schema` is the packet record schema v1: the same fields, in the
/// same order, with the same types and nullability, and no other schema version
/// in its metadata (other metadata is ignored and dropped by [`decode_ipc`]).
pub fn check_schema(schema: &Schema) -> Result<(), WireError> {
    let expected = packet_schema();
    if let Some(version) = schema.metadata().get(SCHEMA_VERSION_KEY)
        && version != &SCHEMA_VERSION.to_string()
    {
        return Err(WireError::Schema(format!(
            "the stream's `{SCHEMA_VERSION_KEY}` is `{}`, expected {SCHEMA_VERSION}",
            version.chars().take(20).collect::<String>()
        )));
    }
    if schema.fields().len() != expected.fields().len() {
        return Err(WireError::Schema(format!(
            "{} columns, expected {}",
            schema.fields().len(),
            expected.fields().len()
        )));
    }
    for (got, want) in schema.fields().iter().zip(expected.fields()) {
        if got.name() != want.name() || got.data_type() != want.data_type() || got.is_nullable() != want.is_nullable() {
            return Err(WireError::Schema(format!(
                "column `{}` {} (nullable: {}), expected `{}` {} (nullable: {})",
                got.name(),
                got.data_type(),
                got.is_nullable(),
                want.name(),
                want.data_type(),
                want.is_nullable()
            )));
        }
    }
    Ok(())
}
