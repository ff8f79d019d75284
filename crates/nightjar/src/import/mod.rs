//! `nightjar import`: capture files to the Parquet dataset, offline: the
//! collector's path (decode, classify, enrich, write) without the network.
//!
//! An import adds all of its files or nothing: every capture file is opened and hashed before
//! the dataset is touched, the Parquet files are written under `_inprogress/`, moved into their
//! day folders once every file was read to the end (unless `--keep-partial`), and made part of
//! the table by one commit to its Delta log; a failed run removes what it wrote. Files already
//! imported (same SHA-256) are refused: the commit that imports a file sets the transaction id
//! `nightjar-import:<sha256>` in the log, and a local dataset also lists its imports by name in
//! [`ledger`].
//!
//! `--data s3://bucket/prefix` writes a table in S3-compatible object storage: the files are
//! written in a staging folder under the system's temporary folder, copied into the store, and
//! then committed.

mod ledger;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use indicatif::ProgressBar;
use nightjar_capture::{CaptureFile, FrameEvent};
use nightjar_dataset::{
    CommitNote, CommittedFile, IN_PROGRESS_DIR, PacketTable, PartitionedWriter, PreparedFile, TableLocation,
    WriterOptions,
};
use nightjar_geo::{Enricher, GeoDb};
use nightjar_ops::StateLock;
use nightjar_packet::{Prefix, PrefixSet, ResearchScanners};
use nightjar_record::{Ingest, IngestRules, RecordOptions};

use crate::dataset::DEFAULT_DATASET;
use crate::{progress, summary};
use ledger::{ImportEntry, ImportLedger};

/// Arguments of `nightjar import`.
#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// Capture files to read: pcap or pcapng, any supported link type.
    #[arg(required = true, value_name = "FILE")]
    files: Vec<PathBuf>,
    /// Dataset to write into: a Delta table (created if missing), a folder or
    /// `s3://bucket/prefix` (credentials and endpoint from the `AWS_*` variables); files land in
    /// `day=YYYY-MM-DD/` partitions and one commit adds them. `--out` is the same option.
    #[arg(long = "data", visible_alias = "out", default_value = DEFAULT_DATASET, value_name = "DIR|URL")]
    data: PathBuf,
    /// Sensor id recorded in every row.
    #[arg(long, default_value = "import", value_name = "ID")]
    sensor: String,
    /// Keep only packets sent to this dark prefix (IPv4 or IPv6 CIDR with its mask, e.g.
    /// 192.0.2.0/24; repeatable). Packets from inside it are dropped as the darknet's own.
    /// Without it every packet is kept.
    #[arg(long = "dark-prefix", value_name = "CIDR", value_parser = parse_dark_prefix)]
    dark_prefixes: Vec<Prefix>,
    /// Research scanner list: one CIDR per line, optionally followed by the
    /// organisation's name; `#` comments. Default: the bundled list of
    /// internet-wide scanning organisations (`crates/nightjar-packet/data/README.md`);
    /// an empty file (`/dev/null`) labels no source.
    #[arg(long, value_name = "FILE")]
    research_list: Option<PathBuf>,
    /// Country database (MaxMind format: GeoLite2-Country, DB-IP, ip-location-db).
    /// Default: the bundled public-domain iptoasn country database.
    #[arg(long, value_name = "FILE.mmdb")]
    country_db: Option<PathBuf>,
    /// ASN database (MaxMind format: GeoLite2-ASN, DB-IP ASN, ip-location-db ASN).
    /// Default: the bundled one.
    #[arg(long, value_name = "FILE.mmdb")]
    asn_db: Option<PathBuf>,
    /// Bytes of transport payload to keep per packet (0 keeps none).
    #[arg(long, default_value_t = 0, value_name = "BYTES")]
    payload_prefix: usize,
    /// Records per Arrow batch handed to the Parquet writer.
    #[arg(long, default_value_t = 65_536, value_name = "ROWS")]
    batch_rows: usize,
    /// Import a file even if the dataset's `_imports.json` says a file with the same contents
    /// was imported before (its packets are then stored twice).
    #[arg(long)]
    allow_duplicate: bool,
    /// When a capture file cannot be read to the end, keep what was read before the problem
    /// (and still fail). Without it a damaged file makes the import write nothing.
    #[arg(long)]
    keep_partial: bool,
    /// No progress bars.
    #[arg(long, short)]
    quiet: bool,
}

/// A dark prefix must say its mask: `192.0.2.0` alone would silently be one address.
pub fn parse_dark_prefix(text: &str) -> Result<Prefix, String> {
    let trimmed = text.trim();
    if !trimmed.contains('/') {
        let (block, one) = if trimmed.contains(':') { ("/64", "/128") } else { ("/24", "/32") };
        return Err(format!(
            "`{trimmed}` has no mask: write `{trimmed}{block}` for a block of addresses or `{trimmed}{one}` for this one address"
        ));
    }
    trimmed.parse::<Prefix>().map_err(|error| error.to_string())
}

/// One capture file to import, checked and hashed.
struct Input {
    path: PathBuf,
    sha256: String,
    bytes: u64,
}

/// Run `nightjar import`.
pub fn run(args: ImportArgs) -> Result<()> {
    let research = match &args.research_list {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading research scanner list {}", path.display()))?;
            ResearchScanners::parse(&text).with_context(|| format!("in research scanner list {}", path.display()))?
        }
        None => ResearchScanners::bundled(),
    };
    let enricher = open_enricher(args.country_db.as_deref(), args.asn_db.as_deref())?;
    let (inputs, unreadable) = check_inputs(&args)?;

    let run_id = format!(
        "import-{}-{}",
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or(0),
        std::process::id()
    );
    let runtime = nightjar_ops::runtime("import", Some(1)).context("starting the import's runtime")?;
    let remote = args.data.to_str().filter(|text| TableLocation::names_object_storage(text)).map(str::to_owned);
    let (root, staging) = match &remote {
        Some(_) => {
            let staging = Staging(std::env::temp_dir().join(format!("nightjar-{run_id}")));
            (staging.0.clone(), Some(staging))
        }
        None => (args.data.clone(), None),
    };
    let created_root = !root.exists();
    let created_in_progress = !root.join(IN_PROGRESS_DIR).exists();
    std::fs::create_dir_all(&root).with_context(|| format!("creating dataset folder {}", root.display()))?;
    let opened = TableLocation::parse(remote.as_deref().unwrap_or(&root.to_string_lossy()))
        .and_then(|location| runtime.block_on(PacketTable::open_or_create(&location)));
    let mut table = match opened {
        Ok(table) => table,
        Err(error) => {
            if created_root {
                let _ = std::fs::remove_dir_all(&root);
            }
            return Err(error).context("opening the dataset");
        }
    };
    table.set_staging(root.clone());
    // The files are written where the table places them from: its own (absolute) folder, or staging.
    let write_root = table.write_root().context("opening the dataset")?;
    let mut target = Target { table, runtime: &runtime, root: write_root, local: staging.is_none() };
    let file_errors = match import_into(&args, &inputs, unreadable, &run_id, research, &enricher, &mut target) {
        Ok(file_errors) => file_errors,
        Err(error) => {
            remove_leftovers(&root, &run_id, created_root, created_in_progress);
            return Err(error);
        }
    };
    if !file_errors.is_empty() {
        for error in &file_errors {
            eprintln!("nightjar: {error}");
        }
        bail!(
            "{} of {} capture {} could not be read to the end; everything read before the problem was written",
            file_errors.len(),
            args.files.len(),
            summary::plural(args.files.len() as u64, "file", "files")
        );
    }
    Ok(())
}

/// Opens every capture file (so a missing or foreign file fails before anything is written),
/// hashes it, and refuses the same contents given twice. With `--keep-partial`, files that cannot
/// be opened are returned as problems instead, for the summary to report.
fn check_inputs(args: &ImportArgs) -> Result<(Vec<Input>, Vec<String>)> {
    let total: u64 = args.files.iter().filter_map(|path| std::fs::metadata(path).ok()).map(|m| m.len()).sum();
    let bar = progress::bytes("checking capture files", total, args.quiet);
    let mut inputs: Vec<Input> = Vec::with_capacity(args.files.len());
    let mut problems = Vec::new();
    let mut unreadable = Vec::new();
    for path in &args.files {
        if let Err(error) = CaptureFile::open(path) {
            // The capture error names the file; its cause follows once.
            unreadable.push(nightjar_ops::error_chain(&error));
            continue;
        }
        let (sha256, bytes) = ledger::hash_file(path, &bar)?;
        if let Some(same) = inputs.iter().find(|input| input.sha256 == sha256)
            && !args.allow_duplicate
        {
            problems.push(format!("{} has the same contents as {}", path.display(), same.path.display()));
            continue;
        }
        inputs.push(Input { path: path.clone(), sha256, bytes });
    }
    bar.finish_and_clear();
    if !args.keep_partial || inputs.is_empty() {
        problems.append(&mut unreadable);
    }
    if !problems.is_empty() {
        bail!("nothing was imported:\n  {}", problems.join("\n  "));
    }
    Ok((inputs, unreadable))
}

/// Everything after the checks; on error the caller removes what it wrote. Returns the problems
/// of files read only in part, when `--keep-partial` kept what they gave.
fn import_into(
    args: &ImportArgs,
    inputs: &[Input],
    unreadable: Vec<String>,
    run_id: &str,
    research: ResearchScanners,
    enricher: &Enricher,
    target: &mut Target<'_>,
) -> Result<Vec<String>> {
    let root = &target.root.clone();
    // Held until the ledger is written: two imports of one file at once cannot both pass (into a
    // table in object storage, the second commit conflicts instead).
    let _lock = match target.local {
        true => Some(StateLock::acquire(&ImportLedger::path(root)).context("locking the import ledger")?),
        false => None,
    };
    let mut ledger = if target.local { ImportLedger::load(root)? } else { ImportLedger::default() };
    if !args.allow_duplicate {
        let mut earlier = Vec::new();
        for input in inputs {
            if let Some(entry) = ledger.find(&input.sha256) {
                earlier.push(format!("{} (imported as {} at {})", input.path.display(), entry.file, entry.imported_at));
            } else if target.holds_import(&input.sha256)? {
                earlier.push(format!("{} (the table's log records its contents)", input.path.display()));
            }
        }
        if !earlier.is_empty() {
            bail!(
                "already imported into {}, by content:\n  {}\nnothing was imported; give --allow-duplicate to store them again",
                args.data.display(),
                earlier.join("\n  ")
            );
        }
    }

    let rules = IngestRules {
        dark_prefixes: PrefixSet::new(args.dark_prefixes.clone()),
        research,
        record: RecordOptions { payload_prefix: args.payload_prefix },
        ..IngestRules::default()
    };
    let mut ingest = Ingest::new(rules);
    // One file per day, published only when the whole run has been read.
    let options = WriterOptions { max_rows_per_file: usize::MAX, ..WriterOptions::default() };
    let mut writer = PartitionedWriter::new(root, run_id, options)
        .with_context(|| format!("opening dataset folder {}", root.display()))?;

    let started = Instant::now();
    let mut batch_seq = 0u64;
    let mut capture_skips: Vec<(String, u64)> = Vec::new();
    let mut file_errors: Vec<String> = unreadable;
    let batch_rows = args.batch_rows.max(1);
    for input in inputs {
        let name = input.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let bar = progress::bytes(&format!("reading {name}"), input.bytes, args.quiet);
        let mut write_error = None;
        let read = import_file(&input.path, &mut ingest, &bar, &mut capture_skips, |ingest| {
            if ingest.pending() >= batch_rows {
                let batch = enricher.enrich(&ingest.finish_batch(&args.sensor, batch_seq))?;
                batch_seq += 1;
                if let Err(error) = writer.write(&batch) {
                    let error = anyhow!(error).context("writing Parquet");
                    write_error = Some(format!("{error:#}"));
                    return Err(error);
                }
            }
            Ok(())
        });
        bar.finish_and_clear();
        if let Some(error) = write_error {
            bail!(error);
        }
        if let Err(error) = read {
            file_errors.push(format!("{error:#}"));
        }
    }
    if !file_errors.is_empty() && !args.keep_partial {
        for error in &file_errors {
            eprintln!("nightjar: {error}");
        }
        bail!(
            "{} of {} capture {} could not be read to the end; nothing was imported \
             (--keep-partial keeps what could be read)",
            file_errors.len(),
            args.files.len(),
            summary::plural(args.files.len() as u64, "file", "files")
        );
    }
    if ingest.pending() > 0 {
        writer.write(&enricher.enrich(&ingest.finish_batch(&args.sensor, batch_seq))?)?;
    }
    let pending = writer.pending_rows();
    let bar = progress::rows("writing sorted, compressed Parquet", pending, args.quiet);
    let prepared = writer.prepare_with_progress(|rows| bar.inc(rows)).context("writing Parquet files");
    bar.finish_and_clear();
    let prepared: Vec<PreparedFile> = prepared?;
    let mut committed = Vec::with_capacity(prepared.len());
    for file in prepared {
        committed.push(file.publish().context("moving Parquet files into their day folders")?);
    }
    let rows: u64 = committed.iter().map(|f| f.rows).sum();
    let mut info = serde_json::Map::new();
    info.insert("nightjar.operation".into(), "import".into());
    info.insert("nightjar.run".into(), run_id.into());
    info.insert("nightjar.rows".into(), rows.into());
    info.insert(
        "nightjar.captures".into(),
        inputs.iter().map(|input| serde_json::Value::from(input.sha256.clone())).collect(),
    );
    let imports = inputs.iter().map(|input| input.sha256.clone()).collect();
    let version = match target.commit(&committed, CommitNote { batches: Vec::new(), info, imports }) {
        Ok(version) => version,
        Err(error) => {
            // Not in the log, so no table reader sees them; folder readers would.
            for file in &committed {
                let _ = std::fs::remove_file(&file.path);
            }
            return Err(error).context("committing the files to the table");
        }
    };
    let imported_at = chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    for input in inputs {
        ledger.imports.push(ImportEntry {
            sha256: input.sha256.clone(),
            file: input.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            bytes: input.bytes,
            rows,
            imported_at: imported_at.clone(),
            run: run_id.to_string(),
        });
    }
    if target.local {
        ledger.save(root)?;
    }

    let elapsed = started.elapsed().as_secs_f64();
    let counters = ingest.counters();
    println!(
        "imported {} {} into {}",
        inputs.len(),
        summary::plural(inputs.len() as u64, "file", "files"),
        args.data.display()
    );
    print!("{}", summary::describe(counters, &capture_skips));
    let bytes: u64 = committed.iter().map(|f| f.bytes).sum();
    println!("parquet files      {:>12}", committed.len());
    println!("parquet rows       {:>12}", rows);
    println!("parquet bytes      {:>12}", bytes);
    println!("table version      {:>12}", version);
    if rows > 0 {
        println!("bytes per record   {:>12.2}", bytes as f64 / rows as f64);
    }
    println!("elapsed            {:>11.2}s ({:.0} frames/s)", elapsed, counters.frames as f64 / elapsed.max(1e-9));
    Ok(file_errors)
}

/// The table an import writes, and where its files are written first.
struct Target<'a> {
    table: PacketTable,
    runtime: &'a tokio::runtime::Runtime,
    /// The table's folder, or the staging folder of a table in object storage.
    root: PathBuf,
    /// Whether the table is a local folder (which also keeps `_imports.json`).
    local: bool,
}

impl Target<'_> {
    /// Whether the table's log records an import of these contents.
    fn holds_import(&self, sha256: &str) -> Result<bool> {
        self.runtime.block_on(self.table.holds_import(sha256)).context("reading the table's log")
    }

    /// Moves `files` into the table's storage and commits them; on a failure nothing of them
    /// stays in object storage.
    fn commit(&mut self, files: &[CommittedFile], note: CommitNote) -> Result<u64, nightjar_dataset::DatasetError> {
        let table = &mut self.table;
        self.runtime.block_on(async {
            let mut placed = Vec::with_capacity(files.len());
            for file in files {
                match table.place(file).await {
                    Ok(entry) => placed.push(entry),
                    Err(error) => {
                        table.discard(&placed).await;
                        return Err(error);
                    }
                }
            }
            let committed = table.append(&placed, note).await;
            if committed.is_err() {
                table.discard(&placed).await;
            }
            committed
        })
    }
}

/// A staging folder, removed with everything in it when the import ends.
struct Staging(PathBuf);

impl Drop for Staging {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Removes what a failed run wrote: its files under `_inprogress/`, and the folders it created.
fn remove_leftovers(root: &Path, run_id: &str, created_root: bool, created_in_progress: bool) {
    if created_root {
        let _ = std::fs::remove_dir_all(root);
        return;
    }
    let in_progress = root.join(IN_PROGRESS_DIR);
    if let Ok(entries) = std::fs::read_dir(&in_progress) {
        let ours = format!("{run_id}-");
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&ours) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    if created_in_progress {
        // Only if empty: another writer may have started meanwhile.
        let _ = std::fs::remove_dir(&in_progress);
    }
}

/// The enricher over the chosen databases; the bundled ones by default.
fn open_enricher(country_db: Option<&Path>, asn_db: Option<&Path>) -> Result<Enricher> {
    let country = GeoDb::country_or_embedded(country_db)?;
    let asn = GeoDb::asn_or_embedded(asn_db)?;
    Ok(Enricher::new(Arc::new(country), Some(Arc::new(asn))))
}

/// Read one capture file through the per-frame path. `after_frame` runs after
/// every frame (the caller flushes full batches there).
fn import_file(
    path: &Path,
    ingest: &mut Ingest,
    progress: &ProgressBar,
    capture_skips: &mut Vec<(String, u64)>,
    mut after_frame: impl FnMut(&mut Ingest) -> Result<()>,
) -> Result<()> {
    let mut capture = CaptureFile::open(path)?;
    let mut bytes_seen = 0u64;
    while let Some(event) = capture.next_frame() {
        match event? {
            FrameEvent::Frame(frame) => {
                // Record header (16 bytes in pcap) plus data: close enough for a progress bar.
                bytes_seen += 16 + frame.data.len() as u64;
                ingest.push(frame.timestamp_ns, frame.link, frame.data);
            }
            FrameEvent::Skipped(reason) => {
                let name = reason.to_string();
                match capture_skips.iter_mut().find(|(n, _)| *n == name) {
                    Some((_, count)) => *count += 1,
                    None => capture_skips.push((name, 1)),
                }
            }
        }
        after_frame(ingest)?;
        if capture.records() % 16_384 == 0 {
            progress.set_position(bytes_seen);
        }
    }
    Ok(())
}
