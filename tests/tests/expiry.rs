//! Indicator lifetimes and scores: a default validUntil per type, a score that false
//! positives lower, and `active` lists that leave out expired and low-scoring ones
//! while those stay queryable.

use renkei_e2e::{Backend, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

const SHARE: &str = "mutation($input: [IndicatorInput!]!, $sharing: SharingInput!) { shareIndicators(input: $input, sharing: $sharing) { id validUntil } }";

fn share(hub: &TestHub, token: &str, kind: &str, value: &str, sharing: Value) -> (String, Option<String>) {
    let data = hub.gql(token, SHARE, json!({"input": [{"type": kind, "value": value}], "sharing": sharing}));
    let item = &data["shareIndicators"][0];
    (item["id"].as_str().expect("id").to_string(), item["validUntil"].as_str().map(str::to_string))
}

fn days_from_now(stamp: &str) -> i64 {
    let t = chrono::DateTime::parse_from_rfc3339(stamp).expect("time").with_timezone(&chrono::Utc);
    (t - chrono::Utc::now()).num_hours().div_euclid(24) + 1
}

fn active_ids(hub: &TestHub, token: &str, filter: Value) -> Vec<String> {
    let data = hub.gql(
        token,
        "query($f: IndicatorFilter) { indicators(first: 100, filter: $f) { nodes { id } } }",
        json!({"f": filter}),
    );
    data["indicators"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_str().expect("id").to_string())
        .collect()
}

fn score(hub: &TestHub, token: &str, id: &str) -> i64 {
    let data = hub.gql(token, "query($id: ID!) { node(id: $id) { ... on Indicator { score } } }", json!({"id": id}));
    data["node"]["score"].as_i64().expect("score")
}

fn lifetimes_and_scores(backend: Backend) {
    let hub = TestHub::start(backend);
    let m1 = hub.add_org("Member One", false);
    let m2 = hub.add_org("Member Two", false);
    let (t1, t2) = (hub.token(&m1, Role::Analyst), hub.token(&m2, Role::Analyst));

    // Default lifetimes per type (config defaults: IPv4 30 days, SHA-256 365 days).
    let (ip, ip_until) = share(&hub, &t1, "IPV4", "45.33.12.7", json!({"tlp": "GREEN", "confidence": 80}));
    assert_eq!(days_from_now(&ip_until.expect("default validUntil")), 30);
    let hash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    let (_, hash_until) = share(&hub, &t1, "SHA256", hash, json!({"tlp": "GREEN"}));
    assert_eq!(days_from_now(&hash_until.expect("default validUntil")), 365);
    let (_, given) =
        share(&hub, &t1, "DOMAIN", "kept.example", json!({"tlp": "GREEN", "validUntil": "2031-01-01T00:00:00Z"}));
    assert_eq!(given.as_deref(), Some("2031-01-01T00:00:00.000Z"));

    // Score: the confidence when fresh; halved by one organisation's false positive.
    assert_eq!(score(&hub, &t2, &ip), 80);
    hub.gql(
        &t2,
        "mutation($id: ID!) { reportSighting(indicator: $id, kind: FALSE_POSITIVE) { id } }",
        json!({"id": ip}),
    );
    assert_eq!(score(&hub, &t2, &ip), 40);
    assert!(active_ids(&hub, &t2, json!({"active": true})).contains(&ip), "40 is above the default floor of 20");
    assert!(!active_ids(&hub, &t2, json!({"active": true, "minScore": 50})).contains(&ip));
    assert!(active_ids(&hub, &t2, json!({"minScore": 40})).contains(&ip));
    assert_eq!(
        hub.gql_error(&t2, "{ indicators(filter: {minScore: 101}) { nodes { id } } }", json!({})).0,
        "INVALID_INPUT"
    );

    // Expiry: gone from active lists, still readable, score 0.
    let soon = (chrono::Utc::now() + chrono::Duration::milliseconds(1500)).to_rfc3339();
    let (short, _) = share(&hub, &t1, "DOMAIN", "short-lived.example", json!({"tlp": "GREEN", "validUntil": soon}));
    assert!(active_ids(&hub, &t2, json!({"active": true})).contains(&short));
    std::thread::sleep(std::time::Duration::from_millis(1800));
    assert!(!active_ids(&hub, &t2, json!({"active": true})).contains(&short), "expired");
    assert!(active_ids(&hub, &t2, json!({})).contains(&short), "expired indicators stay queryable");
    assert_eq!(score(&hub, &t2, &short), 0);

    // The export for firewalls and SIEMs holds exactly the live indicators, by the same
    // rules, and only what the caller may read.
    let m3 = hub.add_org("Member Three", false);
    let t3 = hub.token(&m3, Role::Analyst);
    share(&hub, &t3, "DOMAIN", "red-for-m1.example", json!({"tlp": "RED", "recipients": [m1]}));
    let (status, text) = hub.get_as(&t2, "/export/indicators");
    assert_eq!(status, 200, "{text}");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines, vec!["45.33.12.7", hash, "kept.example"], "live and visible only");
    let (_, strict) = hub.get_as(&t2, "/export/indicators?minScore=50");
    assert!(!strict.lines().any(|l| l == "45.33.12.7"), "score 40 is below 50: {strict}");
    let (_, for_m1) = hub.get_as(&t1, "/export/indicators?type=DOMAIN");
    assert_eq!(for_m1.lines().collect::<Vec<_>>(), vec!["kept.example", "red-for-m1.example"]);
    let (status, csv) = hub.get_as(&t2, "/export/indicators?format=csv&type=IPV4");
    assert_eq!(status, 200);
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "value,type,tlp,score,valid_until,id");
    assert!(rows[1].starts_with("45.33.12.7,ipv4,TLP:GREEN,40,") && rows[1].ends_with(&ip), "{csv}");
    assert_eq!(rows.len(), 2);
    assert_eq!(hub.get("/export/indicators").0, 401);
    assert_eq!(hub.get_as(&t2, "/export/indicators?format=xml").0, 400);
    assert_eq!(hub.get_as(&t2, "/export/indicators?type=PHONE").0, 400);
}

#[test]
fn lifetimes_and_scores_on_postgres() {
    lifetimes_and_scores(Backend::Postgres);
}

#[test]
fn lifetimes_and_scores_on_sqlite() {
    lifetimes_and_scores(Backend::Sqlite);
}

/// A lifetime of 0 days means no default end.
#[test]
fn a_zero_lifetime_means_no_default_end() {
    let hub = TestHub::start_with(Backend::Sqlite, |c| c.indicators.valid_days.ipv4 = 0);
    let m1 = hub.add_org("Member One", false);
    let t1 = hub.token(&m1, Role::Analyst);
    let (_, until) = share(&hub, &t1, "IPV4", "45.33.12.8", json!({"tlp": "GREEN"}));
    assert_eq!(until, None);
}
