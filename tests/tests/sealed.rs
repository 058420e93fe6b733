//! Sealed TLP:RED end to end (issue 22): members' `renkei` clients make their keys at
//! `init`, a sender seals RED items of every kind to its recipients' keys, and:
//! - nothing of their content reaches the hub's side: its database files (SQLite, or
//!   PostgreSQL's data files and a `pg_dump`), its logs, its metrics, its audit and every
//!   API answer to the sender, a recipient, a non-recipient and a coordinator. The same
//!   run with sealing turned off (`--no-seal` on a hub that allows plaintext RED) finds
//!   the content there, so the search would catch it;
//! - each recipient's client opens the items and flags them; others cannot;
//! - two installations, rotation, revocation, a tampered ciphertext, a forged sender and
//!   a swapped key are caught; anonymous sealed sharing names nobody.
//!
//! The binary is the one `cargo test --workspace` builds beside this test's (or
//! `RENKEI_BIN`).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex, OnceLock};

use diesel::prelude::*;
use renkei_client::{flags, register, risks};
use renkei_e2e::{pg_base, Backend, TempDir, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

use renkei_e2e::member_cli::run as renkei;

fn ok(db: &Path, args: &[&str]) -> String {
    let out = renkei(db, None, args);
    let (o, e) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{args:?} failed:\n{o}\n{e}");
    format!("{o}{e}")
}

/// Runs a command that must fail; what it said.
fn fails(db: &Path, args: &[&str]) -> String {
    let out = renkei(db, None, args);
    let (o, e) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail:\n{o}\n{e}");
    format!("{o}{e}")
}

fn receipt_id(out: &str) -> String {
    out.lines().next().and_then(|l| l.split('\t').next()).expect("a receipt").to_string()
}

/// Everything the hub's tracing says, from every test hub in this process.
fn hub_log() -> Arc<Mutex<Vec<u8>>> {
    static LOG: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOG.get_or_init(|| {
        let log = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&log);
        let writer = move || LogWriter(Arc::clone(&sink));
        let _ = tracing_subscriber::fmt().with_max_level(tracing::Level::TRACE).with_writer(writer).try_init();
        log
    })
    .clone()
}

struct LogWriter(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("log").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

/// A member's register and its folder.
struct Member {
    _dir: TempDir,
    db: PathBuf,
    token: String,
}

impl Member {
    fn init(hub: &TestHub, token: String) -> Member {
        let dir = TempDir::new("renkei-sealed-test");
        let db = dir.0.join("register.db");
        let out = renkei(&db, Some(&token), &["init", "--hub", &hub.base]);
        assert!(out.status.success(), "init: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("made encryption key"), "init makes a key");
        Member { _dir: dir, db, token }
    }

    /// Every file of the register's folder, concatenated.
    fn files(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for entry in std::fs::read_dir(self.db.parent().expect("dir")).expect("dir") {
            all.extend(std::fs::read(entry.expect("entry").path()).unwrap_or_default());
        }
        all
    }

    fn conn(&self) -> diesel::SqliteConnection {
        register::open(&self.db).expect("register")
    }
}

/// What the hub's side holds after the sharing: every place content could end up.
fn hub_side(hub: &TestHub, members: &[&Member], coordinator: &str, ids: &[String]) -> Vec<(String, Vec<u8>)> {
    let mut places: Vec<(String, Vec<u8>)> = Vec::new();
    match hub.backend {
        Backend::Sqlite => {
            let mut all = Vec::new();
            for entry in std::fs::read_dir(&hub.data_dir.0).expect("data dir") {
                all.extend(std::fs::read(entry.expect("entry").path()).unwrap_or_default());
            }
            places.push(("the SQLite database files".into(), all));
        }
        Backend::Postgres => {
            let url = hub.hub.config.database_url.clone().expect("url");
            let name = url.rsplit('/').next().expect("name").to_string();
            let dump = Command::new(pg_tool("pg_dump")).arg("--dbname").arg(&url).output().expect("pg_dump");
            assert!(dump.status.success(), "pg_dump: {}", String::from_utf8_lossy(&dump.stderr));
            places.push(("a pg_dump".into(), dump.stdout));
            // The data files themselves, after a checkpoint wrote them.
            let mut admin = diesel::PgConnection::establish(&format!("{}/postgres", pg_base())).expect("pg");
            diesel::sql_query("CHECKPOINT").execute(&mut admin).expect("checkpoint");
            #[derive(QueryableByName)]
            struct Row {
                #[diesel(sql_type = diesel::sql_types::Text)]
                path: String,
            }
            let rows: Vec<Row> = diesel::sql_query(format!(
                "SELECT current_setting('data_directory') || '/base/' || oid::text AS path FROM pg_database WHERE datname = '{name}'"
            ))
            .load(&mut admin)
            .expect("data directory");
            let mut files = Vec::new();
            for row in rows {
                for entry in std::fs::read_dir(&row.path).expect("database folder") {
                    files.extend(std::fs::read(entry.expect("entry").path()).unwrap_or_default());
                }
            }
            places.push(("PostgreSQL's data files".into(), files));
        }
    }
    places.push(("the hub's logs".into(), hub_log().lock().expect("log").clone()));
    places.push(("the metrics".into(), hub.metrics().into_bytes()));
    let audit = hub.gql(coordinator, "{ auditLog(limit: 500) { action target detail } }", json!({}));
    places.push(("the audit log (coordinator)".into(), audit.to_string().into_bytes()));
    // Every API answer, to each caller.
    let lists = "{ indicators(first: 100) { nodes { id value description tlp stix sealed } } \
                 techniques(first: 100) { nodes { id name narrative stix sealed } } \
                 incidents(first: 100) { nodes { id title summary stix sealed } } \
                 advisories(first: 100) { nodes { id cveId title description stix sealed } } }";
    for (who, token) in members.iter().map(|m| ("a member", m.token.as_str())).chain([("the coordinator", coordinator)])
    {
        let mut answers = Vec::new();
        answers.extend(hub.post_text(token, lists, json!({})).into_bytes());
        for id in ids {
            answers.extend(hub.post_text(token, "query($id: ID!) { node(id: $id) { __typename ... on Indicator { value stix sealed sealedEnvelope } ... on Technique { narrative stix } ... on Incident { summary stix } ... on Advisory { title stix } } }", json!({"id": id})).into_bytes());
        }
        answers
            .extend(hub.post_text(token, "{ changes(limit: 1000) { items { id object } } }", json!({})).into_bytes());
        for path in
            ["/export/indicators?format=csv", "/export/stix", "/misp/feed/manifest.json", "/taxii2/hub/collections/"]
        {
            answers.extend(hub.get_as(token, path).1.into_bytes());
        }
        places.push((format!("the API's answers to {who}"), answers));
    }
    places
}

fn pg_tool(name: &str) -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path().join("bin").join(name)).filter(|p| p.is_file()).collect())
        .unwrap_or_default();
    found.sort();
    found.pop().unwrap_or_else(|| PathBuf::from(name))
}

/// One sharing of RED items of every kind from S to R, sealed or (to prove the search
/// finds content) not; returns where the secret was found on the hub's side.
fn share_red_of_every_kind(backend: Backend, sealed: bool) -> Vec<String> {
    let _ = hub_log();
    let hub = TestHub::start_with(backend, |c| c.sealing.require_for_red = sealed);
    let (s, r, x) = (hub.add_org("Sender", false), hub.add_org("Recipient", false), hub.add_org("Bystander", false));
    let coord = hub.add_org("Secretariat", true);
    let tc = hub.token(&coord, Role::Coordinator);
    let sender = Member::init(&hub, hub.token(&s, Role::Analyst));
    let recipient = Member::init(&hub, hub.token(&r, Role::Analyst));
    let bystander = Member::init(&hub, hub.token(&x, Role::Analyst));

    // The recipient's register: an HMI running the product the advisory names.
    {
        let mut conn = recipient.conn();
        let asset = json!({"name": "Plant HMI", "kind": "ot_device", "criticality": 5, "version": "2.1",
            "cpe": "cpe:2.3:a:acme:scada_hmi:2.1:*:*:*:*:*:*:*"});
        flags::import_assets(&mut conn, vec![("Plant HMI".into(), serde_json::from_value(asset).expect("asset"))])
            .expect("assets");
        risks::add(
            &mut conn,
            risks::RiskInput {
                title: "HMI taken over".into(),
                method: "asset".into(),
                assets: vec!["Plant HMI".into()],
                current: Some(risks::FactorsInput { impact: None, threat: 3, vulnerability: 3 }),
                ..Default::default()
            },
        )
        .expect("risk");
    }

    let tag = uuid::Uuid::new_v4().simple().to_string()[..12].to_string();
    let domain = format!("c2-{tag}.sealed.example");
    let mut base = vec!["share", "--tlp", "RED", "--recipient", &r];
    if !sealed {
        base.push("--no-seal");
    }
    let share = |args: &[&str]| receipt_id(&ok(&sender.db, &[base.as_slice(), args].concat()));
    let narrative = format!("narrative-{tag} through the maintenance VPN");
    let summary = format!("summary-{tag} the relay tripped");
    let title = format!("advisory-{tag} Acme HMI flaw");
    let ids = vec![
        share(&["indicator", "--type", "DOMAIN", "--value", &domain]),
        share(&[
            "technique",
            "--attack-id",
            "T0866",
            "--name",
            "Exploitation of Remote Services",
            "--narrative",
            &narrative,
        ]),
        share(&["incident", "--title", &format!("title-{tag}"), "--summary", &summary, "--sector", "energy"]),
        share(&[
            "advisory",
            "--cve",
            "CVE-2026-4242",
            "--title",
            &title,
            "--cpe",
            "cpe:2.3:a:acme:scada_hmi:*:*:*:*:*:*:*:*",
            "--fixed-in",
            "3.0",
        ]),
    ];

    // The recipient opens all four and the advisory flags its risk.
    ok(&recipient.db, &["sync"]);
    let export = ok(&recipient.db, &["export", "--min-score", "0"]);
    assert!(export.contains(&domain), "the recipient holds the indicator: {export}");
    let mut conn = recipient.conn();
    let held = register::all_items(&mut conn).expect("items");
    for id in &ids {
        let item = held.iter().find(|i| &i.id == id).unwrap_or_else(|| panic!("{id} not held"));
        assert!(item.stix.contains(&tag), "{id} held opened: {}", item.stix);
    }
    let flagged = flags::list(&mut conn, "open").expect("flags");
    assert!(flagged.iter().any(|f| f.source == ids[3]), "the advisory flags the HMI's risk: {flagged:?}");
    drop(conn);

    // The bystander and the coordinator's member hold nothing of it.
    ok(&bystander.db, &["sync"]);
    assert!(!contains(&bystander.files(), &tag), "a non-recipient's register holds the content");

    hub_side(&hub, &[&sender, &recipient, &bystander], &tc, &ids)
        .into_iter()
        .filter(|(_, bytes)| contains(bytes, &tag))
        .map(|(place, _)| place)
        .collect()
}

#[test]
fn nothing_of_sealed_red_reaches_the_hub_on_sqlite() {
    let found = share_red_of_every_kind(Backend::Sqlite, true);
    assert!(found.is_empty(), "sealed content found in {found:?}");
    // The same search finds plaintext RED: it would catch a leak.
    let found = share_red_of_every_kind(Backend::Sqlite, false);
    for place in ["the SQLite database files", "the API's answers to a member"] {
        assert!(found.iter().any(|f| f == place), "plaintext RED not found in {place}: {found:?}");
    }
}

#[test]
fn nothing_of_sealed_red_reaches_the_hub_on_postgres() {
    let found = share_red_of_every_kind(Backend::Postgres, true);
    assert!(found.is_empty(), "sealed content found in {found:?}");
    let found = share_red_of_every_kind(Backend::Postgres, false);
    for place in ["a pg_dump", "the API's answers to a member"] {
        assert!(found.iter().any(|f| f == place), "plaintext RED not found in {place}: {found:?}");
    }
}

/// The wrap keys the hub stored for an item (the hub's own record of who it is for).
fn wrapped_keys(hub: &TestHub, id: &str) -> Vec<String> {
    let body: String = hub.db(|c| {
        use renkei_hub::store::schema::objects;
        objects::table.find(id).select(objects::body).first(c).expect("object")
    });
    let body: Value = serde_json::from_str(&body).expect("body");
    body["wraps"].as_array().expect("wraps").iter().filter_map(|w| w["key"].as_str().map(str::to_string)).collect()
}

fn key_ids(member: &Member) -> Vec<String> {
    let out = ok(&member.db, &["key", "list", "--json"]);
    let list: Value = serde_json::from_str(out.trim()).expect("json");
    list.as_array().expect("keys").iter().map(|k| k["keyId"].as_str().expect("id").to_string()).collect()
}

#[test]
fn installations_rotation_revocation_and_attacks() {
    let hub = TestHub::start(Backend::Sqlite);
    let (s, r, m) = (hub.add_org("Sender", false), hub.add_org("Recipient", false), hub.add_org("Mallory", false));
    let sender = Member::init(&hub, hub.token(&s, Role::Analyst));
    let first = Member::init(&hub, hub.token(&r, Role::Analyst));
    let share = |value: &str| {
        receipt_id(&ok(
            &sender.db,
            &["share", "--tlp", "RED", "--recipient", &r, "indicator", "--type", "DOMAIN", "--value", value],
        ))
    };
    let early = share("early.sealed.example");

    // A second installation of the recipient: its key counts once the first endorses it.
    let second = Member::init(&hub, hub.token(&r, Role::Analyst));
    let second_key = key_ids(&second).pop().expect("a key");
    let before = share("before-endorsement.sealed.example");
    assert!(!wrapped_keys(&hub, &before).contains(&second_key), "an unintroduced key is not sealed to");
    ok(&first.db, &["key", "endorse", &second_key]);
    let both = share("both.sealed.example");
    assert!(wrapped_keys(&hub, &both).contains(&second_key));
    ok(&first.db, &["sync"]);
    let said = fails(&second.db, &["sync"]);
    assert!(said.contains(&early) && said.contains(&before), "what predates the key is reported: {said}");
    for member in [&first, &second] {
        let export = ok(&member.db, &["export", "--min-score", "0"]);
        assert!(export.contains("both.sealed.example"), "both installations open it: {export}");
    }
    let unopened = ok(&second.db, &["unopened", "--json"]);
    assert!(unopened.contains(&early) && unopened.contains("none of this installation"), "{unopened}");

    // Rotation: the old key signs the new; old items still open, new ones go to the new key.
    let old_key = key_ids(&first).pop().expect("key");
    let new_key = receipt_id(&ok(&first.db, &["key", "rotate"]));
    let after = share("after-rotation.sealed.example");
    let wrapped = wrapped_keys(&hub, &after);
    assert!(wrapped.contains(&new_key) && !wrapped.contains(&old_key), "{wrapped:?}");
    let fresh = TempDir::new("renkei-sealed-rotated");
    let copy = fresh.0.join("register.db");
    // A new register using the rotated key file opens everything from the start.
    std::fs::copy(first.db.with_extension("db.keys"), fresh.0.join("register.db.keys")).expect("keys");
    let out = renkei(&copy, Some(&first.token), &["init", "--hub", &hub.base]);
    assert!(out.status.success());
    {
        let mut conn = register::open(&copy).expect("register");
        register::set(&mut conn, renkei_client::sealed::KEY_FILE, &fresh.0.join("register.db.keys").to_string_lossy())
            .expect("key file");
    }
    ok(&copy, &["sync"]);
    let export = ok(&copy, &["export", "--min-score", "0"]);
    for v in ["early.sealed.example", "both.sealed.example", "after-rotation.sealed.example"] {
        assert!(export.contains(v), "{v} opens after the rotation: {export}");
    }

    // Revocation: nothing new for the second installation.
    ok(&second.db, &["key", "revoke", &second_key]);
    let revoked = share("after-revocation.sealed.example");
    assert!(!wrapped_keys(&hub, &revoked).contains(&second_key));

    // Mallory, a member, shares sealed junk and forgeries straight to the hub.
    let mallory = Member::init(&hub, hub.token(&m, Role::Analyst));
    ok(&mallory.db, &["sync"]);
    let recipient_keys: Vec<renkei_schema::seal::OrgKey> = {
        let mut conn = register::open(&mallory.db).expect("register");
        renkei_client::sealed::refresh_keys(
            &mut conn,
            &renkei_client::hub_api::HubApi::new(&hub.base, mallory.token.clone(), None).expect("api"),
            Some(&[r.clone(), m.clone()]),
        )
        .expect("keys")
        .checked
        .values()
        .flat_map(|c| c.current.clone())
        .collect()
    };
    let body = |v: &str| {
        renkei_schema::model::Body::Indicator(renkei_schema::model::IndicatorBody {
            indicator_type: renkei_schema::model::indicator::IndicatorType::Domain,
            value: v.into(),
            description: None,
        })
    };
    let send = |id: &str, sealed: &renkei_schema::seal::SealedBody| {
        hub.gql(
            &mallory.token,
            "mutation($i: [SealedItemInput!]!, $r: [String!]!) { shareSealed(items: $i, recipients: $r) { id } }",
            json!({"i": [{"id": id, "sealed": serde_json::to_string(sealed).expect("json")}], "r": [r]}),
        );
    };
    // A tampered ciphertext.
    let forged_pair = renkei_schema::seal::OrgKeyPair::generate().expect("key");
    let tampered_id = renkei_schema::model::Kind::Indicator.new_id();
    let mut tampered = renkei_schema::seal::seal(
        &[renkei_schema::seal::Content { id: tampered_id.clone(), body: body("tampered.example") }],
        &recipient_keys,
        None,
    )
    .expect("seal")
    .remove(0);
    tampered.ciphertext = format!("A{}", &tampered.ciphertext[1..]);
    send(&tampered_id, &tampered);
    // Signed with a key that is not Mallory's registered key.
    let forged_id = renkei_schema::model::Kind::Indicator.new_id();
    let forged = renkei_schema::seal::seal(
        &[renkei_schema::seal::Content { id: forged_id.clone(), body: body("forged.example") }],
        &recipient_keys,
        Some((&m, &forged_pair)),
    )
    .expect("seal")
    .remove(0);
    send(&forged_id, &forged);
    let said = fails(&first.db, &["sync"]);
    assert!(said.contains(&tampered_id) && said.contains("altered"), "a tampered ciphertext is reported: {said}");
    assert!(said.contains(&forged_id) && said.contains("not a pinned key"), "a forged sender is reported: {said}");
    let export = ok(&first.db, &["export", "--min-score", "0"]);
    assert!(!export.contains("tampered.example") && !export.contains("forged.example"));

    // The operator swaps the recipient's keys for one of its own: the sender notices.
    let rogue = renkei_schema::seal::OrgKeyPair::generate().expect("key");
    let rogue_key = rogue.public(&r, chrono::Utc::now(), None);
    let registration = rogue.registration(rogue_key.clone(), None);
    hub.db(|c| {
        use renkei_hub::store::schema::org_keys;
        diesel::update(org_keys::table.filter(org_keys::org_id.eq(&r))).set(org_keys::revoked.eq(true)).execute(c)?;
        diesel::insert_into(org_keys::table)
            .values((
                org_keys::key_id.eq(&rogue_key.key_id),
                org_keys::org_id.eq(&r),
                org_keys::registration.eq(serde_json::to_string(&registration).expect("json")),
                org_keys::revoked.eq(false),
                org_keys::registered_at.eq(chrono::Utc::now().to_rfc3339()),
            ))
            .execute(c)
    })
    .expect("swap");
    let said = fails(
        &sender.db,
        &["share", "--tlp", "RED", "--recipient", &r, "indicator", "--type", "DOMAIN", "--value", "swapped.example"],
    );
    assert!(said.contains("no key this register trusts") && said.contains(&rogue_key.key_id), "{said}");
    // Only a key checked out of band and trusted by hand is sealed to (here the rogue
    // one, as if the recipient had confirmed it).
    ok(&sender.db, &["key", "trust", &r, &rogue_key.key_id]);
    let trusted = receipt_id(&ok(
        &sender.db,
        &["share", "--tlp", "RED", "--recipient", &r, "indicator", "--type", "DOMAIN", "--value", "trusted.example"],
    ));
    assert!(wrapped_keys(&hub, &trusted).contains(&rogue_key.key_id));
}

#[test]
fn anonymous_sealed_sharing_names_nobody() {
    let hub = TestHub::start(Backend::Sqlite);
    let (s, r) = (hub.add_org("Sender", false), hub.add_org("Recipient", false));
    let sender = Member::init(&hub, hub.token(&s, Role::Analyst));
    let recipient = Member::init(&hub, hub.token(&r, Role::Analyst));
    let id = receipt_id(&ok(
        &sender.db,
        &[
            "share",
            "--tlp",
            "RED",
            "--recipient",
            &r,
            "--anonymous",
            "indicator",
            "--type",
            "DOMAIN",
            "--value",
            "anon.sealed.example",
        ],
    ));
    ok(&recipient.db, &["sync"]);
    let mut conn = recipient.conn();
    let item = register::all_items(&mut conn).expect("items").into_iter().find(|i| i.id == id).expect("held");
    assert!(item.stix.contains("anon.sealed.example"));
    assert!(!item.stix.contains(&renkei_schema::stix::identity_ref(&s)), "the object names the sender: {}", item.stix);
    let sender_org: Option<Option<String>> = {
        use renkei_client::tables::sealed_items;
        sealed_items::table.find(&id).select(sealed_items::sender_org).first(&mut conn).optional().expect("row")
    };
    assert_eq!(sender_org, Some(None), "opened, and signed by nobody");
    // The hub's answer names no submitter either.
    let answer = hub.gql(
        &recipient.token,
        "query($id: ID!) { node(id: $id) { ... on Indicator { createdBy { id } sealed } } }",
        json!({"id": id}),
    );
    assert_eq!(answer["node"]["createdBy"], Value::Null, "{answer}");
    assert_eq!(answer["node"]["sealed"], json!(true));
    // A sighting of the sealed indicator is reported by its id, as of any other.
    ok(&recipient.db, &["sighting", &id, "--count", "2"]);
    let seen = hub.gql(
        &sender.token,
        "query($id: ID!) { node(id: $id) { ... on Indicator { sightings { total } } } }",
        json!({"id": id}),
    );
    assert_eq!(seen["node"]["sightings"]["total"], json!(2), "{seen}");
    // Nor did the sender's own keys go on the wraps (a recipient could look them up).
    let sender_keys = key_ids(&sender);
    let body: String = hub.db(|c| {
        use renkei_hub::store::schema::objects;
        objects::table.find(&id).select(objects::body).first(c).expect("object")
    });
    assert!(sender_keys.iter().all(|k| !body.contains(k)), "the sender's key is on an anonymous item");
    let _ = std::io::stdout().flush();
}
