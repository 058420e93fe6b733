//! Federation survives crashes: two `renkei-hub` processes on their own PostgreSQL
//! databases; the receiving hub B is killed (SIGKILL) in the middle of pulling, then
//! restarted; later the sending hub A disappears and comes back. Every time B's
//! database holds exactly whole pages (objects, versions and the link's count agree),
//! and in the end B holds each of A's items once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

fn pg_base() -> String {
    std::env::var("RENKEI_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// A fresh database, dropped at the end.
struct Db {
    name: String,
    url: String,
}

impl Db {
    fn create() -> Db {
        let name = format!("renkei_t_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&format!("{}/postgres", pg_base())).expect("PostgreSQL answers");
        diesel::sql_query(format!("CREATE DATABASE {name}")).execute(&mut admin).expect("create database");
        Db { url: format!("{}/{name}", pg_base()), name }
    }

    fn conn(&self) -> PgConnection {
        PgConnection::establish(&self.url).expect("connect")
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&format!("{}/postgres", pg_base())) {
            let _ =
                diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)).execute(&mut admin);
        }
    }
}

struct Dir(PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// One hub: its database, data folder, port and (when running) process.
struct Hub {
    db: Db,
    dir: Dir,
    port: u16,
    child: Option<Child>,
}

impl Hub {
    fn new() -> Hub {
        let dir = std::env::temp_dir().join(format!("renkei-fedkill-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
        Hub { db: Db::create(), dir: Dir(dir), port, child: None }
    }

    fn cmd(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_renkei-hub"));
        for (k, _) in std::env::vars() {
            if k.starts_with("RENKEI_") {
                cmd.env_remove(k);
            }
        }
        cmd.env("RENKEI_LOG", "warn").arg("--database").arg(&self.db.url).arg("--data-dir").arg(&self.dir.0);
        cmd
    }

    fn cli(&self, args: &[&str]) -> String {
        let out = self.cmd().args(args).output().expect("renkei-hub runs");
        assert!(out.status.success(), "{args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).lines().last().unwrap_or_default().trim().to_string()
    }

    fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    fn start(&mut self) {
        let log = std::fs::File::create(self.dir.0.join("hub.log")).expect("log");
        let child = self
            .cmd()
            .args(["serve", "--listen", &format!("127.0.0.1:{}", self.port)])
            .env("RENKEI_REQUESTS_PER_MINUTE", "10000000")
            .env("RENKEI_METRICS_LISTEN", "127.0.0.1:0")
            .env("RENKEI_FEDERATION_PAGE", "150")
            .env("RENKEI_FEDERATION_POLL_MS", "100")
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("serve");
        self.child = Some(child);
        let t0 = Instant::now();
        let http = reqwest::blocking::Client::new();
        while !http.get(format!("{}/readyz", self.base())).send().is_ok_and(|r| r.status().is_success()) {
            assert!(t0.elapsed() < Duration::from_secs(60), "the hub did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// SIGKILL: no chance to finish anything.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().expect("kill");
            child.wait().expect("wait");
        }
    }

    fn count(&self, sql: &str) -> i64 {
        #[derive(QueryableByName)]
        struct N {
            #[diesel(sql_type = BigInt)]
            n: i64,
        }
        diesel::sql_query(sql).get_result::<N>(&mut self.db.conn()).expect(sql).n
    }

    fn ids(&self) -> BTreeSet<String> {
        #[derive(QueryableByName)]
        struct Id {
            #[diesel(sql_type = Text)]
            id: String,
        }
        diesel::sql_query("SELECT id FROM objects")
            .load::<Id>(&mut self.db.conn())
            .expect("ids")
            .into_iter()
            .map(|r| r.id)
            .collect()
    }

    /// Whole pages only: every stored object has its one version, and the link counted
    /// exactly what is stored.
    fn consistent(&self) -> i64 {
        let objects = self.count("SELECT count(*) AS n FROM objects");
        assert_eq!(objects, self.count("SELECT count(*) AS n FROM object_versions"), "one version per object");
        assert_eq!(objects, self.count("SELECT count(*) AS n FROM object_versions WHERE origin IS NOT NULL"));
        assert_eq!(objects, self.count("SELECT coalesce(sum(received), 0)::BIGINT AS n FROM peer_status"));
        objects
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        self.kill();
    }
}

fn wait_until(what: &str, hub: &Hub, mut done: impl FnMut(&Hub) -> bool) {
    let t0 = Instant::now();
    while !done(hub) {
        assert!(t0.elapsed() < Duration::from_secs(120), "{what} did not happen in 120 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn share(http: &reqwest::blocking::Client, hub: &Hub, token: &str, from: u32, count: u32) {
    let q = "mutation($i: [IndicatorInput!]!) { shareIndicators(input: $i, sharing: {tlp: GREEN}) { id } }";
    let input: Vec<serde_json::Value> = (from..from + count)
        .map(|n| serde_json::json!({"type": "IPV4", "value": format!("11.1.{}.{}", n / 250, n % 250 + 1)}))
        .collect();
    let answer: serde_json::Value = http
        .post(format!("{}/graphql", hub.base()))
        .bearer_auth(token)
        .json(&serde_json::json!({"query": q, "variables": {"i": input}}))
        .send()
        .expect("share")
        .json()
        .expect("json");
    assert!(answer.get("errors").is_none(), "{answer}");
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path.to_string_lossy().to_string()
}

#[test]
fn a_receiving_hub_killed_mid_pull_and_a_vanishing_peer_lose_and_double_nothing() {
    // reqwest's TLS stack takes the process's rustls provider: ring, as everywhere.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let (mut a, mut b) = (Hub::new(), Hub::new());
    let member = a.cli(&["org", "add", "Power One", "--sector", "electricity"]);
    let token = a.cli(&["token", "issue", "--org", &member, "--role", "analyst"]);
    let (key_a, key_b) = (a.cli(&["key", "show"]), b.cli(&["key", "show"]));
    let for_b = a.cli(&[
        "peer",
        "add",
        "B",
        "--url",
        &b.base(),
        "--public-key",
        &key_b,
        "--max-tlp",
        "GREEN",
        "--community",
        "--direction",
        "push",
    ]);
    let token_file = write(&b.dir.0, "a.token", &for_b);
    b.cli(&[
        "peer",
        "add",
        "A",
        "--url",
        &a.base(),
        "--public-key",
        &key_a,
        "--max-tlp",
        "GREEN",
        "--community",
        "--direction",
        "pull",
        "--token-file",
        &token_file,
    ]);

    a.start();
    let http = reqwest::blocking::Client::new();
    for batch in 0..6 {
        share(&http, &a, &token, batch * 1000, 1000);
    }
    b.start();
    wait_until("B receiving some pages", &b, |b| {
        b.count("SELECT coalesce(sum(received), 0)::BIGINT AS n FROM peer_status") >= 1500
    });
    b.kill();
    let at_kill = b.consistent();
    assert!(at_kill < 6000, "killed before the end ({at_kill})");

    // Restarted, B resumes from its stored cursor.
    b.start();
    wait_until("B receiving more", &b, |b| b.count("SELECT count(*) AS n FROM objects") >= at_kill + 1000);
    // The peer vanishes mid-pull (killed), and B notes it and keeps what it has.
    a.kill();
    wait_until("B noticing", &b, |b| {
        b.count("SELECT count(*) AS n FROM peer_status WHERE last_error LIKE '%contacting%'") == 1
    });
    b.consistent();
    a.start();
    wait_until("B catching up", &b, |b| b.count("SELECT count(*) AS n FROM objects") == 6000);
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(b.consistent(), 6000);
    assert_eq!(b.ids(), a.ids(), "B holds exactly A's items");
}
