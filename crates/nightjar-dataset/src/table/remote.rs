//! Tables whose files live in object storage (`s3://…`): files are written on local disk first,
//! in a staging folder laid out like the table (`day=YYYY-MM-DD/name.parquet`), then copied to
//! the same relative path in the store, and only then named by a commit. A file copied for a
//! commit that does not land is deleted again; one left by a crash is named by no snapshot, so no
//! reader sees it, and a vacuum removes it.

use std::path::PathBuf;

use chrono::NaiveDate;
use object_store::path::Path as StorePath;
use object_store::{ObjectStoreExt, PutPayload};

use super::{NewFile, PacketTable};
use crate::error::DatasetError;
use crate::layout::DAY_PARTITION_KEY;
use crate::writer::CommittedFile;

impl PacketTable {
    /// Whether the table's files are on this machine's file system (a path, not `s3://…`).
    pub fn is_local(&self) -> bool {
        self.location.local_dir.is_some()
    }

    /// The local folder files are written in before they join the table: the table's own
    /// folder when it is local, else the staging folder set with [`PacketTable::set_staging`].
    pub fn write_root(&self) -> Result<PathBuf, DatasetError> {
        match (&self.location.local_dir, &self.staging) {
            (Some(dir), _) => Ok(dir.clone()),
            (None, Some(staging)) => Ok(staging.clone()),
            (None, None) => Err(DatasetError::Location {
                location: self.location.given.clone(),
                reason: "a table in object storage needs a local staging folder to write files in".into(),
            }),
        }
    }

    /// Sets the local folder where files for a table in object storage are written before they
    /// are copied into it (ignored for a local table).
    pub fn set_staging(&mut self, dir: PathBuf) {
        self.staging = Some(dir);
    }

    /// What places files into the table's storage, for use beside the table (placing needs no
    /// lock on the table, so files are copied while another batch commits).
    pub fn placer(&self) -> Result<FilePlacer, DatasetError> {
        Ok(FilePlacer {
            root: self.write_root()?,
            store: std::sync::Arc::clone(&self.store),
            local: self.is_local(),
            location: self.location.given.clone(),
        })
    }

    /// Places `file` (see [`FilePlacer::place`]).
    pub async fn place(&self, file: &CommittedFile) -> Result<NewFile, DatasetError> {
        self.placer()?.place(file).await
    }

    /// Removes placed files (see [`FilePlacer::discard`]).
    pub async fn discard(&self, files: &[NewFile]) {
        if let Ok(placer) = self.placer() {
            placer.discard(files).await;
        }
    }

    /// Every day the snapshot holds files of, in order.
    pub fn days(&self) -> Result<Vec<NaiveDate>, DatasetError> {
        let files = self.files()?;
        let prefix = format!("{DAY_PARTITION_KEY}=");
        let mut days: Vec<NaiveDate> = files
            .files_iter()
            .filter_map(|meta| {
                let folder = meta.location.parts().next()?;
                let day = folder.as_ref().strip_prefix(prefix.as_str())?.to_owned();
                NaiveDate::parse_from_str(&day, "%Y-%m-%d").ok()
            })
            .collect();
        days.sort_unstable();
        days.dedup();
        Ok(days)
    }

    /// The whole of one of the table's files, by its path relative to the table.
    pub(crate) async fn read_file(
        &self,
        path: &StorePath,
    ) -> Result<impl parquet::file::reader::ChunkReader + use<>, DatasetError> {
        let got = self.store.get(path).await.map_err(|source| self.store_error("reading a file of", source))?;
        got.bytes().await.map_err(|source| self.store_error("reading a file of", source))
    }

    fn store_error(&self, action: &'static str, source: object_store::Error) -> DatasetError {
        DatasetError::Store { action, location: self.location.given.clone(), source }
    }
}

/// Moves files written under a table's local write folder into its storage.
#[derive(Clone)]
pub struct FilePlacer {
    root: PathBuf,
    store: std::sync::Arc<dyn object_store::ObjectStore>,
    local: bool,
    location: String,
}

impl FilePlacer {
    /// The local folder files are written in (the table's own folder, or the staging folder).
    pub fn root(&self) -> &std::path::Path {
        &self.root
    }

    /// Makes `file`, written under [`FilePlacer::root`], part of the table's storage — for a
    /// table in object storage a copy to the same relative path in the store, after which the
    /// local copy is removed; its entry for a commit.
    pub async fn place(&self, file: &CommittedFile) -> Result<NewFile, DatasetError> {
        let entry = NewFile::from_committed(&self.root, file)?;
        if self.local {
            return Ok(entry);
        }
        let bytes = std::fs::read(&file.path).map_err(DatasetError::io("reading", &file.path))?;
        self.store.put(&StorePath::from(entry.path.as_str()), PutPayload::from(bytes)).await.map_err(|source| {
            DatasetError::Store { action: "copying a file into", location: self.location.clone(), source }
        })?;
        let _ = std::fs::remove_file(&file.path);
        Ok(entry)
    }

    /// Removes placed files whose commit did not land (best effort: a file left behind is named
    /// by no snapshot, and a vacuum removes it).
    pub async fn discard(&self, files: &[NewFile]) {
        for file in files {
            if self.local {
                let _ = std::fs::remove_file(self.root.join(&file.path));
            } else {
                let _ = self.store.delete(&StorePath::from(file.path.as_str())).await;
            }
        }
    }
}
