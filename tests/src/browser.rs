//! A real browser for the web console's end-to-end tests: Debian's headless `chromium`
//! driven through `chromedriver` over W3C WebDriver, by a small client written here on
//! reqwest's blocking client (no WebDriver crate: those pull TLS stacks renkei forbids).
//!
//! `Browser::start` runs its own `chromedriver` on a free loopback port and opens one
//! session; both end when the `Browser` is dropped. Beyond navigation, reading and
//! acting on elements it injects axe-core (`tests/console/node_modules/axe-core`) for
//! accessibility checks, saves numbered screenshots under
//! `$CARGO_TARGET_DIR/console-screenshots/<name>/` (`target/` of the workspace when the
//! variable is unset) and drives Chromium's WebAuthn virtual authenticator.
//! `ops/test` installs `chromium`, `chromium-driver`, a Japanese font and the npm packages of
//! `tests/console`; without them `Browser::start` and `Browser::axe_violations` fail
//! with an error saying so, never skip.
//!
//! Every WebDriver error surfaces as an `anyhow::Error` holding a [`WebDriverError`]
//! (its W3C error code and message), which callers may `downcast_ref`.

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine;
use reqwest::blocking::Client;
use reqwest::Method;
use serde_json::{json, Value};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Where `ops/test` (apt-get install chromium chromium-driver) puts the driver.
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's Chromium launcher.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// axe-core as `npm ci --prefix tests/console` installs it.
pub const AXE_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/console/node_modules/axe-core/axe.min.js");

/// The W3C key under which an element reference travels.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// Chromium's arguments for every session (`--lang` follows `BrowserOptions`).
const BASE_ARGS: [&str; 5] =
    ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,900"];

/// An error answered by the WebDriver server: its W3C error code (`no such element`,
/// `invalid argument`, `javascript error`, …), message and the command that got it.
#[derive(Debug, Clone)]
pub struct WebDriverError {
    pub code: String,
    pub message: String,
    pub command: String,
}

impl std::fmt::Display for WebDriverError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "WebDriver {}: {}: {}", self.command, self.code, self.message)
    }
}

impl std::error::Error for WebDriverError {}

/// The WebDriver error code carried by `err`, if it is one.
pub fn webdriver_code(err: &anyhow::Error) -> Option<&str> {
    err.downcast_ref::<WebDriverError>().map(|e| e.code.as_str())
}

/// How a session's Chromium is set up beyond the defaults.
#[derive(Debug, Clone, Default)]
pub struct BrowserOptions {
    /// The UI language and `Accept-Language` (e.g. `"ja"`: `--lang=ja` and the
    /// `intl.accept_languages` preference); `en-US` when `None`.
    pub accept_language: Option<String>,
    /// More Chromium arguments, after the defaults.
    pub extra_args: Vec<String>,
}

/// The `chromedriver` child, with whatever it started, and its temporary folder (its
/// `TMPDIR`: Chromium's profile and shared memory files), all gone when dropped.
struct Driver {
    child: Child,
    tmp: PathBuf,
    /// Told to shut down: worth waiting for.
    stopping: bool,
}

impl Driver {
    /// Whether the child has exited, without reaping it (Linux: a zombie, or gone).
    fn exited(&self) -> bool {
        match std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())) {
            // The state follows the parenthesised command name.
            Ok(stat) => stat.rsplit_once(')').is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
            Err(_) => true,
        }
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // Give a driver told to shut down the time to close Chromium and clean up.
        let asked = Instant::now();
        while self.stopping && !self.exited() && asked.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(20));
        }
        // chromedriver leads its own process group, and Chromium is in it: killing the
        // group catches a browser the session did not close. The child is reaped only
        // after, so the group id cannot have been reused.
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", &format!("-{}", self.child.id())])
            .stderr(Stdio::null())
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.tmp);
    }
}

/// One headless Chromium session, with its own `chromedriver`. Dropping it deletes the
/// session (Chromium quits) and kills the driver.
pub struct Browser {
    http: Client,
    /// `http://127.0.0.1:PORT`, the driver.
    base: String,
    /// `http://127.0.0.1:PORT/session/ID`.
    session_url: String,
    folder: PathBuf,
    shots: AtomicU32,
    driver: Driver,
}

impl std::fmt::Debug for Browser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Browser").field("session", &self.session_url).field("folder", &self.folder).finish()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // Chromium quits, then the driver; `Driver` kills what is left.
        let _ = self.http.delete(&self.session_url).timeout(Duration::from_secs(10)).send();
        let shutdown = self.http.get(format!("{}/shutdown", self.base)).timeout(Duration::from_secs(5)).send();
        self.driver.stopping = shutdown.is_ok();
    }
}

/// A free loopback port (bound and released: chromedriver takes it right after).
fn free_port() -> Result<u16> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").context("binding a loopback port")?;
    Ok(listener.local_addr()?.port())
}

/// The folder for a test's screenshots: created, and emptied of earlier runs.
fn screenshot_folder(name: &str) -> Result<PathBuf> {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => workspace.join(dir),
        None => workspace.join("target"),
    };
    let folder = target.join("console-screenshots").join(safe_name(name));
    if folder.exists() {
        std::fs::remove_dir_all(&folder).with_context(|| format!("emptying {}", folder.display()))?;
    }
    std::fs::create_dir_all(&folder).with_context(|| format!("creating {}", folder.display()))?;
    Ok(folder)
}

/// `name` with anything but ASCII letters, digits, `-` and `_` made `-`.
fn safe_name(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' }).collect()
}

/// Reads a WebDriver answer: its `value`, or a `WebDriverError`.
fn answer(command: &str, resp: reqwest::blocking::Response) -> Result<Value> {
    let status = resp.status();
    let text = resp.text().with_context(|| format!("WebDriver {command}: reading the answer"))?;
    let body: Value = serde_json::from_str(&text)
        .with_context(|| format!("WebDriver {command}: answer {status} is not JSON: {text:.500}"))?;
    let value = body.get("value").cloned().unwrap_or(Value::Null);
    let code = value.get("error").and_then(Value::as_str);
    if !status.is_success() || code.is_some() {
        return Err(WebDriverError {
            code: code.unwrap_or("unknown error").to_string(),
            message: value.get("message").and_then(Value::as_str).unwrap_or(&text).to_string(),
            command: command.to_string(),
        }
        .into());
    }
    Ok(value)
}

impl Browser {
    /// Starts Chromium (English, 1280×900, headless) with screenshots going to
    /// `console-screenshots/<name>/`.
    pub fn start(name: &str) -> Result<Browser> {
        Browser::start_with(name, &BrowserOptions::default())
    }

    /// Starts Chromium with `options` (language, more arguments).
    pub fn start_with(name: &str, options: &BrowserOptions) -> Result<Browser> {
        for (path, package) in [(CHROMEDRIVER, "chromium-driver"), (CHROMIUM, "chromium")] {
            if !Path::new(path).is_file() {
                bail!(
                    "{path} is missing: the console tests need Debian's chromium and chromium-driver \
                     (run the tests with ops/test, which installs them, or apt-get install {package})"
                );
            }
        }
        let folder = screenshot_folder(name)?;
        // reqwest's TLS (compiled in for the member client) needs the process's rustls
        // provider even for plain HTTP: ring, as everywhere in renkei.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(120))
            .build()
            .context("building the WebDriver HTTP client")?;

        let port = free_port()?;
        let log_path = folder.join("chromedriver.log");
        let log = File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
        let tmp = std::env::temp_dir().join(format!("renkei-browser-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&tmp).with_context(|| format!("creating {}", tmp.display()))?;
        let mut command = Command::new(CHROMEDRIVER);
        command
            .arg(format!("--port={port}"))
            .env("TMPDIR", &tmp)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log);
        std::os::unix::process::CommandExt::process_group(&mut command, 0);
        let child = match command.spawn() {
            Ok(child) => child,
            Err(err) => {
                let _ = std::fs::remove_dir_all(&tmp);
                return Err(err).with_context(|| format!("starting {CHROMEDRIVER}"));
            }
        };
        let driver = Driver { child, tmp, stopping: false };
        let base = format!("http://127.0.0.1:{port}");

        // Wait until the driver says it is ready.
        let started = Instant::now();
        loop {
            if driver.exited() {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                bail!("{CHROMEDRIVER} exited before it was ready:\n{log}");
            }
            let ready = http
                .get(format!("{base}/status"))
                .timeout(Duration::from_secs(2))
                .send()
                .ok()
                .and_then(|r| r.json::<Value>().ok())
                .is_some_and(|v| v["value"]["ready"] == json!(true));
            if ready {
                break;
            }
            if started.elapsed() > Duration::from_secs(20) {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                bail!("{CHROMEDRIVER} on port {port} was not ready within 20 s:\n{log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }

        let lang = options.accept_language.clone().unwrap_or_else(|| "en-US".into());
        let mut args: Vec<String> = BASE_ARGS.iter().map(|a| a.to_string()).collect();
        args.push(format!("--lang={lang}"));
        args.extend(options.extra_args.iter().cloned());
        let capabilities = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": args,
                "prefs": {"intl.accept_languages": lang},
            },
        }}});
        let resp = http
            .post(format!("{base}/session"))
            .json(&capabilities)
            .send()
            .context("WebDriver POST /session: no answer from chromedriver")?;
        let session = answer("POST /session", resp)?;
        let id = session["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("WebDriver POST /session: no sessionId in {session}"))?;
        let browser = Browser {
            http,
            session_url: format!("{base}/session/{id}"),
            base,
            folder,
            shots: AtomicU32::new(0),
            driver,
        };
        browser.command(
            Method::POST,
            "/timeouts",
            Some(json!({"script": 30_000, "pageLoad": 60_000, "implicit": 0})),
        )?;
        Ok(browser)
    }

    /// Sends one command of this session (`path` after `/session/ID`); returns `value`.
    pub fn command(&self, method: Method, path: &str, body: Option<Value>) -> Result<Value> {
        let name = format!("{method} {path}");
        let mut req = self.http.request(method, format!("{}{path}", self.session_url));
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req.send().with_context(|| format!("WebDriver {name}: no answer from chromedriver"))?;
        answer(&name, resp)
    }

    fn get(&self, path: &str) -> Result<Value> {
        self.command(Method::GET, path, None)
    }

    fn post(&self, path: &str, body: Value) -> Result<Value> {
        self.command(Method::POST, path, Some(body))
    }

    fn string(&self, path: &str) -> Result<String> {
        let value = self.get(path)?;
        value.as_str().map(str::to_string).ok_or_else(|| anyhow!("WebDriver GET {path}: not a string: {value}"))
    }

    /// The folder this browser's screenshots go to (with `chromedriver.log`).
    pub fn screenshot_dir(&self) -> &Path {
        &self.folder
    }

    /// Navigates to `url` and waits for the page to load.
    pub fn goto(&self, url: &str) -> Result<()> {
        self.post("/url", json!({"url": url})).map(drop)
    }

    /// The current page's URL.
    pub fn url(&self) -> Result<String> {
        self.string("/url")
    }

    /// The current page's title.
    pub fn title(&self) -> Result<String> {
        self.string("/title")
    }

    /// The current DOM serialised as HTML.
    pub fn source(&self) -> Result<String> {
        self.string("/source")
    }

    fn element(&self, value: &Value) -> Result<Element<'_>> {
        let id = value[ELEMENT_KEY].as_str().ok_or_else(|| anyhow!("not an element reference: {value}"))?;
        Ok(Element { browser: self, id: id.to_string() })
    }

    /// The first element matching the CSS selector (error `no such element` if none).
    pub fn find(&self, css: &str) -> Result<Element<'_>> {
        let value = self
            .post("/element", json!({"using": "css selector", "value": css}))
            .with_context(|| format!("finding {css}"))?;
        self.element(&value)
    }

    /// Every element matching the CSS selector, in document order (maybe none).
    pub fn find_all(&self, css: &str) -> Result<Vec<Element<'_>>> {
        let value = self.post("/elements", json!({"using": "css selector", "value": css}))?;
        value
            .as_array()
            .ok_or_else(|| anyhow!("POST /elements: not a list: {value}"))?
            .iter()
            .map(|v| self.element(v))
            .collect()
    }

    /// Polls for an element matching `css` until `timeout`; other errors (a bad
    /// selector) end the wait at once.
    pub fn wait_for(&self, css: &str, timeout: Duration) -> Result<Element<'_>> {
        let started = Instant::now();
        loop {
            match self.find(css) {
                Ok(element) => return Ok(element),
                Err(err) if webdriver_code(&err) == Some("no such element") && started.elapsed() < timeout => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                Err(err) => return Err(err.context(format!("waited {timeout:?} for {css}"))),
            }
        }
    }

    /// The visible text of the first element matching `css`.
    pub fn text(&self, css: &str) -> Result<String> {
        self.find(css)?.text()
    }

    /// The visible text of the whole page.
    pub fn body_text(&self) -> Result<String> {
        self.text("body")
    }

    /// Clears the field matching `css` and types `text` into it.
    pub fn fill(&self, css: &str, text: &str) -> Result<()> {
        let field = self.find(css)?;
        field.clear()?;
        field.send_keys(text)
    }

    /// Submits a form the way a person does: clicks its button (`css`).
    pub fn submit_form(&self, css_of_button: &str) -> Result<()> {
        self.find(css_of_button)?.click()
    }

    /// Runs `script` as a function body with `args` (`arguments[i]`; an element
    /// passes as `Element::reference`); returns what it returns.
    pub fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.post("/execute/sync", json!({"script": script, "args": args}))
    }

    /// Runs `script` with `args` plus a callback as the last argument
    /// (`arguments[arguments.length - 1]`), and returns what it is called with (30 s at
    /// most, the session's script timeout).
    pub fn execute_async(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.post("/execute/async", json!({"script": script, "args": args}))
    }

    /// The cookies visible to the current page (HttpOnly ones included), as WebDriver
    /// serialises them (`name`, `value`, `path`, `domain`, `httpOnly`, `expiry`, …).
    pub fn cookies(&self) -> Result<Vec<Value>> {
        let value = self.get("/cookie")?;
        value.as_array().cloned().ok_or_else(|| anyhow!("GET /cookie: not a list: {value}"))
    }

    /// Deletes the current page's cookie `name`.
    pub fn delete_cookie(&self, name: &str) -> Result<()> {
        self.command(Method::DELETE, &format!("/cookie/{name}"), None).map(drop)
    }

    /// Adds a cookie (`{"name": …, "value": …}` and optional `path`, `expiry`,
    /// `httpOnly`, …) for the current page's domain.
    pub fn add_cookie(&self, cookie: Value) -> Result<()> {
        self.post("/cookie", json!({"cookie": cookie})).map(drop)
    }

    /// Saves the viewport as `NN-step.png` (NN counting up from 01) in the screenshot
    /// folder; returns its path.
    pub fn screenshot(&self, step: &str) -> Result<PathBuf> {
        let value = self.get("/screenshot")?;
        let data = value.as_str().ok_or_else(|| anyhow!("GET /screenshot: not a string"))?;
        let png = base64::engine::general_purpose::STANDARD.decode(data).context("GET /screenshot: not base64")?;
        let n = self.shots.fetch_add(1, Ordering::SeqCst) + 1;
        let path = self.folder.join(format!("{n:02}-{}.png", safe_name(step)));
        std::fs::write(&path, png).with_context(|| format!("writing {}", path.display()))?;
        Ok(path)
    }

    /// Adds a WebAuthn virtual authenticator (CTAP2 over USB, resident keys, user
    /// verification, always consenting and verified); returns its id.
    pub fn add_virtual_authenticator(&self) -> Result<String> {
        let value = self.post(
            "/webauthn/authenticator",
            json!({
                "protocol": "ctap2",
                "transport": "usb",
                "hasResidentKey": true,
                "hasUserVerification": true,
                "isUserConsenting": true,
                "isUserVerified": true,
            }),
        )?;
        value.as_str().map(str::to_string).ok_or_else(|| anyhow!("POST /webauthn/authenticator: no id in {value}"))
    }

    /// Removes a virtual authenticator, with its credentials.
    pub fn remove_virtual_authenticator(&self, id: &str) -> Result<()> {
        self.command(Method::DELETE, &format!("/webauthn/authenticator/{id}"), None).map(drop)
    }

    /// The credentials a virtual authenticator holds (`credentialId`, `rpId`,
    /// `isResidentCredential`, `userHandle`, `privateKey`, `signCount`; bytes in
    /// base64url).
    pub fn credentials(&self, id: &str) -> Result<Vec<Value>> {
        let value = self.get(&format!("/webauthn/authenticator/{id}/credentials"))?;
        value.as_array().cloned().ok_or_else(|| anyhow!("GET credentials: not a list: {value}"))
    }

    /// Runs axe-core over the current page and returns its violations of impact
    /// `serious` or `critical` (axe's result objects: `id`, `impact`, `help`,
    /// `helpUrl`, `nodes`, …). axe is injected through WebDriver, which the page's
    /// Content-Security-Policy does not govern.
    pub fn axe_violations(&self) -> Result<Vec<Value>> {
        let loaded = self.execute("return typeof window.axe === 'object';", vec![])?;
        if loaded != json!(true) {
            let axe = std::fs::read_to_string(AXE_PATH).with_context(|| {
                format!(
                    "reading {AXE_PATH}: axe-core is not installed (run the tests with ops/test, \
                     or npm ci --prefix tests/console)"
                )
            })?;
            self.execute(&axe, vec![]).context("injecting axe-core")?;
        }
        let result = self.execute_async(
            "const done = arguments[arguments.length - 1];
             window.axe.run(document, {resultTypes: ['violations']})
               .then(r => done({violations: r.violations}), e => done({error: String(e && e.stack || e)}));",
            vec![],
        )?;
        if let Some(error) = result.get("error") {
            bail!("axe.run failed: {error}");
        }
        let violations =
            result["violations"].as_array().ok_or_else(|| anyhow!("axe.run: no violations in {result}"))?;
        Ok(violations
            .iter()
            .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
            .cloned()
            .collect())
    }
}

/// axe violations as lines for an assertion message: id, impact, help and the first
/// three target selectors of each.
pub fn describe_violations(violations: &[Value]) -> String {
    violations
        .iter()
        .map(|v| {
            let nodes = v["nodes"].as_array().map(Vec::as_slice).unwrap_or_default();
            let mut targets: Vec<String> = nodes
                .iter()
                .take(3)
                .map(|n| match &n["target"] {
                    Value::Array(parts) => parts
                        .iter()
                        .map(|p| p.as_str().map(str::to_string).unwrap_or_else(|| p.to_string()))
                        .collect::<Vec<_>>()
                        .join(" >> "),
                    other => other.to_string(),
                })
                .collect();
            if nodes.len() > 3 {
                targets.push(format!("and {} more", nodes.len() - 3));
            }
            format!(
                "- {} ({}): {} [{}]",
                v["id"].as_str().unwrap_or("?"),
                v["impact"].as_str().unwrap_or("?"),
                v["help"].as_str().unwrap_or("?"),
                targets.join(", ")
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// An element of the page (a W3C element reference), valid while its page is.
pub struct Element<'a> {
    browser: &'a Browser,
    id: String,
}

impl std::fmt::Debug for Element<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Element").field("id", &self.id).finish()
    }
}

impl Element<'_> {
    /// The reference to pass this element to `execute` as an argument.
    pub fn reference(&self) -> Value {
        json!({ ELEMENT_KEY: self.id })
    }

    fn path(&self, rest: &str) -> String {
        format!("/element/{}{rest}", self.id)
    }

    /// Clicks it (scrolled into view; an error if something else would get the click).
    pub fn click(&self) -> Result<()> {
        self.browser.post(&self.path("/click"), json!({})).map(drop)
    }

    /// Its visible text, as rendered.
    pub fn text(&self) -> Result<String> {
        self.browser.string(&self.path("/text"))
    }

    /// An HTML attribute as written in the page (W3C: not the property, so not what
    /// was typed into a field: see `property`); `None` when absent.
    pub fn attr(&self, name: &str) -> Result<Option<String>> {
        let value = self.browser.get(&self.path(&format!("/attribute/{name}")))?;
        Ok(match value {
            Value::Null => None,
            Value::String(s) => Some(s),
            other => Some(other.to_string()),
        })
    }

    /// A DOM property (`value`, `checked`, …) as JSON; `Null` when absent.
    pub fn property(&self, name: &str) -> Result<Value> {
        self.browser.get(&self.path(&format!("/property/{name}")))
    }

    /// Empties an input or textarea.
    pub fn clear(&self) -> Result<()> {
        self.browser.post(&self.path("/clear"), json!({})).map(drop)
    }

    /// Types `text` into it, any script (Japanese included); `\n` is Enter (a new line
    /// in a textarea, a submit in an input).
    pub fn send_keys(&self, text: &str) -> Result<()> {
        self.browser.post(&self.path("/value"), json!({"text": text})).map(drop)
    }
}
