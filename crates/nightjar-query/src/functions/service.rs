//! `port_service(port [, protocol])`: the service a port number is known for.
//!
//! The names come from `data/services.csv`: the IANA service name registry for most ports, and the
//! name the Internet knows a port by where IANA has none or it is known for something else
//! (5555 adb, 6379 redis, 37215 the Huawei HG532 UPnP port Mirai variants exploit…). The protocol
//! is the IANA number of the `protocol` column (6 TCP, 17 UDP) and defaults to TCP. Ports without a
//! name give NULL.

use std::collections::HashMap;
use std::sync::OnceLock;

use arrow::array::StringBuilder;
use arrow::datatypes::DataType;
use datafusion::error::Result;
use datafusion::logical_expr::{ColumnarValue, ScalarFunctionArgs, ScalarUDFImpl, Signature};

use super::args::{ArgKind, FunctionSpec, array_result, arrays, integers};

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

impl ScalarUDFImpl for PortService {
    fn name(&self) -> &str {
        self.0.name
    }
    fn signature(&self) -> &Signature {
        &self.0.signature
    }
    fn coerce_types(&self, arg_types: &[DataType]) -> Result<Vec<DataType>> {
        self.0.coerce(arg_types)
    }
    fn return_type(&self, _arg_types: &[DataType]) -> Result<DataType> {
        Ok(DataType::Utf8)
    }
    fn invoke_with_args(&self, args: ScalarFunctionArgs) -> Result<ColumnarValue> {
        let rows = args.number_rows;
        let arrays = arrays(&args.args, rows)?;
        let ports = integers(&arrays[0]);
        let protocols = match arrays.get(1) {
            Some(array) => integers(array),
            None => vec![Some(TCP); rows],
        };
        let mut out = StringBuilder::with_capacity(rows, rows * 8);
        for (port, protocol) in ports.into_iter().zip(protocols) {
            out.append_option(port.zip(protocol).and_then(|(port, protocol)| service_name(port, protocol)));
        }
        Ok(array_result(out.finish()))
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
