//! The member client's sync against a real hub on loopback: paged, resumable after a
//! stop at any page with nothing lost or doubled, tombstones applied, every object's
//! signature verified against the key pinned at `init`, and a forged object refused.

use std::collections::BTreeMap;

use renkei_client::{hub_api::HubApi, register, sync};
use renkei_e2e::{Backend, TempDir, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

const SHARE: &str =
    "mutation($i: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $i, sharing: $s) { id } }";

/// What the member holds according to the hub: every live item of its whole feed, by
/// id, with its revision.
fn hub_view(hub: &TestHub, token: &str) -> BTreeMap<String, i64> {
    let (items, _) = hub.follow_changes(token, None, 1000);
    let mut held = BTreeMap::new();
    for item in items {
        let id = item["id"].as_str().expect("id").to_string();
        if item["deleted"] == json!(true) {
            held.remove(&id);
        } else {
            held.insert(id, item["version"].as_i64().expect("version"));
        }
    }
    held
}

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
    assert_eq!(held, hub_view(&hub, &t1));
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
    assert_eq!(register_view(&mut conn), hub_view(&hub, &t1));

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
