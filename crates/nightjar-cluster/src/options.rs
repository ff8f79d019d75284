//! The settings a client sends with every query, and the version every process checks.

use std::any::Any;

use datafusion::config::{ConfigEntry, ConfigExtension, ExtensionOptions};
use datafusion::error::{DataFusionError, Result};

/// Nightjar's settings in a session's configuration (`nightjar.*`), which Ballista sends from the
/// client to the scheduler and on to the executors with each query. (Written out rather than
/// with DataFusion's `extensions_options!`, whose entries leave out the `nightjar.` prefix that
/// the receiving side needs to find them.)
#[derive(Clone, Debug, Default)]
pub struct NightjarOptions {
    /// `nightjar.dataset`: the dataset the query reads (a folder URL or `s3://bucket/prefix`),
    /// whose object store the scheduler and executors open with their own `AWS_*` settings.
    pub dataset: String,
}

const DATASET_KEY: &str = "dataset";

impl ConfigExtension for NightjarOptions {
    const PREFIX: &'static str = "nightjar";
}

impl ExtensionOptions for NightjarOptions {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn as_any_mut(&mut self) -> &mut dyn Any {
        self
    }

    fn cloned(&self) -> Box<dyn ExtensionOptions> {
        Box::new(self.clone())
    }

    fn set(&mut self, key: &str, value: &str) -> Result<()> {
        match key {
            DATASET_KEY => {
                self.dataset = value.to_owned();
                Ok(())
            }
            other => Err(DataFusionError::Configuration(format!("no setting `{}.{other}`", Self::PREFIX))),
        }
    }

    fn entries(&self) -> Vec<ConfigEntry> {
        vec![ConfigEntry {
            key: format!("{}.{DATASET_KEY}", Self::PREFIX),
            value: Some(self.dataset.clone()),
            description: "the dataset the query reads (a folder URL or s3://bucket/prefix)",
        }]
    }
}

/// The Nightjar version a process announces in the plans it encodes and expects in those it
/// decodes: the crate version, unless `NIGHTJAR_CLUSTER_VERSION` names another (a process posing
/// as another release, to check what a cluster of mixed versions does).
pub fn nightjar_version() -> String {
    std::env::var("NIGHTJAR_CLUSTER_VERSION")
        .ok()
        .filter(|version| !version.is_empty())
        .unwrap_or_else(|| env!("CARGO_PKG_VERSION").to_owned())
}
