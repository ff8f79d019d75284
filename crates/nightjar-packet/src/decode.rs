//! From a link-layer frame to a [`Packet`].

use crate::error::SkipReason;
use crate::ip::{IpLayer, decode_ipv4, decode_ipv6};
use crate::link::{IpHint, LinkType, strip_link};
use crate::packet::Packet;
use crate::transport::{decode_transport, opaque};

/// Decode one captured frame.
///
/// Every length field is checked against the bytes present; a frame that is
/// broken or not IP gives the [`SkipReason`] to count, never a panic and
/// never a field read from the wrong place. Captures cut short by a snap
/// length decode as long as the headers are whole: `payload_len` is then the
/// declared length and `payload` the bytes present.
pub fn decode(link: LinkType, frame: &[u8]) -> Result<Packet<'_>, SkipReason> {
    let (ip_bytes, hint) = strip_link(link, frame)?;
    let version = ip_bytes.first().ok_or(SkipReason::TruncatedIpHeader)? >> 4;
    let ip = match (hint, version) {
        (IpHint::V4 | IpHint::Either, 4) => decode_ipv4(ip_bytes)?,
        (IpHint::V6 | IpHint::Either, 6) => decode_ipv6(ip_bytes)?,
        _ => return Err(SkipReason::BadIpVersion),
    };
    let upper = if ip.fragment_offset == 0 {
        decode_transport(ip.protocol, ip.upper, ip.upper_declared_len, ip.more_fragments)?
    } else {
        opaque(ip.upper, ip.upper_declared_len)
    };
    let IpLayer {
        ip_version,
        src,
        dst,
        protocol,
        ttl,
        ip_id,
        ip_len,
        ip_options_len,
        dont_fragment,
        more_fragments,
        reserved_flag,
        fragment_offset,
        ..
    } = ip;
    Ok(Packet {
        ip_version,
        src,
        dst,
        protocol,
        ttl,
        ip_id,
        ip_len,
        ip_options_len,
        dont_fragment,
        more_fragments,
        reserved_flag,
        fragment_offset,
        transport: upper.transport,
        payload_len: upper.payload_len,
        payload: upper.payload,
    })
}
