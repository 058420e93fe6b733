//! The in-memory indicator index behind `lookup` is a cache of the database: a hub's
//! own writes show at once, another replica's within its refresh interval, and a hub
//! started later loads what is stored.

use std::time::{Duration, Instant};

use renkei_e2e::{Backend, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

const SHARE: &str =
    "mutation($input: [IndicatorInput!]!) { shareIndicators(input: $input, sharing: {tlp: GREEN}) { id } }";
const LOOKUP: &str = "query($v: [String!]!) { lookup(values: $v) { input matches { id version } } }";

fn found(hub: &TestHub, token: &str, value: &str) -> Vec<String> {
    let data = hub.gql(token, LOOKUP, json!({"v": [value]}));
    data["lookup"][0]["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .map(|m| m["id"].as_str().expect("id").to_string())
        .collect()
}

/// Polls until `check` holds, for at most `within`; returns how long it took.
fn eventually(within: Duration, mut check: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if check() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn replica_of(first: &TestHub, refresh_ms: u64) -> TestHub {
    let url = first.hub.config.database_url.clone();
    let dir = first.data_dir.0.clone();
    // Backend::Sqlite only stops the helper making a database of its own: the URL is
    // the first hub's, and so are the key files (tokens verify on both).
    TestHub::start_with(Backend::Sqlite, move |c| {
        c.database_url = url;
        c.data_dir = dir;
        c.index_refresh_ms = refresh_ms;
    })
}

#[test]
fn lookups_follow_writes_on_this_hub_at_once_and_on_replicas_within_the_refresh() {
    // The first hub refreshes rarely, so seeing its own write at once can only come
    // from applying its commit, not from a refresh.
    let a = TestHub::start_with(Backend::Postgres, |c| c.index_refresh_ms = 1500);
    let b = replica_of(&a, 100);
    let member = a.add_org("Member One", false);
    let token = a.token(&member, Role::Analyst);
    let value = "replica-one.example";

    let data = a.gql(
        &token,
        SHARE,
        json!({"input": [{"type": "DOMAIN", "value": value}, {"type": "IPV4", "value": "192.0.2.77"}]}),
    );
    let id = data["shareIndicators"][0]["id"].as_str().expect("id").to_string();
    assert_eq!(found(&a, &token, value), vec![id.clone()], "the writing hub sees its own write at once");
    let took = eventually(Duration::from_secs(3), || found(&b, &token, value) == vec![id.clone()]);
    assert!(took.is_some(), "the replica never saw the shared indicator");

    // Revoked through the replica: gone there at once, on the first hub after a refresh.
    b.gql(&token, "mutation($id: ID!) { revoke(id: $id, reason: \"false positive\") { id } }", json!({"id": id}));
    assert!(found(&b, &token, value).is_empty(), "the revoking hub forgets at once");
    assert!(eventually(Duration::from_secs(4), || found(&a, &token, value).is_empty()).is_some());

    // A hub started now loads the index from the database before it is ready.
    let c = replica_of(&a, 100);
    assert!(
        eventually(Duration::from_secs(10), || c.get("/readyz").0 == 200).is_some(),
        "the new hub never became ready"
    );
    assert!(found(&c, &token, value).is_empty(), "a revoked indicator is not loaded as live");
    let ip: Value = c.gql(&token, LOOKUP, json!({"v": ["192.0.2.77"]}));
    assert_eq!(ip["lookup"][0]["matches"].as_array().map(Vec::len), Some(1));
    assert_eq!(c.hub.index.len(), 2, "both indicators are indexed, the revoked one as revoked");
}

#[test]
fn an_other_organisations_red_indicator_stays_hidden_in_the_index() {
    let hub = TestHub::start(Backend::Sqlite);
    let m1 = hub.add_org("Member One", false);
    let m2 = hub.add_org("Member Two", false);
    let m3 = hub.add_org("Member Three", false);
    let t1 = hub.token(&m1, Role::Analyst);
    let value = "red-only.example";
    hub.gql(
        &t1,
        "mutation($r: [ID!]!) { shareIndicators(input: [{type: DOMAIN, value: \"red-only.example\"}], sharing: {tlp: RED, recipients: $r}) { id } }",
        json!({"r": [m2]}),
    );
    assert_eq!(found(&hub, &t1, value).len(), 1, "the submitter");
    assert_eq!(found(&hub, &hub.token(&m2, Role::Analyst), value).len(), 1, "the named recipient");
    assert!(found(&hub, &hub.token(&m3, Role::Analyst), value).is_empty(), "anyone else");
}
