//! Stored objects and their versions: the bottom layer every capability builds on.
//! An object's access attributes ([`Access`], what `renkei_schema::tlp` decides on),
//! its rows and envelope, loading it as a viewer may know it, writing its next signed
//! version, and the feed's sequence. Nothing here calls another service.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

use renkei_schema::model::{Body, Envelope, Kind};
use renkei_schema::stix::{canonical_json, to_stix};
use renkei_schema::tlp::{visibility, ItemAccess, Status, Tlp, Viewer, Visibility};

use crate::crypto::HubKeys;
use crate::error::{AppError, AppResult};
use crate::store::models::{ObjectRow, VersionRow};
use crate::store::schema::{object_versions, objects, organizations};
use crate::store::{now_text, time_text, DbConn};
use renkei_schema::errors::Code;

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

/// The hub as a signer: its id and keys, and the rules of the ratings it derives from
/// what it signs (configured). `Hub::signer` makes one.
pub struct Signer<'a> {
    pub hub_id: &'a str,
    pub keys: &'a HubKeys,
    /// How ratings derived from what is written are computed (configured).
    pub rating_rules: &'a renkei_schema::supply::rating::RatingRules,
}

pub(crate) fn parse_recipients(json_text: &str) -> Vec<String> {
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
    pub(crate) fn parse(
        tlp: &str,
        recipients: &str,
        status: &str,
        submitter: &str,
        anonymous: bool,
    ) -> AppResult<Access> {
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
    renkei_schema::tlp::check_audience(sharing.tlp, &sharing.recipients)?;
    if !sharing.recipients.is_empty() {
        let known: Vec<String> = organizations::table
            .filter(organizations::id.eq_any(&sharing.recipients))
            .select(organizations::id)
            .load(conn)?;
        let unknown: Vec<&String> = sharing.recipients.iter().filter(|r| !known.contains(r)).collect();
        if !unknown.is_empty() {
            return Err(AppError::new(
                Code::UnknownRecipient,
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

/// The last sequence number taken: by an object version, a rating-change event, an
/// audit checkpoint or a key announcement (all are entries of the change feed).
pub fn max_seq(conn: &mut DbConn) -> QueryResult<i64> {
    use crate::store::schema::{audit_checkpoints, hub_key_announcements, rating_events};
    let versions: Option<i64> = object_versions::table.select(diesel::dsl::max(object_versions::seq)).first(conn)?;
    let events: Option<i64> = rating_events::table.select(diesel::dsl::max(rating_events::seq)).first(conn)?;
    let checkpoints: Option<i64> =
        audit_checkpoints::table.select(diesel::dsl::max(audit_checkpoints::seq)).first(conn)?;
    let announcements: Option<i64> =
        hub_key_announcements::table.select(diesel::dsl::max(hub_key_announcements::seq)).first(conn)?;
    Ok(versions.unwrap_or(0).max(events.unwrap_or(0)).max(checkpoints.unwrap_or(0)).max(announcements.unwrap_or(0)))
}

/// Stamps versions about to be written (in sequence order, under the write lock) with
/// when this hub added them: now, on a whole millisecond, at least a millisecond after
/// the newest version already stored and after each other. TAXII's `date_added` is this
/// time, and a client that polls with `added_after` set to the last one it saw must miss
/// nothing and get nothing twice: so no two versions share one, and the times stay exact
/// for clients that keep only milliseconds (OpenCTI's JavaScript dates). A bulk write of
/// n versions so spans n milliseconds.
pub fn stamp_added<'a>(conn: &mut DbConn, versions: impl IntoIterator<Item = &'a mut VersionRow>) -> QueryResult<()> {
    let newest: Option<String> = object_versions::table
        .order(object_versions::seq.desc())
        .select(object_versions::recorded_at)
        .first(conn)
        .optional()?;
    let newest = newest
        .and_then(|t| DateTime::parse_from_rfc3339(&t).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    let now = Utc::now();
    let now = now - chrono::Duration::nanoseconds(i64::from(now.timestamp_subsec_nanos() % 1_000_000));
    let after_newest = newest + chrono::Duration::milliseconds(1);
    let newest_ms =
        after_newest - chrono::Duration::nanoseconds(i64::from(after_newest.timestamp_subsec_nanos() % 1_000_000));
    let mut next = if now > newest { now } else { newest_ms };
    for version in versions {
        version.recorded_at = time_text(&next);
        next += chrono::Duration::milliseconds(1);
    }
    Ok(())
}

/// A new version's `modified`: now, but strictly after the previous version's.
pub(crate) fn next_modified(previous: Option<DateTime<Utc>>) -> DateTime<Utc> {
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

/// Whether an object's current version is sealed TLP:RED (`Body::Sealed`), which the
/// hub cannot read: exports and TAXII leave it out. The body column is serde's JSON of
/// `Body`, whose tag comes first.
pub fn is_sealed(row: &ObjectRow) -> bool {
    row.body.starts_with("{\"kind\":\"sealed\"")
}

/// Whether a stored STIX object (canonical JSON, keys sorted) is a sealed item's: its
/// extension holds the envelope under `sealed`, whose first key is `batch`. A string
/// value cannot hold the unescaped quotes, so only that property matches.
pub fn stix_is_sealed(stix: &str) -> bool {
    stix.contains("\"sealed\":{\"batch\":")
}

/// The envelope and body of an object's current version.
pub fn parts_of(row: &ObjectRow) -> AppResult<(Envelope, Body)> {
    let body: Body = serde_json::from_str(&row.body).map_err(AppError::internal)?;
    Ok((envelope_of(row)?, body))
}

/// Stores the next version of an existing object: `env` is the current envelope with
/// the caller's changes; revision, `modified` (unless the caller set a later one, not in
/// the future: an import keeps its source's) and sequence number are set here, and the
/// version is signed. Call inside the transaction, holding the write lock; most
/// callers want `versions::write_next`, which also refreshes what derives from it.
pub fn write_version(
    c: &mut DbConn,
    signer: &Signer<'_>,
    current: &ObjectRow,
    mut env: Envelope,
    body: &Body,
) -> AppResult<ObjectRow> {
    // Only the origin hub makes new versions; a received item changes when its origin
    // sends one.
    if env.origin_hub != signer.hub_id {
        return Err(AppError::new(
            Code::NotOrigin,
            format!("this item comes from hub {}; only its origin may change it", env.origin_hub),
            format!("この情報はハブ{}から受信したものです。変更できるのは発信元ハブのみです", env.origin_hub),
        ));
    }
    env.revision = current.revision + 1;
    // Now, after the current version; or the later time an import's source gave it.
    let previous = envelope_of(current)?.modified;
    if env.modified <= previous || env.modified > Utc::now() {
        env.modified = next_modified(Some(previous));
    }
    let seq = max_seq(c)? + 1;
    let stix = canonical_json(&to_stix(&env, body));
    // The hub's current key (another replica may have rotated it).
    let key = signer.keys.follow(c)?;
    let signature = key.key.sign_batch(&[stix.as_bytes()]).concat();
    let row = object_row(&env, body, seq, current.first_seq)?;
    let mut version = version_row(&row, Some(current), stix, signature);
    stamp_added(c, [&mut version])?;
    diesel::insert_into(object_versions::table).values(&version).execute(c)?;
    diesel::update(objects::table.find(&current.id)).set(&row).execute(c)?;
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

/// One object by id, if the viewer may read it; otherwise as if it did not exist.
pub fn get(conn: &mut DbConn, viewer: &Viewer<'_>, id: &str) -> AppResult<Option<ObjectRow>> {
    let Some(row) = load_object(conn, id)? else {
        return Ok(None);
    };
    let access = Access::of_object(&row)?;
    Ok((visibility(viewer, &access.item()) == Visibility::Full).then_some(row))
}

/// The objects with these ids that the viewer may read and that are not revoked.
/// The stored objects of these ids, whoever may read them (for writers that decide with
/// the policy themselves), by id. Read in chunks, one query each.
pub fn load_objects(conn: &mut DbConn, ids: &[String]) -> AppResult<std::collections::HashMap<String, ObjectRow>> {
    let mut out = std::collections::HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(1000) {
        let rows: Vec<ObjectRow> =
            objects::table.filter(objects::id.eq_any(chunk)).select(ObjectRow::as_select()).load(conn)?;
        out.extend(rows.into_iter().map(|r| (r.id.clone(), r)));
    }
    Ok(out)
}

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

/// Whether the viewer may read this object's current version (the policy's
/// `may_read`); for answers built from a row already loaded.
pub fn may_read(viewer: &Viewer<'_>, row: &ObjectRow) -> AppResult<bool> {
    Ok(renkei_schema::tlp::may_read(viewer, &Access::of_object(row)?.item()))
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

/// Where a version received from a peer came from, kept with the version
/// (`object_versions.origin`, JSON): what the next hop and this hub's members need to
/// check it at its origin. The version's `signature` is the origin's, made with `key`
/// (this hub does not sign received versions again), except on a tombstone made here
/// (status revoked), which this hub signs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    pub hub: String,
    pub key: String,
    /// The submitting organisation as the origin names it ("" if it is anonymous).
    pub created_by: String,
    /// Hubs crossed, the origin first and the hub it came from last.
    pub path: Vec<String>,
    /// The link it came through.
    pub via: String,
}

/// One version of an item as a history lists it.
#[derive(Debug, Clone)]
pub struct VersionLine {
    pub revision: i64,
    pub recorded_at: String,
    pub tlp: Tlp,
    pub status: Status,
}

/// The versions of an item the viewer may read, oldest first: each under its own label
/// and status (a version shared more narrowly before a relabelling, or pending before
/// its approval, stays hidden from those it did not admit then). Empty unless the
/// viewer reads the current version.
pub fn history(conn: &mut DbConn, viewer: &Viewer<'_>, id: &str) -> AppResult<Vec<VersionLine>> {
    if get(conn, viewer, id)?.is_none() {
        return Ok(Vec::new());
    }
    type Columns = (i64, String, String, String, String, bool, String);
    let rows: Vec<Columns> = object_versions::table
        .filter(object_versions::object_id.eq(id))
        .order(object_versions::seq.asc())
        .select((
            object_versions::revision,
            object_versions::tlp,
            object_versions::recipients,
            object_versions::status,
            object_versions::submitter_org,
            object_versions::anonymous,
            object_versions::recorded_at,
        ))
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for (revision, tlp, recipients, status, submitter, anonymous, recorded_at) in rows {
        let access = Access::parse(&tlp, &recipients, &status, &submitter, anonymous)?;
        if visibility(viewer, &access.item()) == Visibility::Full {
            out.push(VersionLine { revision, recorded_at, tlp: access.tlp, status: access.status });
        }
    }
    Ok(out)
}
