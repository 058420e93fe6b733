//! Charts drawn on the server as SVG (no script, no third-party library): a rating's
//! history as a step line over time. Text is escaped; sizes are fixed so the page
//! stays small.

use std::fmt::Write as _;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// A score history (oldest first: a label for the x axis and a score 0–100 or none) as
/// an SVG line chart with its title for screen readers.
pub fn score_history(title: &str, points: &[(String, Option<f64>)]) -> String {
    const W: f64 = 640.0;
    const H: f64 = 220.0;
    const LEFT: f64 = 40.0;
    const BOTTOM: f64 = 30.0;
    const TOP: f64 = 10.0;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" role=\"img\" aria-labelledby=\"chart-title\" viewBox=\"0 0 {W} {H}\" width=\"{W}\" height=\"{H}\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"chart-title\">{}</title>",
        escape(title)
    );
    let plot_h = H - BOTTOM - TOP;
    for score in [0.0, 50.0, 100.0] {
        let y = TOP + plot_h * (1.0 - score / 100.0);
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{W}\" y2=\"{y:.1}\" stroke=\"#c9ced3\"/><text x=\"4\" y=\"{:.1}\">{score}</text>",
            y + 4.0
        );
    }
    let n = points.len().max(1);
    let step = (W - LEFT - 10.0) / (n.max(2) - 1) as f64;
    let mut path = String::new();
    for (i, (label, score)) in points.iter().enumerate() {
        let x = LEFT + step * i as f64;
        if let Some(score) = score {
            let y = TOP + plot_h * (1.0 - score.clamp(0.0, 100.0) / 100.0);
            let _ = write!(path, "{}{x:.1},{y:.1} ", if path.is_empty() { "M" } else { "L" });
            let _ = write!(
                svg,
                "<circle cx=\"{x:.1}\" cy=\"{y:.1}\" r=\"3\" fill=\"#0b4f8a\"><title>{} {score:.0}</title></circle>",
                escape(label)
            );
        }
        if i == 0 || i + 1 == points.len() {
            let _ =
                write!(svg, "<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>", H - 8.0, escape(label));
        }
    }
    if !path.is_empty() {
        let _ = write!(svg, "<path d=\"{}\" fill=\"none\" stroke=\"#0b4f8a\" stroke-width=\"2\"/>", path.trim_end());
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_history_draws_one_point_per_score_and_escapes_text() {
        let svg = score_history(
            "<b>",
            &[("2026-01".into(), Some(40.0)), ("2026-02".into(), None), ("x<y".into(), Some(80.0))],
        );
        assert_eq!(svg.matches("<circle").count(), 2);
        assert!(svg.contains("&lt;b&gt;") && !svg.contains("<b>"));
        assert!(svg.contains("x&lt;y"));
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
    }
}
