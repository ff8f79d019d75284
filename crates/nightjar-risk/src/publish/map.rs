//! The world choropleth: vendored Natural Earth 1:110m shapes, pre-projected
//! (Equal Earth), coloured in classes of a ColorBrewer YlOrRd palette
//! (sequential, colour-blind safe), one fill per metric so the page's switch
//! only swaps attributes.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Deserialize;

use super::html::escape;

/// The vendored shapes (see `data/README.md`; rebuilt by `data/refresh-shapes.py`).
const WORLD_110M: &str = include_str!("../../data/world-110m.json");

/// ColorBrewer YlOrRd, 7 classes: light = few, dark = many.
pub const PALETTE: [&str; 7] = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"];

/// Fill of a country without a value.
pub const NO_DATA: &str = "#e3e3e3";

#[derive(Deserialize)]
struct World {
    view_box: [f64; 4],
    countries: Vec<Shape>,
}

#[derive(Deserialize)]
struct Shape {
    iso_a2: String,
    name: String,
    d: String,
}

fn world() -> World {
    serde_json::from_str(WORLD_110M).expect("data/world-110m.json is valid (checked by this crate's tests)")
}

/// Country names from the shapes file, by ISO alpha-2 code (for page titles).
pub fn country_names() -> BTreeMap<String, String> {
    let mut names = BTreeMap::new();
    for shape in world().countries {
        names.entry(shape.iso_a2).or_insert(shape.name);
    }
    names
}

/// The metrics a map can show.
pub const METRICS: [(&str, &str); 4] = [
    ("count", "Sources"),
    ("score", "Score"),
    ("rate", "Sources per million IPv4 addresses"),
    ("excess", "Excess (standard score)"),
];

/// How values become classes: on a log scale (counts, rates) or linear (scores, excess).
#[derive(Clone, Copy)]
enum Scale {
    Log,
    Linear,
}

/// Class boundaries for one metric and the class of a value.
struct Classes {
    low: f64,
    high: f64,
    scale: Scale,
}

impl Classes {
    fn new(values: &[f64], scale: Scale) -> Option<Classes> {
        let usable: Vec<f64> =
            values.iter().copied().filter(|v| v.is_finite() && (matches!(scale, Scale::Linear) || *v > 0.0)).collect();
        let low = usable.iter().copied().fold(f64::INFINITY, f64::min);
        let high = usable.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        (low.is_finite() && high.is_finite()).then_some(Classes { low, high, scale })
    }

    fn position(&self, value: f64) -> f64 {
        let (v, lo, hi) = match self.scale {
            Scale::Log => (value.max(self.low).ln(), self.low.ln(), self.high.ln()),
            Scale::Linear => (value, self.low, self.high),
        };
        if hi - lo <= f64::EPSILON { 1.0 } else { ((v - lo) / (hi - lo)).clamp(0.0, 1.0) }
    }

    fn class_of(&self, value: f64) -> usize {
        ((self.position(value) * PALETTE.len() as f64) as usize).min(PALETTE.len() - 1)
    }

    /// The lower bound of class `i`.
    fn bound(&self, i: usize) -> f64 {
        let t = i as f64 / PALETTE.len() as f64;
        match self.scale {
            Scale::Log => (self.low.ln() + t * (self.high.ln() - self.low.ln())).exp(),
            Scale::Linear => self.low + t * (self.high - self.low),
        }
    }
}

/// One country's values on the map.
#[derive(Clone, Debug, Default)]
pub struct MapValues {
    /// Distinct sources.
    pub count: f64,
    /// Score.
    pub score: f64,
    /// Rate per million addresses, if known.
    pub rate: Option<f64>,
    /// Excess, if computed.
    pub excess: Option<f64>,
}

impl MapValues {
    fn get(&self, metric: &str) -> Option<f64> {
        match metric {
            "count" => Some(self.count),
            "score" => Some(self.score),
            "rate" => self.rate,
            "excess" => self.excess,
            _ => None,
        }
    }
}

fn scale_of(metric: &str) -> Scale {
    if metric == "count" || metric == "rate" { Scale::Log } else { Scale::Linear }
}

fn format_value(value: f64, metric: &str) -> String {
    match metric {
        "count" => format!("{}", value.round()),
        "excess" => format!("{value:.2}"),
        _ if value >= 100.0 => format!("{value:.0}"),
        _ => format!("{value:.1}"),
    }
}

/// The map (SVG) and its legends, coloured by `count`; every path carries the
/// fills of the other metrics for the page's switch. `link` gives the page
/// of a country code.
pub fn choropleth(values: &BTreeMap<String, MapValues>, title: &str, link: impl Fn(&str) -> String) -> String {
    let world = world();
    let classes: Vec<(&str, Option<Classes>)> = METRICS
        .iter()
        .map(|(metric, _)| {
            let all: Vec<f64> = values.values().filter_map(|v| v.get(metric)).collect();
            (*metric, Classes::new(&all, scale_of(metric)))
        })
        .collect();
    let [x, y, w, h] = world.view_box;
    let mut svg = format!(
        "<svg class=\"map\" role=\"img\" aria-label=\"{}\" viewBox=\"{x} {y} {w} {h}\" xmlns=\"http://www.w3.org/2000/svg\">\n",
        escape(title)
    );
    let _ = writeln!(svg, "<title>{}</title>", escape(title));
    for shape in &world.countries {
        let value = values.get(&shape.iso_a2);
        let mut fills = String::new();
        let mut default_fill = NO_DATA.to_string();
        for (metric, class) in &classes {
            let fill = match (value.and_then(|v| v.get(metric)), class) {
                (Some(v), Some(c)) if v.is_finite() && (v > 0.0 || matches!(c.scale, Scale::Linear)) => {
                    PALETTE[c.class_of(v)].to_string()
                }
                _ => NO_DATA.to_string(),
            };
            if *metric == "count" {
                default_fill = fill.clone();
            }
            let _ = write!(fills, " data-fill-{metric}=\"{fill}\"");
        }
        let tip = match value {
            Some(v) => format!(
                "{}: {} {}",
                shape.name,
                format_value(v.count, "count"),
                if v.count == 1.0 { "source" } else { "sources" }
            ),
            None => format!("{}: no sources observed", shape.name),
        };
        let body = format!(
            "<path d=\"{}\" fill=\"{default_fill}\" data-country=\"{}\"{fills}><title>{}</title></path>",
            shape.d,
            escape(&shape.iso_a2),
            escape(&tip)
        );
        if value.is_some() {
            let _ = writeln!(svg, "<a href=\"{}\">{body}</a>", escape(&link(&shape.iso_a2)));
        } else {
            let _ = writeln!(svg, "{body}");
        }
    }
    svg.push_str("</svg>\n");
    for (metric, class) in &classes {
        svg.push_str(&legend(metric, class.as_ref()));
    }
    svg
}

fn legend(metric: &str, classes: Option<&Classes>) -> String {
    let label = METRICS.iter().find(|(m, _)| *m == metric).map(|(_, l)| *l).unwrap_or(metric);
    let hidden = if metric == "count" { "" } else { " hidden" };
    let mut html =
        format!("<div class=\"legend\" data-legend=\"{metric}\"{hidden}><span class=\"legend-title\">{label}</span>");
    if let Some(c) = classes {
        for (i, colour) in PALETTE.iter().enumerate() {
            let _ = write!(
                html,
                "<span class=\"swatch\"><i style=\"background:{colour}\"></i>{}</span>",
                escape(&format!("≥ {}", format_value(c.bound(i), metric)))
            );
        }
    }
    let _ = writeln!(html, "<span class=\"swatch\"><i style=\"background:{NO_DATA}\"></i>no data</span></div>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_vendored_shapes_parse_and_name_many_countries() {
        let world = world();
        assert!(world.countries.len() > 150);
        for code in ["JP", "US", "BR", "FR", "NO", "XK"] {
            assert!(world.countries.iter().any(|c| c.iso_a2 == code), "{code} has a shape");
        }
        assert!(world.countries.iter().all(|c| c.d.starts_with('M') && c.iso_a2.len() == 2));
    }

    #[test]
    fn classes_span_the_palette() {
        let c = Classes::new(&[1.0, 10.0, 100.0], Scale::Log).expect("classes");
        assert_eq!(c.class_of(1.0), 0);
        assert_eq!(c.class_of(100.0), PALETTE.len() - 1);
        let single = Classes::new(&[5.0], Scale::Log).expect("classes");
        assert_eq!(single.class_of(5.0), PALETTE.len() - 1);
    }

    #[test]
    fn countries_with_values_are_filled_and_linked() {
        let mut values = BTreeMap::new();
        values.insert("JP".to_string(), MapValues { count: 10.0, score: 100.0, rate: Some(0.1), excess: None });
        let svg = choropleth(&values, "test", |cc| format!("country-{cc}.html"));
        assert!(svg.contains("<a href=\"country-JP.html\"><path"));
        assert!(svg.contains(&format!("fill=\"{}\" data-country=\"JP\"", PALETTE[6])));
        assert!(svg.contains(&format!("fill=\"{NO_DATA}\" data-country=\"FR\"")));
    }
}
