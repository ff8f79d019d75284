//! The two shapes of country record found in mmdb files.
//!
//! - GeoLite2, GeoIP2 and DB-IP: `{"country": {"iso_code": "JP", …}, "registered_country": {…}, …}`.
//!   `country` is where the address is used; `registered_country` where the block is registered,
//!   and the only one present for some blocks (anycast, satellite), so it is the fallback.
//! - ip-location-db (`iptoasn-country`, `dbip-country`, …): a flat `{"country_code": "JP"}`.
//!
//! Only those fields are decoded; every other field of the record is skipped
//! without being expanded.

use serde::Deserialize;

use crate::country::CountryCode;

#[derive(Deserialize)]
pub(crate) struct CountryRecord<'a> {
    #[serde(borrow, default)]
    country_code: Option<&'a str>,
    #[serde(borrow, default)]
    country: Option<IsoCode<'a>>,
    #[serde(borrow, default)]
    registered_country: Option<IsoCode<'a>>,
}

#[derive(Deserialize)]
struct IsoCode<'a> {
    #[serde(borrow, default)]
    iso_code: Option<&'a str>,
}

impl CountryRecord<'_> {
    /// The record's country, whichever shape it has.
    pub(crate) fn country(&self) -> Option<CountryCode> {
        let nested = |field: &Option<IsoCode<'_>>| field.as_ref().and_then(|c| c.iso_code).and_then(CountryCode::new);
        self.country_code
            .and_then(CountryCode::new)
            .or_else(|| nested(&self.country))
            .or_else(|| nested(&self.registered_country))
    }
}

/// An autonomous system: number and, when the database has it, organisation name.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asn {
    /// The AS number.
    pub number: u32,
    /// The organisation holding it.
    pub name: Option<String>,
}

/// The ASN record shape shared by GeoLite2-ASN, DB-IP ASN and ip-location-db's ASN files.
#[derive(Deserialize)]
pub(crate) struct AsnRecord<'a> {
    #[serde(default)]
    autonomous_system_number: Option<u32>,
    #[serde(borrow, default)]
    autonomous_system_organization: Option<&'a str>,
}

impl AsnRecord<'_> {
    pub(crate) fn asn(&self) -> Option<Asn> {
        let number = self.autonomous_system_number?;
        Some(Asn { number, name: self.autonomous_system_organization.map(str::to_string) })
    }
}
