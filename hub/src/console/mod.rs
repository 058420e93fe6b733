//! The web console at `/console/`: coordinators moderate, members share and search,
//! procurement teams compare suppliers, in Japanese and English. Server-rendered HTML
//! (askama templates in `hub/console/templates/`, checked at compile time and
//! HTML-escaped), Fluent messages (`i18n`), charts and graphs as SVG drawn here (`svg`).
//!
//! A surface like GraphQL and TAXII: it calls the services and actions, never GraphQL
//! and never the store directly, and it decides no visibility (every item it shows was
//! read through `services::stored`, `services::sharing`, the lookup index or the
//! supplier services, which ask `renkei_schema::tlp`).
//!
//! Every answer carries a strict Content-Security-Policy (scripts and styles from the
//! hub only, no inline script, `frame-ancestors 'none'`); every form carries its
//! session's CSRF secret; sessions are HttpOnly, SameSite=Strict cookies (Secure under
//! TLS) with idle and absolute expiry (`services::sessions`). The core flows need no
//! JavaScript; the one script (`static/webauthn.js`) talks to security keys.

mod admin;
pub mod i18n;
mod items;
mod moderate;
mod pages;
mod procure;
mod share_forms;
mod share_sealed;
mod sign_in;
mod suppliers;
pub mod svg;
mod view;

use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::header;
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use std::sync::Arc;

use crate::auth::Role;
use crate::error::AppError;
use crate::services::sessions::{self, Lifetimes, Session, Stage};
use crate::state::Hub;
use i18n::{Lang, Tr};
use renkei_schema::errors::Code;

/// Everything under it is the console.
pub const ROOT: &str = "/console";
const LANG_COOKIE: &str = "renkei_lang";
/// The cookie before sign-in that the sign-in form's hidden field must match.
const PRE_COOKIE: &str = "renkei_pre";

/// The policy every console answer carries.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                       connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/// Mounts the console (when enabled).
pub fn routes(cfg: &mut web::ServiceConfig, enabled: bool) {
    if !enabled {
        return;
    }
    let form_limit = web::FormConfig::default().limit(2 * 1024 * 1024).error_handler(|err, req| {
        let t = translator(req);
        let e = AppError::invalid(format!("the form could not be read: {err}"), "フォームの内容を読み取れません");
        actix_web::error::InternalError::from_response(err, error_page(&t, StatusCode::BAD_REQUEST, &e)).into()
    });
    cfg.service(
        web::scope(ROOT)
            .app_data(form_limit)
            .wrap(
                actix_web::middleware::DefaultHeaders::new()
                    .add(("content-security-policy", CSP))
                    .add(("x-frame-options", "DENY"))
                    .add(("x-content-type-options", "nosniff"))
                    .add(("referrer-policy", "no-referrer"))
                    .add(("cross-origin-opener-policy", "same-origin"))
                    .add(("permissions-policy", "camera=(), microphone=(), geolocation=()")),
            )
            .route("", web::get().to(home))
            .route("/", web::get().to(home))
            .route("/lang/{lang}", web::get().to(switch_language))
            .route("/static/{file}", web::get().to(pages::static_file))
            .configure(sign_in::routes)
            .configure(items::routes)
            // Before `share_forms`: `/share/sealed` is not a form's kind.
            .configure(share_sealed::routes)
            .configure(share_forms::routes)
            .configure(moderate::routes)
            // Before `suppliers`: `/suppliers/compare` is not a supplier's id.
            .configure(procure::routes)
            .configure(suppliers::routes)
            .configure(admin::routes)
            .default_service(web::to(not_found)),
    );
}

// ----- the request --------------------------------------------------------------------

/// The language a request is answered in.
pub fn language(req: &HttpRequest) -> Lang {
    if let Some(lang) = req.cookie(LANG_COOKIE).and_then(|c| Lang::parse(c.value())) {
        return lang;
    }
    req.headers()
        .get(header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_accept_language)
        .unwrap_or(Lang::Ja)
}

pub fn translator(req: &HttpRequest) -> Tr {
    Tr::new(language(req))
}

fn secure(req: &HttpRequest) -> bool {
    req.app_config().secure()
}

/// The session cookie's name: `__Host-` under TLS (the browser then insists on Secure,
/// Path=/ and no Domain).
fn session_cookie_name(req: &HttpRequest) -> &'static str {
    if secure(req) {
        "__Host-renkei_session"
    } else {
        "renkei_session"
    }
}

pub fn lifetimes(hub: &Hub) -> Lifetimes {
    let c = &hub.config.console;
    Lifetimes {
        idle: chrono::Duration::seconds(i64::try_from(c.idle_seconds).unwrap_or(i64::MAX / 2_000)),
        absolute: chrono::Duration::seconds(i64::try_from(c.absolute_seconds).unwrap_or(i64::MAX / 2_000)),
    }
}

/// A request's session, if its cookie names a live one.
async fn session_of(hub: &Arc<Hub>, req: &HttpRequest) -> Result<Option<Session>, AppError> {
    let Some(cookie) = req.cookie(session_cookie_name(req)) else { return Ok(None) };
    let secret = cookie.value().to_string();
    if secret.len() != 64 || !secret.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Ok(None);
    }
    let lifetimes = lifetimes(hub);
    let mut session = hub.db(move |_, c| sessions::load(c, &secret, lifetimes)).await?;
    if let Some(s) = &mut session {
        s.identity.source = Some(crate::http::gate::client_address(hub, req));
    }
    Ok(session)
}

/// What a page handler gets: the hub, the language, and the signed-in person.
pub struct Ctx {
    pub hub: Arc<Hub>,
    pub t: Tr,
    pub session: Session,
    pub path: String,
}

impl Ctx {
    pub fn identity(&self) -> &crate::auth::Identity {
        &self.session.identity
    }

    /// The frame (header, navigation, language switch) of a page of this session.
    pub fn frame(&self, title: String) -> Frame {
        Frame::signed_in(self.t, title, &self.session, &self.path)
    }

    /// Refuses a form without this session's CSRF secret.
    #[expect(clippy::result_large_err, reason = "the refusal is the answer, built once per refused form")]
    pub fn check_csrf(&self, presented: &str) -> Result<(), HttpResponse> {
        if crate::crypto::constant_time_eq(presented.as_bytes(), self.session.csrf.as_bytes()) {
            Ok(())
        } else {
            Err(error_page(&self.t, StatusCode::FORBIDDEN, &csrf_refused()))
        }
    }

    pub fn error(&self, status: StatusCode, e: &AppError) -> HttpResponse {
        error_page(&self.t, status, e)
    }

    /// The page for a refusal from the services.
    pub fn refused(&self, e: &AppError) -> HttpResponse {
        error_page(&self.t, status_of(e), e)
    }
}

pub fn csrf_refused() -> AppError {
    AppError::new(
        Code::CsrfRefused,
        "the form was sent without this session's token; reload the page and try again",
        "フォームがこのセッションのトークンなしで送信されました。ページを再読み込みして、もう一度お試しください",
    )
}

/// Who may open a page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone signed in.
    SignedIn,
    /// Members who read indicators (analysts, coordinators, procurement granted them).
    Indicators,
    /// Members who share (analysts and coordinators).
    Share,
    Coordinator,
    /// Supplier pages: every role but peers.
    Suppliers,
}

/// The signed-in caller of a page, or the answer: the sign-in page for a GET without a
/// live session (a POST gets SESSION_EXPIRED: the form is not replayed), the second
/// factor page while one is owed, FORBIDDEN for the wrong role.
pub async fn signed_in(hub: &web::Data<Arc<Hub>>, req: &HttpRequest, need: Need) -> Result<Ctx, HttpResponse> {
    let t = translator(req);
    let hub = Arc::clone(hub.get_ref());
    let session = match session_of(&hub, req).await {
        Ok(s) => s,
        Err(e) => return Err(error_page(&t, status_of(&e), &e)),
    };
    let Some(session) = session else {
        if req.method() == actix_web::http::Method::GET {
            return Err(redirect(&format!("{ROOT}/sign-in")));
        }
        return Err(error_page(&t, StatusCode::UNAUTHORIZED, &session_expired()));
    };
    match session.stage {
        Stage::Active => {}
        Stage::SecondFactor => return Err(redirect(&format!("{ROOT}/second-factor"))),
        Stage::Enrol => return Err(redirect(&format!("{ROOT}/enrol"))),
    }
    // The token's request budget is one, whether it is spent through the API or here.
    let limit = hub.config.limits.requests_per_minute;
    match hub.counters.incr(&format!("rate:{}", session.identity.token_id), std::time::Duration::from_secs(60)).await {
        Ok(n) if n > limit => {
            crate::state::Metrics::add(&hub.metrics.rate_limited, 1);
            let e = AppError::new(
                Code::RateLimited,
                format!("more than {limit} requests per minute for this token"),
                format!("このトークンの要求数が毎分{limit}件を超えました"),
            );
            return Err(error_page(&t, StatusCode::TOO_MANY_REQUESTS, &e));
        }
        Ok(_) => {}
        Err(e) => tracing::error!(%e, "rate limiter unavailable"),
    }
    let who = &session.identity;
    let allowed = match need {
        Need::SignedIn | Need::Suppliers => who.role != Role::Peer,
        Need::Indicators => who.role != Role::Peer && who.may_read_indicators(),
        Need::Share => who.may_share(),
        Need::Coordinator => who.is_coordinator(),
    };
    if !allowed {
        return Err(error_page(&t, StatusCode::FORBIDDEN, &AppError::forbidden("open this page")));
    }
    Ok(Ctx { hub, t, session, path: req.path().to_string() })
}

pub fn session_expired() -> AppError {
    AppError::new(
        Code::SessionExpired,
        "your console session ended; sign in again",
        "コンソールのセッションが終了しました。もう一度サインインしてください",
    )
}

// ----- answers ------------------------------------------------------------------------

/// The HTTP status of a refusal from below.
pub fn status_of(e: &AppError) -> StatusCode {
    match e.code {
        Code::Unauthenticated | Code::SessionExpired => StatusCode::UNAUTHORIZED,
        Code::Forbidden | Code::NotOrigin | Code::SelfApproval | Code::CsrfRefused => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::RateLimited | Code::LockedOut => StatusCode::TOO_MANY_REQUESTS,
        Code::Unavailable | Code::NotReady => StatusCode::SERVICE_UNAVAILABLE,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

pub fn html(status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header((header::CONTENT_TYPE, "text/html; charset=utf-8"))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(body)
}

/// Renders a page, or the error page if the template fails.
pub fn render(t: &Tr, status: StatusCode, page: &impl Template) -> HttpResponse {
    match page.render() {
        Ok(body) => html(status, body),
        Err(e) => {
            tracing::error!(%e, "console template failed");
            let err = AppError::internal(e);
            html(StatusCode::INTERNAL_SERVER_ERROR, pages::plain_error(t, &err))
        }
    }
}

/// A 303 to a console path (after a form, to a sign-in page).
pub fn redirect(to: &str) -> HttpResponse {
    let to = if to.starts_with(ROOT) { to } else { ROOT };
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, to))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .finish()
}

/// The error page: the code, the message in the page's language, a way back.
pub fn error_page(t: &Tr, status: StatusCode, e: &AppError) -> HttpResponse {
    let page = pages::ErrorPage {
        page: Frame::anonymous(*t, t.get("error-title"), ""),
        code: e.code.as_str().to_string(),
        message: t.pick(&e.message, &e.message_ja).to_string(),
        meaning: t.pick(e.code.meaning(), e.code.meaning_ja()).to_string(),
        entries: e.entries.iter().map(|x| format!("#{}: {}", x.index + 1, t.pick(&x.message, &x.message_ja))).collect(),
    };
    render(t, status, &page)
}

async fn not_found(req: HttpRequest) -> HttpResponse {
    let t = translator(&req);
    error_page(&t, StatusCode::NOT_FOUND, &AppError::new(Code::NotFound, "no such page", "該当するページはありません"))
}

async fn home(req: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    match signed_in(&hub, &req, Need::SignedIn).await {
        Ok(ctx) => {
            let who = ctx.identity();
            let to = match who.role {
                Role::Coordinator => "/console/dashboard",
                Role::Procurement => "/console/suppliers",
                _ => "/console/search",
            };
            redirect(to)
        }
        Err(answer) => answer,
    }
}

#[derive(serde::Deserialize)]
struct Back {
    back: Option<String>,
}

/// The language switch: a cookie for a year, then back where the person was.
async fn switch_language(req: HttpRequest, lang: web::Path<String>, back: web::Query<Back>) -> HttpResponse {
    let lang = Lang::parse(&lang).unwrap_or_else(|| language(&req));
    let back = back.into_inner().back.filter(|b| is_console_path(b)).unwrap_or_else(|| format!("{ROOT}/"));
    let cookie = Cookie::build(LANG_COOKIE, lang.code())
        .path(ROOT)
        .same_site(SameSite::Lax)
        .secure(secure(&req))
        .max_age(actix_web::cookie::time::Duration::days(365))
        .finish();
    let mut answer = redirect(&back);
    let _ = answer.add_cookie(&cookie);
    answer
}

/// A path inside the console (never another origin: `//evil` or `/console/../x`).
pub fn is_console_path(path: &str) -> bool {
    (path == ROOT || path.starts_with("/console/"))
        && !path.contains("//")
        && !path.contains("..")
        && !path.contains('\\')
        && path.chars().all(|c| !c.is_control())
}

/// The session cookie carrying `secret` (or, with None, its removal).
pub fn session_cookie(req: &HttpRequest, secret: Option<&str>) -> Cookie<'static> {
    let name = session_cookie_name(req);
    let mut cookie = Cookie::build(name, secret.unwrap_or("").to_string())
        .path(if secure(req) { "/" } else { ROOT })
        .http_only(true)
        .secure(secure(req))
        .same_site(SameSite::Strict)
        .finish();
    if secret.is_none() {
        cookie.make_removal();
    }
    cookie
}

/// The pre-sign-in cookie: a random value the sign-in form repeats (login CSRF).
fn pre_cookie(req: &HttpRequest, value: &str) -> Cookie<'static> {
    Cookie::build(PRE_COOKIE, value.to_string())
        .path(ROOT)
        .http_only(true)
        .secure(secure(req))
        .same_site(SameSite::Strict)
        .finish()
}

// ----- the frame of every page ----------------------------------------------------------

/// A navigation link.
pub struct NavLink {
    pub href: &'static str,
    pub label: String,
    pub current: bool,
}

/// What every page's header shows.
pub struct Frame {
    pub t: Tr,
    pub title: String,
    /// Who is signed in (organisation, holder, role), if anyone.
    pub who: Option<String>,
    pub nav: Vec<NavLink>,
    pub csrf: String,
    /// The switch to the other language, back to this page.
    pub switch_href: String,
    pub switch_label: String,
    pub css: &'static str,
}

impl Frame {
    pub fn anonymous(t: Tr, title: String, path: &str) -> Frame {
        Frame {
            t,
            title,
            who: None,
            nav: Vec::new(),
            csrf: String::new(),
            switch_href: switch_href(t, path),
            switch_label: t.get("lang-switch"),
            css: pages::css_href(),
        }
    }

    fn signed_in(t: Tr, title: String, session: &Session, path: &str) -> Frame {
        let who = &session.identity;
        let mut links: Vec<(&'static str, &'static str)> = Vec::new();
        if who.is_coordinator() {
            links.push(("/console/dashboard", "nav-dashboard"));
            links.push(("/console/moderation", "nav-moderation"));
            links.push(("/console/admin", "nav-admin"));
        }
        if who.may_read_indicators() {
            links.push(("/console/search", "nav-search"));
            links.push(("/console/exports", "nav-exports"));
        }
        if who.may_share() {
            links.push(("/console/share", "nav-share"));
            links.push(("/console/submissions", "nav-submissions"));
        }
        links.push(("/console/suppliers", "nav-suppliers"));
        links.push(("/console/account", "nav-account"));
        let nav = links
            .into_iter()
            .map(|(href, id)| NavLink { href, label: t.get(id), current: path.starts_with(href) })
            .collect();
        let role = t.get(&format!("role-{}", who.role.as_str()));
        let holder = session.holder.as_deref().map(|h| format!(" · {h}")).unwrap_or_default();
        Frame {
            t,
            title,
            who: Some(format!("{}{holder} ({role})", who.org_name)),
            nav,
            csrf: session.csrf.clone(),
            switch_href: switch_href(t, path),
            switch_label: t.get("lang-switch"),
            css: pages::css_href(),
        }
    }
}

fn switch_href(t: Tr, path: &str) -> String {
    let back = if is_console_path(path) { path } else { "/console/" };
    format!("/console/lang/{}?back={}", t.lang.other().code(), percent_encode(back))
}

/// Percent-encodes a query value (RFC 3986 unreserved characters kept).
pub fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A TLP label as FIRST shows it: its own colour on black, and the label's text.
pub struct TlpBadge {
    pub class: &'static str,
    pub text: &'static str,
}

pub fn tlp_badge(tlp: renkei_schema::tlp::Tlp) -> TlpBadge {
    use renkei_schema::tlp::Tlp;
    let class = match tlp {
        Tlp::Clear => "tlp-clear",
        Tlp::Green => "tlp-green",
        Tlp::Amber => "tlp-amber",
        Tlp::AmberStrict => "tlp-amber",
        Tlp::Red => "tlp-red",
    };
    TlpBadge { class, text: tlp.as_str() }
}
