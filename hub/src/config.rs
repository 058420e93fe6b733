//! One typed configuration: defaults, then a TOML file, then `RENKEI_*` environment
//! variables, then command-line flags. Validated once at start.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// A name for this hub, shown to peers and in STIX `x_renkei_origin_hub`.
    pub hub_name: String,
    /// `postgres://…` or `sqlite://PATH`; unset means `sqlite://<data_dir>/renkei.db`.
    pub database_url: Option<String>,
    /// Where the hub keeps its default SQLite database and its key-encryption key.
    pub data_dir: PathBuf,
    /// The key-encryption key (32 random bytes, or 64 hex digits) the hub's keys are
    /// sealed under in the database; every replica needs the same file. Unset means
    /// `<data_dir>/key-encryption.key`, made (mode 0600) when the database holds no
    /// identity yet. See `keystore`.
    pub key_encryption_key_file: Option<PathBuf>,
    pub listen: String,
    /// Redis for rate-limit and lockout counters shared by replicas; unset means in-process.
    pub redis_url: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// CA certificates that peer hubs' client certificates chain to. When set, the hub
    /// asks every TLS client for a certificate (members may still connect without one)
    /// and a link pinned to a client certificate (`peer add --client-cert-sha256`) is
    /// served only over a connection presenting it. Outgoing pulls present `tls_cert`.
    pub tls_client_ca: Option<PathBuf>,
    /// Serving plain HTTP on a non-loopback address must be asked for explicitly.
    pub allow_plain_http: bool,
    /// Serve GraphiQL, the in-browser GraphQL IDE, at `GET /graphql` (its scripts and
    /// styles are pinned and served by the hub itself, never from a CDN). Off by
    /// default: `GET /graphql` then answers 404.
    pub graphiql: bool,
    pub database_pool_size: u32,
    /// HTTP worker threads; 0 means one per CPU.
    pub http_workers: usize,
    /// How often the in-memory indicator index (behind `lookup`) catches up with
    /// versions committed by other replicas of this hub; its own writes show at once.
    pub index_refresh_ms: u64,
    /// Whether renkei's built-in allowlist (private and special-purpose ranges, root
    /// servers, public resolvers, empty-file hashes) applies besides the hub's own lists.
    pub builtin_allowlist: bool,
    pub limits: Limits,
    /// Default validity and score decay of indicators, per type.
    pub indicators: IndicatorPolicy,
    /// Which submissions are published at once and which wait for a coordinator;
    /// coordinators can replace it at run time (stored in the database, which wins).
    pub moderation: renkei_schema::moderation::Policy,
    /// How supplier ratings are computed (thresholds, tiers, the score move that makes a
    /// rating-change event). Changing them recomputes every stored rating at start.
    pub ratings: renkei_schema::supply::rating::RatingRules,
    /// How often stored ratings are checked for changes by time alone (an assessment
    /// expiring, the newest one going stale).
    pub rating_sweep_seconds: u64,
    /// How often a caught-up federation puller asks its peer for more.
    pub federation_poll_ms: u64,
    /// Items per page a puller asks a peer for.
    pub federation_page: usize,
    /// Where Prometheus metrics are served: a listener of their own, for the operator
    /// (loopback by default), never the members' port. Empty turns metrics off.
    pub metrics_listen: String,
    /// Proxies and load balancers (addresses or CIDR ranges) whose `Forwarded` or
    /// `X-Forwarded-For` header names the client. From any other peer those headers are
    /// ignored: the connection's own address is the client's.
    pub trusted_proxies: Vec<String>,
    /// How often the hub publishes a signed checkpoint of its audit log in the change
    /// feed (members' clients keep them; `audit verify --checkpoint` checks the log
    /// still extends one). 0 publishes none.
    pub audit_checkpoint_seconds: u64,
    /// The TAXII 2.1 server at `/taxii2/` and what its collections hold.
    pub taxii: Taxii,
    /// Imports of STIX bundles and MISP events (GraphQL, TAXII POST, the command line).
    pub imports: Imports,
    /// The web console at `/console/` (sessions, second factors).
    pub console: Console,
    /// Sealed TLP:RED (content the hub cannot read).
    pub sealing: Sealing,
}

/// Sealed TLP:RED: what the hub requires of RED shares.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Sealing {
    /// Refuse a plaintext TLP:RED share (SEALING_REQUIRED) when every recipient has a
    /// current encryption key, so RED the hub could have been kept from reading is
    /// never stored readable. `RENKEI_SEALING_REQUIRE_FOR_RED`.
    pub require_for_red: bool,
}

impl Default for Sealing {
    fn default() -> Self {
        Sealing { require_for_red: true }
    }
}

/// The web console (`/console/`): served by the hub itself on its own port, over the
/// same services and TLP policy as the API.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Console {
    pub enabled: bool,
    /// A session ends after this long without a request.
    pub idle_seconds: u64,
    /// A session ends this long after sign-in, however busy.
    pub absolute_seconds: u64,
    /// The address people reach the console at (`https://hub.example.jp`), which
    /// WebAuthn binds security keys to. Empty: the scheme and `Host` of each request
    /// (fine on one name; set it behind a proxy that rewrites `Host`).
    pub public_url: String,
    /// How long a one-time enrolment code (`token enrol`) stays valid.
    pub enrolment_hours: u32,
}

impl Default for Console {
    fn default() -> Self {
        Console {
            enabled: true,
            idle_seconds: 30 * 60,
            absolute_seconds: 12 * 3600,
            public_url: String::new(),
            enrolment_hours: 24,
        }
    }
}

/// The TAXII 2.1 server (`/taxii2/`): one API root, configured collections. What a
/// caller reads from a collection is still decided by the one TLP policy; a collection
/// only narrows it (kinds, a highest label).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Taxii {
    pub enabled: bool,
    pub title: String,
    /// The largest POST body the API root accepts (advertised as `max_content_length`).
    pub max_content_length: usize,
    /// The most objects one page holds, whatever `limit` asks (TAXII lets the server
    /// return fewer).
    pub max_page: usize,
    /// How long a POST's status can be read back.
    pub status_hours: u32,
    pub collections: Vec<TaxiiCollection>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TaxiiCollection {
    /// A UUID (TAXII identifiers are UUIDs).
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    /// The kinds it holds (`indicator`, `technique`, `incident`, `advisory`, `assessment`).
    pub kinds: Vec<String>,
    /// The highest label it holds (`TLP:AMBER` holds CLEAR, GREEN and AMBER).
    pub max_tlp: String,
    /// Whether members who may share can POST objects to it.
    #[serde(default)]
    pub writable: bool,
    /// The label of POSTed objects that carry no TLP marking.
    #[serde(default = "default_unmarked_tlp")]
    pub unmarked_tlp: String,
}

fn default_unmarked_tlp() -> String {
    "TLP:AMBER".into()
}

impl Default for Taxii {
    fn default() -> Self {
        Taxii {
            enabled: true,
            title: "renkei TAXII 2.1".into(),
            max_content_length: 10 * 1024 * 1024,
            max_page: 1000,
            status_hours: 48,
            collections: vec![
                TaxiiCollection {
                    id: "4f1d1c9e-6a4b-4c53-9d0e-8b2f7a6c3e01".into(),
                    title: "shared items".into(),
                    description: "Every shared item the caller may read: indicators, techniques, incidents, advisories and supplier assessments.".into(),
                    kinds: ["indicator", "technique", "incident", "advisory", "assessment"].map(String::from).to_vec(),
                    max_tlp: "TLP:RED".into(),
                    writable: true,
                    unmarked_tlp: default_unmarked_tlp(),
                },
                TaxiiCollection {
                    id: "8a3e5b27-2c9d-4e61-b0f4-5d7c1a9e2b02".into(),
                    title: "indicators".into(),
                    description: "Indicators labelled CLEAR, GREEN or AMBER that the caller may read, for SIEMs and block lists.".into(),
                    kinds: vec!["indicator".into()],
                    max_tlp: "TLP:AMBER".into(),
                    writable: true,
                    unmarked_tlp: default_unmarked_tlp(),
                },
            ],
        }
    }
}

impl Taxii {
    fn validate(&self) -> Result<(), ConfigError> {
        let bad = |what: String| Err(ConfigError::Invalid(what));
        if self.max_content_length == 0 || self.max_page == 0 {
            return bad("taxii.max_content_length and taxii.max_page must be positive".into());
        }
        let mut seen = std::collections::HashSet::new();
        for c in &self.collections {
            if uuid::Uuid::parse_str(&c.id).is_err() || !seen.insert(c.id.to_ascii_lowercase()) {
                return bad(format!("taxii collection {:?}: the id must be a UUID of its own", c.id));
            }
            if c.kinds.is_empty() || c.kinds.iter().any(|k| renkei_schema::model::Kind::parse(k).is_none()) {
                return bad(format!(
                    "taxii collection {}: kinds must name indicator, technique, incident, advisory or assessment",
                    c.id
                ));
            }
            for label in [&c.max_tlp, &c.unmarked_tlp] {
                if label.parse::<renkei_schema::tlp::Tlp>().is_err() {
                    return bad(format!("taxii collection {}: {label:?} is not a TLP 2.0 label", c.id));
                }
            }
        }
        Ok(())
    }
}

/// Limits of one import (a STIX bundle, a TAXII POST, a MISP event).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Imports {
    /// The most objects one import may hold.
    pub max_objects: usize,
}

impl Default for Imports {
    fn default() -> Self {
        Imports { max_objects: 100_000 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    pub max_body_bytes: usize,
    pub max_batch: usize,
    pub max_lookup_values: usize,
    pub max_page: usize,
    pub max_changes_page: usize,
    pub max_query_depth: usize,
    pub max_query_complexity: usize,
    /// The longest GraphQL query text (variables apart); longer ones are refused
    /// before they are parsed.
    pub max_query_bytes: usize,
    /// Fields one query may select, counted with every fragment spread expanded.
    pub max_query_fields: usize,
    /// Aliased fields one query may hold.
    pub max_aliases: usize,
    /// Bytes of shared content (STIX objects, values, texts) one answer may carry; a
    /// change-feed page ends early at this size (`hasMore`), other lists are refused.
    pub max_answer_bytes: usize,
    /// Requests per token per minute.
    pub requests_per_minute: u64,
    /// Requests per minute from one client address that carry no valid token.
    pub unauthenticated_per_minute: u64,
    /// How long a failed authentication waits before it is answered.
    pub failed_auth_delay_ms: u64,
    /// Failed authentications before a token (or a source) is locked out.
    pub lockout_threshold: u64,
    pub lockout_seconds: u64,
    /// How long a verified token is trusted without reading the database again: a
    /// token revoked (or an organisation changed) by another process takes effect
    /// within this time. 0 reads the database on every request.
    pub token_cache_ms: u64,
    /// How often a live stream (subscription, event stream, a peer's wake-ups) checks
    /// its token or link again: a revoked token ends its streams within this time.
    pub stream_recheck_seconds: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_body_bytes: 8 * 1024 * 1024,
            max_batch: 1000,
            max_lookup_values: 1000,
            max_page: 1000,
            max_changes_page: 10_000,
            max_query_depth: 12,
            max_query_complexity: 250_000,
            max_query_bytes: 64 * 1024,
            max_query_fields: 2000,
            max_aliases: 64,
            max_answer_bytes: 16 * 1024 * 1024,
            requests_per_minute: 6000,
            unauthenticated_per_minute: 60,
            failed_auth_delay_ms: 250,
            lockout_threshold: 10,
            lockout_seconds: 900,
            token_cache_ms: 1000,
            stream_recheck_seconds: 30,
        }
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            hub_name: "renkei-hub".into(),
            database_url: None,
            data_dir: PathBuf::from("renkei-data"),
            key_encryption_key_file: None,
            listen: "127.0.0.1:8480".into(),
            redis_url: None,
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            allow_plain_http: false,
            graphiql: false,
            database_pool_size: 16,
            http_workers: 0,
            index_refresh_ms: 250,
            builtin_allowlist: true,
            limits: Limits::default(),
            moderation: Default::default(),
            indicators: IndicatorPolicy::default(),
            ratings: Default::default(),
            rating_sweep_seconds: 600,
            federation_poll_ms: 1000,
            federation_page: 2000,
            metrics_listen: "127.0.0.1:9480".into(),
            trusted_proxies: Vec::new(),
            audit_checkpoint_seconds: 3600,
            taxii: Taxii::default(),
            imports: Imports::default(),
            console: Console::default(),
            sealing: Sealing::default(),
        }
    }
}

/// One number of days per indicator type.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DaysPerType {
    pub ipv4: u32,
    pub ipv6: u32,
    pub cidr: u32,
    pub domain: u32,
    pub url: u32,
    pub email: u32,
    pub md5: u32,
    pub sha1: u32,
    pub sha256: u32,
    pub filename: u32,
}

impl DaysPerType {
    /// The days of each type from a function of the type.
    pub fn from_fn(f: impl Fn(renkei_schema::model::indicator::IndicatorType) -> u32) -> Self {
        use renkei_schema::model::indicator::IndicatorType as T;
        DaysPerType {
            ipv4: f(T::Ipv4),
            ipv6: f(T::Ipv6),
            cidr: f(T::Cidr),
            domain: f(T::Domain),
            url: f(T::Url),
            email: f(T::Email),
            md5: f(T::Md5),
            sha1: f(T::Sha1),
            sha256: f(T::Sha256),
            filename: f(T::Filename),
        }
    }

    pub fn get(&self, kind: renkei_schema::model::indicator::IndicatorType) -> u32 {
        use renkei_schema::model::indicator::IndicatorType as T;
        match kind {
            T::Ipv4 => self.ipv4,
            T::Ipv6 => self.ipv6,
            T::Cidr => self.cidr,
            T::Domain => self.domain,
            T::Url => self.url,
            T::Email => self.email,
            T::Md5 => self.md5,
            T::Sha1 => self.sha1,
            T::Sha256 => self.sha256,
            T::Filename => self.filename,
        }
    }
}

/// How long indicators stay current: addresses churn within weeks, file hashes do not.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct IndicatorPolicy {
    /// Days an indicator stays valid when shared without `validUntil` (0: no end).
    pub valid_days: DaysPerType,
    /// Days for an indicator's score to halve without new sightings.
    pub half_life_days: DaysPerType,
    /// The lowest score `indicators(filter: {active: true})` returns by default.
    pub active_min_score: u8,
}

impl Default for IndicatorPolicy {
    fn default() -> Self {
        IndicatorPolicy {
            valid_days: DaysPerType {
                ipv4: 30,
                ipv6: 30,
                cidr: 60,
                domain: 90,
                url: 60,
                email: 180,
                md5: 365,
                sha1: 365,
                sha256: 365,
                filename: 180,
            },
            half_life_days: DaysPerType::from_fn(renkei_schema::score::default_half_life_days),
            active_min_score: renkei_schema::score::DEFAULT_ACTIVE_MIN_SCORE,
        }
    }
}

/// The most HTTP workers actix serves with (it panics past that).
pub const MAX_HTTP_WORKERS: usize = 512;
/// The longest lockout after failed authentications: a year.
pub const MAX_LOCKOUT_SECONDS: u64 = 365 * 24 * 3600;
/// The longest day count of the configuration (indicator validity, rating staleness):
/// 100 years.
pub const MAX_DAYS: i64 = 36_500;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("reading {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("parsing {path}: {source}")]
    Parse { path: PathBuf, source: Box<toml::de::Error> },
    #[error("environment variable {name}: {reason}")]
    Env { name: String, reason: String },
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Defaults, then the file (if any), then the environment.
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        let mut config = match file {
            Some(path) => {
                let text =
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
                toml::from_str(&text)
                    .map_err(|source| ConfigError::Parse { path: path.into(), source: Box::new(source) })?
            }
            None => Config::default(),
        };
        config.apply_env(|name| std::env::var(name).ok())?;
        Ok(config)
    }

    /// Applies `RENKEI_*` variables; `get` is the environment (a closure so tests can
    /// pass their own).
    pub fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> Result<(), ConfigError> {
        fn num<T: std::str::FromStr>(name: &str, v: String) -> Result<T, ConfigError> {
            v.parse().map_err(|_| ConfigError::Env { name: name.into(), reason: "not a number".into() })
        }
        if let Some(v) = get("RENKEI_HUB_NAME") {
            self.hub_name = v;
        }
        if let Some(v) = get("RENKEI_DATABASE_URL") {
            self.database_url = Some(v);
        }
        if let Some(v) = get("RENKEI_DATA_DIR") {
            self.data_dir = v.into();
        }
        if let Some(v) = get("RENKEI_KEY_ENCRYPTION_KEY_FILE") {
            self.key_encryption_key_file = Some(v.into()).filter(|p: &PathBuf| !p.as_os_str().is_empty());
        }
        if let Some(v) = get("RENKEI_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = get("RENKEI_REDIS_URL") {
            self.redis_url = Some(v).filter(|s| !s.is_empty());
        }
        if let Some(v) = get("RENKEI_TLS_CERT") {
            self.tls_cert = Some(v.into());
        }
        if let Some(v) = get("RENKEI_TLS_KEY") {
            self.tls_key = Some(v.into());
        }
        if let Some(v) = get("RENKEI_TLS_CLIENT_CA") {
            self.tls_client_ca = Some(v.into());
        }
        if let Some(v) = get("RENKEI_ALLOW_PLAIN_HTTP") {
            self.allow_plain_http = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = get("RENKEI_GRAPHIQL") {
            self.graphiql = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = get("RENKEI_SEALING_REQUIRE_FOR_RED") {
            self.sealing.require_for_red = matches!(v.as_str(), "1" | "true" | "yes");
        }
        if let Some(v) = get("RENKEI_DATABASE_POOL_SIZE") {
            self.database_pool_size = num("RENKEI_DATABASE_POOL_SIZE", v)?;
        }
        if let Some(v) = get("RENKEI_HTTP_WORKERS") {
            self.http_workers = num("RENKEI_HTTP_WORKERS", v)?;
        }
        if let Some(v) = get("RENKEI_INDEX_REFRESH_MS") {
            self.index_refresh_ms = num("RENKEI_INDEX_REFRESH_MS", v)?;
        }
        if let Some(v) = get("RENKEI_FEDERATION_POLL_MS") {
            self.federation_poll_ms = num("RENKEI_FEDERATION_POLL_MS", v)?;
        }
        if let Some(v) = get("RENKEI_FEDERATION_PAGE") {
            self.federation_page = num("RENKEI_FEDERATION_PAGE", v)?;
        }
        if let Some(v) = get("RENKEI_REQUESTS_PER_MINUTE") {
            self.limits.requests_per_minute = num("RENKEI_REQUESTS_PER_MINUTE", v)?;
        }
        if let Some(v) = get("RENKEI_MAX_BODY_BYTES") {
            self.limits.max_body_bytes = num("RENKEI_MAX_BODY_BYTES", v)?;
        }
        if let Some(v) = get("RENKEI_LOCKOUT_THRESHOLD") {
            self.limits.lockout_threshold = num("RENKEI_LOCKOUT_THRESHOLD", v)?;
        }
        if let Some(v) = get("RENKEI_LOCKOUT_SECONDS") {
            self.limits.lockout_seconds = num("RENKEI_LOCKOUT_SECONDS", v)?;
        }
        if let Some(v) = get("RENKEI_METRICS_LISTEN") {
            self.metrics_listen = v;
        }
        if let Some(v) = get("RENKEI_TRUSTED_PROXIES") {
            self.trusted_proxies = v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect();
        }
        if let Some(v) = get("RENKEI_AUDIT_CHECKPOINT_SECONDS") {
            self.audit_checkpoint_seconds = num("RENKEI_AUDIT_CHECKPOINT_SECONDS", v)?;
        }
        if let Some(v) = get("RENKEI_UNAUTHENTICATED_PER_MINUTE") {
            self.limits.unauthenticated_per_minute = num("RENKEI_UNAUTHENTICATED_PER_MINUTE", v)?;
        }
        if let Some(v) = get("RENKEI_TOKEN_CACHE_MS") {
            self.limits.token_cache_ms = num("RENKEI_TOKEN_CACHE_MS", v)?;
        }
        Ok(())
    }

    /// The key-encryption key file in force: the configured one or the data folder's.
    pub fn key_encryption_key_path(&self) -> PathBuf {
        self.key_encryption_key_file.clone().unwrap_or_else(|| self.data_dir.join("key-encryption.key"))
    }

    /// The database URL in force: the configured one or the embedded SQLite default.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!("sqlite://{}", self.data_dir.join("renkei.db").display()),
        }
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return Err(ConfigError::Invalid("tls_cert and tls_key go together".into()));
        }
        if self.limits.max_batch == 0 || self.limits.max_page == 0 || self.database_pool_size == 0 {
            return Err(ConfigError::Invalid("limits and pool size must be positive".into()));
        }
        let l = &self.limits;
        if [l.max_query_bytes, l.max_query_fields, l.max_aliases, l.max_answer_bytes, l.max_query_complexity]
            .contains(&0)
        {
            return Err(ConfigError::Invalid("the query and answer limits must be positive".into()));
        }
        crate::auth::proxies::TrustedProxies::parse(&self.trusted_proxies).map_err(ConfigError::Invalid)?;
        self.taxii.validate()?;
        let console = &self.console;
        if console.idle_seconds == 0 || console.absolute_seconds < console.idle_seconds {
            return Err(ConfigError::Invalid(
                "console.idle_seconds must be positive and at most console.absolute_seconds".into(),
            ));
        }
        if !console.public_url.is_empty()
            && url::Url::parse(&console.public_url).map_or(true, |u| u.host_str().is_none() || u.path() != "/")
        {
            return Err(ConfigError::Invalid(
                "console.public_url is an origin such as https://hub.example.jp (no path)".into(),
            ));
        }
        // Bounds on what would otherwise panic at run time: actix refuses more workers,
        // and the lockout window and the dates computed from day counts overflow.
        let at_most = |name: &str, value: u64, max: u64| {
            if value <= max {
                return Ok(());
            }
            Err(ConfigError::Invalid(format!(
                "{name} is {value}, at most {max} is allowed\n{name} は {value} ですが、上限は {max} です"
            )))
        };
        at_most("http_workers", self.http_workers as u64, MAX_HTTP_WORKERS as u64)?;
        at_most("limits.lockout_seconds", self.limits.lockout_seconds, MAX_LOCKOUT_SECONDS)?;
        at_most("console.absolute_seconds", self.console.absolute_seconds, 30 * 24 * 3600)?;
        at_most("console.enrolment_hours", u64::from(self.console.enrolment_hours), 30 * 24)?;
        for kind in renkei_schema::model::indicator::IndicatorType::ALL {
            let name = format!("indicators.valid_days.{kind}");
            at_most(&name, u64::from(self.indicators.valid_days.get(kind)), MAX_DAYS as u64)?;
        }
        if !(0..=MAX_DAYS).contains(&self.ratings.stale_days) {
            let days = self.ratings.stale_days;
            return Err(ConfigError::Invalid(format!(
                "ratings.stale_days is {days}, it must be 0 to {MAX_DAYS}\nratings.stale_days は {days} ですが、0〜{MAX_DAYS} で指定してください"
            )));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_the_file() {
        let mut config: Config = toml::from_str("listen = \"127.0.0.1:1\"\n[limits]\nmax_batch = 5\n").expect("toml");
        assert_eq!(config.limits.max_batch, 5);
        assert_eq!(config.limits.max_page, Limits::default().max_page);
        config
            .apply_env(|name| match name {
                "RENKEI_LISTEN" => Some("127.0.0.1:2".into()),
                "RENKEI_DATABASE_URL" => Some("postgres://x/y".into()),
                _ => None,
            })
            .expect("env");
        assert_eq!(config.listen, "127.0.0.1:2");
        assert_eq!(config.database_url(), "postgres://x/y");
        assert!(!config.graphiql);
        config.apply_env(|n| (n == "RENKEI_GRAPHIQL").then(|| "true".to_string())).expect("env");
        assert!(config.graphiql);
        let err = config.apply_env(|n| (n == "RENKEI_LOCKOUT_SECONDS").then(|| "soon".to_string()));
        assert!(err.is_err());
    }

    #[test]
    fn unknown_keys_are_refused_and_default_is_sqlite_in_data_dir() {
        assert!(toml::from_str::<Config>("lisen = \"x\"").is_err());
        let config = Config::default();
        assert!(config.database_url().starts_with("sqlite://"));
    }

    /// Each of these was accepted and panicked later: actix past 512 workers, the
    /// in-process lockout counter (`Instant + window`), publishing an indicator
    /// (`now + valid_days`) and the rating upkeep (`observed + stale_days`).
    #[test]
    fn values_that_would_panic_at_run_time_are_refused() {
        assert!(Config::default().validate().is_ok());
        type Set = fn(&mut Config);
        let cases: [(&str, Set); 6] = [
            ("http_workers", |c| c.http_workers = 513),
            ("limits.lockout_seconds", |c| c.limits.lockout_seconds = u64::MAX),
            ("indicators.valid_days.ipv4", |c| c.indicators.valid_days.ipv4 = 100_000_000),
            ("indicators.valid_days.filename", |c| c.indicators.valid_days.filename = u32::MAX),
            ("ratings.stale_days", |c| c.ratings.stale_days = 99_999_999_999),
            ("ratings.stale_days", |c| c.ratings.stale_days = -1),
        ];
        for (name, set) in cases {
            let mut config = Config::default();
            set(&mut config);
            let err = config.validate().expect_err(name).to_string();
            assert!(err.starts_with(&format!("{name} is ")), "{err}");
            assert!(err.contains(&format!("\n{name} は ")), "{err}");
        }
        let mut config = Config { http_workers: MAX_HTTP_WORKERS, ..Config::default() };
        config.limits.lockout_seconds = MAX_LOCKOUT_SECONDS;
        config.indicators.valid_days.ipv4 = MAX_DAYS as u32;
        config.ratings.stale_days = MAX_DAYS;
        assert!(config.validate().is_ok());
    }

    #[test]
    fn the_example_config_file_matches_the_defaults() {
        let text = include_str!("../../ops/renkei-hub.example.toml");
        let parsed: Config = toml::from_str(text).expect("example parses");
        assert_eq!(parsed, Config::default());
    }
}
