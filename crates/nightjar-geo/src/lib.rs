//! Country lookups for Nightjar from MaxMind-format (mmdb) databases.
//!
//! The collector attaches a country to every source address at ingest, and
//! `nightjar generate` draws realistic source addresses per country. Both go
//! through [`GeoDb`]:
//!
//! - [`GeoDb::open`] reads a GeoLite2, GeoIP2, DB-IP or ip-location-db file;
//!   [`GeoDb::from_bytes`] takes one already in memory;
//! - [`GeoDb::embedded_country`] is the bundled public-domain database
//!   (ip-location-db's `iptoasn-country.mmdb`, PDDL 1.0; see `data/README.md`
//!   and the repository's `NOTICE`), compiled in so nothing is downloaded;
//! - [`GeoDb::country`] answers a [`CountryCode`] for a 16-byte address
//!   ([`nightjar_packet::Addr16`]), reading both record shapes in the wild:
//!   nested `country.iso_code` and flat `country_code`;
//! - [`GeoDb::ipv4_networks`] and [`GeoDb::ipv6_networks`] list every
//!   network with its country;
//! - [`GeoDb::lookup_asn`] reads ASN databases (GeoLite2-ASN shape);
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
//! ```

mod country;
mod db;
mod enrich;
mod error;
mod networks;
mod record;

pub use country::{CountryCode, CountryCodeError};
pub use db::{EMBEDDED_COUNTRY_DB, EMBEDDED_COUNTRY_DB_VERSION, GeoDb};
pub use enrich::{EnrichError, Enricher};
pub use error::GeoError;
pub use record::Asn;

#[cfg(test)]
mod tests;
