//! GraphiQL, the in-browser GraphQL IDE, at `GET /graphql`: only when the configuration
//! turns it on (`graphiql = true`, `RENKEI_GRAPHIQL=1`); otherwise `GET /graphql` and
//! the asset paths answer 404.
//!
//! Every file the page loads is compiled into the binary and served by the hub itself
//! under `/graphiql/` (a hub in a closed network reaches no CDN): React, ReactDOM and
//! GraphiQL at the exact versions pinned in `hub/assets/graphiql/` (fetched and checked
//! by `ops/update-graphiql.sh`), and the page's own stylesheet and start script. The
//! page names each with its Subresource Integrity hash and is served with a strict
//! Content-Security-Policy: no inline script, nothing from another origin. Assets carry
//! their version (the pinned ones) or their content hash (the hub's own) in their path,
//! so browsers may keep them for a year. The page is static: GraphiQL's headers editor
//! is where a member puts the bearer token, which the page never stores.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest, HttpResponse};
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine;
use std::sync::{Arc, OnceLock};

use crate::error::AppError;
use crate::http::gate::error_response;
use crate::state::Hub;
use renkei_schema::errors::Code;

/// Where the assets are served; the page links them relative to itself (`graphiql/…`),
/// so it also works behind a proxy that serves the hub under a path prefix.
const PREFIX: &str = "/graphiql/";

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

/// A file the page loads: its name under [`PREFIX`], type and bytes.
struct File {
    name: String,
    content_type: &'static str,
    bytes: &'static [u8],
    /// `sha384-…` of `bytes`, for the page's `integrity` attributes.
    integrity: String,
}

impl File {
    fn new(name: String, content_type: &'static str, bytes: &'static [u8]) -> File {
        let integrity = format!("sha384-{}", STANDARD.encode(ring::digest::digest(&ring::digest::SHA384, bytes)));
        File { name, content_type, bytes, integrity }
    }

    /// The hub's own files change with the hub: their name carries their content hash.
    fn hashed(stem: &str, extension: &str, content_type: &'static str, bytes: &'static [u8]) -> File {
        let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
        File::new(format!("{stem}.{}.{extension}", hex::encode(&digest.as_ref()[..8])), content_type, bytes)
    }
}

/// The page's files in the order it loads them: stylesheets, then scripts.
struct Assets {
    styles: Vec<File>,
    scripts: Vec<File>,
}

impl Assets {
    fn find(&self, name: &str) -> Option<&File> {
        self.styles.iter().chain(&self.scripts).find(|f| f.name == name)
    }
}

fn assets() -> &'static Assets {
    static ASSETS: OnceLock<Assets> = OnceLock::new();
    ASSETS.get_or_init(|| Assets {
        styles: vec![
            File::new(
                "graphiql-3.9.0/graphiql.min.css".into(),
                CSS,
                include_bytes!("../assets/graphiql/graphiql-3.9.0/graphiql.min.css"),
            ),
            File::hashed("renkei-graphiql", "css", CSS, include_bytes!("../assets/graphiql/renkei-graphiql.css")),
        ],
        scripts: vec![
            File::new(
                "react-18.3.1/react.production.min.js".into(),
                JS,
                include_bytes!("../assets/graphiql/react-18.3.1/react.production.min.js"),
            ),
            File::new(
                "react-dom-18.3.1/react-dom.production.min.js".into(),
                JS,
                include_bytes!("../assets/graphiql/react-dom-18.3.1/react-dom.production.min.js"),
            ),
            File::new(
                "graphiql-3.9.0/graphiql.min.js".into(),
                JS,
                include_bytes!("../assets/graphiql/graphiql-3.9.0/graphiql.min.js"),
            ),
            File::hashed("renkei-graphiql", "js", JS, include_bytes!("../assets/graphiql/renkei-graphiql.js")),
        ],
    })
}

/// The page's Content-Security-Policy. Scripts and stylesheets come from the hub only
/// (with SRI); no inline script, no eval. GraphiQL's dialogs add one `<style>` element
/// (react-style-singleton), allowed by the page's nonce rather than `'unsafe-inline'`.
/// Its stylesheet embeds its fonts and a few icons as `data:` URLs.
fn content_security_policy(nonce: &str) -> String {
    format!(
        "default-src 'none'; script-src 'self'; style-src 'self' 'nonce-{nonce}'; connect-src 'self'; \
         img-src 'self' data:; font-src 'self' data:; base-uri 'none'; form-action 'none'; \
         frame-ancestors 'none'"
    )
}

fn page_html(assets: &Assets, nonce: &str) -> String {
    let mut html = String::from(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>renkei GraphiQL</title>\n<link rel=\"icon\" href=\"data:,\">\n",
    );
    for f in &assets.styles {
        html.push_str(&format!(
            "<link rel=\"stylesheet\" href=\"graphiql/{}\" integrity=\"{}\" crossorigin=\"anonymous\">\n",
            f.name, f.integrity
        ));
    }
    html.push_str(
        "</head>\n<body>\n<div id=\"graphiql\"><p class=\"loading\">Loading GraphiQL… GraphiQLを読み込んでいます…</p></div>\n\
         <noscript>GraphiQL needs JavaScript. GraphiQLにはJavaScriptが必要です。</noscript>\n",
    );
    let last = assets.scripts.len().saturating_sub(1);
    for (i, f) in assets.scripts.iter().enumerate() {
        // The start script (last) hands GraphiQL the nonce for its one <style> element.
        let nonce_attribute = if i == last { format!(" data-style-nonce=\"{nonce}\"") } else { String::new() };
        html.push_str(&format!(
            "<script src=\"graphiql/{}\" integrity=\"{}\" crossorigin=\"anonymous\"{nonce_attribute}></script>\n",
            f.name, f.integrity
        ));
    }
    html.push_str("</body>\n</html>\n");
    html
}

fn disabled() -> HttpResponse {
    error_response(
        StatusCode::NOT_FOUND,
        &AppError::new(
            Code::NotFound,
            "GraphiQL is turned off on this hub; an administrator can turn it on with `graphiql = true` \
             in the configuration file or RENKEI_GRAPHIQL=1 (GraphQL itself is POST /graphql)",
            "このハブではGraphiQLは無効です。管理者が設定ファイルの `graphiql = true` または環境変数 \
             RENKEI_GRAPHIQL=1 で有効にできます（GraphQL自体は POST /graphql で利用できます）",
        ),
    )
}

fn enabled(hub: &web::Data<Arc<Hub>>) -> bool {
    hub.config.graphiql
}

async fn page(hub: web::Data<Arc<Hub>>) -> HttpResponse {
    if !enabled(&hub) {
        return disabled();
    }
    let nonce = match crate::crypto::random_bytes::<16>() {
        Ok(bytes) => URL_SAFE_NO_PAD.encode(bytes),
        Err(e) => return error_response(StatusCode::INTERNAL_SERVER_ERROR, &AppError::internal(e)),
    };
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CONTENT_SECURITY_POLICY, content_security_policy(&nonce)))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .insert_header((header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        // The nonce is new for every page.
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .body(page_html(assets(), &nonce))
}

async fn asset(hub: web::Data<Arc<Hub>>, req: HttpRequest) -> HttpResponse {
    if !enabled(&hub) {
        return disabled();
    }
    let Some(file) = req.path().strip_prefix(PREFIX).and_then(|name| assets().find(name)) else {
        return error_response(
            StatusCode::NOT_FOUND,
            &AppError::new(Code::NotFound, "no such GraphiQL file", "該当するGraphiQLのファイルはありません"),
        );
    };
    HttpResponse::Ok()
        .content_type(file.content_type)
        .insert_header((header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=31536000, immutable")))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .insert_header((header::CROSS_ORIGIN_RESOURCE_POLICY, HeaderValue::from_static("same-origin")))
        .body(file.bytes)
}

/// Registers `GET /graphql` (the page) and `GET /graphiql/…` (its files).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/graphql", web::get().to(page)).route("/graphiql/{file:.*}", web::get().to(asset));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_names_every_file_with_its_hash_and_has_no_inline_code() {
        let assets = assets();
        let html = page_html(assets, "n0nce");
        for f in assets.styles.iter().chain(&assets.scripts) {
            assert!(html.contains(&format!("\"graphiql/{}\" integrity=\"{}\"", f.name, f.integrity)), "{html}");
            assert!(assets.find(&f.name).is_some());
        }
        assert_eq!(html.matches("<script").count(), assets.scripts.len());
        assert_eq!(html.matches("<script src=").count(), assets.scripts.len());
        assert!(!html.contains("<style") && !html.contains("style="), "{html}");
        assert!(!html.contains("http:") && !html.contains("https:") && !html.contains("//"), "{html}");
        // The known digest of one pinned file, as ops/update-graphiql.sh prints it.
        let react = assets.find("react-18.3.1/react.production.min.js").map(|f| f.integrity.as_str());
        assert_eq!(react, Some("sha384-DGyLxAyjq0f9SPpVevD6IgztCFlnMF6oW/XQGmfe+IsZ8TqEiDrcHkMLKI6fiB/Z"));
        let start = assets.scripts.last().map(|f| f.name.as_str()).unwrap_or("");
        assert!(start.starts_with("renkei-graphiql.") && start.ends_with(".js") && start.len() == 35, "{start}");
    }

    #[test]
    fn the_policy_allows_only_the_hub_and_the_nonce() {
        let csp = content_security_policy("abc");
        assert!(csp.starts_with("default-src 'none'; script-src 'self';"), "{csp}");
        assert!(csp.contains("style-src 'self' 'nonce-abc';"), "{csp}");
        assert!(!csp.contains("unsafe") && !csp.contains("http") && !csp.contains('*'), "{csp}");
    }
}
