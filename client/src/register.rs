//! The member's local register: a SQLite file with its own migrations, holding the
//! hub's address, the hub's pinned signing key, the feed cursor and the items held.

use crate::error::{Context as _, Result};
use crate::tables::{items, pending_tombstones, settings};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// Settings keys.
pub const HUB_URL: &str = "hub_url";
pub const HUB_KEY: &str = "hub_public_key";
pub const HUB_ID: &str = "hub_id";
pub const CA_FILE: &str = "ca_file";
pub const CURSOR: &str = "feed_cursor";
/// The path of the file the token is read from, remembered at `init` (never the token).
pub const TOKEN_FILE: &str = "token_file";
/// Set while a first sync into an empty register runs: `items_id` is not built yet, so
/// `items` may hold several versions of an item and `pending_tombstones` the tombstones
/// not yet applied (see `sync`).
pub const FIRST_SYNC: &str = "first_sync_in_progress";

/// One item held, as the hub signed it.
#[derive(Debug, Clone, PartialEq, Queryable, QueryableByName, Selectable, Insertable)]
#[diesel(table_name = items)]
pub struct ItemRow {
    pub id: String,
    pub kind: String,
    pub revision: i64,
    pub tlp: String,
    pub seq: i64,
    pub stix: String,
    pub signature: String,
    pub received_at: String,
}

/// Opens (creating if need be) the register and brings its schema up to date.
pub fn open(path: &std::path::Path) -> Result<SqliteConnection> {
    let url = path.to_str().context("the register path is not UTF-8")?;
    let mut conn = SqliteConnection::establish(url).with_context(|| format!("opening the register {url}"))?;
    // Writers wait for each other rather than fail; WAL lets a reader run beside a sync.
    diesel::sql_query("PRAGMA busy_timeout = 5000").execute(&mut conn)?;
    diesel::sql_query("PRAGMA journal_mode = WAL").execute(&mut conn)?;
    // With WAL, NORMAL syncs at checkpoints rather than every commit; a crash may lose
    // the last pages applied, never their consistency (cursor and items commit together).
    diesel::sql_query("PRAGMA synchronous = NORMAL").execute(&mut conn)?;
    // Items arrive in feed order but are keyed by id (random): with SQLite's default
    // 2 MiB page cache, inserting the millionth item read most of the id index back in
    // from the file (sync fell from 53,000 to 31,000 items/s between 100,000 and
    // 1,000,000). 48 MiB keeps it resident within the client's 200 MiB budget.
    diesel::sql_query("PRAGMA cache_size = -49152").execute(&mut conn)?;
    // Every page applied rewrites most of the id index's leaves (ids are random), so a
    // checkpoint every 64 MiB of WAL wrote the index back to the file again and again:
    // 4.7 GiB written for a 0.7 GiB register of 1,000,000 items. Checkpointing every
    // 1 GiB writes each leaf back once per checkpoint (3.7 GiB written, +20 % items/s in
    // a model of the sync). `sync` checkpoints and truncates the WAL when it finishes.
    diesel::sql_query("PRAGMA wal_autocheckpoint = 262144").execute(&mut conn)?;
    conn.run_pending_migrations(MIGRATIONS)
        .map_err(|e| crate::error::Error::Invalid(format!("register migrations: {e}")))?;
    Ok(conn)
}

pub fn get(conn: &mut SqliteConnection, key: &str) -> Result<Option<String>> {
    Ok(settings::table.find(key).select(settings::value).first(conn).optional()?)
}

pub fn set(conn: &mut SqliteConnection, key: &str, value: &str) -> Result<()> {
    diesel::replace_into(settings::table).values((settings::key.eq(key), settings::value.eq(value))).execute(conn)?;
    Ok(())
}

/// Settings key prefix of the origin hubs' keys pinned at first sight (`origin_key:<hub id>`).
const ORIGIN_KEY_PREFIX: &str = "origin_key:";

/// The signing keys of the origin hubs whose items the hub passed on, by hub id, as
/// first met: the hub forwards received items with their origin's signature, and a key
/// that changes for the same origin is refused (as the hub's own key is).
pub fn origin_keys(conn: &mut SqliteConnection) -> Result<std::collections::HashMap<String, String>> {
    let rows: Vec<(String, String)> = settings::table
        .filter(settings::key.like(format!("{ORIGIN_KEY_PREFIX}%")))
        .select((settings::key, settings::value))
        .load(conn)?;
    Ok(rows.into_iter().filter_map(|(k, v)| Some((k.strip_prefix(ORIGIN_KEY_PREFIX)?.to_string(), v))).collect())
}

pub fn pin_origin_key(conn: &mut SqliteConnection, hub: &str, key: &str) -> Result<()> {
    set(conn, &format!("{ORIGIN_KEY_PREFIX}{hub}"), key)
}

/// Settings key prefix of the hub's signing keys, each under the sequence number from
/// which it signs (`hub_key_from:<seq>`); `HUB_KEY` is the newest.
const HUB_KEY_FROM_PREFIX: &str = "hub_key_from:";

/// The hub's signing keys as pinned, oldest first: `(first sequence number it signs,
/// key)`. A register from before key rotation holds `HUB_KEY` alone, which signs all.
pub fn hub_keys(conn: &mut SqliteConnection) -> Result<Vec<(i64, String)>> {
    let rows: Vec<(String, String)> = settings::table
        .filter(settings::key.like(format!("{HUB_KEY_FROM_PREFIX}%")))
        .select((settings::key, settings::value))
        .load(conn)?;
    let mut keys: Vec<(i64, String)> =
        rows.into_iter().filter_map(|(k, v)| Some((k.strip_prefix(HUB_KEY_FROM_PREFIX)?.parse().ok()?, v))).collect();
    keys.sort();
    if keys.is_empty() {
        if let Some(key) = get(conn, HUB_KEY)? {
            keys.push((0, key));
        }
    }
    Ok(keys)
}

/// Pins the hub's signing keys (oldest first, each checked: `renkei_schema::rotation`);
/// the newest becomes `HUB_KEY`.
pub fn pin_hub_keys(conn: &mut SqliteConnection, keys: &[(i64, String)]) -> Result<()> {
    diesel::delete(settings::table.filter(settings::key.like(format!("{HUB_KEY_FROM_PREFIX}%")))).execute(conn)?;
    for (from_seq, key) in keys {
        set(conn, &format!("{HUB_KEY_FROM_PREFIX}{from_seq}"), key)?;
    }
    if let Some((_, newest)) = keys.last() {
        set(conn, HUB_KEY, newest)?;
    }
    Ok(())
}

/// Every item held, by id.
pub fn all_items(conn: &mut SqliteConnection) -> Result<Vec<ItemRow>> {
    let mut rows = held_items(conn, None)?;
    rows.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(rows)
}

/// The items held (of one kind, or all): during a first sync, the latest version of
/// each, without those a later tombstone took away, as the sync will leave them.
pub fn held_items(conn: &mut SqliteConnection, kind: Option<&str>) -> Result<Vec<ItemRow>> {
    if get(conn, FIRST_SYNC)?.is_none() {
        let mut query = items::table.select(ItemRow::as_select()).into_boxed();
        if let Some(kind) = kind {
            query = query.filter(items::kind.eq(kind.to_string()));
        }
        return Ok(query.load(conn)?);
    }
    let sql = "SELECT id, kind, revision, tlp, seq, stix, signature, received_at FROM items \
               WHERE rowid IN (SELECT max(rowid) FROM items GROUP BY id) \
               AND NOT EXISTS (SELECT 1 FROM pending_tombstones t WHERE t.id = items.id AND t.seq > items.seq) \
               AND (? IS NULL OR kind = ?)";
    Ok(diesel::sql_query(sql)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(kind)
        .bind::<diesel::sql_types::Nullable<diesel::sql_types::Text>, _>(kind)
        .load(conn)?)
}

/// The change-feed kind of the hub's audit checkpoints.
pub const AUDIT_CHECKPOINT_KIND: &str = "audit-checkpoint";

/// The hub's audit checkpoints this register holds (each verified with the hub's key
/// when it was synced), newest first: the object as signed with its `signature`, the
/// file `renkei-hub audit verify --checkpoint` reads.
pub fn audit_checkpoints(conn: &mut SqliteConnection) -> Result<Vec<serde_json::Value>> {
    let mut held = held_items(conn, Some(AUDIT_CHECKPOINT_KIND))?;
    held.sort_by_key(|item| std::cmp::Reverse(item.seq));
    held.into_iter()
        .map(|item| {
            let mut object: serde_json::Value =
                serde_json::from_str(&item.stix).context("a stored audit checkpoint")?;
            object["signature"] = serde_json::Value::String(item.signature);
            Ok(object)
        })
        .collect()
}

/// Starts a first sync into an empty register: the id index is dropped until
/// [`finish_first_sync`] builds it once.
pub fn start_first_sync(conn: &mut SqliteConnection) -> Result<()> {
    conn.transaction(|c| -> Result<()> {
        set(c, FIRST_SYNC, "1")?;
        diesel::sql_query("DROP INDEX IF EXISTS items_id").execute(c)?;
        Ok(())
    })
}

/// Ends a first sync, in one transaction: only the latest version of each item is kept,
/// the tombstones met are applied, the id index is built.
pub fn finish_first_sync(conn: &mut SqliteConnection) -> Result<()> {
    conn.transaction(|c| -> Result<()> {
        // Most first syncs hold each item once: building the unique index is then the
        // only pass over the ids. If it finds a repeated id, the older versions go first.
        let built = c.transaction(|s| diesel::sql_query("CREATE UNIQUE INDEX items_id ON items (id)").execute(s));
        if built.is_err() {
            diesel::sql_query("DELETE FROM items WHERE rowid NOT IN (SELECT max(rowid) FROM items GROUP BY id)").execute(c)?;
            diesel::sql_query("CREATE UNIQUE INDEX items_id ON items (id)").execute(c)?;
        }
        let tombstones: i64 = pending_tombstones::table.count().get_result(c)?;
        if tombstones > 0 {
            diesel::sql_query(
                "DELETE FROM items WHERE EXISTS (SELECT 1 FROM pending_tombstones t WHERE t.id = items.id AND t.seq > items.seq)",
            )
            .execute(c)?;
            diesel::delete(pending_tombstones::table).execute(c)?;
        }
        diesel::delete(settings::table.find(FIRST_SYNC)).execute(c)?;
        Ok(())
    })
}

/// Copies the WAL back into the register file and empties it (after a sync).
pub fn checkpoint(conn: &mut SqliteConnection) -> Result<()> {
    diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").execute(conn)?;
    Ok(())
}

/// Runs `f` in one write transaction: `BEGIN IMMEDIATE` (so two writers queue rather
/// than fail), or a savepoint when the caller already holds a transaction.
pub fn write_transaction<T>(
    conn: &mut SqliteConnection,
    f: impl FnOnce(&mut SqliteConnection) -> Result<T>,
) -> Result<T> {
    use diesel::connection::{AnsiTransactionManager, TransactionManager};
    let nested =
        matches!(AnsiTransactionManager::transaction_manager_status_mut(conn).transaction_depth(), Ok(Some(_)));
    if nested {
        conn.transaction(f)
    } else {
        conn.immediate_transaction(f)
    }
}

/// A time as the register stores it: RFC 3339 UTC to the second, so that text order is
/// time order.
pub fn stamp(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}
