//! The session a scheduler or executor plans and runs with.

use std::path::Path;
use std::sync::Arc;

use ballista_core::extension::SessionConfigExt;
use datafusion::error::Result;
use datafusion::execution::SessionState;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::runtime_env::{RuntimeEnv, RuntimeEnvBuilder};
use datafusion::prelude::SessionConfig;
use nightjar_geo::GeoDb;
use nightjar_query::QueryLimits;
use nightjar_query::distributed::{DatasetStores, nightjar_state};

use crate::options::NightjarOptions;

/// A new session's configuration: Ballista's, with [`NightjarOptions`] so that a client's
/// `nightjar.*` settings are taken, not dropped.
pub(crate) fn config() -> SessionConfig {
    SessionConfig::new_with_ballista().with_information_schema(true).with_option_extension(NightjarOptions::default())
}

/// The dataset a session's queries read, as the client sent it.
fn dataset(config: &SessionConfig) -> Option<String> {
    let options = config.options().extensions.get::<NightjarOptions>()?;
    (!options.dataset.is_empty()).then(|| options.dataset.clone())
}

/// The runtime of a session: the dataset's object stores (see [`DatasetStores`]); spill files,
/// when any, in `work_dir`.
pub(crate) fn runtime(config: &SessionConfig, work_dir: Option<&Path>) -> Result<Arc<RuntimeEnv>> {
    let stores = DatasetStores::new(dataset(config).as_deref())?;
    let mut builder = RuntimeEnvBuilder::new().with_object_store_registry(Arc::new(stores));
    if let Some(dir) = work_dir {
        builder = builder.with_temp_file_path(dir);
    }
    builder.build_arc()
}

/// A session with Nightjar's functions over `country` and `asn`, for `config`.
pub(crate) fn state(config: SessionConfig, country: Arc<GeoDb>, asn: Arc<GeoDb>) -> Result<SessionState> {
    let runtime = runtime(&config, None)?;
    let state =
        SessionStateBuilder::new().with_config(config).with_runtime_env(runtime).with_default_features().build();
    Ok(nightjar_state(state, country, asn, QueryLimits::DEFAULT.memory_bytes))
}
