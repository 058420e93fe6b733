//! The commands that talk to the hub or act on what it sent: init, sync, share and
//! sightings, exports, the audit checkpoints kept, matching a log.
use std::io::IsTerminal as _;

use anyhow::{Context as _, Result};
use renkei_client::{context, csirt, flags, hub_api::HubApi, register, share, sync};

use super::args::*;
use super::*;

/// Runs one of these commands on the open register (`db` is its file, for messages).
pub(super) fn run_hub(mut conn: diesel::SqliteConnection, db: &std::path::Path, command: Command) -> Result<i32> {
    match command {
        Command::Init { hub, token_file, ca } => {
            let api = HubApi::new(&hub, token(token_file.as_ref())?, ca.as_deref())?;
            let ca_text = ca.as_ref().map(|p| p.display().to_string());
            let id = sync::init(&mut conn, &api, &hub, ca_text.as_deref())?;
            println!("register {} follows hub {id} at {hub}", db.display());
            Ok(0)
        }
        Command::Sync { token_file, page_size, max_pages, follow, interval } => {
            let api = connect(&mut conn, token_file.as_ref())?;
            let options = sync::SyncOptions { page_size, max_pages };
            let terminal = std::io::stderr().is_terminal();
            loop {
                // Matching needs the catalog's `targets` and the supplier chain; a hub
                // that cannot give them still syncs (matching then uses what is stored).
                match context::refresh(&mut conn, &api) {
                    Ok(r) => eprintln!(
                        "context: {} ATT&CK targets relations, {} suppliers, {} subcontractor links",
                        r.targets, r.suppliers, r.chain_links
                    ),
                    Err(e) => eprintln!("warning: could not refresh the catalog and supplier chain: {e:#}"),
                }
                let started = std::time::Instant::now();
                let report = sync::sync(&mut conn, &api, &options, &mut |r| {
                    let rate = r.stored as f64 / started.elapsed().as_secs_f64().max(1e-3);
                    let line = format!(
                        "page {}: {} stored, {} deleted, {} refused, {} flags raised ({rate:.0} items/s)",
                        r.pages,
                        r.stored,
                        r.deleted,
                        r.refused.len(),
                        r.flags.raised
                    );
                    // A terminal gets one line redrawn in place; a log gets a line a page.
                    if terminal {
                        let bar = "#".repeat((r.pages % 30) + 1);
                        eprint!("\r\x1b[2K[{bar:<30}] {line}");
                    } else {
                        eprintln!("{line}");
                    }
                })?;
                if terminal {
                    eprintln!();
                }
                eprintln!(
                    "synced {} items in {:.1} s: {:.1} s waiting for the hub and verification, {:.1} s writing",
                    report.stored,
                    started.elapsed().as_secs_f64(),
                    report.waited.as_secs_f64(),
                    report.writing.as_secs_f64()
                );
                for (id, why) in &report.refused {
                    eprintln!("refused {id}: {why}");
                }
                let due = flags::raise_due(&mut conn, chrono::Utc::now())?;
                let flagged = report.flags.raised + due.raised;
                if flagged + report.flags.updated + due.updated > 0 {
                    eprintln!(
                        "{flagged} reassessment flags raised, {} updated: see `renkei flags`",
                        report.flags.updated + due.updated
                    );
                }
                if !follow {
                    // A refused object fails the command (the rest is applied).
                    return Ok(if report.refused.is_empty() { 0 } else { 1 });
                }
                std::thread::sleep(std::time::Duration::from_secs(interval.max(1)));
            }
        }
        Command::Export { format, out, min_score } => {
            let held = csirt::active_indicators(&mut conn, min_score.min(100))?;
            if format == "suricata" {
                let Some(dir) = out else {
                    anyhow::bail!(
                        "--format suricata writes a rules file and the hash lists it names: give a folder with --out DIR / \
                         suricataの出力はルールファイルと参照するハッシュリストです。--out DIRでフォルダーを指定してください"
                    );
                };
                for path in csirt::export_suricata(&held, &dir)? {
                    eprintln!("wrote {}", path.display());
                }
                return Ok(0);
            }
            let mut writer: Box<dyn std::io::Write> = match &out {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            csirt::export(&held, &format, &mut writer)?;
            std::io::Write::flush(&mut writer)?;
            Ok(0)
        }
        Command::AuditCheckpoints { latest } => {
            let mut held = register::audit_checkpoints(&mut conn)?;
            if latest {
                held.truncate(1);
            }
            for object in held {
                println!("{object}");
            }
            Ok(0)
        }
        Command::Share { sharing, command } => {
            let api = connect(&mut conn, sharing.token_file.as_ref())?;
            let how = share::Sharing {
                tlp: sharing.tlp,
                recipients: sharing.recipients,
                anonymous: sharing.anonymous,
                confidence: sharing.confidence,
                valid_until: sharing.valid_until,
            };
            let receipts = match command {
                ShareCommand::Indicator { kind, value, file } => {
                    let mut entries = Vec::new();
                    if let (Some(k), Some(v)) = (&kind, &value) {
                        entries.push((k.clone(), v.clone()));
                    }
                    if let Some(f) = file {
                        let text = std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?;
                        for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
                            match (line.split_once(','), &kind) {
                                (Some((k, v)), _) => entries.push((k.to_string(), v.to_string())),
                                (None, Some(k)) => entries.push((k.clone(), line.to_string())),
                                (None, None) => anyhow::bail!(
                                    "{}:{}: expected TYPE,VALUE (or give --type) / {}行目: 種別,値 の形式ではありません",
                                    f.display(),
                                    n + 1,
                                    n + 1
                                ),
                            }
                        }
                    }
                    share::indicators(&api, &entries, &how)?
                }
                ShareCommand::Technique { attack_id, narrative, ics_asset_types } => {
                    vec![share::technique(&api, &attack_id, &narrative, &ics_asset_types, &how)?]
                }
                ShareCommand::Incident { title, summary, sector, impact, techniques, indicators, suppliers } => {
                    let i = share::IncidentShare { title, summary, sector, impact, techniques, indicators, suppliers };
                    vec![share::incident(&api, &i, &how)?]
                }
                ShareCommand::Advisory { cve, title, cpes, fixed_in, exploitation } => {
                    let a = share::AdvisoryShare { cve, title, cpes, fixed_in, exploitation };
                    vec![share::advisory(&api, &a, &how)?]
                }
            };
            for (id, status) in receipts {
                println!("{id}\t{status}");
            }
            Ok(0)
        }
        Command::Sighting { indicator, count, false_positive, anonymous, token_file } => {
            let api = connect(&mut conn, token_file.as_ref())?;
            println!("{}", share::sighting(&api, &indicator, count, false_positive, anonymous)?);
            Ok(0)
        }
        Command::Match { file } => {
            // Every live indicator held, whatever its score.
            let held = csirt::active_indicators(&mut conn, 0)?;
            let mut input: Box<dyn std::io::BufRead> = if file.as_os_str() == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                let f = std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
                Box::new(std::io::BufReader::new(f))
            };
            let matches = csirt::match_lines(&held, &mut input)?;
            for m in &matches {
                for (value, id) in &m.hits {
                    println!("{}:{}: {value} ({id})", file.display(), m.line);
                }
            }
            eprintln!("{} matching lines", matches.len());
            Ok(0)
        }
        _ => unreachable!("dispatched by cli::run"),
    }
}
