//! Country and ASN lookups for Nightjar from MaxMind-format (mmdb) databases.
//!
//! The collector attaches a country and an autonomous system to every source
//! address at ingest, and `nightjar generate` draws realistic source
//! addresses per country. Both go through [`GeoDb`]:
//!
//! - [`GeoDb::open`] reads a GeoLite2, GeoIP2, DB-IP or ip-location-db file;
//!   [`GeoDb::from_bytes`] takes one already in memory;
//! - [`GeoDb::embedded_country`] is the bundled public-domain database
//!   (ip-location-db's `iptoasn-country.mmdb`, PDDL 1.0) and
//!   [`GeoDb::embedded_asn`] the bundled ASN database (built from
//!   ip-location-db's `asn` CSV files: IP to ASN data by RouteViews and
//!   DB-IP, licensed under CC BY 4.0); both are compiled in so nothing is
//!   downloaded (see `data/README.md` and the repository's `NOTICE`);
//! - [`GeoDb::country`] answers a [`CountryCode`] for a 16-byte address
//!   ([`nightjar_packet::Addr16`]), reading both record shapes in the wild:
//!   nested `country.iso_code` and flat `country_code`;
//! - [`GeoDb::ipv4_networks`] and [`GeoDb::ipv6_networks`] list every
//!   network with its country;
//! - [`GeoDb::ipv4_addresses_by_country`] sums the IPv4 space per country;
//! - [`GeoDb::lookup_asn`] reads ASN databases (GeoLite2-ASN shape);
//! - [`AsnDbBuilder`] turns the ip-location-db ASN CSV files into such a
//!   database (`nightjar geo build-asn`);
//! - [`Enricher`] fills a packet record batch's `country`, `asn` and
//!   `as_name` columns, one lookup per distinct source.
//!
//! ```
//! use nightjar_geo::GeoDb;
//! use nightjar_packet::map_v4;
//!
//! let db = GeoDb::embedded_country();
//! // 193.0.14.129 is k.root-servers.net, run by the RIPE NCC in Amsterdam.
//! let country = db.country(&map_v4([193, 0, 14, 129])).expect("a routed address");
//! assert_eq!(country.to_string(), "NL");
//! // Documentation addresses are not routed, so they have no country.
//! assert_eq!(db.country(&map_v4([192, 0, 2, 1])), None);
//!
//! // 8.8.8.0/24 is Google's (asn-ipv4.csv: `8.8.8.0,8.8.8.255,15169,Google LLC`).
//! let asn = GeoDb::embedded_asn().lookup_asn(&map_v4([8, 8, 8, 8])).expect("a readable record");
//! assert_eq!(asn.map(|asn| asn.number), Some(15169));
//! ```

mod answers;
mod asn_build;
mod asn_csv;
mod cidr;
mod country;
mod db;
mod enrich;
mod error;
mod networks;
mod record;
mod space;

pub use asn_build::{
    ASN_DATABASE_TYPE, AsnBuildError, AsnBuildReport, AsnDbBuilder, AsnDbOptions, AsnOverlap, BuiltAsnDb, CsvLine,
};
pub use asn_csv::RowError;
pub use country::{CountryCode, CountryCodeError};
pub use db::{EMBEDDED_ASN_DB, EMBEDDED_ASN_DB_VERSION, EMBEDDED_COUNTRY_DB, EMBEDDED_COUNTRY_DB_VERSION, GeoDb};
pub use enrich::{ANSWER_CACHE_CAPACITY, EnrichError, Enricher};
pub use error::GeoError;
pub use record::Asn;

#[cfg(test)]
mod tests;
