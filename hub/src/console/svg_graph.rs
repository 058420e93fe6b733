//! Graphs drawn on the server as SVG (markup, no script): a supplier's supply chain as
//! a tree of boxes (the supplier, its offerings, the subcontractors each relies on)
//! joined by arrows. Every text is escaped; the tree arrives bounded (the page decides
//! how deep and how many), so the drawing stays small. The page shows the same tree as
//! a nested list for screen readers; the drawing links nowhere.

use std::fmt::Write as _;

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

/// What a box of the chain stands for (how it is drawn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A supplier the viewer may see.
    Supplier,
    /// A product or service of the supplier above it.
    Offering,
    /// A subcontractor the viewer may not see: drawn without a name.
    Hidden,
    /// A supplier already drawn (above, or on the path to it): not expanded again.
    Repeat,
}

/// One box of the chain and what hangs below it.
#[derive(Debug, Clone)]
pub struct ChainNode {
    pub kind: NodeKind,
    /// The box's text (a name, or the "not visible to you" text).
    pub label: String,
    /// A short remark after the label (an offering's kind, "shown above"); may be empty.
    pub note: String,
    /// Where the list beside the drawing links this entry (the drawing links nowhere).
    pub href: Option<String>,
    pub children: Vec<ChainNode>,
}

const ROW: f64 = 44.0;
const BOX_H: f64 = 30.0;
const INDENT: f64 = 36.0;
const MARGIN: f64 = 10.0;
const PAD: f64 = 10.0;
const FONT: f64 = 13.0;
/// The widest box; longer texts are cut with an ellipsis (the box's tooltip has all).
const MAX_BOX_W: f64 = 520.0;

/// The width a text takes at the font size (CJK and other wide characters about a
/// square each, Latin about half).
fn text_width(s: &str) -> f64 {
    s.chars().map(|c| if c.is_ascii() { FONT * 0.56 } else { FONT * 1.02 }).sum()
}

/// The text cut to fit `max` (with an ellipsis when cut).
fn fit(s: &str, max: f64) -> String {
    if text_width(s) <= max {
        return s.to_string();
    }
    let mut out = String::new();
    let mut width = text_width("…");
    for c in s.chars() {
        let w = text_width(c.encode_utf8(&mut [0; 4]));
        if width + w > max {
            break;
        }
        width += w;
        out.push(c);
    }
    out.push('…');
    out
}

struct Placed<'a> {
    node: &'a ChainNode,
    depth: usize,
    row: usize,
    parent: Option<usize>,
}

fn place<'a>(node: &'a ChainNode, depth: usize, parent: Option<usize>, out: &mut Vec<Placed<'a>>) {
    let index = out.len();
    out.push(Placed { node, depth, row: index, parent });
    for child in &node.children {
        place(child, depth + 1, Some(index), out);
    }
}

/// The box's text: the label, and the note after a dash.
fn shown_text(node: &ChainNode) -> String {
    if node.note.is_empty() {
        node.label.clone()
    } else {
        format!("{} — {}", node.label, node.note)
    }
}

/// A supplier's chain (the root is the supplier) as an SVG image with `title` for
/// screen readers: one row per box, each indented below the box it hangs from, an arrow
/// from the parent to each child.
pub fn supplier_chain(title: &str, root: &ChainNode) -> String {
    let mut placed = Vec::new();
    place(root, 0, None, &mut placed);
    // Each box's left edge and width.
    let geometry: Vec<(f64, f64, String)> = placed
        .iter()
        .map(|p| {
            let x = MARGIN + INDENT * p.depth as f64;
            let text = fit(&shown_text(p.node), MAX_BOX_W - 2.0 * PAD);
            let w = (text_width(&text) + 2.0 * PAD).clamp(60.0, MAX_BOX_W);
            (x, w, text)
        })
        .collect();
    let width = geometry.iter().map(|(x, w, _)| x + w).fold(200.0_f64, f64::max) + MARGIN;
    let height = placed.len() as f64 * ROW + MARGIN;
    let mut svg = String::new();
    let _ = write!(
        svg,
        "<svg class=\"chart\" role=\"img\" aria-labelledby=\"chain-title\" viewBox=\"0 0 {width:.0} {height:.0}\" width=\"{width:.0}\" height=\"{height:.0}\" xmlns=\"http://www.w3.org/2000/svg\"><title id=\"chain-title\">{}</title>",
        escape(title)
    );
    svg.push_str(
        "<defs><marker id=\"chain-arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#5a6570\"/></marker></defs>",
    );
    let top = |row: usize| MARGIN + row as f64 * ROW;
    // Arrows first, so boxes sit on top of them.
    for p in &placed {
        let Some(parent) = p.parent else { continue };
        let (px, _, _) = geometry[parent];
        let (cx, _, _) = geometry[p.row];
        let from_x = px + INDENT / 2.0;
        let from_y = top(placed[parent].row) + BOX_H;
        let to_y = top(p.row) + BOX_H / 2.0;
        let _ = write!(
            svg,
            "<path d=\"M{from_x:.1},{from_y:.1} V{to_y:.1} H{cx:.1}\" fill=\"none\" stroke=\"#5a6570\" stroke-width=\"1.5\" marker-end=\"url(#chain-arrow)\"/>"
        );
    }
    for (p, (x, w, text)) in placed.iter().zip(&geometry) {
        let y = top(p.row);
        let (fill, stroke, dash, rx) = match p.node.kind {
            NodeKind::Supplier => ("#e8f0f8", "#0b4f8a", "", 3),
            NodeKind::Offering => ("#ffffff", "#5a6570", "", 12),
            NodeKind::Hidden => ("#f2f2f2", "#8a8f94", " stroke-dasharray=\"5 3\"", 3),
            NodeKind::Repeat => ("#ffffff", "#8a8f94", " stroke-dasharray=\"2 2\"", 3),
        };
        let class = match p.node.kind {
            NodeKind::Supplier => "supplier",
            NodeKind::Offering => "offering",
            NodeKind::Hidden => "hidden",
            NodeKind::Repeat => "repeat",
        };
        let text_fill = if p.node.kind == NodeKind::Hidden { "#4a4f54" } else { "#1b1f23" };
        let _ = write!(
            svg,
            "<g class=\"node {class}\"><title>{}</title><rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{BOX_H}\" rx=\"{rx}\" fill=\"{fill}\" stroke=\"{stroke}\"{dash}/><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"{FONT}\" fill=\"{text_fill}\">{}</text></g>",
            escape(&shown_text(p.node)),
            x + PAD,
            y + BOX_H / 2.0 + FONT * 0.35,
            escape(text)
        );
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(kind: NodeKind, label: &str, children: Vec<ChainNode>) -> ChainNode {
        ChainNode { kind, label: label.into(), note: String::new(), href: None, children }
    }

    #[test]
    fn a_chain_draws_a_box_per_node_an_arrow_per_link_and_escapes_text() {
        let root = node(
            NodeKind::Supplier,
            "<script>alert(1)</script>",
            vec![node(
                NodeKind::Offering,
                "制御装置 & \"保守\"",
                vec![node(NodeKind::Supplier, "Sub <b>", vec![]), node(NodeKind::Hidden, "not visible to you", vec![])],
            )],
        );
        let svg = supplier_chain("chain of <x>", &root);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert!(svg.contains("role=\"img\"") && svg.contains("<title id=\"chain-title\">chain of &lt;x&gt;</title>"));
        assert_eq!(svg.matches("<rect").count(), 4, "one box per node");
        assert_eq!(svg.matches("marker-end").count(), 3, "one arrow per link");
        assert!(!svg.contains("<script>") && svg.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        assert!(svg.contains("制御装置 &amp; &quot;保守&quot;"));
        assert!(!svg.contains("<b>") && svg.contains("Sub &lt;b&gt;"));
        assert!(svg.contains("class=\"node hidden\""));
    }

    #[test]
    fn long_names_are_cut_to_the_widest_box_but_kept_whole_in_the_tooltip() {
        let long = "株式会社".repeat(40);
        let svg = supplier_chain("t", &node(NodeKind::Supplier, &long, vec![]));
        assert!(svg.contains('…'));
        assert!(svg.contains(&format!("<title>{long}</title>")));
        let width: f64 = svg
            .split("width=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .and_then(|s| s.parse().ok())
            .unwrap_or(f64::MAX);
        assert!(width <= MAX_BOX_W + 3.0 * MARGIN, "{width}");
    }
}
