//! The `renkei` command line: arguments (`args`), the commands on the hub's data
//! (`hub`) and on the member's own register (`register`), and the helpers they share.
//! `anyhow` stays here, at the edge.

mod appetite;
mod args;
mod hub;
mod register;
mod trees;

use std::path::PathBuf;

use anyhow::{Context as _, Result};
use clap::Parser as _;
use renkei_client::{flags, hub_api::HubApi, register as reg, risks};

use args::*;

/// Parses the command line and runs the command; the exit code.
pub fn run() -> Result<i32> {
    let cli = Cli::parse();
    if let Command::Completions { shell } = cli.command {
        // Before the register is opened: printing a script creates no file. Written whole
        // from memory, so a closed pipe is an error rather than a panic.
        let mut script = Vec::new();
        clap_complete::generate(shell, &mut <Cli as clap::CommandFactory>::command(), "renkei", &mut script);
        std::io::Write::write_all(&mut std::io::stdout().lock(), &script)?;
        return Ok(0);
    }
    let conn = reg::open(&cli.db)?;
    match cli.command {
        Command::Init { .. }
        | Command::Sync { .. }
        | Command::Export { .. }
        | Command::AuditCheckpoints { .. }
        | Command::Share { .. }
        | Command::Sighting { .. }
        | Command::Key { .. }
        | Command::Unopened
        | Command::Match { .. } => hub::run_hub(conn, &cli.db, cli.command, cli.json),
        Command::Tree { command } => trees::run_tree(conn, command, cli.json),
        _ => register::run_register(conn, cli.command, cli.json),
    }
}

/// Prints `value` as pretty JSON (the `--json` form of a list or show command).
pub(crate) fn print_json<T: serde::Serialize>(value: &T) -> Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Where the token comes from: an explicit `--token-file`, else `RENKEI_TOKEN`, else the
/// file remembered at `init`.
pub(crate) enum TokenSource {
    File(PathBuf),
    Environment(String),
}

impl TokenSource {
    pub(crate) fn find(conn: &mut diesel::SqliteConnection, file: Option<&PathBuf>) -> Result<TokenSource> {
        if let Some(f) = file {
            return Ok(TokenSource::File(f.clone()));
        }
        // An empty variable (exported but unset) does not hide the remembered file.
        if let Some(t) = std::env::var("RENKEI_TOKEN").ok().filter(|t| !t.trim().is_empty()) {
            return Ok(TokenSource::Environment(t));
        }
        match reg::get(conn, reg::TOKEN_FILE)? {
            Some(f) => Ok(TokenSource::File(PathBuf::from(f))),
            None => anyhow::bail!(
                "no token: give --token-file, set RENKEI_TOKEN, or run `renkei init` with one / \
                 トークンがありません: --token-fileかRENKEI_TOKENを指定するか、トークンを指定して`renkei init`を実行してください"
            ),
        }
    }

    pub(crate) fn read(&self) -> Result<String> {
        match self {
            TokenSource::File(f) => read_token_file(f),
            TokenSource::Environment(t) => Ok(t.trim().to_string()),
        }
    }
}

/// Reads a token file, refusing one that its group or others may read.
fn read_token_file(path: &std::path::Path) -> Result<String> {
    let file = std::fs::File::open(path).with_context(|| {
        format!("reading the token file {} / トークンファイル{}を読めません", path.display(), path.display())
    })?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = file.metadata()?.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            anyhow::bail!(
                "the token file {} may be read by others (mode {mode:o}): make it owner-only with `chmod 600 {}` / \
                 トークンファイル{}は他のユーザーが読めます(モード{mode:o})。`chmod 600 {}`で所有者のみにしてください",
                path.display(),
                path.display(),
                path.display(),
                path.display()
            );
        }
    }
    let text = std::io::read_to_string(file).with_context(|| format!("reading the token file {}", path.display()))?;
    Ok(text.trim().to_string())
}

/// Writes the token to `path`, owner-only from the first byte (created 0600 under a
/// temporary name, then renamed over any older file).
pub(crate) fn write_token_file(path: &std::path::Path, token: &str) -> Result<()> {
    use std::io::Write as _;
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(format!(".{}.tmp", std::process::id()));
    let temporary = PathBuf::from(temporary);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let written = (|| -> std::io::Result<()> {
        let mut file = options.open(&temporary)?;
        file.write_all(token.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&temporary, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written.with_context(|| {
        format!("writing the token file {} / トークンファイル{}を書けません", path.display(), path.display())
    })
}

/// The hub client for the register's hub.
pub(crate) fn connect(conn: &mut diesel::SqliteConnection, token_file: Option<&PathBuf>) -> Result<HubApi> {
    let hub = reg::get(conn, reg::HUB_URL)?.context("no hub yet: run `renkei init` first")?;
    let ca = reg::get(conn, reg::CA_FILE)?.map(PathBuf::from);
    let token = TokenSource::find(conn, token_file)?.read()?;
    Ok(HubApi::new(&hub, token, ca.as_deref())?)
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
    for p in &f.detail.paths {
        println!("    path in tree {} / 攻撃ツリー {} の経路: {}", p.tree, p.tree, p.steps.join(" -> "));
    }
    println!("    -> {}\n       {}", f.detail.suggestion, f.detail.suggestion_ja);
}
