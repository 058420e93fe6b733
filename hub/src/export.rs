//! `GET /export/indicators`: the live indicators the caller may read, for firewalls,
//! SIEMs and IDSs: a plain list (`format=text`, one value a line; with `type=` a list per
//! type), CSV (`format=csv`) or Suricata 7 rules (`format=suricata`); and
//! `GET /export/indicators/suricata/{file}`: the hash-list files those rules name
//! (`renkei-sha256-amber.list`, one hash a line). Live means published, not expired and
//! scoring at least `minScore` (default `indicators.active_min_score`), exactly what
//! `indicators(filter: {active: true})` returns: both read through
//! `services::sharing::list`, so visibility is the schema policy's. Every line is written
//! by `renkei_schema::detect`, as the client's `renkei export` writes it. The answer
//! streams page by page, so its size never sits in the hub's memory.

use actix_web::{http::StatusCode, web, HttpRequest, HttpResponse};
use futures::StreamExt as _;
use std::sync::Arc;

use renkei_schema::detect::{self, Format, HashList, Item, Rules};
use renkei_schema::errors::Code;
use renkei_schema::model::indicator::IndicatorType;
use renkei_schema::model::Kind;
use renkei_schema::tlp::Tlp;

use crate::error::AppError;
use crate::services::sharing::{self, ListFilter, ScoreFloor};
use crate::state::Hub;

#[derive(serde::Deserialize)]
pub struct ExportQuery {
    /// `text` (default; `plain` too), `csv` or `suricata`.
    format: Option<String>,
    /// An indicator type as GraphQL names it (`IPV4`, `DOMAIN`, …).
    #[serde(rename = "type")]
    indicator_type: Option<String>,
    #[serde(rename = "minScore")]
    min_score: Option<u8>,
}

/// The query of a hash list: only the threshold (the file names the type and label).
#[derive(serde::Deserialize)]
pub struct ListQuery {
    #[serde(rename = "minScore")]
    min_score: Option<u8>,
}

/// Rows read per database round trip, and per chunk of the streamed answer.
const PAGE: usize = 5000;

/// Chunks produced ahead of what the client has read: the answer streams, so an export
/// of a million indicators never sits in the hub's memory whole.
const CHUNKS_AHEAD: usize = 2;

/// What an export writes, with what it carries from page to page.
enum Writer {
    Plain,
    Csv,
    /// The rules so far (sids taken, hash lists that received an item).
    Rules(Box<Rules>),
    List(HashList),
}

impl Writer {
    fn head(&self) -> String {
        match self {
            Writer::Plain | Writer::List(_) => String::new(),
            Writer::Csv => detect::CSV_HEADER.to_string(),
            Writer::Rules(_) => Rules::header(),
        }
    }

    /// What follows the last page: the rules of the hash lists.
    fn tail(&self, out: &mut String) {
        if let Writer::Rules(rules) = self {
            rules.finish(out);
        }
    }

    fn content_type(&self) -> &'static str {
        match self {
            Writer::Csv => Format::Csv.content_type(),
            _ => Format::Plain.content_type(),
        }
    }
}

/// One page of the export after `after`: its text and where the next page starts (the
/// tail is added after the last page).
fn export_page(
    c: &mut crate::store::DbConn,
    hub: &Hub,
    identity: &crate::auth::Identity,
    filter: &ListFilter,
    writer: &mut Writer,
    after: i64,
) -> crate::error::AppResult<(String, Option<i64>)> {
    let viewer = identity.viewer();
    let (rows, more) = sharing::list(c, &viewer, Kind::Indicator, filter, PAGE, after)?;
    let csv = matches!(writer, Writer::Csv);
    let ids: Vec<String> = if csv { rows.iter().map(|r| r.id.clone()).collect() } else { Vec::new() };
    let sightings = if csv { crate::services::sightings::summaries(c, &ids)? } else { Default::default() };
    let mut out = String::with_capacity(rows.len() * 64);
    // Sealed TLP:RED indicators have no readable value.
    for row in rows.iter().filter(|r| !crate::services::stored::is_sealed(r)) {
        let (Some(kind), Ok(tlp), Some(value)) = (
            row.indicator_type.as_deref().and_then(IndicatorType::parse),
            row.tlp.parse::<Tlp>(),
            row.indicator_value.as_deref(),
        ) else {
            tracing::warn!(id = %row.id, "export: a stored indicator without a known type, label or value is left out");
            continue;
        };
        // Only the CSV shows the score (the list already left out those below the floor).
        let score = if csv {
            sharing::indicator_score(row, sightings.get(&row.id), &hub.config.indicators.half_life_days)?
        } else {
            0
        };
        let item = Item { id: &row.id, kind, value, tlp, valid_until: row.valid_until.as_deref(), score };
        match writer {
            Writer::Plain => detect::plain_line(&item, &mut out),
            Writer::Csv => detect::csv_row(&item, &mut out),
            Writer::Rules(rules) => rules.push(&item, &mut out),
            Writer::List(list) => {
                if list.holds(&item) {
                    HashList::line(&item, &mut out);
                }
            }
        }
    }
    let next = match rows.last() {
        Some(last) if more => Some(last.first_seq),
        _ => None,
    };
    if next.is_none() {
        writer.tail(&mut out);
    }
    Ok((out, next))
}

fn bad_export(status: StatusCode, en: String, ja: String) -> HttpResponse {
    crate::http::gate::error_response(status, &AppError::new(Code::BadExport, en, ja))
}

/// The caller, if it may export indicators.
async fn exporter(hub: &Arc<Hub>, req: &HttpRequest) -> Result<crate::auth::Identity, HttpResponse> {
    let identity = crate::http::gate::require_identity(hub, req).await?;
    if identity.role == crate::auth::Role::Peer {
        return Err(crate::http::gate::error_response(
            StatusCode::FORBIDDEN,
            &AppError::forbidden("export as a peer hub (peers read the federation feed)"),
        ));
    }
    if let Err(e) = identity.require_indicators() {
        return Err(crate::http::gate::error_response(StatusCode::FORBIDDEN, &e));
    }
    Ok(identity)
}

/// `GET /export/indicators/suricata/{file}`: one hash list a rules file names.
pub async fn hash_list(
    req: HttpRequest,
    file: web::Path<String>,
    query: web::Query<ListQuery>,
    hub: web::Data<Arc<Hub>>,
) -> HttpResponse {
    let identity = match exporter(&hub, &req).await {
        Ok(identity) => identity,
        Err(response) => return response,
    };
    let Some(list) = HashList::parse_file_name(&file) else {
        let names: Vec<String> = HashList::all().map(HashList::file_name).collect();
        return bad_export(
            StatusCode::NOT_FOUND,
            format!(
                "{:?} is not a hash list the rules name (renkei-<md5|sha1|sha256>-<label>.list, e.g. {})",
                file.as_str(),
                names[0]
            ),
            format!("「{}」はルールが参照するハッシュリストではありません（例：{}）", file.as_str(), names[0]),
        );
    };
    let policy = &hub.config.indicators;
    let min = query.min_score.unwrap_or(policy.active_min_score).min(100);
    let filter = ListFilter {
        indicator_type: Some(list.kind),
        tlp: Some(list.tlp),
        include_revoked: false,
        active: true,
        min_score: Some(ScoreFloor { min, half_life_days: policy.half_life_days }),
    };
    stream(Arc::clone(&hub), identity, filter, Writer::List(list)).await
}

/// `GET /export/indicators`.
pub async fn indicators(req: HttpRequest, query: web::Query<ExportQuery>, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let identity = match exporter(&hub, &req).await {
        Ok(identity) => identity,
        Err(response) => return response,
    };
    let format = match query.format.as_deref() {
        None => Format::Plain,
        Some(f) => match Format::parse(f) {
            Some(format) => format,
            None => {
                return bad_export(
                    StatusCode::BAD_REQUEST,
                    format!("format {f:?}: expected text, csv or suricata"),
                    format!("形式「{f}」は使えません（text、csvまたはsuricata）"),
                )
            }
        },
    };
    let indicator_type = match query.indicator_type.as_deref() {
        None => None,
        Some(t) => match IndicatorType::parse(&t.to_ascii_lowercase()) {
            Some(t) => Some(t),
            None => {
                return bad_export(
                    StatusCode::BAD_REQUEST,
                    format!("type {t:?} is not an indicator type (IPV4, IPV6, CIDR, DOMAIN, URL, EMAIL, MD5, SHA1, SHA256, FILENAME)"),
                    format!("「{t}」は指標の種類ではありません（IPV4、IPV6、CIDR、DOMAIN、URL、EMAIL、MD5、SHA1、SHA256、FILENAME）"),
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
    let writer = match format {
        Format::Plain => Writer::Plain,
        Format::Csv => Writer::Csv,
        Format::Suricata => Writer::Rules(Box::default()),
    };
    stream(Arc::clone(&hub), identity, filter, writer).await
}

/// Streams an export: the first page is read before answering, so a failure still gets
/// its status; later pages stream from a blocking task, a few chunks ahead of the
/// client.
async fn stream(hub: Arc<Hub>, identity: crate::auth::Identity, filter: ListFilter, writer: Writer) -> HttpResponse {
    let content_type = writer.content_type();
    let first = {
        let (identity, filter) = (identity.clone(), filter.clone());
        hub.db(move |hub, c| {
            let mut writer = writer;
            let (page, next) = export_page(c, hub, &identity, &filter, &mut writer, 0)?;
            Ok((format!("{}{page}", writer.head()), next, writer))
        })
        .await
    };
    let (first, mut next, mut writer) = match first {
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
                    let _ = tx.blocking_send(Err(std::io::Error::other(e.message)));
                    return;
                }
            };
            while let Some(after) = next {
                match export_page(&mut conn, &hub, &identity, &filter, &mut writer, after) {
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
    HttpResponse::Ok().content_type(content_type).streaming(body)
}
