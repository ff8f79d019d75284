//! The SQL functions analysts use on top of DataFusion's own.

mod address;
mod args;
pub(crate) mod bounded;
mod cidr;
pub(crate) mod distinct_count;
mod geo;
mod service;
mod tool_rule;
mod udf;

use std::sync::Arc;

use datafusion::logical_expr::ScalarUDF;
use datafusion::prelude::SessionContext;
use nightjar_geo::GeoDb;
use udf::Udf;

pub use address::{DEFAULT_V6_BITS, address_text};
pub use service::service_name;

/// One SQL function as `\df` lists it.
#[derive(Clone, Copy, Debug)]
pub struct FunctionDoc {
    /// How it is called.
    pub call: &'static str,
    /// What it answers.
    pub description: &'static str,
}

impl FunctionDoc {
    /// The function's name: its call up to the parenthesis.
    pub fn name(&self) -> &'static str {
        self.call.split_once('(').map_or(self.call, |(name, _)| name)
    }
}

/// How a function is called, and what it answers.
const fn doc(call: &'static str, description: &'static str) -> FunctionDoc {
    FunctionDoc { call, description }
}

/// The project's SQL functions, for help texts and the shell's `\df`.
pub const FUNCTIONS: &[FunctionDoc] = &[
    doc("ip_text(addr)", "an address as text: '198.51.100.7', '2001:db8::1'"),
    doc("ip_from_text(text)", "the stored 16-byte form of an address given as text"),
    doc(
        "inet_in(addr, 'cidr')",
        "whether addr lies in the block, e.g. inet_in(src_ip, '203.0.113.0/24'); prunes by statistics",
    ),
    doc(
        "ip_prefix(addr, v4_bits [, v6_bits])",
        "the address with host bits cleared (v6_bits defaults to 48), stored form",
    ),
    doc("ip_cidr(addr, v4_bits [, v6_bits])", "that prefix as text: '198.51.100.0/24'"),
    doc("geo_country(addr)", "ISO 3166 alpha-2 country from the configured country database"),
    doc("geo_asn(addr)", "autonomous system number from the configured ASN database"),
    doc("geo_as_name(addr)", "autonomous system name from the configured ASN database"),
    doc(
        "port_service(port [, protocol])",
        "service name of a port (protocol number, default 6 = TCP), e.g. 23 → telnet",
    ),
    doc(
        "tool_rule(dst_ip, protocol, ip_ttl, ip_id, ip_flags, dst_port, tcp_flags, tcp_seq, tcp_ack, \
         tcp_window, tcp_opts, tcp_mss, tcp_wscale, payload_len, icmp_type)",
        "which tool fingerprint rule a packet meets (mirai-sequence, masscan-ip-id, zmap-ip-id, zmap-options), \
         or NULL",
    ),
];

/// Registers every function of [`FUNCTIONS`] on `ctx`, the geo ones over
/// `country` and `asn`, and replaces `count` with one whose
/// `count(DISTINCT …)` over addresses, dates and strings is fast (see [`distinct_count`]).
pub(crate) fn register(ctx: &SessionContext, country: Arc<GeoDb>, asn: Arc<GeoDb>) {
    let functions = [
        ScalarUDF::from(Udf(address::IpText::new())),
        ScalarUDF::from(Udf(address::IpFromText::new())),
        ScalarUDF::from(Udf(cidr::InetIn::new())),
        ScalarUDF::from(Udf(address::IpPrefix::address())),
        ScalarUDF::from(Udf(address::IpPrefix::cidr())),
        ScalarUDF::from(Udf(geo::GeoFunction::country(country))),
        ScalarUDF::from(Udf(geo::GeoFunction::asn(Arc::clone(&asn)))),
        ScalarUDF::from(Udf(geo::GeoFunction::as_name(asn))),
        ScalarUDF::from(Udf(service::PortService::new())),
        ScalarUDF::from(Udf(tool_rule::ToolRuleFunction::new())),
    ];
    for function in functions {
        ctx.register_udf(function);
    }
    register_count(ctx);
}

/// Replaces `count` on `ctx` with the one of [`distinct_count`].
pub(crate) fn register_count(ctx: &SessionContext) {
    ctx.register_udaf(distinct_count::count());
}

#[cfg(test)]
mod tests {
    use datafusion::execution::FunctionRegistry;

    use super::*;

    #[test]
    fn every_registered_function_is_documented_and_every_documented_one_registered() {
        let ctx = SessionContext::new();
        let before = ctx.udfs();
        register(&ctx, Arc::new(GeoDb::embedded_country()), Arc::new(GeoDb::embedded_asn()));
        let mut registered: Vec<String> = ctx.udfs().difference(&before).cloned().collect();
        registered.sort();
        let mut documented: Vec<String> = FUNCTIONS.iter().map(|doc| doc.name().to_string()).collect();
        documented.sort();
        assert_eq!(registered, documented);
    }
}
