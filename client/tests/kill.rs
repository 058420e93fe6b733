//! `renkei sync` killed (SIGKILL) in the middle of a sync against a real hub, then run
//! again: the register ends with exactly what the hub's feed gives the member, nothing
//! lost or doubled.

use std::process::Command;
use std::time::{Duration, Instant};

use diesel::prelude::*;
use renkei_e2e::{Backend, TempDir, TestHub};
use renkei_hub::auth::Role;
use serde_json::json;

fn held(db: &std::path::Path) -> i64 {
    let Ok(mut conn) = SqliteConnection::establish(&db.display().to_string()) else { return 0 };
    diesel::dsl::sql::<diesel::sql_types::BigInt>("SELECT COUNT(*) FROM items").get_result(&mut conn).unwrap_or(0)
}

#[test]
fn sync_killed_mid_way_resumes_with_nothing_lost_or_doubled() {
    let hub = TestHub::start(Backend::Postgres);
    let m1 = hub.add_org("Member One", false);
    let token = hub.token(&m1, Role::Analyst);
    let share =
        "mutation($i: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $i, sharing: $s) { id } }";
    for batch in 0..20 {
        let input: Vec<_> =
            (0..1000).map(|i| json!({"type": "DOMAIN", "value": format!("k{batch}-{i}.kill.example")})).collect();
        hub.gql(&token, share, json!({"i": input, "s": {"tlp": "GREEN"}}));
    }
    let (feed, _) = hub.follow_changes(&token, None, 5000);
    assert_eq!(feed.len(), 20_000);

    let dir = TempDir::new("renkei-kill-test");
    let db = dir.0.join("register.db");
    let token_file = dir.0.join("token");
    std::fs::write(&token_file, &token).expect("token");
    // The client refuses a token file others may read.
    let owner_only = <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600);
    std::fs::set_permissions(&token_file, owner_only).expect("chmod");
    let renkei = |args: &[&str]| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_renkei"));
        c.arg("--db").arg(&db).args(args).arg("--token-file").arg(&token_file);
        c
    };
    let init = renkei(&["init", "--hub", &hub.base]).stdout(std::process::Stdio::null()).status().expect("init");
    assert!(init.success());

    // Small pages, so the kill lands between and inside page transactions.
    let mut child = renkei(&["sync", "--page-size", "200"]).stderr(std::process::Stdio::null()).spawn().expect("sync");
    let deadline = Instant::now() + Duration::from_secs(60);
    while held(&db) < 2_000 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill");
    child.wait().expect("reaped");
    let at_kill = held(&db);
    assert!(at_kill > 0 && at_kill < 20_000, "killed mid-way: {at_kill} items held");

    let status = renkei(&["sync", "--page-size", "200"]).stderr(std::process::Stdio::null()).status().expect("sync");
    assert!(status.success());
    assert_eq!(held(&db), 20_000, "everything once (the id is the key, so a double would be a lost one)");
    let mut conn = SqliteConnection::establish(&db.display().to_string()).expect("open");
    let ids: Vec<String> =
        diesel::dsl::sql::<diesel::sql_types::Text>("SELECT id FROM items ORDER BY id").load(&mut conn).expect("ids");
    let mut expected: Vec<String> = feed.iter().map(|i| i["id"].as_str().expect("id").to_string()).collect();
    expected.sort();
    assert_eq!(ids, expected);
}
