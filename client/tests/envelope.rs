//! `renkei share --tlp RED --recipient ORG --envelope-out FILE` against a real hub: it
//! seals exactly as a sealed share would be sent but writes the `shareSealed` variables
//! to FILE (owner-only) instead of sending them, for the web console's sealed page.

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;
use std::process::{Command, Output};

use renkei_e2e::{Backend, TempDir, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

fn renkei(db: &Path, token: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_renkei"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env("RENKEI_TOKEN", token)
        .env_remove("RENKEI_DB")
        .output()
        .expect("run renkei")
}

fn ok(db: &Path, token: &str, args: &[&str]) -> String {
    let out = renkei(db, token, args);
    let (o, e) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{args:?} failed:\n{o}\n{e}");
    format!("{o}{e}")
}

#[test]
fn envelope_out_writes_the_sealed_share_owner_only_and_sends_nothing() {
    let hub = TestHub::start(Backend::Sqlite);
    let s = hub.add_org("Sender Power", false);
    let r = hub.add_org("Recipient Gas", false);
    let (s_token, r_token) = (hub.token(&s, Role::Analyst), hub.token(&r, Role::Analyst));
    let dir = TempDir::new("renkei-envelope-test");
    let (s_db, r_db) = (dir.0.join("sender.db"), dir.0.join("recipient.db"));
    ok(&s_db, &s_token, &["init", "--hub", &hub.base]);
    ok(&r_db, &r_token, &["init", "--hub", &hub.base]);
    let before = hub.count("objects");

    let file = dir.0.join("red.json");
    let file_arg = file.display().to_string();
    let said = ok(
        &s_db,
        &s_token,
        &[
            "share",
            "--tlp",
            "RED",
            "--recipient",
            &r,
            "--confidence",
            "70",
            "--envelope-out",
            &file_arg,
            "indicator",
            "--type",
            "DOMAIN",
            "--value",
            "envelope.example",
        ],
    );
    assert!(said.contains(&file_arg), "it says where it wrote: {said}");
    assert_eq!(hub.count("objects"), before, "nothing was sent to the hub");

    let mode = std::fs::metadata(&file).expect("written").permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "owner-only");
    let text = std::fs::read_to_string(&file).expect("read");
    assert!(!text.contains("envelope.example"), "sealed: the content is not in the file");
    let doc: Value = serde_json::from_str(&text).expect("JSON");
    let mut keys: Vec<&str> = doc.as_object().expect("object").keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["anonymous", "confidence", "format", "items", "recipients", "validUntil"]);
    assert_eq!(doc["format"], json!("renkei-sealed-share-v1"));
    assert_eq!(doc["recipients"], json!([r]));
    assert_eq!(doc["anonymous"], json!(false));
    assert_eq!(doc["confidence"], json!(70));
    assert_eq!(doc["validUntil"], Value::Null);
    let items = doc["items"].as_array().expect("items");
    assert_eq!(items.len(), 1);
    assert!(items[0]["id"].as_str().expect("id").starts_with("indicator--"));
    let sealed: Value = serde_json::from_str(items[0]["sealed"].as_str().expect("sealed text")).expect("sealed JSON");
    assert!(sealed.is_object(), "{sealed}");

    // Written again over a file others could read: owner-only again.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    ok(
        &s_db,
        &s_token,
        &[
            "share",
            "--tlp",
            "RED",
            "--recipient",
            &r,
            "--envelope-out",
            &file_arg,
            "indicator",
            "--type",
            "DOMAIN",
            "--value",
            "again.example",
        ],
    );
    assert_eq!(std::fs::metadata(&file).expect("written").permissions().mode() & 0o777, 0o600);

    // Not for what is not sealed.
    let out = renkei(
        &s_db,
        &s_token,
        &[
            "share",
            "--tlp",
            "AMBER",
            "--envelope-out",
            &file_arg,
            "indicator",
            "--type",
            "DOMAIN",
            "--value",
            "x.example",
        ],
    );
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("--envelope-out"));
}
