//! `GET /export/indicators`: the live indicators the caller may read, as a plain list
//! for firewalls and SIEMs (one value per line) or CSV. Live means published, not
//! expired and scoring at least `minScore` (default `indicators.active_min_score`),
//! exactly what `indicators(filter: {active: true})` returns: both read through
//! `services::sharing::list`, so visibility is the schema policy's. CSV cells that a
//! spreadsheet would take as formulas are neutralised (`renkei_schema::csv`). The answer
//! streams page by page, so its size never sits in the hub's memory.

use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use futures::StreamExt as _;
use std::sync::Arc;

use renkei_schema::model::indicator::IndicatorType;
use renkei_schema::model::Kind;

use crate::error::AppError;
use crate::services::sharing::{self, ListFilter, ScoreFloor};
use crate::state::Hub;

#[derive(serde::Deserialize)]
pub struct ExportQuery {
    /// `text` (default) or `csv`.
    format: Option<String>,
    /// An indicator type as GraphQL names it (`IPV4`, `DOMAIN`, …).
    #[serde(rename = "type")]
    indicator_type: Option<String>,
    #[serde(rename = "minScore")]
    min_score: Option<u8>,
}

/// Rows read per database round trip, and per chunk of the streamed answer.
const PAGE: usize = 5000;

/// Chunks produced ahead of what the client has read: the answer streams, so an export
/// of a million indicators never sits in the hub's memory whole.
const CHUNKS_AHEAD: usize = 2;

/// One page of the export after `after`: its text and where the next page starts.
fn export_page(
    c: &mut crate::store::DbConn,
    hub: &Hub,
    identity: &crate::auth::Identity,
    filter: &ListFilter,
    csv: bool,
    after: i64,
) -> crate::error::AppResult<(String, Option<i64>)> {
    let viewer = identity.viewer();
    let (rows, more) = sharing::list(c, &viewer, Kind::Indicator, filter, PAGE, after)?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let sightings = if csv { crate::services::sightings::summaries(c, &ids)? } else { Default::default() };
    let mut out = String::with_capacity(rows.len() * 64);
    for row in &rows {
        let value = row.indicator_value.as_deref().unwrap_or("");
        if csv {
            let score = sharing::indicator_score(row, sightings.get(&row.id), &hub.config.indicators.half_life_days)?;
            let score = score.to_string();
            out.push_str(&renkei_schema::csv::row(&[
                value,
                row.indicator_type.as_deref().unwrap_or(""),
                &row.tlp,
                &score,
                row.valid_until.as_deref().unwrap_or(""),
                &row.id,
            ]));
        } else {
            out.push_str(value);
            out.push('\n');
        }
    }
    let next = match rows.last() {
        Some(last) if more => Some(last.first_seq),
        _ => None,
    };
    Ok((out, next))
}

pub async fn indicators(req: HttpRequest, query: web::Query<ExportQuery>, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let identity = match crate::http::gate::require_identity(&hub, &req).await {
        Ok(identity) => identity,
        Err(response) => return response,
    };
    if identity.role == crate::auth::Role::Peer {
        return crate::http::gate::error_response(
            StatusCode::FORBIDDEN,
            &AppError::forbidden("export as a peer hub (peers read the federation feed)"),
        );
    }
    if let Err(e) = identity.require_indicators() {
        return crate::http::gate::error_response(StatusCode::FORBIDDEN, &e);
    }
    let csv = match query.format.as_deref() {
        None | Some("text") => false,
        Some("csv") => true,
        Some(other) => {
            return crate::http::gate::error_response(
                StatusCode::BAD_REQUEST,
                &AppError::invalid(
                    format!("format {other:?}: expected text or csv"),
                    format!("形式「{other}」は使えません（textまたはcsv）"),
                ),
            )
        }
    };
    let indicator_type = match query.indicator_type.as_deref() {
        None => None,
        Some(t) => match IndicatorType::parse(&t.to_ascii_lowercase()) {
            Some(t) => Some(t),
            None => {
                return crate::http::gate::error_response(
                    StatusCode::BAD_REQUEST,
                    &AppError::invalid(
                        format!("type {t:?} is not an indicator type"),
                        format!("「{t}」は指標の種類ではありません"),
                    ),
                )
            }
        },
    };
    let policy = &hub.config.indicators;
    let min = query.min_score.unwrap_or(policy.active_min_score).min(100);
    let filter = ListFilter {
        indicator_type,
        tlp: None,
        include_revoked: false,
        active: true,
        min_score: Some(ScoreFloor { min, half_life_days: policy.half_life_days }),
    };
    // The first page is read before answering, so a failure still gets its status;
    // later pages stream from a blocking task, a few chunks ahead of the client.
    let first = {
        let (identity, filter) = (identity.clone(), filter.clone());
        hub.db(move |hub, c| {
            let (page, next) = export_page(c, hub, &identity, &filter, csv, 0)?;
            let head = if csv { "value,type,tlp,score,valid_until,id\n" } else { "" };
            Ok((format!("{head}{page}"), next))
        })
        .await
    };
    let (first, mut next) = match first {
        Ok(first) => first,
        Err(e) => {
            return crate::http::gate::error_response(
                crate::http::gate::status_of(&e, StatusCode::INTERNAL_SERVER_ERROR),
                &e,
            );
        }
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<web::Bytes, std::io::Error>>(CHUNKS_AHEAD);
    if next.is_some() {
        let hub = Arc::clone(&hub);
        tokio::task::spawn_blocking(move || {
            let mut conn = match hub.connection() {
                Ok(conn) => conn,
                Err(e) => {
                    tracing::warn!(code = e.code.as_str(), "export: no database connection for the next page");
                    return;
                }
            };
            while let Some(after) = next {
                match export_page(&mut conn, &hub, &identity, &filter, csv, after) {
                    Ok((page, more)) => {
                        next = more;
                        // The client went away: stop reading.
                        if tx.blocking_send(Ok(web::Bytes::from(page))).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        tracing::warn!(code = e.code.as_str(), "export: a later page failed; the answer ends early");
                        let _ = tx.blocking_send(Err(std::io::Error::other(e.message)));
                        return;
                    }
                }
            }
        });
    }
    let rest = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|chunk| (chunk, rx)) });
    let body = futures::stream::once(async move { Ok::<_, std::io::Error>(web::Bytes::from(first)) }).chain(rest);
    HttpResponse::Ok()
        .content_type(if csv { "text/csv; charset=utf-8" } else { "text/plain; charset=utf-8" })
        .streaming(body)
}
