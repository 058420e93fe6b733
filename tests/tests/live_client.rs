//! The member client following a real hub by push (`renkei sync --follow`, the
//! library's `follow::follow` on a thread): what another member shares after it
//! connected reaches its register with the reassessment flag it raises; stopped and
//! started again, it resumes from the stored cursor with each item held exactly once;
//! a dropped connection is opened again from the stored cursor; a revoked token ends
//! the follow with the hub's error; a hub without the push endpoint is polled instead; and across federation, an item published on hub A
//! reaches B by federation and the member following B by push, where it flags the risk.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use renkei_client::follow::{self, Event, FollowOptions};
use renkei_client::{error::Error, flags, hub_api::HubApi, register, risks, sync};
use renkei_e2e::{Backend, TempDir, TestHub};
use renkei_hub::auth::Role;
use renkei_hub::federation;
use renkei_schema::tlp::Tlp;
use serde_json::{json, Value};

const SHARE: &str =
    "mutation($i: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $i, sharing: $s) { id } }";
const TECHNIQUE: &str =
    "mutation($i: TechniqueInput!, $s: SharingInput!) { shareTechnique(input: $i, sharing: $s) { id } }";
/// The ICS asset type the shared technique names (no ATT&CK catalog is loaded here).
const ASSET_TYPE: &str = "A0003";
/// How long anything pushed may take to arrive: generous, this is not a speed test.
const DEADLINE: Duration = Duration::from_secs(10);

fn technique(attack_id: &str) -> Value {
    json!({"attackId": attack_id, "name": "Exploitation of Remote Services", "narrative": "reached an HMI",
        "icsAssetTypes": [ASSET_TYPE]})
}

fn share_indicators(hub: &TestHub, token: &str, prefix: &str, n: usize) -> Vec<String> {
    let input: Vec<Value> =
        (0..n).map(|i| json!({"type": "DOMAIN", "value": format!("{prefix}-{i}.live.example")})).collect();
    let data = hub.gql(token, SHARE, json!({"i": input, "s": {"tlp": "GREEN"}}));
    renkei_e2e::field_strings(&data["shareIndicators"], "id")
}

/// A member's register with an HMI of the asset type and a risk on it assuming
/// `attack_id`: a technique shared for it raises an exact `technique` flag. The risk's id.
fn member_register(path: &Path, hub: &TestHub, token: &str, attack_id: &str) -> String {
    let mut conn = register::open(path).expect("register");
    let api = HubApi::new(&hub.base, token.to_string(), None).expect("api");
    sync::init(&mut conn, &api, &hub.base, None).expect("init");
    let asset = json!({"name": "Plant HMI", "kind": "ot_device", "criticality": 5, "ics_asset_types": [ASSET_TYPE]});
    flags::import_assets(&mut conn, vec![("Plant HMI".into(), serde_json::from_value(asset).expect("asset"))])
        .expect("assets");
    risks::add(
        &mut conn,
        risks::RiskInput {
            title: "HMI taken over remotely".into(),
            method: "asset".into(),
            assets: vec!["Plant HMI".into()],
            techniques: vec![attack_id.into()],
            ..Default::default()
        },
    )
    .expect("risk")
}

/// `follow::follow` on a thread of its own, over its own connection to the register.
struct Follower {
    stop: Arc<AtomicBool>,
    said: Arc<Mutex<Vec<String>>>,
    thread: Option<std::thread::JoinHandle<Result<(), Error>>>,
}

impl Follower {
    fn start(register_path: &Path, base: &str, token: &str) -> Follower {
        Follower::start_every(register_path, base, token, Duration::from_secs(30))
    }

    /// With `interval` between polls (when the hub cannot push) and context refreshes.
    fn start_every(register_path: &Path, base: &str, token: &str, interval: Duration) -> Follower {
        let stop = Arc::new(AtomicBool::new(false));
        let said = Arc::new(Mutex::new(Vec::new()));
        let (path, base, token) = (register_path.to_path_buf(), base.to_string(), token.to_string());
        let (stop_flag, log) = (Arc::clone(&stop), Arc::clone(&said));
        let thread = std::thread::spawn(move || {
            let mut conn = register::open(&path).expect("register");
            let api = HubApi::new(&base, token, None).expect("api");
            let options = FollowOptions { page_size: 100, interval };
            follow::follow(&mut conn, &api, &options, &stop_flag, &mut |event| {
                let line = match event {
                    Event::Connected { after } => format!("connected after {after:?}"),
                    Event::Synced { report, .. } => {
                        format!(
                            "synced {} stored {} deleted {} refused",
                            report.stored,
                            report.deleted,
                            report.refused.len()
                        )
                    }
                    Event::Retrying { error, retry } => format!("retrying in {retry:?}: {error}"),
                    Event::Polling { .. } => "polling".to_string(),
                    Event::Context(_) | Event::Page(_) | Event::Due(_) => return,
                };
                log.lock().expect("log").push(line);
            })
        });
        Follower { stop, said, thread: Some(thread) }
    }

    fn said(&self) -> Vec<String> {
        self.said.lock().expect("log").clone()
    }

    /// Waits until the follower listens to the hub's pushes.
    fn wait_connected(&self, times: usize) {
        let t0 = Instant::now();
        while self.said().iter().filter(|l| l.starts_with("connected")).count() < times {
            assert!(t0.elapsed() < DEADLINE, "the follower did not connect: {:#?}", self.said());
            assert!(!self.thread.as_ref().is_some_and(|t| t.is_finished()), "the follower ended: {:#?}", self.said());
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn stop(mut self) -> Vec<String> {
        self.stop.store(true, Ordering::Relaxed);
        let result = self.thread.take().expect("thread").join().expect("the follower panicked");
        result.unwrap_or_else(|e| panic!("the follower failed: {e}; it said {:#?}", self.said()));
        self.said()
    }

    /// Waits for the follow to end on its own; its result.
    fn ended(mut self, within: Duration) -> Result<(), Error> {
        let thread = self.thread.take().expect("thread");
        let t0 = Instant::now();
        while !thread.is_finished() {
            assert!(t0.elapsed() < within, "the follow did not end in {within:?}: {:#?}", self.said());
            std::thread::sleep(Duration::from_millis(50));
        }
        thread.join().expect("the follower panicked")
    }
}

impl Drop for Follower {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Waits until `done` holds; how long it took.
fn wait_for(what: &str, mut done: impl FnMut() -> bool, context: impl Fn() -> String) -> Duration {
    let t0 = Instant::now();
    while !done() {
        assert!(t0.elapsed() < DEADLINE, "{what} did not happen within {DEADLINE:?}: {}", context());
        std::thread::sleep(Duration::from_millis(5));
    }
    t0.elapsed()
}

/// The open flags of one trigger: (risk, source, quality).
fn open_flags(conn: &mut diesel::SqliteConnection, trigger: &str) -> Vec<(String, String, String)> {
    flags::list(conn, "open")
        .expect("flags")
        .into_iter()
        .filter(|f| f.trigger == trigger)
        .map(|f| (f.risk_id, f.source, f.quality.as_str().to_string()))
        .collect()
}

/// The register's items (id → revision); panics if an id is held twice.
fn register_view(conn: &mut diesel::SqliteConnection) -> BTreeMap<String, i64> {
    let rows = register::all_items(conn).expect("items");
    let mut held = BTreeMap::new();
    for row in rows {
        assert!(held.insert(row.id.clone(), row.revision).is_none(), "{} held twice", row.id);
    }
    held
}

fn pushed_items_arrive_flagged_and_once_across_a_reconnect(backend: Backend) {
    let hub = TestHub::start(backend);
    let (m1, m2) = (hub.add_org("Member One", false), hub.add_org("Member Two", false));
    let (t1, t2) = (hub.token(&m1, Role::Analyst), hub.token(&m2, Role::Analyst));
    share_indicators(&hub, &t2, "before", 30);
    let dir = TempDir::new("renkei-live-client");
    let path: PathBuf = dir.0.join("register.db");
    let risk = member_register(&path, &hub, &t1, "T0866");
    let mut conn = register::open(&path).expect("register");

    // The first run fills the empty register (by pulling), then listens.
    let follower = Follower::start(&path, &hub.base, &t1);
    follower.wait_connected(1);
    assert_eq!(register_view(&mut conn).len(), 30, "the first sync: {:#?}", follower.said());

    // Shared after the follower connected: pushed, stored, flagged.
    let shared = Instant::now();
    let data = hub.gql(&t2, TECHNIQUE, json!({"i": technique("T0866"), "s": {"tlp": "GREEN"}}));
    let technique_id = data["shareTechnique"]["id"].as_str().expect("id").to_string();
    let returned = shared.elapsed();
    let took = wait_for(
        "the technique's flag",
        || !open_flags(&mut conn, "technique").is_empty(),
        || format!("{:#?}", follower.said()),
    );
    eprintln!("{backend:?}: share returned in {returned:?}; the flag was in the register {took:?} later");
    assert_eq!(open_flags(&mut conn, "technique"), [(risk.clone(), technique_id.clone(), "exact".to_string())]);
    assert!(register_view(&mut conn).contains_key(&technique_id));
    // More pushes, one at a time and in a batch, and a revocation (a tombstone).
    let live = share_indicators(&hub, &t2, "live", 5);
    let revoke = "mutation($id: ID!) { revoke(id: $id, reason: \"false positive\") { __typename } }";
    hub.gql(&t2, revoke, json!({"id": live[0]}));
    let expected = hub.hub_view(&t1);
    wait_for("the live pushes", || register_view(&mut conn) == expected, || format!("{:#?}", follower.said()));
    let said = follower.stop();
    assert!(said.iter().all(|l| !l.starts_with("retrying") && l != "polling"), "{said:#?}");

    // Stopped: what is shared meanwhile is caught up from the stored cursor by the
    // stream when it starts again, with nothing lost or doubled.
    let cursor = register::get(&mut conn, register::CURSOR).expect("cursor").expect("a cursor");
    share_indicators(&hub, &t2, "while-stopped", 250);
    hub.gql(&t2, revoke, json!({"id": live[1]}));
    hub.gql(&t2, TECHNIQUE, json!({"i": technique("T0866"), "s": {"tlp": "GREEN"}}));
    let follower = Follower::start(&path, &hub.base, &t1);
    follower.wait_connected(1);
    assert_eq!(follower.said()[0], format!("connected after {:?}", Some(cursor)), "resumed by the stream");
    share_indicators(&hub, &t2, "after-restart", 3);
    let expected = hub.hub_view(&t1);
    // 290 items shared, two of them revoked (a new version, or a tombstone).
    assert!((288..=290).contains(&expected.len()), "{}", expected.len());
    wait_for(
        "the catch-up and the new pushes",
        || register_view(&mut conn) == expected,
        || {
            let held = register_view(&mut register::open(&path).expect("register")).len();
            format!("held {held} of {}; {:#?}", expected.len(), follower.said())
        },
    );
    follower.stop();
    assert_eq!(register_view(&mut conn), hub.hub_view(&t1), "each item held exactly once");
    // One flag per risk and source: the second technique flagged the risk once more.
    assert_eq!(open_flags(&mut conn, "technique").len(), 2);
    // Pushed items are stored as signed: each verifies alone against the pinned key.
    let key = register::get(&mut conn, register::HUB_KEY).expect("get").expect("key");
    let mut verifier = renkei_schema::sign::Verifier::new(&key).expect("key");
    for row in register::all_items(&mut conn).expect("items") {
        verifier.verify(row.stix.as_bytes(), &row.signature).unwrap_or_else(|e| panic!("{}: {e}", row.id));
    }
}

#[test]
fn pushed_items_arrive_flagged_and_once_across_a_reconnect_postgres() {
    pushed_items_arrive_flagged_and_once_across_a_reconnect(Backend::Postgres);
}

#[test]
fn pushed_items_arrive_flagged_and_once_across_a_reconnect_sqlite() {
    pushed_items_arrive_flagged_and_once_across_a_reconnect(Backend::Sqlite);
}

/// A revoked token ends the follow with the hub's `UNAUTHENTICATED` (the command exits
/// 1 with it): the hub checks a stream's token again every 30 s and ends the stream
/// with its error; a follower refreshing its context sooner learns it then.
#[test]
fn a_revoked_token_ends_the_follow_with_the_hubs_error() {
    let hub = TestHub::start(Backend::Sqlite);
    let m1 = hub.add_org("Member One", false);
    let issue = || {
        hub.db(|c| renkei_hub::services::directory::issue_token(c, &hub.hub.keys, &m1, Role::Analyst, None, &[], None))
            .expect("token")
    };
    let ((stream_id, stream_token), (refresh_id, refresh_token)) = (issue(), issue());
    let dir = TempDir::new("renkei-live-revoked");
    let (stream_path, refresh_path) = (dir.0.join("stream.db"), dir.0.join("refresh.db"));
    member_register(&stream_path, &hub, &stream_token, "T0866");
    member_register(&refresh_path, &hub, &refresh_token, "T0866");
    // No context refresh before the stream's check ends it.
    let by_stream = Follower::start_every(&stream_path, &hub.base, &stream_token, Duration::from_secs(300));
    let by_refresh = Follower::start_every(&refresh_path, &hub.base, &refresh_token, Duration::from_secs(1));
    by_stream.wait_connected(1);
    by_refresh.wait_connected(1);
    for id in [&stream_id, &refresh_id] {
        hub.db(|c| renkei_hub::services::directory::revoke_token(c, &hub.hub.keys, id)).expect("revoke");
    }
    let unauthenticated = |error: &Error| {
        let Error::Refused(refused) = error.root() else { panic!("not the hub's refusal: {error}") };
        assert_eq!(refused.code.as_deref(), Some("UNAUTHENTICATED"), "{error}");
        let text = error.to_string();
        assert!(text.contains("revoked") && text.contains("失効"), "in both languages: {text}");
        text
    };
    let error = by_refresh.ended(DEADLINE).expect_err("the follow ends with an error");
    unauthenticated(&error);
    let error = by_stream.ended(Duration::from_secs(45)).expect_err("the follow ends with an error");
    let text = unauthenticated(&error);
    assert!(text.contains("the stream ends") && text.contains("ストリームを終了"), "the stream's error: {text}");

    // Started again with the revoked token: refused at once, not retried.
    let again = Follower::start(&stream_path, &hub.base, &stream_token);
    let error = again.ended(DEADLINE).expect_err("refused");
    assert!(
        matches!(error.root(), Error::Refused(r) if matches!(r.code.as_deref(), Some("UNAUTHENTICATED" | "LOCKED_OUT"))),
        "{error}"
    );
}

/// A plain HTTP proxy in front of a hub: every request is passed on, and the push
/// stream too unless the proxy plays a hub from before it (`/changes/stream` then
/// answers 404). `cut` drops every connection open through it, as a network fault would.
struct Proxy {
    address: String,
    open: Arc<Mutex<Vec<std::net::TcpStream>>>,
}

impl Proxy {
    fn start(hub: &TestHub, push: bool) -> Proxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = format!("http://{}", listener.local_addr().expect("address"));
        let open = Arc::new(Mutex::new(Vec::new()));
        let (target, connections) = (hub.base.clone(), Arc::clone(&open));
        std::thread::spawn(move || {
            let http = reqwest::blocking::Client::builder().timeout(None).build().expect("client");
            for connection in listener.incoming() {
                let Ok(connection) = connection else { continue };
                connections.lock().expect("open").push(connection.try_clone().expect("clone"));
                let (http, target) = (http.clone(), target.clone());
                std::thread::spawn(move || Proxy::serve(&http, &target, push, connection));
            }
        });
        Proxy { address, open }
    }

    fn cut(&self) {
        for connection in self.open.lock().expect("open").drain(..) {
            let _ = connection.shutdown(std::net::Shutdown::Both);
        }
    }

    /// One request after another on the connection, until either side closes it.
    fn serve(http: &reqwest::blocking::Client, target: &str, push: bool, mut connection: std::net::TcpStream) {
        use std::io::{BufRead as _, Read as _, Write as _};
        let Ok(clone) = connection.try_clone() else { return };
        let mut reader = std::io::BufReader::new(clone);
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let mut parts = line.split_whitespace();
            let (method, path) = (parts.next().unwrap_or("GET").to_string(), parts.next().unwrap_or("/").to_string());
            let mut headers = Vec::new();
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).unwrap_or(0) == 0 {
                    return;
                }
                let header = header.trim_end();
                if header.is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    headers.push((name.trim().to_ascii_lowercase(), value.trim().to_string()));
                }
            }
            let header = |name: &str| headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.clone());
            let mut body = vec![0; header("content-length").and_then(|n| n.parse().ok()).unwrap_or(0)];
            if reader.read_exact(&mut body).is_err() {
                return;
            }
            let stream = path.starts_with("/changes/stream");
            if stream && !push {
                let _ = connection.write_all(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n");
                continue;
            }
            let method = reqwest::Method::from_bytes(method.as_bytes()).expect("method");
            let mut request = http.request(method, format!("{target}{path}")).body(body);
            for name in ["authorization", "content-type", "accept"] {
                if let Some(value) = header(name) {
                    request = request.header(name, value);
                }
            }
            let Ok(mut response) = request.send() else { return };
            let kind = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or("text/plain")
                .to_string();
            let status = response.status().as_u16();
            if stream && status == 200 {
                // Passed on as it comes, until the hub or the client ends it.
                let head = format!("HTTP/1.1 200 OK\r\ncontent-type: {kind}\r\nconnection: close\r\n\r\n");
                if connection.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let mut chunk = vec![0; 64 * 1024];
                while let Ok(n) = response.read(&mut chunk) {
                    if n == 0 || connection.write_all(&chunk[..n]).is_err() {
                        break;
                    }
                }
                let _ = connection.shutdown(std::net::Shutdown::Both);
                return;
            }
            let answer = response.bytes().map(|b| b.to_vec()).unwrap_or_default();
            let head =
                format!("HTTP/1.1 {status} X\r\ncontent-type: {kind}\r\ncontent-length: {}\r\n\r\n", answer.len());
            if connection.write_all(head.as_bytes()).and_then(|_| connection.write_all(&answer)).is_err() {
                return;
            }
        }
    }
}

/// A connection dropped under the follower is opened again from the stored cursor
/// after the backoff: what was shared meanwhile arrives, nothing lost or doubled.
#[test]
fn a_dropped_connection_is_opened_again_from_the_stored_cursor() {
    let hub = TestHub::start(Backend::Sqlite);
    let (m1, m2) = (hub.add_org("Member One", false), hub.add_org("Member Two", false));
    let (t1, t2) = (hub.token(&m1, Role::Analyst), hub.token(&m2, Role::Analyst));
    let proxy = Proxy::start(&hub, true);
    let dir = TempDir::new("renkei-live-dropped");
    let path = dir.0.join("register.db");
    member_register(&path, &hub, &t1, "T0866");
    share_indicators(&hub, &t2, "before", 3);
    let follower = Follower::start(&path, &proxy.address, &t1);
    follower.wait_connected(1);
    let mut conn = register::open(&path).expect("register");
    share_indicators(&hub, &t2, "first", 2);
    let expected = hub.hub_view(&t1);
    wait_for("the first pushes", || register_view(&mut conn) == expected, || format!("{:#?}", follower.said()));
    for round in 0..3 {
        proxy.cut();
        // Shared while the follower waits out its backoff.
        share_indicators(&hub, &t2, &format!("cut-{round}"), 4);
        follower.wait_connected(round + 2);
        let expected = hub.hub_view(&t1);
        wait_for("the catch-up", || register_view(&mut conn) == expected, || format!("{:#?}", follower.said()));
    }
    let said = follower.stop();
    let retries: Vec<&String> = said.iter().filter(|l| l.starts_with("retrying")).collect();
    assert_eq!(retries.len(), 3, "one retry a cut: {said:#?}");
    // A connection that delivered pushes starts the backoff again.
    assert!(retries.iter().all(|l| l.starts_with("retrying in 500ms")), "{said:#?}");
    assert_eq!(register_view(&mut conn).len(), 3 + 2 + 3 * 4);
}

/// A hub that cannot push (404 at `/changes/stream`) is polled every interval, which
/// the follower says once; what is shared still reaches the register and flags.
#[test]
fn a_hub_without_push_is_polled() {
    let hub = TestHub::start(Backend::Sqlite);
    let (m1, m2) = (hub.add_org("Member One", false), hub.add_org("Member Two", false));
    let (t1, t2) = (hub.token(&m1, Role::Analyst), hub.token(&m2, Role::Analyst));
    let old = Proxy::start(&hub, false);
    let dir = TempDir::new("renkei-live-polled");
    let path = dir.0.join("register.db");
    let risk = member_register(&path, &hub, &t1, "T0866");
    let follower = Follower::start_every(&path, &old.address, &t1, Duration::from_secs(1));
    wait_for("the fallback", || follower.said().iter().any(|l| l == "polling"), || format!("{:#?}", follower.said()));
    let data = hub.gql(&t2, TECHNIQUE, json!({"i": technique("T0866"), "s": {"tlp": "GREEN"}}));
    let technique_id = data["shareTechnique"]["id"].as_str().expect("id").to_string();
    let mut conn = register::open(&path).expect("register");
    wait_for(
        "the polled flag",
        || !open_flags(&mut conn, "technique").is_empty(),
        || format!("{:#?}", follower.said()),
    );
    assert_eq!(open_flags(&mut conn, "technique"), [(risk, technique_id, "exact".to_string())]);
    std::thread::sleep(Duration::from_millis(2500));
    let said = follower.stop();
    assert_eq!(said.iter().filter(|l| *l == "polling").count(), 1, "said once: {said:#?}");
    assert!(said.iter().all(|l| !l.starts_with("connected") && !l.starts_with("retrying")), "{said:#?}");
    assert!(said.iter().filter(|l| l.starts_with("synced")).count() >= 3, "polled every second: {said:#?}");
}

/// The risk loop across federation: a technique published on hub A is federated to
/// hub B (B's puller reads A), pushed by B to the member client following it, and
/// flags the member's risk; the item keeps A's signature, verified with A's key.
#[test]
fn a_technique_published_on_a_peer_hub_is_pushed_and_flags_the_risk() {
    let a = TestHub::start(Backend::Postgres);
    // B's poll is a minute: what reaches B within the deadline came by A's push
    // (`/federation/wake` wakes B's puller).
    let b = TestHub::start_with(Backend::Postgres, |c| c.federation_poll_ms = 60_000);
    renkei_e2e::link_both_ways(("A", &a), ("B", &b), Tlp::Amber, true);

    let publisher = a.add_org("Publisher on A", false);
    let publisher_token = a.token(&publisher, Role::Analyst);
    let member = b.add_org("Member on B", false);
    let member_token = b.token(&member, Role::Analyst);
    let dir = TempDir::new("renkei-live-federated");
    let path = dir.0.join("register.db");
    let risk = member_register(&path, &b, &member_token, "T0866");
    let follower = Follower::start(&path, &b.base, &member_token);
    follower.wait_connected(1);

    let shared = Instant::now();
    let data = a.gql(&publisher_token, TECHNIQUE, json!({"i": technique("T0866"), "s": {"tlp": "GREEN"}}));
    let technique_id = data["shareTechnique"]["id"].as_str().expect("id").to_string();
    let returned = shared.elapsed();
    let mut conn = register::open(&path).expect("register");
    let took = wait_for(
        "the federated technique's flag",
        || !open_flags(&mut conn, "technique").is_empty(),
        || {
            let links = b.db(federation::list_peers).expect("peers");
            let status: Vec<String> = links
                .iter()
                .map(|(p, s)| {
                    format!("{}: cursor {} received {} error {:?}", p.name, s.cursor, s.received, s.last_error)
                })
                .collect();
            format!("links on B: {status:?}; follower: {:#?}", follower.said())
        },
    );
    eprintln!("published on A in {returned:?}; flagged in the register of B's member {took:?} later");
    assert_eq!(open_flags(&mut conn, "technique"), [(risk, technique_id.clone(), "exact".to_string())]);
    follower.stop();
    // Held as A signed it, A's key pinned for it.
    let row = register::all_items(&mut conn).expect("items").into_iter().find(|r| r.id == technique_id).expect("held");
    let mut verifier = renkei_schema::sign::Verifier::new(&a.hub.keys.signing.public_key()).expect("key");
    verifier.verify(row.stix.as_bytes(), &row.signature).expect("A's signature");
    let pinned = register::origin_keys(&mut conn).expect("origin keys");
    assert_eq!(pinned.get(&a.hub.hub_id), Some(&a.hub.keys.signing.public_key()));
}
