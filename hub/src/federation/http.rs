//! `GET /federation/changes?hub=ID&after=N&limit=L`: the federation feed for peer hubs'
//! pullers, the same `federation::peer_feed` as GraphQL's `peerChanges`, written straight
//! to JSON: each version's STIX object, envelope and body go out as the JSON text they
//! are (not as escaped strings), so the bytes the origin signed arrive as they were and
//! neither side spends time escaping them. `GET /federation/sightings` serves the
//! sightings aggregates feed the same way (plain JSON: it is small).

use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use std::sync::Arc;

use crate::auth::Role;
use crate::error::{AppError, AppResult};
use crate::federation::{self, PeerPage, PeerRow};
use crate::services::stored::Signer;
use crate::state::Hub;
use crate::store::DbConn;

#[derive(serde::Deserialize)]
pub struct FeedQuery {
    /// The calling hub's id (fixed for its link at first use).
    hub: String,
    after: Option<i64>,
    limit: Option<usize>,
}

fn string(out: &mut Vec<u8>, s: &str) {
    // Writing JSON to a Vec never fails.
    let _ = serde_json::to_writer(&mut *out, s);
}

/// `"key":` then the text as JSON itself (stored objects are valid JSON), or null.
fn raw(out: &mut Vec<u8>, key: &str, text: Option<&str>) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    match text {
        Some(t) => out.extend_from_slice(t.as_bytes()),
        None => out.extend_from_slice(b"null"),
    }
}

fn opt_string(out: &mut Vec<u8>, key: &str, text: Option<&str>) {
    out.extend_from_slice(b",\"");
    out.extend_from_slice(key.as_bytes());
    out.extend_from_slice(b"\":");
    match text {
        Some(t) => string(out, t),
        None => out.extend_from_slice(b"null"),
    }
}

/// The page as JSON (the shape `federation::PeerPage` reads back, with `hubId`).
pub fn page_json(hub_id: &str, page: &PeerPage) -> Vec<u8> {
    let mut out = Vec::with_capacity(page.items.len() * 2048 + 256);
    out.extend_from_slice(b"{\"hubId\":");
    string(&mut out, hub_id);
    out.extend_from_slice(b",\"cursor\":");
    string(&mut out, &page.cursor);
    out.extend_from_slice(b",\"head\":");
    string(&mut out, &page.head);
    out.extend_from_slice(if page.has_more { b",\"hasMore\":true" } else { b",\"hasMore\":false" });
    out.extend_from_slice(b",\"items\":[");
    for (i, item) in page.items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"seq\":");
        string(&mut out, &item.seq);
        out.extend_from_slice(b",\"id\":");
        string(&mut out, &item.id);
        out.extend_from_slice(b",\"kind\":");
        string(&mut out, &item.kind);
        out.extend_from_slice(b",\"revision\":");
        out.extend_from_slice(item.revision.to_string().as_bytes());
        out.extend_from_slice(b",\"tlp\":");
        string(&mut out, &item.tlp);
        out.extend_from_slice(if item.deleted { b",\"deleted\":true" } else { b",\"deleted\":false" });
        raw(&mut out, "object", item.object.as_deref());
        opt_string(&mut out, "signature", item.signature.as_deref());
        opt_string(&mut out, "originHub", item.origin_hub.as_deref());
        opt_string(&mut out, "originKey", item.origin_key.as_deref());
        out.extend_from_slice(b",\"path\":");
        let _ = serde_json::to_writer(&mut out, &item.path);
        raw(&mut out, "envelope", item.envelope.as_deref());
        raw(&mut out, "body", item.body.as_deref());
        out.push(b'}');
    }
    out.extend_from_slice(b"]}");
    out
}

/// A peer's request, authenticated: its identity and the page size it may have.
async fn peer_request(
    req: &HttpRequest,
    query: &FeedQuery,
    hub: &Arc<Hub>,
) -> Result<(crate::auth::Identity, usize, i64, Option<String>), HttpResponse> {
    let identity = crate::http::gate::require_identity(hub, req).await?;
    if identity.role != Role::Peer {
        return Err(crate::http::gate::error_response(
            StatusCode::FORBIDDEN,
            &AppError::forbidden("read the federation feed (peer hubs only)"),
        ));
    }
    let max = hub.config.limits.max_changes_page;
    let limit = match query.limit {
        None => 1000.min(max),
        Some(n) if (1..=max).contains(&n) => n,
        Some(n) => {
            return Err(crate::http::gate::error_response(
                StatusCode::BAD_REQUEST,
                &AppError::invalid(
                    format!("limit {n}: expected 1 to {max}"),
                    format!("limitは1〜{max}で指定してください"),
                ),
            ))
        }
    };
    let presented = req.conn_data::<crate::http::gate::ClientCertificate>().map(|c| c.0.clone());
    Ok((identity, limit, query.after.unwrap_or(0).max(0), presented))
}

fn answer(result: crate::error::AppResult<Vec<u8>>) -> HttpResponse {
    match result {
        Ok(body) => HttpResponse::Ok().content_type("application/json").body(body),
        Err(e) => {
            use crate::error::Code;
            let status = match e.code {
                Code::Forbidden => StatusCode::FORBIDDEN,
                Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
                Code::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
                _ => StatusCode::BAD_REQUEST,
            };
            crate::http::gate::error_response(status, &e)
        }
    }
}

/// Authenticates a peer's request, authorises its link and answers with what `read`
/// writes from the link's feed.
async fn serve_peer<F>(
    req: HttpRequest,
    query: web::Query<FeedQuery>,
    hub: web::Data<Arc<Hub>>,
    read: F,
) -> HttpResponse
where
    F: FnOnce(&mut DbConn, &Signer<'_>, &PeerRow, &str, i64, usize) -> AppResult<Vec<u8>> + Send + 'static,
{
    let (identity, limit, after, presented) = match peer_request(&req, &query, &hub).await {
        Ok(request) => request,
        Err(response) => return response,
    };
    let peer_hub = query.hub.clone();
    let result = hub
        .db(move |hub, c| {
            let local = hub.signer();
            let link = federation::feed::authorize(c, &identity.org_id, presented.as_deref(), &peer_hub)?;
            read(c, &local, &link, &peer_hub, after, limit)
        })
        .await;
    answer(result)
}

pub async fn changes(req: HttpRequest, query: web::Query<FeedQuery>, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    serve_peer(req, query, hub, |c, local, link, peer_hub, after, limit| {
        let page = federation::peer_feed(c, local, link, peer_hub, after, limit, federation::feed::scan_cap(limit))?;
        Ok(page_json(local.hub_id, &page))
    })
    .await
}

/// `GET /federation/sightings?hub=ID&after=N&limit=L`: the sightings aggregates feed
/// (`federated_sightings::feed`) for links that carry `sighting`.
pub async fn sightings(req: HttpRequest, query: web::Query<FeedQuery>, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    serve_peer(req, query, hub, |c, local, link, peer_hub, after, limit| {
        let page = crate::federation::sightings::feed(c, local, link, peer_hub, after, limit)?;
        serde_json::to_vec(&page).map_err(AppError::internal)
    })
    .await
}
