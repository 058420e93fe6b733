//! Sharing: validating and publishing new items, revoking them, and the reads of
//! shared objects by kind (lists, restricted RED items, indicator scores). Every read
//! decides visibility through `renkei_schema::tlp`, nowhere else.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;
use std::collections::HashSet;

use renkei_schema::model::indicator::{normalize, IndicatorType};
use renkei_schema::model::{Body, Envelope, Kind};
use renkei_schema::stix::{canonical_json, to_stix};
use renkei_schema::tlp::{visibility, Status, Tlp, Viewer, Visibility};

use super::audit::{self, AuditEvent};
use super::moderation::Route;
use super::stored::{
    self, envelope_of, load_known, max_seq, object_row, parts_of, validate_sharing, version_row, Access, Sharing,
    Signer,
};
use super::versions;
use crate::auth::Identity;
use crate::error::{AppError, AppResult, EntryError};
use crate::store::models::{ModerationRow, ObjectRow, VersionRow};
use crate::store::schema::{moderation, object_versions, objects};
use crate::store::{acquire_write_lock, now_text, DbConn};
use renkei_schema::errors::Code;

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
                        code: Code::DuplicateInBatch,
                        message: format!("{value} appears twice in this batch"),
                        message_ja: format!("{value} がこのバッチに重複しています"),
                    });
                    continue;
                }
                let description = match description {
                    Some(d) => Some(
                        renkei_schema::model::clean_text(
                            "description",
                            &d,
                            renkei_schema::model::limits::INDICATOR_DESCRIPTION,
                        )
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
            Err(e) => errors.push(EntryError {
                index,
                code: Code::InvalidIndicator,
                message: e.reason,
                message_ja: e.reason_ja,
            }),
        }
    }
    if !errors.is_empty() {
        let first = errors[0].index;
        return Err(AppError::new(
            Code::InvalidIndicator,
            format!("{} invalid indicator(s), first at index {first}; nothing was stored", errors.len()),
            format!("不正な指標が{}件あります（最初はインデックス{first}）。何も保存されていません", errors.len()),
        )
        .with_entries(errors));
    }
    Ok(bodies)
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
/// `require_sealing` is the configured `sealing.require_for_red` (see
/// [`check_sealing_required`]).
///
/// The costly part (STIX mapping, canonical JSON, Ed25519 signing, serialising) runs
/// before the write lock is taken, so concurrent batches prepare in parallel and only
/// sequencing and inserting are serialised.
#[allow(clippy::too_many_arguments)]
pub fn publish_new(
    conn: &mut DbConn,
    signer: &Signer<'_>,
    actor: &Identity,
    bodies: Vec<Body>,
    sharing: Sharing,
    routes: &[Route],
    valid_days: &crate::config::DaysPerType,
    require_sealing: bool,
) -> AppResult<Vec<Published>> {
    publish_new_as(conn, signer, actor, bodies, sharing, routes, valid_days, require_sealing, &[])
}

/// What an import keeps of its source object: the id, the STIX times and the validity
/// it came with (`None`: as any new item gets).
#[derive(Debug, Clone, Default)]
pub struct Provided {
    pub id: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub modified: Option<DateTime<Utc>>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
}

/// [`publish_new`], with what each item's source provided (`provided[i]` for item `i`;
/// shorter or empty: the rest are plain new items). The caller has checked that a
/// provided id is free and of the item's kind.
#[allow(clippy::too_many_arguments)]
pub fn publish_new_as(
    conn: &mut DbConn,
    signer: &Signer<'_>,
    actor: &Identity,
    bodies: Vec<Body>,
    mut sharing: Sharing,
    routes: &[Route],
    valid_days: &crate::config::DaysPerType,
    require_sealing: bool,
    provided: &[Provided],
) -> AppResult<Vec<Published>> {
    if routes.len() != bodies.len() {
        return Err(AppError::internal("one route per item"));
    }
    // Sealed bodies come only through `publish_sealed`, which checked their keys.
    if bodies.iter().any(|b| matches!(b, Body::Sealed(_))) && sharing.tlp != Tlp::Red {
        return Err(AppError::new(
            Code::InvalidSealed,
            "only TLP:RED items are sealed",
            "封緘できるのはTLP:REDの情報のみです",
        ));
    }
    // Procurement teams share supplier assessments, nothing else.
    let assessments_only = bodies.iter().all(|b| matches!(b, Body::Assessment(_)));
    if !(actor.may_share() || (assessments_only && actor.role == crate::auth::Role::Procurement)) {
        return Err(AppError::forbidden("share items"));
    }
    // Organisations are never deleted, so recipients checked here stay valid.
    validate_sharing(conn, &mut sharing)?;
    if require_sealing && bodies.iter().any(|b| !matches!(b, Body::Sealed(_))) {
        check_sealing_required(conn, &sharing)?;
    }
    let now = stored::next_modified(None);
    let prepare =
        |(index, (body, status)): (usize, (Body, Status))| -> AppResult<(ObjectRow, VersionRow, (Envelope, Body))> {
            let kind = body.kind();
            let given = provided.get(index).cloned().unwrap_or_default();
            let envelope = Envelope {
                id: given.id.unwrap_or_else(|| kind.new_id()),
                kind,
                revision: 1,
                created: given.created.unwrap_or(now),
                modified: given.modified.unwrap_or(now),
                origin_hub: signer.hub_id.to_string(),
                created_by: actor.org_id.clone(),
                anonymous: sharing.anonymous,
                tlp: sharing.tlp,
                recipients: sharing.recipients.clone(),
                status,
                status_reason: None,
                confidence: sharing.confidence,
                valid_from: given.valid_from.unwrap_or(now),
                // Indicators shared without an end get their type's default lifetime.
                valid_until: given.valid_until.or(sharing.valid_until).or_else(|| match &body {
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
    let bodies: Vec<(usize, (Body, Status))> =
        bodies.into_iter().zip(routes.iter().map(Route::status)).enumerate().collect();
    let prepared: Vec<(ObjectRow, VersionRow, (Envelope, Body))> = if bodies.len() >= PARALLEL_PREPARE && threads > 1 {
        let per_thread = bodies.len().div_ceil(threads);
        let mut chunks: Vec<Vec<(usize, (Body, Status))>> = Vec::with_capacity(threads);
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
    let signed_with = signer.keys.signing.get();
    let signatures = signed_with.key.sign_batch(&stix);
    for (version, signature) in versions.iter_mut().zip(signatures) {
        version.signature = signature;
    }
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        // Signed before the lock: again, if the hub's key was rotated meanwhile.
        let current = signer.keys.follow(c)?;
        if current.id != signed_with.id {
            let stix: Vec<&[u8]> = versions.iter().map(|v| v.stix.as_bytes()).collect();
            let signatures = current.key.sign_batch(&stix);
            for (version, signature) in versions.iter_mut().zip(signatures) {
                version.signature = signature;
            }
        }
        let first = max_seq(c)? + 1;
        for (seq, (row, version)) in (first..).zip(rows.iter_mut().zip(versions.iter_mut())) {
            row.first_seq = seq;
            row.last_seq = seq;
            version.seq = seq;
        }
        super::stored::stamp_added(c, versions.iter_mut())?;
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
        super::ratings::refresh(c, signer, &rated, Utc::now())?;
        let kinds: Vec<&str> = rows.iter().map(|r| r.kind.as_str()).collect::<HashSet<_>>().into_iter().collect();
        audit::append(
            c,
            signer.keys,
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

/// SEALING_REQUIRED for a plaintext TLP:RED share whose recipients all have a current
/// encryption key: it could have been sealed, so the hub refuses to hold it readable.
/// Every plaintext share (GraphQL, the console, imports) passes here, in
/// [`publish_new_as`], when `sealing.require_for_red` is on.
pub fn check_sealing_required(conn: &mut DbConn, sharing: &Sharing) -> AppResult<()> {
    if sharing.tlp != Tlp::Red || sharing.recipients.is_empty() {
        return Ok(());
    }
    let current = super::org_keys::current_keys_of(conn, &sharing.recipients)?;
    if sharing.recipients.iter().all(|r| current.get(r).is_some_and(|k| !k.is_empty())) {
        return Err(AppError::new(
            Code::SealingRequired,
            "every recipient has an encryption key: share this RED item sealed (the renkei client seals `renkei share … --tlp RED --recipient ORG`)",
            "すべての受領組織に暗号鍵があります。このREDの情報は封緘して共有してください（renkeiクライアントの `renkei share … --tlp RED --recipient 組織` が封緘します）",
        ));
    }
    Ok(())
}

/// One sealed item to share: the id its sender made (the ciphertext is bound to it)
/// and its sealed body, wraps with their key ids.
pub struct SealedItem {
    pub id: String,
    pub sealed: renkei_schema::seal::SealedBody,
}

/// A sealed share as its surfaces receive it (GraphQL's `shareSealed`, the console's
/// uploaded document): each item's sealed body still JSON text.
pub struct SealedRequest {
    pub items: Vec<(String, String)>,
    pub recipients: Vec<String>,
    pub anonymous: bool,
    pub confidence: Option<i64>,
    pub valid_until: Option<String>,
    pub labels: Vec<String>,
}

/// Checks a sealed share's plain values the same way for every surface (at most
/// `max_batch` items, none empty; each sealed body readable; an RFC 3339 validUntil; a
/// confidence 0–100) and turns them into what `actions::share_sealed` takes.
pub fn sealed_request(request: SealedRequest, max_batch: usize) -> AppResult<(Vec<SealedItem>, Sharing)> {
    let n = request.items.len();
    if n > max_batch {
        return Err(AppError::new(
            Code::BatchTooLarge,
            format!("at most {max_batch} items per call; got {n}"),
            format!("1回に共有できる件数は{max_batch}件までです（{n}件指定されました）"),
        ));
    }
    if n == 0 {
        return Err(AppError::invalid("the batch is empty", "共有する情報が指定されていません"));
    }
    let mut errors = Vec::new();
    let mut sealed = Vec::with_capacity(n);
    for (index, (id, text)) in request.items.into_iter().enumerate() {
        match serde_json::from_str(&text) {
            Ok(body) => sealed.push(SealedItem { id, sealed: body }),
            Err(e) => errors.push(EntryError {
                index,
                code: Code::InvalidSealed,
                message: format!("not a sealed body: {e}"),
                message_ja: format!("封緘された情報として読めません: {e}"),
            }),
        }
    }
    if let Some(first) = errors.first() {
        let (index, bad) = (first.index, errors.len());
        return Err(AppError::new(
            Code::InvalidSealed,
            format!("{bad} sealed item(s) malformed, first at index {index}; nothing was stored"),
            format!("封緘された情報{bad}件の形式が不正です（最初はインデックス{index}）。何も保存されていません"),
        )
        .with_entries(errors));
    }
    let valid_until = match &request.valid_until {
        Some(s) => Some(crate::store::parse_time(s).ok_or_else(|| {
            AppError::invalid("validUntil is not an RFC 3339 time", "validUntilがRFC 3339形式の日時ではありません")
        })?),
        None => None,
    };
    let confidence = match request.confidence {
        Some(c) if (0..=100).contains(&c) => Some(c as u8),
        Some(_) => return Err(AppError::invalid("confidence is 0–100", "確信度は0〜100で指定してください")),
        None => None,
    };
    let sharing = Sharing {
        tlp: Tlp::Red,
        recipients: request.recipients,
        anonymous: request.anonymous,
        confidence,
        valid_until,
        labels: request.labels,
    };
    Ok((sealed, sharing))
}

fn sealed_refusal(errors: Vec<EntryError>) -> AppError {
    let first = errors.first().map_or(0, |e| e.index);
    let code = errors.first().map_or(Code::InvalidSealed, |e| e.code);
    AppError::new(
        code,
        format!("{} sealed item(s) refused, first at index {first}; nothing was stored", errors.len()),
        format!(
            "封緘された情報{}件を受け付けられません（最初はインデックス{first}）。何も保存されていません",
            errors.len()
        ),
    )
    .with_entries(errors)
}

/// Shares sealed TLP:RED items (all or nothing, in one transaction under the write
/// lock): each envelope well formed, its id new and of its content's kind, every
/// recipient holding a current key, and every item wrapped to exactly the current keys
/// of the recipients and (unless anonymous) of the sender's organisation. RED is never
/// moderated, and sealed content meets no allowlist or index: the hub cannot read it.
pub fn publish_sealed(
    conn: &mut DbConn,
    signer: &Signer<'_>,
    actor: &Identity,
    items: Vec<SealedItem>,
    mut sharing: Sharing,
    valid_days: &crate::config::DaysPerType,
) -> AppResult<Vec<Published>> {
    sharing.tlp = Tlp::Red;
    let mut errors = Vec::new();
    let mut seen = HashSet::new();
    for (index, item) in items.iter().enumerate() {
        let refuse = |code: Code, message: String, message_ja: String| EntryError { index, code, message, message_ja };
        if let Err(e) = item.sealed.check_form() {
            errors.push(refuse(Code::InvalidSealed, e.to_string(), e.message_ja()));
        } else if Kind::of_id(&item.id) != Some(item.sealed.content_kind) {
            let kind = item.sealed.content_kind.as_str();
            errors.push(refuse(
                Code::InvalidSealed,
                format!("{} is not an id of a {kind}", item.id),
                format!("{}は{kind}のIDではありません", item.id),
            ));
        } else if !seen.insert(item.id.clone()) {
            errors.push(refuse(
                Code::DuplicateInBatch,
                format!("{} appears twice in this batch", item.id),
                format!("{} がこのバッチに重複しています", item.id),
            ));
        }
    }
    if !errors.is_empty() {
        return Err(sealed_refusal(errors));
    }
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        validate_sharing(c, &mut sharing)?;
        // The sender made the ids and the ciphertexts are bound to them, so a taken id
        // cannot be replaced as an import replaces a hidden one: it is refused, readable
        // or not. What that tells a member is only that an id it already knew exists:
        // ids are random (UUID v4), and every id a member can know came from an item it
        // read once or that an item it reads names; items are never deleted, only
        // revoked (and a revoked item's tombstone reached it).
        let ids: Vec<String> = items.iter().map(|i| i.id.clone()).collect();
        let taken = stored::load_objects(c, &ids)?;
        let errors: Vec<EntryError> = items
            .iter()
            .enumerate()
            .filter(|(_, i)| taken.contains_key(&i.id))
            .map(|(index, i)| EntryError {
                index,
                code: Code::ObjectExists,
                message: format!("the id {} is taken", i.id),
                message_ja: format!("ID {} は使用済みです", i.id),
            })
            .collect();
        if !errors.is_empty() {
            return Err(sealed_refusal(errors));
        }
        let mut orgs = sharing.recipients.clone();
        if !sharing.anonymous {
            orgs.push(actor.org_id.clone());
        }
        let current = super::org_keys::current_keys_of(c, &orgs)?;
        let keyless: Vec<&str> = sharing
            .recipients
            .iter()
            .filter(|r| current.get(*r).is_none_or(|k| k.is_empty()))
            .map(String::as_str)
            .collect();
        if !keyless.is_empty() {
            let names = keyless.join(", ");
            return Err(AppError::new(
                Code::NoOrgKey,
                format!("no current encryption key for {names}: share to them once they register one"),
                format!("{names}には有効な暗号鍵がありません（鍵の登録後に共有してください）"),
            ));
        }
        let expected: std::collections::BTreeSet<&str> =
            current.values().flatten().map(String::as_str).collect();
        let mut errors = Vec::new();
        for (index, item) in items.iter().enumerate() {
            let wrapped = item.sealed.wrapped_keys();
            let given: std::collections::BTreeSet<&str> = wrapped.iter().copied().collect();
            let unnamed = item.sealed.wraps.len() - wrapped.len();
            let missing: Vec<&str> = expected.difference(&given).copied().collect();
            let unknown: Vec<&str> = given.difference(&expected).copied().collect();
            if missing.is_empty() && unknown.is_empty() && unnamed == 0 && given.len() == wrapped.len() {
                continue;
            }
            let (missing, unknown) = (missing.join(", "), unknown.join(", "));
            errors.push(EntryError {
                index,
                code: Code::SealedKeysMismatch,
                message: format!(
                    "not sealed to exactly the current keys: missing [{missing}], not current [{unknown}], {unnamed} wrap(s) without a key id; fetch the keys again and reseal"
                ),
                message_ja: format!(
                    "現在の鍵と一致しません: 不足 [{missing}]、現在の鍵でないもの [{unknown}]、鍵IDのない封 {unnamed}件。鍵を取得し直して封緘し直してください"
                ),
            });
        }
        if !errors.is_empty() {
            let first = &errors[0];
            return Err(AppError::new(Code::SealedKeysMismatch, first.message.clone(), first.message_ja.clone())
                .with_entries(errors));
        }
        let provided: Vec<Provided> =
            items.iter().map(|i| Provided { id: Some(i.id.clone()), ..Provided::default() }).collect();
        let bodies: Vec<Body> = items.into_iter().map(|i| Body::Sealed(i.sealed)).collect();
        let routes = vec![Route::Publish; bodies.len()];
        publish_new_as(c, signer, actor, bodies, sharing.clone(), &routes, valid_days, false, &provided)
    })
}

/// Revokes an item: a new, signed version with status revoked, which the change feed
/// turns into a tombstone for everyone who held it.
pub fn revoke(
    conn: &mut DbConn,
    signer: &Signer<'_>,
    actor: &Identity,
    id: &str,
    reason: &str,
) -> AppResult<ObjectRow> {
    let reason = renkei_schema::model::clean_text("reason", reason, 2000)
        .map_err(|e| AppError::new(Code::ReasonRequired, e.to_string(), e.message_ja()))?;
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
                Code::AlreadyRevoked,
                "the item is already revoked",
                "この情報は既に取り消されています",
            ));
        }
        let (mut env, body) = parts_of(&current)?;
        env.status = Status::Revoked;
        env.status_reason = Some(reason.clone());
        let row = versions::write_next(c, signer, &current, env, &body)?;
        if access.status == Status::Pending {
            // A submission withdrawn (or dropped) while queued leaves the queue.
            super::moderation::close_if_decided(c, &row)?;
        }
        audit::append(
            c,
            signer.keys,
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
            Code::LookupTooLarge,
            format!("at most {max} values per lookup; got {count}"),
            format!("1回の照会は{max}件までです（{count}件指定されました）"),
        ));
    }
    Ok(())
}

/// The newest items an organisation submitted (any kind, any status), as the viewer may
/// read them: the console's "my submissions". At most `first`, newest first.
pub fn submitted_by(conn: &mut DbConn, viewer: &Viewer<'_>, org: &str, first: usize) -> AppResult<Vec<ObjectRow>> {
    let rows: Vec<ObjectRow> = objects::table
        .filter(objects::submitter_org.eq(org))
        .order(objects::first_seq.desc())
        .limit(first as i64)
        .select(ObjectRow::as_select())
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        if visibility(viewer, &Access::of_object(&row)?.item()) == Visibility::Full {
            out.push(row);
        }
    }
    Ok(out)
}

/// Counts by (kind, label), both as stored.
pub type KindLabelCounts = std::collections::BTreeMap<(String, String), i64>;

/// How many items were first shared since `since`, by kind and label, of those the
/// viewer reads in full (the coordinators' "shared today"): counted over at most `cap`
/// of the newest, and whether there were more. Only the access columns are read.
pub fn first_shared_counts(
    conn: &mut DbConn,
    viewer: &Viewer<'_>,
    since: DateTime<Utc>,
    cap: usize,
) -> AppResult<(KindLabelCounts, bool)> {
    // Sequence order is commit order: what was first shared since then has a first
    // sequence number at or after the first version recorded since then.
    let from: Option<i64> = object_versions::table
        .filter(object_versions::recorded_at.ge(crate::store::time_text(&since)))
        .select(diesel::dsl::min(object_versions::seq))
        .first(conn)?;
    let mut counts = std::collections::BTreeMap::new();
    let Some(from) = from else { return Ok((counts, false)) };
    type Columns = (String, String, String, String, String, bool);
    let rows: Vec<Columns> = objects::table
        .filter(objects::first_seq.ge(from))
        .order(objects::first_seq.desc())
        .limit(cap as i64 + 1)
        .select((
            objects::kind,
            objects::tlp,
            objects::recipients,
            objects::status,
            objects::submitter_org,
            objects::anonymous,
        ))
        .load(conn)?;
    let capped = rows.len() > cap;
    for (kind, tlp, recipients, status, submitter, anonymous) in rows.into_iter().take(cap) {
        let access = Access::parse(&tlp, &recipients, &status, &submitter, anonymous)?;
        if visibility(viewer, &access.item()) == Visibility::Full {
            *counts.entry((kind, tlp)).or_default() += 1;
        }
    }
    Ok((counts, capped))
}
