//! The generated capture read back with `pcap_file` and decoded with
//! `nightjar_packet`: reproducibility, the class and tool mix, the
//! malformed frames' skip reasons, checksums, and where addresses come from.

use std::collections::HashMap;
use std::sync::OnceLock;

use nightjar_generate::{GenerateError, Generator, GeneratorConfig, SourcePool, TrafficKind, generate};
use nightjar_geo::GeoDb;
use nightjar_packet::{
    Addr16, LinkType, Prefix, PrefixMap, PrefixSet, SkipCounts, Tool, TrafficClass, Transport, as_v4, classify, decode,
};
use pcap_file::pcap::PcapReader;
use pcap_file::{DataLink, TsResolution};

/// The bundled database's networks, IPv4 and IPv6, as the CLI passes them.
fn world() -> &'static (SourcePool, PrefixMap<String>) {
    static WORLD: OnceLock<(SourcePool, PrefixMap<String>)> = OnceLock::new();
    WORLD.get_or_init(|| {
        let db = GeoDb::embedded_country();
        let mut networks = db.ipv4_networks().expect("the bundled database walks");
        networks.extend(db.ipv6_networks().expect("the bundled database walks"));
        let map = PrefixMap::new(networks.iter().map(|(c, p)| (*p, c.to_string())));
        (SourcePool::new(networks), map)
    })
}

fn prefix(text: &str) -> Prefix {
    text.parse().expect("a test prefix")
}

fn config(packets: u64, seed: u64) -> GeneratorConfig {
    GeneratorConfig { packets, seed, ..GeneratorConfig::default() }
}

fn run(config: &GeneratorConfig) -> (Vec<u8>, nightjar_generate::GenerateSummary) {
    let mut out = Vec::new();
    let summary = generate(config, &world().0, &mut out).expect("generation succeeds");
    (out, summary)
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let (a, summary_a) = run(&config(5_000, 42));
    let (b, summary_b) = run(&config(5_000, 42));
    assert!(a == b, "two runs with seed 42 differ");
    assert_eq!(summary_a, summary_b);
    let (c, _) = run(&config(5_000, 43));
    assert!(a != c, "seeds 42 and 43 gave the same capture");
}

/// Every frame, checked against what its kind promises.
#[test]
fn every_frame_decodes_and_classifies_as_its_kind() {
    let (pool, countries) = world();
    let dark = vec![prefix("192.0.2.0/24"), prefix("198.51.100.0/23"), prefix("2001:db8:dead::/48")];
    let dark_set = PrefixSet::new(dark.clone());
    let config = GeneratorConfig { packets: 60_000, seed: 9, dark_prefixes: dark, ..GeneratorConfig::default() };
    let mut generator = Generator::new(&config, pool).expect("a valid configuration");
    let mut last_time = i64::MIN;
    let mut seen: HashMap<TrafficKind, u64> = HashMap::new();
    while let Some(frame) = generator.next_frame().expect("a frame") {
        *seen.entry(frame.kind).or_default() += 1;
        assert!(frame.timestamp_us >= last_time, "time went backwards");
        last_time = frame.timestamp_us;
        let decoded = decode(LinkType::Ethernet, frame.bytes);
        if let Some(reason) = frame.kind.expected_skip() {
            assert_eq!(decoded.err(), Some(reason), "{:?}", frame.kind);
            continue;
        }
        let packet = decoded.unwrap_or_else(|e| panic!("{:?} did not decode: {e}", frame.kind));
        let class = classify(&packet);
        let expected = frame.kind.expected().expect("decodable kinds have an expectation");
        assert_eq!(
            (class.class, class.tool, class.spoof),
            (expected.class, expected.tool, expected.spoof),
            "{:?}",
            frame.kind
        );
        assert_eq!(packet.ip_version == 6, frame.kind.is_ipv6(), "{:?}", frame.kind);
        assert!(dark_set.contains(&packet.dst), "{:?} destination outside the darknet", frame.kind);
        if frame.kind.source_from_pool() {
            assert!(countries.get(&packet.src).is_some(), "{:?} source outside the pool", frame.kind);
            assert!(!dark_set.contains(&packet.src), "{:?} source inside the darknet", frame.kind);
        } else {
            assert_eq!(packet.src, packet.dst);
        }
        if let Some(quoted) = packet.icmp().and_then(|icmp| icmp.quoted) {
            assert!(dark_set.contains(&quoted.src), "the quoted packet was forged from the darknet");
        }
        assert!(checksums_verify(frame.bytes), "{:?} has a bad checksum", frame.kind);
    }
    let summary = generator.into_summary();
    assert_eq!(summary.packets, 60_000);
    for kind in TrafficKind::ALL {
        assert_eq!(summary.count(kind), seen.get(&kind).copied().unwrap_or(0), "{kind:?}");
    }
    // With an IPv6 dark prefix every kind shows up in 60,000 packets, LAND
    // (0.05%) and each malformed kind (0.02%) included.
    for kind in TrafficKind::ALL {
        assert!(summary.count(kind) > 0, "no {kind:?}");
    }
}

/// The file as a reader sees it: the class, tool and skip counts equal
/// what the summary promises, and the shares follow the documented mix.
#[test]
fn capture_read_back_matches_the_summary() {
    let (bytes, summary) = run(&config(100_000, 1));
    let mut reader = PcapReader::new(&bytes[..]).expect("a pcap header");
    let header = reader.header();
    assert_eq!(header.datalink, DataLink::ETHERNET);
    assert_eq!(header.ts_resolution, TsResolution::MicroSecond);
    let mut classes: HashMap<TrafficClass, u64> = HashMap::new();
    let mut tools: HashMap<Tool, u64> = HashMap::new();
    let mut spoofed = 0;
    let mut skips = SkipCounts::default();
    let mut frames = 0u64;
    let mut first = None;
    let mut last = None;
    while let Some(packet) = reader.next_packet() {
        let packet = packet.expect("a well-formed record");
        frames += 1;
        first.get_or_insert(packet.timestamp);
        last = Some(packet.timestamp);
        assert_eq!(packet.orig_len as usize, packet.data.len());
        match decode(LinkType::Ethernet, &packet.data) {
            Ok(decoded) => {
                let class = classify(&decoded);
                *classes.entry(class.class).or_default() += 1;
                if let Some(tool) = class.tool {
                    *tools.entry(tool).or_default() += 1;
                }
                spoofed += u64::from(class.spoof.is_some());
            }
            Err(reason) => skips.add(reason),
        }
    }
    assert_eq!(frames, summary.packets);
    for class in [TrafficClass::Scan, TrafficClass::Backscatter, TrafficClass::Other] {
        assert_eq!(classes.get(&class).copied().unwrap_or(0), summary.class_count(class), "{class:?}");
    }
    for tool in [Tool::Mirai, Tool::Masscan, Tool::Zmap] {
        assert_eq!(tools.get(&tool).copied().unwrap_or(0), summary.tool_count(tool), "{tool:?}");
    }
    assert_eq!(spoofed, summary.spoofed_count());
    assert_eq!(skips.malformed(), summary.malformed());
    for kind in TrafficKind::ALL.iter().filter(|k| k.expected_skip().is_some()) {
        let reason = kind.expected_skip().expect("filtered");
        assert_eq!(skips.get(reason), summary.count(*kind), "{kind:?}");
    }
    // The documented shares (IPv6 left out, so the rest scale by 1/0.997).
    for kind in TrafficKind::ALL.iter().filter(|k| !k.is_ipv6()) {
        let expected = 100_000.0 * f64::from(kind.share_ppm()) / 997_000.0;
        let got = summary.count(*kind) as f64;
        let tolerance = 5.0 * expected.sqrt() + 3.0;
        assert!((got - expected).abs() <= tolerance, "{kind:?}: {got} vs {expected:.0}");
    }
    // One day from 2026-01-01T00:00:00Z.
    let (first, last) = (first.expect("frames"), last.expect("frames"));
    assert_eq!(first.as_secs(), 1_767_225_600);
    assert!(last.as_secs() >= 1_767_225_600 + 86_300 && last.as_secs() < 1_767_225_600 + 86_400);
}

/// A few loud sources, a long quiet tail, many countries.
#[test]
fn sources_are_heavy_tailed_and_worldwide() {
    let (pool, countries) = world();
    let config = config(100_000, 5);
    let mut generator = Generator::new(&config, pool).expect("a valid configuration");
    let mut per_source: HashMap<Addr16, u64> = HashMap::new();
    while let Some(frame) = generator.next_frame().expect("a frame") {
        if let Ok(packet) = decode(LinkType::Ethernet, frame.bytes) {
            *per_source.entry(packet.src).or_default() += 1;
        }
    }
    let mut counts: Vec<u64> = per_source.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    let total: u64 = counts.iter().sum();
    let top_1_percent: u64 = counts[..counts.len() / 100].iter().sum();
    assert!(top_1_percent * 4 > total, "the loudest 1% send {top_1_percent} of {total}");
    let quiet = counts.iter().filter(|c| **c <= 2).count();
    assert!(quiet * 2 > counts.len(), "{quiet} of {} sources sent one or two packets", counts.len());
    let distinct_countries: std::collections::HashSet<&String> =
        per_source.keys().filter_map(|a| countries.get(a)).collect();
    assert!(distinct_countries.len() >= 100, "{} countries", distinct_countries.len());
    assert!(per_source.keys().all(|a| as_v4(a).is_some()), "no IPv6 without an IPv6 dark prefix");
}

#[test]
fn zmap_and_masscan_fields_are_the_tools_defaults() {
    let (pool, _) = world();
    let mut generator = Generator::new(&config(20_000, 3), pool).expect("a valid configuration");
    while let Some(frame) = generator.next_frame().expect("a frame") {
        let Ok(packet) = decode(LinkType::Ethernet, frame.bytes) else { continue };
        let Transport::Tcp { dst_port, header, .. } = packet.transport else { continue };
        match frame.kind {
            TrafficKind::ZmapSyn => {
                assert_eq!((packet.ip_id, header.window), (Some(54321), 65535));
                assert!(packet.ttl > 200 && packet.ttl < 255);
            }
            TrafficKind::MasscanSyn => {
                assert_eq!(header.window, 1024);
                assert!(matches!(header.options.layout(), "" | "M"));
            }
            TrafficKind::MiraiSyn => {
                assert_eq!(header.options.layout(), "");
                assert!(packet.ttl < 64);
                assert!(dst_port != 0);
            }
            TrafficKind::LinuxSyn => assert_eq!(header.options.layout(), "MSTNW"),
            TrafficKind::WindowsSyn => assert_eq!(header.options.layout(), "MNWNNS"),
            _ => {}
        }
    }
}

#[test]
fn bad_configurations_say_what_to_fix() {
    let (pool, _) = world();
    let v4_only = SourcePool::new([("JP", prefix("133.0.0.0/8"))]);
    let with_v6 =
        GeneratorConfig { dark_prefixes: vec![prefix("192.0.2.0/24"), prefix("2001:db8::/32")], ..config(10, 1) };
    let err = generate(&with_v6, &v4_only, Vec::new()).expect_err("no IPv6 sources");
    assert!(matches!(err, GenerateError::NoIpv6Sources { .. }));
    assert!(err.to_string().contains("ipv6_networks"), "{err}");

    let empty = SourcePool::new(Vec::<(String, Prefix)>::new());
    assert!(matches!(generate(&config(10, 1), &empty, Vec::new()), Err(GenerateError::NoIpv4Sources)));

    let only_v6 = GeneratorConfig { dark_prefixes: vec![prefix("2001:db8::/32")], ..config(10, 1) };
    assert!(matches!(generate(&only_v6, pool, Vec::new()), Err(GenerateError::NoIpv4DarkPrefix)));

    let everything = GeneratorConfig { dark_prefixes: vec![prefix("192.0.2.0/24"), prefix("::/0")], ..config(10, 1) };
    assert!(matches!(generate(&everything, pool, Vec::new()), Err(GenerateError::MixedDarkPrefix { .. })));

    let far_future = GeneratorConfig { start_time_us: 5_000_000_000_000_000, ..config(10, 1) };
    let err = generate(&far_future, pool, Vec::new()).expect_err("past 2106");
    assert!(err.to_string().contains("2106"), "{err}");

    // A pool that is all darknet has no source to offer.
    let dark_pool = SourcePool::new([("ZZ", prefix("192.0.2.0/24"))]);
    assert!(matches!(generate(&config(10, 1), &dark_pool, Vec::new()), Err(GenerateError::NoUsableSource)));
}

#[test]
fn zero_packets_is_just_a_header() {
    let (bytes, summary) = run(&config(0, 1));
    assert_eq!(bytes.len(), 24);
    assert_eq!(summary.packets, 0);
}

/// Verify the IPv4 header checksum and the TCP/UDP/ICMP checksum of an
/// Ethernet frame, independently of the generator's code.
fn checksums_verify(frame: &[u8]) -> bool {
    fn sum(bytes: &[u8]) -> u32 {
        bytes.chunks(2).map(|w| u32::from(u16::from_be_bytes([w[0], *w.get(1).unwrap_or(&0)]))).sum()
    }
    fn folds_to_zero(mut total: u32) -> bool {
        while total > 0xffff {
            total = (total & 0xffff) + (total >> 16);
        }
        total == 0xffff
    }
    let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    let ip = &frame[14..];
    let (pseudo, protocol, l4, fragment) = if ethertype == 0x0800 {
        let header_len = usize::from(ip[0] & 0x0f) * 4;
        if !folds_to_zero(sum(&ip[..header_len])) {
            return false;
        }
        let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
        let fragment = u16::from_be_bytes([ip[6], ip[7]]) & 0x1fff != 0;
        let l4 = &ip[header_len..total];
        (sum(&ip[12..20]) + u32::from(ip[9]) + l4.len() as u32, ip[9], l4, fragment)
    } else {
        let payload = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
        let l4 = &ip[40..40 + payload];
        (sum(&ip[8..40]) + u32::from(ip[6]) + l4.len() as u32, ip[6], l4, false)
    };
    match protocol {
        _ if fragment => true,
        1 => folds_to_zero(sum(l4)),
        6 | 17 | 58 => folds_to_zero(pseudo + sum(l4)),
        _ => false,
    }
}
