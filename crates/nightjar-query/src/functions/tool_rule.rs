//! `tool_rule(dst_ip, protocol, ip_ttl, ip_id, ip_flags, dst_port, tcp_flags, tcp_seq, tcp_ack,
//! tcp_window, tcp_opts, tcp_mss, tcp_wscale, payload_len, icmp_type)`: which fingerprint rule
//! of the classifier a stored packet meets — `mirai-sequence`, `masscan-ip-id`, `zmap-ip-id`,
//! `zmap-options` — or NULL.
//!
//! It runs the sensor's own rules (`nightjar_packet::tool_rule`) on the record's columns, so an
//! analyst can see why a packet carries its `tool` label, e.g.
//!
//! ```sql
//! SELECT tool, tool_rule(dst_ip, protocol, ip_ttl, ip_id, ip_flags, dst_port, tcp_flags, tcp_seq,
//!                        tcp_ack, tcp_window, tcp_opts, tcp_mss, tcp_wscale, payload_len, icmp_type)
//!        AS rule, count(*)
//! FROM packets GROUP BY 1, 2;
//! ```
//!
//! The arguments are the columns of that name, in that order. Mirai's and Masscan's rules read the
//! destination address, which the sensor classified before any privacy transform of `dst_ip`: on
//! a dataset whose destinations were truncated or hashed those two rules give NULL where the
//! stored `tool` says otherwise.

use std::sync::Arc;

use arrow::array::{ArrayRef, StringBuilder};
use arrow::datatypes::DataType;
use datafusion::error::Result;
use nightjar_packet::{TcpEvidence, ToolEvidence, as_v4, ipproto, tool_rule};

use super::args::{ArgKind, FunctionSpec, addresses, integers, texts};
use super::udf::SqlFunction;

/// The `ip_flags` bit of the don't-fragment flag (schemas/packet-record-v1.md).
const DONT_FRAGMENT_BIT: i64 = 0b010;

/// The columns `tool_rule` reads, in order.
const ARGS: &[ArgKind] = &[
    ArgKind::Address, // dst_ip
    ArgKind::Integer, // protocol
    ArgKind::Integer, // ip_ttl
    ArgKind::Integer, // ip_id
    ArgKind::Integer, // ip_flags
    ArgKind::Integer, // dst_port
    ArgKind::Integer, // tcp_flags
    ArgKind::Integer, // tcp_seq
    ArgKind::Integer, // tcp_ack
    ArgKind::Integer, // tcp_window
    ArgKind::Text,    // tcp_opts
    ArgKind::Integer, // tcp_mss
    ArgKind::Integer, // tcp_wscale
    ArgKind::Integer, // payload_len
    ArgKind::Integer, // icmp_type
];

/// `tool_rule(…)`.
#[derive(Debug, PartialEq, Eq, Hash)]
pub(crate) struct ToolRuleFunction(FunctionSpec);

impl ToolRuleFunction {
    pub(crate) fn new() -> ToolRuleFunction {
        ToolRuleFunction(FunctionSpec::new("tool_rule", ARGS, ARGS.len()))
    }
}

/// A column value as the narrower integer the record stores, or `None` when out of range.
fn narrow<T: TryFrom<i64>>(value: Option<i64>) -> Option<T> {
    value.and_then(|v| T::try_from(v).ok())
}

impl SqlFunction for ToolRuleFunction {
    fn spec(&self) -> &FunctionSpec {
        &self.0
    }
    fn result_type(&self) -> DataType {
        DataType::Utf8
    }
    fn compute(&self, args: &[ArrayRef], rows: usize) -> Result<ArrayRef> {
        let dst = addresses(self.0.name, &args[0])?;
        let number: Vec<Vec<Option<i64>>> = args.iter().map(integers).collect();
        let layouts = texts(&args[10]);
        let mut out = StringBuilder::with_capacity(rows, rows * 8);
        for row in 0..rows {
            let column = |index: usize| number[index][row];
            let protocol: Option<u8> = narrow(column(1));
            let tcp = match (protocol, narrow::<u16>(column(5)), narrow::<u8>(column(6))) {
                (Some(ipproto::TCP), Some(dst_port), Some(flags)) => Some(TcpEvidence {
                    dst_port,
                    flags,
                    seq: narrow(column(7)).unwrap_or(0),
                    ack: narrow(column(8)).unwrap_or(0),
                    window: narrow(column(9)).unwrap_or(0),
                    layout: layouts[row].unwrap_or(""),
                    mss: narrow(column(11)),
                    window_scale: narrow(column(12)),
                }),
                _ => None,
            };
            let rule = match (dst[row], protocol, narrow::<u8>(column(2)), narrow::<u32>(column(13))) {
                (Some(dst), Some(protocol), Some(ttl), Some(payload_len)) => tool_rule(&ToolEvidence {
                    dst_v4: as_v4(&dst).map(u32::from),
                    protocol,
                    ttl,
                    ip_id: narrow(column(3)),
                    dont_fragment: column(4).is_some_and(|flags| flags & DONT_FRAGMENT_BIT != 0),
                    icmp_type: narrow(column(14)),
                    payload_len,
                    tcp,
                }),
                _ => None,
            };
            out.append_option(rule.map(|rule| rule.name()));
        }
        Ok(Arc::new(out.finish()))
    }
}
