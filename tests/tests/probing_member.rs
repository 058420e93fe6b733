//! What a member who probes the hub tried, replayed (issue 16). Each test is one
//! attack, made as that member would make it (its token, its requests) against a real
//! hub on PostgreSQL, and each failed on the code before the fix:
//!
//! 1. `/metrics` as an existence oracle for hidden values;
//! 2. an anonymous supplier assessment linked to its submitter through the rating;
//! 3. moderation bypassed by sharing TLP:RED to oneself and relabelling it CLEAR
//!    (or correcting an approved item);
//! 4. the audit log naming the submitter of an anonymous RED item to a coordinator;
//! 5. one request holding unbounded memory or time (aliases, introspection without a
//!    token, `_entities` spread over aliases, a fragment bomb, a huge answer);
//! 6. failed logins locking out valid tokens (behind a proxy: every member);
//! 7. an audit log rewritten or cut by whoever can write the database;
//! 8. CSV exports passing spreadsheet formulas through;
//! 9. another member's hidden supplier proposal told apart from a missing one;
//! 10. the smaller ones: database files readable by others, the data folder not
//!     ignored by git. (GraphiQL's pinned assets and CSP are `graphiql.rs`, the CLI's
//!     duration panics `hub/tests/cli.rs`, and the hub surviving Redis and PostgreSQL
//!     restarts `dependencies.rs`: they need their own processes.)

use std::time::{Duration, Instant};

use renkei_e2e::{handbook_assessment, Backend, TestHub};
use renkei_hub::auth::Role;
use renkei_hub::services::moderation::Trust;
use serde_json::{json, Value};

const SHARE: &str =
    "mutation($v: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $v, sharing: $s) { id value } }";

fn share(hub: &TestHub, token: &str, kind: &str, value: &str, sharing: Value) -> String {
    let data = hub.gql(token, SHARE, json!({"v": [{"type": kind, "value": value}], "s": sharing}));
    data["shareIndicators"][0]["id"].as_str().expect("id").to_string()
}

fn node(hub: &TestHub, token: &str, id: &str) -> Value {
    hub.gql(
        token,
        "query($id: ID!) { node(id: $id) { ... on Indicator { id tlp value description } } }",
        json!({"id": id}),
    )["node"]
        .clone()
}

fn feed_ids(hub: &TestHub, token: &str) -> Vec<String> {
    hub.follow_changes(token, None, 1000).0.iter().filter_map(|i| i["id"].as_str().map(String::from)).collect()
}

// ---------------------------------------------------------------------------
// 1. /metrics

/// The lookup index's size grew by a fixed amount when a value already held anywhere in
/// the hub was shared again, and by its length when it was new: a member sharing a
/// guessed value and reading `/metrics` before and after learnt whether a RED item it
/// may not read holds it. Metrics now live on the operator's own listener.
#[test]
fn a_member_cannot_read_metrics_to_test_whether_a_hidden_value_is_held() {
    let hub = TestHub::start(Backend::Postgres);
    let (a, b) = (hub.add_org("Holder", false), hub.add_org("Prober", false));
    let (ta, tb) = (hub.token(&a, Role::Analyst), hub.token(&b, Role::Analyst));
    share(&hub, &ta, "DOMAIN", "c2.hidden.example", json!({"tlp": "RED", "recipients": [a]}));
    // The attack: read the gauge, share the guess, read it again.
    let before = (hub.get_as(&tb, "/metrics"), hub.get("/metrics"));
    share(&hub, &tb, "DOMAIN", "c2.hidden.example", json!({"tlp": "GREEN"}));
    let after = hub.get_as(&tb, "/metrics");
    for (status, body) in [before.0, before.1, after] {
        assert_eq!(status, 404, "metrics must not be served on the members' port: {body:.300}");
        assert!(!body.contains("renkei_indicator_index_bytes"));
    }
    // The operator reads them on the metrics listener, which is loopback by default.
    assert!(hub.metrics().contains("renkei_indicator_index_bytes"));
    let default: std::net::SocketAddr =
        renkei_hub::config::Config::default().metrics_listen.parse().expect("an address");
    assert!(default.ip().is_loopback(), "metrics_listen defaults to loopback only");
}

// ---------------------------------------------------------------------------
// 2. Anonymous assessments

const SUBMIT: &str =
    "mutation($i: AssessmentInput!, $s: SharingInput!) { submitAssessment(input: $i, sharing: $s) { id } }";
const RATING: &str = "query($id: ID!) { supplier(id: $id) { assessments { id } rating { assessorCount inputs criteria { contested points } } } }";

fn add_supplier(hub: &TestHub, coordinator: &str, name: &str) -> String {
    let add = "mutation($i: SupplierInput!) { addSupplier(input: $i) { id } }";
    hub.gql(coordinator, add, json!({"i": {"legalName": name, "nameJa": name, "country": "JP"}}))["addSupplier"]["id"]
        .as_str()
        .expect("id")
        .to_string()
}

fn submit(hub: &TestHub, token: &str, supplier: &str, answer: u8, sharing: Value) -> String {
    let input = handbook_assessment(supplier, &[], "QUESTIONNAIRE_REVIEWED", answer);
    hub.gql(token, SUBMIT, json!({"i": input, "s": sharing}))["submitAssessment"]["id"]
        .as_str()
        .expect("id")
        .to_string()
}

/// With A's named assessment, B's named one and A's anonymous one, a third member saw
/// three assessments but two assessors, and the rating's inputs held the anonymous one
/// in place of A's named one: so the anonymous one was A's.
#[test]
fn an_anonymous_assessment_cannot_be_linked_to_its_submitter_through_the_rating() {
    let hub = TestHub::start(Backend::Postgres);
    let coord = hub.add_org("ISAC", true);
    let tc = hub.token(&coord, Role::Coordinator);
    let (a, b, c) = (hub.add_org("A", false), hub.add_org("B", false), hub.add_org("C", false));
    let (ta, tb, tcm) =
        (hub.token(&a, Role::Procurement), hub.token(&b, Role::Procurement), hub.token(&c, Role::Procurement));
    let supplier = add_supplier(&hub, &tc, "Kanto Controls");
    let a_named = submit(&hub, &ta, &supplier, 0, json!({"tlp": "GREEN"}));
    let b_named = submit(&hub, &tb, &supplier, 2, json!({"tlp": "GREEN"}));
    let a_anonymous = submit(&hub, &ta, &supplier, 4, json!({"tlp": "GREEN", "anonymous": true}));
    let seen = hub.gql(&tcm, RATING, json!({"id": supplier}))["supplier"].clone();
    assert_eq!(seen["assessments"].as_array().expect("list").len(), 3);
    let rating = &seen["rating"];
    assert_eq!(rating["assessorCount"], 3, "the anonymous assessment counts as an assessor of its own: {rating}");
    let inputs: Vec<&str> = rating["inputs"].as_array().expect("inputs").iter().filter_map(Value::as_str).collect();
    for id in [&a_named, &b_named, &a_anonymous] {
        assert!(inputs.contains(&id.as_str()), "{id} must stay an input: {inputs:?}");
    }
    // A's named worst answer still counts beside its anonymous best one: every
    // criterion is contested (0 and 1 apart) and rated at the worse value.
    for criterion in rating["criteria"].as_array().expect("criteria") {
        assert_eq!(criterion["contested"], true, "{criterion}");
        assert_eq!(criterion["points"], 0.0, "{criterion}");
    }
    // The rating-change events in C's feed say the same.
    let changes = hub.follow_changes(&tcm, None, 100).0;
    let last = changes.iter().rev().find(|i| i["type"] == "rating-change").expect("a rating event");
    assert_eq!(last["object"]["current"]["assessor_count"], 3, "{}", last["object"]);

    // A RED anonymous assessment to C, beside A's named one: two assessors for C.
    let other = add_supplier(&hub, &tc, "Tohoku Valves");
    submit(&hub, &ta, &other, 0, json!({"tlp": "GREEN"}));
    submit(&hub, &ta, &other, 4, json!({"tlp": "RED", "recipients": [c], "anonymous": true}));
    let rating = hub.gql(&tcm, RATING, json!({"id": other}))["supplier"]["rating"].clone();
    assert_eq!(rating["assessorCount"], 2, "{rating}");
}

// ---------------------------------------------------------------------------
// 3. Moderation

const RELABEL: &str =
    "mutation($id: ID!, $tlp: Tlp!, $r: [ID!]) { changeLabel(id: $id, tlp: $tlp, recipients: $r) { id tlp version } }";

/// A newly admitted organisation's submissions are reviewed, but TLP:RED is never
/// queued: it shared a value as RED to itself, then relabelled it CLEAR, and every
/// member, export and CLEAR federation link got it unreviewed.
#[test]
fn a_reviewed_member_cannot_publish_unreviewed_by_sharing_red_to_itself_and_relabelling() {
    let hub = TestHub::start(Backend::Postgres);
    let coord = hub.add_org("ISAC", true);
    let tc = hub.token(&coord, Role::Coordinator);
    let newcomer = hub.add_org_trusted("Newcomer", false, Trust::New);
    let tn = hub.token(&newcomer, Role::Analyst);
    let member = hub.add_org("Member", false);
    let tm = hub.token(&member, Role::Analyst);

    let id = share(&hub, &tn, "DOMAIN", "unreviewed.example", json!({"tlp": "RED", "recipients": [newcomer]}));
    hub.gql(&tn, RELABEL, json!({"id": id, "tlp": "CLEAR"}));
    assert!(node(&hub, &tm, &id).is_null(), "the member must not see it before a coordinator approves");
    assert!(!feed_ids(&hub, &tm).contains(&id));
    let lookup = hub.gql(&tm, "{ lookup(values: [\"unreviewed.example\"]) { matches { id } } }", json!({}));
    assert_eq!(lookup["lookup"][0]["matches"], json!([]));
    let (_, export) = hub.get_as(&tm, "/export/indicators");
    assert!(!export.contains("unreviewed.example"));

    // The change waits for a coordinator, who sees what it would publish.
    let changes =
        "{ pendingChanges { changes { id itemId change queuedBecause proposed { ... on Indicator { tlp value } } } } }";
    let queue = hub.gql(&tc, changes, json!({}))["pendingChanges"]["changes"].clone();
    assert_eq!(queue.as_array().expect("list").len(), 1, "{queue}");
    assert_eq!(queue[0]["itemId"], id.as_str());
    assert_eq!(queue[0]["proposed"], json!({"tlp": "CLEAR", "value": "unreviewed.example"}));
    assert!(queue[0]["queuedBecause"].as_str().is_some_and(|w| w.contains("trust new")), "{queue}");
    // The newcomer sees its own change; another member sees none.
    assert_eq!(hub.gql(&tn, changes, json!({}))["pendingChanges"]["changes"].as_array().expect("own").len(), 1);
    assert_eq!(hub.gql(&tm, changes, json!({}))["pendingChanges"]["changes"], json!([]));
    let change = queue[0]["id"].as_str().expect("change id");
    hub.gql(&tc, "mutation($id: ID!) { approveChange(id: $id) { state } }", json!({"id": change}));
    assert_eq!(node(&hub, &tm, &id)["tlp"], "CLEAR", "published once approved");

    // A correction of an approved item is reviewed too: rewriting it must not reach
    // everyone unreviewed.
    let approved = share(&hub, &tn, "DOMAIN", "benign.example", json!({"tlp": "GREEN"}));
    let queued =
        hub.gql(&tc, "{ moderationQueue { entries { item { ... on Indicator { id version } } } } }", json!({}));
    assert_eq!(queued["moderationQueue"]["entries"][0]["item"]["id"], approved.as_str());
    // Corrected while the coordinator reviews version 1: approving "version 1" is refused.
    let fix =
        "mutation($id: ID!) { correct(id: $id, correction: {description: \"changed after review\"}) { __typename } }";
    hub.gql(&tn, fix, json!({"id": approved}));
    let approve = "mutation($id: ID!, $v: Int) { approve(id: $id, version: $v) { __typename } }";
    let (code, _) = hub.gql_error(&tc, approve, json!({"id": approved, "v": 1}));
    assert_eq!(code, "VERSION_CHANGED");
    hub.gql(&tc, approve, json!({"id": approved, "v": 2}));
    let correct = "mutation($id: ID!) { correct(id: $id, correction: {description: \"now download the fix from evil.example\"}) { __typename } }";
    hub.gql(&tn, correct, json!({"id": approved}));
    assert_eq!(node(&hub, &tm, &approved)["description"], "changed after review", "the correction waits");
    let queue = hub.gql(&tc, changes, json!({}))["pendingChanges"]["changes"].clone();
    let change = queue[0]["id"].as_str().expect("change id");
    hub.gql(&tc, "mutation($id: ID!) { rejectChange(id: $id, reason: \"phishing\") { state } }", json!({"id": change}));
    assert_eq!(node(&hub, &tm, &approved)["description"], "changed after review", "rejected: the item stays");

    // Adding a RED recipient takes the route of a new RED submission: never queued
    // (its recipients only; coordinators not named may not read it to review it).
    let red = share(&hub, &tn, "DOMAIN", "for-two.example", json!({"tlp": "RED", "recipients": [newcomer]}));
    hub.gql(&tn, RELABEL, json!({"id": red, "tlp": "RED", "r": [newcomer, member]}));
    assert_eq!(node(&hub, &tm, &red)["tlp"], "RED");
}

// ---------------------------------------------------------------------------
// 4. The audit log

/// An anonymous TLP:RED item a coordinator is not named on shows no submitter in
/// `restrictedItems`, but the coordinator's `auditLog` named the organisation that
/// shared it (and revoked it).
#[test]
fn the_audit_log_does_not_name_the_anonymous_submitter_of_a_red_item_to_a_coordinator() {
    let hub = TestHub::start(Backend::Postgres);
    let coord = hub.add_org("ISAC", true);
    let tc = hub.token(&coord, Role::Coordinator);
    let (a, b) = (hub.add_org("Sender", false), hub.add_org("Recipient", false));
    // A named token: its name would identify the sender as surely as the organisation.
    let ta = hub
        .db(|c| {
            renkei_hub::services::directory::issue_token(
                c,
                &hub.hub.keys,
                &a,
                Role::Analyst,
                None,
                &[],
                Some("Sender SOC"),
            )
        })
        .expect("token")
        .1;
    let id = share(&hub, &ta, "IPV4", "192.0.2.55", json!({"tlp": "RED", "recipients": [b], "anonymous": true}));
    hub.gql(&ta, "mutation($id: ID!) { revoke(id: $id, reason: \"done\") { id } }", json!({"id": id}));
    let restricted = hub.gql(&tc, "{ restrictedItems { items { id submitter } } }", json!({}));
    assert_eq!(restricted["restrictedItems"]["items"][0]["submitter"], Value::Null);
    let log = hub.gql(
        &tc,
        "{ auditLog(limit: 50) { action target actorOrg actorWithheld actorTokenName source } }",
        json!({}),
    );
    let about: Vec<&Value> =
        log["auditLog"].as_array().expect("log").iter().filter(|e| e["target"] == id.as_str()).collect();
    assert_eq!(about.len(), 2, "share and revoke: {log}");
    for entry in about {
        assert_eq!(entry["actorOrg"], Value::Null, "{entry}");
        assert_eq!(entry["source"], Value::Null, "the address names the member too: {entry}");
        assert_eq!(entry["actorTokenName"], Value::Null, "the token's name names the member too: {entry}");
        assert_eq!(entry["actorWithheld"], true);
    }
    // A named RED item's entries name its submitter, as restrictedItems does.
    let named = share(&hub, &ta, "IPV4", "192.0.2.56", json!({"tlp": "RED", "recipients": [b]}));
    let log = hub.gql(&tc, "{ auditLog(limit: 5) { target actorOrg actorTokenName } }", json!({}));
    let entry = log["auditLog"].as_array().expect("log").iter().find(|e| e["target"] == named.as_str()).cloned();
    let entry = entry.expect("entry");
    assert_eq!((entry["actorOrg"].clone(), entry["actorTokenName"].clone()), (json!(a), json!("Sender SOC")));
    // The operator's record on the host keeps everything.
    let full = hub.db(|c| renkei_hub::services::audit::recent(c, None, 50)).expect("audit");
    assert!(full.iter().any(|r| r.target.as_deref() == Some(&id) && r.actor_org.as_deref() == Some(&a)));
}

// ---------------------------------------------------------------------------
// 5. What one request may cost

fn refused_with(hub: &TestHub, token: Option<&str>, query: &str, variables: Value) -> (u16, String, Duration) {
    let t0 = Instant::now();
    let (status, body) = hub.post(token, query, variables);
    let code = body["errors"][0]["extensions"]["code"].as_str().unwrap_or("").to_string();
    (status, code, t0.elapsed())
}

/// 150 aliases of `changes(limit: 10000)` made a 583 MB answer; 3,900 aliases of an
/// introspection query needed no token; 60,000 `_entities` representations spread over
/// aliases ran one database task each; a fragment spreading the next twice, 40 deep,
/// made async-graphql's own checks walk 2^40 fields.
#[test]
fn one_request_cannot_make_the_hub_hold_unbounded_memory_or_time() {
    let hub = TestHub::start_with(Backend::Postgres, |c| c.limits.max_answer_bytes = 64 * 1024);
    let m = hub.add_org("Member", false);
    let tm = hub.token(&m, Role::Analyst);
    let values: Vec<Value> =
        (0..300).map(|i| json!({"type": "DOMAIN", "value": format!("h{i}.bulk.example")})).collect();
    hub.gql(&tm, SHARE, json!({"v": values, "s": {"tlp": "GREEN"}}));

    let aliases = |n: usize, field: &str| {
        format!("{{ {} }}", (0..n).map(|i| format!("a{i}: {field}")).collect::<Vec<_>>().join(" "))
    };
    let (_, code, _) =
        refused_with(&hub, Some(&tm), &aliases(150, "changes(limit: 10000) { items { object } }"), json!({}));
    assert_eq!(code, "TOO_MANY_ALIASES");
    // Under the alias cap, list sizes still count across the whole document.
    let (_, code, _) =
        refused_with(&hub, Some(&tm), &aliases(30, "changes(limit: 10000) { items { object } }"), json!({}));
    assert_eq!(code, "QUERY_TOO_COSTLY");

    // Nothing runs without a token: neither introspection nor the subgraph SDL.
    for query in ["{ __schema { types { name fields { name } } } }", "{ _service { sdl } }"] {
        let (status, code, _) = refused_with(&hub, None, query, json!({}));
        assert_eq!((status, code.as_str()), (401, "UNAUTHENTICATED"), "{query}");
    }
    let introspection = aliases(3900, "__schema { types { name } }");
    let (status, code, _) = refused_with(&hub, Some(&tm), &introspection, json!({}));
    assert_eq!((status, code.as_str()), (413, "QUERY_TOO_LARGE"));
    // With a token, a document asks for the schema twice at most.
    let (_, code, _) = refused_with(&hub, Some(&tm), &aliases(3, "__schema { types { name } }"), json!({}));
    assert_eq!(code, "TOO_MUCH_INTROSPECTION");
    hub.gql(&tm, &aliases(2, "__schema { types { name } }"), json!({}));

    // `_entities`: the representations of every alias count together.
    let ids: Vec<String> =
        hub.follow_changes(&tm, None, 1000).0.iter().map(|i| i["id"].as_str().unwrap_or("").to_string()).collect();
    // 1,000 representations of 100 items (what 100 rows carry fits the answer's budget).
    let reps: Vec<Value> = (0..1000).map(|i| json!({"__typename": "Indicator", "id": ids[i % 100]})).collect();
    let one = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Indicator { id } } }";
    let data = hub.gql(&tm, one, json!({"r": reps}));
    assert_eq!(data["_entities"].as_array().expect("entities").len(), 1000);
    let spread = format!(
        "query($r: [_Any!]!) {{ {} }}",
        (0..60)
            .map(|i| format!("e{i}: _entities(representations: $r) {{ ... on Indicator {{ id }} }}"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let (_, code, _) = refused_with(&hub, Some(&tm), &spread, json!({"r": reps}));
    assert_eq!(code, "TOO_MANY_REPRESENTATIONS");

    // A fragment bomb is refused before anything walks it.
    let mut bomb = String::from("query { ...F0 }\n");
    for i in 0..40 {
        bomb.push_str(&format!("fragment F{i} on Query {{ ...F{} ...F{} }}\n", i + 1, i + 1));
    }
    bomb.push_str("fragment F40 on Query { __typename }\n");
    let (_, code, took) = refused_with(&hub, Some(&tm), &bomb, json!({}));
    assert_eq!(code, "QUERY_TOO_WIDE");
    assert!(took < Duration::from_secs(5), "refused at once, not after walking it: {took:?}");
    // Nesting beyond the parser's limit is an error, not a crash.
    let deep = format!("{}{}", "{ a ".repeat(3000), "}".repeat(3000));
    let (status, _) = hub.post(Some(&tm), &deep, json!({}));
    assert!(status == 200 || status == 400, "{status}");
    assert_eq!(hub.get("/healthz").0, 200);

    // One answer carries at most max_answer_bytes of shared content: a feed page ends
    // early and says so, and following its cursor loses and doubles nothing.
    let (status, text) = {
        let query = "{ changes(limit: 10000) { items { id object } cursor hasMore } }";
        let (s, body) = hub.post(Some(&tm), query, json!({}));
        (s, body)
    };
    assert_eq!(status, 200);
    let page = &text["data"]["changes"];
    assert_eq!(page["hasMore"], true, "the page ended at the budget");
    let carried: usize = page["items"].as_array().expect("items").iter().map(|i| i["object"].to_string().len()).sum();
    assert!(carried <= 64 * 1024, "{carried}");
    let all = hub.follow_changes(&tm, None, 10_000).0;
    let mut seen: Vec<&str> = all.iter().filter_map(|i| i["id"].as_str()).collect();
    seen.sort();
    seen.dedup();
    assert_eq!(seen.len(), 300);
    // Lists that cannot end early are refused instead.
    let (_, code, _) = refused_with(&hub, Some(&tm), "{ indicators(first: 1000) { nodes { id stix } } }", json!({}));
    assert_eq!(code, "ANSWER_TOO_LARGE");
}

/// Requests without a valid token are limited per address (the flood of introspection
/// queries made `/healthz` time out); a valid token from that address still works.
#[test]
fn requests_without_a_valid_token_are_limited_per_address() {
    let hub = TestHub::start_with(Backend::Postgres, |c| {
        c.limits.unauthenticated_per_minute = 20;
        c.limits.failed_auth_delay_ms = 1;
    });
    let m = hub.add_org("Member", false);
    let tm = hub.token(&m, Role::Analyst);
    let statuses: Vec<u16> = (0..25).map(|_| hub.post(None, "{ __typename }", json!({})).0).collect();
    assert!(statuses[..20].iter().all(|s| *s == 401), "{statuses:?}");
    assert!(statuses[20..].iter().all(|s| *s == 429), "{statuses:?}");
    assert_eq!(hub.post(Some(&tm), "{ me { role } }", json!({})).0, 200);
    assert_eq!(hub.get("/healthz").0, 200, "health checks are never limited");
}

// ---------------------------------------------------------------------------
// 6. Failed logins

fn attempt(hub: &TestHub, token: &str, forwarded_for: Option<&str>) -> u16 {
    let mut req = reqwest::blocking::Client::new()
        .post(format!("{}/graphql", hub.base))
        .bearer_auth(token)
        .json(&json!({"query": "{ me { role } }"}));
    if let Some(ip) = forwarded_for {
        req = req.header("X-Forwarded-For", ip);
    }
    req.send().expect("request").status().as_u16()
}

/// Ten bad `Authorization` headers from an address locked every token from it for
/// 900 s (behind a TLS proxy: every member), and ten wrong secrets sent with another
/// member's token id locked that member out.
#[test]
fn failed_logins_never_lock_out_a_valid_token() {
    let hub = TestHub::start_with(Backend::Postgres, |c| c.limits.failed_auth_delay_ms = 1);
    let m = hub.add_org("Member", false);
    let tm = hub.token(&m, Role::Analyst);
    for i in 0..10 {
        assert_eq!(attempt(&hub, &format!("rk_{i:024x}_guess"), None), 401);
    }
    assert_eq!(attempt(&hub, &tm, None), 200, "a valid token from a locked-out address still works");
    assert_eq!(attempt(&hub, "rk_000000000000000000000000_guess", None), 429, "failures from it are refused");
    // Without trusted proxies a forged X-Forwarded-For changes nothing: still locked.
    assert_eq!(attempt(&hub, "rk_000000000000000000000000_x", Some("203.0.113.9")), 429);

    // Behind a trusted proxy (the README's TLS proxy), each client address counts on its
    // own, and a token id's failures lock that id's failures, never the token.
    let proxied = TestHub::start_with(Backend::Postgres, |c| {
        c.limits.failed_auth_delay_ms = 1;
        c.trusted_proxies = vec!["127.0.0.1/32".into()];
    });
    let (p, n) = (proxied.add_org("Member", false), proxied.add_org("Neighbour", false));
    let (tp, tn) = (proxied.token(&p, Role::Analyst), proxied.token(&n, Role::Analyst));
    for i in 0..10 {
        assert_eq!(attempt(&proxied, &format!("rk_{i:024x}_g"), Some("203.0.113.5")), 401);
    }
    assert_eq!(attempt(&proxied, "rk_000000000000000000000000_g", Some("203.0.113.5")), 429);
    assert_eq!(attempt(&proxied, "rk_000000000000000000000000_g", Some("203.0.113.6")), 401, "another client");
    assert_eq!(attempt(&proxied, &tp, Some("203.0.113.5")), 200, "a member behind the locked address");
    // Ten wrong secrets with the neighbour's token id, each from another address.
    let id = tn.split('_').nth(1).expect("id");
    for i in 0..10 {
        assert_eq!(attempt(&proxied, &format!("rk_{id}_wrong{i}"), Some(&format!("198.51.100.{}", 10 + i))), 401);
    }
    assert_eq!(attempt(&proxied, &format!("rk_{id}_again"), Some("198.51.100.99")), 429, "that id's failures");
    assert_eq!(attempt(&proxied, &tn, Some("198.51.100.99")), 200, "the neighbour is not locked out");
}

// ---------------------------------------------------------------------------
// 7. The audit chain

/// The chain was plain SHA-256: whoever could write the database changed an entry (a
/// rejection into an approval) and chained everything after it again, or cut the tail,
/// and `audit verify` said intact.
#[test]
fn a_rewritten_or_truncated_audit_log_is_caught() {
    use renkei_hub::services::audit::{self, Checkpoint};
    use renkei_hub::store::models::AuditRow;
    let hub = TestHub::start_with(Backend::Postgres, |c| c.audit_checkpoint_seconds = 1);
    let coord = hub.add_org("ISAC", true);
    let tc = hub.token(&coord, Role::Coordinator);
    let newcomer = hub.add_org_trusted("Newcomer", false, Trust::New);
    let tn = hub.token(&newcomer, Role::Analyst);
    let m = hub.add_org("Member", false);
    let tm = hub.token(&m, Role::Analyst);
    let item = share(&hub, &tn, "DOMAIN", "rejected.example", json!({"tlp": "GREEN"}));
    hub.gql(&tc, "mutation($id: ID!) { reject(id: $id, reason: \"fake\") { __typename } }", json!({"id": item}));

    // A member's client keeps the checkpoints the hub publishes in the change feed
    // (verified with the hub's key as it syncs): signed, and naming no count of entries.
    let key = hub.gql(&tm, "{ hub { publicKey } }", json!({}))["hub"]["publicKey"].as_str().expect("key").to_string();
    let dir = renkei_e2e::TempDir::new("renkei-probe-client");
    let mut register = renkei_client::register::open(&dir.0.join("register.db")).expect("register");
    let api = renkei_client::hub_api::HubApi::new(&hub.base, tm.clone(), None).expect("api");
    renkei_client::sync::init(&mut register, &api, &hub.base, None).expect("init");
    let rejected_at = hub.db(|c| audit::recent(c, None, 1)).expect("audit")[0].at.clone();
    let deadline = Instant::now() + Duration::from_secs(20);
    let member_checkpoint = loop {
        let options = renkei_client::sync::SyncOptions { page_size: 1000, max_pages: None };
        renkei_client::sync::sync(&mut register, &api, &options, &mut |_| {}).expect("sync");
        let kept = renkei_client::register::audit_checkpoints(&mut register).expect("checkpoints");
        if let Some(newest) =
            kept.into_iter().next().filter(|c| c["at"].as_str().is_some_and(|at| at > rejected_at.as_str()))
        {
            assert!(newest.get("seq").is_none() && newest.get("hash").is_none(), "members learn no count: {newest}");
            let point: Checkpoint = serde_json::from_value(newest).expect("a checkpoint");
            assert!(point.verifies(&key));
            break point;
        }
        assert!(Instant::now() < deadline, "no checkpoint reached the member's client");
        std::thread::sleep(Duration::from_millis(300));
    };
    let (keys, hub_id) = (&hub.hub.keys, hub.hub.hub_id.clone());
    let operator = hub.db(|c| audit::checkpoint(c, keys, &hub_id, false)).expect("checkpoint").expect("entries");
    let verify = |point: Option<&Checkpoint>| hub.db(|c| audit::verify(c, keys, &hub_id, point)).expect("verify");
    assert!(verify(Some(&member_checkpoint)).is_ok());
    assert!(verify(Some(&operator)).is_ok());

    // Rewrite: the rejection becomes an approval, and every later link is made again as
    // the old chain made it.
    let rows = hub.db(|c| audit::recent(c, None, 10_000)).expect("rows");
    let rejection = rows.iter().find(|r| r.action == "moderation.reject").expect("rejection").seq;
    hub.db(|c| {
        use diesel::prelude::*;
        use renkei_hub::store::schema::audit_log::dsl as a;
        let mut rows: Vec<AuditRow> =
            a::audit_log.order(a::seq.asc()).select(AuditRow::as_select()).load(c).expect("load");
        let mut prev = rows.iter().find(|r| r.seq == rejection - 1).map(|r| r.hash.clone()).expect("prev");
        for row in rows.iter_mut().filter(|r| r.seq >= rejection) {
            if row.seq == rejection {
                row.action = "moderation.approve".into();
                row.detail = row.detail.replace("rejected", "approved");
            }
            row.prev_hash = prev.clone();
            let content = serde_json::json!([
                row.seq,
                row.at,
                row.actor_org,
                row.actor_token,
                row.action,
                row.target,
                row.detail,
                row.source,
                row.prev_hash
            ]);
            row.hash = renkei_hub::crypto::sha256_hex(renkei_schema::stix::canonical_json(&content).as_bytes());
            prev = row.hash.clone();
            diesel::update(a::audit_log.find(row.seq))
                .set((
                    a::action.eq(&row.action),
                    a::detail.eq(&row.detail),
                    a::prev_hash.eq(&row.prev_hash),
                    a::hash.eq(&row.hash),
                ))
                .execute(c)
                .expect("rewrite");
        }
    });
    let broken = verify(None).expect_err("a rewritten entry is caught");
    assert_eq!(broken.seq, rejection, "{broken:?}");

    // Truncation: a fresh log, cut before the checkpoint it extended.
    let hub = TestHub::start_with(Backend::Postgres, |c| c.audit_checkpoint_seconds = 0);
    for i in 0..5 {
        hub.add_org(&format!("Org {i}"), false);
    }
    let (keys, hub_id) = (&hub.hub.keys, hub.hub.hub_id.clone());
    let operator = hub.db(|c| audit::checkpoint(c, keys, &hub_id, false)).expect("checkpoint").expect("entries");
    let member = hub.db(|c| audit::checkpoint(c, keys, &hub_id, true)).expect("checkpoint").expect("entries");
    let verify = |point: Option<&Checkpoint>| hub.db(|c| audit::verify(c, keys, &hub_id, point)).expect("verify");
    hub.db(|c| {
        use diesel::prelude::*;
        diesel::sql_query("DELETE FROM audit_log WHERE seq > 3").execute(c).expect("cut");
    });
    assert!(verify(None).is_ok(), "a cut chain alone still verifies: hence the checkpoints");
    assert!(verify(Some(&operator)).is_err(), "the operator's checkpoint catches the cut");
    assert!(verify(Some(&member)).is_err(), "so does a member's");
    // A checkpoint that was tampered with is refused, not trusted.
    let mut forged = operator.clone();
    forged.seq = Some(2);
    assert_eq!(hub.db(|c| audit::verify(c, keys, &hub_id, Some(&forged))).expect_err("forged").code, "BAD_SIGNATURE");
}

// ---------------------------------------------------------------------------
// 8. CSV

/// Values beginning with `=`, `+`, `-` or `@` went straight into spreadsheets.
#[test]
fn csv_exports_neutralise_spreadsheet_formulas() {
    let hub = TestHub::start(Backend::Postgres);
    let m = hub.add_org("Member", false);
    let tm = hub.token(&m, Role::Analyst);
    let formulas = ["=HYPERLINK(\"evil.example\",\"open\")", "+1+cmd|' -C calc'!A0", "-2+3", "@SUM(1+1)", "＝1+1"];
    let values: Vec<Value> = formulas.iter().map(|v| json!({"type": "FILENAME", "value": v})).collect();
    hub.gql(&tm, SHARE, json!({"v": values, "s": {"tlp": "GREEN"}}));
    let (status, csv) = hub.get_as(&tm, "/export/indicators?format=csv");
    assert_eq!(status, 200);
    let cells: Vec<String> = csv.lines().skip(1).map(|l| l.to_string()).collect();
    assert_eq!(cells.len(), formulas.len(), "{csv}");
    for line in cells {
        assert!(line.starts_with("\"'"), "a formula cell must be quoted and begin with a single quote: {line}");
    }
    // The member's client writes its CSV export the same way.
    let dir = renkei_e2e::TempDir::new("renkei-probe-csv");
    let mut register = renkei_client::register::open(&dir.0.join("register.db")).expect("register");
    let api = renkei_client::hub_api::HubApi::new(&hub.base, tm.clone(), None).expect("api");
    renkei_client::sync::init(&mut register, &api, &hub.base, None).expect("init");
    let options = renkei_client::sync::SyncOptions { page_size: 100, max_pages: None };
    renkei_client::sync::sync(&mut register, &api, &options, &mut |_| {}).expect("sync");
    let held = renkei_client::csirt::active_indicators(&mut register, 0).expect("held");
    let mut out = Vec::new();
    renkei_client::csirt::export(&held, "csv", &mut out).expect("export");
    let client_csv = String::from_utf8(out).expect("utf-8");
    let lines: Vec<&str> = client_csv.lines().skip(1).collect();
    assert_eq!(lines.len(), formulas.len(), "{client_csv}");
    assert!(lines.iter().all(|l| l.starts_with("\"'")), "{client_csv}");
}

// ---------------------------------------------------------------------------
// 9. Supplier proposals

/// `addSupplier` with the corporate number of a proposal the caller could not see
/// answered DUPLICATE_SUPPLIER naming it, and an incident could link (and publish) a
/// supplier id its submitter could not see while a missing one was refused.
#[test]
fn another_members_hidden_proposal_answers_exactly_like_a_missing_one() {
    let hub = TestHub::start(Backend::Postgres);
    let coord = hub.add_org("ISAC", true);
    let tc = hub.token(&coord, Role::Coordinator);
    let (p, q) = (hub.add_org("Proposer", false), hub.add_org("Prober", false));
    let (tp, tq) = (hub.token(&p, Role::Analyst), hub.token(&q, Role::Analyst));
    let add = "mutation($i: SupplierInput!) { addSupplier(input: $i) { id status } }";
    let toyota = json!({"legalName": "Toyota Motor Corporation", "nameJa": "トヨタ自動車株式会社", "corporateNumber": "1180301018771", "country": "JP"});
    let hidden = hub.gql(&tp, add, json!({"i": toyota}))["addSupplier"]["id"].as_str().expect("id").to_string();
    // The prober proposes the same company: answered as if no proposal existed.
    let (_, body) = hub.post(Some(&tq), add, json!({"i": toyota}));
    assert!(body.get("errors").is_none(), "{body}");
    let own = body["data"]["addSupplier"]["id"].as_str().expect("id").to_string();
    assert!(!body.to_string().contains(&hidden));
    assert_ne!(own, hidden);
    // Its own proposal is visible to it: a second try names that one, never the hidden one.
    let (code, err) = hub.gql_error(&tq, add, json!({"i": toyota}));
    assert_eq!(code, "DUPLICATE_SUPPLIER");
    assert!(err.to_string().contains(&own) && !err.to_string().contains(&hidden), "{err}");

    let incident = "mutation($s: [ID!]!) { reportIncident(input: {title: \"t\", summary: \"s\", sector: \"energy\", serviceImpact: NONE, supplierIds: $s}, sharing: {tlp: GREEN}) { id } }";
    let missing = "supplier--00000000-0000-4000-8000-000000000000";
    let (code_hidden, err_hidden) = hub.gql_error(&tq, incident, json!({"s": [hidden]}));
    let (code_missing, err_missing) = hub.gql_error(&tq, incident, json!({"s": [missing]}));
    assert_eq!(code_hidden, "UNKNOWN_REFERENCE");
    assert_eq!(code_missing, code_hidden);
    let strip = |e: &Value, id: &str| e.to_string().replace(id, "ID");
    assert_eq!(strip(&err_hidden, &hidden), strip(&err_missing, missing), "the same answer, word for word");
    // Its own proposal is not linkable either: the incident's readers could not see it.
    let (code, _) = hub.gql_error(&tq, incident, json!({"s": [own]}));
    assert_eq!(code, "SUPPLIER_NOT_ACTIVE");
    assert_eq!(hub.count("objects"), 0, "nothing stored");

    // One number, one active supplier: the second approval is refused.
    hub.gql(&tc, "mutation($id: ID!) { approveRegistryEntry(id: $id) }", json!({"id": hidden}));
    let (code, _) = hub.gql_error(&tc, "mutation($id: ID!) { approveRegistryEntry(id: $id) }", json!({"id": own}));
    assert_eq!(code, "DUPLICATE_SUPPLIER");
}

// ---------------------------------------------------------------------------
// 10. The smaller ones

/// The embedded database (TLP:RED content, token digests) was world-readable, and the
/// default data folder holding the private keys was not ignored by git.
#[test]
fn database_and_key_files_are_the_owners_alone_and_the_data_folder_is_not_committed() {
    let hub = TestHub::start(Backend::Sqlite);
    let m = hub.add_org("Member", false);
    let tm = hub.token(&m, Role::Analyst);
    share(&hub, &tm, "DOMAIN", "written.example", json!({"tlp": "GREEN"}));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let dir = &hub.data_dir.0;
        // The keys live in the database, sealed under the key-encryption key beside it.
        for name in ["hub.db", "hub.db-wal", "hub.db-shm", "key-encryption.key"] {
            let path = dir.join(name);
            let mode = std::fs::metadata(&path).unwrap_or_else(|e| panic!("{name}: {e}")).permissions().mode();
            assert_eq!(mode & 0o077, 0, "{name} must be readable by the hub's user only ({mode:o})");
        }
    }
    let gitignore = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../.gitignore")).expect(".gitignore");
    assert!(gitignore.lines().any(|l| l.trim() == "renkei-data/"), "the default data folder is ignored");
}
