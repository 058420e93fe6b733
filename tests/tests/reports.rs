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
use renkei_client::{appetite, assets, flags, pdf, plans, profiles, readiness, register, risks, services, trees};
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
    // The techniques behind them, shared TLP:GREEN (a regulator may count them).
    let shared: Vec<register::ItemRow> = ["attack-pattern--a", "attack-pattern--b", "attack-pattern--c"]
        .into_iter()
        .map(|id| register::ItemRow {
            id: id.into(),
            kind: "technique".into(),
            revision: 1,
            tlp: "TLP:GREEN".into(),
            seq: 1,
            stix: serde_json::json!({"type": "attack-pattern", "name": "Remote Services"}).to_string(),
            signature: String::new(),
            received_at: Utc::now().to_rfc3339(),
        })
        .collect();
    diesel::insert_into(renkei_client::tables::items::table).values(&shared).execute(&mut conn).expect("items");
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

const OVERDUE_ACTION: &str = "HMIの多要素認証を導入";
const TREE_DAMAGE_JA: &str = "工場の制御が失われ出荷が止まる";

/// The register above, plus what the handbook adds: an appetite statement for Plant
/// control that its incidents breach, an attack tree on the first risk with an open
/// attack-tree flag showing its path, a treatment action overdue and one done, two
/// readiness answers (one past its review date) and a CSF subcategory entry.
fn register_with_the_handbook(dir: &Path) -> diesel::SqliteConnection {
    let mut conn = register_with_everything(dir);
    let now = Utc::now();
    appetite::set(
        &mut conn,
        appetite::StatementInput {
            service: "Plant control".into(),
            kind: "appetite".into(),
            max_incidents: 1,
            period_days: 365,
            max_degradation: 20.0,
            ..Default::default()
        },
        now,
    )
    .expect("appetite");
    let incidents = (1..=3)
        .map(|k| {
            let started = now - Duration::days(20 * k);
            let input = appetite::IncidentInput {
                service: "Plant control".into(),
                started: started.to_rfc3339(),
                ended: (started + Duration::hours(3)).to_rfc3339(),
                degradation: 40.0,
                title: Some(format!("line stop {k}")),
            };
            (format!("row {}", k + 1), Some(input), vec![])
        })
        .collect();
    appetite::store(&mut conn, incidents, now).expect("incidents");

    let tree: trees::TreeInput = serde_json::from_value(serde_json::json!({
        "damage": "Plant loses control and shipping stops",
        "damage_ja": TREE_DAMAGE_JA,
        "services": ["Plant control"],
        "risk": "R-0001",
        "damage_size": 5,
        "nodes": [
            {"id": "stop", "kind": "or", "title": "Shipping stops", "children": ["hmi", "erp"]},
            {"id": "hmi", "kind": "leaf", "title": "HMI reached over remote services", "technique": "T0886",
             "asset": "HMI-1", "threat": 4, "vulnerability": 4},
            {"id": "erp", "kind": "leaf", "title": "ERP encrypted", "technique": "T1486", "asset": "ERP",
             "threat": 2, "vulnerability": 3}
        ]
    }))
    .expect("tree");
    assert_eq!(trees::import(&mut conn, vec![tree]).expect("tree"), ["AT-0001"]);
    let recorded = flags::record(
        &mut conn,
        vec![flags::Candidate {
            risk_id: "R-0001".into(),
            source: "attack-pattern--tree".into(),
            source_revision: 1,
            trigger: flags::Trigger::AttackTree,
            quality: flags::Quality::Exact,
            priority: 80,
            detail: flags::Detail {
                source_title: "attack-pattern T0886".into(),
                evidence: vec![],
                suggestion: "reassess the tree".into(),
                suggestion_ja: "攻撃ツリーを再評価してください".into(),
                paths: vec![trees::TreePath {
                    tree: "AT-0001".into(),
                    leaf: "hmi".into(),
                    technique: "T0886".into(),
                    asset: "HMI-1".into(),
                    steps: vec!["HMI reached over remote services".into(), "Shipping stops".into()],
                }],
            },
        }],
    )
    .expect("flag");
    assert_eq!(recorded.raised, 1);

    let action = |title: &str, due: chrono::NaiveDate| plans::ActionInput {
        title: title.into(),
        owner: "情報システム部".into(),
        due: due.to_string(),
        cost: Some(1200.0),
        gaps: vec!["PR.AA-01".into()],
        risks: vec!["R-0001".into()],
    };
    let today = now.date_naive();
    plans::add(&mut conn, action(OVERDUE_ACTION, today - Duration::days(10))).expect("action");
    let done =
        plans::add(&mut conn, action("Backups tested / バックアップ検証", today + Duration::days(30))).expect("action");
    plans::set_status(&mut conn, &done, "done", "tested").expect("done");

    let answer = |text: &str| readiness::AnswerInput {
        answer: text.into(),
        evidence: vec!["BCP v3".into()],
        review_days: 30,
        owner: Some("BCP team".into()),
        ..Default::default()
    };
    readiness::set(&mut conn, "damage-scenarios", answer("USB scenario exercised"), now).expect("readiness");
    readiness::set(&mut conn, "fast-spread", answer("cut points listed"), now - Duration::days(60)).expect("readiness");

    profiles::put(
        &mut conn,
        profiles::EntryInput {
            label: "PR.AA-01".into(),
            current: 1,
            target: 3,
            priority: Some(1),
            motive: "audit finding".into(),
            evidence: "IdM export 2026-11".into(),
            owner: Some("IAM lead".into()),
            cost: Some("medium".into()),
            ..Default::default()
        },
    )
    .expect("subcategory");
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
    let mut conn = register_with_the_handbook(&dir.0);
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
        let md = String::from_utf8(md.body).expect("utf-8");
        // The handbook's parts with nothing in them say so in one line.
        let empty: &[&str] = match audience {
            Audience::Management => {
                &["リスク選好の記述はまだありません", "攻撃ツリーはまだありません", "リスク対応策はまだありません"]
            }
            Audience::Operations => &[
                "未対応の攻撃ツリーフラグはありません",
                "リスク対応策はまだありません",
                "見直しが必要な特性はありません",
            ],
            Audience::Regulator => &[
                "CSFカテゴリより細かいプロファイルの記入はまだありません",
                "期限を超過した対応策はありません",
                "0 / 7",
            ],
        };
        for line in empty {
            assert!(md.contains(line), "{line} missing:\n{md}");
        }
    }
}

/// The handbook's other parts in each audience's report: appetite (breached) near the
/// top for management with the attack trees and the plan in brief; the plan action by
/// action, the tree flag's path, the scored gaps and the readiness review due for
/// operations; the seven traits, the subcategory profile, the catalogs and the overdue
/// action for the regulator. Each in Markdown and in the PDF's text.
#[test]
fn the_handbook_parts_are_reported() {
    if !font_or_skip() {
        return;
    }
    let dir = TempDir::new("renkei-reports-handbook");
    let mut conn = register_with_the_handbook(&dir.0);
    let now = Utc::now();
    let tree = trees::get(&mut conn, "AT-0001").expect("tree");
    let value = trees::compute_stored(&mut conn, &tree).expect("computed").value.to_string();
    let csf = renkei_client::catalogs::list(&mut conn)
        .expect("catalogs")
        .into_iter()
        .find(|c| c.framework == "nist-csf-2.0")
        .expect("CSF loaded");
    assert!(!csf.licence.is_empty());
    let traits: Vec<&str> = readiness::TRAITS.iter().map(|t| t.name_ja).collect();

    for audience in Audience::ALL {
        let built = report::build(&mut conn, audience, now).expect("report");
        let md = String::from_utf8(report::render_as(&built, Format::Markdown, None, None).expect("md").body)
            .expect("utf-8");
        let row = |start: &str| -> String {
            md.lines()
                .find(|l| l.starts_with(&format!("| {start}")))
                .unwrap_or_else(|| panic!("no row {start}:\n{md}"))
                .to_string()
        };
        let mut needles: Vec<String> = Vec::new();
        match audience {
            Audience::Management => {
                // Appetite comes before the top risks: whether it is within appetite first.
                let appetite = md.find("## Risk appetite and tolerance / リスク選好と許容度").expect("appetite");
                let top = md.find("## Top risks by service damage").expect("top risks");
                assert!(appetite < top, "{md}");
                let breached = row("Plant control | appetite: at most 1");
                assert!(
                    breached.contains("| breached / 超過 |") && breached.contains("| 3 (limit / 上限 1 / 365 d"),
                    "{breached}"
                );
                assert!(md.contains("| Breached / 超過 | 1 |"), "{md}");
                let tree_row = row("AT-0001");
                assert!(
                    tree_row.contains(TREE_DAMAGE_JA) && tree_row.contains(&format!("| Plant control | {value} |")),
                    "{tree_row}"
                );
                assert!(tree_row.ends_with("| R-0001 | 1 |"), "one open attack-tree flag: {tree_row}");
                assert!(md.contains("| Overdue / 期限超過 | 1 |") && md.contains("| Done / 完了 | 1 |"), "{md}");
                assert!(md.contains(&format!("| P-0001 {OVERDUE_ACTION} | 情報システム部 |")), "{md}");
                needles.extend(
                    [
                        "リスク選好と許容度",
                        "breached / 超過",
                        "攻撃ツリーで分析した事業被害",
                        TREE_DAMAGE_JA,
                        &value,
                        "リスク対応計画の概要",
                        OVERDUE_ACTION,
                    ]
                    .map(String::from),
                );
            }
            Audience::Operations => {
                assert!(md.contains("HMI reached over remote services → Shipping stops"), "{md}");
                assert!(md.contains("OVERDUE 10 d / 10日超過") && md.contains("nist-csf-2.0 PR.AA-01"), "{md}");
                let gap = row("PR.AA-01");
                assert!(gap.contains("| 1 → 3 | 1 audit finding | 2 |") && gap.contains("IAM lead"), "{gap}");
                assert!(md.contains("3 Fast spread / 急速な拡散") && md.contains("passed / 見直し期限"), "{md}");
                needles.extend(
                    [
                        "未対応の攻撃ツリーフラグと経路",
                        "Shipping stops",
                        "リスク対応計画",
                        OVERDUE_ACTION,
                        "10日超過",
                        "CSFプロファイルのギャップ(優先順位付き)",
                        "audit finding",
                        "見直しが必要な緊急時対応の準備状況",
                        "急速な拡散",
                    ]
                    .map(String::from),
                );
            }
            Audience::Regulator => {
                for t in &traits {
                    assert!(md.contains(t), "{t} missing:\n{md}");
                }
                assert!(md.contains("| Traits answered / 回答済みの特性 | 2 / 7 |"), "{md}");
                let entry = row("NIST CSF");
                assert!(
                    entry.contains("PR.AA-01") && entry.contains("| 1 → 3 | IAM lead | IdM export 2026-11 |"),
                    "{entry}"
                );
                assert!(md.contains(&csf.licence), "{md}");
                assert!(md.contains(OVERDUE_ACTION), "{md}");
                needles.extend(
                    [
                        "サイバー攻撃リスクの7つの特性に対する緊急時対応の準備状況",
                        "サブカテゴリ・管理策ごとのプロファイル",
                        "IdM export 2026-11",
                        "読み込み済みのフレームワークカタログ",
                        "期限を超過したリスク対応策",
                        OVERDUE_ACTION,
                        "2 / 7",
                    ]
                    .map(String::from),
                );
                needles.extend(traits.iter().map(|t| t.to_string()));
            }
        }
        let pdf = report::render_as(&built, Format::Pdf, None, Some(FONT)).expect("pdf");
        let path = dir.0.join(format!("handbook-{}.pdf", audience.as_str()));
        std::fs::write(&path, &pdf.body).expect("write");
        let needles: Vec<&str> = needles.iter().map(String::as_str).collect();
        check_pdf(&path, &needles);
    }
}

/// A report for the regulator leaves the member's organisation: a readiness review made
/// due by a TLP:AMBER incident must not name it there (TLP 2.0: AMBER stays inside the
/// organisation), while a TLP:GREEN technique may be named; the member's own operations
/// report names both.
#[test]
fn the_regulators_report_names_only_intelligence_its_label_lets_out() {
    let dir = TempDir::new("renkei-report-tlp");
    let mut conn = register::open(&dir.0.join("register.db")).expect("register");
    let now = Utc::now();
    for trait_id in ["1", "2"] {
        let answer = readiness::AnswerInput { answer: "planned".into(), review_days: 365, ..Default::default() };
        readiness::set(&mut conn, trait_id, answer, now - Duration::days(2)).expect("answer");
    }
    let item = |id: &str, kind: &str, tlp: &str, stix: serde_json::Value| register::ItemRow {
        id: id.into(),
        kind: kind.into(),
        revision: 1,
        tlp: tlp.into(),
        seq: 1,
        stix: stix.to_string(),
        signature: String::new(),
        received_at: now.to_rfc3339(),
    };
    let rows = vec![
        item(
            "attack-pattern--green",
            "technique",
            "TLP:GREEN",
            serde_json::json!({"type": "attack-pattern", "name": "Spearphishing Attachment",
                "external_references": [{"source_name": "mitre-attack", "external_id": "T1566.001"}]}),
        ),
        item(
            "incident--amber",
            "incident",
            "TLP:AMBER",
            serde_json::json!({"type": "incident", "name": "Substation SCADA wiped at Utility X"}),
        ),
    ];
    diesel::insert_into(renkei_client::tables::items::table).values(&rows).execute(&mut conn).expect("items");
    readiness::note_items(&mut conn, &rows, now).expect("noted");
    // A flag each item raised: the regulator may count the GREEN one only.
    let flagged = |source: &str, trigger| flags::Candidate {
        risk_id: "R-0001".into(),
        source: source.into(),
        source_revision: 1,
        trigger,
        quality: flags::Quality::Exact,
        priority: 50,
        detail: flags::Detail {
            source_title: source.into(),
            evidence: vec![],
            suggestion: String::new(),
            suggestion_ja: String::new(),
            paths: vec![],
        },
    };
    flags::record(
        &mut conn,
        vec![
            flagged("attack-pattern--green", flags::Trigger::Technique),
            flagged("incident--amber", flags::Trigger::AttackTree),
        ],
    )
    .expect("flags");

    let markdown = |conn: &mut diesel::SqliteConnection, audience: Audience| {
        let built = report::build(conn, audience, now).expect("report");
        String::from_utf8(report::render_as(&built, Format::Markdown, None, None).expect("md").body).expect("utf-8")
    };
    let operations = markdown(&mut conn, Audience::Operations);
    assert!(operations.contains("attack-pattern--green"), "{operations}");
    assert!(operations.contains("incident--amber") && operations.contains("Utility X"), "{operations}");

    let regulator = markdown(&mut conn, Audience::Regulator);
    assert!(regulator.contains("attack-pattern--green"), "a GREEN item may reach the community: {regulator}");
    assert!(!regulator.contains("incident--amber"), "an AMBER item named to the regulator: {regulator}");
    assert!(!regulator.contains("Utility X"), "an AMBER incident's name in the regulator's report: {regulator}");
    assert!(regulator.contains("組織外に開示できないTLPの共有情報"), "{regulator}");
    let raised =
        |report: &str| report.lines().find(|l| l.contains("Raised / 発生")).map(str::to_string).unwrap_or_default();
    assert_eq!(raised(&operations), "| Raised / 発生 | 2 |");
    assert_eq!(raised(&regulator), "| Raised / 発生 | 1 |", "the AMBER item's flag counted for the regulator");
}
