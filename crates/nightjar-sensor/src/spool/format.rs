//! The batch file: a fixed header, the sensor id, the upload body.
//! See the module documentation of [`crate::spool`] for the layout.

/// First bytes of every batch file.
pub const MAGIC: [u8; 8] = *b"NJSPOOL\0";
/// The layout version written; the only one read.
pub const FORMAT_VERSION: u16 = 1;
/// Bytes before the sensor id.
pub const HEADER_LEN: usize = 44;
/// Offset of the checksum field.
const CRC_AT: usize = 40;

/// One spooled batch: its header fields and the upload body.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SpooledBatch {
    /// The batch sequence number (also in the file name and in every row).
    pub seq: u64,
    /// Rows in the body.
    pub rows: u32,
    /// When the batch was spooled, µs since the epoch.
    pub created_us: i64,
    /// The sensor id the rows carry.
    pub sensor: String,
    /// The upload body: zstd-compressed Arrow IPC stream.
    pub body: Vec<u8>,
}

/// Why a batch file cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    /// Shorter than its fixed header.
    #[error("{0} bytes, shorter than the {HEADER_LEN}-byte header")]
    TooShort(usize),
    /// Not a spool batch file.
    #[error("bad magic number {0:02x?}")]
    BadMagic(Vec<u8>),
    /// Written by a newer sensor.
    #[error("format version {0}, this sensor reads version {FORMAT_VERSION}")]
    Version(u16),
    /// The lengths in the header do not add up to the file's length.
    #[error("the header promises {expected} bytes, the file has {actual}")]
    Length {
        /// Length from the header.
        expected: u64,
        /// Length of the file.
        actual: u64,
    },
    /// The checksum does not match: the file was damaged.
    #[error("checksum {stored:08x} stored, {computed:08x} computed")]
    Checksum {
        /// CRC in the file.
        stored: u32,
        /// CRC of the content.
        computed: u32,
    },
    /// The sensor id is not UTF-8.
    #[error("the sensor id is not UTF-8")]
    SensorId,
}

impl SpooledBatch {
    /// The file's bytes.
    pub fn encode(&self) -> Vec<u8> {
        let sensor = self.sensor.as_bytes();
        let mut out = Vec::with_capacity(HEADER_LEN + sensor.len() + self.body.len());
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        // Sensor ids are at most 64 bytes (checked at config load).
        out.extend_from_slice(&(sensor.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.rows.to_le_bytes());
        out.extend_from_slice(&self.seq.to_le_bytes());
        out.extend_from_slice(&self.created_us.to_le_bytes());
        out.extend_from_slice(&(self.body.len() as u64).to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(sensor);
        out.extend_from_slice(&self.body);
        let crc = checksum(&out);
        out[CRC_AT..HEADER_LEN].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Read a file's bytes, checking magic, version, lengths and checksum.
    pub fn decode(bytes: &[u8]) -> Result<SpooledBatch, FormatError> {
        if bytes.len() < HEADER_LEN {
            return Err(FormatError::TooShort(bytes.len()));
        }
        if bytes[..8] != MAGIC {
            return Err(FormatError::BadMagic(bytes[..8].to_vec()));
        }
        let u16_at = |at: usize| u16::from_le_bytes([bytes[at], bytes[at + 1]]);
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().expect("4 bytes"));
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().expect("8 bytes"));
        let version = u16_at(8);
        if version != FORMAT_VERSION {
            return Err(FormatError::Version(version));
        }
        let sensor_len = u64::from(u16_at(10));
        let rows = u32_at(12);
        let seq = u64_at(16);
        let created_us = u64_at(24) as i64;
        let body_len = u64_at(32);
        let expected = (HEADER_LEN as u64).saturating_add(sensor_len).saturating_add(body_len);
        if expected != bytes.len() as u64 {
            return Err(FormatError::Length { expected, actual: bytes.len() as u64 });
        }
        let stored = u32_at(CRC_AT);
        let computed = checksum(bytes);
        if stored != computed {
            return Err(FormatError::Checksum { stored, computed });
        }
        let sensor_end = HEADER_LEN + sensor_len as usize;
        let sensor = std::str::from_utf8(&bytes[HEADER_LEN..sensor_end]).map_err(|_| FormatError::SensorId)?;
        Ok(SpooledBatch { seq, rows, created_us, sensor: sensor.to_string(), body: bytes[sensor_end..].to_vec() })
    }

    /// The size of this batch's file.
    pub fn file_len(&self) -> u64 {
        (HEADER_LEN + self.sensor.len() + self.body.len()) as u64
    }
}

/// CRC-32 (IEEE) of everything but the checksum field itself.
fn checksum(file: &[u8]) -> u32 {
    let mut hasher = crc32fast::Hasher::new();
    hasher.update(&file[..CRC_AT]);
    hasher.update(&file[HEADER_LEN..]);
    hasher.finalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> SpooledBatch {
        SpooledBatch {
            seq: 42,
            rows: 3,
            created_us: 1_700_000_000_000_000,
            sensor: "tokyo-1".into(),
            body: vec![1, 2, 3, 4, 5],
        }
    }

    #[test]
    fn round_trips() {
        let batch = sample();
        let bytes = batch.encode();
        assert_eq!(bytes.len() as u64, batch.file_len());
        assert_eq!(&bytes[..8], b"NJSPOOL\0");
        assert_eq!(SpooledBatch::decode(&bytes), Ok(batch));
    }

    #[test]
    fn every_flipped_byte_is_caught() {
        let bytes = sample().encode();
        for i in 0..bytes.len() {
            let mut damaged = bytes.clone();
            damaged[i] ^= 0x01;
            assert!(SpooledBatch::decode(&damaged).is_err(), "flipping byte {i} went unnoticed");
        }
    }

    proptest::proptest! {
        /// Any bytes: an error or a batch, never a panic; any batch round-trips.
        #[test]
        fn decoding_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..256)) {
            let _ = SpooledBatch::decode(&bytes);
            let mut with_magic = MAGIC.to_vec();
            with_magic.extend_from_slice(&bytes);
            let _ = SpooledBatch::decode(&with_magic);
        }

        #[test]
        fn any_batch_round_trips(
            seq in proptest::num::u64::ANY,
            rows in proptest::num::u32::ANY,
            created_us in proptest::num::i64::ANY,
            sensor in "[A-Za-z0-9._-]{1,64}",
            body in proptest::collection::vec(proptest::num::u8::ANY, 0..512),
        ) {
            let batch = SpooledBatch { seq, rows, created_us, sensor, body };
            proptest::prop_assert_eq!(SpooledBatch::decode(&batch.encode()), Ok(batch));
        }
    }

    #[test]
    fn every_truncation_is_caught() {
        let bytes = sample().encode();
        for len in 0..bytes.len() {
            assert!(SpooledBatch::decode(&bytes[..len]).is_err(), "a file cut at {len} bytes was accepted");
        }
    }
}
