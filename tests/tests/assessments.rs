//! Supplier assessments: shared under TLP like every item (procurement teams may share
//! them, not indicators), validated against the scheme, with the posture derived.

use renkei_e2e::{Backend, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

const SUBMIT: &str = "mutation($i: AssessmentInput!, $s: SharingInput!) { submitAssessment(input: $i, sharing: $s) { id status tlp posture schemeVersion results { criterion answer notApplicable } findings { severity open } validUntil } }";
const ASSESSMENTS: &str = "query($id: ID!) { supplier(id: $id) { assessments { id tlp posture assurance } } }";

fn assessment(supplier: &str) -> Value {
    json!({
        "supplierId": supplier,
        "schemeId": "renkei-handbook-6.4",
        "assessor": "MEMBER",
        "assurance": "QUESTIONNAIRE_REVIEWED",
        "observed": "2026-11-01T00:00:00Z",
        "results": [
            {"criterion": "HB64-01", "answer": 4, "evidence": [{"sha256": "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08", "kind": "certificate"}]},
            {"criterion": "HB64-02", "answer": 2, "comment": "inspection partly in place"},
            {"criterion": "HB64-03"}
        ],
        "findings": [{"severity": "HIGH", "description": "no subcontractor audit"}],
        "conclusion": "warning"
    })
}

fn ids(data: &Value) -> Vec<String> {
    renkei_e2e::field_strings(&data["supplier"]["assessments"], "id")
}

fn assessments_flow(backend: Backend) {
    let hub = TestHub::start(backend);
    let m1 = hub.add_org("Member One", false);
    let m2 = hub.add_org("Member Two", false);
    let m3 = hub.add_org("Member Three", false);
    let coord = hub.add_org("Secretariat", true);
    let (tp, t2, t3, tc) = (
        hub.token(&m1, Role::Procurement),
        hub.token(&m2, Role::Analyst),
        hub.token(&m3, Role::Analyst),
        hub.token(&coord, Role::Coordinator),
    );
    let add = "mutation($i: SupplierInput!) { addSupplier(input: $i) { id } }";
    let supplier = hub.gql(&tc, add, json!({"i": {"legalName": "Toyota Motor Corporation", "nameJa": "トヨタ自動車株式会社", "corporateNumber": "1180301018771", "country": "JP"}}))
        ["addSupplier"]["id"].as_str().expect("id").to_string();

    // A procurement team shares an assessment; the posture is derived, never typed in:
    // (1×4/4 + 2×2/4) over every criterion but the not-applicable HB64-03 (weight 12).
    let shared =
        hub.gql(&tp, SUBMIT, json!({"i": assessment(&supplier), "s": {"tlp": "GREEN"}}))["submitAssessment"].clone();
    assert_eq!(shared["status"], "PUBLISHED");
    assert!((shared["posture"].as_f64().expect("posture") - 200.0 / 12.0).abs() < 1e-9, "{shared}");
    assert_eq!(shared["schemeVersion"], "1");
    assert_eq!(shared["results"][2], json!({"criterion": "HB64-03", "answer": null, "notApplicable": true}));
    assert!(
        shared["validUntil"].as_str().is_some_and(|v| v.starts_with("2027-11-01")),
        "observed + 365 days: {shared}"
    );
    let green = shared["id"].as_str().expect("id").to_string();
    // ... but not indicators.
    let (code, _) = hub.gql_error(
        &tp,
        "mutation { shareIndicators(input: [{type: DOMAIN, value: \"x.example\"}], sharing: {tlp: GREEN}) { id } }",
        json!({}),
    );
    assert_eq!(code, "FORBIDDEN");
    // Nor read them, on any surface, unless the token was granted `indicators`.
    let indicator = hub.gql(
        &t3,
        "mutation { shareIndicators(input: [{type: DOMAIN, value: \"bad.example\"}], sharing: {tlp: GREEN}) { id } }",
        json!({}),
    )["shareIndicators"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let granted = hub.token_with_grants(&m1, Role::Procurement, &["indicators"]);
    let lookup = "{ lookup(values: [\"bad.example\"]) { matches { id } } }";
    assert_eq!(hub.gql_error(&tp, lookup, json!({})).0, "FORBIDDEN");
    assert_eq!(hub.gql(&granted, lookup, json!({}))["lookup"][0]["matches"][0]["id"], json!(indicator));
    assert_eq!(hub.gql_error(&tp, "{ indicators { edges { node { id } } } }", json!({})).0, "FORBIDDEN");
    let node = "query($id: ID!) { node(id: $id) { ... on Indicator { id } } }";
    assert!(hub.gql(&tp, node, json!({"id": indicator}))["node"].is_null());
    assert_eq!(hub.gql(&granted, node, json!({"id": indicator}))["node"]["id"], json!(indicator));
    let kinds = |token: &str| -> Vec<String> {
        let (items, _) = hub.follow_changes(token, None, 100);
        items.iter().filter_map(|i| i["type"].as_str().map(str::to_string)).collect()
    };
    assert!(!kinds(&tp).contains(&"indicator".to_string()), "the feed leaves indicators out for procurement");
    assert!(kinds(&granted).contains(&"indicator".to_string()));
    assert_eq!(hub.get_as(&tp, "/export/indicators").0, 403);
    assert_eq!(hub.get_as(&granted, "/export/indicators").0, 200);
    let sighting = "mutation($id: ID!) { reportSighting(indicator: $id) { indicator } }";
    assert_eq!(hub.gql_error(&tp, sighting, json!({"id": indicator})).0, "FORBIDDEN");

    // Bad input: a clear code each, nothing stored.
    let objects = hub.count("objects");
    let proposal =
        hub.gql(&t2, add, json!({"i": {"legalName": "Proposed Co", "nameJa": "提案株式会社", "country": "JP"}}))
            ["addSupplier"]["id"]
            .as_str()
            .expect("id")
            .to_string();
    let cases: Vec<(Value, &str)> = vec![
        (json!({"results": [{"criterion": "HB64-01", "answer": 5}]}), "ANSWER_OUT_OF_SCALE"),
        (json!({"results": [{"criterion": "HB64-99", "answer": 1}]}), "UNKNOWN_CRITERION"),
        (json!({"schemeId": "no-such-scheme"}), "UNKNOWN_SCHEME"),
        (json!({"validUntil": "2026-10-01T00:00:00Z"}), "INVALID_INPUT"),
        (json!({"supplierId": proposal}), "NOT_FOUND"),
        (json!({"offeringIds": ["offering--00000000-0000-4000-8000-000000000000"]}), "UNKNOWN_OFFERING"),
        (
            json!({"results": [{"criterion": "HB64-01", "answer": 1, "evidence": [{"sha256": "abc", "kind": "policy"}]}]}),
            "INVALID_INPUT",
        ),
    ];
    for (patch, code) in cases {
        let mut input = assessment(&supplier);
        for (k, v) in patch.as_object().expect("object") {
            input[k] = v.clone();
        }
        assert_eq!(hub.gql_error(&t3, SUBMIT, json!({"i": input, "s": {"tlp": "GREEN"}})).0, code, "{patch}");
    }
    assert_eq!(hub.count("objects"), objects, "nothing stored");

    // TLP governs assessments like everything else.
    // Member Two's RED on-site test scores every criterion 4: only it and Member One may
    // read it, and only their ratings may reflect it.
    let mut onsite = assessment(&supplier);
    onsite["assurance"] = json!("TECHNICAL_TEST");
    onsite["findings"] = json!([]);
    onsite["results"] =
        json!((1..=11).map(|i| json!({"criterion": format!("HB64-{i:02}"), "answer": 4})).collect::<Vec<_>>());
    let red = hub.gql(&t2, SUBMIT, json!({"i": onsite, "s": {"tlp": "RED", "recipients": [m1]}}))["submitAssessment"]
        ["id"]
        .as_str()
        .expect("id")
        .to_string();
    let seen = |token: &str| ids(&hub.gql(token, ASSESSMENTS, json!({"id": supplier})));
    assert_eq!(seen(&tp), vec![green.clone(), red.clone()]);
    assert_eq!(seen(&t2), vec![green.clone(), red.clone()]);
    assert_eq!(seen(&t3), vec![green.clone()]);
    assert_eq!(seen(&tc), vec![green.clone()], "coordinators not named do not read RED content");
    let (items, _) = hub.follow_changes(&t3, None, 100);
    // (Member Three's own indicator, shared above, aside.)
    let types: Vec<&str> =
        items.iter().filter_map(|i| i["object"]["type"].as_str()).filter(|t| *t != "indicator").collect();
    // The assessment as custom STIX, then the rating change it caused (the first rating);
    // nothing of the RED one, not even a change of Member Three's rating.
    assert_eq!(
        types,
        vec!["x-renkei-supplier-assessment", "x-renkei-rating-change"],
        "the feed carries the assessment as custom STIX"
    );
    let node =
        hub.gql(&t3, "query($id: ID!) { node(id: $id) { ... on SupplierAssessment { id } } }", json!({"id": red}));
    assert!(node["node"].is_null());

    // Ratings are computed per viewer from what it may read: the RED test's perfect
    // answers show in Member Two's rating and never in Member Three's.
    let q = "query($id: ID!) { supplier(id: $id) { rating { score tier coverage assessorCount topAssurance flags inputs openFindings { severity count } } } }";
    let rating = |token: &str| hub.gql(token, q, json!({"id": supplier}))["supplier"]["rating"].clone();
    let (r2, r3, rc) = (rating(&t2), rating(&t3), rating(&tc));
    assert_eq!(r2["score"], 100.0);
    assert_eq!(r2["tier"], "A");
    assert_eq!(r2["topAssurance"], "TECHNICAL_TEST");
    assert_eq!(r2["inputs"], json!([red]), "the highest assurance wins");
    assert_eq!(r2["assessorCount"], 2);
    assert!((r3["score"].as_f64().expect("score") - 200.0 / 12.0).abs() < 1e-9, "{r3}");
    assert_eq!(r3["tier"], "D");
    assert_eq!(r3["inputs"], json!([green]));
    assert_eq!(r3["assessorCount"], 1);
    assert_eq!(r3["openFindings"], json!([{"severity": "HIGH", "count": 1}]));
    assert_eq!(rc, r3, "a coordinator not named on the RED test rates without it too");
    assert!(!r3.to_string().contains(&red), "nothing of the RED assessment reaches Member Three");

    // Procurement filters see the same per-viewer ratings.
    hub.gql(&tc, add, json!({"i": {"legalName": "Unassessed KK", "nameJa": "未評価株式会社", "country": "JP"}}));
    let filtered = |token: &str, filter: Value| -> Vec<String> {
        let data =
            hub.gql(token, "query($f: SupplierFilter) { suppliers(filter: $f) { nameJa } }", json!({"f": filter}));
        data["suppliers"]
            .as_array()
            .expect("list")
            .iter()
            .map(|s| s["nameJa"].as_str().expect("name").to_string())
            .collect()
    };
    assert_eq!(filtered(&t2, json!({"tiers": ["A"]})), vec!["トヨタ自動車株式会社"]);
    assert!(filtered(&t3, json!({"tiers": ["A"]})).is_empty(), "Member Three's rating is D");
    assert_eq!(filtered(&t3, json!({"noValidAssessment": true})), vec!["未評価株式会社"]);
    assert_eq!(filtered(&t3, json!({"flags": ["INSUFFICIENT_COVERAGE"]})), vec!["未評価株式会社"]);
    assert_eq!(hub.gql_error(&t3, "{ suppliers(filter: {flags: [\"SHINY\"]}) { id } }", json!({})).0, "INVALID_INPUT");

    // The supplier disputes the RED test (recorded by a coordinator who may read it: a
    // named one). While open, and once upheld, it does not count; dismissed, it does.
    let named_coord = hub.add_org("Named Secretariat", true);
    let tn = hub.token(&named_coord, Role::Coordinator);
    let red2 = hub.gql(&t2, SUBMIT, json!({"i": onsite, "s": {"tlp": "RED", "recipients": [m1, named_coord]}}))
        ["submitAssessment"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let dispute =
        "mutation($a: ID!) { recordDispute(assessment: $a, statement: \"the site visit covered another plant\") }";
    assert_eq!(hub.gql_error(&t2, dispute, json!({"a": red2})).0, "FORBIDDEN");
    assert_eq!(
        hub.gql_error(&tc, dispute, json!({"a": red2})).0,
        "NOT_FOUND",
        "a coordinator not named cannot read it"
    );
    let d = hub.gql(&tn, dispute, json!({"a": red2}))["recordDispute"].as_str().expect("id").to_string();
    assert_eq!(hub.gql_error(&tn, dispute, json!({"a": red2})).0, "ALREADY_DISPUTED");
    let inputs = |token: &str| rating(token)["inputs"].clone();
    assert_eq!(inputs(&t2), json!([red]), "the disputed newer test does not count while open");
    let resolve = "mutation($d: ID!, $u: Boolean!) { resolveDispute(dispute: $d, upheld: $u, reason: \"checked\") }";
    hub.gql(&tn, resolve, json!({"d": d, "u": false}));
    assert_eq!(inputs(&t2), json!([red2]), "dismissed: the latest test of the assessor counts again");
    assert_eq!(hub.gql_error(&tn, resolve, json!({"d": d, "u": true})).0, "NOT_PENDING");

    // A procurement team withdraws its own assessment; it leaves every rating.
    let revoke = "mutation($id: ID!) { revoke(id: $id, reason: \"superseded by an on-site visit\") { status } }";
    assert_eq!(hub.gql(&tp, revoke, json!({"id": green}))["revoke"]["status"], "REVOKED");
    assert_eq!(rating(&t3)["inputs"], json!([]));
}

#[test]
fn assessments_on_postgres() {
    assessments_flow(Backend::Postgres);
}

#[test]
fn assessments_on_sqlite() {
    assessments_flow(Backend::Sqlite);
}
