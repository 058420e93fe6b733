//! Procurement's working pages (handbook 6.4, supply-chain risk): suppliers compared
//! side by side (rating, flags and every criterion), a supplier's supply chain (its
//! offerings and the subcontractors they rely on, drawn as a graph and listed), and the
//! assessment form for the handbook 6.4 scheme.
//!
//! Everything is read through the supplier and rating services for the viewer: a
//! supplier the viewer may not see answers like a missing one, a subcontractor it may
//! not see is drawn without a name, and ratings are computed only from the assessments
//! the viewer may read. An assessment is shared through the same path as GraphQL's
//! `submitAssessment` (`suppliers::assessment_body`, then `actions::share`).

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use super::i18n::Tr;
use super::{percent_encode, redirect, render, signed_in, Ctx, Frame, Need};
use crate::error::{AppError, AppResult};
use crate::services::stored::Sharing;
use crate::services::{directory, ratings, suppliers};
use crate::state::{Hub, Metrics};
use crate::store::models::SupplierRow;
use crate::store::DbConn;
use renkei_schema::model::{AssessorKind, Evidence};
use renkei_schema::supply::rating::{Assurance, Rating};
use renkei_schema::supply::scheme::{Scheme, HANDBOOK_SCHEME_ID, MAX_ANSWER};
use renkei_schema::tlp::Tlp;

#[path = "svg_graph.rs"]
mod svg_graph;

use svg_graph::{ChainNode, NodeKind};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/suppliers/compare", web::get().to(compare))
        .route("/suppliers/{id}/chain", web::get().to(chain))
        .route("/suppliers/{id}/assess", web::get().to(assess_form))
        .route("/suppliers/{id}/assess", web::post().to(assess));
}

/// A supplier's page in the console.
fn supplier_href(id: &str) -> String {
    format!("/console/suppliers/{}", percent_encode(id))
}

/// A supplier's name in the page's language, and in the other.
fn names(t: &Tr, row: &SupplierRow) -> (String, String) {
    let en = row.name_en.clone().unwrap_or_else(|| row.legal_name.clone());
    match t.lang {
        super::i18n::Lang::Ja => (row.name_ja.clone(), en),
        super::i18n::Lang::En => (en, row.name_ja.clone()),
    }
}

/// A criterion's text in the page's language (reference-only schemes have none).
fn criterion_text(t: &Tr, scheme: &Scheme, id: &str) -> String {
    scheme
        .criterion(id)
        .map(|k| t.pick(k.text_en.as_deref().unwrap_or(""), k.text_ja.as_deref().unwrap_or("")).to_string())
        .unwrap_or_default()
}

fn assurance_label(t: &Tr, a: Assurance) -> String {
    t.label("assurance", &format!("{a:?}").to_lowercase())
}

/// The text of a refusal for a form: the message in the page's language, then each
/// entry's.
fn error_text(t: &Tr, e: &AppError) -> String {
    let mut text = t.pick(&e.message, &e.message_ja).to_string();
    for entry in &e.entries {
        text.push_str(&format!("\n#{}: {}", entry.index + 1, t.pick(&entry.message, &entry.message_ja)));
    }
    text
}

/// The posted (or queried) fields by name, repeated ones in order.
fn fields_of(raw: &[(String, String)]) -> HashMap<&str, Vec<&str>> {
    let mut fields: HashMap<&str, Vec<&str>> = HashMap::new();
    for (k, v) in raw {
        fields.entry(k.as_str()).or_default().push(v.as_str());
    }
    fields
}

// ----- comparison -----------------------------------------------------------------------

/// Suppliers compared at once.
const COMPARE_MAX: usize = 5;
/// Search results offered for adding.
const COMPARE_SEARCH: usize = 20;

/// One criterion's value for one supplier.
struct Cell {
    value: String,
    assurance: String,
    contested: bool,
}

/// One compared supplier.
struct Column {
    href: String,
    name_ja: String,
    name_en: String,
    corporate_number: String,
    score: String,
    tier: String,
    coverage: String,
    freshness: String,
    assessors: usize,
    flags: String,
    remove_href: String,
    chain_href: String,
    assess_href: String,
}

struct CriterionRow {
    id: String,
    text: String,
    cells: Vec<Cell>,
}

struct Candidate {
    name_ja: String,
    name_en: String,
    corporate_number: String,
    add_href: String,
}

#[derive(Template)]
#[template(path = "procure_compare.html")]
struct ComparePage {
    page: Frame,
    columns: Vec<Column>,
    criteria: Vec<CriterionRow>,
    ids: Vec<String>,
    full: bool,
    query: String,
    searched: bool,
    candidates: Vec<Candidate>,
}

/// The comparison page of these suppliers.
fn compare_href(ids: &[String]) -> String {
    let query: Vec<String> = ids.iter().map(|i| format!("id={}", percent_encode(i))).collect();
    if query.is_empty() {
        "/console/suppliers/compare".into()
    } else {
        format!("/console/suppliers/compare?{}", query.join("&"))
    }
}

type Compared = (Vec<(SupplierRow, Rating)>, Scheme, Vec<SupplierRow>);

async fn compare(req: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let mut ctx = match signed_in(&hub, &req, Need::Suppliers).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    // `id` repeats; a query that cannot be read gets the console's page, not a bare 400.
    let Ok(query) = web::Query::<Vec<(String, String)>>::from_query(req.query_string()) else {
        return ctx.refused(&AppError::invalid("the address could not be read", "アドレスを読み取れません"));
    };
    // The language switch comes back to the same comparison.
    let here = format!("{}?{}", req.path(), req.query_string());
    if !req.query_string().is_empty() && super::is_console_path(&here) {
        ctx.path = here;
    }
    let fields = fields_of(&query);
    let mut ids: Vec<String> = Vec::new();
    for id in fields.get("id").into_iter().flatten().map(|i| i.trim()).filter(|i| !i.is_empty()) {
        if !ids.iter().any(|x| x == id) {
            ids.push(id.to_string());
        }
    }
    if ids.len() > COMPARE_MAX {
        return ctx.refused(&AppError::invalid(
            format!("compare at most {COMPARE_MAX} suppliers at once"),
            format!("一度に比較できるサプライヤーは{COMPARE_MAX}社までです"),
        ));
    }
    let q = fields.get("q").and_then(|v| v.first()).map(|q| q.trim().to_string()).unwrap_or_default();
    let who = ctx.identity().clone();
    let wanted = ids.clone();
    let asked = (!q.is_empty() && ids.len() < COMPARE_MAX).then(|| q.clone());
    let loaded: AppResult<Option<Compared>> = ctx
        .hub
        .db(move |hub, c| {
            let scheme = suppliers::known_scheme(c, HANDBOOK_SCHEME_ID)?;
            let stored_current = hub.ratings_follow_rules.load(std::sync::atomic::Ordering::Acquire);
            let viewer = who.viewer();
            let mut rated = Vec::with_capacity(wanted.len());
            for id in &wanted {
                // One the viewer may not see answers exactly like one that does not exist.
                let Some(row) = suppliers::get(c, &who, id)? else { return Ok(None) };
                let rating = ratings::current(c, &hub.config.ratings, stored_current, &viewer, &row.id, None, &scheme)?;
                rated.push((row, rating));
            }
            let found = match asked {
                Some(q) => suppliers::search_rated(
                    c,
                    &hub.supplier_search,
                    &who,
                    &hub.config.ratings,
                    Some(&q),
                    &suppliers::RatingFilter::default(),
                    COMPARE_SEARCH,
                )?,
                None => Vec::new(),
            };
            Ok(Some((rated, scheme, found)))
        })
        .await;
    let (rated, scheme, found) = match loaded {
        Ok(Some(found)) => found,
        Ok(None) => return ctx.refused(&AppError::not_found("supplier")),
        Err(e) => return ctx.refused(&e),
    };
    let t = ctx.t;
    let columns = rated
        .iter()
        .map(|(row, rating)| {
            let others: Vec<String> = ids.iter().filter(|i| **i != row.id).cloned().collect();
            Column {
                href: supplier_href(&row.id),
                name_ja: row.name_ja.clone(),
                name_en: row.name_en.clone().unwrap_or_else(|| row.legal_name.clone()),
                corporate_number: row.corporate_number.clone().unwrap_or_default(),
                score: rating.score.map_or_else(|| "—".into(), |s| format!("{s:.0}")),
                tier: rating.tier.clone().unwrap_or_else(|| "—".into()),
                coverage: format!("{:.0}%", rating.coverage * 100.0),
                freshness: rating.freshness_days.map_or_else(|| "—".into(), |d| t.count("days", d)),
                assessors: rating.assessor_count,
                flags: if rating.flags.is_empty() {
                    t.get("rating-no-flags")
                } else {
                    rating.flags.iter().map(|f| t.label("flag", f.as_str())).collect::<Vec<_>>().join(", ")
                },
                remove_href: compare_href(&others),
                chain_href: format!("{}/chain", supplier_href(&row.id)),
                assess_href: format!("{}/assess", supplier_href(&row.id)),
            }
        })
        .collect();
    let criteria = scheme
        .criteria
        .iter()
        .map(|k| CriterionRow {
            id: k.id.clone(),
            text: criterion_text(&t, &scheme, &k.id),
            cells: rated
                .iter()
                .map(|(_, rating)| match rating.criteria.iter().find(|c| c.criterion == k.id) {
                    Some(c) => Cell {
                        value: format!("{:.0}", c.points * 100.0),
                        assurance: assurance_label(&t, c.assurance),
                        contested: c.contested,
                    },
                    None => Cell { value: t.get("procure-not-assessed"), assurance: String::new(), contested: false },
                })
                .collect(),
        })
        .collect();
    let candidates = found
        .into_iter()
        .filter(|r| !ids.contains(&r.id))
        .map(|r| {
            let mut with = ids.clone();
            with.push(r.id.clone());
            Candidate {
                name_en: r.name_en.clone().unwrap_or_else(|| r.legal_name.clone()),
                name_ja: r.name_ja,
                corporate_number: r.corporate_number.unwrap_or_default(),
                add_href: compare_href(&with),
            }
        })
        .collect();
    let page = ComparePage {
        page: ctx.frame(t.get("procure-compare-title")),
        columns,
        criteria,
        full: ids.len() >= COMPARE_MAX,
        ids,
        searched: !q.is_empty(),
        query: q,
        candidates,
    };
    render(&t, StatusCode::OK, &page)
}

// ----- the supply chain -------------------------------------------------------------------

/// Subcontracting levels followed below the supplier.
const CHAIN_DEPTH: usize = 4;
/// Offerings and subcontractors drawn at most.
const CHAIN_NODES: usize = 150;

/// Why a supplier of the chain is not expanded where it appears.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Stop {
    /// It is on the path to itself: the chain loops.
    Cycle,
    /// It was expanded elsewhere on the page.
    Shown,
    /// The chain goes deeper than the page follows.
    Deeper,
}

struct SupplierNode {
    row: SupplierRow,
    stop: Option<Stop>,
    offerings: Vec<OfferingNode>,
}

struct OfferingNode {
    name: String,
    kind: String,
    proposal: bool,
    subcontractors: Vec<Option<SupplierNode>>,
}

/// Follows a supplier's chain as the actor may see it: bounded in depth and size,
/// each supplier expanded once, loops cut. A subcontractor the actor may not see is
/// `None` (nothing about it is read).
struct ChainWalk<'a> {
    who: &'a crate::auth::Identity,
    path: Vec<String>,
    expanded: HashSet<String>,
    budget: usize,
    truncated: bool,
}

impl ChainWalk<'_> {
    fn expand(&mut self, c: &mut DbConn, row: SupplierRow, depth: usize) -> AppResult<SupplierNode> {
        let stop = if self.path.contains(&row.id) {
            Some(Stop::Cycle)
        } else if self.expanded.contains(&row.id) {
            Some(Stop::Shown)
        } else if depth > CHAIN_DEPTH {
            Some(Stop::Deeper)
        } else {
            None
        };
        if stop.is_some() {
            return Ok(SupplierNode { row, stop, offerings: Vec::new() });
        }
        self.expanded.insert(row.id.clone());
        self.path.push(row.id.clone());
        let mut offerings = Vec::new();
        for offering in suppliers::offerings_of(c, self.who, &row.id)? {
            if self.budget == 0 {
                self.truncated = true;
                break;
            }
            self.budget -= 1;
            let mut subcontractors = Vec::new();
            for id in suppliers::subcontractors_of(&offering) {
                if self.budget == 0 {
                    self.truncated = true;
                    break;
                }
                self.budget -= 1;
                match suppliers::get(c, self.who, &id)? {
                    Some(sub) => subcontractors.push(Some(self.expand(c, sub, depth + 1)?)),
                    None => subcontractors.push(None),
                }
            }
            offerings.push(OfferingNode {
                name: offering.name,
                kind: offering.kind,
                proposal: offering.status != suppliers::ACTIVE,
                subcontractors,
            });
        }
        self.path.pop();
        Ok(SupplierNode { row, stop: None, offerings })
    }
}

/// The chain as the page draws and lists it, in the page's language.
fn chain_node(t: &Tr, node: &SupplierNode) -> ChainNode {
    let (name, other) = names(t, &node.row);
    let note = match node.stop {
        Some(Stop::Cycle) => t.get("procure-chain-cycle"),
        Some(Stop::Shown) => t.get("procure-chain-shown"),
        Some(Stop::Deeper) => t.get("procure-chain-deeper"),
        None if name == other => String::new(),
        None => other,
    };
    let href = match node.stop {
        Some(Stop::Deeper) => format!("{}/chain", supplier_href(&node.row.id)),
        _ => supplier_href(&node.row.id),
    };
    ChainNode {
        kind: if node.stop.is_some() { NodeKind::Repeat } else { NodeKind::Supplier },
        label: name,
        note,
        href: Some(href),
        children: node
            .offerings
            .iter()
            .map(|o| {
                let mut note = t.label("procure-kind", &o.kind);
                if o.proposal {
                    note = format!("{note}, {}", t.get("procure-proposed"));
                }
                ChainNode {
                    kind: NodeKind::Offering,
                    label: o.name.clone(),
                    note,
                    href: None,
                    children: o
                        .subcontractors
                        .iter()
                        .map(|s| match s {
                            Some(sub) => chain_node(t, sub),
                            None => ChainNode {
                                kind: NodeKind::Hidden,
                                label: t.get("procure-chain-hidden"),
                                note: String::new(),
                                href: None,
                                children: Vec::new(),
                            },
                        })
                        .collect(),
                }
            })
            .collect(),
    }
}

/// One step of the nested list: askama draws `<ul>`, `<li>` and their ends from these.
enum ListStep {
    Open,
    Item { text: String, note: String, href: Option<String>, hidden: bool },
    EndItem,
    Close,
}

fn list_steps(node: &ChainNode, out: &mut Vec<ListStep>) {
    out.push(ListStep::Item {
        text: node.label.clone(),
        note: node.note.clone(),
        href: node.href.clone(),
        hidden: node.kind == NodeKind::Hidden,
    });
    if !node.children.is_empty() {
        out.push(ListStep::Open);
        for child in &node.children {
            list_steps(child, out);
        }
        out.push(ListStep::Close);
    }
    out.push(ListStep::EndItem);
}

#[derive(Template)]
#[template(path = "procure_chain.html")]
struct ChainPage {
    page: Frame,
    supplier_href: String,
    compare_href: String,
    graph: String,
    steps: Vec<ListStep>,
    offerings: usize,
    truncated: bool,
    depth: usize,
}

async fn chain(req: HttpRequest, hub: web::Data<Arc<Hub>>, id: web::Path<String>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Suppliers).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let who = ctx.identity().clone();
    let id = id.into_inner();
    let loaded = ctx
        .hub
        .db(move |_, c| {
            let Some(row) = suppliers::get(c, &who, &id)? else { return Ok(None) };
            let mut walk = ChainWalk {
                who: &who,
                path: Vec::new(),
                expanded: HashSet::new(),
                budget: CHAIN_NODES,
                truncated: false,
            };
            let root = walk.expand(c, row, 0)?;
            Ok(Some((root, walk.truncated)))
        })
        .await;
    let (root, truncated) = match loaded {
        Ok(Some(found)) => found,
        Ok(None) => return ctx.refused(&AppError::not_found("supplier")),
        Err(e) => return ctx.refused(&e),
    };
    let t = ctx.t;
    let (name, _) = names(&t, &root.row);
    let tree = chain_node(&t, &root);
    let mut steps = vec![ListStep::Open];
    list_steps(&tree, &mut steps);
    steps.push(ListStep::Close);
    let page = ChainPage {
        page: ctx.frame(t.with("procure-chain-title", &[("name", name.clone())])),
        supplier_href: supplier_href(&root.row.id),
        compare_href: compare_href(std::slice::from_ref(&root.row.id)),
        graph: svg_graph::supplier_chain(&t.with("procure-chain-graph", &[("name", name)]), &tree),
        steps,
        offerings: root.offerings.len(),
        truncated,
        depth: CHAIN_DEPTH,
    };
    render(&t, StatusCode::OK, &page)
}

// ----- the assessment form ------------------------------------------------------------------

const ASSESSOR_KINDS: [&str; 4] = ["member", "supplier", "third_party", "automated"];
const ASSURANCES: [Assurance; 5] = [
    Assurance::Automated,
    Assurance::SelfAttested,
    Assurance::QuestionnaireReviewed,
    Assurance::TechnicalTest,
    Assurance::IndependentCertification,
];
const CONCLUSIONS: [&str; 4] = ["ok", "warning", "blocker", "not_applicable"];
const EVIDENCE_KINDS: [&str; 6] = ["certificate", "audit_report", "pen_test", "sbom", "policy", "other"];
/// What the answer field holds for "not applicable".
const NOT_APPLICABLE: &str = "na";

/// The form as posted (or empty), kept to show it again after a refusal.
#[derive(Default)]
struct AssessForm {
    answers: HashMap<String, String>,
    comments: HashMap<String, String>,
    assessor: String,
    assessor_name: String,
    assurance: String,
    conclusion: String,
    observed: String,
    valid_until: String,
    evidence: String,
    offerings: Vec<String>,
    tlp: String,
    recipients: Vec<String>,
    anonymous: bool,
}

impl AssessForm {
    fn parse(raw: &[(String, String)]) -> (String, AssessForm) {
        let fields = fields_of(raw);
        let one = |name: &str| fields.get(name).and_then(|v| v.first()).map(|v| v.to_string()).unwrap_or_default();
        let many = |name: &str| fields.get(name).into_iter().flatten().map(|v| v.to_string()).collect::<Vec<String>>();
        let mut form = AssessForm {
            assessor: one("assessor"),
            assessor_name: one("assessor_name"),
            assurance: one("assurance"),
            conclusion: one("conclusion"),
            observed: one("observed"),
            valid_until: one("valid_until"),
            evidence: one("evidence"),
            offerings: many("offering"),
            tlp: one("tlp"),
            recipients: many("recipients"),
            anonymous: one("anonymous") == "on",
            ..AssessForm::default()
        };
        for (k, v) in raw {
            if let Some(criterion) = k.strip_prefix("answer-") {
                form.answers.insert(criterion.to_string(), v.trim().to_string());
            } else if let Some(criterion) = k.strip_prefix("comment-") {
                form.comments.insert(criterion.to_string(), v.clone());
            }
        }
        (one("csrf"), form)
    }

    /// The assessment and its sharing, or what is wrong (the scheme's criteria are the
    /// only answers read; the services check the rest as for `submitAssessment`).
    fn input(&self, supplier: &str, scheme: &Scheme) -> AppResult<(suppliers::AssessmentInput, Sharing)> {
        // The label is chosen explicitly: no default.
        let tlp: Tlp =
            self.tlp.parse().map_err(|_| AppError::invalid("choose a TLP label", "TLPラベルを選んでください"))?;
        let assessor: AssessorKind = serde_json::from_value(serde_json::Value::String(self.assessor.clone()))
            .map_err(|_| AppError::invalid("choose who assessed", "評価者の区分を選んでください"))?;
        let assurance: Assurance = serde_json::from_value(serde_json::Value::String(self.assurance.clone()))
            .map_err(|_| AppError::invalid("choose the assurance", "保証水準を選んでください"))?;
        if !CONCLUSIONS.contains(&self.conclusion.as_str()) {
            return Err(AppError::invalid("choose a conclusion", "結論を選んでください"));
        }
        let observed = day(&self.observed).ok_or_else(|| {
            AppError::invalid("enter the date observed (YYYY-MM-DD)", "評価実施日を入力してください（YYYY-MM-DD）")
        })?;
        let valid_until = match self.valid_until.trim() {
            "" => None,
            v => Some(day(v).ok_or_else(|| {
                AppError::invalid(
                    "the valid-until date is not a date (YYYY-MM-DD)",
                    "有効期限の日付が読み取れません（YYYY-MM-DD）",
                )
            })?),
        };
        let evidence = evidence_of(&self.evidence)?;
        let mut results = Vec::new();
        for criterion in &scheme.criteria {
            let answer = self.answers.get(&criterion.id).map(String::as_str).unwrap_or("");
            let comment = self.comments.get(&criterion.id).map(|c| c.trim()).filter(|c| !c.is_empty());
            let answer = match answer {
                "" => {
                    if comment.is_some() {
                        return Err(AppError::invalid(
                            format!("criterion {}: a comment without an answer; choose an answer", criterion.id),
                            format!(
                                "評価項目{}: コメントがありますが回答がありません。回答を選んでください",
                                criterion.id
                            ),
                        ));
                    }
                    continue;
                }
                NOT_APPLICABLE => None,
                n => Some(n.parse::<i32>().map_err(|_| {
                    AppError::invalid(
                        format!("criterion {}: {n:?} is not an answer on the 0–{MAX_ANSWER} scale", criterion.id),
                        format!("評価項目{}: 「{n}」は0〜{MAX_ANSWER}の回答ではありません", criterion.id),
                    )
                })?),
            };
            // Evidence backs the answers on the scale.
            let backing = if answer.is_some() { evidence.clone() } else { Vec::new() };
            results.push((criterion.id.clone(), answer, comment.map(str::to_string), backing));
        }
        if results.is_empty() {
            return Err(AppError::invalid(
                "answer at least one criterion",
                "少なくとも1つの評価項目に回答してください",
            ));
        }
        let assessor_name = Some(self.assessor_name.trim().to_string()).filter(|n| !n.is_empty());
        let input = suppliers::AssessmentInput {
            supplier_id: supplier.to_string(),
            offering_ids: self.offerings.clone(),
            scheme_id: scheme.id.clone(),
            scheme_version: Some(scheme.version.clone()),
            assessor,
            assessor_name,
            assurance,
            observed,
            valid_until,
            results,
            findings: Vec::new(),
            conclusion: self.conclusion.clone(),
        };
        let sharing = Sharing {
            tlp,
            recipients: if tlp == Tlp::Red { self.recipients.clone() } else { Vec::new() },
            anonymous: self.anonymous,
            confidence: None,
            valid_until: None,
            labels: Vec::new(),
        };
        Ok((input, sharing))
    }
}

/// A date from the form (`YYYY-MM-DD`, as date inputs send it) or an RFC 3339 time.
fn day(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|t| t.and_utc())
        .or_else(|| crate::store::parse_time(text))
}

/// The evidence lines: a SHA-256 (64 hexadecimal digits), optionally followed by its kind.
fn evidence_of(text: &str) -> AppResult<Vec<Evidence>> {
    let mut out = Vec::new();
    for (index, line) in text.lines().enumerate() {
        let mut parts = line.split_whitespace();
        let Some(hash) = parts.next() else { continue };
        let kind = parts.next().unwrap_or("other").to_ascii_lowercase();
        if hash.len() != 64 || !hash.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(AppError::invalid(
                format!("evidence line {}: {hash:?} is not a SHA-256 (64 hexadecimal digits)", index + 1),
                format!("証跡の{}行目: 「{hash}」はSHA-256（16進数64桁）ではありません", index + 1),
            ));
        }
        if !EVIDENCE_KINDS.contains(&kind.as_str()) || parts.next().is_some() {
            return Err(AppError::invalid(
                format!("evidence line {}: after the hash, one kind of {}", index + 1, EVIDENCE_KINDS.join(", ")),
                format!("証跡の{}行目: ハッシュの後には種類を1つ（{}）", index + 1, EVIDENCE_KINDS.join("、")),
            ));
        }
        out.push(Evidence { sha256: hash.to_ascii_lowercase(), kind, issued: None, expires: None });
    }
    Ok(out)
}

struct AnswerRow {
    id: String,
    text: String,
    answer: String,
    comment: String,
}

#[derive(Template)]
#[template(path = "procure_assess.html")]
struct AssessPage {
    page: Frame,
    action: String,
    supplier_href: String,
    scheme_name: String,
    scheme_version: String,
    validity_days: i64,
    rows: Vec<AnswerRow>,
    choices: Vec<(String, String)>,
    assessors: Vec<(String, String)>,
    assurances: Vec<(String, String)>,
    conclusions: Vec<(String, String)>,
    offerings: Vec<(String, String, bool)>,
    organizations: Vec<(String, String, bool)>,
    form: AssessForm,
    error: Option<String>,
}

/// May submit assessments, or the refusal page.
#[expect(clippy::result_large_err, reason = "the refusal is the answer, built once per refused request")]
fn may_submit(ctx: &Ctx) -> Result<(), HttpResponse> {
    if suppliers::may_submit_assessment(ctx.identity()) {
        Ok(())
    } else {
        Err(ctx.refused(&AppError::forbidden("submit assessments")))
    }
}

async fn assess_form(req: HttpRequest, hub: web::Data<Arc<Hub>>, id: web::Path<String>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Suppliers).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    if let Err(answer) = may_submit(&ctx) {
        return answer;
    }
    let form = AssessForm { observed: Utc::now().format("%Y-%m-%d").to_string(), ..AssessForm::default() };
    assess_page(&ctx, &id, form, None).await
}

/// The form (again, after a refusal: as it was posted, with what is wrong).
async fn assess_page(ctx: &Ctx, id: &str, form: AssessForm, error: Option<&AppError>) -> HttpResponse {
    let who = ctx.identity().clone();
    let target = id.to_string();
    let loaded = ctx
        .hub
        .db(move |_, c| {
            let Some(row) = suppliers::get(c, &who, &target)? else { return Ok(None) };
            let scheme = suppliers::known_scheme(c, HANDBOOK_SCHEME_ID)?;
            let offerings = suppliers::offerings_of(c, &who, &row.id)?;
            let organizations = directory::list_orgs(c)?;
            Ok(Some((row, scheme, offerings, organizations)))
        })
        .await;
    let (row, scheme, offerings, organizations) = match loaded {
        Ok(Some(found)) => found,
        Ok(None) => return ctx.refused(&AppError::not_found("supplier")),
        Err(e) => return ctx.refused(&e),
    };
    let t = ctx.t;
    let (name, _) = names(&t, &row);
    let rows = scheme
        .criteria
        .iter()
        .map(|k| AnswerRow {
            id: k.id.clone(),
            text: criterion_text(&t, &scheme, &k.id),
            answer: form.answers.get(&k.id).cloned().unwrap_or_default(),
            comment: form.comments.get(&k.id).cloned().unwrap_or_default(),
        })
        .collect();
    let mut choices = vec![(String::new(), t.get("procure-answer-none"))];
    choices.extend((0..=MAX_ANSWER).map(|n| (n.to_string(), t.get(&format!("procure-answer-{n}")))));
    choices.push((NOT_APPLICABLE.to_string(), t.get("procure-answer-na")));
    let page = AssessPage {
        page: ctx.frame(t.with("procure-assess-title", &[("name", name)])),
        action: format!("{}/assess", supplier_href(&row.id)),
        supplier_href: supplier_href(&row.id),
        scheme_name: t.pick(&scheme.name_en, &scheme.name_ja).to_string(),
        scheme_version: scheme.version.clone(),
        validity_days: i64::from(scheme.default_validity_days),
        rows,
        choices,
        assessors: ASSESSOR_KINDS.iter().map(|k| (k.to_string(), t.get(&format!("procure-assessor-{k}")))).collect(),
        assurances: ASSURANCES
            .iter()
            .map(|a| {
                let value =
                    serde_json::to_value(a).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
                (value, assurance_label(&t, *a))
            })
            .collect(),
        conclusions: CONCLUSIONS.iter().map(|k| (k.to_string(), t.get(&format!("procure-conclusion-{k}")))).collect(),
        // Assessments name registered offerings only.
        offerings: offerings
            .into_iter()
            .filter(|o| o.status == suppliers::ACTIVE)
            .map(|o| {
                let checked = form.offerings.contains(&o.id);
                (o.id, format!("{} ({})", o.name, t.label("procure-kind", &o.kind)), checked)
            })
            .collect(),
        organizations: organizations
            .into_iter()
            .map(|o| {
                let checked = form.recipients.contains(&o.id);
                (o.id, o.name, checked)
            })
            .collect(),
        form,
        error: error.map(|e| error_text(&t, e)),
    };
    let status = error.map_or(StatusCode::OK, super::status_of);
    render(&t, status, &page)
}

async fn assess(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    id: web::Path<String>,
    raw: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Suppliers).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let (csrf, form) = AssessForm::parse(&raw);
    if let Err(answer) = ctx.check_csrf(&csrf) {
        return answer;
    }
    if let Err(answer) = may_submit(&ctx) {
        return answer;
    }
    let scheme = match ctx.hub.db(|_, c| suppliers::known_scheme(c, HANDBOOK_SCHEME_ID)).await {
        Ok(s) => s,
        Err(e) => return ctx.refused(&e),
    };
    let id = id.into_inner();
    let (input, mut sharing) = match form.input(&id, &scheme) {
        Ok(parts) => parts,
        Err(e) => return assess_page(&ctx, &id, form, Some(&e)).await,
    };
    // The same path as GraphQL's submitAssessment: validated against the scheme, the
    // assessment's validity is the item's, then shared as every item is.
    let who = ctx.identity().clone();
    let published = ctx
        .hub
        .db(move |hub, c| {
            let (body, valid_until) = suppliers::assessment_body(c, &who, input)?;
            sharing.valid_until = Some(valid_until);
            crate::actions::share(hub, c, &who, vec![body], sharing, false)
        })
        .await;
    match published {
        Ok(rows) => {
            Metrics::add(&ctx.hub.metrics.objects_shared, rows.len() as u64);
            ctx.hub.note_writes(rows.len() as u64);
            redirect(&supplier_href(&id))
        }
        // A supplier the viewer may not see answers like a missing one.
        Err(e) if e.code == renkei_schema::errors::Code::NotFound => ctx.refused(&e),
        Err(e) => assess_page(&ctx, &id, form, Some(&e)).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The messages whose ids the pages compute exist in both languages.
    #[test]
    fn computed_message_ids_exist() {
        use super::super::i18n::Lang;
        for lang in [Lang::En, Lang::Ja] {
            let t = Tr::new(lang);
            let mut ids: Vec<String> = (0..=MAX_ANSWER).map(|n| format!("procure-answer-{n}")).collect();
            ids.extend(ASSESSOR_KINDS.iter().map(|k| format!("procure-assessor-{k}")));
            ids.extend(CONCLUSIONS.iter().map(|k| format!("procure-conclusion-{k}")));
            ids.extend(suppliers::OFFERING_KINDS.iter().map(|k| format!("procure-kind-{k}")));
            ids.extend(ASSURANCES.iter().map(|a| format!("assurance-{}", format!("{a:?}").to_lowercase())));
            for id in ids {
                assert_ne!(t.get(&id), id, "{lang:?}");
            }
            // Every assessor kind and assurance the form offers is one the schema reads.
            for k in ASSESSOR_KINDS {
                assert!(serde_json::from_value::<AssessorKind>(serde_json::Value::String(k.into())).is_ok(), "{k}");
            }
        }
    }

    #[test]
    fn evidence_lines_are_hashes_with_an_optional_kind() {
        let hash = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";
        let got = evidence_of(&format!("{hash}\n\n  {hash} certificate \n")).expect("evidence");
        assert_eq!(got.len(), 2);
        assert_eq!(got[0].sha256, hash.to_ascii_lowercase());
        assert_eq!((got[0].kind.as_str(), got[1].kind.as_str()), ("other", "certificate"));
        assert!(evidence_of("abc").is_err());
        assert!(evidence_of(&format!("{hash} brochure")).is_err());
        assert!(evidence_of(&format!("{hash} sbom extra")).is_err());
    }

    #[test]
    fn dates_come_from_date_inputs_or_rfc3339() {
        assert_eq!(day("2026-11-01").map(|d| d.to_rfc3339()), Some("2026-11-01T00:00:00+00:00".into()));
        assert!(day("2026-11-01T09:00:00+09:00").is_some());
        assert!(day("1 Nov 2026").is_none());
    }

    #[test]
    fn a_form_without_a_label_or_with_an_answer_off_the_scale_is_refused_before_sharing() {
        let scheme = renkei_schema::supply::scheme::handbook_scheme();
        let raw =
            |pairs: &[(&str, &str)]| pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect::<Vec<_>>();
        let base = [
            ("csrf", "x"),
            ("answer-HB64-01", "3"),
            ("answer-HB64-02", "na"),
            ("comment-HB64-01", "checked on site"),
            ("assessor", "member"),
            ("assurance", "technical_test"),
            ("conclusion", "ok"),
            ("observed", "2026-11-01"),
        ];
        let (csrf, form) = AssessForm::parse(&raw(&base));
        assert_eq!(csrf, "x");
        let Err(e) = form.input("supplier--1", &scheme) else { panic!("a form without a label was taken") };
        assert!(e.message.contains("TLP"));
        let mut with_label = base.to_vec();
        with_label.push(("tlp", "TLP:RED"));
        with_label.push(("recipients", "org-1"));
        let (_, form) = AssessForm::parse(&raw(&with_label));
        let (input, sharing) = form.input("supplier--1", &scheme).expect("valid");
        assert_eq!(input.results.len(), 2);
        assert_eq!(input.results[0].1, Some(3));
        assert_eq!(input.results[1].1, None, "not applicable");
        assert_eq!(input.assurance, Assurance::TechnicalTest);
        assert_eq!((sharing.tlp, sharing.recipients.clone()), (Tlp::Red, vec!["org-1".to_string()]));
        let mut comment_only = with_label.clone();
        comment_only.push(("comment-HB64-03", "why?"));
        assert!(AssessForm::parse(&raw(&comment_only)).1.input("s", &scheme).is_err());
        let mut nothing = with_label;
        nothing.retain(|(k, _)| !k.starts_with("answer-") && !k.starts_with("comment-"));
        assert!(AssessForm::parse(&raw(&nothing)).1.input("s", &scheme).is_err());
    }
}
