//! The management report (handbook 10.2: reports fitted to each stakeholder; 8.4:
//! business terms): top risks, open reassessment flags, CSF profile gaps and supplier
//! dependencies with their ratings, as Markdown or a self-contained HTML page, headings
//! in English and Japanese.

use crate::bail;
use crate::error::Result;
use diesel::sqlite::SqliteConnection;

/// A table: headings and rows of text.
struct Table {
    title: &'static str,
    headings: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

fn tables(conn: &mut SqliteConnection) -> Result<Vec<Table>> {
    let matrix = crate::matrix::current(conn)?;
    let risks = crate::risks::list(conn)?;
    let open = crate::flags::list(conn, "open")?;
    let open_counts = crate::flags::open_counts(conn)?;
    let top = Table {
        title: "Top risks / 主要リスク",
        headings: vec![
            "Risk / リスク",
            "Level / レベル",
            "Value / 値",
            "Method / 手法",
            "Treatment / 対応",
            "Next review / 次回見直し",
            "Open flags / 未対応フラグ",
        ],
        rows: risks
            .iter()
            .take(20)
            .map(|r| {
                let rated = r.effective();
                vec![
                    format!("{} {}", r.id, r.title),
                    rated.map_or("unrated / 未評価".into(), |x| matrix.level_name(x.level)),
                    rated.map_or("-".into(), |x| x.value.to_string()),
                    r.method.clone(),
                    r.treatment.clone(),
                    r.next_review(&matrix).date_naive().to_string(),
                    open_counts.get(&r.id).copied().unwrap_or(0).to_string(),
                ]
            })
            .collect(),
    };
    let flags = Table {
        title: "Open reassessment flags / 未対応の再評価フラグ",
        headings: vec![
            "Flag",
            "Priority / 優先度",
            "Risk / リスク",
            "Source / 契機",
            "Match / 一致",
            "Suggestion / 推奨",
        ],
        rows: open
            .iter()
            .take(50)
            .map(|f| {
                vec![
                    f.id.to_string(),
                    crate::flags::priority_label(f.priority).to_string(),
                    f.risk_id.clone(),
                    f.detail.source_title.clone(),
                    format!("{} ({} evidence)", f.quality, f.detail.evidence.len()),
                    format!("{} / {}", f.detail.suggestion, f.detail.suggestion_ja),
                ]
            })
            .collect(),
    };
    let gaps = Table {
        title: "CSF profile gaps / CSFプロファイルのギャップ",
        headings: vec![
            "Area / 領域",
            "Current / 現在",
            "Target / 目標",
            "Priority / 優先度",
            "Risks citing / 関連リスク",
        ],
        rows: crate::profiles::gaps(conn)?
            .into_iter()
            .map(|g| {
                vec![
                    format!("{} {}", g.area, g.name),
                    g.current.to_string(),
                    g.target.to_string(),
                    g.priority.to_string(),
                    g.risks.to_string(),
                ]
            })
            .collect(),
    };
    // Asset name -> the suppliers it comes from, named or through the offerings it names.
    let offered_by = crate::context::offering_suppliers(conn)?;
    let asset_suppliers: std::collections::HashMap<String, Vec<String>> = crate::assets::list_all(conn)?
        .into_iter()
        .map(|a| {
            let mut suppliers: Vec<String> = serde_json::from_str(&a.supplier_ids).unwrap_or_default();
            let offerings: Vec<String> = serde_json::from_str(&a.offering_ids).unwrap_or_default();
            suppliers.extend(offerings.iter().filter_map(|o| offered_by.get(o).cloned()));
            (a.name, suppliers)
        })
        .collect();
    let depends = |r: &crate::risks::Risk, supplier: &str| {
        r.suppliers.iter().any(|d| d.supplier == supplier)
            || r.assets.iter().any(|a| asset_suppliers.get(a).is_some_and(|s| s.iter().any(|s| s == supplier)))
    };
    let suppliers = Table {
        title: "Supplier dependencies / サプライヤー依存",
        headings: vec!["Supplier / サプライヤー", "Tier / ランク", "Score / スコア", "Risks / リスク"],
        rows: crate::context::known_suppliers(conn)?
            .into_iter()
            .map(|s| {
                let dependent: Vec<String> = risks.iter().filter(|r| depends(r, &s.id)).map(|r| r.id.clone()).collect();
                vec![
                    format!("{} ({})", s.name, s.id),
                    s.tier.unwrap_or_else(|| "-".into()),
                    s.score.map_or("-".into(), |s| s.to_string()),
                    dependent.join(", "),
                ]
            })
            .collect(),
    };
    Ok(vec![top, flags, gaps, suppliers])
}

fn md_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// The report in `md` or `html`.
pub fn render(conn: &mut SqliteConnection, format: &str) -> Result<String> {
    let tables = tables(conn)?;
    let today = chrono::Utc::now().date_naive();
    let title = "Cyber risk report / サイバーリスク報告";
    let mut out = String::new();
    match format {
        "md" => {
            out.push_str(&format!("# {title}\n\n{today}\n"));
            for t in &tables {
                out.push_str(&format!("\n## {}\n\n", t.title));
                if t.rows.is_empty() {
                    out.push_str("None / なし\n");
                    continue;
                }
                out.push_str(&format!("| {} |\n", t.headings.join(" | ")));
                out.push_str(&format!("|{}\n", "---|".repeat(t.headings.len())));
                for r in &t.rows {
                    out.push_str(&format!("| {} |\n", r.iter().map(|c| md_cell(c)).collect::<Vec<_>>().join(" | ")));
                }
            }
        }
        "html" => {
            out.push_str(&format!(
                "<!DOCTYPE html>\n<html lang=\"ja\"><head><meta charset=\"utf-8\"><title>{title}</title>\
                 <style>body{{font-family:sans-serif}}table{{border-collapse:collapse}}td,th{{border:1px solid #999;padding:4px}}</style>\
                 </head><body>\n<h1>{title}</h1>\n<p>{today}</p>\n"
            ));
            for t in &tables {
                out.push_str(&format!("<h2>{}</h2>\n", html_escape(t.title)));
                if t.rows.is_empty() {
                    out.push_str("<p>None / なし</p>\n");
                    continue;
                }
                out.push_str("<table>\n<tr>");
                for h in &t.headings {
                    out.push_str(&format!("<th>{}</th>", html_escape(h)));
                }
                out.push_str("</tr>\n");
                for r in &t.rows {
                    out.push_str("<tr>");
                    for c in r {
                        out.push_str(&format!("<td>{}</td>", html_escape(c)));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</table>\n");
            }
            out.push_str("</body></html>\n");
        }
        other => bail!("report format {other:?}: use md or html / 形式「{other}」は使えません(md または html)"),
    }
    Ok(out)
}
