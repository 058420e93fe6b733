//! Storage: one diesel `MultiConnection` over PostgreSQL and SQLite, chosen by the
//! URL scheme, with embedded per-backend migrations. Backend-specific SQL lives here
//! and nowhere else.

pub mod health;
pub mod models;
pub mod schema;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/postgres");
pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("../migrations/sqlite");

/// A connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(diesel::PgConnection),
    Sqlite(diesel::SqliteConnection),
}

pub type DbPool = Pool<ConnectionManager<DbConn>>;
pub type PooledConn = PooledConnection<ConnectionManager<DbConn>>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("unsupported database URL {0:?}: use postgres://… or sqlite://PATH")]
    UnsupportedUrl(String),
    #[error("database pool: {0}")]
    Pool(#[from] diesel::r2d2::PoolError),
    #[error("database: {0}")]
    Query(#[from] diesel::result::Error),
    #[error("migrations: {0}")]
    Migration(String),
}

/// Inserts many rows at once on the inner connection, which takes part in the same
/// transaction: PostgreSQL's binary COPY (several times faster than a multi-row
/// INSERT) or SQLite's multi-row INSERT. The derived `MultiConnection` cannot express
/// either.
#[macro_export]
macro_rules! insert_rows {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            $crate::store::DbConn::Pg(c) => diesel::copy_from($table).from_insertable($rows).execute(c),
            $crate::store::DbConn::Sqlite(c) => diesel::insert_into($table).values($rows).execute(c),
        }
    };
}

/// Loads a large result. On PostgreSQL rows are read one by one (libpq's single-row
/// mode) instead of as one result: a 10,000-version feed page is 10 MB, which libpq
/// builds in glibc-malloc blocks that glibc hands back to the kernel and faults in
/// again for the next page (a fifth of the feed's time in perf). SQLite steps rows
/// one by one anyway.
#[macro_export]
macro_rules! load_rows {
    ($conn:expr, $query:expr, $row:ty) => {
        match $conn {
            $crate::store::DbConn::Pg(c) => {
                diesel::RunQueryDsl::load_iter::<$row, diesel::pg::PgRowByRowLoadingMode>($query, c)
                    .and_then(|rows| rows.collect::<diesel::QueryResult<Vec<$row>>>())
            }
            $crate::store::DbConn::Sqlite(c) => diesel::RunQueryDsl::load::<$row>($query, c),
        }
    };
}

/// Which backend a database URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

/// Chooses the backend by URL scheme and returns the URL the driver expects.
pub fn backend_of(url: &str) -> Result<(Backend, String), StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        Ok((Backend::Postgres, url.to_string()))
    } else if let Some(path) = url.strip_prefix("sqlite://") {
        Ok((Backend::Sqlite, path.to_string()))
    } else {
        Err(StoreError::UnsupportedUrl(url.to_string()))
    }
}

/// Settings each pooled connection needs. SQLite: WAL so readers never block the
/// writer, a busy timeout so writers queue instead of failing. PostgreSQL: no parallel
/// plans, see below.
#[derive(Debug, Clone, Copy)]
struct SessionSettings;

impl CustomizeConnection<DbConn, diesel::r2d2::Error> for SessionSettings {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
        if let DbConn::Pg(c) = conn {
            // Every hub query is bounded (pages, keys, limits). Where statistics were
            // missing or stale (right after a bulk import, or with autovacuum off, as on
            // this machine's shared PostgreSQL), PostgreSQL chose a parallel plan for a
            // TAXII page and spent 5 ms starting workers to read 1,000 rows; a bounded
            // read never gains from workers.
            c.batch_execute("SET max_parallel_workers_per_gather = 0").map_err(diesel::r2d2::Error::QueryError)?;
        }
        if let DbConn::Sqlite(c) = conn {
            // The busy timeout first: `journal_mode` reads the database, and a connection
            // opened while another writes would otherwise fail at once ("database is
            // locked", logged by the pool as it retries).
            c.batch_execute(
                "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; \
                 PRAGMA synchronous = NORMAL; PRAGMA foreign_keys = ON; \
                 PRAGMA journal_size_limit = 67108864;",
            )
            .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Makes an SQLite database file (which holds TLP:RED content and token digests)
/// readable by the hub's user only: created so before SQLite opens it (SQLite gives its
/// WAL and shared-memory files the database file's permissions), and an existing one
/// readable by others is narrowed, with a warning.
fn owner_only(path: &std::path::Path) -> Result<(), StoreError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
        if path.as_os_str().is_empty() || path.to_str() == Some(":memory:") {
            return Ok(());
        }
        let io = |e: std::io::Error| StoreError::Migration(format!("{}: {e}", path.display()));
        if !path.exists() {
            match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(path) {
                Ok(_) => {}
                // Another process made it meanwhile: narrowed below if need be.
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
        }
        let beside = |suffix: &str| {
            let mut name = path.as_os_str().to_owned();
            name.push(suffix);
            std::path::PathBuf::from(name)
        };
        for file in [path.to_path_buf(), beside("-wal"), beside("-shm")] {
            let Ok(meta) = std::fs::metadata(&file) else { continue };
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(file = %file.display(), "the database file was readable by other users; narrowed to the owner");
                std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(io)?;
            }
        }
    }
    Ok(())
}

/// Opens a pool on the database the URL names.
pub fn connect(url: &str, max_size: u32) -> Result<DbPool, StoreError> {
    connect_watched(url, max_size, &health::DbHealth::new())
}

/// Opens a pool on the database the URL names, telling `health` about the connections
/// it opens and fails to open (`Hub` checks out through `health`, see there).
pub fn connect_watched(
    url: &str,
    max_size: u32,
    health: &std::sync::Arc<health::DbHealth>,
) -> Result<DbPool, StoreError> {
    let (backend, driver_url) = backend_of(url)?;
    if backend == Backend::Sqlite {
        if let Some(parent) = std::path::Path::new(&driver_url).parent() {
            if !parent.as_os_str().is_empty() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| StoreError::Migration(format!("creating {parent:?}: {e}")))?;
            }
        }
        owner_only(std::path::Path::new(&driver_url))?;
    }
    // The derived MultiConnection establishes by trying each backend in turn; we
    // pick the backend by scheme instead, so a typo never lands in the wrong one.
    let manager = ConnectionManager::<DbConn>::new(driver_url);
    let pool = Pool::builder()
        .max_size(max_size)
        .min_idle(Some(max_size.min(2)))
        // `get()`'s wait, and (halved) the longest pause between r2d2's attempts to
        // reopen connections while the database is away: 1 s, so the hub serves again
        // within about a second of PostgreSQL's return. A busy pool is waited for
        // longer (`health::BUSY_WAIT`) by `health::DbHealth::checkout`.
        .connection_timeout(std::time::Duration::from_secs(2))
        // PostgreSQL: a `SELECT 1` round trip at each checkout. diesel counts a
        // connection as broken only when its transaction state is, so a connection
        // whose server went away (a restart, an administrator's kill) would otherwise
        // go back to the pool and fail every request that draws it, for ever. An SQLite
        // connection has no server to lose.
        .test_on_check_out(backend == Backend::Postgres)
        .connection_customizer(Box::new(SessionSettings))
        .error_handler(Box::new(health.watch()))
        .event_handler(Box::new(health.watch()))
        .build_unchecked(manager);
    // The first connection may take longer than `get()` waits (a loaded server).
    let conn = pool.get_timeout(health::BUSY_WAIT)?;
    let actual = match &*conn {
        DbConn::Pg(_) => Backend::Postgres,
        DbConn::Sqlite(_) => Backend::Sqlite,
    };
    if actual != backend {
        return Err(StoreError::UnsupportedUrl(url.to_string()));
    }
    Ok(pool)
}

/// Runs every pending migration of the connection's backend.
pub fn migrate(conn: &mut DbConn) -> Result<usize, StoreError> {
    let applied = match conn {
        DbConn::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len()),
        DbConn::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    let applied = applied.map_err(|e| StoreError::Migration(e.to_string()))?;
    seed_builtin_schemes(conn).map_err(|e| StoreError::Migration(format!("seeding the built-in schemes: {e}")))?;
    Ok(applied)
}

/// Stores the built-in assessment schemes (the handbook 6.4 scheme) unless present.
fn seed_builtin_schemes(conn: &mut DbConn) -> QueryResult<()> {
    use self::schema::assessment_schemes as s;
    let scheme = renkei_schema::supply::scheme::handbook_scheme();
    let present: i64 =
        s::table.filter(s::id.eq(&scheme.id)).filter(s::version.eq(&scheme.version)).count().get_result(conn)?;
    if present > 0 {
        return Ok(());
    }
    let body = serde_json::to_string(&scheme).map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))?;
    diesel::insert_into(s::table)
        .values((
            s::id.eq(&scheme.id),
            s::version.eq(&scheme.version),
            s::reference_only.eq(false),
            s::body.eq(body),
            s::created_at.eq(now_text()),
        ))
        .execute(conn)?;
    Ok(())
}

thread_local! {
    /// Whether this thread took the write lock since `take_wrote` last asked: `Hub::db`
    /// asks after each closure, whose transactions have ended by then, and wakes the
    /// live tail (which reads what was committed, if anything was).
    static WROTE: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Whether this thread took the write lock since the last call (and forgets it).
pub fn take_wrote() -> bool {
    WROTE.with(|w| w.replace(false))
}

/// Serialises writers that allocate sequence numbers, inside their transaction, so
/// that sequence order is commit order and a feed reader never skips a late commit.
pub fn acquire_write_lock(conn: &mut DbConn) -> QueryResult<()> {
    WROTE.with(|w| w.set(true));
    match conn {
        DbConn::Pg(c) => c.batch_execute("SELECT pg_advisory_xact_lock(726353)"),
        // The first write of a deferred SQLite transaction takes the database's write
        // lock (waiting up to busy_timeout), before anything has been read.
        DbConn::Sqlite(c) => c.batch_execute("UPDATE hub_meta SET value = value WHERE key = 'write_lock'"),
    }
}

/// Housekeeping after bulk writes. SQLite: sampled planner statistics, then a
/// truncating WAL checkpoint (with readers always active the automatic checkpoints
/// never reset the WAL, which grew to 12 GiB in the 1,000,000 bench). PostgreSQL:
/// statistics of the tables read by key lists (`= ANY`) and of the versions a TAXII
/// page joins (without them it probed the versions' key once per row rather than
/// merging the two ranges), which also drops the plans
/// each connection cached while they were small: without it (autovacuum off, or not
/// yet run) a plan made for a near-empty table kept scanning it whole as it grew,
/// and loading 200,000 assessments slowed from 370 to 70 a second (supplier-bench).
pub fn analyze(conn: &mut DbConn) -> QueryResult<()> {
    match conn {
        DbConn::Pg(c) => c.batch_execute(
            "ANALYZE objects, object_versions, assessment_subjects, assessment_disputes, supplier_ratings, rating_audiences, \
             rating_events, suppliers, offerings",
        ),
        DbConn::Sqlite(c) => c.batch_execute("PRAGMA analysis_limit = 1000; ANALYZE; PRAGMA wal_checkpoint(TRUNCATE)"),
    }
}

/// The current time as stored: RFC 3339 UTC with microseconds, which sorts as text.
pub fn now_text() -> String {
    time_text(&chrono::Utc::now())
}

pub fn time_text(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

pub fn parse_time(s: &str) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&chrono::Utc))
}

/// Lists every table and its columns, sorted, for the backend-parity test.
pub fn table_columns(conn: &mut DbConn) -> QueryResult<Vec<(String, String)>> {
    #[derive(QueryableByName)]
    struct Col {
        #[diesel(sql_type = diesel::sql_types::Text)]
        table_name: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        column_name: String,
    }
    let rows: Vec<Col> = match conn {
        DbConn::Pg(c) => diesel::sql_query(
            "SELECT table_name::text AS table_name, column_name::text AS column_name \
             FROM information_schema.columns WHERE table_schema = current_schema() \
             AND table_name <> '__diesel_schema_migrations'",
        )
        .load(c)?,
        DbConn::Sqlite(c) => diesel::sql_query(
            "SELECT m.name AS table_name, p.name AS column_name FROM sqlite_master m \
             JOIN pragma_table_info(m.name) p WHERE m.type = 'table' \
             AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'",
        )
        .load(c)?,
    };
    let mut cols: Vec<(String, String)> = rows.into_iter().map(|c| (c.table_name, c.column_name)).collect();
    cols.sort();
    Ok(cols)
}
