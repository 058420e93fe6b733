//! Sharing sealed TLP:RED from the console: the member's client seals the content
//! (`renkei share … --tlp RED --recipient ORG --envelope-out FILE`, the document
//! `renkei_schema::seal::SealedShare`) and the person uploads FILE here. The browser
//! and this page carry only envelopes: nothing here can read the content. The document
//! goes through the same checks as GraphQL's `shareSealed` (`sharing::sealed_request`)
//! and the same write (`actions::share_sealed`).

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use askama::Template;
use futures::StreamExt as _;
use std::sync::Arc;

use super::{render, signed_in, Ctx, Frame, Need};
use crate::error::AppError;
use crate::services::sharing::{sealed_request, SealedRequest};
use crate::state::{Hub, Metrics};
use renkei_schema::errors::Code;
use renkei_schema::seal::{SealedShare, SHARE_FORMAT};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/share/sealed", web::get().to(form)).route("/share/sealed", web::post().to(submit));
}

/// The largest sealed share document accepted.
pub const MAX_DOCUMENT: usize = 16 * 1024 * 1024;
/// The largest request: the document, the form's other fields and the framing.
const MAX_BODY: usize = MAX_DOCUMENT + 64 * 1024;

/// A refusal as the page shows it: its code and both languages (the page's first).
struct Refusal {
    code: String,
    message: String,
    other: String,
    entries: Vec<String>,
}

/// A stored sealed item.
struct Receipt {
    id: String,
    href: String,
    status: String,
}

#[derive(Template)]
#[template(path = "share_sealed.html")]
struct SealedPage {
    page: Frame,
    max_mib: usize,
    error: Option<Refusal>,
    receipts: Vec<Receipt>,
}

fn refusal(ctx: &Ctx, e: &AppError) -> Refusal {
    let (message, other) = match ctx.t.lang {
        super::i18n::Lang::Ja => (e.message_ja.clone(), e.message.clone()),
        super::i18n::Lang::En => (e.message.clone(), e.message_ja.clone()),
    };
    Refusal {
        code: e.code.as_str().to_string(),
        message,
        other,
        entries: e
            .entries
            .iter()
            .map(|entry| format!("#{}: {}", entry.index + 1, ctx.t.pick(&entry.message, &entry.message_ja)))
            .collect(),
    }
}

fn page(ctx: &Ctx, error: Option<&AppError>, receipts: Vec<Receipt>) -> HttpResponse {
    let view = SealedPage {
        page: ctx.frame(ctx.t.get("sealed-title")),
        max_mib: MAX_DOCUMENT / (1024 * 1024),
        error: error.map(|e| refusal(ctx, e)),
        receipts,
    };
    let status = error.map_or(StatusCode::OK, |e| match e.code {
        Code::BodyTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
        _ => super::status_of(e),
    });
    render(&ctx.t, status, &view)
}

async fn form(req: HttpRequest, hub: web::Data<Arc<Hub>>) -> HttpResponse {
    match signed_in(&hub, &req, Need::Share).await {
        Ok(ctx) => page(&ctx, None, Vec::new()),
        Err(answer) => answer,
    }
}

fn too_large() -> AppError {
    AppError::new(
        Code::BodyTooLarge,
        format!("the sealed share is over {} MiB; share fewer items at once", MAX_DOCUMENT / (1024 * 1024)),
        format!("封緘した共有が{} MiBを超えています。件数を分けて共有してください", MAX_DOCUMENT / (1024 * 1024)),
    )
}

fn unreadable(detail: impl std::fmt::Display) -> AppError {
    AppError::invalid(format!("the upload could not be read: {detail}"), "アップロードされた内容を読み取れません")
}

/// The posted body, bounded.
async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> Result<web::Bytes, AppError> {
    let declared =
        req.headers().get(header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
    if declared.is_some_and(|n| n > MAX_BODY) {
        return Err(too_large());
    }
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(unreadable)?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The form's fields: the CSRF token and the document (the uploaded file, else the
/// pasted text). A file upload (multipart) or a plain form.
#[derive(Default)]
struct Posted {
    csrf: String,
    document: String,
}

async fn fields(req: &HttpRequest, body: web::Bytes) -> Result<Posted, AppError> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    let mut posted = Posted::default();
    let mut file = String::new();
    if content_type.starts_with("multipart/form-data") {
        let boundary = multer::parse_boundary(content_type).map_err(unreadable)?;
        let stream = futures::stream::once(async move { Ok::<web::Bytes, std::convert::Infallible>(body) });
        let mut multipart = multer::Multipart::new(stream, boundary);
        while let Some(field) = multipart.next_field().await.map_err(unreadable)? {
            let name = field.name().unwrap_or_default().to_string();
            let bytes = field.bytes().await.map_err(unreadable)?;
            let text = || String::from_utf8(bytes.to_vec()).map_err(|_| not_utf8());
            match name.as_str() {
                "csrf" => posted.csrf = text()?,
                "envelope" => file = text()?,
                "document" => posted.document = text()?,
                _ => {}
            }
        }
    } else {
        for (name, value) in url::form_urlencoded::parse(&body) {
            match name.as_ref() {
                "csrf" => posted.csrf = value.into_owned(),
                "document" => posted.document = value.into_owned(),
                _ => {}
            }
        }
    }
    if !file.trim().is_empty() {
        posted.document = file;
    }
    Ok(posted)
}

fn not_utf8() -> AppError {
    AppError::invalid("the upload is not UTF-8 text", "アップロードされた内容がUTF-8のテキストではありません")
}

/// Reads a sealed share document (refusing anything else) into what the write takes.
fn request_of(text: &str) -> Result<SealedRequest, AppError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(AppError::new(
            Code::InvalidInput,
            "choose the file `renkei share … --envelope-out FILE` wrote (or paste its content)",
            "`renkei share … --envelope-out FILE`で書き出したファイルを選んでください（または内容を貼り付けてください）",
        ));
    }
    if text.len() > MAX_DOCUMENT {
        return Err(too_large());
    }
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        AppError::new(
            Code::InvalidSealed,
            format!("the file is not JSON ({e}): upload the file `renkei share … --envelope-out FILE` wrote"),
            format!("ファイルがJSONではありません（{e}）。`renkei share … --envelope-out FILE`で書き出したファイルをアップロードしてください"),
        )
    })?;
    let format = value.get("format").and_then(serde_json::Value::as_str).unwrap_or_default();
    if format != SHARE_FORMAT {
        return Err(AppError::new(
            Code::InvalidSealed,
            format!("the file is not a sealed share (its format is not {SHARE_FORMAT}): upload the file `renkei share … --envelope-out FILE` wrote"),
            format!("ファイルが封緘した共有ではありません（formatが{SHARE_FORMAT}ではありません）。`renkei share … --envelope-out FILE`で書き出したファイルをアップロードしてください"),
        ));
    }
    let document: SealedShare = serde_json::from_value(value).map_err(|e| {
        AppError::new(
            Code::InvalidSealed,
            format!("the sealed share is malformed: {e}; nothing was stored"),
            format!("封緘した共有の形式が不正です: {e}。何も保存されていません"),
        )
    })?;
    Ok(SealedRequest {
        items: document.items.into_iter().map(|i| (i.id, i.sealed)).collect(),
        recipients: document.recipients,
        anonymous: document.anonymous,
        confidence: document.confidence,
        valid_until: document.valid_until,
        labels: Vec::new(),
    })
}

async fn submit(req: HttpRequest, hub: web::Data<Arc<Hub>>, payload: web::Payload) -> HttpResponse {
    let ctx = match signed_in(&hub, &req, Need::Share).await {
        Ok(ctx) => ctx,
        Err(answer) => return answer,
    };
    let posted = match read_body(&req, payload).await {
        Ok(body) => fields(&req, body).await,
        Err(e) => Err(e),
    };
    let posted = match posted {
        Ok(p) => p,
        Err(e) => return page(&ctx, Some(&e), Vec::new()),
    };
    if let Err(answer) = ctx.check_csrf(&posted.csrf) {
        return answer;
    }
    let checked = request_of(&posted.document).and_then(|r| sealed_request(r, ctx.hub.config.limits.max_batch));
    let (items, sharing) = match checked {
        Ok(found) => found,
        Err(e) => return page(&ctx, Some(&e), Vec::new()),
    };
    let who = ctx.identity().clone();
    let published = ctx.hub.db(move |hub, c| crate::actions::share_sealed(hub, c, &who, items, sharing)).await;
    match published {
        Ok(rows) => {
            Metrics::add(&ctx.hub.metrics.objects_shared, rows.len() as u64);
            ctx.hub.note_writes(rows.len() as u64);
            let receipts = rows
                .into_iter()
                .map(|p| Receipt {
                    href: format!("/console/items/{}", super::percent_encode(&p.row.id)),
                    id: p.row.id,
                    status: ctx.t.label("status", p.envelope.status.as_str()),
                })
                .collect();
            page(&ctx, None, receipts)
        }
        Err(e) => page(&ctx, Some(&e), Vec::new()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(text: &str) -> AppError {
        match request_of(text) {
            Ok(_) => panic!("{text:.40} was accepted"),
            Err(e) => e,
        }
    }

    #[test]
    fn only_a_sealed_share_document_is_read() {
        let empty = refused("  ");
        assert_eq!(empty.code, Code::InvalidInput);
        assert!(!empty.message_ja.is_empty());
        let bad = refused("{not json");
        assert_eq!(bad.code, Code::InvalidSealed);
        assert!(bad.message.contains("not JSON") && bad.message_ja.contains("JSONではありません"));
        let other = refused(r#"{"format": "renkei-sealed-share-v0", "items": []}"#);
        assert!(
            other.message.contains("not a sealed share") && other.message_ja.contains("封緘した共有ではありません")
        );
        let extra = refused(
            r#"{"format": "renkei-sealed-share-v1", "items": [], "recipients": [], "anonymous": false, "tlp": "GREEN"}"#,
        );
        assert!(extra.message.contains("malformed"), "{}", extra.message);
        let big = format!(r#"{{"format": "{SHARE_FORMAT}", "pad": "{}"}}"#, "x".repeat(MAX_DOCUMENT));
        let too_large = refused(&big);
        assert_eq!(too_large.code, Code::BodyTooLarge);
        assert!(too_large.message_ja.contains("MiB"));

        let ok = request_of(
            r#"{"format": "renkei-sealed-share-v1", "items": [{"id": "indicator--1", "sealed": "{}"}],
                "recipients": ["org-1"], "anonymous": true, "confidence": null, "validUntil": null}"#,
        )
        .map_err(|e| e.message)
        .expect("read");
        assert_eq!(ok.items, vec![("indicator--1".to_string(), "{}".to_string())]);
        assert_eq!(ok.recipients, vec!["org-1".to_string()]);
        assert!(ok.anonymous && ok.confidence.is_none() && ok.valid_until.is_none());
    }
}
