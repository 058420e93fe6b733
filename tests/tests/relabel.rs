//! Relabelling and corrections: tightening sends tombstones to exactly those who lose
//! access, loosening sends the item to those who gain it, and a follower of `changes`
//! resuming from any earlier cursor ends holding exactly what it may see now.

use renkei_e2e::{Backend, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};
use std::collections::BTreeMap;

const SHARE: &str = "mutation($input: [IndicatorInput!]!, $sharing: SharingInput!) { shareIndicators(input: $input, sharing: $sharing) { id } }";
const RELABEL: &str = "mutation($id: ID!, $tlp: Tlp!, $recipients: [ID!]) { changeLabel(id: $id, tlp: $tlp, recipients: $recipients) { id version tlp status } }";
const CORRECT: &str = "mutation($id: ID!, $c: CorrectionInput!) { correct(id: $id, correction: $c) { ... on Incident { id version summary } ... on Indicator { id version description confidence } } }";
const INCIDENT: &str = "mutation($input: IncidentInput!, $sharing: SharingInput!) { reportIncident(input: $input, sharing: $sharing) { id } }";

/// Applies feed items like a client does: id → version held.
fn apply(held: &mut BTreeMap<String, i64>, items: &[Value]) {
    for item in items {
        let id = item["id"].as_str().expect("id").to_string();
        if item["deleted"].as_bool().expect("deleted") {
            held.remove(&id);
        } else {
            held.insert(id, item["version"].as_i64().expect("version"));
        }
    }
}

/// What the viewer may hold now, with versions, read through the list queries.
fn visible(hub: &TestHub, token: &str) -> BTreeMap<String, i64> {
    let data = hub.gql(
        token,
        "{ indicators(first: 1000) { nodes { id version } } incidents(first: 1000) { nodes { id version } } }",
        json!({}),
    );
    let mut out = BTreeMap::new();
    for list in ["indicators", "incidents"] {
        for n in data[list]["nodes"].as_array().expect("nodes") {
            out.insert(n["id"].as_str().expect("id").to_string(), n["version"].as_i64().expect("version"));
        }
    }
    out
}

/// A follower that saved its state and cursor after every step.
struct Follower {
    token: String,
    /// (held after the step, cursor after the step), from the start.
    checkpoints: Vec<(BTreeMap<String, i64>, Option<String>)>,
}

impl Follower {
    fn new(token: String) -> Follower {
        Follower { token, checkpoints: vec![(BTreeMap::new(), None)] }
    }

    /// Resumes from every checkpoint; each must end with what the viewer may see now.
    fn step(&mut self, hub: &TestHub, name: &str, step: &str) {
        let now = visible(hub, &self.token);
        for (i, (held, cursor)) in self.checkpoints.iter().enumerate() {
            let (items, _) = hub.follow_changes(&self.token, cursor.clone(), 2);
            let mut state = held.clone();
            apply(&mut state, &items);
            assert_eq!(state, now, "{name} after '{step}', resuming from checkpoint {i}");
        }
        let (held, cursor) = self.checkpoints.last().cloned().expect("checkpoint");
        let (items, end) = hub.follow_changes(&self.token, cursor, 1000);
        let mut state = held;
        apply(&mut state, &items);
        self.checkpoints.push((state, Some(end)));
    }
}

fn lookup_finds(hub: &TestHub, token: &str, value: &str) -> bool {
    let data = hub.gql(token, "query($v: [String!]!) { lookup(values: $v) { matches { id } } }", json!({"v": [value]}));
    !data["lookup"][0]["matches"].as_array().expect("matches").is_empty()
}

fn relabel_flows(backend: Backend) {
    let hub = TestHub::start(backend);
    let m1 = hub.add_org("Member One", false);
    let m2 = hub.add_org("Member Two", false);
    let m3 = hub.add_org("Member Three", false);
    let coord = hub.add_org("Secretariat", true);
    let (t1, t2, t3, tc) = (
        hub.token(&m1, Role::Analyst),
        hub.token(&m2, Role::Analyst),
        hub.token(&m3, Role::Analyst),
        hub.token(&coord, Role::Coordinator),
    );
    let mut followers: Vec<(&str, Follower)> = [("M1", &t1), ("M2", &t2), ("M3", &t3), ("C", &tc)]
        .into_iter()
        .map(|(n, t)| (n, Follower::new(t.clone())))
        .collect();
    let mut step = |hub: &TestHub, what: &str| {
        for (name, f) in followers.iter_mut() {
            f.step(hub, name, what);
        }
    };

    let data = hub.gql(
        &t1,
        SHARE,
        json!({"input": [{"type": "DOMAIN", "value": "moving.example"}, {"type": "DOMAIN", "value": "still.example"}], "sharing": {"tlp": "GREEN"}}),
    );
    let x = data["shareIndicators"][0]["id"].as_str().expect("id").to_string();
    let incident_input =
        json!({"title": "Lure campaign", "summary": "first draft", "sector": "gas", "serviceImpact": "NONE"});
    let inc = hub.gql(&t1, INCIDENT, json!({"input": incident_input, "sharing": {"tlp": "AMBER"}}))["reportIncident"]
        ["id"]
        .as_str()
        .expect("id")
        .to_string();
    step(&hub, "shared");

    // Tighten GREEN → RED for M2: M3 and the coordinator (not named) get tombstones.
    let r = hub.gql(&t1, RELABEL, json!({"id": x, "tlp": "RED", "recipients": [m2]}));
    assert_eq!(r["changeLabel"], json!({"id": x, "version": 2, "tlp": "RED", "status": "PUBLISHED"}));
    step(&hub, "GREEN -> RED[M2]");
    assert!(lookup_finds(&hub, &t2, "moving.example") && !lookup_finds(&hub, &t3, "moving.example"));

    // Loosening is the submitter's: the coordinator may not, the submitter may.
    let (code, err) = hub.gql_error(&tc, RELABEL, json!({"id": x, "tlp": "GREEN"}));
    assert_eq!(code, "TLP_LOOSENING", "{err}");
    hub.gql(&t1, RELABEL, json!({"id": x, "tlp": "RED", "recipients": [m2, m3]}));
    step(&hub, "RED[M2] -> RED[M2, M3]");
    assert!(lookup_finds(&hub, &t3, "moving.example"));

    // A coordinator not named on the RED item may still tighten it (remove M3); its
    // answer carries no content.
    let r = hub.gql(&tc, RELABEL, json!({"id": x, "tlp": "RED", "recipients": [m2]}));
    assert_eq!(r["changeLabel"]["version"], 4);
    step(&hub, "coordinator removes M3");
    assert!(!lookup_finds(&hub, &t3, "moving.example"));

    hub.gql(&t1, RELABEL, json!({"id": x, "tlp": "AMBER_STRICT"}));
    step(&hub, "RED[M2] -> AMBER+STRICT");
    assert!(lookup_finds(&hub, &t3, "moving.example") && lookup_finds(&hub, &tc, "moving.example"));

    // Faults, none of which stores anything.
    let versions = hub.count("object_versions");
    for (token, vars, code) in [
        (&t2, json!({"id": x, "tlp": "RED", "recipients": [m2]}), "FORBIDDEN"),
        (&t1, json!({"id": x, "tlp": "AMBER_STRICT"}), "NO_CHANGE"),
        (&t1, json!({"id": x, "tlp": "RED"}), "TLP_RED_NEEDS_RECIPIENTS"),
        (&t1, json!({"id": x, "tlp": "GREEN", "recipients": [m2]}), "RECIPIENTS_ONLY_FOR_RED"),
        (
            &t1,
            json!({"id": "indicator--00000000-0000-4000-8000-000000000000", "tlp": "RED", "recipients": [m2]}),
            "NOT_FOUND",
        ),
    ] {
        assert_eq!(hub.gql_error(token, RELABEL, vars.clone()).0, code, "{vars}");
    }
    assert_eq!(hub.count("object_versions"), versions, "refused relabels store nothing");

    // Corrections: a new version for every holder; only fields of the kind; no no-ops.
    let fixed = hub.gql(&t1, CORRECT, json!({"id": inc, "c": {"summary": "Lures named the gas SCADA vendor"}}));
    assert_eq!(fixed["correct"]["version"], 2);
    let seen =
        hub.gql(&t2, "query($id: ID!) { node(id: $id) { ... on Incident { summary version } } }", json!({"id": inc}));
    assert_eq!(seen["node"]["summary"], "Lures named the gas SCADA vendor");
    for (token, c, code) in [
        (&t1, json!({"narrative": "x"}), "INVALID_PATCH"),
        (&t1, json!({"summary": "Lures named the gas SCADA vendor"}), "NO_CHANGE"),
        (&t1, json!({}), "NO_CHANGE"),
        (&t1, json!({"summary": "   "}), "INVALID_INPUT"),
        (&t1, json!({"validUntil": "2001-01-01T00:00:00Z"}), "INVALID_INPUT"),
        (&t2, json!({"summary": "hijack"}), "FORBIDDEN"),
    ] {
        assert_eq!(hub.gql_error(token, CORRECT, json!({"id": inc, "c": c})).0, code, "{c}");
    }
    let ioc =
        hub.gql(&t1, CORRECT, json!({"id": x, "c": {"description": "C2 of the lure campaign", "confidence": 90}}));
    assert_eq!(ioc["correct"]["description"], "C2 of the lure campaign");
    assert_eq!(ioc["correct"]["confidence"], 90);
    step(&hub, "corrections");

    // Revoked items change no more.
    hub.gql(&t1, "mutation($id: ID!) { revoke(id: $id, reason: \"done\") { id } }", json!({"id": inc}));
    assert_eq!(hub.gql_error(&t1, CORRECT, json!({"id": inc, "c": {"summary": "late"}})).0, "NOT_CHANGEABLE");
    assert_eq!(hub.gql_error(&t1, RELABEL, json!({"id": inc, "tlp": "RED", "recipients": [m2]})).0, "NOT_CHANGEABLE");
    step(&hub, "revoked");
}

#[test]
fn relabel_and_correct_on_postgres() {
    relabel_flows(Backend::Postgres);
}

#[test]
fn relabel_and_correct_on_sqlite() {
    relabel_flows(Backend::Sqlite);
}
