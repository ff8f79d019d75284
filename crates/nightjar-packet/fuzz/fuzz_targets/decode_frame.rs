//! Fuzz the frame decoder and classifier with every link type.
//!
//! Run: `cd crates/nightjar-packet/fuzz && cargo +nightly fuzz run decode_frame -- -max_total_time=300`
//! (or with a stable toolchain: `RUSTC_BOOTSTRAP=1 cargo fuzz run decode_frame`).
#![no_main]

use libfuzzer_sys::fuzz_target;
use nightjar_packet::{LinkType, classify, decode};

fuzz_target!(|data: &[u8]| {
    // The first byte picks the link type, the rest is the frame.
    let Some((selector, frame)) = data.split_first() else { return };
    let links = [0u32, 1, 101, 108, 113, 228, 229, 276];
    let Some(link) = LinkType::from_linktype(links[usize::from(*selector) % links.len()]) else { return };
    if let Ok(packet) = decode(link, frame) {
        let _ = classify(&packet);
        assert!(packet.payload.len() <= frame.len());
    }
});
