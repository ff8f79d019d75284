//! Why a capture could not be generated.

use nightjar_packet::Prefix;

/// An error from [`crate::generate`] or [`crate::Generator::new`].
#[derive(Debug, thiserror::Error)]
pub enum GenerateError {
    /// The source pool holds no IPv4 network.
    #[error(
        "the source pool has no IPv4 network; build it from a country database's networks \
         (nightjar_geo::GeoDb::embedded_country().ipv4_networks())"
    )]
    NoIpv4Sources,
    /// An IPv6 dark prefix was given but the pool has no IPv6 network to send from.
    #[error(
        "dark prefix {prefix} is IPv6 but the source pool has no IPv6 network; add the database's IPv6 \
         networks to the pool (GeoDb::ipv6_networks()) or leave out the IPv6 dark prefix"
    )]
    NoIpv6Sources {
        /// The IPv6 dark prefix.
        prefix: Prefix,
    },
    /// Only IPv6 dark prefixes were given.
    #[error(
        "no IPv4 dark prefix was given; the traffic mix is mostly IPv4, so give at least one IPv4 \
         prefix (for example 192.0.2.0/24) next to the IPv6 ones"
    )]
    NoIpv4DarkPrefix,
    /// A dark prefix spans both the IPv4-mapped space and IPv6, such as `::/0`.
    #[error("dark prefix {prefix} covers both IPv4 and IPv6 space; give IPv4 and IPv6 dark prefixes separately")]
    MixedDarkPrefix {
        /// The offending prefix.
        prefix: Prefix,
    },
    /// No source address could be drawn that lies outside the dark prefixes.
    #[error(
        "could not draw a source address outside the dark prefixes from the source pool; the pool's \
         networks must hold addresses that are not in the dark prefixes and do not end in .0 or .255"
    )]
    NoUsableSource,
    /// The time span does not fit classic pcap's 32-bit seconds.
    #[error(
        "start time {start_time_us} µs and duration {duration_s} s reach outside 1970–2106, which classic \
         pcap's 32-bit seconds cannot hold; choose a start time and duration inside that range"
    )]
    TimeOutOfRange {
        /// The configured start, µs since the Unix epoch.
        start_time_us: i64,
        /// The configured duration in seconds.
        duration_s: u64,
    },
    /// `sources` was set to zero.
    #[error("the number of sources must be at least 1 (leave it unset for the default)")]
    ZeroSources,
    /// Writing the capture failed.
    #[error("writing the capture failed")]
    Io(#[from] std::io::Error),
    /// The pcap writer refused a record (a frame past the snap length).
    #[error("writing the capture failed")]
    Pcap(#[source] pcap_file::PcapError),
}

impl GenerateError {
    pub(crate) fn from_pcap(error: pcap_file::PcapError) -> GenerateError {
        match error {
            pcap_file::PcapError::IoError(io) => GenerateError::Io(io),
            other => GenerateError::Pcap(other),
        }
    }
}
