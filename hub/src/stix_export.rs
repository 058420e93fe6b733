//! `GET /export/stix`: a STIX 2.1 bundle of the live items the caller may read, with
//! exactly the marking definitions, identities and extension definition they reference
//! (`renkei_schema::stix::References`). Live: published, unexpired and, for indicators,
//! scoring at least `minScore` (default `indicators.active_min_score`), as the other
//! detection exports. Items are read through `services::sharing::list` (the one TLP
//! policy). `kind` narrows to some kinds (`indicator,technique,...`). An incident is
//! `related-to` each indicator it names that the bundle holds (a relationship never points
//! at an object the caller was not given); an indicator members reported seen has its
//! sighting (the aggregate, by this hub, reporters unnamed). The bundle
//! streams page by page, so its size never sits in the hub's memory.

use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use futures::StreamExt as _;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use renkei_schema::model::Kind;
use renkei_schema::stix::{self, References};

use crate::auth::Identity;
use crate::error::{AppError, AppResult};
use crate::services::sharing::{self, ListFilter, ScoreFloor};
use crate::services::stored;
use crate::state::Hub;
use crate::store::DbConn;

#[derive(serde::Deserialize)]
pub struct StixExportQuery {
    /// Kinds, comma-separated (`indicator`, `technique`, `incident`, `advisory`, `assessment`).
    kind: Option<String>,
    #[serde(rename = "minScore")]
    min_score: Option<u8>,
}

const PAGE: usize = 2000;
const CHUNKS_AHEAD: usize = 2;

/// Where the export is: which kinds remain, after which item, what was referenced.
struct Position {
    /// The kinds still to read (empty once the bundle is closed).
    kinds: Vec<Kind>,
    kind: usize,
    after: i64,
    refs: References,
    /// Objects written so far (to place commas).
    written: usize,
    /// Incidents (kinds are read in STIX type order, incidents before indicators) by the
    /// indicator ids they name; a relationship is written once that indicator is.
    naming: HashMap<String, Vec<Value>>,
    links: Vec<Value>,
    opened: bool,
}

fn filter_for(hub: &Hub, kind: Kind, min_score: Option<u8>) -> ListFilter {
    let policy = &hub.config.indicators;
    ListFilter {
        indicator_type: None,
        tlp: None,
        include_revoked: false,
        active: true,
        min_score: (kind == Kind::Indicator).then(|| ScoreFloor {
            min: min_score.unwrap_or(policy.active_min_score).min(100),
            half_life_days: policy.half_life_days,
        }),
    }
}

fn push_object(out: &mut String, at: &mut Position, object: &Value) {
    if at.written > 0 {
        out.push(',');
    }
    at.written += 1;
    out.push_str(&stix::canonical_json(object));
}

/// The next chunk of the bundle: its opening, a page of one kind, and after the last
/// page the context objects and its end. Empties `at.kinds` once the bundle is closed.
fn next_chunk(
    c: &mut DbConn,
    hub: &Hub,
    identity: &Identity,
    min_score: Option<u8>,
    at: &mut Position,
) -> AppResult<String> {
    let mut out = String::new();
    if !at.opened {
        out.push_str(&format!("{{\"type\":\"bundle\",\"id\":\"bundle--{}\",\"objects\":[", uuid::Uuid::new_v4()));
        at.opened = true;
    }
    if let Some(&kind) = at.kinds.get(at.kind) {
        let viewer = identity.viewer();
        let (rows, more) = sharing::list(c, &viewer, kind, &filter_for(hub, kind, min_score), PAGE, at.after)?;
        // Sealed TLP:RED has no readable object to export.
        for row in rows.iter().filter(|r| !stored::is_sealed(r)) {
            let (env, body) = stored::parts_of(row)?;
            let object = stix::to_stix(&env, &body);
            at.refs.note(&object);
            if object["type"] == "incident" {
                let named = stix::StixRead(&object).prop(stix::prop::INDICATOR_REFS).clone();
                for id in named.as_array().into_iter().flatten().filter_map(Value::as_str) {
                    at.naming.entry(id.to_string()).or_default().push(object.clone());
                }
            } else if let Some(incidents) = object["id"].as_str().and_then(|id| at.naming.remove(id)) {
                let present: BTreeSet<String> = [row.id.clone()].into();
                at.links.extend(stix::relationships(&incidents, &present));
            }
            push_object(&mut out, at, &object);
        }
        if kind == Kind::Indicator {
            let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
            let summaries = crate::services::sightings::summaries(c, &ids)?;
            for row in rows.iter().filter(|r| !stored::is_sealed(r)) {
                if let Some(object) = summaries.get(&row.id).and_then(|s| sighting(hub, row, s)) {
                    at.refs.note(&object);
                    at.refs.hubs.insert(hub.hub_id.clone());
                    push_object(&mut out, at, &object);
                }
            }
        }
        match rows.last() {
            Some(last) if more => at.after = last.first_seq,
            _ => {
                at.kind += 1;
                at.after = 0;
            }
        }
    }
    if at.kind >= at.kinds.len() {
        let links = std::mem::take(&mut at.links);
        for object in links.iter().chain(context_objects(c, &at.refs)?.iter()) {
            push_object(&mut out, at, object);
        }
        out.push_str("]}");
        at.kinds.clear();
    }
    Ok(out)
}

/// The sightings members reported of an indicator, as the one STIX sighting this hub
/// knows of it: how many times, first and last seen, under the indicator's label, by the
/// hub (the reporters are never named: the aggregate is what readers of the indicator
/// learn in GraphQL too). `None` when nobody reported it seen.
fn sighting(
    hub: &Hub,
    row: &crate::store::models::ObjectRow,
    s: &crate::services::sightings::Summary,
) -> Option<Value> {
    if s.organizations == 0 || s.total <= 0 {
        return None;
    }
    let at = s.last_reported.clone()?;
    let mut o = serde_json::json!({
        "type": "sighting",
        "spec_version": "2.1",
        "id": format!("sighting--{}", stix::stable_uuid("sighting", &row.id)),
        "created": at,
        "modified": at,
        "created_by_ref": stix::hub_identity_ref(&hub.hub_id),
        "sighting_of_ref": row.id,
        "count": s.total.min(999_999_999),
        "object_marking_refs": [row.tlp.parse::<renkei_schema::tlp::Tlp>().ok()?.marking_definition_id()],
    });
    if let Some(first) = &s.first_seen {
        o["first_seen"] = serde_json::json!(first);
    }
    if let Some(last) = &s.last_seen {
        o["last_seen"] = serde_json::json!(last);
    }
    Some(o)
}

/// The identities, marking definitions and extension definition the objects reference.
fn context_objects(c: &mut DbConn, refs: &References) -> AppResult<Vec<Value>> {
    let names = crate::services::directory::org_names(c)?;
    let orgs: HashMap<String, Value> =
        names.iter().map(|(id, name)| (stix::identity_ref(id), stix::org_identity(id, name, None))).collect();
    Ok(refs.context(&|id: &str| orgs.get(id).cloned()))
}

pub async fn bundle(req: HttpRequest, query: web::Query<StixExportQuery>, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let identity = match crate::http::gate::require_identity(&hub, &req).await {
        Ok(identity) => identity,
        Err(response) => return response,
    };
    let refuse = |status: StatusCode, e: AppError| crate::http::gate::error_response(status, &e);
    if identity.role == crate::auth::Role::Peer {
        return refuse(
            StatusCode::FORBIDDEN,
            AppError::forbidden("export as a peer hub (peers read the federation feed)"),
        );
    }
    let mut kinds = Vec::new();
    match query.kind.as_deref() {
        None => kinds.extend(Kind::ALL),
        Some(list) => {
            for k in list.split(',').map(str::trim).filter(|k| !k.is_empty()) {
                match Kind::parse(k) {
                    Some(kind) if !kinds.contains(&kind) => kinds.push(kind),
                    Some(_) => {}
                    None => {
                        return refuse(
                            StatusCode::BAD_REQUEST,
                            AppError::invalid(
                                format!("kind {k:?}: expected indicator, technique, incident, advisory or assessment"),
                                format!(
                                    "種類「{k}」は使えません（indicator、technique、incident、advisory、assessment）"
                                ),
                            ),
                        )
                    }
                }
            }
        }
    }
    if !identity.may_read_indicators() {
        if query.kind.is_some() && kinds.contains(&Kind::Indicator) {
            if let Err(e) = identity.require_indicators() {
                return refuse(StatusCode::FORBIDDEN, e);
            }
        }
        kinds.retain(|k| *k != Kind::Indicator);
    }
    // A stable order: kinds as STIX names them.
    let kinds: Vec<Kind> =
        kinds.into_iter().map(|k| (k.stix_type(), k)).collect::<BTreeMap<_, _>>().into_values().collect();
    let min_score = query.min_score;
    let position = Position {
        kinds,
        kind: 0,
        after: 0,
        refs: References::default(),
        written: 0,
        opened: false,
        naming: HashMap::new(),
        links: Vec::new(),
    };
    // The first chunk is read before answering, so a failure still gets its status.
    let first = {
        let identity = identity.clone();
        hub.db(move |hub, c| {
            let mut position = position;
            let chunk = next_chunk(c, hub, &identity, min_score, &mut position)?;
            Ok((chunk, position))
        })
        .await
    };
    let (first, mut position) = match first {
        Ok(first) => first,
        Err(e) => return refuse(crate::http::gate::status_of(&e, StatusCode::INTERNAL_SERVER_ERROR), e),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, std::io::Error>>(CHUNKS_AHEAD);
    if !position.kinds.is_empty() {
        let hub = Arc::clone(&hub);
        tokio::task::spawn_blocking(move || {
            let mut conn = match hub.connection() {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(code = e.code.as_str(), "stix export: no database connection for the next page");
                    return;
                }
            };
            loop {
                match next_chunk(&mut conn, &hub, &identity, min_score, &mut position) {
                    Ok(chunk) => {
                        if tx.blocking_send(Ok(web::Bytes::from(chunk))).is_err() || position.kinds.is_empty() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(
                            code = e.code.as_str(),
                            "stix export: a later page failed; the answer ends early"
                        );
                        let _ = tx.blocking_send(Err(std::io::Error::other(e.message)));
                        return;
                    }
                }
            }
        });
    }
    let rest = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) });
    let body = futures::stream::once(async move { Ok::<_, std::io::Error>(web::Bytes::from(first)) }).chain(rest);
    HttpResponse::Ok().content_type("application/stix+json;version=2.1").streaming(body)
}
