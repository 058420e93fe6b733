//! Web console sessions and the second factors of the people who sign in (handbook
//! 11.4.2.3: hardware security keys first, TOTP as the fallback; required for
//! coordinators). The browser holds a random secret in an HttpOnly cookie; only its
//! SHA-256 is stored, beside the token the person signed in with, so a copy of the
//! database opens no session. Each write is one transaction; sign-ins, sign-outs,
//! enrolments and refused second factors go to the audit log.
//!
//! The console (`crate::console`) turns cookies into calls here; nothing here knows HTTP.

use chrono::{DateTime, Duration, Utc};
use diesel::prelude::*;
use serde_json::json;

use crate::auth::{Identity, Role};
use crate::crypto::{random_bytes, sha256_hex, HubKeys};
use crate::error::{AppError, AppResult};
use crate::services::audit::{self, AuditEvent};
use crate::store::models::{OrganizationRow, TokenRow};
use crate::store::schema::{console_enrolments, console_sessions, organizations, second_factors, tokens};
use crate::store::{acquire_write_lock, now_text, parse_time, time_text, DbConn};
use renkei_schema::errors::Code;

/// Where a session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Signed in with a token; a second factor is still to be shown.
    SecondFactor,
    /// A coordinator without a second factor: registering one (after the one-time code).
    Enrol,
    /// Signed in.
    Active,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::SecondFactor => "second-factor",
            Stage::Enrol => "enrol",
            Stage::Active => "active",
        }
    }

    fn parse(s: &str) -> Option<Stage> {
        [Stage::SecondFactor, Stage::Enrol, Stage::Active].into_iter().find(|st| st.as_str() == s)
    }
}

/// A live session as a request finds it.
#[derive(Debug, Clone)]
pub struct Session {
    pub id_hash: String,
    pub identity: Identity,
    /// The token's holder, as the issuer named them.
    pub holder: Option<String>,
    /// The secret every form of this session carries (CSRF).
    pub csrf: String,
    pub stage: Stage,
    /// The WebAuthn challenge the session is waiting on (hex), if any.
    pub challenge: Option<String>,
}

/// How long sessions last (configured).
#[derive(Debug, Clone, Copy)]
pub struct Lifetimes {
    pub idle: Duration,
    pub absolute: Duration,
}

/// `last_seen` is written at most this often (so reading pages costs no write each).
const TOUCH_EVERY: i64 = 60;

fn secret_hex<const N: usize>() -> AppResult<String> {
    Ok(hex::encode(random_bytes::<N>().map_err(AppError::internal)?))
}

fn hash_of(cookie_secret: &str) -> String {
    sha256_hex(cookie_secret.as_bytes())
}

/// The identity behind a token id, if the token is still valid (not revoked, not
/// expired): a session stays only as good as its token.
fn identity_of_token(c: &mut DbConn, token_id: &str) -> AppResult<Option<(Identity, Option<String>)>> {
    let row: Option<TokenRow> = tokens::table.find(token_id).select(TokenRow::as_select()).first(c).optional()?;
    let Some(row) = row else { return Ok(None) };
    if row.revoked_at.is_some() || row.expires_at.as_deref().and_then(parse_time).is_some_and(|t| t <= Utc::now()) {
        return Ok(None);
    }
    let org: OrganizationRow = organizations::table.find(&row.org_id).select(OrganizationRow::as_select()).first(c)?;
    let Some(role) = Role::parse(&row.role) else { return Ok(None) };
    Ok(Some((
        Identity {
            org_id: org.id,
            org_name: org.name,
            role,
            token_id: row.id,
            source: None,
            grants: row.grants.split(',').filter(|g| !g.is_empty()).map(str::to_string).collect(),
        },
        row.name,
    )))
}

/// An audit entry of what a session's holder did.
fn session_event(session: &Session, action: &str, target: Option<String>, detail: serde_json::Value) -> AuditEvent {
    AuditEvent {
        actor_org: Some(session.identity.org_id.clone()),
        actor_token: Some(session.identity.token_id.clone()),
        action: action.into(),
        target,
        detail,
        source: session.identity.source.clone(),
    }
}

/// Whether the token's holder has registered any second factor.
pub fn has_second_factor(c: &mut DbConn, token_id: &str) -> AppResult<bool> {
    let n: i64 = second_factors::table.filter(second_factors::token_id.eq(token_id)).count().get_result(c)?;
    Ok(n > 0)
}

/// Opens a session for a token already checked (`directory::check_token` through the
/// gate, which counts failures). Returns the cookie's secret and the session. Peers
/// have no console.
pub fn start(c: &mut DbConn, keys: &HubKeys, identity: &Identity, lifetimes: Lifetimes) -> AppResult<(String, Stage)> {
    if identity.role == Role::Peer {
        return Err(AppError::new(
            Code::Forbidden,
            "peer hub tokens cannot sign in to the console",
            "ピアハブ用のトークンではコンソールにサインインできません",
        ));
    }
    let cookie_secret = secret_hex::<32>()?;
    let csrf = secret_hex::<32>()?;
    c.transaction(|c| {
        acquire_write_lock(c)?;
        // Sessions nobody came back to are swept here (a returning one is ended when
        // its cookie is next presented), so the table holds live sessions only.
        let now = Utc::now();
        diesel::delete(
            console_sessions::table.filter(
                console_sessions::absolute_until
                    .le(time_text(&now))
                    .or(console_sessions::last_seen.le(time_text(&(now - lifetimes.idle)))),
            ),
        )
        .execute(c)?;
        let stage = if has_second_factor(c, &identity.token_id)? {
            Stage::SecondFactor
        } else if identity.is_coordinator() {
            Stage::Enrol
        } else {
            Stage::Active
        };
        diesel::insert_into(console_sessions::table)
            .values((
                console_sessions::id_hash.eq(hash_of(&cookie_secret)),
                console_sessions::token_id.eq(&identity.token_id),
                console_sessions::csrf.eq(&csrf),
                console_sessions::stage.eq(stage.as_str()),
                console_sessions::created_at.eq(time_text(&now)),
                console_sessions::last_seen.eq(time_text(&now)),
                console_sessions::absolute_until.eq(time_text(&(now + lifetimes.absolute))),
            ))
            .execute(c)?;
        audit::append(
            c,
            keys,
            AuditEvent {
                actor_org: Some(identity.org_id.clone()),
                actor_token: Some(identity.token_id.clone()),
                action: "console.sign-in".into(),
                target: None,
                detail: json!({"stage": stage.as_str()}),
                source: identity.source.clone(),
            },
        )?;
        Ok((cookie_secret.clone(), stage))
    })
}

/// The session a cookie names, if it is live: not idle past `idle`, not past its
/// absolute end, its token still valid. An expired session is deleted.
pub fn load(c: &mut DbConn, cookie_secret: &str, lifetimes: Lifetimes) -> AppResult<Option<Session>> {
    type Row = (String, String, String, String, Option<String>, String, String);
    let id_hash = hash_of(cookie_secret);
    let row: Option<Row> = console_sessions::table
        .find(&id_hash)
        .select((
            console_sessions::id_hash,
            console_sessions::token_id,
            console_sessions::csrf,
            console_sessions::stage,
            console_sessions::challenge,
            console_sessions::last_seen,
            console_sessions::absolute_until,
        ))
        .first(c)
        .optional()?;
    let Some((id_hash, token_id, csrf, stage, challenge, last_seen, absolute_until)) = row else {
        return Ok(None);
    };
    let now = Utc::now();
    let last_seen = parse_time(&last_seen).unwrap_or(DateTime::<Utc>::MIN_UTC);
    let ends = parse_time(&absolute_until).unwrap_or(DateTime::<Utc>::MIN_UTC);
    let identity = identity_of_token(c, &token_id)?;
    let (Some(stage), Some((identity, holder))) = (Stage::parse(&stage), identity) else {
        end(c, &id_hash)?;
        return Ok(None);
    };
    if now >= ends || now - last_seen >= lifetimes.idle {
        end(c, &id_hash)?;
        return Ok(None);
    }
    if (now - last_seen).num_seconds() >= TOUCH_EVERY {
        diesel::update(console_sessions::table.find(&id_hash))
            .set(console_sessions::last_seen.eq(time_text(&now)))
            .execute(c)?;
    }
    Ok(Some(Session { id_hash, identity, holder, csrf, stage, challenge }))
}

/// Ends a session (sign-out, expiry): the row goes.
pub fn end(c: &mut DbConn, id_hash: &str) -> AppResult<()> {
    diesel::delete(console_sessions::table.find(id_hash)).execute(c)?;
    Ok(())
}

/// Signs out: ends the session and notes it in the audit log.
pub fn sign_out(c: &mut DbConn, keys: &HubKeys, session: &Session) -> AppResult<()> {
    c.transaction(|c| {
        acquire_write_lock(c)?;
        end(c, &session.id_hash)?;
        audit::append(c, keys, session_event(session, "console.sign-out", None, json!({})))?;
        Ok(())
    })
}

/// Keeps a WebAuthn challenge (hex) with the session until it is answered.
pub fn set_challenge(c: &mut DbConn, id_hash: &str, challenge: Option<&str>) -> AppResult<()> {
    diesel::update(console_sessions::table.find(id_hash)).set(console_sessions::challenge.eq(challenge)).execute(c)?;
    Ok(())
}

/// Moves a session on (second factor shown, or enrolled), with a new CSRF secret and
/// a new cookie secret: the session that passed the second factor is not the one an
/// observer of the first step knew (session fixation). Returns the new cookie secret.
fn advance(c: &mut DbConn, session: &Session, stage: Stage) -> AppResult<String> {
    let cookie_secret = secret_hex::<32>()?;
    diesel::update(console_sessions::table.find(&session.id_hash))
        .set((
            console_sessions::id_hash.eq(hash_of(&cookie_secret)),
            console_sessions::stage.eq(stage.as_str()),
            console_sessions::csrf.eq(secret_hex::<32>()?),
            console_sessions::challenge.eq(None::<String>),
        ))
        .execute(c)?;
    Ok(cookie_secret)
}

/// A registered second factor.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = second_factors)]
pub struct Factor {
    pub id: String,
    pub token_id: String,
    pub kind: String,
    pub label: String,
    pub credential_id: Option<String>,
    pub public_key: Option<String>,
    pub secret: Option<String>,
    pub counter: i64,
    pub created_at: String,
    pub last_used_at: Option<String>,
}

pub const WEBAUTHN: &str = "webauthn";
pub const TOTP: &str = "totp";

pub fn factors(c: &mut DbConn, token_id: &str) -> AppResult<Vec<Factor>> {
    Ok(second_factors::table
        .filter(second_factors::token_id.eq(token_id))
        .order(second_factors::created_at.asc())
        .select(Factor::as_select())
        .load(c)?)
}

/// What a new second factor holds.
pub enum NewFactor {
    WebAuthn { credential_id: String, public_key: String, counter: u32 },
    Totp { secret: String, step: i64 },
}

/// Registers a second factor and, in the same transaction, moves the session on to
/// active (a coordinator's first factor needs `enrolment_checked`: the one-time code was
/// taken). Returns the new cookie secret.
pub fn enrol(c: &mut DbConn, keys: &HubKeys, session: &Session, label: &str, factor: NewFactor) -> AppResult<String> {
    let label = crate::services::text("label", label, 100)?;
    c.transaction(|c| {
        acquire_write_lock(c)?;
        let (kind, credential_id, public_key, secret, counter) = match &factor {
            NewFactor::WebAuthn { credential_id, public_key, counter } => {
                (WEBAUTHN, Some(credential_id.clone()), Some(public_key.clone()), None, i64::from(*counter))
            }
            NewFactor::Totp { secret, step } => (TOTP, None, None, Some(secret.clone()), *step),
        };
        if let Some(id) = &credential_id {
            let taken: i64 =
                second_factors::table.filter(second_factors::credential_id.eq(id)).count().get_result(c)?;
            if taken > 0 {
                return Err(AppError::invalid(
                    "this security key is registered already",
                    "このセキュリティキーは登録済みです",
                ));
            }
        }
        let id = uuid::Uuid::new_v4().to_string();
        diesel::insert_into(second_factors::table)
            .values((
                second_factors::id.eq(&id),
                second_factors::token_id.eq(&session.identity.token_id),
                second_factors::kind.eq(kind),
                second_factors::label.eq(&label),
                second_factors::credential_id.eq(credential_id),
                second_factors::public_key.eq(public_key),
                second_factors::secret.eq(secret),
                second_factors::counter.eq(counter),
                second_factors::created_at.eq(now_text()),
            ))
            .execute(c)?;
        let cookie = advance(c, session, Stage::Active)?;
        audit::append(
            c,
            keys,
            session_event(session, "console.factor.enrol", Some(id), json!({"kind": kind, "label": label})),
        )?;
        Ok(cookie)
    })
}

/// A second factor shown at sign-in: its new counter (WebAuthn signature count, or the
/// TOTP step used) is stored and the session becomes active, in one transaction; the
/// counter only moves forward (a replayed code or a cloned key's count is refused by the
/// caller's check against `Factor::counter`, and again here under the lock).
pub fn passed(c: &mut DbConn, keys: &HubKeys, session: &Session, factor: &Factor, counter: i64) -> AppResult<String> {
    c.transaction(|c| {
        acquire_write_lock(c)?;
        let stored: i64 = second_factors::table
            .find(&factor.id)
            .select(second_factors::counter)
            .first(c)
            .optional()?
            .unwrap_or(i64::MAX);
        // WebAuthn keys that keep no counter report 0 every time; any other count, and
        // every TOTP step, must move forward.
        let forward = counter > stored || (factor.kind == WEBAUTHN && counter == 0 && stored == 0);
        if !forward {
            return Err(second_factor_refused());
        }
        diesel::update(second_factors::table.find(&factor.id))
            .set((second_factors::counter.eq(counter), second_factors::last_used_at.eq(Some(now_text()))))
            .execute(c)?;
        let cookie = advance(c, session, Stage::Active)?;
        audit::append(
            c,
            keys,
            session_event(session, "console.factor.passed", Some(factor.id.clone()), json!({"kind": factor.kind})),
        )?;
        Ok(cookie)
    })
}

/// The refusal of a second factor (the same whatever was wrong: a prober learns nothing
/// about which factor or which check failed).
pub fn second_factor_refused() -> AppError {
    AppError::new(
        Code::SecondFactorRefused,
        "the second factor was not accepted",
        "二要素目の認証が受け付けられませんでした",
    )
}

/// Notes a refused second factor in the audit log (with what was wrong, for the
/// coordinators who read it).
pub fn note_refusal(c: &mut DbConn, keys: &HubKeys, session: &Session, why: &str) -> AppResult<()> {
    audit::append_alone(c, keys, session_event(session, "console.factor.refused", None, json!({"why": why})))?;
    Ok(())
}

/// Issues a one-time enrolment code for a token (`renkei-hub token enrol ID`): with it,
/// the token's holder registers a first second factor in the console. A new code
/// replaces an older one.
pub fn issue_enrolment(c: &mut DbConn, keys: &HubKeys, token_id: &str, hours: u32) -> AppResult<String> {
    enrolment(c, keys, None, token_id, hours)
}

/// [`issue_enrolment`] for a coordinator in the console: the audit entry names them.
pub fn issue_enrolment_by(
    c: &mut DbConn,
    keys: &HubKeys,
    actor: &Identity,
    token_id: &str,
    hours: u32,
) -> AppResult<String> {
    if !actor.is_coordinator() {
        return Err(AppError::forbidden("issue enrolment codes"));
    }
    enrolment(c, keys, Some(actor), token_id, hours)
}

fn enrolment(
    c: &mut DbConn,
    keys: &HubKeys,
    actor: Option<&Identity>,
    token_id: &str,
    hours: u32,
) -> AppResult<String> {
    let code = {
        let raw = random_bytes::<10>().map_err(AppError::internal)?;
        renkei_schema::second_factor::totp::base32(&raw)
    };
    c.transaction(|c| {
        acquire_write_lock(c)?;
        let known: i64 =
            tokens::table.filter(tokens::id.eq(token_id)).filter(tokens::revoked_at.is_null()).count().get_result(c)?;
        if known == 0 {
            return Err(AppError::not_found("active token"));
        }
        let expires = Utc::now() + Duration::hours(i64::from(hours));
        diesel::delete(console_enrolments::table.find(token_id)).execute(c)?;
        diesel::insert_into(console_enrolments::table)
            .values((
                console_enrolments::token_id.eq(token_id),
                console_enrolments::code_digest.eq(keys.token_digest(&code)),
                console_enrolments::expires_at.eq(time_text(&expires)),
            ))
            .execute(c)?;
        audit::append(
            c,
            keys,
            AuditEvent {
                actor_org: actor.map(|a| a.org_id.clone()),
                actor_token: actor.map(|a| a.token_id.clone()),
                action: "console.enrolment.issue".into(),
                target: Some(token_id.to_string()),
                detail: json!({"expires": time_text(&expires)}),
                source: actor.and_then(|a| a.source.clone()),
            },
        )?;
        Ok(code.clone())
    })
}

/// Takes a one-time enrolment code: true (and the code is gone) when it matches and has
/// not expired.
pub fn take_enrolment(c: &mut DbConn, keys: &HubKeys, token_id: &str, code: &str) -> AppResult<bool> {
    let code: String = code.chars().filter(|ch| !ch.is_whitespace() && *ch != '-').collect::<String>().to_uppercase();
    c.transaction(|c| {
        acquire_write_lock(c)?;
        let row: Option<(String, String)> = console_enrolments::table
            .find(token_id)
            .select((console_enrolments::code_digest, console_enrolments::expires_at))
            .first(c)
            .optional()?;
        let Some((digest, expires)) = row else { return Ok(false) };
        if parse_time(&expires).is_none_or(|t| t <= Utc::now()) || !keys.token_matches(&code, &digest) {
            return Ok(false);
        }
        diesel::delete(console_enrolments::table.find(token_id)).execute(c)?;
        Ok(true)
    })
}

/// Live sessions (for the coordinators' dashboard).
pub fn count_live(c: &mut DbConn) -> AppResult<i64> {
    let now = now_text();
    Ok(console_sessions::table.filter(console_sessions::absolute_until.gt(now)).count().get_result(c)?)
}
