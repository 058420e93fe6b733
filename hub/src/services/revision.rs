//! Changing a shared item after the fact: a new label (or RED recipients), or a
//! correction of its content. Each is a new signed version in one transaction; the
//! change feed turns a tightened label into tombstones for whoever lost access and a
//! loosened one into a version for whoever gained it (`renkei_schema::tlp::feed_entry`).
//!
//! A change that widens who reads a published item (a looser label) or rewrites what
//! its readers read (a correction), made by the organisation that submitted it, takes
//! the same moderation route as a new submission of that organisation with the
//! resulting label: where the policy would queue the submission, the change waits in
//! `pending_changes` for a coordinator and the item stays as it is. Otherwise sharing
//! TLP:RED to oneself (never queued) and relabelling it CLEAR would publish anything to
//! every member, export and federation link unreviewed. Like a new submission, a change
//! whose result is TLP:RED is never queued. A change of an item still pending needs no
//! route of its own: the coordinators decide on the item as it stands.

use chrono::{DateTime, Utc};
use diesel::Connection;
use serde_json::json;

use renkei_schema::model::Body;
use renkei_schema::tlp::{visibility, Status, Tlp, Visibility};

use diesel::prelude::*;

use super::audit::{self, AuditEvent};
use super::moderation::{self, Policy, Route};
use super::stored::{self, Access, Sharing, Signer};
use super::versions;
use crate::auth::Identity;
use crate::error::{AppError, AppResult};
use crate::store::models::{ObjectRow, PendingChangeRow};
use crate::store::schema::pending_changes;
use crate::store::{acquire_write_lock, now_text, DbConn};
use renkei_schema::errors::Code;

/// What a change became.
#[derive(Debug)]
pub enum Outcome {
    /// A new version, in effect now.
    Applied(ObjectRow),
    /// Waiting for a coordinator; the item is unchanged.
    Queued(PendingChangeRow),
}

/// States of a pending change.
pub const OPEN: &str = "open";
const APPROVED: &str = "approved";
const REJECTED: &str = "rejected";
const SUPERSEDED: &str = "superseded";

/// Routes a change of a published item by its submitter as a new submission of the
/// changed item would be routed; `Publish` for everything else.
fn route_change(
    c: &mut DbConn,
    policy: &Policy,
    actor: &Identity,
    access: &Access,
    widens: bool,
    kind: renkei_schema::model::Kind,
    tlp: Tlp,
) -> AppResult<Route> {
    if !widens || access.status != Status::Published || access.submitter != actor.org_id {
        return Ok(Route::Publish);
    }
    moderation::route(c, policy, actor, kind, tlp)
}

/// Queues a change for the coordinators: any change still open on the item is
/// superseded (the submitter changed its mind), and the new one records the item as it
/// would become. Call holding the write lock.
#[allow(clippy::too_many_arguments)]
fn queue_change(
    c: &mut DbConn,
    keys: &crate::crypto::HubKeys,
    actor: &Identity,
    current: &ObjectRow,
    change: &str,
    env: &renkei_schema::model::Envelope,
    body: &Body,
    detail: serde_json::Value,
    because: String,
) -> AppResult<PendingChangeRow> {
    diesel::update(pending_changes::table.filter(pending_changes::object_id.eq(&current.id)))
        .filter(pending_changes::state.eq(OPEN))
        .set(pending_changes::state.eq(SUPERSEDED))
        .execute(c)?;
    let last: Option<i64> = pending_changes::table.select(diesel::dsl::max(pending_changes::queued_seq)).first(c)?;
    let row = PendingChangeRow {
        id: format!("change--{}", uuid::Uuid::new_v4()),
        queued_seq: last.unwrap_or(0) + 1,
        object_id: current.id.clone(),
        base_revision: current.revision,
        change: change.to_string(),
        envelope: serde_json::to_string(env).map_err(AppError::internal)?,
        body: serde_json::to_string(body).map_err(AppError::internal)?,
        detail: detail.to_string(),
        submitter_org: actor.org_id.clone(),
        submitted_token: actor.token_id.clone(),
        submitted_at: now_text(),
        queued_because: because,
        state: OPEN.into(),
        decision: None,
    };
    diesel::insert_into(pending_changes::table).values(&row).execute(c)?;
    audit::append(
        c,
        keys,
        AuditEvent {
            actor_org: Some(actor.org_id.clone()),
            actor_token: Some(actor.token_id.clone()),
            action: format!("{change}.queued"),
            target: Some(current.id.clone()),
            detail: serde_json::json!({"change": row.id, "queuedBecause": row.queued_because, "detail": detail}),
            source: actor.source.clone(),
        },
    )?;
    Ok(row)
}

/// Loads an item the actor may change: its submitter (who may share) or a coordinator.
/// Items the actor may not see do not exist for it.
fn changeable(c: &mut DbConn, actor: &Identity, id: &str, what: &str) -> AppResult<(ObjectRow, Access)> {
    let (current, access) = stored::load_known(c, &actor.viewer(), id)?;
    let is_submitter = access.submitter == actor.org_id;
    if !(actor.is_coordinator() || (is_submitter && actor.may_share())) {
        return Err(AppError::forbidden(what));
    }
    if matches!(access.status, Status::Revoked | Status::Rejected) {
        return Err(AppError::new(
            Code::NotChangeable,
            format!("the item is {}; only pending or published items change", access.status.as_str()),
            format!(
                "この情報は{}のため変更できません（変更できるのは保留中または公開中の情報のみです）",
                access.status.as_str()
            ),
        ));
    }
    Ok((current, access))
}

/// Relabels an item. The submitter may tighten or loosen; a coordinator may only
/// tighten (loosening needs the submitter, as in moderation).
pub fn change_label(
    conn: &mut DbConn,
    origin: &Signer<'_>,
    policy: &Policy,
    actor: &Identity,
    id: &str,
    tlp: Tlp,
    recipients: Vec<String>,
) -> AppResult<Outcome> {
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let (current, access) = changeable(c, actor, id, "relabel an item shared by another organisation")?;
        let mut sharing = Sharing {
            tlp,
            recipients,
            anonymous: access.anonymous,
            confidence: None,
            valid_until: None,
            labels: Vec::new(),
        };
        stored::validate_sharing(c, &mut sharing)?;
        let loosening = renkei_schema::tlp::check_relabel(
            access.status,
            (access.tlp, access.recipients.as_slice()),
            (tlp, sharing.recipients.as_slice()),
            access.submitter == actor.org_id,
        )?;
        let (mut env, mut body) = stored::parts_of(&current)?;
        if let Body::Sealed(sealed) = &mut body {
            // Only the sender's client can seal to new readers: a sealed item stays RED
            // and may only lose recipients, whose wraps go with them.
            let widened = sharing.recipients.iter().any(|r| !access.recipients.contains(r));
            if tlp != Tlp::Red || widened {
                return Err(sealed_fixed());
            }
            let keep: Vec<&str> =
                sharing.recipients.iter().map(String::as_str).chain([access.submitter.as_str()]).collect();
            let owners = super::org_keys::owners(c, &sealed.wrapped_keys())?;
            sealed.wraps.retain(|w| match w.key.as_deref().and_then(|k| owners.get(k)) {
                Some(org) => keep.contains(&org.as_str()),
                None => true,
            });
        }
        env.tlp = tlp;
        env.recipients = sharing.recipients.clone();
        let mut detail = json!({
            "from": access.tlp.as_str(),
            "to": tlp.as_str(),
            "recipients": sharing.recipients,
            "loosened": loosening,
        });
        if let Route::Queue(because) = route_change(c, policy, actor, &access, loosening, env.kind, tlp)? {
            let queued = queue_change(c, origin.keys, actor, &current, "relabel", &env, &body, detail, because)?;
            return Ok(Outcome::Queued(queued));
        }
        let row = versions::write_next(c, origin, &current, env, &body)?;
        detail["revision"] = json!(row.revision);
        audit::append(
            c,
            origin.keys,
            AuditEvent {
                actor_org: Some(actor.org_id.clone()),
                actor_token: Some(actor.token_id.clone()),
                action: "relabel".into(),
                target: Some(id.to_string()),
                detail,
                source: actor.source.clone(),
            },
        )?;
        Ok(Outcome::Applied(row))
    })
}

/// SEALED_FIXED: what the hub cannot do to a sealed item (it cannot read it).
pub(crate) fn sealed_fixed() -> AppError {
    AppError::new(
        Code::SealedFixed,
        "a sealed item can't be loosened or corrected; its sender re-shares it",
        "封緘された情報は緩めることも訂正することもできません。送信者が共有し直します",
    )
}

/// A correction of an item's content or metadata; only fields that exist on the
/// item's kind may be given.
#[derive(Debug, Clone, Default)]
pub struct Correction {
    pub description: Option<String>,
    pub title: Option<String>,
    pub summary: Option<String>,
    pub narrative: Option<String>,
    pub impact_description: Option<String>,
    pub confidence: Option<u8>,
    pub valid_until: Option<DateTime<Utc>>,
    pub labels: Option<Vec<String>>,
    /// The version's STIX `modified` as an import's source gave it (kept when it is later
    /// than the current version's); `None`: now.
    pub modified: Option<DateTime<Utc>>,
}

fn not_on_kind(field: &str, kind: &str) -> AppError {
    AppError::new(
        Code::InvalidPatch,
        format!("a {kind} has no field '{field}' to correct"),
        format!("{kind}には訂正できる項目「{field}」がありません"),
    )
}

use super::text;

/// Applies a correction to a body and envelope; refuses fields the kind lacks.
fn apply_correction(
    env: &mut renkei_schema::model::Envelope,
    body: &mut Body,
    fix: &Correction,
) -> AppResult<Vec<&'static str>> {
    let kind = body.kind().as_str();
    let mut changed = Vec::new();
    let mut set =
        |name: &'static str, slot: Option<&mut String>, value: &Option<String>, max: usize| -> AppResult<()> {
            if let Some(v) = value {
                let slot = slot.ok_or_else(|| not_on_kind(name, kind))?;
                *slot = text(name, v, max)?;
                changed.push(name);
            }
            Ok(())
        };
    match body {
        Body::Indicator(b) => {
            if fix.description.is_some() {
                b.description = Some(String::new());
            }
            set("description", b.description.as_mut(), &fix.description, 10_000)?;
            set("title", None, &fix.title, 0)?;
            set("summary", None, &fix.summary, 0)?;
            set("narrative", None, &fix.narrative, 0)?;
            set("impactDescription", None, &fix.impact_description, 0)?;
        }
        Body::Technique(b) => {
            set("narrative", Some(&mut b.narrative), &fix.narrative, 20_000)?;
            set("description", None, &fix.description, 0)?;
            set("title", None, &fix.title, 0)?;
            set("summary", None, &fix.summary, 0)?;
            set("impactDescription", None, &fix.impact_description, 0)?;
        }
        Body::Incident(b) => {
            if fix.impact_description.is_some() {
                b.impact_description.get_or_insert_with(String::new);
            }
            set("title", Some(&mut b.title), &fix.title, 300)?;
            set("summary", Some(&mut b.summary), &fix.summary, 20_000)?;
            set("impactDescription", b.impact_description.as_mut(), &fix.impact_description, 10_000)?;
            set("description", None, &fix.description, 0)?;
            set("narrative", None, &fix.narrative, 0)?;
        }
        Body::Advisory(b) => {
            if fix.description.is_some() {
                b.description.get_or_insert_with(String::new);
            }
            set("title", Some(&mut b.title), &fix.title, 300)?;
            set("description", b.description.as_mut(), &fix.description, 20_000)?;
            set("summary", None, &fix.summary, 0)?;
            set("narrative", None, &fix.narrative, 0)?;
            set("impactDescription", None, &fix.impact_description, 0)?;
        }
        // The hub cannot read (or rewrite) sealed content; its envelope's metadata
        // (confidence, validity, labels) it may still correct.
        Body::Sealed(_) => {
            let content = [&fix.description, &fix.title, &fix.summary, &fix.narrative, &fix.impact_description];
            if content.iter().any(|f| f.is_some()) {
                return Err(sealed_fixed());
            }
        }
        // An assessment's results are corrected by a new assessment, not by editing text.
        Body::Assessment(_) => {
            set("description", None, &fix.description, 0)?;
            set("title", None, &fix.title, 0)?;
            set("summary", None, &fix.summary, 0)?;
            set("narrative", None, &fix.narrative, 0)?;
            set("impactDescription", None, &fix.impact_description, 0)?;
        }
    }
    if let Some(c) = fix.confidence {
        if c > 100 {
            return Err(AppError::invalid("confidence is 0–100", "確信度は0〜100で指定してください"));
        }
        env.confidence = Some(c);
        changed.push("confidence");
    }
    if let Some(until) = fix.valid_until {
        if until <= Utc::now() {
            return Err(AppError::invalid("validUntil is in the past", "validUntilが過去の日時です"));
        }
        env.valid_until = Some(until);
        changed.push("validUntil");
    }
    if let Some(labels) = &fix.labels {
        env.labels = labels.iter().map(|l| text("labels", l, 100)).collect::<AppResult<_>>()?;
        changed.push("labels");
    }
    Ok(changed)
}

/// Corrects an item: a new version with the given fields changed (its submitter, or a
/// coordinator). A correction that changes nothing is refused, so followers never get
/// a version that differs only in its revision number.
pub fn correct(
    conn: &mut DbConn,
    origin: &Signer<'_>,
    policy: &Policy,
    actor: &Identity,
    id: &str,
    fix: &Correction,
) -> AppResult<Outcome> {
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let (current, access) = changeable(c, actor, id, "correct an item shared by another organisation")?;
        // Correcting means reading: a coordinator not named on a RED item may relabel or
        // revoke it, never rewrite what it cannot see.
        if visibility(&actor.viewer(), &access.item()) != Visibility::Full {
            return Err(AppError::forbidden("correct a TLP:RED item it is not named on"));
        }
        let (mut env, mut body) = stored::parts_of(&current)?;
        let (env_before, body_before) = (env.clone(), body.clone());
        let changed = apply_correction(&mut env, &mut body, fix)?;
        if let Some(modified) = fix.modified {
            env.modified = modified;
        }
        if changed.is_empty() || (env == env_before && body == body_before) {
            return Err(AppError::new(
                Code::NoChange,
                "the correction changes nothing",
                "訂正内容が現在の内容と同じです",
            ));
        }
        let tlp = env.tlp;
        if let Route::Queue(because) = route_change(c, policy, actor, &access, true, env.kind, tlp)? {
            let detail = json!({"fields": changed});
            let queued = queue_change(c, origin.keys, actor, &current, "correct", &env, &body, detail, because)?;
            return Ok(Outcome::Queued(queued));
        }
        let row = versions::write_next(c, origin, &current, env, &body)?;
        audit::append(
            c,
            origin.keys,
            AuditEvent {
                actor_org: Some(actor.org_id.clone()),
                actor_token: Some(actor.token_id.clone()),
                action: "correct".into(),
                target: Some(id.to_string()),
                detail: json!({"fields": changed, "revision": row.revision}),
                source: actor.source.clone(),
            },
        )?;
        Ok(Outcome::Applied(row))
    })
}

/// Open pending changes, oldest first: every one for a coordinator, the caller's own
/// organisation's for anyone else. `after` is the last entry's `queued_seq`.
pub fn open_changes(
    conn: &mut DbConn,
    actor: &Identity,
    first: usize,
    after: i64,
) -> AppResult<(Vec<PendingChangeRow>, bool)> {
    let mut query = pending_changes::table
        .filter(pending_changes::state.eq(OPEN))
        .filter(pending_changes::queued_seq.gt(after))
        .into_boxed();
    if !actor.is_coordinator() {
        query = query.filter(pending_changes::submitter_org.eq(actor.org_id.clone()));
    }
    let mut rows: Vec<PendingChangeRow> = query
        .order(pending_changes::queued_seq.asc())
        .limit(first as i64 + 1)
        .select(PendingChangeRow::as_select())
        .load(conn)?;
    let more = rows.len() > first;
    rows.truncate(first);
    Ok((rows, more))
}

/// The item as a pending change would make it, for reading under the schema policy
/// (as a pending item: the submitter and the coordinators), as an object row.
pub fn proposed_row(change: &PendingChangeRow, current: &ObjectRow) -> AppResult<ObjectRow> {
    let mut env: renkei_schema::model::Envelope = serde_json::from_str(&change.envelope).map_err(AppError::internal)?;
    let body: Body = serde_json::from_str(&change.body).map_err(AppError::internal)?;
    env.status = Status::Pending;
    stored::object_row(&env, &body, current.last_seq, current.first_seq)
}

/// A coordinator's decision on a pending change: approve (optionally with the same
/// sanitising steps as a submission: tighten, strip, redact) or reject with a reason.
/// Approval makes the new version, signed, in one transaction with the decision and its
/// audit entry; rejection leaves the item as it is. A change whose item moved on since
/// (another version) is superseded and cannot be approved.
pub fn decide_change(
    conn: &mut DbConn,
    origin: &Signer<'_>,
    actor: &Identity,
    change_id: &str,
    decision: moderation::Decision,
) -> AppResult<(PendingChangeRow, Option<ObjectRow>)> {
    if !actor.is_coordinator() {
        return Err(AppError::forbidden("moderate changes"));
    }
    let reject_reason = decision.checked_reason()?;
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let not_found = || AppError::not_found("pending change");
        let change: PendingChangeRow = pending_changes::table
            .find(change_id)
            .select(PendingChangeRow::as_select())
            .first(c)
            .optional()?
            .ok_or_else(not_found)?;
        if change.state != OPEN {
            return Err(AppError::new(
                Code::NotPending,
                format!("the change is {}, not open", change.state),
                format!("この変更は未決ではありません（{}）", change.state),
            ));
        }
        let current = stored::load_object(c, &change.object_id)?.ok_or_else(not_found)?;
        // The coordinator must be able to read the item as it would become (a RED
        // result is never queued, so this holds; checked all the same).
        let proposed = proposed_row(&change, &current)?;
        if renkei_schema::tlp::visibility(&actor.viewer(), &Access::of_object(&proposed)?.item())
            != renkei_schema::tlp::Visibility::Full
        {
            return Err(not_found());
        }
        moderation::check_segregation(c, actor, &change.submitter_org, &change.submitted_token)?;
        let decided = |state: &str, reason: Option<&str>| {
            json!({"by": actor.org_id, "token": actor.token_id, "at": now_text(), "state": state, "reason": reason})
                .to_string()
        };
        let access = Access::of_object(&current)?;
        if current.revision != change.base_revision || matches!(access.status, Status::Revoked | Status::Rejected) {
            diesel::update(pending_changes::table.find(&change.id))
                .set((pending_changes::state.eq(SUPERSEDED), pending_changes::decision.eq(decided(SUPERSEDED, None))))
                .execute(c)?;
            return Err(AppError::new(
                Code::ChangeOutdated,
                "the item changed since this change was submitted; it no longer applies",
                "この変更の提出後に情報が更新されたため、この変更は適用できません",
            ));
        }
        let (state, row, action) = match &decision {
            moderation::Decision::Reject(_) => (REJECTED, None, "moderation.reject_change"),
            moderation::Decision::Approve(patch) => {
                let mut env: renkei_schema::model::Envelope =
                    serde_json::from_str(&change.envelope).map_err(AppError::internal)?;
                let mut body: Body = serde_json::from_str(&change.body).map_err(AppError::internal)?;
                let mut changes = Vec::new();
                if let Some(patch) = patch {
                    moderation::apply_patch(c, &mut env, &mut body, patch, &mut changes)?;
                }
                env.status = Status::Published;
                let row = versions::write_next(c, origin, &current, env, &body)?;
                (APPROVED, Some((row, changes)), "moderation.approve_change")
            }
        };
        diesel::update(pending_changes::table.find(&change.id))
            .set((
                pending_changes::state.eq(state),
                pending_changes::decision.eq(decided(state, reject_reason.as_deref())),
            ))
            .execute(c)?;
        audit::append(
            c,
            origin.keys,
            AuditEvent {
                actor_org: Some(actor.org_id.clone()),
                actor_token: Some(actor.token_id.clone()),
                action: action.into(),
                target: Some(change.object_id.clone()),
                detail: json!({
                    "change": change.id,
                    "decision": state,
                    "reason": reject_reason,
                    "changes": row.as_ref().map(|(_, changes)| changes.clone()),
                    "revision": row.as_ref().map(|(r, _)| r.revision),
                }),
                source: actor.source.clone(),
            },
        )?;
        let mut change = change;
        change.state = state.into();
        Ok((change, row.map(|(r, _)| r)))
    })
}
