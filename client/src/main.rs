//! `renkei`: the member client. `init` pins a hub in a local register, `sync` pulls what
//! the member may hold from the hub's change feed (see client/README.md).

// A sync allocates a small tree per object; glibc malloc was a third of its time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::{Parser, Subcommand};
use renkei_client::{assets, csirt, hub_api::HubApi, register, sync};

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
    /// The member's assets.
    Asset {
        #[command(subcommand)]
        command: AssetCommand,
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
        Command::Export { format } => {
            let held = csirt::active_indicators(&mut conn)?;
            let stdout = std::io::stdout();
            let mut out = std::io::BufWriter::new(stdout.lock());
            csirt::export(&held, &format, &mut out)?;
            std::io::Write::flush(&mut out)?;
            Ok(0)
        }
        Command::Asset { command: AssetCommand::Import { file } } => {
            let n = assets::import(&mut conn, assets::read_file(&file)?)?;
            println!("{n} assets imported");
            Ok(0)
        }
        Command::Asset { command: AssetCommand::List } => {
            for a in assets::list_all(&mut conn)? {
                println!("{}\t{}\t{}\t{}", a.name, a.kind, a.criticality, a.cpe.as_deref().unwrap_or("-"));
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
