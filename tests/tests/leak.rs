//! The leak test: a hub with a coordinator and four members, items at every label
//! (RED with named recipients, anonymous ones too), pending and rejected submissions
//! of a newly admitted member, and sightings. Every viewer reads every surface and
//! sees exactly what DESIGN.md's TLP table allows, and never an anonymous submitter.
//! Run against PostgreSQL and SQLite.

use renkei_e2e::{Backend, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const SHARE: &str = "mutation($input: [IndicatorInput!]!, $sharing: SharingInput!) { shareIndicators(input: $input, sharing: $sharing) { id value } }";

struct Viewer {
    name: &'static str,
    token: String,
}

fn share_indicator(hub: &TestHub, token: &str, value: &str, sharing: Value) -> (String, String) {
    let data = hub.gql(token, SHARE, json!({"input": [{"type": "IPV4", "value": value}], "sharing": sharing}));
    let item = &data["shareIndicators"][0];
    (item["id"].as_str().expect("id").to_string(), item["value"].as_str().expect("value").to_string())
}

fn ids_of(list: &Value) -> BTreeSet<String> {
    list.as_array().into_iter().flatten().filter_map(|n| n["id"].as_str().map(str::to_string)).collect()
}

fn leak_test(backend: Backend) {
    let hub = TestHub::start(backend);
    let coord_org = hub.add_org("Sector ISAC secretariat", true);
    let m1 = hub.add_org("Member One Power", false);
    let m2 = hub.add_org("Member Two Gas", false);
    let m3 = hub.add_org("Member Three Water", false);
    // Newly admitted: the default moderation policy queues its submissions.
    let m4 = hub.add_org_trusted("Member Four Rail", false, renkei_hub::services::moderation::Trust::New);
    let viewers = [
        Viewer { name: "C", token: hub.token(&coord_org, Role::Coordinator) },
        Viewer { name: "M1", token: hub.token(&m1, Role::Analyst) },
        Viewer { name: "M2", token: hub.token(&m2, Role::Analyst) },
        Viewer { name: "M3", token: hub.token(&m3, Role::Analyst) },
        Viewer { name: "M4", token: hub.token(&m4, Role::Analyst) },
    ];
    let token = |n: &str| viewers.iter().find(|v| v.name == n).map(|v| v.token.clone()).expect("viewer");
    let all: BTreeSet<&str> = ["C", "M1", "M2", "M3", "M4"].into();
    let only = |names: &[&'static str]| names.iter().copied().collect::<BTreeSet<&str>>();

    // id -> (kind, who may see it)
    let mut expected: BTreeMap<String, (&str, BTreeSet<&str>)> = BTreeMap::new();
    let mut values = Vec::new();
    for (i, tlp) in ["CLEAR", "GREEN", "AMBER", "AMBER_STRICT"].iter().enumerate() {
        let (id, v) = share_indicator(&hub, &token("M1"), &format!("198.51.100.{}", i + 1), json!({"tlp": tlp}));
        expected.insert(id, ("indicator", all.clone()));
        values.push(v);
    }
    let (id, v) = share_indicator(&hub, &token("M1"), "198.51.100.10", json!({"tlp": "RED", "recipients": [m2]}));
    expected.insert(id, ("indicator", only(&["M1", "M2"])));
    values.push(v);
    // Member Three shares only anonymously.
    let (id, v) = share_indicator(&hub, &token("M3"), "203.0.113.1", json!({"tlp": "GREEN", "anonymous": true}));
    expected.insert(id, ("indicator", all.clone()));
    values.push(v);
    let (id, v) = share_indicator(
        &hub,
        &token("M3"),
        "203.0.113.2",
        json!({"tlp": "RED", "recipients": [m2], "anonymous": true}),
    );
    expected.insert(id, ("indicator", only(&["M3", "M2"])));
    values.push(v);
    let tech = hub.gql(
        &token("M3"),
        "mutation { shareTechnique(input: {attackId: \"T0866\", name: \"Exploitation of Remote Services\", narrative: \"seen against HMI\"}, sharing: {tlp: AMBER, anonymous: true}) { id } }",
        json!({}),
    );
    expected.insert(tech["shareTechnique"]["id"].as_str().expect("id").into(), ("technique", all.clone()));
    let tech2 = hub.gql(
        &token("M1"),
        "mutation($r: [ID!]!) { shareTechnique(input: {attackId: \"T1566.001\", name: \"Spearphishing Attachment\", narrative: \"invoice lure\"}, sharing: {tlp: RED, recipients: $r}) { id } }",
        json!({"r": [m3]}),
    );
    expected.insert(tech2["shareTechnique"]["id"].as_str().expect("id").into(), ("technique", only(&["M1", "M3"])));
    let inc = hub.gql(
        &token("M2"),
        "mutation($r: [ID!]!) { reportIncident(input: {title: \"HMI intrusion\", summary: \"remote access abused\", sector: \"gas\", serviceImpact: DEGRADED, techniqueIds: [\"T0866\"]}, sharing: {tlp: RED, recipients: $r}) { id } }",
        json!({"r": [m1]}),
    );
    expected.insert(inc["reportIncident"]["id"].as_str().expect("id").into(), ("incident", only(&["M2", "M1"])));
    let inc2 = hub.gql(
        &token("M2"),
        "mutation { reportIncident(input: {title: \"Phishing wave\", summary: \"invoices\", sector: \"gas\", serviceImpact: NONE}, sharing: {tlp: AMBER_STRICT}) { id } }",
        json!({}),
    );
    expected.insert(inc2["reportIncident"]["id"].as_str().expect("id").into(), ("incident", all.clone()));
    let adv = hub.gql(
        &token("M3"),
        "mutation { shareAdvisory(input: {cveId: \"CVE-2024-3400\", title: \"PAN-OS GlobalProtect command injection\", affected: [{cpe: \"cpe:2.3:o:paloaltonetworks:pan-os:*:*:*:*:*:*:*:*\", versionEndExcluding: \"11.1.2\"}], cvssVector: \"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\", exploitation: KNOWN_EXPLOITED}, sharing: {tlp: GREEN, anonymous: true}) { id cvssBaseScore } }",
        json!({}),
    );
    assert_eq!(adv["shareAdvisory"]["cvssBaseScore"], json!(9.8));
    expected.insert(adv["shareAdvisory"]["id"].as_str().expect("id").into(), ("advisory", all.clone()));
    let adv2 = hub.gql(
        &token("M1"),
        "mutation($r: [ID!]!) { shareAdvisory(input: {cveId: \"CVE-2023-0001\", title: \"internal product flaw\"}, sharing: {tlp: RED, recipients: $r}) { id } }",
        json!({"r": [m2, m3]}),
    );
    expected.insert(adv2["shareAdvisory"]["id"].as_str().expect("id").into(), ("advisory", only(&["M1", "M2", "M3"])));

    // Member Four's submissions wait for a coordinator: only it and the coordinators
    // see them, on every surface; one is rejected, one approved, one stays anonymous.
    let (pending, v) = share_indicator(&hub, &token("M4"), "192.0.2.41", json!({"tlp": "GREEN"}));
    expected.insert(pending, ("indicator", only(&["M4", "C"])));
    values.push(v);
    let (anon_pending, v) =
        share_indicator(&hub, &token("M4"), "192.0.2.42", json!({"tlp": "CLEAR", "anonymous": true}));
    expected.insert(anon_pending, ("indicator", only(&["M4", "C"])));
    values.push(v);
    let (rejected, v) = share_indicator(&hub, &token("M4"), "192.0.2.43", json!({"tlp": "GREEN"}));
    hub.gql(
        &token("C"),
        "mutation($id: ID!) { reject(id: $id, reason: \"test address\") { __typename } }",
        json!({"id": rejected}),
    );
    expected.insert(rejected, ("indicator", only(&["M4", "C"])));
    values.push(v);
    let (approved, v) = share_indicator(&hub, &token("M4"), "192.0.2.44", json!({"tlp": "AMBER", "anonymous": true}));
    hub.gql(&token("C"), "mutation($id: ID!) { approve(id: $id) { __typename } }", json!({"id": approved}));
    expected.insert(approved.clone(), ("indicator", all.clone()));
    values.push(v);
    let pending_incident = hub.gql(
        &token("M4"),
        "mutation { reportIncident(input: {title: \"Signal fault\", summary: \"under review\", sector: \"rail\", serviceImpact: NONE}, sharing: {tlp: GREEN}) { id status } }",
        json!({}),
    );
    assert_eq!(pending_incident["reportIncident"]["status"], "PENDING");
    expected.insert(
        pending_incident["reportIncident"]["id"].as_str().expect("id").into(),
        ("incident", only(&["M4", "C"])),
    );
    // RED is never queued, even from Member Four.
    let (red4, v) = share_indicator(&hub, &token("M4"), "192.0.2.45", json!({"tlp": "RED", "recipients": [m1]}));
    expected.insert(red4, ("indicator", only(&["M4", "M1"])));
    values.push(v);

    // Sightings are reported on what a member may see; aggregates travel with the item.
    let sight = "mutation($id: ID!) { reportSighting(indicator: $id, count: 2, anonymous: true) { id } }";
    let red_for_m2: Vec<String> = expected
        .iter()
        .filter(|(_, (k, who))| *k == "indicator" && who.contains("M2") && !who.contains("M3"))
        .map(|(id, _)| id.clone())
        .collect();
    for id in &red_for_m2 {
        hub.gql(&token("M2"), sight, json!({"id": id}));
        assert_eq!(hub.gql_error(&token("M3"), sight, json!({"id": id})).0, "NOT_FOUND", "M3 may not see {id}");
    }
    hub.gql(&token("M3"), sight, json!({"id": approved}));

    // Supplier assessments are shared items too: one for everyone, one RED for Member
    // One from Member Two (anonymously), and each viewer's rating uses only those it sees.
    let supplier = hub.gql(
        &token("C"),
        "mutation { addSupplier(input: {legalName: \"Toyota Motor Corporation\", nameJa: \"トヨタ自動車株式会社\", corporateNumber: \"1180301018771\", country: \"JP\"}) { id } }",
        json!({}),
    )["addSupplier"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    let submit =
        "mutation($i: AssessmentInput!, $s: SharingInput!) { submitAssessment(input: $i, sharing: $s) { id } }";
    let assessment = |answer: i32| {
        json!({"supplierId": supplier, "schemeId": "renkei-handbook-6.4", "assessor": "MEMBER", "assurance": "QUESTIONNAIRE_REVIEWED",
               "observed": "2026-11-01T00:00:00Z", "results": [{"criterion": "HB64-01", "answer": answer}], "conclusion": "ok"})
    };
    let a_green = hub.gql(&token("M1"), submit, json!({"i": assessment(3), "s": {"tlp": "GREEN"}}))["submitAssessment"]
        ["id"]
        .as_str()
        .expect("id")
        .to_string();
    expected.insert(a_green, ("assessment", all.clone()));
    // The RED one answers every criterion, so the ratings resting on it change in a way
    // that matters (a rating-change event for its readers alone).
    let mut red_input = assessment(4);
    red_input["results"] =
        json!((1..=11).map(|i| json!({"criterion": format!("HB64-{i:02}"), "answer": 4})).collect::<Vec<_>>());
    let a_red = hub.gql(
        &token("M2"),
        submit,
        json!({"i": red_input, "s": {"tlp": "RED", "recipients": [m1], "anonymous": true}}),
    )["submitAssessment"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    expected.insert(a_red, ("assessment", only(&["M2", "M1"])));

    // Items nobody but their submitter and the coordinators may see are not live, and
    // RED items leave out the coordinators: both derived from the table above.
    let not_live: BTreeSet<String> = expected
        .iter()
        .filter(|(_, (k, who))| *k == "indicator" && *who == only(&["M4", "C"]))
        .map(|(id, _)| id.clone())
        .collect();
    let red_for_coordinators: BTreeSet<String> =
        expected.iter().filter(|(_, (_, who))| !who.contains("C")).map(|(id, _)| id.clone()).collect();

    let anon_leaks = [m3.as_str(), "Member Three Water", m4.as_str(), "Member Four Rail"];
    // An audit checkpoint: every member's feed carries it (a commitment, no count of
    // entries), no peer's.
    let published_checkpoint = hub
        .db(|c| renkei_hub::services::audit::publish_checkpoint(c, &hub.hub.keys, &hub.hub.hub_id, 0))
        .expect("checkpoint");
    assert!(published_checkpoint);
    let checkpoint_id: String = hub.db(|c| {
        use diesel::prelude::*;
        use renkei_hub::store::schema::audit_checkpoints;
        audit_checkpoints::table.select(audit_checkpoints::id).first(c).expect("the checkpoint")
    });
    let mut failures = Vec::new();
    for viewer in &viewers {
        let want = |kind: Option<&str>| -> BTreeSet<String> {
            expected
                .iter()
                .filter(|(_, (k, who))| kind.is_none_or(|kind| *k == kind) && who.contains(viewer.name))
                .map(|(id, _)| id.clone())
                .collect()
        };
        let mut responses = Vec::new();
        let mut check = |surface: &str, got: BTreeSet<String>, want: BTreeSet<String>| {
            if got != want {
                failures.push(format!(
                    "{} via {surface}: sees {} extra {:?}, misses {:?}",
                    viewer.name,
                    got.len(),
                    got.difference(&want).collect::<Vec<_>>(),
                    want.difference(&got).collect::<Vec<_>>()
                ));
            }
        };

        // indicators, paging 2 at a time
        let mut seen = BTreeSet::new();
        let mut after: Option<String> = None;
        loop {
            let data = hub.gql(
                &viewer.token,
                "query($after: String) { indicators(first: 2, after: $after) { nodes { id value createdBy { id name } stix sightings { organizations total } score } pageInfo { hasNextPage endCursor } } }",
                json!({"after": after}),
            );
            seen.extend(ids_of(&data["indicators"]["nodes"]));
            responses.push(data.clone());
            if !data["indicators"]["pageInfo"]["hasNextPage"].as_bool().expect("bool") {
                break;
            }
            after = data["indicators"]["pageInfo"]["endCursor"].as_str().map(str::to_string);
        }
        check("indicators", seen, want(Some("indicator")));
        for (field, kind) in [("techniques", "technique"), ("incidents", "incident"), ("advisories", "advisory")] {
            let data = hub.gql(
                &viewer.token,
                &format!("{{ {field}(first: 100) {{ nodes {{ id createdBy {{ id name }} stix }} }} }}"),
                json!({}),
            );
            check(field, ids_of(&data[field]["nodes"]), want(Some(kind)));
            responses.push(data);
        }
        // node lookup of every id
        let mut seen = BTreeSet::new();
        for id in expected.keys() {
            let data = hub.gql(
                &viewer.token,
                "query($id: ID!) { node(id: $id) { ... on Indicator { id createdBy { id name } } ... on Technique { id createdBy { id name } } ... on Incident { id createdBy { id name } } ... on Advisory { id createdBy { id name } } ... on SupplierAssessment { id createdBy { id name } stix } } }",
                json!({"id": id}),
            );
            if let Some(id) = data["node"]["id"].as_str() {
                seen.insert(id.to_string());
            }
            responses.push(data);
        }
        check("node", seen, want(None));
        // lookup by value
        let data = hub.gql(
            &viewer.token,
            "query($v: [String!]!) { lookup(values: $v) { input matches { id createdBy { id name } sightings { organizations } } } }",
            json!({"v": values}),
        );
        let seen: BTreeSet<String> =
            data["lookup"].as_array().expect("list").iter().flat_map(|r| ids_of(&r["matches"])).collect();
        check("lookup", seen, want(Some("indicator")));
        responses.push(data);
        // lookup answered from the in-memory index alone (no field it lacks selected)
        let data = hub.gql(
            &viewer.token,
            "query($v: [String!]!) { lookup(values: $v) { input matches { id tlp status } } }",
            json!({"v": values}),
        );
        let seen: BTreeSet<String> =
            data["lookup"].as_array().expect("list").iter().flat_map(|r| ids_of(&r["matches"])).collect();
        check("lookup from the index", seen, want(Some("indicator")));
        responses.push(data);
        // the change feed
        let (items, _) = hub.follow_changes(&viewer.token, None, 3);
        let seen: BTreeSet<String> = items
            .iter()
            .filter(|i| i["deleted"] == json!(false) && i["type"] != "rating-change" && i["type"] != "audit-checkpoint")
            .filter_map(|i| i["id"].as_str().map(str::to_string))
            .collect();
        check("changes", seen, want(None));
        let checkpoints: BTreeSet<String> = items
            .iter()
            .filter(|i| i["type"] == "audit-checkpoint")
            .map(|c| match c["object"].get("seq").or(c["object"].get("hash")) {
                Some(_) => format!("{} naming a count", c["id"]),
                None => c["id"].as_str().unwrap_or_default().to_string(),
            })
            .collect();
        check("audit checkpoints", checkpoints, [checkpoint_id.clone()].into());
        // Rating-change events in the feed name only assessments the viewer may read,
        // before and after, and the last one states the viewer's own rating.
        let rating_changes: Vec<&Value> = items.iter().filter(|i| i["type"] == "rating-change").collect();
        let rested_on: BTreeSet<String> = rating_changes
            .iter()
            .flat_map(|c| ["previous", "current"].map(|side| c["object"][side]["inputs"].clone()))
            .flat_map(|inputs| inputs.as_array().cloned().unwrap_or_default())
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect();
        let unreadable: BTreeSet<String> = rested_on.difference(&want(Some("assessment"))).cloned().collect();
        check("rating changes resting on unreadable assessments", unreadable, BTreeSet::new());
        // The rating history is the same events: exactly those the feed delivered.
        let history = hub.gql(
            &viewer.token,
            "query($id: ID!) { supplier(id: $id) { ratingHistory { id } } }",
            json!({"id": supplier}),
        );
        check(
            "ratingHistory",
            ids_of(&history["supplier"]["ratingHistory"]),
            rating_changes.iter().filter_map(|c| c["id"].as_str().map(str::to_string)).collect(),
        );
        responses.push(history);
        // The procurement filter on worsening reads the same events: a supplier is listed
        // exactly when the viewer was told of a change for the worse.
        let worsened = hub.gql(&viewer.token, "{ suppliers(filter: {worsenedWithinDays: 3650}) { id } }", json!({}));
        let told_worse = rating_changes.iter().any(|c| c["object"]["worsened"] == json!(true));
        check(
            "suppliers(worsenedWithinDays)",
            ids_of(&worsened["suppliers"]),
            if told_worse { BTreeSet::from([supplier.clone()]) } else { BTreeSet::new() },
        );
        let last_score = rating_changes.last().map(|c| c["object"]["current"]["score"].clone());
        // The export for firewalls: exactly the live indicators the viewer may see.
        let (status, csv) = hub.get_as(&viewer.token, "/export/indicators?format=csv");
        assert_eq!(status, 200, "{csv}");
        let seen: BTreeSet<String> =
            csv.lines().skip(1).filter_map(|l| l.rsplit(',').next().map(str::to_string)).collect();
        check("export", seen, want(Some("indicator")).difference(&not_live).cloned().collect());
        responses.push(Value::String(csv));
        // A supplier's assessments, and the inputs of the viewer's rating.
        let data = hub.gql(
            &viewer.token,
            "query($id: ID!) { supplier(id: $id) { assessments { id createdBy { id name } stix } rating { score inputs } } }",
            json!({"id": supplier}),
        );
        check("supplier.assessments", ids_of(&data["supplier"]["assessments"]), want(Some("assessment")));
        let inputs: BTreeSet<String> = data["supplier"]["rating"]["inputs"]
            .as_array()
            .expect("inputs")
            .iter()
            .filter_map(|i| i.as_str().map(str::to_string))
            .collect();
        check("rating inputs", inputs, want(Some("assessment")));
        let live_score = data["supplier"]["rating"]["score"].as_f64().map(|s| json!(s.round() as i64));
        check(
            "the last rating change's score",
            BTreeSet::from([format!("{last_score:?}")]),
            BTreeSet::from([format!("{live_score:?}")]),
        );
        responses.push(data);
        // RED items the coordinators are not named on: their existence, for them alone.
        let (status, body) =
            hub.post(Some(&viewer.token), "{ restrictedItems(first: 100) { items { id submitter } } }", json!({}));
        assert_eq!(status, 200);
        if viewer.name == "C" {
            check("restrictedItems", ids_of(&body["data"]["restrictedItems"]["items"]), red_for_coordinators.clone());
        } else {
            assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN", "{}: {body}", viewer.name);
        }
        responses.push(body);
        responses.push(Value::Array(items));
        // Apollo Federation entities: each id by its type, resolved under the same policy.
        let representations: Vec<Value> = expected
            .iter()
            .map(|(id, (kind, _))| {
                let typename = match *kind {
                    "indicator" => "Indicator",
                    "technique" => "Technique",
                    "incident" => "Incident",
                    "advisory" => "Advisory",
                    _ => "SupplierAssessment",
                };
                json!({"__typename": typename, "id": id})
            })
            .collect();
        let data = hub.gql(
            &viewer.token,
            "query($r: [_Any!]!) { _entities(representations: $r) { ... on Indicator { id createdBy { id name } } ... on Technique { id createdBy { id name } } ... on Incident { id createdBy { id name } } ... on Advisory { id createdBy { id name } } ... on SupplierAssessment { id createdBy { id name } } } }",
            json!({"r": representations}),
        );
        check("_entities", ids_of(&data["_entities"]), want(None));
        responses.push(data);

        // Anonymity: only the coordinators and the submitter learn who Members Three
        // and Four are (Member Four's own non-anonymous items name it, so it is checked
        // only by members that cannot see those).
        let text = serde_json::to_string(&responses).expect("json");
        if viewer.name == "M1" || viewer.name == "M2" {
            let hidden: &[&str] = if viewer.name == "M1" { &anon_leaks[..2] } else { &anon_leaks };
            for needle in hidden {
                if text.contains(needle) {
                    failures.push(format!("{} learned the anonymous submitter ({needle})", viewer.name));
                }
            }
        } else if viewer.name == "C" {
            // Coordinators do see who submitted anonymous items.
            assert!(text.contains(&m3) && text.contains(&m4), "the coordinator should see Members Three and Four");
        }
    }
    // Peer hubs, over links of every reach, read the federation feed: published items
    // their link carries, and never an anonymous submitter or a RED recipient.
    use renkei_hub::federation::{self, Direction, PeerInput};
    use renkei_schema::tlp::Tlp;
    let label_of = |id: &str| -> String {
        let q = "query($id: ID!) { node(id: $id) { ... on Indicator { tlp } ... on Technique { tlp } ... on Incident { tlp } ... on Advisory { tlp } ... on SupplierAssessment { tlp } } }";
        hub.gql(&token("C"), q, json!({"id": id}))["node"]["tlp"].as_str().unwrap_or_default().to_string()
    };
    // Shared with everyone on this hub = published and not RED; their labels as shared.
    let published: Vec<(String, String)> =
        expected.iter().filter(|(_, (_, who))| *who == all).map(|(id, _)| (id.clone(), label_of(id))).collect();
    // Every published indicator is seen once more (by Member One), so each has an
    // aggregate of this hub's sightings that a peer might be sent.
    let published_indicators: Vec<(String, String)> =
        published.iter().filter(|(id, _)| expected[id].0 == "indicator").cloned().collect();
    for (id, _) in &published_indicators {
        hub.gql(&token("M1"), sight, json!({"id": id}));
    }
    for (name, max_tlp, community, carried) in [
        ("clear-peer", Tlp::Clear, false, &["CLEAR"][..]),
        ("green-peer", Tlp::Green, true, &["CLEAR", "GREEN"][..]),
        ("amber-peer", Tlp::Amber, true, &["CLEAR", "GREEN", "AMBER"][..]),
    ] {
        let key = renkei_schema::sign::SigningKey::generate().expect("key").0.public_key();
        let input = PeerInput {
            name: name.into(),
            url: "https://peer.invalid".into(),
            public_key: key,
            max_tlp,
            community,
            direction: Direction::Push,
            kinds: federation::CARRIED_KINDS.to_vec(),
            sightings: true,
            token: None,
            ca_pem: None,
            client_cert_sha256: None,
        };
        let (_, peer_token) = hub.db(|c| federation::add_peer(c, &hub.hub.keys, input)).expect("peer");
        let peer_token = peer_token.expect("token");
        // A peer feed's page (`/federation/<feed>`), and what is wrong with the ids in its
        // `field` of the items `keep` lets through, against `want`.
        let read_feed = |feed: &str, field: &str, keep: fn(&Value) -> bool, want: BTreeSet<String>| {
            let (status, body) = hub.get_as(&peer_token, &format!("/federation/{feed}?hub=hub-{name}&limit=1000"));
            assert_eq!(status, 200, "{body}");
            let page: Value = serde_json::from_str(&body).expect("json");
            let seen: BTreeSet<String> = page["items"]
                .as_array()
                .expect("items")
                .iter()
                .filter(|i| keep(i))
                .filter_map(|i| i[field].as_str().map(str::to_string))
                .collect();
            let wrong = (seen != want).then(|| {
                format!(
                    "{name} via the {feed} feed: extra {:?}, misses {:?}",
                    seen.difference(&want).collect::<Vec<_>>(),
                    want.difference(&seen).collect::<Vec<_>>()
                )
            });
            (body, wrong)
        };
        let want: BTreeSet<String> =
            published.iter().filter(|(_, tlp)| carried.contains(&tlp.as_str())).map(|(id, _)| id.clone()).collect();
        let (body, wrong) = read_feed("changes", "id", |i| i["deleted"] == json!(false), want);
        failures.extend(wrong);
        for needle in anon_leaks.iter().chain([m2.as_str()].iter()) {
            if body.contains(needle) {
                failures.push(format!("{name} learned {needle} (an anonymous submitter or a RED recipient)"));
            }
        }
        // The sightings aggregates feed: those of the indicators the link carries (the
        // same policy), naming no organisation.
        let want: BTreeSet<String> = published_indicators
            .iter()
            .filter(|(_, tlp)| carried.contains(&tlp.as_str()))
            .map(|(id, _)| id.clone())
            .collect();
        let (body, wrong) = read_feed("sightings", "indicator", |_| true, want);
        failures.extend(wrong);
        for needle in [m1.as_str(), m2.as_str(), m3.as_str(), m4.as_str()] {
            if body.contains(needle) {
                failures.push(format!("{name} learned a reporting organisation ({needle}) from sightings"));
            }
        }
        // And nothing else: a peer token reads no member surface.
        let (code, _) = hub.gql_error(&peer_token, "{ indicators(first: 1) { nodes { id } } }", json!({}));
        assert_eq!(code, "FORBIDDEN");
    }
    assert!(failures.is_empty(), "TLP leaks on {backend:?}:\n{}", failures.join("\n"));
}

#[test]
fn every_viewer_sees_exactly_what_tlp_allows_on_postgres() {
    leak_test(Backend::Postgres);
}

#[test]
fn every_viewer_sees_exactly_what_tlp_allows_on_sqlite() {
    leak_test(Backend::Sqlite);
}
