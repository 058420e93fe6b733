//! The browser harness (`renkei_e2e::browser`) against real headless Chromium, with no
//! hub: a tiny HTTP server on a loopback port serves a form under a strict
//! Content-Security-Policy, a page with accessibility defects, a page echoing request
//! headers and a same-origin script. Checks navigation, typing Japanese, clicking,
//! reading text, screenshots, cookies, scripts, WebDriver errors, axe-core under the
//! CSP and the WebAuthn virtual authenticator.

use renkei_e2e::browser::{describe_violations, webdriver_code, Browser, BrowserOptions};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

/// The console's policy: no inline script, scripts only from the page's own origin.
const CSP: &str = "default-src 'self'; script-src 'self'";

const FORM_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Harness form</title>
<script src="/app.js" defer></script>
<script>document.documentElement.dataset.inline = "ran";</script>
</head>
<body>
<main>
<h1>Share an indicator</h1>
<form method="post" action="/submit">
<p><label for="name">Name</label> <input id="name" name="name" type="text"></p>
<p><label for="note">Note</label> <textarea id="note" name="note" rows="3"></textarea></p>
<p><button id="send" type="submit">Send</button></p>
</form>
</main>
</body>
</html>
"#;

const BAD_PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Defects</title></head>
<body>
<main>
<h1>Defects</h1>
<img src="/pixel.png">
<input type="text" name="q">
</main>
</body>
</html>
"#;

const APP_JS: &str = "document.documentElement.dataset.appJs = 'ran';\n";

/// Serves the test pages on a loopback port, for the rest of the process; returns the port.
fn serve() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = listener.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let _ = handle(stream);
            });
        }
    });
    port
}

fn handle(stream: TcpStream) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, path) = (parts.next().unwrap_or("").to_string(), parts.next().unwrap_or("").to_string());
    let mut headers = Vec::new();
    loop {
        let mut header = String::new();
        if reader.read_line(&mut header)? == 0 || header.trim().is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':') {
            headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
        }
    }
    let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default();
    let mut body = vec![0; header("content-length").parse().unwrap_or(0)];
    reader.read_exact(&mut body)?;

    let html = "text/html; charset=utf-8";
    let (status, content_type, extra, page): (&str, &str, Vec<String>, String) = match (method.as_str(), path.as_str())
    {
        ("GET", "/") => (
            "200 OK",
            html,
            vec![
                format!("Content-Security-Policy: {CSP}"),
                "Set-Cookie: renkei_session=s3cr3t; Path=/; HttpOnly; SameSite=Strict".into(),
            ],
            FORM_PAGE.into(),
        ),
        ("GET", "/app.js") => ("200 OK", "text/javascript; charset=utf-8", vec![], APP_JS.into()),
        ("POST", "/submit") => {
            let form = parse_form(&String::from_utf8_lossy(&body));
            let field =
                |name: &str| escape(&form.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone()).unwrap_or_default());
            let page = format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sent</title></head>\
                 <body><main><h1>Sent</h1><pre id=\"result-name\">{}</pre><pre id=\"result-note\">{}</pre>\
                 </main></body></html>",
                field("name"),
                field("note")
            );
            ("200 OK", html, vec![format!("Content-Security-Policy: {CSP}")], page)
        }
        ("GET", "/echo-headers") => {
            let page = format!(
                "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Headers</title></head>\
                 <body><main><h1>Headers</h1><pre id=\"accept-language\">{}</pre><pre id=\"cookie\">{}</pre>\
                 </main></body></html>",
                escape(&header("accept-language")),
                escape(&header("cookie"))
            );
            ("200 OK", html, vec![], page)
        }
        ("GET", "/bad") => ("200 OK", html, vec![], BAD_PAGE.into()),
        _ => ("404 Not Found", "text/plain", vec![], "not found".into()),
    };
    let mut head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        page.len()
    );
    for h in extra {
        head.push_str(&h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    let mut stream = reader.into_inner();
    stream.write_all(head.as_bytes())?;
    stream.write_all(page.as_bytes())?;
    stream.flush()
}

/// `application/x-www-form-urlencoded` pairs, decoded (UTF-8).
fn parse_form(body: &str) -> Vec<(String, String)> {
    let decode = |s: &str| {
        let bytes = s.as_bytes();
        let mut out = Vec::new();
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    out.push(u8::from_str_radix(&s[i + 1..i + 3], 16).expect("percent escape"));
                    i += 2;
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8(out).expect("UTF-8 form value")
    };
    body.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (n, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(n), decode(v))
        })
        .collect()
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn cookie<'a>(cookies: &'a [Value], name: &str) -> Option<&'a Value> {
    cookies.iter().find(|c| c["name"] == json!(name))
}

#[test]
fn form_japanese_text_screenshots_cookies_and_scripts() {
    let port = serve();
    let site = format!("http://localhost:{port}");
    let browser = Browser::start("browser_harness-form").expect("browser starts");

    browser.goto(&format!("{site}/")).expect("goto");
    assert_eq!(browser.url().expect("url"), format!("{site}/"));
    assert_eq!(browser.title().expect("title"), "Harness form");
    assert!(browser.source().expect("source").contains("<h1>Share an indicator</h1>"));
    assert_eq!(browser.text("h1").expect("h1"), "Share an indicator");
    assert!(browser.body_text().expect("body").contains("Share an indicator"));
    assert_eq!(browser.find_all("label").expect("labels").len(), 2);
    assert!(browser.find_all("table").expect("no tables").is_empty());
    assert_eq!(browser.find("label[for=note]").expect("label").text().expect("text"), "Note");
    assert_eq!(browser.find("#name").expect("name").attr("type").expect("attr").as_deref(), Some("text"));
    assert_eq!(browser.find("#name").expect("name").attr("placeholder").expect("attr"), None);
    // The CSP is in force: the same-origin script ran, the inline one did not.
    let ran = browser
        .execute(
            "return [document.documentElement.dataset.appJs || null, document.documentElement.dataset.inline || null];",
            vec![],
        )
        .expect("execute");
    assert_eq!(ran, json!(["ran", null]), "the page's CSP must block inline scripts");

    // Japanese text and newlines, typed like a person.
    let name = "東京電力 フィッシング検知";
    let note = "一行目: 不審なドメイン\n二行目: example.jp";
    browser.fill("#name", "消される文字").expect("fill");
    browser.fill("#name", name).expect("fill name");
    browser.fill("#note", note).expect("fill note");
    // `attr` reads the attribute only (none: nothing set `value=`); the typed text is the property.
    assert_eq!(browser.find("#name").expect("name").attr("value").expect("value"), None);
    assert_eq!(browser.find("#name").expect("name").property("value").expect("value"), json!(name));
    assert_eq!(browser.find("#note").expect("note").property("value").expect("value"), json!(note));
    let shot = browser.screenshot("filled form").expect("screenshot");
    assert_eq!(shot.file_name().and_then(|n| n.to_str()), Some("01-filled-form.png"));
    let png = std::fs::read(&shot).expect("screenshot file");
    assert!(png.starts_with(b"\x89PNG\r\n\x1a\n") && png.len() > 1000, "not a PNG: {}", shot.display());

    browser.submit_form("#send").expect("submit");
    browser.wait_for("#result-name", Duration::from_secs(10)).expect("result page");
    assert_eq!(browser.title().expect("title"), "Sent");
    assert_eq!(browser.text("#result-name").expect("name back"), name);
    assert_eq!(browser.text("#result-note").expect("note back"), note);
    let shot = browser.screenshot("submitted").expect("screenshot");
    assert!(shot.ends_with("02-submitted.png") && shot.is_file());
    assert_eq!(shot.parent(), Some(browser.screenshot_dir()));

    // Cookies the server set (HttpOnly included) are read, deleted and replaced.
    let cookies = browser.cookies().expect("cookies");
    let session = cookie(&cookies, "renkei_session").unwrap_or_else(|| panic!("no session cookie in {cookies:?}"));
    assert_eq!(session["value"], json!("s3cr3t"));
    assert_eq!(session["httpOnly"], json!(true));
    browser.delete_cookie("renkei_session").expect("delete cookie");
    assert!(cookie(&browser.cookies().expect("cookies"), "renkei_session").is_none());
    browser.goto(&format!("{site}/echo-headers")).expect("goto");
    assert_eq!(browser.text("#cookie").expect("cookie header"), "");
    browser.add_cookie(json!({"name": "renkei_session", "value": "expired-one", "path": "/"})).expect("add cookie");
    browser.goto(&format!("{site}/echo-headers")).expect("goto");
    assert_eq!(browser.text("#cookie").expect("cookie header"), "renkei_session=expired-one");
    assert_eq!(browser.text("#accept-language").expect("accept-language").split(',').next(), Some("en-US"));

    // Scripts, sync and async, with arguments and elements.
    let h1 = browser.find("h1").expect("h1");
    assert_eq!(browser.execute("return arguments[0].tagName;", vec![h1.reference()]).expect("execute"), json!("H1"));
    let doubled = browser
        .execute_async(
            "const done = arguments[arguments.length - 1]; setTimeout(() => done(arguments[0] * 2), 50);",
            vec![json!(21)],
        )
        .expect("execute_async");
    assert_eq!(doubled, json!(42));
    let fetched = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             fetch('/app.js').then(r => r.text()).then(done, e => done('failed: ' + e));",
            vec![],
        )
        .expect("execute_async fetch");
    assert_eq!(fetched, json!(APP_JS));

    // WebDriver errors carry their code and message.
    let missing = browser.find("#missing").expect_err("no such element");
    assert_eq!(webdriver_code(&missing), Some("no such element"), "{missing:#}");
    assert!(format!("{missing:#}").contains("#missing"), "{missing:#}");
    let waited = browser.wait_for("#missing", Duration::from_millis(300)).expect_err("timeout");
    assert_eq!(webdriver_code(&waited), Some("no such element"));
    let invalid = browser.wait_for("[[[", Duration::from_secs(30)).expect_err("invalid selector");
    assert_eq!(webdriver_code(&invalid), Some("invalid selector"), "{invalid:#}");
    let thrown = browser.execute("throw new Error('boom');", vec![]).expect_err("script error");
    assert_eq!(webdriver_code(&thrown), Some("javascript error"));
    assert!(format!("{thrown:#}").contains("boom"), "{thrown:#}");
}

#[test]
fn axe_runs_under_a_strict_csp_and_finds_defects() {
    let port = serve();
    let browser = Browser::start("browser_harness-axe").expect("browser starts");

    browser.goto(&format!("http://127.0.0.1:{port}/")).expect("goto");
    let violations = browser.axe_violations().expect("axe runs on the CSP page");
    assert!(violations.is_empty(), "serious or critical violations:\n{}", describe_violations(&violations));
    // The injection did not loosen the page's policy: inline script is still blocked.
    assert_eq!(
        browser.execute("return document.documentElement.dataset.inline || null;", vec![]).expect("x"),
        Value::Null
    );
    browser.screenshot("good").expect("screenshot");

    browser.goto(&format!("http://127.0.0.1:{port}/bad")).expect("goto");
    let violations = browser.axe_violations().expect("axe runs");
    let ids: Vec<&str> = violations.iter().filter_map(|v| v["id"].as_str()).collect();
    assert!(ids.contains(&"image-alt") && ids.contains(&"label"), "{}", describe_violations(&violations));
    let described = describe_violations(&violations);
    assert!(described.contains("- image-alt (critical): ") && described.contains("img"), "{described}");
    browser.screenshot("defects").expect("screenshot");
}

#[test]
fn virtual_authenticator_creates_and_lists_credentials() {
    let port = serve();
    let browser = Browser::start("browser_harness-webauthn").expect("browser starts");
    // localhost is a secure context over plain HTTP, as WebAuthn requires.
    browser.goto(&format!("http://localhost:{port}/")).expect("goto");
    assert_eq!(browser.execute("return window.isSecureContext;", vec![]).expect("x"), json!(true));

    let authenticator = browser.add_virtual_authenticator().expect("virtual authenticator");
    assert!(browser.credentials(&authenticator).expect("credentials").is_empty());
    let created = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             navigator.credentials.create({publicKey: {
               rp: {id: 'localhost', name: 'renkei harness'},
               user: {id: new TextEncoder().encode('user-1'), name: 'analyst@example.jp', displayName: '分析担当'},
               challenge: crypto.getRandomValues(new Uint8Array(32)),
               pubKeyCredParams: [{type: 'public-key', alg: -7}, {type: 'public-key', alg: -257}],
               authenticatorSelection: {residentKey: 'required', userVerification: 'required'},
               timeout: 20000,
             }}).then(c => done({id: c.id, type: c.type}), e => done({error: String(e)}));",
            vec![],
        )
        .expect("create");
    assert!(created.get("error").is_none(), "navigator.credentials.create failed: {created}");
    let id = created["id"].as_str().expect("credential id");

    let credentials = browser.credentials(&authenticator).expect("credentials");
    assert_eq!(credentials.len(), 1, "{credentials:?}");
    let credential = &credentials[0];
    assert_eq!(credential["rpId"], json!("localhost"));
    assert_eq!(credential["isResidentCredential"], json!(true));
    assert_eq!(credential["credentialId"].as_str().map(|c| c.trim_end_matches('=')), Some(id));

    // The credential signs in: an assertion for the same id, user verified.
    let asserted = browser
        .execute_async(
            "const done = arguments[arguments.length - 1];
             navigator.credentials.get({publicKey: {
               rpId: 'localhost', userVerification: 'required',
               challenge: crypto.getRandomValues(new Uint8Array(32)), timeout: 20000,
             }}).then(c => done({id: c.id, user: new TextDecoder().decode(c.response.userHandle)}),
                      e => done({error: String(e)}));",
            vec![],
        )
        .expect("get");
    assert_eq!(asserted, json!({"id": id, "user": "user-1"}));

    browser.remove_virtual_authenticator(&authenticator).expect("remove");
    let gone = browser.credentials(&authenticator).expect_err("a removed authenticator has no credentials");
    assert!(webdriver_code(&gone).is_some(), "{gone:#}");
}

#[test]
fn japanese_browser_asks_for_japanese() {
    let port = serve();
    let options = BrowserOptions { accept_language: Some("ja".into()), ..BrowserOptions::default() };
    let browser = Browser::start_with("browser_harness-ja", &options).expect("browser starts");
    browser.goto(&format!("http://127.0.0.1:{port}/echo-headers")).expect("goto");
    let accept = browser.text("#accept-language").expect("accept-language");
    assert_eq!(accept.split(',').next(), Some("ja"), "Accept-Language: {accept}");
    assert_eq!(browser.execute("return navigator.language;", vec![]).expect("x"), json!("ja"));
}
