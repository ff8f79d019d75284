//! `port_service(port [, protocol])`: the service a port number is known for.
//!
//! The names come from `data/services.csv`: the IANA service name registry for most ports, and the
//! name the Internet knows a port by where IANA has none or it is known for something else
//! (5555 adb, 6379 redis, 37215 the Huawei HG532 UPnP port Mirai variants exploit…). The protocol
//! is the IANA number of the `protocol` column (6 TCP, 17 UDP) and defaults to TCP. Ports without a
//! name give NULL.

use std::collections::HashMap;
use std::sync::OnceLock;

use std::sync::Arc;

use arrow::array::{ArrayRef, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::error::Result;

use super::args::{ArgKind, FunctionSpec, integers};
use super::udf::SqlFunction;

const SERVICES_CSV: &str = include_str!("../../data/services.csv");

const TCP: i64 = 6;
const UDP: i64 = 17;

/// The service names by (port, IANA protocol number).
fn services() -> &'static HashMap<(i64, i64), &'static str> {
    static SERVICES: OnceLock<HashMap<(i64, i64), &'static str>> = OnceLock::new();
    SERVICES.get_or_init(|| {
        SERVICES_CSV
            .lines()
            .filter(|line| !line.starts_with('#') && !line.starts_with("port,"))
            .filter_map(|line| {
                let mut fields = line.split(',');
                let port = fields.next()?.parse::<i64>().ok()?;
                let protocol = match fields.next()? {
                    "tcp" => TCP,
                    "udp" => UDP,
                    _ => return None,
                };
                Some(((port, protocol), fields.next()?))
            })
            .collect()
    })
}

/// The name of the service at `port` over `protocol` (IANA number), if the table has one.
pub fn service_name(port: i64, protocol: i64) -> Option<&'static str> {
    services().get(&(port, protocol)).copied()
}

/// `port_service(port [, protocol])`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct PortService(FunctionSpec);

impl PortService {
    pub(crate) fn new() -> PortService {
        PortService(FunctionSpec::new("port_service", &[ArgKind::Integer, ArgKind::Integer], 1))
    }
}

impl SqlFunction for PortService {
    fn spec(&self) -> &FunctionSpec {
        &self.0
    }
    fn result_type(&self) -> DataType {
        DataType::Utf8
    }
    fn compute(&self, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
        let ports = integers(&args[0]);
        let protocols = match args.get(1) {
            Some(array) => integers(array),
            None => vec![Some(TCP); rows],
        };
        let mut out = StringBuilder::with_capacity(rows, rows * 8);
        for (port, protocol) in ports.into_iter().zip(protocols) {
            out.append_option(port.zip(protocol).and_then(|(port, protocol)| service_name(port, protocol)));
        }
        Ok(Arc::new(out.finish()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_the_table_is_read() {
        let data_lines =
            SERVICES_CSV.lines().filter(|line| !line.starts_with('#') && !line.starts_with("port,")).count();
        assert_eq!(services().len(), data_lines, "a line of data/services.csv did not parse");
        assert_eq!(service_name(23, TCP), Some("telnet"));
        assert_eq!(service_name(53, UDP), Some("domain"));
        assert_eq!(service_name(23, UDP), None);
    }
}
