//! Member organisations and their tokens.

use diesel::prelude::*;
use serde_json::json;

use super::audit::{self, AuditEvent};
use crate::auth::{CheckedToken, Identity, Role};
use crate::crypto::{new_token, token_id_of, HubKeys};
use crate::error::{AppError, AppResult};
use crate::store::models::{OrganizationRow, TokenRow};
use crate::store::schema::{organizations, tokens};
use crate::store::{acquire_write_lock, now_text, parse_time, time_text, DbConn};
use renkei_schema::errors::Code;
use renkei_schema::moderation::Trust;

pub fn add_org(
    conn: &mut DbConn,
    keys: &HubKeys,
    name: &str,
    sector: &str,
    coordinator: bool,
    trust: Trust,
    actor: Option<&Identity>,
) -> AppResult<OrganizationRow> {
    let name = renkei_schema::model::clean_text("name", name, 200)
        .map_err(|e| AppError::invalid(e.to_string(), e.message_ja()))?;
    let sector = renkei_schema::model::clean_text("sector", sector, 100)
        .map_err(|e| AppError::invalid(e.to_string(), e.message_ja()))?;
    conn.transaction(|c| {
        // Writers take the lock first (SQLite cannot upgrade a stale read to a write).
        acquire_write_lock(c)?;
        let exists: i64 = organizations::table.filter(organizations::name.eq(&name)).count().get_result(c)?;
        if exists > 0 {
            return Err(AppError::new(
                Code::Duplicate,
                format!("an organisation named {name:?} already exists"),
                format!("組織「{name}」は既に登録されています"),
            ));
        }
        let row = OrganizationRow {
            id: uuid::Uuid::new_v4().to_string(),
            name: name.clone(),
            sector: sector.clone(),
            is_coordinator: coordinator,
            created_at: now_text(),
            trust: trust.as_str().into(),
        };
        diesel::insert_into(organizations::table).values(&row).execute(c)?;
        audit::append(
            c,
            keys,
            AuditEvent {
                actor_org: actor.map(|a| a.org_id.clone()),
                actor_token: actor.map(|a| a.token_id.clone()),
                action: "org.add".into(),
                target: Some(row.id.clone()),
                detail: json!({"name": name, "sector": sector, "coordinator": coordinator, "trust": trust.as_str()}),
                source: actor.and_then(|a| a.source.clone()),
            },
        )?;
        Ok(row)
    })
}

pub fn list_orgs(conn: &mut DbConn) -> AppResult<Vec<OrganizationRow>> {
    Ok(organizations::table.select(OrganizationRow::as_select()).order(organizations::name.asc()).load(conn)?)
}

pub fn org_names(conn: &mut DbConn) -> AppResult<std::collections::HashMap<String, String>> {
    Ok(organizations::table
        .select((organizations::id, organizations::name))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// Issues a token and returns it; only its digest is stored, so this is the one time
/// anyone sees it.
/// What a token may be granted beyond its role.
pub const GRANTS: [&str; 1] = ["indicators"];

pub fn issue_token(
    conn: &mut DbConn,
    keys: &HubKeys,
    org_id: &str,
    role: Role,
    expires: Option<chrono::DateTime<chrono::Utc>>,
    grants: &[String],
    name: Option<&str>,
) -> AppResult<(String, String)> {
    issue(conn, keys, None, &NewToken { org_id, role, expires, grants, name })
}

/// What a new token is for.
pub struct NewToken<'a> {
    pub org_id: &'a str,
    pub role: Role,
    pub expires: Option<chrono::DateTime<chrono::Utc>>,
    pub grants: &'a [String],
    pub name: Option<&'a str>,
}

/// Issues a token for a coordinator acting in the web console: the rules of
/// [`issue_token`], with the acting coordinator named in the audit entry; peer tokens
/// come only with their federation link. Returns the token id and the token, shown
/// this once.
pub fn issue_token_by(
    conn: &mut DbConn,
    keys: &HubKeys,
    actor: &Identity,
    new: &NewToken<'_>,
) -> AppResult<(String, String)> {
    if !actor.is_coordinator() {
        return Err(AppError::forbidden("issue tokens"));
    }
    if new.role == Role::Peer {
        return Err(AppError::invalid(
            "peer hub tokens come with their federation link (`renkei-hub peer add`)",
            "ピアハブ用トークンは連携リンクの登録（renkei-hub peer add）で発行されます",
        ));
    }
    issue(conn, keys, Some(actor), new)
}

/// Issues a token (the operator's command line without an actor, a coordinator in the
/// console with one): checked grants and name, coordinator tokens only for coordinator
/// organisations, an expiry in the future; audited.
fn issue(
    conn: &mut DbConn,
    keys: &HubKeys,
    actor: Option<&Identity>,
    new: &NewToken<'_>,
) -> AppResult<(String, String)> {
    let NewToken { org_id, role, expires, grants, name } = *new;
    let name = name.map(token_name).transpose()?;
    let mut granted: Vec<&str> = Vec::new();
    for g in grants {
        let g = g.trim();
        if !GRANTS.contains(&g) {
            return Err(AppError::invalid(
                format!("grant {g:?}: expected one of {}", GRANTS.join(", ")),
                format!("付与「{g}」は使えません（{}）", GRANTS.join(", ")),
            ));
        }
        if !granted.contains(&g) {
            granted.push(g);
        }
    }
    conn.transaction(|c| {
        // Writers take the lock first (SQLite cannot upgrade a stale read to a write).
        acquire_write_lock(c)?;
        let org: Option<OrganizationRow> =
            organizations::table.find(org_id).select(OrganizationRow::as_select()).first(c).optional()?;
        let org = org.ok_or_else(|| AppError::not_found("organisation"))?;
        if role == Role::Coordinator && !org.is_coordinator {
            return Err(AppError::new(
                Code::Forbidden,
                "coordinator tokens are only for coordinator organisations",
                "コーディネーター用トークンはコーディネーター組織にのみ発行できます",
            ));
        }
        if expires.is_some_and(|t| t <= chrono::Utc::now()) {
            return Err(AppError::invalid("the expiry is in the past", "有効期限が過去の日時です"));
        }
        let (id, token) = new_token().map_err(AppError::internal)?;
        let row = TokenRow {
            id: id.clone(),
            org_id: org.id.clone(),
            role: role.as_str().into(),
            digest: keys.token_digest(&token),
            created_at: now_text(),
            expires_at: expires.as_ref().map(time_text),
            revoked_at: None,
            grants: granted.join(","),
            name: name.clone(),
        };
        diesel::insert_into(tokens::table).values(&row).execute(c)?;
        audit::append(
            c,
            keys,
            AuditEvent {
                actor_org: actor.map(|a| a.org_id.clone()),
                actor_token: actor.map(|a| a.token_id.clone()),
                action: "token.issue".into(),
                target: Some(id.clone()),
                detail: json!({"org": org.id, "role": role.as_str(), "expires": row.expires_at, "grants": granted, "name": name}),
                source: actor.and_then(|a| a.source.clone()),
            },
        )?;
        Ok((id, token))
    })
}

/// Longest token name, in characters.
const TOKEN_NAME_MAX: usize = 100;

/// A token's name as given: trimmed, not empty, at most [`TOKEN_NAME_MAX`] characters,
/// no control characters (it is printed in audit listings and terminals).
fn token_name(name: &str) -> AppResult<String> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > TOKEN_NAME_MAX || name.chars().any(char::is_control) {
        return Err(AppError::invalid(
            format!("a token name is 1 to {TOKEN_NAME_MAX} characters without control characters"),
            format!("トークン名は制御文字を含まない1〜{TOKEN_NAME_MAX}文字です"),
        ));
    }
    Ok(name.to_string())
}

/// The names of these tokens (those that have one), by token id.
pub fn token_names(conn: &mut DbConn, ids: &[&str]) -> AppResult<std::collections::HashMap<String, String>> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    let named: Vec<(String, Option<String>)> =
        tokens::table.filter(tokens::id.eq_any(ids)).select((tokens::id, tokens::name)).load(conn)?;
    Ok(named.into_iter().filter_map(|(id, name)| name.map(|n| (id, n))).collect())
}

pub fn revoke_token(conn: &mut DbConn, keys: &HubKeys, token_id: &str) -> AppResult<()> {
    revoke(conn, keys, None, token_id)
}

fn revoke(conn: &mut DbConn, keys: &HubKeys, actor: Option<&Identity>, token_id: &str) -> AppResult<()> {
    conn.transaction(|c| {
        // Writers take the lock first (SQLite cannot upgrade a stale read to a write).
        acquire_write_lock(c)?;
        let changed = diesel::update(tokens::table.find(token_id).filter(tokens::revoked_at.is_null()))
            .set(tokens::revoked_at.eq(Some(now_text())))
            .execute(c)?;
        if changed == 0 {
            return Err(AppError::not_found("active token"));
        }
        audit::append(
            c,
            keys,
            AuditEvent {
                actor_org: actor.map(|a| a.org_id.clone()),
                actor_token: actor.map(|a| a.token_id.clone()),
                action: "token.revoke".into(),
                target: Some(token_id.into()),
                detail: json!({}),
                source: actor.and_then(|a| a.source.clone()),
            },
        )?;
        Ok(())
    })
}

/// Why a presented token was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenRefusal {
    Malformed,
    Unknown,
    WrongSecret,
    Revoked,
    Expired,
}

impl TokenRefusal {
    pub fn as_str(self) -> &'static str {
        match self {
            TokenRefusal::Malformed => "malformed",
            TokenRefusal::Unknown => "unknown",
            TokenRefusal::WrongSecret => "wrong-secret",
            TokenRefusal::Revoked => "revoked",
            TokenRefusal::Expired => "expired",
        }
    }
}

/// Checks a presented bearer token. The digest comparison is constant-time.
pub fn check_token(
    conn: &mut DbConn,
    keys: &HubKeys,
    token: &str,
) -> AppResult<Result<CheckedToken, (TokenRefusal, Option<String>)>> {
    let Some(id) = token_id_of(token) else {
        return Ok(Err((TokenRefusal::Malformed, None)));
    };
    let found: Option<TokenRow> = tokens::table.find(id).select(TokenRow::as_select()).first(conn).optional()?;
    let Some(row) = found else {
        return Ok(Err((TokenRefusal::Unknown, None)));
    };
    let org: OrganizationRow =
        organizations::table.find(&row.org_id).select(OrganizationRow::as_select()).first(conn)?;
    let refusal = if !keys.token_matches(token, &row.digest) {
        Some(TokenRefusal::WrongSecret)
    } else if row.revoked_at.is_some() {
        Some(TokenRefusal::Revoked)
    } else if row.expires_at.as_deref().and_then(parse_time).is_some_and(|t| t <= chrono::Utc::now()) {
        Some(TokenRefusal::Expired)
    } else {
        None
    };
    if let Some(refusal) = refusal {
        return Ok(Err((refusal, Some(row.id))));
    }
    let role =
        Role::parse(&row.role).ok_or_else(|| AppError::internal(format!("token {} has role {}", row.id, row.role)))?;
    let expires_at = row.expires_at.as_deref().and_then(parse_time);
    Ok(Ok(CheckedToken {
        identity: Identity {
            org_id: org.id,
            org_name: org.name,
            role,
            token_id: row.id,
            source: None,
            grants: row.grants.split(',').filter(|g| !g.is_empty()).map(str::to_string).collect(),
        },
        digest: row.digest,
        expires_at,
    }))
}

/// Every token the hub has issued (peer hubs' too), newest first, for the coordinators'
/// administration page. The rows carry the token's digest, never the token itself: a
/// caller shows id, organisation, role, name and dates, and nothing of the digest.
pub fn list_tokens(conn: &mut DbConn) -> AppResult<Vec<TokenRow>> {
    Ok(tokens::table.select(TokenRow::as_select()).order((tokens::created_at.desc(), tokens::id.asc())).load(conn)?)
}

/// Revokes a token for a coordinator acting in the web console, like [`revoke_token`]
/// with the acting coordinator named in the audit entry. The token's console sessions
/// end with it (a session is only as good as its token).
pub fn revoke_token_by(conn: &mut DbConn, keys: &HubKeys, actor: &Identity, token_id: &str) -> AppResult<()> {
    if !actor.is_coordinator() {
        return Err(AppError::forbidden("revoke tokens"));
    }
    revoke(conn, keys, Some(actor), token_id)
}

/// One token by id, revoked or not (its digest, never the token itself).
pub fn find_token(conn: &mut DbConn, token_id: &str) -> AppResult<Option<TokenRow>> {
    Ok(tokens::table.find(token_id).select(TokenRow::as_select()).first(conn).optional()?)
}
