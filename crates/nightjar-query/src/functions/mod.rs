//! The SQL functions analysts use on top of DataFusion's own.

mod address;
mod args;
pub(crate) mod bounded;
mod cidr;
mod distinct_count;
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

/// The project's SQL functions, for help texts and the shell's `\df`.
pub const FUNCTIONS: &[FunctionDoc] = &[
    FunctionDoc { call: "ip_text(addr)", description: "an address as text: '198.51.100.7', '2001:db8::1'" },
    FunctionDoc { call: "ip_from_text(text)", description: "the stored 16-byte form of an address given as text" },
    FunctionDoc {
        call: "inet_in(addr, 'cidr')",
        description: "whether addr lies in the block, e.g. inet_in(src_ip, '203.0.113.0/24'); prunes by statistics",
    },
    FunctionDoc {
        call: "ip_prefix(addr, v4_bits [, v6_bits])",
        description: "the address with host bits cleared (v6_bits defaults to 48), stored form",
    },
    FunctionDoc { call: "ip_cidr(addr, v4_bits [, v6_bits])", description: "that prefix as text: '198.51.100.0/24'" },
    FunctionDoc {
        call: "geo_country(addr)",
        description: "ISO 3166 alpha-2 country from the configured country database",
    },
    FunctionDoc { call: "geo_asn(addr)", description: "autonomous system number from the configured ASN database" },
    FunctionDoc { call: "geo_as_name(addr)", description: "autonomous system name from the configured ASN database" },
    FunctionDoc {
        call: "port_service(port [, protocol])",
        description: "service name of a port (protocol number, default 6 = TCP), e.g. 23 → telnet",
    },
    FunctionDoc {
        call: "tool_rule(dst_ip, protocol, ip_ttl, ip_id, ip_flags, dst_port, tcp_flags, tcp_seq, tcp_ack, \
               tcp_window, tcp_opts, tcp_mss, tcp_wscale, payload_len, icmp_type)",
        description: "which tool fingerprint rule a packet meets (mirai-sequence, masscan-ip-id, zmap-ip-id, \
                      zmap-options), or NULL",
    },
];

/// Registers every function of [`FUNCTIONS`] on `ctx`, the geo ones over
/// `country` and `asn`, and replaces `count` with one whose
/// `count(DISTINCT …)` over addresses is fast (see [`distinct_count`]).
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
    ctx.register_udaf(distinct_count::count());
}
