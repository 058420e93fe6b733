//! The commands on risk appetite and tolerance (`appetite`), the member's own incidents
//! (`incident`) and contingency readiness (`readiness`): their arguments and how they run.

use std::path::PathBuf;

use anyhow::Result;
use clap::Subcommand;
use renkei_client::{appetite, flags, readiness};

use super::print_json;

#[derive(Subcommand)]
pub enum AppetiteCommand {
    /// Add or replace a service's statement at one level (appetite: what the member
    /// aims for; tolerance: the hard limit).
    #[command(
        after_help = "Example / 例:\n  renkei appetite set 'Power supply' --max-incidents 3 --period-days 365 --max-degradation 20\n  renkei appetite set 'Power supply' --kind tolerance --max-incidents 5 --period-days 365 --max-degradation 50 --max-outage-hours 4"
    )]
    Set {
        /// The business service (`renkei service add`).
        service: String,
        /// appetite or tolerance.
        #[arg(long, default_value = "appetite")]
        kind: String,
        /// Incidents allowed in the window.
        #[arg(long)]
        max_incidents: i64,
        /// The rolling window, in days.
        #[arg(long)]
        period_days: i64,
        /// Percent of the service one incident may take away at most.
        #[arg(long)]
        max_degradation: f64,
        /// Hours one incident may last at most.
        #[arg(long)]
        max_outage_hours: Option<f64>,
        /// The statement in your words (else written from the figures).
        #[arg(long)]
        statement: Option<String>,
        #[arg(long)]
        statement_ja: Option<String>,
    },
    /// The statements.
    #[command(after_help = "Example / 例:\n  renkei appetite list --json")]
    List,
    /// Each statement against the member's incidents in its window (within, trending,
    /// breached), with the sector's incidents shared on the hub beside it.
    #[command(after_help = "Example / 例:\n  renkei appetite status\n  renkei appetite status --json")]
    Status,
}

#[derive(Subcommand)]
pub enum IncidentCommand {
    /// Record one of the member's own incidents.
    #[command(
        after_help = "Example / 例:\n  renkei incident add --service 'Power supply' --started 2026-11-02T08:00:00+09:00 --ended 2026-11-02T11:30:00+09:00 --degradation 15 --title 'Substation HMI down'"
    )]
    Add {
        #[arg(long)]
        service: String,
        /// RFC 3339.
        #[arg(long)]
        started: String,
        /// RFC 3339.
        #[arg(long)]
        ended: String,
        /// Percent of the service lost (100: a full outage).
        #[arg(long)]
        degradation: f64,
        #[arg(long)]
        title: Option<String>,
    },
    /// Import incidents, all or none: CSV with a header row
    /// (service,started,ended,degradation,title) or a JSON array (`.json`).
    #[command(after_help = "Example / 例:\n  renkei incident import incidents-2026.csv")]
    Import { file: PathBuf },
    /// The member's incidents, the latest first.
    #[command(after_help = "Example / 例:\n  renkei incident list --json")]
    List,
}

#[derive(Subcommand)]
pub enum ReadinessCommand {
    /// Write the plan's answer to a trait (1-7 or its name); counts as a review.
    #[command(
        after_help = "Example / 例:\n  renkei readiness set 3 --answer 'Cut points: the OT firewall and the maintenance VPN' --evidence 'network diagram v4' --review-days 180 --risk R-0001 --owner 'OT lead'"
    )]
    Set {
        #[arg(name = "TRAIT")]
        trait_id: String,
        #[arg(long)]
        answer: String,
        /// Repeatable.
        #[arg(long)]
        evidence: Vec<String>,
        #[arg(long)]
        review_days: i64,
        /// A risk id (repeatable; it must exist).
        #[arg(long = "risk")]
        risks: Vec<String>,
        /// An attack tree id (repeatable).
        #[arg(long = "tree")]
        trees: Vec<String>,
        #[arg(long)]
        owner: Option<String>,
    },
    /// Record a review of a trait: it is current again.
    #[command(
        after_help = "Example / 例:\n  renkei readiness review evolving-techniques --note 'T0866 is covered by the remote access procedure'"
    )]
    Review {
        #[arg(name = "TRAIT")]
        trait_id: String,
        #[arg(long)]
        note: String,
    },
    /// The seven traits and where each stands.
    #[command(after_help = "Example / 例:\n  renkei readiness list")]
    List,
    /// One trait with its answer, the intelligence pending and every review.
    #[command(after_help = "Example / 例:\n  renkei readiness show 2 --json")]
    Show {
        #[arg(name = "TRAIT")]
        trait_id: String,
    },
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

pub(super) fn run_appetite(conn: &mut diesel::SqliteConnection, command: AppetiteCommand, json: bool) -> Result<i32> {
    let now = chrono::Utc::now();
    match command {
        AppetiteCommand::Set {
            service,
            kind,
            max_incidents,
            period_days,
            max_degradation,
            max_outage_hours,
            statement,
            statement_ja,
        } => {
            let input = appetite::StatementInput {
                service,
                kind,
                max_incidents,
                period_days,
                max_degradation,
                max_outage_hours,
                statement,
                statement_ja,
            };
            let s = appetite::set(conn, input, now)?;
            // A changed limit may breach at once.
            let flagged = flags::raise_due(conn, now)?;
            println!("{}\n{}\n({} flags raised)", s.statement, s.statement_ja, flagged.raised);
        }
        AppetiteCommand::List if json => print_json(&appetite::list(conn)?)?,
        AppetiteCommand::List => {
            for s in appetite::list(conn)? {
                println!("{}\t{}\t{}\t{}", s.service, s.kind, s.statement, s.statement_ja);
            }
        }
        AppetiteCommand::Status if json => print_json(&appetite::status(conn, now)?)?,
        AppetiteCommand::Status => {
            for s in appetite::status(conn, now)? {
                let st = &s.statement;
                println!("{} [{}] {}: {}", st.service, st.kind, s.state.label(), st.statement);
                println!(
                    "    own / 自組織: {} incidents in {} days (projected {}), worst {} %, longest {} h",
                    s.own.count,
                    st.period_days,
                    s.own.projected,
                    s.own.worst_degradation,
                    round1(s.own.longest_outage_hours)
                );
                for r in &s.reasons {
                    println!("    - {} / {}", r.en, r.ja);
                }
                println!(
                    "    sector on the hub / 業界(ハブ): {} incidents, {} related to this service's risks (for comparison, not counted / 比較用、件数には含めません)",
                    s.sector.count,
                    s.sector.related.len()
                );
            }
        }
    }
    Ok(0)
}

pub(super) fn run_incident(conn: &mut diesel::SqliteConnection, command: IncidentCommand, json: bool) -> Result<i32> {
    let now = chrono::Utc::now();
    match command {
        IncidentCommand::Add { service, started, ended, degradation, title } => {
            let input = appetite::IncidentInput { service, started, ended, degradation, title };
            let (_, flagged) = flags::record_incidents(conn, appetite::one(input), now)?;
            println!("incident recorded; {} flags raised, {} updated", flagged.raised, flagged.updated);
        }
        IncidentCommand::Import { file } => {
            let (stored, flagged) = flags::record_incidents(conn, appetite::read_file(&file)?, now)?;
            println!(
                "{} incidents stored, {} unchanged; {} flags raised, {} updated",
                stored.stored, stored.unchanged, flagged.raised, flagged.updated
            );
        }
        IncidentCommand::List if json => print_json(&appetite::incidents(conn, None)?)?,
        IncidentCommand::List => {
            for i in appetite::incidents(conn, None)? {
                println!(
                    "{}\t{}\t{}\t{} %\t{} h\t{}",
                    i.id,
                    i.service,
                    i.started,
                    i.degradation,
                    round1(i.outage_hours()),
                    i.title
                );
            }
        }
    }
    Ok(0)
}

pub(super) fn run_readiness(conn: &mut diesel::SqliteConnection, command: ReadinessCommand, json: bool) -> Result<i32> {
    let now = chrono::Utc::now();
    let print = |s: &readiness::TraitStatus| {
        println!("{} {} / {}: {}", s.info.id, s.info.name, s.info.name_ja, s.state.label());
        if let Some(a) = &s.answer {
            println!("    answer / 回答: {a}");
        }
        if let Some(n) = &s.next_review {
            println!("    next review / 次回見直し: {n}");
        }
        for i in &s.intelligence {
            println!("    ! {} ({} rev {}): {} / {}", i.item_id, i.kind, i.revision, i.reason, i.reason_ja);
        }
    };
    match command {
        ReadinessCommand::Set { trait_id, answer, evidence, review_days, risks, trees, owner } => {
            let input = readiness::AnswerInput { answer, evidence, review_days, risks, trees, owner };
            readiness::set(conn, &trait_id, input, now)?;
            println!("answer stored / 回答を保存しました");
        }
        ReadinessCommand::Review { trait_id, note } => {
            let answered = readiness::review(conn, &trait_id, &note, now)?;
            println!("review recorded; {} shared items answered / 見直しを記録しました", answered.len());
        }
        ReadinessCommand::List if json => print_json(&readiness::list(conn, now)?)?,
        ReadinessCommand::List => readiness::list(conn, now)?.iter().for_each(print),
        ReadinessCommand::Show { trait_id } => {
            let s = readiness::show(conn, &trait_id, now)?;
            if json {
                print_json(&s)?;
            } else {
                print(&s);
                println!("    guidance / 指針: {} / {}", s.info.guidance, s.info.guidance_ja);
                for e in &s.evidence {
                    println!("    evidence / 根拠: {e}");
                }
                println!("    risks: {}  trees: {}", s.risks.join(" "), s.trees.join(" "));
                for r in &s.reviews {
                    println!("    review {}: {} ({} items answered)", r.at, r.note, r.answered.len());
                }
            }
        }
    }
    Ok(0)
}
