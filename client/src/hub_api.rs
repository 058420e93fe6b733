//! The hub's GraphQL API as the client uses it: over HTTPS verified against the system
//! roots (and `--ca`), with rustls on the ring provider; plain HTTP only to loopback.

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
        let http = reqwest::blocking::Client::builder()
            .use_preconfigured_tls(tls_config(ca)?)
            .timeout(std::time::Duration::from_secs(120))
            .build()?;
        let endpoint = format!("{}/graphql", base.trim_end_matches('/'));
        Ok(HubApi { http, endpoint, token: token.trim().to_string() })
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
}
