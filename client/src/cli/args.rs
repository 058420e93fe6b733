//! The command line's arguments (clap).

use clap::{Parser, Subcommand};
use std::path::PathBuf;

use renkei_client::risks;

#[derive(Parser)]
#[command(name = "renkei", about = "renkei member client: sync the hub's feed into the local register")]
pub struct Cli {
    /// The local register (a SQLite file).
    #[arg(long, env = "RENKEI_DB", default_value = "renkei.db", global = true)]
    pub db: PathBuf,
    /// Print list and show commands as JSON (one document) instead of text.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand)]
pub enum Command {
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
        /// Keep following: apply each change the hub pushes as it is committed
        /// (reconnecting when the connection drops); a hub that cannot push is polled.
        #[arg(long)]
        follow: bool,
        /// With --follow: seconds between polls when the hub cannot push, and between
        /// refreshes of the catalog and supplier chain.
        #[arg(long, default_value_t = 30)]
        interval: u64,
    },
    /// Write the live indicators held (not revoked, not expired, scoring at least
    /// --min-score): plain (one value a line, for block lists), csv, stix (a STIX 2.1
    /// bundle) or suricata (Suricata 7 rules in DIR/renkei.rules and the hash lists they
    /// name beside them, renkei-<md5|sha1|sha256>-<label>.list; needs --out DIR).
    Export {
        #[arg(long, default_value = "plain")]
        format: String,
        /// For suricata the folder to write into (required); for the others a file
        /// (default: standard output).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The lowest score exported (0-100; 0 exports every live indicator).
        #[arg(long, default_value_t = renkei_schema::score::DEFAULT_ACTIVE_MIN_SCORE)]
        min_score: u8,
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
    /// A report fitted to its audience (handbook 10.2), headings in English and Japanese:
    /// management (business terms: risks by the service they hurt, heat map, trend),
    /// operations (open flags with evidence, reviews, CSF gaps, suppliers) or regulator
    /// (profile, coverage, reviews done and overdue, flags raised and resolved).
    #[command(after_help = "Example / 例:\n  renkei report --audience management --format pdf --out report.pdf")]
    Report {
        /// management, operations or regulator.
        #[arg(long, default_value = "management")]
        audience: String,
        /// markdown (or md), html or pdf (pdf needs --out).
        #[arg(long, default_value = "markdown")]
        format: String,
        /// Write to this file instead of standard output (Markdown: the charts go
        /// beside it as NAME-chart-N.svg).
        #[arg(long)]
        out: Option<PathBuf>,
        /// The PDF's font with Japanese glyphs, FILE or FILE#INDEX for a collection
        /// (default: Debian's fonts-noto-cjk).
        #[arg(long, env = "RENKEI_REPORT_FONT")]
        font: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum ServiceCommand {
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
pub enum MatrixCommand {
    /// Print the matrix in force (JSON).
    Show,
    /// Put a new matrix (JSON, a higher version) in force; risks rated under the old
    /// one are flagged for re-rating.
    Set { file: PathBuf },
}

#[derive(clap::Args)]
pub struct RiskArgs {
    /// asset or business_damage (handbook 5.2).
    #[arg(long)]
    pub method: Option<String>,
    #[arg(long)]
    pub description: Option<String>,
    #[arg(long = "asset")]
    pub assets: Vec<String>,
    #[arg(long = "service")]
    pub services: Vec<String>,
    /// ATT&CK technique the scenario assumes (repeatable).
    #[arg(long = "technique")]
    pub techniques: Vec<String>,
    #[arg(long = "cve")]
    pub cves: Vec<String>,
    /// SUPPLIER_ID[:OFFERING_ID][@DEPENDENCY 1-4] (repeatable).
    #[arg(long = "supplier")]
    pub suppliers: Vec<String>,
    /// IMPACT,THREAT,VULNERABILITY (or THREAT,VULNERABILITY for an asset-based risk,
    /// the impact then being its assets' criticality).
    #[arg(long)]
    pub inherent: Option<risks::FactorsInput>,
    #[arg(long)]
    pub current: Option<risks::FactorsInput>,
    #[arg(long)]
    pub target: Option<risks::FactorsInput>,
    /// open, mitigate, accept, avoid or transfer.
    #[arg(long)]
    pub treatment: Option<String>,
    #[arg(long)]
    pub approver: Option<String>,
    /// YYYY-MM-DD.
    #[arg(long)]
    pub accepted_until: Option<String>,
    #[arg(long = "control")]
    pub controls: Vec<String>,
    #[arg(long)]
    pub owner: Option<String>,
    #[arg(long)]
    pub review_days: Option<i64>,
    /// NIST CSF 2.0 reference (repeatable), e.g. GV.SC-07.
    #[arg(long = "csf")]
    pub csf: Vec<String>,
}

#[derive(Subcommand)]
pub enum RiskCommand {
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
pub enum ProfileCommand {
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
pub enum FlagsCommand {
    /// Dismiss a flag (a reason is required and kept).
    Dismiss {
        id: i32,
        #[arg(long)]
        reason: String,
    },
}

#[derive(clap::Args)]
pub struct SharingArgs {
    /// CLEAR, GREEN, AMBER, AMBER+STRICT or RED.
    #[arg(long, default_value = "AMBER", global = true)]
    pub tlp: String,
    /// Organisation ids (TLP:RED only).
    #[arg(long = "recipient", global = true)]
    pub recipients: Vec<String>,
    #[arg(long, global = true)]
    pub anonymous: bool,
    #[arg(long, global = true)]
    pub confidence: Option<i64>,
    /// RFC 3339.
    #[arg(long, global = true)]
    pub valid_until: Option<String>,
    #[arg(long, global = true)]
    pub token_file: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum ShareCommand {
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
pub enum AssetCommand {
    /// Import (or update, by name) assets from a CSV file with a header row, or a JSON
    /// array (`.json`). Columns: name, kind (system, component, ot_device, data,
    /// facility, cloud), services, criticality (1-5), vendor, product, version, cpe,
    /// ics_asset_types, suppliers, offerings (lists `;`-separated), zone, exposure.
    Import { file: PathBuf },
    /// List the assets.
    List,
}
