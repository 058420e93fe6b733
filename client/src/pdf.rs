//! The PDF typesetter of the reports (handbook 10.2): headings, paragraphs, key
//! figures, tables and charts ([`crate::charts`]) laid out on A4 pages, with Japanese
//! typeset in an embedded CJK font.
//!
//! Built on `krilla` (pure Rust, over `pdf-writer`): it embeds a font as a subset of
//! only the glyphs used (CFF outlines too, as in Noto Sans CJK, so the PDF stays small:
//! tens of kilobytes, not the font's 19 MB) with a ToUnicode map, so the text can be
//! searched and extracted. `printpdf` was the other candidate; krilla was chosen for its
//! CID font subsetting of OpenType collections (`.ttc` with a face index) and because it
//! needs no C library (no OpenSSL, no aws-lc). Layout is ours: glyph advances are read
//! with `ttf-parser` (already under krilla's shaper), lines break at spaces and between
//! any two CJK characters (never before closing punctuation), tables repeat their
//! heading row on every page they continue onto, and every page is numbered "n / N" —
//! pages are laid out first and drawn once their count is known.
//!
//! The font: `--font FILE[#INDEX]` (the command line also reads `RENKEI_REPORT_FONT`),
//! else the first of the usual Debian and Ubuntu paths ([`KNOWN_FONTS`]); a missing
//! font is an error in both languages naming the package to install (`fonts-noto-cjk`).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::charts::{Anchor, Chart, Color, Shape};
use crate::error::Result;
use crate::{bail, ensure};

/// Fonts with Japanese glyphs where Debian and Ubuntu install them, with the face
/// index: the first face of Noto Sans CJK's collection is the Japanese one.
pub const KNOWN_FONTS: [(&str, u32); 6] = [
    ("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 0),
    ("/usr/share/fonts/opentype/noto/NotoSansCJKjp-Regular.otf", 0),
    ("/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc", 0),
    ("/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf", 0),
    ("/usr/share/fonts/opentype/ipafont-gothic/ipag.ttf", 0),
    ("/usr/share/fonts/truetype/fonts-japanese-gothic.ttf", 0),
];

/// A font file and the face to use in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FontChoice {
    pub path: PathBuf,
    pub index: u32,
}

/// The font to typeset with: `given` (`FILE` or `FILE#INDEX`) if any, else the first
/// known path that exists.
pub fn find_font(given: Option<&str>) -> Result<FontChoice> {
    if let Some(spec) = given.filter(|s| !s.trim().is_empty()) {
        // A file named with a # of its own is that file, face 0.
        let whole = Path::new(spec).is_file();
        let (path, index) = match spec.rsplit_once('#').filter(|_| !whole) {
            Some((path, index)) => match index.parse::<u32>() {
                Ok(i) => (path, i),
                Err(_) => bail!(
                    "font {spec:?}: the face index after # must be a number / フォント「{spec}」: # の後は面の番号(数字)です"
                ),
            },
            None => (spec, 0),
        };
        ensure!(
            Path::new(path).is_file(),
            "font file {path:?} not found (install Debian's fonts-noto-cjk, or give another file) / \
             フォントファイル「{path}」がありません(fonts-noto-cjk パッケージを入れるか、別のファイルを指定してください)"
        );
        return Ok(FontChoice { path: path.into(), index });
    }
    match KNOWN_FONTS.iter().find(|(p, _)| Path::new(p).is_file()) {
        Some((path, index)) => Ok(FontChoice { path: path.into(), index: *index }),
        None => bail!(
            "no Japanese font found for the PDF: install Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk), \
             or give --font FILE[#INDEX] or RENKEI_REPORT_FONT / PDF用の日本語フォントが見つかりません: \
             fonts-noto-cjk パッケージを入れる(apt-get install fonts-noto-cjk)か、--font FILE[#番号] または \
             RENKEI_REPORT_FONT で指定してください"
        ),
    }
}

// A4 in points, and the page's frame.
const PAGE_W: f32 = 595.28;
const PAGE_H: f32 = 841.89;
const MARGIN: f32 = 48.0;
const TOP: f32 = 56.0;
const BOTTOM: f32 = PAGE_H - 52.0;
const WIDTH: f32 = PAGE_W - 2.0 * MARGIN;

const BODY: f32 = 9.5;
const CELL: f32 = 8.0;
const PAD: f32 = 3.0;
/// A cell never takes more lines than this; the rest is cut with an ellipsis.
const MAX_CELL_LINES: usize = 24;

/// Something drawn on a page, in page coordinates (top left origin, y down).
#[derive(Debug, Clone)]
enum Op {
    Text { x: f32, y: f32, size: f32, text: String, color: Color },
    Rect { x: f32, y: f32, w: f32, h: f32, fill: Option<Color>, stroke: Option<Color> },
    Line { x1: f32, y1: f32, x2: f32, y2: f32, color: Color, width: f32 },
    Polyline { points: Vec<(f32, f32)>, color: Color, width: f32 },
}

/// Lays out a document page by page; [`Typesetter::finish`] draws it into a PDF.
pub struct Typesetter {
    data: Arc<Vec<u8>>,
    index: u32,
    units_per_em: f32,
    /// char -> (glyph id, advance in em).
    glyphs: HashMap<char, (u16, f32)>,
    title: String,
    pages: Vec<Vec<Op>>,
    y: f32,
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x2E80..=0x9FFF | 0xF900..=0xFAFF | 0xFF00..=0xFFEF | 0x20000..=0x2FFFF)
}

/// Characters that must not begin a line (Japanese kinsoku, and Latin closers).
fn no_break_before(c: char) -> bool {
    "、。,.，．)]}）」』】〕〉》ー・:;：；!?！？%ゃゅょっぁぃぅぇぉャュョッァィゥェォ々".contains(c)
}

/// Characters that must not end a line (opening brackets).
fn no_break_after(c: char) -> bool {
    "([{（「『【〔〈《".contains(c)
}

impl Typesetter {
    /// Reads the font; refuses one that has no Japanese glyphs.
    pub fn new(font: &FontChoice, title: &str) -> Result<Typesetter> {
        let bytes = std::fs::read(&font.path).map_err(|e| {
            crate::error::Error::Invalid(format!(
                "font file {}: {e} / フォントファイル {} を読めません: {e}",
                font.path.display(),
                font.path.display()
            ))
        })?;
        let units_per_em = {
            let face = match ttf_parser::Face::parse(&bytes, font.index) {
                Ok(face) => face,
                Err(e) => bail!(
                    "{} (face {}) is not a usable font: {e} / {}(面 {})はフォントとして読めません: {e}",
                    font.path.display(),
                    font.index,
                    font.path.display(),
                    font.index
                ),
            };
            ensure!(
                "日本語報告".chars().all(|c| face.glyph_index(c).is_some()),
                "{} (face {}) has no Japanese glyphs: use Debian's fonts-noto-cjk / {}(面 {})には日本語の字形がありません(fonts-noto-cjk を使ってください)",
                font.path.display(),
                font.index,
                font.path.display(),
                font.index
            );
            face.units_per_em() as f32
        };
        let mut t = Typesetter {
            data: Arc::new(bytes),
            index: font.index,
            units_per_em,
            glyphs: HashMap::new(),
            title: title.to_string(),
            pages: vec![Vec::new()],
            y: TOP,
        };
        t.heading(1, title);
        Ok(t)
    }

    /// Looks up every character of `text` not seen yet (one parse of the font per
    /// call that meets a new character).
    fn learn(&mut self, text: &str) {
        if text.chars().all(|c| self.glyphs.contains_key(&c)) {
            return;
        }
        let Ok(face) = ttf_parser::Face::parse(&self.data, self.index) else { return };
        for c in text.chars() {
            self.glyphs.entry(c).or_insert_with(|| {
                let id = face.glyph_index(c).unwrap_or(ttf_parser::GlyphId(0));
                let advance = face.glyph_hor_advance(id).unwrap_or(0) as f32 / self.units_per_em;
                (id.0, advance)
            });
        }
    }

    fn measure(&mut self, text: &str, size: f32) -> f32 {
        self.learn(text);
        text.chars().map(|c| self.glyphs.get(&c).map_or(0.0, |g| g.1)).sum::<f32>() * size
    }

    /// Breaks text into lines no wider than `width`: at spaces and newlines, between
    /// CJK characters, and inside a word only when the word alone is too wide.
    fn wrap(&mut self, text: &str, size: f32, width: f32) -> Vec<String> {
        self.learn(text);
        let advance = |t: &Typesetter, c: char| t.glyphs.get(&c).map_or(0.0, |g| g.1) * size;
        let mut lines = Vec::new();
        // A bilingual "English / 日本語" (one slash) that does not fit breaks after the
        // slash first.
        let mut paragraphs: Vec<String> = Vec::new();
        for paragraph in text.split('\n') {
            let full: f32 = paragraph.chars().map(|c| advance(self, c)).sum();
            match paragraph.split_once(" / ") {
                Some((en, ja)) if full > width && !ja.contains(" / ") => {
                    paragraphs.push(format!("{en} /"));
                    paragraphs.push(ja.to_string());
                }
                _ => paragraphs.push(paragraph.to_string()),
            }
        }
        for paragraph in &paragraphs {
            // Units that stay together: a CJK character (with closing punctuation after
            // it), a word with the spaces after it.
            let mut units: Vec<String> = Vec::new();
            for c in paragraph.chars() {
                let joins = match (units.last(), c) {
                    (None, _) => false,
                    (Some(_), c) if no_break_before(c) => true,
                    (Some(last), _) if last.chars().last().is_some_and(no_break_after) => true,
                    (Some(_), c) if is_cjk(c) => false,
                    (Some(last), ' ') => !last.is_empty(),
                    (Some(last), _) => last.chars().last().is_some_and(|l| l != ' ' && !is_cjk(l)),
                };
                match units.last_mut() {
                    Some(last) if joins => last.push(c),
                    _ => units.push(c.to_string()),
                }
            }
            let mut line = String::new();
            let mut line_w = 0.0;
            for unit in units {
                let w: f32 = unit.chars().map(|c| advance(self, c)).sum();
                let visible_w: f32 = unit.trim_end().chars().map(|c| advance(self, c)).sum();
                if line_w + visible_w > width && !line.is_empty() {
                    lines.push(line.trim_end().to_string());
                    line.clear();
                    line_w = 0.0;
                }
                if visible_w > width {
                    // A word wider than the line: cut it where it fills one.
                    for c in unit.chars() {
                        let cw = advance(self, c);
                        if line_w + cw > width && !line.is_empty() {
                            lines.push(std::mem::take(&mut line));
                            line_w = 0.0;
                        }
                        line.push(c);
                        line_w += cw;
                    }
                } else {
                    line.push_str(&unit);
                    line_w += w;
                }
            }
            lines.push(line.trim_end().to_string());
        }
        lines
    }

    fn page(&mut self) -> &mut Vec<Op> {
        if self.pages.is_empty() {
            self.pages.push(Vec::new());
        }
        let last = self.pages.len() - 1;
        &mut self.pages[last]
    }

    fn new_page(&mut self) {
        self.pages.push(Vec::new());
        self.y = TOP;
    }

    /// Starts a new page unless `height` fits below (or the page is still empty).
    fn room(&mut self, height: f32) {
        if self.y + height > BOTTOM && self.y > TOP {
            self.new_page();
        }
    }

    fn text(&mut self, x: f32, y: f32, size: f32, text: &str, color: Color) {
        self.learn(text);
        self.page().push(Op::Text { x, y, size, text: text.to_string(), color });
    }

    /// A heading: 1 the document's title, 2 a section, 3 a block's caption. Kept with
    /// some room for what follows it.
    pub fn heading(&mut self, level: u8, text: &str) {
        let size = match level {
            1 => 17.0,
            2 => 13.0,
            _ => 10.5,
        };
        let lines = self.wrap(text, size, WIDTH);
        let height = lines.len() as f32 * size * 1.35 + if level <= 2 { 12.0 } else { 4.0 };
        self.room(height + 60.0);
        self.y += if level == 1 { 0.0 } else { size * 0.8 };
        for line in &lines {
            self.y += size * 1.2;
            self.text(MARGIN, self.y, size, line, Color::BLACK);
            self.y += size * 0.15;
        }
        if level <= 2 {
            let y = self.y + 4.0;
            self.page().push(Op::Line { x1: MARGIN, y1: y, x2: MARGIN + WIDTH, y2: y, color: Color::GREY, width: 0.6 });
            self.y += 10.0;
        } else {
            self.y += 4.0;
        }
    }

    pub fn paragraph(&mut self, text: &str) {
        let lines = self.wrap(text, BODY, WIDTH);
        for line in lines {
            self.room(BODY * 1.5);
            self.y += BODY * 1.45;
            self.text(MARGIN, self.y, BODY, &line, Color::BLACK);
        }
        self.y += BODY * 0.8;
    }

    /// Key figures: boxes of four a row, each a value over its label.
    pub fn figures(&mut self, items: &[(String, String)]) {
        const PER_ROW: usize = 4;
        const GAP: f32 = 8.0;
        let box_w = (WIDTH - GAP * (PER_ROW - 1) as f32) / PER_ROW as f32;
        for row in items.chunks(PER_ROW) {
            let labels: Vec<Vec<String>> = row.iter().map(|(label, _)| self.wrap(label, 7.5, box_w - 8.0)).collect();
            let label_lines = labels.iter().map(Vec::len).max().unwrap_or(1);
            let height = 30.0 + label_lines as f32 * 9.5;
            self.room(height + GAP);
            let top = self.y;
            for (k, ((_, value), label)) in row.iter().zip(&labels).enumerate() {
                let x = MARGIN + k as f32 * (box_w + GAP);
                self.page().push(Op::Rect {
                    x,
                    y: top,
                    w: box_w,
                    h: height,
                    fill: Some(Color(0xf3, 0xf5, 0xf8)),
                    stroke: Some(Color::LIGHT),
                });
                self.text(x + 6.0, top + 20.0, 15.0, value, Color(0x1f, 0x3f, 0x68));
                for (i, line) in label.iter().enumerate() {
                    self.text(x + 6.0, top + 32.0 + i as f32 * 9.5, 7.5, line, Color::BLACK);
                }
            }
            self.y = top + height + GAP;
        }
        self.y += 2.0;
    }

    /// A table; its heading row is repeated on each page it continues onto.
    pub fn table(&mut self, headings: &[String], rows: &[Vec<String>]) {
        let columns = headings.len().max(1);
        // Natural widths (one line each), then shared out over the page's width.
        let mut natural = vec![0f32; columns];
        for row in std::iter::once(headings).chain(rows.iter().map(Vec::as_slice)) {
            for (k, cell) in row.iter().enumerate().take(columns) {
                let longest = cell.split('\n').map(|l| self.measure(l, CELL)).fold(0.0, f32::max);
                natural[k] = natural[k].max(longest.min(WIDTH) + 2.0 * PAD + 1.0);
            }
        }
        let total: f32 = natural.iter().sum();
        let widths: Vec<f32> = if total <= WIDTH {
            natural.iter().map(|w| w + (WIDTH - total) / columns as f32).collect()
        } else {
            // Wide columns give way first: a floor keeps short ones legible.
            let floor = (WIDTH / columns as f32).min(48.0);
            let raw: Vec<f32> = natural.iter().map(|w| (w * WIDTH / total).max(floor.min(*w))).collect();
            let sum: f32 = raw.iter().sum();
            raw.iter().map(|w| w * WIDTH / sum).collect()
        };
        let line_h = CELL * 1.35;
        let heading_cells: Vec<Vec<String>> =
            headings.iter().zip(&widths).map(|(h, w)| self.wrap(h, CELL, w - 2.0 * PAD)).collect();
        let heading_h = heading_cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * line_h + 2.0 * PAD;
        let draw_row = |t: &mut Typesetter, cells: &[Vec<String>], height: f32, shade: Option<Color>| {
            let mut x = MARGIN;
            for (k, w) in widths.iter().enumerate() {
                let y = t.y;
                t.page().push(Op::Rect { x, y, w: *w, h: height, fill: shade, stroke: Some(Color::LIGHT) });
                if let Some(lines) = cells.get(k) {
                    for (i, line) in lines.iter().enumerate() {
                        let baseline = t.y + PAD + (i + 1) as f32 * line_h - CELL * 0.3;
                        t.text(x + PAD, baseline, CELL, line, Color::BLACK);
                    }
                }
                x += w;
            }
            t.y += height;
        };
        self.room(heading_h + line_h * 2.0 + 2.0 * PAD);
        draw_row(self, &heading_cells, heading_h, Some(Color(0xe8, 0xec, 0xf2)));
        for row in rows {
            let cells: Vec<Vec<String>> = widths
                .iter()
                .enumerate()
                .map(|(k, w)| {
                    let mut lines = self.wrap(row.get(k).map_or("", String::as_str), CELL, w - 2.0 * PAD);
                    if lines.len() > MAX_CELL_LINES {
                        lines.truncate(MAX_CELL_LINES);
                        if let Some(last) = lines.last_mut() {
                            last.push('…');
                        }
                    }
                    lines
                })
                .collect();
            let height = cells.iter().map(Vec::len).max().unwrap_or(1) as f32 * line_h + 2.0 * PAD;
            if self.y + height > BOTTOM {
                self.new_page();
                draw_row(self, &heading_cells, heading_h, Some(Color(0xe8, 0xec, 0xf2)));
            }
            draw_row(self, &cells, height, None);
        }
        self.y += 10.0;
    }

    /// A chart, scaled down to the page's width if wider, with its title under it.
    pub fn chart(&mut self, chart: &Chart) {
        let scale = (WIDTH / chart.width).min(1.0);
        let height = chart.height * scale;
        self.room(height + 24.0);
        let (ox, oy) = (MARGIN, self.y);
        let at = |x: f32, y: f32| (ox + x * scale, oy + y * scale);
        for shape in &chart.shapes {
            let op = match shape {
                Shape::Rect { x, y, w, h, fill, stroke } => {
                    let (x, y) = at(*x, *y);
                    Op::Rect { x, y, w: w * scale, h: h * scale, fill: Some(*fill), stroke: *stroke }
                }
                Shape::Line { x1, y1, x2, y2, stroke, width } => {
                    let (x1, y1) = at(*x1, *y1);
                    let (x2, y2) = at(*x2, *y2);
                    Op::Line { x1, y1, x2, y2, color: *stroke, width: width * scale }
                }
                Shape::Polyline { points, stroke, width } => Op::Polyline {
                    points: points.iter().map(|(x, y)| at(*x, *y)).collect(),
                    color: *stroke,
                    width: width * scale,
                },
                Shape::Text { x, y, text, size, anchor, fill } => {
                    let size = size * scale;
                    let w = self.measure(text, size);
                    let (x, y) = at(*x, *y);
                    let x = match anchor {
                        Anchor::Start => x,
                        Anchor::Middle => x - w / 2.0,
                        Anchor::End => x - w,
                    };
                    Op::Text { x, y, size, text: text.clone(), color: *fill }
                }
            };
            self.page().push(op);
        }
        self.y += height + 4.0;
        let lines = self.wrap(&chart.title, 8.0, WIDTH);
        for line in lines {
            self.y += 10.0;
            self.text(MARGIN, self.y, 8.0, &line, Color::GREY);
        }
        self.y += 12.0;
    }

    /// Draws the pages, each with the title and "n / N" at its foot, and returns the PDF.
    pub fn finish(mut self) -> Result<Vec<u8>> {
        use krilla::color::rgb;
        use krilla::geom::{PathBuilder, Point, Rect};
        use krilla::paint::{Fill, Stroke};
        use krilla::text::{GlyphId, KrillaGlyph};

        let total = self.pages.len();
        let title = self.title.clone();
        self.learn(&format!("{title}0123456789 /"));
        let Some(font) = krilla::text::Font::new(krilla::Data::from(self.data.clone()), self.index) else {
            bail!("the font could not be loaded for the PDF / PDFにフォントを読み込めません");
        };
        let mut document = krilla::Document::new();
        document.set_metadata(
            krilla::metadata::Metadata::new().title(title.clone()).language("ja".into()).creator("renkei".into()),
        );
        let paint = |c: Color| -> krilla::paint::Paint { rgb::Color::new(c.0, c.1, c.2).into() };
        let fill = |c: Color| Fill { paint: paint(c), ..Fill::default() };
        let stroke = |c: Color, width: f32| Stroke { paint: paint(c), width, ..Stroke::default() };
        let Some(settings) = krilla::page::PageSettings::from_wh(PAGE_W, PAGE_H) else {
            bail!("bad page size / ページの大きさが不正です");
        };
        for (n, mut ops) in std::mem::take(&mut self.pages).into_iter().enumerate() {
            let footer = format!("{} / {}", n + 1, total);
            let footer_w = self.measure(&footer, 8.0);
            ops.push(Op::Text { x: MARGIN, y: PAGE_H - 28.0, size: 8.0, text: title.clone(), color: Color::GREY });
            ops.push(Op::Text {
                x: PAGE_W - MARGIN - footer_w,
                y: PAGE_H - 28.0,
                size: 8.0,
                text: footer,
                color: Color::GREY,
            });
            let mut page = document.start_page_with(settings.clone());
            let mut surface = page.surface();
            for op in ops {
                match op {
                    Op::Text { x, y, size, text, color } => {
                        let glyphs: Vec<KrillaGlyph> = text
                            .char_indices()
                            .map(|(at, c)| {
                                let (id, advance) = self.glyphs.get(&c).copied().unwrap_or((0, 0.0));
                                KrillaGlyph::new(
                                    GlyphId::new(id as u32),
                                    advance,
                                    0.0,
                                    0.0,
                                    0.0,
                                    at..at + c.len_utf8(),
                                    None,
                                )
                            })
                            .collect();
                        surface.set_stroke(None);
                        surface.set_fill(Some(fill(color)));
                        surface.draw_glyphs(Point::from_xy(x, y), &glyphs, font.clone(), &text, size, false);
                    }
                    Op::Rect { x, y, w, h, fill: f, stroke: s } => {
                        let mut path = PathBuilder::new();
                        if let Some(rect) = Rect::from_xywh(x, y, w.max(0.01), h.max(0.01)) {
                            path.push_rect(rect);
                        }
                        if let Some(path) = path.finish() {
                            surface.set_fill(f.map(fill));
                            surface.set_stroke(s.map(|c| stroke(c, 0.5)));
                            surface.draw_path(&path);
                        }
                    }
                    Op::Line { x1, y1, x2, y2, color, width } => {
                        let mut path = PathBuilder::new();
                        path.move_to(x1, y1);
                        path.line_to(x2, y2);
                        if let Some(path) = path.finish() {
                            surface.set_fill(None);
                            surface.set_stroke(Some(stroke(color, width)));
                            surface.draw_path(&path);
                        }
                    }
                    Op::Polyline { points, color, width } => {
                        let mut path = PathBuilder::new();
                        for (i, (x, y)) in points.iter().enumerate() {
                            if i == 0 {
                                path.move_to(*x, *y);
                            } else {
                                path.line_to(*x, *y);
                            }
                        }
                        if let Some(path) = path.finish() {
                            surface.set_fill(None);
                            surface.set_stroke(Some(stroke(color, width)));
                            surface.draw_path(&path);
                        }
                    }
                }
            }
            surface.finish();
            page.finish();
        }
        document
            .finish()
            .map_err(|e| crate::error::Error::Invalid(format!("writing the PDF: {e} / PDFの書き出しに失敗: {e}")))
    }

    /// Pages laid out so far.
    pub fn page_count(&self) -> usize {
        self.pages.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setter() -> Option<Typesetter> {
        let font = find_font(None).ok()?;
        Typesetter::new(&font, "テスト").ok()
    }

    #[test]
    fn japanese_wraps_between_characters_and_not_before_closing_punctuation() {
        let Some(mut t) = setter() else {
            eprintln!("skipped: no CJK font (fonts-noto-cjk) / CJKフォントがないため省略");
            return;
        };
        let text = "リスクの見直しが期限を過ぎています。担当者は確認してください。";
        let lines = t.wrap(text, 10.0, 60.0);
        assert!(lines.len() > 3, "{lines:?}");
        assert_eq!(lines.concat(), text, "nothing lost or added");
        for line in &lines {
            assert!(t.measure(line, 10.0) <= 60.0 + 0.01, "{line} too wide");
            assert!(!line.starts_with('。') && !line.starts_with('、'), "{lines:?}");
        }
        let lines = t.wrap("制御システム「受注管理」の停止", 10.0, 70.0);
        assert!(lines.iter().all(|l| !l.ends_with('「') && !l.starts_with('」')), "{lines:?}");
        // Latin breaks at spaces only, unless a word alone is too wide.
        let lines = t.wrap("supplier dependency review", 10.0, 80.0);
        assert!(lines.iter().all(|l| !l.starts_with(' ') && !l.ends_with(' ')), "{lines:?}");
        assert_eq!(lines.join(" "), "supplier dependency review");
    }

    #[test]
    fn a_long_table_continues_on_new_pages_and_the_pdf_is_small() {
        let Some(mut t) = setter() else {
            eprintln!("skipped: no CJK font (fonts-noto-cjk) / CJKフォントがないため省略");
            return;
        };
        let rows: Vec<Vec<String>> =
            (0..200).map(|i| vec![format!("R-{i:04}"), "制御系の停止 / outage".into()]).collect();
        t.table(&["Risk / リスク".into(), "Title / 件名".into()], &rows);
        assert!(t.page_count() >= 4, "{}", t.page_count());
        // Each page after the first starts with the heading row again.
        for page in &t.pages[1..] {
            let first_text = page.iter().find_map(|op| match op {
                Op::Text { text, .. } => Some(text.clone()),
                _ => None,
            });
            assert_eq!(first_text.as_deref(), Some("Risk / リスク"));
        }
        let pdf = t.finish().expect("pdf");
        assert!(pdf.starts_with(b"%PDF-"));
        assert!(pdf.len() < 300_000, "{} bytes: the font must be a subset", pdf.len());
    }

    #[test]
    fn a_missing_font_names_the_package() {
        let err = find_font(Some("/nonexistent/font.ttc#0")).expect_err("missing").to_string();
        assert!(err.contains("fonts-noto-cjk") && err.contains("フォント"), "{err}");
        let err = find_font(Some("/nonexistent/font.ttc#x")).expect_err("bad index").to_string();
        assert!(err.contains("index"), "{err}");
    }
}
