//! Opening a database and looking up one address.

use std::borrow::Cow;
use std::net::{IpAddr, Ipv6Addr};
use std::path::Path;

use maxminddb::Reader;
use nightjar_packet::{Addr16, as_v4};

use crate::country::CountryCode;
use crate::error::GeoError;
use crate::record::{Asn, AsnRecord, CountryRecord};

/// The bundled country database: ip-location-db's `iptoasn-country.mmdb`
/// (public domain, PDDL 1.0), IPv4 and IPv6. See `data/README.md`.
pub const EMBEDDED_COUNTRY_DB: &[u8] = include_bytes!("../data/iptoasn-country.mmdb");

/// The npm package version of the bundled country database.
pub const EMBEDDED_COUNTRY_DB_VERSION: &str = "2.3.2026061719";

/// The bundled ASN database: built by `nightjar geo build-asn` from the CSV
/// files of the npm package `@ip-location-db/asn` (IP to ASN data by
/// RouteViews and DB-IP, licensed under CC BY 4.0), IPv4 and IPv6, with
/// GeoLite2-ASN records. See `data/README.md`.
pub const EMBEDDED_ASN_DB: &[u8] = include_bytes!("../data/asn.mmdb");

/// The npm package version of the CSV files the bundled ASN database was built from.
pub const EMBEDDED_ASN_DB_VERSION: &str = "2.3.2026061719";

/// Where a database keeps its IPv4 networks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Ipv4Layout {
    /// An IPv4-only database (`ip_version` 4).
    Ipv4Tree,
    /// An IPv6 database with IPv4 under `::/96`, the MaxMind convention
    /// (GeoLite2, DB-IP, ip-location-db). Some also alias `::ffff:0:0/96`
    /// to it; the bundled iptoasn file does not, so a mapped address looked
    /// up as IPv6 finds nothing there.
    CompatSubtree,
    /// An IPv6 database with IPv4 only under `::ffff:0:0/96`, as some
    /// home-made writers produce.
    MappedOnly,
}

/// A MaxMind-format (mmdb) database answering "which country is this address in".
///
/// Reads both record shapes in the wild: GeoLite2/GeoIP2/DB-IP
/// (`country.iso_code`, falling back to `registered_country.iso_code`) and
/// the flat `country_code` of the ip-location-db files. Addresses are the
/// pipeline's 16-byte form; IPv4-mapped addresses are looked up as IPv4.
///
/// The reader is `Send + Sync`; share one behind an `Arc`.
pub struct GeoDb {
    reader: Reader<Cow<'static, [u8]>>,
    origin: String,
    ipv4_layout: Ipv4Layout,
}

impl std::fmt::Debug for GeoDb {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeoDb")
            .field("origin", &self.origin)
            .field("database_type", &self.database_type())
            .field("ipv4_layout", &self.ipv4_layout)
            .finish_non_exhaustive()
    }
}

impl GeoDb {
    /// Open the mmdb file at `path` (read into memory).
    pub fn open(path: impl AsRef<Path>) -> Result<GeoDb, GeoError> {
        let path = path.as_ref();
        let bytes = std::fs::read(path).map_err(|source| GeoError::Read { path: path.to_path_buf(), source })?;
        GeoDb::from_bytes(bytes, path.display().to_string())
    }

    /// Open a database held in memory; `origin` names it in error messages.
    pub fn from_bytes(bytes: impl Into<Cow<'static, [u8]>>, origin: impl Into<String>) -> Result<GeoDb, GeoError> {
        let origin = origin.into();
        let reader =
            Reader::from_source(bytes.into()).map_err(|source| GeoError::Invalid { origin: origin.clone(), source })?;
        let ipv4_layout = ipv4_layout(&reader);
        Ok(GeoDb { reader, origin, ipv4_layout })
    }

    /// The bundled public-domain country database, compiled into the binary:
    /// nothing is read from disk or downloaded.
    pub fn embedded_country() -> GeoDb {
        GeoDb::from_bytes(EMBEDDED_COUNTRY_DB, format!("embedded iptoasn-country.mmdb {EMBEDDED_COUNTRY_DB_VERSION}"))
            .expect("the bundled iptoasn-country.mmdb is a valid mmdb (checked by this crate's tests)")
    }

    /// The bundled ASN database (IP to ASN data by RouteViews and DB-IP,
    /// licensed under CC BY 4.0), compiled into the binary, for
    /// [`GeoDb::lookup_asn`]. Whoever shows its answers owes the attribution
    /// in the repository's `NOTICE`.
    pub fn embedded_asn() -> GeoDb {
        GeoDb::from_bytes(EMBEDDED_ASN_DB, format!("embedded asn.mmdb {EMBEDDED_ASN_DB_VERSION}"))
            .expect("the bundled asn.mmdb is a valid mmdb (checked by this crate's tests)")
    }

    /// The country database at `path`, or the bundled one when none is given.
    pub fn country_or_embedded(path: Option<&Path>) -> Result<GeoDb, GeoError> {
        path.map_or_else(|| Ok(GeoDb::embedded_country()), GeoDb::open)
    }

    /// The ASN database at `path`, or the bundled one when none is given.
    pub fn asn_or_embedded(path: Option<&Path>) -> Result<GeoDb, GeoError> {
        path.map_or_else(|| Ok(GeoDb::embedded_asn()), GeoDb::open)
    }

    /// The database's name in messages: its path, or `embedded …`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The `database_type` from the file's metadata, e.g. `GeoLite2-Country`.
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// When the database was built, in seconds since the Unix epoch.
    pub fn build_epoch(&self) -> u64 {
        self.reader.metadata().build_epoch
    }

    /// The country of `addr`, or `None` when the database has none for it.
    ///
    /// A damaged record also answers `None`; use [`GeoDb::lookup_country`]
    /// to see the error.
    pub fn country(&self, addr: &Addr16) -> Option<CountryCode> {
        self.lookup_country(addr).ok().flatten()
    }

    /// The country of `addr`, with read errors reported.
    pub fn lookup_country(&self, addr: &Addr16) -> Result<Option<CountryCode>, GeoError> {
        let record: Option<CountryRecord<'_>> = self.record_at(addr)?;
        Ok(record.and_then(|r| r.country()))
    }

    /// The autonomous system of `addr` (number and organisation name), from
    /// an ASN database (GeoLite2-ASN, DB-IP ASN, ip-location-db `*-asn-mmdb`:
    /// `autonomous_system_number`, `autonomous_system_organization`).
    pub fn lookup_asn(&self, addr: &Addr16) -> Result<Option<Asn>, GeoError> {
        let record: Option<AsnRecord<'_>> = self.record_at(addr)?;
        Ok(record.and_then(|r| r.asn()))
    }

    /// The record a database holds for `addr`, decoded into `T`.
    fn record_at<'de, T: serde::Deserialize<'de>>(&'de self, addr: &Addr16) -> Result<Option<T>, GeoError> {
        let ip = match as_v4(addr) {
            Some(v4) => match self.ipv4_layout {
                Ipv4Layout::MappedOnly => IpAddr::V6(v4.to_ipv6_mapped()),
                Ipv4Layout::Ipv4Tree | Ipv4Layout::CompatSubtree => IpAddr::V4(v4),
            },
            None if self.ipv4_layout == Ipv4Layout::Ipv4Tree => return Ok(None),
            None => IpAddr::V6(Ipv6Addr::from(*addr)),
        };
        let found = self.reader.lookup(ip).map_err(|e| GeoError::lookup(&self.origin, ip, e))?;
        found.decode().map_err(|e| GeoError::lookup(&self.origin, ip, e))
    }

    /// The country of a standard library address (IPv4-mapped IPv6 counts as IPv4).
    pub fn country_of_ip(&self, ip: IpAddr) -> Result<Option<CountryCode>, GeoError> {
        self.lookup_country(&nightjar_packet::from_ip(ip.to_canonical()))
    }

    pub(crate) fn reader(&self) -> &Reader<Cow<'static, [u8]>> {
        &self.reader
    }

    pub(crate) fn ipv4_layout(&self) -> Ipv4Layout {
        self.ipv4_layout
    }
}

/// Find where IPv4 lives: an IPv6 database normally keeps it under `::/96`,
/// but a file with nothing there and data under `::ffff:0:0/96` keeps it in
/// mapped form, and lookups must go there.
fn ipv4_layout(reader: &Reader<Cow<'static, [u8]>>) -> Ipv4Layout {
    if reader.metadata().ip_version == 4 {
        return Ipv4Layout::Ipv4Tree;
    }
    let has_networks = |cidr: &str| {
        cidr.parse()
            .ok()
            .and_then(|network| reader.within(network, Default::default()).ok())
            .is_some_and(|mut networks| networks.next().is_some())
    };
    if !has_networks("0.0.0.0/0") && has_networks("::ffff:0:0/96") {
        Ipv4Layout::MappedOnly
    } else {
        Ipv4Layout::CompatSubtree
    }
}
