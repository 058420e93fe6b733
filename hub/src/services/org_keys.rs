//! The organisation key directory of sealed TLP:RED (`renkei_schema::seal`): the
//! public keys each member organisation's client installations registered, which
//! senders seal RED items to. The hub checks what it can (each key's self-signature, an
//! introduction by a key the organisation already has, that a rotation replaces a
//! current key) and publishes every key, revoked and replaced ones too (they verify
//! what was signed before), signed by the hub; members pin keys themselves
//! (`seal::check_published`), so the hub can neither swap nor add a key unnoticed.
//!
//! A key is *current* (sealed to) while it is not revoked, no other registered key of
//! its organisation names it in `replaces`, and it is not *pending*: a key registered
//! without an introduction while its organisation had current keys (a second
//! installation) waits for one of them to introduce it, as members' clients do.

use std::collections::HashMap;

use diesel::prelude::*;
use serde_json::json;

use renkei_schema::errors::Code;
use renkei_schema::seal::{KeyRegistration, PublishedKey, SealError};

use super::audit::{self, AuditEvent};
use super::stored::Signer;
use crate::auth::{Identity, Role};
use crate::crypto::HubKeys;
use crate::error::{AppError, AppResult};
use crate::store::models::OrgKeyRow;
use crate::store::schema::org_keys;
use crate::store::{acquire_write_lock, now_text, DbConn};

/// The most organisations one `organizationKeys` request may name.
pub const MAX_ORGS: usize = 200;

/// The most keys an organisation may register, revoked and replaced ones included (all
/// are published, and every member's sync reads them): so one `organizationKeys`
/// request signs and answers at most `MAX_ORGS × MAX_KEYS_PER_ORG` records, however a
/// member registers keys.
pub const MAX_KEYS_PER_ORG: usize = 64;

/// A key as the hub publishes it: `record` is the JSON of [`PublishedKey`].
#[derive(Debug, Clone)]
pub struct Published {
    pub org: String,
    pub key_id: String,
    pub revoked: bool,
    pub record: String,
}

fn invalid(message: impl Into<String>, message_ja: impl Into<String>) -> AppError {
    AppError::new(Code::InvalidOrgKey, message, message_ja)
}

fn refused(e: &SealError) -> AppError {
    invalid(e.to_string(), e.message_ja())
}

/// Only members' analysts and coordinators manage their organisation's keys.
fn require_member(actor: &Identity) -> AppResult<()> {
    if matches!(actor.role, Role::Analyst | Role::Coordinator) {
        Ok(())
    } else {
        Err(AppError::forbidden("manage the organisation's encryption keys"))
    }
}

fn registration_of(row: &OrgKeyRow) -> AppResult<KeyRegistration> {
    serde_json::from_str(&row.registration).map_err(AppError::internal)
}

fn load(c: &mut DbConn, key_id: &str) -> AppResult<Option<OrgKeyRow>> {
    Ok(org_keys::table.find(key_id).select(OrgKeyRow::as_select()).first(c).optional()?)
}

/// Every key of these organisations (any state), by organisation and registration.
pub fn keys_of(c: &mut DbConn, orgs: &[String]) -> AppResult<Vec<OrgKeyRow>> {
    Ok(org_keys::table
        .filter(org_keys::org_id.eq_any(orgs))
        .order((org_keys::org_id.asc(), org_keys::registered_at.asc(), org_keys::key_id.asc()))
        .select(OrgKeyRow::as_select())
        .load(c)?)
}

/// The current keys among an organisation's rows: not revoked, not pending, replaced
/// by no other key.
fn current_among(rows: &[OrgKeyRow]) -> Vec<String> {
    rows.iter()
        .filter(|r| !r.revoked && !r.pending && !rows.iter().any(|o| o.replaces.as_deref() == Some(r.key_id.as_str())))
        .map(|r| r.key_id.clone())
        .collect()
}

/// The ids of an organisation's current keys (what a sealed item to it must be wrapped
/// to).
pub fn current_keys(c: &mut DbConn, org: &str) -> AppResult<Vec<String>> {
    Ok(current_among(&keys_of(c, &[org.to_string()])?))
}

/// The current keys of each of these organisations (an organisation without one maps
/// to an empty list).
pub fn current_keys_of(c: &mut DbConn, orgs: &[String]) -> AppResult<HashMap<String, Vec<String>>> {
    let rows = keys_of(c, orgs)?;
    let mut by_org: HashMap<String, Vec<OrgKeyRow>> = orgs.iter().map(|o| (o.clone(), Vec::new())).collect();
    for row in rows {
        by_org.entry(row.org_id.clone()).or_default().push(row);
    }
    Ok(by_org.into_iter().map(|(org, rows)| (org, current_among(&rows))).collect())
}

/// The organisation of each of these key ids that is registered.
pub fn owners(c: &mut DbConn, key_ids: &[&str]) -> AppResult<HashMap<String, String>> {
    if key_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let rows: Vec<(String, String)> = org_keys::table
        .filter(org_keys::key_id.eq_any(key_ids))
        .select((org_keys::key_id, org_keys::org_id))
        .load(c)?;
    Ok(rows.into_iter().collect())
}

/// Signs and shapes rows as the hub publishes them, with its current signing key (one
/// batch signature for all; each verifies alone).
pub fn publish(c: &mut DbConn, keys: &HubKeys, rows: &[OrgKeyRow]) -> AppResult<Vec<Published>> {
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    let registrations: Vec<KeyRegistration> = rows.iter().map(registration_of).collect::<AppResult<_>>()?;
    let statements: Vec<String> = registrations
        .iter()
        .zip(rows)
        .map(|(r, row)| PublishedKey::hub_statement(r, row.revoked, row.pending))
        .collect();
    let key = keys.follow(c)?;
    let bytes: Vec<&[u8]> = statements.iter().map(|s| s.as_bytes()).collect();
    let signatures = key.key.sign_batch(&bytes);
    rows.iter()
        .zip(registrations)
        .zip(signatures)
        .map(|((row, registration), hub_signature)| {
            let record = serde_json::to_string(&PublishedKey {
                registration,
                revoked: row.revoked,
                pending: row.pending,
                hub_signature,
            })
            .map_err(AppError::internal)?;
            Ok(Published { org: row.org_id.clone(), key_id: row.key_id.clone(), revoked: row.revoked, record })
        })
        .collect()
}

/// Every key of these organisations as the hub publishes it (at most [`MAX_ORGS`]).
pub fn published(c: &mut DbConn, keys: &HubKeys, orgs: &[String]) -> AppResult<Vec<Published>> {
    if orgs.len() > MAX_ORGS {
        return Err(AppError::new(
            Code::BatchTooLarge,
            format!("at most {MAX_ORGS} organisations per request; got {}", orgs.len()),
            format!("1回に指定できる組織は{MAX_ORGS}件までです（{}件指定されました）", orgs.len()),
        ));
    }
    let mut orgs = orgs.to_vec();
    orgs.sort();
    orgs.dedup();
    let rows = keys_of(c, &orgs)?;
    publish(c, keys, &rows)
}

/// Checks `key`'s introduction by `introducer` (an unrevoked key of the same
/// organisation, not the key itself).
fn check_introducer(
    c: &mut DbConn,
    registration: &KeyRegistration,
    introducer: &str,
    introduction: &str,
) -> AppResult<()> {
    let key = &registration.key;
    let by = load(c, introducer)?.ok_or_else(|| {
        invalid(
            format!("key {} is introduced by {introducer}, which is not a registered key", key.key_id),
            format!("鍵{}を紹介した鍵{introducer}は登録されていません", key.key_id),
        )
    })?;
    if by.org_id != key.org {
        return Err(invalid(
            format!("key {} is introduced by a key of another organisation ({})", key.key_id, by.org_id),
            format!("鍵{}は他の組織（{}）の鍵によって紹介されています", key.key_id, by.org_id),
        ));
    }
    if by.revoked || by.key_id == key.key_id {
        return Err(invalid(
            format!("key {} is introduced by {introducer}, which is revoked or is the key itself", key.key_id),
            format!("鍵{}を紹介した鍵{introducer}は失効済みか、その鍵自身です", key.key_id),
        ));
    }
    key.check_introduction(&registration_of(&by)?.key, introduction).map_err(|e| refused(&e))
}

fn audit_key(c: &mut DbConn, keys: &HubKeys, actor: &Identity, action: &str, row: &OrgKeyRow) -> AppResult<()> {
    audit::append(
        c,
        keys,
        AuditEvent {
            actor_org: Some(actor.org_id.clone()),
            actor_token: Some(actor.token_id.clone()),
            action: action.into(),
            target: Some(row.key_id.clone()),
            detail: json!({
                "org": row.org_id,
                "keyId": row.key_id,
                "introducedBy": row.introduced_by,
                "replaces": row.replaces,
                "revoked": row.revoked,
            }),
            source: actor.source.clone(),
        },
    )?;
    Ok(())
}

/// Registers a key of the caller's organisation (`registration`: the JSON of
/// [`KeyRegistration`]), in one transaction with its audit entry.
pub fn register(c: &mut DbConn, signer: &Signer<'_>, actor: &Identity, registration: &str) -> AppResult<OrgKeyRow> {
    require_member(actor)?;
    let registration: KeyRegistration = serde_json::from_str(registration).map_err(|e| {
        invalid(
            format!("the registration is not a key registration: {e}"),
            format!("鍵の登録内容として読めません: {e}"),
        )
    })?;
    registration.check().map_err(|e| refused(&e))?;
    let key = &registration.key;
    if key.org != actor.org_id {
        return Err(AppError::new(
            Code::Forbidden,
            format!("the key is for organisation {}; you register only your own organisation's keys", key.org),
            format!("この鍵は組織{}のものです。登録できるのは自組織の鍵のみです", key.org),
        ));
    }
    c.transaction(|c| {
        acquire_write_lock(c)?;
        if load(c, &key.key_id)?.is_some() {
            return Err(AppError::new(
                Code::DuplicateOrgKey,
                format!("key {} is already registered", key.key_id),
                format!("鍵{}は既に登録されています", key.key_id),
            ));
        }
        let registered = keys_of(c, std::slice::from_ref(&key.org))?.len();
        if registered >= MAX_KEYS_PER_ORG {
            return Err(invalid(
                format!(
                    "organisation {} has registered {MAX_KEYS_PER_ORG} keys, the most it may; ask the hub's operator",
                    key.org
                ),
                format!(
                    "組織{}は登録できる鍵の上限（{MAX_KEYS_PER_ORG}件）に達しています。ハブの運用者に相談してください",
                    key.org
                ),
            ));
        }
        if let (Some(by), Some(introduction)) = (&registration.introduced_by, &registration.introduction) {
            check_introducer(c, &registration, by, introduction)?;
        }
        if let Some(replaced) = &key.replaces {
            let current = current_keys(c, &key.org)?;
            if !current.contains(replaced) {
                return Err(invalid(
                    format!("key {} replaces {replaced}, which is not a current key of {}", key.key_id, key.org),
                    format!("鍵{}が置き換える鍵{replaced}は{}の現在の鍵ではありません", key.key_id, key.org),
                ));
            }
        }
        // A second installation's key waits for an introduction by a current key.
        let pending = registration.introduced_by.is_none() && !current_keys(c, &key.org)?.is_empty();
        let row = OrgKeyRow {
            pending,
            key_id: key.key_id.clone(),
            org_id: key.org.clone(),
            registration: serde_json::to_string(&registration).map_err(AppError::internal)?,
            introduced_by: registration.introduced_by.clone(),
            replaces: key.replaces.clone(),
            revoked: false,
            registered_at: now_text(),
            revoked_at: None,
        };
        diesel::insert_into(org_keys::table).values(&row).execute(c)?;
        audit_key(c, signer.keys, actor, "org-key.register", &row)?;
        Ok(row)
    })
}

/// A key of the caller's organisation owned by it, for a change.
fn own_key(c: &mut DbConn, actor: &Identity, key_id: &str) -> AppResult<OrgKeyRow> {
    let row = load(c, key_id)?.ok_or_else(|| AppError::not_found("organisation key"))?;
    if row.org_id != actor.org_id {
        return Err(AppError::forbidden("change another organisation's key"));
    }
    Ok(row)
}

/// Records the introduction of a key registered without one (a second installation)
/// by another unrevoked key of the organisation.
pub fn introduce(
    c: &mut DbConn,
    signer: &Signer<'_>,
    actor: &Identity,
    key_id: &str,
    introduced_by: &str,
    introduction: &str,
) -> AppResult<OrgKeyRow> {
    require_member(actor)?;
    c.transaction(|c| {
        acquire_write_lock(c)?;
        let mut row = own_key(c, actor, key_id)?;
        if row.introduced_by.is_some() || row.revoked {
            return Err(invalid(
                format!("key {key_id} is already introduced or is revoked"),
                format!("鍵{key_id}は紹介済みか失効済みです"),
            ));
        }
        let mut registration = registration_of(&row)?;
        check_introducer(c, &registration, introduced_by, introduction)?;
        registration.introduced_by = Some(introduced_by.to_string());
        registration.introduction = Some(introduction.to_string());
        registration.check().map_err(|e| refused(&e))?;
        row.registration = serde_json::to_string(&registration).map_err(AppError::internal)?;
        row.introduced_by = Some(introduced_by.to_string());
        row.pending = false;
        diesel::update(org_keys::table.find(key_id))
            .set((
                org_keys::registration.eq(&row.registration),
                org_keys::introduced_by.eq(&row.introduced_by),
                org_keys::pending.eq(false),
            ))
            .execute(c)?;
        audit_key(c, signer.keys, actor, "org-key.introduce", &row)?;
        Ok(row)
    })
}

/// Revokes a key of the caller's organisation: nothing new is sealed to it.
pub fn revoke(c: &mut DbConn, signer: &Signer<'_>, actor: &Identity, key_id: &str) -> AppResult<OrgKeyRow> {
    require_member(actor)?;
    c.transaction(|c| {
        acquire_write_lock(c)?;
        let mut row = own_key(c, actor, key_id)?;
        if row.revoked {
            return Err(AppError::new(
                Code::AlreadyRevoked,
                format!("key {key_id} is already revoked"),
                format!("鍵{key_id}は既に失効しています"),
            ));
        }
        row.revoked = true;
        row.revoked_at = Some(now_text());
        diesel::update(org_keys::table.find(key_id))
            .set((org_keys::revoked.eq(true), org_keys::revoked_at.eq(&row.revoked_at)))
            .execute(c)?;
        audit_key(c, signer.keys, actor, "org-key.revoke", &row)?;
        Ok(row)
    })
}
