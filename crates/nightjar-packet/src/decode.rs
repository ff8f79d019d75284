//! From a link-layer frame to a [`Packet`].

use crate::error::SkipReason;
use crate::ip::{decode_ipv4, decode_ipv6};
use crate::link::{IpHint, LinkType, strip_link};
use crate::packet::Packet;
use crate::transport::decode_transport;

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
    if ip.fragment_offset != 0 {
        // Past the first fragment the bytes are fragment data, not a transport header.
        return Ok(ip);
    }
    let upper = decode_transport(ip.protocol, ip.payload, ip.payload_len, ip.more_fragments)?;
    Ok(Packet { transport: upper.transport, payload_len: upper.payload_len, payload: upper.payload, ..ip })
}
