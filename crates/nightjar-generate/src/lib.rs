//! Synthetic darknet traffic for Nightjar's tests, demo and benchmarks.
//!
//! [`generate`] writes a classic pcap (Ethernet, microsecond timestamps) of
//! the unsolicited traffic a darknet sensor sees: scans by tools and bots,
//! backscatter from attack victims, packets with forged sources, and a few
//! broken frames. The same [`GeneratorConfig`] (seed included) and
//! [`SourcePool`] always give a byte-identical file.
//!
//! # The traffic mix
//!
//! Shares of all packets ([`TrafficKind::share_ppm`]); the IPv6 kinds exist
//! only when an IPv6 dark prefix is given, and the rest then scale up to 100%.
//!
//! | share | kind | what it looks like |
//! | ---: | --- | --- |
//! | 22% | [`TrafficKind::MiraiSyn`] | SYN, seq = destination, TTL 64, to 23 (80%), 2323 (9%), other IoT ports |
//! | 12% | [`TrafficKind::MasscanSyn`] | SYN, IP id = (dst ^ dport ^ seq), TTL 255, window 1024, MSS |
//! | 8% | [`TrafficKind::ZmapSyn`] | SYN, IP id 54321, TTL 255, window 65535, one port per scan |
//! | 4% | [`TrafficKind::NmapSyn`] | SYN, window 1024–4096, MSS, TTL 37–59 |
//! | 17% | [`TrafficKind::LinuxSyn`] | SYN with Linux options (MSTNW), DF, TTL 64 |
//! | 7% | [`TrafficKind::WindowsSyn`] | SYN with Windows options (MNWNNS), DF, TTL 128 |
//! | 11% | [`TrafficKind::UdpProbe`] | DNS, NTP, SNMP, SSDP, CLDAP, memcached, WS-Discovery, CoAP, chargen, QOTD |
//! | 7% | [`TrafficKind::IcmpEchoRequest`] | Linux and Windows ping |
//! | 4% | [`TrafficKind::SynAck`] | backscatter from SYN-flooded servers |
//! | 3.5% | [`TrafficKind::RstAck`] | backscatter from closed ports |
//! | 1.2% | [`TrafficKind::IcmpPortUnreachable`] | backscatter from UDP-flooded hosts, quoting the flood packet |
//! | 0.6% | [`TrafficKind::IcmpHostUnreachable`] | routers' unreachables quoting forged SYNs |
//! | 1.2% | [`TrafficKind::DnsResponse`] | DNS answers to queries forged from the darknet |
//! | 1.1% | spoofed kinds | NULL/Xmas flags, TTL ≥ 200, source .0/.255, port 0, UDP to 80, fragments, LAND |
//! | 0.3% | [`TrafficKind::Ipv6Syn`], [`TrafficKind::Ipv6EchoRequest`] | IPv6 SYN and ICMPv6 echo |
//! | 0.1% | malformed kinds | truncated IPv4/TCP headers, bad IHL, bad TCP data offset, bad UDP length |
//!
//! # Sources and destinations
//!
//! Destinations are uniform over the dark prefixes (default
//! [`DEFAULT_DARK_PREFIX`]). Sources come from a [`SourcePool`] of real
//! address space with its country, normally built from the bundled GeoIP
//! database, and never from the dark prefixes. Each kind has its own fixed
//! set of senders (bots, scanners, victims, routers; [`GeneratorConfig::sources`]
//! in all), each with the traits of its tool or stack, and packets are
//! spread over them with a Zipf law: a few loud senders, a long tail of
//! quiet ones. Forged and malformed packets come from a fresh address each.
//!
//! Every frame has correct IPv4 header, TCP, UDP and ICMP checksums (except
//! where a malformed kind breaks the header on purpose) and is padded to
//! Ethernet's 60-byte minimum. [`TrafficKind::expected`] says how
//! `nightjar_packet::classify` will label each kind, and
//! [`TrafficKind::expected_skip`] which skip reason each malformed kind hits.
//!
//! ```
//! use nightjar_generate::{GeneratorConfig, SourcePool, TrafficKind, generate};
//! use nightjar_packet::Prefix;
//!
//! // Normally `GeoDb::embedded_country().ipv4_networks()?`.
//! let pool = SourcePool::new([("JP", "133.0.0.0/8".parse::<Prefix>()?), ("NL", "193.0.0.0/8".parse()?)]);
//! let config = GeneratorConfig { packets: 1_000, seed: 7, ..GeneratorConfig::default() };
//! let mut pcap = Vec::new();
//! let summary = generate(&config, &pool, &mut pcap)?;
//! assert_eq!(summary.packets, 1_000);
//! assert!(summary.count(TrafficKind::MiraiSyn) > 100);
//!
//! // Same seed, same bytes.
//! let mut again = Vec::new();
//! generate(&config, &pool, &mut again)?;
//! assert_eq!(pcap, again);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod backscatter;
mod clock;
mod config;
mod context;
mod dark;
mod error;
mod generator;
mod kind;
mod malformed;
mod mix;
mod payloads;
mod pcap;
mod pool;
mod probes;
mod scans;
mod sources;
mod spoofed;
mod summary;
mod wire;
mod zipf;

use std::io::Write;

pub use config::{DEFAULT_DARK_PREFIX, DEFAULT_DURATION_S, DEFAULT_START_TIME_US, GeneratorConfig};
pub use error::GenerateError;
pub use generator::{GeneratedFrame, Generator};
pub use kind::{Expected, TrafficKind};
pub use pcap::CaptureWriter;
pub use pool::SourcePool;
pub use summary::GenerateSummary;

/// Generate `config.packets` frames into `out` as a classic pcap file.
///
/// `out` is buffered internally; pass a `File` as it is. To show progress,
/// drive a [`Generator`] and a [`CaptureWriter`] instead: this function is
/// that loop.
pub fn generate(
    config: &GeneratorConfig,
    pool: &SourcePool,
    out: impl Write,
) -> Result<GenerateSummary, GenerateError> {
    let mut generator = Generator::new(config, pool)?;
    let mut capture = CaptureWriter::new(out)?;
    while let Some(frame) = generator.next_frame()? {
        capture.write(&frame)?;
    }
    capture.finish()?;
    Ok(generator.into_summary())
}
