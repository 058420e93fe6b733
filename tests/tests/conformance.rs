//! Answers conform to the schema the hub publishes, for queries a property-based
//! fuzzer writes (`ops/schemathesis.sh` found these): an object whose selection selects
//! nothing for what it resolved to is `{}`, never `null` where the schema says non-null.

use renkei_e2e::{Backend, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

fn answer(hub: &TestHub, token: &str, query: &str) -> Value {
    let (status, body) = hub.post(Some(token), query, json!({}));
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{query}: {body}");
    body["data"].clone()
}

#[test]
fn objects_that_select_nothing_are_empty_maps_not_null() {
    let hub = TestHub::start_with(Backend::Postgres, |_| {});
    let member = hub.add_org("Member", false);
    let token = hub.token(&member, Role::Analyst);
    let shared = hub.gql(
        &token,
        "mutation { shareIndicators(input: [{type: IPV4, value: \"45.155.205.17\"}], sharing: {tlp: GREEN}) { id } }",
        json!({}),
    );
    let id = shared["shareIndicators"][0]["id"].as_str().expect("id").to_string();

    // `correct` answers `SharedItem!`: a selection only on another member of the union
    // selects nothing for the indicator, and the answer was `{"correct": null}`.
    let data = answer(
        &hub,
        &token,
        &format!("mutation {{ correct(id: \"{id}\", correction: {{confidence: 10}}) {{ ... on SupplierAssessment {{ posture }} }} }}"),
    );
    assert_eq!(data, json!({"correct": {}}));
    // The correction was made all the same.
    let data =
        answer(&hub, &token, &format!("{{ node(id: \"{id}\") {{ ... on Indicator {{ confidence version }} }} }}"));
    assert_eq!(data, json!({"node": {"confidence": 10, "version": 2}}));

    // Every field skipped: `Me!` and the items of `[Organization!]!` and
    // `[Indicator!]!` are empty maps.
    let data = answer(
        &hub,
        &token,
        "{ me { role @skip(if: true) } organizations { id @include(if: false) } indicators(first: 5) { nodes { id @skip(if: true) } } }",
    );
    assert_eq!(data, json!({"me": {}, "organizations": [{}], "indicators": {"nodes": [{}]}}));

    // Every root field skipped: `data` is an empty map, not null.
    let (status, body) = hub.post(Some(&token), "{ me @skip(if: true) { role } }", json!({}));
    assert_eq!((status, body), (200, json!({"data": {}})));

    // A nullable field keeps null for what the caller may not see.
    let data = answer(&hub, &token, "{ node(id: \"indicator--00000000-0000-4000-8000-000000000000\") { __typename } }");
    assert_eq!(data, json!({"node": null}));
}

/// async-graphql's parser and validator answered with a bare English message; every
/// error the hub answers carries a stable code and Japanese text.
#[test]
fn parse_and_validation_errors_carry_a_code_and_japanese_text() {
    let hub = TestHub::start_with(Backend::Postgres, |c| c.limits.max_query_depth = 3);
    let token = hub.token(&hub.add_org("Member", false), Role::Analyst);
    let cases = [
        ("{ me { role }", "GRAPHQL_PARSE_FAILED"),
        ("{ me { nothing } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ indicators(first: \"ten\") { nodes { id } } }", "GRAPHQL_VALIDATION_FAILED"),
        ("{ indicators(first: 99999999999) { nodes { id } } }", "GRAPHQL_VALIDATION_FAILED"),
        ("mutation { revoke(id: \"x\") { id } }", "GRAPHQL_VALIDATION_FAILED"),
    ];
    for (query, code) in cases {
        let (status, body) = hub.post(Some(&token), query, json!({}));
        assert_eq!(status, 200, "{query}: {body}");
        assert_eq!(body["data"], Value::Null, "{query}: {body}");
        let errors = body["errors"].as_array().expect("errors");
        assert!(!errors.is_empty(), "{query}: {body}");
        for error in errors {
            assert_eq!(error["extensions"]["code"], code, "{query}: {body}");
            let ja = error["extensions"]["messageJa"].as_str().unwrap_or("");
            assert!(ja.contains("クエリ"), "{query}: {body}");
        }
    }
    // The hub's own refusals at validation keep their codes.
    let (_, body) = hub.post(Some(&token), "{ indicators(first: 1) { nodes { createdBy { id } } } }", json!({}));
    assert_eq!(body["errors"][0]["extensions"]["code"], "QUERY_TOO_DEEP", "{body}");
}

/// A representation no entity resolver takes failed `_entities` with async-graphql's
/// bare "Entity not found."; it is refused with a code. One of a real entity type that
/// the caller may not read (or that does not exist) is still null.
#[test]
fn representations_of_no_entity_type_are_refused_with_a_code() {
    let hub = TestHub::start_with(Backend::Postgres, |_| {});
    let token = hub.token(&hub.add_org("Member", false), Role::Analyst);
    let query = "query($r: [_Any!]!) { _entities(representations: $r) { ... on Indicator { id } } }";
    let missing = "indicator--00000000-0000-4000-8000-000000000000";
    for r in [
        json!([{"__typename": "Organization", "id": missing}]),
        json!([{"__typename": "Indicator"}]),
        json!([{"__typename": "Indicator", "id": missing}, {"__typename": "", "id": missing}]),
    ] {
        let (status, body) = hub.post(Some(&token), query, json!({"r": r}));
        assert_eq!(status, 200, "{body}");
        let error = &body["errors"][0];
        assert_eq!(error["extensions"]["code"], "INVALID_REPRESENTATION", "{r}: {body}");
        assert!(error["extensions"]["messageJa"].as_str().is_some_and(|m| !m.is_empty()), "{body}");
        assert_eq!(error["path"], json!(["_entities"]), "{body}");
    }
    let data = hub.gql(&token, query, json!({"r": [{"__typename": "Indicator", "id": missing}]}));
    assert_eq!(data, json!({"_entities": [null]}));
}
