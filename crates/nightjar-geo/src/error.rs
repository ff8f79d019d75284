//! What can go wrong opening or reading a GeoIP database.

use std::net::IpAddr;
use std::path::PathBuf;

use maxminddb::MaxMindDbError;

/// An error opening or reading a MaxMind-format (mmdb) database.
///
/// `origin` names the database: its path, or `embedded …` for the bundled one.
#[derive(Debug, thiserror::Error)]
pub enum GeoError {
    /// The file could not be read.
    #[error("cannot read the GeoIP database {}; check that the path in the configuration is right and readable", path.display())]
    Read {
        /// The path as given.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The bytes are not a MaxMind DB.
    #[error(
        "{origin} is not a valid MaxMind DB (.mmdb) file; point the configuration at an .mmdb \
         file such as GeoLite2-Country.mmdb, dbip-country-lite.mmdb or iptoasn-country.mmdb (CSV files do not work)"
    )]
    Invalid {
        /// Which database.
        origin: String,
        /// What the reader found wrong.
        source: MaxMindDbError,
    },
    /// A lookup or a walk over the networks failed: the file is damaged or of an unexpected kind.
    #[error(
        "reading {what} in {origin} failed; the file is damaged or is not a country database \
         (records need `country.iso_code` or `country_code`); replace it"
    )]
    Record {
        /// Which database.
        origin: String,
        /// The address looked up, or the network walked.
        what: String,
        /// What the reader found wrong.
        source: MaxMindDbError,
    },
}

impl GeoError {
    pub(crate) fn lookup(origin: &str, addr: IpAddr, source: MaxMindDbError) -> GeoError {
        GeoError::Record { origin: origin.to_string(), what: format!("the record for {addr}"), source }
    }

    pub(crate) fn walk(origin: &str, network: &str, source: MaxMindDbError) -> GeoError {
        GeoError::Record { origin: origin.to_string(), what: format!("the networks under {network}"), source }
    }
}
