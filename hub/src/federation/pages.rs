//! Checking and applying a page a peer sent: each entry is checked (signature at its
//! origin, label against the link and the policy, envelope against the signed STIX,
//! revision against what is held) and either stored or refused for a
//! [`Refusal`](super::Refusal) reason; the page and the link's cursor commit together.

use super::feed::{PeerItem, PeerPage};
use super::links::{self, expected_key, load_peer, status_of, PeerRow, PeerStatusRow};
use super::Refusal;
use crate::crypto::HubKeys;
use crate::error::{AppError, AppResult, Code};
use crate::services::audit::{self, AuditEvent};
use crate::services::stored;
use crate::services::stored::{Provenance, Signer};
use crate::store::models::ObjectRow;
use crate::store::schema::{hub_keys, objects, peer_status};
use crate::store::{acquire_write_lock, now_text, DbConn};
use diesel::prelude::*;
use renkei_schema::model::{Body, Envelope};
use renkei_schema::sign::Verifier;
use renkei_schema::stix::{canonical_json, to_stix};
use renkei_schema::tlp::{peer_may_carry, ItemAccess, Status, Tlp};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

/// What applying a page did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// New versions and tombstones stored.
    pub received: usize,
    /// Versions held already (the same or a newer revision), tombstones of nothing held.
    pub unchanged: usize,
    /// Refused, by reason.
    pub refused: BTreeMap<String, usize>,
}

/// Why an entry is refused (counted per reason in peer status).
fn refuse(reason: Refusal, id: &str, detail: impl std::fmt::Display) -> (String, String) {
    (reason.to_string(), format!("{id}: {detail}"))
}

/// A version that passed every check, ready to store.
pub struct Accepted {
    envelope: Envelope,
    stix: String,
    /// The origin's signature of `stix`, stored as the version's: this hub's members
    /// verify it with the origin's key as this hub pinned it.
    signature: String,
    /// The row this hub stores, sequence numbers left to the store stage.
    row: ObjectRow,
    /// Its `Provenance` as stored with the version (JSON), written here rather than in the
    /// store stage, which holds the write lock.
    origin: String,
}

/// An empty row, left behind when a prepared one is taken.
fn placeholder_row() -> ObjectRow {
    ObjectRow {
        id: String::new(),
        kind: String::new(),
        revision: 0,
        tlp: String::new(),
        recipients: String::new(),
        status: String::new(),
        submitter_org: String::new(),
        anonymous: false,
        valid_until: None,
        indicator_type: None,
        indicator_value: None,
        envelope: String::new(),
        body: String::new(),
        first_seq: 0,
        last_seq: 0,
    }
}

/// Checks one live entry from `link` against the policy and the origin's signature.
fn check(
    conn: &mut DbConn,
    local: &Signer<'_>,
    link: &PeerRow,
    peer_hub: &str,
    item: &PeerItem,
    learned: &mut HashMap<String, String>,
    verifiers: &mut HashMap<String, Verifier>,
) -> AppResult<Result<Accepted, (String, String)>> {
    let id = item.id.as_str();
    let (Some(object), Some(signature), Some(origin), Some(key), Some(envelope), Some(body)) =
        (&item.object, &item.signature, &item.origin_hub, &item.origin_key, &item.envelope, &item.body)
    else {
        return Ok(Err(refuse(Refusal::Malformed, id, "a version without its object, signature, origin or envelope")));
    };
    // The path here: the sender's, then the sender.
    let mut path = item.path.clone();
    path.push(peer_hub.to_string());
    if origin == local.hub_id || path.iter().any(|h| h == local.hub_id) {
        return Ok(Err(refuse(Refusal::OwnOrigin, id, "this hub is its origin or on its path")));
    }
    if path.first() != Some(origin) {
        return Ok(Err(refuse(Refusal::Malformed, id, "the path does not start at the origin")));
    }
    let Ok(tlp) = item.tlp.parse::<Tlp>() else {
        return Ok(Err(refuse(Refusal::Malformed, id, format!("label {:?}", item.tlp))));
    };
    // The same policy the sender applies, from this side: would the link carry it here?
    let as_sent = ItemAccess {
        tlp,
        recipients: &[],
        status: Status::Published,
        submitter: "",
        anonymous: true,
        path: &item.path,
    };
    if !peer_may_carry(local.hub_id, link.link()?, &as_sent) {
        return Ok(Err(refuse(
            Refusal::LabelNotCarried,
            id,
            format!("{tlp} over a link carrying up to {}", link.max_tlp),
        )));
    }
    // The origin's key: the link's pinned key for the peer's own items, else the key the
    // peer vouches for, pinned per origin at first sight.
    let expected = expected_key(conn, link, peer_hub, origin, learned)?;
    if expected.as_ref().is_some_and(|k| k != key) {
        return Ok(Err(refuse(Refusal::OriginKeyMismatch, id, format!("origin {origin}"))));
    }
    // One verifier per origin key: it remembers the batch roots it has checked, so a
    // page signed in a few batches costs a few Ed25519 verifications, not one per item.
    let verified = match verifiers.entry(key.clone()) {
        std::collections::hash_map::Entry::Occupied(v) => v.into_mut().verify(object.as_bytes(), signature),
        std::collections::hash_map::Entry::Vacant(slot) => {
            Verifier::new(key).and_then(|v| slot.insert(v).verify(object.as_bytes(), signature))
        }
    };
    if verified.is_err() {
        return Ok(Err(refuse(Refusal::BadSignature, id, format!("signature of origin {origin} does not verify"))));
    }
    if expected.is_none() {
        learned.insert(origin.clone(), key.clone());
    }
    let (Ok(envelope_parsed), Ok(body_parsed)) =
        (serde_json::from_str::<Envelope>(envelope), serde_json::from_str::<Body>(body))
    else {
        return Ok(Err(refuse(Refusal::Malformed, id, "envelope or body unreadable")));
    };
    // The envelope and body must render to exactly the signed object.
    if canonical_json(&to_stix(&envelope_parsed, &body_parsed)) != *object {
        return Ok(Err(refuse(Refusal::Mismatch, id, "envelope and body do not render to the signed object")));
    }
    if envelope_parsed.id != item.id
        || envelope_parsed.revision != item.revision
        || &envelope_parsed.origin_hub != origin
        || envelope_parsed.tlp != tlp
        || envelope_parsed.kind.as_str() != item.kind
    {
        return Ok(Err(refuse(Refusal::Mismatch, id, "the signed object disagrees with the feed entry")));
    }
    if envelope_parsed.status != Status::Published {
        return Ok(Err(refuse(Refusal::NotPublished, id, format!("status {}", envelope_parsed.status.as_str()))));
    }
    // Filed under the link's organisation; the origin's STIX (and its `created_by_ref`,
    // unless anonymous) is what members read.
    let mut env = envelope_parsed.clone();
    env.created_by = link.org_id.clone();
    env.recipients = Vec::new();
    let row = stored::object_row(&env, &body_parsed, 0, 0)?;
    let origin = Provenance {
        hub: origin.clone(),
        key: key.clone(),
        created_by: envelope_parsed.created_by.clone(),
        path,
        via: link.name.clone(),
    };
    Ok(Ok(Accepted {
        envelope: envelope_parsed,
        stix: object.clone(),
        signature: signature.clone(),
        row,
        origin: serde_json::to_string(&origin).map_err(AppError::internal)?,
    }))
}

/// A version to store, or a tombstone (id, revision), in feed order.
pub enum Step {
    Version(Box<Accepted>),
    Tombstone(String, i64),
}

/// What `store_page` did, and the objects it wrote as they now are.
pub struct Stored {
    pub applied: Applied,
    pub rows: Vec<ObjectRow>,
    /// Entries of the page whose item this hub held already (known only when every id
    /// was looked up: `Lookup::Every`).
    pub held: usize,
}

/// Which of a page's ids `store_page` looks up before writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Every id: what is held decides (revisions, own items).
    Every,
    /// Only the tombstones' ids: new versions are written as new items, and a page
    /// holding one already fails on the objects' primary key with `ALREADY_HELD`,
    /// having stored nothing; the puller then pulls it again with `Every`. One lookup
    /// of a page's ids in the primary key was a B-tree descent per object on top of
    /// the one its insert makes, for pages that are nearly always all new.
    Tombstones,
}

/// The error code of a page `Lookup::Tombstones` could not store (an item was held).
pub const ALREADY_HELD: Code = Code::AlreadyHeld;

/// A page that passed `check_page`, ready for `store_page`.
pub struct CheckedPage {
    link: PeerRow,
    cursor: i64,
    head: i64,
    steps: Vec<Step>,
    applied: Applied,
    learned: HashMap<String, String>,
    reasons: Vec<String>,
}

/// Applies a page from `link` and moves its cursor: `check_page`, then `store_page`.
pub fn apply_page(conn: &mut DbConn, local: &Signer<'_>, link_name: &str, page: &PeerPage) -> AppResult<Applied> {
    let checked = check_page(conn, local, link_name, page)?;
    Ok(store_page(conn, local, checked, Lookup::Every)?.applied)
}

/// The checks of a page (signatures, rendering, labels, keys), outside any transaction:
/// the puller runs them for the next page while the last one is stored.
pub fn check_page(conn: &mut DbConn, local: &Signer<'_>, link_name: &str, page: &PeerPage) -> AppResult<CheckedPage> {
    let cursor: i64 = page.cursor.parse().map_err(|_| AppError::invalid("cursor", "カーソルが不正です"))?;
    let head: i64 = page.head.parse().unwrap_or(cursor);
    let mut link = load_peer(conn, link_name)?;
    let peer_hub = link.hub_id.clone().ok_or_else(|| AppError::internal("the peer's hub id is not known yet"))?;
    let kinds = link.kinds();
    // The keys the peer signed its own versions with, by its sequence number: each of
    // its versions is checked with the key of its number, and an announcement of a new
    // key (verified with the key pinned then) is followed at once.
    let mut peer_keys = links::peer_keys(conn, &link)?;
    let mut applied = Applied::default();
    let mut learned: HashMap<String, String> = HashMap::new();
    let mut verifiers: HashMap<String, Verifier> = HashMap::new();
    let mut reasons: Vec<String> = Vec::new();
    let mut steps: Vec<Step> = Vec::new();
    for item in &page.items {
        let seq = item.seq.parse::<i64>().unwrap_or(i64::MAX);
        let key_then = links::key_at(&peer_keys, seq).to_string();
        if link.public_key != key_then {
            link.public_key = key_then;
        }
        if item.kind == renkei_schema::rotation::FEED_KIND {
            if let Err((reason, why)) = follow_key(conn, local, &link, &peer_hub, item, seq, &mut peer_keys)? {
                *applied.refused.entry(reason).or_default() += 1;
                reasons.push(why);
            }
            continue;
        }
        if !kinds.contains(&item.kind) {
            let (reason, why) = refuse(Refusal::KindNotCarried, &item.id, &item.kind);
            *applied.refused.entry(reason).or_default() += 1;
            reasons.push(why);
            continue;
        }
        if item.deleted {
            steps.push(Step::Tombstone(item.id.clone(), item.revision));
            continue;
        }
        match check(conn, local, &link, &peer_hub, item, &mut learned, &mut verifiers)? {
            Ok(accepted) => steps.push(Step::Version(Box::new(accepted))),
            Err((reason, why)) => {
                *applied.refused.entry(reason).or_default() += 1;
                reasons.push(why);
            }
        }
    }
    Ok(CheckedPage { link, cursor, head, steps, applied, learned, reasons })
}

/// Follows the peer's announcement of a new signing key (`renkei_schema::rotation`): it
/// must verify with the key pinned for the peer at its sequence number and replace that
/// key. The new key is pinned at once, not with the page: the next pages may be checked
/// before this one is stored, and are signed with it.
fn follow_key(
    conn: &mut DbConn,
    local: &Signer<'_>,
    link: &PeerRow,
    peer_hub: &str,
    item: &PeerItem,
    seq: i64,
    peer_keys: &mut Vec<(i64, String)>,
) -> AppResult<Result<(), (String, String)>> {
    use renkei_schema::rotation::{follow, RotationRefusal};
    let (Some(object), Some(signature)) = (&item.object, &item.signature) else {
        return Ok(Err(refuse(Refusal::Malformed, &item.id, "a key announcement without its object or signature")));
    };
    let announcement = match follow(peer_hub, &link.public_key, seq, object, signature) {
        Ok(a) => a,
        Err(e) => {
            let reason = match e {
                RotationRefusal::BadSignature => Refusal::BadSignature,
                RotationRefusal::NotThePinnedKey | RotationRefusal::OtherHub(_) => Refusal::OriginKeyMismatch,
                _ => Refusal::Malformed,
            };
            return Ok(Err(refuse(reason, &item.id, e)));
        }
    };
    if !peer_keys.iter().any(|(from, key)| *from == announcement.from_seq && *key == announcement.new_key) {
        links::pin_peer_key(conn, local.keys, link, &announcement)?;
        peer_keys.push((announcement.from_seq, announcement.new_key));
        peer_keys.sort();
    }
    Ok(Ok(()))
}

/// Stores a checked page and moves the link's cursor, in one transaction holding the
/// write lock: revisions decide what changes (see `Lookup` for what is looked up).
pub fn store_page(conn: &mut DbConn, local: &Signer<'_>, page: CheckedPage, lookup: Lookup) -> AppResult<Stored> {
    let CheckedPage { link, cursor, head, steps, mut applied, learned, mut reasons } = page;
    let started = std::time::Instant::now();
    let ids: Vec<String> = steps
        .iter()
        .map(|s| match s {
            Step::Version(a) => a.envelope.id.clone(),
            Step::Tombstone(id, _) => id.clone(),
        })
        .collect();
    let items = ids.len();
    let mut looked_up: Vec<String> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Version(a) if lookup == Lookup::Every => Some(a.envelope.id.clone()),
            Step::Version(_) => None,
            Step::Tombstone(id, _) => Some(id.clone()),
        })
        .collect();
    // In key order: PostgreSQL sorts an `IN` list before it walks the index.
    looked_up.sort_unstable();
    looked_up.dedup();
    let result = conn.transaction(|c| {
        acquire_write_lock(c)?;
        // A page lost to a crash right after its commit is lost with its cursor and
        // pulled again: it need not wait for the WAL to reach the disk.
        if let DbConn::Pg(pg) = c {
            use diesel::connection::SimpleConnection;
            pg.batch_execute("SET LOCAL synchronous_commit TO OFF")?;
        }
        // What is held of these ids, and the origins (JSON) of those that came from a peer:
        // only those may change here, and a tombstone keeps its item's origin.
        let mut held: HashMap<String, ObjectRow> = HashMap::new();
        let mut held_origin: HashMap<String, String> = HashMap::new();
        for chunk in looked_up.chunks(1000) {
            let rows: Vec<ObjectRow> =
                objects::table.filter(objects::id.eq_any(chunk)).select(ObjectRow::as_select()).load(c)?;
            // Only what is held can have been received before.
            if !rows.is_empty() {
                use crate::store::schema::object_versions;
                let by_seq: HashMap<i64, &str> = rows.iter().map(|r| (r.last_seq, r.id.as_str())).collect();
                let seqs: Vec<i64> = by_seq.keys().copied().collect();
                let got: Vec<(i64, Option<String>)> = object_versions::table
                    .filter(object_versions::seq.eq_any(&seqs))
                    .filter(object_versions::origin.is_not_null())
                    .select((object_versions::seq, object_versions::origin))
                    .load(c)?;
                for (seq, origin) in got {
                    if let (Some(id), Some(origin)) = (by_seq.get(&seq), origin) {
                        held_origin.insert(id.to_string(), origin);
                    }
                }
            }
            held.extend(rows.into_iter().map(|r| (r.id.clone(), r)));
        }
        let held_before = held.len();
        // (new row, the row it replaces, its STIX, its signature here (tombstones are
        // signed below), its origin as stored).
        type Write = (ObjectRow, Option<ObjectRow>, String, Option<String>, Option<String>);
        // Ids met more than once in the page (their rows are tracked as they change).
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let repeated: std::collections::HashSet<String> =
            ids.iter().filter(|id| !seen.insert(id.as_str())).cloned().collect();
        let mut writes: Vec<Write> = Vec::new();
        let mut seq = stored::max_seq(c)?;
        for step in steps {
            let id = match &step {
                Step::Version(a) => a.envelope.id.clone(),
                Step::Tombstone(id, _) => id.clone(),
            };
            let existing = held.get(&id).cloned();
            if existing.is_some() && !held_origin.contains_key(&id) {
                *applied.refused.entry(Refusal::OwnOrigin.as_str().into()).or_default() += 1;
                reasons.push(format!("{id}: an item published on this hub"));
                continue;
            }
            match step {
                Step::Version(mut accepted) => {
                    if existing.as_ref().is_some_and(|e| e.revision >= accepted.envelope.revision) {
                        applied.unchanged += 1;
                        continue;
                    }
                    seq += 1;
                    let mut row = std::mem::replace(&mut accepted.row, placeholder_row());
                    row.last_seq = seq;
                    row.first_seq = existing.as_ref().map_or(seq, |e| e.first_seq);
                    let origin = std::mem::take(&mut accepted.origin);
                    if repeated.contains(&id) {
                        held.insert(id.clone(), row.clone());
                        held_origin.insert(id, origin.clone());
                    }
                    let stix = std::mem::take(&mut accepted.stix);
                    let signature = std::mem::take(&mut accepted.signature);
                    writes.push((row, existing, stix, Some(signature), Some(origin)));
                }
                Step::Tombstone(id, revision) => {
                    let Some(current) = existing.filter(|e| e.revision < revision && e.status != "revoked") else {
                        applied.unchanged += 1;
                        continue;
                    };
                    seq += 1;
                    let (mut env, body) = stored::parts_of(&current)?;
                    env.status = Status::Revoked;
                    env.revision = revision;
                    let row = stored::object_row(&env, &body, seq, current.first_seq)?;
                    let stix = canonical_json(&to_stix(&env, &body));
                    let origin = held_origin.get(&id).cloned();
                    if repeated.contains(&id) {
                        held.insert(id, row.clone());
                    }
                    writes.push((row, Some(current), stix, None, origin));
                }
            }
        }
        // Received versions keep their origin's signature; the tombstones made here are
        // signed by this hub.
        let unsigned: Vec<&[u8]> =
            writes.iter().filter(|w| w.3.is_none()).map(|(_, _, s, _, _)| s.as_bytes()).collect();
        let mut tombstone_signatures = if unsigned.is_empty() {
            Vec::new()
        } else {
            // The hub's current key (another replica may have rotated it).
            local.keys.follow(c)?.key.sign_batch(&unsigned)
        }
        .into_iter();
        let now = now_text();
        let mut versions = Vec::with_capacity(writes.len());
        let mut new_rows: Vec<ObjectRow> = Vec::new();
        // An id written twice in one page keeps its last row.
        let mut updated: BTreeMap<String, ObjectRow> = BTreeMap::new();
        let mut new_ids: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (row, previous, stix, signature, origin) in writes {
            let signature = signature.or_else(|| tombstone_signatures.next()).unwrap_or_default();
            let mut version = stored::version_row(&row, previous.as_ref(), stix, signature);
            version.origin = origin;
            versions.push(version);
            if previous.is_some() || updated.contains_key(&row.id) || new_ids.contains(&row.id) {
                updated.insert(row.id.clone(), row);
            } else {
                new_ids.insert(row.id.clone());
                new_rows.push(row);
            }
        }
        applied.received = versions.len();
        // New objects before their versions (SQLite checks the versions' foreign key as
        // each row goes in); rows first inserted in this page and changed again later
        // are updated after.
        for chunk in new_rows.chunks(500) {
            crate::insert_rows!(c, objects::table, chunk).map_err(|e| match e {
                diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
                    if lookup == Lookup::Tombstones =>
                {
                    AppError::new(
                        ALREADY_HELD,
                        "the page holds an item this hub has already; it is pulled again and looked up",
                        "このページには既に保持している情報が含まれます。照合のうえ再取得します",
                    )
                }
                e => AppError::from(e),
            })?;
        }
        stored::stamp_added(c, versions.iter_mut())?;
        for chunk in versions.chunks(500) {
            crate::insert_rows!(c, crate::store::schema::object_versions::table, chunk)?;
        }
        for row in updated.values() {
            diesel::update(objects::table.find(&row.id)).set(row).execute(c)?;
        }
        pin_keys(c, &learned, &link.name)?;
        let status = status_of(c, &link.name)?;
        let refused = add_refusals(&status, &applied.refused);
        diesel::update(peer_status::table.find(&link.name))
            .set((
                peer_status::cursor.eq(cursor),
                peer_status::peer_head.eq(head),
                peer_status::received.eq(status.received + applied.received as i64),
                peer_status::refused.eq(refused),
                peer_status::last_error.eq(reasons.first().map(|r| format!("refused {r}"))),
                peer_status::last_success_at.eq(Some(now.clone())),
                peer_status::last_attempt_at.eq(Some(now.clone())),
            ))
            .execute(c)?;
        audit_refusals(c, local.keys, &link.name, &applied.refused, &reasons)?;
        // The objects as they now are (for this process's lookup index).
        let mut rows = new_rows;
        rows.retain(|r| !updated.contains_key(&r.id));
        rows.extend(updated.into_values());
        Ok(Stored { applied, rows, held: held_before })
    });
    tracing::debug!(items, store_ms = started.elapsed().as_secs_f64() * 1e3, "federation page stored");
    result
}

/// Pins the origin keys first met in a page (another key for a pinned hub was refused).
pub(crate) fn pin_keys(conn: &mut DbConn, learned: &HashMap<String, String>, via: &str) -> AppResult<()> {
    let now = now_text();
    for (hub, key) in learned {
        let known: Option<String> = hub_keys::table.find(hub).select(hub_keys::public_key).first(conn).optional()?;
        if known.is_none() {
            diesel::insert_into(hub_keys::table)
                .values((
                    hub_keys::hub.eq(hub),
                    hub_keys::public_key.eq(key),
                    hub_keys::learned_via.eq(via),
                    hub_keys::learned_at.eq(&now),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// The link's refusal counts with a page's added, as stored in `peer_status.refused`.
pub(crate) fn add_refusals(status: &PeerStatusRow, page: &BTreeMap<String, usize>) -> String {
    let mut refused = status.refused_counts();
    for (reason, n) in page {
        *refused.entry(reason.clone()).or_default() += *n as i64;
    }
    json!(refused).to_string()
}

/// Audits what a page brought that was refused (the first few reasons).
pub(crate) fn audit_refusals(
    conn: &mut DbConn,
    keys: &HubKeys,
    link_name: &str,
    refused: &BTreeMap<String, usize>,
    reasons: &[String],
) -> AppResult<()> {
    if refused.is_empty() {
        return Ok(());
    }
    audit::append(
        conn,
        keys,
        AuditEvent {
            action: "peer.refused".into(),
            target: Some(link_name.to_string()),
            detail: json!({"refused": refused, "first": reasons.iter().take(5).collect::<Vec<_>>()}),
            ..Default::default()
        },
    )?;
    Ok(())
}
