//! Whether the database answers, so that requests meet an outage with a prompt,
//! retryable refusal instead of waiting on the pool, and the hub comes back by itself.
//!
//! The pool tells `DbHealth` about every connection it opens and every attempt that
//! fails (`Watch`). A checkout (`checkout`) that gets no connection within `STEP`
//! while the pool's latest attempt to open one failed (or, without an error yet, a
//! connection has been missing for `STALL`) and nothing has answered for `QUIET`
//! marks the database down. A pool that has every connection open and in use is
//! merely busy (load, not an outage) and is waited for, up to `BUSY_WAIT`, as before.
//! While down, checkouts fail at once, and one probe thread asks the pool for a
//! connection every `PROBE_EVERY`; the first it gets (tested with `SELECT 1` at
//! checkout, which also drops the connections the restart killed) marks the database
//! up again.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};

use diesel::r2d2::{event, HandleError, HandleEvent};

use super::{DbPool, PooledConn};

/// One wait for a connection before looking at why there is none.
pub const STEP: Duration = Duration::from_millis(100);
/// A database that answered this recently is not down (the pool is busy instead).
pub const QUIET: Duration = Duration::from_millis(300);
/// A connection the pool has been opening for this long, without success or error,
/// counts as the database not answering.
pub const STALL: Duration = Duration::from_millis(500);
/// The longest wait for a connection of a busy pool.
pub const BUSY_WAIT: Duration = Duration::from_secs(10);
/// How often the probe asks for a connection while the database is down.
pub const PROBE_EVERY: Duration = Duration::from_millis(250);

/// Why a checkout failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// The database does not answer (or did not, a moment ago).
    Down,
    /// Every connection stayed in use for `BUSY_WAIT`.
    Busy,
}

#[derive(Debug)]
pub struct DbHealth {
    base: Instant,
    down: AtomicBool,
    /// Times in milliseconds since `base`, plus one (0: never).
    down_since: AtomicU64,
    connected_at: AtomicU64,
    connect_failed_at: AtomicU64,
    answered_at: AtomicU64,
    probing: AtomicBool,
    /// A readiness check is running (at most one at a time).
    checking: AtomicBool,
    last_error: Mutex<Option<String>>,
}

impl Default for DbHealth {
    fn default() -> Self {
        DbHealth {
            base: Instant::now(),
            down: AtomicBool::new(false),
            down_since: AtomicU64::new(0),
            connected_at: AtomicU64::new(0),
            connect_failed_at: AtomicU64::new(0),
            answered_at: AtomicU64::new(0),
            probing: AtomicBool::new(false),
            checking: AtomicBool::new(false),
            last_error: Mutex::new(None),
        }
    }
}

impl DbHealth {
    pub fn new() -> Arc<DbHealth> {
        Arc::new(DbHealth::default())
    }

    fn now(&self) -> u64 {
        u64::try_from(self.base.elapsed().as_millis()).unwrap_or(u64::MAX - 1) + 1
    }

    /// How long ago `at` was (`None` if never).
    fn ago(&self, at: &AtomicU64) -> Option<Duration> {
        match at.load(Ordering::Acquire) {
            0 => None,
            t => Some(Duration::from_millis(self.now().saturating_sub(t))),
        }
    }

    /// The pool to watch: connections opened and attempts failed.
    pub fn watch(self: &Arc<Self>) -> Watch {
        Watch(Arc::downgrade(self))
    }

    pub fn is_down(&self) -> bool {
        self.down.load(Ordering::Acquire)
    }

    /// How long the database has been down, if it is.
    pub fn down_for(&self) -> Option<Duration> {
        if self.is_down() {
            self.ago(&self.down_since)
        } else {
            None
        }
    }

    /// Notes that the database answered (a checkout or a query succeeded).
    pub fn answered(&self) {
        self.answered_at.store(self.now(), Ordering::Release);
    }

    /// Whether the database answered within `within`.
    pub fn answered_within(&self, within: Duration) -> bool {
        self.ago(&self.answered_at).is_some_and(|ago| ago <= within)
    }

    fn connected(&self) {
        self.connected_at.store(self.now(), Ordering::Release);
    }

    fn connect_failed(&self, error: String) {
        self.connect_failed_at.store(self.now(), Ordering::Release);
        if let Ok(mut last) = self.last_error.lock() {
            *last = Some(error);
        }
    }

    /// The pool's latest attempt to open a connection failed.
    fn failing(&self) -> bool {
        self.connect_failed_at.load(Ordering::Acquire) > self.connected_at.load(Ordering::Acquire)
    }

    /// A connection from `pool`: at once, or after waiting on a busy pool, or
    /// `Unavailable` (at once while the database is down; see the module comment).
    pub fn checkout(self: &Arc<Self>, pool: &DbPool) -> Result<PooledConn, Unavailable> {
        if self.is_down() {
            if !self.probing.load(Ordering::Acquire) {
                // The probe could not be started last time: try again.
                self.mark_down(pool, "the database was down");
            }
            return Err(Unavailable::Down);
        }
        let start = Instant::now();
        loop {
            match pool.get_timeout(STEP) {
                Ok(conn) => {
                    self.answered();
                    return Ok(conn);
                }
                Err(e) => {
                    let waited = start.elapsed();
                    if self.is_down() {
                        return Err(Unavailable::Down);
                    }
                    let quiet = !self.answered_within(QUIET);
                    let missing = pool.state().connections < pool.max_size();
                    if quiet && (self.failing() || (missing && waited >= STALL)) {
                        self.mark_down(pool, &e.to_string());
                        return Err(Unavailable::Down);
                    }
                    if waited >= BUSY_WAIT {
                        return Err(Unavailable::Busy);
                    }
                }
            }
        }
    }

    /// Marks the database down (refusing checkouts at once) and starts the probe that
    /// marks it up again.
    pub fn mark_down(self: &Arc<Self>, pool: &DbPool, error: &str) {
        if !self.down.swap(true, Ordering::AcqRel) {
            self.down_since.store(self.now(), Ordering::Release);
            let cause = self.last_error.lock().ok().and_then(|e| e.clone()).unwrap_or_else(|| error.to_string());
            tracing::warn!(error = %cause, "database unavailable: requests are refused at once until it answers again");
        }
        if self.probing.swap(true, Ordering::AcqRel) {
            return;
        }
        let (health, pool) = (Arc::downgrade(self), pool.clone());
        let spawned = std::thread::Builder::new().name("db-probe".into()).spawn(move || probe(health, pool));
        if let Err(e) = spawned {
            self.probing.store(false, Ordering::Release);
            tracing::error!(%e, "could not start the database probe");
        }
    }

    fn mark_up(&self) {
        self.answered();
        if self.down.swap(false, Ordering::AcqRel) {
            let seconds = self.ago(&self.down_since).unwrap_or_default().as_secs_f64();
            tracing::info!(seconds, "database answers again");
        }
    }

    /// Starts a readiness check unless one is running; `end_check` ends it.
    pub fn begin_check(&self) -> bool {
        !self.checking.swap(true, Ordering::AcqRel)
    }

    pub fn end_check(&self) {
        self.checking.store(false, Ordering::Release);
    }
}

/// Asks the pool for a connection every `PROBE_EVERY` until it gives one (the database
/// is up) or the hub is gone.
fn probe(health: Weak<DbHealth>, pool: DbPool) {
    loop {
        std::thread::sleep(PROBE_EVERY);
        let Some(health) = health.upgrade() else { return };
        if !health.is_down() {
            health.probing.store(false, Ordering::Release);
            return;
        }
        if let Ok(conn) = pool.get_timeout(PROBE_EVERY) {
            drop(conn);
            // Probing ends before the mark is cleared: a checkout failing in between
            // starts a new probe rather than finding this one still running.
            health.probing.store(false, Ordering::Release);
            health.mark_up();
            return;
        }
    }
}

/// Tells `DbHealth` what the pool does: connections opened, attempts failed. (It
/// replaces r2d2's default handler, which logged every failed attempt as an error.)
#[derive(Debug, Clone)]
pub struct Watch(Weak<DbHealth>);

impl HandleEvent for Watch {
    fn handle_acquire(&self, _: event::AcquireEvent) {
        if let Some(health) = self.0.upgrade() {
            health.connected();
        }
    }
}

impl HandleError<diesel::r2d2::Error> for Watch {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        match &error {
            diesel::r2d2::Error::ConnectionError(_) => {
                tracing::debug!(%error, "could not open a database connection");
                if let Some(health) = self.0.upgrade() {
                    health.connect_failed(error.to_string());
                }
            }
            // A pooled connection failed its check at checkout and was dropped.
            diesel::r2d2::Error::QueryError(_) => tracing::debug!(%error, "dropped a broken database connection"),
        }
    }
}
