//! The hub survives its dependencies: Redis killed (SIGKILL) and restarted, and
//! PostgreSQL stopped (immediate mode) and started, under a running hub. Each test owns
//! its servers (`renkei_e2e::services`: a `redis-server` and an `initdb` cluster on
//! free ports), so the shared PostgreSQL and Redis the rest of the suite uses are never
//! touched. While a dependency is down every request answers within a second (a success
//! where the hub can do without it, else the retryable UNAVAILABLE), `/readyz` says so,
//! the hub comes back by itself when the dependency does, and nothing it acknowledged
//! is lost. The timings are about "never a hang", not speed: each test prints what it
//! measured (`--nocapture`).

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use renkei_e2e::services::{free_port, PgCluster, RedisServer};
use renkei_e2e::{Backend, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

/// Every request while a dependency is down answers within this.
const PROMPT: Duration = Duration::from_secs(1);
/// The hub serves normally again within this after the dependency is back.
const RECOVERY: Duration = Duration::from_secs(10);

const SHARE: &str =
    "mutation($input: [IndicatorInput!]!) { shareIndicators(input: $input, sharing: {tlp: GREEN}) { id value } }";
const LOOKUP: &str = "query($v: [String!]!) { lookup(values: $v) { input matches { id } } }";
const ME: &str = "{ me { role } }";

/// One answer and how long it took.
#[derive(Debug)]
struct Answer {
    status: u16,
    body: Value,
    took: Duration,
}

impl Answer {
    fn ok(&self) -> bool {
        self.status == 200 && self.body.get("errors").is_none()
    }

    fn code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"].as_str().unwrap_or("")
    }

    /// The retryable refusal: UNAVAILABLE, with Japanese text, as HTTP 503 (refused
    /// before GraphQL ran, or on a plain endpoint) or in GraphQL's `errors`.
    fn unavailable(&self) -> bool {
        self.code() == "UNAVAILABLE"
            && (self.status == 503 || self.status == 200)
            && self.body["errors"][0]["extensions"]["messageJa"].as_str().is_some_and(|m| !m.is_empty())
    }
}

/// An HTTP client with a timeout, so a hang fails the test instead of stalling it.
struct Client {
    http: reqwest::blocking::Client,
    base: String,
}

impl Client {
    fn new(base: &str) -> Client {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let http = reqwest::blocking::Client::builder().timeout(Duration::from_secs(20)).build().expect("client");
        Client { http, base: base.to_string() }
    }

    fn post(&self, token: &str, query: &str, variables: Value) -> Answer {
        let start = Instant::now();
        let resp = self
            .http
            .post(format!("{}/graphql", self.base))
            .bearer_auth(token)
            .json(&json!({"query": query, "variables": variables}))
            .send()
            .expect("the hub answers");
        let status = resp.status().as_u16();
        let body = resp.json().unwrap_or(Value::Null);
        Answer { status, body, took: start.elapsed() }
    }

    fn get(&self, path: &str, token: Option<&str>) -> Answer {
        let start = Instant::now();
        let mut req = self.http.get(format!("{}{path}", self.base));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().expect("the hub answers");
        let status = resp.status().as_u16();
        let retry_after = resp.headers().get("retry-after").is_some();
        let text = resp.text().unwrap_or_default();
        let mut body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        if status == 503 {
            assert!(retry_after, "a 503 says when to retry: {body}");
            body["retryAfter"] = json!(true);
        }
        Answer { status, body, took: start.elapsed() }
    }

    fn share(&self, token: &str, values: &[String]) -> Answer {
        let input: Vec<Value> = values.iter().map(|v| json!({"type": "DOMAIN", "value": v})).collect();
        self.post(token, SHARE, json!({"input": input}))
    }
}

/// The slowest answer seen, and to what.
#[derive(Default)]
struct Worst(Duration, String);

impl Worst {
    fn note(&mut self, what: &str, answer: &Answer) {
        assert!(answer.took < PROMPT, "{what} took {:?} (more than {PROMPT:?}): {:?}", answer.took, answer.body);
        if answer.took > self.0 {
            *self = Worst(answer.took, what.to_string());
        }
    }
}

/// Polls `check` every 50 ms until it holds, for at most `within`; how long it took.
fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if check() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// Every indicator value stored in the hub's database.
fn stored_values(hub: &TestHub) -> HashSet<String> {
    #[derive(diesel::QueryableByName)]
    struct V {
        #[diesel(sql_type = diesel::sql_types::Text)]
        v: String,
    }
    hub.db(|c| {
        use diesel::RunQueryDsl;
        diesel::sql_query("SELECT indicator_value AS v FROM objects WHERE indicator_value IS NOT NULL")
            .load::<V>(c)
            .expect("stored values")
    })
    .into_iter()
    .map(|r| r.v)
    .collect()
}

/// Keys the hub keeps in this Redis.
fn redis_keys(redis: &RedisServer, hub: &TestHub) -> Vec<String> {
    let mut conn = redis.client();
    redis::cmd("KEYS").arg(format!("renkei:{}:*", hub.hub.hub_id)).query(&mut conn).expect("keys")
}

fn token_id(token: &str) -> String {
    renkei_hub::crypto::token_id_of(token).expect("token id").to_string()
}

fn services() -> Option<(PgCluster, RedisServer)> {
    let Some(pg) = PgCluster::start() else {
        eprintln!("skipping: initdb/pg_ctl not found (/usr/lib/postgresql/<version>/bin or the PATH)");
        return None;
    };
    let Some(redis) = RedisServer::start() else {
        eprintln!("skipping: redis-server not found on the PATH");
        return None;
    };
    Some((pg, redis))
}

#[test]
fn redis_killed_and_restarted_under_a_running_hub() {
    let Some((pg, mut redis)) = services() else { return };
    let hub = TestHub::start_on(&pg.url("postgres"), |c| {
        c.redis_url = Some(redis.url());
        c.limits.requests_per_minute = 30;
        c.limits.lockout_threshold = 3;
    });
    let client = Client::new(&hub.base);
    assert_eq!(hub.hub.counters.backend_name(), "redis");
    let org = hub.add_org("Member One", false);
    let token = hub.token(&org, Role::Analyst);
    let mut acknowledged = Vec::new();
    for i in 0..3 {
        let values = vec![format!("before-{i}.example")];
        let a = client.share(&token, &values);
        assert!(a.ok(), "{a:?}");
        acknowledged.extend(values);
    }
    let ready = client.get("/readyz", None);
    assert_eq!((ready.status, &ready.body["status"], &ready.body["redis"]), (200, &json!("ready"), &json!("up")));
    assert!(redis_keys(&redis, &hub).iter().any(|k| k.ends_with(&format!("rate:{}", token_id(&token)))));

    // Killed: requests still succeed, each within a second; /readyz says Redis is away.
    redis.kill();
    let mut worst = Worst::default();
    for i in 0..10 {
        let values = vec![format!("during-{i}.example")];
        let a = client.share(&token, &values);
        assert!(a.ok(), "a share while Redis is down: {a:?}");
        worst.note("a share while Redis is down", &a);
        acknowledged.extend(values);
    }
    let ready = client.get("/readyz", None);
    worst.note("/readyz while Redis is down", &ready);
    assert_eq!(ready.status, 200, "the hub works without Redis: {:?}", ready.body);
    assert_eq!((&ready.body["status"], &ready.body["redis"]), (&json!("degraded"), &json!("unavailable")));
    assert_eq!(ready.body["database"], "up");

    // The rate limit still holds, counted in process: 30 a minute, the 31st refused.
    let limited = hub.token(&org, Role::Analyst);
    for _ in 0..30 {
        let a = client.post(&limited, ME, json!({}));
        assert!(a.ok(), "{a:?}");
        worst.note("a request while Redis is down", &a);
    }
    let a = client.post(&limited, ME, json!({}));
    worst.note("a rate-limited request while Redis is down", &a);
    assert_eq!((a.status, a.code()), (429, "RATE_LIMITED"), "{a:?}");

    // Restarted: the hub uses it again by itself.
    redis.start_again();
    let back = eventually(RECOVERY, || client.get("/readyz", None).body["redis"] == "up")
        .unwrap_or_else(|| panic!("the hub never used Redis again: {:?}", client.get("/readyz", None).body));
    let fresh = hub.token(&org, Role::Analyst);
    assert!(client.post(&fresh, ME, json!({})).ok());
    let keys = redis_keys(&redis, &hub);
    assert!(keys.iter().any(|k| k.ends_with(&format!("rate:{}", token_id(&fresh)))), "{keys:?}");
    // What was counted in process while Redis was away still counts.
    let a = client.post(&limited, ME, json!({}));
    assert_eq!((a.status, a.code()), (429, "RATE_LIMITED"), "{a:?}");
    assert_eq!(client.get("/readyz", None).body["status"], "ready");

    // Killed again: failed authentications still lock out, in process.
    redis.kill();
    let victim = hub.token(&org, Role::Analyst);
    let forged = format!("{}AAAA", &victim[..victim.len() - 4]);
    for _ in 0..3 {
        let a = client.post(&forged, ME, json!({}));
        worst.note("a failed authentication while Redis is down", &a);
        assert_eq!(a.status, 401, "{a:?}");
    }
    let a = client.post(&forged, ME, json!({}));
    worst.note("a locked-out request while Redis is down", &a);
    assert_eq!((a.status, a.code()), (429, "LOCKED_OUT"), "{a:?}");
    // The lockout refuses failures only: the victim's own token still works.
    let a = client.post(&victim, ME, json!({}));
    assert_eq!(a.status, 200, "{a:?}");

    let stored = stored_values(&hub);
    assert!(acknowledged.iter().all(|v| stored.contains(v)), "every acknowledged share is stored");
    eprintln!(
        "redis: slowest request while Redis was down {:?} ({}); the hub used Redis again {back:?} after its restart",
        worst.0, worst.1
    );
}

#[test]
fn a_hub_starts_without_its_redis_and_takes_it_up_when_it_answers() {
    if RedisServer::start().is_none() {
        eprintln!("skipping: redis-server not found on the PATH");
        return;
    }
    let mut redis = RedisServer::not_started(free_port());
    let started = Instant::now();
    let hub = TestHub::start_with(Backend::Sqlite, |c| c.redis_url = Some(redis.url()));
    assert!(started.elapsed() < Duration::from_secs(5), "starting waited for Redis: {:?}", started.elapsed());
    let client = Client::new(&hub.base);
    let ready = client.get("/readyz", None);
    assert_eq!(
        (ready.status, &ready.body["status"], &ready.body["redis"]),
        (200, &json!("degraded"), &json!("unavailable"))
    );
    let org = hub.add_org("Member One", false);
    let token = hub.token(&org, Role::Analyst);
    let a = client.post(&token, ME, json!({}));
    assert!(a.ok() && a.took < PROMPT, "{a:?}");

    redis.start_again();
    let back = eventually(RECOVERY, || client.get("/readyz", None).body["status"] == "ready")
        .unwrap_or_else(|| panic!("the hub never took Redis up: {:?}", client.get("/readyz", None).body));
    assert!(client.post(&token, ME, json!({})).ok());
    let keys = redis_keys(&redis, &hub);
    assert!(keys.iter().any(|k| k.ends_with(&format!("rate:{}", token_id(&token)))), "{keys:?}");
    eprintln!("redis: a hub started without Redis used it {back:?} after it came up");
}

#[test]
fn a_hanging_redis_costs_a_request_at_most_its_response_timeout() {
    let Some(redis) = RedisServer::start() else {
        eprintln!("skipping: redis-server not found on the PATH");
        return;
    };
    let hub = TestHub::start_with(Backend::Sqlite, |c| c.redis_url = Some(redis.url()));
    let client = Client::new(&hub.base);
    let org = hub.add_org("Member One", false);
    let token = hub.token(&org, Role::Analyst);
    assert!(client.post(&token, ME, json!({})).ok());

    // Stopped, not killed: its connections stay open and nothing answers.
    redis.signal("STOP");
    let mut worst = Worst::default();
    let mut times = Vec::new();
    for _ in 0..10 {
        let a = client.post(&token, ME, json!({}));
        assert!(a.ok(), "{a:?}");
        worst.note("a request while Redis hangs", &a);
        times.push(a.took);
    }
    // One request waits out the response timeout; the others skip Redis at once.
    assert!(times.iter().filter(|t| **t > Duration::from_millis(300)).count() <= 1, "{times:?}");
    let degraded = eventually(Duration::from_secs(3), || {
        let ready = client.get("/readyz", None);
        worst.note("/readyz while Redis hangs", &ready);
        ready.status == 200 && ready.body["redis"] == "unavailable"
    })
    .expect("/readyz said Redis is unavailable");

    redis.signal("CONT");
    let back = eventually(RECOVERY, || client.get("/readyz", None).body["redis"] == "up").expect("Redis used again");
    assert!(client.post(&token, ME, json!({})).ok());
    eprintln!(
        "redis: slowest request while Redis hung {:?} ({}); /readyz degraded after {degraded:?}; \
         Redis used again {back:?} after it continued",
        worst.0, worst.1
    );
}

#[test]
fn postgres_stopped_and_started_under_a_running_hub() {
    let Some((pg, redis)) = services() else { return };
    let url = pg.url("postgres");
    let hub = TestHub::start_on(&url, |c| c.redis_url = Some(redis.url()));
    let client = Client::new(&hub.base);
    let org = hub.add_org("Member One", false);
    let token = hub.token(&org, Role::Analyst);
    // Issued now, first presented during the outage (so not in the token cache).
    let unseen = hub.token(&org, Role::Analyst);
    let mut acknowledged = Vec::new();
    for i in 0..3 {
        let values = vec![format!("before-{i}-a.example"), format!("before-{i}-b.example")];
        let a = client.share(&token, &values);
        assert!(a.ok(), "{a:?}");
        acknowledged.extend(values);
    }
    let ready = client.get("/readyz", None);
    assert_eq!((ready.status, &ready.body["database"]), (200, &json!("up")), "{:?}", ready.body);

    // A writer shares two indicators a request, before, through and after the outage.
    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, base, token) = (Arc::clone(&stop), hub.base.clone(), token.clone());
        std::thread::spawn(move || {
            let client = Client::new(&base);
            let mut log = Vec::new();
            for i in 0.. {
                if stop.load(Ordering::Relaxed) {
                    break;
                }
                let values = vec![format!("w-{i}-a.example"), format!("w-{i}-b.example")];
                let answer = client.share(&token, &values);
                log.push((values, answer));
                std::thread::sleep(Duration::from_millis(20));
            }
            log
        })
    };
    std::thread::sleep(Duration::from_millis(500));

    // Stopped: every request answers within a second, with the retryable error where
    // it needs the database; /readyz is 503 (within a moment: it trusts an answer
    // of the last second).
    pg.stop();
    let stopped = Instant::now();
    let mut worst = Worst::default();
    let mut refused_writes = 0;
    let mut readyz_down: Option<Duration> = None;
    while stopped.elapsed() < Duration::from_secs(4) {
        let a = client.share(&token, &[format!("down-{}.example", refused_writes)]);
        worst.note("a share while PostgreSQL is down", &a);
        assert!(a.unavailable(), "a share while PostgreSQL is down: {a:?}");
        refused_writes += 1;
        let a = client.post(&unseen, ME, json!({}));
        worst.note("a request with an uncached token while PostgreSQL is down", &a);
        assert!(a.unavailable() && a.status == 503, "{a:?}");
        let a = client.get("/export/indicators", Some(&token));
        worst.note("an export while PostgreSQL is down", &a);
        assert_eq!(a.status, 503, "{:?}", a.body);
        let ready = client.get("/readyz", None);
        worst.note("/readyz while PostgreSQL is down", &ready);
        if ready.status == 503 {
            assert_eq!(
                (&ready.body["status"], &ready.body["database"]),
                (&json!("unavailable"), &json!("unavailable"))
            );
            readyz_down.get_or_insert(stopped.elapsed());
        } else {
            assert!(readyz_down.is_none(), "/readyz went back to 200 while PostgreSQL is down: {:?}", ready.body);
            assert!(
                stopped.elapsed() < Duration::from_secs(2),
                "/readyz still 200 {:?} after the stop",
                stopped.elapsed()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let readyz_down = readyz_down.expect("/readyz said 503");

    // Started again: the hub serves again by itself, within seconds, without a restart.
    pg.start_again();
    let started = Instant::now();
    let mut after = 0;
    let recovered = eventually(RECOVERY, || {
        let values = vec![format!("after-{after}.example")];
        after += 1;
        let a = client.share(&token, &values);
        assert!(a.ok() || a.unavailable(), "{a:?}");
        worst.note("a share while PostgreSQL restarts", &a);
        if a.ok() {
            acknowledged.extend(values);
        }
        a.ok()
    })
    .unwrap_or_else(|| panic!("the hub did not serve again within {RECOVERY:?}:\n{}", pg.log()));
    let ready = client.get("/readyz", None);
    assert_eq!((ready.status, &ready.body["status"]), (200, &json!("ready")), "{:?}", ready.body);
    assert!(client.post(&unseen, ME, json!({})).ok());
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::Relaxed);
    let log = writer.join().expect("writer");
    let back = started.elapsed();

    // Nothing acknowledged is lost; every refusal was the retryable error, in time, and
    // left both or neither of its indicators (a commit cut off mid-way may have landed).
    let stored = stored_values(&hub);
    let (mut written, mut refused) = (0, 0);
    for (values, answer) in &log {
        worst.note("the writer's share", answer);
        let held = values.iter().filter(|v| stored.contains(*v)).count();
        if answer.ok() {
            written += 1;
            assert_eq!(held, values.len(), "an acknowledged share is missing after the restart: {values:?}");
        } else {
            refused += 1;
            assert!(answer.unavailable(), "a refused share: {answer:?}");
            assert!(held == 0 || held == values.len(), "half of a refused share is stored: {values:?}");
        }
    }
    assert!(refused > 0 && written > 0, "the writer saw the outage ({refused} refused, {written} written)");
    let missing: Vec<&String> = acknowledged.iter().filter(|v| !stored.contains(*v)).collect();
    assert!(missing.is_empty(), "acknowledged but missing: {missing:?}");
    assert!((0..refused_writes).all(|i| !stored.contains(&format!("down-{i}.example"))), "a refused share was stored");

    // Every long-lived reader reconnected: a replica's write reaches this hub's lookup
    // index through its refresh, and the lookup answers.
    let data_dir = hub.data_dir.0.clone();
    let replica = TestHub::start_on(&url, move |c| c.data_dir = data_dir);
    let value = "replica-after-restart.example".to_string();
    assert!(Client::new(&replica.base).share(&token, std::slice::from_ref(&value)).ok());
    let seen = eventually(Duration::from_secs(5), || {
        let a = client.post(&token, LOOKUP, json!({"v": [value]}));
        a.ok() && a.body["data"]["lookup"][0]["matches"].as_array().is_some_and(|m| m.len() == 1)
    });
    assert!(seen.is_some(), "the index reader never caught up after the restart");

    eprintln!(
        "postgres: slowest request while down or restarting {:?} ({}); /readyz 503 {readyz_down:?} after the stop; \
         serving again {recovered:?} after the start; writer: {written} shares acknowledged (all stored), \
         {refused} refused with UNAVAILABLE, over {back:?} after the start",
        worst.0, worst.1
    );
}
