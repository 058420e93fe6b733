//! Sharing a technique (with the ATT&CK picker from the loaded catalog, ICS included),
//! an incident or an advisory. Each form chooses its label and RED recipients
//! explicitly, says who will read it, and goes through the same validation and
//! `actions::share` as GraphQL's `shareTechnique`, `reportIncident` and `shareAdvisory`.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use std::collections::HashMap;
use std::sync::Arc;

use super::{redirect, render, signed_in, Ctx, Frame, Need};
use crate::error::AppError;
use crate::services::stored::Sharing;
use crate::services::{attack, directory, kinds};
use crate::state::{Hub, Metrics};
use renkei_schema::model::vuln::ExploitationStatus;
use renkei_schema::model::{Body, ServiceImpact};
use renkei_schema::tlp::Tlp;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/share/{kind}", web::get().to(form)).route("/share/{kind}", web::post().to(submit));
}

/// The three kinds these forms share.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FormKind {
    Technique,
    Incident,
    Advisory,
}

impl FormKind {
    fn parse(s: &str) -> Option<FormKind> {
        match s {
            "technique" => Some(FormKind::Technique),
            "incident" => Some(FormKind::Incident),
            "advisory" => Some(FormKind::Advisory),
            _ => None,
        }
    }
}

/// The form's fields as posted (a repeated field keeps every value).
pub struct Fields(HashMap<String, Vec<String>>);

impl Fields {
    pub fn parse(raw: &[(String, String)]) -> Fields {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for (k, v) in raw {
            map.entry(k.clone()).or_default().push(v.clone());
        }
        Fields(map)
    }

    pub fn one(&self, name: &str) -> &str {
        self.0.get(name).and_then(|v| v.first()).map_or("", String::as_str)
    }

    pub fn all(&self, name: &str) -> Vec<String> {
        self.0.get(name).cloned().unwrap_or_default()
    }

    /// A text area's lines, trimmed, blank ones dropped.
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.one(name).lines().map(str::trim).filter(|l| !l.is_empty()).map(str::to_string).collect()
    }

    fn optional(&self, name: &str) -> Option<String> {
        Some(self.one(name).trim()).filter(|v| !v.is_empty()).map(str::to_string)
    }

    /// The sharing options every form carries: the label (chosen explicitly, no default),
    /// RED recipients, anonymity.
    pub fn sharing(&self) -> Result<Sharing, AppError> {
        let tlp = self
            .one("tlp")
            .parse::<Tlp>()
            .map_err(|_| AppError::invalid("choose a TLP label", "TLPラベルを選んでください"))?;
        Ok(Sharing {
            tlp,
            recipients: if tlp == Tlp::Red { self.all("recipients") } else { Vec::new() },
            anonymous: self.one("anonymous") == "on",
            confidence: None,
            valid_until: None,
            labels: Vec::new(),
        })
    }
}

/// A choice in a list.
pub struct Choice {
    pub value: String,
    pub label: String,
    pub selected: bool,
}

#[derive(Template)]
#[template(path = "share_kind.html")]
struct SharePage {
    page: Frame,
    kind: &'static str,
    action: String,
    /// ATT&CK techniques by domain (enterprise, ics, mobile), when a catalog is loaded.
    techniques: Vec<(String, Vec<Choice>)>,
    assets: Vec<Choice>,
    impacts: Vec<Choice>,
    exploitation: Vec<Choice>,
    organizations: Vec<Choice>,
    tlps: Vec<Choice>,
    values: HashMap<String, String>,
    error: Option<String>,
}

impl SharePage {
    /// A field's value as last posted (empty on a new form).
    fn value(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }
}

async fn form(req: HttpRequest, hub: web::Data<Arc<Hub>>, kind: web::Path<String>) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Share).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let Some(kind) = FormKind::parse(&kind) else {
        return ctx.refused(&AppError::new(
            renkei_schema::errors::Code::NotFound,
            "no such form",
            "該当するフォームはありません",
        ));
    };
    page(&ctx, kind, &Fields(HashMap::new()), None).await
}

async fn page(ctx: &Ctx, kind: FormKind, fields: &Fields, error: Option<&AppError>) -> HttpResponse {
    let loaded = ctx
        .hub
        .db(move |_, c| {
            let orgs = directory::list_orgs(c)?;
            let (techniques, assets) = if kind == FormKind::Technique {
                (attack::techniques(c, None)?, attack::assets(c)?)
            } else {
                (Vec::new(), Vec::new())
            };
            Ok((orgs, techniques, assets))
        })
        .await;
    let (orgs, techniques, assets) = match loaded {
        Ok(found) => found,
        Err(e) => return ctx.refused(&e),
    };
    let t = ctx.t;
    let chosen = |name: &str, value: &str| fields.all(name).iter().any(|v| v == value);
    let mut by_domain: Vec<(String, Vec<Choice>)> = Vec::new();
    for row in techniques.into_iter().filter(|r| !r.revoked && !r.deprecated) {
        let domain = t.label("attack-domain", &row.domain);
        let choice = Choice {
            selected: chosen("attack_id", &row.attack_id),
            label: format!("{} {}", row.attack_id, row.name),
            value: row.attack_id,
        };
        match by_domain.iter_mut().find(|(d, _)| *d == domain) {
            Some((_, list)) => list.push(choice),
            None => by_domain.push((domain, vec![choice])),
        }
    }
    let impacts = [ServiceImpact::None, ServiceImpact::Degraded, ServiceImpact::Disrupted, ServiceImpact::Outage]
        .iter()
        .map(|i| Choice {
            value: i.as_str().to_string(),
            label: t.get(&format!("impact-{}", i.as_str())),
            selected: fields.one("service_impact") == i.as_str(),
        })
        .collect();
    let exploitation = ExploitationStatus::ALL
        .iter()
        .map(|e| Choice {
            value: e.as_str().to_string(),
            label: t.label("exploitation", e.as_str()),
            selected: fields.one("exploitation") == e.as_str(),
        })
        .collect();
    let values = fields.0.iter().filter_map(|(k, v)| v.first().map(|first| (k.clone(), first.clone()))).collect();
    let view = SharePage {
        page: ctx.frame(t.get(match kind {
            FormKind::Technique => "share-technique-title",
            FormKind::Incident => "share-incident-title",
            FormKind::Advisory => "share-advisory-title",
        })),
        kind: match kind {
            FormKind::Technique => "technique",
            FormKind::Incident => "incident",
            FormKind::Advisory => "advisory",
        },
        action: format!(
            "/console/share/{}",
            match kind {
                FormKind::Technique => "technique",
                FormKind::Incident => "incident",
                FormKind::Advisory => "advisory",
            }
        ),
        techniques: by_domain,
        assets: assets
            .into_iter()
            .map(|a| Choice {
                selected: chosen("ics_asset_types", &a.attack_id),
                label: format!("{} {}", a.attack_id, a.name),
                value: a.attack_id,
            })
            .collect(),
        impacts,
        exploitation,
        organizations: orgs
            .into_iter()
            .map(|o| Choice { selected: chosen("recipients", &o.id), value: o.id, label: o.name })
            .collect(),
        tlps: tlp_choices(ctx, fields.one("tlp")),
        values,
        error: error.map(|e| {
            let mut text = ctx.t.pick(&e.message, &e.message_ja).to_string();
            for entry in &e.entries {
                text.push_str(&format!("\n#{}: {}", entry.index + 1, ctx.t.pick(&entry.message, &entry.message_ja)));
            }
            text
        }),
    };
    let status = error.map_or(StatusCode::OK, super::status_of);
    render(&ctx.t, status, &view)
}

/// The five labels with who reads each, for a form's label choice.
pub fn tlp_choices(ctx: &Ctx, chosen: &str) -> Vec<Choice> {
    [
        (Tlp::Clear, "audience-clear"),
        (Tlp::Green, "audience-green"),
        (Tlp::Amber, "audience-amber"),
        (Tlp::AmberStrict, "audience-amber-strict"),
        (Tlp::Red, "audience-red"),
    ]
    .iter()
    .map(|(tlp, audience)| Choice {
        value: tlp.as_str().to_string(),
        label: format!("{} — {}", tlp.as_str(), ctx.t.get(audience)),
        selected: chosen == tlp.as_str(),
    })
    .collect()
}

fn kind_name(kind: FormKind) -> &'static str {
    match kind {
        FormKind::Technique => "technique",
        FormKind::Incident => "incident",
        FormKind::Advisory => "advisory",
    }
}

#[derive(Template)]
#[template(path = "share_confirm.html")]
struct ConfirmPage {
    page: Frame,
    action: String,
    /// Every posted field but the button, carried to the confirming post.
    hidden: Vec<(String, String)>,
    badge: super::TlpBadge,
    audience: String,
    count: usize,
    kind: String,
    recipients: Vec<String>,
    queued: Option<String>,
    anonymous: bool,
    titles: Vec<String>,
    more: usize,
}

/// Titles listed on the confirmation page (the rest are counted).
const CONFIRM_TITLES: usize = 50;

/// The confirmation page of a share form: what will be shared, under which label, who
/// will read it (the label's audience, the named RED recipients), whether a coordinator
/// reviews it first (the moderation policy's route, asked without writing), shown
/// anonymously or not. Everything is validated here as it will be on sharing (the
/// bodies by the same functions, the label's audience rules), so a bad form is refused
/// before the person confirms; nothing is stored.
pub async fn review<F>(
    ctx: &Ctx,
    action: &str,
    raw: &[(String, String)],
    sharing: Sharing,
    build: F,
) -> Result<HttpResponse, AppError>
where
    F: FnOnce(&mut crate::store::DbConn, &crate::auth::Identity) -> Result<Vec<Body>, AppError> + Send + 'static,
{
    let who = ctx.identity().clone();
    let mut checked = sharing.clone();
    let (bodies, route, names) = ctx
        .hub
        .db(move |hub, c| {
            renkei_schema::tlp::check_audience(checked.tlp, &checked.recipients)?;
            crate::services::stored::validate_sharing(c, &mut checked)?;
            let bodies = build(c, &who)?;
            let kind = bodies
                .first()
                .map(Body::kind)
                .ok_or_else(|| AppError::invalid("nothing to share", "共有する内容がありません"))?;
            let route = crate::services::moderation::route(c, &hub.config.moderation, &who, kind, checked.tlp)?;
            let names = directory::org_names(c)?;
            Ok((bodies, route, names))
        })
        .await?;
    let t = ctx.t;
    let audience = match sharing.tlp {
        Tlp::Clear => "audience-clear",
        Tlp::Green => "audience-green",
        Tlp::Amber => "audience-amber",
        Tlp::AmberStrict => "audience-amber-strict",
        Tlp::Red => "audience-red-named",
    };
    let kind = bodies.first().map(|b| b.kind().as_str()).unwrap_or("indicator");
    let view = ConfirmPage {
        page: ctx.frame(t.get("share-confirm-title")),
        action: action.to_string(),
        hidden: raw.iter().filter(|(k, _)| k != "action").cloned().collect(),
        badge: super::tlp_badge(sharing.tlp),
        audience: t.get(audience),
        count: bodies.len(),
        kind: t.get(&format!("kind-{kind}")),
        recipients: sharing.recipients.iter().map(|r| names.get(r).cloned().unwrap_or_else(|| r.clone())).collect(),
        queued: match route {
            renkei_schema::moderation::Route::Publish => None,
            renkei_schema::moderation::Route::Queue(why) => Some(why),
        },
        anonymous: sharing.anonymous,
        titles: bodies.iter().take(CONFIRM_TITLES).map(super::view::title_of).collect(),
        more: bodies.len().saturating_sub(CONFIRM_TITLES),
    };
    Ok(render(&ctx.t, StatusCode::OK, &view))
}

/// A comma- or line-separated list.
fn list(text: &str) -> Vec<String> {
    text.split([',', '\n']).map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// The body a form describes (validated by the same functions as GraphQL's).
fn body_of(
    c: &mut crate::store::DbConn,
    who: &crate::auth::Identity,
    tlp: Tlp,
    kind: FormKind,
    f: &Fields,
) -> Result<Body, AppError> {
    match kind {
        FormKind::Technique => kinds::technique_body(
            c,
            kinds::TechniqueInput {
                attack_id: f.one("attack_id").trim().to_string(),
                name: f.optional("name"),
                tactics: Vec::new(),
                narrative: f.one("narrative").to_string(),
                platforms: list(f.one("platforms")),
                ics_asset_types: f.all("ics_asset_types"),
            },
        ),
        FormKind::Incident => {
            let service_impact = match f.one("service_impact") {
                "none" => ServiceImpact::None,
                "degraded" => ServiceImpact::Degraded,
                "disrupted" => ServiceImpact::Disrupted,
                "outage" => ServiceImpact::Outage,
                _ => return Err(AppError::invalid("choose the service impact", "サービスへの影響を選んでください")),
            };
            kinds::incident_body(
                c,
                &who.viewer(),
                tlp,
                kinds::IncidentInput {
                    title: f.one("title").to_string(),
                    summary: f.one("summary").to_string(),
                    sector: f.one("sector").to_string(),
                    occurred_at: f.optional("occurred_at").map(|d| if d.len() == 16 { format!("{d}:00Z") } else { d }),
                    service_impact,
                    impact_description: f.optional("impact_description"),
                    technique_ids: list(f.one("technique_ids")),
                    indicator_ids: f.lines("indicator_ids"),
                    supplier_ids: Vec::new(),
                },
            )
        }
        FormKind::Advisory => {
            let exploitation =
                ExploitationStatus::ALL.into_iter().find(|e| e.as_str() == f.one("exploitation")).unwrap_or_default();
            kinds::advisory_body(kinds::AdvisoryInput {
                cve_id: f.one("cve_id").trim().to_string(),
                title: f.one("title").to_string(),
                description: f.optional("description"),
                affected: f
                    .lines("affected")
                    .into_iter()
                    .map(|cpe| kinds::AffectedInput {
                        cpe,
                        version_start_including: None,
                        version_start_excluding: None,
                        version_end_including: None,
                        version_end_excluding: None,
                    })
                    .collect(),
                cvss_vector: f.optional("cvss_vector"),
                exploitation,
                fixes: f.lines("fixes"),
                workarounds: f.lines("workarounds"),
            })
        }
    }
}

async fn submit(
    req: HttpRequest,
    hub: web::Data<Arc<Hub>>,
    kind: web::Path<String>,
    raw: web::Form<Vec<(String, String)>>,
) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Share).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let fields = Fields::parse(&raw);
    if let Err(answer) = ctx.check_csrf(fields.one("csrf")) {
        return answer;
    }
    let Some(kind) = FormKind::parse(&kind) else {
        return ctx.refused(&AppError::new(
            renkei_schema::errors::Code::NotFound,
            "no such form",
            "該当するフォームはありません",
        ));
    };
    let sharing = match fields.sharing() {
        Ok(s) => s,
        Err(e) => return page(&ctx, kind, &fields, Some(&e)).await,
    };
    match fields.one("action") {
        "confirm" => {}
        "edit" => return page(&ctx, kind, &fields, None).await,
        _ => {
            let posted = Fields::parse(&raw);
            let tlp = sharing.tlp;
            let build = move |c: &mut crate::store::DbConn, who: &crate::auth::Identity| {
                Ok(vec![body_of(c, who, tlp, kind, &posted)?])
            };
            return match review(&ctx, &format!("/console/share/{}", kind_name(kind)), &raw, sharing, build).await {
                Ok(answer) => answer,
                Err(e) => page(&ctx, kind, &fields, Some(&e)).await,
            };
        }
    }
    let who = ctx.identity().clone();
    let posted = Fields::parse(&raw);
    let published = ctx
        .hub
        .db(move |hub, c| {
            let body = body_of(c, &who, sharing.tlp, kind, &posted)?;
            crate::actions::share(hub, c, &who, vec![body], sharing, false)
        })
        .await;
    match published {
        Ok(rows) => {
            Metrics::add(&ctx.hub.metrics.objects_shared, rows.len() as u64);
            ctx.hub.note_writes(rows.len() as u64);
            redirect("/console/submissions?shared=1")
        }
        Err(e) => page(&ctx, kind, &fields, Some(&e)).await,
    }
}
