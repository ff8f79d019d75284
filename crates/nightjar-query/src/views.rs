//! The views analysts need daily, defined in SQL over `packets`.
//!
//! Each view keeps `day` as a column, so a filter on `day` prunes partitions through the view.
//!
//! `sources.tools` names a tool only when the source's packets agree: its packets that day that
//! carry the tool's label are more than half of its scan packets and at least two for Masscan and
//! ZMap, one for Mirai ([`nightjar_packet::min_source_packets`]). A packet label can be a chance match (Masscan's IP id formula
//! and ZMap's IP id 54321 are 16-bit fields; see `nightjar_packet`'s fingerprint rules), so a single
//! labelled packet among an nmap scan's thousands no longer makes its source a Masscan source.
//! Since a label must hold a majority, a source names at most one tool.

use datafusion::prelude::SessionContext;

use crate::QueryError;

/// A view: its name, what a row is, and its SQL.
#[derive(Clone, Copy, Debug)]
pub struct View {
    /// The table name analysts query.
    pub name: &'static str,
    /// What one row of the view stands for.
    pub description: &'static str,
    /// The `SELECT` that defines it.
    pub sql: &'static str,
}

/// Every view the query layer registers.
pub const VIEWS: &[View] = &[
    View {
        name: "sources",
        description: "one row per source address per day: when it was seen, how much, where it aimed, what it was (tools: the tool most of its scan packets carry, at least two packets for masscan and zmap)",
        sql: "SELECT day, src_ip,
       min(time) AS first_seen,
       max(time) AS last_seen,
       count(*) AS packets,
       count(DISTINCT dst_port) AS distinct_ports,
       count(DISTINCT dst_ip) AS distinct_destinations,
       count(DISTINCT sensor) AS sensors,
       array_sort(array_agg(DISTINCT class)) AS classes,
       CASE
         WHEN count(*) FILTER (WHERE tool = 'mirai') >= 1
          AND 2 * count(*) FILTER (WHERE tool = 'mirai') > count(*) FILTER (WHERE class = 'scan') THEN make_array('mirai')
         WHEN count(*) FILTER (WHERE tool = 'masscan') >= 2
          AND 2 * count(*) FILTER (WHERE tool = 'masscan') > count(*) FILTER (WHERE class = 'scan') THEN make_array('masscan')
         WHEN count(*) FILTER (WHERE tool = 'zmap') >= 2
          AND 2 * count(*) FILTER (WHERE tool = 'zmap') > count(*) FILTER (WHERE class = 'scan') THEN make_array('zmap')
       END AS tools,
       count(*) FILTER (WHERE spoof IS NOT NULL) AS spoofed_packets,
       max(research) AS research,
       max(country) AS country,
       max(asn) AS asn,
       max(as_name) AS as_name
FROM packets
GROUP BY day, src_ip",
    },
    View {
        name: "port_activity",
        description: "one row per day, protocol and destination port: packets and distinct sources, all and scans only",
        sql: "SELECT day, protocol, dst_port,
       port_service(dst_port, protocol) AS service,
       count(*) AS packets,
       count(DISTINCT src_ip) AS sources,
       count(*) FILTER (WHERE class = 'scan') AS scan_packets,
       count(DISTINCT CASE WHEN class = 'scan' THEN src_ip END) AS scan_sources
FROM packets
WHERE dst_port IS NOT NULL
GROUP BY day, protocol, dst_port",
    },
    View {
        name: "backscatter_victims",
        description: "one row per day and backscatter source: the victim of a spoofed-source attack, how hard, which ports",
        sql: "SELECT day, src_ip AS victim,
       max(country) AS country,
       max(asn) AS asn,
       max(as_name) AS as_name,
       count(*) AS packets,
       count(DISTINCT dst_ip) AS dark_destinations,
       count(DISTINCT sensor) AS sensors,
       min(time) AS first_seen,
       max(time) AS last_seen,
       array_sort(array_agg(DISTINCT protocol)) AS protocols,
       count(DISTINCT coalesce(inner_dst_port, src_port)) AS attacked_ports
FROM packets
WHERE class = 'backscatter'
GROUP BY day, src_ip",
    },
];

/// Registers every view of [`VIEWS`] on `ctx`.
pub(crate) async fn register(ctx: &SessionContext) -> Result<(), QueryError> {
    for view in VIEWS {
        ctx.sql(&format!("CREATE VIEW {} AS {}", view.name, view.sql)).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `sources` view names each tool explicitly; a tool added to the classifier must be added there.
    #[test]
    fn sources_view_applies_the_agreement_rule_to_every_tool() {
        let sources = VIEWS.iter().find(|v| v.name == "sources").expect("the sources view is defined");
        for tool in nightjar_packet::Tool::ALL {
            let name = tool.name();
            let least = nightjar_packet::min_source_packets(tool);
            assert!(sources.sql.contains(&format!("FILTER (WHERE tool = '{name}') >= {least}")), "{name}: {least}");
            assert!(
                sources.sql.contains(&format!(
                    "2 * count(*) FILTER (WHERE tool = '{name}') > count(*) FILTER (WHERE class = 'scan')"
                )),
                "{name} needs a majority of scan packets"
            );
            assert!(sources.sql.contains(&format!("make_array('{name}')")), "{name} can be named");
        }
    }
}
