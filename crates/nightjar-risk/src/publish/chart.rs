//! Small inline SVG line charts for time series: the geometry here, the markup in the
//! `chart` macro of `templates/macros.html`.
//!
//! A partial last point (a day still receiving data) is drawn as an open circle and left out of
//! the line, so an incomplete day never reads as a drop.

use serde::Serialize;

const WIDTH: f64 = 360.0;
const HEIGHT: f64 = 140.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 10.0;
const TOP: f64 = 22.0;
const BOTTOM: f64 = 24.0;

/// One point of a series: its label (a day), value and whether it is partial.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SeriesPoint {
    /// The x label.
    pub label: String,
    /// The value.
    pub value: u64,
    /// Whether the value covers less than its whole period (drawn apart from the line).
    pub partial: bool,
}

/// A coordinate as SVG text: one decimal, none when it is whole (`44`, `99.4`).
fn coordinate(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}

/// A drawn point.
#[derive(Serialize)]
pub struct ChartPoint {
    x: String,
    y: String,
    label: String,
    value: u64,
    partial: bool,
}

/// Everything the chart macro draws.
#[derive(Serialize)]
pub struct Chart {
    title: String,
    width: String,
    height: String,
    left: String,
    right: String,
    top: String,
    bottom: String,
    label_x: String,
    max_y: String,
    axis_y: String,
    max: u64,
    first_label: Option<String>,
    last_label: Option<String>,
    /// The `points` of the polyline through the complete points (empty with fewer than two).
    line: String,
    points: Vec<ChartPoint>,
}

/// A line chart of `points` in order, titled `title`.
pub fn line_chart(title: &str, points: &[SeriesPoint]) -> Chart {
    let max = points.iter().map(|p| p.value).max().unwrap_or(0).max(1) as f64;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| {
        if points.len() <= 1 { LEFT + plot_w / 2.0 } else { LEFT + plot_w * i as f64 / (points.len() - 1) as f64 }
    };
    let y = |v: u64| TOP + plot_h * (1.0 - v as f64 / max);
    let drawn: Vec<ChartPoint> = points
        .iter()
        .enumerate()
        .map(|(i, p)| ChartPoint {
            x: coordinate(x(i)),
            y: coordinate(y(p.value)),
            label: p.label.clone(),
            value: p.value,
            partial: p.partial,
        })
        .collect();
    let complete: Vec<String> = drawn.iter().filter(|p| !p.partial).map(|p| format!("{},{}", p.x, p.y)).collect();
    Chart {
        title: title.to_string(),
        width: coordinate(WIDTH),
        height: coordinate(HEIGHT),
        left: coordinate(LEFT),
        right: coordinate(WIDTH - RIGHT),
        top: coordinate(TOP),
        bottom: coordinate(TOP + plot_h),
        label_x: coordinate(LEFT - 4.0),
        max_y: coordinate(TOP + 4.0),
        axis_y: coordinate(HEIGHT - 6.0),
        max: max as u64,
        first_label: points.first().map(|p| p.label.clone()),
        last_label: points.last().map(|p| p.label.clone()),
        line: if complete.len() > 1 { complete.join(" ") } else { String::new() },
        points: drawn,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(label: &str, value: u64, partial: bool) -> SeriesPoint {
        SeriesPoint { label: label.into(), value, partial }
    }

    #[test]
    fn a_partial_last_day_is_drawn_apart_from_the_line() {
        let chart = line_chart("t", &[point("d1", 100, false), point("d2", 120, false), point("d3", 10, true)]);
        assert_eq!(chart.line.split(' ').count(), 2, "the line joins the complete days only: {}", chart.line);
        assert!(chart.points[2].partial && !chart.points[1].partial);
        assert_eq!(chart.max, 120);
        let lone = line_chart("t", &[point("d1", 5, false), point("d2", 1, true)]);
        assert_eq!(lone.line, "", "one complete point draws no line");
        assert_eq!((coordinate(44.0), coordinate(99.44)), ("44".to_string(), "99.4".to_string()));
    }
}
