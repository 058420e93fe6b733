//! A plain HTTP client of the web console (`/console/`), for tests that read pages
//! without a browser: it keeps the session cookie, follows nothing by itself (a test
//! sees each 303), and reads each page's CSRF secret so forms post as a browser would.
//! Browser tests (`browser`) drive the same pages in Chromium.

use anyhow::{anyhow, Context as _, Result};
use std::collections::BTreeMap;

use crate::TestHub;

/// One answer of the console.
#[derive(Debug, Clone)]
pub struct Page {
    pub status: u16,
    /// Where a 303 points.
    pub location: Option<String>,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl Page {
    /// The text a person reads in `<main>` (tags dropped, entities decoded, spaces
    /// collapsed).
    pub fn text(&self) -> String {
        let main = match (self.body.find("<main"), self.body.find("</main>")) {
            (Some(a), Some(b)) if a < b => &self.body[a..b],
            _ => &self.body[..],
        };
        visible_text(main)
    }

    /// The value of the first `name="csrf"` hidden field, if the page has a form.
    pub fn csrf(&self) -> Option<String> {
        attr_after(&self.body, "name=\"csrf\" value=\"")
    }

    /// Every `href` on the page that starts with `prefix`.
    pub fn links(&self, prefix: &str) -> Vec<String> {
        let needle = format!("href=\"{prefix}");
        let mut out = Vec::new();
        let mut rest = &self.body[..];
        while let Some(i) = rest.find(&needle) {
            let start = i + "href=\"".len();
            let end = rest[start..].find('"').map_or(rest.len(), |e| start + e);
            out.push(decode_entities(&rest[start..end]));
            rest = &rest[end..];
        }
        out
    }
}

fn attr_after(body: &str, needle: &str) -> Option<String> {
    let start = body.find(needle)? + needle.len();
    let end = body[start..].find('"')? + start;
    Some(decode_entities(&body[start..end]))
}

fn decode_entities(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&#60;", "<")
        .replace("&#62;", ">")
        .replace("&#38;", "&")
        .replace("&amp;", "&")
}

/// The text of an HTML fragment as shown: tags dropped, entities decoded.
pub fn visible_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    for ch in html.chars() {
        match ch {
            '<' => {
                in_tag = true;
                out.push(' ');
            }
            '>' if in_tag => in_tag = false,
            c if !in_tag => out.push(c),
            _ => {}
        }
    }
    decode_entities(&out).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A browser-like session against one hub's console.
pub struct ConsoleClient {
    base: String,
    http: reqwest::blocking::Client,
    cookies: BTreeMap<String, String>,
    accept_language: String,
    /// The CSRF secret of the last page that had one.
    pub csrf: Option<String>,
}

impl ConsoleClient {
    /// A client that prefers `lang` (`en` or `ja`), signed in as no one.
    pub fn new(hub: &TestHub, lang: &str) -> ConsoleClient {
        ConsoleClient {
            base: hub.base.clone(),
            http: reqwest::blocking::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap_or_default(),
            cookies: BTreeMap::new(),
            accept_language: lang.to_string(),
            csrf: None,
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ")
    }

    fn keep(&mut self, response: reqwest::blocking::Response) -> Result<Page> {
        for value in response.headers().get_all(reqwest::header::SET_COOKIE) {
            let text = value.to_str().unwrap_or_default();
            let pair = text.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                let removal = text.to_ascii_lowercase().contains("max-age=0") || value.is_empty();
                if removal {
                    self.cookies.remove(name.trim());
                } else {
                    self.cookies.insert(name.trim().to_string(), value.trim().to_string());
                }
            }
        }
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let location = headers.get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()).map(str::to_string);
        let body = response.text().context("reading a console page")?;
        let page = Page { status, location, body, headers };
        if let Some(csrf) = page.csrf() {
            self.csrf = Some(csrf);
        }
        Ok(page)
    }

    /// GETs a console path (`/console/...`), query included.
    pub fn get(&mut self, path: &str) -> Result<Page> {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .header(reqwest::header::ACCEPT_LANGUAGE, &self.accept_language)
            .send()
            .with_context(|| format!("GET {path}"))?;
        self.keep(response)
    }

    /// POSTs a form as given (no CSRF secret added).
    pub fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Result<Page> {
        let body =
            fields.iter().map(|(k, v)| format!("{}={}", form_encode(k), form_encode(v))).collect::<Vec<_>>().join("&");
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .header(reqwest::header::ACCEPT_LANGUAGE, &self.accept_language)
            .header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .with_context(|| format!("POST {path}"))?;
        self.keep(response)
    }

    /// POSTs a `multipart/form-data` form with the session's CSRF secret, as a browser
    /// posts a file input: each field is (name, file name if a file, content).
    pub fn post_multipart(&mut self, path: &str, fields: &[(&str, Option<&str>, &str)]) -> Result<Page> {
        let csrf = self.csrf.clone().ok_or_else(|| anyhow!("no page with a CSRF secret was read yet"))?;
        let boundary = "----renkei-test-boundary-7f3c9a";
        let mut body = String::new();
        let mut all: Vec<(&str, Option<&str>, &str)> = vec![("csrf", None, csrf.as_str())];
        all.extend_from_slice(fields);
        for (name, file, content) in all {
            body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\""));
            if let Some(file) = file {
                body.push_str(&format!("; filename=\"{file}\"\r\nContent-Type: application/json"));
            }
            body.push_str(&format!("\r\n\r\n{content}\r\n"));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        let response = self
            .http
            .post(format!("{}{path}", self.base))
            .header(reqwest::header::COOKIE, self.cookie_header())
            .header(reqwest::header::ACCEPT_LANGUAGE, &self.accept_language)
            .header(reqwest::header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(body)
            .send()
            .with_context(|| format!("POST {path}"))?;
        self.keep(response)
    }

    /// POSTs a form with the session's CSRF secret (read from the last page).
    pub fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Result<Page> {
        let csrf = self.csrf.clone().ok_or_else(|| anyhow!("no page with a CSRF secret was read yet"))?;
        let mut all: Vec<(&str, &str)> = vec![("csrf", csrf.as_str())];
        all.extend_from_slice(fields);
        self.post_raw(path, &all)
    }

    /// Signs in with a token (reading the sign-in form first, as a browser does); the
    /// answer is the 303 to where the session stands.
    pub fn sign_in(&mut self, token: &str) -> Result<Page> {
        let form = self.get("/console/sign-in")?;
        let pre = attr_after(&form.body, "name=\"pre\" value=\"").ok_or_else(|| anyhow!("no sign-in form"))?;
        self.post_raw("/console/sign-in", &[("token", token), ("pre", &pre)])
    }

    /// Signs in and checks the session is active (members without a second factor).
    pub fn signed_in(hub: &TestHub, token: &str, lang: &str) -> Result<ConsoleClient> {
        let mut client = ConsoleClient::new(hub, lang);
        let answer = client.sign_in(token)?;
        if answer.location.as_deref() != Some("/console/") {
            return Err(anyhow!("sign-in went to {:?} ({}): {}", answer.location, answer.status, answer.text()));
        }
        // A page with a form, for the CSRF secret.
        client.get("/console/account")?;
        Ok(client)
    }

    /// The session cookie's value, if any (for tests that forge or age sessions).
    pub fn session_cookie(&self) -> Option<&str> {
        self.cookies.get("renkei_session").map(String::as_str)
    }

    /// Replaces or removes a cookie (a test playing an attacker or a stale browser).
    pub fn set_cookie(&mut self, name: &str, value: Option<&str>) {
        match value {
            Some(v) => {
                self.cookies.insert(name.to_string(), v.to_string());
            }
            None => {
                self.cookies.remove(name);
            }
        }
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
pub fn form_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => out.push(b as char),
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The token id of a token (`rk_<id>_<secret>`).
pub fn token_id(token: &str) -> &str {
    token.strip_prefix("rk_").and_then(|rest| rest.split('_').next()).unwrap_or_default()
}

/// The TOTP code of a base32 secret now.
pub fn totp_now(secret_base32: &str) -> Result<String> {
    use renkei_schema::second_factor::totp;
    let secret = totp::from_base32(secret_base32).ok_or_else(|| anyhow!("not a base32 secret"))?;
    Ok(totp::code_at(&secret, chrono::Utc::now().timestamp()))
}

impl ConsoleClient {
    /// Signs a coordinator in for the first time: the one-time enrolment code (issued
    /// here as `renkei-hub token enrol` does), a TOTP factor registered, the session
    /// active. Returns the client and the TOTP secret (base32) for later sign-ins.
    pub fn enrolled(hub: &TestHub, token: &str, lang: &str) -> Result<(ConsoleClient, String)> {
        let code = hub
            .db(|c| renkei_hub::services::sessions::issue_enrolment(c, &hub.hub.keys, token_id(token), 24))
            .map_err(|e| anyhow!("enrolment code: {}", e.message))?;
        let mut client = ConsoleClient::new(hub, lang);
        let answer = client.sign_in(token)?;
        if answer.location.as_deref() != Some("/console/enrol") {
            return Err(anyhow!("a coordinator without a second factor went to {:?}", answer.location));
        }
        let page = client.get("/console/enrol")?;
        let secret = attr_between(&page.body, "id=\"totp-secret\">", "<").ok_or_else(|| anyhow!("no TOTP secret"))?;
        let now = totp_now(&secret)?;
        let done = client.post(
            "/console/enrol/totp",
            &[("enrolment_code", &code), ("secret", &secret), ("code", &now), ("label", "test phone")],
        )?;
        if done.status != 303 {
            return Err(anyhow!("enrolment refused ({}): {}", done.status, done.text()));
        }
        client.get("/console/account")?;
        Ok((client, secret))
    }
}

fn attr_between(body: &str, start: &str, end: &str) -> Option<String> {
    let a = body.find(start)? + start.len();
    let b = body[a..].find(end)? + a;
    Some(decode_entities(&body[a..b]))
}
