//! The page frame: escaping, the shared head (inline CSS and script) and footer.

/// Text made safe for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const CSS: &str = include_str!("site.css");
const SCRIPT: &str = include_str!("site.js");

/// Attribution owed for the data shown (ASN data: CC BY 4.0, with DB-IP's link-back request).
const FOOTER: &str = "<footer>\
<p>Computed by Nightjar from darknet (network telescope) traffic: every packet counted was unsolicited. \
Counts are of distinct source addresses; methods in <a href=\"data/datapackage.json\">data/datapackage.json</a> \
and <a href=\"data/risks.csv\">the risk taxonomy</a>.</p>\
<p>Map: <a href=\"https://www.naturalearthdata.com/\">Natural Earth</a> 1:110m countries (public domain). \
Countries: IPtoASN data via ip-location-db (PDDL 1.0). \
IP to ASN data by RouteViews and DB-IP, licensed under \
<a href=\"https://creativecommons.org/licenses/by/4.0/\">CC BY 4.0</a>; \
<a href=\"https://db-ip.com\">IP Geolocation by DB-IP</a>. RIR data by the NRO, licensed under CC BY 4.0.</p>\
</footer>";

/// A whole page: `title`, the navigation, `body`, the footer. Everything is
/// inline; the page loads nothing else.
pub fn page(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; \
         script-src 'unsafe-inline'; img-src data:\">\n\
         <title>{title}</title>\n<style>\n{CSS}</style>\n</head>\n<body>\n\
         <nav><a href=\"index.html\">Nightjar risk statistics</a> · <a href=\"risks.html\">Risks</a> · \
         <a href=\"countries.html\">Countries</a> · <a href=\"data/datapackage.json\">Open data</a></nav>\n\
         <main>\n{body}\n</main>\n{FOOTER}\n<script>\n{SCRIPT}</script>\n</body>\n</html>\n",
        title = escape(title),
    )
}
