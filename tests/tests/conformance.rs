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
