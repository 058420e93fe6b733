//! The audit log (handbook 11.1.3.4): append-only, each entry chained to the one
//! before by an HMAC-SHA256 under the hub's audit key, which is kept in the database
//! only sealed under the operator's key-encryption key (`keystore`). Whoever can write
//! the database, without that key, can still not change an entry (a rejection into an
//! approval) and chain the rest again: `renkei-hub audit verify` recomputes every link
//! with the key.
//!
//! Cutting the tail off leaves a shorter chain that verifies, so the chain is also
//! anchored outside the database: `renkei-hub audit checkpoint` prints a signed
//! checkpoint (sequence, hash, time) for the operator to keep, and the hub publishes a
//! signed checkpoint to its members in the change feed every `audit_checkpoint_seconds`
//! (their clients keep them). A member's checkpoint carries only a commitment (an HMAC
//! of sequence, hash and time under the audit key), because the number of entries
//! would tell members how much happened that they may not see; the hub, holding the
//! key, finds the entry it commits to. `audit verify --checkpoint FILE` fails when the
//! log no longer extends a checkpoint: rewritten, or truncated before it.
//!
//! The API shows entries under the same policy as the items they concern
//! ([`recent_for`]): an anonymous submitter stays unnamed to a coordinator who may not
//! learn it from the item itself. The operator reads the full record on the host
//! (`renkei-hub audit show`).

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use renkei_schema::tlp::{may_see_submitter, Viewer};

use crate::crypto::{sha256_hex, HubKeys};
use crate::error::{AppError, AppResult};
use crate::store::models::{AuditRow, CheckpointRow, ObjectRow};
use crate::store::schema::{audit_checkpoints, audit_log, hub_meta, objects};
use crate::store::{acquire_write_lock, now_text, DbConn};
use renkei_schema::errors::Code;

/// The hash before the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Where the id of the key the chain is made with is recorded.
const KEY_META: &str = "audit_key_id";

/// The kind of checkpoints in the change feed.
pub const FEED_KIND: &str = "audit-checkpoint";

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

/// The canonical content of an entry, which its link covers.
fn entry_content(row: &AuditRow) -> String {
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
    renkei_schema::stix::canonical_json(&content)
}

fn entry_hash(keys: &HubKeys, row: &AuditRow) -> String {
    keys.audit_mac(entry_content(row).as_bytes())
}

/// The link of entries made before the chain was keyed (plain SHA-256).
fn unkeyed_hash(row: &AuditRow) -> String {
    sha256_hex(entry_content(row).as_bytes())
}

/// Appends an entry. Call inside the transaction of the change it records, so the
/// entry exists exactly when the change does.
pub fn append(conn: &mut DbConn, keys: &HubKeys, event: AuditEvent) -> QueryResult<i64> {
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
    row.hash = entry_hash(keys, &row);
    diesel::insert_into(audit_log::table).values(&row).execute(conn)?;
    Ok(seq)
}

/// Appends in a transaction of its own (authentication failures, which change nothing else).
pub fn append_alone(conn: &mut DbConn, keys: &HubKeys, event: AuditEvent) -> QueryResult<i64> {
    conn.transaction(|c| append(c, keys, event))
}

/// The next entries after `after`, in order: chains are walked a batch at a time.
fn entries_after(conn: &mut DbConn, after: i64) -> QueryResult<Vec<AuditRow>> {
    audit_log::table
        .filter(audit_log::seq.gt(after))
        .order(audit_log::seq.asc())
        .limit(5000)
        .select(AuditRow::as_select())
        .load(conn)
}

fn key_mismatch() -> AppError {
    AppError::new(
        Code::AuditKeyMismatch,
        "the audit log is chained with another key than this hub's audit key: run the command with the hub's own database and key-encryption key",
        "監査ログはこのハブの監査鍵とは別の鍵で連結されています。ハブ自身のデータベースと鍵暗号化鍵で実行してください",
    )
}

/// Makes sure the log is chained under this process's audit key before anything is
/// appended: at the first start with a keyed chain the entries made before (chained
/// with plain SHA-256) are checked and chained again under the key, with an entry
/// saying so (and where the unkeyed chain was already broken, if it was); afterwards a
/// process with another key (another data folder) is refused.
pub fn prepare_chain(conn: &mut DbConn, keys: &HubKeys) -> AppResult<()> {
    let key_id = keys.audit_key_id();
    let recorded: Option<String> = hub_meta::table.find(KEY_META).select(hub_meta::value).first(conn).optional()?;
    match recorded {
        Some(id) if id == key_id => return Ok(()),
        Some(_) => return Err(key_mismatch()),
        None => {}
    }
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let recorded: Option<String> = hub_meta::table.find(KEY_META).select(hub_meta::value).first(c).optional()?;
        match recorded {
            Some(id) if id == key_id => return Ok(()),
            Some(_) => return Err(key_mismatch()),
            None => {}
        }
        let mut unkeyed_break: Option<i64> = None;
        let mut expected_prev = GENESIS.to_string();
        let mut keyed_prev = GENESIS.to_string();
        let mut after = 0i64;
        let mut count = 0u64;
        loop {
            let rows = entries_after(c, after)?;
            if rows.is_empty() {
                break;
            }
            for mut row in rows {
                after = row.seq;
                count += 1;
                if unkeyed_break.is_none()
                    && (row.seq != count as i64 || row.prev_hash != expected_prev || unkeyed_hash(&row) != row.hash)
                {
                    unkeyed_break = Some(row.seq);
                }
                expected_prev = row.hash.clone();
                row.prev_hash = keyed_prev;
                row.hash = entry_hash(keys, &row);
                keyed_prev = row.hash.clone();
                diesel::update(audit_log::table.find(row.seq))
                    .set((audit_log::prev_hash.eq(&row.prev_hash), audit_log::hash.eq(&row.hash)))
                    .execute(c)?;
            }
        }
        diesel::insert_into(hub_meta::table)
            .values((hub_meta::key.eq(KEY_META), hub_meta::value.eq(&key_id)))
            .execute(c)?;
        if count > 0 {
            if let Some(seq) = unkeyed_break {
                tracing::error!(seq, "the audit log was already broken before it was keyed; recorded in the log");
            }
            append(
                c,
                keys,
                AuditEvent {
                    action: "audit.keyed".into(),
                    detail: json!({"entries": count, "unkeyedChainBrokenAt": unkeyed_break}),
                    ..Default::default()
                },
            )?;
        }
        Ok(())
    })
}

/// The first entry that breaks the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokenEntry {
    pub seq: i64,
    pub reason: &'static str,
}

/// A checkpoint of the chain: the operator's (`seq` and `hash` in the clear) or a
/// member's (`commitment` only). `signature` is the hub's, over the canonical JSON of
/// every other field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Checkpoint {
    #[serde(rename = "type")]
    pub kind: String,
    pub id: String,
    /// The hub whose log it is.
    pub hub: String,
    pub at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commitment: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// The STIX-style type of checkpoints.
pub const CHECKPOINT_TYPE: &str = "x-renkei-audit-checkpoint";

impl Checkpoint {
    /// The bytes the signature covers.
    pub fn signed_bytes(&self) -> String {
        let mut unsigned = self.clone();
        unsigned.signature = None;
        renkei_schema::stix::canonical_json(&serde_json::to_value(&unsigned).unwrap_or_default())
    }

    fn sign(mut self, keys: &HubKeys) -> Checkpoint {
        let signature = keys.signing.sign_batch(&[self.signed_bytes().as_bytes()]).concat();
        self.signature = Some(signature);
        self
    }

    /// Whether the hub's key (base64url) verifies the signature.
    pub fn verifies(&self, public_key: &str) -> bool {
        self.signature.as_deref().is_some_and(|sig| {
            renkei_schema::sign::verify_object(public_key, self.signed_bytes().as_bytes(), sig).is_ok()
        })
    }
}

fn commitment(keys: &HubKeys, seq: i64, hash: &str, at: &str) -> String {
    keys.audit_mac(format!("renkei audit checkpoint v1\n{seq}\n{hash}\n{at}").as_bytes())
}

fn head(conn: &mut DbConn) -> QueryResult<Option<(i64, String)>> {
    audit_log::table.select((audit_log::seq, audit_log::hash)).order(audit_log::seq.desc()).first(conn).optional()
}

/// A signed checkpoint of the chain as it stands: for the operator (`for_members`
/// false: sequence and hash) or for members (a commitment). None while the log is empty.
pub fn checkpoint(conn: &mut DbConn, keys: &HubKeys, hub_id: &str, for_members: bool) -> AppResult<Option<Checkpoint>> {
    let Some((seq, hash)) = head(conn)? else { return Ok(None) };
    let at = now_text();
    let mut point = Checkpoint {
        kind: CHECKPOINT_TYPE.into(),
        id: format!("{CHECKPOINT_TYPE}--{}", uuid::Uuid::new_v4()),
        hub: hub_id.to_string(),
        at: at.clone(),
        seq: None,
        hash: None,
        commitment: None,
        signature: None,
    };
    if for_members {
        point.commitment = Some(commitment(keys, seq, &hash, &at));
    } else {
        point.seq = Some(seq);
        point.hash = Some(hash);
    }
    Ok(Some(point.sign(keys)))
}

/// Publishes a member checkpoint in the change feed unless one was published less than
/// `interval_seconds` ago (several replicas may try; the write lock orders them).
/// Returns whether it published one.
pub fn publish_checkpoint(conn: &mut DbConn, keys: &HubKeys, hub_id: &str, interval_seconds: u64) -> AppResult<bool> {
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let last: Option<String> = audit_checkpoints::table
            .select(audit_checkpoints::at)
            .order(audit_checkpoints::seq.desc())
            .first(c)
            .optional()?;
        let now = chrono::Utc::now();
        let due = last
            .as_deref()
            .and_then(crate::store::parse_time)
            .is_none_or(|t| (now - t).num_seconds() >= i64::try_from(interval_seconds).unwrap_or(i64::MAX));
        if !due {
            return Ok(false);
        }
        // Signed with the hub's current key (another replica may have rotated it).
        keys.follow(c)?;
        let Some(point) = checkpoint(c, keys, hub_id, true)? else { return Ok(false) };
        let signature = point.signature.clone().unwrap_or_default();
        let mut object = point.clone();
        object.signature = None;
        let row = CheckpointRow {
            seq: super::stored::max_seq(c)? + 1,
            id: point.id.clone(),
            at: point.at.clone(),
            stix: object.signed_bytes(),
            signature,
        };
        diesel::insert_into(audit_checkpoints::table).values(&row).execute(c)?;
        Ok(true)
    })
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub entries: u64,
    /// The entry the checkpoint named or committed to, when one was given.
    pub checkpoint_entry: Option<i64>,
}

/// Why a checkpoint could not be checked against this log at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointProblem {
    OtherHub(String),
    BadSignature,
    Malformed,
}

/// Walks the whole chain with the audit key; returns what it found or the first bad
/// entry. With a checkpoint (signature checked first, against this hub's keys, current
/// or replaced since), the log
/// must still hold the entry it names or commits to, unchanged.
pub fn verify(
    conn: &mut DbConn,
    keys: &HubKeys,
    hub_id: &str,
    point: Option<&Checkpoint>,
) -> AppResult<Result<Verified, BrokenEntry>> {
    if let Some(p) = point {
        let problem = if p.hub != hub_id {
            Some(CheckpointProblem::OtherHub(p.hub.clone()))
        } else if !crate::keystore::SigningHistory::load(conn)?.keys.iter().any(|k| p.verifies(&k.public_key)) {
            Some(CheckpointProblem::BadSignature)
        } else if p.commitment.is_none() && (p.seq.is_none() || p.hash.is_none()) {
            Some(CheckpointProblem::Malformed)
        } else {
            None
        };
        if let Some(problem) = problem {
            return Err(match problem {
                CheckpointProblem::OtherHub(hub) => AppError::invalid(
                    format!("the checkpoint is of hub {hub}, not of this hub ({hub_id})"),
                    format!("このチェックポイントはハブ{hub}のものです（このハブは{hub_id}）"),
                ),
                CheckpointProblem::BadSignature => AppError::new(
                    Code::BadSignature,
                    "the checkpoint's signature does not verify with this hub's key",
                    "チェックポイントの署名がこのハブの鍵で検証できません",
                ),
                CheckpointProblem::Malformed => AppError::invalid(
                    "the checkpoint names no entry (seq and hash, or a commitment)",
                    "チェックポイントにエントリの指定（seqとhash、またはcommitment）がありません",
                ),
            });
        }
    }
    let mut expected_prev = GENESIS.to_string();
    let mut expected_seq = 1i64;
    let mut after = 0i64;
    let mut count = 0u64;
    let mut found: Option<i64> = None;
    loop {
        let rows = entries_after(conn, after)?;
        if rows.is_empty() {
            break;
        }
        for row in rows {
            if row.seq != expected_seq {
                return Ok(Err(BrokenEntry { seq: expected_seq, reason: "entry missing" }));
            }
            if row.prev_hash != expected_prev {
                return Ok(Err(BrokenEntry { seq: row.seq, reason: "previous-hash link broken" }));
            }
            if !keys.audit_mac_matches(entry_content(&row).as_bytes(), &row.hash) {
                return Ok(Err(BrokenEntry { seq: row.seq, reason: "content does not match its keyed hash" }));
            }
            if let Some(p) = point {
                let named = match (&p.commitment, p.seq, &p.hash) {
                    (Some(c), _, _) => *c == commitment(keys, row.seq, &row.hash, &p.at),
                    (None, Some(seq), Some(hash)) => seq == row.seq && *hash == row.hash,
                    _ => false,
                };
                if named {
                    found = Some(row.seq);
                } else if p.seq == Some(row.seq) {
                    return Ok(Err(BrokenEntry { seq: row.seq, reason: "the entry differs from the checkpoint's" }));
                }
            }
            expected_prev = row.hash;
            expected_seq += 1;
            after = row.seq;
            count += 1;
        }
    }
    if point.is_some() && found.is_none() {
        return Ok(Err(BrokenEntry {
            seq: expected_seq,
            reason: "the log no longer extends the checkpoint (rewritten, or cut before it)",
        }));
    }
    Ok(Ok(Verified { entries: count, checkpoint_entry: found }))
}

/// The newest entries, in full: for the operator on the host (`audit show`).
pub fn recent(conn: &mut DbConn, before: Option<i64>, limit: i64) -> QueryResult<Vec<AuditRow>> {
    let mut query = audit_log::table.select(AuditRow::as_select()).into_boxed();
    if let Some(before) = before {
        query = query.filter(audit_log::seq.lt(before));
    }
    query.order(audit_log::seq.desc()).limit(limit).load(conn)
}

/// An entry as an API caller sees it.
pub struct ShownEntry {
    pub row: AuditRow,
    /// Who acted (organisation, token, address) is withheld: the entry concerns an item
    /// whose submitter the viewer may not learn, and the actor is that submitter.
    pub actor_withheld: bool,
}

/// The newest entries as this viewer may see them. An entry about a shared item
/// follows the item's policy: where the viewer may not learn who submitted the item
/// (`renkei_schema::tlp::may_see_submitter`: an anonymous TLP:RED item the coordinator
/// is not named on), the entries its submitter made about it do not name the actor.
pub fn recent_for(
    conn: &mut DbConn,
    viewer: &Viewer<'_>,
    before: Option<i64>,
    limit: i64,
) -> AppResult<Vec<ShownEntry>> {
    let rows = recent(conn, before, limit)?;
    let targets: Vec<&str> = rows.iter().filter_map(|r| r.target.as_deref()).filter(|t| t.contains("--")).collect();
    let items: Vec<ObjectRow> = if targets.is_empty() {
        Vec::new()
    } else {
        objects::table.filter(objects::id.eq_any(&targets)).select(ObjectRow::as_select()).load(conn)?
    };
    let items: std::collections::HashMap<&str, &ObjectRow> = items.iter().map(|o| (o.id.as_str(), o)).collect();
    let mut shown = Vec::with_capacity(rows.len());
    for mut row in rows {
        let item = row.target.as_deref().and_then(|t| items.get(t));
        let withheld = match item {
            Some(item) => {
                let access = super::stored::Access::of_object(item)?;
                row.actor_org.as_deref() == Some(item.submitter_org.as_str())
                    && !may_see_submitter(viewer, &access.item())
            }
            None => false,
        };
        if withheld {
            row.actor_org = None;
            row.actor_token = None;
            row.source = None;
        }
        shown.push(ShownEntry { row, actor_withheld: withheld });
    }
    Ok(shown)
}
