//! Where a table lives: a local folder or an `s3://bucket/prefix` URL, and the object stores that
//! reach it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::aws::AmazonS3Builder;
use object_store::local::LocalFileSystem;
use object_store::prefix::PrefixStore;
use url::Url;

use crate::error::DatasetError;

/// The store of a location's bucket or file system (rooted at its top), and the store rooted at
/// the table.
pub type Stores = (Arc<dyn ObjectStore>, Arc<dyn ObjectStore>);

/// A table's place, as the user named it and as URLs and stores.
#[derive(Clone, Debug)]
pub struct TableLocation {
    /// What the user gave (`data`, `/srv/nightjar/data`, `s3://bucket/telescope`).
    pub given: String,
    /// The table's root as a URL ending in `/`.
    pub url: Url,
    /// The folder, for a local table.
    pub local_dir: Option<PathBuf>,
}

impl TableLocation {
    /// Whether `given` names a location in object storage (`s3://…`) rather than a folder, as
    /// [`TableLocation::parse`] reads it.
    pub fn names_object_storage(given: &str) -> bool {
        Url::parse(given).is_ok_and(|url| url.scheme() == "s3")
    }

    /// Parses a folder path, a `file://` URL or an `s3://bucket/prefix` URL. A local folder need
    /// not exist yet (a writer creates it).
    pub fn parse(given: &str) -> Result<TableLocation, DatasetError> {
        let location_error =
            |reason: &str| DatasetError::Location { location: given.to_owned(), reason: reason.to_owned() };
        if let Ok(url) = Url::parse(given)
            && url.scheme().len() > 1
        {
            return match url.scheme() {
                "s3" => {
                    if url.host_str().is_none_or(str::is_empty) {
                        return Err(location_error("the s3:// URL names no bucket"));
                    }
                    Ok(TableLocation { given: given.to_owned(), url: with_slash(url), local_dir: None })
                }
                "file" => {
                    let dir = url.to_file_path().map_err(|()| location_error("not a local path"))?;
                    Self::local(given, &dir)
                }
                other => Err(location_error(&format!("unsupported URL scheme `{other}` (use a folder or s3://)"))),
            };
        }
        Self::local(given, Path::new(given))
    }

    fn local(given: &str, dir: &Path) -> Result<TableLocation, DatasetError> {
        let absolute = std::path::absolute(dir).map_err(DatasetError::io("resolving", dir))?;
        let absolute = absolute.canonicalize().unwrap_or(absolute);
        let url = Url::from_directory_path(&absolute).map_err(|()| DatasetError::Location {
            location: given.to_owned(),
            reason: "not an absolute path".to_owned(),
        })?;
        Ok(TableLocation { given: given.to_owned(), url, local_dir: Some(absolute) })
    }

    /// The store holding the location's bucket or file system, rooted at its top, and the store
    /// rooted at the table itself.
    pub fn stores(&self) -> Result<Stores, DatasetError> {
        match &self.local_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(DatasetError::io("creating", dir))?;
                let prefixed = LocalFileSystem::new_with_prefix(dir).map_err(|source| self.store_error(source))?;
                Ok((Arc::new(LocalFileSystem::new()), Arc::new(prefixed)))
            }
            None => {
                let root: Arc<dyn ObjectStore> =
                    Arc::new(s3_store(&self.url).map_err(|source| self.store_error(source))?);
                let prefix = self.url.path().trim_matches('/');
                let prefixed: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    Arc::clone(&root)
                } else {
                    Arc::new(PrefixStore::new(Arc::clone(&root), prefix))
                };
                Ok((root, prefixed))
            }
        }
    }

    fn store_error(&self, source: object_store::Error) -> DatasetError {
        DatasetError::Store { action: "opening the store of", location: self.given.clone(), source }
    }
}

/// The store of `s3://bucket/…`, with credentials, region and endpoint from the `AWS_*` variables
/// (`AWS_ENDPOINT` and `AWS_ALLOW_HTTP=true` for S3-compatible stores such as MinIO or Ceph).
/// Commits use S3's conditional writes (`If-None-Match`), so several writers share one table.
pub fn s3_store(url: &Url) -> Result<object_store::aws::AmazonS3, object_store::Error> {
    let bucket = url.host_str().unwrap_or_default();
    let mut builder = AmazonS3Builder::from_env().with_bucket_name(bucket);
    // Queries and commits run on runtimes that may end before the store does; connections live
    // on the runtime that opened the table.
    if let Ok(io_runtime) = tokio::runtime::Handle::try_current() {
        builder = builder.with_http_connector(object_store::client::SpawnedReqwestConnector::new(io_runtime));
    }
    builder.build()
}

fn with_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_urls_become_table_roots() {
        let s3 = TableLocation::parse("s3://bucket/telescope").expect("an s3 URL");
        assert_eq!(s3.url.as_str(), "s3://bucket/telescope/");
        assert!(s3.local_dir.is_none());
        let dir = tempfile::tempdir().expect("a temporary folder");
        let local = TableLocation::parse(dir.path().to_str().expect("UTF-8")).expect("a folder");
        assert_eq!(local.local_dir.as_deref(), Some(dir.path().canonicalize().expect("exists").as_path()));
        assert!(local.url.as_str().starts_with("file:///") && local.url.as_str().ends_with('/'));
        assert!(TableLocation::parse("s3://").is_err());
        let error = TableLocation::parse("ftp://host/x").expect_err("refused").to_string();
        assert!(error.contains("unsupported URL scheme `ftp`"), "{error}");
    }
}
