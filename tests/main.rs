//! The `nightjar` command's end-to-end tests, as one test binary (`cargo test --workspace --test cli`;
//! `-- sql_cli::` runs one file's tests). Each module is one area of the command, run against the real
//! binary; a test whose system tools are missing here is reported ignored with its reason, and fails
//! under `NIGHTJAR_SYSTEM_TESTS=require` (see `nightjar_test_kit::prereq`).

mod bench_harness;
mod cluster;
mod collector_alerts;
mod collector_cli;
mod collector_disk_full;
mod collector_hostile;
mod collector_kill;
mod delta_table;
mod demo_cli;
mod fault_network;
mod fault_outage;
mod fault_spool_full;
mod flight_sql;
mod import_cli;
mod lookup_cli;
mod parquet_readers;
mod publish_cli;
mod readme_commands;
mod risk_cli;
mod risk_periods;
mod risk_site;
mod rollup_cli;
mod rollup_indicators;
mod sensor_check;
mod sensor_cli;
mod sensor_collector;
mod sensor_live;
mod sensor_package;
mod sensor_upgrade;
mod sql_cli;
mod sql_limits;
mod sql_object_store;
mod support;
mod table_failover_kill;
mod token_stores;
mod tool_captures;
mod tool_fingerprints;

fn main() -> std::process::ExitCode {
    let modules = [
        bench_harness::tests(),
        cluster::tests(),
        collector_alerts::tests(),
        collector_cli::tests(),
        collector_disk_full::tests(),
        collector_hostile::tests(),
        collector_kill::tests(),
        delta_table::tests(),
        demo_cli::tests(),
        fault_network::tests(),
        fault_outage::tests(),
        fault_spool_full::tests(),
        flight_sql::tests(),
        import_cli::tests(),
        lookup_cli::tests(),
        parquet_readers::tests(),
        publish_cli::tests(),
        readme_commands::tests(),
        risk_cli::tests(),
        risk_periods::tests(),
        risk_site::tests(),
        rollup_cli::tests(),
        rollup_indicators::tests(),
        sensor_check::tests(),
        sensor_cli::tests(),
        sensor_collector::tests(),
        sensor_live::tests(),
        sensor_package::tests(),
        sensor_upgrade::tests(),
        sql_cli::tests(),
        sql_limits::tests(),
        sql_object_store::tests(),
        table_failover_kill::tests(),
        token_stores::tests(),
        tool_captures::tests(),
        tool_fingerprints::tests(),
    ];
    nightjar_test_kit::harness::run(modules.into_iter().flatten().collect())
}
