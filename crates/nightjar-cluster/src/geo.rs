//! The geo databases a cluster process loads for `geo_country()`, `geo_asn()` and `geo_as_name()`.

use std::path::PathBuf;
use std::sync::Arc;

use nightjar_geo::GeoDb;

use crate::ClusterError;

/// The country and ASN databases to load: files, or the bundled ones.
#[derive(Clone, Debug, Default)]
pub struct GeoFiles {
    /// The country database (MaxMind format); `None`: the bundled one.
    pub country: Option<PathBuf>,
    /// The ASN database (MaxMind format); `None`: the bundled one.
    pub asn: Option<PathBuf>,
}

impl GeoFiles {
    /// Loads both databases, and says in the log which were loaded: every process of a cluster
    /// must load the same ones to give the answers one machine gives.
    pub fn load(&self, role: &str) -> Result<(Arc<GeoDb>, Arc<GeoDb>), ClusterError> {
        let country = GeoDb::country_or_embedded(self.country.as_deref())?;
        let asn = GeoDb::asn_or_embedded(self.asn.as_deref())?;
        for (what, db) in [("country", &country), ("ASN", &asn)] {
            tracing::info!(
                "{role}: {what} database {} ({}, built at {} s since the epoch)",
                db.origin(),
                db.database_type(),
                db.build_epoch()
            );
        }
        Ok((Arc::new(country), Arc::new(asn)))
    }
}
