//! The `renkei-hub` command line, run as a user would: organisations, tokens, keys,
//! ATT&CK import and audit verification, with configuration from flags, environment
//! and file.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn bin() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_renkei-hub"));
    // Keep the caller's RENKEI_* settings out of these tests.
    for (k, _) in std::env::vars() {
        if k.starts_with("RENKEI_") {
            cmd.env_remove(k);
        }
    }
    cmd.env("RENKEI_LOG", "warn");
    cmd
}

struct Dir(PathBuf);

impl Dir {
    fn new() -> Dir {
        let d = std::env::temp_dir().join(format!("renkei-cli-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&d).expect("dir");
        Dir(d)
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().expect("renkei-hub runs")
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf8").trim().to_string()
}

fn hub(data: &Path) -> Command {
    let mut c = bin();
    c.arg("--data-dir").arg(data);
    c
}

#[test]
fn admin_commands_work_on_the_embedded_default_and_audit_verify_catches_tampering() {
    let dir = Dir::new();
    let data = dir.0.join("data");
    let org = ok(hub(&data).args(["org", "add", "Kanto Electric", "--sector", "electricity"]));
    assert!(uuid::Uuid::parse_str(&org).is_ok(), "org add prints only the id: {org}");
    let coord = ok(hub(&data).args(["org", "add", "Electricity ISAC", "--sector", "electricity", "--coordinator"]));
    assert!(ok(hub(&data).args(["org", "list"])).contains("Kanto Electric"));
    // The default database is an SQLite file in the data folder.
    assert!(data.join("renkei.db").exists());

    let token = ok(hub(&data).args(["token", "issue", "--org", &org, "--role", "analyst", "--expires", "90d"]));
    assert!(token.starts_with("rk_") && !token.contains('\n'), "token issue prints only the token");
    let out = run(hub(&data).args(["token", "issue", "--org", &org, "--role", "coordinator"]));
    assert!(!out.status.success(), "a member organisation gets no coordinator token");
    ok(hub(&data).args(["token", "issue", "--org", &coord, "--role", "coordinator"]));
    let out = run(hub(&data).args(["token", "issue", "--org", &org, "--role", "janitor"]));
    assert!(!out.status.success());

    // Keys: made at first start in the database, sealed under a private key-encryption
    // key; stable; no key files.
    let key = ok(hub(&data).args(["key", "show"]));
    assert_eq!(key, ok(hub(&data).args(["key", "show"])));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("key-encryption.key")).expect("KEK file").permissions().mode();
        assert_eq!(mode & 0o077, 0, "the key-encryption key must be readable by the hub user only");
    }
    assert!(!data.join("hub-signing-key.pk8").exists() && !data.join("token-hmac.key").exists());

    // A rotation: the new key is printed, shown and listed after the first.
    let rotated = ok(hub(&data).args(["key", "rotate"]));
    assert_ne!(rotated, key);
    assert_eq!(ok(hub(&data).args(["key", "show"])), rotated);
    let listed = ok(hub(&data).args(["key", "list"]));
    let lines: Vec<&str> = listed.lines().collect();
    assert_eq!(lines.len(), 2, "{listed}");
    assert!(lines[0].contains(&key) && lines[0].ends_with("retired"), "{listed}");
    assert!(lines[1].contains(&rotated) && lines[1].ends_with("current"), "{listed}");

    let token_id = token.split('_').nth(1).expect("id");
    ok(hub(&data).args(["token", "revoke", token_id]));
    assert!(!run(hub(&data).args(["token", "revoke", token_id])).status.success(), "revoking twice is refused");

    let verified = ok(hub(&data).args(["audit", "verify"]));
    assert!(verified.contains("intact"), "{verified}");

    // Tamper with one audit row: verify must fail and name it.
    let mut conn =
        <diesel::SqliteConnection as diesel::Connection>::establish(&data.join("renkei.db").display().to_string())
            .expect("sqlite");
    diesel::RunQueryDsl::execute(
        diesel::sql_query("UPDATE audit_log SET detail = '{\"role\":\"coordinator\"}' WHERE seq = 3"),
        &mut conn,
    )
    .expect("tamper");
    let out = run(hub(&data).args(["audit", "verify"]));
    assert!(!out.status.success(), "tampering must fail verification");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("entry 3"), "names the first bad entry: {stderr}");

    // Deleting an entry breaks the chain too.
    diesel::RunQueryDsl::execute(diesel::sql_query("DELETE FROM audit_log WHERE seq = 2"), &mut conn).expect("delete");
    let out = run(hub(&data).args(["audit", "verify"]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("entry 2"));
}

#[test]
fn configuration_comes_from_file_then_environment_then_flags() {
    let dir = Dir::new();
    let file_data = dir.0.join("from-file");
    let env_data = dir.0.join("from-env");
    let flag_data = dir.0.join("from-flag");
    let config = dir.0.join("hub.toml");
    std::fs::write(&config, format!("data_dir = {:?}\n", file_data.display().to_string())).expect("write");

    ok(bin().arg("--config").arg(&config).args(["org", "add", "A", "--sector", "gas"]));
    assert!(file_data.join("renkei.db").exists());
    ok(bin()
        .arg("--config")
        .arg(&config)
        .env("RENKEI_DATA_DIR", &env_data)
        .args(["org", "add", "B", "--sector", "gas"]));
    assert!(env_data.join("renkei.db").exists());
    ok(bin()
        .arg("--config")
        .arg(&config)
        .env("RENKEI_DATA_DIR", &env_data)
        .arg("--data-dir")
        .arg(&flag_data)
        .args(["org", "add", "C", "--sector", "gas"]));
    assert!(flag_data.join("renkei.db").exists());
    // RENKEI_DATABASE_URL names the database for every subcommand.
    let url = format!("sqlite://{}", dir.0.join("elsewhere.db").display());
    ok(bin()
        .env("RENKEI_DATA_DIR", &env_data)
        .env("RENKEI_DATABASE_URL", &url)
        .args(["org", "add", "D", "--sector", "gas"]));
    assert!(dir.0.join("elsewhere.db").exists());

    // A typo in the file is an error, not silently ignored.
    std::fs::write(&config, "lisen = \"0.0.0.0:1\"\n").expect("write");
    let out = run(bin().arg("--config").arg(&config).args(["org", "list"]));
    assert!(!out.status.success());
    // Unknown database schemes are refused.
    let out = run(bin().env("RENKEI_DATA_DIR", &env_data).args(["--database", "mysql://x/y", "org", "list"]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("unsupported database URL"));
}

#[test]
fn plain_http_on_a_public_address_needs_the_explicit_flag() {
    let dir = Dir::new();
    let out = run(hub(&dir.0).args(["serve", "--listen", "0.0.0.0:0"]));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to serve plain HTTP"));
}

#[test]
fn attack_import_loads_mitre_bundles() {
    let shared = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../shared/data/attack"));
    let (ics, enterprise) = (shared.join("ics-attack.json"), shared.join("enterprise-attack-techniques.json"));
    if !ics.exists() || !enterprise.exists() {
        eprintln!("skipping attack_import_loads_mitre_bundles: {} not found", shared.display());
        return;
    }
    let dir = Dir::new();
    let out = ok(hub(&dir.0).args(["attack", "import"]).arg(&enterprise).arg(&ics));
    assert!(out.contains("685") || out.contains("relations"), "{out}");
    let mut conn =
        <diesel::SqliteConnection as diesel::Connection>::establish(&dir.0.join("renkei.db").display().to_string())
            .expect("db");
    #[derive(diesel::QueryableByName)]
    struct N {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let count = |conn: &mut diesel::SqliteConnection, sql: &str| -> i64 {
        diesel::RunQueryDsl::get_result::<N>(diesel::sql_query(sql), conn).expect("count").n
    };
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM attack_relations WHERE kind = 'targets'"), 685);
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM attack_assets"), 18);
    assert_eq!(
        count(&mut conn, "SELECT COUNT(*) AS n FROM attack_relations WHERE kind = 'targets' AND source_id = 'T0866' AND target_id = 'A0003'"),
        1
    );
    // Importing again replaces, never doubles.
    ok(hub(&dir.0).args(["attack", "import"]).arg(&ics));
    assert_eq!(count(&mut conn, "SELECT COUNT(*) AS n FROM attack_relations WHERE kind = 'targets'"), 685);
    // Not a bundle: a clear error in both languages.
    let junk = dir.0.join("junk.json");
    std::fs::write(&junk, "{\"type\": \"indicator\"}").expect("write");
    let out = run(hub(&dir.0).args(["attack", "import"]).arg(&junk));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bundle") && stderr.contains("バンドル"), "{stderr}");
}

#[test]
fn trust_levels_and_allowlists_from_the_command_line() {
    let dir = Dir::new();
    let data = dir.0.join("data");
    let org = ok(hub(&data).args(["org", "add", "Newcomer Gas", "--sector", "gas", "--trust", "new"]));
    assert!(ok(hub(&data).args(["org", "list"])).contains("\tnew"), "org list shows the trust level");
    assert!(!run(hub(&data).args(["org", "add", "X", "--sector", "gas", "--trust", "vip"])).status.success());
    assert!(ok(hub(&data).args(["org", "trust", &org, "trusted"])).ends_with("trusted"));

    let good = dir.0.join("cdn.txt");
    std::fs::write(&good, "# vendor CDN\n.cdn.example\n203.0.113.0/25\n").expect("write");
    assert_eq!(
        ok(hub(&data).args(["allowlist", "import", "--name", "vendor-cdn"]).arg(&good)),
        "2 entries in allowlist vendor-cdn"
    );
    let bad = dir.0.join("bad.txt");
    std::fs::write(&bad, "10.0.0.0/8\n10.0.0.1/8\nnot a domain!\n").expect("write");
    let out = run(hub(&data).args(["allowlist", "import", "--name", "broken"]).arg(&bad));
    assert!(!out.status.success(), "a bad list is refused");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("line 2") && err.contains("line 3") && err.contains("INVALID_ALLOWLIST"), "{err}");
    assert_eq!(ok(hub(&data).args(["allowlist", "list"])), "vendor-cdn\t2", "nothing of the bad list was stored");
    assert!(ok(hub(&data).args(["allowlist", "remove", "vendor-cdn"])).contains("2 entries"));
    assert_eq!(ok(hub(&data).args(["allowlist", "list"])), "");
}

/// Base64url keys start with `-` one time in 64: `peer add` takes such a key as the
/// value of `--public-key`, not as a flag.
#[test]
fn peer_add_takes_a_public_key_that_starts_with_a_hyphen() {
    let dir = Dir::new();
    let data = dir.0.join("data");
    // 32 bytes whose first six bits are 62, the base64url digit `-`.
    let key = format!("-{}", "A".repeat(42));
    assert_eq!(key.len(), 43, "an Ed25519 key is 43 base64url characters");
    let out = ok(hub(&data).args([
        "peer",
        "add",
        "national",
        "--url",
        "https://127.0.0.1:9",
        "--public-key",
        &key,
        "--max-tlp",
        "GREEN",
        "--direction",
        "push",
    ]));
    assert!(!out.is_empty(), "a push link prints the token the peer pulls with");
    let list = ok(hub(&data).args(["peer", "list"]));
    assert!(list.contains("national"), "{list}");
}

/// The audit log's anchors: a signed checkpoint to keep outside the database, the full
/// record for the operator, and `verify --checkpoint` failing once the log no longer
/// extends it; another data folder's key is refused rather than trusted.
#[test]
fn audit_checkpoints_anchor_the_log_outside_the_database() {
    let dir = Dir::new();
    let data = dir.0.join("data");
    for name in ["A", "B", "C", "D"] {
        ok(hub(&data).args(["org", "add", name, "--sector", "gas"]));
    }
    let checkpoint = ok(hub(&data).args(["audit", "checkpoint"]));
    let parsed: serde_json::Value = serde_json::from_str(&checkpoint).expect("a JSON checkpoint");
    assert_eq!(parsed["seq"], 4, "{parsed}");
    assert!(parsed["signature"].as_str().is_some_and(|s| s.starts_with("rk1.")), "{parsed}");
    let file = dir.0.join("checkpoint.json");
    std::fs::write(&file, &checkpoint).expect("write");
    let verified = ok(hub(&data).args(["audit", "verify", "--checkpoint"]).arg(&file));
    assert!(
        verified.contains("intact: 4 entries") && verified.contains("extends the checkpoint (entry 4)"),
        "{verified}"
    );

    // The operator's record names every actor and detail.
    let shown = ok(hub(&data).args(["audit", "show", "--limit", "2"]));
    let lines: Vec<serde_json::Value> =
        shown.lines().map(|l| serde_json::from_str(l).expect("one JSON object a line")).collect();
    assert_eq!(lines.len(), 2);
    assert_eq!((lines[0]["seq"].as_i64(), lines[0]["action"].as_str()), (Some(4), Some("org.add")));

    // Cut the tail: the shorter chain verifies alone, never against the checkpoint.
    let mut conn =
        <diesel::SqliteConnection as diesel::Connection>::establish(&data.join("renkei.db").display().to_string())
            .expect("sqlite");
    diesel::RunQueryDsl::execute(diesel::sql_query("DELETE FROM audit_log WHERE seq > 2"), &mut conn).expect("cut");
    assert!(ok(hub(&data).args(["audit", "verify"])).contains("intact: 2 entries"));
    let out = run(hub(&data).args(["audit", "verify", "--checkpoint"]).arg(&file));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no longer extends the checkpoint"));
    // A checkpoint altered after signing is refused, not believed.
    std::fs::write(&file, checkpoint.replace("\"seq\":4", "\"seq\":2")).expect("write");
    let out = run(hub(&data).args(["audit", "verify", "--checkpoint"]).arg(&file));
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("BAD_SIGNATURE"), "{}", String::from_utf8_lossy(&out.stderr));

    // Run from another data folder: the database holds the hub's keys but the folder
    // has no key-encryption key, so nothing is made or trusted.
    let url = format!("sqlite://{}", data.join("renkei.db").display());
    let elsewhere = dir.0.join("elsewhere");
    let out = run(bin().arg("--data-dir").arg(&elsewhere).args(["--database", &url, "audit", "verify"]));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("HUB_KEY_MISMATCH") && stderr.contains("key-encryption.key from the first replica"),
        "{stderr}"
    );
    assert!(!elsewhere.join("key-encryption.key").exists() && !elsewhere.join("hub-signing-key.pk8").exists());
    // With another hub's key-encryption key, the log is not appended to.
    ok(bin().arg("--data-dir").arg(&elsewhere).args(["key", "show"]));
    let out =
        run(bin().arg("--data-dir").arg(&elsewhere).args(["--database", &url, "org", "add", "E", "--sector", "gas"]));
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("HUB_KEY_MISMATCH") && stderr.contains("does not open this hub's keys"), "{stderr}");
    // Given the hub's key-encryption key, the same command works from there.
    let out = ok(bin()
        .arg("--data-dir")
        .arg(&elsewhere)
        .env("RENKEI_KEY_ENCRYPTION_KEY_FILE", data.join("key-encryption.key"))
        .args(["--database", &url, "audit", "verify"]));
    assert!(out.contains("intact"), "{out}");
}

/// `--expires 5日` panicked on a char boundary and `--expires 99999999999999d` in chrono.
#[test]
fn token_expiry_mistakes_are_clear_errors_not_panics() {
    let dir = Dir::new();
    let data = dir.0.join("data");
    let org = ok(hub(&data).args(["org", "add", "Kanto Gas", "--sector", "gas"]));
    for (expires, says) in [
        ("5日", "neither a duration"),
        ("99999999999999d", "too far ahead"),
        ("-3d", "must be positive"),
        ("0d", "must be positive"),
        ("2020-01-01T00:00:00Z", "not in the future"),
        ("", "empty"),
    ] {
        let out = run(hub(&data)
            .args(["token", "issue", "--org", &org, "--role", "analyst"])
            .arg(format!("--expires={expires}")));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{expires:?}: {stderr}");
        assert!(stderr.contains("--expires: ") && stderr.contains(says), "{expires:?}: {stderr}");
        assert!(stderr.contains("有効期限"), "{expires:?}: {stderr}");
        assert!(out.stdout.is_empty(), "{expires:?}: no token is issued");
    }
    let token = ok(hub(&data).args(["token", "issue", "--org", &org, "--role", "analyst", "--expires", "12h"]));
    assert!(token.starts_with("rk_"), "{token}");
}

/// `token issue --name` names the holder; the audit of the issue records it, and a name
/// with control characters is refused in both languages.
#[test]
fn a_token_can_name_its_holder() {
    let dir = Dir::new();
    let data = dir.0.join("data");
    let org = ok(hub(&data).args(["org", "add", "Tohoku Power", "--sector", "electricity"]));
    let token =
        ok(hub(&data).args(["token", "issue", "--org", &org, "--role", "analyst", "--name", "SIEM 連携 (Splunk)"]));
    assert!(token.starts_with("rk_"), "{token}");
    let out = run(hub(&data).args(["token", "issue", "--org", &org, "--role", "analyst", "--name", "bell\u{7}"]));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("token name") && stderr.contains("トークン名"), "{stderr}");
    assert!(out.stdout.is_empty(), "no token is issued");
    let audit = ok(hub(&data).args(["audit", "show"]));
    let issued: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).expect("a JSON line"))
        .filter(|e| e["action"] == "token.issue")
        .collect();
    assert_eq!(issued.len(), 1, "{audit}");
    assert_eq!(issued[0]["detail"]["name"], "SIEM 連携 (Splunk)");
}
