//! The spool: a durable on-disk queue of batches between capture and uplink.
//!
//! A batch is written here (checksummed, fsynced) before any upload is
//! tried, and removed only after the collector acknowledged it (`200`
//! `stored` or `duplicate`). A sensor that crashes, loses power or is killed
//! finds its batches here when it starts again, and uploads them.
//!
//! # Layout
//!
//! ```text
//! SPOOL_DIR/
//!   lock                      flock(2)ed by the running sensor: one sensor per spool
//!   next-seq                  the next batch sequence number, decimal text + "\n"
//!   batches/00000000000000000042.njb    one file per batch, named by its 20-digit seq
//!   tmp/                      files being written; emptied at start
//!   quarantine/NAME.njb + NAME.njb.why  files found damaged, or spooled by another sensor id
//!   rejected/NAME.njb + NAME.njb.why    batches the collector refused for good (4xx)
//! ```
//!
//! # Batch file (`.njb`), all integers little-endian
//!
//! | offset | bytes | field |
//! | ---: | ---: | --- |
//! | 0 | 8 | magic `NJSPOOL\0` |
//! | 8 | 2 | format version, `1` |
//! | 10 | 2 | `S`: length of the sensor id |
//! | 12 | 4 | rows in the body |
//! | 16 | 8 | batch sequence number (equals the file name and every row's `batch_seq`) |
//! | 24 | 8 | time the batch was spooled, µs since the Unix epoch |
//! | 32 | 8 | `B`: length of the body |
//! | 40 | 4 | CRC-32 (IEEE) of bytes 0..40 followed by bytes 44..end |
//! | 44 | `S` | sensor id, UTF-8 |
//! | 44+`S` | `B` | the upload body exactly as sent: a zstd-compressed Arrow IPC stream (`nightjar_record::wire::encode`) |
//!
//! The file is exactly `44 + S + B` bytes long.
//!
//! # Invariants
//!
//! - A file in `batches/` is complete: it is written under `tmp/`, fsynced,
//!   renamed into `batches/`, and `batches/` is fsynced before the batch
//!   counts as spooled.
//! - `next-seq` is above every sequence number ever used: it is rewritten
//!   durably (same temp/fsync/rename/fsync steps) *before* a number is used.
//!   Numbers therefore never repeat, across restarts and crashes; a crash
//!   between the two steps only leaves a gap, which the wire protocol allows.
//! - The sum of the sizes of the files in `batches/` stays at or below
//!   `spool.max_bytes`. The batch being uploaded is never evicted.
//! - Batches are uploaded in sequence order, one at a time.
//!
//! # Full spool
//!
//! When a new batch would take the spool past `spool.max_bytes`, the oldest
//! batches (lowest sequence numbers) are deleted until it fits, and counted
//! in `dropped_spool_full_batches`/`_rows`. Keeping the newest favours
//! current data after a long outage; the gap in sequence numbers shows at
//! the collector. A batch larger than the whole bound is dropped itself.
//! A write that fails (disk full, I/O error) loses that batch only: it is
//! counted in `spool_write_errors` and logged, and the sensor goes on.
//!
//! # Recovery at start
//!
//! 1. Take the lock; create the folders; prove the spool is writable.
//! 2. Delete everything in `tmp/` (writes a crash interrupted; counted as
//!    `torn_temp_files`).
//! 3. Read every file in `batches/` in sequence order and check it. A file
//!    with a bad magic, version, length or checksum, or whose sensor id is
//!    not this sensor's, is moved to `quarantine/` with a `.why` note and
//!    counted (`quarantined_batches`). Names that are not `<20 digits>.njb`
//!    are left alone and logged.
//! 4. The next sequence number is the larger of `next-seq` and one past
//!    the highest spooled batch.
//! 5. If the spool is above its bound (the bound was lowered), drop oldest.
//!
//! A file found damaged when it is read for upload is quarantined the same way.

mod config;
mod format;
mod inspect;
mod queue;
mod seq;
mod storage;

#[cfg(test)]
pub(crate) mod tests;

use std::path::PathBuf;

pub use config::{DEFAULT_SPOOL_MAX_BYTES, MIN_SPOOL_MAX_BYTES, SpoolConfig};
pub use format::{FORMAT_VERSION, FormatError, HEADER_LEN, MAGIC, SpooledBatch};
pub use inspect::{SpoolInspection, inspect};
pub use queue::{Push, Spool, SpoolStats};
pub use storage::{FsStorage, SpoolStorage};

/// A spool operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// A file-system step failed.
    #[error("spool: cannot {action} {path}")]
    Io {
        /// What was being done.
        action: &'static str,
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// Another sensor process holds the spool.
    #[error(
        "spool {dir} is in use by another running sensor (lock file {dir}/lock is held); each sensor needs its own `spool.dir`"
    )]
    Locked {
        /// The spool folder.
        dir: PathBuf,
    },
    /// The next-sequence file is unreadable.
    #[error("spool: {path} {problem}")]
    SeqFile {
        /// The file.
        path: PathBuf,
        /// What is wrong and what to do.
        problem: String,
    },
    /// A batch file is not usable.
    #[error("spool: unusable batch file {path}")]
    Format {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        #[source]
        source: FormatError,
    },
}

impl SpoolError {
    /// Whether the error is a full disk (ENOSPC or EDQUOT).
    pub fn is_disk_full(&self) -> bool {
        match self {
            SpoolError::Io { source, .. } => {
                source.kind() == std::io::ErrorKind::StorageFull
                    || matches!(source.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
            }
            _ => false,
        }
    }
}
