//! Every network in a database with its country.

use std::collections::HashMap;

use maxminddb::WithinOptions;
use nightjar_packet::{Prefix, from_ip};

use crate::country::CountryCode;
use crate::db::{GeoDb, Ipv4Layout};
use crate::error::GeoError;
use crate::record::CountryRecord;

impl GeoDb {
    /// Every IPv4 network in the database that has a country, in address
    /// order, as IPv4-mapped [`Prefix`]es (`a.b.c.d/n` is length `96 + n`).
    ///
    /// Walks `0.0.0.0/0`, which maxminddb resolves to the `::/96` subtree of
    /// an IPv6 database; the `::ffff:0:0/96`, 6to4 and Teredo aliases of that
    /// subtree are not walked again. A database that keeps IPv4 only under
    /// `::ffff:0:0/96` is walked there instead.
    pub fn ipv4_networks(&self) -> Result<Vec<(CountryCode, Prefix)>, GeoError> {
        let root = match self.ipv4_layout() {
            Ipv4Layout::Ipv4Tree | Ipv4Layout::CompatSubtree => "0.0.0.0/0",
            Ipv4Layout::MappedOnly => "::ffff:0:0/96",
        };
        self.walk(root, Prefix::is_v4)
    }

    /// Every IPv6 network in the database that has a country, in address
    /// order, leaving out the IPv4 space (`::/96`, `::ffff:0:0/96`) and its
    /// 6to4 and Teredo aliases. Empty for an IPv4-only database.
    pub fn ipv6_networks(&self) -> Result<Vec<(CountryCode, Prefix)>, GeoError> {
        if self.ipv4_layout() == Ipv4Layout::Ipv4Tree {
            return Ok(Vec::new());
        }
        self.walk("::/0", |prefix| !prefix.is_v4() && !prefix.network()[..12].iter().all(|b| *b == 0))
    }

    fn walk(&self, root: &str, keep: fn(&Prefix) -> bool) -> Result<Vec<(CountryCode, Prefix)>, GeoError> {
        let origin = self.origin();
        let network = root.parse().expect("the walk roots are valid CIDR constants");
        let networks =
            self.reader().within(network, WithinOptions::default()).map_err(|e| GeoError::walk(origin, root, e))?;
        // Many networks share one record; decode each record once.
        let mut by_record: HashMap<usize, Option<CountryCode>> = HashMap::new();
        let mut out = Vec::new();
        for found in networks {
            let found = found.map_err(|e| GeoError::walk(origin, root, e))?;
            let Some(offset) = found.offset() else { continue };
            let country = match by_record.get(&offset) {
                Some(country) => *country,
                None => {
                    let record: Option<CountryRecord<'_>> =
                        found.decode().map_err(|e| GeoError::walk(origin, root, e))?;
                    let country = record.and_then(|r| r.country());
                    by_record.insert(offset, country);
                    country
                }
            };
            let Some(country) = country else { continue };
            let net = found.network().map_err(|e| GeoError::walk(origin, root, e))?;
            // An IPv4 network of length n is the mapped prefix of length 96 + n.
            let offset_bits = if net.is_ipv4() { 96 } else { 0 };
            let prefix = Prefix::new(from_ip(net.network()), net.prefix() + offset_bits);
            if keep(&prefix) {
                out.push((country, prefix));
            }
        }
        Ok(out)
    }
}
