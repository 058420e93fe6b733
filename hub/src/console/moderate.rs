//! Coordinators' pages: the dashboard (queue length, what was shared today by kind and
//! label, peer links' lag and refusals), the moderation queue, and a queued item with
//! its full content, why it was queued, and the decision: approve, approve with changes
//! (strip a field, redact a passage, tighten the label; previewed before it is saved)
//! or reject with a reason. RED items the coordinator is not named on are listed by
//! existence only.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::sync::Arc;

use super::view::{line_of, title_of, ItemLine};
use super::{redirect, render, signed_in, tlp_badge, Ctx, Frame, Need, TlpBadge};
use crate::error::AppError;
use crate::services::moderation::{self, Decision, Patch};
use crate::services::{directory, sessions, sharing, stored};
use crate::state::Hub;
use renkei_schema::model::sanitize;
use renkei_schema::tlp::Tlp;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/dashboard", web::get().to(dashboard))
        .route("/moderation", web::get().to(queue))
        .route("/moderation/{id}", web::get().to(queued_item))
        .route("/moderation/{id}", web::post().to(decide));
}

// ----- the dashboard --------------------------------------------------------------------

struct PeerLine {
    name: String,
    lag: i64,
    refused: i64,
    last_error: Option<String>,
    last_success: String,
}

#[derive(Template)]
#[template(path = "dashboard.html")]
struct DashboardPage {
    page: Frame,
    queue_length: String,
    restricted: usize,
    /// (kind, label, count) of items first shared today that the coordinator reads.
    shared_today: Vec<(String, TlpBadge, i64)>,
    shared_today_capped: bool,
    peers: Vec<PeerLine>,
    live_sessions: i64,
    /// (when, supplier link, supplier name, score before → after, why) of recent
    /// rating changes.
    rating_changes: Vec<(String, String, String, String, String)>,
}

/// The queue is counted up to this many (shown as "1000+").
const QUEUE_COUNT_CAP: usize = 1000;
/// Today's items are counted up to this many.
const TODAY_CAP: usize = 5000;

async fn dashboard(req: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Coordinator).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let who = ctx.identity().clone();
    let loaded = ctx
        .hub
        .db(move |_, c| {
            let (queued, more) = moderation::queue(c, &who, QUEUE_COUNT_CAP, None)?;
            let (restricted, _) = sharing::restricted(c, &who.viewer(), 100, 0)?;
            let since = chrono::Utc::now().date_naive().and_hms_opt(0, 0, 0).map(|t| t.and_utc()).unwrap_or_default();
            let (today, capped) = sharing::first_shared_counts(c, &who.viewer(), since, TODAY_CAP)?;
            let peers = crate::federation::links::list_peers(c)?;
            let live = sessions::count_live(c)?;
            let changes = crate::services::ratings::recent(
                c,
                &who.viewer(),
                renkei_schema::supply::scheme::HANDBOOK_SCHEME_ID,
                10,
                1000,
            )?;
            let mut names = Vec::with_capacity(changes.len());
            for change in &changes {
                let supplier_id = change.supplier_ref.clone();
                let name = crate::services::suppliers::get(c, &who, &supplier_id)?.map(|s| (s.name_ja, s.name_en));
                names.push(name);
            }
            Ok((queued.len(), more, restricted.len(), today, capped, peers, live, changes, names))
        })
        .await;
    let (queued, more, restricted, today, capped, peers, live_sessions, changes, names) = match loaded {
        Ok(found) => found,
        Err(e) => return ctx.refused(&e),
    };
    let counts: BTreeMap<(String, String), i64> = today;
    let page = DashboardPage {
        page: ctx.frame(ctx.t.get("dashboard-title")),
        queue_length: if more { format!("{queued}+") } else { queued.to_string() },
        restricted,
        shared_today: counts
            .into_iter()
            .map(|((kind, tlp), n)| (ctx.t.get(&format!("kind-{kind}")), tlp_badge(tlp.parse().unwrap_or(Tlp::Red)), n))
            .collect(),
        shared_today_capped: capped,
        peers: peers
            .into_iter()
            .map(|(peer, status)| PeerLine {
                lag: (status.peer_head - status.cursor).max(0),
                refused: status.refused_counts().values().sum(),
                last_error: status.last_error.clone(),
                last_success: status.last_success_at.clone().unwrap_or_else(|| "—".into()),
                name: peer.name,
            })
            .collect(),
        live_sessions,
        rating_changes: changes
            .iter()
            .zip(names)
            .map(|(change, name)| {
                let score = |s: Option<i64>| s.map_or_else(|| "—".to_string(), |s| s.to_string());
                let name = name.map_or_else(
                    || change.supplier_ref.clone(),
                    |(ja, en)| ctx.t.pick(en.as_deref().unwrap_or(""), &ja).to_string(),
                );
                let why =
                    change.reasons.iter().map(|r| ctx.t.pick(&r.en, &r.ja).to_string()).collect::<Vec<_>>().join(" / ");
                (
                    change.created.chars().take(16).collect(),
                    format!("/console/suppliers/{}", super::percent_encode(&change.supplier_ref)),
                    name,
                    format!("{} → {}", score(change.previous.score), score(change.current.score)),
                    why,
                )
            })
            .collect(),
    };
    render(&ctx.t, StatusCode::OK, &page)
}

// ----- the queue ---------------------------------------------------------------------------

struct QueueLine {
    line: ItemLine,
    href: String,
    submitter: String,
    queued_because: String,
}

#[derive(Template)]
#[template(path = "queue.html")]
struct QueuePage {
    page: Frame,
    entries: Vec<QueueLine>,
    more: bool,
    restricted: Vec<(String, TlpBadge, String)>,
    decided: Option<String>,
}

#[derive(Deserialize)]
struct QueueQuery {
    decided: Option<String>,
}

async fn queue(req: HttpRequest, hub: web::Data<Arc<Hub>>, q: web::Query<QueueQuery>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Coordinator).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let who = ctx.identity().clone();
    let loaded = ctx
        .hub
        .db(move |_, c| {
            let (entries, more) = moderation::queue(c, &who, 100, None)?;
            let (restricted, _) = sharing::restricted(c, &who.viewer(), 100, 0)?;
            let names = directory::org_names(c)?;
            Ok((entries, more, restricted, names))
        })
        .await;
    let (entries, more, restricted, names) = match loaded {
        Ok(found) => found,
        Err(e) => return ctx.refused(&e),
    };
    let name = |org: &str| names.get(org).cloned().unwrap_or_else(|| org.to_string());
    let entries = entries
        .iter()
        .map(|e| QueueLine {
            line: line_of(&ctx, &e.object),
            href: format!("/console/moderation/{}", super::percent_encode(&e.object.id)),
            submitter: name(&e.object.submitter_org),
            queued_because: e.queued_because.clone(),
        })
        .collect();
    let restricted = restricted
        .iter()
        .map(|r| (r.id.clone(), tlp_badge(Tlp::Red), ctx.t.get(&format!("kind-{}", r.kind))))
        .collect();
    let decided =
        q.decided.as_deref().map(|d| ctx.t.get(if d == "rejected" { "decided-rejected" } else { "decided-approved" }));
    let page = QueuePage { page: ctx.frame(ctx.t.get("moderation-title")), entries, more, restricted, decided };
    render(&ctx.t, StatusCode::OK, &page)
}

// ----- one queued item -------------------------------------------------------------------

#[derive(Template)]
#[template(path = "queued_item.html")]
struct QueuedItemPage {
    page: Frame,
    line: ItemLine,
    action: String,
    revision: i64,
    submitter: String,
    queued_because: String,
    fields: Vec<(String, String)>,
    strippable: Vec<(String, String, bool)>,
    tighter: Vec<(String, bool)>,
    redact: String,
    reason: String,
    preview: Option<Preview>,
    error: Option<String>,
}

struct Preview {
    tlp: TlpBadge,
    fields: Vec<(String, String)>,
    changes: Vec<String>,
}

async fn queued_item(req: HttpRequest, hub: web::Data<Arc<Hub>>, id: web::Path<String>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Coordinator).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    queued_page(&ctx, &id, &DecisionForm::default(), None, None).await
}

/// The page of a queued item; with the form as it was posted (a preview, or an error).
async fn queued_page(
    ctx: &Ctx,
    id: &str,
    form: &DecisionForm,
    preview: Option<Preview>,
    error: Option<&AppError>,
) -> HttpResponse {
    let who = ctx.identity().clone();
    let target = id.to_string();
    let loaded = ctx
        .hub
        .db(move |_, c| {
            // The queue entry (with why it was queued) if the item is queued and the
            // coordinator reads it; the service asks the policy.
            let entry = moderation::queue_entry(c, &who, &target)?;
            let names = directory::org_names(c)?;
            Ok((entry, names))
        })
        .await;
    let (entry, names) = match loaded {
        Ok(found) => found,
        Err(e) => return ctx.refused(&e),
    };
    let Some(entry) = entry else {
        return ctx.refused(&AppError::not_found("queued item"));
    };
    let (env, body) = match stored::parts_of(&entry.object) {
        Ok(parts) => parts,
        Err(e) => return ctx.refused(&e),
    };
    let strippable = sanitize::strippable_fields(&body)
        .iter()
        .map(|f| (f.to_string(), ctx.t.label("field", f), form.strip.iter().any(|s| s == f)))
        .collect();
    let tighter = Tlp::ALL
        .iter()
        .filter(|t| {
            renkei_schema::tlp::check_moderated_label(env.tlp, **t).is_ok() && **t != env.tlp && **t != Tlp::Red
        })
        .map(|t| (t.as_str().to_string(), form.tlp == t.as_str()))
        .collect();
    let page = QueuedItemPage {
        page: ctx.frame(title_of(&body)),
        line: line_of(ctx, &entry.object),
        action: format!("/console/moderation/{}", super::percent_encode(id)),
        revision: entry.object.revision,
        submitter: names
            .get(&entry.object.submitter_org)
            .cloned()
            .unwrap_or_else(|| entry.object.submitter_org.clone()),
        queued_because: entry.queued_because.clone(),
        fields: super::view::fields_for(ctx, &body),
        strippable,
        tighter,
        redact: form.redact.clone(),
        reason: form.reason.clone(),
        preview,
        error: error.map(|e| ctx.t.pick(&e.message, &e.message_ja).to_string()),
    };
    let status = error.map_or(StatusCode::OK, super::status_of);
    render(&ctx.t, status, &page)
}

/// The decision form: `strip` repeats.
#[derive(Default)]
struct DecisionForm {
    csrf: String,
    action: String,
    revision: Option<i64>,
    tlp: String,
    strip: Vec<String>,
    redact: String,
    reason: String,
}

impl DecisionForm {
    fn parse(raw: &[(String, String)]) -> DecisionForm {
        let mut form = DecisionForm::default();
        for (k, v) in raw {
            match k.as_str() {
                "csrf" => form.csrf = v.clone(),
                "action" => form.action = v.clone(),
                "revision" => form.revision = v.parse().ok(),
                "tlp" => form.tlp = v.clone(),
                "strip" => form.strip.push(v.clone()),
                "redact" => form.redact = v.clone(),
                "reason" => form.reason = v.clone(),
                _ => {}
            }
        }
        form
    }

    fn patch(&self) -> Result<Option<Patch>, AppError> {
        let tlp = match self.tlp.trim() {
            "" => None,
            t => Some(t.parse::<Tlp>().map_err(|_| AppError::invalid("not a TLP label", "TLPラベルではありません"))?),
        };
        let redact: Vec<String> =
            self.redact.lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect();
        if tlp.is_none() && self.strip.is_empty() && redact.is_empty() {
            return Ok(None);
        }
        Ok(Some(Patch { tlp, recipients: Vec::new(), strip: self.strip.clone(), redact, remove_labels: Vec::new() }))
    }
}

async fn decide(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    id: web::Path<String>,
    raw: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Coordinator).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let form = DecisionForm::parse(&raw);
    if let Err(answer) = ctx.check_csrf(&form.csrf) {
        return answer;
    }
    let patch = match form.patch() {
        Ok(p) => p,
        Err(e) => return queued_page(&ctx, &id, &form, None, Some(&e)).await,
    };
    let decision = match form.action.as_str() {
        "preview" => {
            let Some(patch) = patch else {
                let e = AppError::invalid("choose a change to preview", "プレビューする修正を指定してください");
                return queued_page(&ctx, &id, &form, None, Some(&e)).await;
            };
            let who = ctx.identity().clone();
            let target = id.to_string();
            return match ctx.hub.db(move |_, c| moderation::preview(c, &who, &target, &patch)).await {
                Ok((env, body, changes)) => {
                    let changes = changes.iter().map(|c| change_text(&ctx, c)).collect();
                    let preview =
                        Preview { tlp: tlp_badge(env.tlp), fields: super::view::fields_for(&ctx, &body), changes };
                    queued_page(&ctx, &id, &form, Some(preview), None).await
                }
                Err(e) => queued_page(&ctx, &id, &form, None, Some(&e)).await,
            };
        }
        "approve" => Decision::Approve(patch),
        "reject" => Decision::Reject(form.reason.clone()),
        _ => {
            let e = AppError::invalid("unknown decision", "判断の種類が不正です");
            return queued_page(&ctx, &id, &form, None, Some(&e)).await;
        }
    };
    let rejected = matches!(decision, Decision::Reject(_));
    let who = ctx.identity().clone();
    let target = id.to_string();
    let reviewed = form.revision;
    match ctx.hub.db(move |hub, c| crate::actions::decide(hub, c, &who, &target, decision, reviewed)).await {
        Ok(_) => redirect(if rejected {
            "/console/moderation?decided=rejected"
        } else {
            "/console/moderation?decided=approved"
        }),
        Err(e) => queued_page(&ctx, &id, &form, None, Some(&e)).await,
    }
}

/// A change an approval makes, as `moderation::apply_patch` lists it, in the page's
/// language.
fn change_text(ctx: &Ctx, change: &str) -> String {
    let t = &ctx.t;
    if let Some((from, to)) = change.strip_prefix("label ").and_then(|rest| rest.split_once(" -> ")) {
        return t.with("change-label", &[("from", from.to_string()), ("to", to.to_string())]);
    }
    if let Some(field) = change.strip_prefix("stripped ") {
        return t.with("change-stripped", &[("field", t.label("field", field))]);
    }
    if let Some(n) =
        change.strip_prefix("redacted ").and_then(|rest| rest.split(' ').next()).and_then(|n| n.parse::<i64>().ok())
    {
        return t.count("change-redacted", n);
    }
    if let Some(label) = change.strip_prefix("removed label ") {
        return t.with("change-removed-label", &[("label", label.to_string())]);
    }
    change.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_decision_form_reads_repeated_fields_and_builds_the_patch() {
        let raw: Vec<(String, String)> = [
            ("csrf", "x"),
            ("action", "approve"),
            ("strip", "description"),
            ("strip", "impact_description"),
            ("redact", "Kanto Substation 3\n\n  secret host  \n"),
            ("tlp", ""),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let form = DecisionForm::parse(&raw);
        let patch = form.patch().expect("patch").expect("some patch");
        assert_eq!(patch.strip, vec!["description", "impact_description"]);
        assert_eq!(patch.redact, vec!["Kanto Substation 3", "secret host"]);
        assert_eq!(patch.tlp, None);
        let empty = DecisionForm::parse(&[("action".into(), "approve".into())]);
        assert!(empty.patch().expect("no patch").is_none());
        let bad = DecisionForm::parse(&[("tlp".into(), "TLP:PURPLE".into())]);
        assert!(bad.patch().is_err());
    }
}
