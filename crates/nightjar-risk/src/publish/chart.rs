//! Small inline SVG line charts for time series.

use std::fmt::Write as _;

use super::html::escape;

const WIDTH: f64 = 360.0;
const HEIGHT: f64 = 140.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 22.0;
const BOTTOM: f64 = 24.0;

/// A line chart of `points` (label, value) in order, titled `title`.
pub fn line_chart(title: &str, points: &[(String, u64)]) -> String {
    let max = points.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1) as f64;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| {
        if points.len() <= 1 { LEFT + plot_w / 2.0 } else { LEFT + plot_w * i as f64 / (points.len() - 1) as f64 }
    };
    let y = |v: u64| TOP + plot_h * (1.0 - v as f64 / max);
    let mut svg = format!(
        "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\" aria-label=\"{t}\" xmlns=\"http://www.w3.org/2000/svg\">\
         <title>{t}</title><text x=\"{LEFT}\" y=\"14\">{t}</text>",
        t = escape(title)
    );
    let _ = write!(
        svg,
        "<line x1=\"{LEFT}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\"/><line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{b}\"/>\
         <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\">{max}</text><text x=\"{lx}\" y=\"{b}\" text-anchor=\"end\">0</text>",
        b = TOP + plot_h,
        r = WIDTH - RIGHT,
        lx = LEFT - 4.0,
        ty = TOP + 4.0,
        max = max as u64,
    );
    if let (Some((first, _)), Some((last, _))) = (points.first(), points.last()) {
        let _ = write!(
            svg,
            "<text x=\"{LEFT}\" y=\"{h}\">{}</text><text x=\"{r}\" y=\"{h}\" text-anchor=\"end\">{}</text>",
            escape(first),
            escape(last),
            h = HEIGHT - 6.0,
            r = WIDTH - RIGHT,
        );
    }
    let coords: Vec<String> =
        points.iter().enumerate().map(|(i, (_, v))| format!("{:.1},{:.1}", x(i), y(*v))).collect();
    if points.len() > 1 {
        let _ = write!(svg, "<polyline points=\"{}\"/>", coords.join(" "));
    }
    for (i, (label, v)) in points.iter().enumerate() {
        let _ = write!(
            svg,
            "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"2.5\"><title>{}: {v}</title></circle>",
            x(i),
            y(*v),
            escape(label)
        );
    }
    svg.push_str("</svg>");
    svg
}
