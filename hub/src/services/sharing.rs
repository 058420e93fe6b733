//! Sharing: validating and publishing new items, revoking them, and every read of
//! shared objects (lists, lookups by id and by value, the change feed). Every read
//! decides visibility through `renkei_schema::tlp`, nowhere else.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;
use std::collections::HashSet;

use renkei_schema::model::indicator::{normalize, IndicatorType};
use renkei_schema::model::{Body, Envelope, Kind};
use renkei_schema::stix::{canonical_json, to_stix};
use renkei_schema::tlp::{feed_entry, visibility, FeedEntry, ItemAccess, Status, Tlp, Viewer, Visibility};

use super::audit::{self, AuditEvent};
use super::moderation::Route;
use crate::auth::Identity;
use crate::crypto::HubKeys;
use crate::error::{AppError, AppResult, EntryError};
use crate::store::models::{ModerationRow, ObjectRow, VersionRow};
use crate::store::schema::{moderation, object_versions, objects, organizations};
use crate::store::{acquire_write_lock, now_text, time_text, DbConn};

/// How an item is shared.
#[derive(Debug, Clone)]
pub struct Sharing {
    pub tlp: Tlp,
    pub recipients: Vec<String>,
    pub anonymous: bool,
    pub confidence: Option<u8>,
    pub valid_until: Option<DateTime<Utc>>,
    pub labels: Vec<String>,
}

/// Where the hub's own signing identity comes in.
pub struct Origin<'a> {
    pub hub_id: &'a str,
    pub keys: &'a HubKeys,
    /// How ratings derived from what is written are computed (configured).
    pub rating_rules: &'a renkei_schema::supply::rating::RatingRules,
}

fn parse_recipients(json_text: &str) -> Vec<String> {
    // Almost every item has none; the feed parses this for every version it scans.
    if json_text == "[]" {
        return Vec::new();
    }
    serde_json::from_str(json_text).unwrap_or_default()
}

/// The access attributes of an object row, for the policy.
pub struct Access {
    pub tlp: Tlp,
    pub recipients: Vec<String>,
    pub status: Status,
    pub submitter: String,
    pub anonymous: bool,
    /// The hubs a received item crossed (see `ItemAccess::path`); loaded only where a
    /// peer hub reads.
    pub path: Vec<String>,
}

impl Access {
    fn parse(tlp: &str, recipients: &str, status: &str, submitter: &str, anonymous: bool) -> AppResult<Access> {
        Ok(Access {
            tlp: tlp.parse().map_err(AppError::internal)?,
            recipients: parse_recipients(recipients),
            status: Status::parse(status).ok_or_else(|| AppError::internal(format!("bad status {status}")))?,
            submitter: submitter.to_string(),
            anonymous,
            path: Vec::new(),
        })
    }

    pub fn of_object(row: &ObjectRow) -> AppResult<Access> {
        Access::parse(&row.tlp, &row.recipients, &row.status, &row.submitter_org, row.anonymous)
    }

    pub fn item(&self) -> ItemAccess<'_> {
        ItemAccess {
            tlp: self.tlp,
            recipients: &self.recipients,
            status: self.status,
            submitter: &self.submitter,
            anonymous: self.anonymous,
            path: &self.path,
        }
    }
}

/// Checks the sharing options: RED needs recipients, only RED takes them, and each
/// recipient is an organisation of this hub.
pub fn validate_sharing(conn: &mut DbConn, sharing: &mut Sharing) -> AppResult<()> {
    let mut seen = HashSet::new();
    sharing.recipients.retain(|r| seen.insert(r.clone()));
    if sharing.tlp == Tlp::Red && sharing.recipients.is_empty() {
        return Err(AppError::new(
            "TLP_RED_NEEDS_RECIPIENTS",
            "TLP:RED items must name their recipient organisations",
            "TLP:REDの情報には受領組織を指定してください",
        ));
    }
    if sharing.tlp != Tlp::Red && !sharing.recipients.is_empty() {
        return Err(AppError::new(
            "RECIPIENTS_ONLY_FOR_RED",
            format!("recipients are only for TLP:RED; {} is shared by its label", sharing.tlp),
            format!("受領組織の指定はTLP:REDのみです（{}はラベルに従って共有されます）", sharing.tlp),
        ));
    }
    if !sharing.recipients.is_empty() {
        let known: Vec<String> = organizations::table
            .filter(organizations::id.eq_any(&sharing.recipients))
            .select(organizations::id)
            .load(conn)?;
        let unknown: Vec<&String> = sharing.recipients.iter().filter(|r| !known.contains(r)).collect();
        if !unknown.is_empty() {
            return Err(AppError::new(
                "UNKNOWN_RECIPIENT",
                format!(
                    "no organisation with id {}",
                    unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
                format!(
                    "該当する組織がありません: {}",
                    unknown.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ));
        }
    }
    if let Some(c) = sharing.confidence {
        if c > 100 {
            return Err(AppError::invalid("confidence is 0–100", "確信度は0〜100で指定してください"));
        }
    }
    if sharing.valid_until.is_some_and(|t| t <= Utc::now()) {
        return Err(AppError::invalid("validUntil is in the past", "validUntilが過去の日時です"));
    }
    Ok(())
}

/// Normalises a batch of indicators; one bad value rejects the batch, naming every
/// bad entry by index.
pub fn normalize_indicators(input: Vec<(IndicatorType, String, Option<String>)>) -> AppResult<Vec<Body>> {
    let mut bodies = Vec::with_capacity(input.len());
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (index, (kind, value, description)) in input.into_iter().enumerate() {
        match normalize(kind, &value) {
            Ok(value) => {
                if !seen.insert((kind, value.clone())) {
                    errors.push(EntryError {
                        index,
                        code: "DUPLICATE_IN_BATCH",
                        message: format!("{value} appears twice in this batch"),
                        message_ja: format!("{value} がこのバッチに重複しています"),
                    });
                    continue;
                }
                let description = match description {
                    Some(d) => Some(
                        renkei_schema::model::clean_text("description", &d, 10_000)
                            .map_err(|e| AppError::invalid(e.to_string(), e.message_ja()))?,
                    ),
                    None => None,
                };
                bodies.push(Body::Indicator(renkei_schema::model::IndicatorBody {
                    indicator_type: kind,
                    value,
                    description,
                }));
            }
            Err(e) => {
                errors.push(EntryError { index, code: "INVALID_INDICATOR", message: e.reason, message_ja: e.reason_ja })
            }
        }
    }
    if !errors.is_empty() {
        let first = errors[0].index;
        return Err(AppError::new(
            "INVALID_INDICATOR",
            format!("{} invalid indicator(s), first at index {first}; nothing was stored", errors.len()),
            format!("不正な指標が{}件あります（最初はインデックス{first}）。何も保存されていません", errors.len()),
        )
        .with_entries(errors));
    }
    Ok(bodies)
}

/// The last sequence number taken: by an object version, a rating-change event or an
/// audit checkpoint (all are entries of the change feed).
pub fn max_seq(conn: &mut DbConn) -> QueryResult<i64> {
    use crate::store::schema::{audit_checkpoints, rating_events};
    let versions: Option<i64> = object_versions::table.select(diesel::dsl::max(object_versions::seq)).first(conn)?;
    let events: Option<i64> = rating_events::table.select(diesel::dsl::max(rating_events::seq)).first(conn)?;
    let checkpoints: Option<i64> =
        audit_checkpoints::table.select(diesel::dsl::max(audit_checkpoints::seq)).first(conn)?;
    Ok(versions.unwrap_or(0).max(events.unwrap_or(0)).max(checkpoints.unwrap_or(0)))
}

/// A new version's `modified`: now, but strictly after the previous version's.
fn next_modified(previous: Option<DateTime<Utc>>) -> DateTime<Utc> {
    let now = Utc::now();
    let now = now - chrono::Duration::nanoseconds(i64::from(now.timestamp_subsec_nanos() % 1_000_000));
    match previous {
        Some(p) if now <= p => p + chrono::Duration::milliseconds(1),
        _ => now,
    }
}

/// What the `envelope` column keeps: the envelope fields that have no column of their
/// own (the rest — id, kind, revision, label, recipients, status, submitter and
/// anonymity — are columns). Rows written before this held the whole envelope, which
/// reads the same way (the extra fields are ignored).
#[derive(serde::Serialize, serde::Deserialize)]
struct EnvelopeRest {
    created: DateTime<Utc>,
    modified: DateTime<Utc>,
    origin_hub: String,
    confidence: Option<u8>,
    valid_from: DateTime<Utc>,
    /// Also a column, but stored there to the microsecond only.
    valid_until: Option<DateTime<Utc>>,
    labels: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    status_reason: Option<String>,
}

/// The envelope of an object's current version, from its row.
pub fn envelope_of(row: &ObjectRow) -> AppResult<Envelope> {
    let rest: EnvelopeRest = serde_json::from_str(&row.envelope).map_err(AppError::internal)?;
    let access = Access::of_object(row)?;
    Ok(Envelope {
        id: row.id.clone(),
        kind: Kind::parse(&row.kind).ok_or_else(|| AppError::internal(format!("kind {}", row.kind)))?,
        revision: row.revision,
        created: rest.created,
        modified: rest.modified,
        origin_hub: rest.origin_hub,
        created_by: access.submitter,
        anonymous: access.anonymous,
        tlp: access.tlp,
        recipients: access.recipients,
        status: access.status,
        status_reason: rest.status_reason,
        confidence: rest.confidence,
        valid_from: rest.valid_from,
        valid_until: rest.valid_until,
        labels: rest.labels,
    })
}

pub(crate) fn object_row(env: &Envelope, body: &Body, seq: i64, first_seq: i64) -> AppResult<ObjectRow> {
    let (indicator_type, indicator_value) = match body {
        Body::Indicator(b) => (Some(b.indicator_type.as_str().to_string()), Some(b.value.clone())),
        _ => (None, None),
    };
    Ok(ObjectRow {
        id: env.id.clone(),
        kind: env.kind.as_str().into(),
        revision: env.revision,
        tlp: env.tlp.as_str().into(),
        recipients: serde_json::to_string(&env.recipients).map_err(AppError::internal)?,
        status: env.status.as_str().into(),
        submitter_org: env.created_by.clone(),
        anonymous: env.anonymous,
        valid_until: env.valid_until.as_ref().map(time_text),
        indicator_type,
        indicator_value,
        envelope: serde_json::to_string(&EnvelopeRest {
            created: env.created,
            modified: env.modified,
            origin_hub: env.origin_hub.clone(),
            confidence: env.confidence,
            valid_from: env.valid_from,
            valid_until: env.valid_until,
            labels: env.labels.clone(),
            status_reason: env.status_reason.clone(),
        })
        .map_err(AppError::internal)?,
        body: serde_json::to_string(body).map_err(AppError::internal)?,
        first_seq,
        last_seq: seq,
    })
}

pub(crate) fn version_row(
    row: &ObjectRow,
    previous: Option<&ObjectRow>,
    stix: String,
    signature: String,
) -> VersionRow {
    VersionRow {
        seq: row.last_seq,
        object_id: row.id.clone(),
        revision: row.revision,
        kind: row.kind.clone(),
        tlp: row.tlp.clone(),
        recipients: row.recipients.clone(),
        status: row.status.clone(),
        submitter_org: row.submitter_org.clone(),
        anonymous: row.anonymous,
        prev_tlp: previous.map(|p| p.tlp.clone()),
        prev_recipients: previous.map(|p| p.recipients.clone()),
        prev_status: previous.map(|p| p.status.clone()),
        stix,
        signature,
        recorded_at: now_text(),
        origin: None,
    }
}

/// Batches at least this large are prepared (signed) on several threads.
const PARALLEL_PREPARE: usize = 200;

/// Rows per multi-row INSERT: well under SQLite's bound-parameter limit.
const INSERT_CHUNK: usize = 500;

/// Records the queued items of a submission: one moderation row for the whole call
/// (the items' own status says which are pending). Returns how many were queued.
fn record_queued(c: &mut DbConn, actor: &Identity, rows: &[ObjectRow], routes: &[Route]) -> AppResult<usize> {
    let queued: Vec<(&ObjectRow, &String)> = rows
        .iter()
        .zip(routes)
        .filter_map(|(r, route)| match route {
            Route::Queue(because) => Some((r, because)),
            Route::Publish => None,
        })
        .collect();
    let (Some(first), Some(last)) = (queued.first(), queued.last()) else {
        return Ok(0);
    };
    // The commonest reason is the submission's; items queued for another are listed.
    let mut counts: std::collections::HashMap<&String, usize> = std::collections::HashMap::new();
    for (_, why) in &queued {
        *counts.entry(*why).or_default() += 1;
    }
    let common = counts.into_iter().max_by_key(|(_, n)| *n).map(|(why, _)| why.clone()).unwrap_or_default();
    let item_reasons: serde_json::Map<String, serde_json::Value> = queued
        .iter()
        .filter(|(_, why)| **why != common)
        .map(|(r, why)| (r.id.clone(), serde_json::Value::String((*why).clone())))
        .collect();
    let record = ModerationRow {
        id: format!("submission--{}", uuid::Uuid::new_v4()),
        kind: first.0.kind.clone(),
        first_seq: first.0.first_seq,
        last_seq: last.0.first_seq,
        submitter_org: actor.org_id.clone(),
        submitted_token: actor.token_id.clone(),
        submitted_at: now_text(),
        queued_because: common,
        item_reasons: serde_json::Value::Object(item_reasons).to_string(),
        is_open: true,
    };
    diesel::insert_into(moderation::table).values(&record).execute(c)?;
    Ok(queued.len())
}

/// Indexes the supplier of each assessment in a batch (see `assessment_subjects`).
fn record_subjects(c: &mut DbConn, rows: &[ObjectRow], parts: &[(Envelope, Body)]) -> AppResult<()> {
    use crate::store::schema::assessment_subjects as subjects;
    for (row, (_, body)) in rows.iter().zip(parts) {
        if let Body::Assessment(b) = body {
            diesel::insert_into(subjects::table)
                .values((
                    subjects::object_id.eq(&row.id),
                    subjects::supplier_id.eq(&b.supplier_id),
                    subjects::first_seq.eq(row.first_seq),
                ))
                .execute(c)?;
        }
    }
    Ok(())
}

/// A newly published item, with its parsed parts (so callers need not re-read them).
pub struct Published {
    pub row: ObjectRow,
    pub envelope: Envelope,
    pub body: Body,
}

/// Publishes new items in one transaction: all are stored, signed and sequenced, or none.
///
/// The costly part (STIX mapping, canonical JSON, Ed25519 signing, serialising) runs
/// before the write lock is taken, so concurrent batches prepare in parallel and only
/// sequencing and inserting are serialised.
pub fn publish_new(
    conn: &mut DbConn,
    origin: &Origin<'_>,
    actor: &Identity,
    bodies: Vec<Body>,
    mut sharing: Sharing,
    routes: &[Route],
    valid_days: &crate::config::DaysPerType,
) -> AppResult<Vec<Published>> {
    if routes.len() != bodies.len() {
        return Err(AppError::internal("one route per item"));
    }
    // Procurement teams share supplier assessments, nothing else.
    let assessments_only = bodies.iter().all(|b| matches!(b, Body::Assessment(_)));
    if !(actor.may_share() || (assessments_only && actor.role == crate::auth::Role::Procurement)) {
        return Err(AppError::forbidden("share items"));
    }
    // Organisations are never deleted, so recipients checked here stay valid.
    validate_sharing(conn, &mut sharing)?;
    let now = next_modified(None);
    let prepare = |(body, status): (Body, Status)| -> AppResult<(ObjectRow, VersionRow, (Envelope, Body))> {
        let kind = body.kind();
        let envelope = Envelope {
            id: kind.new_id(),
            kind,
            revision: 1,
            created: now,
            modified: now,
            origin_hub: origin.hub_id.to_string(),
            created_by: actor.org_id.clone(),
            anonymous: sharing.anonymous,
            tlp: sharing.tlp,
            recipients: sharing.recipients.clone(),
            status,
            status_reason: None,
            confidence: sharing.confidence,
            valid_from: now,
            // Indicators shared without an end get their type's default lifetime.
            valid_until: sharing.valid_until.or_else(|| match &body {
                Body::Indicator(b) => match valid_days.get(b.indicator_type) {
                    0 => None,
                    days => Some(now + chrono::Duration::days(i64::from(days))),
                },
                _ => None,
            }),
            labels: sharing.labels.clone(),
        };
        // The canonical form is both what is signed and what is stored and sent.
        let stix = canonical_json(&to_stix(&envelope, &body));
        // Sequence numbers are filled in under the lock, signatures once the whole
        // batch is prepared.
        let row = object_row(&envelope, &body, 0, 0)?;
        let version = version_row(&row, None, stix, String::new());
        Ok((row, version, (envelope, body)))
    };
    // Mapping and serialising cost about 15 µs an object; large batches use every core.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    let bodies: Vec<(Body, Status)> = bodies.into_iter().zip(routes.iter().map(Route::status)).collect();
    let prepared: Vec<(ObjectRow, VersionRow, (Envelope, Body))> = if bodies.len() >= PARALLEL_PREPARE && threads > 1 {
        let per_thread = bodies.len().div_ceil(threads);
        let mut chunks: Vec<Vec<(Body, Status)>> = Vec::with_capacity(threads);
        let mut bodies = bodies;
        while !bodies.is_empty() {
            let rest = bodies.split_off(per_thread.min(bodies.len()));
            chunks.push(std::mem::replace(&mut bodies, rest));
        }
        let results: Vec<AppResult<Vec<_>>> = std::thread::scope(|scope| {
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|chunk| scope.spawn(|| chunk.into_iter().map(prepare).collect::<AppResult<Vec<_>>>()))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().unwrap_or_else(|_| Err(AppError::internal("preparing thread panicked"))))
                .collect()
        });
        let mut all = Vec::new();
        for part in results {
            all.extend(part?);
        }
        all
    } else {
        bodies.into_iter().map(prepare).collect::<AppResult<Vec<_>>>()?
    };
    let mut rows = Vec::with_capacity(prepared.len());
    let mut versions = Vec::with_capacity(prepared.len());
    let mut parts = Vec::with_capacity(prepared.len());
    for (row, version, part) in prepared {
        rows.push(row);
        versions.push(version);
        parts.push(part);
    }
    // One Ed25519 signature per Merkle tree of the batch; each version carries its
    // inclusion proof.
    let stix: Vec<&[u8]> = versions.iter().map(|v| v.stix.as_bytes()).collect();
    let signatures = origin.keys.signing.sign_batch(&stix);
    for (version, signature) in versions.iter_mut().zip(signatures) {
        version.signature = signature;
    }
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let first = max_seq(c)? + 1;
        for (seq, (row, version)) in (first..).zip(rows.iter_mut().zip(versions.iter_mut())) {
            row.first_seq = seq;
            row.last_seq = seq;
            version.seq = seq;
        }
        for chunk in rows.chunks(INSERT_CHUNK) {
            crate::insert_rows!(c, objects::table, chunk)?;
        }
        for chunk in versions.chunks(INSERT_CHUNK) {
            crate::insert_rows!(c, object_versions::table, chunk)?;
        }
        let queued = record_queued(c, actor, &rows, routes)?;
        record_subjects(c, &rows, &parts)?;
        // Published assessments change their suppliers' ratings (pending ones do not count).
        let mut rated: Vec<String> = rows
            .iter()
            .zip(&parts)
            .filter(|(row, _)| row.status == Status::Published.as_str())
            .filter_map(|(_, (_, body))| match body {
                Body::Assessment(a) => Some(a.supplier_id.clone()),
                _ => None,
            })
            .collect();
        rated.sort();
        rated.dedup();
        super::ratings::refresh(c, origin, &rated, Utc::now())?;
        let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect::<HashSet<_>>().into_iter().collect();
        audit::append(
            c,
            origin.keys,
            AuditEvent {
                actor_org: Some(actor.org_id.clone()),
                actor_token: Some(actor.token_id.clone()),
                action: "share".into(),
                target: rows.first().map(|r| r.id.clone()),
                detail: json!({
                    "count": rows.len(),
                    "kinds": kinds,
                    "tlp": sharing.tlp.as_str(),
                    "anonymous": sharing.anonymous,
                    "queued": queued,
                    "firstSeq": rows.first().map(|r| r.last_seq),
                    "lastSeq": rows.last().map(|r| r.last_seq),
                }),
                source: actor.source.clone(),
            },
        )?;
        Ok::<_, AppError>(())
    })?;
    Ok(rows.into_iter().zip(parts).map(|(row, (envelope, body))| Published { row, envelope, body }).collect())
}

/// The envelope and body of an object's current version.
pub fn parts_of(row: &ObjectRow) -> AppResult<(Envelope, Body)> {
    let body: Body = serde_json::from_str(&row.body).map_err(AppError::internal)?;
    Ok((envelope_of(row)?, body))
}

/// Stores the next version of an existing object: `env` is the current envelope with
/// the caller's changes; revision, `modified` and sequence number are set here, and
/// the version is signed. Call inside the transaction, holding the write lock.
pub fn write_next_version(
    c: &mut DbConn,
    origin: &Origin<'_>,
    current: &ObjectRow,
    mut env: Envelope,
    body: &Body,
) -> AppResult<ObjectRow> {
    // Only the origin hub makes new versions; a received item changes when its origin
    // sends one.
    if env.origin_hub != origin.hub_id {
        return Err(AppError::new(
            "NOT_ORIGIN",
            format!("this item comes from hub {}; only its origin may change it", env.origin_hub),
            format!("この情報はハブ{}から受信したものです。変更できるのは発信元ハブのみです", env.origin_hub),
        ));
    }
    env.revision = current.revision + 1;
    env.modified = next_modified(Some(env.modified));
    let seq = max_seq(c)? + 1;
    let stix = canonical_json(&to_stix(&env, body));
    let signature = origin.keys.signing.sign_batch(&[stix.as_bytes()]).concat();
    let row = object_row(&env, body, seq, current.first_seq)?;
    let version = version_row(&row, Some(current), stix, signature);
    diesel::insert_into(object_versions::table).values(&version).execute(c)?;
    diesel::update(objects::table.find(&current.id)).set(&row).execute(c)?;
    // Any new version of an assessment (published, relabelled, corrected, revoked) can
    // change its supplier's ratings.
    if let Body::Assessment(a) = body {
        super::ratings::refresh(c, origin, std::slice::from_ref(&a.supplier_id), Utc::now())?;
    }
    Ok(row)
}

/// An item a writer acts on, with its access attributes; one the viewer may not know
/// exists (hidden by the policy) is answered exactly like a missing one.
pub fn load_known(conn: &mut DbConn, viewer: &Viewer<'_>, id: &str) -> AppResult<(ObjectRow, Access)> {
    let current = load_object(conn, id)?.ok_or_else(|| AppError::not_found("item"))?;
    let access = Access::of_object(&current)?;
    if visibility(viewer, &access.item()) == Visibility::Hidden {
        return Err(AppError::not_found("item"));
    }
    Ok((current, access))
}

pub fn load_object(conn: &mut DbConn, id: &str) -> AppResult<Option<ObjectRow>> {
    Ok(objects::table.find(id).select(ObjectRow::as_select()).first(conn).optional()?)
}

/// Revokes an item: a new, signed version with status revoked, which the change feed
/// turns into a tombstone for everyone who held it.
pub fn revoke(
    conn: &mut DbConn,
    origin: &Origin<'_>,
    actor: &Identity,
    id: &str,
    reason: &str,
) -> AppResult<ObjectRow> {
    let reason = renkei_schema::model::clean_text("reason", reason, 2000)
        .map_err(|e| AppError::new("REASON_REQUIRED", e.to_string(), e.message_ja()))?;
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let (current, access) = load_known(c, &actor.viewer(), id)?;
        let is_submitter = access.submitter == actor.org_id;
        // Submitters withdraw what they may share: procurement teams their assessments.
        let may_share_this = actor.may_share()
            || (actor.role == crate::auth::Role::Procurement && current.kind == Kind::Assessment.as_str());
        let may_revoke = actor.is_coordinator() || (is_submitter && may_share_this);
        if !may_revoke {
            return Err(AppError::forbidden("revoke an item shared by another organisation"));
        }
        if access.status == Status::Revoked {
            return Err(AppError::new(
                "ALREADY_REVOKED",
                "the item is already revoked",
                "この情報は既に取り消されています",
            ));
        }
        let (mut env, body) = parts_of(&current)?;
        env.status = Status::Revoked;
        env.status_reason = Some(reason.clone());
        let row = write_next_version(c, origin, &current, env, &body)?;
        if access.status == Status::Pending {
            // A submission withdrawn (or dropped) while queued leaves the queue.
            super::moderation::close_if_decided(c, &row)?;
        }
        audit::append(
            c,
            origin.keys,
            AuditEvent {
                actor_org: Some(actor.org_id.clone()),
                actor_token: Some(actor.token_id.clone()),
                action: "revoke".into(),
                target: Some(id.to_string()),
                detail: json!({"reason": reason, "revision": row.revision}),
                source: actor.source.clone(),
            },
        )?;
        Ok(row)
    })
}

/// One object by id, if the viewer may read it; otherwise as if it did not exist.
pub fn get(conn: &mut DbConn, viewer: &Viewer<'_>, id: &str) -> AppResult<Option<ObjectRow>> {
    let Some(row) = load_object(conn, id)? else {
        return Ok(None);
    };
    let access = Access::of_object(&row)?;
    Ok((visibility(viewer, &access.item()) == Visibility::Full).then_some(row))
}

/// Filters of the list queries.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub indicator_type: Option<IndicatorType>,
    pub tlp: Option<Tlp>,
    pub include_revoked: bool,
    /// Only published items whose validUntil has not passed.
    pub active: bool,
    /// Only indicators scoring at least this (see `renkei_schema::score`).
    pub min_score: Option<ScoreFloor>,
}

/// A score threshold and the half-lives the scores decay by.
#[derive(Debug, Clone)]
pub struct ScoreFloor {
    pub min: u8,
    pub half_life_days: crate::config::DaysPerType,
}

/// The current score of an indicator row, given its sightings aggregate.
pub fn indicator_score(
    row: &ObjectRow,
    sightings: Option<&super::sightings::Summary>,
    half_life_days: &crate::config::DaysPerType,
) -> AppResult<u8> {
    let env = envelope_of(row)?;
    let kind = row.indicator_type.as_deref().and_then(IndicatorType::parse);
    let half_life = kind.map_or(30, |k| half_life_days.get(k));
    let input = renkei_schema::score::ScoreInput {
        confidence: env.confidence,
        published: env.valid_from,
        last_seen: sightings.and_then(|s| s.last_seen.as_deref()).and_then(crate::store::parse_time),
        false_positive_organizations: sightings.map_or(0, |s| s.false_positive_organizations),
        valid_until: env.valid_until,
        half_life_days: f64::from(half_life),
    };
    Ok(renkei_schema::score::score(&input, Utc::now()))
}

/// A page of one kind's objects the viewer may read, in order of first publication;
/// `after` is the `first_seq` of the last object of the previous page.
pub fn list(
    conn: &mut DbConn,
    viewer: &Viewer<'_>,
    kind: Kind,
    filter: &ListFilter,
    first: usize,
    after: i64,
) -> AppResult<(Vec<ObjectRow>, bool)> {
    let mut out = Vec::with_capacity(first);
    let mut cursor = after;
    let batch = (first * 2).clamp(64, 5000) as i64;
    let now = now_text();
    loop {
        let mut query =
            objects::table.filter(objects::kind.eq(kind.as_str())).filter(objects::first_seq.gt(cursor)).into_boxed();
        if let Some(t) = filter.indicator_type {
            query = query.filter(objects::indicator_type.eq(t.as_str()));
        }
        if let Some(t) = filter.tlp {
            query = query.filter(objects::tlp.eq(t.as_str()));
        }
        let rows: Vec<ObjectRow> =
            query.order(objects::first_seq.asc()).limit(batch).select(ObjectRow::as_select()).load(conn)?;
        let exhausted = (rows.len() as i64) < batch;
        let mut passed = Vec::with_capacity(rows.len());
        for row in rows {
            cursor = row.first_seq;
            let access = Access::of_object(&row)?;
            if visibility(viewer, &access.item()) != Visibility::Full {
                continue;
            }
            if access.status == Status::Revoked && !filter.include_revoked {
                continue;
            }
            if filter.active
                && (access.status != Status::Published || row.valid_until.as_ref().is_some_and(|u| *u <= now))
            {
                continue;
            }
            passed.push(row);
        }
        // Scores need the sightings of the rows that passed, read in one query.
        let summaries = match &filter.min_score {
            Some(_) => {
                let ids: Vec<String> = passed.iter().map(|r| r.id.clone()).collect();
                super::sightings::summaries(conn, &ids)?
            }
            None => Default::default(),
        };
        for row in passed.drain(..) {
            if let Some(floor) = &filter.min_score {
                if indicator_score(&row, summaries.get(&row.id), &floor.half_life_days)? < floor.min {
                    continue;
                }
            }
            if out.len() == first {
                return Ok((out, true));
            }
            out.push(row);
        }
        if exhausted {
            return Ok((out, false));
        }
    }
}

/// TLP:RED items whose existence (not content) the viewer may see: for coordinators,
/// those they are not named on. In order of first publication after `after`.
pub fn restricted(
    conn: &mut DbConn,
    viewer: &Viewer<'_>,
    first: usize,
    after: i64,
) -> AppResult<(Vec<ObjectRow>, bool)> {
    let mut out = Vec::with_capacity(first);
    let mut cursor = after;
    let batch = (first * 2).clamp(64, 5000) as i64;
    loop {
        // Written literally so that the partial index objects_red applies.
        let rows: Vec<ObjectRow> = objects::table
            .filter(diesel::dsl::sql::<diesel::sql_types::Bool>("tlp = 'TLP:RED'"))
            .filter(objects::first_seq.gt(cursor))
            .order(objects::first_seq.asc())
            .limit(batch)
            .select(ObjectRow::as_select())
            .load(conn)?;
        let exhausted = (rows.len() as i64) < batch;
        for row in rows {
            cursor = row.first_seq;
            let access = Access::of_object(&row)?;
            if visibility(viewer, &access.item()) != Visibility::ExistenceOnly {
                continue;
            }
            if out.len() == first {
                return Ok((out, true));
            }
            out.push(row);
        }
        if exhausted {
            return Ok((out, false));
        }
    }
}

/// Refuses lookups of more than `max` values.
pub fn check_lookup_size(count: usize, max: usize) -> AppResult<()> {
    if count > max {
        return Err(AppError::new(
            "LOOKUP_TOO_LARGE",
            format!("at most {max} values per lookup; got {count}"),
            format!("1回の照会は{max}件までです（{count}件指定されました）"),
        ));
    }
    Ok(())
}

/// The objects with these ids that the viewer may read and that are not revoked.
pub fn get_many(conn: &mut DbConn, viewer: &Viewer<'_>, ids: &[String]) -> AppResult<Vec<ObjectRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows: Vec<ObjectRow> =
        objects::table.filter(objects::id.eq_any(ids)).select(ObjectRow::as_select()).load(conn)?;
    let mut visible = Vec::with_capacity(rows.len());
    for row in rows {
        let access = Access::of_object(&row)?;
        if access.status != Status::Revoked && visibility(viewer, &access.item()) == Visibility::Full {
            visible.push(row);
        }
    }
    Ok(visible)
}

/// One entry of the change feed.
#[derive(Debug, Clone)]
pub struct FeedItem {
    pub seq: i64,
    pub id: String,
    pub kind: String,
    pub revision: i64,
    pub tlp: String,
    pub deleted: bool,
    /// The STIX JSON of the version (absent on tombstones).
    pub stix: Option<String>,
    /// Made with this hub's key, or with the origin's for a received version.
    pub signature: Option<String>,
    /// Where a received version came from (absent on what this hub published, and on
    /// tombstones).
    pub origin: Option<super::federation::Origin>,
}

pub struct FeedPage {
    pub items: Vec<FeedItem>,
    pub cursor: i64,
    pub has_more: bool,
    /// What the items weigh ([`FeedItem::weight`]).
    pub bytes: usize,
}

impl FeedItem {
    /// What an item weighs in an answer: its object and signature, and the fields
    /// around them.
    pub fn weight(&self) -> usize {
        self.stix.as_ref().map_or(0, String::len) + self.signature.as_ref().map_or(0, String::len) + 160
    }
}

/// Versions the viewer may see after `after`, in sequence order, with tombstones for
/// what it held and may hold no longer, the rating-change events of its audience (see
/// `ratings::reaches`) and the hub's audit checkpoints (members only; see
/// `audit::publish_checkpoint`). Scans at most `scan_cap` rows per call so a member
/// who may see few items still gets a cursor that moves on, and ends the page before
/// its items weigh more than `max_bytes` (the first item always fits, so a follower
/// always moves on).
#[allow(clippy::too_many_arguments)]
pub fn changes(
    conn: &mut DbConn,
    viewer: &Viewer<'_>,
    indicators: bool,
    after: i64,
    limit: usize,
    scan_cap: usize,
    max_bytes: usize,
) -> AppResult<FeedPage> {
    use crate::store::models::{CheckpointRow, RatingEventRow};
    use crate::store::schema::{audit_checkpoints, rating_events};
    let own_audiences = super::ratings::own_audiences(conn, viewer.org)?;
    let peer = matches!(viewer.role, renkei_schema::tlp::ViewerRole::Peer(_));
    let mut items = Vec::with_capacity(limit.min(10_000));
    let mut cursor = after;
    let mut scanned = 0usize;
    let mut bytes = 0usize;
    let batch = limit.clamp(100, 10_000) as i64;
    loop {
        // The query is written into the macro so each backend's arm types its own.
        let rows: Vec<VersionRow> = crate::load_rows!(
            conn,
            object_versions::table
                .filter(object_versions::seq.gt(cursor))
                .order(object_versions::seq.asc())
                .limit(batch)
                .select(VersionRow::as_select()),
            VersionRow
        )?;
        // Rating events are this hub's own view of its members' assessments, and its
        // audit checkpoints are for its own members: neither travels to peers (the
        // assessments do).
        let (events, checkpoints): (Vec<RatingEventRow>, Vec<CheckpointRow>) = if peer {
            (Vec::new(), Vec::new())
        } else {
            (
                rating_events::table
                    .filter(rating_events::seq.gt(cursor))
                    .order(rating_events::seq.asc())
                    .limit(batch)
                    .select(RatingEventRow::as_select())
                    .load(conn)?,
                audit_checkpoints::table
                    .filter(audit_checkpoints::seq.gt(cursor))
                    .order(audit_checkpoints::seq.asc())
                    .limit(batch)
                    .select(CheckpointRow::as_select())
                    .load(conn)?,
            )
        };
        // Entries are known complete only up to the end of the shortest-reaching batch.
        let end_of = |full: bool, last: Option<i64>| if full { last.unwrap_or(i64::MAX) } else { i64::MAX };
        let upto = end_of(rows.len() as i64 == batch, rows.last().map(|r| r.seq))
            .min(end_of(events.len() as i64 == batch, events.last().map(|e| e.seq)))
            .min(end_of(checkpoints.len() as i64 == batch, checkpoints.last().map(|e| e.seq)));
        let exhausted = upto == i64::MAX;
        // Events and checkpoints in one sorted stream of side entries, each what the
        // viewer gets of it (an event of another audience is nothing).
        let mut side: Vec<(i64, Option<FeedItem>)> = events
            .into_iter()
            .filter(|e| e.seq <= upto)
            .map(|e| (e.seq, rating_item(e, viewer.org, &own_audiences)))
            .chain(checkpoints.into_iter().filter(|c| c.seq <= upto).map(|c| (c.seq, Some(checkpoint_item(c)))))
            .collect();
        side.sort_by_key(|(seq, _)| *seq);
        let mut side = side.into_iter().peekable();
        let mut rows = rows.into_iter().filter(|r| r.seq <= upto).peekable();
        loop {
            let next_side = side.peek().map(|(seq, _)| *seq);
            let next_row = rows.peek().map(|r| r.seq);
            let item = match (next_row, next_side) {
                (None, None) => break,
                (Some(r), Some(e)) if e < r => side.next().and_then(|(_, item)| item),
                (None, Some(_)) => side.next().and_then(|(_, item)| item),
                _ => match rows.next() {
                    // Callers who may not read indicators (procurement) skip them.
                    Some(row) if !indicators && row.kind == Kind::Indicator.as_str() => None,
                    Some(row) => version_item(viewer, row)?,
                    None => None,
                },
            };
            let seq = next_row.into_iter().chain(next_side).min().unwrap_or(cursor);
            if let Some(i) = &item {
                let weight = i.weight();
                if items.len() == limit || (!items.is_empty() && bytes + weight > max_bytes) {
                    return Ok(FeedPage { items, cursor, has_more: true, bytes });
                }
                bytes += weight;
            }
            cursor = seq;
            scanned += 1;
            items.extend(item);
        }
        if exhausted {
            return Ok(FeedPage { items, cursor, has_more: false, bytes });
        }
        cursor = upto;
        // A full page (or enough scanning) ends here rather than fetching another
        // batch only to stop at its first visible row.
        if items.len() == limit || scanned >= scan_cap {
            return Ok(FeedPage { items, cursor, has_more: true, bytes });
        }
    }
}

/// An audit checkpoint as a feed entry (every member gets it: it names nothing).
fn checkpoint_item(c: crate::store::models::CheckpointRow) -> FeedItem {
    FeedItem {
        seq: c.seq,
        id: c.id,
        kind: super::audit::FEED_KIND.into(),
        revision: 1,
        tlp: Tlp::Green.as_str().into(),
        deleted: false,
        stix: Some(c.stix),
        signature: Some(c.signature),
        origin: None,
    }
}

/// What the viewer gets of one version: the version, a tombstone, or nothing. A
/// received version carries its origin, and with it the path a peer's view depends on.
fn version_item(viewer: &Viewer<'_>, row: VersionRow) -> AppResult<Option<FeedItem>> {
    let origin: Option<super::federation::Origin> = match &row.origin {
        Some(text) => Some(serde_json::from_str(text).map_err(AppError::internal)?),
        None => None,
    };
    let path = origin.as_ref().map(|o| o.path.clone()).unwrap_or_default();
    let mut current = Access::parse(&row.tlp, &row.recipients, &row.status, &row.submitter_org, row.anonymous)?;
    let previous = match (&row.prev_tlp, &row.prev_recipients, &row.prev_status) {
        (Some(t), Some(r), Some(s)) => {
            let mut previous = Access::parse(t, r, s, &row.submitter_org, row.anonymous)?;
            previous.path = path.clone();
            Some(previous)
        }
        _ => None,
    };
    current.path = path;
    Ok(match feed_entry(viewer, &current.item(), previous.as_ref().map(|p| p.item()).as_ref()) {
        FeedEntry::Version => Some(FeedItem {
            seq: row.seq,
            id: row.object_id,
            kind: row.kind,
            revision: row.revision,
            tlp: row.tlp,
            deleted: false,
            stix: Some(row.stix),
            signature: Some(row.signature),
            origin,
        }),
        FeedEntry::Tombstone => Some(FeedItem {
            seq: row.seq,
            id: row.object_id,
            kind: row.kind,
            revision: row.revision,
            // The label the follower knew, not the one it lost access by.
            tlp: row.prev_tlp.unwrap_or(row.tlp),
            deleted: true,
            stix: None,
            signature: None,
            origin: None,
        }),
        FeedEntry::Skip => None,
    })
}

/// A rating-change event, if it is for the viewer's audience.
fn rating_item(
    e: crate::store::models::RatingEventRow,
    org: &str,
    own_audiences: &std::collections::HashMap<String, i64>,
) -> Option<FeedItem> {
    super::ratings::reaches(&e.audience, &e.supplier_id, e.seq, org, own_audiences).then(|| FeedItem {
        seq: e.seq,
        id: e.id,
        kind: super::ratings::FEED_KIND.into(),
        revision: 1,
        tlp: e.tlp,
        deleted: false,
        stix: Some(e.stix),
        signature: Some(e.signature),
        origin: None,
    })
}

/// The submitter of an object as this viewer may know it: `None` when hidden.
pub fn visible_submitter<'a>(viewer: &Viewer<'_>, row: &'a ObjectRow) -> AppResult<Option<&'a str>> {
    let access = Access::of_object(row)?;
    Ok(renkei_schema::tlp::may_see_submitter(viewer, &access.item()).then_some(row.submitter_org.as_str()))
}

/// Whether the viewer may see the RED recipient list: the submitter and coordinators.
pub fn may_see_recipients(viewer: &Viewer<'_>, row: &ObjectRow) -> bool {
    row.submitter_org == viewer.org || viewer.role == renkei_schema::tlp::ViewerRole::Coordinator
}
