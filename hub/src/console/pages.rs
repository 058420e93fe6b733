//! What every console page shares: the pinned style sheet and script (served by the
//! hub itself, named by their digest so a browser caches them for good), and the error
//! page.

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use askama::Template;
use std::sync::LazyLock;

use super::i18n::Tr;
use super::Frame;
use crate::error::AppError;

const CSS: &str = include_str!("../../console/static/console.css");
const WEBAUTHN_JS: &str = include_str!("../../console/static/webauthn.js");

/// A static file and its address (its digest in the name: a new release is a new name).
struct Pinned {
    href: String,
    integrity: String,
}

fn pin(name: &str, ext: &str, content: &str) -> Pinned {
    use base64::Engine as _;
    let sha384 = ring::digest::digest(&ring::digest::SHA384, content.as_bytes());
    let short = hex::encode(&sha384.as_ref()[..8]);
    Pinned {
        href: format!("/console/static/{name}.{short}.{ext}"),
        integrity: format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(sha384.as_ref())),
    }
}

static CSS_PIN: LazyLock<Pinned> = LazyLock::new(|| pin("console", "css", CSS));
static JS_PIN: LazyLock<Pinned> = LazyLock::new(|| pin("webauthn", "js", WEBAUTHN_JS));

pub fn css_href() -> &'static str {
    &CSS_PIN.href
}

pub fn webauthn_js() -> (&'static str, &'static str) {
    (&JS_PIN.href, &JS_PIN.integrity)
}

/// `/console/static/{file}`: the style sheet and the WebAuthn script, under their pinned
/// names only.
pub async fn static_file(file: web::Path<String>) -> HttpResponse {
    let path = format!("/console/static/{file}");
    let (content_type, body) = if path == CSS_PIN.href {
        ("text/css; charset=utf-8", CSS)
    } else if path == JS_PIN.href {
        ("text/javascript; charset=utf-8", WEBAUTHN_JS)
    } else {
        return HttpResponse::NotFound().finish();
    };
    HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((header::CACHE_CONTROL, "public, max-age=31536000, immutable"))
        .body(body)
}

#[derive(Template)]
#[template(path = "error.html")]
pub struct ErrorPage {
    pub page: Frame,
    pub code: String,
    pub message: String,
    pub meaning: String,
    pub entries: Vec<String>,
}

/// An error page without a template (when a template itself failed).
pub fn plain_error(t: &Tr, e: &AppError) -> String {
    let escape = |s: &str| s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;");
    format!(
        "<!doctype html><html lang=\"{}\"><head><meta charset=\"utf-8\"><title>renkei</title></head><body><main><h1>{}</h1><p>{}</p><p><code>{}</code></p></main></body></html>",
        t.code(),
        escape(&t.get("error-title")),
        escape(t.pick(&e.message, &e.message_ja)),
        e.code.as_str()
    )
}
