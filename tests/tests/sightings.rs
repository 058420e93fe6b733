//! Sightings are side data with aggregates that name nobody, and an anonymous
//! submitter cannot be inferred through any read surface a member has.

use renkei_e2e::{Backend, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

const SHARE: &str = "mutation($input: [IndicatorInput!]!, $sharing: SharingInput!) { shareIndicators(input: $input, sharing: $sharing) { id } }";
const SIGHT: &str = "mutation($id: ID!, $count: Int, $first: String, $last: String, $kind: SightingKind, $anon: Boolean) { reportSighting(indicator: $id, count: $count, firstSeen: $first, lastSeen: $last, kind: $kind, anonymous: $anon) { id indicator kind count } }";
const SUMMARY: &str = "query($id: ID!) { node(id: $id) { ... on Indicator { version sightings { organizations total firstSeen lastSeen falsePositiveOrganizations falsePositiveReports lastReported } } } }";

fn share(hub: &TestHub, token: &str, value: &str, sharing: Value) -> String {
    let data = hub.gql(token, SHARE, json!({"input": [{"type": "DOMAIN", "value": value}], "sharing": sharing}));
    data["shareIndicators"][0]["id"].as_str().expect("id").to_string()
}

fn sightings_flows(backend: Backend) {
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
    let tp = hub.token(&m2, Role::Procurement);
    let x = share(&hub, &t1, "c2.example", json!({"tlp": "GREEN"}));
    let red = share(&hub, &t1, "red.example", json!({"tlp": "RED", "recipients": [m2]}));
    let (_, cursor) = hub.follow_changes(&t2, None, 1000);
    let versions = hub.count("object_versions");

    hub.gql(&t2, SIGHT, json!({"id": x, "count": 3, "anon": true}));
    hub.gql(&t3, SIGHT, json!({"id": x, "count": 2, "first": "2026-11-20T01:00:00Z", "last": "2026-11-21T02:00:00Z"}));
    hub.gql(&t3, SIGHT, json!({"id": x, "kind": "FALSE_POSITIVE"}));
    hub.gql(&t2, SIGHT, json!({"id": red}));

    // The aggregate: who-many, not who; the same for every reader of the indicator.
    let seen = |token: &str| hub.gql(token, SUMMARY, json!({"id": x}))["node"].clone();
    let summary = seen(&t1);
    assert_eq!(summary["version"], 1, "a sighting is not a new version");
    let s = &summary["sightings"];
    assert_eq!((s["organizations"].as_i64(), s["total"].as_i64()), (Some(2), Some(5)));
    assert_eq!(s["firstSeen"], "2026-11-20T01:00:00.000000Z");
    assert_eq!((s["falsePositiveOrganizations"].as_i64(), s["falsePositiveReports"].as_i64()), (Some(1), Some(1)));
    for token in [&t2, &t3, &tc] {
        assert_eq!(seen(token)["sightings"], *s);
    }
    let listed =
        hub.gql(&t3, "{ indicators(first: 10) { nodes { id sightings { organizations total } } } }", json!({}));
    let node = listed["indicators"]["nodes"].as_array().expect("nodes").iter().find(|n| n["id"] == x.as_str()).cloned();
    assert_eq!(node.expect("listed")["sightings"], json!({"organizations": 2, "total": 5}));
    let looked = hub.gql(
        &t2,
        "query($v: [String!]!) { lookup(values: $v) { matches { id sightings { organizations } } } }",
        json!({"v": ["c2.example", "red.example"]}),
    );
    assert_eq!(looked["lookup"][0]["matches"][0]["sightings"]["organizations"], 2);
    assert_eq!(looked["lookup"][1]["matches"][0]["sightings"]["organizations"], 1);

    // Side data: no version, nothing new in anyone's feed.
    assert_eq!(hub.count("object_versions"), versions);
    let (after, _) = hub.follow_changes(&t2, Some(cursor), 1000);
    assert!(after.is_empty(), "sightings put nothing in the feed: {after:?}");

    // An indicator the reporter may not read is answered exactly like one that does not
    // exist; bad input and the wrong role get their codes; nothing is stored.
    let stored = hub.count("sightings");
    let (code, hidden) = hub.gql_error(&t3, SIGHT, json!({"id": red}));
    let (_, missing) = hub.gql_error(&t3, SIGHT, json!({"id": "indicator--00000000-0000-4000-8000-000000000000"}));
    assert_eq!(code, "NOT_FOUND");
    assert_eq!(hidden["message"], missing["message"], "a hidden indicator reads as a missing one");
    for (token, vars, code) in [
        (&t3, json!({"id": x, "count": 0}), "INVALID_INPUT"),
        (&t3, json!({"id": x, "first": "2026-11-22T00:00:00Z", "last": "2026-11-21T00:00:00Z"}), "INVALID_INPUT"),
        (&t3, json!({"id": x, "last": "2099-01-01T00:00:00Z"}), "INVALID_INPUT"),
        (&t3, json!({"id": x, "last": "yesterday"}), "INVALID_INPUT"),
        (&tp, json!({"id": x}), "FORBIDDEN"),
    ] {
        assert_eq!(hub.gql_error(token, SIGHT, vars.clone()).0, code, "{vars}");
    }
    assert_eq!(hub.count("sightings"), stored);

    // Individual reports: coordinators only, anonymous ones flagged.
    let q = "query($id: ID!) { sightingReports(indicator: $id) { organization anonymous kind count } }";
    assert_eq!(hub.gql_error(&t1, q, json!({"id": x})).0, "FORBIDDEN");
    let reports = hub.gql(&tc, q, json!({"id": x}))["sightingReports"].clone();
    assert_eq!(reports.as_array().map(Vec::len), Some(3));
    assert_eq!(reports[0], json!({"organization": m2, "anonymous": true, "kind": "SEEN", "count": 3}));
    assert_eq!(hub.gql_error(&tc, q, json!({"id": red})).0, "NOT_FOUND", "coordinators are not named on the RED item");
}

#[test]
fn sightings_on_postgres() {
    sightings_flows(Backend::Postgres);
}

#[test]
fn sightings_on_sqlite() {
    sightings_flows(Backend::Sqlite);
}

/// Everything a member can ask about an anonymous item, as raw response text, must
/// never contain the submitter's id or name.
#[test]
fn an_anonymous_submitter_cannot_be_inferred_by_members() {
    let hub = TestHub::start(Backend::Postgres);
    let secret = hub.add_org("Hidden Source Electric", false);
    let m2 = hub.add_org("Curious Member Gas", false);
    let coord = hub.add_org("Secretariat", true);
    let (ts, t2, tc) =
        (hub.token(&secret, Role::Analyst), hub.token(&m2, Role::Analyst), hub.token(&coord, Role::Coordinator));
    let ioc = share(&hub, &ts, "anon-c2.example", json!({"tlp": "AMBER", "anonymous": true}));
    let inc = hub.gql(
        &ts,
        "mutation($i: IncidentInput!, $s: SharingInput!) { reportIncident(input: $i, sharing: $s) { id } }",
        json!({"i": {"title": "Intrusion", "summary": "Seen at a member", "sector": "electricity", "serviceImpact": "NONE", "indicatorIds": [ioc]}, "s": {"tlp": "AMBER", "anonymous": true}}),
    )["reportIncident"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    // Life after publication: a correction, a relabel, a sighting by the submitter.
    hub.gql(
        &ts,
        "mutation($id: ID!) { correct(id: $id, correction: {description: \"C2\"}) { __typename } }",
        json!({"id": ioc}),
    );
    hub.gql(&ts, "mutation($id: ID!) { changeLabel(id: $id, tlp: AMBER_STRICT) { id } }", json!({"id": inc}));
    hub.gql(&ts, SIGHT, json!({"id": ioc, "count": 4}));

    let full_indicator = "id type value tlp version status statusReason created modified createdBy { id name } recipients originHub confidence validFrom validUntil labels stix description sightings { organizations total }";
    let surfaces: Vec<(&str, String, Value)> = vec![
        (
            "node",
            format!("query($id: ID!) {{ node(id: $id) {{ ... on Indicator {{ {full_indicator} }} }} }}"),
            json!({"id": ioc}),
        ),
        (
            "incident",
            "query($id: ID!) { node(id: $id) { ... on Incident { id createdBy { id } stix indicatorIds } } }".into(),
            json!({"id": inc}),
        ),
        ("indicators", format!("{{ indicators(first: 100) {{ nodes {{ {full_indicator} }} }} }}"), json!({})),
        ("incidents", "{ incidents(first: 100) { nodes { id createdBy { id name } stix } } }".into(), json!({})),
        (
            "lookup",
            format!("query($v: [String!]!) {{ lookup(values: $v) {{ input matches {{ {full_indicator} }} }} }}"),
            json!({"v": ["anon-c2.example"]}),
        ),
        (
            "changes",
            "{ changes(limit: 1000) { items { id type version tlp deleted object signature } } }".into(),
            json!({}),
        ),
        ("revoke (refused)", "mutation($id: ID!) { revoke(id: $id, reason: \"x\") { id } }".into(), json!({"id": ioc})),
        (
            "correct (refused)",
            "mutation($id: ID!) { correct(id: $id, correction: {description: \"x\"}) { __typename } }".into(),
            json!({"id": ioc}),
        ),
        (
            "relabel (refused)",
            "mutation($id: ID!) { changeLabel(id: $id, tlp: RED, recipients: []) { id } }".into(),
            json!({"id": ioc}),
        ),
        (
            "sighting reports (refused)",
            "query($id: ID!) { sightingReports(indicator: $id) { organization } }".into(),
            json!({"id": ioc}),
        ),
        ("audit log (refused)", "{ auditLog(limit: 1000) { actorOrg target } }".into(), json!({})),
        ("moderation queue (refused)", "{ moderationQueue { entries { cursor } } }".into(), json!({})),
        ("restricted items (refused)", "{ restrictedItems { items { id submitter } } }".into(), json!({})),
    ];
    for (surface, query, vars) in &surfaces {
        let (status, body) = hub.post(Some(&t2), query, vars.clone());
        let text = body.to_string();
        assert_eq!(status, 200, "{surface}: {text}");
        assert!(
            text.contains("anon-c2") || text.contains(&inc) || text.contains("errors"),
            "{surface} answered nothing useful: {text}"
        );
        for leak in [secret.as_str(), "Hidden Source Electric"] {
            assert!(!text.contains(leak), "{surface} names the anonymous submitter: {text}");
        }
    }
    // The coordinators do see who it was.
    let seen =
        hub.gql(&tc, "query($id: ID!) { node(id: $id) { ... on Indicator { createdBy { id } } } }", json!({"id": ioc}));
    assert_eq!(seen["node"]["createdBy"]["id"], secret.as_str());
}
