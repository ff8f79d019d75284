//! Property tests: random bytes never panic the decoder, and random valid
//! packets built here decode back to exactly the fields they were built from.

use nightjar_packet::{LinkType, Packet, Transport, classify, decode, map_v4};
use proptest::prelude::*;

const LINKS: [LinkType; 8] = [
    LinkType::Null,
    LinkType::Ethernet,
    LinkType::Raw,
    LinkType::Loop,
    LinkType::LinuxSll,
    LinkType::Ipv4,
    LinkType::Ipv6,
    LinkType::LinuxSll2,
];

#[derive(Clone, Debug)]
enum L4 {
    Tcp {
        sport: u16,
        dport: u16,
        seq: u32,
        ack: u32,
        flags: u8,
        window: u16,
        mss: Option<u16>,
        wscale: Option<u8>,
        sack: bool,
        ts: bool,
    },
    Udp {
        sport: u16,
        dport: u16,
    },
    Icmp {
        icmp_type: u8,
        code: u8,
    },
}

#[derive(Clone, Debug)]
struct Spec {
    v6: bool,
    src: [u8; 16],
    dst: [u8; 16],
    ttl: u8,
    ip_id: u16,
    ipv4_option_words: u8,
    ipv6_extensions: u8,
    l4: L4,
    payload: Vec<u8>,
    link: LinkType,
    vlan_tags: u8,
}

fn l4_strategy() -> impl Strategy<Value = L4> {
    prop_oneof![
        (
            any::<u16>(),
            any::<u16>(),
            any::<u32>(),
            any::<u32>(),
            any::<u8>(),
            any::<u16>(),
            any::<Option<u16>>(),
            proptest::option::of(0u8..15),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(sport, dport, seq, ack, flags, window, mss, wscale, sack, ts)| L4::Tcp {
                sport,
                dport,
                seq,
                ack,
                flags,
                window,
                mss,
                wscale,
                sack,
                ts
            }),
        (any::<u16>(), any::<u16>()).prop_map(|(sport, dport)| L4::Udp { sport, dport }),
        // Echo request/reply and informational types only: error types quote a packet.
        (prop_oneof![Just(0u8), Just(8u8), Just(13u8), Just(128u8), Just(129u8)], any::<u8>())
            .prop_map(|(icmp_type, code)| L4::Icmp { icmp_type, code }),
    ]
}

fn spec_strategy() -> impl Strategy<Value = Spec> {
    (
        any::<bool>(),
        any::<[u8; 16]>(),
        any::<[u8; 16]>(),
        any::<u8>(),
        any::<u16>(),
        0u8..=10,
        0u8..=3,
        l4_strategy(),
        proptest::collection::vec(any::<u8>(), 0..64),
        prop_oneof![
            Just(LinkType::Ethernet),
            Just(LinkType::Raw),
            Just(LinkType::LinuxSll),
            Just(LinkType::LinuxSll2),
            Just(LinkType::Null)
        ],
        0u8..=2,
    )
        .prop_map(
            |(v6, src, dst, ttl, ip_id, ipv4_option_words, ipv6_extensions, l4, payload, link, vlan_tags)| Spec {
                v6,
                src: if v6 { src } else { map_v4([src[0], src[1], src[2], src[3]]) },
                dst: if v6 { dst } else { map_v4([dst[0], dst[1], dst[2], dst[3]]) },
                ttl,
                ip_id,
                ipv4_option_words,
                ipv6_extensions,
                l4,
                payload,
                link,
                vlan_tags,
            },
        )
}

/// The transport header and the TCP option layout letters it carries.
fn transport_bytes(spec: &Spec) -> (u8, Vec<u8>, String) {
    let mut layout = String::new();
    let (protocol, mut bytes) = match &spec.l4 {
        L4::Tcp { sport, dport, seq, ack, flags, window, mss, wscale, sack, ts } => {
            let mut options = Vec::new();
            if let Some(m) = mss {
                options.extend_from_slice(&[2, 4]);
                options.extend_from_slice(&m.to_be_bytes());
                layout.push('M');
            }
            if *sack {
                options.extend_from_slice(&[4, 2]);
                layout.push('S');
            }
            if *ts {
                options.extend_from_slice(&[8, 10, 1, 2, 3, 4, 0, 0, 0, 0]);
                layout.push('T');
            }
            if let Some(w) = wscale {
                options.extend_from_slice(&[1, 3, 3, *w]);
                layout.push_str("NW");
            }
            while options.len() % 4 != 0 {
                options.push(1);
                layout.push('N');
            }
            let mut h = Vec::new();
            h.extend_from_slice(&sport.to_be_bytes());
            h.extend_from_slice(&dport.to_be_bytes());
            h.extend_from_slice(&seq.to_be_bytes());
            h.extend_from_slice(&ack.to_be_bytes());
            h.push((((20 + options.len()) / 4) as u8) << 4);
            h.push(*flags);
            h.extend_from_slice(&window.to_be_bytes());
            h.extend_from_slice(&[0, 0, 0, 0]);
            h.extend_from_slice(&options);
            (6u8, h)
        }
        L4::Udp { sport, dport } => {
            let mut h = Vec::new();
            h.extend_from_slice(&sport.to_be_bytes());
            h.extend_from_slice(&dport.to_be_bytes());
            h.extend_from_slice(&((8 + spec.payload.len()) as u16).to_be_bytes());
            h.extend_from_slice(&[0, 0]);
            (17u8, h)
        }
        L4::Icmp { icmp_type, code } => (if spec.v6 { 58 } else { 1 }, vec![*icmp_type, *code, 0, 0, 0, 1, 0, 1]),
    };
    bytes.extend_from_slice(&spec.payload);
    (protocol, bytes, layout)
}

/// The whole frame, and the IP options/extension bytes it carries.
fn frame_bytes(spec: &Spec) -> (Vec<u8>, u16) {
    let (protocol, upper, _) = transport_bytes(spec);
    let mut ip = Vec::new();
    let options_len;
    if spec.v6 {
        let mut ext = Vec::new();
        let mut next = protocol;
        // Build from the inside out: each header names the one after it.
        for i in (0..spec.ipv6_extensions).rev() {
            let mut h = if i % 2 == 0 {
                vec![next, 0, 1, 4, 0, 0, 0, 0] // hop-by-hop / destination: PadN
            } else {
                vec![next, 0, 0, 0, 0, 0, 0, 9] // atomic fragment: offset 0, M = 0
            };
            next = match (i, i % 2) {
                (0, 0) => 0,
                (_, 0) => 60,
                _ => 44,
            };
            h.extend_from_slice(&ext);
            ext = h;
        }
        options_len = ext.len() as u16;
        ip.push(0x60);
        ip.extend_from_slice(&[0, 0, 0]);
        ip.extend_from_slice(&((ext.len() + upper.len()) as u16).to_be_bytes());
        ip.push(next);
        ip.push(spec.ttl);
        ip.extend_from_slice(&spec.src);
        ip.extend_from_slice(&spec.dst);
        ip.extend_from_slice(&ext);
    } else {
        let header_len = 20 + 4 * usize::from(spec.ipv4_option_words);
        options_len = (header_len - 20) as u16;
        ip.push(0x40 | (header_len / 4) as u8);
        ip.push(0);
        ip.extend_from_slice(&((header_len + upper.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&spec.ip_id.to_be_bytes());
        ip.extend_from_slice(&[0x40, 0]); // DF
        ip.push(spec.ttl);
        ip.push(protocol);
        ip.extend_from_slice(&[0, 0]);
        ip.extend_from_slice(&spec.src[12..]);
        ip.extend_from_slice(&spec.dst[12..]);
        ip.extend(std::iter::repeat_n(1u8, header_len - 20)); // NOP options
    }
    ip.extend_from_slice(&upper);
    let ethertype: [u8; 2] = if spec.v6 { [0x86, 0xdd] } else { [0x08, 0x00] };
    let mut frame = Vec::new();
    match spec.link {
        LinkType::Ethernet => {
            frame.extend_from_slice(&[2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
            for tag in 0..spec.vlan_tags {
                frame.extend_from_slice(if tag == 0 && spec.vlan_tags == 2 { &[0x88, 0xa8] } else { &[0x81, 0x00] });
                frame.extend_from_slice(&[0, 10 + tag]);
            }
            frame.extend_from_slice(&ethertype);
        }
        LinkType::LinuxSll => {
            frame.extend_from_slice(&[0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
            frame.extend_from_slice(&ethertype);
        }
        LinkType::LinuxSll2 => {
            frame.extend_from_slice(&ethertype);
            frame.extend_from_slice(&[0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
        }
        LinkType::Null => frame.extend_from_slice(&(if spec.v6 { 30u32 } else { 2u32 }).to_le_bytes()),
        _ => {}
    }
    frame.extend_from_slice(&ip);
    (frame, options_len)
}

fn check_fields(spec: &Spec, packet: &Packet<'_>, options_len: u16) -> Result<(), TestCaseError> {
    let (protocol, upper, layout) = transport_bytes(spec);
    prop_assert_eq!(packet.ip_version, if spec.v6 { 6 } else { 4 });
    prop_assert_eq!(packet.src, spec.src);
    prop_assert_eq!(packet.dst, spec.dst);
    prop_assert_eq!(packet.protocol, protocol);
    prop_assert_eq!(packet.ttl, spec.ttl);
    prop_assert_eq!(packet.ip_id, if spec.v6 { None } else { Some(spec.ip_id) });
    prop_assert_eq!(packet.ip_options_len, options_len);
    let header = if spec.v6 { 40 } else { 20 };
    prop_assert_eq!(packet.ip_len as usize, header + usize::from(options_len) + upper.len());
    prop_assert_eq!(packet.payload, &spec.payload[..]);
    prop_assert_eq!(packet.payload_len as usize, spec.payload.len());
    match (&spec.l4, &packet.transport) {
        (
            L4::Tcp { sport, dport, seq, ack, flags, window, mss, wscale, sack, ts },
            Transport::Tcp { src_port, dst_port, header },
        ) => {
            prop_assert_eq!((*sport, *dport), (*src_port, *dst_port));
            prop_assert_eq!((*seq, *ack, *flags, *window), (header.seq, header.ack, header.flags, header.window));
            prop_assert_eq!(*mss, header.options.mss);
            prop_assert_eq!(*wscale, header.options.window_scale);
            prop_assert_eq!((*sack, *ts), (header.options.sack_permitted, header.options.timestamps));
            prop_assert_eq!(layout.as_str(), header.options.layout());
        }
        (L4::Udp { sport, dport }, Transport::Udp { src_port, dst_port }) => {
            prop_assert_eq!((*sport, *dport), (*src_port, *dst_port));
        }
        (L4::Icmp { icmp_type, code }, Transport::Icmp(icmp)) => {
            prop_assert_eq!((*icmp_type, *code), (icmp.icmp_type, icmp.code));
            prop_assert!(icmp.quoted.is_none());
        }
        (built, decoded) => prop_assert!(false, "built {:?}, decoded {:?}", built, decoded),
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), link in 0usize..LINKS.len()) {
        if let Ok(packet) = decode(LINKS[link], &bytes) {
            // Whatever decodes also classifies, and its payload lies inside the frame.
            let _ = classify(&packet);
            prop_assert!(packet.payload.len() <= bytes.len());
        }
    }

    #[test]
    fn random_ip_looking_bytes_never_panic(mut bytes in proptest::collection::vec(any::<u8>(), 20..120), v6 in any::<bool>()) {
        // Force a plausible version nibble so the deeper layers are exercised too.
        bytes[0] = if v6 { 0x60 | (bytes[0] & 0x0f) } else { 0x45 };
        let _ = decode(LinkType::Raw, &bytes).map(|p| classify(&p));
    }

    #[test]
    fn built_packets_decode_to_their_fields(spec in spec_strategy()) {
        let (frame, options_len) = frame_bytes(&spec);
        let packet = decode(spec.link, &frame).map_err(|r| TestCaseError::fail(format!("skipped: {r}")))?;
        check_fields(&spec, &packet, options_len)?;
    }

    #[test]
    fn ethernet_padding_is_not_payload(spec in spec_strategy(), padding in 1usize..40) {
        let spec = Spec { link: LinkType::Ethernet, ..spec };
        let (mut frame, options_len) = frame_bytes(&spec);
        frame.extend(std::iter::repeat_n(0u8, padding));
        let packet = decode(spec.link, &frame).map_err(|r| TestCaseError::fail(format!("skipped: {r}")))?;
        check_fields(&spec, &packet, options_len)?;
    }

    #[test]
    fn truncated_packets_never_report_wrong_headers(spec in spec_strategy(), cut in any::<prop::sample::Index>()) {
        let (frame, options_len) = frame_bytes(&spec);
        let (_, upper, _) = transport_bytes(&spec);
        let keep = cut.index(frame.len());
        // ICMP needs only type, code and checksum: the 4 bytes after them are
        // type-specific and not part of the record.
        let unread_icmp = if matches!(spec.l4, L4::Icmp { .. }) { 4 } else { 0 };
        let header_end = frame.len() - spec.payload.len() - unread_icmp;
        match decode(spec.link, &frame[..keep]) {
            Ok(packet) => {
                // Only a cut inside the payload (snap length) may decode, and
                // then every header field is still right.
                prop_assert!(keep >= header_end, "decoded a frame cut inside its headers at {} of {}", keep, frame.len());
                let payload_start = header_end + unread_icmp;
                prop_assert_eq!(packet.payload, &spec.payload[..keep.saturating_sub(payload_start)]);
                prop_assert_eq!(packet.payload_len as usize, spec.payload.len());
                let header = if spec.v6 { 40 } else { 20 };
                prop_assert_eq!(packet.ip_len as usize, header + usize::from(options_len) + upper.len());
            }
            Err(_) => prop_assert!(keep < header_end),
        }
    }
}
