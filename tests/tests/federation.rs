//! Federation between three real hubs on loopback, each on its own PostgreSQL
//! database: A ↔ B (same community, trusted for AMBER), B ↔ C (same community, GREEN)
//! and A ↔ C (another community, CLEAR only), which closes a cycle.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use renkei_e2e::{certs, Backend, TestHub};
use renkei_hub::auth::Role;
use renkei_hub::federation::{self, Direction, PeerInput, PeerPage};
use renkei_schema::tlp::Tlp;
use serde_json::json;

fn start() -> TestHub {
    TestHub::start_with(Backend::Postgres, |c| c.federation_poll_ms = 100)
}

fn input(name: &str, of: &TestHub, max_tlp: Tlp, community: bool) -> PeerInput {
    renkei_e2e::peer_input(name, of, max_tlp, community)
}

/// Links x and y both ways: each adds the other, then gets the token the other issued.
fn link(x: (&str, &TestHub), y: (&str, &TestHub), max_tlp: Tlp, community: bool) {
    renkei_e2e::link_both_ways(x, y, max_tlp, community)
}

/// The indicator values a hub holds and may show its members, by label.
fn held(hub: &TestHub, token: &str) -> BTreeMap<String, String> {
    let data = hub.gql(token, "{ indicators(first: 100) { nodes { value tlp } } }", json!({}));
    data["indicators"]["nodes"]
        .as_array()
        .expect("indicators")
        .iter()
        .map(|i| {
            (i["value"].as_str().unwrap_or_default().to_string(), i["tlp"].as_str().unwrap_or_default().to_string())
        })
        .collect()
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool, status: impl Fn() -> String) {
    let t0 = Instant::now();
    while !done() {
        assert!(t0.elapsed() < Duration::from_secs(30), "{what} did not happen in 30 s; links:\n{}", status());
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn status(hub: &TestHub) -> String {
    hub.db(federation::list_peers)
        .expect("peers")
        .into_iter()
        .map(|(p, s)| {
            format!(
                "  {} cursor {} head {} received {} refused {} error {:?}",
                p.name, s.cursor, s.peer_head, s.received, s.refused, s.last_error
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// A member's client of `hub`, with a register of its own.
struct Member {
    register: diesel::sqlite::SqliteConnection,
    api: renkei_client::hub_api::HubApi,
    _dir: renkei_e2e::TempDir,
}

impl Member {
    fn of(hub: &TestHub, token: &str) -> Member {
        let dir = renkei_e2e::TempDir::new("renkei-fed-client");
        let mut register = renkei_client::register::open(&dir.0.join("register.db")).expect("register");
        let api = renkei_client::hub_api::HubApi::new(&hub.base, token.to_string(), None).expect("api");
        renkei_client::sync::init(&mut register, &api, &hub.base, None).expect("init");
        Member { register, api, _dir: dir }
    }

    fn sync(&mut self) -> renkei_client::sync::SyncReport {
        let options = renkei_client::sync::SyncOptions { page_size: 50, max_pages: None };
        renkei_client::sync::sync(&mut self.register, &self.api, &options, &mut |_| {}).expect("sync")
    }
}

/// Every version's signature on a hub.
fn signatures(hub: &TestHub) -> std::collections::BTreeSet<String> {
    use diesel::prelude::*;
    use renkei_hub::store::schema::object_versions;
    hub.db(|c| object_versions::table.select(object_versions::signature).load::<String>(c))
        .expect("signatures")
        .into_iter()
        .collect()
}

#[test]
fn items_reach_exactly_the_hubs_their_label_and_links_allow_without_loops() {
    let (a, b, c) = (start(), start(), start());
    link(("A", &a), ("B", &b), Tlp::Amber, true);
    link(("B", &b), ("C", &c), Tlp::Green, true);
    link(("A", &a), ("C", &c), Tlp::Clear, false);

    let (ma, m2) = (a.add_org("Power One", false), a.add_org("Power Two", false));
    let ta = a.token(&ma, Role::Analyst);
    let tb = b.token(&b.add_org("Gas One", false), Role::Analyst);
    let tc = c.token(&c.add_org("National CSIRT", false), Role::Analyst);
    let share =
        "mutation($v: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $v, sharing: $s) { id } }";
    let mut ids = BTreeMap::new();
    for (value, tlp, recipients) in [
        ("198.51.100.1", "CLEAR", json!([])),
        ("198.51.100.2", "GREEN", json!([])),
        ("198.51.100.3", "AMBER", json!([])),
        ("198.51.100.4", "AMBER_STRICT", json!([])),
        ("198.51.100.5", "RED", json!([m2])),
    ] {
        let data = a.gql(
            &ta,
            share,
            json!({"v": [{"type": "IPV4", "value": value}], "s": {"tlp": tlp, "recipients": recipients}}),
        );
        ids.insert(value, data["shareIndicators"][0]["id"].as_str().expect("id").to_string());
    }

    let expect_b = BTreeMap::from([
        ("198.51.100.1".to_string(), "CLEAR".to_string()),
        ("198.51.100.2".to_string(), "GREEN".to_string()),
        ("198.51.100.3".to_string(), "AMBER".to_string()),
    ]);
    // C: CLEAR straight from A and through B; GREEN only through B (same community);
    // AMBER never beyond the trusted link it crossed.
    let expect_c = BTreeMap::from([
        ("198.51.100.1".to_string(), "CLEAR".to_string()),
        ("198.51.100.2".to_string(), "GREEN".to_string()),
    ]);
    wait_for(
        "replication",
        || held(&b, &tb) == expect_b && held(&c, &tc) == expect_c,
        || format!("B\n{}\nC\n{}", status(&b), status(&c)),
    );
    // Let every link go round once more (the cycle would loop now if it could).
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(held(&b, &tb), expect_b);
    assert_eq!(held(&c, &tc), expect_c);
    // Exactly one version per item on each hub: nothing looped back or doubled.
    assert_eq!((a.count("objects"), a.count("object_versions")), (5, 5), "A got nothing back:\n{}", status(&a));
    assert_eq!((b.count("objects"), b.count("object_versions")), (3, 3));
    assert_eq!((c.count("objects"), c.count("object_versions")), (2, 2));
    for hub in [&a, &b, &c] {
        let links = hub.db(federation::list_peers).expect("peers");
        for (p, s) in links {
            assert_eq!(s.refused, "{}", "{}: nothing refused on an honest federation", p.name);
            assert!(s.last_success_at.is_some(), "{} pulled", p.name);
        }
    }
    // A member client of C syncs what C received: C passes on A's signatures, the client
    // verifies every object with A's key (pinned at first sight) and holds exactly what C
    // shows.
    let mut member = Member::of(&c, &tc);
    let synced = member.sync();
    assert!(synced.refused.is_empty(), "{:?}", synced.refused);
    let held_ids: Vec<String> =
        renkei_client::register::all_items(&mut member.register).expect("items").into_iter().map(|i| i.id).collect();
    let mut expected_ids = vec![ids["198.51.100.1"].clone(), ids["198.51.100.2"].clone()];
    expected_ids.sort();
    assert_eq!(held_ids, expected_ids);
    let pinned = renkei_client::register::origin_keys(&mut member.register).expect("origin keys");
    assert_eq!(pinned, std::collections::HashMap::from([(a.hub.hub_id.clone(), a.hub.keys.signing.public_key())]));
    // Nothing received was signed again: B and C store A's signature with each version.
    let signed_on_a = signatures(&a);
    for hub in [&b, &c] {
        assert!(signatures(hub).is_subset(&signed_on_a), "a received version carries its origin's signature");
    }
    // The origin hub is shown with a received item; its submitter was published by A.
    let q = "query($id: ID!) { node(id: $id) { ... on Indicator { originHub } } }";
    let green = &ids["198.51.100.2"];
    assert_eq!(c.gql(&tc, q, json!({"id": green}))["node"]["originHub"], json!(a.hub.hub_id));
    // A coordinator sees the links' status.
    let coord = c.token(&c.add_org("Secretariat", true), Role::Coordinator);
    let peers = c.gql(&coord, "{ peers { name hubId received lag refused { reason count } } }", json!({}));
    assert_eq!(peers["peers"].as_array().map(Vec::len), Some(2));
    // Only the origin changes an item: a received one cannot be relabelled here.
    let relabel = "mutation($id: ID!) { changeLabel(id: $id, tlp: AMBER) { id } }";
    let (code, _) = c.gql_error(&coord, relabel, json!({"id": green}));
    assert_eq!(code, "NOT_ORIGIN");
    // Peer tokens read nothing but the federation feed.
    let peer_org = b.db(federation::list_peers).expect("peers")[0].0.org_id.clone();
    let keys = &b.hub.keys;
    let peer_token =
        b.db(|conn| renkei_hub::services::directory::issue_token(conn, keys, &peer_org, Role::Peer, None, &[], None));
    let peer_token = peer_token.expect("token").1;
    assert_eq!(b.gql_error(&peer_token, "{ indicators(first: 1) { nodes { id } } }", json!({})).0, "FORBIDDEN");

    // Sightings travel as aggregates, each hub's members counted once on every hub that
    // holds the indicator, whatever the path: A's member saw GREEN once, B's members saw
    // GREEN 3 times and AMBER twice, C's member saw GREEN twice.
    let sight = "mutation($id: ID!, $n: Int!) { reportSighting(indicator: $id, count: $n) { id } }";
    let amber = ids["198.51.100.3"].clone();
    a.gql(&ta, sight, json!({"id": green, "n": 1}));
    b.gql(&tb, sight, json!({"id": green, "n": 3}));
    b.gql(&tb, sight, json!({"id": amber, "n": 2}));
    c.gql(&tc, sight, json!({"id": green, "n": 2}));
    let seen = |hub: &TestHub, token: &str, id: &str| -> (i64, i64) {
        let q = "query($id: ID!) { node(id: $id) { ... on Indicator { sightings { organizations total } } } }";
        let s = &hub.gql(token, q, json!({"id": id}))["node"]["sightings"];
        (s["organizations"].as_i64().unwrap_or(-1), s["total"].as_i64().unwrap_or(-1))
    };
    let everywhere = || {
        seen(&a, &ta, green) == (3, 6)
            && seen(&b, &tb, green) == (3, 6)
            && seen(&c, &tc, green) == (3, 6)
            && seen(&a, &ta, &amber) == (1, 2)
    };
    wait_for("the sightings aggregates", everywhere, || {
        format!(
            "A {:?} {:?}\nB {:?}\nC {:?}\n{}",
            seen(&a, &ta, green),
            seen(&a, &ta, &amber),
            seen(&b, &tb, green),
            seen(&c, &tc, green),
            status(&c)
        )
    });
    std::thread::sleep(Duration::from_millis(1500));
    assert!(everywhere(), "the aggregates changed after going round the cycle again");
    // A holds B's (GREEN, AMBER) and C's (GREEN, through B: A↔C carries only CLEAR);
    // B holds A's and C's; C holds A's (through B) and B's. AMBER's never reached C.
    assert_eq!(a.count("received_sightings"), 3);
    assert_eq!(b.count("received_sightings"), 2);
    assert_eq!(c.count("received_sightings"), 2);
    for hub in [&a, &b, &c] {
        for (p, s) in hub.db(federation::list_peers).expect("peers") {
            assert_eq!(s.refused, "{}", "{}: no aggregate refused on an honest federation", p.name);
        }
    }

    // A revocation on A disappears from B and C within a sync cycle of each hop.
    let revoke = "mutation($id: ID!) { revoke(id: $id, reason: \"false positive\") { id } }";
    a.gql(&ta, revoke, json!({"id": ids["198.51.100.1"]}));
    wait_for(
        "the revocation",
        || !held(&b, &tb).contains_key("198.51.100.1") && !held(&c, &tc).contains_key("198.51.100.1"),
        || format!("B\n{}\nC\n{}", status(&b), status(&c)),
    );
    // Tightening GREEN to AMBER on A takes it from C (AMBER never went there).
    let tighten = "mutation($id: ID!) { changeLabel(id: $id, tlp: AMBER) { id } }";
    a.gql(&ta, tighten, json!({"id": green}));
    wait_for("the tightening", || !held(&c, &tc).contains_key("198.51.100.2"), || status(&c));
    wait_for(
        "B's new version",
        || held(&b, &tb).get("198.51.100.2").map(String::as_str) == Some("AMBER"),
        || status(&b),
    );
}

/// What a peer serves, taken from its own feed, to be tampered with.
fn page_from(from: &TestHub, to_link_on_from: &str, to: &TestHub) -> PeerPage {
    from.db(|conn| {
        let link = federation::list_peers(conn)
            .expect("peers")
            .into_iter()
            .find(|(p, _)| p.name == to_link_on_from)
            .expect("link")
            .0;
        let local = from.hub.signer();
        federation::peer_feed(conn, &local, &link, &to.hub.hub_id, 0, 100, 10_000)
    })
    .expect("feed")
}

#[test]
fn forged_foreign_and_own_objects_are_refused_and_counted() {
    let (a, b) = (start(), start());
    // Pull-only links that never run on their own (the pages are applied by hand).
    let quiet = |name: &str, of: &TestHub, max_tlp: Tlp| PeerInput {
        direction: Direction::Push,
        ..input(name, of, max_tlp, true)
    };
    a.db(|c| federation::add_peer(c, &a.hub.keys, quiet("B", &b, Tlp::Amber))).expect("a adds b");
    b.db(|c| federation::add_peer(c, &b.hub.keys, quiet("A", &a, Tlp::Green))).expect("b adds a");
    b.db(|c| federation::learn_hub_id(c, "A", &a.hub.hub_id)).expect("id");
    a.db(|c| federation::learn_hub_id(c, "B", &b.hub.hub_id)).expect("id");
    let ta = a.token(&a.add_org("Power One", false), Role::Analyst);
    let share =
        "mutation($v: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $v, sharing: $s) { id } }";
    for (value, tlp) in [("203.0.113.1", "CLEAR"), ("203.0.113.2", "AMBER")] {
        a.gql(&ta, share, json!({"v": [{"type": "IPV4", "value": value}], "s": {"tlp": tlp}}));
    }
    let member_a = a.add_org("Anonymous Power", false);
    let anonymous = a.token(&member_a, Role::Analyst);
    let share_anonymously =
        "mutation($v: [IndicatorInput!]!) { shareIndicators(input: $v, sharing: {tlp: CLEAR, anonymous: true}) { id } }";
    a.gql(&anonymous, share_anonymously, json!({"v": [{"type": "IPV4", "value": "203.0.113.3"}]}));
    let mut page = page_from(&a, "B", &b);
    assert_eq!(page.items.len(), 3, "A serves B all three (the A→B link carries AMBER)");
    let cursor =
        |hub: &TestHub, link: &str| hub.db(|c| federation::status_of(c, link)).expect("status").cursor.to_string();
    let apply = |hub: &TestHub, link: &str, mut page: PeerPage| {
        page.cursor = cursor(hub, link);
        let local = hub.hub.signer();
        hub.db(|c| federation::apply_page(c, &local, link, &page)).expect("apply")
    };
    // Nothing a peer receives names the anonymous submitter, and the item still checks.
    let served = serde_json::to_string(&page.items).expect("json");
    assert!(!served.contains(&member_a), "an anonymous submitter reached a peer");
    let anonymous_item = page.items.pop().expect("the anonymous item");
    let applied = apply(&b, "A", PeerPage { items: vec![anonymous_item], ..page.clone() });
    assert_eq!(applied.received, 1, "{applied:?}");

    // An altered object fails its origin signature.
    let mut forged = page.clone();
    forged.items.truncate(1);
    let object = forged.items[0].object.clone().expect("object");
    forged.items[0].object = Some(object.replace("203.0.113.1", "203.0.113.9"));
    let applied = apply(&b, "A", forged);
    assert_eq!((applied.received, applied.refused.get("bad_signature")), (0, Some(&1)));
    // AMBER over B's side of the link, which carries GREEN at most.
    let applied = apply(&b, "A", page.clone());
    assert_eq!((applied.received, applied.refused.get("label_not_carried")), (1, Some(&1)), "{applied:?}");
    // Applying the same page again changes nothing.
    let again = apply(&b, "A", page.clone());
    assert_eq!((again.received, again.unchanged), (0, 1));
    assert_eq!(b.count("object_versions"), 2, "the CLEAR item and the anonymous one, once each");
    // A's own item coming back to A.
    let back = page_from(&a, "B", &b);
    let mut own = back.clone();
    own.items.truncate(1);
    let applied = apply(&a, "B", own);
    assert_eq!(applied.refused.get("own_origin"), Some(&1), "{applied:?}");
    // Another key claimed for the origin.
    let mut rekeyed = page.clone();
    rekeyed.items.truncate(1);
    rekeyed.items[0].revision += 1;
    let other = renkei_schema::sign::SigningKey::generate().expect("key").0;
    rekeyed.items[0].signature =
        Some(other.sign_batch(&[rekeyed.items[0].object.clone().unwrap_or_default()]).concat());
    let applied = apply(&b, "A", rekeyed);
    assert_eq!(applied.received, 0, "{applied:?}");
    // Every refusal is counted in the link's status.
    let status = b.db(|c| federation::status_of(c, "A")).expect("status");
    let refused = status.refused_counts();
    assert_eq!(refused.get("bad_signature"), Some(&2), "{refused:?}");
    assert_eq!(refused.get("label_not_carried"), Some(&2), "{refused:?}");

    // A clock hours off on the origin changes nothing: revisions order versions, and no
    // time is compared with the receiver's clock. A version made 6 hours in the future,
    // then one made 6 hours in the past, are each taken as the newer revision.
    let clear = page.items.iter().find(|i| i.tlp == "TLP:CLEAR").expect("the CLEAR item").clone();
    let skewed = |revision: i64, hours: i64| {
        let mut item = clear.clone();
        let mut envelope: renkei_schema::model::Envelope =
            serde_json::from_str(item.envelope.as_deref().unwrap_or_default()).expect("envelope");
        let body: renkei_schema::model::Body =
            serde_json::from_str(item.body.as_deref().unwrap_or_default()).expect("body");
        let shift = chrono::Duration::hours(hours);
        envelope.revision = revision;
        envelope.modified += shift;
        envelope.valid_from += shift;
        let object = renkei_schema::stix::canonical_json(&renkei_schema::stix::to_stix(&envelope, &body));
        item.signature = a.hub.keys.signing.sign_batch(&[object.as_str()]).pop();
        item.object = Some(object);
        item.envelope = Some(serde_json::to_string(&envelope).expect("json"));
        item.revision = revision;
        PeerPage { items: vec![item], ..page.clone() }
    };
    let ahead = apply(&b, "A", skewed(clear.revision + 1, 6));
    assert_eq!((ahead.received, ahead.refused.len()), (1, 0), "{ahead:?}");
    let behind = apply(&b, "A", skewed(clear.revision + 2, -6));
    assert_eq!((behind.received, behind.refused.len()), (1, 0), "{behind:?}");
    let stale = apply(&b, "A", skewed(clear.revision + 1, 12));
    assert_eq!((stale.received, stale.unchanged), (0, 1), "an older revision stays older, whatever its time");

    // Sightings aggregates are checked like items: A's, signed by A, are taken; an
    // altered one is refused; one from A's clock hours ahead is carried as it is.
    use renkei_hub::federation::sightings::{self as federated_sightings, SightingPage};
    use renkei_hub::services::sightings::{HubAggregate, Summary};
    let sight = "mutation($id: ID!) { reportSighting(indicator: $id, count: 4) { id } }";
    a.gql(&ta, sight, json!({"id": clear.id}));
    let sightings_page = a
        .db(|conn| {
            let link =
                federation::list_peers(conn).expect("peers").into_iter().find(|(p, _)| p.name == "B").expect("B").0;
            let local = a.hub.signer();
            federated_sightings::feed(conn, &local, &link, &b.hub.hub_id, 0, 100)
        })
        .expect("sightings feed");
    assert_eq!(sightings_page.items.len(), 1, "A's one aggregate (of the CLEAR item B holds)");
    let apply_sightings = |page: SightingPage| {
        let local = b.hub.signer();
        b.db(|c| federated_sightings::apply(c, &local, "A", &page)).expect("apply sightings")
    };
    let mut altered = sightings_page.clone();
    altered.items[0].aggregate = altered.items[0].aggregate.replace("\"total\":4", "\"total\":40");
    assert_eq!(apply_sightings(altered).refused.get("bad_signature"), Some(&1));
    assert_eq!(apply_sightings(sightings_page.clone()).received, 1);
    assert_eq!(apply_sightings(sightings_page.clone()).unchanged, 1, "the same version again changes nothing");
    let tb = b.token(&b.add_org("Gas One", false), Role::Analyst);
    let summary = |id: &str| {
        let q = "query($id: ID!) { node(id: $id) { ... on Indicator { sightings { total lastSeen } } } }";
        b.gql(&tb, q, json!({"id": id}))["node"]["sightings"].clone()
    };
    assert_eq!(summary(&clear.id)["total"], json!(4));
    let future = renkei_hub::store::time_text(&(chrono::Utc::now() + chrono::Duration::hours(6)));
    let ahead_summary = Summary { organizations: 1, total: 5, last_seen: Some(future.clone()), ..Default::default() };
    let aggregate = HubAggregate::new(&clear.id, &a.hub.hub_id, sightings_page.items[0].version + 1, &ahead_summary)
        .canonical()
        .expect("canonical");
    let mut ahead_page = sightings_page.clone();
    ahead_page.items[0].version += 1;
    ahead_page.items[0].signature = a.hub.keys.signing.sign_batch(&[aggregate.as_str()]).pop().expect("signature");
    ahead_page.items[0].aggregate = aggregate;
    assert_eq!(apply_sightings(ahead_page).received, 1);
    assert_eq!(summary(&clear.id), json!({"total": 5, "lastSeen": future}));
}

/// A self-signed certificate for 127.0.0.1 that is no CA: `<name>.crt`, `<name>.key`.
fn self_signed(dir: &std::path::Path, name: &str) -> bool {
    certs::self_signed(
        dir,
        name,
        &["-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:FALSE"],
    )
}

/// Over TLS, a link pins the peer's own (self-signed) certificate with `--ca`: the right
/// certificate carries items, another is refused before anything is read.
#[test]
fn a_link_over_tls_pins_the_peers_certificate() {
    let dir = renkei_e2e::TempDir::new("renkei-fed-tls");
    if !(self_signed(&dir.0, "hub-a") && self_signed(&dir.0, "impostor")) {
        eprintln!("skipping a_link_over_tls_pins_the_peers_certificate: the openssl command is not available");
        return;
    }
    let (cert, key) = (dir.0.join("hub-a.crt"), dir.0.join("hub-a.key"));
    let a = TestHub::start_with(Backend::Postgres, |c| {
        c.tls_cert = Some(cert.clone());
        c.tls_key = Some(key.clone());
    });
    let b = start();
    let https = a.base.replace("http://", "https://");
    let read = |name: &str| std::fs::read_to_string(dir.0.join(name)).expect("pem");
    let (_, for_b) = a
        .db(|c| {
            federation::add_peer(
                c,
                &a.hub.keys,
                PeerInput { direction: Direction::Push, ..input("B", &b, Tlp::Green, true) },
            )
        })
        .expect("a adds b");
    let for_b = for_b.expect("token");
    let pull = |name: &str, ca: String| PeerInput {
        url: https.clone(),
        direction: Direction::Pull,
        token: Some(for_b.clone()),
        ca_pem: Some(ca),
        ..input(name, &a, Tlp::Green, true)
    };
    b.db(|c| federation::add_peer(c, &b.hub.keys, pull("A-impostor", read("impostor.crt")))).expect("link");
    let ta = a.token(&a.add_org("Power One", false), Role::Analyst);
    let share = "mutation($v: [IndicatorInput!]!) { shareIndicators(input: $v, sharing: {tlp: GREEN}) { id } }";
    // A serves HTTPS only: its member talks to it trusting its certificate.
    let over_tls = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(read("hub-a.crt").as_bytes()).expect("certificate"))
        .build()
        .expect("client");
    let answer: serde_json::Value = over_tls
        .post(format!("{https}/graphql"))
        .bearer_auth(&ta)
        .json(&json!({"query": share, "variables": {"v": [{"type": "IPV4", "value": "192.0.2.77"}]}}))
        .send()
        .expect("share over TLS")
        .json()
        .expect("json");
    assert!(answer.get("errors").is_none(), "{answer}");
    let error = |name: &str| b.db(|c| federation::status_of(c, name)).expect("status").last_error;
    wait_for("the impostor link failing", || error("A-impostor").is_some(), || status(&b));
    assert!(error("A-impostor").is_some_and(|e| e.contains("contacting")), "{:?}", error("A-impostor"));
    assert_eq!(b.count("objects"), 0, "nothing read over an unverified connection");
    b.db(|c| federation::remove_peer(c, &b.hub.keys, "A-impostor")).expect("remove");
    b.db(|c| federation::add_peer(c, &b.hub.keys, pull("A", read("hub-a.crt")))).expect("link");
    let tb = b.token(&b.add_org("Gas One", false), Role::Analyst);
    wait_for("replication over TLS", || held(&b, &tb).contains_key("192.0.2.77"), || status(&b));
}

fn fingerprint(pem: &std::path::Path) -> String {
    let bytes = std::fs::read(pem).expect("pem");
    let der = rustls_pemfile::certs(&mut bytes.as_slice()).next().expect("a certificate").expect("der");
    renkei_hub::crypto::sha256_hex(der.as_ref())
}

/// mTLS: a link pinned to the peer's client certificate is served only to a connection
/// presenting it; the puller presents its hub's own certificate.
#[test]
fn a_link_pinned_to_a_client_certificate_needs_it() {
    let dir = renkei_e2e::TempDir::new("renkei-fed-mtls");
    let ca_made = certs::self_signed(&dir.0, "ca", &[]);
    if !(ca_made
        && certs::signed_by(&dir.0, "ca", "hub-a", "IP:127.0.0.1")
        && certs::signed_by(&dir.0, "ca", "hub-b", "IP:127.0.0.1"))
    {
        eprintln!("skipping a_link_pinned_to_a_client_certificate_needs_it: the openssl command is not available");
        return;
    }
    let path = |name: &str| dir.0.join(name);
    let a = TestHub::start_with(Backend::Postgres, |c| {
        c.tls_cert = Some(path("hub-a.crt"));
        c.tls_key = Some(path("hub-a.key"));
        c.tls_client_ca = Some(path("ca.crt"));
    });
    let b = TestHub::start_with(Backend::Postgres, |c| {
        c.federation_poll_ms = 100;
        c.tls_cert = Some(path("hub-b.crt"));
        c.tls_key = Some(path("hub-b.key"));
    });
    let ca = std::fs::read_to_string(path("ca.crt")).expect("ca");
    let serve_b = |pin: String| PeerInput {
        direction: Direction::Push,
        client_cert_sha256: Some(pin),
        ..input("B", &b, Tlp::Green, true)
    };
    // First pinned to another certificate (A's own): B's connection is refused.
    let (_, token) =
        a.db(|c| federation::add_peer(c, &a.hub.keys, serve_b(fingerprint(&path("hub-a.crt"))))).expect("link");
    let pull = PeerInput {
        url: a.base.replace("http://", "https://"),
        direction: Direction::Pull,
        token,
        ca_pem: Some(ca.clone()),
        ..input("A", &a, Tlp::Green, true)
    };
    b.db(|c| federation::add_peer(c, &b.hub.keys, pull)).expect("link");
    let error = || b.db(|c| federation::status_of(c, "A")).expect("status").last_error.unwrap_or_default();
    wait_for("the wrong certificate refused", || error().contains("client certificate"), || status(&b));
    // Pinned to B's certificate, which B's puller presents: items flow.
    a.db(|c| federation::remove_peer(c, &a.hub.keys, "B")).expect("remove");
    let (_, token) =
        a.db(|c| federation::add_peer(c, &a.hub.keys, serve_b(fingerprint(&path("hub-b.crt"))))).expect("link");
    let token = token.expect("token");
    b.db(|c| federation::set_token(c, "A", &token)).expect("token");
    let member = a.add_org("Power One", false);
    a.db(|c| {
        let origin = a.hub.signer();
        let who = renkei_hub::auth::Identity {
            org_id: member.clone(),
            org_name: "Power One".into(),
            role: Role::Analyst,
            token_id: "test".into(),
            source: None,
            grants: Vec::new(),
        };
        let body = renkei_hub::services::sharing::normalize_indicators(vec![(
            renkei_schema::model::indicator::IndicatorType::Ipv4,
            "192.0.2.88".into(),
            None,
        )])
        .expect("indicator");
        let sharing = renkei_hub::services::stored::Sharing {
            tlp: Tlp::Green,
            recipients: Vec::new(),
            anonymous: false,
            confidence: None,
            valid_until: None,
            labels: Vec::new(),
        };
        let routes = vec![renkei_hub::services::moderation::Route::Publish];
        renkei_hub::services::sharing::publish_new(
            c,
            &origin,
            &who,
            body,
            sharing,
            &routes,
            &a.hub.config.indicators.valid_days,
            a.hub.config.sealing.require_for_red,
        )
    })
    .expect("share");
    // B serves HTTPS too (its certificate is its client identity): read its database.
    wait_for("replication over mTLS", || b.count("objects") == 1, || status(&b));
    assert!(b.db(|c| federation::status_of(c, "A")).expect("status").refused == "{}");

    // GraphQL's `peerChanges` sees the connection's certificate too: B's token over a
    // connection presenting B's certificate reads the feed, without one it is refused.
    let client = |identity: Option<&str>| {
        let mut builder = reqwest::blocking::Client::builder()
            .add_root_certificate(reqwest::Certificate::from_pem(ca.as_bytes()).expect("ca"));
        if let Some(name) = identity {
            let mut pem = std::fs::read(path(&format!("{name}.crt"))).expect("certificate");
            pem.extend(std::fs::read(path(&format!("{name}.key"))).expect("key"));
            builder = builder.identity(reqwest::Identity::from_pem(&pem).expect("identity"));
        }
        builder.build().expect("client")
    };
    let peer_changes = |http: reqwest::blocking::Client| -> serde_json::Value {
        let query = "query($hub: ID!) { peerChanges(hubId: $hub, limit: 10) { items { id } } }";
        http.post(format!("{}/graphql", a.base.replace("http://", "https://")))
            .bearer_auth(&token)
            .json(&json!({"query": query, "variables": {"hub": b.hub.hub_id}}))
            .send()
            .expect("peerChanges")
            .json()
            .expect("json")
    };
    let with_certificate = peer_changes(client(Some("hub-b")));
    assert_eq!(
        with_certificate["data"]["peerChanges"]["items"].as_array().map(Vec::len),
        Some(1),
        "{with_certificate}"
    );
    let without = peer_changes(client(None));
    assert_eq!(without["errors"][0]["extensions"]["code"], json!("FORBIDDEN"), "{without}");
}

/// The puller stores pages without looking their items up first; a page that holds an
/// item the hub has already fails whole on the primary key (`ALREADY_HELD`, nothing
/// stored, the cursor where it was) and is stored once looked up.
#[test]
fn a_page_stored_without_lookup_that_holds_a_known_item_stores_nothing() {
    for backend in [Backend::Postgres, Backend::Sqlite] {
        page_holding_a_known_item(backend);
    }
}

fn page_holding_a_known_item(backend: Backend) {
    let start = || TestHub::start_with(backend, |c| c.federation_poll_ms = 100);
    let (a, b) = (start(), start());
    let quiet =
        |name: &str, of: &TestHub| PeerInput { direction: Direction::Push, ..input(name, of, Tlp::Green, true) };
    a.db(|c| federation::add_peer(c, &a.hub.keys, quiet("B", &b))).expect("a adds b");
    b.db(|c| federation::add_peer(c, &b.hub.keys, quiet("A", &a))).expect("b adds a");
    b.db(|c| federation::learn_hub_id(c, "A", &a.hub.hub_id)).expect("id");
    let ta = a.token(&a.add_org("Power One", false), Role::Analyst);
    let share =
        "mutation($v: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $v, sharing: $s) { id } }";
    a.gql(&ta, share, json!({"v": [{"type": "IPV4", "value": "192.0.2.1"}], "s": {"tlp": "GREEN"}}));
    let first = page_from(&a, "B", &b);
    a.gql(&ta, share, json!({"v": [{"type": "IPV4", "value": "192.0.2.2"}], "s": {"tlp": "GREEN"}}));
    let both = page_from(&a, "B", &b);
    assert_eq!((first.items.len(), both.items.len()), (1, 2));

    let local = b.hub.signer();
    let store = |page: &PeerPage, lookup: federation::Lookup| {
        b.db(|c| {
            let checked = federation::check_page(c, &local, "A", page)?;
            federation::store_page(c, &local, checked, lookup)
        })
    };
    let stored = store(&first, federation::Lookup::Tombstones).expect("a new item stores without lookup");
    assert_eq!((stored.applied.received, b.count("objects")), (1, 1));
    let cursor = || b.db(|c| federation::status_of(c, "A")).expect("status").cursor;
    let before = (cursor(), b.count("objects"), b.count("object_versions"));

    let Err(e) = store(&both, federation::Lookup::Tombstones) else { panic!("a held item went unnoticed") };
    assert_eq!(e.code, federation::ALREADY_HELD);
    assert_eq!((cursor(), b.count("objects"), b.count("object_versions")), before, "nothing of the page was stored");

    let stored = store(&both, federation::Lookup::Every).expect("looked up, the page stores");
    assert_eq!((stored.applied.received, stored.applied.unchanged, stored.held), (1, 1, 1));
    assert_eq!((b.count("objects"), b.count("object_versions")), (2, 2), "nothing doubled");
}

/// Two hubs on the embedded default (SQLite) federate as on PostgreSQL: an item,
/// its revision and its revocation reach the peer, with the sightings aggregate, and
/// a member client of the receiving hub verifies it with the origin's key.
#[test]
fn hubs_on_the_embedded_default_federate() {
    let start = || TestHub::start_with(Backend::Sqlite, |c| c.federation_poll_ms = 100);
    let (a, b) = (start(), start());
    link(("A", &a), ("B", &b), Tlp::Green, true);
    let ta = a.token(&a.add_org("Power One", false), Role::Analyst);
    let tb = b.token(&b.add_org("Gas One", false), Role::Analyst);
    let share =
        "mutation($v: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $v, sharing: $s) { id } }";
    let data = a.gql(&ta, share, json!({"v": [{"type": "IPV4", "value": "192.0.2.9"}], "s": {"tlp": "GREEN"}}));
    let id = data["shareIndicators"][0]["id"].as_str().expect("id").to_string();
    let on_b = BTreeMap::from([("192.0.2.9".to_string(), "GREEN".to_string())]);
    wait_for("replication", || held(&b, &tb) == on_b, || status(&b));

    let sight = "mutation($id: ID!, $n: Int!) { reportSighting(indicator: $id, count: $n) { id } }";
    b.gql(&tb, sight, json!({"id": id, "n": 2}));
    let q = "query($id: ID!) { node(id: $id) { ... on Indicator { sightings { organizations total } } } }";
    let seen = || a.gql(&ta, q, json!({"id": id}))["node"]["sightings"]["total"].as_i64();
    wait_for("B's sightings on A", || seen() == Some(2), || status(&a));

    let mut member = Member::of(&b, &tb);
    let synced = member.sync();
    assert_eq!((synced.stored, synced.refused.len()), (1, 0), "{:?}", synced.refused);

    let revoke = "mutation($id: ID!) { revoke(id: $id, reason: \"false positive\") { id } }";
    a.gql(&ta, revoke, json!({"id": id}));
    wait_for("the revocation", || held(&b, &tb).is_empty(), || status(&b));
    assert_eq!((b.count("objects"), b.count("object_versions")), (1, 2), "the item and its tombstone");
    assert_eq!(member.sync().deleted, 1);
}

/// The feed a peer reads names each item once, at its current version, whether the item
/// was first stored within the page's range (read in storage order) or before it (looked
/// up by id), and leaves out what the link may not carry.
#[test]
fn a_peer_feed_serves_current_versions_of_new_and_older_items() {
    let (a, b) = (start(), start());
    let quiet =
        |name: &str, of: &TestHub| PeerInput { direction: Direction::Push, ..input(name, of, Tlp::Amber, true) };
    a.db(|c| federation::add_peer(c, &a.hub.keys, quiet("B", &b))).expect("a adds b");
    let (m1, m2) = (a.add_org("Power One", false), a.add_org("Power Two", false));
    let ta = a.token(&m1, Role::Analyst);
    let share =
        "mutation($v: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $v, sharing: $s) { id } }";
    let mut ids = Vec::new();
    for (value, sharing) in [
        ("192.0.2.21", json!({"tlp": "GREEN"})),
        ("192.0.2.22", json!({"tlp": "GREEN"})),
        ("192.0.2.23", json!({"tlp": "RED", "recipients": [m2]})),
        ("192.0.2.24", json!({"tlp": "GREEN"})),
    ] {
        let data = a.gql(&ta, share, json!({"v": [{"type": "IPV4", "value": value}], "s": sharing}));
        ids.push(data["shareIndicators"][0]["id"].as_str().expect("id").to_string());
    }
    // The first item changes after the others were stored: its current version is the
    // newest entry of the feed, its first one is superseded.
    let tighten = "mutation($id: ID!) { changeLabel(id: $id, tlp: AMBER) { id } }";
    a.gql(&ta, tighten, json!({"id": ids[0]}));
    let served = |after: i64| -> Vec<(String, i64, String)> {
        a.db(|conn| {
            let link = federation::list_peers(conn).expect("peers").remove(0).0;
            let local = a.hub.signer();
            federation::peer_feed(conn, &local, &link, &b.hub.hub_id, after, 100, 10_000)
        })
        .expect("feed")
        .items
        .into_iter()
        .filter(|i| !i.deleted)
        .map(|i| {
            assert!(i.envelope.is_some() && i.body.is_some(), "{} served whole", i.id);
            (i.id, i.revision, i.tlp)
        })
        .collect()
    };
    let expected = vec![
        (ids[1].clone(), 1, "TLP:GREEN".to_string()),
        (ids[3].clone(), 1, "TLP:GREEN".to_string()),
        (ids[0].clone(), 2, "TLP:AMBER".to_string()),
    ];
    assert_eq!(served(0), expected, "from the start");
    // From after the first item's first version: it is older than the range.
    let first_seq: i64 = a
        .db(|c| {
            use diesel::prelude::*;
            use renkei_hub::store::schema::objects;
            objects::table.find(&ids[0]).select(objects::first_seq).first(c)
        })
        .expect("first_seq");
    assert_eq!(served(first_seq), expected, "from after the first item's creation");
}
