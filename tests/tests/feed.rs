//! The change feed is exact: every version once, in order, from any cursor;
//! revocation reaches exactly those who held the item; signatures verify.

use renkei_e2e::{Backend, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const SHARE: &str = "mutation($input: [IndicatorInput!]!, $sharing: SharingInput!) { shareIndicators(input: $input, sharing: $sharing) { id } }";
const REVOKE: &str = "mutation($id: ID!, $reason: String!) { revoke(id: $id, reason: $reason) { id version status } }";

fn share(hub: &TestHub, token: &str, values: &[String], sharing: Value) -> Vec<String> {
    let input: Vec<Value> = values.iter().map(|v| json!({"type": "DOMAIN", "value": v})).collect();
    let data = hub.gql(token, SHARE, json!({"input": input, "sharing": sharing}));
    data["shareIndicators"]
        .as_array()
        .expect("list")
        .iter()
        .map(|i| i["id"].as_str().expect("id").to_string())
        .collect()
}

/// Applies feed items like a client does; returns what it holds at the end.
fn apply(items: &[Value]) -> BTreeMap<String, i64> {
    let mut held = BTreeMap::new();
    for item in items {
        let id = item["id"].as_str().expect("id").to_string();
        if item["deleted"].as_bool().expect("deleted") {
            held.remove(&id);
        } else {
            held.insert(id, item["version"].as_i64().expect("version"));
        }
    }
    held
}

fn feed_is_exact(backend: Backend) {
    let hub = TestHub::start(backend);
    let m1 = hub.add_org("Member One", false);
    let m2 = hub.add_org("Member Two", false);
    let m3 = hub.add_org("Member Three", false);
    let coord = hub.add_org("Secretariat", true);
    let t1 = hub.token(&m1, Role::Analyst);
    let t2 = hub.token(&m2, Role::Analyst);
    let t3 = hub.token(&m3, Role::Analyst);
    let tc = hub.token(&coord, Role::Coordinator);

    let names = |p: &str, n: usize| (0..n).map(|i| format!("{p}{i}.example.net")).collect::<Vec<_>>();
    let green = share(&hub, &t1, &names("g", 12), json!({"tlp": "GREEN"}));
    let red = share(&hub, &t1, &names("r", 4), json!({"tlp": "RED", "recipients": [m2]}));
    let amber = share(&hub, &t2, &names("a", 7), json!({"tlp": "AMBER"}));

    // Revocation: a GREEN item (everyone held it) and a RED one (only M1, M2 held it).
    let revoked = hub.gql(&t1, REVOKE, json!({"id": green[3], "reason": "false positive"}));
    assert_eq!(revoked["revoke"]["version"], 2);
    assert_eq!(revoked["revoke"]["status"], "REVOKED");
    hub.gql(&tc, REVOKE, json!({"id": red[0], "reason": "sanitised by the secretariat"}));

    // Faults: another member may not revoke; an item one may not see does not exist;
    // twice is refused; a reason is required.
    assert_eq!(hub.gql_error(&t3, REVOKE, json!({"id": green[0], "reason": "x"})).0, "FORBIDDEN");
    assert_eq!(hub.gql_error(&t3, REVOKE, json!({"id": red[1], "reason": "x"})).0, "NOT_FOUND");
    assert_eq!(hub.gql_error(&t1, REVOKE, json!({"id": green[3], "reason": "again"})).0, "ALREADY_REVOKED");
    assert_eq!(hub.gql_error(&t1, REVOKE, json!({"id": green[4], "reason": "  "})).0, "REASON_REQUIRED");

    for (name, token) in [("M1", &t1), ("M2", &t2), ("M3", &t3), ("C", &tc)] {
        let (reference, _) = hub.follow_changes(token, None, 1000);
        // Every version at most once, sequence strictly increasing.
        let seqs: Vec<i64> = reference.iter().map(|i| i["seq"].as_str().expect("seq").parse().expect("int")).collect();
        assert!(seqs.windows(2).all(|w| w[0] < w[1]), "{name}: sequence order");
        let keys: BTreeSet<(String, i64)> = reference
            .iter()
            .map(|i| (i["id"].as_str().expect("id").into(), i["version"].as_i64().expect("v")))
            .collect();
        assert_eq!(keys.len(), reference.len(), "{name}: a version appeared twice");

        // The follower ends holding exactly what it may see now.
        let held: BTreeSet<String> = apply(&reference).into_keys().collect();
        let data = hub.gql(token, "{ indicators(first: 1000) { nodes { id } } }", json!({}));
        let visible: BTreeSet<String> = data["indicators"]["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .map(|n| n["id"].as_str().expect("id").into())
            .collect();
        assert_eq!(held, visible, "{name}: feed state differs from what the lists show");

        // Tombstones only for holders.
        let tombstones: BTreeSet<&str> =
            reference.iter().filter(|i| i["deleted"] == json!(true)).map(|i| i["id"].as_str().expect("id")).collect();
        let mut want: BTreeSet<&str> = [green[3].as_str()].into();
        if name == "M1" || name == "M2" {
            want.insert(red[0].as_str());
        }
        assert_eq!(tombstones, want, "{name}: tombstones");
        assert!(reference.iter().filter(|i| i["deleted"] == json!(true)).all(|i| i["object"].is_null()));

        // Resuming from every cursor yields exactly the rest, whatever the page size.
        for (k, start) in std::iter::once(0).chain(seqs.iter().copied()).enumerate() {
            let (rest, _) = hub.follow_changes(token, Some(start.to_string()), 1 + (k as i64 % 4));
            let expected: Vec<&Value> =
                reference.iter().filter(|i| i["seq"].as_str().expect("s").parse::<i64>().expect("i") > start).collect();
            assert_eq!(rest.iter().collect::<Vec<_>>(), expected, "{name}: resuming after {start}");
        }
    }
    assert_eq!(amber.len(), 7);

    // Every object in the feed verifies against the hub's published key.
    let key = hub.gql(&t2, "{ hub { publicKey } }", json!({}))["hub"]["publicKey"].as_str().expect("key").to_string();
    let (items, _) = hub.follow_changes(&t2, None, 1000);
    let mut verifier = renkei_schema::sign::Verifier::new(&key).expect("public key");
    let mut signatures = std::collections::HashSet::new();
    for item in items.iter().filter(|i| i["deleted"] == json!(false)) {
        let signature = item["signature"].as_str().expect("sig");
        assert!(signatures.insert(signature.to_string()), "two versions carry the same signature");
        verifier.verify_json(&item["object"], signature).unwrap_or_else(|e| panic!("signature of {}: {e}", item["id"]));
        let mut altered = item["object"].clone();
        altered["name"] = json!("tampered.example");
        assert!(verifier.verify_json(&altered, signature).is_err());
        // Each version verifies alone too, without the roots remembered above.
        renkei_schema::sign::verify_object(
            &key,
            renkei_schema::stix::canonical_json(&item["object"]).as_bytes(),
            signature,
        )
        .unwrap_or_else(|e| panic!("signature of {} alone: {e}", item["id"]));
    }
    // The batches shared above were signed once each, not once per object.
    assert!(verifier.verified_roots() < items.len(), "{} roots for {} items", verifier.verified_roots(), items.len());
    // The revoked version says so in STIX.
    let revoked_version = items.iter().find(|i| i["id"] == json!(green[3]));
    assert!(revoked_version.is_some_and(|v| v["deleted"] == json!(false) && v["version"] == json!(1)));

    // Bad cursors.
    assert_eq!(hub.gql_error(&t2, "{ changes(after: \"abc\") { cursor } }", json!({})).0, "INVALID_CURSOR");
    assert_eq!(hub.gql_error(&t2, "{ changes(limit: 0) { cursor } }", json!({})).0, "INVALID_INPUT");
}

#[test]
fn change_feed_is_exact_and_resumable_on_postgres() {
    feed_is_exact(Backend::Postgres);
}

#[test]
fn change_feed_is_exact_and_resumable_on_sqlite() {
    feed_is_exact(Backend::Sqlite);
}

#[test]
fn concurrent_writers_never_leave_a_gap_behind_a_cursor() {
    // Writers on several connections at once; a follower polling meanwhile must end
    // with every version exactly once (sequence order is commit order).
    let hub = TestHub::start(Backend::Postgres);
    let m1 = hub.add_org("Member One", false);
    let token = hub.token(&m1, Role::Analyst);
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let base = hub.base.clone();
            let token = token.clone();
            std::thread::spawn(move || {
                let client = reqwest::blocking::Client::new();
                for b in 0..10 {
                    let input: Vec<Value> =
                        (0..20).map(|i| json!({"type": "DOMAIN", "value": format!("w{w}b{b}i{i}.example")})).collect();
                    let resp: Value = client
                        .post(format!("{base}/graphql"))
                        .bearer_auth(&token)
                        .json(&json!({"query": SHARE, "variables": {"input": input, "sharing": {"tlp": "GREEN"}}}))
                        .send()
                        .expect("send")
                        .json()
                        .expect("json");
                    assert!(resp.get("errors").is_none(), "{resp}");
                }
            })
        })
        .collect();
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    let mut done = false;
    while !done {
        done = writers.iter().all(|w| w.is_finished());
        let (items, next) = hub.follow_changes(&token, cursor.clone(), 7);
        seen.extend(items);
        cursor = Some(next);
    }
    for w in writers {
        w.join().expect("writer");
    }
    let (rest, _) = hub.follow_changes(&token, cursor, 7);
    seen.extend(rest);
    let ids: BTreeSet<&str> = seen.iter().map(|i| i["id"].as_str().expect("id")).collect();
    assert_eq!(seen.len(), 4 * 10 * 20, "every version once");
    assert_eq!(ids.len(), 800);
}

/// The feed and lookup answers written by hand (plain selections) are byte for byte
/// what the GraphQL executor writes (the same selection through a fragment).
#[test]
fn hand_written_answers_equal_the_executors() {
    let hub = TestHub::start(Backend::Sqlite);
    let m1 = hub.add_org("Member One", false);
    let m2 = hub.add_org("Member Two", false);
    let t1 = hub.token(&m1, Role::Analyst);
    let t2 = hub.token(&m2, Role::Analyst);
    let values: Vec<String> = (0..6).map(|i| format!("render{i}.example")).collect();
    let green = share(&hub, &t1, &values, json!({"tlp": "GREEN"}));
    share(&hub, &t1, &["strict.example".into()], json!({"tlp": "AMBER_STRICT", "anonymous": true}));
    share(&hub, &t1, &["red.example".into()], json!({"tlp": "RED", "recipients": [m2]}));
    hub.gql(&t1, REVOKE, json!({"id": green[2], "reason": "false positive"}));

    let fields = "__typename seq id type version tlp deleted object signature originHub signingKey again: id";
    let plain =
        format!("query($a: String) {{ changes(after: $a, limit: 100) {{ items {{ {fields} }} cursor hasMore }} }}");
    let via_fragment = format!(
        "query($a: String) {{ changes(after: $a, limit: 100) {{ items {{ ...F }} cursor hasMore }} }} fragment F on Change {{ {fields} }}"
    );
    let direct = || -> u64 {
        hub.metrics()
            .lines()
            .find_map(|l| l.strip_prefix("renkei_lists_written_directly_total "))
            .and_then(|n| n.parse().ok())
            .expect("metric")
    };
    let before = direct();
    for token in [&t1, &t2] {
        let a = hub.post_text(token, &plain, json!({"a": null}));
        let b = hub.post_text(token, &via_fragment, json!({"a": null}));
        assert!(a.contains("\"deleted\":true") || token == &t1, "the other member gets a tombstone: {a}");
        assert_eq!(a, b, "hand-written feed differs from the executor's");
    }

    let lookup_fields = "__typename input matches { __typename id kind type value tlp version status }";
    let plain = format!("query($v: [String!]!) {{ lookup(values: $v) {{ {lookup_fields} }} }}");
    let via_fragment = format!(
        "query($v: [String!]!) {{ lookup(values: $v) {{ ...L }} }} fragment L on LookupResult {{ {lookup_fields} }}"
    );
    let asked = json!({"v": ["render0.example", "RENDER1.example", "render2.example", "red.example", "hxxp://nope", "strict.example"]});
    for token in [&t1, &t2] {
        let a = hub.post_text(token, &plain, asked.clone());
        let b = hub.post_text(token, &via_fragment, asked.clone());
        assert_eq!(a, b, "hand-written lookup differs from the executor's");
    }
    // Only the plain selections (two feed pages, two lookups) were written by hand.
    assert_eq!(direct() - before, 4);
    // Fields the index does not hold come from the database, through a fragment too.
    let full = hub.gql(
        &t2,
        "query($v: [String!]!) { lookup(values: $v) { input matches { id ...on Indicator { description createdBy { name } created } } } }",
        json!({"v": ["render0.example"]}),
    );
    let found = &full["lookup"][0]["matches"][0];
    assert_eq!(found["createdBy"]["name"], "Member One");
    assert!(found["created"].as_str().is_some_and(|c| c.starts_with("20")), "{found}");
    // What the index answers agrees with the database's answer.
    let from_index = hub.gql(
        &t2,
        "query($v: [String!]!) { lookup(values: $v) { input matches { id tlp version status } } }",
        asked.clone(),
    );
    let from_db = hub.gql(
        &t2,
        "query($v: [String!]!) { lookup(values: $v) { input matches { id tlp version status created } } }",
        asked,
    );
    let strip = |v: &Value| -> Vec<Vec<(Value, Value, Value, Value)>> {
        v["lookup"]
            .as_array()
            .expect("list")
            .iter()
            .map(|r| {
                r["matches"]
                    .as_array()
                    .expect("matches")
                    .iter()
                    .map(|m| (m["id"].clone(), m["tlp"].clone(), m["version"].clone(), m["status"].clone()))
                    .collect()
            })
            .collect()
    };
    let (i, d) = (strip(&from_index), strip(&from_db));
    assert_eq!(i, d);
    // render0 and RENDER1 (case-normalised) and RED (a recipient) found; render2 revoked;
    // strict.example is AMBER+STRICT, which members may read.
    let counts: Vec<usize> = i.iter().map(Vec::len).collect();
    assert_eq!(counts, vec![1, 1, 0, 1, 0, 1]);
}

/// A revocation is the same object with a new revision: every other STIX property of
/// the version before it (confidence, labels, validity, creation) carries over.
#[test]
fn revocation_keeps_every_other_property_of_the_object() {
    let hub = TestHub::start(Backend::Sqlite);
    let m1 = hub.add_org("Member One", false);
    let t1 = hub.token(&m1, Role::Analyst);
    let ids = share(
        &hub,
        &t1,
        &["kept.example".to_string()],
        json!({"tlp": "AMBER", "confidence": 70, "labels": ["phishing", "sector:energy"], "validUntil": "2031-01-02T03:04:05.123456789Z"}),
    );
    let (items, _) = hub.follow_changes(&t1, None, 100);
    let first = items.iter().find(|i| i["id"] == json!(ids[0])).expect("first version")["object"].clone();
    hub.gql(&t1, REVOKE, json!({"id": ids[0], "reason": "superseded"}));
    // The feed turns the revoked version into a tombstone; the object itself is still
    // readable, with includeRevoked.
    let listed =
        hub.gql(&t1, "{ indicators(filter: {includeRevoked: true}) { edges { node { version stix } } } }", json!({}));
    let node = &listed["indicators"]["edges"][0]["node"];
    assert_eq!(node["version"], json!(2));
    let (first, revoked) = (&first, &node["stix"]);
    assert_eq!(first["confidence"], json!(70));
    assert_eq!(first["labels"], json!(["phishing", "sector:energy"]));
    let keys: BTreeSet<&String> =
        first.as_object().expect("object").keys().chain(revoked.as_object().expect("object").keys()).collect();
    let changed: Vec<&String> = keys.into_iter().filter(|k| first.get(k.as_str()) != revoked.get(k.as_str())).collect();
    let allowed = ["modified", "revoked", "extensions"];
    assert!(changed.iter().all(|k| allowed.contains(&k.as_str())), "changed by revocation: {changed:?}");
    // Within renkei's extension, only the revision and the reason.
    let ext = renkei_schema::stix::EXTENSION_ID;
    let (before, after) =
        (first["extensions"][ext].as_object().expect("ext"), revoked["extensions"][ext].as_object().expect("ext"));
    let keys: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    let changed: Vec<&String> = keys.into_iter().filter(|k| before.get(k.as_str()) != after.get(k.as_str())).collect();
    assert!(
        changed.iter().all(|k| ["revision", "status_reason"].contains(&k.as_str())),
        "in the extension: {changed:?}"
    );
    assert_eq!(revoked["revoked"], json!(true));
    assert_eq!(after["status_reason"], json!("superseded"), "the revocation says why");
}
