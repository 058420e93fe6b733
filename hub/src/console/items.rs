//! Members' pages: search and bulk lookup (defanged values welcome), an item's page
//! (content, label, status, sightings aggregate; report a sighting or false positive),
//! sharing indicators in bulk (label and RED recipients chosen explicitly, with who will
//! see it said before submitting), and the organisation's own submissions with their
//! moderation status and reasons.
//!
//! Every item comes through the lookup index or `services::stored`, which ask the TLP
//! policy; nothing here compares labels.

use actix_web::http::StatusCode;
use actix_web::{web, HttpMessage as _, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use std::collections::HashMap;
use std::sync::Arc;

use super::view::{fields_for, line_of, title_of, ItemLine};
use super::{redirect, render, signed_in, tlp_badge, Ctx, Frame, Need, TlpBadge};
use crate::error::AppError;
use crate::services::stored::{self, Sharing};
use crate::services::{directory, sharing, sightings};
use crate::state::{Hub, Metrics};
use crate::store::models::ObjectRow;
use renkei_schema::model::indicator::{normalize_any, IndicatorType};
use renkei_schema::model::Body;
use renkei_schema::tlp::Tlp;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/search", web::get().to(search))
        .route("/exports", web::get().to(exports))
        .route("/export/indicators", web::get().to(export_indicators))
        .route("/export/stix", web::get().to(export_stix))
        .route("/export/indicators/suricata/{file}", web::get().to(export_hash_list))
        .route("/items/{id}", web::get().to(item))
        .route("/items/{id}/sighting", web::post().to(report_sighting))
        .route("/share", web::get().to(share_form))
        .route("/share", web::post().to(share))
        .route("/submissions", web::get().to(submissions));
}

// ----- search -------------------------------------------------------------------------

/// The most values one console search looks up.
const CONSOLE_LOOKUP_MAX: usize = 500;

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

struct SearchResult {
    input: String,
    matches: Vec<ItemLine>,
}

#[derive(Template)]
#[template(path = "search.html")]
struct SearchPage {
    page: Frame,
    query: String,
    searched: bool,
    results: Vec<SearchResult>,
    found: usize,
    max: usize,
}

/// The values of a pasted list: one per line (or separated by spaces, commas or
/// semicolons), blank ones dropped.
fn values_of(text: &str) -> Vec<String> {
    text.split(['\n', '\r', ',', ';', ' ', '\t']).map(str::trim).filter(|v| !v.is_empty()).map(str::to_string).collect()
}

async fn search(req: HttpRequest, hub: web::Data<Arc<Hub>>, query: web::Query<SearchQuery>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Indicators).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    // A page lists every value with its matches: bounded so that a page stays small
    // (the API and the exports take more).
    let max = ctx.hub.config.limits.max_lookup_values.min(CONSOLE_LOOKUP_MAX);
    let values = values_of(&query.q);
    let mut results = Vec::new();
    if !values.is_empty() {
        if let Err(e) = sharing::check_lookup_size(values.len(), max) {
            return ctx.refused(&e);
        }
        if let Err(e) = ctx.hub.index.wait_ready(std::time::Duration::from_secs(30)).await {
            return ctx.refused(&e);
        }
        let candidates: Vec<_> = values.iter().map(|v| normalize_any(v)).collect();
        let found = match ctx.hub.index.lookup(&ctx.identity().viewer(), &candidates) {
            Ok(found) => found,
            Err(e) => return ctx.refused(&e),
        };
        // The index answers the value, label and status; the list reads each match
        // again through the policy for its title.
        let ids: Vec<String> = found.iter().flatten().map(|f| f.id.clone()).collect();
        let who = ctx.identity().clone();
        let rows = match ctx.hub.db(move |_, c| stored::get_many(c, &who.viewer(), &ids)).await {
            Ok(rows) => rows,
            Err(e) => return ctx.refused(&e),
        };
        let by_id: HashMap<&str, &ObjectRow> = rows.iter().map(|r| (r.id.as_str(), r)).collect();
        for (input, hits) in values.into_iter().zip(found) {
            let matches = hits.iter().filter_map(|h| by_id.get(h.id.as_str())).map(|row| line_of(&ctx, row)).collect();
            results.push(SearchResult { input, matches });
        }
    }
    let found = results.iter().filter(|r| !r.matches.is_empty()).count();
    let page = SearchPage {
        page: ctx.frame(ctx.t.get("search-title")),
        query: query.q.clone(),
        searched: !results.is_empty(),
        results,
        found,
        max,
    };
    render(&ctx.t, StatusCode::OK, &page)
}

// ----- an item --------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "item.html")]
struct ItemPage {
    page: Frame,
    line: ItemLine,
    fields: Vec<(String, String)>,
    submitter: String,
    revision: i64,
    status_reason: Option<String>,
    labels: Vec<String>,
    valid_until: Option<String>,
    recipients: Vec<String>,
    sightings: Option<sightings::Summary>,
    may_report: bool,
    is_indicator: bool,
    /// (version, when, label, status) of each version the viewer may read.
    history: Vec<(i64, String, TlpBadge, String)>,
    /// Indicators an incident names that the viewer reads.
    related: Vec<ItemLine>,
}

async fn item(req: HttpRequest, hub: web::Data<Arc<Hub>>, id: web::Path<String>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::SignedIn).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    item_page(&ctx, &id, StatusCode::OK).await
}

async fn item_page(ctx: &Ctx, id: &str, status: StatusCode) -> HttpResponse {
    let who = ctx.identity().clone();
    let id = id.to_string();
    let loaded = ctx
        .hub
        .db(move |_, c| {
            let Some(row) = stored::get(c, &who.viewer(), &id)? else { return Ok(None) };
            // Indicators only for those who read them (procurement reads assessments).
            if row.kind == "indicator" && !who.may_read_indicators() {
                return Ok(None);
            }
            let summary = if row.kind == "indicator" {
                sightings::summaries(c, std::slice::from_ref(&row.id))?.remove(&row.id)
            } else {
                None
            };
            let names = directory::org_names(c)?;
            let submitter = stored::visible_submitter(&who.viewer(), &row)?.map(str::to_string);
            let history = stored::history(c, &who.viewer(), &row.id)?;
            // An incident's indicators, each read through the policy again (an incident
            // only names indicators shared at least as widely, but labels change).
            let related = match stored::parts_of(&row)?.1 {
                Body::Incident(incident) if who.may_read_indicators() => {
                    stored::get_many(c, &who.viewer(), &incident.indicator_refs)?
                }
                _ => Vec::new(),
            };
            let recipients = if stored::may_see_recipients(&who.viewer(), &row) {
                stored::parse_recipients(&row.recipients)
            } else {
                Vec::new()
            };
            Ok(Some((row, summary, names, submitter, recipients, history, related)))
        })
        .await;
    let (row, summary, names, submitter, recipients, history, related) = match loaded {
        Ok(Some(found)) => found,
        // A hidden item answers exactly like a missing one.
        Ok(None) => return ctx.refused(&AppError::not_found("item")),
        Err(e) => return ctx.refused(&e),
    };
    let (env, body) = match stored::parts_of(&row) {
        Ok(parts) => parts,
        Err(e) => return ctx.refused(&e),
    };
    let name = |org: &str| names.get(org).cloned().unwrap_or_else(|| org.to_string());
    let page = ItemPage {
        page: ctx.frame(title_of(&body)),
        line: line_of(ctx, &row),
        fields: fields_for(ctx, &body),
        submitter: submitter.as_deref().map_or_else(|| ctx.t.get("item-submitter-withheld"), name),
        revision: row.revision,
        status_reason: env.status_reason.clone(),
        labels: env.labels.clone(),
        valid_until: row.valid_until.clone(),
        recipients: recipients.iter().map(|r| name(r)).collect(),
        sightings: summary,
        may_report: ctx.identity().may_share() && row.kind == "indicator",
        is_indicator: row.kind == "indicator",
        history: history
            .into_iter()
            .map(|v| (v.revision, v.recorded_at, tlp_badge(v.tlp), ctx.t.get(&format!("status-{}", v.status.as_str()))))
            .collect(),
        related: related.iter().map(|r| line_of(ctx, r)).collect(),
    };
    render(&ctx.t, status, &page)
}

#[derive(Deserialize)]
struct SightingForm {
    csrf: String,
    kind: String,
    #[serde(default)]
    count: String,
}

async fn report_sighting(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    id: web::Path<String>,
    form: web::Form<SightingForm>,
) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Share).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    if let Err(answer) = ctx.check_csrf(&form.csrf) {
        return answer;
    }
    let kind = match form.kind.as_str() {
        "seen" => sightings::SightingKind::Seen,
        "false_positive" => sightings::SightingKind::FalsePositive,
        _ => return ctx.refused(&AppError::invalid("unknown sighting kind", "目撃の種類が不正です")),
    };
    let count = match form.count.trim() {
        "" => 1,
        n => match n.parse::<i64>() {
            Ok(n) => n,
            Err(_) => {
                return ctx.refused(&AppError::invalid("the count is a whole number", "件数は整数で入力してください"))
            }
        },
    };
    let sighting = sightings::NewSighting {
        indicator_id: id.to_string(),
        kind,
        count,
        first_seen: None,
        last_seen: None,
        anonymous: false,
    };
    let who = ctx.identity().clone();
    match ctx.hub.db(move |hub, c| sightings::report(c, &hub.keys, &hub.hub_id, &who, &sighting)).await {
        Ok(_) => redirect(&format!("/console/items/{}", super::percent_encode(&id))),
        Err(e) => ctx.refused(&e),
    }
}

// ----- sharing ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "share.html")]
struct SharePage {
    page: Frame,
    organizations: Vec<(String, String)>,
    values: String,
    tlp: String,
    error: Option<String>,
    max: usize,
}

async fn organizations(ctx: &Ctx) -> Result<Vec<(String, String)>, AppError> {
    let rows = ctx.hub.db(|_, c| directory::list_orgs(c)).await?;
    Ok(rows.into_iter().map(|o| (o.id, o.name)).collect())
}

async fn share_form(req: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Share).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    share_page(&ctx, String::new(), String::new(), None).await
}

async fn share_page(ctx: &Ctx, values: String, tlp: String, error: Option<&AppError>) -> HttpResponse {
    let organizations = match organizations(ctx).await {
        Ok(o) => o,
        Err(e) => return ctx.refused(&e),
    };
    let status = error.map_or(StatusCode::OK, super::status_of);
    let error = error.map(|e| {
        let mut text = ctx.t.pick(&e.message, &e.message_ja).to_string();
        for entry in &e.entries {
            text.push_str(&format!("\n#{}: {}", entry.index + 1, ctx.t.pick(&entry.message, &entry.message_ja)));
        }
        text
    });
    let page = SharePage {
        page: ctx.frame(ctx.t.get("share-title")),
        organizations,
        values,
        tlp,
        error,
        max: ctx.hub.config.limits.max_batch,
    };
    render(&ctx.t, status, &page)
}

/// The share form as posted: `recipients` repeats (one per RED recipient chosen).
fn share_fields(raw: &[(String, String)]) -> HashMap<&str, Vec<&str>> {
    let mut fields: HashMap<&str, Vec<&str>> = HashMap::new();
    for (k, v) in raw {
        fields.entry(k.as_str()).or_default().push(v.as_str());
    }
    fields
}

async fn share(req: HttpRequest, hub: web::Data<Arc<Hub>>, form: web::Form<Vec<(String, String)>>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Share).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let fields = share_fields(&form);
    let one = |name: &str| fields.get(name).and_then(|v| v.first()).copied().unwrap_or("");
    if let Err(answer) = ctx.check_csrf(one("csrf")) {
        return answer;
    }
    let values_text = one("values").to_string();
    let tlp_text = one("tlp").to_string();
    // The label is chosen explicitly: no default.
    let Ok(tlp) = tlp_text.parse::<Tlp>() else {
        let e = AppError::invalid("choose a TLP label", "TLPラベルを選んでください");
        return share_page(&ctx, values_text, tlp_text, Some(&e)).await;
    };
    let recipients: Vec<String> = fields.get("recipients").into_iter().flatten().map(|s| s.to_string()).collect();
    let description = one("description").trim().to_string();
    // One indicator per line (a file name may hold spaces).
    let values: Vec<String> =
        values_text.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
    let max = ctx.hub.config.limits.max_batch;
    if values.is_empty() || values.len() > max {
        let e = AppError::invalid(
            format!("paste 1 to {max} indicators, one per line"),
            format!("指標を1行に1件、1〜{max}件貼り付けてください"),
        );
        return share_page(&ctx, values_text, tlp_text, Some(&e)).await;
    }
    // A line may name its type (`filename:invoice.pdf`, `domain:example.jp`); else its
    // type is the first it is valid as other than a file name (an address before a
    // domain). A line valid only as a file name must say so: almost any text is one, and
    // a typo must not be shared as a file name.
    let mut raw = Vec::with_capacity(values.len());
    let mut bad = Vec::new();
    for (index, line) in values.iter().enumerate() {
        let named = line.split_once(':').and_then(|(t, v)| IndicatorType::parse(t.trim()).map(|t| (t, v.trim())));
        let typed = match named {
            Some((kind, value)) => Some((kind, value.to_string())),
            None => normalize_any(line)
                .into_iter()
                .find(|(kind, _)| *kind != IndicatorType::Filename)
                .map(|(kind, _)| (kind, line.clone())),
        };
        match typed {
            Some((kind, value)) => raw.push((kind, value, (!description.is_empty()).then(|| description.clone()))),
            None => bad.push(crate::error::EntryError {
                index,
                code: renkei_schema::errors::Code::InvalidInput,
                message: format!("{line:?} is not an address, domain, URL, e-mail address or hash (write filename:{line} to share a file name)"),
                message_ja: format!("「{line}」はアドレス・ドメイン・URL・メールアドレス・ハッシュとして読めません（ファイル名として共有するには filename:{line} と書いてください）"),
            }),
        }
    }
    if !bad.is_empty() {
        let e = AppError::invalid(
            "some lines are not indicators; nothing was shared",
            "指標として読めない行があります（何も共有されていません）",
        )
        .with_entries(bad);
        return share_page(&ctx, values_text, tlp_text, Some(&e)).await;
    }
    let sharing = Sharing {
        tlp,
        recipients: if tlp == Tlp::Red { recipients } else { Vec::new() },
        anonymous: one("anonymous") == "on",
        confidence: None,
        valid_until: None,
        labels: Vec::new(),
    };
    let typed: Vec<(IndicatorType, String, Option<String>)> = raw;
    // First the summary of who will read it; sharing takes the second, confirming post.
    match one("action") {
        "confirm" => {}
        "edit" => return share_page(&ctx, values_text, tlp_text, None).await,
        _ => {
            let build =
                move |_: &mut crate::store::DbConn, _: &crate::auth::Identity| sharing::normalize_indicators(typed);
            return match super::share_forms::review(&ctx, "/console/share", &form, sharing, build).await {
                Ok(answer) => answer,
                Err(e) => share_page(&ctx, values_text, tlp_text, Some(&e)).await,
            };
        }
    }
    let who = ctx.identity().clone();
    let published = ctx
        .hub
        .db(move |hub, c| {
            let bodies = sharing::normalize_indicators(typed)?;
            crate::actions::share(hub, c, &who, bodies, sharing, false)
        })
        .await;
    match published {
        Ok(rows) => {
            Metrics::add(&ctx.hub.metrics.objects_shared, rows.len() as u64);
            ctx.hub.note_writes(rows.len() as u64);
            redirect("/console/submissions?shared=1")
        }
        Err(e) => share_page(&ctx, values_text, tlp_text, Some(&e)).await,
    }
}

// ----- own submissions ----------------------------------------------------------------

#[derive(Template)]
#[template(path = "submissions.html")]
struct SubmissionsPage {
    page: Frame,
    shared: bool,
    items: Vec<(ItemLine, Option<String>)>,
}

#[derive(Deserialize)]
struct SubmissionsQuery {
    shared: Option<String>,
}

async fn submissions(req: HttpRequest, hub: web::Data<Arc<Hub>>, q: web::Query<SubmissionsQuery>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Share).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let who = ctx.identity().clone();
    let rows = match ctx.hub.db(move |_, c| sharing::submitted_by(c, &who.viewer(), &who.org_id, 200)).await {
        Ok(rows) => rows,
        Err(e) => return ctx.refused(&e),
    };
    let items = rows
        .iter()
        .map(|row| {
            let reason = stored::parts_of(row).ok().and_then(|(env, _)| env.status_reason);
            (line_of(&ctx, row), reason)
        })
        .collect();
    let page = SubmissionsPage { page: ctx.frame(ctx.t.get("submissions-title")), shared: q.shared.is_some(), items };
    render(&ctx.t, StatusCode::OK, &page)
}

// ----- exports ----------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "exports.html")]
struct ExportsPage {
    page: Frame,
    min_score: u8,
}

async fn exports(req: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Indicators).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let page = ExportsPage {
        page: ctx.frame(ctx.t.get("exports-title")),
        min_score: ctx.hub.config.indicators.active_min_score,
    };
    render(&ctx.t, StatusCode::OK, &page)
}

/// The exports of `/export/...`, under the console's session: the same endpoint, handed
/// the session's identity (it reads through the same policy for that caller).
async fn export_indicators(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    query: web::Query<crate::export::ExportQuery>,
) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Indicators).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    req.extensions_mut().insert(crate::http::gate::SignedIn(ctx.session.identity.clone()));
    crate::export::indicators(req, query, hub).await
}

async fn export_stix(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    query: web::Query<crate::stix_export::StixExportQuery>,
) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::SignedIn).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    req.extensions_mut().insert(crate::http::gate::SignedIn(ctx.session.identity.clone()));
    crate::stix_export::bundle(req, query, hub).await
}

async fn export_hash_list(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    file: web::Path<String>,
    query: web::Query<crate::export::ListQuery>,
) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Indicators).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    req.extensions_mut().insert(crate::http::gate::SignedIn(ctx.session.identity.clone()));
    crate::export::hash_list(req, file, query, hub).await
}
