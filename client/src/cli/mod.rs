//! The `renkei` command line: arguments (`args`), the commands on the hub's data
//! (`hub`) and on the member's own register (`register`), and the helpers they share.
//! `anyhow` stays here, at the edge.

mod appetite;
mod args;
mod hub;
mod register;

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Parser as _;
use renkei_client::{flags, hub_api::HubApi, register as reg, risks};

use args::*;

/// Parses the command line and runs the command; the exit code.
pub fn run() -> Result<i32> {
    let cli = Cli::parse();
    let conn = reg::open(&cli.db)?;
    match cli.command {
        Command::Init { .. }
        | Command::Sync { .. }
        | Command::Export { .. }
        | Command::AuditCheckpoints { .. }
        | Command::Share { .. }
        | Command::Sighting { .. }
        | Command::Match { .. } => hub::run_hub(conn, &cli.db, cli.command, cli.json),
        _ => register::run_register(conn, cli.command, cli.json),
    }
}

/// Prints `value` as pretty JSON (the `--json` form of a list or show command).
pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

pub(crate) fn token(file: Option<&PathBuf>) -> Result<String> {
    match file {
        Some(f) => Ok(std::fs::read_to_string(f).with_context(|| format!("reading the token file {}", f.display()))?),
        None => std::env::var("RENKEI_TOKEN").context("no token: give --token-file or set RENKEI_TOKEN"),
    }
}

/// The hub client for the register's hub.
pub(crate) fn connect(conn: &mut diesel::SqliteConnection, token_file: Option<&PathBuf>) -> Result<HubApi> {
    let hub = reg::get(conn, reg::HUB_URL)?.context("no hub yet: run `renkei init` first")?;
    let ca = reg::get(conn, reg::CA_FILE)?.map(PathBuf::from);
    Ok(HubApi::new(&hub, token(token_file)?, ca.as_deref())?)
}

/// `SUPPLIER_ID[:OFFERING_ID][@DEPENDENCY]`.
pub(crate) fn dependency(raw: &str) -> Result<risks::Dependency> {
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

pub(crate) fn risk_input(title: String, a: RiskArgs) -> Result<risks::RiskInput> {
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

pub(crate) fn print_flag(f: &flags::Flag) {
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
