//! The commands on the member's own register: assets, services, the risk matrix, risks,
//! the CSF profile, reassessment flags and reports.

use anyhow::{Context as _, Result};
use renkei_client::{assets, flags, matrix, profiles, report, risks, services};

use super::args::*;
use super::*;

/// Runs one of these commands on the open register.
/// `json`: the global `--json` flag (list and show commands print JSON).
pub(super) fn run_register(mut conn: diesel::SqliteConnection, command: Command, json: bool) -> Result<i32> {
    let _ = json;
    match command {
        Command::Asset { command: AssetCommand::Import { file } } => {
            let n = flags::import_assets(&mut conn, assets::read_file(&file)?)?;
            println!("{n} assets imported");
            Ok(0)
        }
        Command::Asset { command: AssetCommand::List } => {
            for a in assets::list_all(&mut conn)? {
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
            for s in services::list(&mut conn)? {
                println!("{}\t{}\t{} h\t{}", s.name, s.mission, s.tolerable_outage_hours, s.impact_criteria.join("; "));
            }
            Ok(0)
        }
        Command::Matrix { command: MatrixCommand::Show } => {
            println!("{}", serde_json::to_string_pretty(&matrix::current(&mut conn)?)?);
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
            for r in risks::list(&mut conn)? {
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
        Command::Profile { command: ProfileCommand::Set { area, current, target, priority, note } } => {
            profiles::set(&mut conn, &area, current, target, priority, &note)?;
            println!("profile stored");
            Ok(0)
        }
        Command::Profile { command: ProfileCommand::Gap } => {
            for g in profiles::gaps(&mut conn)? {
                println!(
                    "{}\t{}\ttier {} -> {}\tpriority {}\t{} risks cite it\t{}",
                    g.area, g.name, g.current, g.target, g.priority, g.risks, g.note
                );
            }
            Ok(0)
        }
        Command::Flags { command: Some(FlagsCommand::Dismiss { id, reason }), .. } => {
            flags::dismiss(&mut conn, id, &reason)?;
            println!("flag {id} dismissed");
            Ok(0)
        }
        Command::Flags { status, command: None } => {
            flags::raise_due(&mut conn, chrono::Utc::now())?;
            for f in flags::list(&mut conn, &status)? {
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
        _ => unreachable!("dispatched by cli::run"),
    }
}
