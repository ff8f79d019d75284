//! `nightjar rollup`: write or refresh the rollup tables of a dataset's completed days.

use anyhow::{Context, Result};
use chrono::NaiveDate;
use nightjar_rollup::{DayState, RefreshOptions, refresh};

use crate::dataset::{DEFAULT_DATASET, check_location};

/// Arguments of `nightjar rollup`.
#[derive(clap::Args, Debug)]
pub struct RollupArgs {
    /// The dataset: a Delta table in a folder or at an `s3://bucket/prefix` URL.
    #[arg(long, default_value = DEFAULT_DATASET, value_name = "DIR|URL")]
    data: String,
    /// Only this day (YYYY-MM-DD; repeatable). Default: every day the dataset holds.
    #[arg(long = "day", value_name = "DATE")]
    days: Vec<NaiveDate>,
}

/// Run `nightjar rollup`.
pub fn run(args: RollupArgs) -> Result<()> {
    check_location(&args.data)?;
    let today = chrono::Utc::now().date_naive();
    let options = RefreshOptions { days: (!args.days.is_empty()).then(|| args.days.clone()), today };
    let runtime = nightjar_ops::runtime("rollup", None).context("starting the runtime")?;
    let outcomes =
        runtime.block_on(refresh(&args.data, &options)).with_context(|| format!("rolling up {}", args.data))?;
    let written = outcomes.iter().filter(|o| matches!(o.state, DayState::Written { .. })).count();
    for outcome in &outcomes {
        println!("{outcome}");
    }
    println!("{written} of {} days rolled up in {}", outcomes.len(), args.data);
    Ok(())
}
