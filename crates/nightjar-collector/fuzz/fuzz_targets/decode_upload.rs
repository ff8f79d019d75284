//! Fuzz what the collector runs on an upload body before it accepts it:
//! `wire::decode` (zstd, Arrow IPC stream, schema check, row limit) and then
//! `wire::check_rows` (sensor, batch_seq and clock skew of every row), as
//! `Store::store` in crates/nightjar-collector/src/store.rs does. Any input
//! must end in `Ok` or a `WireError`, never a panic, a hang or an abort.
//!
//! Run: `cd crates/nightjar-collector/fuzz && RUSTC_BOOTSTRAP=1 cargo fuzz run decode_upload -- -max_total_time=300`
//!
//! The first input byte picks a mode:
//! - 0: the rest is a body sent with `Content-Encoding: zstd`;
//! - 1: the rest is an identity (uncompressed) body;
//! - 2, 3: the rest is XORed into a valid body (an encoded two-row batch),
//!   from the offset the next two bytes give, and sent uncompressed (2) or
//!   recompressed with zstd (3). Raw bytes rarely get past the IPC framing;
//!   corrupting a valid stream reaches the schema, the record batch
//!   messages, the buffers and the per-row checks.
//!
//! `wire::decode` turns a panic inside Arrow's IPC reader into a `WireError`
//! (Arrow panics on some damaged streams; the collector must answer 400, not
//! crash). libFuzzer's panic hook would abort on that caught panic before it
//! unwinds, so the target replaces the hook with a silent one: a panic that
//! escapes `decode` still reaches libfuzzer-sys's own guard and is reported
//! as a crash, as is any abort (an allocation past `-rss_limit_mb` included).
//!
//! The limits are smaller than the collector's defaults (512 MiB
//! decompressed, 4,000,000 rows) so that every run stays fast; the code
//! that enforces them is the same.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use nightjar_packet::{LinkType, classify, decode};
use nightjar_record::wire::{self, DecodeLimits};
use nightjar_record::{PacketBatchBuilder, RecordOptions};

const SENSOR: &str = "fuzz-1";
const SEQ: u64 = 7;
const NOW_US: i64 = 1_796_000_000_000_000;
const LIMITS: DecodeLimits = DecodeLimits { max_decompressed_bytes: 4 << 20, max_rows: 10_000 };

/// A valid upload body, uncompressed Arrow IPC: a TCP SYN and a UDP probe.
fn template() -> &'static [u8] {
    static TEMPLATE: OnceLock<Vec<u8>> = OnceLock::new();
    TEMPLATE.get_or_init(|| {
        let frames: [&[u8]; 2] = [
            &[
                0x45, 0, 0, 40, 0xd4, 0x31, 0, 0, 250, 6, 0, 0, 198, 51, 100, 7, 192, 0, 2, 9, 0x9c, 0x40, 0, 23, 192,
                0, 2, 9, 0, 0, 0, 0, 0x50, 0x02, 0x16, 0xd0, 0, 0, 0, 0,
            ],
            &[0x45, 0, 0, 28, 0, 1, 0, 0, 64, 17, 0, 0, 203, 0, 113, 5, 192, 0, 2, 200, 0x9c, 0x41, 0, 53, 0, 8, 0, 0],
        ];
        let mut builder = PacketBatchBuilder::new(RecordOptions::default());
        for (i, frame) in frames.iter().enumerate() {
            let packet = decode(LinkType::Raw, frame).expect("the template frames are valid");
            builder.append(NOW_US + i as i64, &packet, &classify(&packet), None);
        }
        let body = wire::encode(&[builder.finish(SENSOR, SEQ)], 1).expect("the template batch encodes");
        zstd::bulk::decompress(&body, 1 << 20).expect("wire::encode makes a zstd frame")
    })
}

/// The collector's checks, in its order; only the outcome's kind matters.
fn ingest(body: &[u8], zstd: bool) {
    let Ok(batches) = wire::decode(body, zstd, LIMITS) else { return };
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert!(rows <= LIMITS.max_rows, "decode let {rows} rows past the limit");
    for batch in &batches {
        assert!(wire::check_schema(&batch.schema()).is_ok(), "decode returned a batch of another schema");
    }
    let day_us = 86_400_000_000;
    let _ = wire::check_rows(&batches, SENSOR, SEQ, NOW_US - day_us, NOW_US + day_us);
}

fuzz_target!(|data: &[u8]| {
    static QUIET_PANICS: std::sync::Once = std::sync::Once::new();
    QUIET_PANICS.call_once(|| std::panic::set_hook(Box::new(|_| {})));
    let Some((&mode, rest)) = data.split_first() else { return };
    match mode % 4 {
        0 => ingest(rest, true),
        1 => ingest(rest, false),
        zstd_mode => {
            let Some((offset, mask)) = rest.split_first_chunk::<2>() else { return };
            let mut body = template().to_vec();
            let start = usize::from(u16::from_le_bytes(*offset)) % body.len();
            for (byte, flip) in body[start..].iter_mut().zip(mask) {
                *byte ^= flip;
            }
            if zstd_mode == 3 {
                let Ok(compressed) = zstd::bulk::compress(&body, 1) else { return };
                ingest(&compressed, true);
            } else {
                ingest(&body, false);
            }
        }
    }
});
