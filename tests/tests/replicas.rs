//! Scale-out: several hub replicas on one PostgreSQL, Redis between them, a real HAProxy
//! in front, and live subscribers (GraphQL over WebSocket, Server-Sent Events).
//! Replicas share one identity (keys sealed in the database under one key-encryption
//! key file); a write through any replica reaches every subscriber on every replica,
//! in order, each version once, only what its label allows; Redis killed and restarted
//! or PostgreSQL restarted mid-stream loses and doubles nothing. Each test owns the
//! servers it kills (`renkei_e2e::services`).

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use renkei_e2e::haproxy::Haproxy;
use renkei_e2e::live::{Received, Subscriber};
use renkei_e2e::services::{PgCluster, RedisServer};
use renkei_e2e::{PgDatabase, TempDir, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

const SHARE_INDICATOR: &str = "mutation($v: String!, $tlp: Tlp!) { shareIndicators(input: [{type: IPV4, value: $v}], sharing: {tlp: $tlp}) { id } }";
const SHARE_RED: &str = "mutation($v: String!, $to: [ID!]!) { shareIndicators(input: [{type: IPV4, value: $v}], sharing: {tlp: RED, recipients: $to}) { id } }";
const LOOKUP: &str = "query($v: [String!]!) { lookup(values: $v) { input matches { id } } }";
/// How long a subscriber waits for a push before the test calls it missing.
const PATIENCE: Duration = Duration::from_secs(10);

/// A replica of the hub on `url`, with Redis at `redis` and the shared key-encryption
/// key file `kek`.
fn replica(url: &str, redis: &str, kek: &Path) -> TestHub {
    let (redis, kek) = (redis.to_string(), kek.to_path_buf());
    TestHub::start_on(url, move |c| {
        c.redis_url = Some(redis);
        c.key_encryption_key_file = Some(kek);
        // The safety-net poll is long: what arrives quickly came by notice.
        c.index_refresh_ms = 60_000;
    })
}

fn share(hub: &TestHub, token: &str, value: &str, tlp: &str) -> String {
    let data = hub.gql(token, SHARE_INDICATOR, json!({"v": value, "tlp": tlp}));
    data["shareIndicators"][0]["id"].as_str().expect("shared").to_string()
}

/// Every (id, seq) a subscriber was pushed, in order.
fn pairs(items: &[Value]) -> Vec<(String, String)> {
    items.iter().map(|i| (i["id"].as_str().unwrap_or("").into(), i["seq"].as_str().unwrap_or("").into())).collect()
}

/// Reads pushes until `want` ids have arrived (or `PATIENCE` passes without a push).
fn collect_until(sub: &Subscriber, want: usize) -> Vec<Value> {
    let mut items: Vec<Value> = Vec::new();
    while items.len() < want {
        match sub.next(PATIENCE) {
            Some(Received::Push(push)) => items.extend(push["items"].as_array().cloned().unwrap_or_default()),
            Some(Received::Ended(why)) => panic!("the stream ended: {why}"),
            None => break,
        }
    }
    items
}

fn kek_file(dir: &TempDir) -> PathBuf {
    dir.0.join("key-encryption.key")
}

/// Two replicas on `url` with Redis at `redis`, sharing a key-encryption key file (kept
/// in the returned folder).
fn two_replicas(url: &str, redis: &str) -> (TempDir, TestHub, TestHub) {
    let keys = TempDir::new("renkei-kek");
    let one = replica(url, redis, &kek_file(&keys));
    let two = replica(url, redis, &kek_file(&keys));
    (keys, one, two)
}

#[test]
fn two_replicas_behind_haproxy_push_in_order_once_and_only_what_labels_allow() {
    let Some(redis) = RedisServer::start() else {
        eprintln!("skipped: redis-server is not installed");
        return;
    };
    let db = PgDatabase::create();
    let (_keys, one, two) = two_replicas(&db.url, &redis.url());
    assert_eq!(one.hub.hub_id, two.hub.hub_id, "one hub");
    assert_eq!(one.hub.keys.signing.public_key(), two.hub.keys.signing.public_key(), "one signing key");

    let publisher = one.add_org("Kanto Electric", false);
    let reader = one.add_org("Chubu Gas", false);
    let other = one.add_org("Tohoku Water", false);
    let publish = one.token(&publisher, Role::Analyst);
    // Issued through replica 1, used on replica 2.
    let read = one.token(&reader, Role::Analyst);
    assert_eq!(two.gql(&read, "{ me { role } }", json!({}))["me"]["role"], "ANALYST");

    // Subscribers on replica 2: over WebSocket and over Server-Sent Events.
    let ws = Subscriber::websocket(&two.base, &read, None);
    let sse = Subscriber::events(&two.base, &read, None);
    std::thread::sleep(Duration::from_millis(200));

    // Published through replica 1: what the reader may see, and what it may not.
    let mut visible = Vec::new();
    for i in 0..20 {
        visible.push(share(&one, &publish, &format!("198.51.100.{i}"), "GREEN"));
        if i % 5 == 0 {
            let hidden = one.gql(&publish, SHARE_RED, json!({"v": format!("203.0.113.{i}"), "to": [other.clone()]}));
            assert!(hidden["shareIndicators"][0]["id"].is_string());
        }
    }
    for (name, sub) in [("websocket", &ws), ("events", &sse)] {
        let items = collect_until(sub, visible.len());
        let ids: Vec<String> = pairs(&items).into_iter().map(|(id, _)| id).collect();
        assert_eq!(ids, visible, "{name}: every visible version, in order, once, and nothing else");
        let seqs: Vec<i64> = items.iter().map(|i| i["seq"].as_str().unwrap_or("0").parse().unwrap_or(0)).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{name}: sequence order");
        // The labels the reader may not read never reached it.
        assert!(items.iter().all(|i| i["tlp"] == "GREEN"), "{name}: {items:?}");
        // Nothing more comes.
        assert!(sub.drain(Duration::from_millis(500)).0.is_empty(), "{name}: nothing doubled");
    }
    // What was pushed is what the change feed says afterwards.
    let (feed, _) = two.follow_changes(&read, None, 1000);
    let feed_ids: Vec<String> = feed.iter().map(|i| i["id"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(feed_ids, visible);

    // The lookup index of replica 2 follows writes through replica 1 by notice (its own
    // poll is a minute).
    let value = "192.0.2.77";
    share(&one, &publish, value, "GREEN");
    let shared_at = Instant::now();
    let found = loop {
        let data = two.gql(&read, LOOKUP, json!({"v": [value]}));
        if data["lookup"][0]["matches"].as_array().is_some_and(|m| !m.is_empty()) {
            break shared_at.elapsed();
        }
        assert!(shared_at.elapsed() < Duration::from_secs(1), "replica 2 did not find the value within a second");
        std::thread::sleep(Duration::from_millis(10));
    };
    eprintln!("lookup on replica 2 found a value shared through replica 1 after {found:?}");

    // Through a real HAProxy: requests reach both replicas, and the WebSocket upgrade
    // passes.
    let backends: Vec<String> = [&one, &two].iter().map(|h| h.base.trim_start_matches("http://").to_string()).collect();
    let Some(balancer) = Haproxy::start(&backends) else {
        eprintln!("skipped the HAProxy part: haproxy is not installed");
        return;
    };
    balancer.wait_until_up(2);
    let via = Subscriber::websocket(&balancer.base(), &read, None);
    let (caught_up, _, ended) = via.drain(Duration::from_millis(500));
    assert!(ended.is_none());
    assert_eq!(caught_up.len(), visible.len() + 1, "a subscriber through the balancer catches up");
    let through = share(&one, &publish, "192.0.2.78", "GREEN");
    let pushed = collect_until(&via, 1);
    assert_eq!(pairs(&pushed)[0].0, through);
    let client = reqwest::blocking::Client::new();
    // A retried write with the same Idempotency-Key gets the first answer on the other
    // replica, and is stored once; the key with another request is refused.
    let once = json!({"query": SHARE_INDICATOR, "variables": {"v": "192.0.2.99", "tlp": "GREEN"}});
    let send = |hub: &TestHub, body: &Value| {
        let r = client
            .post(format!("{}/graphql", hub.base))
            .bearer_auth(&publish)
            .header("idempotency-key", "retry-7f3a")
            .json(body)
            .send()
            .expect("answer");
        let replayed = r.headers().get("idempotent-replayed").is_some();
        (r.status().as_u16(), replayed, r.json::<Value>().expect("json"))
    };
    let (status, replayed, first) = send(&one, &once);
    assert_eq!((status, replayed), (200, false), "{first}");
    let (status, replayed, again) = send(&two, &once);
    assert_eq!((status, replayed), (200, true), "{again}");
    assert_eq!(first, again);
    let (feed, _) = two.follow_changes(&read, None, 1000);
    assert_eq!(feed.iter().filter(|i| i["object"].to_string().contains("192.0.2.99")).count(), 1, "stored once");
    let other = json!({"query": SHARE_INDICATOR, "variables": {"v": "192.0.2.100", "tlp": "GREEN"}});
    let (status, _, refused) = send(&two, &other);
    assert_eq!(status, 409, "{refused}");
    assert_eq!(refused["errors"][0]["extensions"]["code"], "IDEMPOTENCY_CONFLICT");
    for _ in 0..4 {
        let answer = client
            .post(format!("{}/graphql", balancer.base()))
            .bearer_auth(&read)
            .json(&json!({"query": "{ me { role } }"}))
            .send()
            .expect("through the balancer");
        assert_eq!(answer.status().as_u16(), 200);
    }
}

/// Pushes `count` GREEN indicators through the replicas in turn, returning their ids.
fn publish_through(replicas: &[&TestHub], token: &str, prefix: &str, count: usize) -> Vec<String> {
    (0..count).map(|i| share(replicas[i % replicas.len()], token, &format!("{prefix}.{i}"), "GREEN")).collect()
}

#[test]
fn redis_killed_and_restarted_mid_stream_loses_and_doubles_nothing() {
    let Some(mut redis) = RedisServer::start() else {
        eprintln!("skipped: redis-server is not installed");
        return;
    };
    let db = PgDatabase::create();
    let (_keys, one, two) = two_replicas(&db.url, &redis.url());
    let publisher = one.add_org("Kanto Electric", false);
    let reader = one.add_org("Chubu Gas", false);
    let publish = one.token(&publisher, Role::Analyst);
    let read = one.token(&reader, Role::Analyst);
    let subscribers = [
        Subscriber::websocket(&one.base, &read, None),
        Subscriber::websocket(&two.base, &read, None),
        Subscriber::events(&two.base, &read, None),
    ];
    std::thread::sleep(Duration::from_millis(200));

    let mut published = publish_through(&[&one, &two], &publish, "198.51.100", 10);
    redis.kill();
    // Degraded, not failing: writes go on, readiness says so.
    let degraded = Instant::now();
    loop {
        let (_, body) = two.get("/readyz");
        if body.contains("\"degraded\"") {
            break;
        }
        assert!(degraded.elapsed() < Duration::from_secs(10), "/readyz never said degraded: {body}");
        std::thread::sleep(Duration::from_millis(50));
    }
    published.extend(publish_through(&[&one, &two], &publish, "198.51.101", 10));
    redis.start_again();
    published.extend(publish_through(&[&one, &two], &publish, "198.51.102", 10));

    let (feed, _) = two.follow_changes(&read, None, 1000);
    let feed_pairs = pairs(&feed);
    assert_eq!(feed_pairs.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(), published);
    for (i, sub) in subscribers.iter().enumerate() {
        let items = collect_until(sub, published.len());
        assert_eq!(pairs(&items), feed_pairs, "subscriber {i}: the stream equals the change feed");
        assert!(sub.drain(Duration::from_millis(500)).0.is_empty(), "subscriber {i}: nothing doubled");
    }
}

#[test]
fn postgres_restarted_mid_stream_resumes_with_nothing_half_stored() {
    let Some(pg) = PgCluster::start() else {
        eprintln!("skipped: no PostgreSQL binaries to run a cluster of the test's own");
        return;
    };
    let Some(redis) = RedisServer::start() else {
        eprintln!("skipped: redis-server is not installed");
        return;
    };
    let url = pg.url("postgres");
    let (_keys, one, two) = two_replicas(&url, &redis.url());
    let publisher = one.add_org("Kanto Electric", false);
    let reader = one.add_org("Chubu Gas", false);
    let publish = one.token(&publisher, Role::Analyst);
    let read = one.token(&reader, Role::Analyst);
    let sub = Subscriber::websocket(&two.base, &read, None);
    std::thread::sleep(Duration::from_millis(200));

    let mut acknowledged = publish_through(&[&one, &two], &publish, "198.51.100", 5);
    pg.stop();
    // A write while the database is away gets the retryable UNAVAILABLE, at once.
    let asked = Instant::now();
    let (status, answer) = one.post(Some(&publish), SHARE_INDICATOR, json!({"v": "203.0.113.1", "tlp": "GREEN"}));
    assert!(asked.elapsed() < Duration::from_secs(2), "the refusal took {:?}", asked.elapsed());
    let code = answer["errors"][0]["extensions"]["code"].as_str().unwrap_or("").to_string();
    assert_eq!(code, "UNAVAILABLE", "HTTP {status}: {answer}");
    pg.start_again();
    // Writes resume on both replicas.
    let back = Instant::now();
    loop {
        let (_, answer) = one.post(Some(&publish), SHARE_INDICATOR, json!({"v": "198.51.101.0", "tlp": "GREEN"}));
        if let Some(id) = answer["data"]["shareIndicators"][0]["id"].as_str() {
            acknowledged.push(id.to_string());
            break;
        }
        assert!(back.elapsed() < Duration::from_secs(20), "writes did not resume: {answer}");
        std::thread::sleep(Duration::from_millis(100));
    }
    // Replica 2 finds the database back by itself too (its next checkout).
    for i in 0..5 {
        let replica = if i % 2 == 0 { &two } else { &one };
        let value = format!("198.51.102.{i}");
        let asked = Instant::now();
        loop {
            let (_, answer) = replica.post(Some(&publish), SHARE_INDICATOR, json!({"v": value, "tlp": "GREEN"}));
            if let Some(id) = answer["data"]["shareIndicators"][0]["id"].as_str() {
                acknowledged.push(id.to_string());
                break;
            }
            let code = answer["errors"][0]["extensions"]["code"].as_str().unwrap_or("");
            assert_eq!(code, "UNAVAILABLE", "only the retryable refusal: {answer}");
            assert!(asked.elapsed() < Duration::from_secs(20), "writes did not resume: {answer}");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    // Nothing half-stored: every object has its versions, every version its object.
    let orphans: i64 = one.db(|c| {
        use diesel::RunQueryDsl;
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let q = "SELECT count(*) AS n FROM objects o WHERE NOT EXISTS (SELECT 1 FROM object_versions v WHERE v.object_id = o.id) \
                 OR o.revision <> (SELECT max(v.revision) FROM object_versions v WHERE v.object_id = o.id)";
        match c {
            renkei_hub::store::DbConn::Pg(c) => diesel::sql_query(q).get_result::<N>(c).map(|r| r.n).expect("count"),
            renkei_hub::store::DbConn::Sqlite(_) => unreachable!("PostgreSQL"),
        }
    });
    assert_eq!(orphans, 0, "an object without its version, or the other way round");
    let (feed, _) = two.follow_changes(&read, None, 1000);
    let ids: Vec<String> = feed.iter().map(|i| i["id"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(ids, acknowledged, "everything acknowledged, and nothing else");
    let items = collect_until(&sub, acknowledged.len());
    assert_eq!(pairs(&items), pairs(&feed), "the subscriber's stream equals the change feed");
    let unique: HashSet<String> = items.iter().map(|i| i["id"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(unique.len(), items.len());
}
