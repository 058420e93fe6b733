//! False-positive allowlists at submission: listed indicators are refused with the
//! list named (nothing stored), or queued for a coordinator when the submitter forces
//! them; coordinators import and remove lists, all or nothing.

use renkei_e2e::{Backend, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

const SHARE: &str = "mutation($input: [IndicatorInput!]!, $sharing: SharingInput!) { shareIndicators(input: $input, sharing: $sharing) { id value status } }";
const IMPORT: &str =
    "mutation($name: String!, $text: String!) { importAllowlist(name: $name, text: $text) { name entries } }";

fn input(values: &[(&str, &str)]) -> Value {
    json!(values.iter().map(|(t, v)| json!({"type": t, "value": v})).collect::<Vec<_>>())
}

fn allowlist_flows(backend: Backend) {
    let hub = TestHub::start(backend);
    let m1 = hub.add_org("Member One", false);
    let coord = hub.add_org("Secretariat", true);
    let (t1, tc) = (hub.token(&m1, Role::Analyst), hub.token(&coord, Role::Coordinator));
    let objects = hub.count("objects");

    // The built-in list: one listed value refuses the batch and names it by index.
    let batch = input(&[
        ("DOMAIN", "fine.example"),
        ("IPV4", "192.168.10.20"),
        ("SHA256", "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"),
    ]);
    let (code, err) = hub.gql_error(&t1, SHARE, json!({"input": batch, "sharing": {"tlp": "GREEN"}}));
    assert_eq!(code, "ALLOWLISTED", "{err}");
    let entries = err["extensions"]["entries"].as_array().expect("entries");
    let indexes: Vec<i64> = entries.iter().map(|e| e["index"].as_i64().expect("index")).collect();
    assert_eq!(indexes, vec![1, 2]);
    assert!(entries[0]["message"].as_str().expect("message").contains("renkei-builtin"), "{err}");
    assert!(entries[0]["messageJa"].as_str().is_some_and(|m| m.contains("許可リスト")), "{err}");
    assert_eq!(hub.count("objects"), objects, "nothing stored");

    // Forced: the listed ones wait for a coordinator, the rest publish as usual.
    let shared = hub.gql(&t1, SHARE, json!({"input": batch, "sharing": {"tlp": "GREEN", "forceAllowlisted": true}}));
    let statuses: Vec<&str> =
        shared["shareIndicators"].as_array().expect("list").iter().map(|i| i["status"].as_str().expect("s")).collect();
    assert_eq!(statuses, vec!["PUBLISHED", "PENDING", "PENDING"]);
    // RED is never queued, so allowlisted values cannot be forced into a RED batch.
    let red = json!({"tlp": "RED", "recipients": [coord], "forceAllowlisted": true});
    let (code, err) = hub.gql_error(&t1, SHARE, json!({"input": batch, "sharing": red}));
    assert_eq!(code, "ALLOWLISTED");
    assert!(err["message"].as_str().is_some_and(|m| m.contains("never queued")), "{err}");
    let queue = hub.gql(&tc, "{ moderationQueue { entries { queuedBecause } } }", json!({}));
    let why = queue["moderationQueue"]["entries"][0]["queuedBecause"].as_str().expect("why").to_string();
    assert!(why.contains("renkei-builtin") && why.contains("192.168.0.0/16"), "{why}");

    // Hub lists: coordinators only, all or nothing, suffixes cover subdomains.
    let text = "# CDN of a member's vendor\n.cdn.example\n203.0.113.0/25\n";
    assert_eq!(hub.gql_error(&t1, IMPORT, json!({"name": "vendor-cdn", "text": text})).0, "FORBIDDEN");
    let (code, err) =
        hub.gql_error(&tc, IMPORT, json!({"name": "vendor-cdn", "text": "ok.example\n10.0.0.1/8\nbad value!\n"}));
    assert_eq!(code, "INVALID_ALLOWLIST");
    let lines: Vec<i64> = err["extensions"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["index"].as_i64().expect("line"))
        .collect();
    assert_eq!(lines, vec![2, 3], "bad lines named by number: {err}");
    assert_eq!(hub.count("allowlist_entries"), 0, "a bad import stores nothing");
    let imported = hub.gql(&tc, IMPORT, json!({"name": "vendor-cdn", "text": text}));
    assert_eq!(imported["importAllowlist"], json!({"name": "vendor-cdn", "entries": 2}));
    for (kind, value, listed) in [
        ("DOMAIN", "img.cdn.example", true),
        ("URL", "https://cdn.example/x.js", true),
        ("IPV4", "203.0.113.9", true),
        ("IPV4", "203.0.113.200", false),
        ("DOMAIN", "notcdn.example", false),
    ] {
        let (status, body) =
            hub.post(Some(&t1), SHARE, json!({"input": input(&[(kind, value)]), "sharing": {"tlp": "GREEN"}}));
        assert_eq!(status, 200);
        let code = body["errors"][0]["extensions"]["code"].as_str();
        assert_eq!(code == Some("ALLOWLISTED"), listed, "{value}: {body}");
        if listed {
            assert!(body.to_string().contains("vendor-cdn"), "{body}");
        }
    }
    let checked = hub.gql(
        &t1,
        "query($v: [String!]!) { checkAllowlist(values: $v) { input type list entry } }",
        json!({"v": ["a.cdn.example", "8.8.8.8", "evil.example"]}),
    );
    assert_eq!(
        checked["checkAllowlist"],
        json!([
            {"input": "a.cdn.example", "type": "DOMAIN", "list": "vendor-cdn", "entry": ".cdn.example"},
            {"input": "8.8.8.8", "type": "IPV4", "list": "renkei-builtin", "entry": "8.8.8.8"},
        ])
    );
    let lists = hub.gql(&tc, "{ allowlists { name entries } }", json!({}));
    assert_eq!(lists["allowlists"], json!([{"name": "vendor-cdn", "entries": 2}]));

    // Removing the list lets the value through.
    hub.gql(&tc, "mutation { removeAllowlist(name: \"vendor-cdn\") { entries } }", json!({}));
    let shared =
        hub.gql(&t1, SHARE, json!({"input": input(&[("DOMAIN", "img.cdn.example")]), "sharing": {"tlp": "GREEN"}}));
    assert_eq!(shared["shareIndicators"][0]["status"], "PUBLISHED");
    assert_eq!(
        hub.gql_error(&tc, "mutation { removeAllowlist(name: \"vendor-cdn\") { entries } }", json!({})).0,
        "NOT_FOUND"
    );
}

#[test]
fn allowlists_on_postgres() {
    allowlist_flows(Backend::Postgres);
}

#[test]
fn allowlists_on_sqlite() {
    allowlist_flows(Backend::Sqlite);
}

/// The built-in list can be switched off in the configuration.
#[test]
fn the_builtin_list_can_be_turned_off() {
    let hub = TestHub::start_with(Backend::Sqlite, |c| c.builtin_allowlist = false);
    let m1 = hub.add_org("Member One", false);
    let t1 = hub.token(&m1, Role::Analyst);
    let shared = hub.gql(&t1, SHARE, json!({"input": input(&[("IPV4", "10.1.2.3")]), "sharing": {"tlp": "GREEN"}}));
    assert_eq!(shared["shareIndicators"][0]["status"], "PUBLISHED");
}

/// A list imported through one replica applies on another at its next submission:
/// each replica rebuilds its matcher when the stored lists' version changes.
#[test]
fn an_import_on_one_replica_applies_on_another() {
    let a = TestHub::start(Backend::Postgres);
    let url = a.hub.config.database_url.clone();
    let dir = a.data_dir.0.clone();
    // Backend::Sqlite only stops the helper making a database of its own: the URL and
    // the key files are the first hub's.
    let b = TestHub::start_with(Backend::Sqlite, move |c| {
        c.database_url = url;
        c.data_dir = dir;
    });
    let m1 = a.add_org("Member One", false);
    let coord = a.add_org("Secretariat", true);
    let (t1, tc) = (a.token(&m1, Role::Analyst), a.token(&coord, Role::Coordinator));
    // B builds its matcher first, without the list.
    let first =
        b.gql(&t1, SHARE, json!({"input": input(&[("DOMAIN", "a.partner.example")]), "sharing": {"tlp": "GREEN"}}));
    assert_eq!(first["shareIndicators"][0]["status"], "PUBLISHED");
    a.gql(&tc, IMPORT, json!({"name": "partners", "text": ".partner.example\n"}));
    let (code, err) = b.gql_error(
        &t1,
        SHARE,
        json!({"input": input(&[("DOMAIN", "b.partner.example")]), "sharing": {"tlp": "GREEN"}}),
    );
    assert_eq!(code, "ALLOWLISTED", "{err}");
}
