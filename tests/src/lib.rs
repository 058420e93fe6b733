//! renkei-e2e: starts real hubs on loopback, each on its own fresh PostgreSQL
//! database (dropped afterwards) or SQLite file, and talks to them over HTTP.
//!
//! PostgreSQL is found at `RENKEI_TEST_PG` (default `postgres://postgres@127.0.0.1:5432`),
//! Redis at `RENKEI_TEST_REDIS` (default `redis://127.0.0.1:6379`). `ops/test` starts
//! both when they are down.

pub mod browser;
pub mod certs;
pub mod console;
pub mod haproxy;
pub mod interop;
pub mod live;
pub mod member_cli;
pub mod services;
pub mod suricata;

use diesel::{Connection, RunQueryDsl};
use serde_json::{json, Value};
use std::path::PathBuf;
use std::sync::Arc;

use renkei_hub::auth::Role;
use renkei_hub::config::Config;
use renkei_hub::services::directory;
use renkei_hub::state::Hub;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Postgres,
    Sqlite,
}

pub const BACKENDS: [Backend; 2] = [Backend::Postgres, Backend::Sqlite];

pub fn pg_base() -> String {
    std::env::var("RENKEI_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

pub fn redis_url() -> String {
    std::env::var("RENKEI_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A fresh, empty PostgreSQL database, dropped with this value.
pub struct PgDatabase {
    pub name: String,
    pub url: String,
}

impl PgDatabase {
    pub fn create() -> PgDatabase {
        let name = format!("renkei_t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = diesel::PgConnection::establish(&format!("{}/postgres", pg_base()))
            .expect("PostgreSQL answers at RENKEI_TEST_PG (run the tests with ops/test)");
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).expect("create database");
        PgDatabase { url: format!("{}/{name}", pg_base()), name }
    }
}

impl Drop for PgDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = diesel::PgConnection::establish(&format!("{}/postgres", pg_base())) {
            let _ =
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin);
        }
    }
}

/// A temporary folder removed with this value.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(prefix: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("{prefix}-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A real hub serving on a loopback port.
pub struct TestHub {
    pub base: String,
    pub hub: Arc<Hub>,
    pub backend: Backend,
    handle: actix_web::dev::ServerHandle,
    thread: Option<std::thread::JoinHandle<()>>,
    http: reqwest::blocking::Client,
    // Dropped after the server stops.
    _pg: Option<PgDatabase>,
    pub data_dir: TempDir,
}

impl TestHub {
    pub fn start(backend: Backend) -> TestHub {
        TestHub::start_with(backend, |_| {})
    }

    /// Starts a hub after `tune` adjusts its configuration.
    pub fn start_with(backend: Backend, tune: impl FnOnce(&mut Config)) -> TestHub {
        let data_dir = TempDir::new("renkei-hub-test");
        let pg = (backend == Backend::Postgres).then(PgDatabase::create);
        let url = match &pg {
            Some(db) => db.url.clone(),
            None => format!("sqlite://{}", data_dir.0.join("hub.db").display()),
        };
        TestHub::launch(backend, pg, url, data_dir, tune)
    }

    /// Starts a hub on a database the test provides (`postgres://…` or `sqlite://…`),
    /// making none of its own: e.g. a test-owned PostgreSQL cluster (`services`).
    pub fn start_on(url: &str, tune: impl FnOnce(&mut Config)) -> TestHub {
        let backend = if url.starts_with("sqlite://") { Backend::Sqlite } else { Backend::Postgres };
        TestHub::launch(backend, None, url.to_string(), TempDir::new("renkei-hub-test"), tune)
    }

    fn launch(
        backend: Backend,
        pg: Option<PgDatabase>,
        url: String,
        data_dir: TempDir,
        tune: impl FnOnce(&mut Config),
    ) -> TestHub {
        let mut config = Config {
            data_dir: data_dir.0.clone(),
            database_url: Some(url),
            database_pool_size: 4,
            // Each test hub's operator metrics on a port of its own.
            metrics_listen: "127.0.0.1:0".into(),
            // Audit checkpoints only where a test asks for them: the feed tests count
            // every item a viewer gets.
            audit_checkpoint_seconds: 0,
            ..Config::default()
        };
        tune(&mut config);
        let (tx, rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let system = actix_web::rt::System::new();
            system.block_on(async move {
                let hub = Hub::open(config).await.expect("hub opens");
                let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
                let port = listener.local_addr().expect("addr").port();
                let tls = match (&hub.config.tls_cert, &hub.config.tls_key) {
                    (Some(cert), Some(key)) => Some(
                        renkei_hub::http::tls_config(cert, key, hub.config.tls_client_ca.as_deref())
                            .expect("tls config"),
                    ),
                    _ => None,
                };
                let server = renkei_hub::http::server(Arc::clone(&hub), listener, tls).expect("server");
                tx.send((hub, server.handle(), port)).expect("send");
                let _ = server.await;
            });
        });
        let (hub, handle, port) = rx.recv().expect("hub started");
        // As a load balancer would, wait for readiness: the indicator index loads in
        // the background and `/readyz` (and lookups) wait for it.
        let loading = std::time::Instant::now();
        while !hub.index.is_ready() {
            assert!(loading.elapsed() < std::time::Duration::from_secs(30), "the hub never became ready");
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        TestHub {
            base: format!("http://127.0.0.1:{port}"),
            hub,
            backend,
            handle,
            thread: Some(thread),
            http: {
                // reqwest's TLS (enabled for the member client, which shares this build)
                // uses the process's rustls provider: ring, as everywhere in renkei.
                let _ = rustls::crypto::ring::default_provider().install_default();
                reqwest::blocking::Client::new()
            },
            _pg: pg,
            data_dir,
        }
    }

    pub fn db<T>(&self, f: impl FnOnce(&mut renkei_hub::store::DbConn) -> T) -> T {
        let mut conn = self.hub.connection().expect("connection");
        f(&mut conn)
    }

    /// Adds an organisation; returns its id.
    pub fn add_org(&self, name: &str, coordinator: bool) -> String {
        self.add_org_trusted(name, coordinator, renkei_hub::services::moderation::Trust::Standard)
    }

    /// An organisation at a given trust level (what the moderation policy routes by).
    pub fn add_org_trusted(
        &self,
        name: &str,
        coordinator: bool,
        trust: renkei_hub::services::moderation::Trust,
    ) -> String {
        self.db(|c| {
            directory::add_org(c, &self.hub.keys, name, "energy", coordinator, trust, None).map(|o| o.id).expect("org")
        })
    }

    pub fn token(&self, org: &str, role: Role) -> String {
        self.token_with_grants(org, role, &[])
    }

    /// Issues a token with grants beyond its role (`indicators`).
    pub fn token_with_grants(&self, org: &str, role: Role, grants: &[&str]) -> String {
        let grants: Vec<String> = grants.iter().map(|g| g.to_string()).collect();
        self.db(|c| {
            directory::issue_token(c, &self.hub.keys, org, role, None, &grants, None).map(|(_, t)| t).expect("token")
        })
    }

    /// POSTs a GraphQL request; returns the HTTP status and the JSON body.
    pub fn post(&self, token: Option<&str>, query: &str, variables: Value) -> (u16, Value) {
        let mut req =
            self.http.post(format!("{}/graphql", self.base)).json(&json!({"query": query, "variables": variables}));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().expect("request");
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
    }

    /// POSTs a GraphQL request and returns the body as the hub wrote it (key order and
    /// all), for comparing two ways of answering byte for byte.
    pub fn post_text(&self, token: &str, query: &str, variables: Value) -> String {
        let resp = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .expect("request");
        assert_eq!(resp.status().as_u16(), 200);
        resp.text().expect("body")
    }

    /// A GraphQL request that must succeed; returns `data`.
    pub fn gql(&self, token: &str, query: &str, variables: Value) -> Value {
        let (status, body) = self.post(Some(token), query, variables);
        assert!(status == 200 && body.get("errors").is_none(), "query failed ({status}): {body}\n{query}");
        body["data"].clone()
    }

    /// A GraphQL request that must fail; returns the first error's `extensions.code`.
    pub fn gql_error(&self, token: &str, query: &str, variables: Value) -> (String, Value) {
        let (_, body) = self.post(Some(token), query, variables);
        let err = body["errors"][0].clone();
        assert!(!err.is_null(), "expected an error, got {body}");
        (err["extensions"]["code"].as_str().unwrap_or("").to_string(), err)
    }

    /// GETs a path with a bearer token; returns the status and the body text.
    pub fn get_as(&self, token: &str, path: &str) -> (u16, String) {
        let resp = self.http.get(format!("{}{path}", self.base)).bearer_auth(token).send().expect("request");
        (resp.status().as_u16(), resp.text().unwrap_or_default())
    }

    pub fn get(&self, path: &str) -> (u16, String) {
        let resp = self.http.get(format!("{}{path}", self.base)).send().expect("request");
        (resp.status().as_u16(), resp.text().unwrap_or_default())
    }

    /// The operator's metrics, from the hub's own metrics listener.
    pub fn metrics(&self) -> String {
        let address = self.hub.metrics_address.get().expect("the test hub has a metrics listener");
        let resp = self.http.get(format!("http://{address}/metrics")).send().expect("metrics request");
        assert_eq!(resp.status().as_u16(), 200, "metrics listener");
        resp.text().expect("metrics body")
    }

    /// Rows in a table, for "nothing was stored" checks.
    pub fn count(&self, table: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        self.db(|c| {
            diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}")).get_result::<N>(c).expect("count").n
        })
    }

    /// Follows the whole change feed with pages of `limit`; returns every item.
    pub fn follow_changes(&self, token: &str, after: Option<String>, limit: i64) -> (Vec<Value>, String) {
        let mut cursor = after;
        let mut items = Vec::new();
        loop {
            let data = self.gql(
                token,
                "query($after: String, $limit: Int) { changes(after: $after, limit: $limit) { items { seq id type version tlp deleted object signature } cursor hasMore } }",
                json!({"after": cursor, "limit": limit}),
            );
            let page = &data["changes"];
            items.extend(page["items"].as_array().cloned().unwrap_or_default());
            cursor = page["cursor"].as_str().map(str::to_string);
            if !page["hasMore"].as_bool().unwrap_or(false) {
                return (items, cursor.unwrap_or_default());
            }
        }
    }
}

impl TestHub {
    /// What the member may hold according to the hub's whole `changes` feed: every live
    /// item by id, with its version.
    pub fn hub_view(&self, token: &str) -> std::collections::BTreeMap<String, i64> {
        let (items, _) = self.follow_changes(token, None, 1000);
        let mut held = std::collections::BTreeMap::new();
        for item in items {
            let id = item["id"].as_str().expect("id").to_string();
            if item["deleted"] == json!(true) {
                held.remove(&id);
            } else {
                held.insert(id, item["version"].as_i64().expect("version"));
            }
        }
        held
    }
}

impl Drop for TestHub {
    fn drop(&mut self) {
        futures::executor::block_on(self.handle.stop(false));
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The string `field` of every object in a JSON list (panics on anything else: for tests).
pub fn field_strings(list: &Value, field: &str) -> Vec<String> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(|o| o[field].as_str().unwrap_or_else(|| panic!("no string {field} in {o}")).to_string())
        .collect()
}

/// Where the MITRE ATT&CK test bundles live beside the project, if they do.
pub fn attack_data_dir() -> Option<PathBuf> {
    let dir = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/attack"));
    dir.join("ics-attack.json").exists().then_some(dir)
}

/// A member's supplier assessment under the built-in handbook 6.4 scheme answering
/// every criterion with `answer` (0 worst … 4 best), for `submitAssessment`.
pub fn handbook_assessment(supplier: &str, offerings: &[&str], assurance: &str, answer: u8) -> Value {
    serde_json::json!({
        "supplierId": supplier,
        "offeringIds": offerings,
        "schemeId": "renkei-handbook-6.4",
        "assessor": "MEMBER",
        "assurance": assurance,
        "observed": "2026-11-01T00:00:00Z",
        "results": (1..=11).map(|i| serde_json::json!({"criterion": format!("HB64-{i:02}"), "answer": answer})).collect::<Vec<_>>(),
        "conclusion": "ok"
    })
}

/// A federation link to hub `of` named `name`: both directions, every kind, sightings
/// (tests adjust it with struct update syntax).
pub fn peer_input(
    name: &str,
    of: &TestHub,
    max_tlp: renkei_schema::tlp::Tlp,
    community: bool,
) -> renkei_hub::federation::PeerInput {
    use renkei_schema::model::Kind;
    renkei_hub::federation::PeerInput {
        name: name.into(),
        url: of.base.clone(),
        public_key: of.hub.keys.signing.public_key(),
        max_tlp,
        community,
        direction: renkei_hub::federation::Direction::Both,
        kinds: vec![Kind::Indicator, Kind::Technique, Kind::Incident, Kind::Advisory, Kind::Assessment],
        sightings: true,
        token: None,
        ca_pem: None,
        client_cert_sha256: None,
    }
}

/// Links hubs x and y both ways ([`peer_input`]): each adds the other, then gets the
/// token the other issued.
pub fn link_both_ways(x: (&str, &TestHub), y: (&str, &TestHub), max_tlp: renkei_schema::tlp::Tlp, community: bool) {
    use renkei_hub::federation;
    let ((x_name, x_hub), (y_name, y_hub)) = (x, y);
    let (_, for_y) = x_hub
        .db(|c| federation::add_peer(c, &x_hub.hub.keys, peer_input(y_name, y_hub, max_tlp, community)))
        .expect("x adds y");
    let (_, for_x) = y_hub
        .db(|c| federation::add_peer(c, &y_hub.hub.keys, peer_input(x_name, x_hub, max_tlp, community)))
        .expect("y adds x");
    x_hub.db(|c| federation::set_token(c, y_name, &for_x.expect("y issued a token"))).expect("token");
    y_hub.db(|c| federation::set_token(c, x_name, &for_y.expect("x issued a token"))).expect("token");
}
