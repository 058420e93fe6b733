//! The commands on the member's own register: assets, services, the risk matrix, risks,
//! the CSF profile, reassessment flags and reports.

use anyhow::{Context as _, Result};
use renkei_client::progress::Progress;
use renkei_client::{assets, catalogs, flags, matrix, plans, profiles, report, risks, services};
use serde::Serialize;

use super::args::*;
use super::*;

/// Runs one of these commands on the open register.
/// `json`: the global `--json` flag (list and show commands print JSON).
pub(super) fn run_register(mut conn: diesel::SqliteConnection, command: Command, json: bool) -> Result<i32> {
    match command {
        Command::Asset { command: AssetCommand::Import { file } } => {
            let inputs = assets::read_file(&file)?;
            let mut progress = Progress::start("asset import", Some(inputs.len() as u64));
            let n = flags::import_assets_with_progress(&mut conn, inputs, &mut |n| progress.advance(n as u64))?;
            progress.finish();
            println!("{n} assets imported");
            Ok(0)
        }
        Command::Asset { command: AssetCommand::List } => {
            let held = assets::list_all(&mut conn)?;
            if json {
                print_json(&held.iter().map(assets::AssetRow::as_input).collect::<Vec<_>>())?;
                return Ok(0);
            }
            for a in held {
                println!("{}\t{}\t{}\t{}", a.name, a.kind, a.criticality, a.cpe.as_deref().unwrap_or("-"));
            }
            Ok(0)
        }
        Command::Service { command: ServiceCommand::Add { name, mission, tolerable_outage_hours, criteria } } => {
            services::put(
                &mut conn,
                services::Service { name, mission, tolerable_outage_hours, impact_criteria: criteria },
            )?;
            println!("service stored");
            Ok(0)
        }
        Command::Service { command: ServiceCommand::List } => {
            let held = services::list(&mut conn)?;
            if json {
                print_json(&held)?;
                return Ok(0);
            }
            for s in held {
                println!("{}\t{}\t{} h\t{}", s.name, s.mission, s.tolerable_outage_hours, s.impact_criteria.join("; "));
            }
            Ok(0)
        }
        Command::Matrix { command: MatrixCommand::Show } => {
            // JSON either way: it is the file `matrix set` reads.
            print_json(&matrix::current(&mut conn)?)?;
            Ok(0)
        }
        Command::Matrix { command: MatrixCommand::Set { file } } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let new: matrix::Matrix = serde_json::from_str(&text).context("the matrix file")?;
            let flagged = diesel::Connection::transaction(&mut conn, |c| -> Result<flags::Recorded> {
                matrix::replace(c, new)?;
                Ok(flags::raise_due(c, chrono::Utc::now())?)
            })?;
            println!("matrix in force; {} risks flagged for re-rating", flagged.raised);
            Ok(0)
        }
        Command::Risk { command: RiskCommand::Add { title, args } } => {
            let id = risks::add(&mut conn, risk_input(title, args)?)?;
            println!("{id}");
            Ok(0)
        }
        Command::Risk { command: RiskCommand::Import { file } } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let inputs: Vec<risks::RiskInput> = serde_json::from_str(&text).context("the risk file")?;
            // All or nothing: one bad risk leaves the register as it was.
            let ids = diesel::Connection::transaction(&mut conn, |c| -> Result<Vec<String>> {
                inputs
                    .into_iter()
                    .enumerate()
                    .map(|(i, r)| risks::add(c, r).with_context(|| format!("risk {} / リスク{}", i + 1, i + 1)))
                    .collect()
            })?;
            println!("{} risks added: {}", ids.len(), ids.join(" "));
            Ok(0)
        }
        Command::Risk { command: RiskCommand::List } => {
            let m = matrix::current(&mut conn)?;
            let open = flags::open_counts(&mut conn)?;
            let held = risks::list(&mut conn)?;
            if json {
                let listed: Vec<RiskListed> = held
                    .iter()
                    .map(|r| RiskListed {
                        level: r.effective().map(|x| m.level_name(x.level)),
                        value: r.effective().map(|x| x.value),
                        next_review: r.next_review(&m).date_naive().to_string(),
                        open_flags: open.get(&r.id).copied().unwrap_or(0),
                        risk: r,
                    })
                    .collect();
                print_json(&listed)?;
                return Ok(0);
            }
            for r in held {
                let rated = r.effective();
                println!(
                    "{}\t{}\t{}\t{}\treview {}\t{} open flags\t{}",
                    r.id,
                    rated.map_or("unrated / 未評価".into(), |x| m.level_name(x.level)),
                    rated.map_or(0, |x| x.value),
                    r.method,
                    r.next_review(&m).date_naive(),
                    open.get(&r.id).copied().unwrap_or(0),
                    r.title
                );
            }
            Ok(0)
        }
        Command::Risk { command: RiskCommand::Show { id } } => {
            let r = risks::get(&mut conn, &id)?;
            let m = matrix::current(&mut conn)?;
            if json {
                let revisions = risks::revisions(&mut conn, &id)?
                    .into_iter()
                    .map(|(revision, at, note)| RevisionShown { revision, at, note })
                    .collect();
                let flags = flags::list(&mut conn, "all")?.into_iter().filter(|f| f.risk_id == id).collect();
                print_json(&RiskShown {
                    next_review: r.next_review(&m).date_naive().to_string(),
                    risk: &r,
                    revisions,
                    flags,
                })?;
                return Ok(0);
            }
            println!("{}", serde_json::to_string_pretty(&r)?);
            println!("next review: {}", r.next_review(&m).date_naive());
            for (rev, at, note) in risks::revisions(&mut conn, &id)? {
                println!("revision {rev} at {at}: {note}");
            }
            for f in flags::list(&mut conn, "all")?.iter().filter(|f| f.risk_id == id) {
                print_flag(f);
            }
            Ok(0)
        }
        Command::Risk { command: RiskCommand::Assess { id, note, args } } => {
            let change = risks::Assessment {
                inherent: args.inherent,
                current: args.current,
                target: args.target,
                treatment: args.treatment,
                approver: args.approver,
                accepted_until: args.accepted_until,
                controls: (!args.controls.is_empty()).then_some(args.controls),
                techniques_added: args.techniques,
                cves_added: args.cves,
                note,
            };
            let (revision, resolved) = flags::assess_risk(&mut conn, &id, change)?;
            println!("{id} revision {revision}; {resolved} flags resolved");
            Ok(0)
        }
        Command::Catalog { command } => catalog(&mut conn, command, json),
        Command::Profile { command } => profile(&mut conn, command, json),
        Command::Plan { command } => plan(&mut conn, command, json),
        Command::Flags { command: Some(FlagsCommand::Dismiss { id, reason }), .. } => {
            flags::dismiss(&mut conn, id, &reason)?;
            println!("flag {id} dismissed");
            Ok(0)
        }
        Command::Flags { status, command: None } => {
            flags::raise_due(&mut conn, chrono::Utc::now())?;
            let listed = flags::list(&mut conn, &status)?;
            if json {
                print_json(&listed)?;
                return Ok(0);
            }
            for f in listed {
                print_flag(&f);
            }
            Ok(0)
        }
        Command::Report { audience, format, out, font } => {
            // Both checked before any work, each problem named.
            let (audience, format) = match (report::Audience::parse(&audience), report::Format::parse(&format)) {
                (Ok(a), Ok(f)) => (a, f),
                (a, f) => {
                    let problems: Vec<String> =
                        [a.err(), f.err()].into_iter().flatten().map(|e| e.to_string()).collect();
                    anyhow::bail!("{}", problems.join("\n"));
                }
            };
            if format == report::Format::Pdf && out.is_none() {
                anyhow::bail!("a PDF report needs --out FILE / PDFの報告には --out FILE が必要です");
            }
            // As `flags` does: reviews and acceptances that fell due are flagged first.
            let now = chrono::Utc::now();
            flags::raise_due(&mut conn, now)?;
            let built = report::build(&mut conn, audience, now)?;
            let stem = out.as_ref().and_then(|p| p.file_stem()).map(|s| s.to_string_lossy().into_owned());
            let rendered = report::render_as(&built, format, stem.as_deref(), font.as_deref())?;
            match out {
                Some(path) => {
                    std::fs::write(&path, &rendered.body).with_context(|| format!("writing {}", path.display()))?;
                    let dir = path.parent().unwrap_or(std::path::Path::new("."));
                    for (name, svg) in &rendered.files {
                        let file = dir.join(name);
                        std::fs::write(&file, svg).with_context(|| format!("writing {}", file.display()))?;
                    }
                }
                None => {
                    use std::io::Write as _;
                    std::io::stdout().write_all(&rendered.body)?;
                }
            }
            Ok(0)
        }
        Command::Appetite { command } => super::appetite::run_appetite(&mut conn, command, json),
        Command::Incident { command } => super::appetite::run_incident(&mut conn, command, json),
        Command::Readiness { command } => super::appetite::run_readiness(&mut conn, command, json),
        _ => anyhow::bail!("internal: this command is dispatched elsewhere by cli::run"),
    }
}

fn catalog(conn: &mut diesel::SqliteConnection, command: CatalogCommand, json: bool) -> Result<i32> {
    match command {
        CatalogCommand::Import { file } => {
            let parsed = catalogs::read_file(&file)?;
            let done = catalogs::import(conn, parsed)?;
            match &done.replaced {
                Some(old) => println!(
                    "{} {} imported ({} controls), replacing version {old}; {} mappings dropped",
                    done.framework, done.version, done.controls, done.mappings_dropped
                ),
                None => println!("{} {} imported ({} controls)", done.framework, done.version, done.controls),
            }
        }
        CatalogCommand::MapImport { file } => {
            let done = catalogs::import_mappings_file(conn, &file)?;
            println!(
                "{} mappings {} -> {} imported ({} replaced)",
                done.mappings, done.source, done.target, done.replaced
            );
        }
        CatalogCommand::List => {
            let all = catalogs::list(conn)?;
            if json {
                return print_json(&all).map(|_| 0);
            }
            for c in all {
                println!(
                    "{}\t{}\t{}\t{} controls\t{}\t{}",
                    c.framework, c.version, c.title, c.controls, c.licence, c.source
                );
            }
        }
        CatalogCommand::Show { framework, control: Some(label) } => {
            let shown = catalogs::show_control(conn, &framework, &label)?;
            if json {
                return print_json(&shown).map(|_| 0);
            }
            let c = &shown.control;
            println!("{} {} ({}) {}", c.framework, c.label, c.kind, c.name());
            if let Some(p) = &c.parent {
                println!("  part of / 上位: {p}");
            }
            if !c.text.is_empty() {
                println!("  {}", c.text.replace('\n', "\n  "));
            }
            if !shown.children.is_empty() {
                println!("  contains / 下位: {}", shown.children.join(", "));
            }
            for m in &shown.mappings {
                println!("  {} {} {}", m.relationship, m.framework, m.label);
            }
        }
        CatalogCommand::Show { framework, control: None } => {
            let catalog = catalogs::get(conn, &framework)?;
            let controls = catalogs::controls(conn, &framework)?;
            if json {
                return print_json(&serde_json::json!({"catalog": catalog, "controls": controls})).map(|_| 0);
            }
            println!(
                "{} {} {} ({}; {})",
                catalog.framework, catalog.version, catalog.title, catalog.licence, catalog.source
            );
            for c in controls {
                println!("{}\t{}\t{}", c.label, c.kind, c.name());
            }
        }
    }
    Ok(0)
}

fn profile(conn: &mut diesel::SqliteConnection, command: ProfileCommand, json: bool) -> Result<i32> {
    match command {
        ProfileCommand::Set {
            area,
            current,
            target,
            priority,
            framework,
            motive,
            evidence,
            owner,
            cost,
            cost_estimate,
            note,
        } => {
            let entry = profiles::put(
                conn,
                profiles::EntryInput {
                    framework: Some(framework),
                    label: area,
                    current,
                    target,
                    priority: Some(priority),
                    motive,
                    evidence,
                    owner,
                    cost,
                    cost_estimate,
                    note,
                },
            )?;
            println!("profile stored: {} {} tier {} -> {}", entry.framework, entry.label, entry.current, entry.target);
        }
        ProfileCommand::Show { framework, as_framework: Some(other) } => {
            let reading = profiles::read_as(conn, &framework, &other)?;
            if json {
                return print_json(&reading).map(|_| 0);
            }
            let range = |lo: Option<i32>, hi: Option<i32>| match (lo, hi) {
                (Some(l), Some(h)) if l == h => l.to_string(),
                (Some(l), Some(h)) => format!("{l}-{h}"),
                _ => "-".into(),
            };
            println!(
                "{} read as {} (current, target: lowest-highest of the mapped areas)",
                reading.framework, reading.as_framework
            );
            for r in &reading.controls {
                let mapped: Vec<String> = r
                    .mapped
                    .iter()
                    .map(|m| match (m.current, m.target) {
                        (Some(c), Some(t)) => format!("{} {c}->{t}", m.label),
                        _ => format!("{} unassessed", m.label),
                    })
                    .collect();
                println!(
                    "{}\tcurrent {}\ttarget {}\t{}\t{}",
                    r.label,
                    range(r.current_min, r.current_max),
                    range(r.target_min, r.target_max),
                    mapped.join(", "),
                    r.name
                );
            }
            println!("no mapping / 対応付けなし ({}): {}", reading.unmapped.len(), reading.unmapped.join(" "));
        }
        ProfileCommand::Show { framework, as_framework: None } => {
            let entries = profiles::entries(conn, Some(&framework))?;
            if json {
                return print_json(&entries).map(|_| 0);
            }
            for e in entries {
                println!(
                    "{}\t{}\ttier {} -> {}\tpriority {}\towner {}\t{}\t{}",
                    e.label,
                    e.kind,
                    e.current,
                    e.target,
                    e.priority,
                    e.owner.as_deref().unwrap_or("-"),
                    e.evidence,
                    e.name
                );
            }
        }
        ProfileCommand::Gap { framework } => {
            let gaps = profiles::gaps_in(conn, framework.as_deref())?;
            if json {
                return print_json(&gaps).map(|_| 0);
            }
            for g in gaps {
                let cost = match g.cost_estimate {
                    Some(e) => format!("estimate {e}"),
                    None => g.cost.clone(),
                };
                println!(
                    "{}\t{}\ttier {} -> {}\tpriority {}\tscore {:.2} = width {} x risk weight {:.1} ({} risks cite it) / cost {:.2} ({cost})\t{}\t{}",
                    g.area, g.framework, g.current, g.target, g.priority, g.score, g.width, g.risk_weight, g.risks, g.cost_factor, g.name, g.motive
                );
            }
        }
    }
    Ok(0)
}

fn plan(conn: &mut diesel::SqliteConnection, command: PlanCommand, json: bool) -> Result<i32> {
    let today = chrono::Utc::now().date_naive();
    match command {
        PlanCommand::Add { title, owner, due, cost, gaps, risks } => {
            let id = plans::add(conn, plans::ActionInput { title, owner, due, cost, gaps, risks })?;
            println!("{id}");
        }
        PlanCommand::Set { id, status, note } => {
            plans::set_status(conn, &id, &status, &note)?;
            println!("{} is {}", id.trim().to_uppercase(), status.trim().to_lowercase().replace('-', "_"));
        }
        PlanCommand::List { overdue } => {
            let actions = plans::list(conn, overdue, today)?;
            if json {
                return print_json(&actions).map(|_| 0);
            }
            for a in actions {
                println!(
                    "{}\t{}\tdue {}{}\t{}\t{}\t{}",
                    a.id,
                    a.status,
                    a.due,
                    if a.overdue {
                        format!(" (overdue {} days / 期限超過)", a.days_overdue)
                    } else {
                        String::new()
                    },
                    a.owner,
                    a.title,
                    a.risks.join(" ")
                );
            }
        }
        PlanCommand::Show { id } => {
            let shown = plans::show(conn, &id, today)?;
            if json {
                return print_json(&shown).map(|_| 0);
            }
            let a = &shown.action;
            println!("{} {} ({})", a.id, a.title, a.status);
            println!("  owner {}, due {}{}", a.owner, a.due, if a.overdue { " (overdue / 期限超過)" } else { "" });
            if let Some(c) = a.cost {
                println!("  cost {c}");
            }
            for g in &a.gaps {
                println!("  gap {} {}", g.framework, g.label);
            }
            for r in &a.risks {
                println!("  risk {r}");
            }
            for h in &shown.history {
                println!("  {} {} -> {} {}", h.at, h.from.as_deref().unwrap_or("-"), h.to, h.note);
            }
        }
    }
    Ok(0)
}

/// A risk as `risk list --json` prints it: the risk and what the text list shows beside it.
#[derive(Serialize)]
struct RiskListed<'a> {
    #[serde(flatten)]
    risk: &'a risks::Risk,
    level: Option<String>,
    value: Option<usize>,
    next_review: String,
    open_flags: usize,
}

/// A risk as `risk show --json` prints it.
#[derive(Serialize)]
struct RiskShown<'a> {
    risk: &'a risks::Risk,
    next_review: String,
    revisions: Vec<RevisionShown>,
    flags: Vec<flags::Flag>,
}

#[derive(Serialize)]
struct RevisionShown {
    revision: i32,
    at: String,
    note: String,
}
