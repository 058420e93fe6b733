//! The running hub: configuration, database pool, keys, counters and metrics, built
//! once at start and shared by every request.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use diesel::prelude::*;

use crate::auth::TokenCache;
use crate::bus::Counters;
use crate::config::Config;
use crate::crypto::HubKeys;
use crate::error::{AppError, AppResult};
use crate::services::indicator_index::IndicatorIndex;
use crate::services::stored::Signer;
use crate::store::health::DbHealth;
use crate::store::models::ObjectRow;
use crate::store::schema::hub_meta;
use crate::store::{self, Backend, DbConn, DbPool, PooledConn};

#[derive(Default)]
pub struct Metrics {
    pub http_requests: AtomicU64,
    pub graphql_errors: AtomicU64,
    pub auth_failures: AtomicU64,
    pub lockouts: AtomicU64,
    pub rate_limited: AtomicU64,
    pub objects_shared: AtomicU64,
    pub feed_items_served: AtomicU64,
    pub lists_written_directly: AtomicU64,
}

impl Metrics {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    /// Prometheus text exposition format.
    pub fn render(&self) -> String {
        let rows: [(&str, &str, &AtomicU64); 8] = [
            ("renkei_http_requests_total", "HTTP requests received", &self.http_requests),
            ("renkei_graphql_errors_total", "GraphQL responses carrying errors", &self.graphql_errors),
            ("renkei_auth_failures_total", "failed authentications", &self.auth_failures),
            ("renkei_lockouts_total", "tokens or sources locked out", &self.lockouts),
            ("renkei_rate_limited_total", "requests refused by the rate limit", &self.rate_limited),
            ("renkei_objects_shared_total", "object versions published", &self.objects_shared),
            ("renkei_feed_items_served_total", "change-feed items served", &self.feed_items_served),
            (
                "renkei_lists_written_directly_total",
                "feed pages and lookups written without the GraphQL executor",
                &self.lists_written_directly,
            ),
        ];
        let mut out = String::new();
        for (name, help, value) in rows {
            out.push_str(&format!(
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}\n",
                value.load(Ordering::Relaxed)
            ));
        }
        out
    }
}

pub struct Hub {
    pub config: Config,
    /// The database connections. Take one with `connection` (or `db`), which answers
    /// at once while the database is down, rather than `pool.get()`.
    pub pool: DbPool,
    /// Whether the database answers (see `store::health`).
    pub db_health: Arc<DbHealth>,
    /// One permit per pooled connection: `db` waits for one as a task before it takes a
    /// blocking thread, so a burst of requests (1,000 subscribers connecting) queues
    /// here instead of parking a blocking thread each on the pool's checkout (each
    /// thread kept its allocator pages: 130–390 KiB per subscriber in live-bench).
    db_permits: Arc<tokio::sync::Semaphore>,
    pub keys: HubKeys,
    pub counters: Counters,
    /// Change notices from and to the other replicas (Redis pub/sub).
    pub notices: Arc<crate::bus::notices::Notices>,
    /// This replica's view of the feed's end, handed to live followers (`crate::live`).
    pub tail: crate::services::tail::Tail,
    pub tokens: TokenCache,
    pub index: IndicatorIndex,
    /// Supplier names for search (reloaded when the registry changes).
    pub supplier_search: crate::services::suppliers::SearchIndex,
    /// False-positive allowlists in force (rebuilt when the stored lists change).
    pub allowlists: crate::services::allowlist::Allowlists,
    pub metrics: Metrics,
    /// This hub's stable id (origin of what it publishes), made at first migration.
    pub hub_id: String,
    /// Versions written since the planner statistics were last refreshed.
    writes_since_analyze: AtomicU64,
    /// Versions written by this process.
    writes_total: AtomicU64,
    /// The database behind `pool`.
    pub backend: Backend,
    /// The last (or running) recomputation of every stored rating.
    pub rating_recompute: std::sync::Mutex<RecomputeStatus>,
    /// Whether the stored ratings were computed under the configured rules (checked,
    /// and if need be recomputed, at start); until then ratings are computed per read.
    pub ratings_follow_rules: std::sync::atomic::AtomicBool,
    /// The proxies whose forwarding headers name the client (`trusted_proxies`).
    pub proxies: crate::auth::proxies::TrustedProxies,
    /// Where the operator's metrics listener is bound, once it is.
    pub metrics_address: std::sync::OnceLock<std::net::SocketAddr>,
}

/// A recomputation of every stored rating (after a scheme version or rule change).
#[derive(Debug, Clone, Default)]
pub struct RecomputeStatus {
    pub running: bool,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub seconds: Option<f64>,
    pub done: Option<crate::services::ratings::Refreshed>,
    pub error: Option<String>,
}

/// What `/readyz` says about the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DatabaseState {
    Up,
    /// Known to be down: requests get UNAVAILABLE at once until it answers again.
    Unavailable,
    /// A check did not finish in time (the database hangs, or every connection stayed
    /// busy).
    NoAnswer,
}

impl DatabaseState {
    pub fn as_str(self) -> &'static str {
        match self {
            DatabaseState::Up => "up",
            DatabaseState::Unavailable => "unavailable",
            DatabaseState::NoAnswer => "no answer",
        }
    }
}

/// Housekeeping (`store::analyze`) after this many new versions.
const ANALYZE_EVERY: u64 = 20_000;

/// Refuses a Redis older than the hub supports (`bus::notices::MIN_REDIS_MAJOR`); one
/// that does not answer yet is connected to later (the hub starts degraded).
async fn check_redis_version(url: &str) -> anyhow::Result<()> {
    use crate::bus::notices::{redis_major_version, MIN_REDIS_MAJOR};
    match redis_major_version(url).await? {
        Some(major) if major < MIN_REDIS_MAJOR => anyhow::bail!(
            "Redis {major} at {url} is too old: renkei needs Redis {MIN_REDIS_MAJOR} or later\n\
             {url} のRedis {major} は古すぎます。Redis {MIN_REDIS_MAJOR} 以降が必要です"
        ),
        Some(major) => {
            tracing::info!(major, "Redis version checked");
            Ok(())
        }
        None => {
            tracing::warn!("Redis does not answer at start, so its version is not checked; the hub starts degraded");
            Ok(())
        }
    }
}

/// Reads (or makes, once) the hub's id.
pub fn hub_id(conn: &mut DbConn) -> QueryResult<String> {
    conn.transaction(|c| {
        let existing: Option<String> = hub_meta::table.find("hub_id").select(hub_meta::value).first(c).optional()?;
        if let Some(id) = existing {
            return Ok(id);
        }
        let id = uuid::Uuid::new_v4().to_string();
        diesel::insert_into(hub_meta::table)
            .values((hub_meta::key.eq("hub_id"), hub_meta::value.eq(&id)))
            .execute(c)?;
        Ok(id)
    })
}

impl Hub {
    /// Opens the database (running migrations), the keys and the counters.
    pub async fn open(config: Config) -> anyhow::Result<Arc<Hub>> {
        config.validate()?;
        let url = config.database_url();
        let pool_size = config.database_pool_size;
        let key_files = crate::keystore::KeyFiles::of(&config);
        let backend = store::backend_of(&url)?.0;
        let db_health = DbHealth::new();
        let health = Arc::clone(&db_health);
        let (pool, hub_id, keys) = tokio::task::spawn_blocking(move || -> anyhow::Result<(DbPool, String, HubKeys)> {
            let pool = store::connect_watched(&url, pool_size, &health)?;
            let mut conn = pool.get()?;
            store::migrate(&mut conn)?;
            store::analyze(&mut conn)?;
            let id = hub_id(&mut conn)?;
            // The keys are the database's, unsealed with the key-encryption key (made or
            // imported at the first start; refused, never made, once it holds them).
            let keys = crate::keystore::open(&mut conn, &key_files, &id, crate::keystore::WhenMissing::Create)?;
            // The audit log must be chained with the hub's audit key before anything is
            // appended.
            crate::services::audit::prepare_chain(&mut conn, &keys)
                .map_err(|e| anyhow::anyhow!("{} ({})\n{}", e.message, e.code, e.message_ja))?;
            Ok((pool, id, keys))
        })
        .await??;
        let (counters, notices) = match &config.redis_url {
            Some(url) => {
                check_redis_version(url).await?;
                (Counters::redis(url, &hub_id).await?, crate::bus::notices::Notices::redis(url, &hub_id)?)
            }
            None => (Counters::local(), crate::bus::notices::Notices::local()),
        };
        let proxies =
            crate::auth::proxies::TrustedProxies::parse(&config.trusted_proxies).map_err(anyhow::Error::msg)?;
        let hub = Hub {
            proxies,
            metrics_address: Default::default(),
            allowlists: crate::services::allowlist::Allowlists::new(config.builtin_allowlist),
            supplier_search: Default::default(),
            tokens: TokenCache::new(std::time::Duration::from_millis(config.limits.token_cache_ms)),
            config,
            pool,
            db_permits: Arc::new(tokio::sync::Semaphore::new(pool_size.max(1) as usize)),
            db_health,
            keys,
            counters,
            notices,
            tail: Default::default(),
            index: IndicatorIndex::new(),

            metrics: Metrics::default(),
            hub_id,
            writes_since_analyze: AtomicU64::new(0),
            writes_total: AtomicU64::new(0),
            backend,
            rating_recompute: Default::default(),
            ratings_follow_rules: Default::default(),
        };
        let hub = Arc::new(hub);
        hub.start_indicator_index();
        hub.start_rating_upkeep();
        hub.start_audit_checkpoints();
        Ok(hub)
    }

    /// Loads the indicator index in the background (the hub is not ready until it is
    /// loaded), then keeps it caught up with versions other replicas commit.
    fn start_indicator_index(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let every = std::time::Duration::from_millis(self.config.index_refresh_ms.max(10));
        let mut advanced = self.tail.advanced();
        tokio::spawn(async move {
            let mut loaded = false;
            loop {
                let Some(hub) = weak.upgrade() else { return };
                let result = tokio::task::spawn_blocking(move || {
                    let mut conn = hub.connection()?;
                    if loaded {
                        hub.index.refresh(&mut conn)
                    } else {
                        let t0 = std::time::Instant::now();
                        let n = hub.index.load(&mut conn)?;
                        tracing::info!(indicators = n, seconds = t0.elapsed().as_secs_f64(), "indicator index loaded");
                        Ok(n)
                    }
                })
                .await;
                match result {
                    Ok(Ok(_)) => loaded = true,
                    // Said once per outage, by the database health.
                    Ok(Err(e)) if e.is_unavailable() => {}
                    Ok(Err(e)) => tracing::warn!(?e, "indicator index: could not read the database"),
                    Err(e) => tracing::error!(%e, "indicator index task failed"),
                }
                // The tail moves when anything is committed, here or on another replica
                // (notified through Redis); `index_refresh_ms` is the safety net.
                tokio::select! {
                    changed = advanced.changed() => if changed.is_err() { return },
                    _ = tokio::time::sleep(every) => {}
                }
            }
        });
    }

    /// Publishes a signed checkpoint of the audit log in the change feed every
    /// `audit_checkpoint_seconds` (members' clients keep them, anchoring the log outside
    /// the database; see `services::audit`).
    fn start_audit_checkpoints(self: &Arc<Self>) {
        let interval = self.config.audit_checkpoint_seconds;
        if interval == 0 {
            return;
        }
        let weak = Arc::downgrade(self);
        tokio::spawn(async move {
            loop {
                let Some(hub) = weak.upgrade() else { return };
                let result = tokio::task::spawn_blocking(move || -> AppResult<bool> {
                    let mut conn = hub.connection()?;
                    crate::services::audit::publish_checkpoint(&mut conn, &hub.keys, &hub.hub_id, interval)
                })
                .await;
                match result {
                    Ok(Ok(_)) => {}
                    Ok(Err(e)) => tracing::warn!(?e, "could not publish an audit checkpoint"),
                    Err(e) => tracing::error!(%e, "audit checkpoint task failed"),
                }
                tokio::time::sleep(std::time::Duration::from_secs(interval)).await;
            }
        });
    }

    /// Keeps stored supplier ratings current: recomputes them all when the rating rules
    /// changed (or were never applied), then, periodically, refreshes those that time
    /// alone has changed (an assessment expired, the newest went stale).
    fn start_rating_upkeep(self: &Arc<Self>) {
        let weak = Arc::downgrade(self);
        let every = std::time::Duration::from_secs(self.config.rating_sweep_seconds.max(1));
        tokio::spawn(async move {
            let mut first = true;
            loop {
                let Some(hub) = weak.upgrade() else { return };
                let check_rules = first;
                let result = tokio::task::spawn_blocking(move || -> AppResult<()> {
                    use crate::services::ratings;
                    let mut conn = hub.connection()?;
                    let origin = hub.signer();
                    if check_rules {
                        if ratings::rules_changed(&mut conn, &hub.config.ratings)? {
                            hub.recompute_ratings_now(&mut conn)?;
                            ratings::note_rules(&mut conn, &hub.config.ratings)?;
                        }
                        hub.ratings_follow_rules.store(true, Ordering::Release);
                    }
                    let done = ratings::refresh_due(&mut conn, &origin, chrono::Utc::now())?;
                    if done.suppliers > 0 {
                        tracing::info!(?done, "ratings refreshed for expiries and staleness");
                    }
                    Ok(())
                })
                .await;
                let retry = match result {
                    Ok(Ok(())) => {
                        first = false;
                        every
                    }
                    // The database is away: try again soon after it returns rather than
                    // a whole sweep interval later.
                    Ok(Err(e)) if e.is_unavailable() => every.min(std::time::Duration::from_secs(1)),
                    Ok(Err(e)) => {
                        tracing::warn!(?e, "rating upkeep failed");
                        every
                    }
                    Err(e) => {
                        tracing::error!(%e, "rating upkeep task failed");
                        every
                    }
                };
                tokio::time::sleep(retry).await;
            }
        });
    }

    /// Recomputes every stored rating in the background (after a new scheme version).
    pub fn recompute_ratings(self: &Arc<Self>) {
        let hub = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let result = hub.connection().and_then(|mut conn| hub.recompute_ratings_now(&mut conn));
            if let Err(e) = result {
                tracing::warn!(?e, "recomputing ratings failed");
            }
        });
    }

    /// Recomputes every stored rating on this thread, recording its progress in
    /// `rating_recompute` (which coordinators read as `ratingRecompute`).
    pub fn recompute_ratings_now(&self, conn: &mut DbConn) -> AppResult<crate::services::ratings::Refreshed> {
        let set = |f: &dyn Fn(&mut RecomputeStatus)| {
            if let Ok(mut status) = self.rating_recompute.lock() {
                f(&mut status);
            }
        };
        set(&|s| *s = RecomputeStatus { running: true, started_at: Some(store::now_text()), ..Default::default() });
        let t0 = std::time::Instant::now();
        let result = crate::services::ratings::recompute_all(conn, &self.signer());
        let seconds = t0.elapsed().as_secs_f64();
        set(&|s| {
            s.running = false;
            s.finished_at = Some(store::now_text());
            s.seconds = Some(seconds);
            s.done = result.as_ref().ok().copied();
            s.error = result.as_ref().err().map(|e| format!("{}: {}", e.code, e.message));
        });
        if let Ok(done) = &result {
            tracing::info!(?done, seconds, "ratings recomputed");
        }
        result
    }

    /// Brings this process's caches up to date with versions it has just committed, and
    /// wakes the live tail to hand them out.
    pub fn note_committed<'a>(&self, rows: impl IntoIterator<Item = &'a ObjectRow>) -> AppResult<()> {
        self.notices.wake();
        let rows: Vec<&ObjectRow> = rows.into_iter().collect();
        let (Some(first), Some(last)) = (rows.iter().map(|r| r.last_seq).min(), rows.iter().map(|r| r.last_seq).max())
        else {
            return Ok(());
        };
        self.index.apply_committed(first, last, &rows)
    }

    /// The hub as the signer of what it writes (see `services::stored::Signer`).
    pub fn signer(&self) -> Signer<'_> {
        Signer { hub_id: &self.hub_id, keys: &self.keys, rating_rules: &self.config.ratings }
    }

    /// Counts new versions and, past a threshold, refreshes the planner statistics in
    /// the background (never on the request's path).
    pub fn note_writes(self: &Arc<Self>, versions: u64) {
        if !self.analyze_due(versions) {
            return;
        }
        let hub = Arc::clone(self);
        tokio::task::spawn_blocking(move || hub.analyze_now());
    }

    /// Counts new versions; true (once) when the planner statistics are due for a
    /// refresh. The interval starts at 1,000 and grows with what this process wrote
    /// (half of it), so plans and statistics made while the tables were small are soon
    /// replaced. On SQLite it stops growing at `ANALYZE_EVERY`, because the refresh also
    /// resets the WAL, which otherwise grew to 10 GiB over a 1,000,000-indicator load.
    /// On PostgreSQL it keeps growing: a fixed 20,000 meant fifty ANALYZEs of `objects`
    /// over a million received indicators, 9 % of the machine's CPU while replicating
    /// (`perf` during federation-bench), where statistics half a table old plan the same.
    pub fn analyze_due(&self, versions: u64) -> bool {
        let total = self.writes_since_analyze.fetch_add(versions, Ordering::Relaxed) + versions;
        let ever = self.writes_total.fetch_add(versions, Ordering::Relaxed) + versions;
        let interval = match self.backend {
            Backend::Sqlite => ANALYZE_EVERY.min(ever / 2),
            Backend::Postgres => ever / 2,
        };
        if total < interval.max(1_000) {
            return false;
        }
        self.writes_since_analyze.store(0, Ordering::Relaxed);
        true
    }

    /// Refreshes the planner statistics now (on this thread), logging a failure.
    pub fn analyze_now(&self) {
        match self.connection() {
            Ok(mut conn) => {
                if let Err(e) = store::analyze(&mut conn) {
                    tracing::warn!(%e, "refreshing planner statistics failed");
                }
            }
            Err(e) => tracing::warn!(?e, "no connection to refresh planner statistics"),
        }
    }

    /// A database connection, for blocking code. While the database is down this
    /// answers at once with UNAVAILABLE; a busy pool is waited for (up to
    /// `store::health::BUSY_WAIT`). Every connection taken outside `db` comes from here.
    pub fn connection(&self) -> AppResult<PooledConn> {
        Ok(self.db_health.checkout(&self.pool)?)
    }

    /// Runs blocking database work off the async threads. While the database is down
    /// this answers at once with UNAVAILABLE, without taking a thread.
    pub async fn db<T, F>(self: &Arc<Self>, f: F) -> AppResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&Hub, &mut DbConn) -> AppResult<T> + Send + 'static,
    {
        if self.db_health.is_down() {
            return Err(AppError::unavailable());
        }
        let permit = Arc::clone(&self.db_permits).acquire_owned().await.map_err(AppError::internal)?;
        let hub = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut conn = hub.connection()?;
            crate::store::take_wrote();
            let result = f(&hub, &mut conn);
            if !result.as_ref().is_err_and(|e| e.is_unavailable()) {
                hub.db_health.answered();
            }
            // Whatever `f` committed is for the live tail to read and hand out.
            if crate::store::take_wrote() {
                hub.notices.wake();
            }
            result
        })
        .await
        .map_err(AppError::internal)?
    }

    /// Whether the database answers, for `/readyz`: at once when it is known to be
    /// down or answered within the last second; else one `SELECT 1` (never more than
    /// one at a time, however many ask), waited for up to `wait`.
    pub async fn database_state(self: &Arc<Self>, wait: std::time::Duration) -> DatabaseState {
        let recently = std::time::Duration::from_secs(1);
        if self.db_health.is_down() {
            return DatabaseState::Unavailable;
        }
        if self.db_health.answered_within(recently) {
            return DatabaseState::Up;
        }
        let start = std::time::Instant::now();
        if self.db_health.begin_check() {
            let hub = Arc::clone(self);
            tokio::task::spawn_blocking(move || {
                let checked = hub.connection().and_then(|mut c| {
                    use diesel::RunQueryDsl;
                    diesel::sql_query("SELECT 1").execute(&mut c).map_err(AppError::from)
                });
                if checked.is_ok() {
                    hub.db_health.answered();
                }
                hub.db_health.end_check();
            });
        }
        loop {
            if self.db_health.is_down() {
                return DatabaseState::Unavailable;
            }
            if self.db_health.answered_within(start.elapsed()) {
                return DatabaseState::Up;
            }
            if start.elapsed() >= wait {
                return DatabaseState::NoAnswer;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}
