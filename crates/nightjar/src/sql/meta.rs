//! The shell's backslash commands: `\d`, `\d NAME`, `\df`, `\timing`, `\?`, `\q`.

use std::io::Write;

use anyhow::{Result, bail};
use nightjar_dataset::table::ROLLUP_TABLES;
use nightjar_query::{FUNCTIONS, PACKETS_TABLE, QueryEngine, VIEWS};

/// What a backslash command asks the shell to do next.
#[derive(Debug, PartialEq, Eq)]
pub enum MetaOutcome {
    Continue,
    ToggleTiming,
    Quit,
}

/// The help text of `\?`.
pub const HELP: &str = "\
Statements end with `;` and may span lines. Commands:
  \\d          list tables and views
  \\d NAME     describe a table or view (columns, types; a view's SQL)
  \\df         list Nightjar's SQL functions
  \\timing     show how long each statement took (on/off)
  \\?          this help
  \\q          quit (or Ctrl-D)
Addresses print as text; compare with ip_from_text('198.51.100.7') or inet_in(src_ip, '198.51.100.0/24').";

/// Runs a backslash command, writing what it shows to `out`.
pub async fn run(engine: &QueryEngine, command: &str, out: &mut dyn Write) -> Result<MetaOutcome> {
    let mut words = command.split_whitespace();
    let name = words.next().unwrap_or_default();
    let argument = words.next();
    match (name, argument) {
        ("\\q" | "\\quit", _) => return Ok(MetaOutcome::Quit),
        ("\\timing", _) => return Ok(MetaOutcome::ToggleTiming),
        ("\\?" | "\\help" | "\\h", _) => writeln!(out, "{HELP}")?,
        ("\\d", None) => list_tables(engine, out)?,
        ("\\d", Some(table)) => describe(engine, table.trim_end_matches(';'), out).await?,
        ("\\df", _) => {
            let width = FUNCTIONS.iter().map(|function| function.call.len()).max().unwrap_or(0);
            for function in FUNCTIONS {
                writeln!(out, "  {:width$}  {}", function.call, function.description)?;
            }
            writeln!(out, "  … and DataFusion's own functions (SHOW FUNCTIONS lists them all).")?;
        }
        _ => bail!("unknown command {name}; \\? lists the commands"),
    }
    Ok(MetaOutcome::Continue)
}

fn list_tables(engine: &QueryEngine, out: &mut dyn Write) -> Result<()> {
    writeln!(out, "  {:20} table  every packet from every sensor, partitioned by day", PACKETS_TABLE)?;
    for view in VIEWS {
        writeln!(out, "  {:20} view   {}", view.name, view.description)?;
    }
    // The rollups the dataset has (`nightjar rollup` or the collector writes them).
    for rollup in ROLLUP_TABLES.iter().filter(|rollup| engine.context().table_exist(rollup.name).unwrap_or(false)) {
        writeln!(out, "  {:20} table  {}", rollup.name, rollup.description)?;
    }
    Ok(())
}

async fn describe(engine: &QueryEngine, name: &str, out: &mut dyn Write) -> Result<()> {
    let Ok(table) = engine.context().table(name).await else {
        bail!("no table or view named {name}; \\d lists them");
    };
    let schema = table.schema();
    let width = schema.fields().iter().map(|field| field.name().len()).max().unwrap_or(0);
    for field in schema.fields() {
        let nullable = if field.is_nullable() { "" } else { "  not null" };
        let kind = match field.data_type() {
            arrow::datatypes::DataType::FixedSizeBinary(16) => "address (16 bytes; prints as text)".to_owned(),
            other => other.to_string(),
        };
        writeln!(out, "  {:width$}  {kind}{nullable}", field.name())?;
    }
    if let Some(view) = VIEWS.iter().find(|view| view.name == name) {
        writeln!(out, "\n  {}\n\n{}", view.description, view.sql)?;
    }
    Ok(())
}
