//! Reports fitted to each stakeholder (handbook 10.2) on a register alone: a register
//! with services, assets, risks (titles in Japanese), flags raised, resolved and
//! dismissed, a CSF profile and a revision history, rendered for management, operations
//! and the regulator in Markdown, HTML and PDF. The PDFs are read back with Poppler's
//! tools: `pdftotext` for the Japanese headings and the figures, `pdffonts` for an
//! embedded font subset, `pdftoppm` for pages that are not blank.
//!
//! Skipped, with a message, when the CJK font (Debian's fonts-noto-cjk) or Poppler's
//! tools are missing (ops/test installs both).

use std::path::Path;
use std::process::Command;

use chrono::{Duration, Utc};
use diesel::prelude::*;
use renkei_client::report::{self, Audience, Format};
use renkei_client::{assets, flags, pdf, profiles, register, risks, services};
use renkei_e2e::TempDir;

const FONT: &str = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
const JA_TITLE: &str = "制御システムへのランサムウェア";

fn factors(impact: Option<usize>, threat: usize, vulnerability: usize) -> Option<risks::FactorsInput> {
    Some(risks::FactorsInput { impact, threat, vulnerability })
}

/// 13 risks over three services, flags of every status, a profile, revisions spread
/// over the last months.
fn register_with_everything(dir: &Path) -> diesel::SqliteConnection {
    let mut conn = register::open(&dir.join("register.db")).expect("register");
    for (name, mission) in [("受注 Order intake", "essential"), ("Plant control", "essential"), ("Email", "support")]
    {
        services::put(
            &mut conn,
            services::Service {
                name: name.into(),
                mission: mission.into(),
                tolerable_outage_hours: 4.0,
                impact_criteria: vec!["outage over 4 h = 4".into()],
            },
        )
        .expect("service");
    }
    let asset = |name: &str, service: &str| {
        let input = assets::AssetInput {
            name: name.into(),
            kind: "ot_device".into(),
            services: vec![service.into()],
            criticality: 5,
            ..Default::default()
        };
        (name.to_string(), input)
    };
    flags::import_assets(&mut conn, vec![asset("HMI-1", "Plant control"), asset("ERP", "受注 Order intake")])
        .expect("assets");
    let mut ids = Vec::new();
    let first = risks::add(
        &mut conn,
        risks::RiskInput {
            title: JA_TITLE.into(),
            method: "business_damage".into(),
            services: vec!["Plant control".into()],
            current: factors(Some(5), 5, 5),
            owner: Some("工場長".into()),
            csf: vec!["PR.PS".into()],
            ..Default::default()
        },
    )
    .expect("risk");
    ids.push(first);
    for i in 0..12 {
        let id = risks::add(
            &mut conn,
            risks::RiskInput {
                title: format!("ERP risk {i} 受注停止"),
                method: "asset".into(),
                assets: vec![if i % 2 == 0 { "ERP" } else { "HMI-1" }.into()],
                current: factors(None, 1 + i % 5, 1 + i % 3),
                csf: vec!["DE.CM".into()],
                ..Default::default()
            },
        )
        .expect("risk");
        ids.push(id);
    }
    // History: the first revisions go back months, so the trend has several points.
    {
        use renkei_client::tables::risk_revisions;
        for (k, id) in ids.iter().enumerate() {
            let at = (Utc::now() - Duration::days(30 * (k as i64 % 5) + 1)).to_rfc3339();
            diesel::update(risk_revisions::table.filter(risk_revisions::risk_id.eq(id)))
                .set(risk_revisions::at.eq(at))
                .execute(&mut conn)
                .expect("backdate");
        }
    }
    // A reassessment (a review done) that resolves the risk's flags.
    let candidate = |risk: &str, source: &str| flags::Candidate {
        risk_id: risk.into(),
        source: source.into(),
        source_revision: 1,
        trigger: flags::Trigger::Technique,
        quality: flags::Quality::Exact,
        priority: 70,
        detail: flags::Detail {
            source_title: format!("attack-pattern {source}"),
            evidence: vec![flags::Evidence {
                selector: "technique".into(),
                theirs: "T0886".into(),
                ours: "T0886 リモートサービス".into(),
                via: String::new(),
            }],
            suggestion: "reassess the likelihood".into(),
            suggestion_ja: "発生可能性を再評価してください".into(),
            paths: Vec::new(),
        },
    };
    let recorded = flags::record(
        &mut conn,
        vec![
            candidate(&ids[0], "attack-pattern--a"),
            candidate(&ids[1], "attack-pattern--b"),
            candidate(&ids[2], "attack-pattern--c"),
        ],
    )
    .expect("flags");
    assert_eq!(recorded.raised, 3);
    flags::assess_risk(
        &mut conn,
        &ids[1],
        risks::Assessment { note: "reviewed with the plant / 工場と確認".into(), ..Default::default() },
    )
    .expect("assess");
    let open = flags::list(&mut conn, "open").expect("flags");
    let on_third = open.iter().find(|f| f.risk_id == ids[2]).expect("flag on the third risk");
    flags::dismiss(&mut conn, on_third.id, "not our version").expect("dismiss");
    profiles::set(&mut conn, "PR", 2, 4, 1, "").expect("profile");
    profiles::set(&mut conn, "DE.CM", 1, 3, 2, "").expect("profile");
    profiles::set(&mut conn, "GV", 3, 3, 3, "").expect("profile");
    conn
}

fn font_or_skip() -> bool {
    if !Path::new(FONT).is_file() {
        eprintln!("skipped: {FONT} missing (apt-get install fonts-noto-cjk) / CJKフォントがないため省略");
        return false;
    }
    true
}

fn tool(name: &str, args: &[&str]) -> Option<std::process::Output> {
    match Command::new(name).args(args).output() {
        Ok(out) => {
            assert!(out.status.success(), "{name} {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            Some(out)
        }
        Err(e) => {
            eprintln!("skipped the {name} checks: {e} (apt-get install poppler-utils)");
            None
        }
    }
}

/// The PDF's text, fonts, and the share of dark pixels of its first pages.
fn check_pdf(path: &Path, needles: &[&str]) {
    let bytes = std::fs::read(path).expect("pdf");
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    assert!(bytes.len() < 1_000_000, "{} bytes: the font must be embedded as a subset", bytes.len());
    let file = path.to_str().expect("path");
    let Some(text) = tool("pdftotext", &["-enc", "UTF-8", file, "-"]) else { return };
    let text = String::from_utf8(text.stdout).expect("utf-8");
    // Compared without spaces and line breaks: pdftotext guesses the spaces from the
    // gaps between glyphs (it drops some beside digits) and lines wrap.
    let compact: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    for needle in needles {
        let needle: String = needle.chars().filter(|c| !c.is_whitespace()).collect();
        assert!(compact.contains(&needle), "{needle:?} missing from the PDF's text:\n{text}");
    }
    // Every page numbered "n / N" (pdftotext may drop the spaces).
    let info = tool("pdfinfo", &[file]).expect("pdfinfo");
    let info = String::from_utf8(info.stdout).expect("utf-8");
    let pages: usize = info
        .lines()
        .find_map(|l| l.strip_prefix("Pages:"))
        .and_then(|n| n.trim().parse().ok())
        .expect("the page count");
    for n in 1..=pages {
        assert!(compact.contains(&format!("{n}/{pages}")), "page {n} of {pages} unnumbered:\n{text}");
    }

    let fonts = tool("pdffonts", &[file]).expect("pdffonts");
    let fonts = String::from_utf8(fonts.stdout).expect("utf-8");
    // name type encoding emb sub uni: one CID font, embedded, a subset, with a ToUnicode map.
    let rows: Vec<&str> = fonts.lines().skip(2).collect();
    assert!(!rows.is_empty(), "{fonts}");
    for row in &rows {
        let cols: Vec<&str> = row.split_whitespace().collect();
        let name = cols[0];
        assert!(name.contains('+') && name.contains("NotoSansCJK"), "a subset's name has a tag: {fonts}");
        let n = cols.len();
        assert_eq!(&cols[n - 5..n - 2], &["yes", "yes", "yes"], "emb sub uni: {fonts}");
    }

    // Pages as images: PNG as asked of the tool, and greyscale PGM (trivial to read)
    // to count the dark pixels of each of the first three pages.
    let dir = path.parent().expect("dir");
    let stem = path.file_stem().expect("stem").to_string_lossy().into_owned();
    let prefix = dir.join(format!("{stem}-page"));
    let prefix = prefix.to_str().expect("path");
    tool("pdftoppm", &["-r", "50", "-png", "-f", "1", "-l", "3", file, prefix]).expect("pdftoppm");
    tool("pdftoppm", &["-r", "50", "-gray", "-f", "1", "-l", "3", file, prefix]).expect("pdftoppm");
    let (mut pngs, mut pgms) = (0, 0);
    for entry in std::fs::read_dir(dir).expect("dir") {
        let p = entry.expect("entry").path();
        let name = p.file_name().expect("name").to_string_lossy().into_owned();
        if !name.starts_with(&format!("{stem}-page")) {
            continue;
        }
        let image = std::fs::read(&p).expect("image");
        if name.ends_with(".png") {
            assert!(image.starts_with(b"\x89PNG\r\n\x1a\n"), "{name} is not a PNG");
            pngs += 1;
        } else if name.ends_with(".pgm") {
            // The first page is full (title, figures, tables); a last one may hold only
            // the end of a table, but never nothing.
            let dark = dark_share(&image);
            let least = if name.ends_with("-1.pgm") { 0.01 } else { 0.0002 };
            assert!(dark > least && dark < 0.5, "{name}: {dark} of the pixels are dark (a blank or black page)");
            pgms += 1;
        }
    }
    assert!(pngs >= 1 && pngs == pgms, "{pngs} PNG and {pgms} PGM pages");
}

/// The share of pixels darker than mid grey in a binary PGM (P5, 8 bits).
fn dark_share(pgm: &[u8]) -> f64 {
    // Header: "P5", width, height, maximum, each after whitespace, then one whitespace.
    let mut fields = Vec::new();
    let mut at = 0;
    while fields.len() < 4 {
        while pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        let start = at;
        while !pgm[at].is_ascii_whitespace() {
            at += 1;
        }
        fields.push(String::from_utf8_lossy(&pgm[start..at]).into_owned());
    }
    assert_eq!(fields[0], "P5", "{fields:?}");
    let pixels = &pgm[at + 1..];
    let (w, h): (usize, usize) = (fields[1].parse().expect("width"), fields[2].parse().expect("height"));
    assert_eq!(pixels.len(), w * h, "{fields:?}");
    pixels.iter().filter(|&&p| p < 128).count() as f64 / pixels.len() as f64
}

#[test]
fn every_audience_in_every_format() {
    if !font_or_skip() {
        return;
    }
    let dir = TempDir::new("renkei-reports-test");
    let mut conn = register_with_everything(&dir.0);
    let now = Utc::now();
    for audience in Audience::ALL {
        let built = report::build(&mut conn, audience, now).expect("report");
        assert!(built.sections.iter().all(|s| !s.title_en.is_empty() && !s.title_ja.is_empty()));

        // Markdown to a file: the headings, and the charts as SVG files beside it.
        let md = report::render_as(&built, Format::Markdown, Some(audience.as_str()), None).expect("markdown");
        let text = String::from_utf8(md.body).expect("utf-8");
        assert!(text.starts_with("# Cyber risk report / サイバーリスク報告"), "{text}");
        for section in &built.sections {
            assert!(text.contains(&format!("\n## {} / {}\n", section.title_en, section.title_ja)), "{text}");
        }
        assert!(!md.files.is_empty(), "{audience:?} has charts");
        for (name, svg) in &md.files {
            assert!(text.contains(&format!("]({name})")), "{name} linked");
            assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\"") && svg.trim_end().ends_with("</svg>"));
        }
        // To standard output: the same charts inline.
        let inline = report::render_as(&built, Format::Markdown, None, None).expect("markdown");
        assert!(inline.files.is_empty() && String::from_utf8(inline.body).expect("utf-8").contains("<svg"));

        let html =
            String::from_utf8(report::render_as(&built, Format::Html, None, None).expect("html").body).expect("utf-8");
        assert!(html.starts_with("<!DOCTYPE html>") && html.trim_end().ends_with("</html>"));
        assert_eq!(html.matches("<svg").count(), md.files.len(), "each chart inline");
        assert_eq!(html.matches("<svg").count(), html.matches("</svg>").count());
        assert_eq!(html.matches("<table>").count(), html.matches("</table>").count());
        assert!(!html.contains("<script"));

        let pdf = report::render_as(&built, Format::Pdf, None, Some(FONT)).expect("pdf");
        let path = dir.0.join(format!("{}.pdf", audience.as_str()));
        std::fs::write(&path, &pdf.body).expect("write");
        // To look at them: RENKEI_KEEP_REPORTS=DIR keeps a copy.
        if let Ok(keep) = std::env::var("RENKEI_KEEP_REPORTS") {
            std::fs::copy(&path, Path::new(&keep).join(path.file_name().expect("name"))).expect("keep");
        }
        let needles: &[&str] = match audience {
            Audience::Management => &[
                "サイバーリスク報告",
                "経営層向け",
                "事業サービスへの被害から見た主要リスク",
                "リスクヒートマップ",
                "リスクレベルの推移",
                JA_TITLE,
                "登録リスク数",
                "Plant control",
            ],
            Audience::Operations => &[
                "運用担当者向け",
                "未対応の再評価フラグ",
                "リスクと次回見直し",
                "発生可能性を再評価してください",
                "T0886 リモートサービス",
                "CSFプロファイルのギャップ",
                "サプライヤー依存",
                JA_TITLE,
            ],
            Audience::Regulator => &[
                "規制当局向け",
                "サイバーセキュリティプロファイル",
                "リスク登録簿の網羅性",
                "見直しの実施状況と期限超過",
                "再評価フラグの発生と解決",
                "CSF 2.0",
            ],
        };
        check_pdf(&path, needles);
    }
}

/// The figures in the reports are the register's: 13 risks, 3 flags of which one open,
/// one resolved, one dismissed; the heat map counts every rated risk once.
#[test]
fn the_figures_are_the_registers() {
    if !font_or_skip() {
        return;
    }
    let dir = TempDir::new("renkei-reports-figures");
    let mut conn = register_with_everything(&dir.0);
    let now = Utc::now();
    let management = report::build(&mut conn, Audience::Management, now).expect("report");
    let figures = |r: &report::Report| -> Vec<(String, String)> {
        r.sections
            .iter()
            .flat_map(|s| s.blocks.iter())
            .filter_map(|b| match b {
                report::Block::Figures(f) => Some(f.clone()),
                _ => None,
            })
            .flatten()
            .collect()
    };
    let value = |r: &report::Report, label: &str| {
        figures(r).into_iter().find(|(l, _)| l.contains(label)).map(|(_, v)| v).unwrap_or_default()
    };
    assert_eq!(value(&management, "登録リスク数"), "13");
    assert_eq!(value(&management, "事業サービス数"), "3");
    assert_eq!(value(&management, "未対応の再評価フラグ"), "1");
    // The heat map's cells add up to the risks.
    let heat = management
        .sections
        .iter()
        .flat_map(|s| s.blocks.iter())
        .find_map(|b| match b {
            report::Block::Chart(c) if c.title.contains("ヒートマップ") => Some(c.clone()),
            _ => None,
        })
        .expect("heat map");
    let counted: usize = heat
        .shapes
        .iter()
        .filter_map(|s| match s {
            renkei_client::charts::Shape::Text { text, size, .. } if *size > 12.0 => text.parse::<usize>().ok(),
            _ => None,
        })
        .sum();
    assert_eq!(counted, 13);
    // The service the Japanese-titled risk hurts is listed first (its level is the highest).
    let md = String::from_utf8(report::render_as(&management, Format::Markdown, None, None).expect("md").body)
        .expect("utf-8");
    let first_row =
        md.lines().find(|l| l.starts_with("| Plant control") || l.starts_with("| 受注")).expect("a service row");
    assert!(
        first_row.starts_with("| Plant control | essential / 必須 |") && first_row.contains(JA_TITLE),
        "{first_row}"
    );

    let regulator = report::build(&mut conn, Audience::Regulator, now).expect("report");
    assert_eq!(value(&regulator, "Raised / 発生"), "3");
    assert_eq!(value(&regulator, "Resolved / 解決"), "1");
    assert_eq!(value(&regulator, "Dismissed / 却下"), "1");
    assert_eq!(value(&regulator, "過去12か月の見直し"), "1", "one reassessment");
    assert_eq!(value(&regulator, "リスクのあるサービス"), "2 / 3", "Email has no risk");
    assert_eq!(value(&regulator, "参照されるCSF機能"), "2 / 6");

    // The figures reach the PDF's text.
    let pdf = report::render_as(&regulator, Format::Pdf, None, Some(FONT)).expect("pdf");
    let path = dir.0.join("regulator.pdf");
    std::fs::write(&path, &pdf.body).expect("write");
    check_pdf(&path, &["2 / 3", "2 / 6", "Email"]);
}

/// A missing font is named with the package to install, in both languages.
#[test]
fn a_missing_font_is_a_clear_error() {
    let err = pdf::find_font(Some("/nonexistent/NotoSansCJK.ttc#0")).expect_err("missing").to_string();
    assert!(err.contains("fonts-noto-cjk") && err.contains("フォントファイル"), "{err}");
    let dir = TempDir::new("renkei-reports-font");
    let mut conn = register::open(&dir.0.join("register.db")).expect("register");
    let built = report::build(&mut conn, Audience::Management, Utc::now()).expect("report");
    let err =
        report::render_as(&built, Format::Pdf, None, Some("/nonexistent/font.otf")).expect_err("no font").to_string();
    assert!(err.contains("fonts-noto-cjk"), "{err}");
    // An empty register still makes every report, with "None / なし" for empty tables.
    for audience in Audience::ALL {
        let built = report::build(&mut conn, audience, Utc::now()).expect("report");
        let md = report::render_as(&built, Format::Markdown, None, None).expect("md");
        assert!(!md.body.is_empty());
    }
}
