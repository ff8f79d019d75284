//! `nightjar convert`: a dataset folder of layout version 1 becomes a Delta table in place.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use nightjar_dataset::TableLocation;

use crate::summary;

/// Arguments of `nightjar convert`.
#[derive(clap::Args, Debug)]
pub struct ConvertArgs {
    /// The dataset folder (with `day=YYYY-MM-DD/` folders and no `_delta_log/`). Stop the
    /// collector or import writing into it first.
    #[arg(value_name = "DIR")]
    data: PathBuf,
}

/// Run `nightjar convert`.
pub fn run(args: ConvertArgs) -> Result<()> {
    let given = args.data.to_string_lossy().into_owned();
    // A mistyped path must not become an empty table.
    if !args.data.is_dir() {
        bail!("converting {given}: no such dataset folder");
    }
    let location = TableLocation::parse(&given).with_context(|| format!("converting {given}"))?;
    let runtime = nightjar_ops::runtime("convert", Some(1)).context("starting the runtime")?;
    let converted =
        runtime.block_on(nightjar_dataset::table::convert(&location)).with_context(|| format!("converting {given}"))?;
    println!(
        "{given} is now a Delta table (version {}): {} Parquet {} with {} {}, {} {} recorded; no file was rewritten",
        converted.version,
        converted.files,
        summary::plural(converted.files as u64, "file", "files"),
        converted.rows,
        summary::plural(converted.rows, "row", "rows"),
        converted.sensors,
        summary::plural(converted.sensors as u64, "sensor", "sensors"),
    );
    Ok(())
}
