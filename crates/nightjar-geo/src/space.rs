//! IPv4 address space per country, summed from a database's networks.

use std::collections::BTreeMap;

use crate::country::CountryCode;
use crate::db::GeoDb;
use crate::error::GeoError;

impl GeoDb {
    /// How many IPv4 addresses the database assigns to each country: the
    /// sizes of its IPv4 networks ([`GeoDb::ipv4_networks`]) summed per
    /// country. Networks of an mmdb tree do not overlap, so no address is
    /// counted twice. Per-country rates ("sources per million addresses")
    /// divide by this, from the same database that attributed the sources.
    ///
    /// ```
    /// use nightjar_geo::{CountryCode, GeoDb};
    /// let space = GeoDb::embedded_country().ipv4_addresses_by_country()?;
    /// let us = space[&CountryCode::new("US").unwrap()];
    /// assert!(us > 1_000_000_000, "the US holds over a billion IPv4 addresses: {us}");
    /// # Ok::<(), nightjar_geo::GeoError>(())
    /// ```
    pub fn ipv4_addresses_by_country(&self) -> Result<BTreeMap<CountryCode, u64>, GeoError> {
        let mut space = BTreeMap::new();
        for (country, prefix) in self.ipv4_networks()? {
            // An IPv4 network a.b.c.d/n is the mapped prefix of length 96 + n.
            let bits = u32::from(prefix.len_bits()).saturating_sub(96).min(32);
            *space.entry(country).or_insert(0u64) += 1u64 << (32 - bits);
        }
        Ok(space)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_database_sums_to_less_than_the_whole_ipv4_space() {
        let space = GeoDb::embedded_country().ipv4_addresses_by_country().expect("the embedded database walks");
        let total: u64 = space.values().sum();
        assert!(total < 1 << 32 && total > 2_000_000_000, "routed IPv4 space: {total}");
        let jp = space[&CountryCode::new("JP").expect("JP")];
        assert!(jp > 50_000_000 && jp < 400_000_000, "JP: {jp}");
    }
}
