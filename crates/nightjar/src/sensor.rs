//! `nightjar sensor`: run a darknet sensor from its configuration file, with
//! the same command line and code as the `nightjar-sensor` binary
//! (`nightjar_sensor::cli`).

pub use nightjar_sensor::cli::SensorArgs;

/// Run `nightjar sensor`.
pub fn run(args: SensorArgs) -> anyhow::Result<()> {
    Ok(nightjar_sensor::cli::run(&args)?)
}
