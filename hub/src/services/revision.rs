//! Changing a shared item after the fact: a new label (or RED recipients), or a
//! correction of its content. Each is a new signed version in one transaction; the
//! change feed turns a tightened label into tombstones for whoever lost access and a
//! loosened one into a version for whoever gained it (`renkei_schema::tlp::feed_entry`).

use chrono::{DateTime, Utc};
use diesel::Connection;
use serde_json::json;

use renkei_schema::model::Body;
use renkei_schema::tlp::{visibility, Status, Tlp, Visibility};

use super::audit::{self, AuditEvent};
use super::sharing::{self, Access, Origin, Sharing};
use crate::auth::Identity;
use crate::error::{AppError, AppResult};
use crate::store::models::ObjectRow;
use crate::store::{acquire_write_lock, DbConn};

/// Whether `to` lets anyone read the item who could not under `from`. Labels order
/// from CLEAR (widest) to RED; between two RED labels, adding a recipient loosens.
fn loosens(from: (Tlp, &[String]), to: (Tlp, &[String])) -> bool {
    match (from.0, to.0) {
        (Tlp::Red, Tlp::Red) => to.1.iter().any(|r| !from.1.contains(r)),
        (a, b) => b < a,
    }
}

/// Loads an item the actor may change: its submitter (who may share) or a coordinator.
/// Items the actor may not see do not exist for it.
fn changeable(c: &mut DbConn, actor: &Identity, id: &str, what: &str) -> AppResult<(ObjectRow, Access)> {
    let (current, access) = sharing::load_known(c, &actor.viewer(), id)?;
    let is_submitter = access.submitter == actor.org_id;
    if !(actor.is_coordinator() || (is_submitter && actor.may_share())) {
        return Err(AppError::forbidden(what));
    }
    if matches!(access.status, Status::Revoked | Status::Rejected) {
        return Err(AppError::new(
            "NOT_CHANGEABLE",
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
    origin: &Origin<'_>,
    actor: &Identity,
    id: &str,
    tlp: Tlp,
    recipients: Vec<String>,
) -> AppResult<ObjectRow> {
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
        sharing::validate_sharing(c, &mut sharing)?;
        if access.status == Status::Pending && tlp == Tlp::Red {
            return Err(AppError::new(
                "RED_NOT_PENDING",
                "a pending item cannot become TLP:RED: RED items go straight to their recipients; ask a coordinator to approve it with the RED label",
                "保留中の情報はTLP:REDにできません。REDの情報は受領組織に直接届くため、コーディネーターにREDでの承認を依頼してください",
            ));
        }
        let (from, to) = ((access.tlp, access.recipients.as_slice()), (tlp, sharing.recipients.as_slice()));
        if access.tlp == tlp && access.recipients == sharing.recipients {
            return Err(AppError::new("NO_CHANGE", "the item already has this label", "既にこのラベルです"));
        }
        let loosening = loosens(from, to);
        if loosening && access.submitter != actor.org_id {
            return Err(AppError::new(
                "TLP_LOOSENING",
                format!("only the submitter may loosen a label ({} to {})", access.tlp, tlp),
                format!("ラベルを緩められるのは提出者のみです（{}から{}）", access.tlp, tlp),
            ));
        }
        let (mut env, body) = sharing::parts_of(&current)?;
        env.tlp = tlp;
        env.recipients = sharing.recipients.clone();
        let row = sharing::write_next_version(c, origin, &current, env, &body)?;
        audit::append(
            c,
            AuditEvent {
                actor_org: Some(actor.org_id.clone()),
                actor_token: Some(actor.token_id.clone()),
                action: "relabel".into(),
                target: Some(id.to_string()),
                detail: json!({
                    "from": access.tlp.as_str(),
                    "to": tlp.as_str(),
                    "recipients": sharing.recipients,
                    "loosened": loosening,
                    "revision": row.revision,
                }),
                source: actor.source.clone(),
            },
        )?;
        Ok(row)
    })
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
}

fn not_on_kind(field: &str, kind: &str) -> AppError {
    AppError::new(
        "INVALID_PATCH",
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
    origin: &Origin<'_>,
    actor: &Identity,
    id: &str,
    fix: &Correction,
) -> AppResult<ObjectRow> {
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let (current, access) = changeable(c, actor, id, "correct an item shared by another organisation")?;
        // Correcting means reading: a coordinator not named on a RED item may relabel or
        // revoke it, never rewrite what it cannot see.
        if visibility(&actor.viewer(), &access.item()) != Visibility::Full {
            return Err(AppError::forbidden("correct a TLP:RED item it is not named on"));
        }
        let (mut env, mut body) = sharing::parts_of(&current)?;
        let (env_before, body_before) = (env.clone(), body.clone());
        let changed = apply_correction(&mut env, &mut body, fix)?;
        if changed.is_empty() || (env == env_before && body == body_before) {
            return Err(AppError::new("NO_CHANGE", "the correction changes nothing", "訂正内容が現在の内容と同じです"));
        }
        let row = sharing::write_next_version(c, origin, &current, env, &body)?;
        audit::append(
            c,
            AuditEvent {
                actor_org: Some(actor.org_id.clone()),
                actor_token: Some(actor.token_id.clone()),
                action: "correct".into(),
                target: Some(id.to_string()),
                detail: json!({"fields": changed, "revision": row.revision}),
                source: actor.source.clone(),
            },
        )?;
        Ok(row)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loosening_is_any_wider_audience() {
        let none: &[String] = &[];
        let a = ["a".to_string()];
        let ab = ["a".to_string(), "b".to_string()];
        assert!(loosens((Tlp::Amber, none), (Tlp::Green, none)));
        assert!(!loosens((Tlp::Green, none), (Tlp::AmberStrict, none)));
        assert!(loosens((Tlp::Red, &a), (Tlp::Red, &ab)), "adding a RED recipient");
        assert!(!loosens((Tlp::Red, &ab), (Tlp::Red, &a)), "removing one tightens");
        assert!(loosens((Tlp::Red, &a), (Tlp::AmberStrict, none)));
        assert!(!loosens((Tlp::Clear, none), (Tlp::Red, &a)));
    }
}
