//! Procurement's pages: supplier search (Japanese or English name, alias, 法人番号) and a
//! supplier's page with its rating explained: score, tier, coverage, flags, each
//! criterion's value with the handbook 6.4 text in the page's language, the assessments
//! it was computed from, offerings, and the rating's history as a chart.
//!
//! Ratings come from `services::ratings` for the viewer (what the viewer may read is
//! all a rating is computed from); nothing here filters by label.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use serde::Deserialize;
use std::sync::Arc;

use super::view::{line_of, ItemLine};
use super::{render, signed_in, Frame, Need};
use crate::error::AppError;
use crate::services::{ratings, suppliers};
use crate::state::Hub;
use renkei_schema::supply::scheme::HANDBOOK_SCHEME_ID;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/suppliers", web::get().to(search)).route("/suppliers/{id}", web::get().to(supplier));
}

struct SupplierLine {
    /// The id, percent-encoded for a query.
    id: String,
    href: String,
    name_ja: String,
    name_en: String,
    corporate_number: String,
    tier: String,
    flags: String,
}

#[derive(Template)]
#[template(path = "suppliers.html")]
struct SearchPage {
    page: Frame,
    query: String,
    /// The comparison of the first results (up to five).
    compare_href: Option<String>,
    results: Vec<SupplierLine>,
    searched: bool,
}

#[derive(Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

/// Results per search page.
const SEARCH_PAGE: usize = 50;

async fn search(req: HttpRequest, hub: web::Data<Arc<Hub>>, query: web::Query<SearchQuery>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Suppliers).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let q = query.q.trim().to_string();
    let who = ctx.identity().clone();
    let asked = (!q.is_empty()).then(|| q.clone());
    let loaded = ctx
        .hub
        .db(move |hub, c| {
            let rows = suppliers::search_rated(
                c,
                &hub.supplier_search,
                &who,
                &hub.config.ratings,
                asked.as_deref(),
                &suppliers::RatingFilter::default(),
                SEARCH_PAGE,
            )?;
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let summaries = ratings::current_summaries(c, &who.viewer(), HANDBOOK_SCHEME_ID, &ids)?;
            Ok((rows, summaries))
        })
        .await;
    let (rows, summaries) = match loaded {
        Ok(found) => found,
        Err(e) => return ctx.refused(&e),
    };
    let results: Vec<SupplierLine> = rows
        .into_iter()
        .map(|r| {
            let summary = summaries.get(&r.id);
            SupplierLine {
                id: super::percent_encode(&r.id),
                href: format!("/console/suppliers/{}", super::percent_encode(&r.id)),
                name_en: r.name_en.clone().unwrap_or_else(|| r.legal_name.clone()),
                name_ja: r.name_ja,
                corporate_number: r.corporate_number.unwrap_or_default(),
                tier: summary.and_then(|s| s.tier.clone()).unwrap_or_else(|| "—".into()),
                flags: summary
                    .map(|s| {
                        s.flags
                            .split(',')
                            .filter(|f| !f.is_empty())
                            .map(|f| ctx.t.label("flag", f))
                            .collect::<Vec<_>>()
                            .join(", ")
                    })
                    .unwrap_or_default(),
            }
        })
        .collect();
    let ids: Vec<String> = results.iter().take(5).map(|r: &SupplierLine| format!("id={}", r.id)).collect();
    let compare_href = (ids.len() >= 2).then(|| format!("/console/suppliers/compare?{}", ids.join("&")));
    let page =
        SearchPage { page: ctx.frame(ctx.t.get("suppliers-title")), query: q, compare_href, results, searched: true };
    render(&ctx.t, StatusCode::OK, &page)
}

struct CriterionLine {
    id: String,
    text: String,
    value: String,
    assurance: String,
    contested: bool,
}

#[derive(Template)]
#[template(path = "supplier.html")]
struct SupplierPage {
    page: Frame,
    /// The supplier's id, for the links to compare, its chain and the assessment form.
    id: String,
    may_assess: bool,
    name_other: String,
    corporate_number: String,
    score: String,
    tier: String,
    coverage: String,
    freshness: String,
    assessors: usize,
    flags: Vec<String>,
    criteria: Vec<CriterionLine>,
    /// Each assessment the rating was computed from, with who assessed (kind), how
    /// strongly backed (assurance) and when.
    assessments: Vec<(ItemLine, String)>,
    offerings: Vec<(String, String)>,
    history: Vec<(String, String, String)>,
    chart: String,
}

async fn supplier(req: HttpRequest, hub: web::Data<Arc<Hub>>, id: web::Path<String>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Suppliers).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let who = ctx.identity().clone();
    let id = id.into_inner();
    let loaded = ctx
        .hub
        .db(move |hub, c| {
            let Some(row) = suppliers::get(c, &who, &id)? else { return Ok(None) };
            let scheme = suppliers::known_scheme(c, HANDBOOK_SCHEME_ID)?;
            let stored_current = hub.ratings_follow_rules.load(std::sync::atomic::Ordering::Acquire);
            let viewer = who.viewer();
            let rating = ratings::current(c, &hub.config.ratings, stored_current, &viewer, &row.id, None, &scheme)?;
            let assessments = suppliers::visible_assessments(c, &viewer, &row.id)?;
            let offerings = suppliers::offerings_of(c, &who, &row.id)?;
            let history = ratings::history(c, &viewer, &row.id, HANDBOOK_SCHEME_ID, 50)?;
            Ok(Some((row, scheme, rating, assessments, offerings, history)))
        })
        .await;
    let (row, scheme, rating, assessments, offerings, history) = match loaded {
        Ok(Some(found)) => found,
        Ok(None) => return ctx.refused(&AppError::not_found("supplier")),
        Err(e) => return ctx.refused(&e),
    };
    let t = ctx.t;
    let (title, name_other) = match t.lang {
        super::i18n::Lang::Ja => (row.name_ja.clone(), row.name_en.clone().unwrap_or_else(|| row.legal_name.clone())),
        super::i18n::Lang::En => (row.name_en.clone().unwrap_or_else(|| row.legal_name.clone()), row.name_ja.clone()),
    };
    let criteria = rating
        .criteria
        .iter()
        .map(|c| {
            let criterion = scheme.criteria.iter().find(|k| k.id == c.criterion);
            let text = criterion
                .map(|k| t.pick(k.text_en.as_deref().unwrap_or(""), k.text_ja.as_deref().unwrap_or("")).to_string())
                .unwrap_or_default();
            CriterionLine {
                id: c.criterion.clone(),
                text,
                value: format!("{:.0}", c.points * 100.0),
                assurance: t.label("assurance", &format!("{:?}", c.assurance).to_lowercase()),
                contested: c.contested,
            }
        })
        .collect();
    let mut oldest_first = history.clone();
    oldest_first.reverse();
    let points: Vec<(String, Option<f64>)> = oldest_first
        .iter()
        .map(|h| (h.created.chars().take(10).collect(), h.current.score.map(|s| s as f64)))
        .collect();
    let page = SupplierPage {
        page: ctx.frame(title),
        id: super::percent_encode(&row.id),
        may_assess: crate::services::suppliers::may_submit_assessment(ctx.identity()),
        name_other,
        corporate_number: row.corporate_number.clone().unwrap_or_default(),
        score: rating.score.map_or_else(|| "—".into(), |s| format!("{s:.0}")),
        tier: rating.tier.clone().unwrap_or_else(|| "—".into()),
        coverage: format!("{:.0}%", rating.coverage * 100.0),
        freshness: rating.freshness_days.map_or_else(|| "—".into(), |d| t.count("days", d)),
        assessors: rating.assessor_count,
        flags: rating.flags.iter().map(|f| t.label("flag", f.as_str())).collect(),
        criteria,
        assessments: assessments
            .iter()
            .map(|r| {
                let about = match crate::services::stored::parts_of(r) {
                    Ok((_, renkei_schema::model::Body::Assessment(a))) => {
                        let kind = serde_json::to_value(a.assessor)
                            .ok()
                            .and_then(|v| v.as_str().map(str::to_string))
                            .unwrap_or_default();
                        let assurance = format!("{:?}", a.assurance).to_lowercase();
                        format!(
                            "{} · {} · {}",
                            t.label("assessor", &kind),
                            t.label("assurance", &assurance),
                            a.observed.format("%Y-%m-%d")
                        )
                    }
                    _ => String::new(),
                };
                (line_of(&ctx, r), about)
            })
            .collect(),
        offerings: offerings.into_iter().map(|o| (o.name.clone(), o.kind.clone())).collect(),
        history: history
            .iter()
            .map(|h| {
                let reasons =
                    h.reasons.iter().map(|r| t.pick(&r.en, &r.ja).to_string()).collect::<Vec<_>>().join(" / ");
                (h.created.clone(), h.current.score.map_or_else(|| "—".into(), |s| s.to_string()), reasons)
            })
            .collect(),
        chart: if points.len() >= 2 {
            super::svg::score_history(&t.get("supplier-history-chart"), &points)
        } else {
            String::new()
        },
    };
    render(&ctx.t, StatusCode::OK, &page)
}
