//! match-bench: how long the client takes to match a page of new items against a
//! member's register (issue 5: "with 10,000 assets and 2,000 risks, matching a page of
//! 5,000 new items against the register ≤ 100 ms; it must use indexes, not compare
//! every pair").
//!
//! Builds a register in a temporary folder through the client's own functions (asset
//! import, `risks::add`, the stored ATT&CK `targets` relation and supplier chain, and
//! `--trees` attack trees of `--tree-nodes` nodes through `trees::import`, one risk in
//! ten being business-damage-based with a tree on it), then
//! times, for `--pages` pages of `--page` items each: loading the match index (once per
//! sync in real use), and matching one page and recording its flags in one transaction
//! (what every applied page of a sync does). Items are advisories, techniques, incidents
//! and supplier rating events; `--hit-percent` of them name something the register
//! holds (a product, an ICS asset type, a supplier), the rest name things it does not.
//! The trees' leaves sit on techniques the page's items name: half on the ICS
//! techniques of the hits, half on the Enterprise techniques of the misses (which the
//! risks themselves never assume), so every page matches tree leaves.
//! No hub is involved: matching happens after a page has been verified and stored.
//! Then, on the same register (with an appetite statement and a treatment plan added),
//! the other goal: the management report built and rendered to PDF
//! (`--report-runs` times; skipped, and said so, without a CJK font).

use std::time::Instant;

// The allocator of the `renkei` binary, whose matching this measures.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{Context as _, Result};
use clap::Parser;
use diesel::prelude::*;
use renkei_client::report::{self, Audience, Format};
use renkei_client::{assets, catalogs, context, flags, profiles, register, risks, services, trees};
use serde_json::json;

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 10_000)]
    assets: usize,
    #[arg(long, default_value_t = 2_000)]
    risks: usize,
    /// Items per page.
    #[arg(long, default_value_t = 5_000)]
    page: usize,
    #[arg(long, default_value_t = 5)]
    pages: usize,
    /// Share of the threat items (not indicators) naming something the register holds.
    #[arg(long, default_value_t = 5)]
    hit_percent: usize,
    /// Share of indicators in the page (a sector feed is mostly indicators, which go to
    /// detection and are not matched against risks); 0 makes every item a threat item.
    #[arg(long, default_value_t = 70)]
    indicator_percent: usize,
    /// Attack trees (each on a business-damage-based risk; at most one risk in ten).
    #[arg(long, default_value_t = 200)]
    trees: usize,
    /// Nodes per attack tree.
    #[arg(long, default_value_t = 50)]
    tree_nodes: usize,
    /// The goal per page, in milliseconds.
    #[arg(long, default_value_t = 100.0)]
    goal_ms: f64,
    /// Runs of the management PDF report on the same register after the pages (0: none).
    #[arg(long, default_value_t = 3)]
    report_runs: usize,
    /// The report's font, FILE[#INDEX] (default: the known Debian paths, as `renkei report`).
    #[arg(long, env = "RENKEI_REPORT_FONT")]
    font: Option<String>,
    /// The report's goal, in seconds.
    #[arg(long, default_value_t = 3.0)]
    report_goal_s: f64,
}

const PRODUCTS: usize = 500;
const SUPPLIERS: usize = 300;
const TECHNIQUES: usize = 80;

fn product(i: usize) -> (String, String) {
    (format!("vendor{}", i % 97), format!("product{i}"))
}

fn supplier(i: usize) -> String {
    format!("supplier--00000000-0000-4000-8000-{i:012}")
}

fn technique(i: usize) -> String {
    format!("T0{:03}", 800 + i % TECHNIQUES)
}

fn ics_type(i: usize) -> String {
    format!("A{:04}", 1 + i % 18)
}

/// The register: assets over `PRODUCTS` products, ICS asset types and suppliers; risks
/// on a few assets each, assuming techniques, CVEs and supplier dependencies.
fn build(conn: &mut SqliteConnection, args: &Args) -> Result<()> {
    let inputs = (0..args.assets)
        .map(|i| {
            let (vendor, prod) = product(i % PRODUCTS);
            let input = assets::AssetInput {
                name: format!("asset-{i}"),
                kind: "ot_device".into(),
                criticality: (i % 5 + 1) as i32,
                version: Some(format!("{}.{}", i % 4, i % 10)),
                cpe: Some(format!("cpe:2.3:h:{vendor}:{prod}:-:*:*:*:*:*:*:*")),
                ics_asset_types: vec![ics_type(i)],
                suppliers: vec![supplier(i % SUPPLIERS)],
                ..Default::default()
            };
            (format!("asset {i}"), input)
        })
        .collect();
    flags::import_assets(conn, inputs)?;
    services::put(
        conn,
        services::Service {
            name: SERVICE.into(),
            mission: "essential".into(),
            tolerable_outage_hours: 4.0,
            impact_criteria: Vec::new(),
        },
    )?;
    conn.transaction(|c| -> Result<()> {
        for r in 0..args.risks {
            // One risk in ten is business-damage-based (the trees' risks); its links are
            // the same as an asset-based one's.
            let business = r.is_multiple_of(10);
            let input = risks::RiskInput {
                title: format!("risk {r}"),
                method: if business { "business_damage".into() } else { "asset".into() },
                services: if business { vec![SERVICE.into()] } else { Vec::new() },
                assets: (0..1 + r % 4).map(|k| format!("asset-{}", (r * 5 + k * 1_237) % args.assets)).collect(),
                techniques: (0..r % 3).map(|k| technique(r + k)).collect(),
                cves: (0..r % 2).map(|k| format!("CVE-2026-{:05}", 10_000 + (r + k) % 5_000)).collect(),
                suppliers: (0..r % 3)
                    .map(|k| risks::Dependency { supplier: supplier(r * 7 + k), offering: None, dependency: 3 })
                    .collect(),
                current: Some(risks::FactorsInput {
                    impact: business.then_some(1 + r % 5),
                    threat: 1 + r % 5,
                    vulnerability: 1 + r % 3,
                }),
                ..Default::default()
            };
            risks::add(c, input)?;
        }
        Ok(())
    })?;
    let targets: Vec<(String, String)> =
        (0..TECHNIQUES).flat_map(|t| (0..3).map(move |k| (technique(t), ics_type(t * 3 + k)))).collect();
    context::store_targets(conn, &targets)?;
    use renkei_client::tables::supplier_chain;
    for s in 0..SUPPLIERS {
        diesel::insert_into(supplier_chain::table)
            .values((
                supplier_chain::parent.eq(supplier(s)),
                supplier_chain::subcontractor.eq(supplier(SUPPLIERS + s % 50)),
            ))
            .execute(conn)?;
    }
    load_catalogs(conn)?;
    if args.trees > 0 {
        let started = Instant::now();
        let stored = trees::import(conn, (0..args.trees).map(|t| attack_tree(t, args)).collect())?;
        println!(
            "{} attack trees of {} nodes imported in {:.1} s",
            stored.len(),
            args.tree_nodes,
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}

/// NIST CSF 2.0 (built in) and two more catalogs with their mappings, and a profile entry
/// for every CSF subcategory, citing areas the risks cite too: the catalogs the issue's
/// speed goal names as loaded.
fn load_catalogs(conn: &mut SqliteConnection) -> Result<()> {
    let started = Instant::now();
    catalogs::ensure_builtin(conn)?;
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../client/catalogs");
    for name in ["cis-v8", "c2m2-2.1"] {
        catalogs::import(conn, catalogs::read_file(&shipped.join(format!("{name}.json")))?)?;
        catalogs::import_mappings_file(conn, &shipped.join(format!("mappings/nist-csf-2.0_to_{name}.json")))?;
    }
    let subcategories: Vec<String> = catalogs::controls(conn, "nist-csf-2.0")?
        .into_iter()
        .filter(|c| c.kind == "subcategory")
        .map(|c| c.label)
        .collect();
    for (i, label) in subcategories.iter().enumerate() {
        profiles::put(
            conn,
            profiles::EntryInput {
                label: label.clone(),
                current: (i % 3 + 1) as i32,
                target: 3,
                priority: Some((i % 3 + 1) as i32),
                ..Default::default()
            },
        )?;
    }
    println!(
        "catalogs: NIST CSF 2.0, CIS v8 and C2M2 2.1 with their mappings, {} profile entries, in {:.1} s",
        subcategories.len(),
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

const SERVICE: &str = "bench service";

/// Tree `t`: a complete ternary tree of `--tree-nodes` nodes (steps alternating OR and
/// AND by depth), on the business-damage-based risk `t` (risk number 10 t).
fn attack_tree(t: usize, args: &Args) -> trees::TreeInput {
    let n = args.tree_nodes.max(2);
    let nodes = (0..n)
        .map(|i| {
            let children: Vec<String> =
                (1..=3).map(|k| 3 * i + k).filter(|&c| c < n).map(|c| format!("n{c}")).collect();
            let depth = (2 * i + 1).ilog(3);
            let mut node =
                trees::NodeInput { id: format!("n{i}"), title: format!("tree {t} step {i}"), ..Default::default() };
            if children.is_empty() {
                let k = t * n + i;
                node.kind = "leaf".into();
                // Half on the hits' ICS techniques, half on the misses' Enterprise ones.
                node.technique =
                    Some(if k.is_multiple_of(2) { technique(k / 2) } else { format!("T1{:03}", 100 + (k / 2) % 800) });
                node.asset = Some(format!("asset-{}", (k * 13) % args.assets));
                if !k.is_multiple_of(3) {
                    node.threat = Some(1 + k % 5);
                    node.vulnerability = Some(1 + k % 4);
                }
            } else {
                node.kind = if depth.is_multiple_of(2) { "or".into() } else { "and".into() };
                node.children = children;
            }
            node
        })
        .collect();
    trees::TreeInput {
        id: None,
        damage: format!("bench damage {t}"),
        damage_ja: None,
        services: vec![SERVICE.into()],
        risk: format!("R-{:04}", 1 + (t * 10) % args.risks),
        damage_size: 1 + t % 5,
        nodes,
    }
}

/// One page of items. Threat items are 60% advisories, 10% techniques, 5% incidents
/// and 25% rating events; `hit` decides whether one names something held.
fn page(p: usize, size: usize, args: &Args) -> Vec<register::ItemRow> {
    (0..size)
        .map(|i| {
            let n = p * size + i;
            let hit = n * 7919 % 100 < args.hit_percent;
            // Outside the register: other products, techniques it assumes nowhere and
            // no asset type it runs, suppliers it does not use.
            let k = if hit { n } else { n + 1_000_000 };
            let indicator = n * 31 % 100 < args.indicator_percent;
            let (id, kind, stix) = match (indicator, n % 20) {
                (true, _) => {
                    let id = format!("indicator--bench-{n}");
                    (id.clone(), "indicator", json!({"type": "indicator", "id": id, "pattern": format!("[domain-name:value = 'h{n}.bench.example']"),
                        "x_renkei_indicator_type": "domain", "x_renkei_value": format!("h{n}.bench.example")}))
                }
                (_, 0..=11) => {
                    let (vendor, prod) = if hit { product(k % PRODUCTS) } else { product(PRODUCTS + k % 10_000) };
                    let cve = format!("CVE-2026-{:05}", if hit { 10_000 + n % 5_000 } else { 60_000 + n % 30_000 });
                    let id = format!("vulnerability--bench-{n}");
                    (id.clone(), "advisory", json!({"type": "vulnerability", "id": id, "name": cve,
                        "external_references": [{"source_name": "cve", "external_id": cve}],
                        "x_renkei_affected": [{"cpe": format!("cpe:2.3:h:{vendor}:{prod}:*:*:*:*:*:*:*:*"), "version_end_excluding": "2.5"}],
                        "x_renkei_exploitation": "poc_public"}))
                }
                (_, 12..=13) => {
                    let t = if hit { technique(k) } else { format!("T1{:03}", 100 + n % 800) };
                    let id = format!("attack-pattern--bench-{n}");
                    (id.clone(), "technique", json!({"type": "attack-pattern", "id": id, "name": "bench",
                        "external_references": [{"source_name": "mitre-attack", "external_id": t}]}))
                }
                (_, 14) => {
                    let id = format!("incident--bench-{n}");
                    let t = if hit { technique(k) } else { format!("T1{:03}", 100 + n % 800) };
                    (id.clone(), "incident", json!({"type": "incident", "id": id, "name": "bench", "x_renkei_technique_ids": [t]}))
                }
                _ => {
                    let s = if hit { supplier(k % (SUPPLIERS + 50)) } else { supplier(10_000 + k % 10_000) };
                    let id = format!("x-renkei-rating-change--bench-{n}");
                    let summary = json!({"flags": [], "coverage_percent": 100, "assessor_count": 2, "inputs": []});
                    (id.clone(), "rating-change", json!({"type": "x-renkei-rating-change", "spec_version": "2.1", "id": id,
                        "created": "2026-11-26T00:00:00Z", "modified": "2026-11-26T00:00:00Z", "object_marking_refs": [],
                        "x_renkei_origin_hub": "bench", "supplier_ref": s, "scheme": "renkei-handbook-6.4",
                        "previous": summary, "current": summary, "reasons": [], "worsened": true}))
                }
            };
            register::ItemRow {
                id,
                kind: kind.into(),
                revision: 1,
                tlp: "TLP:GREEN".into(),
                seq: n as i64,
                stix: stix.to_string(),
                signature: String::new(),
                received_at: String::new(),
            }
        })
        .collect()
}

fn main() -> Result<()> {
    let args = Args::parse();
    // Removed when dropped, whatever `run` returns.
    let dir = renkei_bench::harness::TempDir::new()?;
    run(&args, &dir.0)
}

fn run(args: &Args, dir: &std::path::Path) -> Result<()> {
    let mut conn = register::open(&dir.join("register.db"))?;
    let started = Instant::now();
    build(&mut conn, args).context("building the register")?;
    println!(
        "register: {} assets, {} risks, {} attack trees of {} nodes built in {:.1} s",
        args.assets,
        args.risks,
        args.trees,
        args.tree_nodes,
        started.elapsed().as_secs_f64()
    );
    let mut loads = Vec::new();
    let mut matches = Vec::new();
    for p in 0..args.pages {
        let items = page(p, args.page, args);
        let t = Instant::now();
        let index = flags::MatchIndex::load(&mut conn)?;
        let load_ms = t.elapsed().as_secs_f64() * 1e3;
        // Matching alone (no writes), for the breakdown.
        let t = Instant::now();
        let (mut found, mut on_trees) = (0, 0);
        for item in &items {
            let candidates = flags::candidates(&index, item)?;
            found += candidates.len();
            on_trees += candidates.iter().filter(|c| c.trigger == flags::Trigger::AttackTree).count();
        }
        let candidates_ms = t.elapsed().as_secs_f64() * 1e3;
        let t = Instant::now();
        let recorded = conn.transaction(|c| flags::match_items(c, &index, &items))?;
        let match_ms = t.elapsed().as_secs_f64() * 1e3;
        println!(
            "page {p}: matching alone {candidates_ms:.1} ms ({found} risk matches, {on_trees} through attack-tree leaves)"
        );
        println!(
            "page {p}: {} items, index load {load_ms:.1} ms, match and record {match_ms:.1} ms, {} flags raised, {} updated",
            items.len(),
            recorded.raised,
            recorded.updated
        );
        loads.push(load_ms);
        matches.push(match_ms);
    }
    matches.sort_by(f64::total_cmp);
    loads.sort_by(f64::total_cmp);
    let (median, worst) = (matches[matches.len() / 2], matches[matches.len() - 1]);
    println!(
        "match a page of {} ({}% indicators, {}% of the rest naming held things; {} attack trees of {} nodes): median {median:.1} ms, worst {worst:.1} ms (index load median {:.1} ms): {}",
        args.page,
        args.indicator_percent,
        args.hit_percent,
        args.trees,
        args.tree_nodes,
        loads[loads.len() / 2],
        if worst <= args.goal_ms { "met" } else { "BELOW" }
    );
    report_pdf(&mut conn, args)
}

/// What the management report shows beyond the register above, not timed: an appetite
/// statement on the service that its incidents breach, and a treatment plan of
/// `REPORT_ACTIONS` actions on CSF gaps and risks, one in four overdue.
fn report_data(conn: &mut SqliteConnection, args: &Args) -> Result<()> {
    use renkei_client::{appetite, plans};
    let now = chrono::Utc::now();
    appetite::set(
        conn,
        appetite::StatementInput {
            service: SERVICE.into(),
            kind: "appetite".into(),
            max_incidents: 3,
            period_days: 365,
            max_degradation: 20.0,
            ..Default::default()
        },
        now,
    )?;
    let incidents = (1..=5i64)
        .map(|k| {
            let started = now - chrono::Duration::days(30 * k);
            let input = appetite::IncidentInput {
                service: SERVICE.into(),
                started: started.to_rfc3339(),
                ended: (started + chrono::Duration::hours(2)).to_rfc3339(),
                degradation: 10.0 * k as f64,
                title: Some(format!("outage {k}")),
            };
            (format!("incident {k}"), Some(input), Vec::new())
        })
        .collect();
    appetite::store(conn, incidents, now)?;
    let subcategories: Vec<String> = catalogs::controls(conn, catalogs::CSF)?
        .into_iter()
        .filter(|c| c.kind == "subcategory")
        .map(|c| c.label)
        .collect();
    let today = now.date_naive();
    for a in 0..REPORT_ACTIONS {
        let due = if a % 4 == 0 {
            today - chrono::Duration::days(1 + a as i64 % 30)
        } else {
            today + chrono::Duration::days(a as i64)
        };
        plans::add(
            conn,
            plans::ActionInput {
                title: format!("action {a}"),
                owner: format!("owner {}", a % 7),
                due: due.to_string(),
                cost: Some(1_000.0 + a as f64),
                gaps: subcategories.get(a % subcategories.len().max(1)).cloned().into_iter().collect(),
                risks: vec![format!("R-{:04}", 1 + a * 7 % args.risks.max(1))],
            },
        )?;
    }
    Ok(())
}

/// Treatment actions made for the report.
const REPORT_ACTIONS: usize = 200;

/// The other goal on the same register (catalogs, trees, and the flags the pages
/// raised), with an appetite statement and a treatment plan added: the management
/// report built and rendered to PDF, `--report-runs` times.
fn report_pdf(conn: &mut SqliteConnection, args: &Args) -> Result<()> {
    if args.report_runs == 0 {
        return Ok(());
    }
    // The font as `renkei report` finds it; without one there is no PDF to time.
    if let Err(e) = renkei_client::pdf::find_font(args.font.as_deref()) {
        println!("management PDF report: skipped, no CJK font ({e})");
        return Ok(());
    }
    report_data(conn, args)?;
    let mut times = Vec::new();
    let mut size = 0;
    for run in 0..args.report_runs {
        let t = Instant::now();
        let built = report::build(conn, Audience::Management, chrono::Utc::now())?;
        let build_s = t.elapsed().as_secs_f64();
        let rendered = report::render_as(&built, Format::Pdf, None, args.font.as_deref())?;
        let total = t.elapsed().as_secs_f64();
        size = rendered.body.len();
        println!(
            "report run {run}: management PDF in {total:.3} s (sections {build_s:.3} s, PDF {:.3} s), {size} bytes",
            total - build_s
        );
        times.push(total);
    }
    times.sort_by(f64::total_cmp);
    let (median, worst) = (times[times.len() / 2], times[times.len() - 1]);
    println!(
        "management PDF report ({} assets, {} risks, {} attack trees of {} nodes, 3 catalogs): median {median:.3} s, worst {worst:.3} s, {size} bytes (goal {} s): {}",
        args.assets,
        args.risks,
        args.trees,
        args.tree_nodes,
        args.report_goal_s,
        if worst <= args.report_goal_s { "met" } else { "BELOW" }
    );
    Ok(())
}
