//! The TAXII 2.1 server (OASIS TAXII 2.1; `../shared/reference/interop.md` §1): discovery
//! at `/taxii2/`, one API root at `/taxii2/hub/`, the configured collections, their
//! objects (GET and POST), each object and its versions, manifests, POST statuses and
//! DELETE.
//!
//! Nothing here decides who reads what: every page is read through `read::page`, which
//! asks the one TLP policy of every row for the caller's token, on every request
//! (`next` included). `next` is a stateless keyset cursor with a MAC, bound to the
//! caller's organisation, the collection, the endpoint and the filters; it stays valid
//! for as long as the caller likes and carries no rights of its own. POST runs the
//! import action (the share pipeline: moderation, allowlists, signing), like GraphQL's
//! `importStix`. A hidden object answers exactly like a missing one (404).

pub mod read;
pub mod status;

use actix_web::http::header::{HeaderValue, CONTENT_TYPE, WWW_AUTHENTICATE};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use futures::StreamExt as _;
use serde_json::{json, Map, Value};
use std::sync::Arc;

use renkei_schema::errors::Code;
use renkei_schema::model::Kind;
use renkei_schema::tlp::Tlp;

use crate::auth::Identity;
use crate::config::TaxiiCollection;
use crate::error::AppError;
use crate::services::import::{Defaults, Outcome};
use crate::state::Hub;
use read::{Entry, Selection};

/// The one TAXII media type, with its version, on every answer.
pub const TAXII_MEDIA_TYPE: &str = "application/taxii+json;version=2.1";
/// STIX 2.1's media type: a value in collections and manifests.
pub const STIX_MEDIA_TYPE: &str = "application/stix+json;version=2.1";
/// The API root (the only one).
pub const API_ROOT: &str = "/taxii2/hub/";

/// Mounts the endpoints (each also without its trailing slash: taxii2-client polls a
/// status without one, and MISP builds collection URLs without one).
pub fn routes(cfg: &mut web::ServiceConfig) {
    let both = |cfg: &mut web::ServiceConfig, path: &str, route: fn() -> actix_web::Route| {
        cfg.route(path, route());
        cfg.route(path.trim_end_matches('/'), route());
    };
    both(cfg, "/taxii2/", || web::get().to(discovery));
    both(cfg, "/taxii2/hub/", || web::get().to(api_root));
    both(cfg, "/taxii2/hub/status/{status}/", || web::get().to(get_status));
    both(cfg, "/taxii2/hub/collections/", || web::get().to(collections));
    both(cfg, "/taxii2/hub/collections/{collection}/", || web::get().to(collection));
    both(cfg, "/taxii2/hub/collections/{collection}/manifest/", || web::get().to(manifest));
    both(cfg, "/taxii2/hub/collections/{collection}/objects/", || web::get().to(get_objects));
    both(cfg, "/taxii2/hub/collections/{collection}/objects/", || web::post().to(post_objects));
    both(cfg, "/taxii2/hub/collections/{collection}/objects/{object}/", || web::get().to(get_object));
    both(cfg, "/taxii2/hub/collections/{collection}/objects/{object}/", || web::delete().to(delete_object));
    both(cfg, "/taxii2/hub/collections/{collection}/objects/{object}/versions/", || web::get().to(versions));
}

// ----- answers -------------------------------------------------------------------------

fn taxii_json(status: StatusCode, body: &Value) -> HttpResponse {
    HttpResponse::build(status).insert_header((CONTENT_TYPE, TAXII_MEDIA_TYPE)).body(body.to_string())
}

/// A TAXII error message (§3.6.1): `title`, `description` (English), `http_status`, our
/// code as `error_code`, and the Japanese text in `details`.
fn error(status: StatusCode, err: &AppError) -> HttpResponse {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = json!({
        "title": title,
        "description": err.message,
        "error_code": err.code.as_str(),
        "http_status": status.as_u16().to_string(),
        "details": {"description_ja": err.message_ja, "code_meaning": err.code.meaning(), "code_meaning_ja": err.code.meaning_ja()},
    });
    let mut response = taxii_json(status, &body);
    if status == StatusCode::UNAUTHORIZED {
        response.headers_mut().insert(
            WWW_AUTHENTICATE,
            HeaderValue::from_static("Basic realm=\"renkei TAXII\", charset=\"UTF-8\", Bearer realm=\"renkei TAXII\""),
        );
    }
    response
}

fn not_found(what: &str) -> HttpResponse {
    error(StatusCode::NOT_FOUND, &AppError::not_found(what))
}

fn bad_request(en: impl Into<String>, ja: impl Into<String>) -> HttpResponse {
    error(StatusCode::BAD_REQUEST, &AppError::invalid(en, ja))
}

/// The HTTP status of a refusal from below: the caller's rights, a missing item, limits,
/// the database; any other coded refusal is content the hub will not take (422).
fn from_app_error(e: &AppError) -> HttpResponse {
    let status = match e.code {
        Code::Unauthenticated => StatusCode::UNAUTHORIZED,
        Code::Forbidden | Code::NotOrigin | Code::SelfApproval => StatusCode::FORBIDDEN,
        Code::NotFound => StatusCode::NOT_FOUND,
        Code::RateLimited | Code::LockedOut => StatusCode::TOO_MANY_REQUESTS,
        Code::Unavailable | Code::NotReady => StatusCode::SERVICE_UNAVAILABLE,
        Code::BodyTooLarge | Code::BatchTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        Code::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    error(status, e)
}

// ----- the caller and the request --------------------------------------------------------

/// The caller, or the answer for a caller without a valid token (401 with the challenge,
/// 429 when locked out or limited), as TAXII error messages.
async fn caller(hub: &Arc<Hub>, req: &HttpRequest) -> Result<Identity, HttpResponse> {
    if !hub.config.taxii.enabled {
        return Err(not_found("TAXII server"));
    }
    let refused = |status: StatusCode| {
        let err = if status == StatusCode::UNAUTHORIZED {
            AppError::new(
                Code::Unauthenticated,
                "a member's token is required: HTTP Basic with the token as the password, or Authorization: Bearer",
                "メンバーのトークンが必要です（HTTP Basicのパスワードにトークンを指定するか、Authorization: Bearer）",
            )
        } else if status == StatusCode::TOO_MANY_REQUESTS {
            AppError::new(
                Code::RateLimited,
                "too many requests or failed authentications",
                "要求または認証失敗が多すぎます",
            )
        } else {
            AppError::unavailable()
        };
        error(status, &err)
    };
    match crate::http::gate::authenticate(hub, req).await {
        Ok(Some(identity)) if identity.role != crate::auth::Role::Peer => Ok(identity),
        // Peer hubs read the federation feed, never TAXII.
        Ok(Some(_)) => Err(not_found("API root")),
        Ok(None) => {
            let address = crate::http::gate::client_address(hub, req);
            let response = refused(StatusCode::UNAUTHORIZED);
            Err(crate::http::gate::refuse_unauthenticated(hub, &address, response).await)
        }
        Err(response) => Err(refused(response.status())),
    }
}

/// The caller, once authenticated and its Accept header admitted.
async fn admitted(hub: &Arc<Hub>, req: &HttpRequest, stix: bool) -> Result<Identity, HttpResponse> {
    let identity = caller(hub, req).await?;
    acceptable(req, stix)?;
    Ok(identity)
}

/// [`admitted`], with the request's filters.
async fn accepted(hub: &Arc<Hub>, req: &HttpRequest, stix: bool) -> Result<(Identity, Filters), HttpResponse> {
    let identity = admitted(hub, req, stix).await?;
    Ok((identity, parse_filters(req)?))
}

/// Whether the Accept header admits a TAXII 2.1 answer (§1.6.8): a missing header,
/// `*/*`, `application/*`, or `application/taxii+json` with no version or 2.1 (and, where
/// `stix` is true, STIX 2.1's media type).
#[expect(clippy::result_large_err, reason = "the error is the HTTP answer itself, made once per refused request")]
fn acceptable(req: &HttpRequest, stix: bool) -> Result<(), HttpResponse> {
    let Some(accept) = req.headers().get("accept").and_then(|h| h.to_str().ok()) else {
        return Ok(());
    };
    let admits = accept.split(',').any(|range| {
        let compact: String = range.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
        let mut parts = compact.split(';');
        let media = parts.next().unwrap_or_default();
        let params: Vec<&str> = parts.filter(|p| !p.starts_with("q=")).collect();
        let version_ok = params.iter().all(|p| !p.starts_with("version=") || *p == "version=2.1");
        match media {
            "*/*" | "application/*" => true,
            "application/taxii+json" => version_ok,
            "application/stix+json" | "application/vnd.oasis.stix+json" => stix && version_ok,
            _ => false,
        }
    });
    if admits {
        Ok(())
    } else {
        Err(error(
            StatusCode::NOT_ACCEPTABLE,
            &AppError::new(
                Code::NotAcceptable,
                format!("Accept {accept:?}: this endpoint answers {TAXII_MEDIA_TYPE}"),
                format!("Accept {accept:?}: このエンドポイントの応答は {TAXII_MEDIA_TYPE} です"),
            ),
        ))
    }
}

/// The collection by id, if configured.
fn configured<'a>(hub: &'a Hub, id: &str) -> Option<&'a TaxiiCollection> {
    hub.config.taxii.collections.iter().find(|c| c.id.eq_ignore_ascii_case(id))
}

fn can_read(identity: &Identity, c: &TaxiiCollection) -> bool {
    !kinds_for(identity, c).is_empty()
}

fn can_write(identity: &Identity, c: &TaxiiCollection) -> bool {
    c.writable && identity.may_share()
}

/// The kinds of the collection the caller reads (procurement tokens without the
/// `indicators` grant read no indicators).
fn kinds_for(identity: &Identity, c: &TaxiiCollection) -> Vec<Kind> {
    c.kinds
        .iter()
        .filter_map(|k| Kind::parse(k))
        .filter(|k| *k != Kind::Indicator || identity.may_read_indicators())
        .collect()
}

fn labels_up_to(max: Tlp) -> Vec<Tlp> {
    Tlp::ALL.into_iter().filter(|t| *t <= max).collect()
}

fn collection_resource(identity: &Identity, c: &TaxiiCollection) -> Value {
    let mut o = json!({
        "id": c.id,
        "title": c.title,
        "can_read": can_read(identity, c),
        "can_write": can_write(identity, c),
        "media_types": [STIX_MEDIA_TYPE],
    });
    if !c.description.is_empty() {
        o["description"] = json!(c.description);
    }
    o
}

// ----- discovery, API root, collections ------------------------------------------------

async fn discovery(req: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    if let Err(r) = admitted(&hub, &req, false).await {
        return r;
    }
    taxii_json(
        StatusCode::OK,
        &json!({
            "title": hub.config.taxii.title,
            "description": format!("TAXII 2.1 server of renkei hub {}", hub.config.hub_name),
            "default": API_ROOT,
            "api_roots": [API_ROOT],
        }),
    )
}

async fn api_root(req: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    if let Err(r) = admitted(&hub, &req, false).await {
        return r;
    }
    taxii_json(
        StatusCode::OK,
        &json!({
            "title": format!("{} shared items", hub.config.hub_name),
            "description": "Items shared on this hub, filtered for the caller by TLP 2.0.",
            "versions": [TAXII_MEDIA_TYPE],
            "max_content_length": hub.config.taxii.max_content_length,
        }),
    )
}

async fn collections(req: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let identity = match admitted(&hub, &req, false).await {
        Ok(identity) => identity,
        Err(r) => return r,
    };
    let list: Vec<Value> = hub.config.taxii.collections.iter().map(|c| collection_resource(&identity, c)).collect();
    // Empty lists are not allowed in TAXII: the key is left out.
    let body = if list.is_empty() { json!({}) } else { json!({ "collections": list }) };
    taxii_json(StatusCode::OK, &body)
}

async fn collection(req: HttpRequest, path: web::Path<String>, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let identity = match admitted(&hub, &req, false).await {
        Ok(identity) => identity,
        Err(r) => return r,
    };
    match configured(&hub, &path) {
        Some(c) => taxii_json(StatusCode::OK, &collection_resource(&identity, c)),
        None => not_found("collection"),
    }
}

// ----- filters and cursors ---------------------------------------------------------------

/// Which versions of each object (`match[version]`).
#[derive(Debug, Clone, PartialEq)]
enum Versions {
    Last,
    First,
    All,
    Exactly(Vec<String>),
}

/// A request's filters (§3.4).
#[derive(Debug, Clone)]
struct Filters {
    added_after: Option<chrono::DateTime<chrono::Utc>>,
    limit: Option<usize>,
    next: Option<String>,
    ids: Option<Vec<String>>,
    types: Option<Vec<String>>,
    versions: Versions,
    spec_versions: Option<Vec<String>>,
    /// The filters as given, less `limit`, `next` and `added_after`: what a cursor is bound to.
    signature: String,
}

#[expect(clippy::result_large_err, reason = "the error is the HTTP answer itself, made once per refused request")]
fn parse_filters(req: &HttpRequest) -> Result<Filters, HttpResponse> {
    let mut seen: std::collections::HashMap<String, String> = std::collections::HashMap::new();
    for (k, v) in url::form_urlencoded::parse(req.query_string().as_bytes()) {
        let k = k.into_owned();
        if seen.contains_key(&k) {
            return Err(bad_request(format!("{k} appears more than once"), format!("{k} が複数回指定されています")));
        }
        seen.insert(k, v.into_owned());
    }
    let list = |key: &str| -> Option<Vec<String>> {
        seen.get(key).map(|v| v.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect())
    };
    let added_after = match seen.get("added_after") {
        None => None,
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t)
                .map_err(|_| {
                    bad_request(
                        format!("added_after {t:?} is not an RFC 3339 timestamp"),
                        format!("added_after {t:?} はRFC 3339形式の日時ではありません"),
                    )
                })?
                .with_timezone(&chrono::Utc),
        ),
    };
    let limit = match seen.get("limit") {
        None => None,
        Some(l) => match l.parse::<usize>() {
            Ok(n) if n > 0 => Some(n),
            _ => {
                return Err(bad_request(
                    format!("limit {l:?} is not a positive integer"),
                    format!("limit {l:?} は正の整数ではありません"),
                ))
            }
        },
    };
    let versions = match list("match[version]") {
        None => Versions::Last,
        Some(v) if v == ["last"] => Versions::Last,
        Some(v) if v == ["first"] => Versions::First,
        Some(v) if v == ["all"] => Versions::All,
        Some(v) => {
            // last/first beside exact times are chosen among all versions below; all is alone.
            if v.iter().any(|x| x == "all") {
                return Err(bad_request(
                    "match[version]=all cannot be combined with other values",
                    "match[version]=all は他の値と組み合わせられません",
                ));
            }
            for x in &v {
                if !matches!(x.as_str(), "last" | "first") && chrono::DateTime::parse_from_rfc3339(x).is_err() {
                    return Err(bad_request(
                        format!("match[version] {x:?} is not last, first, all or a timestamp"),
                        format!("match[version] {x:?} は last、first、all、日時のいずれでもありません"),
                    ));
                }
            }
            Versions::Exactly(v)
        }
    };
    // A cursor resumes where it was made, so `added_after` does not bind it (OpenCTI
    // sends `next` alone once it has one).
    let mut bound: Vec<(&String, &String)> =
        seen.iter().filter(|(k, _)| !matches!(k.as_str(), "limit" | "next" | "added_after")).collect();
    bound.sort();
    let signature = bound.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&");
    Ok(Filters {
        added_after,
        limit,
        next: seen.get("next").cloned(),
        ids: list("match[id]"),
        types: list("match[type]"),
        versions,
        spec_versions: list("match[spec_version]"),
        signature,
    })
}

/// What a cursor binds: who may use it, where and for which filters.
#[derive(serde::Serialize, serde::Deserialize, PartialEq)]
struct CursorClaims {
    /// Organisation, collection, endpoint, filters.
    o: String,
    c: String,
    e: String,
    f: String,
    /// Resume after this sequence.
    s: i64,
}

fn make_cursor(hub: &Hub, claims: &CursorClaims) -> String {
    let content = serde_json::to_vec(claims).unwrap_or_default();
    let mac = hub.keys.cursor_mac(&content);
    format!("{}.{}", URL_SAFE_NO_PAD.encode(&content), URL_SAFE_NO_PAD.encode(mac))
}

/// The sequence a cursor resumes after, if the hub made it for this very caller,
/// collection, endpoint and filters.
#[expect(clippy::result_large_err, reason = "the error is the HTTP answer itself, made once per refused request")]
fn open_cursor(hub: &Hub, cursor: &str, expected: &CursorClaims) -> Result<i64, HttpResponse> {
    let invalid = || {
        error(
            StatusCode::BAD_REQUEST,
            &AppError::new(
                Code::InvalidCursor,
                "next is not a cursor this hub returned for this collection and these filters",
                "nextはこのハブがこのコレクションとフィルターに対して返したカーソルではありません",
            ),
        )
    };
    let (content, mac) = cursor.split_once('.').ok_or_else(invalid)?;
    let content = URL_SAFE_NO_PAD.decode(content).map_err(|_| invalid())?;
    let mac = URL_SAFE_NO_PAD.decode(mac).map_err(|_| invalid())?;
    if !hub.keys.cursor_mac_matches(&content, &mac) {
        return Err(invalid());
    }
    let claims: CursorClaims = serde_json::from_slice(&content).map_err(|_| invalid())?;
    if (&claims.o, &claims.c, &claims.e, &claims.f) != (&expected.o, &expected.c, &expected.e, &expected.f) {
        return Err(invalid());
    }
    Ok(claims.s)
}

/// The STIX types of renkei's kinds.
fn kinds_of_types(types: &[String]) -> Vec<Kind> {
    Kind::ALL.into_iter().filter(|k| types.iter().any(|t| t == k.stix_type())).collect()
}

/// What the request selects in the collection (`None`: nothing can match).
fn selection(hub: &Hub, identity: &Identity, c: &TaxiiCollection, f: &Filters, limit: usize) -> Option<Selection> {
    let mut kinds = kinds_for(identity, c);
    if let Some(types) = &f.types {
        let asked = kinds_of_types(types);
        kinds.retain(|k| asked.contains(k));
    }
    if f.spec_versions.as_ref().is_some_and(|v| !v.iter().any(|s| s == "2.1")) || kinds.is_empty() {
        return None;
    }
    let max = c.max_tlp.parse::<Tlp>().unwrap_or(Tlp::Clear);
    let limit = limit.min(hub.config.taxii.max_page);
    Some(Selection { kinds, labels: labels_up_to(max), ids: f.ids.clone(), after_seq: 0, limit })
}

/// The objects and manifest endpoints' page: the entries (versions chosen by
/// `match[version]`), whether more follow, and the cursor for them.
struct Listing {
    entries: Vec<Entry>,
    more: bool,
    next: Option<String>,
}

async fn listing(
    hub: &Arc<Hub>,
    identity: &Identity,
    collection_id: &str,
    endpoint: &str,
    f: Filters,
) -> Result<Listing, HttpResponse> {
    let Some(c) = configured(hub, collection_id) else {
        return Err(not_found("collection"));
    };
    if !can_read(identity, c) {
        return Err(not_found("collection"));
    }
    let empty = Listing { entries: Vec::new(), more: false, next: None };
    let limit = f.limit.unwrap_or(hub.config.taxii.max_page);
    let Some(mut sel) = selection(hub, identity, c, &f, limit) else {
        return Ok(empty);
    };
    let claims = CursorClaims {
        o: identity.org_id.clone(),
        c: c.id.clone(),
        e: endpoint.to_string(),
        f: f.signature.clone(),
        s: 0,
    };
    let resume = match &f.next {
        Some(next) => Some(open_cursor(hub, next, &claims)?),
        None => None,
    };
    let (identity, filters) = (identity.clone(), f);
    let result = hub
        .db(move |_, conn| {
            let viewer = identity.viewer();
            sel.after_seq = match (resume, &filters.added_after) {
                (Some(seq), _) => seq,
                (None, Some(t)) => match read::first_seq_added_after(conn, t)? {
                    Some(first) => first - 1,
                    None => return Ok(None),
                },
                (None, None) => 0,
            };
            let page = read::page(conn, &viewer, &sel)?;
            if filters.versions == Versions::Last {
                return Ok(Some((page.entries, page.more, page.resume_after)));
            }
            // Other versions than the last: each object's versions, as many objects as
            // fit the limit.
            let mut entries = Vec::new();
            let mut resume_after = page.resume_after;
            let mut more = page.more;
            for (i, current) in page.entries.iter().enumerate() {
                let chosen = choose_versions(read::versions(conn, &viewer, &sel, &current.id)?, &filters.versions);
                if i > 0 && entries.len() + chosen.len() > sel.limit {
                    resume_after = page.entries[i - 1].seq;
                    more = true;
                    break;
                }
                entries.extend(chosen.into_iter().take(sel.limit));
            }
            Ok(Some((entries, more, resume_after)))
        })
        .await
        .map_err(|e| from_app_error(&e))?;
    let Some((entries, more, resume_after)) = result else {
        return Ok(empty);
    };
    let next = more.then(|| make_cursor(hub, &CursorClaims { s: resume_after, ..claims }));
    Ok(Listing { entries, more, next })
}

fn choose_versions(mut all: Vec<Entry>, which: &Versions) -> Vec<Entry> {
    match which {
        Versions::Last => all.pop().into_iter().collect(),
        Versions::First => all.into_iter().take(1).collect(),
        Versions::All => all,
        Versions::Exactly(wanted) => {
            let last = all.last().map(|e| e.seq);
            let first = all.first().map(|e| e.seq);
            all.into_iter()
                .filter(|e| {
                    (wanted.iter().any(|w| w == "last") && Some(e.seq) == last)
                        || (wanted.iter().any(|w| w == "first") && Some(e.seq) == first)
                        || wanted.iter().any(|w| same_time(w, &e.modified()))
                })
                .collect()
        }
    }
}

/// Whether two timestamps name the same instant (a client may write fewer digits).
fn same_time(a: &str, b: &str) -> bool {
    match (chrono::DateTime::parse_from_rfc3339(a), chrono::DateTime::parse_from_rfc3339(b)) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// A 200 answer with the X-TAXII-Date-Added headers of its entries (left out when there
/// are none: an empty page has no first or last).
fn listed(body: String, entries: &[Entry]) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response.insert_header((CONTENT_TYPE, TAXII_MEDIA_TYPE));
    if let (Some(first), Some(last)) = (entries.first(), entries.last()) {
        let earliest = entries.iter().map(|e| e.date_added.as_str()).min().unwrap_or(&first.date_added);
        let latest = entries.iter().map(|e| e.date_added.as_str()).max().unwrap_or(&last.date_added);
        response.insert_header(("X-TAXII-Date-Added-First", earliest.to_string()));
        response.insert_header(("X-TAXII-Date-Added-Last", latest.to_string()));
    }
    response.body(body)
}

/// The envelope `{more, next, objects}` written around the stored STIX text as it is
/// (no parsing and re-serialising of a page of objects).
fn envelope_text(entries: &[Entry], more: bool, next: Option<&str>) -> String {
    if entries.is_empty() && !more {
        return "{}".into();
    }
    let size: usize = entries.iter().map(|e| e.stix.len() + 1).sum();
    let mut out = String::with_capacity(size + 128);
    out.push_str("{\"more\":");
    out.push_str(if more { "true" } else { "false" });
    if let Some(next) = next {
        out.push_str(",\"next\":");
        out.push_str(&Value::String(next.to_string()).to_string());
    }
    if !entries.is_empty() {
        out.push_str(",\"objects\":[");
        for (i, e) in entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(&e.stix);
        }
        out.push(']');
    }
    out.push('}');
    out
}

// ----- objects, manifest, versions -------------------------------------------------------

async fn get_objects(req: HttpRequest, path: web::Path<String>, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let (identity, filters) = match accepted(&hub, &req, true).await {
        Ok(accepted) => accepted,
        Err(r) => return r,
    };
    match listing(&hub, &identity, &path, "objects", filters).await {
        Ok(l) => listed(envelope_text(&l.entries, l.more, l.next.as_deref()), &l.entries),
        Err(r) => r,
    }
}

async fn manifest(req: HttpRequest, path: web::Path<String>, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let (identity, filters) = match accepted(&hub, &req, true).await {
        Ok(accepted) => accepted,
        Err(r) => return r,
    };
    match listing(&hub, &identity, &path, "manifest", filters).await {
        Ok(l) => {
            let mut body = Map::new();
            if !l.entries.is_empty() || l.more {
                body.insert("more".into(), json!(l.more));
            }
            if let Some(next) = &l.next {
                body.insert("next".into(), json!(next));
            }
            if !l.entries.is_empty() {
                let records: Vec<Value> = l
                    .entries
                    .iter()
                    .map(|e| {
                        json!({"id": e.id, "date_added": e.date_added, "version": e.modified(), "media_type": STIX_MEDIA_TYPE})
                    })
                    .collect();
                body.insert("objects".into(), Value::Array(records));
            }
            listed(Value::Object(body).to_string(), &l.entries)
        }
        Err(r) => r,
    }
}

/// One object's versions the caller may read, as `match[version]` and `added_after`
/// choose, at most `limit`; `None` when the object is hidden, missing or elsewhere.
async fn object_versions(
    hub: &Arc<Hub>,
    identity: &Identity,
    collection_id: &str,
    object_id: &str,
    f: &Filters,
) -> Result<Option<(Vec<Entry>, bool)>, HttpResponse> {
    let Some(c) = configured(hub, collection_id) else {
        return Err(not_found("collection"));
    };
    if !can_read(identity, c) {
        return Err(not_found("collection"));
    }
    let limit = f.limit.unwrap_or(hub.config.taxii.max_page);
    let Some(sel) = selection(hub, identity, c, f, limit) else {
        return Ok(None);
    };
    let (identity, id, which, added_after) =
        (identity.clone(), object_id.to_string(), f.versions.clone(), f.added_after);
    let found = hub
        .db(move |_, conn| {
            let all = read::versions(conn, &identity.viewer(), &sel, &id)?;
            if all.is_empty() {
                return Ok(None);
            }
            let after = added_after.map(|t| crate::store::time_text(&t));
            let mut chosen: Vec<Entry> = choose_versions(all, &which)
                .into_iter()
                .filter(|e| after.as_ref().is_none_or(|a| e.date_added.as_str() > a.as_str()))
                .collect();
            let more = chosen.len() > sel.limit;
            chosen.truncate(sel.limit);
            Ok(Some((chosen, more)))
        })
        .await
        .map_err(|e| from_app_error(&e))?;
    Ok(found)
}

async fn get_object(req: HttpRequest, path: web::Path<(String, String)>, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let (identity, filters) = match accepted(&hub, &req, true).await {
        Ok(accepted) => accepted,
        Err(r) => return r,
    };
    let (collection_id, object_id) = path.into_inner();
    match object_versions(&hub, &identity, &collection_id, &object_id, &filters).await {
        Ok(Some((entries, more))) => listed(envelope_text(&entries, more, None), &entries),
        Ok(None) => not_found("object"),
        Err(r) => r,
    }
}

async fn versions(req: HttpRequest, path: web::Path<(String, String)>, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let (identity, mut filters) = match accepted(&hub, &req, false).await {
        Ok(accepted) => accepted,
        Err(r) => return r,
    };
    filters.versions = Versions::All;
    let (collection_id, object_id) = path.into_inner();
    match object_versions(&hub, &identity, &collection_id, &object_id, &filters).await {
        Ok(Some((entries, more))) => {
            let mut body = json!({"more": more});
            if !entries.is_empty() {
                body["versions"] = json!(entries.iter().map(Entry::modified).collect::<Vec<_>>());
            }
            listed(body.to_string(), &entries)
        }
        Ok(None) => not_found("object"),
        Err(r) => r,
    }
}

/// DELETE (§5.7): revokes the item (its submitter or a coordinator), so that later GETs
/// of it and the manifest no longer show it. Only for callers that may both read and
/// write the collection: neither is 404, one of them 403.
async fn delete_object(req: HttpRequest, path: web::Path<(String, String)>, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let (identity, filters) = match accepted(&hub, &req, false).await {
        Ok(accepted) => accepted,
        Err(r) => return r,
    };
    let (collection_id, object_id) = path.into_inner();
    let Some(c) = configured(&hub, &collection_id) else {
        return not_found("collection");
    };
    match (can_read(&identity, c), can_write(&identity, c)) {
        (true, true) => {}
        (false, false) => return not_found("collection"),
        _ => return error(StatusCode::FORBIDDEN, &AppError::forbidden("delete from this collection")),
    }
    match object_versions(&hub, &identity, &collection_id, &object_id, &filters).await {
        Ok(Some(_)) => {}
        Ok(None) => return not_found("object"),
        Err(r) => return r,
    }
    let actor = identity.clone();
    let revoked = hub
        .db(move |hub, conn| crate::actions::revoke(hub, conn, &actor, &object_id, "deleted through the TAXII API"))
        .await;
    match revoked {
        Ok(_) => HttpResponse::Ok().insert_header((CONTENT_TYPE, TAXII_MEDIA_TYPE)).finish(),
        Err(e) => from_app_error(&e),
    }
}

// ----- POST and status -------------------------------------------------------------------

/// Whether a POST's Content-Type is one TAXII 2.1 servers read (OpenCTI's push
/// ingestion also sends STIX's media types).
fn readable_content_type(req: &HttpRequest) -> bool {
    let Some(ct) = req.headers().get(CONTENT_TYPE).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let compact: String = ct.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    let mut parts = compact.split(';');
    let media = parts.next().unwrap_or_default();
    let version_ok = parts.all(|p| !p.starts_with("version=") || p == "version=2.1");
    matches!(media, "application/taxii+json" | "application/stix+json" | "application/vnd.oasis.stix+json")
        && version_ok
}

async fn post_objects(
    req: HttpRequest,
    path: web::Path<String>,
    mut payload: web::Payload,
    hub: web::Data<Arc<Hub>>,
) -> HttpResponse {
    let identity = match admitted(&hub, &req, false).await {
        Ok(identity) => identity,
        Err(r) => return r,
    };
    let Some(c) = configured(&hub, &path).cloned() else {
        return not_found("collection");
    };
    match (can_read(&identity, &c), can_write(&identity, &c)) {
        (_, true) => {}
        (false, false) => return not_found("collection"),
        _ => return error(StatusCode::FORBIDDEN, &AppError::forbidden("add objects to this collection")),
    }
    if !readable_content_type(&req) {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            &AppError::new(
                Code::UnsupportedMediaType,
                format!("POST objects as {TAXII_MEDIA_TYPE}"),
                format!("オブジェクトは {TAXII_MEDIA_TYPE} でPOSTしてください"),
            ),
        );
    }
    let max = hub.config.taxii.max_content_length;
    let too_large = || {
        error(
            StatusCode::PAYLOAD_TOO_LARGE,
            &AppError::new(
                Code::BodyTooLarge,
                format!("the body is over max_content_length ({max} bytes)"),
                format!("本文がmax_content_length（{max}バイト）を超えています"),
            ),
        )
    };
    let declared =
        req.headers().get("content-length").and_then(|h| h.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > max) {
        return too_large();
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let Ok(chunk) = chunk else {
            return bad_request("the request body could not be read", "リクエスト本文を読み取れませんでした");
        };
        if body.len() + chunk.len() > max {
            return too_large();
        }
        body.extend_from_slice(&chunk);
    }
    let document: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return bad_request(format!("the body is not JSON: {e}"), format!("本文がJSONではありません: {e}")),
    };
    let candidates = match renkei_schema::stix::import::candidates(&document, hub.config.imports.max_objects) {
        Ok(c) => c,
        Err(refusal) => {
            let status = if refusal.code == Code::BatchTooLarge {
                StatusCode::PAYLOAD_TOO_LARGE
            } else {
                StatusCode::UNPROCESSABLE_ENTITY
            };
            return error(status, &AppError::new(refusal.code, refusal.message, refusal.message_ja));
        }
    };
    let defaults = Defaults {
        tlp: c.unmarked_tlp.parse().unwrap_or(Tlp::Amber),
        recipients: Vec::new(),
        anonymous: false,
        max_tlp: c.max_tlp.parse().ok(),
    };
    let requested = crate::store::now_text();
    let status_id = uuid::Uuid::new_v4().to_string();
    let (actor, id) = (identity.clone(), status_id.clone());
    let hours = hub.config.taxii.status_hours;
    let result = hub
        .db(move |hub, conn| {
            let reports = crate::actions::import(hub, conn, &actor, candidates, &defaults)?;
            let body = status_body(&id, &requested, &reports);
            status::put(conn, &id, &actor.org_id, &body, hours)?;
            Ok((body, crate::services::import::written(&reports)))
        })
        .await;
    match result {
        Ok((body, written)) => {
            hub.note_writes(written);
            taxii_json(StatusCode::ACCEPTED, &body)
        }
        Err(e) => from_app_error(&e),
    }
}

/// The status resource of a finished POST (§4.3.1).
fn status_body(id: &str, requested: &str, reports: &[crate::services::import::Report]) -> Value {
    let detail = |r: &crate::services::import::Report| {
        let mut d = json!({
            "id": r.id.clone().unwrap_or_else(|| r.source.clone()),
            "version": r.version.clone().unwrap_or_default(),
        });
        let message = match (r.outcome, r.code, &r.message) {
            (Outcome::Refused, Some(code), Some(m)) => Some(format!("{}: {m}", code.as_str())),
            (Outcome::Context, ..) => Some("accepted; not stored as an item".to_string()),
            (Outcome::Duplicate, ..) => Some("the hub holds this version already".to_string()),
            (Outcome::Queued, ..) => Some("stored; waits for a coordinator's review".to_string()),
            (Outcome::Updated, ..) => Some("stored as a new version".to_string()),
            _ => None,
        };
        if let Some(m) = message {
            d["message"] = json!(m);
        }
        d
    };
    let successes: Vec<Value> = reports.iter().filter(|r| r.outcome.succeeded()).map(detail).collect();
    let failures: Vec<Value> = reports.iter().filter(|r| !r.outcome.succeeded()).map(detail).collect();
    let mut body = json!({
        "id": id,
        "status": "complete",
        "request_timestamp": requested,
        "total_count": reports.len(),
        "success_count": successes.len(),
        "failure_count": failures.len(),
        "pending_count": 0,
    });
    if !successes.is_empty() {
        body["successes"] = Value::Array(successes);
    }
    if !failures.is_empty() {
        body["failures"] = Value::Array(failures);
    }
    body
}

async fn get_status(req: HttpRequest, path: web::Path<String>, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    let identity = match admitted(&hub, &req, false).await {
        Ok(identity) => identity,
        Err(r) => return r,
    };
    let (id, org) = (path.into_inner(), identity.org_id.clone());
    match hub.db(move |_, conn| status::get(conn, &id, &org)).await {
        Ok(Some(body)) => taxii_json(StatusCode::OK, &body),
        Ok(None) => not_found("status"),
        Err(e) => from_app_error(&e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    #[test]
    fn accept_headers_follow_the_spec_and_are_lenient_where_clients_differ() {
        let ok = |accept: Option<&str>, stix: bool| {
            let mut req = TestRequest::default();
            if let Some(a) = accept {
                req = req.insert_header(("accept", a));
            }
            acceptable(&req.to_http_request(), stix).is_ok()
        };
        assert!(ok(None, false));
        assert!(ok(Some("application/taxii+json;version=2.1"), false));
        assert!(ok(Some("application/taxii+json; version=2.1"), false));
        assert!(ok(Some("application/taxii+json"), false));
        assert!(ok(Some("*/*"), false));
        assert!(ok(Some("application/json, text/plain, */*"), false), "OpenCTI's old Accept");
        assert!(!ok(Some("application/taxii+json;version=2.0"), false));
        assert!(!ok(Some("text/html"), false));
        assert!(ok(Some("application/taxii+json;version=2.1,application/stix+json;version=2.1"), true));
        assert!(!ok(Some("application/stix+json;version=2.1"), false));
    }

    #[test]
    fn post_content_types() {
        let ok = |ct: &str| {
            readable_content_type(&TestRequest::default().insert_header(("content-type", ct)).to_http_request())
        };
        assert!(ok("application/taxii+json;version=2.1"));
        assert!(ok("application/taxii+json"));
        assert!(ok("application/vnd.oasis.stix+json; version=2.1"));
        assert!(!ok("application/json"));
        assert!(!ok("application/taxii+json;version=2.0"));
    }

    #[test]
    fn empty_pages_are_empty_envelopes() {
        assert_eq!(envelope_text(&[], false, None), "{}");
        let e = Entry {
            id: "indicator--x".into(),
            seq: 1,
            date_added: "t".into(),
            stix: "{\"id\":\"indicator--x\"}".into(),
        };
        let text = envelope_text(&[e], true, Some("abc"));
        let v: Value = serde_json::from_str(&text).expect("json");
        assert_eq!(v, json!({"more": true, "next": "abc", "objects": [{"id": "indicator--x"}]}));
    }
}
