//! The client side of `--cluster df://HOST:PORT`: a session whose plans run on the cluster.

use std::sync::Arc;

use ballista_core::extension::{SessionConfigExt, SessionStateExt};
use datafusion::execution::{SessionState, SessionStateBuilder};
use nightjar_dataset::TableLocation;
use nightjar_query::SessionUpgrade;
use url::Url;

use crate::ClusterError;
use crate::codec::{LogicalCodec, NightjarFunctions, PhysicalCodec};
use crate::options::NightjarOptions;

/// The scheduler's gRPC URL (`http://HOST:PORT`) for a `df://HOST:PORT` cluster address.
pub fn scheduler_url(cluster: &str) -> Result<String, ClusterError> {
    let refused = |reason: &str| ClusterError::Address { given: cluster.to_owned(), reason: reason.to_owned() };
    let url = Url::parse(cluster).map_err(|error| refused(&error.to_string()))?;
    if url.scheme() != "df" {
        return Err(refused(&format!("the scheme is `{}`", url.scheme())));
    }
    let host = url.host_str().filter(|host| !host.is_empty()).ok_or_else(|| refused("no host"))?;
    let port = url.port().ok_or_else(|| refused("no port"))?;
    Ok(format!("http://{host}:{port}"))
}

/// The change to a query session that sends its plans to the cluster at `cluster`, over the
/// dataset `dataset` (which every process of the cluster opens with its own credentials).
pub fn upgrade(cluster: &str, dataset: &str) -> Result<SessionUpgrade, ClusterError> {
    let scheduler = scheduler_url(cluster)?;
    let location = TableLocation::parse(dataset)
        .map_err(|error| ClusterError::Address { given: dataset.to_owned(), reason: error.to_string() })?;
    let options = NightjarOptions { dataset: location.url.to_string() };
    Ok(SessionUpgrade(Arc::new(move |state: SessionState| {
        let config = state
            .config()
            .clone()
            .with_option_extension(options.clone())
            .with_ballista_logical_extension_codec(Arc::new(LogicalCodec::new(NightjarFunctions::default(), "client")))
            .with_ballista_physical_extension_codec(Arc::new(PhysicalCodec::new(
                NightjarFunctions::default(),
                "client",
            )));
        SessionStateBuilder::new_from_existing(state)
            .with_config(config)
            .build()
            .upgrade_for_ballista(scheduler.clone())
    })))
}
