//! Imports (STIX bundles over GraphQL, TAXII POST, MISP events) and the TAXII server as
//! a probing member meets them: each object checked like the typed mutations' input and
//! reported with a code, the whole import one transaction, markings never read wider
//! than their source, and nothing in a TAXII answer (cursors, ids, statuses, errors)
//! telling a member about items it may not read. Real hubs, real PostgreSQL and SQLite.

use renkei_e2e::*;
use renkei_hub::auth::Role;
use serde_json::{json, Value};

const IMPORT_STIX: &str = "mutation($b: JSON!, $s: ImportSharingInput!) { importStix(bundle: $b, sharing: $s) { stored refused objects { source id outcome code message messageJa } } }";
const IMPORT_MISP: &str = "mutation($e: JSON!, $s: ImportSharingInput!) { importMisp(event: $e, sharing: $s) { stored refused objects { source id outcome code } } }";
const SHARE: &str =
    "mutation($i: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $i, sharing: $s) { id status } }";
const TAXII: &str = "application/taxii+json;version=2.1";
const SHARED_ITEMS: &str = "4f1d1c9e-6a4b-4c53-9d0e-8b2f7a6c3e01";
const INDICATORS: &str = "8a3e5b27-2c9d-4e61-b0f4-5d7c1a9e2b02";
const TLP1_GREEN: &str = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da";
const TLP2_RED: &str = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1";
const OPENCTI_AMBER_STRICT: &str = "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37";

fn id(kind: &str) -> String {
    format!("{kind}--{}", uuid::Uuid::new_v4())
}

fn indicator(id: &str, pattern: &str, markings: &[&str]) -> Value {
    let mut o = json!({
        "type": "indicator", "spec_version": "2.1", "id": id,
        "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
        "pattern": pattern, "pattern_type": "stix", "valid_from": "2026-11-01T00:00:00Z",
    });
    if !markings.is_empty() {
        o["object_marking_refs"] = json!(markings);
    }
    o
}

fn bundle(objects: Vec<Value>) -> Value {
    json!({"type": "bundle", "id": id("bundle"), "objects": objects})
}

fn count_items(hub: &TestHub) -> i64 {
    hub.count("objects")
}

fn node(hub: &TestHub, token: &str, id: &str) -> Value {
    hub.gql(token, "query($id: ID!) { node(id: $id) { ... on Indicator { value tlp status } ... on Technique { attackId tlp } ... on Advisory { cveId tlp } } }", json!({"id": id}))["node"].clone()
}

fn outcomes(report: &Value) -> Vec<(String, String)> {
    report["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .map(|o| (o["outcome"].as_str().unwrap_or("").to_string(), o["code"].as_str().unwrap_or("").to_string()))
        .collect()
}

#[test]
fn a_stix_bundle_is_checked_object_by_object_like_the_typed_mutations() {
    let hub = TestHub::start(Backend::Postgres);
    let org = hub.add_org("Importer Power", false);
    let other = hub.add_org("Other Gas", false);
    let t = hub.token(&org, Role::Analyst);
    let reader = hub.token(&other, Role::Analyst);
    let (green, unmarked, strict, unknown, bad, allowlisted) =
        (id("indicator"), id("indicator"), id("indicator"), id("indicator"), id("indicator"), id("indicator"));
    let technique = id("attack-pattern");
    let vulnerability = id("vulnerability");
    let objects = vec![
        indicator(&green, "[ipv4-addr:value = '198.51.100.31']", &[TLP1_GREEN]),
        indicator(&unmarked, "[domain-name:value = 'unmarked.import.example']", &[]),
        indicator(&strict, "[domain-name:value = 'strict.import.example']", &[OPENCTI_AMBER_STRICT]),
        indicator(
            &unknown,
            "[domain-name:value = 'statement.import.example']",
            &["marking-definition--0b5c3f4e-1d2a-4b6c-8e9f-a0b1c2d3e4f5"],
        ),
        indicator(&bad, "[ipv4-addr:value = '999.1.1.1']", &[TLP1_GREEN]),
        indicator(&allowlisted, "[ipv4-addr:value = '8.8.8.8']", &[TLP1_GREEN]),
        json!({"type": "attack-pattern", "spec_version": "2.1", "id": technique, "created": "2026-11-01T00:00:00.000Z",
               "modified": "2026-11-01T00:00:00.000Z", "name": "Spearphishing Attachment", "description": "invoice lures",
               "external_references": [{"source_name": "mitre-attack", "external_id": "T1566.001"}],
               "kill_chain_phases": [{"kill_chain_name": "mitre-attack", "phase_name": "initial-access"}],
               "object_marking_refs": [TLP1_GREEN]}),
        json!({"type": "vulnerability", "spec_version": "2.1", "id": vulnerability, "created": "2026-11-01T00:00:00.000Z",
               "modified": "2026-11-01T00:00:00.000Z", "name": "CVE-2021-44228",
               "external_references": [{"source_name": "cve", "external_id": "CVE-2021-44228"}],
               "object_marking_refs": [TLP1_GREEN]}),
        json!({"type": "malware", "spec_version": "2.1", "id": id("malware"), "created": "2026-11-01T00:00:00.000Z",
               "modified": "2026-11-01T00:00:00.000Z", "name": "ExampleRAT", "is_family": true}),
        json!({"type": "identity", "spec_version": "2.1", "id": id("identity"), "created": "2026-11-01T00:00:00.000Z",
               "modified": "2026-11-01T00:00:00.000Z", "name": "Somebody", "identity_class": "organization"}),
    ];
    let before = count_items(&hub);
    let report =
        hub.gql(&t, IMPORT_STIX, json!({"b": bundle(objects.clone()), "s": {"tlp": "AMBER"}}))["importStix"].clone();
    let expected: Vec<(String, String)> = [
        ("stored", ""),
        ("stored", ""),
        ("stored", ""),
        ("refused", "UNKNOWN_MARKING"),
        ("refused", "INVALID_INDICATOR"),
        ("refused", "ALLOWLISTED"),
        ("stored", ""),
        ("stored", ""),
        ("refused", "STIX_UNSUPPORTED"),
        ("context", ""),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(outcomes(&report), expected, "{report}");
    assert_eq!((report["stored"].clone(), report["refused"].clone()), (json!(5), json!(4)));
    for refused in report["objects"].as_array().expect("objects").iter().filter(|o| o["outcome"] == "refused") {
        let ja = refused["messageJa"].as_str().unwrap_or("");
        assert!(!ja.is_empty() && !ja.is_ascii(), "a refusal says why in Japanese too: {refused}");
    }
    assert_eq!(count_items(&hub), before + 5);
    // The ids the source gave are kept; the labels are the markings', never wider.
    assert_eq!(node(&hub, &reader, &green), json!({"value": "198.51.100.31", "tlp": "GREEN", "status": "PUBLISHED"}));
    assert_eq!(node(&hub, &t, &unmarked)["tlp"], json!("AMBER"), "an unmarked object takes the import's label");
    assert_eq!(node(&hub, &t, &strict)["tlp"], json!("AMBER_STRICT"), "OpenCTI's AMBER+STRICT id");
    assert_eq!(node(&hub, &reader, &technique), json!({"attackId": "T1566.001", "tlp": "GREEN"}));
    assert_eq!(node(&hub, &reader, &vulnerability), json!({"cveId": "CVE-2021-44228", "tlp": "GREEN"}));
    for refused in [&unknown, &bad, &allowlisted] {
        assert_eq!(node(&hub, &t, refused), Value::Null, "{refused} was not stored");
    }

    // The same bundle again: every stored object is a duplicate, nothing new.
    let again = hub.gql(&t, IMPORT_STIX, json!({"b": bundle(objects), "s": {"tlp": "AMBER"}}))["importStix"].clone();
    let dupes = outcomes(&again).iter().filter(|(o, _)| o == "duplicate").count();
    assert_eq!((dupes, again["stored"].clone()), (5, json!(0)), "{again}");
    assert_eq!(count_items(&hub), before + 5);
}

#[test]
fn an_import_is_one_transaction() {
    let hub = TestHub::start(Backend::Postgres);
    let org = hub.add_org("Importer Rail", false);
    let t = hub.token(&org, Role::Analyst);
    // The GREEN group is written first, then the RED group fails on its recipient: the
    // whole import rolls back, the GREEN indicator included.
    let objects = vec![
        indicator(&id("indicator"), "[domain-name:value = 'first.atomic.example']", &[TLP1_GREEN]),
        indicator(&id("indicator"), "[domain-name:value = 'second.atomic.example']", &[TLP2_RED]),
    ];
    let before = count_items(&hub);
    let (code, _) = hub.gql_error(
        &t,
        IMPORT_STIX,
        json!({"b": bundle(objects), "s": {"tlp": "GREEN", "recipients": [uuid::Uuid::new_v4().to_string()]}}),
    );
    assert_eq!(code, "UNKNOWN_RECIPIENT");
    assert_eq!(count_items(&hub), before, "nothing half-stored");
    let (code, _) =
        hub.gql_error(&t, IMPORT_STIX, json!({"b": {"type": "bundle", "objects": "nope"}, "s": {"tlp": "GREEN"}}));
    assert_eq!(code, "STIX_INVALID");
}

/// A member that learned the id of an item it may not read (a RED item of others)
/// imports an object with that id: the answer is exactly what a free id gets (stored,
/// under an id of the hub's), so the import tells it nothing about the hidden item.
#[test]
fn an_import_cannot_test_whether_a_hidden_item_exists() {
    let hub = TestHub::start(Backend::Postgres);
    let (m1, m2, m3) =
        (hub.add_org("Member One", false), hub.add_org("Member Two", false), hub.add_org("Member Three", false));
    let (t1, t3) = (hub.token(&m1, Role::Analyst), hub.token(&m3, Role::Analyst));
    let hidden = hub.gql(
        &t1,
        SHARE,
        json!({"i": [{"type": "DOMAIN", "value": "hidden.probe.example"}], "s": {"tlp": "RED", "recipients": [m2]}}),
    )["shareIndicators"][0]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let probe = |object_id: &str, value: &str| {
        let b = bundle(vec![indicator(object_id, &format!("[domain-name:value = '{value}']"), &[TLP1_GREEN])]);
        hub.gql(&t3, IMPORT_STIX, json!({"b": b, "s": {"tlp": "GREEN"}}))["importStix"]["objects"][0].clone()
    };
    let on_hidden = probe(&hidden, "probe-a.example");
    let fresh = id("indicator");
    let on_free = probe(&fresh, "probe-b.example");
    assert_eq!(on_hidden["outcome"], on_free["outcome"]);
    assert_eq!((on_hidden["code"].clone(), on_free["code"].clone()), (Value::Null, Value::Null));
    assert_ne!(on_hidden["id"], json!(hidden), "the hidden item is untouched and unnamed");
    assert_eq!(on_free["id"], json!(fresh));
    assert_eq!(node(&hub, &t1, &hidden)["value"], json!("hidden.probe.example"));
}

fn taxii(hub: &TestHub) -> String {
    format!("{}/taxii2/hub", hub.base)
}

fn get(url: &str, token: &str) -> (u16, Value, reqwest::header::HeaderMap) {
    let resp =
        reqwest::blocking::Client::new().get(url).bearer_auth(token).header("Accept", TAXII).send().expect("GET");
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let text = resp.text().unwrap_or_default();
    (status, serde_json::from_str(&text).unwrap_or(Value::Null), headers)
}

fn post(url: &str, token: &str, content_type: &str, body: String) -> (u16, Value) {
    let resp = reqwest::blocking::Client::new()
        .post(url)
        .bearer_auth(token)
        .header("Accept", TAXII)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .expect("POST");
    let status = resp.status().as_u16();
    (status, resp.json().unwrap_or(Value::Null))
}

#[test]
fn taxii_cursors_statuses_and_errors_tell_a_member_nothing_it_may_not_read() {
    let hub = TestHub::start(Backend::Postgres);
    let (m1, m2) = (hub.add_org("Member One", false), hub.add_org("Member Two", false));
    let (t1, t2) = (hub.token(&m1, Role::Analyst), hub.token(&m2, Role::Analyst));
    let objects = format!("{}/collections/{SHARED_ITEMS}/objects/", taxii(&hub));
    let mut shared = Vec::new();
    for i in 0..4 {
        let data = hub.gql(
            &t1,
            SHARE,
            json!({"i": [{"type": "DOMAIN", "value": format!("c{i}.cursor.example")}], "s": {"tlp": "GREEN"}}),
        );
        shared.push(data["shareIndicators"][0]["id"].as_str().expect("id").to_string());
    }
    // Member Two pages with limit 2 and keeps its cursor.
    let (status, page, headers) = get(&format!("{objects}?limit=2"), &t2);
    assert_eq!(status, 200);
    assert_eq!(page["more"], json!(true));
    assert!(headers.get("x-taxii-date-added-last").is_some());
    let next = page["next"].as_str().expect("next").to_string();

    // The next page's first item is then tightened to RED for Member One alone: the
    // kept cursor, replayed, no longer serves it.
    hub.gql(
        &t1,
        "mutation($id: ID!, $r: [ID!]) { changeLabel(id: $id, tlp: RED, recipients: $r) { __typename } }",
        json!({"id": shared[2], "r": [m1]}),
    );
    let (status, rest, _) = get(&format!("{objects}?limit=2&next={next}"), &t2);
    assert_eq!(status, 200);
    let ids: Vec<&str> = rest["objects"].as_array().expect("objects").iter().filter_map(|o| o["id"].as_str()).collect();
    assert_eq!(ids, vec![shared[3].as_str()], "the tightened item left the later page");
    assert_eq!(rest["more"], json!(false));

    // A cursor is the hub's: altered, or used by another organisation, it is refused.
    let mut forged = next.clone();
    forged.replace_range(2..3, if &forged[2..3] == "A" { "B" } else { "A" });
    for (cursor, token) in [(forged.as_str(), &t2), (next.as_str(), &t1)] {
        let (status, err, _) = get(&format!("{objects}?limit=2&next={cursor}"), token);
        assert_eq!((status, err["error_code"].clone()), (400, json!("INVALID_CURSOR")), "{err}");
    }

    // By id, by match[id] and in the manifest, the RED item answers like a missing one.
    let missing = id("indicator");
    let (s_hidden, hidden_body, _) = get(&format!("{objects}{}/", shared[2]), &t2);
    let (s_missing, missing_body, _) = get(&format!("{objects}{missing}/"), &t2);
    assert_eq!((s_hidden, &hidden_body), (s_missing, &missing_body));
    assert_eq!(s_missing, 404);
    let (_, by_match, _) = get(&format!("{objects}?match[id]={}", shared[2]), &t2);
    assert_eq!(by_match, json!({}));
    let (_, versions, _) = get(&format!("{objects}{}/versions/", shared[2]), &t2);
    assert_eq!(versions, missing_body);

    // Member Two may not delete Member One's item; one it cannot see is 404.
    let delete = |id: &str, token: &str| {
        reqwest::blocking::Client::new()
            .delete(format!("{objects}{id}/"))
            .bearer_auth(token)
            .header("Accept", TAXII)
            .send()
            .expect("DELETE")
            .status()
            .as_u16()
    };
    assert_eq!(delete(&shared[0], &t2), 403);
    assert_eq!(delete(&shared[2], &t2), 404);
    assert_eq!(delete(&shared[0], &t1), 200);
    assert_eq!(get(&format!("{objects}{}/", shared[0]), &t2).0, 404, "deleted");

    // A status is its poster's: another organisation gets 404.
    let envelope =
        json!({"objects": [indicator(&id("indicator"), "[domain-name:value = 'posted.cursor.example']", &[])]});
    let (status, posted) = post(&objects, &t1, TAXII, envelope.to_string());
    assert_eq!((status, posted["success_count"].clone()), (202, json!(1)), "{posted}");
    let status_url = format!("{}/status/{}/", taxii(&hub), posted["id"].as_str().expect("status id"));
    assert_eq!(get(&status_url, &t1).0, 200);
    assert_eq!(get(&status_url, &t2).0, 404);
}

#[test]
fn taxii_refuses_bad_requests_with_taxii_errors() {
    let hub = TestHub::start(Backend::Postgres);
    let org = hub.add_org("Member One", false);
    let t = hub.token(&org, Role::Analyst);
    let objects = format!("{}/collections/{SHARED_ITEMS}/objects/", taxii(&hub));
    for (query, what) in [
        ("added_after=yesterday", "a malformed added_after"),
        ("limit=0", "limit 0"),
        ("limit=-3", "a negative limit"),
        ("match[type]=indicator&match[type]=vulnerability", "a repeated filter"),
        ("match[version]=all,first", "all with another version"),
        ("next=garbage", "a cursor the hub did not make"),
    ] {
        let (status, err, _) = get(&format!("{objects}?{query}"), &t);
        assert_eq!(status, 400, "{what}: {err}");
        assert_eq!(err["http_status"], json!("400"), "{what}: a TAXII error message");
        assert!(err["details"]["description_ja"].as_str().is_some_and(|d| !d.is_ascii()), "{what}: {err}");
    }
    let resp = reqwest::blocking::Client::new()
        .get(&objects)
        .bearer_auth(&t)
        .header("Accept", "text/html")
        .send()
        .expect("GET");
    assert_eq!(resp.status().as_u16(), 406);
    assert_eq!(resp.headers()["content-type"], TAXII);
    let envelope = json!({"objects": [indicator(&id("indicator"), "[domain-name:value = 'x.bad.example']", &[])]});
    assert_eq!(post(&objects, &t, "application/json", envelope.to_string()).0, 415);
    assert_eq!(post(&objects, &t, TAXII, "{not json".into()).0, 400);
    assert_eq!(post(&objects, &t, TAXII, json!({"objects": 3}).to_string()).0, 422);
    let huge = format!("{{\"objects\": [\"{}\"]}}", "x".repeat(11 * 1024 * 1024));
    assert_eq!(post(&objects, &t, TAXII, huge).0, 413);

    // The indicators collection holds up to AMBER: a RED object is refused, not stored.
    let amber_only = format!("{}/collections/{INDICATORS}/objects/", taxii(&hub));
    let before = hub.count("objects");
    let red = json!({"objects": [indicator(&id("indicator"), "[domain-name:value = 'red.bad.example']", &[TLP2_RED])]});
    let (status, answer) = post(&amber_only, &t, TAXII, red.to_string());
    assert_eq!((status, answer["failure_count"].clone()), (202, json!(1)), "{answer}");
    assert!(answer["failures"][0]["message"].as_str().is_some_and(|m| m.starts_with("LABEL_ABOVE_COLLECTION")));
    assert_eq!(hub.count("objects"), before);

    // Without credentials: 401 with the challenge, as a TAXII error.
    let resp = reqwest::blocking::Client::new().get(format!("{}/taxii2/", hub.base)).send().expect("GET");
    assert_eq!(resp.status().as_u16(), 401);
    assert!(resp.headers()["www-authenticate"].to_str().expect("header").contains("Basic"));
    assert_eq!(resp.headers()["content-type"], TAXII);
}

/// The embedded default: TAXII reads and writes on SQLite as on PostgreSQL.
#[test]
fn taxii_on_the_embedded_database() {
    let hub = TestHub::start(Backend::Sqlite);
    let org = hub.add_org("Member One", false);
    let t = hub.token(&org, Role::Analyst);
    let objects = format!("{}/collections/{SHARED_ITEMS}/objects/", taxii(&hub));
    let posted = id("indicator");
    let envelope = json!({"objects": [
        indicator(&posted, "[domain-name:value = 'a.sqlite.example']", &[TLP1_GREEN]),
        indicator(&id("indicator"), "[domain-name:value = 'b.sqlite.example']", &[TLP1_GREEN]),
        indicator(&id("indicator"), "[domain-name:value = 'c.sqlite.example']", &[TLP1_GREEN]),
    ]});
    let (status, answer) = post(&objects, &t, TAXII, envelope.to_string());
    assert_eq!((status, answer["success_count"].clone()), (202, json!(3)), "{answer}");
    let mut seen = Vec::new();
    let mut url = format!("{objects}?limit=2");
    loop {
        let (status, page, _) = get(&url, &t);
        assert_eq!(status, 200, "{page}");
        seen.extend(
            page["objects"].as_array().into_iter().flatten().filter_map(|o| o["id"].as_str().map(String::from)),
        );
        match page["next"].as_str() {
            Some(next) => url = format!("{objects}?limit=2&next={next}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3);
    assert_eq!(seen[0], posted);
    let (_, manifest, _) = get(&format!("{}/collections/{SHARED_ITEMS}/manifest/", taxii(&hub)), &t);
    let added: Vec<&str> =
        manifest["objects"].as_array().expect("records").iter().filter_map(|r| r["date_added"].as_str()).collect();
    assert!(added.windows(2).all(|w| w[0] < w[1]), "date_added strictly increases: {added:?}");
    assert!(added.iter().all(|a| a.ends_with("000Z")), "on whole milliseconds: {added:?}");
}

/// A MISP event exported by PyMISP, imported through `importMisp`: the items and labels
/// expected, the refusals coded, and the same event again only duplicates.
#[test]
fn a_misp_event_from_pymisp_imports_with_its_labels() {
    let out = std::process::Command::new(renkei_e2e::interop::python())
        .arg(renkei_e2e::interop::script("misp_events.py"))
        .arg("build")
        .output()
        .expect("the interop venv's python runs misp_events.py");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let events: Vec<Value> = serde_json::from_slice(&out.stdout).expect("events");
    let hub = TestHub::start(Backend::Postgres);
    let org = hub.add_org("MISP User", false);
    let t = hub.token(&org, Role::Analyst);
    let report = hub.gql(&t, IMPORT_MISP, json!({"e": events[0], "s": {"tlp": "AMBER"}}))["importMisp"].clone();
    let by_value = |needle: &str| -> Value {
        report["objects"]
            .as_array()
            .expect("objects")
            .iter()
            .find(|o| o["source"].as_str().is_some_and(|s| s.contains(needle)))
            .cloned()
            .unwrap_or(Value::Null)
    };
    let ip = by_value("198.51.100.7");
    assert_eq!(ip["outcome"], json!("stored"), "{report}");
    assert_eq!(ip["id"], json!("indicator--5a1b0000-0000-4000-8000-0000000000a1"), "the id is the attribute's uuid");
    assert_eq!(
        node(&hub, &t, "indicator--5a1b0000-0000-4000-8000-0000000000a1")["tlp"],
        json!("AMBER"),
        "tlp:amber on the attribute"
    );
    assert_eq!(
        node(&hub, &t, "indicator--5a1b0000-0000-4000-8000-0000000000a2")["tlp"],
        json!("GREEN"),
        "tlp:green on the event"
    );
    assert_eq!(by_value("1BoatSLRHtKNngkdXEeobR76b53LETtpyT")["code"], json!("MISP_UNSUPPORTED_TYPE"));
    assert_eq!(by_value("T1566.001")["outcome"], json!("stored"), "{report}");
    let stored = report["stored"].as_i64().expect("stored");
    assert!(stored >= 8, "{report}");
    let before = hub.count("objects");
    let again = hub.gql(&t, IMPORT_MISP, json!({"e": events[0], "s": {"tlp": "AMBER"}}))["importMisp"].clone();
    assert_eq!(again["stored"], json!(0), "{again}");
    assert_eq!(outcomes(&again).iter().filter(|(o, _)| o == "duplicate").count() as i64, stored);
    assert_eq!(hub.count("objects"), before);
    // A tlp: tag outside TLP 2.0 refuses the whole event.
    let (code, _) = hub.gql_error(&t, IMPORT_MISP, json!({"e": events[3], "s": {"tlp": "AMBER"}}));
    assert_eq!(code, "MISP_UNKNOWN_TLP");
}

/// A supplier assessment goes out as renkei's STIX object and comes back in through
/// the same checks as `submitAssessment` (registered supplier, scheme and version,
/// criteria, answers on the scale), with the posture computed by the importing hub
/// and never taken from the object.
#[test]
fn a_supplier_assessment_comes_back_from_stix_checked_like_submit_assessment() {
    let hub = TestHub::start(Backend::Postgres);
    let coord = hub.add_org("Secretariat", true);
    let org = hub.add_org("Importer Water", false);
    let (tc, t) = (hub.token(&coord, Role::Coordinator), hub.token(&org, Role::Analyst));
    let add = "mutation($i: SupplierInput!) { addSupplier(input: $i) { id } }";
    let supplier =
        hub.gql(&tc, add, json!({"i": {"legalName": "Kansai Pumps", "nameJa": "関西ポンプ株式会社", "country": "JP"}}))
            ["addSupplier"]["id"]
            .as_str()
            .expect("id")
            .to_string();
    let submit =
        "mutation($i: AssessmentInput!, $s: SharingInput!) { submitAssessment(input: $i, sharing: $s) { id } }";
    let submitted = hub.gql(
        &t,
        submit,
        json!({"i": handbook_assessment(&supplier, &[], "TECHNICAL_TEST", 3), "s": {"tlp": "AMBER"}}),
    )["submitAssessment"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    const READ: &str = "query($id: ID!) { node(id: $id) { ... on SupplierAssessment { tlp supplierId schemeVersion assurance observed validUntil posture conclusion results { criterion answer } } } }";
    let original = hub.gql(&t, READ, json!({"id": submitted}))["node"].clone();
    assert!(original["posture"].as_f64().is_some(), "{original}");

    let (status, body) = hub.get_as(&t, "/export/stix");
    assert_eq!(status, 200, "{body}");
    let exported: Value = serde_json::from_str(&body).expect("a bundle");
    let object = exported["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .find(|o| o["id"] == json!(submitted))
        .expect("the assessment is in the export")
        .clone();
    assert_eq!(object["type"], "x-renkei-supplier-assessment");
    let markings: Vec<Value> = exported["objects"]
        .as_array()
        .expect("objects")
        .iter()
        .filter(|o| o["type"] == "marking-definition")
        .cloned()
        .collect();
    let with = |object: Value| {
        let mut objects = markings.clone();
        objects.push(object);
        bundle(objects)
    };

    // The same object: the hub holds this version already.
    let again =
        hub.gql(&t, IMPORT_STIX, json!({"b": with(object.clone()), "s": {"tlp": "AMBER"}}))["importStix"].clone();
    assert_eq!(outcomes(&again).last().cloned(), Some(("duplicate".to_string(), String::new())), "{again}");

    // Under a new id, with a forged posture, and four broken copies beside it.
    let copy = |change: &dyn Fn(&mut Value)| {
        let mut o = object.clone();
        o["id"] = json!(id("x-renkei-supplier-assessment"));
        change(&mut o);
        o
    };
    let fresh = copy(&|o| o["posture"] = json!(99.0));
    let fresh_id = fresh["id"].as_str().expect("id").to_string();
    let mut objects = markings.clone();
    objects.extend([
        fresh,
        copy(&|o| o["scheme"]["version"] = json!("9")),
        copy(&|o| o["supplier_id"] = json!("00000000-0000-4000-8000-000000000000")),
        copy(&|o| o["results"][0]["answer"] = json!({"kind": "scale", "value": 7})),
        copy(&|o| {
            o.as_object_mut().expect("object").remove("observed");
        }),
    ]);
    let before = count_items(&hub);
    let report = hub.gql(&t, IMPORT_STIX, json!({"b": bundle(objects), "s": {"tlp": "AMBER"}}))["importStix"].clone();
    let got: Vec<(String, String)> = outcomes(&report).into_iter().skip(markings.len()).collect();
    let expected: Vec<(String, String)> = [
        ("stored", ""),
        ("refused", "UNKNOWN_SCHEME"),
        ("refused", "NOT_FOUND"),
        ("refused", "ANSWER_OUT_OF_SCALE"),
        ("refused", "STIX_INVALID"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(got, expected, "{report}");
    assert_eq!(count_items(&hub), before + 1);
    let imported = hub.gql(&t, READ, json!({"id": fresh_id}))["node"].clone();
    assert_eq!(imported, original, "the same assessment, the posture computed here (not the forged 99)");
}
