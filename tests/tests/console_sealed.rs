//! Sealed TLP:RED through the web console: a member's client seals a share to a file
//! (`renkei share … --envelope-out FILE`, here `sealed::seal_share` of the client
//! library), the member uploads it on `/console/share/sealed`, and the hub stores it
//! sealed for the recipient; a document that is not a sealed share is refused in both
//! languages and stores nothing.

use renkei_client::hub_api::HubApi;
use renkei_client::{register, sealed, share, sync};
use renkei_e2e::console::{visible_text, ConsoleClient, Page};
use renkei_e2e::{Backend, TempDir, TestHub};
use renkei_hub::auth::Role;
use serde_json::json;

/// A member's register with its key registered at the hub.
struct Member {
    _dir: TempDir,
    db: std::path::PathBuf,
    conn: diesel::SqliteConnection,
    api: HubApi,
}

impl Member {
    fn init(hub: &TestHub, token: &str) -> Member {
        let dir = TempDir::new("renkei-console-sealed");
        let db = dir.0.join("register.db");
        let mut conn = register::open(&db).expect("register");
        let api = HubApi::new(&hub.base, token.to_string(), None).expect("api");
        sync::init(&mut conn, &api, &hub.base, None).expect("init");
        sealed::new_key(&mut conn, &db, &api, false).expect("key");
        Member { _dir: dir, db, conn, api }
    }
}

/// The refusal a page shows (its code and both languages), empty when none.
fn refusal(page: &Page) -> String {
    let Some(start) = page.body.find("id=\"sealed-error\"") else { return String::new() };
    let end = page.body[start..].find("</div>").map_or(page.body.len(), |e| start + e);
    visible_text(&page.body[start..end])
}

fn sealed_via_console(backend: Backend) {
    let hub = TestHub::start(backend);
    let s = hub.add_org("Sender Power", false);
    let r = hub.add_org("Recipient Gas", false);
    let (s_token, r_token) = (hub.token(&s, Role::Analyst), hub.token(&r, Role::Analyst));
    let mut sender = Member::init(&hub, &s_token);
    let mut recipient = Member::init(&hub, &r_token);

    let bodies =
        share::bodies::indicators(&[("DOMAIN".to_string(), "sealed-console.example".to_string())]).expect("bodies");
    let how = share::Sharing {
        tlp: "RED".into(),
        recipients: vec![r.clone()],
        anonymous: false,
        confidence: Some(80),
        valid_until: None,
    };
    let document = sealed::seal_share(&mut sender.conn, &sender.api, bodies, &how).expect("seal");
    let id = document.items[0].id.clone();
    let text = serde_json::to_string(&document).expect("json");
    assert!(!text.contains("sealed-console.example"), "the document carries no content");

    // The page explains itself in both languages; the plaintext forms point to it.
    for lang in ["en", "ja"] {
        let mut console = ConsoleClient::signed_in(&hub, &s_token, lang).expect("sign in");
        let form = console.get("/console/share/sealed").expect("page");
        assert_eq!(form.status, 200, "{}", form.text());
        assert!(form.text().contains("--envelope-out"), "{}", form.text());
        let plain = console.get("/console/share/technique").expect("form");
        assert!(plain.links("/console/share/sealed").len() >= 2, "the RED help links to the sealed page");
    }

    // Without the session's CSRF secret nothing is stored.
    let mut console = ConsoleClient::signed_in(&hub, &s_token, "en").expect("sign in");
    let forged = console.post_raw("/console/share/sealed", &[("document", &text)]).expect("post");
    assert_eq!(forged.status, 403);
    let before = hub.count("objects");

    // Malformed documents: refused on the page in both languages, nothing stored.
    console.get("/console/share/sealed").expect("page");
    let extra = text.replace("renkei-sealed-share-v1\",", "renkei-sealed-share-v1\", \"extra\": 1,");
    for (bad, en, ja) in [
        ("{not json", "the file is not JSON", "JSONではありません"),
        (r#"{"format": "something-else", "items": []}"#, "not a sealed share", "封緘した共有ではありません"),
        (extra.as_str(), "the sealed share is malformed", "封緘した共有の形式が不正です"),
    ] {
        let answer = console.post("/console/share/sealed", &[("document", bad)]).expect("post");
        assert_eq!(answer.status, 422, "{bad}: {}", answer.text());
        let shown = refusal(&answer);
        assert!(shown.contains(en) && shown.contains(ja) && shown.contains("INVALID_SEALED"), "{bad}: {shown}");
    }
    assert_eq!(hub.count("objects"), before, "a refused document stores nothing");
    assert!(hub.gql(&r_token, "query($id: ID!) { node(id: $id) { ... on Indicator { sealed } } }", json!({"id": id}))
        ["node"]
        .is_null());

    // The document uploaded as a file: stored sealed, the receipt shown.
    let answer = console
        .post_multipart("/console/share/sealed", &[("envelope", Some("red.json"), &text), ("document", None, "")])
        .expect("upload");
    assert_eq!(answer.status, 200, "{}", answer.text());
    assert!(answer.links("/console/items/").iter().any(|l| l.ends_with(&id)), "{}", answer.text());
    assert!(answer.text().contains("1 sealed item shared") && refusal(&answer).is_empty(), "{}", answer.text());
    let node =
        hub.gql(&r_token, "query($id: ID!) { node(id: $id) { ... on Indicator { sealed } } }", json!({"id": id}));
    assert_eq!(node["node"]["sealed"], json!(true), "{node}");

    // The same document again: the hub's coded refusal, in both languages.
    let mut ja = ConsoleClient::signed_in(&hub, &s_token, "ja").expect("sign in");
    ja.get("/console/share/sealed").expect("page");
    let again = ja.post("/console/share/sealed", &[("document", &text)]).expect("post");
    assert_eq!(again.status, 422, "{}", again.text());
    let shown = refusal(&again);
    assert!(shown.contains("OBJECT_EXISTS"), "{shown}");
    assert!(shown.contains("何も保存されていません") && shown.contains("nothing was stored"), "{shown}");

    // Sealed before the recipient rotated its key: SEALED_KEYS_MISMATCH, in both
    // languages, nothing stored.
    let bodies =
        share::bodies::indicators(&[("DOMAIN".to_string(), "stale-keys.example".to_string())]).expect("bodies");
    let stale = sealed::seal_share(&mut sender.conn, &sender.api, bodies, &how).expect("seal");
    sealed::new_key(&mut recipient.conn, &recipient.db, &recipient.api, true).expect("rotate");
    let before = hub.count("objects");
    let refused = console
        .post("/console/share/sealed", &[("document", &serde_json::to_string(&stale).expect("json"))])
        .expect("post");
    let shown = refusal(&refused);
    assert_eq!(refused.status, 422, "{shown}");
    assert!(
        shown.contains("SEALED_KEYS_MISMATCH") && shown.contains("reseal") && shown.contains("封緘し直して"),
        "{shown}"
    );
    assert_eq!(hub.count("objects"), before);
}

#[test]
fn sealed_share_uploaded_through_the_console_sqlite() {
    sealed_via_console(Backend::Sqlite);
}

#[test]
fn sealed_share_uploaded_through_the_console_postgres() {
    sealed_via_console(Backend::Postgres);
}
