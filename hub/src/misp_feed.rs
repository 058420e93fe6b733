//! The MISP feed each member subscribes to: the layout MISP's "Feeds" setting
//! consumes with source format "MISP Feed".
//!
//! - `GET /misp/feed/manifest.json`: `{event uuid: {info, date, timestamp, analysis,
//!   threat_level_id, Orgc, Tag}}`, what MISP reads first to decide which events are
//!   new or changed (a newer `timestamp`).
//! - `GET /misp/feed/{uuid}.json`: one event, `{"Event": {…}}`.
//! - `GET /misp/feed/hashes.csv`: `md5 of the value,event uuid` per attribute, which
//!   MISP's feed cache reads to correlate without downloading every event.
//!
//! Every answer holds exactly what the caller's token may read, as the GraphQL lists
//! show it (indicators, advisories, techniques; the default lists, so pending items of
//! the caller's own organisation too, never revoked ones): the items are read through
//! `services::sharing::list` and `services::stored::get_many`, so the schema's TLP
//! policy decides, nowhere here. An event the caller may not read answers exactly like
//! a missing one (404, same body). How an item becomes an event is
//! `renkei_schema::misp` (one event per item, uuid the item's, the label as its `tlp:`
//! tag, the hub as the creating organisation). The manifest and `hashes.csv` stream
//! page by page, like the exports, so a large hub's never sit in memory whole.
//!
//! MISP sends the member's token in the feed's custom header
//! (`Authorization: Bearer rk_…`); without a valid one the answer is 401.

use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use futures::StreamExt as _;
use std::sync::Arc;

use renkei_schema::misp::{self, Orgc, FEED_KINDS};
use renkei_schema::model::Kind;

use crate::auth::Identity;
use crate::error::{AppError, AppResult};
use crate::http::gate::{error_response, require_identity, status_of};
use crate::services::sharing::{self, ListFilter};
use crate::services::stored;
use crate::state::Hub;

/// Rows read per database round trip, and per chunk of a streamed answer.
const PAGE: usize = 2000;

/// Chunks produced ahead of what the client has read.
const CHUNKS_AHEAD: usize = 2;

/// Where a streamed listing stands: the kind (index into the kinds served) and the
/// last `first_seq` read of it.
type Cursor = (usize, i64);

/// The kinds this caller's feed holds: a procurement token without the `indicators`
/// grant reads no indicators, as in GraphQL.
fn kinds_for(identity: &Identity) -> Vec<Kind> {
    FEED_KINDS.into_iter().filter(|k| *k != Kind::Indicator || identity.may_read_indicators()).collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Listing {
    Manifest,
    Hashes,
}

/// One page of a listing from `cursor`: its text and where the next page starts.
fn listing_page(
    c: &mut crate::store::DbConn,
    identity: &Identity,
    kinds: &[Kind],
    orgc: &Orgc,
    listing: Listing,
    cursor: Cursor,
    first_entry: &mut bool,
) -> AppResult<(String, Option<Cursor>)> {
    let (mut index, mut after) = cursor;
    let mut out = String::new();
    while let Some(kind) = kinds.get(index) {
        let (rows, more) = sharing::list(c, &identity.viewer(), *kind, &ListFilter::default(), PAGE, after)?;
        for row in &rows {
            let (envelope, body) = stored::parts_of(row)?;
            match listing {
                Listing::Manifest => {
                    if let Some((uuid, entry)) = misp::manifest_entry(&envelope, &body, orgc) {
                        if !std::mem::take(first_entry) {
                            out.push(',');
                        }
                        out.push_str(&serde_json::Value::String(uuid).to_string());
                        out.push(':');
                        out.push_str(&entry.to_string());
                    }
                }
                Listing::Hashes => {
                    for line in misp::hash_lines(&envelope, &body) {
                        out.push_str(&line);
                        out.push('\n');
                    }
                }
            }
        }
        match rows.last() {
            Some(last) if more => {
                after = last.first_seq;
                // A full page: answer it, the next one starts after its last row.
                return Ok((out, Some((index, after))));
            }
            _ => {
                index += 1;
                after = 0;
            }
        }
    }
    Ok((out, None))
}

/// Streams a listing: the first page is read before answering (so a failure still gets
/// its status), later pages from a blocking task a few chunks ahead of the client.
async fn stream_listing(hub: web::Data<Arc<Hub>>, identity: Identity, listing: Listing) -> HttpResponse {
    let kinds = kinds_for(&identity);
    let orgc = Orgc::hub(&hub.hub_id, &hub.config.hub_name);
    let first = {
        let (identity, kinds, orgc) = (identity.clone(), kinds.clone(), orgc.clone());
        hub.db(move |_, c| {
            let mut first_entry = true;
            let (page, next) = listing_page(c, &identity, &kinds, &orgc, listing, (0, 0), &mut first_entry)?;
            Ok((page, next, first_entry))
        })
        .await
    };
    let (page, mut next, mut first_entry) = match first {
        Ok(first) => first,
        Err(e) => return error_response(status_of(&e, StatusCode::INTERNAL_SERVER_ERROR), &e),
    };
    let (head, tail) = match listing {
        Listing::Manifest => ("{", "}"),
        Listing::Hashes => ("", ""),
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, std::io::Error>>(CHUNKS_AHEAD);
    let hub = Arc::clone(&hub);
    tokio::task::spawn_blocking(move || {
        if next.is_some() {
            let mut conn = match hub.connection() {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(code = e.code.as_str(), "misp feed: no database connection for the next page");
                    let _ = tx.blocking_send(Err(std::io::Error::other(e.message)));
                    return;
                }
            };
            while let Some(cursor) = next {
                match listing_page(&mut conn, &identity, &kinds, &orgc, listing, cursor, &mut first_entry) {
                    Ok((page, more)) => {
                        next = more;
                        // The client went away: stop reading.
                        if tx.blocking_send(Ok(web::Bytes::from(page))).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(code = e.code.as_str(), "misp feed: a later page failed; the answer ends early");
                        let _ = tx.blocking_send(Err(std::io::Error::other(e.message)));
                        return;
                    }
                }
            }
        }
        let _ = tx.blocking_send(Ok(web::Bytes::from_static(tail.as_bytes())));
    });
    let rest = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) });
    let body = futures::stream::once(async move { Ok::<_, std::io::Error>(web::Bytes::from(format!("{head}{page}"))) })
        .chain(rest);
    HttpResponse::Ok()
        .content_type(match listing {
            Listing::Manifest => "application/json",
            Listing::Hashes => "text/csv; charset=utf-8",
        })
        .streaming(body)
}

/// The one answer for an event that does not exist, that the caller may not read, or
/// a file name that is not one of the feed's.
fn no_such_event() -> HttpResponse {
    error_response(StatusCode::NOT_FOUND, &AppError::not_found("MISP feed event"))
}

async fn event(hub: web::Data<Arc<Hub>>, identity: Identity, uuid: String) -> HttpResponse {
    let Some(ids) = misp::item_ids(&uuid) else {
        return no_such_event();
    };
    let kinds = kinds_for(&identity);
    let orgc = Orgc::hub(&hub.hub_id, &hub.config.hub_name);
    let found = hub
        .db(move |_, c| {
            let rows = stored::get_many(c, &identity.viewer(), &ids)?;
            for row in rows {
                let (envelope, body) = stored::parts_of(&row)?;
                if kinds.contains(&body.kind()) {
                    return Ok(misp::feed_event(&envelope, &body, &orgc));
                }
            }
            Ok(None)
        })
        .await;
    match found {
        Ok(Some(event)) => HttpResponse::Ok().content_type("application/json").body(event.to_string()),
        Ok(None) => no_such_event(),
        Err(e) => error_response(status_of(&e, StatusCode::INTERNAL_SERVER_ERROR), &e),
    }
}

/// `GET /misp/feed/{file}`: the manifest, `hashes.csv` or one event.
pub async fn feed(req: HttpRequest, file: web::Path<String>, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let identity = match require_identity(&hub, &req).await {
        Ok(identity) => identity,
        Err(response) => return response,
    };
    if identity.role == crate::auth::Role::Peer {
        return error_response(
            StatusCode::FORBIDDEN,
            &AppError::forbidden("read the MISP feed as a peer hub (peers read the federation feed)"),
        );
    }
    // A feed URL configured with a trailing slash makes MISP ask for `…/feed//manifest.json`.
    let file = file.into_inner();
    match file.trim_start_matches('/') {
        "manifest.json" => stream_listing(hub, identity, Listing::Manifest).await,
        "hashes.csv" => stream_listing(hub, identity, Listing::Hashes).await,
        other => match other.strip_suffix(".json") {
            Some(uuid) => event(hub, identity, uuid.to_string()).await,
            None => no_such_event(),
        },
    }
}
