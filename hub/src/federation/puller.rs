//! Federation pullers: one thread per link that pulls, so one slow or dead peer never
//! holds up another. Each reads the peer's feed (`GET /federation/changes`) from the
//! stored cursor; one helper thread fetches the next pages and another checks them
//! (`federation::check_page`) while the last is stored (`federation::store_page`, the
//! items and the cursor in one transaction). Once caught up with the items, a link that
//! carries sightings reads the peer's sightings aggregates (`GET /federation/sightings`,
//! `federated_sightings::apply`) from their own cursor. Failures are recorded in the
//! link's status and retried with backoff.

use std::collections::HashSet;
use std::sync::{Arc, Weak};
use std::time::Duration;

use anyhow::{bail, Context as _};
use serde_json::value::RawValue;

use super::sightings::{self as federated_sightings, SightingPage};
use crate::federation::{self, PeerItem, PeerPage, PeerRow};
use crate::state::Hub;

fn app(e: crate::error::AppError) -> anyhow::Error {
    anyhow::anyhow!("{} ({})", e.message, e.code)
}

/// Longest wait between attempts at a failing peer.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// The wait between attempts while this hub's own database is down.
const DB_DOWN_RETRY: Duration = Duration::from_millis(500);

/// TLS for pulling: the system roots and the link's CA, presenting this hub's own
/// certificate (`tls_cert`, `tls_key`) as its client identity when it has one (mTLS).
fn tls_config(
    ca_pem: Option<&str>,
    identity: Option<(&std::path::Path, &std::path::Path)>,
) -> anyhow::Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    let system = std::path::Path::new("/etc/ssl/certs/ca-certificates.crt");
    if system.is_file() {
        let pem = std::fs::read(system)?;
        for cert in rustls_pemfile::certs(&mut pem.as_slice()).flatten() {
            let _ = roots.add(cert);
        }
    }
    if let Some(pem) = ca_pem {
        let mut added = 0;
        for cert in rustls_pemfile::certs(&mut pem.as_bytes()) {
            roots.add(cert.context("the link's CA certificate")?)?;
            added += 1;
        }
        if added == 0 {
            bail!("the link's CA holds no certificate");
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    Ok(match identity {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let certs = rustls_pemfile::certs(&mut std::io::BufReader::new(std::fs::File::open(cert)?))
                .collect::<Result<Vec<_>, _>>()?;
            let key = rustls_pemfile::private_key(&mut std::io::BufReader::new(std::fs::File::open(key)?))?
                .with_context(|| format!("no private key in {}", key.display()))?;
            builder.with_client_auth_cert(certs, key)?
        }
    })
}

/// One entry as the feed endpoint writes it: object, envelope and body as JSON text.
#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireItem {
    seq: String,
    id: String,
    kind: String,
    revision: i64,
    tlp: String,
    deleted: bool,
    object: Option<Box<RawValue>>,
    signature: Option<String>,
    origin_hub: Option<String>,
    origin_key: Option<String>,
    #[serde(default)]
    path: Vec<String>,
    envelope: Option<Box<RawValue>>,
    body: Option<Box<RawValue>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct WirePage {
    hub_id: String,
    cursor: String,
    head: String,
    has_more: bool,
    items: Vec<WireItem>,
}

/// `GET /federation/<feed>` of the peer from `cursor`: the body of a successful answer,
/// else the peer's error.
fn get(
    http: &reqwest::blocking::Client,
    link: &PeerRow,
    feed: &str,
    own_hub: &str,
    cursor: i64,
    limit: usize,
) -> anyhow::Result<bytes::Bytes> {
    let token = link
        .token
        .as_deref()
        .context("waiting for the token the peer issues this hub (`renkei-hub peer set-token`)")?;
    let resp = http
        .get(format!("{}/federation/{feed}", link.url))
        .query(&[("hub", own_hub.to_string()), ("after", cursor.to_string()), ("limit", limit.to_string())])
        .bearer_auth(token)
        .send()
        .with_context(|| format!("contacting {}", link.url))?;
    let status = resp.status();
    let bytes = resp.bytes().context("reading the peer's answer")?;
    if !status.is_success() {
        let answer: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
        let e = &answer["errors"][0];
        bail!(
            "the peer refused (HTTP {status}): {} ({})",
            e["message"].as_str().unwrap_or("no message"),
            e["extensions"]["code"].as_str().unwrap_or("no code")
        );
    }
    Ok(bytes)
}

/// Asks the peer for one page of items (`GET /federation/changes`, see `federation::http`).
fn fetch(
    http: &reqwest::blocking::Client,
    link: &PeerRow,
    own_hub: &str,
    cursor: i64,
    limit: usize,
) -> anyhow::Result<(String, PeerPage)> {
    let bytes = get(http, link, "changes", own_hub, cursor, limit)?;
    let page: WirePage =
        serde_json::from_slice(&bytes).context("the peer answered with something that is not its feed")?;
    let text = |v: Option<Box<RawValue>>| v.map(|v| String::from(Box::<str>::from(v)));
    let items = page
        .items
        .into_iter()
        .map(|i| PeerItem {
            seq: i.seq,
            id: i.id,
            kind: i.kind,
            revision: i.revision,
            tlp: i.tlp,
            deleted: i.deleted,
            object: text(i.object),
            signature: i.signature,
            origin_hub: i.origin_hub,
            origin_key: i.origin_key,
            path: i.path,
            envelope: text(i.envelope),
            body: text(i.body),
        })
        .collect();
    Ok((page.hub_id, PeerPage { items, cursor: page.cursor, has_more: page.has_more, head: page.head }))
}

/// Asks the peer for one page of its sightings feed (`GET /federation/sightings`).
fn fetch_sightings(
    http: &reqwest::blocking::Client,
    link: &PeerRow,
    own_hub: &str,
    cursor: i64,
    limit: usize,
) -> anyhow::Result<SightingPage> {
    let bytes = get(http, link, "sightings", own_hub, cursor, limit)?;
    serde_json::from_slice(&bytes).context("the peer answered with something that is not its sightings feed")
}

/// Wake-ups from the peer's push stream (`GET /federation/wake`), so a caught-up puller
/// pulls as soon as the peer has something for it instead of at its next poll.
#[derive(Default)]
struct Wake {
    due: std::sync::Mutex<bool>,
    changed: std::sync::Condvar,
    /// Set when the puller ends: the listening thread ends at its next line.
    stop: std::sync::atomic::AtomicBool,
}

impl Wake {
    fn notify(&self) {
        *self.due.lock().unwrap_or_else(|p| p.into_inner()) = true;
        self.changed.notify_all();
    }

    /// Waits up to `poll` for a wake-up (and clears it).
    fn wait(&self, poll: Duration) {
        let due = self.due.lock().unwrap_or_else(|p| p.into_inner());
        let (mut due, _) = self.changed.wait_timeout_while(due, poll, |due| !*due).unwrap_or_else(|p| p.into_inner());
        *due = false;
    }
}

/// Ends the listening thread when the puller ends, however it ends.
struct StopOnDrop(Arc<Wake>);

impl Drop for StopOnDrop {
    fn drop(&mut self) {
        self.0.stop.store(true, std::sync::atomic::Ordering::Release);
    }
}

/// Listens to the peer's push stream for the link `name` and wakes its puller at each
/// event, reconnecting with a backoff. A peer without the endpoint (404) is left to the
/// poll. The stream says only that something is new: the puller reads and checks it.
fn listen(hub: Weak<Hub>, name: String, wake: Arc<Wake>) {
    use std::io::BufRead as _;
    use std::sync::atomic::Ordering;
    let mut backoff = Duration::from_millis(500);
    while !wake.stop.load(Ordering::Acquire) {
        let attempt = (|| -> anyhow::Result<bool> {
            let Some(h) = hub.upgrade() else { return Ok(false) };
            let mut conn = h.connection().map_err(app)?;
            let Some((link, status)) =
                federation::list_peers(&mut conn).map_err(app)?.into_iter().find(|(p, _)| p.name == name)
            else {
                return Ok(false);
            };
            drop(conn);
            let Some(token) = link.token.clone() else { return Ok(true) };
            let http = reqwest::blocking::Client::builder()
                .use_preconfigured_tls(tls_config(
                    link.ca_pem.as_deref(),
                    h.config.tls_cert.as_deref().zip(h.config.tls_key.as_deref()),
                )?)
                .connect_timeout(Duration::from_secs(10))
                .build()?;
            let own_hub = h.hub_id.clone();
            drop(h);
            let resp = http
                .get(format!("{}/federation/wake", link.url))
                .query(&[("hub", own_hub), ("after", status.cursor.to_string())])
                .bearer_auth(token)
                .send()?;
            if resp.status() == reqwest::StatusCode::NOT_FOUND {
                tracing::info!(peer = %name, "the peer does not push (no /federation/wake): pulling on the poll");
                return Ok(false);
            }
            if !resp.status().is_success() {
                bail!("the peer refused its push stream (HTTP {})", resp.status());
            }
            // Connected: anything committed while this was away is pulled now.
            wake.notify();
            for line in std::io::BufReader::new(resp).lines() {
                if wake.stop.load(Ordering::Acquire) {
                    return Ok(false);
                }
                let line = line?;
                if line.starts_with("event: wake") {
                    wake.notify();
                } else if line.starts_with("event: error") {
                    break;
                }
            }
            Ok(true)
        })();
        match attempt {
            Ok(false) => return,
            Ok(true) => backoff = Duration::from_millis(500),
            Err(e) => {
                tracing::debug!(peer = %name, error = %format!("{e:#}"), "federation push stream failed");
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
        std::thread::sleep(backoff);
    }
}

/// Pulls from one link until it is removed (or stops pulling) or the hub goes.
fn run(hub: Weak<Hub>, name: String) {
    let wake = Arc::new(Wake::default());
    let _stop = StopOnDrop(Arc::clone(&wake));
    {
        let (hub, name, wake) = (hub.clone(), name.clone(), Arc::clone(&wake));
        let listening =
            std::thread::Builder::new().name(format!("peer-{name}-push")).spawn(move || listen(hub, name, wake));
        if let Err(e) = listening {
            tracing::warn!(%e, "could not listen to the peer's pushes: pulling on the poll");
        }
    }
    let mut backoff = Duration::from_millis(500);
    // Pages are stored without looking their items up first (nearly all are new) until
    // one holds an item this hub has; pages are then looked up until one holds none.
    let mut lookup = federation::Lookup::Tombstones;
    let mut client: Option<(Option<String>, reqwest::blocking::Client)> = None;
    loop {
        let Some(h) = hub.upgrade() else { return };
        let poll = Duration::from_millis(h.config.federation_poll_ms.max(10));
        let mut step = || -> anyhow::Result<bool> {
            let mut conn = h.connection().map_err(app)?;
            let link = federation::list_peers(&mut conn).map_err(app)?.into_iter().find(|(p, _)| p.name == name);
            let Some((link, status)) = link else { return Ok(false) };
            if !link.direction().pulls() {
                return Ok(false);
            }
            if client.as_ref().is_none_or(|(ca, _)| *ca != link.ca_pem) {
                let http = reqwest::blocking::Client::builder()
                    .use_preconfigured_tls(tls_config(
                        link.ca_pem.as_deref(),
                        h.config.tls_cert.as_deref().zip(h.config.tls_key.as_deref()),
                    )?)
                    .timeout(Duration::from_secs(60))
                    .build()?;
                client = Some((link.ca_pem.clone(), http));
            }
            let Some((_, http)) = client.as_ref() else { return Ok(true) };
            // Three stages, each on its own thread: the next pages are fetched (the peer
            // serves while this hub works) and checked (signatures, rendering, labels)
            // while the last one is stored. Each page still commits with its own cursor,
            // so a failure anywhere resumes from the last page stored.
            type Fetched = anyhow::Result<(String, PeerPage)>;
            type Checked = anyhow::Result<(bool, federation::CheckedPage)>;
            let (fetched_tx, fetched) = std::sync::mpsc::sync_channel::<Fetched>(1);
            let (pages, checked) = std::sync::mpsc::sync_channel::<Checked>(1);
            let (own_hub, limit) = (h.hub_id.clone(), h.config.federation_page);
            let local = h.signer();
            let more = std::thread::scope(|scope| -> anyhow::Result<bool> {
                let (link, local, name, hub) = (&link, &local, &name, &h);
                scope.spawn(move || {
                    let mut cursor = status.cursor;
                    loop {
                        let page = fetch(http, link, &own_hub, cursor, limit);
                        let next = match &page {
                            Ok((_, p)) if p.has_more => p.cursor.parse::<i64>().unwrap_or(cursor),
                            _ => cursor,
                        };
                        if fetched_tx.send(page).is_err() || next <= cursor {
                            return;
                        }
                        cursor = next;
                    }
                });
                scope.spawn(move || {
                    let mut check_conn = None;
                    for page in fetched {
                        let page = (|| -> anyhow::Result<(bool, federation::CheckedPage)> {
                            let (peer_hub, page) = page?;
                            if check_conn.is_none() {
                                check_conn = Some(hub.connection().map_err(app)?);
                            }
                            let conn = check_conn.as_mut().context("a database connection")?;
                            federation::learn_hub_id(conn, name, &peer_hub).map_err(app)?;
                            page.cursor.parse::<i64>().context("the peer's cursor")?;
                            let checked = federation::check_page(conn, local, name, &page).map_err(app)?;
                            Ok((page.has_more, checked))
                        })();
                        let failed = page.is_err();
                        if pages.send(page).is_err() || failed {
                            return;
                        }
                    }
                });
                let mut more = false;
                for page in checked {
                    let (has_more, page) = page?;
                    let stored = match federation::store_page(&mut conn, local, page, lookup) {
                        Ok(stored) => stored,
                        // Nothing of the page was stored and the cursor did not move: it
                        // is fetched again at once, and looked up.
                        Err(e) if e.code == federation::ALREADY_HELD => {
                            lookup = federation::Lookup::Every;
                            return Ok(true);
                        }
                        Err(e) => return Err(app(e)),
                    };
                    if lookup == federation::Lookup::Every && stored.held == 0 {
                        lookup = federation::Lookup::Tombstones;
                    }
                    // This process's lookup index takes the new objects at once, and the
                    // planner statistics follow the growing tables, as for shared items.
                    h.note_committed(stored.rows.iter()).map_err(app)?;
                    if h.analyze_due(stored.rows.len() as u64) {
                        let hub = Arc::clone(&h);
                        // Off the puller's path, as for shared items.
                        std::thread::spawn(move || hub.analyze_now());
                    }
                    more = has_more;
                }
                Ok(more)
            })?;
            // Caught up with the items: the sightings aggregates of what is now held.
            if !more && link.kinds().iter().any(|k| k == federation::SIGHTING_KIND) {
                let local = h.signer();
                let mut cursor = status.sightings_cursor;
                loop {
                    let page = fetch_sightings(http, &link, &h.hub_id, cursor, h.config.federation_page)?;
                    federation::learn_hub_id(&mut conn, &name, &page.hub_id).map_err(app)?;
                    federated_sightings::apply(&mut conn, &local, &name, &page).map_err(app)?;
                    let next: i64 = page.cursor.parse().context("the peer's sightings cursor")?;
                    if !page.has_more || next <= cursor {
                        break;
                    }
                    cursor = next;
                }
            }
            Ok(more)
        };
        match step() {
            Ok(more) => {
                backoff = Duration::from_millis(500);
                drop(h);
                if !more {
                    // The peer's push wakes this early; the poll is the safety net.
                    wake.wait(poll);
                }
            }
            // This hub's database is away (said once by its health): pulling resumes
            // soon after it returns, without the backoff growing meanwhile.
            Err(_) if h.db_health.is_down() => {
                drop(h);
                std::thread::sleep(DB_DOWN_RETRY);
            }
            Err(e) => {
                tracing::warn!(peer = %name, error = %format!("{e:#}"), "federation pull failed");
                if let Ok(mut conn) = h.connection() {
                    let _ = federation::links::note_failure(&mut conn, &name, &format!("{e:#}"));
                }
                // A removed link ends its puller (not a status that could not be read).
                if let Ok(mut conn) = h.connection() {
                    if federation::status_of(&mut conn, &name).is_err_and(|e| e.code == "NOT_FOUND") {
                        return;
                    }
                }
                drop(h);
                std::thread::sleep(backoff);
                backoff = (backoff * 2).min(MAX_BACKOFF);
            }
        }
    }
}

/// Starts a puller for every pulling link, now and as links are added.
pub fn start(hub: &Arc<Hub>) {
    // reqwest's blocking client asks for the process's rustls provider too: ring.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let weak = Arc::downgrade(hub);
    // New links start pulling within a second, however long the poll: a caught-up
    // puller waits on its peer's pushes, not on the poll.
    let every = Duration::from_millis(hub.config.federation_poll_ms.clamp(10, 1_000));
    let spawn = std::thread::Builder::new().name("federation".into()).spawn(move || {
        let mut running: HashSet<String> = HashSet::new();
        let mut handles: Vec<(String, std::thread::JoinHandle<()>)> = Vec::new();
        loop {
            let Some(h) = weak.upgrade() else { return };
            handles.retain(|(name, handle)| {
                let alive = !handle.is_finished();
                if !alive {
                    running.remove(name);
                }
                alive
            });
            let links = h.connection().and_then(|mut c| federation::list_peers(&mut c));
            drop(h);
            for (link, _) in links.unwrap_or_default() {
                if link.direction().pulls() && running.insert(link.name.clone()) {
                    let (hub, name) = (weak.clone(), link.name.clone());
                    match std::thread::Builder::new().name(format!("peer-{name}")).spawn(move || run(hub, name)) {
                        Ok(handle) => handles.push((link.name, handle)),
                        Err(e) => tracing::error!(%e, "could not start a federation puller"),
                    }
                }
            }
            std::thread::sleep(every);
        }
    });
    if let Err(e) = spawn {
        tracing::error!(%e, "could not start federation");
    }
}
