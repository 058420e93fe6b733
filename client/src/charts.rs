//! The reports' charts (handbook 10.2), drawn by hand rather than with a chart crate: a
//! chart is a list of plain shapes (rectangles, lines, polylines, text) on a canvas of
//! its own size, so the one drawing serves every format: [`Chart::to_svg`] writes it as
//! SVG (inline in HTML, files or inline in Markdown), and the PDF typesetter
//! (`crate::pdf`) draws the same shapes as vector paths and text.
//!
//! The builders take plain numbers (counts per cell, values per series), not the
//! register: the report works them out, so this module sits below every aggregate.

use std::fmt::Write as _;

/// An sRGB colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Color(pub u8, pub u8, pub u8);

impl Color {
    pub const BLACK: Color = Color(0x22, 0x22, 0x22);
    pub const GREY: Color = Color(0x88, 0x88, 0x88);
    pub const LIGHT: Color = Color(0xdd, 0xdd, 0xdd);
    pub const WHITE: Color = Color(0xff, 0xff, 0xff);

    fn hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.0, self.1, self.2)
    }
}

/// Colours of series, told apart also in grey print.
pub const SERIES: [Color; 6] = [
    Color(0x1f, 0x5f, 0xa8),
    Color(0xd9, 0x7b, 0x16),
    Color(0x2e, 0x8b, 0x57),
    Color(0xb0, 0x24, 0x2a),
    Color(0x6a, 0x4c, 0x9c),
    Color(0x55, 0x55, 0x55),
];

/// Where a text's x falls on the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Start,
    Middle,
    End,
}

/// A shape on the chart's canvas: origin top left, y downwards, units are points.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    Rect {
        x: f32,
        y: f32,
        w: f32,
        h: f32,
        fill: Color,
        stroke: Option<Color>,
    },
    Line {
        x1: f32,
        y1: f32,
        x2: f32,
        y2: f32,
        stroke: Color,
        width: f32,
    },
    Polyline {
        points: Vec<(f32, f32)>,
        stroke: Color,
        width: f32,
    },
    /// `y` is the baseline.
    Text {
        x: f32,
        y: f32,
        text: String,
        size: f32,
        anchor: Anchor,
        fill: Color,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    /// Said under the drawing and as the SVG's `<title>`.
    pub title: String,
    pub width: f32,
    pub height: f32,
    pub shapes: Vec<Shape>,
}

/// A named row of values.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

/// Text and attribute values escaped for XML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Control characters are not allowed in XML 1.0 at all.
            c if (c as u32) < 0x20 && !matches!(c, '\n' | '\t') => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

impl Chart {
    /// The chart as a standalone SVG element (also valid inline in HTML).
    pub fn to_svg(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" \
             font-family=\"'Noto Sans CJK JP','Noto Sans JP',sans-serif\"><title>{t}</title>",
            w = self.width,
            h = self.height,
            t = escape(&self.title)
        );
        for shape in &self.shapes {
            match shape {
                Shape::Rect { x, y, w, h, fill, stroke } => {
                    let _ = write!(s, "<rect x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" fill=\"{}\"", fill.hex());
                    if let Some(c) = stroke {
                        let _ = write!(s, " stroke=\"{}\" stroke-width=\"0.5\"", c.hex());
                    }
                    s.push_str("/>\n");
                }
                Shape::Line { x1, y1, x2, y2, stroke, width } => {
                    let _ = writeln!(
                        s,
                        "<line x1=\"{x1}\" y1=\"{y1}\" x2=\"{x2}\" y2=\"{y2}\" stroke=\"{}\" stroke-width=\"{width}\"/>",
                        stroke.hex()
                    );
                }
                Shape::Polyline { points, stroke, width } => {
                    let pts: Vec<String> = points.iter().map(|(x, y)| format!("{x},{y}")).collect();
                    let _ = writeln!(
                        s,
                        "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{width}\"/>",
                        pts.join(" "),
                        stroke.hex()
                    );
                }
                Shape::Text { x, y, text, size, anchor, fill } => {
                    let anchor = match anchor {
                        Anchor::Start => "start",
                        Anchor::Middle => "middle",
                        Anchor::End => "end",
                    };
                    let _ = writeln!(
                        s,
                        "<text x=\"{x}\" y=\"{y}\" font-size=\"{size}\" text-anchor=\"{anchor}\" fill=\"{}\">{}</text>",
                        fill.hex(),
                        escape(text)
                    );
                }
            }
        }
        s.push_str("</svg>\n");
        s
    }
}

fn text(x: f32, y: f32, text: impl Into<String>, size: f32, anchor: Anchor) -> Shape {
    Shape::Text { x, y, text: text.into(), size, anchor, fill: Color::BLACK }
}

/// A colour from green (0) to red (1).
fn heat(t: f32) -> Color {
    let stops = [(0x9c, 0xd0, 0x8f), (0xf5, 0xe0, 0x7a), (0xf0, 0xa0, 0x50), (0xd8, 0x4a, 0x3f)];
    let t = t.clamp(0.0, 1.0) * (stops.len() - 1) as f32;
    let i = (t.floor() as usize).min(stops.len() - 2);
    let f = t - i as f32;
    let mix = |a: u8, b: u8| (a as f32 + (b as f32 - a as f32) * f).round() as u8;
    Color(mix(stops[i].0, stops[i + 1].0), mix(stops[i].1, stops[i + 1].1), mix(stops[i].2, stops[i + 1].2))
}

/// The risk heat map: `counts[likelihood-1][impact-1]` risks in each cell, the cell
/// coloured by its level (`levels[likelihood-1][impact-1]` of `level_count`), likelihood
/// up the side (highest at the top), impact along the bottom.
pub fn heat_map(
    title: &str,
    x_label: &str,
    y_label: &str,
    counts: &[Vec<usize>],
    levels: &[Vec<usize>],
    level_count: usize,
) -> Chart {
    let scale = counts.len().max(1);
    let cell = (260.0 / scale as f32).min(52.0);
    let (left, top) = (60.0, 16.0);
    let mut shapes = Vec::new();
    for (l, row) in counts.iter().enumerate() {
        for (i, &n) in row.iter().enumerate() {
            let x = left + i as f32 * cell;
            let y = top + (scale - 1 - l) as f32 * cell;
            let level = levels.get(l).and_then(|r| r.get(i)).copied().unwrap_or(0);
            let t = if level_count > 1 { level as f32 / (level_count - 1) as f32 } else { 0.0 };
            shapes.push(Shape::Rect { x, y, w: cell, h: cell, fill: heat(t), stroke: Some(Color::WHITE) });
            if n > 0 {
                shapes.push(text(x + cell / 2.0, y + cell / 2.0 + 5.0, n.to_string(), 13.0, Anchor::Middle));
            }
        }
    }
    let grid = cell * scale as f32;
    for k in 0..scale {
        let label = (k + 1).to_string();
        shapes.push(text(left + (k as f32 + 0.5) * cell, top + grid + 14.0, label.clone(), 9.0, Anchor::Middle));
        shapes.push(text(left - 6.0, top + (scale - 1 - k) as f32 * cell + cell / 2.0 + 3.0, label, 9.0, Anchor::End));
    }
    shapes.push(text(left + grid / 2.0, top + grid + 30.0, x_label, 10.0, Anchor::Middle));
    shapes.push(text(4.0, top - 4.0, y_label, 10.0, Anchor::Start));
    Chart { title: title.into(), width: left + grid + 20.0, height: top + grid + 40.0, shapes }
}

/// The y axis of a plot: (top value, step) for values up to `max`.
fn axis(max: f64) -> (f64, f64) {
    if max <= 0.0 {
        return (1.0, 1.0);
    }
    let raw = max / 4.0;
    let magnitude = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * magnitude).find(|s| *s >= raw).unwrap_or(10.0 * magnitude);
    let step = step.max(1.0);
    ((max / step).ceil() * step, step)
}

const PLOT_W: f32 = 440.0;
const PLOT_H: f32 = 160.0;
const PLOT_LEFT: f32 = 40.0;
const PLOT_TOP: f32 = 12.0;

/// Axes, horizontal grid lines and the category labels (every one that fits), shared
/// by the line and bar charts; returns the shapes and the scale of the y axis.
fn frame(categories: &[String], max: f64, y_max: Option<f64>) -> (Vec<Shape>, f64) {
    let (top, step) = match y_max {
        Some(m) => (m, 1.0),
        None => axis(max),
    };
    let mut shapes = Vec::new();
    let mut v = 0.0;
    while v <= top + 1e-9 {
        let y = PLOT_TOP + PLOT_H - (v / top) as f32 * PLOT_H;
        shapes.push(Shape::Line {
            x1: PLOT_LEFT,
            y1: y,
            x2: PLOT_LEFT + PLOT_W,
            y2: y,
            stroke: Color::LIGHT,
            width: 0.5,
        });
        shapes.push(text(PLOT_LEFT - 4.0, y + 3.0, format!("{v}"), 8.0, Anchor::End));
        v += step;
    }
    shapes.push(Shape::Line {
        x1: PLOT_LEFT,
        y1: PLOT_TOP + PLOT_H,
        x2: PLOT_LEFT + PLOT_W,
        y2: PLOT_TOP + PLOT_H,
        stroke: Color::GREY,
        width: 1.0,
    });
    let n = categories.len().max(1);
    let every = n.div_ceil(12).max(1);
    for (k, c) in categories.iter().enumerate() {
        if k % every == 0 {
            let x = PLOT_LEFT + (k as f32 + 0.5) * PLOT_W / n as f32;
            shapes.push(text(x, PLOT_TOP + PLOT_H + 12.0, c.clone(), 7.5, Anchor::Middle));
        }
    }
    (shapes, top)
}

fn legend(shapes: &mut Vec<Shape>, series: &[Series], y: f32) {
    let mut x = PLOT_LEFT;
    for (k, s) in series.iter().enumerate() {
        let color = SERIES[k % SERIES.len()];
        shapes.push(Shape::Rect { x, y: y - 7.0, w: 8.0, h: 8.0, fill: color, stroke: None });
        shapes.push(text(x + 11.0, y, s.name.clone(), 8.5, Anchor::Start));
        // Room for the name: about a point per half em of Latin, a full em of CJK.
        let width: f32 = s.name.chars().map(|c| if c.is_ascii() { 4.8 } else { 8.5 }).sum();
        x += width + 26.0;
    }
}

/// Lines over time (one per series) at the categories' middles.
pub fn lines(title: &str, categories: &[String], series: &[Series]) -> Chart {
    let max = series.iter().flat_map(|s| s.values.iter().copied()).fold(0.0, f64::max);
    let (mut shapes, top) = frame(categories, max, None);
    let n = categories.len().max(1);
    for (k, s) in series.iter().enumerate() {
        let points: Vec<(f32, f32)> = s
            .values
            .iter()
            .enumerate()
            .map(|(i, v)| {
                (PLOT_LEFT + (i as f32 + 0.5) * PLOT_W / n as f32, PLOT_TOP + PLOT_H - (v / top) as f32 * PLOT_H)
            })
            .collect();
        let color = SERIES[k % SERIES.len()];
        if points.len() == 1 {
            let (x, y) = points[0];
            shapes.push(Shape::Rect { x: x - 2.0, y: y - 2.0, w: 4.0, h: 4.0, fill: color, stroke: None });
        }
        shapes.push(Shape::Polyline { points, stroke: color, width: 1.5 });
    }
    legend(&mut shapes, series, PLOT_TOP + PLOT_H + 30.0);
    Chart { title: title.into(), width: PLOT_LEFT + PLOT_W + 10.0, height: PLOT_TOP + PLOT_H + 40.0, shapes }
}

/// Bars side by side per category, one per series; `y_max` fixes the axis (a tier
/// scale), else it follows the values.
pub fn bars(title: &str, categories: &[String], series: &[Series], y_max: Option<f64>) -> Chart {
    let max = series.iter().flat_map(|s| s.values.iter().copied()).fold(0.0, f64::max);
    let (mut shapes, top) = frame(categories, max, y_max);
    let n = categories.len().max(1);
    let slot = PLOT_W / n as f32;
    let bar = (slot * 0.8 / series.len().max(1) as f32).min(24.0);
    for (k, s) in series.iter().enumerate() {
        let color = SERIES[k % SERIES.len()];
        for (i, v) in s.values.iter().enumerate() {
            let h = (v.max(0.0) / top) as f32 * PLOT_H;
            if h > 0.0 {
                let x = PLOT_LEFT + i as f32 * slot + (slot - bar * series.len() as f32) / 2.0 + k as f32 * bar;
                shapes.push(Shape::Rect { x, y: PLOT_TOP + PLOT_H - h, w: bar, h, fill: color, stroke: None });
            }
        }
    }
    legend(&mut shapes, series, PLOT_TOP + PLOT_H + 30.0);
    Chart { title: title.into(), width: PLOT_LEFT + PLOT_W + 10.0, height: PLOT_TOP + PLOT_H + 40.0, shapes }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn svg_escapes_text_and_counts_cells() {
        let counts = vec![vec![0, 2], vec![1, 0]];
        let levels = vec![vec![0, 1], vec![1, 1]];
        let chart = heat_map("Heat <map> & \"ヒート\"", "Impact / 影響度", "Likelihood", &counts, &levels, 2);
        let svg = chart.to_svg();
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""), "{svg}");
        assert!(svg.contains("<title>Heat &lt;map&gt; &amp; &quot;ヒート&quot;</title>"), "{svg}");
        assert_eq!(svg.matches("<rect").count(), 4, "one cell each");
        assert!(svg.contains(">2</text>") && svg.contains(">1</text>"), "{svg}");
        assert!(svg.trim_end().ends_with("</svg>"));
        assert_eq!(svg.matches('<').count(), svg.matches('>').count());
    }

    #[test]
    fn axis_rounds_up_to_a_step() {
        assert_eq!(axis(0.0), (1.0, 1.0));
        assert_eq!(axis(3.0), (3.0, 1.0));
        assert_eq!(axis(17.0), (20.0, 5.0));
        assert_eq!(axis(1234.0), (1500.0, 500.0));
    }

    #[test]
    fn bars_and_lines_draw_every_value() {
        let cats: Vec<String> = ["GV", "ID"].iter().map(|s| s.to_string()).collect();
        let series = vec![
            Series { name: "Current / 現在".into(), values: vec![1.0, 2.0] },
            Series { name: "Target / 目標".into(), values: vec![3.0, 0.0] },
        ];
        let chart = bars("Profile", &cats, &series, Some(4.0));
        // Three bars (a zero draws none) and two legend keys.
        assert_eq!(chart.shapes.iter().filter(|s| matches!(s, Shape::Rect { .. })).count(), 5);
        let chart = lines("Trend", &cats, &series);
        assert_eq!(chart.shapes.iter().filter(|s| matches!(s, Shape::Polyline { .. })).count(), 2);
    }
}
