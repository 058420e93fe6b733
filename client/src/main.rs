//! `renkei`: the member client. `init` pins a hub in a local register, `sync` pulls what
//! the member may hold from the hub's change feed (see client/README.md).

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use renkei_client::{hub_api::HubApi, register, sync};

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
}

fn token(file: Option<&PathBuf>) -> Result<String> {
    match file {
        Some(f) => Ok(std::fs::read_to_string(f).with_context(|| format!("reading the token file {}", f.display()))?),
        None => std::env::var("RENKEI_TOKEN").context("no token: give --token-file or set RENKEI_TOKEN"),
    }
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
            let hub = register::get(&mut conn, register::HUB_URL)?.context("no hub yet: run `renkei init` first")?;
            let ca = register::get(&mut conn, register::CA_FILE)?.map(PathBuf::from);
            let api = HubApi::new(&hub, token(token_file.as_ref())?, ca.as_deref())?;
            let options = sync::SyncOptions { page_size, max_pages };
            loop {
                let report = sync::sync(&mut conn, &api, &options, &mut |r| {
                    eprintln!(
                        "page {}: {} stored, {} deleted, {} refused",
                        r.pages,
                        r.stored,
                        r.deleted,
                        r.refused.len()
                    );
                })?;
                for (id, why) in &report.refused {
                    eprintln!("refused {id}: {why}");
                }
                if !follow {
                    // A refused object fails the command (the rest is applied).
                    return Ok(if report.refused.is_empty() { 0 } else { 1 });
                }
                std::thread::sleep(std::time::Duration::from_secs(interval.max(1)));
            }
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
