//! A read-only object store that lists exactly the data files of one table snapshot.
//!
//! A table's folder also holds files no snapshot references (written by a writer that crashed
//! before its commit, or removed by compaction or retention and not yet vacuumed). A reader that
//! lists the folder would see them; a reader given this store sees the snapshot and nothing else,
//! while every read goes to the real store. Query engines that list files (DataFusion's listing
//! table) thereby read a Delta snapshot with their own scan, pruning and statistics.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use arc_swap::ArcSwap;
use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use object_store::path::Path;
use object_store::{
    CopyOptions, GetOptions, GetResult, ListResult, MultipartUpload, ObjectMeta, ObjectStore, PutMultipartOptions,
    PutOptions, PutPayload, PutResult, Result,
};

/// The data files of one snapshot, by path relative to the table's root.
#[derive(Clone, Debug, Default)]
pub struct SnapshotFiles {
    /// The snapshot's table version.
    pub version: u64,
    files: BTreeMap<Path, ObjectMeta>,
}

impl SnapshotFiles {
    /// A file set from `(relative path, size, modification time in ms)`.
    pub fn new(version: u64, files: impl IntoIterator<Item = (Path, u64, i64)>) -> SnapshotFiles {
        let files = files
            .into_iter()
            .map(|(location, size, modified_ms)| {
                let last_modified = chrono::DateTime::from_timestamp_millis(modified_ms).unwrap_or_default();
                let meta = ObjectMeta { location: location.clone(), last_modified, size, e_tag: None, version: None };
                (location, meta)
            })
            .collect();
        SnapshotFiles { version, files }
    }

    /// How many files.
    pub fn len(&self) -> usize {
        self.files.len()
    }

    /// Whether the snapshot has no file.
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Every file's listing entry, in path order.
    pub fn files_iter(&self) -> impl Iterator<Item = &ObjectMeta> + '_ {
        self.files.values()
    }

    fn under<'a>(&'a self, prefix: Option<&'a Path>) -> impl Iterator<Item = &'a ObjectMeta> + 'a {
        self.files.values().filter(move |meta| prefix.is_none_or(|prefix| meta.location.prefix_matches(prefix)))
    }
}

/// The store: reads go to `inner` (rooted at the table), listings answer from the files of the
/// snapshot currently set.
pub struct SnapshotStore {
    inner: Arc<dyn ObjectStore>,
    files: ArcSwap<SnapshotFiles>,
    name: String,
}

impl SnapshotStore {
    /// A store over `inner` showing `files`; `name` says which table in messages.
    pub fn new(inner: Arc<dyn ObjectStore>, files: SnapshotFiles, name: &str) -> SnapshotStore {
        SnapshotStore { inner, files: ArcSwap::from_pointee(files), name: name.to_owned() }
    }

    /// Shows another snapshot's files from now on; listings already answered keep theirs.
    pub fn set_files(&self, files: SnapshotFiles) {
        self.files.store(Arc::new(files));
    }

    /// The files shown now.
    pub fn files(&self) -> Arc<SnapshotFiles> {
        self.files.load_full()
    }

    fn read_only(&self) -> object_store::Error {
        object_store::Error::NotSupported { source: format!("the snapshot of {} is read-only", self.name).into() }
    }
}

impl fmt::Display for SnapshotStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "snapshot of {} over {}", self.name, self.inner)
    }
}

impl fmt::Debug for SnapshotStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapshotStore").field("name", &self.name).field("files", &self.files.load().len()).finish()
    }
}

#[async_trait]
impl ObjectStore for SnapshotStore {
    async fn put_opts(&self, _: &Path, _: PutPayload, _: PutOptions) -> Result<PutResult> {
        Err(self.read_only())
    }

    async fn put_multipart_opts(&self, _: &Path, _: PutMultipartOptions) -> Result<Box<dyn MultipartUpload>> {
        Err(self.read_only())
    }

    async fn get_opts(&self, location: &Path, options: GetOptions) -> Result<GetResult> {
        self.inner.get_opts(location, options).await
    }

    fn delete_stream(&self, locations: BoxStream<'static, Result<Path>>) -> BoxStream<'static, Result<Path>> {
        let error = self.read_only().to_string();
        locations.map(move |_| Err(object_store::Error::NotSupported { source: error.clone().into() })).boxed()
    }

    fn list(&self, prefix: Option<&Path>) -> BoxStream<'static, Result<ObjectMeta>> {
        let listed: Vec<Result<ObjectMeta>> = self.files.load().under(prefix).cloned().map(Ok).collect();
        futures::stream::iter(listed).boxed()
    }

    async fn list_with_delimiter(&self, prefix: Option<&Path>) -> Result<ListResult> {
        let files = self.files.load();
        let depth = prefix.map_or(0, |prefix| prefix.parts().count());
        let mut common_prefixes: Vec<Path> = Vec::new();
        let mut objects = Vec::new();
        for meta in files.under(prefix) {
            let parts: Vec<_> = meta.location.parts().collect();
            if parts.len() == depth + 1 {
                objects.push(meta.clone());
            } else if let Some(child) = parts.get(..=depth) {
                let folder = Path::from_iter(child.iter().cloned());
                if common_prefixes.last() != Some(&folder) {
                    common_prefixes.push(folder);
                }
            }
        }
        common_prefixes.dedup();
        Ok(ListResult { common_prefixes, objects })
    }

    async fn copy_opts(&self, _: &Path, _: &Path, _: CopyOptions) -> Result<()> {
        Err(self.read_only())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::TryStreamExt;
    use object_store::ObjectStoreExt;
    use object_store::memory::InMemory;

    fn snapshot() -> SnapshotFiles {
        SnapshotFiles::new(
            3,
            [
                (Path::from("day=2026-11-22/a.parquet"), 10, 0),
                (Path::from("day=2026-11-22/b.parquet"), 20, 0),
                (Path::from("day=2026-11-23/c.parquet"), 30, 0),
            ],
        )
    }

    #[tokio::test]
    async fn lists_the_snapshot_and_reads_through() {
        let inner = Arc::new(InMemory::new());
        inner.put(&Path::from("day=2026-11-22/a.parquet"), PutPayload::from_static(b"rows")).await.expect("put");
        inner.put(&Path::from("day=2026-11-22/orphan.parquet"), PutPayload::from_static(b"x")).await.expect("put");
        let store = SnapshotStore::new(inner, snapshot(), "test");

        let all: Vec<ObjectMeta> = store.list(None).try_collect().await.expect("listed");
        let names: Vec<String> = all.iter().map(|m| m.location.to_string()).collect();
        assert_eq!(names, ["day=2026-11-22/a.parquet", "day=2026-11-22/b.parquet", "day=2026-11-23/c.parquet"]);

        let top = store.list_with_delimiter(None).await.expect("listed");
        let folders: Vec<String> = top.common_prefixes.iter().map(ToString::to_string).collect();
        assert_eq!(folders, ["day=2026-11-22", "day=2026-11-23"]);
        assert!(top.objects.is_empty());
        let day = store.list_with_delimiter(Some(&Path::from("day=2026-11-23"))).await.expect("listed");
        assert_eq!(day.objects.len(), 1);
        assert_eq!(day.objects[0].size, 30);

        let bytes =
            store.get(&Path::from("day=2026-11-22/a.parquet")).await.expect("read").bytes().await.expect("body");
        assert_eq!(bytes.as_ref(), b"rows");
        assert!(store.put(&Path::from("x"), PutPayload::from_static(b"x")).await.is_err());

        store.set_files(SnapshotFiles::new(4, [(Path::from("day=2026-11-24/d.parquet"), 1, 0)]));
        let after: Vec<ObjectMeta> = store.list(None).try_collect().await.expect("listed");
        assert_eq!(after.len(), 1);
        assert_eq!(store.files().version, 4);
    }
}
