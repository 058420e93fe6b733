//! The hub's GraphQL API as the client uses it: over HTTPS verified against the system
//! roots (and `--ca`), with rustls on the ring provider; plain HTTP only to loopback.
//! Beside it, the hub's push stream (`GET /changes/stream`, Server-Sent Events), read
//! by [`StreamClient`] over a client of its own with no overall timeout.

use std::path::Path;
use std::sync::Arc;

pub use crate::error::Refused;
use crate::error::{Context as _, Error, Result};
use crate::{bail, ensure};
use serde::Deserialize;
use serde_json::{json, Value};

/// Where Debian keeps the system's trusted roots.
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

pub struct HubApi {
    http: reqwest::blocking::Client,
    /// The TLS settings `http` was built with, for the stream's own client.
    tls: rustls::ClientConfig,
    base: String,
    endpoint: String,
    token: String,
}

/// One entry of the change feed.
#[derive(Debug, Clone, Deserialize)]
pub struct Change {
    pub seq: String,
    pub id: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub version: i64,
    pub tlp: String,
    pub deleted: bool,
    /// The object as the hub sent it (the hub sends the canonical text it signed).
    pub object: Option<Box<serde_json::value::RawValue>>,
    pub signature: Option<String>,
    /// The hub the version comes from (the hub itself, or the peer hub it received it from).
    #[serde(rename = "originHub", default)]
    pub origin_hub: Option<String>,
    /// The key that verifies `signature`: the hub's, or the origin hub's.
    #[serde(rename = "signingKey", default)]
    pub signing_key: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangePage {
    pub items: Vec<Change>,
    pub cursor: String,
    pub has_more: bool,
}

/// One push of the hub's live feed (`ChangePush`): a change page (`object` the STIX
/// object itself, as in `changes`) and whether the hub had to catch this follower up
/// from its database after it fell behind the live stream.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChangePush {
    pub items: Vec<Change>,
    pub cursor: String,
    pub has_more: bool,
    #[serde(default)]
    pub behind: bool,
}

impl ChangePush {
    /// The push as the page a pull would have returned.
    pub fn into_page(self) -> ChangePage {
        ChangePage { items: self.items, cursor: self.cursor, has_more: self.has_more }
    }
}

fn tls_config(ca: Option<&Path>) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let mut add = |path: &Path| -> Result<usize> {
        let pem = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
        let mut n = 0;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
            let cert = cert.with_context(|| format!("a certificate in {}", path.display()))?;
            // A system bundle may hold a certificate rustls cannot use; skip it.
            if roots.add(cert).is_ok() {
                n += 1;
            }
        }
        Ok(n)
    };
    if Path::new(SYSTEM_ROOTS).is_file() {
        add(Path::new(SYSTEM_ROOTS))?;
    }
    if let Some(ca) = ca {
        ensure!(add(ca)? > 0, "{} holds no usable certificate", ca.display());
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// Whether a URL's host is this machine (where plain HTTP is allowed).
fn is_loopback(url: &reqwest::Url) -> bool {
    match url.host_str() {
        Some("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    }
}

impl HubApi {
    /// A client of the hub at `base` (e.g. `https://isac.example:8480`).
    pub fn new(base: &str, token: String, ca: Option<&Path>) -> Result<HubApi> {
        let url = reqwest::Url::parse(base).map_err(Error::other).with_context(|| format!("hub address {base:?}"))?;
        match url.scheme() {
            "https" => {}
            "http" if is_loopback(&url) => {}
            "http" => bail!("plain http is only for a hub on this machine; use https:// for {base}"),
            other => bail!("hub address scheme {other:?}: use https://"),
        }
        ensure!(!token.trim().is_empty(), "the token is empty");
        // reqwest's own async runtime thread also asks for the process provider.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let tls = tls_config(ca)?;
        let http = reqwest::blocking::Client::builder()
            .use_preconfigured_tls(tls.clone())
            .timeout(std::time::Duration::from_secs(120))
            .build()?;
        let base = base.trim_end_matches('/').to_string();
        let endpoint = format!("{base}/graphql");
        Ok(HubApi { http, tls, base, endpoint, token: token.trim().to_string() })
    }

    /// A client of the hub's push stream (built once per follow: it has its own HTTP
    /// client, with no overall timeout since a stream stays open for hours, but a
    /// connect timeout and TCP keep-alive). Cheap to clone, owned: a reader thread
    /// takes it.
    pub fn stream_client(&self) -> Result<StreamClient> {
        let http = reqwest::blocking::Client::builder()
            .use_preconfigured_tls(self.tls.clone())
            .timeout(None)
            .connect_timeout(STREAM_CONNECT_TIMEOUT)
            .tcp_keepalive(std::time::Duration::from_secs(30))
            .tcp_keepalive_interval(std::time::Duration::from_secs(10))
            .tcp_keepalive_retries(3)
            .build()?;
        Ok(StreamClient { http, url: format!("{}/changes/stream", self.base), token: self.token.clone() })
    }

    /// Runs a GraphQL operation; an answer with errors becomes an error naming the
    /// hub's code and message.
    pub fn query(&self, query: &str, variables: Value) -> Result<Value> {
        let resp = self
            .http
            .post(&self.endpoint)
            .bearer_auth(&self.token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .with_context(|| format!("contacting {}", self.endpoint))?;
        let status = resp.status();
        let text = resp.text().context("reading the hub's answer")?;
        let body: Value = serde_json::from_str(&text).with_context(|| {
            format!("the hub answered HTTP {status} with something that is not JSON: {:.200}", text)
        })?;
        if let Some(error) = body["errors"].as_array().and_then(|e| e.first()) {
            return Err(Refused::from_error(error).into());
        }
        ensure!(status.is_success(), "the hub answered HTTP {status}");
        Ok(body["data"].clone())
    }

    /// The hub's id and the public key it signs with.
    pub fn hub_info(&self) -> Result<(String, String)> {
        let data = self.query("{ hub { id publicKey } }", json!({}))?;
        let id = data["hub"]["id"].as_str().context("the hub did not say its id")?;
        let key = data["hub"]["publicKey"].as_str().context("the hub did not say its public key")?;
        Ok((id.to_string(), key.to_string()))
    }

    /// Every key the hub has signed with, oldest first, each with the announcement that
    /// made it current (`renkei_schema::rotation`); None from a hub that predates key
    /// rotation (it refuses the field), whose only key is `publicKey`.
    pub fn signing_keys(&self) -> Result<Option<Vec<renkei_schema::rotation::PublishedKey>>> {
        let answer = self.query("{ hub { signingKeys { publicKey fromSeq announcement signature } } }", json!({}));
        let data = match answer {
            Ok(data) => data,
            Err(crate::error::Error::Refused(_)) => return Ok(None),
            Err(e) => return Err(e),
        };
        let list = data["hub"]["signingKeys"].as_array().context("the hub did not list its signing keys")?;
        let mut keys = Vec::with_capacity(list.len());
        for k in list {
            keys.push(renkei_schema::rotation::PublishedKey {
                public_key: k["publicKey"].as_str().context("a signing key without its public key")?.to_string(),
                from_seq: k["fromSeq"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .context("a signing key without its sequence number")?,
                announcement: k["announcement"].as_str().map(str::to_string),
                signature: k["signature"].as_str().map(str::to_string),
            });
        }
        Ok(Some(keys))
    }

    /// One page of the change feed after `after`, read straight into its types (no
    /// intermediate JSON tree: a page is 10,000 objects).
    pub fn changes(&self, after: Option<&str>, limit: i64) -> Result<ChangePage> {
        #[derive(Deserialize)]
        struct Data {
            changes: ChangePage,
        }
        #[derive(Deserialize)]
        struct Answer {
            data: Option<Data>,
            #[serde(default)]
            errors: Vec<Value>,
        }
        let query = "query($a: String, $l: Int) { changes(after: $a, limit: $l) { items { seq id type version tlp deleted object signature originHub signingKey } cursor hasMore } }";
        let resp = self
            .http
            .post(&self.endpoint)
            .bearer_auth(&self.token)
            .json(&json!({"query": query, "variables": {"a": after, "l": limit}}))
            .send()
            .with_context(|| format!("contacting {}", self.endpoint))?;
        let status = resp.status();
        let bytes = resp.bytes().context("reading the hub's answer")?;
        let answer: Answer = serde_json::from_slice(&bytes).with_context(|| {
            format!("the hub answered HTTP {status} with no change page: {:.200}", String::from_utf8_lossy(&bytes))
        })?;
        if let Some(error) = answer.errors.first() {
            return Err(Refused::from_error(error).into());
        }
        answer.data.map(|d| d.changes).context("the hub's answer has no change page")
    }
}

/// How long opening the push stream may take to connect.
const STREAM_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// The longest line of the push stream read (a push holds at most a few MiB).
const STREAM_MAX_LINE: u64 = 256 * 1024 * 1024;

/// Opens the hub's push stream (see [`HubApi::stream_client`]).
#[derive(Clone)]
pub struct StreamClient {
    http: reqwest::blocking::Client,
    url: String,
    token: String,
}

impl StreamClient {
    /// Opens `GET /changes/stream` after `after` (the register's cursor); `None` when
    /// the hub has no push endpoint (it answers 404: a hub older than it). A refusal
    /// (401 for a bad token, 403 for a peer's) is the hub's coded error.
    pub fn open(&self, after: Option<&str>) -> Result<Option<ChangeStream>> {
        let mut request =
            self.http.get(&self.url).bearer_auth(&self.token).header(reqwest::header::ACCEPT, "text/event-stream");
        if let Some(after) = after {
            request = request.query(&[("after", after)]);
        }
        let resp = request.send().with_context(|| format!("connecting to {}", self.url))?;
        let status = resp.status();
        if status == reqwest::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            let text = resp.text().unwrap_or_default();
            let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            if let Some(error) = body["errors"].as_array().and_then(|e| e.first()) {
                return Err(Refused::from_error(error).into());
            }
            bail!("the hub answered HTTP {status} to {}: {:.200} / ハブがHTTP {status}を返しました", self.url, text);
        }
        let kind = resp.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        ensure!(
            kind.starts_with("text/event-stream"),
            "{} answered {kind:?}, not an event stream / {}がイベントストリームではない応答（{kind:?}）を返しました",
            self.url,
            self.url
        );
        Ok(Some(ChangeStream::over(Box::new(std::io::BufReader::with_capacity(64 * 1024, resp)))))
    }
}

/// What the push stream says next.
#[derive(Debug)]
pub enum Pushed {
    /// A page of changes (`event: changes`).
    Changes(ChangePush),
    /// A keep-alive comment, or an event this client does not know: the hub is there.
    Alive,
    /// The hub's coded error (`event: error`), after which it ends the stream.
    Error(Refused),
}

/// The hub's push stream, read a line at a time (Server-Sent Events).
pub struct ChangeStream {
    body: Box<dyn std::io::BufRead + Send>,
    line: Vec<u8>,
    /// The event being read: its name and data lines so far.
    event: String,
    data: String,
}

impl ChangeStream {
    /// The stream read from `body` (the response; a buffer in tests).
    fn over(body: Box<dyn std::io::BufRead + Send>) -> ChangeStream {
        ChangeStream { body, line: Vec::new(), event: String::new(), data: String::new() }
    }

    /// The next event; `None` when the hub ended the stream. Blocks until the hub sends
    /// something (a keep-alive comes every 15 s).
    pub fn next_event(&mut self) -> Result<Option<Pushed>> {
        use std::io::{BufRead as _, Read as _};
        loop {
            self.line.clear();
            let n = (&mut self.body)
                .take(STREAM_MAX_LINE)
                .read_until(b'\n', &mut self.line)
                .context("reading the hub's push stream")?;
            if n == 0 {
                return Ok(None);
            }
            if self.line.last() != Some(&b'\n') {
                ensure!(
                    (n as u64) < STREAM_MAX_LINE,
                    "a line of the hub's push stream is longer than {STREAM_MAX_LINE} bytes / プッシュの行が長すぎます"
                );
                // Cut off within a line: the connection ended.
                return Ok(None);
            }
            let mut line = &self.line[..self.line.len() - 1];
            if line.last() == Some(&b'\r') {
                line = &line[..line.len() - 1];
            }
            let line = std::str::from_utf8(line).context("the hub's push stream")?;
            if line.is_empty() {
                let (event, data) = (std::mem::take(&mut self.event), std::mem::take(&mut self.data));
                if let Some(pushed) = Self::dispatch(&event, &data)? {
                    return Ok(Some(pushed));
                }
                continue;
            }
            if line.starts_with(':') {
                return Ok(Some(Pushed::Alive));
            }
            let (field, value) = line.split_once(':').unwrap_or((line, ""));
            let value = value.strip_prefix(' ').unwrap_or(value);
            match field {
                "event" => self.event = value.to_string(),
                "data" => {
                    if !self.data.is_empty() {
                        self.data.push('\n');
                    }
                    self.data.push_str(value);
                }
                // `id` (the cursor, also in the data) and `retry` (the follower keeps its
                // own backoff) are not needed.
                _ => {}
            }
        }
    }

    /// A whole event: `None` for one without data (nothing to do).
    fn dispatch(event: &str, data: &str) -> Result<Option<Pushed>> {
        if data.is_empty() {
            return Ok(None);
        }
        match event {
            "changes" => {
                let push: ChangePush = serde_json::from_str(data)
                    .with_context(|| format!("a push of the hub that is not a change page: {data:.200}"))?;
                Ok(Some(Pushed::Changes(push)))
            }
            "error" => {
                let error: Value = serde_json::from_str(data).unwrap_or(Value::Null);
                let text = |key: &str| error[key].as_str().map(str::to_string);
                Ok(Some(Pushed::Error(Refused {
                    code: text("code"),
                    message: text("message").unwrap_or_else(|| data.to_string()),
                    message_ja: text("message_ja").or_else(|| text("messageJa")),
                })))
            }
            _ => Ok(Some(Pushed::Alive)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use renkei_schema::errors::Code;

    #[test]
    fn a_refusal_keeps_the_code_and_says_it_in_both_languages() {
        let coded = Refused::from_error(&json!({
            "message": "your role may not share items",
            "extensions": {"code": "FORBIDDEN", "messageJa": "このロールには権限がありません: share items"}
        }));
        assert_eq!(coded.known_code(), Some(Code::Forbidden));
        assert_eq!(
            coded.to_string(),
            "the hub refused: your role may not share items (FORBIDDEN) / ハブが拒否しました: このロールには権限がありません: share items"
        );
        // Without the hub's Japanese text, the catalogue's meaning stands in.
        let bare = Refused::from_error(&json!({"message": "slow down", "extensions": {"code": "RATE_LIMITED"}}));
        assert!(bare.to_string().ends_with(Code::RateLimited.meaning_ja()), "{bare}");
        let unknown = Refused::from_error(&json!({"message": "?"}));
        assert_eq!((unknown.known_code(), unknown.code), (None, None));
    }

    /// The push stream as the hub writes it: the opening `retry:`, pushes whose
    /// `object` is the STIX object itself (kept as sent, as a pulled page keeps it),
    /// keep-alive comments, CRLF line ends, the coded error; cut off mid-line is an end.
    #[test]
    fn the_push_stream_reads_pages_keepalives_and_the_coded_error() {
        let object = r#"{"id":"indicator--1","type":"indicator","pattern":"[domain-name:value = 'a.example']"}"#;
        let text = format!(
            "retry: 1000\n\nid: 7\nevent: changes\ndata: {{\"items\":[{{\"seq\":\"7\",\"id\":\"indicator--1\",\"type\":\"indicator\",\
             \"version\":1,\"tlp\":\"GREEN\",\"deleted\":false,\"object\":{object},\"signature\":\"rk1.x\",\
             \"originHub\":\"hub-a\",\"signingKey\":\"k\"}}],\"cursor\":\"7\",\"hasMore\":false,\"behind\":true}}\n\n\
             : keepalive\r\n\r\nevent: something-new\ndata: {{}}\n\n\
             event: error\ndata: {{\"code\":\"UNAUTHENTICATED\",\"message\":\"the token is revoked\",\"message_ja\":\"失効済みです\"}}\n\n\
             id: 8\nevent: changes\ndata: {{\"items\""
        );
        let mut stream = ChangeStream::over(Box::new(std::io::Cursor::new(text.into_bytes())));
        let Some(Pushed::Changes(push)) = stream.next_event().expect("read") else { panic!("a page first") };
        assert!(push.behind);
        let page = push.into_page();
        assert_eq!((page.cursor.as_str(), page.has_more, page.items.len()), ("7", false, 1));
        assert_eq!(page.items[0].object.as_ref().map(|o| o.get()), Some(object));
        assert_eq!(page.items[0].origin_hub.as_deref(), Some("hub-a"));
        assert!(matches!(stream.next_event().expect("read"), Some(Pushed::Alive)));
        assert!(matches!(stream.next_event().expect("read"), Some(Pushed::Alive)), "an unknown event");
        let Some(Pushed::Error(refused)) = stream.next_event().expect("read") else { panic!("the error") };
        assert_eq!(refused.known_code(), Some(Code::Unauthenticated));
        assert!(refused.to_string().contains("失効済みです"), "{refused}");
        assert!(stream.next_event().expect("read").is_none(), "cut off mid-line: the end");
    }
}
