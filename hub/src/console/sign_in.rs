//! Signing in and out: the token form (failures counted and locked out like any
//! presented token), the second factor (a WebAuthn security key, or a TOTP code), the
//! enrolment of a first factor (coordinators must have one: with the one-time code from
//! `renkei-hub token enrol`), the account page where anyone adds more, and sign-out.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use serde::Deserialize;
use serde_json::json;
use std::sync::Arc;

use super::{error_page, redirect, render, translator, Frame, Need, Tr, ROOT};
use crate::error::AppError;
use crate::services::sessions::{self, Factor, NewFactor, Session, Stage};
use crate::state::Hub;
use renkei_schema::second_factor::{totp, webauthn};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/sign-in", web::get().to(sign_in_form))
        .route("/sign-in", web::post().to(sign_in))
        .route("/sign-out", web::post().to(sign_out))
        .route("/second-factor", web::get().to(second_factor_form))
        .route("/second-factor/totp", web::post().to(second_factor_totp))
        .route("/second-factor/webauthn/options", web::post().to(assertion_options))
        .route("/second-factor/webauthn", web::post().to(assertion))
        .route("/enrol", web::get().to(enrol_form))
        .route("/account", web::get().to(account))
        .route("/enrol/totp", web::post().to(enrol_totp))
        .route("/enrol/webauthn/options", web::post().to(registration_options))
        .route("/enrol/webauthn", web::post().to(registration));
}

// ----- sign-in with a token -------------------------------------------------------------

#[derive(Template)]
#[template(path = "sign_in.html")]
struct SignInPage {
    page: Frame,
    pre: String,
    error: Option<String>,
}

fn sign_in_page(req: &HttpRequest, t: Tr, status: StatusCode, error: Option<String>) -> HttpResponse {
    let pre = match crate::crypto::random_bytes::<24>() {
        Ok(bytes) => hex::encode(bytes),
        Err(e) => return error_page(&t, StatusCode::INTERNAL_SERVER_ERROR, &AppError::internal(e)),
    };
    let page = SignInPage { page: Frame::anonymous(t, t.get("sign-in-title"), req.path()), pre: pre.clone(), error };
    let mut answer = render(&t, status, &page);
    let _ = answer.add_cookie(&super::pre_cookie(req, &pre));
    answer
}

async fn sign_in_form(req: HttpRequest) -> HttpResponse {
    sign_in_page(&req, translator(&req), StatusCode::OK, None)
}

#[derive(Deserialize)]
struct SignInForm {
    token: String,
    pre: String,
}

async fn sign_in(req: HttpRequest, hub: web::Data<Arc<Hub>>, form: web::Form<SignInForm>) -> HttpResponse {
    let t = translator(&req);
    let form = form.into_inner();
    // Login CSRF: the form must come from a page this browser loaded (the cookie is
    // SameSite=Strict, so another site's form never carries it).
    let pre_ok = req.cookie(super::PRE_COOKIE).is_some_and(|c| {
        !form.pre.is_empty() && crate::crypto::constant_time_eq(c.value().as_bytes(), form.pre.as_bytes())
    });
    if !pre_ok {
        return error_page(&t, StatusCode::FORBIDDEN, &super::csrf_refused());
    }
    let hub = Arc::clone(hub.get_ref());
    let identity = match crate::http::gate::check_presented(&hub, &req, form.token.trim()).await {
        Ok(identity) => identity,
        Err((status, e)) => return sign_in_page(&req, t, status, Some(t.pick(&e.message, &e.message_ja).to_string())),
    };
    let lifetimes = super::lifetimes(&hub);
    let started = hub.db(move |hub, c| sessions::start(c, &hub.keys, &identity, lifetimes)).await;
    let (secret, stage) = match started {
        Ok(done) => done,
        Err(e) => return error_page(&t, super::status_of(&e), &e),
    };
    let to = match stage {
        Stage::Active => format!("{ROOT}/"),
        Stage::SecondFactor => format!("{ROOT}/second-factor"),
        Stage::Enrol => format!("{ROOT}/enrol"),
    };
    let mut answer = redirect(&to);
    let _ = answer.add_cookie(&super::session_cookie(&req, Some(&secret)));
    answer
}

#[derive(Deserialize)]
struct CsrfOnly {
    csrf: String,
}

async fn sign_out(req: HttpRequest, hub: web::Data<Arc<Hub>>, form: web::Form<CsrfOnly>) -> HttpResponse {
    let (t, session) = match any_stage(&hub, &req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    if !crate::crypto::constant_time_eq(form.csrf.as_bytes(), session.csrf.as_bytes()) {
        return error_page(&t, StatusCode::FORBIDDEN, &super::csrf_refused());
    }
    let hub = Arc::clone(hub.get_ref());
    if let Err(e) = hub.db(move |hub, c| sessions::sign_out(c, &hub.keys, &session)).await {
        return error_page(&t, super::status_of(&e), &e);
    }
    let mut answer = redirect(&format!("{ROOT}/sign-in"));
    let _ = answer.add_cookie(&super::session_cookie(&req, None));
    answer
}

/// The session of a request in whatever stage (the second-factor and enrolment pages
/// are for sessions that are not active yet).
async fn any_stage(hub: &web::Data<Arc<Hub>>, req: &HttpRequest) -> Result<(Tr, Session), HttpResponse> {
    let t = translator(req);
    match super::session_of(hub.get_ref(), req).await {
        Ok(Some(session)) => Ok((t, session)),
        Ok(None) if req.method() == actix_web::http::Method::GET => Err(redirect(&format!("{ROOT}/sign-in"))),
        Ok(None) => Err(error_page(&t, StatusCode::UNAUTHORIZED, &super::session_expired())),
        Err(e) => Err(error_page(&t, super::status_of(&e), &e)),
    }
}

/// A session in exactly this stage, else where it should be.
async fn in_stage(hub: &web::Data<Arc<Hub>>, req: &HttpRequest, stage: Stage) -> Result<(Tr, Session), HttpResponse> {
    let (t, session) = any_stage(hub, req).await?;
    if session.stage == stage {
        return Ok((t, session));
    }
    Err(match session.stage {
        Stage::Active => redirect(&format!("{ROOT}/")),
        Stage::SecondFactor => redirect(&format!("{ROOT}/second-factor")),
        Stage::Enrol => redirect(&format!("{ROOT}/enrol")),
    })
}

fn with_session_cookie(req: &HttpRequest, mut answer: HttpResponse, secret: &str) -> HttpResponse {
    let _ = answer.add_cookie(&super::session_cookie(req, Some(secret)));
    answer
}

// ----- the second factor at sign-in ------------------------------------------------------

#[derive(Template)]
#[template(path = "second_factor.html")]
struct SecondFactorPage {
    page: Frame,
    has_key: bool,
    has_totp: bool,
    script: (&'static str, &'static str),
    error: Option<String>,
}

async fn factors_of(hub: &Arc<Hub>, token_id: &str) -> Result<Vec<Factor>, AppError> {
    let token_id = token_id.to_string();
    hub.db(move |_, c| sessions::factors(c, &token_id)).await
}

async fn second_factor_page(hub: &Arc<Hub>, t: Tr, session: &Session, error: Option<String>) -> HttpResponse {
    let factors = match factors_of(hub, &session.identity.token_id).await {
        Ok(f) => f,
        Err(e) => return error_page(&t, super::status_of(&e), &e),
    };
    let mut page = Frame::anonymous(t, t.get("second-factor-title"), "/console/second-factor");
    page.csrf = session.csrf.clone();
    let status = if error.is_some() { StatusCode::UNAUTHORIZED } else { StatusCode::OK };
    let view = SecondFactorPage {
        page,
        has_key: factors.iter().any(|f| f.kind == sessions::WEBAUTHN),
        has_totp: factors.iter().any(|f| f.kind == sessions::TOTP),
        script: super::pages::webauthn_js(),
        error,
    };
    render(&t, status, &view)
}

async fn second_factor_form(req: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    match in_stage(&hub, &req, Stage::SecondFactor).await {
        Ok((t, session)) => second_factor_page(hub.get_ref(), t, &session, None).await,
        Err(answer) => answer,
    }
}

#[derive(Deserialize)]
struct TotpForm {
    csrf: String,
    code: String,
}

async fn second_factor_totp(req: HttpRequest, hub: web::Data<Arc<Hub>>, form: web::Form<TotpForm>) -> HttpResponse {
    let (t, session) = match in_stage(&hub, &req, Stage::SecondFactor).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    if !crate::crypto::constant_time_eq(form.csrf.as_bytes(), session.csrf.as_bytes()) {
        return error_page(&t, StatusCode::FORBIDDEN, &super::csrf_refused());
    }
    let hub = Arc::clone(hub.get_ref());
    let code = form.code.clone();
    let s = session.clone();
    let result = hub
        .db(move |hub, c| {
            let now = chrono::Utc::now().timestamp();
            for factor in sessions::factors(c, &s.identity.token_id)?.iter().filter(|f| f.kind == sessions::TOTP) {
                let Some(secret) = factor.secret.as_deref().and_then(|sealed| hub.keys.open_sealed(sealed)) else {
                    continue;
                };
                if let Ok(step) = totp::verify(&secret, &code, now, Some(factor.counter)) {
                    return sessions::passed(c, &hub.keys, &s, factor, step).map(Some);
                }
            }
            sessions::note_refusal(c, &hub.keys, &s, "totp: no factor accepted the code")?;
            Ok(None)
        })
        .await;
    match result {
        Ok(Some(secret)) => with_session_cookie(&req, redirect(&format!("{ROOT}/")), &secret),
        Ok(None) => {
            tokio::time::sleep(std::time::Duration::from_millis(hub.config.limits.failed_auth_delay_ms)).await;
            let e = sessions::second_factor_refused();
            second_factor_page(&hub, t, &session, Some(t.pick(&e.message, &e.message_ja).to_string())).await
        }
        Err(e) => error_page(&t, super::status_of(&e), &e),
    }
}

/// The relying party: the console's origin and its host (WebAuthn binds keys to it).
fn relying_party(hub: &Hub, req: &HttpRequest) -> (String, String) {
    let configured = hub.config.console.public_url.trim_end_matches('/');
    let origin = if configured.is_empty() {
        let info = req.connection_info();
        let scheme = if super::secure(req) { "https" } else { "http" };
        format!("{scheme}://{}", info.host())
    } else {
        configured.to_string()
    };
    let rp_id = url::Url::parse(&origin).ok().and_then(|u| u.host_str().map(str::to_string)).unwrap_or_default();
    (origin, rp_id)
}

/// JSON endpoints are called by the page's script with the session's CSRF secret in a
/// header.
fn header_csrf_ok(req: &HttpRequest, session: &Session) -> bool {
    req.headers()
        .get("x-csrf-token")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| crate::crypto::constant_time_eq(v.as_bytes(), session.csrf.as_bytes()))
}

fn json_error(t: &Tr, status: StatusCode, e: &AppError) -> HttpResponse {
    HttpResponse::build(status).json(json!({"code": e.code.as_str(), "message": t.pick(&e.message, &e.message_ja)}))
}

async fn new_challenge(hub: &Arc<Hub>, session: &Session) -> Result<Vec<u8>, AppError> {
    let challenge = crate::crypto::random_bytes::<32>().map_err(AppError::internal)?.to_vec();
    let id_hash = session.id_hash.clone();
    let stored = hex::encode(&challenge);
    hub.db(move |_, c| sessions::set_challenge(c, &id_hash, Some(&stored))).await?;
    Ok(challenge)
}

/// Which sessions a JSON endpoint of the security-key script serves.
#[derive(Clone, Copy)]
enum KeyStep {
    /// Signing in: a session owing its second factor.
    Assert,
    /// Registering a key: an enrolling coordinator, or anyone signed in.
    Register,
}

/// The caller of a JSON endpoint of the security-key script: its session (in the stage
/// the step needs) with the CSRF secret in the `x-csrf-token` header, or the JSON refusal.
async fn key_caller(
    hub: &web::Data<Arc<Hub>>,
    req: &HttpRequest,
    step: KeyStep,
) -> Result<(Tr, Session), HttpResponse> {
    let found = match step {
        KeyStep::Assert => in_stage(hub, req, Stage::SecondFactor).await,
        KeyStep::Register => enrolling(hub, req).await,
    };
    let Ok((t, session)) = found else {
        return Err(json_error(&translator(req), StatusCode::UNAUTHORIZED, &super::session_expired()));
    };
    if !header_csrf_ok(req, &session) {
        return Err(json_error(&t, StatusCode::FORBIDDEN, &super::csrf_refused()));
    }
    Ok((t, session))
}

/// The token's registered factors and a fresh challenge kept with the session, for the
/// options of either step.
async fn key_options(hub: &Arc<Hub>, session: &Session) -> Result<(Vec<Factor>, Vec<u8>), AppError> {
    let factors = factors_of(hub, &session.identity.token_id).await?;
    let challenge = new_challenge(hub, session).await?;
    Ok((factors, challenge))
}

async fn assertion_options(req: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let (t, session) = match key_caller(&hub, &req, KeyStep::Assert).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let hub = Arc::clone(hub.get_ref());
    let (factors, challenge) = match key_options(&hub, &session).await {
        Ok(found) => found,
        Err(e) => return json_error(&t, super::status_of(&e), &e),
    };
    let (_, rp_id) = relying_party(&hub, &req);
    let allow: Vec<_> = factors
        .iter()
        .filter_map(|f| f.credential_id.as_ref())
        .map(|id| json!({"type": "public-key", "id": id}))
        .collect();
    HttpResponse::Ok().json(json!({
        "challenge": URL_SAFE_NO_PAD.encode(&challenge),
        "rpId": rp_id,
        "allowCredentials": allow,
        "userVerification": "preferred",
        "timeout": 60000,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AssertionBody {
    id: String,
    client_data_json: String,
    authenticator_data: String,
    signature: String,
}

fn b64(s: &str) -> Result<Vec<u8>, AppError> {
    URL_SAFE_NO_PAD
        .decode(s.trim_end_matches('='))
        .map_err(|_| AppError::invalid("not base64url", "base64urlではありません"))
}

async fn assertion(req: HttpRequest, hub: web::Data<Arc<Hub>>, body: web::Json<AssertionBody>) -> HttpResponse {
    let (t, session) = match key_caller(&hub, &req, KeyStep::Assert).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let hub = Arc::clone(hub.get_ref());
    let (origin, rp_id) = relying_party(&hub, &req);
    let body = body.into_inner();
    let s = session.clone();
    let result = hub
        .db(move |hub, c| {
            let refuse = |c: &mut crate::store::DbConn, why: &str| -> Result<Option<String>, AppError> {
                sessions::note_refusal(c, &hub.keys, &s, why)?;
                Ok(None)
            };
            let Some(challenge) = s.challenge.as_deref().and_then(|h| hex::decode(h).ok()) else {
                return refuse(c, "webauthn: no challenge outstanding");
            };
            // A challenge answers once.
            sessions::set_challenge(c, &s.id_hash, None)?;
            let factors = sessions::factors(c, &s.identity.token_id)?;
            let Some(factor) = factors.iter().find(|f| f.credential_id.as_deref() == Some(body.id.as_str())) else {
                return refuse(c, "webauthn: not a key of this token");
            };
            let (Ok(client_data), Ok(auth_data), Ok(signature)) =
                (b64(&body.client_data_json), b64(&body.authenticator_data), b64(&body.signature))
            else {
                return refuse(c, "webauthn: malformed answer");
            };
            let credential = webauthn::Credential {
                id: b64(&body.id).unwrap_or_default(),
                public_key: factor.public_key.as_deref().and_then(|h| hex::decode(h).ok()).unwrap_or_default(),
                algorithm: -7,
                sign_count: u32::try_from(factor.counter).unwrap_or(u32::MAX),
            };
            let expected = webauthn::Expected {
                rp_id: &rp_id,
                origin: &origin,
                challenge: &challenge,
                require_user_verification: false,
            };
            match webauthn::verify_assertion(&expected, &credential, &client_data, &auth_data, &signature) {
                Ok(count) => sessions::passed(c, &hub.keys, &s, factor, i64::from(count)).map(Some),
                Err(e) => refuse(c, &format!("webauthn: {}", e.message())),
            }
        })
        .await;
    match result {
        Ok(Some(secret)) => {
            with_session_cookie(&req, HttpResponse::Ok().json(json!({"next": format!("{ROOT}/")})), &secret)
        }
        Ok(None) => json_error(&t, StatusCode::UNAUTHORIZED, &sessions::second_factor_refused()),
        Err(e) => json_error(&t, super::status_of(&e), &e),
    }
}

// ----- enrolment -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "enrol.html")]
struct EnrolPage {
    page: Frame,
    /// A coordinator's first factor: the one-time code is asked for.
    needs_code: bool,
    totp_secret: String,
    totp_uri: String,
    factors: Vec<(String, String, String)>,
    script: (&'static str, &'static str),
    error: Option<String>,
}

async fn enrol_page(hub: &Arc<Hub>, t: Tr, session: &Session, error: Option<String>) -> HttpResponse {
    let factors = match factors_of(hub, &session.identity.token_id).await {
        Ok(f) => f,
        Err(e) => return error_page(&t, super::status_of(&e), &e),
    };
    let secret = match totp::new_secret(&ring::rand::SystemRandom::new()) {
        Ok(s) => s,
        Err(_) => return error_page(&t, StatusCode::INTERNAL_SERVER_ERROR, &AppError::internal("no randomness")),
    };
    let account = session.holder.clone().unwrap_or_else(|| session.identity.org_name.clone());
    let issuer = format!("renkei {}", hub.config.hub_name);
    let (title, path) = if session.stage == Stage::Enrol {
        (t.get("enrol-title"), "/console/enrol")
    } else {
        (t.get("account-title"), "/console/account")
    };
    let mut page = if session.stage == Stage::Active {
        Frame::signed_in(t, title, session, path)
    } else {
        Frame::anonymous(t, title, path)
    };
    page.csrf = session.csrf.clone();
    let status = if error.is_some() { StatusCode::UNPROCESSABLE_ENTITY } else { StatusCode::OK };
    let view = EnrolPage {
        page,
        needs_code: session.stage == Stage::Enrol,
        totp_secret: totp::base32(&secret),
        totp_uri: totp::otpauth_uri(&secret, &issuer, &account),
        factors: factors
            .into_iter()
            .map(|f| (t.get(&format!("factor-{}", f.kind)), f.label, f.created_at.chars().take(10).collect()))
            .collect(),
        script: super::pages::webauthn_js(),
        error,
    };
    render(&t, status, &view)
}

async fn enrol_form(req: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    match in_stage(&hub, &req, Stage::Enrol).await {
        Ok((t, session)) => enrol_page(hub.get_ref(), t, &session, None).await,
        Err(answer) => answer,
    }
}

async fn account(req: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    match super::signed_in(&hub, &req, Need::SignedIn).await {
        Ok(ctx) => enrol_page(&ctx.hub, ctx.t, &ctx.session, None).await,
        Err(answer) => answer,
    }
}

/// A session that may enrol a factor: an enrolling coordinator, or anyone signed in.
async fn enrolling(hub: &web::Data<Arc<Hub>>, req: &HttpRequest) -> Result<(Tr, Session), HttpResponse> {
    let (t, session) = any_stage(hub, req).await?;
    match session.stage {
        Stage::Enrol | Stage::Active => Ok((t, session)),
        Stage::SecondFactor => Err(redirect(&format!("{ROOT}/second-factor"))),
    }
}

/// Takes the one-time code when the session needs one (a coordinator's first factor).
fn code_checked(c: &mut crate::store::DbConn, hub: &Hub, session: &Session, code: &str) -> Result<(), AppError> {
    if session.stage != Stage::Enrol {
        return Ok(());
    }
    if sessions::take_enrolment(c, &hub.keys, &session.identity.token_id, code)? {
        return Ok(());
    }
    sessions::note_refusal(c, &hub.keys, session, "enrolment: wrong or expired one-time code")?;
    Err(AppError::new(
        renkei_schema::errors::Code::SecondFactorRequired,
        "the one-time enrolment code is wrong or expired; ask a hub operator for a new one (renkei-hub token enrol)",
        "登録用のワンタイムコードが違うか期限切れです。ハブの運用者に再発行を依頼してください（renkei-hub token enrol）",
    ))
}

#[derive(Deserialize)]
struct EnrolTotpForm {
    csrf: String,
    #[serde(default)]
    enrolment_code: String,
    secret: String,
    code: String,
    label: String,
}

async fn enrol_totp(req: HttpRequest, hub: web::Data<Arc<Hub>>, form: web::Form<EnrolTotpForm>) -> HttpResponse {
    let (t, session) = match enrolling(&hub, &req).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    if !crate::crypto::constant_time_eq(form.csrf.as_bytes(), session.csrf.as_bytes()) {
        return error_page(&t, StatusCode::FORBIDDEN, &super::csrf_refused());
    }
    let hub = Arc::clone(hub.get_ref());
    let form = form.into_inner();
    let s = session.clone();
    let result = hub
        .db(move |hub, c| {
            let secret = totp::from_base32(&form.secret).ok_or_else(|| {
                AppError::invalid("the TOTP secret is not base32", "TOTPの秘密鍵がbase32ではありません")
            })?;
            let step = totp::verify(&secret, &form.code, chrono::Utc::now().timestamp(), None).map_err(|e| {
                AppError::new(renkei_schema::errors::Code::SecondFactorRefused, e.message(), e.message_ja())
            })?;
            code_checked(c, hub, &s, &form.enrolment_code)?;
            sessions::enrol(
                c,
                &hub.keys,
                &s,
                &form.label,
                NewFactor::Totp { secret: hub.keys.seal(&secret).map_err(AppError::internal)?, step },
            )
        })
        .await;
    match result {
        Ok(secret) => with_session_cookie(&req, redirect(&format!("{ROOT}/account")), &secret),
        Err(e) => enrol_page(&hub, t, &session, Some(t.pick(&e.message, &e.message_ja).to_string())).await,
    }
}

async fn registration_options(req: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let (t, session) = match key_caller(&hub, &req, KeyStep::Register).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let hub = Arc::clone(hub.get_ref());
    let (factors, challenge) = match key_options(&hub, &session).await {
        Ok(found) => found,
        Err(e) => return json_error(&t, super::status_of(&e), &e),
    };
    let (_, rp_id) = relying_party(&hub, &req);
    let name = session.holder.clone().unwrap_or_else(|| session.identity.org_name.clone());
    let exclude: Vec<_> = factors
        .iter()
        .filter_map(|f| f.credential_id.as_ref())
        .map(|id| json!({"type": "public-key", "id": id}))
        .collect();
    HttpResponse::Ok().json(json!({
        "challenge": URL_SAFE_NO_PAD.encode(&challenge),
        "rp": {"id": rp_id, "name": format!("renkei {}", hub.config.hub_name)},
        "user": {
            "id": URL_SAFE_NO_PAD.encode(session.identity.token_id.as_bytes()),
            "name": name,
            "displayName": format!("{} ({})", name, session.identity.org_name),
        },
        "pubKeyCredParams": [{"type": "public-key", "alg": -7}],
        "excludeCredentials": exclude,
        "authenticatorSelection": {"userVerification": "preferred", "residentKey": "discouraged"},
        "attestation": "none",
        "timeout": 60000,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegistrationBody {
    client_data_json: String,
    attestation_object: String,
    #[serde(default)]
    label: String,
    #[serde(default)]
    enrolment_code: String,
}

async fn registration(req: HttpRequest, hub: web::Data<Arc<Hub>>, body: web::Json<RegistrationBody>) -> HttpResponse {
    let (t, session) = match key_caller(&hub, &req, KeyStep::Register).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let hub = Arc::clone(hub.get_ref());
    let (origin, rp_id) = relying_party(&hub, &req);
    let body = body.into_inner();
    let s = session.clone();
    let result = hub
        .db(move |hub, c| {
            let challenge =
                s.challenge.as_deref().and_then(|h| hex::decode(h).ok()).ok_or_else(sessions::second_factor_refused)?;
            sessions::set_challenge(c, &s.id_hash, None)?;
            let client_data = b64(&body.client_data_json)?;
            let attestation = b64(&body.attestation_object)?;
            let expected = webauthn::Expected {
                rp_id: &rp_id,
                origin: &origin,
                challenge: &challenge,
                require_user_verification: false,
            };
            let credential = webauthn::verify_registration(&expected, &client_data, &attestation).map_err(|e| {
                AppError::new(renkei_schema::errors::Code::SecondFactorRefused, e.message(), e.message_ja())
            })?;
            code_checked(c, hub, &s, &body.enrolment_code)?;
            let label = if body.label.trim().is_empty() { "security key".to_string() } else { body.label.clone() };
            sessions::enrol(
                c,
                &hub.keys,
                &s,
                &label,
                NewFactor::WebAuthn {
                    credential_id: URL_SAFE_NO_PAD.encode(&credential.id),
                    public_key: hex::encode(&credential.public_key),
                    counter: credential.sign_count,
                },
            )
        })
        .await;
    match result {
        Ok(secret) => {
            with_session_cookie(&req, HttpResponse::Ok().json(json!({"next": format!("{ROOT}/account")})), &secret)
        }
        Err(e) => json_error(&t, super::status_of(&e), &e),
    }
}
