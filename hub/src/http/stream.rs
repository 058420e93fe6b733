//! Live pushes over plain HTTP, for clients without WebSocket: `GET /changes/stream`
//! (Server-Sent Events; the member client's `sync --follow` reads it) and
//! `GET /federation/wake` (a peer hub's puller waits on it instead of sleeping out its
//! poll). Both come from `crate::live`, which decides every entry with the feed's policy.
//! The WebSocket subscription (`graphql_ws`) is the same stream over graphql-transport-ws.
//!
//! Event stream format: each push is `id: <cursor>`, `event: changes`, `data: <JSON>`
//! with the JSON of the GraphQL `ChangePush` (items as in `changes`, `cursor`,
//! `hasMore`, `behind`); a comment line every `KEEPALIVE` keeps proxies from closing an
//! idle stream; an `event: error` with the coded error ends it. A client resumes with
//! `Last-Event-ID` (or `?after=`).

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use futures::{Stream, StreamExt};
use serde::Deserialize;
use serde_json::json;

use super::gate::{error_response, require_identity, token_of};
use crate::auth::Role;
use crate::error::AppError;
use crate::live::{self, Audience, Push};
use crate::state::{Hub, Metrics};

/// A comment line this often on an idle stream.
const KEEPALIVE: Duration = Duration::from_secs(15);

#[derive(Deserialize)]
pub struct StreamQuery {
    after: Option<String>,
    /// `/federation/wake`: the peer's hub id, as for `/federation/changes`.
    hub: Option<String>,
}

/// Where to resume: `Last-Event-ID` (an EventSource reconnecting) before `?after=`.
fn resume_point(req: &HttpRequest, query: &StreamQuery) -> Result<i64, AppError> {
    let given = req.headers().get("last-event-id").and_then(|v| v.to_str().ok()).or(query.after.as_deref());
    match given {
        None | Some("") => Ok(0),
        Some(s) => s.trim().parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            AppError::new(
                renkei_schema::errors::Code::InvalidCursor,
                "not a cursor returned by this hub",
                "このハブが返したカーソルではありません",
            )
        }),
    }
}

/// The API's name of a stored label (`TLP:AMBER+STRICT` → `AMBER_STRICT`), as GraphQL's
/// `tlp` field writes it.
fn api_label(stored: &str) -> String {
    stored.trim_start_matches("TLP:").replace("+STRICT", "_STRICT")
}

/// One pushed entry as the JSON of GraphQL's `Change`; `object` is the stored
/// (canonical, signed) text, written as it is.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct PushedChange<'a> {
    seq: String,
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'a str,
    version: i64,
    tlp: String,
    deleted: bool,
    object: Option<&'a serde_json::value::RawValue>,
    signature: Option<&'a str>,
    origin_hub: Option<String>,
    signing_key: Option<String>,
}

/// A push as the JSON of GraphQL's `ChangePush`.
fn push_json(hub: &Hub, push: Push) -> String {
    let items: Vec<PushedChange<'_>> = push
        .items
        .iter()
        .map(|i| {
            let (origin_hub, signing_key) = live::origin_and_key(hub, i);
            PushedChange {
                seq: i.seq.to_string(),
                id: &i.id,
                kind: &i.kind,
                version: i.revision,
                tlp: api_label(&i.tlp),
                deleted: i.deleted,
                object: i.stix.as_deref().and_then(|s| serde_json::from_str::<&serde_json::value::RawValue>(s).ok()),
                signature: i.signature.as_deref(),
                origin_hub,
                signing_key,
            }
        })
        .collect();
    #[derive(serde::Serialize)]
    #[serde(rename_all = "camelCase")]
    struct PushJson<'a> {
        items: Vec<PushedChange<'a>>,
        cursor: String,
        has_more: bool,
        behind: bool,
    }
    let body = PushJson { items, cursor: push.cursor.to_string(), has_more: push.has_more, behind: push.behind };
    // Plain data: serialising cannot fail.
    serde_json::to_string(&body).unwrap_or_default()
}

fn event(name: &str, id: Option<i64>, data: &str) -> web::Bytes {
    let mut out = String::new();
    if let Some(id) = id {
        out.push_str(&format!("id: {id}\n"));
    }
    out.push_str(&format!("event: {name}\ndata: {data}\n\n"));
    web::Bytes::from(out)
}

fn error_event(e: &AppError) -> web::Bytes {
    let data = json!({"code": e.code.to_string(), "message": e.message, "messageJa": e.message_ja});
    event("error", None, &data.to_string())
}

/// The pushes as an event stream, with keep-alive comments while idle; ends after an
/// error event.
fn event_stream(
    pushes: impl Stream<Item = crate::error::AppResult<web::Bytes>> + Unpin + 'static,
) -> impl Stream<Item = Result<web::Bytes, actix_web::Error>> {
    // `retry:` tells an EventSource how soon to reconnect.
    let opening = futures::stream::once(async { Ok(web::Bytes::from_static(b"retry: 1000\n\n")) });
    let body = futures::stream::unfold((pushes, false), |(mut pushes, ended)| async move {
        if ended {
            return None;
        }
        match tokio::time::timeout(KEEPALIVE, pushes.next()).await {
            Err(_) => Some((Ok(web::Bytes::from_static(b": keepalive\n\n")), (pushes, false))),
            Ok(None) => None,
            Ok(Some(Ok(bytes))) => Some((Ok(bytes), (pushes, false))),
            Ok(Some(Err(e))) => Some((Ok(error_event(&e)), (pushes, true))),
        }
    });
    opening.chain(body)
}

fn streaming(body: impl Stream<Item = Result<web::Bytes, actix_web::Error>> + 'static) -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("cache-control", "no-cache"))
        // nginx and similar proxies would otherwise buffer the stream.
        .insert_header(("x-accel-buffering", "no"))
        .streaming(body)
}

/// The caller of a stream and where it resumes: members on `/changes/stream`, peer hubs
/// (`peer`) on `/federation/wake`, each refused the other's.
async fn opening(
    hub: &Arc<Hub>,
    req: &HttpRequest,
    query: &StreamQuery,
    peer: bool,
) -> Result<(crate::auth::Identity, i64), HttpResponse> {
    let identity = require_identity(hub, req).await?;
    if (identity.role == Role::Peer) != peer {
        let refusal = if peer {
            AppError::forbidden("read the federation feed (peer hubs only)")
        } else {
            AppError::forbidden("follow the members' feed with a peer hub's token (use /federation/wake)")
        };
        return Err(error_response(StatusCode::FORBIDDEN, &refusal));
    }
    let after = resume_point(req, query).map_err(|e| error_response(StatusCode::BAD_REQUEST, &e))?;
    Ok((identity, after))
}

/// `GET /changes/stream`: the member's live feed as Server-Sent Events.
pub async fn changes(req: HttpRequest, query: web::Query<StreamQuery>, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    Metrics::add(&hub.metrics.http_requests, 1);
    let (identity, after) = match opening(&hub, &req, &query, false).await {
        Ok(opened) => opened,
        Err(response) => return response,
    };
    let token = token_of(req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or(""));
    let page = hub.config.limits.max_changes_page.min(1000);
    let hub = Arc::clone(hub.get_ref());
    let for_json = Arc::clone(&hub);
    let pushes = match live::follow(hub, Audience::Member { identity, token }, after, page) {
        Ok(pushes) => pushes,
        Err(e) => return error_response(super::gate::status_of(&e, StatusCode::TOO_MANY_REQUESTS), &e),
    };
    let pushes = pushes.map(move |push| {
        push.map(|push| {
            let cursor = push.cursor;
            event("changes", Some(cursor), &push_json(&for_json, push))
        })
    });
    streaming(event_stream(Box::pin(pushes)))
}

/// `GET /federation/wake?hub=<peer hub id>&after=<cursor>`: an event (`wake`, with the
/// cursor of the last entry) each time the link's feed has something new for the peer
/// after `after`. It carries no content: the peer's puller then reads
/// `/federation/changes`, which checks and pages as always.
pub async fn federation_wake(
    req: HttpRequest,
    query: web::Query<StreamQuery>,
    hub: web::Data<Arc<Hub>>,
) -> HttpResponse {
    Metrics::add(&hub.metrics.http_requests, 1);
    let (identity, after) = match opening(&hub, &req, &query, true).await {
        Ok(opened) => opened,
        Err(response) => return response,
    };
    let Some(peer_hub) = query.hub.clone().filter(|h| !h.is_empty()) else {
        return error_response(
            StatusCode::BAD_REQUEST,
            &AppError::invalid("give your hub id: ?hub=", "ハブIDを ?hub= で指定してください"),
        );
    };
    let presented = req.conn_data::<super::gate::ClientCertificate>().map(|c| c.0.clone());
    let (org, peer, shown) = (identity.org_id.clone(), peer_hub.clone(), presented.clone());
    let link = match hub.db(move |_, c| crate::federation::feed::authorize(c, &org, shown.as_deref(), &peer)).await {
        Ok(link) => link,
        Err(e) => return error_response(super::gate::status_of(&e, StatusCode::FORBIDDEN), &e),
    };
    let audience = match link.link() {
        Ok(view) => {
            Audience::Peer { org_id: identity.org_id.clone(), peer_hub, presented, link: view, kinds: link.kinds() }
        }
        Err(e) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, &e),
    };
    let wakes = match live::follow(Arc::clone(hub.get_ref()), audience, after, 1000) {
        Ok(wakes) => wakes,
        Err(e) => return error_response(super::gate::status_of(&e, StatusCode::TOO_MANY_REQUESTS), &e),
    };
    let wakes = wakes.map(|push| {
        push.map(|push| event("wake", Some(push.cursor), &json!({"cursor": push.cursor.to_string()}).to_string()))
    });
    streaming(event_stream(Box::pin(wakes)))
}
