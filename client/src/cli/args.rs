//! The command line's arguments (clap).

use clap::{Parser, Subcommand};
use std::path::PathBuf;

use renkei_client::risks;

#[derive(Parser)]
#[command(
    name = "renkei",
    about = "renkei member client: sync the hub's feed into the local register",
    after_help = "Example / 例:\n  renkei --db member.db init --hub https://isac.example:8480 --token-file ~/.config/renkei/token\n  renkei --db member.db sync\n  renkei --db member.db risk list --json"
)]
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
    #[command(
        after_help = "Example / 例:\n  renkei --db member.db init --hub https://isac.example:8480 --token-file ~/.config/renkei/token\n  RENKEI_TOKEN=\"$(cat token)\" renkei --db member.db init --hub https://isac.example:8480"
    )]
    /// Create (or re-point) the register: the hub's address, and its signing key, pinned.
    Init {
        /// e.g. https://isac.example:8480
        #[arg(long)]
        hub: String,
        /// A file holding the token, readable by its owner only (mode 0600); its path is
        /// remembered. Else RENKEI_TOKEN, written to `<db>.token` (mode 0600) and
        /// remembered. Later commands need no token flag.
        #[arg(long)]
        token_file: Option<PathBuf>,
        /// Extra trusted root certificates (PEM) besides the system's.
        #[arg(long)]
        ca: Option<PathBuf>,
    },
    #[command(
        after_help = "Example / 例:\n  renkei --db member.db sync\n  renkei --db member.db sync --follow --interval 60"
    )]
    /// Pull the change feed from where the last sync stopped.
    Sync {
        /// The token's file (else RENKEI_TOKEN, else the one remembered at init).
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
    #[command(
        after_help = "Example / 例:\n  renkei export --format csv --out held.csv\n  renkei export --format suricata --out /etc/suricata/renkei"
    )]
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
    #[command(
        after_help = "Example / 例:\n  renkei match /var/log/squid/access.log\n  tail -f proxy.log | renkei match -"
    )]
    /// Report the lines of a log or list (a file, or - for standard input) that contain
    /// an indicator held.
    Match { file: PathBuf },
    #[command(after_help = "Example / 例:\n  renkei audit-checkpoints --latest > checkpoint.json")]
    /// Print the hub's audit checkpoints this register holds (signed by the hub, kept
    /// from the change feed), newest first, one JSON object a line: the hub's operator
    /// checks that the audit log still extends one with
    /// `renkei-hub audit verify --checkpoint FILE`.
    AuditCheckpoints {
        /// Only the newest.
        #[arg(long)]
        latest: bool,
    },
    #[command(after_help = "Example / 例:\n  renkei asset import assets.csv\n  renkei asset list --json")]
    /// The member's assets.
    Asset {
        #[command(subcommand)]
        command: AssetCommand,
    },
    #[command(
        after_help = "Example / 例:\n  renkei service add \"Power supply\" --mission essential --tolerable-outage-hours 2"
    )]
    /// Business services (the anchor of business-damage-based analysis).
    Service {
        #[command(subcommand)]
        command: ServiceCommand,
    },
    #[command(after_help = "Example / 例:\n  renkei matrix show > matrix.json\n  renkei matrix set matrix.json")]
    /// The risk matrix both analysis methods share.
    Matrix {
        #[command(subcommand)]
        command: MatrixCommand,
    },
    #[command(
        after_help = "Example / 例:\n  renkei risk add --title \"HMI taken over\" --method asset --asset HMI --current 4,3\n  renkei risk list --json"
    )]
    /// The risk register.
    Risk {
        #[command(subcommand)]
        command: RiskCommand,
    },
    /// Framework catalogs (OSCAL): NIST CSF 2.0 (built in), C2M2, CIS v8, NCSC CAF, METI CPSF,
    /// and the mappings between them.
    #[command(
        after_help = "Example / 例:\n  renkei catalog import client/catalogs/cis-v8.json\n  renkei catalog show cis-v8 --control 3.1"
    )]
    Catalog {
        #[command(subcommand)]
        command: CatalogCommand,
    },
    /// Attack trees of business damages (handbook 5.2): import, export, show, draw.
    #[command(after_help = "Example / 例:\n  renkei tree import damage-tree.json\n  renkei tree show AT-0001")]
    Tree {
        #[command(subcommand)]
        command: super::trees::TreeCommand,
    },
    /// The profile: current and target tiers per function, category, subcategory or
    /// control of a catalog, read in another framework, and the gaps.
    #[command(
        after_help = "Example / 例:\n  renkei profile set GV.SC-07 --current 1 --target 3 --priority 1 --cost low\n  renkei profile gap"
    )]
    Profile {
        #[command(subcommand)]
        command: ProfileCommand,
    },
    /// The risk treatment plan: actions with owners, due dates, costs and status, tied to
    /// gaps and risks.
    #[command(
        after_help = "Example / 例:\n  renkei plan add --title \"Supplier clauses\" --owner Sato --due 2027-03-31 --gap GV.SC-07 --risk R-0001"
    )]
    Plan {
        #[command(subcommand)]
        command: PlanCommand,
    },
    #[command(
        after_help = "Example / 例:\n  renkei flags --status all --json\n  renkei flags dismiss 7 --reason \"not our version\""
    )]
    /// Reassessment flags, the highest priority first (open ones unless --status).
    Flags {
        #[arg(long, default_value = "open")]
        status: String,
        #[command(subcommand)]
        command: Option<FlagsCommand>,
    },
    /// Risk appetite and tolerance per business service (handbook 5.1), measured.
    #[command(
        after_help = "Example / 例:\n  renkei appetite set 'Power supply' --max-incidents 3 --period-days 365 --max-degradation 20\n  renkei appetite status"
    )]
    Appetite {
        #[command(subcommand)]
        command: super::appetite::AppetiteCommand,
    },
    /// The member's own incidents (measured against the appetite statements).
    #[command(after_help = "Example / 例:\n  renkei incident import incidents.csv\n  renkei incident list --json")]
    Incident {
        #[command(subcommand)]
        command: super::appetite::IncidentCommand,
    },
    /// Contingency readiness against the seven traits of cyber-attack risk (handbook 7).
    #[command(
        after_help = "Example / 例:\n  renkei readiness list\n  renkei readiness review 2 --note 'new ICS techniques checked'"
    )]
    Readiness {
        #[command(subcommand)]
        command: super::appetite::ReadinessCommand,
    },
    #[command(
        after_help = "Example / 例:\n  renkei share --tlp GREEN indicator --type DOMAIN --value evil.example\n  renkei share --tlp AMBER technique --attack-id T0866 --narrative \"seen on our HMI\"\n  renkei share --tlp RED --recipient org-7f3c --envelope-out red.json indicator --type DOMAIN --value evil.example"
    )]
    /// Share with the hub (the hub's moderation and TLP rules apply).
    Share {
        #[command(flatten)]
        sharing: SharingArgs,
        #[command(subcommand)]
        command: ShareCommand,
    },
    #[command(
        after_help = "Example / 例:\n  renkei key list\n  renkei key rotate\n  renkei key endorse 3f1c9a0b2d4e6f708192a3b4c5d6e7f8"
    )]
    /// This installation's keys for sealed TLP:RED: an X25519 key others seal to and an
    /// Ed25519 key that signs what this organisation seals (kept in `<db>.keys`, mode 0600).
    Key {
        #[arg(long, global = true)]
        token_file: Option<PathBuf>,
        #[command(subcommand)]
        command: KeyCommand,
    },
    #[command(after_help = "Example / 例:\n  renkei unopened\n  renkei unopened --json")]
    /// The sealed TLP:RED items this installation received but could not open or check,
    /// with why (every sync tries them again).
    Unopened,
    #[command(
        after_help = "Example / 例:\n  renkei sighting indicator--5b0e5c8e-0f4e-4a4b-9d1c-3a0a3e7e2f11 --count 3"
    )]
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
    /// Print a shell completion script (bash, zsh, fish, powershell or elvish).
    #[command(
        after_help = "Example / 例:\n  renkei completions bash > /etc/bash_completion.d/renkei\n  renkei completions zsh > \"${fpath[1]}/_renkei\""
    )]
    Completions { shell: clap_complete::Shell },
}

#[derive(Subcommand)]
pub enum ServiceCommand {
    #[command(
        after_help = "Example / 例:\n  renkei service add \"Power supply\" --mission essential --tolerable-outage-hours 2 --criterion \"outage over 4 h = 4\""
    )]
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
    #[command(after_help = "Example / 例:\n  renkei service list --json")]
    List,
}

#[derive(Subcommand)]
pub enum MatrixCommand {
    #[command(after_help = "Example / 例:\n  renkei matrix show > matrix.json")]
    /// Print the matrix in force (JSON).
    Show,
    #[command(after_help = "Example / 例:\n  renkei matrix set matrix.json")]
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
    #[command(
        after_help = "Example / 例:\n  renkei risk add --title \"HMI taken over\" --method asset --asset HMI --technique T0866 --current 4,3"
    )]
    /// Add a risk.
    Add {
        #[arg(long)]
        title: String,
        #[command(flatten)]
        args: RiskArgs,
    },
    #[command(after_help = "Example / 例:\n  renkei risk import risks.json")]
    /// Add risks from a JSON array (keys as `risk add`'s options, factors as objects).
    Import { file: PathBuf },
    #[command(after_help = "Example / 例:\n  renkei risk list\n  renkei risk list --json")]
    List,
    #[command(after_help = "Example / 例:\n  renkei risk show R-0001 --json")]
    Show { id: String },
    #[command(after_help = "Example / 例:\n  renkei risk assess R-0001 --current 4,4 --note \"new exploit seen\"")]
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
pub enum CatalogCommand {
    /// Import (or replace with a newer version) a catalog in OSCAL catalog JSON; checked
    /// whole, every problem named, nothing stored unless all is well.
    #[command(after_help = "Example / 例:\n  renkei catalog import client/catalogs/cis-v8.json")]
    Import { file: PathBuf },
    /// The catalogs held.
    #[command(after_help = "Example / 例:\n  renkei catalog list --json")]
    List,
    /// A catalog's controls, or one control with its children and mappings.
    #[command(after_help = "Example / 例:\n  renkei catalog show nist-csf-2.0 --control GV.SC-07")]
    Show {
        framework: String,
        #[arg(long)]
        control: Option<String>,
    },
    /// Import mappings between two loaded catalogs (JSON: {"source", "target",
    /// "mappings": [{"source", "target", "relationship"}]}), replacing those held
    /// between the two; every label must exist.
    #[command(
        after_help = "Example / 例:\n  renkei catalog map-import client/catalogs/mappings/nist-csf-2.0_to_cis-v8.json"
    )]
    MapImport { file: PathBuf },
}

#[derive(Subcommand)]
pub enum ProfileCommand {
    /// Set the tiers (1-4) of a function, category, subcategory or control.
    #[command(
        after_help = "Example / 例:\n  renkei profile set GV.SC-07 --current 1 --target 3 --priority 1 --owner Sato --cost-estimate 400\n  renkei profile set 3.1 --framework cis-v8 --current 2 --target 3"
    )]
    Set {
        /// The label (GV.SC-07, ID.RA, 3.1…).
        area: String,
        #[arg(long)]
        current: i32,
        #[arg(long)]
        target: i32,
        /// The motive's strength: 1 (high) to 3 (low).
        #[arg(long, default_value_t = 2)]
        priority: i32,
        /// The catalog the label is of.
        #[arg(long, default_value = "nist-csf-2.0")]
        framework: String,
        /// Why the gap matters (a regulation, an incident, a customer's demand).
        #[arg(long, default_value = "")]
        motive: String,
        #[arg(long, default_value = "")]
        evidence: String,
        #[arg(long)]
        owner: Option<String>,
        /// low, medium or high (default medium).
        #[arg(long, conflicts_with = "cost_estimate")]
        cost: Option<String>,
        /// An estimate in your own unit (money, person-days) instead of a level.
        #[arg(long)]
        cost_estimate: Option<f64>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The profile's entries, or (--as) the profile read in another framework through
    /// the mappings.
    #[command(after_help = "Example / 例:\n  renkei profile show --as cis-v8")]
    Show {
        #[arg(long, default_value = "nist-csf-2.0")]
        framework: String,
        /// Another framework to read the profile in (e.g. cis-v8).
        #[arg(long = "as")]
        as_framework: Option<String>,
    },
    /// The areas below target: by motive, then cost-effectiveness (width x risk weight / cost).
    #[command(after_help = "Example / 例:\n  renkei profile gap --json")]
    Gap {
        /// Only this framework's gaps.
        #[arg(long)]
        framework: Option<String>,
    },
}

#[derive(Subcommand)]
pub enum PlanCommand {
    /// Add an action (planned).
    #[command(
        after_help = "Example / 例:\n  renkei plan add --title \"Supplier clauses\" --owner Sato --due 2027-03-31 --cost 400 --gap GV.SC-07 --risk R-0001"
    )]
    Add {
        #[arg(long)]
        title: String,
        #[arg(long)]
        owner: String,
        /// YYYY-MM-DD.
        #[arg(long)]
        due: String,
        #[arg(long)]
        cost: Option<f64>,
        /// A gap it closes: LABEL (NIST CSF 2.0) or FRAMEWORK:LABEL (repeatable).
        #[arg(long = "gap")]
        gaps: Vec<String>,
        /// A risk it treats (repeatable).
        #[arg(long = "risk")]
        risks: Vec<String>,
    },
    /// The actions, earliest due first.
    #[command(after_help = "Example / 例:\n  renkei plan list --overdue")]
    List {
        /// Only those past their due date and neither done nor cancelled.
        #[arg(long)]
        overdue: bool,
    },
    /// One action with its history.
    #[command(after_help = "Example / 例:\n  renkei plan show P-0001")]
    Show { id: String },
    /// Change an action's status: planned, in_progress, done or cancelled.
    #[command(after_help = "Example / 例:\n  renkei plan set P-0001 --status done --note \"clauses signed\"")]
    Set {
        id: String,
        #[arg(long)]
        status: String,
        #[arg(long, default_value = "")]
        note: String,
    },
}

#[derive(Subcommand)]
pub enum FlagsCommand {
    #[command(after_help = "Example / 例:\n  renkei flags dismiss 7 --reason \"not our version\"")]
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
    /// With --tlp RED: send the content in plaintext instead of sealing it to the
    /// recipients' keys (for recipients without keys, while the hub allows it).
    #[arg(long, global = true)]
    pub no_seal: bool,
    /// With --tlp RED: seal as usual but write the sealed share to FILE (owner-only)
    /// instead of sending it, to upload on the web console's sealed share page.
    #[arg(long, global = true, value_name = "FILE")]
    pub envelope_out: Option<PathBuf>,
}

#[derive(Subcommand)]
pub enum KeyCommand {
    #[command(after_help = "Example / 例:\n  renkei key new")]
    /// Make a key for this installation and register it with the hub (a second
    /// installation's key must then be endorsed by one the organisation already has).
    New,
    #[command(after_help = "Example / 例:\n  renkei key rotate")]
    /// Replace this installation's key: the old key signs the new one and keeps opening
    /// what was sealed to it.
    Rotate,
    #[command(after_help = "Example / 例:\n  renkei key endorse 3f1c9a0b2d4e6f708192a3b4c5d6e7f8")]
    /// Vouch, with this installation's key, for another installation's key of this
    /// organisation (members who pinned ours then seal to it too).
    Endorse { key_id: String },
    #[command(after_help = "Example / 例:\n  renkei key revoke 3f1c9a0b2d4e6f708192a3b4c5d6e7f8")]
    /// Revoke a key of this organisation: nothing new is sealed to it.
    Revoke { key_id: String },
    #[command(after_help = "Example / 例:\n  renkei key trust org-7f3c 3f1c9a0b2d4e6f708192a3b4c5d6e7f8")]
    /// Trust a key of another organisation that none of its pinned keys introduced (it
    /// lost every installation), once its id was checked with it out of band.
    Trust { org: String, key_id: String },
    #[command(after_help = "Example / 例:\n  renkei key list --json")]
    /// This installation's keys (the current one last).
    List,
}

#[derive(Subcommand)]
pub enum ShareCommand {
    #[command(
        after_help = "Example / 例:\n  renkei share --tlp GREEN indicator --type DOMAIN --value evil.example\n  renkei share --tlp AMBER indicator --file iocs.csv"
    )]
    /// Indicators: TYPE and VALUE, or a file of `TYPE,VALUE` lines.
    Indicator {
        #[arg(long = "type")]
        kind: Option<String>,
        #[arg(long)]
        value: Option<String>,
        #[arg(long)]
        file: Option<PathBuf>,
    },
    #[command(
        after_help = "Example / 例:\n  renkei share --tlp GREEN technique --attack-id T0866 --narrative \"exploited on an HMI\" --ics-asset-type A0002"
    )]
    Technique {
        #[arg(long)]
        attack_id: String,
        /// The technique's name (needed only while the hub has no ATT&CK catalog).
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        narrative: String,
        #[arg(long = "ics-asset-type")]
        ics_asset_types: Vec<String>,
    },
    #[command(
        after_help = "Example / 例:\n  renkei share --tlp AMBER incident --title \"Ransomware at a substation\" --summary \"...\" --sector energy --impact DEGRADED --technique T0866"
    )]
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
    #[command(
        after_help = "Example / 例:\n  renkei share --tlp CLEAR advisory --cve CVE-2026-1234 --title \"Acme SCADA HMI RCE\" --cpe cpe:2.3:a:acme:scada_hmi:*:*:*:*:*:*:*:* --fixed-in 2.2"
    )]
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
    #[command(after_help = "Example / 例:\n  renkei asset import assets.csv\n  renkei asset import assets.json")]
    /// Import (or update, by name) assets from a CSV file with a header row, or a JSON
    /// array (`.json`). Columns: name, kind (system, component, ot_device, data,
    /// facility, cloud), services, criticality (1-5), vendor, product, version, cpe,
    /// ics_asset_types, suppliers, offerings (lists `;`-separated), zone, exposure.
    Import { file: PathBuf },
    #[command(after_help = "Example / 例:\n  renkei asset list --json")]
    /// List the assets.
    List,
}
