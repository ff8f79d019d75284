//! Building an ASN database (MaxMind DB, GeoLite2-ASN record shape) from the
//! CSV files of the npm package `@ip-location-db/asn` — IP to ASN data by
//! RouteViews, DB-IP and the RIRs (via the NRO), under CC BY 4.0, which
//! allows Nightjar to ship the result (`data/asn.mmdb`). `nightjar geo
//! build-asn` is the command-line front end.
//!
//! The input, the database written and an example are documented on
//! [`AsnDbBuilder`].

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::time::SystemTime;

use mmdb_writer::{IpVersion, Ipv4Aliasing, Value, Writer};

use crate::asn_csv::{AsnRow, RowError, RowParser, is_header};

/// The `database_type` of the databases built here. MaxMind readers that
/// check the type by substring before an ASN lookup (Python's `geoip2`)
/// accept it, as they accept DB-IP's `DBIP-ASN-Lite (compat=GeoLite2-ASN)`.
pub const ASN_DATABASE_TYPE: &str = "Nightjar-ASN (compat=GeoLite2-ASN)";

/// How to label the database built.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsnDbOptions {
    /// The `database_type` written to the metadata.
    pub database_type: String,
    /// The English `description` written to the metadata, such as the data's
    /// source and licence. None: no description.
    pub description: Option<String>,
    /// The build time written to the metadata. None: now. Fix it to rebuild
    /// byte for byte the same file from the same CSV files.
    pub build_epoch: Option<SystemTime>,
}

impl Default for AsnDbOptions {
    fn default() -> Self {
        AsnDbOptions { database_type: ASN_DATABASE_TYPE.to_string(), description: None, build_epoch: None }
    }
}

/// Why an ASN database could not be built.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AsnBuildError {
    /// A CSV file could not be opened or read.
    #[error("cannot read {file}: {error}")]
    Read {
        /// The file's name.
        file: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// A line is not UTF-8 text.
    #[error(
        "{file}:{line}: not UTF-8 text; give the CSV files of @ip-location-db/asn (asn-ipv4.csv, \
         asn-ipv6.csv), uncompressed"
    )]
    NotText {
        /// The file's name.
        file: String,
        /// The line number, from 1.
        line: u64,
    },
    /// A line is not a valid row.
    #[error("{file}:{line}: {problem}")]
    Row {
        /// The file's name.
        file: String,
        /// The line number, from 1.
        line: u64,
        /// What is wrong with it.
        problem: RowError,
    },
    /// The writer refused a row's network (not expected for valid rows).
    #[error("{file}:{line}: cannot store {network}: {error}")]
    Insert {
        /// The file's name.
        file: String,
        /// The line number, from 1.
        line: u64,
        /// The CIDR block refused.
        network: String,
        /// The writer's reason.
        error: mmdb_writer::Error,
    },
    /// No file had a single row.
    #[error(
        "the CSV files hold no rows; give asn-ipv4.csv and/or asn-ipv6.csv from the npm package @ip-location-db/asn"
    )]
    Empty,
    /// Serialising the database failed.
    #[error("writing the ASN database: {0}")]
    Write(mmdb_writer::Error),
}

/// A line of an input file, shown as `file:line`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CsvLine {
    /// The file's name as given to the builder.
    pub file: String,
    /// The line number, from 1.
    pub line: u64,
}

impl fmt::Display for CsvLine {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.file, self.line)
    }
}

/// Two rows covering some of the same addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsnOverlap {
    /// The first address both rows cover.
    pub first: IpAddr,
    /// The last address both rows cover.
    pub last: IpAddr,
    /// The row given later, whose AS the database holds for `first..=last`.
    pub kept: CsvLine,
    /// The row given earlier, overridden there.
    pub overridden: CsvLine,
}

/// What went into a database.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AsnBuildReport {
    /// IPv4 rows read.
    pub ipv4_rows: u64,
    /// IPv6 rows read.
    pub ipv6_rows: u64,
    /// CIDR blocks the IPv4 rows were split into.
    pub ipv4_networks: u64,
    /// CIDR blocks the IPv6 rows were split into.
    pub ipv6_networks: u64,
    /// Each row that overlaps a row starting before it (or at the same
    /// address), paired with the one of those that reaches furthest.
    pub overlaps: Vec<AsnOverlap>,
}

/// A finished database.
#[derive(Clone, Debug)]
pub struct BuiltAsnDb {
    /// The MaxMind DB file's bytes.
    pub bytes: Vec<u8>,
    /// What went into it.
    pub report: AsnBuildReport,
}

/// Builds an ASN database from ip-location-db CSV files.
///
/// Add the files with [`add_csv_file`](Self::add_csv_file) (or
/// [`add_csv`](Self::add_csv)), then [`finish`](Self::finish). After an
/// error the builder holds part of a file: drop it.
///
/// # Input
///
/// `asn-ipv4.csv` and `asn-ipv6.csv`, one inclusive address range per line
/// (see [`RowError`] for everything a row can get wrong):
///
/// ```text
/// 1.0.128.0,1.0.196.255,23969,TOT Public Company Limited
/// ```
///
/// # The database written
///
/// - **Tree**: IPv6 (`ip_version` 6), IPv4 under `::/96`, with *no* aliases
///   at `::ffff:0:0/96` (IPv4-mapped), `2002::/16` (6to4) or `2001::/32`
///   (Teredo) — the layout of the bundled country database. The data has
///   rows of its own for `2001::/32` and `2002::/16` (Hurricane Electric's
///   relays), which aliases would hide; [`GeoDb`](crate::GeoDb) looks
///   IPv4-mapped addresses up as IPv4, so it needs no alias.
/// - **Networks**: each row's range split into the fewest CIDR blocks
///   (`1.0.128.0–1.0.196.255` is a /18, a /22 and a /24).
/// - **Records**: `{"autonomous_system_number": u32,
///   "autonomous_system_organization": string}`, the organisation trimmed
///   of surrounding spaces and left out when empty; rows with equal values
///   share one record.
/// - **Metadata**: `database_type` [`ASN_DATABASE_TYPE`], an English
///   `description` (the data's attribution), the build time.
/// - **Overlaps**: where two rows cover the same addresses, the row given
///   later (later file, or later line in a file) wins for those addresses,
///   and [`AsnBuildReport::overlaps`] lists the pair. The published data can
///   have some (`asn-ipv4.csv` 2.3.2026061719 has one).
///
/// ```
/// use nightjar_geo::{AsnDbBuilder, AsnDbOptions, GeoDb};
/// use nightjar_packet::map_v4;
///
/// let csv = "198.51.100.0,198.51.100.255,64500,\"Example, Inc.\"\n";
/// let mut builder = AsnDbBuilder::new(&AsnDbOptions::default());
/// builder.add_csv("example.csv", csv.as_bytes())?;
/// let built = builder.finish()?;
/// assert_eq!(built.report.ipv4_rows, 1);
///
/// let db = GeoDb::from_bytes(built.bytes, "example.mmdb")?;
/// let asn = db.lookup_asn(&map_v4([198, 51, 100, 7]))?.expect("an AS for 198.51.100.7");
/// assert_eq!((asn.number, asn.name.as_deref()), (64500, Some("Example, Inc.")));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct AsnDbBuilder {
    writer: Writer,
    files: Vec<String>,
    /// Every row's range, for finding overlaps once all are in.
    spans: Vec<RowSpan>,
    report: AsnBuildReport,
}

/// Where a row's range lies, and where the row came from.
struct RowSpan {
    is_v6: bool,
    first: u128,
    last: u128,
    file_index: usize,
    line: u64,
}

impl fmt::Debug for AsnDbBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AsnDbBuilder").field("files", &self.files).field("report", &self.report).finish_non_exhaustive()
    }
}

impl AsnDbBuilder {
    /// An empty database labelled as `options` say.
    pub fn new(options: &AsnDbOptions) -> AsnDbBuilder {
        let builder = Writer::builder(options.database_type.clone())
            .ip_version(IpVersion::V6)
            .ipv4_aliasing(Ipv4Aliasing::Disabled)
            .maybe_build_epoch(options.build_epoch);
        let writer = match &options.description {
            Some(text) => builder.description(&[("en", text.as_str())]).build(),
            None => builder.build(),
        };
        AsnDbBuilder { writer, files: Vec::new(), spans: Vec::new(), report: AsnBuildReport::default() }
    }

    /// Add every row of the CSV file at `path`.
    pub fn add_csv_file(&mut self, path: impl AsRef<Path>) -> Result<(), AsnBuildError> {
        let path = path.as_ref();
        let file = File::open(path).map_err(|error| AsnBuildError::Read { file: path.display().to_string(), error })?;
        self.add_csv(path.display().to_string(), BufReader::with_capacity(1 << 16, file))
    }

    /// Add every row of a CSV text; `file` names it in errors and overlaps.
    pub fn add_csv(&mut self, file: impl Into<String>, mut csv: impl BufRead) -> Result<(), AsnBuildError> {
        let file_index = self.files.len();
        self.files.push(file.into());
        let mut bytes = Vec::new();
        let mut line = 0;
        let mut parser = RowParser::default();
        loop {
            bytes.clear();
            let read = csv
                .read_until(b'\n', &mut bytes)
                .map_err(|error| AsnBuildError::Read { file: self.files[file_index].clone(), error })?;
            if read == 0 {
                return Ok(());
            }
            line += 1;
            let text = std::str::from_utf8(&bytes)
                .map_err(|_| AsnBuildError::NotText { file: self.files[file_index].clone(), line })?;
            let text = text.strip_suffix('\n').unwrap_or(text);
            let text = text.strip_suffix('\r').unwrap_or(text);
            let text = if line == 1 { text.trim_start_matches('\u{feff}') } else { text };
            if text.trim().is_empty() || (line == 1 && is_header(text)) {
                continue;
            }
            let row = parser.parse(text).map_err(|problem| AsnBuildError::Row {
                file: self.files[file_index].clone(),
                line,
                problem,
            })?;
            self.insert(row, file_index, line)?;
        }
    }

    fn insert(&mut self, row: AsnRow, file_index: usize, line: u64) -> Result<(), AsnBuildError> {
        let mut record = BTreeMap::new();
        record.insert("autonomous_system_number".to_string(), Value::from(row.number));
        if let Some(organization) = row.organization {
            record.insert("autonomous_system_organization".to_string(), Value::from(organization));
        }
        let record = Value::Map(record);
        let mut networks = 0;
        for network in row.range.networks() {
            self.writer.insert_value(network, record.clone()).map_err(|error| AsnBuildError::Insert {
                file: self.files[file_index].clone(),
                line,
                network: network.to_string(),
                error,
            })?;
            networks += 1;
        }
        let is_v6 = row.range.is_v6();
        if is_v6 {
            self.report.ipv6_rows += 1;
            self.report.ipv6_networks += networks;
        } else {
            self.report.ipv4_rows += 1;
            self.report.ipv4_networks += networks;
        }
        let (first, last) = row.range.bounds();
        self.spans.push(RowSpan { is_v6, first, last, file_index, line });
        Ok(())
    }

    /// The database's bytes, and what went into it.
    pub fn finish(mut self) -> Result<BuiltAsnDb, AsnBuildError> {
        if self.spans.is_empty() {
            return Err(AsnBuildError::Empty);
        }
        self.report.overlaps = self.overlaps();
        let bytes = self.writer.to_bytes().map_err(AsnBuildError::Write)?;
        Ok(BuiltAsnDb { bytes, report: self.report })
    }

    /// Sweep the rows in address order, keeping the one that reaches
    /// furthest; a row starting at or before that one's end overlaps it.
    fn overlaps(&mut self) -> Vec<AsnOverlap> {
        // Stable: rows starting at the same address stay in the order given.
        self.spans.sort_by_key(|span| (span.is_v6, span.first));
        let mut overlaps = Vec::new();
        let mut furthest: Option<&RowSpan> = None;
        for span in &self.spans {
            match furthest {
                Some(earlier) if earlier.is_v6 == span.is_v6 && span.first <= earlier.last => {
                    let (kept, overridden) = if (span.file_index, span.line) > (earlier.file_index, earlier.line) {
                        (span, earlier)
                    } else {
                        (earlier, span)
                    };
                    let address = |value: u128| -> IpAddr {
                        match u32::try_from(value) {
                            Ok(v4) if !span.is_v6 => Ipv4Addr::from(v4).into(),
                            _ => Ipv6Addr::from(value).into(),
                        }
                    };
                    overlaps.push(AsnOverlap {
                        first: address(span.first),
                        last: address(span.last.min(earlier.last)),
                        kept: self.csv_line(kept),
                        overridden: self.csv_line(overridden),
                    });
                    if span.last > earlier.last {
                        furthest = Some(span);
                    }
                }
                _ => furthest = Some(span),
            }
        }
        overlaps
    }

    fn csv_line(&self, span: &RowSpan) -> CsvLine {
        CsvLine { file: self.files[span.file_index].clone(), line: span.line }
    }
}

#[cfg(test)]
mod tests;
