//! Sealed TLP:RED on the hub: the organisation key directory (registration,
//! introduction, rotation, revocation and their refusals), `shareSealed` with real
//! envelopes (`renkei_schema::seal`), SEALING_REQUIRED for plaintext RED, sealed items
//! as recipients and others see them, and relabelling or correcting refused. A hub runs
//! in-process on SQLite; requests go through its GraphQL schema as each caller.

use std::sync::Arc;

use async_graphql::{Request, Variables};
use chrono::Utc;
use serde_json::{json, Value};

use renkei_hub::auth::{Identity, Role};
use renkei_hub::config::Config;
use renkei_hub::graphql::{build_schema, HubSchema};
use renkei_hub::services::directory;
use renkei_hub::services::moderation::Trust;
use renkei_hub::state::Hub;
use renkei_schema::model::indicator::IndicatorType;
use renkei_schema::model::{Body, IndicatorBody, Kind};
use renkei_schema::seal::{self, Content, KeyRegistration, OrgKey, OrgKeyPair, PublishedKey, SealedBody};

struct TestHub {
    hub: Arc<Hub>,
    schema: HubSchema,
    _dir: Dir,
}

struct Dir(std::path::PathBuf);

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl TestHub {
    async fn start(require_sealing: bool) -> TestHub {
        let dir = std::env::temp_dir().join(format!("renkei-sealed-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir).expect("test setup");
        let mut config = Config {
            data_dir: dir.clone(),
            database_url: Some(format!("sqlite://{}", dir.join("hub.db").display())),
            database_pool_size: 4,
            metrics_listen: "127.0.0.1:0".into(),
            audit_checkpoint_seconds: 0,
            ..Config::default()
        };
        config.sealing.require_for_red = require_sealing;
        let hub = Hub::open(config).await.expect("test setup");
        let schema = build_schema(Arc::clone(&hub));
        TestHub { hub, schema, _dir: Dir(dir) }
    }

    fn org(&self, name: &str, coordinator: bool) -> Identity {
        let mut c = self.hub.connection().expect("test setup");
        let org = directory::add_org(&mut c, &self.hub.keys, name, "energy", coordinator, Trust::Standard, None)
            .expect("test setup");
        Identity {
            org_id: org.id,
            org_name: name.into(),
            role: if coordinator { Role::Coordinator } else { Role::Analyst },
            token_id: format!("token-{name}"),
            source: None,
            grants: Vec::new(),
        }
    }

    async fn post(&self, who: &Identity, query: &str, variables: Value) -> Value {
        let request = Request::new(query).variables(Variables::from_json(variables)).data(who.clone());
        serde_json::to_value(self.schema.execute(request).await).expect("test setup")
    }

    async fn ok(&self, who: &Identity, query: &str, variables: Value) -> Value {
        let answer = self.post(who, query, variables).await;
        assert!(answer.get("errors").is_none_or(|e| e.as_array().is_none_or(|a| a.is_empty())), "{answer}");
        answer["data"].clone()
    }

    async fn refused(&self, who: &Identity, query: &str, variables: Value) -> String {
        let answer = self.post(who, query, variables).await;
        let code = answer["errors"][0]["extensions"]["code"].as_str().unwrap_or_default().to_string();
        assert!(!code.is_empty(), "expected a refusal, got {answer}");
        code
    }

    async fn hub_key(&self, who: &Identity) -> String {
        self.ok(who, "{ hub { publicKey } }", json!({})).await["hub"]["publicKey"]
            .as_str()
            .expect("test setup")
            .to_string()
    }
}

const REGISTER: &str =
    "mutation($r: String!) { registerOrganizationKey(registration: $r) { org keyId revoked record } }";
const INTRODUCE: &str = "mutation($k: String!, $b: String!, $i: String!) { introduceOrganizationKey(keyId: $k, introducedBy: $b, introduction: $i) { keyId revoked record } }";
const REVOKE: &str = "mutation($k: String!) { revokeOrganizationKey(keyId: $k) { keyId revoked record } }";
const KEYS: &str = "query($o: [String!]!) { organizationKeys(orgs: $o) { org keyId revoked record } }";
const SHARE_SEALED: &str = "mutation($items: [SealedItemInput!]!, $to: [String!]!, $anon: Boolean) { shareSealed(items: $items, recipients: $to, anonymous: $anon) { id kind version status } }";
const SHARE_RED: &str = "mutation($to: [ID!]!) { shareIndicators(input: [{type: IPV4, value: \"192.0.2.44\"}], sharing: {tlp: RED, recipients: $to}) { id } }";

fn pair() -> OrgKeyPair {
    OrgKeyPair::generate().expect("test setup")
}

fn key(p: &OrgKeyPair, org: &Identity, replaces: Option<&str>) -> OrgKey {
    p.public(&org.org_id, Utc::now(), replaces)
}

fn text(r: &KeyRegistration) -> Value {
    json!({"r": serde_json::to_string(r).expect("test setup")})
}

fn indicator(value: &str) -> Content {
    Content {
        id: Kind::Indicator.new_id(),
        body: Body::Indicator(IndicatorBody {
            indicator_type: IndicatorType::Ipv4,
            value: value.into(),
            description: None,
        }),
    }
}

fn items_json(contents: &[Content], sealed: &[SealedBody]) -> Value {
    json!(contents
        .iter()
        .zip(sealed)
        .map(|(c, s)| json!({"id": c.id, "sealed": serde_json::to_string(s).expect("test setup")}))
        .collect::<Vec<_>>())
}

#[test]
fn organisation_keys_register_introduce_rotate_and_revoke_with_their_refusals() {
    actix_web::rt::System::new().block_on(async {
        let t = TestHub::start(true).await;
        let a = t.org("org-a", false);
        let b = t.org("org-b", false);
        let (a1, b1) = (pair(), pair());

        // A first key, self-signed, no introduction.
        let a1_key = key(&a1, &a, None);
        let reg = a1.registration(a1_key.clone(), None);
        let got = t.ok(&a, REGISTER, text(&reg)).await;
        assert_eq!(got["registerOrganizationKey"]["keyId"], json!(a1.key_id()));
        assert_eq!(t.refused(&a, REGISTER, text(&reg)).await, "DUPLICATE_ORG_KEY");

        // Another organisation's key, or a forged self-signature.
        let b1_key = key(&b1, &b, None);
        let b_reg = b1.registration(b1_key.clone(), None);
        assert_eq!(t.refused(&a, REGISTER, text(&b_reg)).await, "FORBIDDEN");
        let mut forged = b1.registration(key(&pair(), &b, None), None);
        forged.self_signature = b_reg.self_signature.clone();
        assert_eq!(t.refused(&b, REGISTER, text(&forged)).await, "INVALID_ORG_KEY");
        assert_eq!(t.refused(&b, REGISTER, json!({"r": "{\"not\": \"a key\"}"})).await, "INVALID_ORG_KEY");
        t.ok(&b, REGISTER, text(&b_reg)).await;

        // A rotation not introduced by the key it replaces; one introduced by another
        // organisation's key; then the real rotation.
        let a2 = pair();
        let a2_key = key(&a2, &a, Some(a1.key_id()));
        assert_eq!(t.refused(&a, REGISTER, text(&a2.registration(a2_key.clone(), None))).await, "INVALID_ORG_KEY");
        let a3 = pair();
        let by_b = a3.registration(key(&a3, &a, None), Some(&b1));
        assert_eq!(t.refused(&a, REGISTER, text(&by_b)).await, "INVALID_ORG_KEY");
        t.ok(&a, REGISTER, text(&a2.registration(a2_key.clone(), Some(&a1)))).await;
        // a1 is replaced now: nothing may replace it again.
        let a5 = pair();
        let again = a5.registration(key(&a5, &a, Some(a1.key_id())), Some(&a1));
        assert_eq!(t.refused(&a, REGISTER, text(&again)).await, "INVALID_ORG_KEY");

        // A second installation, registered alone, then introduced by a2.
        let a4 = pair();
        let a4_key = key(&a4, &a, None);
        t.ok(&a, REGISTER, text(&a4.registration(a4_key.clone(), None))).await;
        let intro = json!({"k": a4.key_id(), "b": a2.key_id(), "i": b1.introduce(&a4_key)});
        assert_eq!(t.refused(&a, INTRODUCE, intro).await, "INVALID_ORG_KEY", "a forged introduction");
        let intro = json!({"k": a4.key_id(), "b": a2.key_id(), "i": a2.introduce(&a4_key)});
        assert_eq!(t.refused(&b, INTRODUCE, intro.clone()).await, "FORBIDDEN");
        t.ok(&a, INTRODUCE, intro.clone()).await;
        assert_eq!(t.refused(&a, INTRODUCE, intro).await, "INVALID_ORG_KEY", "introduced once");

        // Revocation: only by its organisation, once.
        assert_eq!(t.refused(&b, REVOKE, json!({"k": a4.key_id()})).await, "FORBIDDEN");
        let revoked = t.ok(&a, REVOKE, json!({"k": a4.key_id()})).await;
        assert_eq!(revoked["revokeOrganizationKey"]["revoked"], json!(true));
        assert_eq!(t.refused(&a, REVOKE, json!({"k": a4.key_id()})).await, "ALREADY_REVOKED");

        // Every key is published, signed by the hub; a member who pinned a1 trusts
        // the chain and seals to a2 only.
        let coordinator = t.org("coord", true);
        let listed = t.ok(&coordinator, KEYS, json!({"o": [a.org_id, b.org_id]})).await;
        let listed = listed["organizationKeys"].as_array().expect("test setup").clone();
        assert_eq!(listed.len(), 4);
        let published: Vec<PublishedKey> = listed
            .iter()
            .filter(|k| k["org"] == json!(a.org_id))
            .map(|k| serde_json::from_str(k["record"].as_str().expect("test setup")).expect("test setup"))
            .collect();
        assert_eq!(published.len(), 3);
        let hub_key = t.hub_key(&a).await;
        let check = seal::check_published(&a.org_id, &hub_key, &published, std::slice::from_ref(&a1_key));
        assert!(check.refused.is_empty(), "{:?}", check.refused);
        assert_eq!(check.trusted.len(), 3);
        assert_eq!(check.current.iter().map(|k| k.key_id.as_str()).collect::<Vec<_>>(), vec![a2.key_id()]);
        let too_many: Vec<String> = (0..201).map(|i| format!("org-{i}")).collect();
        assert_eq!(t.refused(&a, KEYS, json!({"o": too_many})).await, "BATCH_TOO_LARGE");
    });
}

#[test]
fn sealed_items_are_shared_to_exactly_the_current_keys_and_read_only_by_recipients() {
    actix_web::rt::System::new().block_on(async {
        let t = TestHub::start(true).await;
        let (a, b, c) = (t.org("sender", false), t.org("reader", false), t.org("keyless", false));
        let outsider = t.org("outsider", false);
        let (ka, kb, ko) = (pair(), pair(), pair());
        let (a_key, b_key, o_key) = (key(&ka, &a, None), key(&kb, &b, None), key(&ko, &outsider, None));
        t.ok(&a, REGISTER, text(&ka.registration(a_key.clone(), None))).await;
        t.ok(&b, REGISTER, text(&kb.registration(b_key.clone(), None))).await;
        t.ok(&outsider, REGISTER, text(&ko.registration(o_key.clone(), None))).await;

        // Plaintext RED to recipients who all have keys is refused; with one keyless
        // recipient it is accepted.
        assert_eq!(t.refused(&a, SHARE_RED, json!({"to": [b.org_id]})).await, "SEALING_REQUIRED");
        t.ok(&a, SHARE_RED, json!({"to": [b.org_id, c.org_id]})).await;

        // Well formed, to B's and A's current keys.
        let contents = vec![indicator("198.51.100.1"), indicator("198.51.100.2")];
        let sealed = seal::seal(&contents, &[b_key.clone(), a_key.clone()], Some((&a.org_id, &ka))).expect("test setup");
        let vars = json!({"items": items_json(&contents, &sealed), "to": [b.org_id]});
        let shared = t.ok(&a, SHARE_SEALED, vars.clone()).await;
        let receipts = shared["shareSealed"].as_array().expect("test setup");
        assert_eq!(receipts.len(), 2);
        assert_eq!(receipts[0]["id"], json!(contents[0].id));
        assert_eq!(receipts[0]["status"], json!("PUBLISHED"));
        assert_eq!(receipts[0]["kind"], json!("indicator"));
        // The same ids again.
        assert_eq!(t.refused(&a, SHARE_SEALED, vars).await, "OBJECT_EXISTS");

        // The sender's key missing (not anonymous), an extra key, a keyless recipient.
        let fresh = vec![indicator("198.51.100.3")];
        let only_b = seal::seal(&fresh, std::slice::from_ref(&b_key), Some((&a.org_id, &ka))).expect("test setup");
        let vars = json!({"items": items_json(&fresh, &only_b), "to": [b.org_id]});
        assert_eq!(t.refused(&a, SHARE_SEALED, vars).await, "SEALED_KEYS_MISMATCH");
        let extra = seal::seal(&fresh, &[b_key.clone(), a_key.clone(), o_key.clone()], Some((&a.org_id, &ka))).expect("test setup");
        let vars = json!({"items": items_json(&fresh, &extra), "to": [b.org_id]});
        assert_eq!(t.refused(&a, SHARE_SEALED, vars).await, "SEALED_KEYS_MISMATCH");
        let to_c = seal::seal(&fresh, &[b_key.clone(), a_key.clone()], Some((&a.org_id, &ka))).expect("test setup");
        let vars = json!({"items": items_json(&fresh, &to_c), "to": [b.org_id, c.org_id]});
        assert_eq!(t.refused(&a, SHARE_SEALED, vars).await, "NO_ORG_KEY");

        // Malformed envelopes and ids of another kind.
        let bad = json!({"items": [{"id": fresh[0].id, "sealed": "{}"}], "to": [b.org_id]});
        assert_eq!(t.refused(&a, SHARE_SEALED, bad).await, "INVALID_SEALED");
        let mut broken = to_c[0].clone();
        broken.scheme = "other".into();
        let bad = json!({"items": items_json(&fresh, &[broken]), "to": [b.org_id]});
        assert_eq!(t.refused(&a, SHARE_SEALED, bad).await, "INVALID_SEALED");
        let wrong_kind = json!({"items": [{"id": Kind::Technique.new_id(), "sealed": serde_json::to_string(&to_c[0]).expect("test setup")}], "to": [b.org_id]});
        assert_eq!(t.refused(&a, SHARE_SEALED, wrong_kind).await, "INVALID_SEALED");

        // Anonymous: to the recipients' keys only.
        let anon = seal::seal(&fresh, std::slice::from_ref(&b_key), None).expect("test setup");
        let vars = json!({"items": items_json(&fresh, &anon), "to": [b.org_id], "anon": true});
        t.ok(&a, SHARE_SEALED, vars).await;

        // The recipient lists it sealed, with no content, and opens the envelope.
        let list = "{ indicators(first: 100) { nodes { id type value sealed sealedEnvelope } } }";
        let nodes = t.ok(&b, list, json!({})).await["indicators"]["nodes"].as_array().expect("test setup").clone();
        let node = nodes.iter().find(|n| n["id"] == json!(contents[1].id)).expect("listed to the recipient");
        assert_eq!(node["sealed"], json!(true));
        assert_eq!(node["value"], json!(""));
        assert_eq!(node["type"], Value::Null);
        let envelope: SealedBody = serde_json::from_str(node["sealedEnvelope"].as_str().expect("test setup")).expect("test setup");
        assert!(envelope.wraps.iter().all(|w| w.key.is_none()), "the wraps name no key");
        let mut lookup = |org: &str, k: &str| (org == a.org_id && k == a_key.key_id).then(|| a_key.signing_key.clone());
        let is_a = |org: &str| org == a.org_id;
        let opened = seal::Opener::new(vec![kb])
            .open(&contents[1].id, Kind::Indicator, &envelope, seal::Submitter::Named(&is_a), &mut lookup)
            .expect("test setup");
        assert_eq!(opened.body, contents[1].body);
        assert!(nodes.iter().all(|n| n["sealed"] == json!(true) || n["value"] != json!("")));

        // Nobody else sees it.
        let others = t.ok(&c, list, json!({})).await;
        assert!(!others.to_string().contains(&contents[1].id));
        let node_query = "query($id: ID!) { node(id: $id) { ... on Indicator { id } } }";
        assert_eq!(t.ok(&c, node_query, json!({"id": contents[1].id})).await["node"], Value::Null);

        // Never loosened, widened or corrected; tightening it is a relabel.
        let relabel = "mutation($id: ID!, $tlp: Tlp!, $to: [ID!]) { changeLabel(id: $id, tlp: $tlp, recipients: $to) { version } }";
        let loosen = json!({"id": contents[0].id, "tlp": "AMBER", "to": null});
        assert_eq!(t.refused(&a, relabel, loosen).await, "SEALED_FIXED");
        let widen = json!({"id": contents[0].id, "tlp": "RED", "to": [b.org_id, c.org_id]});
        assert_eq!(t.refused(&a, relabel, widen).await, "SEALED_FIXED");
        let correct = "mutation($id: ID!) { correct(id: $id, correction: {description: \"x\"}) { __typename } }";
        assert_eq!(t.refused(&a, correct, json!({"id": contents[0].id})).await, "SEALED_FIXED");
        // Revoked like any item.
        let revoke = "mutation($id: ID!) { revoke(id: $id, reason: \"withdrawn\") { status } }";
        assert_eq!(t.ok(&a, revoke, json!({"id": contents[0].id})).await["revoke"]["status"], json!("REVOKED"));
    });
}

#[test]
fn plaintext_red_is_accepted_when_sealing_is_not_required() {
    actix_web::rt::System::new().block_on(async {
        let t = TestHub::start(false).await;
        let (a, b) = (t.org("sender", false), t.org("reader", false));
        let kb = pair();
        t.ok(&b, REGISTER, text(&kb.registration(key(&kb, &b, None), None))).await;
        t.ok(&a, SHARE_RED, json!({"to": [b.org_id]})).await;
    });
}

/// A member that registers key after key costs every member's sync nothing beyond the
/// bound: the 65th key of an organisation is refused, and stored is only what was.
#[test]
fn an_organisation_registers_a_bounded_number_of_keys() {
    actix_web::rt::System::new().block_on(async {
        let t = TestHub::start(true).await;
        let a = t.org("prober", false);
        let max = renkei_hub::services::org_keys::MAX_KEYS_PER_ORG;
        let mut current = pair();
        t.ok(&a, REGISTER, text(&current.registration(key(&current, &a, None), None))).await;
        for _ in 1..max {
            let next = pair();
            let registration = next.registration(key(&next, &a, Some(current.key_id())), Some(&current));
            t.ok(&a, REGISTER, text(&registration)).await;
            current = next;
        }
        let next = pair();
        let refused = t
            .refused(&a, REGISTER, text(&next.registration(key(&next, &a, Some(current.key_id())), Some(&current))))
            .await;
        assert_eq!(refused, "INVALID_ORG_KEY");
        let listed = t.ok(&a, KEYS, json!({"o": [a.org_id]})).await;
        assert_eq!(listed["organizationKeys"].as_array().expect("test setup").len(), max);
    });
}
