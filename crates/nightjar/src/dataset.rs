//! The options every command that reads the dataset shares (`--data`, `--country-db`,
//! `--asn-db`), and the checks made before the dataset is opened.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use nightjar_dataset::{DAY_PARTITION_KEY, has_partitions};
use nightjar_query::{AsOf, QueryConfig, QueryEngine, SessionUpgrade};

/// The dataset folder every command reads and `import` writes when `--data` is not given.
pub const DEFAULT_DATASET: &str = "data";

/// Where the dataset is and which geo databases answer `geo_*()` and give address space.
#[derive(clap::Args, Debug, Clone)]
pub struct DatasetArgs {
    /// The dataset: a folder written by the collector or `nightjar import`, or an `s3://bucket/prefix`
    /// URL (credentials and endpoint from the AWS_* environment variables).
    #[arg(long, default_value = DEFAULT_DATASET, value_name = "DIR|URL")]
    pub data: String,
    /// Country database (MaxMind format) for geo_country() and the address space per country.
    /// Default: the bundled one, as at import.
    #[arg(long, value_name = "FILE.mmdb")]
    pub country_db: Option<PathBuf>,
    /// ASN database (MaxMind format) for geo_asn() and geo_as_name(). Default: the bundled one.
    #[arg(long, value_name = "FILE.mmdb")]
    pub asn_db: Option<PathBuf>,
    /// Read the table as it was at this version (a number) or time (RFC 3339, e.g.
    /// 2026-11-30T12:00:00Z) instead of its latest commit.
    #[arg(long, value_name = "VERSION|TIME")]
    pub as_of: Option<AsOf>,
    /// Run the queries on a Nightjar cluster (`nightjar cluster scheduler`): the scheduler's
    /// address. Its executors read the dataset with their own AWS_* settings.
    #[arg(long, value_name = "df://HOST:PORT")]
    pub cluster: Option<String>,
}

impl DatasetArgs {
    /// Checks the location and opens the query engine on it.
    pub async fn open(&self) -> Result<QueryEngine> {
        check_location(&self.data)?;
        let config = QueryConfig {
            country_db: self.country_db.clone(),
            asn_db: self.asn_db.clone(),
            as_of: self.as_of.clone().unwrap_or_default(),
            upgrade: cluster_upgrade(self.cluster.as_deref(), &self.data)?,
            ..QueryConfig::new(self.data.clone())
        };
        QueryEngine::open(config).await.with_context(|| format!("opening the dataset {}", self.data))
    }
}

/// With a `--cluster` address, the session change that runs queries there.
pub fn cluster_upgrade(cluster: Option<&str>, data: &str) -> Result<Option<SessionUpgrade>> {
    cluster.map(|cluster| nightjar_cluster::client::upgrade(cluster, data)).transpose().map_err(Into::into)
}

/// A local dataset folder without `day=` partitions of its own, whose child folder has them,
/// is the child's parent given by mistake (`--data nightjar-demo` for `nightjar-demo/data`):
/// reading it would answer every query with nothing. Such a location is refused, naming the
/// folder meant. URLs and folders that do not exist (the engine names those) pass.
pub fn check_location(location: &str) -> Result<()> {
    if location.contains("://") {
        return Ok(());
    }
    let root = Path::new(location);
    if !root.is_dir() || has_partitions(root) {
        return Ok(());
    }
    let Ok(entries) = std::fs::read_dir(root) else { return Ok(()) };
    let mut children: Vec<PathBuf> = entries
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_dir() && has_partitions(path))
        .collect();
    children.sort();
    match children.as_slice() {
        [] => Ok(()),
        [child] => bail!(
            "{location} holds no `{DAY_PARTITION_KEY}=` folders, but {} does: give `--data {}`",
            child.display(),
            child.display()
        ),
        many => bail!(
            "{location} holds no `{DAY_PARTITION_KEY}=` folders, but these folders in it do: {}; give one of them with `--data`",
            many.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::check_location;

    #[test]
    fn the_parent_of_a_dataset_is_refused_naming_the_dataset() {
        let work = tempfile::tempdir().expect("a temporary folder");
        let dataset = work.path().join("data");
        std::fs::create_dir_all(dataset.join("day=2026-11-22")).expect("a day folder");
        let parent = work.path().to_str().expect("a UTF-8 path");
        let error = check_location(parent).expect_err("the parent is refused").to_string();
        assert!(error.contains(&format!("--data {}", dataset.display())), "{error}");
        assert!(check_location(dataset.to_str().expect("a UTF-8 path")).is_ok());
        assert!(check_location(work.path().join("missing").to_str().expect("a UTF-8 path")).is_ok());
        assert!(check_location("s3://bucket/prefix").is_ok());
    }
}
