//! The coordinators' administration pages (the ISAC secretariat's work): member
//! organisations and their trust levels, tokens (issued with their secret shown once,
//! revoked, one-time enrolment codes for a first second factor), the moderation
//! policy, the false-positive allowlists, the federation links' status, and the audit
//! log with its chain verified.
//!
//! A surface like the rest of the console: every read and write goes through the
//! services (`directory`, `moderation`, `allowlist`, `sessions`, `audit`) and
//! `federation::links`, the same functions the CLI and GraphQL call, each write one
//! transaction with its audit entry. The audit log is shown as the GraphQL `auditLog`
//! resolver shows it (`audit::recent_for`, which withholds what a coordinator may not
//! learn); nothing here decides visibility.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

use super::{redirect, render, signed_in, status_of, tlp_badge, Ctx, Frame, Need, TlpBadge};
use crate::auth::Role;
use crate::error::AppError;
use crate::services::moderation::{self, Action, Policy, Rule, Trust};
use crate::services::{allowlist, audit, directory, sessions};
use crate::state::Hub;
use renkei_schema::tlp::Tlp;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/admin", web::get().to(index))
        .route("/admin/", web::get().to(index))
        .route("/admin/organizations", web::get().to(organizations))
        .route("/admin/organizations", web::post().to(add_organization))
        .route("/admin/organizations/{id}/trust", web::post().to(set_trust))
        .route("/admin/tokens", web::get().to(tokens))
        .route("/admin/tokens", web::post().to(issue_token))
        .route("/admin/tokens/{id}/revoke", web::post().to(revoke_token))
        .route("/admin/tokens/{id}/enrolment", web::post().to(enrolment_code))
        .route("/admin/policy", web::get().to(policy))
        .route("/admin/policy", web::post().to(set_policy))
        .route("/admin/allowlists", web::get().to(allowlists))
        .route("/admin/allowlists", web::post().to(import_allowlist))
        .route("/admin/allowlists/remove", web::post().to(remove_allowlist))
        .route("/admin/peers", web::get().to(peers))
        .route("/admin/audit", web::get().to(audit_log));
}

/// A coordinator's posted form with its CSRF secret checked: every POST's first step.
async fn posted(
    hub: &web::Data<Arc<Hub>>,
    req: &HttpRequest,
    raw: web::Form<Vec<(String, String)>>,
) -> Result<(Ctx, Fields), HttpResponse> {
    let ctx = signed_in(hub, req, Need::Coordinator).await?;
    let fields = Fields(raw.into_inner());
    ctx.check_csrf(&fields.one("csrf"))?;
    Ok((ctx, fields))
}

// ----- shared pieces ----------------------------------------------------------------------

/// A posted form as name–value pairs (fields may repeat; a missing CSRF field is an
/// empty one, refused like a wrong one).
struct Fields(Vec<(String, String)>);

impl Fields {
    fn one(&self, name: &str) -> String {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()).unwrap_or_default()
    }

    fn all(&self, name: &str) -> Vec<String> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.clone()).collect()
    }

    fn checked(&self, name: &str) -> bool {
        self.0.iter().any(|(k, v)| k == name && !v.is_empty() && v != "false" && v != "no")
    }
}

/// After a successful form: which notice the page shows (`?done=`), never the text of
/// the query itself.
#[derive(Deserialize)]
struct Done {
    done: Option<String>,
}

fn notice(ctx: &Ctx, done: Option<&str>) -> Option<String> {
    let id = match done? {
        "org-added" => "admin-done-org-added",
        "trust-set" => "admin-done-trust-set",
        "token-revoked" => "admin-done-token-revoked",
        "policy-saved" => "admin-done-policy-saved",
        "allowlist-imported" => "admin-done-allowlist-imported",
        "allowlist-removed" => "admin-done-allowlist-removed",
        _ => return None,
    };
    Some(ctx.t.get(id))
}

/// The message of a refusal in the page's language.
fn message_of(ctx: &Ctx, e: &AppError) -> String {
    ctx.t.pick(&e.message, &e.message_ja).to_string()
}

/// The lines a refusal names one by one (bad allowlist lines, …).
fn entries_of(ctx: &Ctx, e: &AppError) -> Vec<String> {
    e.entries.iter().take(50).map(|x| ctx.t.pick(&x.message, &x.message_ja).to_string()).collect()
}

/// A form refused below: the status its code calls for, and at least 422 (a refusal
/// the page re-renders is never a 200).
fn refusal_status(e: &AppError) -> StatusCode {
    match status_of(e) {
        s if s.is_client_error() || s.is_server_error() => s,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

fn trust_label(ctx: &Ctx, trust: Trust) -> String {
    match trust {
        Trust::New => ctx.t.get("admin-trust-new"),
        Trust::Standard => ctx.t.get("admin-trust-standard"),
        Trust::Trusted => ctx.t.get("admin-trust-trusted"),
    }
}

fn role_label(ctx: &Ctx, role: &str) -> String {
    ctx.t.label("role", role)
}

/// A time as stored (RFC 3339), shortened to the minute for a table.
fn short_time(at: &str) -> String {
    match crate::store::parse_time(at) {
        Some(t) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
        None => at.to_string(),
    }
}

// ----- the index ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin.html")]
struct IndexPage {
    page: Frame,
    /// (href, title, description).
    sections: Vec<(&'static str, String, String)>,
}

async fn index(req: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Coordinator).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let t = ctx.t;
    let sections = vec![
        ("/console/admin/organizations", t.get("admin-orgs-title"), t.get("admin-orgs-about")),
        ("/console/admin/tokens", t.get("admin-tokens-title"), t.get("admin-tokens-about")),
        ("/console/admin/policy", t.get("admin-policy-title"), t.get("admin-policy-about")),
        ("/console/admin/allowlists", t.get("admin-allowlists-title"), t.get("admin-allowlists-about")),
        ("/console/admin/peers", t.get("admin-peers-title"), t.get("admin-peers-about")),
        ("/console/admin/audit", t.get("admin-audit-title"), t.get("admin-audit-about")),
    ];
    let page = IndexPage { page: ctx.frame(t.get("admin-title")), sections };
    render(&ctx.t, StatusCode::OK, &page)
}

// ----- organisations --------------------------------------------------------------------

struct OrgLine {
    id: String,
    name: String,
    sector: String,
    coordinator: bool,
    trust: String,
    trust_label: String,
    action: String,
}

/// The add form as posted (kept when it is refused).
struct OrgForm {
    name: String,
    sector: String,
    coordinator: bool,
    trust: String,
}

impl Default for OrgForm {
    fn default() -> Self {
        OrgForm { name: String::new(), sector: String::new(), coordinator: false, trust: "new".into() }
    }
}

#[derive(Template)]
#[template(path = "admin_orgs.html")]
struct OrgsPage {
    page: Frame,
    notice: Option<String>,
    error: Option<String>,
    orgs: Vec<OrgLine>,
    /// (value, label) of each trust level.
    trusts: Vec<(&'static str, String)>,
    form: OrgForm,
}

async fn organizations(req: HttpRequest, hub: web::Data<Arc<Hub>>, done: web::Query<Done>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Coordinator).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let notice = notice(&ctx, done.done.as_deref());
    orgs_page(&ctx, notice, &OrgForm::default(), None).await
}

async fn orgs_page(ctx: &Ctx, notice: Option<String>, form: &OrgForm, error: Option<&AppError>) -> HttpResponse {
    let rows = match ctx.hub.db(|_, c| directory::list_orgs(c)).await {
        Ok(rows) => rows,
        Err(e) => return ctx.refused(&e),
    };
    let orgs = rows
        .into_iter()
        .map(|o| {
            let trust = Trust::parse(&o.trust);
            OrgLine {
                action: format!("/console/admin/organizations/{}/trust", super::percent_encode(&o.id)),
                trust_label: trust.map_or_else(|| o.trust.clone(), |t| trust_label(ctx, t)),
                trust: o.trust,
                id: o.id,
                name: o.name,
                sector: o.sector,
                coordinator: o.is_coordinator,
            }
        })
        .collect();
    let page = OrgsPage {
        page: ctx.frame(ctx.t.get("admin-orgs-title")),
        notice,
        error: error.map(|e| message_of(ctx, e)),
        orgs,
        trusts: Trust::ALL.iter().map(|t| (t.as_str(), trust_label(ctx, *t))).collect(),
        form: OrgForm {
            name: form.name.clone(),
            sector: form.sector.clone(),
            coordinator: form.coordinator,
            trust: form.trust.clone(),
        },
    };
    render(&ctx.t, error.map_or(StatusCode::OK, refusal_status), &page)
}

fn parse_trust(text: &str) -> Result<Trust, AppError> {
    Trust::parse(text.trim()).ok_or_else(|| {
        AppError::invalid(
            "choose a trust level: new, standard or trusted",
            "信頼レベル（new、standard、trusted）を選んでください",
        )
    })
}

async fn add_organization(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    raw: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let (ctx, fields) = match posted(&hub, &req, raw).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let form = OrgForm {
        name: fields.one("name"),
        sector: fields.one("sector"),
        coordinator: fields.one("coordinator") == "yes",
        trust: fields.one("trust"),
    };
    let trust = match parse_trust(&form.trust) {
        Ok(t) => t,
        Err(e) => return orgs_page(&ctx, None, &form, Some(&e)).await,
    };
    let who = ctx.identity().clone();
    let (name, sector, coordinator) = (form.name.clone(), form.sector.clone(), form.coordinator);
    let added = ctx
        .hub
        .db(move |hub, c| directory::add_org(c, &hub.keys, &name, &sector, coordinator, trust, Some(&who)))
        .await;
    match added {
        Ok(_) => redirect("/console/admin/organizations?done=org-added"),
        Err(e) => orgs_page(&ctx, None, &form, Some(&e)).await,
    }
}

async fn set_trust(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    id: web::Path<String>,
    raw: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let (ctx, fields) = match posted(&hub, &req, raw).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let trust = match parse_trust(&fields.one("trust")) {
        Ok(t) => t,
        Err(e) => return orgs_page(&ctx, None, &OrgForm::default(), Some(&e)).await,
    };
    let who = ctx.identity().clone();
    let org = id.into_inner();
    match ctx.hub.db(move |hub, c| moderation::set_trust(c, &hub.keys, Some(&who), &org, trust)).await {
        Ok(_) => redirect("/console/admin/organizations?done=trust-set"),
        Err(e) => orgs_page(&ctx, None, &OrgForm::default(), Some(&e)).await,
    }
}

// ----- tokens -----------------------------------------------------------------------------

struct TokenLine {
    id: String,
    org: String,
    role: String,
    name: String,
    grants: String,
    created: String,
    expires: String,
    revoked: Option<String>,
    /// Not revoked: it may be revoked, and get an enrolment code (not peer hubs').
    active: bool,
    enrollable: bool,
    revoke_action: String,
    enrol_action: String,
}

/// The issue form as posted (kept when it is refused).
#[derive(Default)]
struct TokenForm {
    org: String,
    role: String,
    name: String,
    expires: String,
    grants: Vec<String>,
}

#[derive(Template)]
#[template(path = "admin_tokens.html")]
struct TokensPage {
    page: Frame,
    notice: Option<String>,
    error: Option<String>,
    tokens: Vec<TokenLine>,
    /// (id, name, selected).
    orgs: Vec<(String, String, bool)>,
    /// (value, label, selected).
    roles: Vec<(&'static str, String, bool)>,
    /// (grant, label, checked).
    grants: Vec<(&'static str, String, bool)>,
    form: TokenForm,
}

/// The roles a coordinator issues tokens for (peer hubs' come with their link).
const ISSUED_ROLES: [Role; 3] = [Role::Analyst, Role::Procurement, Role::Coordinator];

async fn tokens(req: HttpRequest, hub: web::Data<Arc<Hub>>, done: web::Query<Done>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Coordinator).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let notice = notice(&ctx, done.done.as_deref());
    tokens_page(&ctx, notice, &TokenForm::default(), None).await
}

async fn tokens_page(ctx: &Ctx, notice: Option<String>, form: &TokenForm, error: Option<&AppError>) -> HttpResponse {
    let loaded = ctx.hub.db(|_, c| Ok((directory::list_tokens(c)?, directory::list_orgs(c)?))).await;
    let (rows, orgs) = match loaded {
        Ok(found) => found,
        Err(e) => return ctx.refused(&e),
    };
    let names: HashMap<&str, &str> = orgs.iter().map(|o| (o.id.as_str(), o.name.as_str())).collect();
    let tokens = rows
        .iter()
        .map(|r| {
            let active = r.revoked_at.is_none();
            TokenLine {
                id: r.id.clone(),
                org: names.get(r.org_id.as_str()).map_or_else(|| r.org_id.clone(), |n| n.to_string()),
                role: role_label(ctx, &r.role),
                name: r.name.clone().unwrap_or_default(),
                grants: r
                    .grants
                    .split(',')
                    .filter(|g| !g.is_empty())
                    .map(|g| grant_label(ctx, g))
                    .collect::<Vec<_>>()
                    .join(", "),
                created: short_time(&r.created_at),
                expires: r.expires_at.as_deref().map_or_else(|| ctx.t.get("admin-token-no-expiry"), short_time),
                revoked: r.revoked_at.as_deref().map(short_time),
                active,
                enrollable: active && r.role != Role::Peer.as_str(),
                revoke_action: format!("/console/admin/tokens/{}/revoke", super::percent_encode(&r.id)),
                enrol_action: format!("/console/admin/tokens/{}/enrolment", super::percent_encode(&r.id)),
            }
        })
        .collect();
    let page = TokensPage {
        page: ctx.frame(ctx.t.get("admin-tokens-title")),
        notice,
        error: error.map(|e| message_of(ctx, e)),
        tokens,
        orgs: orgs.iter().map(|o| (o.id.clone(), o.name.clone(), o.id == form.org)).collect(),
        roles: ISSUED_ROLES
            .iter()
            .map(|r| (r.as_str(), role_label(ctx, r.as_str()), form.role == r.as_str()))
            .collect(),
        grants: directory::GRANTS
            .iter()
            .map(|g| (*g, grant_label(ctx, g), form.grants.iter().any(|x| x == g)))
            .collect(),
        form: TokenForm {
            org: form.org.clone(),
            role: form.role.clone(),
            name: form.name.clone(),
            expires: form.expires.clone(),
            grants: form.grants.clone(),
        },
    };
    render(&ctx.t, error.map_or(StatusCode::OK, refusal_status), &page)
}

fn grant_label(ctx: &Ctx, grant: &str) -> String {
    match grant {
        "indicators" => ctx.t.get("admin-grant-indicators"),
        other => other.to_string(),
    }
}

/// The expiry as the form gives it: empty (none), a date (`2027-04-01`: the start of
/// that day, UTC), or what the CLI takes (`90d`, an RFC 3339 time).
fn parse_expiry(text: &str) -> Result<Option<chrono::DateTime<chrono::Utc>>, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Ok(None);
    }
    let text = match chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        Ok(date) => format!("{date}T00:00:00Z"),
        Err(_) => text.to_string(),
    };
    renkei_schema::duration::parse_expiry(&text, chrono::Utc::now())
        .map(Some)
        .map_err(|e| AppError::invalid(e.reason, e.reason_ja))
}

/// A secret shown once: a token just issued, or a one-time enrolment code.
#[derive(Template)]
#[template(path = "admin_secret.html")]
struct SecretPage {
    page: Frame,
    intro: String,
    secret_label: String,
    secret: String,
    warning: String,
    /// What the secret is for (label, value).
    details: Vec<(String, String)>,
    /// The form that issues the new token an enrolment code (coordinator tokens).
    enrol_action: Option<String>,
}

async fn issue_token(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    raw: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let (ctx, fields) = match posted(&hub, &req, raw).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let form = TokenForm {
        org: fields.one("org"),
        role: fields.one("role"),
        name: fields.one("name"),
        expires: fields.one("expires"),
        grants: fields.all("grants"),
    };
    let role = match Role::parse(form.role.trim()).filter(|r| ISSUED_ROLES.contains(r)) {
        Some(role) => role,
        None => {
            let e = AppError::invalid(
                "choose a role: analyst, procurement or coordinator",
                "ロール（アナリスト、調達担当、コーディネーター）を選んでください",
            );
            return tokens_page(&ctx, None, &form, Some(&e)).await;
        }
    };
    let expires = match parse_expiry(&form.expires) {
        Ok(t) => t,
        Err(e) => return tokens_page(&ctx, None, &form, Some(&e)).await,
    };
    let who = ctx.identity().clone();
    let (org, grants) = (form.org.clone(), form.grants.clone());
    let name = Some(form.name.trim().to_string()).filter(|n| !n.is_empty());
    let issued = ctx
        .hub
        .db(move |hub, c| {
            let (id, token) = directory::issue_token_by(
                c,
                &hub.keys,
                &who,
                &directory::NewToken { org_id: &org, role, expires, grants: &grants, name: name.as_deref() },
            )?;
            Ok((id, token, directory::org_names(c)?))
        })
        .await;
    let (id, token, names) = match issued {
        Ok(found) => found,
        Err(e) => return tokens_page(&ctx, None, &form, Some(&e)).await,
    };
    let t = ctx.t;
    let mut details = vec![
        (t.get("admin-col-token-id"), id.clone()),
        (t.get("admin-col-org"), names.get(&form.org).cloned().unwrap_or_else(|| form.org.clone())),
        (t.get("admin-col-role"), role_label(&ctx, role.as_str())),
    ];
    if let Some(name) = Some(form.name.trim()).filter(|n| !n.is_empty()) {
        details.push((t.get("admin-col-token-name"), name.to_string()));
    }
    if let Some(expires) = expires {
        details.push((t.get("admin-col-expires"), expires.format("%Y-%m-%d %H:%M UTC").to_string()));
    }
    let page = SecretPage {
        page: ctx.frame(t.get("admin-token-issued-title")),
        intro: t.get("admin-token-issued-intro"),
        secret_label: t.get("admin-token-secret"),
        secret: token,
        warning: t.get("admin-secret-once"),
        details,
        enrol_action: (role == Role::Coordinator)
            .then(|| format!("/console/admin/tokens/{}/enrolment", super::percent_encode(&id))),
    };
    render(&ctx.t, StatusCode::OK, &page)
}

async fn revoke_token(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    id: web::Path<String>,
    raw: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let (ctx, _) = match posted(&hub, &req, raw).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let who = ctx.identity().clone();
    let token = id.into_inner();
    let revoked = ctx
        .hub
        .db(move |hub, c| {
            directory::revoke_token_by(c, &hub.keys, &who, &token)?;
            // This process stops trusting it at once (other replicas within their
            // token cache's lifetime); its console sessions end with it.
            hub.tokens.forget(&token);
            Ok(())
        })
        .await;
    match revoked {
        Ok(()) => redirect("/console/admin/tokens?done=token-revoked"),
        Err(e) => tokens_page(&ctx, None, &TokenForm::default(), Some(&e)).await,
    }
}

async fn enrolment_code(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    id: web::Path<String>,
    raw: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let (ctx, _) = match posted(&hub, &req, raw).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let token = id.into_inner();
    let target = token.clone();
    let who = ctx.identity().clone();
    let issued = ctx
        .hub
        .db(move |hub, c| {
            let known = directory::find_token(c, &target)?;
            // Peer hubs never sign in to the console; a code for one would be useless.
            if known.as_ref().is_some_and(|r| r.role == Role::Peer.as_str()) {
                return Err(AppError::invalid(
                    "peer hub tokens cannot sign in to the console",
                    "ピアハブ用トークンではコンソールにサインインできません",
                ));
            }
            let code = sessions::issue_enrolment_by(c, &hub.keys, &who, &target, hub.config.console.enrolment_hours)?;
            let names = directory::org_names(c)?;
            Ok((code, known, names))
        })
        .await;
    let (code, known, names) = match issued {
        Ok(found) => found,
        Err(e) => return tokens_page(&ctx, None, &TokenForm::default(), Some(&e)).await,
    };
    let t = ctx.t;
    let mut details = vec![(t.get("admin-col-token-id"), token)];
    if let Some(row) = known {
        details.push((t.get("admin-col-org"), names.get(&row.org_id).cloned().unwrap_or(row.org_id)));
        details.push((t.get("admin-col-role"), role_label(&ctx, &row.role)));
        if let Some(name) = row.name {
            details.push((t.get("admin-col-token-name"), name));
        }
    }
    let hours = i64::from(ctx.hub.config.console.enrolment_hours);
    let page = SecretPage {
        page: ctx.frame(t.get("admin-enrolment-title")),
        intro: t.count("admin-enrolment-intro", hours),
        secret_label: t.get("admin-enrolment-code"),
        secret: code,
        warning: t.get("admin-secret-once"),
        details,
        enrol_action: None,
    };
    render(&ctx.t, StatusCode::OK, &page)
}

// ----- the moderation policy -------------------------------------------------------------

struct RuleLine {
    number: usize,
    trust: String,
    kinds: String,
    labels: Vec<TlpBadge>,
    organizations: String,
    action: String,
}

#[derive(Template)]
#[template(path = "admin_policy.html")]
struct PolicyPage {
    page: Frame,
    notice: Option<String>,
    error: Option<String>,
    default_action: String,
    rules: Vec<RuleLine>,
    /// The policy as the form edits it (JSON).
    text: String,
}

fn action_label(ctx: &Ctx, action: Action) -> String {
    match action {
        Action::Publish => ctx.t.get("admin-action-publish"),
        Action::Queue => ctx.t.get("admin-action-queue"),
    }
}

fn rule_line(ctx: &Ctx, number: usize, rule: &Rule) -> RuleLine {
    let any = || ctx.t.get("admin-policy-any");
    let joined = |parts: Vec<String>| if parts.is_empty() { any() } else { parts.join(", ") };
    RuleLine {
        number,
        trust: joined(rule.trust.iter().map(|t| trust_label(ctx, *t)).collect()),
        kinds: joined(rule.kinds.iter().map(|k| ctx.t.label("kind", k.as_str())).collect()),
        labels: rule.tlp.iter().map(|t| tlp_badge(*t)).collect(),
        organizations: match rule.coordinator_org {
            Some(true) => ctx.t.get("admin-policy-coordinator-orgs"),
            Some(false) => ctx.t.get("admin-policy-member-orgs"),
            None => any(),
        },
        action: action_label(ctx, rule.action),
    }
}

/// The policy as the form shows it: the JSON `setModerationPolicy` stores.
fn policy_text(policy: &Policy) -> String {
    serde_json::to_string_pretty(policy).unwrap_or_default()
}

async fn policy(req: HttpRequest, hub: web::Data<Arc<Hub>>, done: web::Query<Done>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Coordinator).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let notice = notice(&ctx, done.done.as_deref());
    policy_page(&ctx, notice, None, None).await
}

/// The policy page: the rules in force, and the form (with the text as posted when it
/// was refused).
async fn policy_page(
    ctx: &Ctx,
    notice: Option<String>,
    posted: Option<&str>,
    error: Option<&AppError>,
) -> HttpResponse {
    let current = match ctx.hub.db(|hub, c| moderation::effective_policy(c, &hub.config.moderation)).await {
        Ok(p) => p,
        Err(e) => return ctx.refused(&e),
    };
    let page = PolicyPage {
        page: ctx.frame(ctx.t.get("admin-policy-title")),
        notice,
        error: error.map(|e| message_of(ctx, e)),
        default_action: action_label(ctx, current.default),
        rules: current.rules.iter().enumerate().map(|(i, r)| rule_line(ctx, i + 1, r)).collect(),
        text: posted.map_or_else(|| policy_text(&current), str::to_string),
    };
    render(&ctx.t, error.map_or(StatusCode::OK, refusal_status), &page)
}

fn parse_policy(text: &str) -> Result<Policy, AppError> {
    serde_json::from_str::<Policy>(text).map_err(|e| {
        AppError::invalid(
            format!("the policy is not valid: {e} (expected JSON as shown, with default, and rules of trust, kinds, tlp, coordinator_org and action)"),
            format!("ポリシーの形式が正しくありません: {e}（表示されている形式のJSONで、default と rules（trust、kinds、tlp、coordinator_org、action）を指定してください）"),
        )
    })
}

async fn set_policy(req: HttpRequest, hub: web::Data<Arc<Hub>>, raw: web::Form<Vec<(String, String)>>) -> HttpResponse {
    let (ctx, fields) = match posted(&hub, &req, raw).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let text = fields.one("policy");
    let policy = match parse_policy(&text) {
        Ok(p) => p,
        Err(e) => return policy_page(&ctx, None, Some(&text), Some(&e)).await,
    };
    let who = ctx.identity().clone();
    match ctx.hub.db(move |hub, c| moderation::set_policy(c, &hub.keys, &who, &policy)).await {
        Ok(()) => redirect("/console/admin/policy?done=policy-saved"),
        Err(e) => policy_page(&ctx, None, Some(&text), Some(&e)).await,
    }
}

// ----- allowlists -------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "admin_allowlists.html")]
struct AllowlistsPage {
    page: Frame,
    notice: Option<String>,
    error: Option<String>,
    error_lines: Vec<String>,
    /// (name, entries).
    lists: Vec<(String, i64)>,
    builtin: bool,
    name: String,
    text: String,
}

async fn allowlists(req: HttpRequest, hub: web::Data<Arc<Hub>>, done: web::Query<Done>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Coordinator).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let notice = notice(&ctx, done.done.as_deref());
    allowlists_page(&ctx, notice, "", "", None).await
}

async fn allowlists_page(
    ctx: &Ctx,
    notice: Option<String>,
    name: &str,
    text: &str,
    error: Option<&AppError>,
) -> HttpResponse {
    let lists = match ctx.hub.db(|_, c| allowlist::lists(c)).await {
        Ok(lists) => lists,
        Err(e) => return ctx.refused(&e),
    };
    let page = AllowlistsPage {
        page: ctx.frame(ctx.t.get("admin-allowlists-title")),
        notice,
        error: error.map(|e| message_of(ctx, e)),
        error_lines: error.map(|e| entries_of(ctx, e)).unwrap_or_default(),
        lists,
        builtin: ctx.hub.config.builtin_allowlist,
        name: name.to_string(),
        text: text.to_string(),
    };
    render(&ctx.t, error.map_or(StatusCode::OK, refusal_status), &page)
}

async fn import_allowlist(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    raw: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let (ctx, fields) = match posted(&hub, &req, raw).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let (name, text) = (fields.one("name"), fields.one("entries"));
    if text.trim().is_empty() {
        let e = AppError::invalid(
            "give the list's entries, one per line",
            "リストのエントリを1行に1つずつ入力してください",
        );
        return allowlists_page(&ctx, None, &name, &text, Some(&e)).await;
    }
    let who = ctx.identity().clone();
    let (list, entries) = (name.clone(), text.clone());
    match ctx.hub.db(move |hub, c| allowlist::import(c, &hub.keys, Some(&who), &list, &entries)).await {
        Ok(_) => redirect("/console/admin/allowlists?done=allowlist-imported"),
        Err(e) => allowlists_page(&ctx, None, &name, &text, Some(&e)).await,
    }
}

async fn remove_allowlist(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    raw: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let (ctx, fields) = match posted(&hub, &req, raw).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    if !fields.checked("confirm") {
        let e =
            AppError::invalid("tick the box to confirm the removal", "削除するにはチェックボックスで確認してください");
        return allowlists_page(&ctx, None, "", "", Some(&e)).await;
    }
    let who = ctx.identity().clone();
    let list = fields.one("name");
    match ctx.hub.db(move |hub, c| allowlist::remove(c, &hub.keys, Some(&who), &list)).await {
        Ok(_) => redirect("/console/admin/allowlists?done=allowlist-removed"),
        Err(e) => allowlists_page(&ctx, None, "", "", Some(&e)).await,
    }
}

// ----- federation links ------------------------------------------------------------------

struct PeerLine {
    name: String,
    url: String,
    max_tlp: TlpBadge,
    community: bool,
    direction: String,
    kinds: String,
    lag: i64,
    received: i64,
    /// (reason, count).
    refused: Vec<(String, i64)>,
    last_error: Option<String>,
    last_attempt: String,
    last_success: String,
}

#[derive(Template)]
#[template(path = "admin_peers.html")]
struct PeersPage {
    page: Frame,
    peers: Vec<PeerLine>,
}

fn direction_label(ctx: &Ctx, direction: crate::federation::links::Direction) -> String {
    use crate::federation::links::Direction;
    match direction {
        Direction::Pull => ctx.t.get("admin-direction-pull"),
        Direction::Push => ctx.t.get("admin-direction-push"),
        Direction::Both => ctx.t.get("admin-direction-both"),
    }
}

async fn peers(req: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Coordinator).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let rows = match ctx.hub.db(|_, c| crate::federation::links::list_peers(c)).await {
        Ok(rows) => rows,
        Err(e) => return ctx.refused(&e),
    };
    let never = || ctx.t.get("admin-never");
    let peers = rows
        .into_iter()
        .map(|(peer, status)| PeerLine {
            max_tlp: tlp_badge(peer.max_tlp.parse().unwrap_or(Tlp::Clear)),
            community: peer.community,
            direction: direction_label(&ctx, peer.direction()),
            kinds: peer.kinds().iter().map(|k| ctx.t.label("kind", k)).collect::<Vec<_>>().join(", "),
            lag: (status.peer_head - status.cursor).max(0),
            received: status.received,
            refused: status.refused_counts().into_iter().collect(),
            last_error: status.last_error.clone(),
            last_attempt: status.last_attempt_at.as_deref().map_or_else(never, short_time),
            last_success: status.last_success_at.as_deref().map_or_else(never, short_time),
            name: peer.name,
            url: peer.url,
        })
        .collect();
    let page = PeersPage { page: ctx.frame(ctx.t.get("admin-peers-title")), peers };
    render(&ctx.t, StatusCode::OK, &page)
}

// ----- the audit log -------------------------------------------------------------------------

/// Entries per page.
const AUDIT_PAGE: i64 = 100;

struct AuditLine {
    seq: i64,
    at: String,
    actor: String,
    withheld: bool,
    action: String,
    target: String,
    detail: String,
    source: String,
}

#[derive(Template)]
#[template(path = "admin_audit.html")]
struct AuditPage {
    page: Frame,
    /// The chain's state, and whether it is broken.
    chain: String,
    broken: bool,
    entries: Vec<AuditLine>,
    /// The link to the next older page.
    older: Option<String>,
    paged: bool,
}

#[derive(Deserialize)]
struct AuditQuery {
    before: Option<String>,
    /// Set to verify the whole chain (a walk of the entire log: only when asked).
    verify: Option<String>,
}

async fn audit_log(req: HttpRequest, hub: web::Data<Arc<Hub>>, q: web::Query<AuditQuery>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Coordinator).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let before = match q.before.as_deref().map(str::trim).filter(|b| !b.is_empty()) {
        None => None,
        Some(b) => match b.parse::<i64>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                return ctx.refused(&AppError::invalid(
                    "before is an entry number",
                    "before にはエントリ番号を指定してください",
                ))
            }
        },
    };
    let who = ctx.identity().clone();
    if q.verify.is_some() {
        start_chain_check(&ctx.hub);
    }
    let loaded = ctx
        .hub
        .db(move |_, c| {
            // As the auditLog resolver: the service withholds what this coordinator may
            // not learn; withheld entries carry no token, so their actor stays unnamed.
            let mut rows = audit::recent_for(c, &who.viewer(), before, AUDIT_PAGE + 1)?;
            let more = rows.len() as i64 > AUDIT_PAGE;
            rows.truncate(AUDIT_PAGE as usize);
            let tokens: Vec<&str> = rows.iter().filter_map(|s| s.row.actor_token.as_deref()).collect();
            let token_names = directory::token_names(c, &tokens)?;
            let org_names = directory::org_names(c)?;
            Ok((rows, more, token_names, org_names))
        })
        .await;
    let (rows, more, token_names, org_names) = match loaded {
        Ok(found) => found,
        Err(e) => return ctx.refused(&e),
    };
    let check = chain_check(&ctx.hub);
    let (chain, broken) = match check.as_ref().and_then(|c| c.outcome.as_ref()) {
        _ if check.as_ref().is_some_and(|c| c.running) => (ctx.t.get("admin-audit-verifying"), false),
        None => (ctx.t.get("admin-audit-not-verified"), false),
        Some(Err(message)) => (message.clone(), true),
        Some(Ok(Ok(v))) if v.entries == 0 => (ctx.t.get("admin-audit-empty"), false),
        Some(Ok(Ok(v))) => {
            let when = check.as_ref().and_then(|c| c.finished_at.as_deref()).map(short_time).unwrap_or_default();
            (format!("{} ({when})", ctx.t.with("admin-audit-verified", &[("n", v.entries.to_string())])), false)
        }
        Some(Ok(Err(bad))) => (
            ctx.t
                .with("admin-audit-broken", &[("n", bad.seq.to_string()), ("reason", broken_reason(&ctx, bad.reason))]),
            true,
        ),
    };
    let older = more.then(|| rows.last().map(|s| format!("/console/admin/audit?before={}", s.row.seq))).flatten();
    let entries = rows
        .into_iter()
        .map(|shown| {
            let r = shown.row;
            let actor = if shown.actor_withheld {
                ctx.t.get("admin-audit-withheld")
            } else {
                let org = r.actor_org.as_deref().map(|o| org_names.get(o).cloned().unwrap_or_else(|| o.to_string()));
                let token = r.actor_token.as_deref().and_then(|t| token_names.get(t).cloned());
                match (org, token) {
                    (Some(org), Some(token)) => format!("{org} · {token}"),
                    (Some(org), None) => org,
                    (None, Some(token)) => token,
                    (None, None) => ctx.t.get("admin-audit-operator"),
                }
            };
            AuditLine {
                seq: r.seq,
                at: short_time(&r.at),
                actor,
                withheld: shown.actor_withheld,
                action: r.action,
                target: r.target.unwrap_or_default(),
                detail: if r.detail == "{}" || r.detail == "null" { String::new() } else { r.detail },
                source: r.source.unwrap_or_default(),
            }
        })
        .collect();
    let page = AuditPage {
        page: ctx.frame(ctx.t.get("admin-audit-title")),
        chain,
        broken,
        entries,
        older,
        paged: before.is_some(),
    };
    render(&ctx.t, StatusCode::OK, &page)
}

/// Why the chain is broken, in the page's language (the service names it in English).
/// The last check of a hub's audit chain from the console: running, or its outcome
/// (with when it finished). A check reads the whole log, so it runs in the background
/// when a coordinator asks, one at a time per hub, and the page shows where it stands.
#[derive(Clone)]
struct ChainCheck {
    running: bool,
    finished_at: Option<String>,
    /// The verification's result, or the error that stopped it (as shown).
    outcome: Option<Result<Result<audit::Verified, audit::BrokenEntry>, String>>,
}

static CHAIN_CHECKS: std::sync::LazyLock<std::sync::Mutex<std::collections::HashMap<String, ChainCheck>>> =
    std::sync::LazyLock::new(Default::default);

fn chain_check(hub: &Hub) -> Option<ChainCheck> {
    CHAIN_CHECKS.lock().ok().and_then(|checks| checks.get(&hub.hub_id).cloned())
}

fn start_chain_check(hub: &Arc<Hub>) {
    {
        let Ok(mut checks) = CHAIN_CHECKS.lock() else { return };
        let entry =
            checks.entry(hub.hub_id.clone()).or_insert(ChainCheck { running: false, finished_at: None, outcome: None });
        if entry.running {
            return;
        }
        entry.running = true;
    }
    let hub = Arc::clone(hub);
    actix_web::rt::spawn(async move {
        let verified = hub.db(|hub, c| audit::verify(c, &hub.keys, &hub.hub_id, None)).await;
        let outcome = verified.map_err(|e| format!("{} / {}", e.message, e.message_ja));
        if let Ok(mut checks) = CHAIN_CHECKS.lock() {
            checks.insert(
                hub.hub_id.clone(),
                ChainCheck { running: false, finished_at: Some(crate::store::now_text()), outcome: Some(outcome) },
            );
        }
    });
}

fn broken_reason(ctx: &Ctx, reason: &str) -> String {
    match reason {
        "entry missing" => ctx.t.get("admin-audit-reason-missing"),
        "previous-hash link broken" => ctx.t.get("admin-audit-reason-link"),
        "content does not match its keyed hash" => ctx.t.get("admin-audit-reason-content"),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::i18n::{Lang, Tr};

    #[test]
    fn a_form_reads_repeated_fields_and_missing_ones_are_empty() {
        let fields = Fields(
            [("csrf", "x"), ("grants", "indicators"), ("grants", "other"), ("confirm", "on")]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        assert_eq!(fields.one("csrf"), "x");
        assert_eq!(fields.one("name"), "");
        assert_eq!(fields.all("grants"), vec!["indicators", "other"]);
        assert!(fields.checked("confirm"));
        assert!(!fields.checked("coordinator"));
    }

    #[test]
    fn an_expiry_is_a_date_a_duration_or_a_time_in_the_future() {
        assert_eq!(parse_expiry("  ").expect("none"), None);
        let next_year = (chrono::Utc::now() + chrono::Duration::days(400)).format("%Y-%m-%d").to_string();
        assert!(parse_expiry(&next_year).expect("a date").is_some());
        assert!(parse_expiry("90d").expect("a duration").is_some());
        assert!(parse_expiry("2001-01-01").is_err());
        let e = parse_expiry("soon").expect_err("not an expiry");
        assert!(!e.message_ja.is_empty());
    }

    #[test]
    fn the_policy_form_reads_what_it_shows() {
        let policy = Policy::default();
        assert_eq!(parse_policy(&policy_text(&policy)).expect("round trip"), policy);
        assert!(parse_policy("{\"default\": \"maybe\"}").is_err());
        assert!(parse_policy("").is_err());
    }

    /// Messages the pages ask for by a computed id exist in both languages.
    #[test]
    fn computed_message_ids_exist() {
        for lang in [Lang::En, Lang::Ja] {
            let t = Tr::new(lang);
            for role in ["coordinator", "analyst", "procurement", "peer"] {
                let id = format!("role-{role}");
                assert_ne!(t.get(&id), id);
            }
            for kind in renkei_schema::model::Kind::ALL {
                let id = format!("kind-{}", kind.as_str());
                assert_ne!(t.get(&id), id);
            }
        }
    }
}
