//! GraphiQL: off unless configured (`GET /graphql` answers 404); when on, a page whose
//! every script and stylesheet the hub serves itself, each named with the Subresource
//! Integrity hash of the bytes served, under a strict Content-Security-Policy.

use base64::Engine;
use renkei_e2e::{Backend, TestHub};
use serde_json::Value;

struct Fetched {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Fetched {
    fn header(&self, name: &str) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    fn text(&self) -> String {
        String::from_utf8(self.body.clone()).expect("utf-8")
    }
}

fn fetch(hub: &TestHub, path: &str) -> Fetched {
    let resp = reqwest::blocking::get(format!("{}{path}", hub.base)).expect("request");
    Fetched {
        status: resp.status().as_u16(),
        headers: resp.headers().clone(),
        body: resp.bytes().expect("body").to_vec(),
    }
}

/// The value of `name="…"` in one tag.
fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let start = tag.find(&format!(" {name}=\""))? + name.len() + 3;
    tag[start..].find('"').map(|end| &tag[start..start + end])
}

/// Every `<NAME …>` tag of the page, with what follows it up to the next `<`.
fn tags<'a>(html: &'a str, name: &str) -> Vec<(&'a str, &'a str)> {
    let open = format!("<{name}");
    html.match_indices(&open)
        .map(|(i, _)| {
            let rest = &html[i..];
            let end = rest.find('>').expect("tag closes");
            let after = &rest[end + 1..];
            (&rest[..end], &after[..after.find('<').unwrap_or(after.len())])
        })
        .collect()
}

fn sri_sha384(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA384, bytes);
    format!("sha384-{}", base64::engine::general_purpose::STANDARD.encode(digest))
}

#[test]
fn graphiql_is_off_by_default() {
    let hub = TestHub::start(Backend::Sqlite);
    let page = fetch(&hub, "/graphql");
    assert_eq!(page.status, 404);
    let body: Value = serde_json::from_slice(&page.body).expect("JSON error");
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND", "{body}");
    assert!(body["errors"][0]["message"].as_str().is_some_and(|m| m.contains("graphiql = true")), "{body}");
    assert!(body["errors"][0]["extensions"]["messageJa"].as_str().is_some_and(|m| m.contains("GraphiQL")), "{body}");
    // Nor are its files served.
    let asset = fetch(&hub, "/graphiql/graphiql-3.9.0/graphiql.min.js");
    assert_eq!(asset.status, 404);
    assert!(asset.text().contains("NOT_FOUND"));
    // GraphQL itself is unaffected.
    let token = hub.token(&hub.add_org("Member", false), renkei_hub::auth::Role::Analyst);
    let (status, _) = hub.post(Some(&token), "{ __typename }", serde_json::json!({}));
    assert_eq!(status, 200);
}

#[test]
fn graphiql_serves_pinned_files_under_a_strict_policy() {
    let hub = TestHub::start_with(Backend::Sqlite, |c| c.graphiql = true);
    let page = fetch(&hub, "/graphql");
    assert_eq!(page.status, 200);
    assert_eq!(page.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(page.header("x-content-type-options"), "nosniff");
    assert_eq!(page.header("referrer-policy"), "no-referrer");
    assert_eq!(page.header("cache-control"), "no-store");
    let html = page.text();
    assert!(!html.contains("http://") && !html.contains("https://"), "{html}");

    // The policy, directive by directive.
    let csp = page.header("content-security-policy").to_string();
    let directives: Vec<&str> = csp.split(';').map(str::trim).collect();
    let nonce = directives
        .iter()
        .find_map(|d| d.strip_prefix("style-src 'self' 'nonce-"))
        .and_then(|n| n.strip_suffix('\''))
        .unwrap_or_else(|| panic!("no style nonce in {csp}"));
    assert!(nonce.len() >= 22, "{nonce}");
    let style_src = format!("style-src 'self' 'nonce-{nonce}'");
    assert_eq!(
        directives,
        [
            "default-src 'none'",
            "script-src 'self'",
            style_src.as_str(),
            "connect-src 'self'",
            "img-src 'self' data:",
            "font-src 'self' data:",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    );
    // Each page has a nonce of its own.
    let again = fetch(&hub, "/graphql");
    assert_ne!(again.header("content-security-policy"), csp);

    // Every script and stylesheet: from the hub, with the hash of what the hub serves.
    let scripts = tags(&html, "script");
    let styles: Vec<_> =
        tags(&html, "link").into_iter().filter(|(t, _)| attr(t, "rel") == Some("stylesheet")).collect();
    assert!(scripts.len() >= 4 && !styles.is_empty(), "{html}");
    assert_eq!(tags(&html, "style").len(), 0, "no inline style: {html}");
    let mut start_script = None;
    for (tag, content, url_attr, content_type) in scripts
        .iter()
        .map(|(t, c)| (t, c, "src", "text/javascript; charset=utf-8"))
        .chain(styles.iter().map(|(t, c)| (t, c, "href", "text/css; charset=utf-8")))
    {
        assert_eq!(content.trim(), "", "inline code: {tag}");
        let url = attr(tag, url_attr).unwrap_or_else(|| panic!("no {url_attr}: {tag}"));
        assert!(!url.contains(':') && !url.starts_with("//"), "not same-origin: {tag}");
        // The page is /graphql: a relative address is under /.
        let path = if url.starts_with('/') { url.to_string() } else { format!("/{url}") };
        assert!(path.starts_with("/graphiql/"), "{tag}");
        assert_eq!(attr(tag, "crossorigin"), Some("anonymous"), "{tag}");
        let integrity = attr(tag, "integrity").unwrap_or_else(|| panic!("no integrity: {tag}"));
        let file = fetch(&hub, &path);
        assert_eq!(file.status, 200, "{path}");
        assert_eq!(integrity, sri_sha384(&file.body), "{path}");
        assert_eq!(file.header("content-type"), content_type, "{path}");
        assert_eq!(file.header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(file.header("cache-control"), "public, max-age=31536000, immutable", "{path}");
        if path.contains("renkei-graphiql") && url_attr == "src" {
            assert_eq!(attr(tag, "data-style-nonce"), Some(nonce), "{tag}");
            start_script = Some(file.text());
        }
    }
    // The start script is the hub's own: it names no other site either.
    let start = start_script.expect("the page loads renkei-graphiql.*.js");
    assert!(!start.contains("http://") && !start.contains("https://"), "{start}");
    assert!(start.contains("Bearer "), "the headers editor is prefilled for the token");
    // The schema query the start script sends in place of GraphiQL's own fits the hub's
    // default limits (depth 12), with the member's token as every query needs.
    let introspection: Vec<&str> = start
        .split("var introspection = [")
        .nth(1)
        .and_then(|rest| rest.split("].join(").next())
        .expect("the start script's schema query")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| l.trim_end_matches(',').trim_matches('\''))
        .collect();
    let token = hub.token(&hub.add_org("Member", false), renkei_hub::auth::Role::Analyst);
    let (status, body) = hub.post(Some(&token), &introspection.join("\n"), serde_json::json!({}));
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    assert_eq!(body["data"]["__schema"]["queryType"]["name"], "Query", "{body}");

    assert_eq!(fetch(&hub, "/graphiql/nothing.js").status, 404);
    assert_eq!(fetch(&hub, "/graphiql/../Cargo.toml").status, 404);
}
