//! Writing query results: an aligned table, CSV, JSON lines or Parquet.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use arrow::array::RecordBatch;
use arrow::datatypes::SchemaRef;
use arrow::util::pretty::pretty_format_batches;
use futures::TryStreamExt;
use nightjar_query::{LimitedStream, QueryEngine, addresses_as_text};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

/// How results are written.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// An aligned table for reading (at most `--max-rows` rows).
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON object per row (`json` is accepted for it too).
    #[value(alias = "json")]
    Jsonl,
    /// A Parquet file (needs `--output`); addresses stay in their 16-byte form.
    Parquet,
}

/// Where results go and in which form.
pub struct ResultSink {
    pub format: Format,
    pub output: Option<PathBuf>,
    /// For tables: the most rows printed; 0 prints all.
    pub max_rows: usize,
    /// Results written so far (a Parquet file holds one).
    results: usize,
}

impl ResultSink {
    pub fn new(format: Format, output: Option<PathBuf>, max_rows: usize) -> Result<ResultSink> {
        if format == Format::Parquet && output.is_none() {
            bail!("--format parquet writes a file: give it with --output FILE.parquet");
        }
        Ok(ResultSink { format, output, max_rows, results: 0 })
    }

    /// Writes one statement's rows as they stream in; returns how many there were.
    pub async fn write(&mut self, engine: &QueryEngine, stream: LimitedStream) -> Result<usize> {
        self.results += 1;
        if self.format == Format::Parquet && self.results > 1 {
            bail!("a Parquet file holds one result: run one query with --format parquet");
        }
        let schema = datafusion::execution::RecordBatchStream::schema(&stream);
        let mut stream = stream.map_err(|error| engine.explain_error(error));
        match self.format {
            Format::Table => {
                let mut shown = Vec::new();
                let (mut rows, mut kept) = (0usize, 0usize);
                while let Some(batch) = stream.try_next().await? {
                    rows += batch.num_rows();
                    let room = if self.max_rows == 0 { batch.num_rows() } else { self.max_rows - kept };
                    if room > 0 && batch.num_rows() > 0 {
                        let part = batch.slice(0, room.min(batch.num_rows()));
                        kept += part.num_rows();
                        shown.push(addresses_as_text(&part)?);
                    }
                }
                let mut out = self.open()?;
                write_table(&mut out, &schema, &shown, rows, kept)?;
                out.flush()?;
                Ok(rows)
            }
            Format::Csv => {
                let mut csv = arrow::csv::WriterBuilder::new().with_header(true).build(self.open()?);
                // The header comes with the first batch: an empty one when there are no rows.
                csv.write(&RecordBatch::new_empty(nightjar_query::text_schema(&schema)))?;
                let mut rows = 0;
                while let Some(batch) = stream.try_next().await? {
                    rows += batch.num_rows();
                    csv.write(&addresses_as_text(&batch)?)?;
                }
                csv.into_inner().flush()?;
                Ok(rows)
            }
            Format::Jsonl => {
                let mut json = arrow::json::LineDelimitedWriter::new(self.open()?);
                let mut rows = 0;
                while let Some(batch) = stream.try_next().await? {
                    rows += batch.num_rows();
                    json.write(&addresses_as_text(&batch)?)?;
                }
                json.finish()?;
                json.into_inner().flush()?;
                Ok(rows)
            }
            Format::Parquet => {
                let path = self.output.as_deref().unwrap_or(Path::new("result.parquet"));
                let file = File::create(path).with_context(|| format!("cannot create {}", path.display()))?;
                let properties =
                    WriterProperties::builder().set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?)).build();
                let mut writer = ArrowWriter::try_new(file, schema, Some(properties))?;
                let mut rows = 0;
                while let Some(batch) = stream.try_next().await? {
                    rows += batch.num_rows();
                    writer.write(&batch)?;
                }
                writer.close()?;
                Ok(rows)
            }
        }
    }

    /// Standard output, or the `--output` file (appended to by later results).
    fn open(&self) -> Result<Box<dyn Write>> {
        Ok(match &self.output {
            None => Box::new(BufWriter::new(std::io::stdout().lock())),
            Some(path) => {
                let file = std::fs::OpenOptions::new()
                    .create(true)
                    .append(self.results > 1)
                    .write(true)
                    .truncate(self.results <= 1)
                    .open(path)
                    .with_context(|| format!("cannot write {}", path.display()))?;
                Box::new(BufWriter::new(file))
            }
        })
    }
}

fn write_table(out: &mut dyn Write, schema: &SchemaRef, shown: &[RecordBatch], rows: usize, kept: usize) -> Result<()> {
    if shown.is_empty() {
        let names: Vec<&str> = schema.fields().iter().map(|field| field.name().as_str()).collect();
        writeln!(out, "(no rows; columns: {})", names.join(", "))?;
        return Ok(());
    }
    writeln!(out, "{}", pretty_format_batches(shown)?)?;
    let noun = if rows == 1 { "row" } else { "rows" };
    if kept < rows {
        writeln!(out, "{rows} {noun}, {kept} shown (--max-rows 0 shows all; --format csv streams them)")?;
    } else {
        writeln!(out, "{rows} {noun}")?;
    }
    Ok(())
}
