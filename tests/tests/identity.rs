//! One identity per hub, however many replicas (issue 20): the keys live in the
//! database, sealed under the operator's key-encryption key (KEK). Replicas on one
//! database with the same KEK file are one hub (a token issued through one works on the
//! other; both sign with one key); a replica without the KEK, with another, or with
//! another hub's old key files refuses to start; an old data folder's key files are
//! imported; and a key rotation is followed by running replicas, members' clients and
//! peer hubs, while a forged announcement is refused.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use diesel::prelude::*;
use renkei_client::{hub_api::HubApi, register, sync};
use renkei_e2e::{Backend, PgDatabase, TempDir, TestHub};
use renkei_hub::auth::Role;
use renkei_hub::config::Config;
use renkei_hub::federation::{self, Direction, PeerInput};
use renkei_hub::keystore::{self, KeyFiles, WhenMissing};
use renkei_hub::state::Hub;
use renkei_schema::model::Kind;
use renkei_schema::sign::SigningKey;
use renkei_schema::tlp::Tlp;
use serde_json::{json, Value};

const SHARE: &str =
    "mutation($i: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $i, sharing: $s) { id } }";

fn share(hub: &TestHub, token: &str, values: &[&str]) {
    let input: Vec<Value> = values.iter().map(|v| json!({"type": "DOMAIN", "value": v})).collect();
    hub.gql(token, SHARE, json!({"i": input, "s": {"tlp": "GREEN"}}));
}

/// A replica on `url` whose keys are sealed under the KEK at `kek`.
fn replica(url: &str, kek: &Path) -> TestHub {
    let kek = kek.to_path_buf();
    TestHub::start_on(url, move |c| {
        c.key_encryption_key_file = Some(kek);
        c.federation_poll_ms = 100;
    })
}

/// What `Hub::open` says when it refuses to start (English and Japanese).
fn refusal(config: Config) -> String {
    let opened = actix_web::rt::System::new().block_on(Hub::open(config));
    match opened {
        Ok(_) => panic!("the hub started"),
        Err(e) => format!("{e:#}"),
    }
}

fn config_on(url: &str, data_dir: &Path, kek: Option<PathBuf>) -> Config {
    Config {
        data_dir: data_dir.to_path_buf(),
        database_url: Some(url.to_string()),
        key_encryption_key_file: kek,
        database_pool_size: 2,
        metrics_listen: "127.0.0.1:0".into(),
        audit_checkpoint_seconds: 0,
        ..Config::default()
    }
}

/// Writes a secret file as the hub made them (readable by its user only).
fn write_secret(path: &Path, bytes: &[u8]) {
    std::fs::write(path, bytes).expect("write");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }
}

/// Old key files (as hubs wrote them before the keys moved into the database).
fn old_key_files(dir: &Path) -> (SigningKey, [u8; 32], [u8; 32]) {
    std::fs::create_dir_all(dir).expect("dir");
    let (key, pkcs8) = SigningKey::generate().expect("key");
    let token: [u8; 32] = renkei_hub::crypto::random_bytes().expect("rng");
    let audit: [u8; 32] = renkei_hub::crypto::random_bytes().expect("rng");
    write_secret(&dir.join("hub-signing-key.pk8"), &pkcs8);
    write_secret(&dir.join("token-hmac.key"), &token);
    write_secret(&dir.join("audit-hmac.key"), &audit);
    (key, token, audit)
}

fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !done() {
        assert!(t0.elapsed() < Duration::from_secs(30), "{what} did not happen in 30 s");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn replicas_on_one_database_with_one_kek_are_one_hub_and_others_are_refused() {
    let db = PgDatabase::create();
    let shared = TempDir::new("renkei-kek");
    let kek = shared.0.join("key-encryption.key");
    let r1 = replica(&db.url, &kek);
    let r2 = replica(&db.url, &kek);
    assert!(kek.exists(), "the first replica made the KEK where it was told");

    let key = r1.hub.keys.signing.public_key();
    assert_eq!(r2.hub.keys.signing.public_key(), key, "both sign with one key");
    assert_eq!(r1.hub.hub_id, r2.hub.hub_id);
    // A token issued through replica 1 works on replica 2, and what replica 1 signs
    // verifies with the key replica 2 gives.
    let org = r1.add_org("Power One", false);
    let token = r1.token(&org, Role::Analyst);
    share(&r1, &token, &["one.replicas.example"]);
    let data = r2.gql(&token, "{ hub { publicKey } changes { items { object signature signingKey } } }", json!({}));
    assert_eq!(data["hub"]["publicKey"], json!(key));
    let items = data["changes"]["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["signingKey"], json!(key));
    let object = renkei_schema::stix::canonical_json(&items[0]["object"]);
    renkei_schema::sign::verify_object(&key, object.as_bytes(), items[0]["signature"].as_str().expect("signature"))
        .expect("verifies with the one key");
    // And the other way round: shared through replica 2, read through replica 1.
    share(&r2, &token, &["two.replicas.example"]);
    let data = r1.gql(&token, "{ changes { items { signingKey } } }", json!({}));
    assert_eq!(data["changes"]["items"].as_array().map(Vec::len), Some(2));

    // A replica without the KEK: refused, saying what to do, and nothing is made.
    let lone = TempDir::new("renkei-replica");
    let message = refusal(config_on(&db.url, &lone.0, None));
    assert!(message.contains("HUB_KEY_MISMATCH") && message.contains("key_encryption_key_file"), "{message}");
    assert!(message.contains("鍵暗号化鍵"), "in Japanese too: {message}");
    assert!(!lone.0.join("key-encryption.key").exists(), "no KEK is made for a database that holds keys");
    // With another KEK: refused.
    let other_kek = lone.0.join("other.key");
    write_secret(&other_kek, &[7u8; 32]);
    let message = refusal(config_on(&db.url, &lone.0, Some(other_kek)));
    assert!(message.contains("does not open this hub's keys"), "{message}");
    // With the right KEK but another hub's old key files in its data folder: refused.
    let stray = TempDir::new("renkei-replica");
    old_key_files(&stray.0);
    let message = refusal(config_on(&db.url, &stray.0, Some(kek.clone())));
    assert!(message.contains("hub-signing-key.pk8") && message.contains("another hub"), "{message}");
    assert_eq!(r1.count("identity_keys"), 3, "nothing was added by the refused replicas");
}

/// A hub made before the keys moved into the database: its data folder's key files are
/// imported at the first start of the new version, so its tokens still work, its key is
/// the same, and its audit chain still verifies.
#[test]
fn an_old_data_folder_keeps_its_identity_after_the_upgrade() {
    let folder = TempDir::new("renkei-old-hub");
    let (key, token_key, audit_key) = old_key_files(&folder.0);
    let url = format!("sqlite://{}", folder.0.join("renkei.db").display());
    // What the old hub left in its database: an organisation, a token digested under its
    // token key, the audit log chained under its audit key.
    let old_keys = renkei_hub::crypto::HubKeys::from_material(
        renkei_hub::crypto::ActiveKey::new(
            SigningKey::from_pkcs8(&std::fs::read(folder.0.join("hub-signing-key.pk8")).expect("read")).expect("key"),
        ),
        &token_key,
        &audit_key,
        renkei_hub::crypto::Kek::from_bytes(&[0u8; 32]).expect("kek"),
        "old",
    );
    let token = {
        let pool = renkei_hub::store::connect(&url, 1).expect("pool");
        let mut conn = pool.get().expect("conn");
        renkei_hub::store::migrate(&mut conn).expect("migrate");
        renkei_hub::services::audit::prepare_chain(&mut conn, &old_keys).map_err(|e| e.message).expect("chain");
        let org = renkei_hub::services::directory::add_org(
            &mut conn,
            &old_keys,
            "Old Member",
            "gas",
            false,
            renkei_hub::services::moderation::Trust::Standard,
            None,
        )
        .map_err(|e| e.message)
        .expect("org");
        renkei_hub::services::directory::issue_token(&mut conn, &old_keys, &org.id, Role::Analyst, None, &[], None)
            .map_err(|e| e.message)
            .expect("token")
            .1
    };

    let data_dir = folder.0.clone();
    let hub = TestHub::start_on(&url, move |c| c.data_dir = data_dir);
    assert_eq!(hub.hub.keys.signing.public_key(), key.public_key(), "the same signing key");
    let data = hub.gql(&token, "{ me { organization { name } } hub { publicKey } }", json!({}));
    assert_eq!(data["me"]["organization"]["name"], json!("Old Member"), "the old token works");
    assert_eq!(data["hub"]["publicKey"], json!(key.public_key()));
    let hub_id = hub.hub.hub_id.clone();
    let verified = hub.db(|c| renkei_hub::services::audit::verify(c, &hub.hub.keys, &hub_id, None));
    assert!(matches!(verified, Ok(Ok(_))), "the audit chain verifies with the imported key");
    assert!(folder.0.join("key-encryption.key").exists(), "the KEK was made beside the old files");
    assert_eq!(hub.count("identity_keys"), 3);
    // The files are left (no longer read), and agree with the database.
    assert!(folder.0.join("hub-signing-key.pk8").exists());
    drop(hub);
    let data_dir = folder.0.clone();
    let again = TestHub::start_on(&url, move |c| c.data_dir = data_dir);
    assert_eq!(again.hub.keys.signing.public_key(), key.public_key(), "restarted with the same identity");
}

/// A member's client of `hub`, with a register of its own.
struct Member {
    register: diesel::sqlite::SqliteConnection,
    api: HubApi,
    _dir: TempDir,
}

impl Member {
    fn of(hub: &TestHub, token: &str) -> Member {
        let dir = TempDir::new("renkei-identity-client");
        let mut register = register::open(&dir.0.join("register.db")).expect("register");
        let api = HubApi::new(&hub.base, token.to_string(), None).expect("api");
        sync::init(&mut register, &api, &hub.base, None).expect("init");
        Member { register, api, _dir: dir }
    }

    fn sync(&mut self) -> sync::SyncReport {
        let options = sync::SyncOptions { page_size: 7, max_pages: None };
        sync::sync(&mut self.register, &self.api, &options, &mut |_| {}).expect("sync")
    }

    /// Every row held verifies with the hub's key pinned for its sequence number.
    fn verify_all(&mut self) -> usize {
        let keys = register::hub_keys(&mut self.register).expect("keys");
        let rows = register::all_items(&mut self.register).expect("items");
        for row in &rows {
            let key = keys.iter().rev().find(|(from, _)| *from <= row.seq).map(|(_, k)| k.as_str()).expect("a key");
            renkei_schema::sign::verify_object(key, row.stix.as_bytes(), &row.signature)
                .unwrap_or_else(|e| panic!("{} (seq {}) does not verify: {e}", row.id, row.seq));
        }
        rows.len()
    }
}

fn peer_input(name: &str, of: &TestHub) -> PeerInput {
    PeerInput { kinds: vec![Kind::Indicator], sightings: false, ..renkei_e2e::peer_input(name, of, Tlp::Green, true) }
}

/// The indicator values a hub shows its members.
fn values(hub: &TestHub, token: &str) -> Vec<String> {
    let data = hub.gql(token, "{ indicators(first: 100) { nodes { value } } }", json!({}));
    let mut out: Vec<String> = data["indicators"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["value"].as_str().unwrap_or_default().to_string())
        .collect();
    out.sort();
    out
}

#[test]
fn a_rotation_is_followed_by_replicas_clients_and_peers_and_a_forgery_is_refused() {
    let db = PgDatabase::create();
    let shared = TempDir::new("renkei-kek");
    let kek = shared.0.join("key-encryption.key");
    let r1 = replica(&db.url, &kek);
    let r2 = replica(&db.url, &kek);
    let peer = TestHub::start_with(Backend::Postgres, |c| c.federation_poll_ms = 100);
    let old_key = r1.hub.keys.signing.public_key();

    // The peer pulls from replica 1; replica 1 serves it.
    let (_, for_peer) = r1
        .db(|c| {
            let mut input = peer_input("national", &peer);
            input.direction = Direction::Push;
            federation::add_peer(c, &r1.hub.keys, input)
        })
        .expect("link");
    peer.db(|c| {
        let mut input = peer_input("sector", &r1);
        input.direction = Direction::Pull;
        input.token = for_peer.clone();
        federation::add_peer(c, &peer.hub.keys, input)
    })
    .expect("link");
    let org = r1.add_org("Power One", false);
    let token = r1.token(&org, Role::Analyst);
    let peer_token = peer.token(&peer.add_org("Gas One", false), Role::Analyst);
    share(&r1, &token, &["a.before.example", "b.before.example", "c.before.example"]);
    let mut member = Member::of(&r2, &token);
    assert_eq!(member.sync().stored, 3);
    wait_for("the peer receives the first items", || values(&peer, &peer_token).len() == 3);

    // Rotated as `renkei-hub key rotate` does: from a process of its own (the running
    // replicas hold the old key until they follow).
    let cli_dir = TempDir::new("renkei-cli");
    let rotated = r1.db(|c| {
        let keys = keystore::open(
            c,
            &KeyFiles { data_dir: cli_dir.0.clone(), kek_file: kek.clone() },
            &r1.hub.hub_id,
            WhenMissing::Refuse,
        )
        .expect("keys as the command line loads them");
        renkei_hub::services::identity::rotate(c, &keys, &r1.hub.hub_id).map_err(|e| e.message).expect("rotate")
    });
    assert_eq!(rotated.old_key, old_key);
    let new_key = rotated.new_key.clone();
    assert_ne!(new_key, old_key);
    assert_eq!(r2.gql(&token, "{ hub { publicKey } }", json!({}))["hub"]["publicKey"], json!(new_key));

    // Both replicas sign with the new key from their next write.
    share(&r2, &token, &["d.after.example"]);
    assert_eq!(r2.hub.keys.signing.public_key(), new_key, "replica 2 followed at its write");
    share(&r1, &token, &["e.after.example"]);
    assert_eq!(r1.hub.keys.signing.public_key(), new_key, "replica 1 followed at its write");

    // Every version's signingKey is the key that signed it.
    let data = r1.gql(&token, "{ changes { items { seq type signingKey } } }", json!({}));
    let items = data["changes"]["items"].as_array().expect("items").clone();
    assert_eq!(items.len(), 6, "five versions and the announcement: {items:?}");
    for item in &items {
        let seq: i64 = item["seq"].as_str().and_then(|s| s.parse().ok()).expect("seq");
        let expected = if seq < rotated.from_seq { &old_key } else { &new_key };
        assert_eq!(item["signingKey"].as_str(), Some(expected.as_str()), "{item}");
    }
    assert_eq!(items[3]["type"], json!("hub-key"), "the announcement, between the old and the new");

    // The member's client verifies the announcement with the key it pinned, pins the new
    // one, and keeps the old one for what it signed.
    let report = member.sync();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(report.stored, 3, "two versions and the announcement");
    assert_eq!(register::get(&mut member.register, register::HUB_KEY).expect("get"), Some(new_key.clone()));
    assert_eq!(member.verify_all(), 6);
    // A member who starts after the rotation pins the whole history at `init`.
    let mut newcomer = Member::of(&r1, &token);
    let report = newcomer.sync();
    assert!(report.refused.is_empty(), "{:?}", report.refused);
    assert_eq!(newcomer.verify_all(), 6);

    // The peer follows too: the new items arrive, nothing is refused, its link pins the
    // new key.
    wait_for("the peer receives the items signed with the new key", || values(&peer, &peer_token).len() == 5);
    let (link, status) =
        peer.db(federation::list_peers).expect("peers").into_iter().find(|(p, _)| p.name == "sector").expect("link");
    assert_eq!(link.public_key, new_key);
    assert_eq!(status.refused, "{}", "nothing refused: {status:?}");

    // A forged announcement (signed by another key) is refused by the client, which
    // keeps its keys.
    let (forger, _) = SigningKey::generate().expect("key");
    r1.db(|c| {
        use renkei_hub::store::schema::hub_key_announcements;
        let seq = renkei_hub::services::stored::max_seq(c).expect("seq") + 1;
        let announcement = renkei_schema::rotation::Announcement {
            kind: renkei_schema::rotation::ANNOUNCEMENT_TYPE.into(),
            id: format!("{}--{}", renkei_schema::rotation::ANNOUNCEMENT_TYPE, uuid::Uuid::new_v4()),
            hub: r1.hub.hub_id.clone(),
            old_key: new_key.clone(),
            new_key: forger.public_key(),
            from_seq: seq + 1,
            at: renkei_hub::store::now_text(),
        };
        let stix = announcement.canonical();
        let signature = forger.sign_batch(&[stix.as_bytes()]).concat();
        diesel::insert_into(hub_key_announcements::table)
            .values((
                hub_key_announcements::seq.eq(seq),
                hub_key_announcements::id.eq(&announcement.id),
                hub_key_announcements::at.eq(&announcement.at),
                hub_key_announcements::stix.eq(&stix),
                hub_key_announcements::signature.eq(&signature),
            ))
            .execute(c)
            .expect("forge");
    });
    share(&r1, &token, &["f.after.example"]);
    let report = member.sync();
    assert_eq!(report.refused.len(), 1, "{:?}", report.refused);
    assert!(report.refused[0].0.starts_with("x-renkei-hub-key--"), "{:?}", report.refused);
    assert!(report.refused[0].1.contains("signature"), "{:?}", report.refused);
    assert_eq!(report.stored, 1, "the genuine new item is applied");
    assert_eq!(register::get(&mut member.register, register::HUB_KEY).expect("get"), Some(new_key.clone()));
    assert_eq!(member.verify_all(), 7);
    // The peer refuses it as well, and keeps its pin.
    wait_for("the peer receives the last item", || values(&peer, &peer_token).len() == 6);
    let (link, status) =
        peer.db(federation::list_peers).expect("peers").into_iter().find(|(p, _)| p.name == "sector").expect("link");
    assert_eq!(link.public_key, new_key);
    assert!(status.refused.contains("bad_signature"), "{status:?}");
}
