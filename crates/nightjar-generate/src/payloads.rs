//! Application payloads: the UDP probes scanners send to amplifiers and
//! exposed services, and the DNS answers that come back as backscatter.

use rand::Rng;
use rand_pcg::Pcg64Mcg;

/// Room for the longest probe (the WS-Discovery envelope).
pub(crate) const MAX_PROBE: usize = 512;
/// Room for the longest DNS answer built here.
pub(crate) const MAX_DNS_ANSWER: usize = 256;

/// SSDP discovery, as UPnP scanners send it to 1900/udp.
const SSDP_SEARCH: &[u8] =
    b"M-SEARCH * HTTP/1.1\r\nHOST: 239.255.255.250:1900\r\nMAN: \"ssdp:discover\"\r\nMX: 1\r\nST: ssdp:all\r\n\r\n";
/// NTP mode 7 MON_GETLIST (monlist), the classic amplification probe.
const NTP_MONLIST: [u8; 8] = [0x17, 0x00, 0x03, 0x2a, 0, 0, 0, 0];
/// SNMPv2c GetBulkRequest, community `public`, for 1.3.6.1.2.1; the 4-byte
/// request id (offset 17) is filled in per probe.
const SNMP_GETBULK: [u8; 40] = [
    0x30, 0x26, 0x02, 0x01, 0x01, 0x04, 0x06, b'p', b'u', b'b', b'l', b'i', b'c', 0xa5, 0x19, 0x02, 0x04, 0, 0, 0, 0,
    0x02, 0x01, 0x00, 0x02, 0x01, 0x0a, 0x30, 0x0b, 0x30, 0x09, 0x06, 0x05, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x05, 0x00,
];
/// CLDAP searchRequest for the root DSE, `(objectClass=*)`.
const CLDAP_ROOT_DSE: [u8; 39] = [
    0x30, 0x25, 0x02, 0x01, 0x01, 0x63, 0x20, 0x04, 0x00, 0x0a, 0x01, 0x00, 0x0a, 0x01, 0x00, 0x02, 0x01, 0x00, 0x02,
    0x01, 0x00, 0x01, 0x01, 0x00, 0x87, 0x0b, b'o', b'b', b'j', b'e', b'c', b't', b'c', b'l', b'a', b's', b's', 0x30,
    0x00,
];
/// memcached over UDP: the 8-byte frame header, then `stats`.
const MEMCACHED_STATS: &[u8] = b"\x00\x01\x00\x00\x00\x01\x00\x00stats\r\n";
/// WS-Discovery Probe, as sent to 3702/udp by device scanners.
const WSD_PROBE: &[u8] = b"<?xml version=\"1.0\" encoding=\"utf-8\"?><soap:Envelope \
xmlns:soap=\"http://www.w3.org/2003/05/soap-envelope\" \
xmlns:wsa=\"http://schemas.xmlsoap.org/ws/2004/08/addressing\"><soap:Header>\
<wsa:To>urn:schemas-xmlsoap-org:ws:2005:04:discovery</wsa:To>\
<wsa:Action>http://schemas.xmlsoap.org/ws/2005/04/discovery/Probe</wsa:Action>\
<wsa:MessageID>urn:uuid:5b4b6b4e-7a4e-4c4b-9f0e-2d1c3b4a5968</wsa:MessageID></soap:Header>\
<soap:Body><Probe xmlns=\"http://schemas.xmlsoap.org/ws/2005/04/discovery\"/></soap:Body></soap:Envelope>";
/// CoAP confirmable GET /.well-known/core; message id at offset 2.
const COAP_WELL_KNOWN: [u8; 21] = [
    0x40, 0x01, 0, 0, 0xbb, b'.', b'w', b'e', b'l', b'l', b'-', b'k', b'n', b'o', b'w', b'n', 0x04, b'c', b'o', b'r',
    b'e',
];

/// Names DNS scanners and reflection attacks query, in wire form.
const DNS_NAMES: [&[u8]; 5] = [
    b"\x00",                    // the root, for ANY
    b"\x07version\x04bind\x00", // CHAOS TXT version.bind
    b"\x06google\x03com\x00",   // an open-resolver check
    b"\x03isc\x03org\x00",      // a classic ANY amplifier
    b"\x02sl\x00",              // a popular ANY reflection name
];
const DNS_TYPE_A: u16 = 1;
const DNS_TYPE_TXT: u16 = 16;
const DNS_TYPE_ANY: u16 = 255;
const DNS_CLASS_IN: u16 = 1;
const DNS_CLASS_CH: u16 = 3;

/// Write the probe a scanner sends to `port` into `out`; returns its length.
pub(crate) fn probe(port: u16, rng: &mut Pcg64Mcg, out: &mut [u8; MAX_PROBE]) -> usize {
    let fixed: &[u8] = match port {
        53 => return dns_query(rng, out),
        123 => {
            // Half send monlist, half an ordinary NTPv4 client request (48 bytes, LI 3, mode 3).
            if rng.random::<bool>() {
                &NTP_MONLIST
            } else {
                out[..48].fill(0);
                out[0] = 0xe3;
                out[2] = 0x06;
                out[3] = 0xec;
                return 48;
            }
        }
        161 => {
            out[..SNMP_GETBULK.len()].copy_from_slice(&SNMP_GETBULK);
            out[17..21].copy_from_slice(&(rng.random::<u32>() & 0x7fff_ffff).to_be_bytes());
            return SNMP_GETBULK.len();
        }
        1900 => SSDP_SEARCH,
        389 => &CLDAP_ROOT_DSE,
        11211 => MEMCACHED_STATS,
        3702 => WSD_PROBE,
        5683 => {
            out[..COAP_WELL_KNOWN.len()].copy_from_slice(&COAP_WELL_KNOWN);
            out[2..4].copy_from_slice(&rng.random::<u16>().to_be_bytes());
            return COAP_WELL_KNOWN.len();
        }
        // chargen (19) and QOTD (17) answer any datagram; scanners send one byte.
        _ => b"\n",
    };
    out[..fixed.len()].copy_from_slice(fixed);
    fixed.len()
}

/// The question for name `name_index`: its wire name, type and class.
fn question(name_index: usize) -> (&'static [u8], u16, u16) {
    let name = DNS_NAMES[name_index % DNS_NAMES.len()];
    match name_index % DNS_NAMES.len() {
        0 | 3 | 4 => (name, DNS_TYPE_ANY, DNS_CLASS_IN),
        1 => (name, DNS_TYPE_TXT, DNS_CLASS_CH),
        _ => (name, DNS_TYPE_A, DNS_CLASS_IN),
    }
}

/// A DNS query with recursion desired and an EDNS0 OPT record (4096-byte buffer).
fn dns_query(rng: &mut Pcg64Mcg, out: &mut [u8; MAX_PROBE]) -> usize {
    let (name, qtype, qclass) = question(rng.random_range(0..DNS_NAMES.len()));
    let mut at = dns_header(out, rng.random(), 0x0100, 1, 0, 1);
    at = put(out, at, name);
    at = put(out, at, &qtype.to_be_bytes());
    at = put(out, at, &qclass.to_be_bytes());
    // OPT: root name, type 41, UDP size 4096, no extended flags, no data.
    put(out, at, &[0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0])
}

/// A resolver's answer to a query spoofed from the darknet: the question
/// (`name_index` picks it) and one to four A records.
pub(crate) fn dns_answer(name_index: usize, rng: &mut Pcg64Mcg, out: &mut [u8; MAX_DNS_ANSWER]) -> usize {
    let (name, qtype, qclass) = question(name_index);
    let answers: u16 = if qclass == DNS_CLASS_CH { 1 } else { rng.random_range(1..=4) };
    let mut at = dns_header(out, rng.random(), 0x8180, 1, answers, 0);
    at = put(out, at, name);
    at = put(out, at, &qtype.to_be_bytes());
    at = put(out, at, &qclass.to_be_bytes());
    let ttl: u32 = rng.random_range(60..=86_400);
    for _ in 0..answers {
        // A pointer to the question's name (offset 12).
        at = put(out, at, &[0xc0, 0x0c]);
        if qclass == DNS_CLASS_CH {
            at = put(out, at, &DNS_TYPE_TXT.to_be_bytes());
            at = put(out, at, &DNS_CLASS_CH.to_be_bytes());
            at = put(out, at, &0u32.to_be_bytes());
            at = put(out, at, b"\x00\x07\x069.18.1");
        } else {
            at = put(out, at, &DNS_TYPE_A.to_be_bytes());
            at = put(out, at, &DNS_CLASS_IN.to_be_bytes());
            at = put(out, at, &ttl.to_be_bytes());
            at = put(out, at, &4u16.to_be_bytes());
            at = put(out, at, &rng.random::<[u8; 4]>());
        }
    }
    at
}

fn dns_header(out: &mut [u8], id: u16, flags: u16, questions: u16, answers: u16, additional: u16) -> usize {
    out[0..2].copy_from_slice(&id.to_be_bytes());
    out[2..4].copy_from_slice(&flags.to_be_bytes());
    out[4..6].copy_from_slice(&questions.to_be_bytes());
    out[6..8].copy_from_slice(&answers.to_be_bytes());
    out[8..10].copy_from_slice(&0u16.to_be_bytes());
    out[10..12].copy_from_slice(&additional.to_be_bytes());
    12
}

fn put(out: &mut [u8], at: usize, bytes: &[u8]) -> usize {
    out[at..at + bytes.len()].copy_from_slice(bytes);
    at + bytes.len()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn asn1_lengths_add_up() {
        assert_eq!(usize::from(SNMP_GETBULK[1]) + 2, SNMP_GETBULK.len());
        assert_eq!(usize::from(SNMP_GETBULK[14]) + 15, SNMP_GETBULK.len());
        assert_eq!(usize::from(CLDAP_ROOT_DSE[1]) + 2, CLDAP_ROOT_DSE.len());
        assert_eq!(usize::from(CLDAP_ROOT_DSE[6]) + 7, CLDAP_ROOT_DSE.len());
    }

    #[test]
    fn every_probe_fits_and_is_not_empty() {
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        let mut out = [0u8; MAX_PROBE];
        for port in [53, 123, 161, 1900, 389, 11211, 3702, 5683, 19, 17] {
            for _ in 0..20 {
                let len = probe(port, &mut rng, &mut out);
                assert!(len > 0 && len <= MAX_PROBE, "{port}");
            }
        }
        let mut answer = [0u8; MAX_DNS_ANSWER];
        for name in 0..DNS_NAMES.len() {
            let len = dns_answer(name, &mut rng, &mut answer);
            assert_eq!(&answer[2..4], &[0x81, 0x80]);
            assert!(len > 12);
        }
    }
}
