//! The hub and the client as the ecosystem's own tools see them (issue 18, "Tests with
//! the real tools"): taxii2-client 2.3.0, stix2-validator 3.3.2, stix2 3.0.2 and
//! misp-stix, run from `tests/interop/` (Python, the virtual environment `ops/test`
//! makes) against real hubs on PostgreSQL. Each script exits non-zero and says why when
//! a tool reports a problem, and each test here fails then. What every member must see
//! is what the hub's GraphQL change feed gives it; the TLP policy itself is not
//! restated here.
//!
//! The scripts are first checked against medallion 3.0.0, the OASIS reference server,
//! so a failure against the hub is the hub's.

use renkei_e2e::interop::{self, Medallion, Session};
use renkei_e2e::{Backend, TempDir, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

const SHARE: &str =
    "mutation($i: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $i, sharing: $s) { id status } }";
/// The STIX types of shared items (`renkei_schema::model::Kind::stix_type`).
const ITEM_TYPES: [&str; 5] =
    ["indicator", "attack-pattern", "incident", "vulnerability", "x-renkei-supplier-assessment"];
const SCRIPT_TIME: Duration = Duration::from_secs(300);

fn discovery(hub: &TestHub) -> String {
    format!("{}/taxii2/", hub.base)
}

fn is_item(id: &str) -> bool {
    ITEM_TYPES.iter().any(|t| id.strip_prefix(t).is_some_and(|rest| rest.starts_with("--")))
}

fn share(hub: &TestHub, token: &str, kind: &str, value: &str, sharing: Value) -> String {
    let data = hub.gql(token, SHARE, json!({"i": [{"type": kind, "value": value}], "s": sharing}));
    data["shareIndicators"][0]["id"].as_str().expect("id").to_string()
}

fn share_technique(hub: &TestHub, token: &str, attack_id: &str, sharing: Value) -> String {
    let q = "mutation($s: SharingInput!, $a: String!) { shareTechnique(input: {attackId: $a, name: \"Exploitation of Remote Services\", narrative: \"seen against an HMI\"}, sharing: $s) { id } }";
    hub.gql(token, q, json!({"s": sharing, "a": attack_id}))["shareTechnique"]["id"].as_str().expect("id").to_string()
}

fn report_incident(hub: &TestHub, token: &str, sharing: Value) -> String {
    let q = "mutation($s: SharingInput!) { reportIncident(input: {title: \"Phishing wave\", summary: \"invoice lures against the billing team\", sector: \"energy\", serviceImpact: NONE, techniqueIds: [\"T1566.001\"]}, sharing: $s) { id } }";
    hub.gql(token, q, json!({"s": sharing}))["reportIncident"]["id"].as_str().expect("id").to_string()
}

fn share_advisory(hub: &TestHub, token: &str, sharing: Value) -> String {
    let q = "mutation($s: SharingInput!) { shareAdvisory(input: {cveId: \"CVE-2024-3400\", title: \"PAN-OS GlobalProtect command injection\", cvssVector: \"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H\", exploitation: KNOWN_EXPLOITED}, sharing: $s) { id } }";
    hub.gql(token, q, json!({"s": sharing}))["shareAdvisory"]["id"].as_str().expect("id").to_string()
}

/// What a member holds according to the hub's GraphQL: its whole change feed applied
/// (tombstones remove), shared items only, with each one's current `modified`.
fn held(hub: &TestHub, token: &str) -> BTreeMap<String, String> {
    let (items, _) = hub.follow_changes(token, None, 500);
    let mut held = BTreeMap::new();
    for item in items {
        let id = item["id"].as_str().expect("id").to_string();
        if !is_item(&id) {
            continue;
        }
        if item["deleted"] == json!(true) {
            held.remove(&id);
        } else {
            let modified = item["object"]["modified"].as_str().unwrap_or_default().to_string();
            held.insert(id, modified);
        }
    }
    held
}

fn held_ids(hub: &TestHub, token: &str) -> BTreeSet<String> {
    held(hub, token).into_keys().collect()
}

fn ids(objects: &Value) -> Vec<String> {
    objects.as_array().into_iter().flatten().filter_map(|o| o["id"].as_str().map(str::to_string)).collect()
}

fn item_ids(objects: &Value) -> BTreeSet<String> {
    ids(objects).into_iter().filter(|id| is_item(id)).collect()
}

fn write_json(dir: &TempDir, name: &str, value: &Value) -> String {
    let path = dir.0.join(name);
    std::fs::write(&path, serde_json::to_vec_pretty(value).expect("json")).expect("write");
    path.display().to_string()
}

/// The pins of `tests/interop/requirements.txt`: name → version.
fn pins() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(interop::script("requirements.txt")).expect("requirements.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, version) = l.split_once("==").unwrap_or_else(|| panic!("not an exact pin: {l}"));
            (name.to_string(), version.to_string())
        })
        .collect()
}

#[test]
fn the_tools_are_the_pinned_versions() {
    let pins = pins();
    for tool in ["taxii2-client", "stix2-validator", "stix2", "misp-stix", "medallion"] {
        assert!(pins.contains_key(tool), "{tool} is not pinned");
    }
    // 3.3.1 ships without its schemas and rejects everything (interop.md §3.4).
    assert_eq!(pins["stix2-validator"], "3.3.2");
    let names: Vec<&str> = pins.keys().map(String::as_str).collect();
    let out = interop::run("versions.py", &names, SCRIPT_TIME).passed();
    for (name, version) in &pins {
        assert_eq!(
            out["versions"][name].as_str(),
            Some(version.as_str()),
            "{name} installed: {}",
            out["versions"][name]
        );
    }
}

/// The guard: stix2-validator 3.3.2 rejects a broken object, counts a warning as a
/// problem, and accepts a valid bundle, so "no errors, no warnings" below means something.
#[test]
fn the_validator_rejects_a_broken_object_and_accepts_a_valid_one() {
    let dir = TempDir::new("renkei-interop");
    let indicator = json!({
        "type": "indicator", "spec_version": "2.1", "id": "indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f",
        "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z",
        "name": "C2 address", "description": "beaconing seen from an HMI", "indicator_types": ["malicious-activity"],
        "pattern": "[ipv4-addr:value = '198.51.100.7']", "pattern_type": "stix", "valid_from": "2026-11-01T00:00:00Z",
        "object_marking_refs": ["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]
    });
    let green = json!({
        "type": "marking-definition", "spec_version": "2.1", "id": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
        "created": "2022-10-01T00:00:00.000Z", "name": "TLP:GREEN",
        "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {"extension_type": "property-extension", "tlp_2_0": "green"}}
    });
    let bundle = |objects: Vec<Value>| json!({"type": "bundle", "id": "bundle--5d0092c5-5f74-4287-9642-33f4c354e56d", "objects": objects});

    let valid = write_json(&dir, "valid.json", &bundle(vec![indicator.clone(), green.clone()]));
    let out = interop::run("validate_bundle.py", &[&valid], SCRIPT_TIME).passed();
    assert_eq!((out["errors"].clone(), out["warnings"].clone()), (json!([]), json!([])));
    assert_eq!(out["objects"], 2);

    let mut broken = indicator.clone();
    broken.as_object_mut().expect("object").remove("valid_from");
    let path = write_json(&dir, "broken.json", &bundle(vec![broken, green.clone()]));
    let out = interop::run("validate_bundle.py", &[&path], SCRIPT_TIME);
    assert_eq!(out.code, Some(1), "{:?}", out.json);
    let errors = out.json["errors"].to_string();
    assert!(errors.contains("'valid_from' is a required property"), "{errors}");

    // A custom property outside an extension-definition is a warning, and a warning fails.
    let mut custom = indicator;
    custom["x_renkei_origin"] = json!("hub-a");
    let path = write_json(&dir, "custom.json", &bundle(vec![custom, green]));
    let out = interop::run("validate_bundle.py", &[&path], SCRIPT_TIME);
    assert_eq!(out.code, Some(1), "{:?}", out.json);
    assert_eq!(out.json["errors"], json!([]));
    assert!(out.json["warnings"].to_string().contains("x_renkei_origin"), "{}", out.json["warnings"]);
}

/// The scripts against medallion 3.0.0: the smoke sequence and the per-member read pass
/// there (with medallion's documented deviations allowed), and the OpenCTI replay catches
/// the object medallion serves twice (microsecond date_added against OpenCTI's
/// millisecond added_after), so it would catch the hub doing the same.
#[test]
fn the_scripts_hold_against_medallion() {
    let medallion = Medallion::start();
    let out =
        interop::run("taxii_smoke.py", &[&medallion.discovery, &medallion.token, "--medallion"], SCRIPT_TIME).passed();
    assert_eq!(out["versions"], 2);
    let kept = out["kept"].as_str().expect("kept").to_string();
    let paged: BTreeSet<String> =
        out["paged_ids"].as_array().expect("ids").iter().filter_map(|i| i.as_str()).map(str::to_string).collect();
    assert_eq!(paged, [out["added"].as_str().expect("added").to_string(), kept.clone()].into());

    let member = format!("member={}", medallion.token);
    let out = interop::run(
        "taxii_tlp.py",
        &[&medallion.discovery, "--member", &member, "--probe", &kept, "--basic-only"],
        SCRIPT_TIME,
    )
    .passed();
    let read = &out["members"]["member"];
    assert_eq!(item_ids(&read["collections"]["shared items"]["objects"]), [kept.clone()].into());
    assert_eq!(read["probes"]["shared items"][&kept]["object"][0], 200);
    assert_eq!(read["probes"]["shared items"]["missing:indicator"]["object"][0], 404);

    let mut pull = Session::start("opencti_pull.py", &[&medallion.discovery, &medallion.token, "--user", "member"]);
    let first = pull.ask("poll", SCRIPT_TIME);
    assert_eq!(first["received"].as_array().map(Vec::len), Some(1), "{first}");
    let last = first["added_last"].as_str().expect("X-TAXII-Date-Added-Last").to_string();
    let again = pull.ask("poll", SCRIPT_TIME);
    let summary = pull.end(SCRIPT_TIME);
    let sub_millisecond =
        last.trim_end_matches('Z').rsplit('.').next().is_some_and(|f| f.len() > 3 && &f[3..] != "000");
    if sub_millisecond {
        assert_eq!(again["received"], first["received"], "medallion serves its last object again");
        assert_eq!(summary.code, Some(1), "the replay reports the doubled object: {}", summary.json);
        assert_eq!(summary.json["duplicates"].as_array().map(Vec::len), Some(1), "{}", summary.json);
    }
}

/// taxii2-client's whole sequence against the hub, as a member: discovery, the API
/// root, the collections, a POST and its status, two versions, filters, the manifest,
/// paging with as_pages, added_after from X-TAXII-Date-Added-Last, DELETE; every page
/// valid for stix2-validator with no warning. The collection holds exactly what the
/// member's GraphQL feed holds, the POST went through the share pipeline (the other
/// member gets the kept indicator) and the DELETE revoked the other.
#[test]
fn taxii2_client_runs_its_whole_sequence_against_the_hub() {
    let hub = TestHub::start(Backend::Postgres);
    let coordinator = hub.add_org("Sector ISAC secretariat", true);
    let m1 = hub.add_org("Member One Power", false);
    let m2 = hub.add_org("Member Two Gas", false);
    let (t1, t2) = (hub.token(&m1, Role::Analyst), hub.token(&m2, Role::Analyst));
    for (i, (kind, value)) in [
        ("IPV4", "203.0.113.10"),
        ("DOMAIN", "c2.taxii.example"),
        ("URL", "http://dl.taxii.example/payload.bin"),
        ("SHA256", "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"),
        ("IPV4", "203.0.113.11"),
        ("DOMAIN", "update.taxii.example"),
    ]
    .into_iter()
    .enumerate()
    {
        let tlp = ["CLEAR", "GREEN", "AMBER", "AMBER_STRICT"][i % 4];
        share(&hub, &t1, kind, value, json!({"tlp": tlp}));
    }
    share_technique(&hub, &t1, "T0866", json!({"tlp": "AMBER"}));
    report_incident(&hub, &t2, json!({"tlp": "GREEN"}));
    share_advisory(&hub, &t2, json!({"tlp": "GREEN"}));
    let hidden = share(&hub, &t2, "IPV4", "203.0.113.99", json!({"tlp": "RED", "recipients": [coordinator]}));
    let before = held_ids(&hub, &t1);
    assert!(!before.contains(&hidden) && before.len() == 9, "{before:?}");

    let out = interop::run(
        "taxii_smoke.py",
        &[&discovery(&hub), &t1, "--collection", "shared items", "--bearer"],
        SCRIPT_TIME,
    )
    .passed();
    let titles: BTreeMap<&str, &Value> = out["collections"]
        .as_array()
        .expect("collections")
        .iter()
        .map(|c| (c["title"].as_str().expect("title"), c))
        .collect();
    assert!(titles.contains_key("indicators"), "collections: {:?}", titles.keys());
    assert_eq!(
        (titles["shared items"]["can_read"].clone(), titles["shared items"]["can_write"].clone()),
        (json!(true), json!(true))
    );
    let added = out["added"].as_str().expect("added").to_string();
    let kept = out["kept"].as_str().expect("kept").to_string();
    let paged: BTreeSet<String> = out["paged_ids"]
        .as_array()
        .expect("ids")
        .iter()
        .filter_map(|i| i.as_str())
        .filter(|i| is_item(i))
        .map(str::to_string)
        .collect();
    let mut want = before.clone();
    want.extend([added.clone(), kept.clone()]);
    assert_eq!(paged, want, "the collection holds exactly what the member holds, and the two indicators it posted");

    let after = held_ids(&hub, &t1);
    assert!(after.contains(&kept) && !after.contains(&added), "the POST is shared, the DELETE revoked");
    let node = hub.gql(
        &t2,
        "query($id: ID!) { node(id: $id) { ... on Indicator { value tlp status } } }",
        json!({"id": kept}),
    );
    assert_eq!(
        node["node"],
        json!({"value": "198.51.100.78", "tlp": "GREEN", "status": "PUBLISHED"}),
        "the other member reads the posted indicator"
    );
    let gone = hub.gql(&t2, "query($id: ID!) { node(id: $id) { __typename } }", json!({"id": added}));
    assert_eq!(gone["node"], Value::Null, "the deleted indicator is gone for the other member");
}

/// Five viewers (a coordinator, three members, a newly admitted member whose shares
/// wait for moderation) read every collection over TAXII with taxii2-client, through
/// Basic and Bearer: each gets exactly what its GraphQL feed holds, nothing naming an
/// anonymous submitter, and a hidden object answers by id exactly like a missing one.
#[test]
fn each_member_reads_over_taxii_exactly_what_graphql_shows_it() {
    use renkei_hub::services::moderation::Trust;
    let hub = TestHub::start(Backend::Postgres);
    let c = hub.add_org("Sector ISAC secretariat", true);
    let m1 = hub.add_org("Member One Power", false);
    let m2 = hub.add_org("Member Two Gas", false);
    let m3 = hub.add_org("Member Three Water", false);
    let m4 = hub.add_org_trusted("Member Four Rail", false, Trust::New);
    let tokens: BTreeMap<&str, String> = [
        ("C", hub.token(&c, Role::Coordinator)),
        ("M1", hub.token(&m1, Role::Analyst)),
        ("M2", hub.token(&m2, Role::Analyst)),
        ("M3", hub.token(&m3, Role::Analyst)),
        ("M4", hub.token(&m4, Role::Analyst)),
    ]
    .into();
    let t = |n: &str| tokens[n].clone();

    let mut created: BTreeMap<&str, String> = BTreeMap::new();
    for (i, tlp) in ["CLEAR", "GREEN", "AMBER", "AMBER_STRICT"].into_iter().enumerate() {
        created.insert(
            ["clear", "green", "amber", "amber-strict"][i],
            share(&hub, &t("M1"), "IPV4", &format!("198.51.100.{}", i + 1), json!({"tlp": tlp})),
        );
    }
    created
        .insert("red-to-m2", share(&hub, &t("M1"), "IPV4", "198.51.100.10", json!({"tlp": "RED", "recipients": [m2]})));
    created.insert(
        "anon-green",
        share(&hub, &t("M3"), "DOMAIN", "anon.taxii.example", json!({"tlp": "GREEN", "anonymous": true})),
    );
    created.insert(
        "anon-red-to-m2",
        share(
            &hub,
            &t("M3"),
            "DOMAIN",
            "anon-red.taxii.example",
            json!({"tlp": "RED", "recipients": [m2], "anonymous": true}),
        ),
    );
    created.insert("technique", share_technique(&hub, &t("M1"), "T0866", json!({"tlp": "AMBER"})));
    created.insert("incident", report_incident(&hub, &t("M2"), json!({"tlp": "AMBER_STRICT"})));
    created.insert("advisory", share_advisory(&hub, &t("M3"), json!({"tlp": "GREEN", "anonymous": true})));
    let pending =
        hub.gql(&t("M4"), SHARE, json!({"i": [{"type": "IPV4", "value": "192.0.2.41"}], "s": {"tlp": "AMBER_STRICT"}}));
    assert_eq!(pending["shareIndicators"][0]["status"], "PENDING");
    created.insert("pending-amber-strict", pending["shareIndicators"][0]["id"].as_str().expect("id").to_string());
    let revoked = share(&hub, &t("M1"), "IPV4", "198.51.100.20", json!({"tlp": "GREEN"}));
    hub.gql(
        &t("M1"),
        "mutation($id: ID!) { revoke(id: $id, reason: \"false positive\") { __typename } }",
        json!({"id": revoked}),
    );
    created.insert("revoked", revoked);
    let tightened = share(&hub, &t("M1"), "IPV4", "198.51.100.21", json!({"tlp": "GREEN"}));
    hub.gql(
        &t("M1"),
        "mutation($id: ID!, $r: [ID!]) { changeLabel(id: $id, tlp: RED, recipients: $r) { __typename } }",
        json!({"id": tightened, "r": [m2]}),
    );
    created.insert("tightened-to-m2", tightened);

    let truth: BTreeMap<&str, BTreeSet<String>> = tokens.iter().map(|(n, tok)| (*n, held_ids(&hub, tok))).collect();
    // The truth is not vacuous: what the policy says, seen through GraphQL.
    let sees = |viewer: &str, item: &str| truth[viewer].contains(&created[item]);
    assert!(sees("M3", "amber-strict") && sees("M2", "red-to-m2") && sees("M2", "anon-red-to-m2"));
    assert!(!sees("M3", "red-to-m2") && !sees("C", "red-to-m2") && !sees("M4", "anon-red-to-m2"));
    assert!(
        !sees("M1", "pending-amber-strict")
            && !sees("M2", "pending-amber-strict")
            && sees("M4", "pending-amber-strict")
    );
    assert!(!sees("M1", "revoked") && !sees("M3", "tightened-to-m2") && sees("M2", "tightened-to-m2"));

    let mut args = vec![discovery(&hub), "--per-request".into(), "2".into()];
    for (name, token) in &tokens {
        args.extend(["--member".into(), format!("{name}={token}")]);
    }
    for id in created.values() {
        args.extend(["--probe".into(), id.clone()]);
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = interop::run("taxii_tlp.py", &args, SCRIPT_TIME).passed();

    // TAXII collections serve published intelligence only: a submission waiting for a
    // coordinator stays out of every collection (its submitter and the coordinators see
    // it in GraphQL's moderation views, not in their SIEM's feed).
    let served: BTreeMap<&str, BTreeSet<String>> = truth
        .iter()
        .map(|(viewer, held)| {
            let mut held = held.clone();
            held.remove(&created["pending-amber-strict"]);
            (*viewer, held)
        })
        .collect();
    let mut failures = Vec::new();
    for (viewer, want) in &served {
        let read = &out["members"][*viewer];
        let shared = &read["collections"]["shared items"];
        let got = item_ids(&shared["objects"]);
        if &got != want {
            failures.push(format!(
                "{viewer} over TAXII: extra {:?}, missing {:?}",
                got.difference(want).collect::<Vec<_>>(),
                want.difference(&got).collect::<Vec<_>>()
            ));
        }
        let indicators = &read["collections"]["indicators"]["objects"];
        for id in item_ids(indicators) {
            if !id.starts_with("indicator--") || !want.contains(&id) {
                failures.push(format!("{viewer}: the indicators collection serves {id}"));
            }
        }
        // Nothing a viewer reads names an anonymous submitter, unless it is that
        // submitter or a coordinator.
        if !["C", "M3"].contains(viewer) {
            let text = read["collections"].to_string();
            for leak in [m3.as_str(), "Member Three Water"] {
                if text.contains(leak) {
                    failures.push(format!("{viewer} reads {leak:?}, the anonymous submitter"));
                }
            }
        }
        // By id: a hidden item answers exactly like one that does not exist.
        for (label, id) in &created {
            let answer = &read["probes"]["shared items"][id];
            let kind = id.split("--").next().expect("type");
            let missing = &read["probes"]["shared items"][format!("missing:{kind}")];
            if want.contains(id) {
                if answer["object"][0] != 200 {
                    failures.push(format!("{viewer}: GET {label} by id: {}", answer["object"][0]));
                }
            } else if answer != missing {
                failures.push(format!("{viewer}: {label} by id answers {answer} but a missing {kind} {missing}"));
            } else if missing["object"][0] != 404 {
                failures.push(format!("{viewer}: a missing {kind} answers {}", missing["object"][0]));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// OpenCTI's TAXII feed ingestion, replayed: polls with `next` and then `added_after`
/// from X-TAXII-Date-Added-Last (as OpenCTI writes it, in milliseconds), a cursor kept
/// across more than a minute while new items are shared, more shared after the walk:
/// every item the member holds arrives once, at its current version, nothing else.
#[test]
fn an_opencti_pull_loses_and_doubles_nothing() {
    let hub = TestHub::start(Backend::Postgres);
    let coordinator = hub.add_org("Sector ISAC secretariat", true);
    let m1 = hub.add_org("Member One Power", false);
    let m2 = hub.add_org("Member Two Gas", false);
    let (t1, t2) = (hub.token(&m1, Role::Analyst), hub.token(&m2, Role::Analyst));
    for i in 0..5 {
        share(&hub, &t1, "IPV4", &format!("203.0.113.{}", 30 + i), json!({"tlp": "GREEN"}));
    }
    let hidden = share(&hub, &t1, "IPV4", "203.0.113.29", json!({"tlp": "RED", "recipients": [coordinator]}));

    let mut pull = Session::start("opencti_pull.py", &[&discovery(&hub), &t2, "--limit", "2", "--auth", "bearer"]);
    let mut polls = vec![pull.ask("poll", SCRIPT_TIME)];
    assert!(
        polls[0]["next"].is_string() && polls[0]["more"] == json!(true),
        "a cursor after the first page: {}",
        polls[0]
    );
    // New items while the cursor waits, and a pause longer than a minute.
    for i in 0..3 {
        share(&hub, &t1, "DOMAIN", &format!("w{i}.pull.example"), json!({"tlp": "AMBER"}));
    }
    std::thread::sleep(Duration::from_secs(65));
    loop {
        let poll = pull.ask("poll", SCRIPT_TIME);
        let done = poll["state"]["current_state_cursor"].is_null();
        polls.push(poll);
        assert!(polls.len() < 40, "the walk never ends: {:?}", polls.last());
        if done {
            break;
        }
    }
    assert!(
        polls.last().expect("a poll")["state"]["added_after_start"].is_string(),
        "added_after stored after the walk"
    );
    // After the walk: new items come by added_after, then nothing.
    for i in 0..2 {
        share(&hub, &t1, "DOMAIN", &format!("late{i}.pull.example"), json!({"tlp": "GREEN"}));
    }
    for _ in 0..3 {
        polls.push(pull.ask("poll", SCRIPT_TIME));
    }
    let last = polls.last().expect("a poll");
    assert_eq!(last["received"], json!([]), "nothing new: {last}");
    let summary = pull.end(SCRIPT_TIME).passed();

    let delivered: Vec<(String, String)> = summary["delivered"]
        .as_array()
        .expect("delivered")
        .iter()
        .map(|p| (p[0].as_str().expect("id").to_string(), p[1].as_str().expect("version").to_string()))
        .collect();
    let want: BTreeSet<(String, String)> = held(&hub, &t2).into_iter().collect();
    let got: BTreeSet<(String, String)> = delivered.iter().cloned().collect();
    assert_eq!(got.len(), delivered.len(), "an object delivered twice");
    assert_eq!(got, want, "every item the member holds, once, at its version");
    assert_eq!(want.len(), 10);
    assert!(!delivered.iter().any(|(id, _)| *id == hidden));
}

/// The TLP label misp-stix gives an item of each label.
fn misp_tag(tlp: &str) -> &'static str {
    match tlp {
        "CLEAR" | "TLP:CLEAR" => "tlp:clear",
        "GREEN" | "TLP:GREEN" => "tlp:green",
        "AMBER" | "TLP:AMBER" => "tlp:amber",
        "AMBER_STRICT" | "TLP:AMBER+STRICT" => "tlp:amber+strict",
        "RED" | "TLP:RED" => "tlp:red",
        other => panic!("no TLP label: {other}"),
    }
}

/// Checks a bundle with the tools: stix2-validator without error or warning; exactly
/// the marking definitions and identities its objects reference; misp-stix imports it
/// without error or warning and every indicator's attribute keeps its `tlp:` tag.
/// `labels`: indicator value → its label.
fn check_bundle_with_the_tools(bundle: &Value, labels: &BTreeMap<String, String>, leaks: &[&str], misp: Misp) {
    let dir = TempDir::new("renkei-interop");
    let path = write_json(&dir, "bundle.json", bundle);
    interop::run("validate_bundle.py", &[&path], SCRIPT_TIME).passed();

    let objects = bundle["objects"].as_array().expect("objects");
    let mut referenced = BTreeSet::new();
    for o in objects {
        for r in o["object_marking_refs"].as_array().into_iter().flatten() {
            referenced.insert(r.as_str().expect("ref").to_string());
        }
        if let Some(r) = o["created_by_ref"].as_str() {
            referenced.insert(r.to_string());
        }
        for ext in o["extensions"].as_object().into_iter().flat_map(|e| e.keys()) {
            if ext.starts_with("extension-definition--") && o["type"] != "marking-definition" {
                referenced.insert(ext.clone());
            }
        }
    }
    let supporting: BTreeSet<String> = objects
        .iter()
        .filter(|o| {
            ["marking-definition", "identity", "extension-definition"].contains(&o["type"].as_str().unwrap_or(""))
        })
        .filter_map(|o| o["id"].as_str().map(str::to_string))
        .collect();
    let unresolved: Vec<&String> = referenced.iter().filter(|r| !supporting.contains(*r)).collect();
    assert!(unresolved.is_empty(), "referenced but not in the bundle: {unresolved:?}");
    let unreferenced: Vec<&String> = supporting.iter().filter(|s| !referenced.contains(*s)).collect();
    assert!(unreferenced.is_empty(), "in the bundle but referenced by nothing: {unreferenced:?}");
    let text = bundle.to_string();
    for leak in leaks {
        assert!(!text.contains(leak), "the bundle names {leak:?}, an anonymous submitter");
    }

    if misp == Misp::HoldsKindsMispHasNot {
        return;
    }
    let misp = interop::run("misp_stix.py", &[&path], SCRIPT_TIME).passed();
    let mut attributes: Vec<&Value> = misp["attributes"].as_array().expect("attributes").iter().collect();
    for o in misp["objects"].as_array().expect("objects") {
        attributes.extend(o["attributes"].as_array().expect("attributes"));
    }
    for (value, tlp) in labels {
        let tag = misp_tag(tlp);
        let found: Vec<&&Value> = attributes.iter().filter(|a| a["value"] == json!(value)).collect();
        assert!(!found.is_empty(), "misp-stix made no attribute of {value}: {}", misp["attributes"]);
        for a in found {
            let tags: Vec<&str> = a["tags"].as_array().expect("tags").iter().filter_map(|t| t.as_str()).collect();
            let tlp_tags: Vec<&&str> = tags.iter().filter(|t| t.starts_with("tlp:")).collect();
            assert_eq!(tlp_tags, vec![&tag], "{value} ({tlp}) in MISP: {tags:?}; event tags {}", misp["event_tags"]);
        }
    }
}

/// The bundle checks accept a correct bundle (so their failures on the hub's are the
/// hub's): the five TLP 2.0 markings, each referenced by an indicator, the author's
/// identity; and they refuse a marking nothing references (misp-stix would tag the
/// whole event with it).
#[test]
fn the_bundle_checks_accept_a_correct_bundle_and_refuse_an_unreferenced_marking() {
    let markings = [
        ("94868c89-83c2-464b-929b-a1a8aa3c8487", "CLEAR", "clear"),
        ("bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "GREEN", "green"),
        ("55d920b0-5e8b-4f79-9ee9-91f868d9b421", "AMBER", "amber"),
        ("939a9414-2ddd-4d32-a0cd-375ea402b003", "AMBER+STRICT", "amber+strict"),
        ("e828b379-4e03-4974-9ac4-e53a884c97c1", "RED", "red"),
    ];
    let author = "identity--0c6e3a6c-4c47-4d6b-b2a5-2d1f3c7b5e10";
    let mut objects = vec![json!({
        "type": "identity", "spec_version": "2.1", "id": author, "created": "2026-11-01T00:00:00.000Z",
        "modified": "2026-11-01T00:00:00.000Z", "name": "Example Sector ISAC", "identity_class": "organization"
    })];
    let mut labels = BTreeMap::new();
    for (i, (uuid, name, value)) in markings.iter().enumerate() {
        let marking = format!("marking-definition--{uuid}");
        objects.push(json!({
            "type": "marking-definition", "spec_version": "2.1", "id": marking, "created": "2022-10-01T00:00:00.000Z",
            "name": format!("TLP:{name}"),
            "extensions": {"extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {"extension_type": "property-extension", "tlp_2_0": value}}
        }));
        let ip = format!("198.51.100.{}", i + 1);
        objects.push(json!({
            "type": "indicator", "spec_version": "2.1", "id": format!("indicator--{}", uuid::Uuid::new_v4()),
            "created": "2026-11-01T00:00:00.000Z", "modified": "2026-11-01T00:00:00.000Z", "created_by_ref": author,
            "name": format!("C2 address {ip}"), "description": "beaconing", "indicator_types": ["malicious-activity"],
            "pattern": format!("[ipv4-addr:value = '{ip}']"), "pattern_type": "stix", "valid_from": "2026-11-01T00:00:00Z",
            "object_marking_refs": [marking]
        }));
        labels.insert(ip, format!("TLP:{name}"));
    }
    let bundle = json!({"type": "bundle", "id": format!("bundle--{}", uuid::Uuid::new_v4()), "objects": objects});
    check_bundle_with_the_tools(&bundle, &labels, &["Member Three Water"], Misp::Takes);

    // Without its RED indicator the RED marking is referenced by nothing.
    let mut unreferenced = bundle.clone();
    let objects = unreferenced["objects"].as_array_mut().expect("objects");
    objects.retain(|o| o["pattern"] != json!("[ipv4-addr:value = '198.51.100.5']"));
    labels.remove("198.51.100.5");
    let refused = std::panic::catch_unwind(|| check_bundle_with_the_tools(&unreferenced, &labels, &[], Misp::Takes));
    let message = refused.expect_err("an unreferenced marking is refused");
    let message = message.downcast_ref::<String>().cloned().unwrap_or_default();
    assert!(message.contains("referenced by nothing") && message.contains("e828b379"), "{message}");
}

/// Items of every label and kind, shared as the test's reader (M2) may read them;
/// returns the reader's token, the indicator labels, and what would name the anonymous
/// submitter.
fn items_for_export(hub: &TestHub) -> (String, BTreeMap<String, String>, Vec<String>) {
    let m1 = hub.add_org("Member One Power", false);
    let m2 = hub.add_org("Member Two Gas", false);
    let m3 = hub.add_org("Member Three Water", false);
    let (t1, t2, t3) = (hub.token(&m1, Role::Analyst), hub.token(&m2, Role::Analyst), hub.token(&m3, Role::Analyst));
    let mut labels = BTreeMap::new();
    let mut c2 = String::new();
    for (kind, value, sharing) in [
        ("IPV4", "198.51.100.1", json!({"tlp": "CLEAR"})),
        ("DOMAIN", "c2.export.example", json!({"tlp": "GREEN"})),
        ("URL", "http://dl.export.example/payload.bin", json!({"tlp": "AMBER"})),
        ("SHA256", "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8", json!({"tlp": "AMBER_STRICT"})),
        ("IPV4", "198.51.100.2", json!({"tlp": "RED", "recipients": [m2]})),
    ] {
        let id = share(hub, &t1, kind, value, sharing.clone());
        if value == "c2.export.example" {
            c2 = id;
        }
        labels.insert(value.to_string(), sharing["tlp"].as_str().expect("tlp").to_string());
    }
    share(hub, &t3, "DOMAIN", "anon.export.example", json!({"tlp": "GREEN", "anonymous": true}));
    labels.insert("anon.export.example".into(), "GREEN".into());
    share_technique(hub, &t1, "T0866", json!({"tlp": "AMBER"}));
    // An incident naming the GREEN indicator: the bundle relates them.
    let q = "mutation($s: SharingInput!, $i: [ID!]) { reportIncident(input: {title: \"C2 beacons\", summary: \"beacons to c2.export.example\", sector: \"energy\", serviceImpact: NONE, indicatorIds: $i}, sharing: $s) { id } }";
    hub.gql(&t1, q, json!({"s": {"tlp": "AMBER_STRICT"}, "i": [c2.clone()]}));
    // Member Two saw it three times: the bundle carries the sighting (not who saw it).
    hub.gql(&t2, "mutation($i: ID!) { reportSighting(indicator: $i, count: 3) { __typename } }", json!({"i": c2}));
    share_advisory(hub, &t3, json!({"tlp": "GREEN", "anonymous": true}));
    (t2, labels, vec![m3, "Member Three Water".into()])
}

/// The hub's `GET /export/stix` (every kind, then `kind=indicator`): only what the
/// member may read, valid for stix2-validator with no warning, exactly the markings and
/// identities it references, and misp-stix keeps every indicator's TLP label.
#[test]
fn the_hubs_stix_export_passes_the_validator_and_keeps_its_tlp_in_misp() {
    let hub = TestHub::start(Backend::Postgres);
    let (reader, labels, leaks) = items_for_export(&hub);
    let (status, body) = hub.get_as(&reader, "/export/stix");
    assert_eq!(status, 200, "{body}");
    let bundle: Value = serde_json::from_str(&body).expect("a JSON bundle");
    let leaks: Vec<&str> = leaks.iter().map(String::as_str).collect();
    let exported = item_ids(&bundle["objects"]);
    let readable = held_ids(&hub, &reader);
    let unreadable: Vec<&String> = exported.difference(&readable).collect();
    assert!(unreadable.is_empty(), "the bundle holds items the member may not read: {unreadable:?}");
    for kind in ["indicator--", "attack-pattern--", "incident--", "vulnerability--"] {
        assert!(exported.iter().any(|id| id.starts_with(kind)), "no {kind} in the bundle: {exported:?}");
    }
    let links: Vec<&Value> =
        bundle["objects"].as_array().expect("objects").iter().filter(|o| o["type"] == "relationship").collect();
    assert_eq!(links.len(), 1, "the incident is related to the indicator it names: {links:?}");
    assert!(links[0]["source_ref"].as_str().is_some_and(|s| s.starts_with("incident--")));
    assert!(exported.contains(links[0]["target_ref"].as_str().expect("target")));
    let sightings: Vec<&Value> =
        bundle["objects"].as_array().expect("objects").iter().filter(|o| o["type"] == "sighting").collect();
    assert_eq!(sightings.len(), 1, "{sightings:?}");
    assert_eq!(
        (sightings[0]["count"].clone(), sightings[0]["sighting_of_ref"].clone()),
        (json!(3), links[0]["target_ref"].clone())
    );
    assert!(sightings[0].get("where_sighted_refs").is_none(), "the reporter is not named");
    check_bundle_with_the_tools(&bundle, &labels, &leaks, Misp::HoldsKindsMispHasNot);

    let (status, body) = hub.get_as(&reader, "/export/stix?kind=indicator,technique,advisory");
    assert_eq!(status, 200, "{body}");
    let bundle: Value = serde_json::from_str(&body).expect("a JSON bundle");
    check_bundle_with_the_tools(&bundle, &labels, &leaks, Misp::Takes);

    let (status, body) = hub.get_as(&reader, "/export/stix?kind=indicator");
    assert_eq!(status, 200, "{body}");
    let bundle: Value = serde_json::from_str(&body).expect("a JSON bundle");
    let exported = item_ids(&bundle["objects"]);
    assert!(exported.iter().all(|id| id.starts_with("indicator--")) && exported.len() == labels.len(), "{exported:?}");
    check_bundle_with_the_tools(&bundle, &labels, &leaks, Misp::Takes);
}

/// Whether misp-stix can take a bundle: MISP has no incident object, and misp-stix
/// 2026.10.12 reports STIX incident objects (a stub SDO its stix2 library does not load)
/// as errors ("Unknown STIX object type: incident"), so a bundle for MISP is exported
/// with the kinds MISP holds (`kind=indicator,technique,advisory`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Misp {
    Takes,
    HoldsKindsMispHasNot,
}

/// The client's `renkei export --format stix` (what the command runs: the held live
/// indicators, exported), after a sync: the same checks.
#[test]
fn the_clients_stix_export_passes_the_validator_and_keeps_its_tlp_in_misp() {
    use renkei_client::{csirt, hub_api::HubApi, register, sync};
    let hub = TestHub::start(Backend::Postgres);
    let (reader, labels, leaks) = items_for_export(&hub);
    let dir = TempDir::new("renkei-client-test");
    let mut conn = register::open(&dir.0.join("register.db")).expect("register");
    let api = HubApi::new(&hub.base, reader, None).expect("api");
    sync::init(&mut conn, &api, &hub.base, None).expect("init");
    sync::sync(&mut conn, &api, &sync::SyncOptions { page_size: 100, max_pages: None }, &mut |_| {}).expect("sync");
    let held = csirt::active_indicators(&mut conn, renkei_schema::score::DEFAULT_ACTIVE_MIN_SCORE).expect("held");
    assert_eq!(held.len(), labels.len());
    let mut out = Vec::new();
    csirt::export(&held, "stix", &mut out).expect("export");
    let bundle: Value = serde_json::from_slice(&out).expect("a JSON bundle");
    let leaks: Vec<&str> = leaks.iter().map(String::as_str).collect();
    check_bundle_with_the_tools(&bundle, &labels, &leaks, Misp::Takes);
}
