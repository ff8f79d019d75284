//! The world choropleth: vendored Natural Earth 1:110m shapes, pre-projected
//! (Equal Earth), coloured in classes of a ColorBrewer YlOrRd palette
//! (sequential, colour-blind safe), one fill per metric so the page's switch
//! only swaps attributes.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::{Map, Value, json};

/// The vendored shapes (see `data/README.md`; rebuilt by `data/refresh-shapes.py`).
const WORLD_110M: &str = include_str!("../../data/world-110m.json");

/// The code that draws a page's map from the shapes and the page's values.
const MAP_SCRIPT: &str = include_str!("map.js");

/// The code of the metric switch under a map.
const SWITCH_SCRIPT: &str = include_str!("site.js");

/// ColorBrewer YlOrRd, 7 classes: light = few, dark = many.
pub const PALETTE: [&str; 7] = ["#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#b10026"];

/// Fill of a country without a value.
pub const NO_DATA: &str = "#e3e3e3";

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

/// One metric of the switch.
#[derive(Serialize)]
pub struct MetricView {
    key: &'static str,
    label: &'static str,
}

/// One class of a legend: its colour and lower bound.
#[derive(Serialize)]
pub struct Swatch {
    colour: &'static str,
    label: String,
}

/// The legend of one metric.
#[derive(Serialize)]
pub struct LegendView {
    metric: &'static str,
    label: &'static str,
    swatches: Vec<Swatch>,
}

/// What a page's map section shows: the metric switch, the values the shared map script draws
/// (`values`, embedded in the page as JSON), and one legend per metric.
#[derive(Serialize)]
pub struct MapView {
    title: String,
    metrics: Vec<MetricView>,
    values: Value,
    legends: Vec<LegendView>,
    no_data: &'static str,
}

/// The map of `values` (by country code), coloured by count first; every country carries the
/// classes of the other metrics for the page's switch. `link` tells whether a country code has
/// a page (`country-<CC>.html`).
pub fn map_view(values: &BTreeMap<String, MapValues>, title: &str, link: impl Fn(&str) -> Option<String>) -> MapView {
    let classes: Vec<(&'static str, Option<Classes>)> = METRICS
        .iter()
        .map(|(metric, _)| {
            let all: Vec<f64> = values.values().filter_map(|v| v.get(metric)).collect();
            (*metric, Classes::new(&all, scale_of(metric)))
        })
        .collect();
    // Per country, compactly: [sources, has a page (1/0), then the palette class of each metric
    // or null for no data].
    let mut countries = Map::new();
    for (code, value) in values {
        let mut cells = vec![json!(value.count.round() as u64), json!(u8::from(link(code).is_some()))];
        for (metric, class) in &classes {
            let class_of = match (value.get(metric), class) {
                (Some(v), Some(c)) if v.is_finite() && (v > 0.0 || matches!(c.scale, Scale::Linear)) => {
                    json!(c.class_of(v))
                }
                _ => Value::Null,
            };
            cells.push(class_of);
        }
        countries.insert(code.clone(), Value::Array(cells));
    }
    MapView {
        title: title.to_string(),
        metrics: METRICS.iter().map(|(key, label)| MetricView { key, label }).collect(),
        values: json!({
            "title": title,
            "metrics": METRICS.iter().map(|(key, _)| *key).collect::<Vec<_>>(),
            "palette": PALETTE,
            "no_data": NO_DATA,
            "countries": countries,
        }),
        legends: classes.iter().map(|(metric, class)| legend(metric, class.as_ref())).collect(),
        no_data: NO_DATA,
    }
}

/// The shared map script (`assets/map.js`): the shapes, the code that draws a page's map, and
/// the metric switch.
pub fn map_asset() -> String {
    format!(
        "// Natural Earth 1:110m countries (public domain), pre-projected (Equal Earth).\nvar NIGHTJAR_WORLD = {};\n{}{}",
        WORLD_110M.trim(),
        MAP_SCRIPT,
        SWITCH_SCRIPT
    )
}

fn legend(metric: &'static str, classes: Option<&Classes>) -> LegendView {
    let label = METRICS.iter().find(|(m, _)| *m == metric).map(|(_, l)| *l).unwrap_or(metric);
    let swatches = classes
        .map(|c| {
            PALETTE
                .iter()
                .enumerate()
                .map(|(i, colour)| Swatch { colour, label: format!("≥ {}", format_value(c.bound(i), metric)) })
                .collect()
        })
        .unwrap_or_default();
    LegendView { metric, label, swatches }
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

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

    #[test]
    fn the_vendored_shapes_parse_and_name_many_countries() {
        let world = world();
        assert!(world.countries.len() > 150);
        for code in ["JP", "US", "BR", "FR", "NO", "XK"] {
            assert!(world.countries.iter().any(|c| c.iso_a2 == code), "{code} has a shape");
        }
        assert!(world.countries.iter().all(|c| c.d.starts_with('M') && c.iso_a2.len() == 2 && !c.name.is_empty()));
        assert!(world.view_box[2] > 0.0 && world.view_box[3] > 0.0);
        let unnamed: Vec<&str> = world
            .countries
            .iter()
            .map(|c| c.iso_a2.as_str())
            .filter(|code| !super::super::countries::is_country(code))
            .collect();
        assert!(unnamed.is_empty(), "map shapes without a country of their own: {unnamed:?}");
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
        values.insert("AP".to_string(), MapValues { count: 3.0, score: 47.7, rate: None, excess: None });
        let view = map_view(&values, "test", |cc| (cc != "AP").then(|| format!("country-{cc}.html")));
        let jp = &view.values["countries"]["JP"];
        assert_eq!(jp, &json!([10, 1, 6, 6, 6, null]), "linked, darkest class, no excess");
        assert_eq!(view.values["countries"]["AP"][1], 0, "a regional code has no page");
        assert_eq!(view.values["palette"][6], PALETTE[6]);
        assert_eq!(view.legends.len(), METRICS.len());
    }

    #[test]
    fn the_shared_asset_holds_the_shapes_and_the_drawing_code() {
        let asset = map_asset();
        let json =
            asset.split_once("var NIGHTJAR_WORLD = ").and_then(|(_, rest)| rest.split_once(";\n")).map(|(j, _)| j);
        let world: World = serde_json::from_str(json.expect("the shapes")).expect("valid shapes");
        assert!(world.countries.len() > 150);
        assert!(asset.contains("data-map-values"));
    }
}
