//! `renkei`: the member client. `init` pins a hub in a local register, `sync` pulls what
//! the member may hold from the hub's change feed (see client/README.md).

// A sync allocates a small tree per object; glibc malloc was a third of its time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::io::IsTerminal as _;
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use renkei_client::{
    assets, context, csirt, flags, hub_api::HubApi, matrix, profiles, register, report, risks, services, share, sync,
};

#[derive(Parser)]
#[command(name = "renkei", about = "renkei member client: sync the hub's feed into the local register")]
struct Cli {
    /// The local register (a SQLite file).
    #[arg(long, env = "RENKEI_DB", default_value = "renkei.db", global = true)]
    db: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create (or re-point) the register: the hub's address, and its signing key, pinned.
    Init {
        /// e.g. https://isac.example:8480
        #[arg(long)]
        hub: String,
        /// A file holding the token (else RENKEI_TOKEN); the token is never stored.
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Extra trusted root certificates (PEM) besides the system's.
        #[arg(long)]
        ca: Option<PathBuf>,
    },
    /// Pull the change feed from where the last sync stopped.
    Sync {
        #[arg(long)]
        token_file: Option<PathBuf>,
        #[arg(long, default_value_t = 1000)]
        page_size: i64,
        /// Stop after this many pages.
        #[arg(long)]
        max_pages: Option<usize>,
        /// Keep polling for new changes.
        #[arg(long)]
        follow: bool,
        /// Seconds between polls with --follow.
        #[arg(long, default_value_t = 30)]
        interval: u64,
    },
    /// Write the live indicators held: plain (one value a line, for block lists), csv,
    /// stix (a STIX 2.1 bundle) or suricata (rules).
    Export {
        #[arg(long, default_value = "plain")]
        format: String,
    },
    /// Report the lines of a log or list (a file, or - for standard input) that contain
    /// an indicator held.
    Match { file: PathBuf },
    /// Print the hub's audit checkpoints this register holds (signed by the hub, kept
    /// from the change feed), newest first, one JSON object a line: the hub's operator
    /// checks that the audit log still extends one with
    /// `renkei-hub audit verify --checkpoint FILE`.
    AuditCheckpoints {
        /// Only the newest.
        #[arg(long)]
        latest: bool,
    },
    /// The member's assets.
    Asset {
        #[command(subcommand)]
        command: AssetCommand,
    },
    /// Business services (the anchor of business-damage-based analysis).
    Service {
        #[command(subcommand)]
        command: ServiceCommand,
    },
    /// The risk matrix both analysis methods share.
    Matrix {
        #[command(subcommand)]
        command: MatrixCommand,
    },
    /// The risk register.
    Risk {
        #[command(subcommand)]
        command: RiskCommand,
    },
    /// The NIST CSF 2.0 profile: current and target tiers, and the gaps.
    Profile {
        #[command(subcommand)]
        command: ProfileCommand,
    },
    /// Reassessment flags, the highest priority first (open ones unless --status).
    Flags {
        #[arg(long, default_value = "open")]
        status: String,
        #[command(subcommand)]
        command: Option<FlagsCommand>,
    },
    /// Share with the hub (the hub's moderation and TLP rules apply).
    Share {
        #[command(flatten)]
        sharing: SharingArgs,
        #[command(subcommand)]
        command: ShareCommand,
    },
    /// Report a sighting of a shared indicator to the hub.
    Sighting {
        /// The indicator's id.
        indicator: String,
        #[arg(long, default_value_t = 1)]
        count: i64,
        /// Report it as a false positive instead.
        #[arg(long)]
        false_positive: bool,
        #[arg(long)]
        anonymous: bool,
        #[arg(long)]
        token_file: Option<PathBuf>,
    },
    /// The management report: top risks, open flags, profile gaps, supplier dependencies.
    Report {
        #[arg(long, default_value = "md")]
        format: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum ServiceCommand {
    /// Add or replace a service.
    Add {
        name: String,
        /// minimal, support or essential.
        #[arg(long, default_value = "support")]
        mission: String,
        #[arg(long, default_value_t = 24.0)]
        tolerable_outage_hours: f64,
        /// What a damage size means for the service (repeatable), e.g. "outage over 4 h = 4".
        #[arg(long = "criterion")]
        criteria: Vec<String>,
    },
    List,
}

#[derive(Subcommand)]
enum MatrixCommand {
    /// Print the matrix in force (JSON).
    Show,
    /// Put a new matrix (JSON, a higher version) in force; risks rated under the old
    /// one are flagged for re-rating.
    Set { file: PathBuf },
}

#[derive(clap::Args)]
struct RiskArgs {
    /// asset or business_damage (handbook 5.2).
    #[arg(long)]
    method: Option<String>,
    #[arg(long)]
    description: Option<String>,
    #[arg(long = "asset")]
    assets: Vec<String>,
    #[arg(long = "service")]
    services: Vec<String>,
    /// ATT&CK technique the scenario assumes (repeatable).
    #[arg(long = "technique")]
    techniques: Vec<String>,
    #[arg(long = "cve")]
    cves: Vec<String>,
    /// SUPPLIER_ID[:OFFERING_ID][@DEPENDENCY 1-4] (repeatable).
    #[arg(long = "supplier")]
    suppliers: Vec<String>,
    /// IMPACT,THREAT,VULNERABILITY (or THREAT,VULNERABILITY for an asset-based risk,
    /// the impact then being its assets' criticality).
    #[arg(long)]
    inherent: Option<risks::FactorsInput>,
    #[arg(long)]
    current: Option<risks::FactorsInput>,
    #[arg(long)]
    target: Option<risks::FactorsInput>,
    /// open, mitigate, accept, avoid or transfer.
    #[arg(long)]
    treatment: Option<String>,
    #[arg(long)]
    approver: Option<String>,
    /// YYYY-MM-DD.
    #[arg(long)]
    accepted_until: Option<String>,
    #[arg(long = "control")]
    controls: Vec<String>,
    #[arg(long)]
    owner: Option<String>,
    #[arg(long)]
    review_days: Option<i64>,
    /// NIST CSF 2.0 reference (repeatable), e.g. GV.SC-07.
    #[arg(long = "csf")]
    csf: Vec<String>,
}

#[derive(Subcommand)]
enum RiskCommand {
    /// Add a risk.
    Add {
        #[arg(long)]
        title: String,
        #[command(flatten)]
        args: RiskArgs,
    },
    /// Add risks from a JSON array (keys as `risk add`'s options, factors as objects).
    Import {
        file: PathBuf,
    },
    List,
    Show {
        id: String,
    },
    /// Re-assess a risk: a new revision that resolves its open flags.
    Assess {
        id: String,
        /// What the assessment found (required).
        #[arg(long)]
        note: String,
        #[command(flatten)]
        args: RiskArgs,
    },
}

#[derive(Subcommand)]
enum ProfileCommand {
    /// Set a function's or category's tiers (1-4).
    Set {
        area: String,
        #[arg(long)]
        current: i32,
        #[arg(long)]
        target: i32,
        /// 1 (high) to 3 (low).
        #[arg(long, default_value_t = 2)]
        priority: i32,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The areas below target, the most urgent first.
    Gap,
}

#[derive(Subcommand)]
enum FlagsCommand {
    /// Dismiss a flag (a reason is required and kept).
    Dismiss {
        id: i32,
        #[arg(long)]
        reason: String,
    },
}

#[derive(clap::Args)]
struct SharingArgs {
    /// CLEAR, GREEN, AMBER, AMBER+STRICT or RED.
    #[arg(long, default_value = "AMBER", global = true)]
    tlp: String,
    /// Organisation ids (TLP:RED only).
    #[arg(long = "recipient", global = true)]
    recipients: Vec<String>,
    #[arg(long, global = true)]
    anonymous: bool,
    #[arg(long, global = true)]
    confidence: Option<i64>,
    /// RFC 3339.
    #[arg(long, global = true)]
    valid_until: Option<String>,
    #[arg(long, global = true)]
    token_file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum ShareCommand {
    /// Indicators: TYPE and VALUE, or a file of `TYPE,VALUE` lines.
    Indicator {
        #[arg(long = "type")]
        kind: Option<String>,
        #[arg(long)]
        value: Option<String>,
        #[arg(long)]
        file: Option<PathBuf>,
    },
    Technique {
        #[arg(long)]
        attack_id: String,
        #[arg(long)]
        narrative: String,
        #[arg(long = "ics-asset-type")]
        ics_asset_types: Vec<String>,
    },
    Incident {
        #[arg(long)]
        title: String,
        #[arg(long)]
        summary: String,
        #[arg(long)]
        sector: String,
        /// NONE, DEGRADED, DISRUPTED or OUTAGE.
        #[arg(long, default_value = "NONE")]
        impact: String,
        #[arg(long = "technique")]
        techniques: Vec<String>,
        #[arg(long = "indicator")]
        indicators: Vec<String>,
        /// A registry supplier the incident involves (repeatable).
        #[arg(long = "supplier")]
        suppliers: Vec<String>,
    },
    Advisory {
        #[arg(long)]
        cve: String,
        #[arg(long)]
        title: String,
        #[arg(long = "cpe")]
        cpes: Vec<String>,
        #[arg(long)]
        fixed_in: Option<String>,
        #[arg(long, default_value = "UNKNOWN")]
        exploitation: String,
    },
}

#[derive(Subcommand)]
enum AssetCommand {
    /// Import (or update, by name) assets from a CSV file with a header row, or a JSON
    /// array (`.json`). Columns: name, kind (system, component, ot_device, data,
    /// facility, cloud), services, criticality (1-5), vendor, product, version, cpe,
    /// ics_asset_types, suppliers, offerings (lists `;`-separated), zone, exposure.
    Import { file: PathBuf },
    /// List the assets.
    List,
}

fn token(file: Option<&PathBuf>) -> Result<String> {
    match file {
        Some(f) => Ok(std::fs::read_to_string(f).with_context(|| format!("reading the token file {}", f.display()))?),
        None => std::env::var("RENKEI_TOKEN").context("no token: give --token-file or set RENKEI_TOKEN"),
    }
}

/// The hub client for the register's hub.
fn connect(conn: &mut diesel::SqliteConnection, token_file: Option<&PathBuf>) -> Result<HubApi> {
    let hub = register::get(conn, register::HUB_URL)?.context("no hub yet: run `renkei init` first")?;
    let ca = register::get(conn, register::CA_FILE)?.map(PathBuf::from);
    HubApi::new(&hub, token(token_file)?, ca.as_deref())
}

/// `SUPPLIER_ID[:OFFERING_ID][@DEPENDENCY]`.
fn dependency(raw: &str) -> Result<risks::Dependency> {
    let (ids, dependency) = match raw.split_once('@') {
        Some((ids, d)) => (ids, d.trim().parse().with_context(|| format!("dependency in {raw:?} is not 1-4"))?),
        None => (raw, 2),
    };
    let (supplier, offering) = match ids.split_once(':') {
        Some((s, o)) => (s.trim().to_string(), Some(o.trim().to_string())),
        None => (ids.trim().to_string(), None),
    };
    Ok(risks::Dependency { supplier, offering, dependency })
}

fn risk_input(title: String, a: RiskArgs) -> Result<risks::RiskInput> {
    Ok(risks::RiskInput {
        title,
        description: a.description.unwrap_or_default(),
        method: a.method.unwrap_or_default(),
        assets: a.assets,
        services: a.services,
        techniques: a.techniques,
        cves: a.cves,
        suppliers: a.suppliers.iter().map(|s| dependency(s)).collect::<Result<_>>()?,
        inherent: a.inherent,
        current: a.current,
        target: a.target,
        treatment: a.treatment.unwrap_or_default(),
        approver: a.approver,
        accepted_until: a.accepted_until,
        controls: a.controls,
        owner: a.owner,
        review_days: a.review_days,
        csf: a.csf,
    })
}

fn print_flag(f: &flags::Flag) {
    println!(
        "#{} [{}] {} {}: {} ({}, {})",
        f.id,
        flags::priority_label(f.priority),
        f.risk_id,
        f.trigger,
        f.detail.source_title,
        f.quality,
        f.status
    );
    for e in &f.detail.evidence {
        println!("    {}: {} ~ {} (via {})", e.selector, e.theirs, e.ours, e.via);
    }
    println!("    -> {}\n       {}", f.detail.suggestion, f.detail.suggestion_ja);
}

fn run() -> Result<i32> {
    let cli = Cli::parse();
    let mut conn = register::open(&cli.db)?;
    match cli.command {
        Command::Init { hub, token_file, ca } => {
            let api = HubApi::new(&hub, token(token_file.as_ref())?, ca.as_deref())?;
            let ca_text = ca.as_ref().map(|p| p.display().to_string());
            let id = sync::init(&mut conn, &api, &hub, ca_text.as_deref())?;
            println!("register {} follows hub {id} at {hub}", cli.db.display());
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
        Command::Export { format } => {
            let held = csirt::active_indicators(&mut conn)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            csirt::export(&held, &format, &mut out)?;
            std::io::Write::flush(&mut out)?;
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
                flags::raise_due(c, chrono::Utc::now())
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
        Command::Report { format, out } => {
            let text = report::render(&mut conn, &format)?;
            match out {
                Some(path) => std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?,
                None => print!("{text}"),
            }
            Ok(0)
        }
        Command::Match { file } => {
            let held = csirt::active_indicators(&mut conn)?;
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
    }
}

fn main() {
    match run() {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("renkei: {e:#}");
            std::process::exit(1);
        }
    }
}
