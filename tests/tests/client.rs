//! The member client against a real hub on loopback: the sync (paged, resumable after a
//! stop at any page with nothing lost or doubled, tombstones applied, every object's
//! signature verified against the key pinned at `init`, a forged object refused), the
//! CSIRT exports and `match`, and the asset import.

use std::collections::BTreeMap;

use renkei_client::{hub_api::HubApi, register, sync};
use renkei_e2e::{Backend, TempDir, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

const SHARE: &str =
    "mutation($i: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $i, sharing: $s) { id } }";

fn register_view(conn: &mut diesel::sqlite::SqliteConnection) -> BTreeMap<String, i64> {
    register::all_items(conn).expect("items").into_iter().map(|r| (r.id, r.revision)).collect()
}

#[test]
fn sync_resumes_applies_tombstones_and_refuses_forgeries() {
    let hub = TestHub::start(Backend::Postgres);
    let m1 = hub.add_org("Member One", false);
    let m2 = hub.add_org("Member Two", false);
    let coord = hub.add_org("Secretariat", true);
    let (t1, t2) = (hub.token(&m1, Role::Analyst), hub.token(&m2, Role::Analyst));
    for batch in 0..5 {
        let input: Vec<Value> =
            (0..500).map(|i| json!({"type": "DOMAIN", "value": format!("h{batch}-{i}.sync.example")})).collect();
        hub.gql(&t2, SHARE, json!({"i": input, "s": {"tlp": "GREEN"}}));
    }
    // Something Member One may not hold: RED for the secretariat only.
    hub.gql(
        &t2,
        SHARE,
        json!({"i": [{"type": "DOMAIN", "value": "secret.sync.example"}], "s": {"tlp": "RED", "recipients": [coord]}}),
    );

    let dir = TempDir::new("renkei-client-test");
    let mut conn = register::open(&dir.0.join("register.db")).expect("register");
    let api = HubApi::new(&hub.base, t1.clone(), None).expect("api");
    sync::init(&mut conn, &api, &hub.base, None).expect("init");
    // Plain HTTP is refused for anything but loopback, and an empty token at once.
    assert!(HubApi::new("http://hub.example:8480", t1.clone(), None).is_err());
    assert!(HubApi::new(&hub.base, " ".into(), None).is_err());

    // Stop after two pages (as a kill between pages would), then resume.
    let options = sync::SyncOptions { page_size: 700, max_pages: Some(2) };
    let first = sync::sync(&mut conn, &api, &options, &mut |_| {}).expect("sync");
    assert_eq!((first.pages, first.stored, first.has_more), (2, 1400, true));
    assert_eq!(register_view(&mut conn).len(), 1400);
    let mut pages = Vec::new();
    let rest = sync::sync(&mut conn, &api, &sync::SyncOptions { page_size: 700, max_pages: None }, &mut |r| {
        pages.push(r.stored)
    })
    .expect("sync");
    assert!(!rest.has_more && rest.refused.is_empty());
    assert_eq!(pages, vec![700, 1100], "progress after every applied page");
    let held = register_view(&mut conn);
    assert_eq!(held.len(), 2500, "nothing lost or doubled, nothing it may not hold");
    assert_eq!(held, hub.hub_view(&t1));
    // Stored as signed: each row verifies on its own against the pinned key.
    let key = register::get(&mut conn, register::HUB_KEY).expect("get").expect("key");
    for row in register::all_items(&mut conn).expect("items").iter().take(50) {
        renkei_schema::sign::verify_object(&key, row.stix.as_bytes(), &row.signature).expect("verifies");
    }

    // A tightened label takes an item away (a tombstone); a new version replaces one.
    let first_id = held.keys().next().expect("an item").clone();
    let relabel = "mutation($id: ID!, $r: [ID!]) { changeLabel(id: $id, tlp: RED, recipients: $r) { id } }";
    hub.gql(&t2, relabel, json!({"id": first_id, "r": [coord]}));
    let again = sync::sync(&mut conn, &api, &options, &mut |_| {}).expect("sync");
    assert_eq!((again.deleted, again.stored), (1, 0));
    assert!(!register_view(&mut conn).contains_key(&first_id));
    assert_eq!(register_view(&mut conn), hub.hub_view(&t1));

    // A forged object (its stored text changed behind the hub's back) is refused and
    // reported; the rest of the page is applied.
    let victim = held.keys().nth(1).expect("an item").clone();
    let label = "mutation($id: ID!) { changeLabel(id: $id, tlp: AMBER) { id } }";
    hub.gql(&t2, label, json!({"id": victim}));
    hub.gql(&t2, SHARE, json!({"i": [{"type": "DOMAIN", "value": "after.sync.example"}], "s": {"tlp": "GREEN"}}));
    hub.db(|c| {
        use diesel::prelude::*;
        // The AMBER marking swapped for GREEN's in the text the hub serves.
        diesel::sql_query(format!(
            "UPDATE object_versions SET stix = replace(stix, 'marking-definition--55d920b0', 'marking-definition--bab4a63c') WHERE object_id = '{victim}' AND revision = 2"
        ))
        .execute(c)
        .expect("forge");
    });
    let forged = sync::sync(&mut conn, &api, &options, &mut |_| {}).expect("sync");
    assert_eq!(forged.refused.len(), 1, "{:?}", forged.refused);
    assert_eq!(forged.refused[0].0, victim);
    assert!(forged.refused[0].1.contains("signature"), "{:?}", forged.refused);
    assert_eq!(forged.stored, 1, "the genuine new item is applied");
    assert_eq!(register_view(&mut conn).get(&victim), Some(&1), "the forged version is not stored");
}

/// The CSIRT's exports of the live indicators held, each parsed back, and `match` over a
/// log with defanged and embedded values.
#[test]
fn exports_parse_back_and_match_finds_held_values() {
    use renkei_client::csirt;
    let hub = TestHub::start(Backend::Sqlite);
    let m1 = hub.add_org("Member One", false);
    let t1 = hub.token(&m1, Role::Analyst);
    let input = json!([
        {"type": "DOMAIN", "value": "evil.sync.example"},
        {"type": "IPV4", "value": "203.0.113.9"},
        {"type": "URL", "value": "http://dl.sync.example/payload.bin"},
        {"type": "SHA256", "value": "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"},
        {"type": "FILENAME", "value": "dropper.exe"}
    ]);
    hub.gql(&t1, SHARE, json!({"i": input, "s": {"tlp": "GREEN"}}));
    let dir = TempDir::new("renkei-client-test");
    let mut conn = register::open(&dir.0.join("register.db")).expect("register");
    let api = HubApi::new(&hub.base, t1.clone(), None).expect("api");
    sync::init(&mut conn, &api, &hub.base, None).expect("init");
    sync::sync(&mut conn, &api, &sync::SyncOptions { page_size: 100, max_pages: None }, &mut |_| {}).expect("sync");
    let held = csirt::active_indicators(&mut conn, renkei_schema::score::DEFAULT_ACTIVE_MIN_SCORE).expect("held");
    assert_eq!(held.len(), 5);
    let export = |format: &str| {
        let mut out = Vec::new();
        csirt::export(&held, format, &mut out).expect("export");
        String::from_utf8(out).expect("utf-8")
    };
    let values: Vec<String> = held.iter().map(|h| h.value.clone()).collect();
    assert_eq!(export("plain").lines().map(str::to_string).collect::<Vec<_>>(), values);
    let csv = export("csv");
    let rows: Vec<Vec<&str>> = csv.lines().skip(1).map(|l| l.split(',').collect()).collect();
    assert_eq!(rows.len(), 5);
    assert!(rows
        .iter()
        .all(|r| r.len() == 6 && r[2] == "TLP:GREEN" && r[3] == "50" && r[5].starts_with("indicator--")));
    let bundle: Value = serde_json::from_str(&export("stix")).expect("a JSON bundle");
    assert_eq!(bundle["type"], "bundle");
    let ids: Vec<&str> =
        bundle["objects"].as_array().expect("objects").iter().filter_map(|o| o["id"].as_str()).collect();
    let items: Vec<&str> = ids.iter().copied().filter(|id| id.starts_with("indicator--")).collect();
    assert_eq!(items, held.iter().map(|h| h.id.as_str()).collect::<Vec<_>>());
    // Beside the items, exactly what they reference: their marking, renkei's extension
    // definition and its author, the submitter's identity.
    assert!(ids.contains(&"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"), "{ids:?}");
    assert!(ids.contains(&renkei_schema::stix::EXTENSION_ID) && ids.contains(&renkei_schema::stix::RENKEI_IDENTITY));
    assert_eq!(ids.len(), items.len() + 4, "{ids:?}");
    assert!(csirt::export(&held, "suricata", &mut Vec::new()).is_err(), "rules and lists need a folder");
    let files = csirt::suricata_files(&held);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, vec!["renkei.rules", "renkei-sha256-green.list"]);
    assert_eq!(files[1].1, "5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8\n");
    let rules = &files[0].1;
    let alerts: Vec<&str> = rules.lines().filter(|l| l.starts_with("alert ")).collect();
    assert_eq!(alerts.len(), 6, "three for the domain, one each for the address, the URL and the hash list: {rules}");
    let mut sids = std::collections::HashSet::new();
    for rule in &alerts {
        assert!(rule.ends_with("rev:1;)"), "{rule}");
        let sid = rule.split("sid:").nth(1).and_then(|s| s.split(';').next()).expect("sid");
        assert!(sids.insert(sid.to_string()), "sids are distinct");
    }
    assert!(rules.lines().any(|l| l.starts_with("# filename dropper.exe")));
    assert!(csirt::export(&held, "pdf", &mut Vec::new()).is_err());

    let log = "2026-11-26 query evil[.]sync.example from 10.0.0.5\n\
               nothing here\n\
               conn dst=203.0.113.9:443 url=\"http://dl.sync.example/payload.bin\"\n\
               EVIL.SYNC.EXAMPLE again\n";
    let matches = csirt::match_lines(&held, &mut log.as_bytes()).expect("match");
    let lines: Vec<usize> = matches.iter().map(|m| m.line).collect();
    assert_eq!(lines, vec![1, 3, 4]);
    let third: Vec<&str> = matches[1].hits.iter().map(|(v, _)| v.as_str()).collect();
    assert!(third.contains(&"http://dl.sync.example/payload.bin"), "{third:?}");
}

/// Assets from CSV and JSON: checked whole, every bad row named, nothing half-stored; a
/// re-import updates by name.
#[test]
fn assets_import_whole_or_not_at_all() {
    use renkei_client::{assets, flags};
    let dir = TempDir::new("renkei-client-test");
    let mut conn = register::open(&dir.0.join("register.db")).expect("register");
    let csv = dir.0.join("assets.csv");
    std::fs::write(
        &csv,
        "name,kind,services,criticality,vendor,product,cpe,ics_asset_types,exposure\n\
         Substation HMI,ot_device,Power distribution;Billing,5,Acme,HMI,cpe:2.3:h:acme:hmi:2.1:*:*:*:*:*:*:*,A0002,control\n\
         \"Historian, plant 2\",system,Power distribution,4,,,,A0006,corporate\n",
    )
    .expect("write");
    assert_eq!(flags::import_assets(&mut conn, assets::read_file(&csv).expect("read")).expect("import"), 2);
    let all = assets::list_all(&mut conn).expect("list");
    assert_eq!(all.iter().map(|a| a.name.as_str()).collect::<Vec<_>>(), ["Historian, plant 2", "Substation HMI"]);
    let hmi = &all[1];
    assert_eq!((hmi.cpe_vendor.as_deref(), hmi.cpe_product.as_deref()), (Some("acme"), Some("hmi")));
    assert_eq!(hmi.services, r#"["Power distribution","Billing"]"#);

    let bad = dir.0.join("bad.csv");
    std::fs::write(
        &bad,
        "name,kind,cpe,criticality\nA,robot,,3\nB,system,cpe:2.3:x:broken,3\nC,system,,9\nD,data,,2\n",
    )
    .expect("write");
    let err = flags::import_assets(&mut conn, assets::read_file(&bad).expect("read")).expect_err("refused");
    let text = format!("{err:#}");
    for row in ["row 2: kind", "row 3: cpe", "row 4: criticality"] {
        assert!(text.contains(row), "{text}");
    }
    assert!(text.contains("何も取り込んでいません"), "{text}");
    assert_eq!(assets::list_all(&mut conn).expect("list").len(), 2, "nothing of the bad file is stored");

    let json_file = dir.0.join("assets.json");
    std::fs::write(
        &json_file,
        r#"[{"name": "Substation HMI", "kind": "OT device", "criticality": 4, "suppliers": ["supplier--1"]}]"#,
    )
    .expect("write");
    assert_eq!(flags::import_assets(&mut conn, assets::read_file(&json_file).expect("read")).expect("import"), 1);
    let all = assets::list_all(&mut conn).expect("list");
    assert_eq!(all.len(), 2, "updated by name, not added");
    assert_eq!((all[1].kind.as_str(), all[1].criticality), ("ot_device", 4));
    std::fs::write(&json_file, r#"[{"name": "X", "kind": "system", "colour": "red"}]"#).expect("write");
    assert!(assets::read_file(&json_file).is_err(), "unknown keys are refused");
}

/// A first sync builds the register's id index only when it finishes; one stopped half
/// way still shows (and later keeps) only the latest version of each item, and applies
/// the tombstones that came in the meantime.
#[test]
fn a_stopped_first_sync_settles_versions_and_tombstones_when_it_finishes() {
    let hub = TestHub::start(Backend::Postgres);
    let m1 = hub.add_org("Member One", false);
    let m2 = hub.add_org("Member Two", false);
    let coord = hub.add_org("Secretariat", true);
    let (t1, t2) = (hub.token(&m1, Role::Analyst), hub.token(&m2, Role::Analyst));
    let input: Vec<Value> =
        (0..30).map(|i| json!({"type": "DOMAIN", "value": format!("f{i}.first.example")})).collect();
    let ids = renkei_e2e::field_strings(
        &hub.gql(&t2, SHARE, json!({"i": input, "s": {"tlp": "GREEN"}}))["shareIndicators"],
        "id",
    );

    let dir = TempDir::new("renkei-client-test");
    let mut conn = register::open(&dir.0.join("register.db")).expect("register");
    let api = HubApi::new(&hub.base, t1.clone(), None).expect("api");
    sync::init(&mut conn, &api, &hub.base, None).expect("init");
    let first = sync::sync(&mut conn, &api, &sync::SyncOptions { page_size: 10, max_pages: Some(2) }, &mut |_| {})
        .expect("sync");
    assert_eq!(first.stored, 20);
    assert!(register::get(&mut conn, register::FIRST_SYNC).expect("get").is_some(), "still a first sync");

    // Meanwhile: a new version of an item already held, and one taken away.
    let held_before = register_view(&mut conn);
    let (revised, removed) = (&ids[0], &ids[1]);
    assert!(held_before.contains_key(revised) && held_before.contains_key(removed));
    let correct = "mutation($id: ID!) { correct(id: $id, correction: {description: \"now a C2\"}) { __typename } }";
    hub.gql(&t2, correct, json!({"id": revised}));
    let relabel = "mutation($id: ID!, $r: [ID!]) { changeLabel(id: $id, tlp: RED, recipients: $r) { id } }";
    hub.gql(&t2, relabel, json!({"id": removed, "r": [coord]}));

    // One more page: the register already reads as the hub's view of that much.
    sync::sync(&mut conn, &api, &sync::SyncOptions { page_size: 10, max_pages: Some(1) }, &mut |_| {}).expect("sync");
    let rest =
        sync::sync(&mut conn, &api, &sync::SyncOptions { page_size: 10, max_pages: None }, &mut |_| {}).expect("sync");
    assert!(!rest.has_more);
    assert!(register::get(&mut conn, register::FIRST_SYNC).expect("get").is_none(), "finished");
    let held = register_view(&mut conn);
    assert_eq!(held, hub.hub_view(&t1));
    assert_eq!(held.get(revised), Some(&2));
    assert!(!held.contains_key(removed));
    assert_eq!(held.len(), 29);
    // The id index exists again: a duplicate id is refused.
    let row = register::all_items(&mut conn).expect("items").remove(0);
    use diesel::RunQueryDsl;
    assert!(diesel::insert_into(renkei_client::tables::items::table).values(&row).execute(&mut conn).is_err());
}
