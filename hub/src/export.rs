//! `GET /export/indicators`: the live indicators the caller may read, as a plain list
//! for firewalls and SIEMs (one value per line) or CSV. Live means published, not
//! expired and scoring at least `minScore` (default `indicators.active_min_score`),
//! exactly what `indicators(filter: {active: true})` returns: both read through
//! `services::sharing::list`, so visibility is the schema policy's.

use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
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

/// Rows read per database round trip.
const PAGE: usize = 5000;

fn csv_field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

pub async fn indicators(req: HttpRequest, query: web::Query<ExportQuery>, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let identity = match crate::http::require_identity(&hub, &req).await {
        Ok(identity) => identity,
        Err(response) => return response,
    };
    if identity.role == crate::auth::Role::Peer {
        return crate::http::error_response(
            StatusCode::FORBIDDEN,
            &AppError::forbidden("export as a peer hub (peers read the federation feed)"),
        );
    }
    if let Err(e) = identity.require_indicators() {
        return crate::http::error_response(StatusCode::FORBIDDEN, &e);
    }
    let csv = match query.format.as_deref() {
        None | Some("text") => false,
        Some("csv") => true,
        Some(other) => {
            return crate::http::error_response(
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
                return crate::http::error_response(
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
    let result = hub
        .db(move |hub, c| {
            let viewer = identity.viewer();
            let mut out = String::new();
            if csv {
                out.push_str("value,type,tlp,score,valid_until,id\n");
            }
            let mut after = 0;
            loop {
                let (rows, more) = sharing::list(c, &viewer, Kind::Indicator, &filter, PAGE, after)?;
                let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
                let sightings = if csv { crate::services::sightings::summaries(c, &ids)? } else { Default::default() };
                for row in &rows {
                    let value = row.indicator_value.as_deref().unwrap_or("");
                    if csv {
                        let score = sharing::indicator_score(
                            row,
                            sightings.get(&row.id),
                            &hub.config.indicators.half_life_days,
                        )?;
                        csv_field(&mut out, value);
                        out.push(',');
                        out.push_str(row.indicator_type.as_deref().unwrap_or(""));
                        out.push(',');
                        out.push_str(&row.tlp);
                        out.push(',');
                        out.push_str(&score.to_string());
                        out.push(',');
                        out.push_str(row.valid_until.as_deref().unwrap_or(""));
                        out.push(',');
                        out.push_str(&row.id);
                    } else {
                        out.push_str(value);
                    }
                    out.push('\n');
                }
                match rows.last() {
                    Some(last) if more => after = last.first_seq,
                    _ => return Ok(out),
                }
            }
        })
        .await;
    match result {
        Ok(body) => HttpResponse::Ok()
            .content_type(if csv { "text/csv; charset=utf-8" } else { "text/plain; charset=utf-8" })
            .body(body),
        Err(e) => crate::http::error_response(crate::http::status_of(&e, StatusCode::INTERNAL_SERVER_ERROR), &e),
    }
}
