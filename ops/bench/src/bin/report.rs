//! report-bench: how long the client takes to write the management report as a PDF
//! (issue 21: "with 10,000 assets, 2,000 risks … a management PDF report in ≤ 3 s").
//!
//! Builds a register in a temporary folder through the client's own functions, as
//! match-bench does (asset import, `risks::add`), with business services, risks of
//! both methods, a year of revision history (revision times spread over twelve
//! months), a CSF profile and open flags (every review made due), then times
//! `report::build` for management (or `--audience`) and `report::render_as` to PDF with the CJK font,
//! `--runs` times, and prints each run, the median and the PDF's size.

use std::time::Instant;

// The allocator of the `renkei` binary, whose report this measures.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use anyhow::{Context as _, Result};
use clap::Parser;
use diesel::prelude::*;
use diesel::SqliteConnection;
use renkei_client::report::{self, Audience, Format};
use renkei_client::{assets, flags, profiles, register, risks, services};

#[derive(Parser)]
struct Args {
    #[arg(long, default_value_t = 10_000)]
    assets: usize,
    #[arg(long, default_value_t = 2_000)]
    risks: usize,
    #[arg(long, default_value_t = 20)]
    services: usize,
    #[arg(long, default_value_t = 3)]
    runs: usize,
    /// The font, FILE[#INDEX] (default: the known Debian paths).
    #[arg(long, env = "RENKEI_REPORT_FONT")]
    font: Option<String>,
    /// management (the goal's), operations or regulator.
    #[arg(long, default_value = "management")]
    audience: String,
    /// The goal, in seconds.
    #[arg(long, default_value_t = 3.0)]
    goal_s: f64,
}

fn service(i: usize) -> String {
    format!("サービス {i} / service {i}")
}

fn build(conn: &mut SqliteConnection, args: &Args) -> Result<()> {
    for s in 0..args.services {
        services::put(
            conn,
            services::Service {
                name: service(s),
                mission: ["essential", "support", "minimal"][s % 3].into(),
                tolerable_outage_hours: 4.0,
                impact_criteria: vec!["outage over 4 h = 4".into()],
            },
        )?;
    }
    let inputs = (0..args.assets)
        .map(|i| {
            let input = assets::AssetInput {
                name: format!("asset-{i}"),
                kind: "ot_device".into(),
                services: vec![service(i % args.services)],
                criticality: (i % 5 + 1) as i32,
                version: Some(format!("{}.{}", i % 4, i % 10)),
                ..Default::default()
            };
            (format!("asset {i}"), input)
        })
        .collect();
    flags::import_assets(conn, inputs)?;
    conn.transaction(|c| -> Result<()> {
        for r in 0..args.risks {
            let business = r % 2 == 0;
            let input = risks::RiskInput {
                title: format!("リスク {r}: 制御系の停止 / outage {r}"),
                method: if business { "business_damage" } else { "asset" }.into(),
                assets: if business {
                    vec![]
                } else {
                    (0..1 + r % 4).map(|k| format!("asset-{}", (r * 5 + k * 1_237) % args.assets)).collect()
                },
                services: if business { vec![service(r % args.services)] } else { vec![] },
                current: Some(risks::FactorsInput {
                    impact: business.then_some(1 + r % 5),
                    threat: 1 + r % 5,
                    vulnerability: 1 + r % 3,
                }),
                owner: Some(format!("owner {}", r % 40)),
                csf: vec![["PR.PS", "DE.CM", "GV.SC", "RS.MA"][r % 4].into()],
                ..Default::default()
            };
            risks::add(c, input)?;
        }
        Ok(())
    })?;
    // A year of history: each risk's revisions dated in one of the last twelve months.
    {
        use renkei_client::tables::risk_revisions;
        let ids: Vec<String> = risk_revisions::table.select(risk_revisions::risk_id).load(conn)?;
        conn.transaction(|c| -> Result<()> {
            for (k, id) in ids.iter().enumerate() {
                let at = (chrono::Utc::now() - chrono::Duration::days(30 * (k as i64 % 12) + 1)).to_rfc3339();
                diesel::update(risk_revisions::table.filter(risk_revisions::risk_id.eq(id)))
                    .set(risk_revisions::at.eq(at))
                    .execute(c)?;
            }
            Ok(())
        })?;
    }
    for (area, current, target) in
        [("GV", 2, 3), ("ID.AM", 2, 4), ("PR.PS", 1, 3), ("DE.CM", 2, 3), ("RS", 1, 2), ("RC", 2, 2)]
    {
        profiles::set(conn, area, current, target, 2, "")?;
    }
    // Open flags: a year on, every review is due.
    flags::raise_due(conn, chrono::Utc::now() + chrono::Duration::days(400))?;
    Ok(())
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
        "register: {} assets, {} risks, {} services built in {:.1} s",
        args.assets,
        args.risks,
        args.services,
        started.elapsed().as_secs_f64()
    );
    let audience = Audience::parse(&args.audience)?;
    let mut times = Vec::new();
    for run in 0..args.runs.max(1) {
        let t = Instant::now();
        let built = report::build(&mut conn, audience, chrono::Utc::now())?;
        let build_s = t.elapsed().as_secs_f64();
        let rendered = report::render_as(&built, Format::Pdf, None, args.font.as_deref())?;
        let total = t.elapsed().as_secs_f64();
        println!(
            "run {run}: {} PDF in {total:.3} s (sections {build_s:.3} s, PDF {:.3} s), {} bytes",
            audience.as_str(),
            total - build_s,
            rendered.body.len()
        );
        times.push(total);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!(
        "{} PDF report, {} assets and {} risks: median {median:.3} s, worst {:.3} s (goal {} s): {}",
        audience.as_str(),
        args.assets,
        args.risks,
        times[times.len() - 1],
        args.goal_s,
        if median <= args.goal_s { "met" } else { "BELOW" }
    );
    Ok(())
}
