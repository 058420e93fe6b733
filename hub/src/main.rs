//! `renkei-hub`: the hub server and its admin commands. Every subcommand reads the
//! same configuration (file, `RENKEI_*` environment, flags).

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

use renkei_hub::auth::Role;
use renkei_hub::config::Config;
use renkei_hub::crypto::HubKeys;
use renkei_hub::keystore::{self, WhenMissing};
use renkei_hub::services::moderation::{self, Trust};
use renkei_hub::services::{allowlist, attack, audit, directory};
use renkei_hub::store;

// The hub allocates many short-lived strings per shared object; glibc malloc spent a
// quarter of the feed's time consolidating free lists (perf), mimalloc does not. With
// the `override` feature libpq's and SQLite's allocations come here too: glibc handed a
// TAXII page's 1 MB query result back to the kernel after every page and faulted it in
// again for the next (a quarter of the hub's CPU on a collection walk, perf).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "renkei-hub",
    version,
    about = "renkei sector hub: TLP-governed sharing for critical-infrastructure operators"
)]
struct Cli {
    /// TOML configuration file (also RENKEI_CONFIG).
    #[arg(long, global = true, env = "RENKEI_CONFIG")]
    config: Option<PathBuf>,
    /// Database URL: postgres://… or sqlite://PATH (overrides RENKEI_DATABASE_URL).
    #[arg(long, global = true)]
    database: Option<String>,
    /// Data folder: the default SQLite database and key-encryption key (overrides RENKEI_DATA_DIR).
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the hub.
    Serve {
        #[arg(long)]
        listen: Option<String>,
        #[arg(long, requires = "tls_key")]
        tls_cert: Option<PathBuf>,
        #[arg(long, requires = "tls_cert")]
        tls_key: Option<PathBuf>,
        /// Allow plain HTTP on a non-loopback address (behind a TLS-terminating proxy).
        #[arg(long)]
        allow_plain_http: bool,
    },
    /// Run pending database migrations.
    Migrate,
    /// Member organisations.
    Org {
        #[command(subcommand)]
        command: OrgCommand,
    },
    /// Bearer tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The audit log.
    Audit {
        #[command(subcommand)]
        command: AuditCommand,
    },
    /// False-positive allowlists checked at submission.
    Allowlist {
        #[command(subcommand)]
        command: AllowlistCommand,
    },
    /// The MITRE ATT&CK catalog.
    Attack {
        #[command(subcommand)]
        command: AttackCommand,
    },
    /// The hub's signing key.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Federation links to peer hubs.
    Peer {
        #[command(subcommand)]
        command: PeerCommand,
    },
    /// STIX 2.1 bundles.
    Stix {
        #[command(subcommand)]
        command: StixCommand,
    },
    /// MISP events.
    Misp {
        #[command(subcommand)]
        command: MispCommand,
    },
    /// Print the GraphQL SDL.
    Sdl,
}

#[derive(Subcommand)]
enum MispCommand {
    /// Import a MISP event (JSON as MISP exports it) as items shared by an organisation
    /// (one transaction; a line per attribute or technique: stored, queued, duplicate or
    /// refused with its code). Untagged attributes take --tlp, narrowed by their
    /// distribution.
    Import(ImportArgs),
}

#[derive(Subcommand)]
enum StixCommand {
    /// Import a STIX 2.1 bundle as items shared by an organisation (one transaction; a
    /// line per object: stored, queued, updated, duplicate, context or refused with its
    /// code). Unmarked objects take --tlp.
    Import(ImportArgs),
}

#[derive(clap::Args)]
struct ImportArgs {
    file: PathBuf,
    /// The organisation (id) the items are shared by.
    #[arg(long)]
    org: String,
    /// The label of objects that carry none.
    #[arg(long, default_value = "TLP:AMBER")]
    tlp: String,
    /// Recipients (organisation ids) of TLP:RED items.
    #[arg(long = "recipient")]
    recipients: Vec<String>,
    /// Share as "a member of this hub" (only coordinators see the submitter).
    #[arg(long)]
    anonymous: bool,
}

#[derive(Subcommand)]
enum PeerCommand {
    /// Add a link to a peer hub. For push or both, prints the token the peer pulls
    /// with (once); for pull or both, give the token the peer issued (--token-file).
    Add {
        /// A local name for the peer.
        name: String,
        /// The peer's address, e.g. https://national-hub.example:8480.
        #[arg(long)]
        url: String,
        /// The peer's Ed25519 public key, as its `renkei-hub key show` prints it.
        /// Base64url keys may start with `-`, which is taken as the value, not a flag.
        #[arg(long, allow_hyphen_values = true)]
        public_key: String,
        /// The highest label the link carries: CLEAR, GREEN or AMBER (explicitly trusted).
        #[arg(long)]
        max_tlp: String,
        /// The peer is in this hub's community (GREEN travels to it).
        #[arg(long)]
        community: bool,
        /// pull (this hub reads the peer), push (the peer reads this hub) or both.
        #[arg(long, default_value = "both")]
        direction: String,
        /// Kinds carried, comma-separated; `sighting` carries sightings aggregates.
        #[arg(long, default_value = "indicator,technique,incident,advisory,assessment,sighting")]
        kinds: String,
        /// File holding the token the peer issued this hub (pull, both).
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// PEM of the CA (or the peer's own certificate) its TLS server presents.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// SHA-256 (hex) of the client certificate the peer must present (mTLS).
        #[arg(long)]
        client_cert_sha256: Option<String>,
    },
    /// Set the token this hub pulls from the peer with (issued by the peer's `peer add`).
    SetToken {
        name: String,
        #[arg(long)]
        token_file: PathBuf,
    },
    /// The links and where pulling from each stands.
    List,
    /// Remove a link and revoke the peer's tokens.
    Remove { name: String },
}

#[derive(Subcommand)]
enum OrgCommand {
    /// Add an organisation; prints its id.
    Add {
        name: String,
        #[arg(long)]
        sector: String,
        #[arg(long)]
        coordinator: bool,
        /// new, standard or trusted: what the moderation policy routes submissions by.
        #[arg(long, default_value = "standard")]
        trust: String,
    },
    /// Set an organisation's trust level (new, standard or trusted).
    Trust { org: String, level: String },
    /// List organisations (id, name, sector, coordinator, trust).
    List,
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Issue a token; prints only the token, once.
    Issue {
        #[arg(long)]
        org: String,
        /// coordinator, analyst or procurement.
        #[arg(long)]
        role: String,
        /// Expiry: an RFC 3339 time or a duration such as 90d, 12h.
        #[arg(long)]
        expires: Option<String>,
        /// Beyond the role: `indicators` lets a procurement token read indicators.
        #[arg(long = "grant")]
        grants: Vec<String>,
        /// The person or system holding the token, shown in the audit.
        #[arg(long)]
        name: Option<String>,
    },
    /// Revoke a token by its id (the part after `rk_`, before the second `_`).
    Revoke { id: String },
    /// Print a one-time code with which the token's holder registers a first second
    /// factor (security key or authenticator app) in the web console; coordinators
    /// cannot use the console without one. Valid `console.enrolment_hours`.
    Enrol { id: String },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Verify the keyed chain (with the audit key in the data folder); exits non-zero
    /// naming the first bad entry. With --checkpoint, the log must also still extend
    /// that checkpoint (one printed by `audit checkpoint`, or one a member's client
    /// kept from the change feed).
    Verify {
        /// A checkpoint file (JSON).
        #[arg(long)]
        checkpoint: Option<PathBuf>,
    },
    /// Print a signed checkpoint of the chain as it stands (sequence, hash, time), to
    /// keep outside the database.
    Checkpoint,
    /// Print entries in full, newest first, one JSON object a line: the operator's view
    /// (the API withholds what a coordinator may not learn).
    Show {
        /// At most this many entries.
        #[arg(long, default_value_t = 100)]
        limit: i64,
        /// Only entries before this sequence number.
        #[arg(long)]
        before: Option<i64>,
    },
}

#[derive(Subcommand)]
enum AllowlistCommand {
    /// Import (or replace) a list from a text file: one address, range, domain
    /// (`.example.com` for every subdomain) or hash per line, `#` comments.
    Import {
        file: PathBuf,
        #[arg(long)]
        name: String,
    },
    /// The stored lists and their sizes (the built-in list is not stored).
    List,
    /// Remove a list.
    Remove { name: String },
}

#[derive(Subcommand)]
enum AttackCommand {
    /// Import MITRE ATT&CK STIX bundles (Enterprise, ICS).
    Import { files: Vec<PathBuf> },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Print the hub's current Ed25519 public key (base64url).
    Show,
    /// Make a new signing key and announce it in the change feed, signed by the current
    /// one (members' clients and peer hubs follow it; running replicas sign with it from
    /// their next write). Prints the new public key.
    Rotate,
    /// The hub's signing keys, oldest first: the sequence number each signs from, its
    /// fingerprint, its public key, when it was made, and whether it is current.
    List,
}

fn parse_expiry(s: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    renkei_schema::duration::parse_expiry(s, chrono::Utc::now())
        .map_err(|e| anyhow::anyhow!("--expires: {}\n{}", e.reason, e.reason_ja))
}

/// The database (migrated) and the hub's keys, loaded as the server loads them
/// (`keystore::open`: from the database, unsealed with the key-encryption key; made
/// only for a database that holds none), with the audit chain checked to be keyed with
/// the hub's audit key.
fn open_db(config: &Config) -> anyhow::Result<(store::PooledConn, HubKeys)> {
    let (conn, keys, _) = open_with(config, WhenMissing::Create)?;
    Ok((conn, keys))
}

/// The database and the keys of an existing hub: commands that only read must not make
/// a new identity for a database that holds none.
fn open_existing(config: &Config) -> anyhow::Result<(store::PooledConn, HubKeys, String)> {
    open_with(config, WhenMissing::Refuse)
}

fn open_with(config: &Config, missing: WhenMissing) -> anyhow::Result<(store::PooledConn, HubKeys, String)> {
    let pool = store::connect(&config.database_url(), 2)?;
    let mut conn = pool.get()?;
    store::migrate(&mut conn)?;
    let hub_id = renkei_hub::state::hub_id(&mut conn)?;
    let keys = keystore::open(&mut conn, &keystore::KeyFiles::of(config), &hub_id, missing)?;
    audit::prepare_chain(&mut conn, &keys).map_err(app_err)?;
    Ok((conn, keys, hub_id))
}

fn parse_trust(level: &str) -> anyhow::Result<Trust> {
    Trust::parse(level).ok_or_else(|| anyhow::anyhow!("trust level {level:?}: expected new, standard or trusted"))
}

fn app_err(e: renkei_hub::error::AppError) -> anyhow::Error {
    anyhow::anyhow!("{} ({})\n{}", e.message, e.code, e.message_ja)
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_env("RENKEI_LOG").unwrap_or_else(|_| "info".into()))
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    let mut config = Config::load(cli.config.as_deref())?;
    if let Some(db) = cli.database {
        config.database_url = Some(db);
    }
    if let Some(dir) = cli.data_dir {
        config.data_dir = dir;
    }
    config.validate()?;

    match cli.command {
        Command::Serve { listen, tls_cert, tls_key, allow_plain_http } => {
            if let Some(l) = listen {
                config.listen = l;
            }
            if tls_cert.is_some() {
                config.tls_cert = tls_cert;
                config.tls_key = tls_key;
            }
            config.allow_plain_http |= allow_plain_http;
            serve(config)
        }
        Command::Migrate => {
            let pool = store::connect(&config.database_url(), 1)?;
            let applied = store::migrate(&mut *pool.get()?)?;
            println!("{applied} migration(s) applied");
            Ok(())
        }
        Command::Org { command: OrgCommand::Add { name, sector, coordinator, trust } } => {
            let trust = parse_trust(&trust)?;
            let (mut conn, keys) = open_db(&config)?;
            let org =
                directory::add_org(&mut conn, &keys, &name, &sector, coordinator, trust, None).map_err(app_err)?;
            println!("{}", org.id);
            Ok(())
        }
        Command::Org { command: OrgCommand::Trust { org, level } } => {
            let trust = parse_trust(&level)?;
            let (mut conn, keys) = open_db(&config)?;
            let org = moderation::set_trust(&mut conn, &keys, None, &org, trust).map_err(app_err)?;
            println!("{}\t{}", org.id, org.trust);
            Ok(())
        }
        Command::Org { command: OrgCommand::List } => {
            let (mut conn, _) = open_db(&config)?;
            for o in directory::list_orgs(&mut conn).map_err(app_err)? {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    o.id,
                    o.name,
                    o.sector,
                    if o.is_coordinator { "coordinator" } else { "member" },
                    o.trust
                );
            }
            Ok(())
        }
        Command::Token { command: TokenCommand::Issue { org, role, expires, grants, name } } => {
            let role = Role::parse(&role).filter(|r| *r != Role::Peer).with_context(|| {
                format!("role {role:?}: use coordinator, analyst or procurement (peer tokens come from `peer add`)")
            })?;
            let expires = expires.as_deref().map(parse_expiry).transpose()?;
            let (mut conn, keys) = open_db(&config)?;
            let (_, token) = directory::issue_token(&mut conn, &keys, &org, role, expires, &grants, name.as_deref())
                .map_err(app_err)?;
            println!("{token}");
            Ok(())
        }
        Command::Token { command: TokenCommand::Enrol { id } } => {
            let (mut conn, keys) = open_db(&config)?;
            let code =
                renkei_hub::services::sessions::issue_enrolment(&mut conn, &keys, &id, config.console.enrolment_hours)
                    .map_err(app_err)?;
            println!("{code}");
            Ok(())
        }
        Command::Token { command: TokenCommand::Revoke { id } } => {
            let (mut conn, keys) = open_db(&config)?;
            directory::revoke_token(&mut conn, &keys, &id).map_err(app_err)?;
            println!("revoked {id}");
            Ok(())
        }
        Command::Audit { command } => audit_command(&config, command),
        Command::Allowlist { command: AllowlistCommand::Import { file, name } } => {
            let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
            let (mut conn, keys) = open_db(&config)?;
            let n = allowlist::import(&mut conn, &keys, None, &name, &text).map_err(|e| {
                let lines: Vec<String> = e.entries.iter().take(20).map(|b| format!("  {}", b.message)).collect();
                anyhow::anyhow!("{} ({})\n{}\n{}", e.message, e.code, e.message_ja, lines.join("\n"))
            })?;
            println!("{n} entries in allowlist {name}");
            Ok(())
        }
        Command::Allowlist { command: AllowlistCommand::List } => {
            let (mut conn, _) = open_db(&config)?;
            for (name, n) in allowlist::lists(&mut conn).map_err(app_err)? {
                println!("{name}\t{n}");
            }
            Ok(())
        }
        Command::Allowlist { command: AllowlistCommand::Remove { name } } => {
            let (mut conn, keys) = open_db(&config)?;
            let n = allowlist::remove(&mut conn, &keys, None, &name).map_err(app_err)?;
            println!("removed allowlist {name} ({n} entries)");
            Ok(())
        }
        Command::Attack { command: AttackCommand::Import { files } } => {
            anyhow::ensure!(!files.is_empty(), "give one or more ATT&CK STIX bundle files");
            let mut catalog = renkei_schema::attack::AttackCatalog::default();
            for file in &files {
                let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
                let part = renkei_schema::attack::AttackCatalog::from_bundle_json(&bytes)
                    .map_err(|e| anyhow::anyhow!("{}: {e}\n{}", file.display(), e.message_ja()))?;
                catalog.merge(part);
            }
            let (mut conn, keys) = open_db(&config)?;
            let c = attack::import(&mut conn, &keys, catalog).map_err(app_err)?;
            println!(
                "imported {} techniques, {} tactics, {} mitigations, {} assets, {} relations",
                c.techniques, c.tactics, c.mitigations, c.assets, c.relations
            );
            Ok(())
        }
        Command::Key { command: KeyCommand::Show } => {
            let (mut conn, keys) = open_db(&config)?;
            println!("{}", keys.follow(&mut conn).map_err(app_err)?.public_key);
            Ok(())
        }
        Command::Key { command: KeyCommand::Rotate } => {
            let (mut conn, keys, hub_id) = open_existing(&config)?;
            let rotated = renkei_hub::services::identity::rotate(&mut conn, &keys, &hub_id).map_err(app_err)?;
            eprintln!(
                "rotated: the new key signs from sequence number {} (announced at {}, signed by the old key {})",
                rotated.from_seq, rotated.seq, rotated.old_key
            );
            println!("{}", rotated.new_key);
            Ok(())
        }
        Command::Key { command: KeyCommand::List } => {
            let (mut conn, _, _) = open_existing(&config)?;
            let history = keystore::SigningHistory::load(&mut conn)?;
            for k in &history.keys {
                println!(
                    "{}\t{}\t{}\t{}\t{}",
                    k.from_seq,
                    k.id,
                    k.public_key,
                    k.created_at,
                    if k.retired { "retired" } else { "current" }
                );
            }
            Ok(())
        }
        Command::Peer { command } => peer_command(&config, command),
        Command::Stix { command: StixCommand::Import(args) } => {
            let document = read_json(&args.file)?;
            let candidates = renkei_schema::stix::import::candidates(&document, config.imports.max_objects)
                .map_err(|r| anyhow::anyhow!("{} ({})\n{}", r.message, r.code, r.message_ja))?;
            import_as(config, args, candidates)
        }
        Command::Misp { command: MispCommand::Import(args) } => {
            let document = read_json(&args.file)?;
            let tlp: renkei_schema::tlp::Tlp =
                args.tlp.parse().map_err(|e| anyhow::anyhow!("--tlp {:?}: {e}", args.tlp))?;
            let candidates = renkei_schema::misp::candidates(&document, tlp, &args.recipients)
                .map_err(|r| anyhow::anyhow!("{} ({})\n{}", r.message, r.code, r.message_ja))?;
            import_as(config, args, candidates)
        }
        Command::Sdl => {
            print!("{}", renkei_hub::graphql::sdl());
            Ok(())
        }
    }
}

fn audit_command(config: &Config, command: AuditCommand) -> anyhow::Result<()> {
    match command {
        AuditCommand::Verify { checkpoint } => {
            let point = checkpoint
                .map(|file| -> anyhow::Result<audit::Checkpoint> {
                    let text = std::fs::read_to_string(&file).with_context(|| format!("reading {}", file.display()))?;
                    serde_json::from_str(&text).with_context(|| format!("{} is not a checkpoint", file.display()))
                })
                .transpose()?;
            let (mut conn, keys, hub_id) = open_existing(config)?;
            match audit::verify(&mut conn, &keys, &hub_id, point.as_ref()).map_err(app_err)? {
                Ok(found) => {
                    println!("audit log intact: {} entries", found.entries);
                    if let Some(seq) = found.checkpoint_entry {
                        println!("it extends the checkpoint (entry {seq})");
                    }
                    Ok(())
                }
                Err(bad) => {
                    eprintln!("audit log broken at entry {}: {}", bad.seq, bad.reason);
                    eprintln!("監査ログが改ざんされています: エントリ {}（{}）", bad.seq, bad.reason);
                    std::process::exit(1);
                }
            }
        }
        AuditCommand::Checkpoint => {
            let (mut conn, keys, hub_id) = open_existing(config)?;
            let point = audit::checkpoint(&mut conn, &keys, &hub_id, false)
                .map_err(app_err)?
                .context("the audit log is empty: nothing to checkpoint")?;
            println!("{}", serde_json::to_string(&point)?);
            Ok(())
        }
        AuditCommand::Show { limit, before } => {
            let (mut conn, _, _) = open_existing(config)?;
            let rows = audit::recent(&mut conn, before, limit.clamp(1, 100_000))?;
            let tokens: Vec<&str> = rows.iter().filter_map(|r| r.actor_token.as_deref()).collect();
            let names = directory::token_names(&mut conn, &tokens).map_err(app_err)?;
            for row in &rows {
                let detail: serde_json::Value = serde_json::from_str(&row.detail).unwrap_or(serde_json::Value::Null);
                let token_name = row.actor_token.as_ref().and_then(|t| names.get(t));
                println!(
                    "{}",
                    serde_json::json!({
                        "seq": row.seq, "at": row.at, "actorOrg": row.actor_org, "actorToken": row.actor_token,
                        "actorTokenName": token_name,
                        "action": row.action, "target": row.target, "detail": detail, "source": row.source,
                        "hash": row.hash,
                    })
                );
            }
            Ok(())
        }
    }
}

fn peer_command(config: &Config, command: PeerCommand) -> anyhow::Result<()> {
    use renkei_hub::federation::{self, Direction, PeerInput};
    match command {
        PeerCommand::Add {
            name,
            url,
            public_key,
            max_tlp,
            community,
            direction,
            kinds,
            token_file,
            ca,
            client_cert_sha256,
        } => {
            let max_tlp: renkei_schema::tlp::Tlp = max_tlp.parse().map_err(|e| anyhow::anyhow!("--max-tlp: {e}"))?;
            let direction = Direction::parse(&direction)
                .with_context(|| format!("--direction {direction:?}: expected pull, push or both"))?;
            let named: Vec<&str> = kinds.split(',').map(str::trim).filter(|k| !k.is_empty()).collect();
            let sightings = named.contains(&federation::SIGHTING_KIND);
            let kinds = named
                .into_iter()
                .filter(|k| *k != federation::SIGHTING_KIND)
                .map(|k| renkei_schema::model::Kind::parse(k).with_context(|| format!("--kinds: unknown kind {k:?}")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let token = match (token_file, std::env::var("RENKEI_PEER_TOKEN").ok()) {
                (Some(f), _) => Some(std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display()))?),
                (None, t) => t,
            };
            let ca_pem = ca
                .map(|f| std::fs::read_to_string(&f).with_context(|| format!("reading {}", f.display())))
                .transpose()?;
            let (mut conn, keys) = open_db(config)?;
            let input = PeerInput {
                name,
                url,
                public_key,
                max_tlp,
                community,
                direction,
                kinds,
                sightings,
                token,
                ca_pem,
                client_cert_sha256,
            };
            let (row, token) = federation::add_peer(&mut conn, &keys, input).map_err(app_err)?;
            let summary = format!("added peer {} ({}, up to {}, {})", row.name, row.direction, row.max_tlp, row.kinds);
            match token {
                // Standard output holds only the token, for scripts.
                Some(token) => {
                    eprintln!("{summary}\nthe peer pulls from this hub with this token (shown once):");
                    println!("{token}");
                }
                None => println!("{summary}"),
            }
            Ok(())
        }
        PeerCommand::SetToken { name, token_file } => {
            let token =
                std::fs::read_to_string(&token_file).with_context(|| format!("reading {}", token_file.display()))?;
            let (mut conn, _) = open_db(config)?;
            federation::set_token(&mut conn, &name, &token).map_err(app_err)?;
            println!("token set for peer {name}");
            Ok(())
        }
        PeerCommand::List => {
            let (mut conn, _) = open_db(config)?;
            for (p, s) in federation::list_peers(&mut conn).map_err(app_err)? {
                println!(
                    "{}\t{}\t{}\t{}{}\t{}\tcursor {} of {}\treceived {}\trefused {}\t{}",
                    p.name,
                    p.url,
                    p.direction,
                    p.max_tlp,
                    if p.community { " community" } else { "" },
                    p.kinds,
                    s.cursor,
                    s.peer_head,
                    s.received,
                    s.refused,
                    s.last_error.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
        PeerCommand::Remove { name } => {
            let (mut conn, keys) = open_db(config)?;
            federation::remove_peer(&mut conn, &keys, &name).map_err(app_err)?;
            println!("removed peer {name}");
            Ok(())
        }
    }
}

/// Runs an import as an organisation (an analyst of it, or its coordinator), on a hub
/// opened like `serve` opens it (so allowlists, moderation and signing apply), without
/// listening; prints a line per object.
fn import_as(
    config: Config,
    args: ImportArgs,
    candidates: Vec<renkei_schema::import::Candidate>,
) -> anyhow::Result<()> {
    let defaults = renkei_hub::services::import::Defaults {
        tlp: args.tlp.parse().map_err(|e| anyhow::anyhow!("--tlp {:?}: {e}", args.tlp))?,
        recipients: args.recipients,
        anonymous: args.anonymous,
        max_tlp: None,
    };
    let org = args.org;
    let reports = actix_web::rt::System::new().block_on(async move {
        let hub = renkei_hub::state::Hub::open(config).await?;
        hub.db(move |hub, c| {
            let found = directory::list_orgs(c)?.into_iter().find(|o| o.id == org).ok_or_else(|| {
                renkei_hub::error::AppError::new(
                    renkei_schema::errors::Code::NotFound,
                    format!("no organisation {org}"),
                    format!("組織 {org} がありません"),
                )
            })?;
            let actor = renkei_hub::auth::Identity {
                org_id: found.id.clone(),
                org_name: found.name.clone(),
                role: if found.is_coordinator { Role::Coordinator } else { Role::Analyst },
                token_id: "cli".into(),
                source: Some("command line".into()),
                grants: Vec::new(),
            };
            renkei_hub::actions::import(hub, c, &actor, candidates, &defaults)
        })
        .await
        .map_err(app_err)
    })?;
    print_reports(&reports);
    Ok(())
}

fn read_json(file: &std::path::Path) -> anyhow::Result<serde_json::Value> {
    let bytes = std::fs::read(file).with_context(|| format!("reading {}", file.display()))?;
    serde_json::from_slice(&bytes)
        .with_context(|| format!("{} is not JSON\n{} はJSONではありません", file.display(), file.display()))
}

fn print_reports(reports: &[renkei_hub::services::import::Report]) {
    let mut refused = 0;
    for r in reports {
        let id = r.id.as_deref().unwrap_or("-");
        match (&r.code, &r.message) {
            (Some(code), Some(message)) => {
                refused += 1;
                println!(
                    "{}\t{}\t{id}\t{code}: {message} / {}",
                    r.source,
                    r.outcome.as_str(),
                    r.message_ja.as_deref().unwrap_or("")
                );
            }
            _ => println!("{}\t{}\t{id}", r.source, r.outcome.as_str()),
        }
    }
    println!("{} objects, {refused} refused", reports.len());
}

fn serve(config: Config) -> anyhow::Result<()> {
    let tls = match (&config.tls_cert, &config.tls_key) {
        (Some(cert), Some(key)) => Some(renkei_hub::http::tls_config(cert, key, config.tls_client_ca.as_deref())?),
        _ => None,
    };
    if tls.is_none() && !config.allow_plain_http && !renkei_hub::http::is_loopback(&config.listen) {
        anyhow::bail!(
            "refusing to serve plain HTTP on {}: give --tls-cert/--tls-key, or --allow-plain-http behind a TLS proxy",
            config.listen
        );
    }
    actix_web::rt::System::new().block_on(async move {
        let listen = config.listen.clone();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let hub = renkei_hub::state::Hub::open(config).await?;
        let listener = std::net::TcpListener::bind(&listen).with_context(|| format!("binding {listen}"))?;
        tracing::info!(
            "renkei-hub {} listening on {scheme}://{} (database: {}, counters: {})",
            hub.hub_id,
            listener.local_addr()?,
            store::backend_of(&hub.config.database_url()).map(|(b, _)| format!("{b:?}")).unwrap_or_default(),
            hub.counters.backend_name()
        );
        renkei_hub::http::server(hub, listener, tls)?.await?;
        Ok(())
    })
}
