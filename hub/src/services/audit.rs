//! The audit log (handbook 11.1.3.4): append-only, each entry chained to the one
//! before by SHA-256, verifiable with `renkei-hub audit verify`.

use diesel::prelude::*;
use serde_json::json;

use crate::crypto::sha256_hex;
use crate::store::models::AuditRow;
use crate::store::schema::audit_log;
use crate::store::{acquire_write_lock, now_text, DbConn};

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What happened, by whom.
#[derive(Debug, Clone, Default)]
pub struct AuditEvent {
    pub actor_org: Option<String>,
    pub actor_token: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: serde_json::Value,
    pub source: Option<String>,
}

fn entry_hash(row: &AuditRow) -> String {
    let content = json!([
        row.seq,
        row.at,
        row.actor_org,
        row.actor_token,
        row.action,
        row.target,
        row.detail,
        row.source,
        row.prev_hash
    ]);
    sha256_hex(renkei_schema::stix::canonical_json(&content).as_bytes())
}

/// Appends an entry. Call inside the transaction of the change it records, so the
/// entry exists exactly when the change does.
pub fn append(conn: &mut DbConn, event: AuditEvent) -> QueryResult<i64> {
    acquire_write_lock(conn)?;
    let last: Option<(i64, String)> = audit_log::table
        .select((audit_log::seq, audit_log::hash))
        .order(audit_log::seq.desc())
        .first(conn)
        .optional()?;
    let (seq, prev_hash) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_string()),
    };
    let mut row = AuditRow {
        seq,
        at: now_text(),
        actor_org: event.actor_org,
        actor_token: event.actor_token,
        action: event.action,
        target: event.target,
        detail: event.detail.to_string(),
        source: event.source,
        prev_hash,
        hash: String::new(),
    };
    row.hash = entry_hash(&row);
    diesel::insert_into(audit_log::table).values(&row).execute(conn)?;
    Ok(seq)
}

/// Appends in a transaction of its own (authentication failures, which change nothing else).
pub fn append_alone(conn: &mut DbConn, event: AuditEvent) -> QueryResult<i64> {
    conn.transaction(|c| append(c, event))
}

/// The first entry that breaks the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenEntry {
    pub seq: i64,
    pub reason: &'static str,
}

/// Walks the whole chain; returns the number of entries or the first bad one.
pub fn verify(conn: &mut DbConn) -> QueryResult<Result<u64, BrokenEntry>> {
    let mut expected_prev = GENESIS.to_string();
    let mut expected_seq = 1i64;
    let mut after = 0i64;
    let mut count = 0u64;
    loop {
        let rows: Vec<AuditRow> = audit_log::table
            .filter(audit_log::seq.gt(after))
            .order(audit_log::seq.asc())
            .limit(5000)
            .select(AuditRow::as_select())
            .load(conn)?;
        if rows.is_empty() {
            return Ok(Ok(count));
        }
        for row in rows {
            if row.seq != expected_seq {
                return Ok(Err(BrokenEntry { seq: expected_seq, reason: "entry missing" }));
            }
            if row.prev_hash != expected_prev {
                return Ok(Err(BrokenEntry { seq: row.seq, reason: "previous-hash link broken" }));
            }
            if entry_hash(&row) != row.hash {
                return Ok(Err(BrokenEntry { seq: row.seq, reason: "content does not match its hash" }));
            }
            expected_prev = row.hash;
            expected_seq += 1;
            after = row.seq;
            count += 1;
        }
    }
}

/// The newest entries, for coordinators.
pub fn recent(conn: &mut DbConn, before: Option<i64>, limit: i64) -> QueryResult<Vec<AuditRow>> {
    let mut query = audit_log::table.select(AuditRow::as_select()).into_boxed();
    if let Some(before) = before {
        query = query.filter(audit_log::seq.lt(before));
    }
    query.order(audit_log::seq.desc()).limit(limit).load(conn)
}
