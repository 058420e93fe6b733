//! The member's local register: a SQLite file with its own migrations, holding the
//! hub's address, the hub's pinned signing key, the feed cursor and the items held.

use anyhow::{Context as _, Result};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

diesel::table! {
    settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    items (id) {
        id -> Text,
        kind -> Text,
        revision -> BigInt,
        tlp -> Text,
        seq -> BigInt,
        stix -> Text,
        signature -> Text,
        received_at -> Text,
    }
}

/// Settings keys.
pub const HUB_URL: &str = "hub_url";
pub const HUB_KEY: &str = "hub_public_key";
pub const HUB_ID: &str = "hub_id";
pub const CA_FILE: &str = "ca_file";
pub const CURSOR: &str = "feed_cursor";

/// One item held, as the hub signed it.
#[derive(Debug, Clone, PartialEq, Queryable, Selectable, Insertable)]
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
    conn.run_pending_migrations(MIGRATIONS).map_err(|e| anyhow::anyhow!("register migrations: {e}"))?;
    Ok(conn)
}

pub fn get(conn: &mut SqliteConnection, key: &str) -> Result<Option<String>> {
    Ok(settings::table.find(key).select(settings::value).first(conn).optional()?)
}

pub fn set(conn: &mut SqliteConnection, key: &str, value: &str) -> Result<()> {
    diesel::replace_into(settings::table).values((settings::key.eq(key), settings::value.eq(value))).execute(conn)?;
    Ok(())
}

/// Every item held, by id.
pub fn all_items(conn: &mut SqliteConnection) -> Result<Vec<ItemRow>> {
    Ok(items::table.order(items::id.asc()).select(ItemRow::as_select()).load(conn)?)
}

/// Copies the WAL back into the register file and empties it (after a sync).
pub fn checkpoint(conn: &mut SqliteConnection) -> Result<()> {
    diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").execute(conn)?;
    Ok(())
}
