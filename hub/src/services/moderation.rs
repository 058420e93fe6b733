//! Moderation: the policy that routes each submission (published at once or queued as
//! pending), the coordinators' queue, and their decisions: approve, approve with
//! changes (sanitise before publishing) and reject.
//!
//! Who may see a pending item is decided by `renkei_schema::tlp` like everything else;
//! this module decides only who may *decide* on one (segregation of duties).

use diesel::prelude::*;
use serde_json::json;

use renkei_schema::model::sanitize;
use renkei_schema::model::Kind;
use renkei_schema::tlp::{visibility, Status, Tlp, Visibility};

use super::audit::{self, AuditEvent};
use super::stored::{self, Access, Signer};
use super::versions;
use crate::auth::Identity;
use crate::error::{AppError, AppResult};
use crate::store::models::{ModerationRow, ObjectRow, OrganizationRow};
use crate::store::schema::{hub_meta, moderation, objects, organizations};
use crate::store::{acquire_write_lock, DbConn};
use renkei_schema::errors::Code;

pub use renkei_schema::moderation::{Action, Policy, Route, Rule, Submission, Trust};

const POLICY_KEY: &str = "moderation_policy";

/// The policy in force: the one coordinators stored, else the configured one.
pub fn effective_policy(conn: &mut DbConn, configured: &Policy) -> AppResult<Policy> {
    let stored: Option<String> = hub_meta::table.find(POLICY_KEY).select(hub_meta::value).first(conn).optional()?;
    match stored {
        Some(text) => serde_json::from_str(&text).map_err(AppError::internal),
        None => Ok(configured.clone()),
    }
}

/// Replaces the policy (coordinators only), with an audit entry.
pub fn set_policy(
    conn: &mut DbConn,
    keys: &crate::crypto::HubKeys,
    actor: &Identity,
    policy: &Policy,
) -> AppResult<()> {
    if !actor.is_coordinator() {
        return Err(AppError::forbidden("change the moderation policy"));
    }
    let text = serde_json::to_string(policy).map_err(AppError::internal)?;
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        diesel::delete(hub_meta::table.find(POLICY_KEY)).execute(c)?;
        diesel::insert_into(hub_meta::table)
            .values((hub_meta::key.eq(POLICY_KEY), hub_meta::value.eq(&text)))
            .execute(c)?;
        audit::append(
            c,
            keys,
            AuditEvent {
                actor_org: Some(actor.org_id.clone()),
                actor_token: Some(actor.token_id.clone()),
                action: "moderation.policy".into(),
                target: None,
                detail: serde_json::to_value(policy).map_err(AppError::internal)?,
                source: actor.source.clone(),
            },
        )?;
        Ok(())
    })
}

fn organization(conn: &mut DbConn, id: &str) -> AppResult<OrganizationRow> {
    Ok(organizations::table.find(id).select(OrganizationRow::as_select()).first(conn)?)
}

/// Routes a submission by the policy in force and the submitting organisation.
pub fn route(conn: &mut DbConn, configured: &Policy, actor: &Identity, kind: Kind, tlp: Tlp) -> AppResult<Route> {
    let org = organization(conn, &actor.org_id)?;
    let trust = Trust::parse(&org.trust).ok_or_else(|| AppError::internal(format!("trust {}", org.trust)))?;
    let policy = effective_policy(conn, configured)?;
    Ok(policy.route(&Submission { trust, coordinator_org: org.is_coordinator, kind, tlp }))
}

/// Sets an organisation's trust level (coordinators, or the CLI with no actor).
pub fn set_trust(
    conn: &mut DbConn,
    keys: &crate::crypto::HubKeys,
    actor: Option<&Identity>,
    org_id: &str,
    trust: Trust,
) -> AppResult<OrganizationRow> {
    if actor.is_some_and(|a| !a.is_coordinator()) {
        return Err(AppError::forbidden("change an organisation's trust level"));
    }
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let changed = diesel::update(organizations::table.find(org_id))
            .set(organizations::trust.eq(trust.as_str()))
            .execute(c)?;
        if changed == 0 {
            return Err(AppError::not_found("organisation"));
        }
        audit::append(
            c,
            keys,
            AuditEvent {
                actor_org: actor.map(|a| a.org_id.clone()),
                actor_token: actor.map(|a| a.token_id.clone()),
                action: "org.trust".into(),
                target: Some(org_id.to_string()),
                detail: json!({"trust": trust.as_str()}),
                source: actor.and_then(|a| a.source.clone()),
            },
        )?;
        organization(c, org_id)
    })
}

/// One entry of the queue: the pending item, its submission and why it was queued.
pub struct QueueEntry {
    pub submission: ModerationRow,
    pub queued_because: String,
    pub object: ObjectRow,
}

/// Pending submissions in submission order (coordinators only). `after` is the cursor
/// of the last entry of the previous page (the item's sequence number).
pub fn queue(
    conn: &mut DbConn,
    actor: &Identity,
    first: usize,
    after: Option<&str>,
) -> AppResult<(Vec<QueueEntry>, bool)> {
    if !actor.is_coordinator() {
        return Err(AppError::forbidden("read the moderation queue"));
    }
    let after: i64 = match after {
        Some(cursor) => cursor.parse().map_err(|_| {
            AppError::new(
                Code::BadCursor,
                "not a cursor of the moderation queue",
                "モデレーションキューのカーソルではありません",
            )
        })?,
        None => 0,
    };
    let submissions: Vec<ModerationRow> = moderation::table
        .filter(moderation::is_open.eq(true))
        .filter(moderation::last_seq.gt(after))
        .order(moderation::first_seq.asc())
        .select(ModerationRow::as_select())
        .load(conn)?;
    let viewer = actor.viewer();
    let mut out = Vec::new();
    for submission in submissions {
        let reasons: serde_json::Map<String, serde_json::Value> =
            serde_json::from_str(&submission.item_reasons).map_err(AppError::internal)?;
        let pending: Vec<ObjectRow> = objects::table
            .filter(objects::kind.eq(&submission.kind))
            .filter(objects::first_seq.between(submission.first_seq.max(after + 1), submission.last_seq))
            .filter(objects::status.eq(Status::Pending.as_str()))
            .order(objects::first_seq.asc())
            .limit((first + 1 - out.len()) as i64)
            .select(ObjectRow::as_select())
            .load(conn)?;
        for object in pending {
            // The policy still decides what the coordinator may read (the queue shows
            // content, so only what it may read in full).
            let access = Access::of_object(&object)?;
            if visibility(&viewer, &access.item()) != Visibility::Full {
                continue;
            }
            let queued_because = match reasons.get(&object.id) {
                Some(serde_json::Value::String(why)) => why.clone(),
                _ => submission.queued_because.clone(),
            };
            out.push(QueueEntry { submission: submission.clone(), queued_because, object });
        }
        if out.len() > first {
            break;
        }
    }
    let has_more = out.len() > first;
    out.truncate(first);
    Ok((out, has_more))
}

/// One entry of the queue by its item's id (coordinators only): None unless the item
/// is pending and the coordinator reads it in full, exactly as `queue` would list it.
pub fn queue_entry(conn: &mut DbConn, actor: &Identity, id: &str) -> AppResult<Option<QueueEntry>> {
    if !actor.is_coordinator() {
        return Err(AppError::forbidden("read the moderation queue"));
    }
    let Some(object) = stored::load_object(conn, id)? else { return Ok(None) };
    let access = Access::of_object(&object)?;
    if access.status != Status::Pending || visibility(&actor.viewer(), &access.item()) != Visibility::Full {
        return Ok(None);
    }
    let Some(submission) = submission_of(conn, &object)? else { return Ok(None) };
    if !submission.is_open {
        return Ok(None);
    }
    let reasons: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(&submission.item_reasons).map_err(AppError::internal)?;
    let queued_because = match reasons.get(&object.id) {
        Some(serde_json::Value::String(why)) => why.clone(),
        _ => submission.queued_because.clone(),
    };
    Ok(Some(QueueEntry { submission, queued_because, object }))
}

pub fn queue_cursor(entry: &QueueEntry) -> String {
    entry.object.first_seq.to_string()
}

/// The submission a queued item came in.
fn submission_of(c: &mut DbConn, item: &ObjectRow) -> AppResult<Option<ModerationRow>> {
    let found: Option<ModerationRow> = moderation::table
        .filter(moderation::first_seq.le(item.first_seq))
        .order(moderation::first_seq.desc())
        .select(ModerationRow::as_select())
        .first(c)
        .optional()?;
    Ok(found.filter(|m| m.last_seq >= item.first_seq && m.kind == item.kind))
}

/// Closes the submission of an item that just left the pending state, once none of its
/// items is pending any more (so the queue stops looking at it).
pub fn close_if_decided(c: &mut DbConn, item: &ObjectRow) -> AppResult<()> {
    let Some(submission) = submission_of(c, item)? else {
        return Ok(());
    };
    let pending: i64 = objects::table
        .filter(objects::kind.eq(&submission.kind))
        .filter(objects::first_seq.between(submission.first_seq, submission.last_seq))
        .filter(objects::status.eq(Status::Pending.as_str()))
        .count()
        .get_result(c)?;
    if pending == 0 {
        diesel::update(moderation::table.find(&submission.id)).set(moderation::is_open.eq(false)).execute(c)?;
    }
    Ok(())
}

/// What a coordinator changes before publishing.
#[derive(Debug, Clone, Default)]
pub struct Patch {
    /// A tighter label (never a looser one: that needs the submitter's consent).
    pub tlp: Option<Tlp>,
    /// Recipients, when tightening to TLP:RED.
    pub recipients: Vec<String>,
    /// Optional fields to clear, by their GraphQL names.
    pub strip: Vec<String>,
    /// Passages of free text to replace with `[REDACTED]`.
    pub redact: Vec<String>,
    /// Labels to remove.
    pub remove_labels: Vec<String>,
}

/// A coordinator's decision on a pending item.
pub enum Decision {
    Approve(Option<Patch>),
    Reject(String),
}

impl Decision {
    /// A rejection's reason, checked (a rejection needs one); none for an approval.
    pub(crate) fn checked_reason(&self) -> AppResult<Option<String>> {
        match self {
            Decision::Reject(reason) => renkei_schema::model::clean_text("reason", reason, 2000)
                .map(Some)
                .map_err(|e| AppError::new(Code::ReasonRequired, e.to_string(), e.message_ja())),
            Decision::Approve(_) => Ok(None),
        }
    }
}

fn bad_patch(message: impl Into<String>, message_ja: impl Into<String>) -> AppError {
    AppError::new(Code::InvalidPatch, message, message_ja)
}

/// Segregation of duties: nobody decides on their own submission; within a coordinator
/// organisation a second coordinator (another token) decides.
pub(crate) fn check_segregation(
    c: &mut DbConn,
    actor: &Identity,
    submitter_org: &str,
    submitted_token: &str,
) -> AppResult<()> {
    let submitter = organization(c, submitter_org)?;
    if submitted_token == actor.token_id || (submitter_org == actor.org_id && !submitter.is_coordinator) {
        return Err(AppError::new(
            Code::SelfApproval,
            "nobody may approve or reject their own submission; another coordinator must decide",
            "自分の提出した情報は承認・却下できません。別のコーディネーターが判断してください",
        ));
    }
    Ok(())
}

/// Decides on a pending item, in one transaction: the decision is a new signed version
/// (published or rejected), the moderation record and an audit entry. With
/// `reviewed_version`, the decision stands only if the item is still at that version.
pub fn decide(
    conn: &mut DbConn,
    origin: &Signer<'_>,
    actor: &Identity,
    id: &str,
    decision: Decision,
    reviewed_version: Option<i64>,
) -> AppResult<ObjectRow> {
    let reject_reason = decision.checked_reason()?;
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let (current, access) = stored::load_known(c, &actor.viewer(), id)?;
        if !actor.is_coordinator() {
            return Err(AppError::forbidden("moderate submissions"));
        }
        if access.status != Status::Pending {
            let (en, ja) = match access.status {
                Status::Published => ("it is already published", "既に公開されています"),
                Status::Rejected => ("it was already rejected", "既に却下されています"),
                Status::Revoked => ("it was revoked", "取り消されています"),
                Status::Pending => ("", ""),
            };
            return Err(AppError::new(
                Code::NotPending,
                format!("only pending items can be approved or rejected; {en}"),
                format!("承認・却下できるのは保留中の情報のみです（{ja}）"),
            ));
        }
        // The coordinator decides on the version it reviewed: a correction that came in
        // meanwhile must be looked at first.
        if let Some(reviewed) = reviewed_version {
            if reviewed != current.revision {
                return Err(AppError::new(
                    Code::VersionChanged,
                    format!("the item is at version {} now, not {reviewed}: review it again", current.revision),
                    format!(
                        "この情報は現在バージョン{}です（{reviewed}ではありません）。もう一度確認してください",
                        current.revision
                    ),
                ));
            }
        }
        let record = submission_of(c, &current)?
            .ok_or_else(|| AppError::internal(format!("pending item {id} has no moderation record")))?;
        check_segregation(c, actor, &access.submitter, &record.submitted_token)?;
        let (mut env, mut body) = stored::parts_of(&current)?;
        let mut changes = Vec::new();
        let (decision_name, action) = match &decision {
            Decision::Reject(_) => {
                env.status = Status::Rejected;
                env.status_reason = reject_reason.clone();
                ("rejected", "moderation.reject")
            }
            Decision::Approve(patch) => {
                if let Some(patch) = patch {
                    apply_patch(c, &mut env, &mut body, patch, &mut changes)?;
                }
                env.status = Status::Published;
                ("approved", "moderation.approve")
            }
        };
        let row = versions::write_next(c, origin, &current, env, &body)?;
        close_if_decided(c, &row)?;
        audit::append(
            c,
            origin.keys,
            AuditEvent {
                actor_org: Some(actor.org_id.clone()),
                actor_token: Some(actor.token_id.clone()),
                action: action.into(),
                target: Some(id.to_string()),
                detail: json!({
                    "revision": row.revision,
                    "decision": decision_name,
                    "reason": reject_reason,
                    "changes": changes,
                    "submission": record.id,
                }),
                source: actor.source.clone(),
            },
        )?;
        Ok(row)
    })
}

/// What a pending item would be after a coordinator's patch, without saving anything
/// (the console previews an approval with changes before it is made). The same checks
/// as the approval itself: the label only tightens, the steps must change something.
pub fn preview(
    conn: &mut DbConn,
    actor: &Identity,
    id: &str,
    patch: &Patch,
) -> AppResult<(renkei_schema::model::Envelope, renkei_schema::model::Body, Vec<String>)> {
    if !actor.is_coordinator() {
        return Err(AppError::forbidden("moderate submissions"));
    }
    let (current, access) = stored::load_known(conn, &actor.viewer(), id)?;
    if visibility(&actor.viewer(), &access.item()) != Visibility::Full {
        return Err(AppError::not_found("item"));
    }
    let (mut env, mut body) = stored::parts_of(&current)?;
    let mut changes = Vec::new();
    apply_patch(conn, &mut env, &mut body, patch, &mut changes)?;
    Ok((env, body, changes))
}

/// Applies a coordinator's patch, listing what changed. Refuses to loosen the label,
/// and refuses steps that would change nothing (so a typo is not taken for a redaction).
pub(crate) fn apply_patch(
    c: &mut DbConn,
    env: &mut renkei_schema::model::Envelope,
    body: &mut renkei_schema::model::Body,
    patch: &Patch,
    changes: &mut Vec<String>,
) -> AppResult<()> {
    if let Some(tlp) = patch.tlp {
        renkei_schema::tlp::check_moderated_label(env.tlp, tlp)?;
        renkei_schema::tlp::check_audience(tlp, &patch.recipients)?;
        let mut sharing = stored::Sharing {
            tlp,
            recipients: if tlp == Tlp::Red { patch.recipients.clone() } else { Vec::new() },
            anonymous: env.anonymous,
            confidence: env.confidence,
            valid_until: None,
            labels: Vec::new(),
        };
        stored::validate_sharing(c, &mut sharing)?;
        if tlp != env.tlp {
            changes.push(format!("label {} -> {}", env.tlp, tlp));
        }
        env.tlp = tlp;
        env.recipients = sharing.recipients;
    } else if !patch.recipients.is_empty() {
        return Err(bad_patch("recipients go with tlp: RED", "受領組織はTLP:REDと共に指定してください"));
    }
    for field in &patch.strip {
        sanitize::strip_field(body, field).map_err(|e| bad_patch(e.message, e.message_ja))?;
        changes.push(format!("stripped {field}"));
    }
    for passage in &patch.redact {
        let n = sanitize::redact(body, passage).map_err(|e| bad_patch(e.message, e.message_ja))?;
        changes.push(format!("redacted {n} passage(s)"));
    }
    for label in &patch.remove_labels {
        let before = env.labels.len();
        env.labels.retain(|l| l != label);
        if env.labels.len() == before {
            return Err(bad_patch(
                format!("the item has no label {label:?}"),
                format!("ラベル「{label}」はこの情報に付いていません"),
            ));
        }
        changes.push(format!("removed label {label}"));
    }
    Ok(())
}
