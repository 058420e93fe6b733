//! The `renkei` command line against a real hub, as a member lives with it: `init` once
//! (the token's file remembered, the token itself never printed nor stored in the
//! register), then `sync`, `share` and `sighting` with no token flags; what was shared
//! is checked on the hub and in another member's register; the hub's refusals come back
//! with its code, in both languages, and exit 1.
//!
//! The binary is the one `cargo test --workspace` builds beside this test's (build it
//! with `cargo build -p renkei-client` when running this test alone, or point
//! `RENKEI_BIN` at one).

use std::path::Path;
use std::process::Output;

use renkei_e2e::{Backend, TempDir, TestHub};
use renkei_hub::auth::Role;
use serde_json::json;

use renkei_e2e::member_cli::run as renkei;

fn text(out: &Output) -> (String, String) {
    (String::from_utf8_lossy(&out.stdout).into_owned(), String::from_utf8_lossy(&out.stderr).into_owned())
}

/// Runs a command that must succeed; its standard output and error.
fn ok(db: &Path, token: Option<&str>, args: &[&str]) -> (String, String) {
    let out = renkei(db, token, args);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{args:?} failed:\n{stdout}\n{stderr}");
    (stdout, stderr)
}

/// Runs a command that must fail with exit 1; its standard error.
fn fails(db: &Path, token: Option<&str>, args: &[&str]) -> String {
    let out = renkei(db, token, args);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail:\n{stdout}\n{stderr}");
    stderr
}

/// The id printed first on a receipt line (`ID\tSTATUS`).
fn receipt_id(stdout: &str) -> String {
    stdout.lines().next().and_then(|l| l.split('\t').next()).expect("a receipt").to_string()
}

const NODE: &str = "query($id: ID!) { node(id: $id) { __typename \
     ... on Indicator { value tlp createdBy { name } sightings { total organizations } } \
     ... on Technique { attackId tlp createdBy { name } } \
     ... on Incident { tlp createdBy { name } } \
     ... on Advisory { cveId tlp createdBy { name } } } }";

fn contains_bytes(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// `init` with `RENKEI_TOKEN` writes the token beside the register (owner-only) and
/// remembers that file; later commands need no token; the token is printed nowhere and
/// is not in the register's file.
#[test]
fn init_remembers_the_token_and_never_shows_it() {
    let hub = TestHub::start(Backend::Sqlite);
    let org = hub.add_org("Member One", false);
    let token = hub.token(&org, Role::Analyst);
    hub.gql(
        &token,
        "mutation($i: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $i, sharing: $s) { id } }",
        json!({"i": [{"type": "DOMAIN", "value": "held.living.example"}], "s": {"tlp": "GREEN"}}),
    );
    let dir = TempDir::new("renkei-living-test");
    let db = dir.0.join("register.db");

    let (init_out, init_err) = ok(&db, Some(&token), &["init", "--hub", &hub.base]);
    let token_file = dir.0.join("register.db.token");
    assert!(init_out.contains("register.db.token"), "says where the token is kept: {init_out}");
    assert_eq!(std::fs::read_to_string(&token_file).expect("token file"), token);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&token_file).expect("token file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "owner-only");
    }

    // No flag, no environment: the remembered file.
    let (sync_out, sync_err) = ok(&db, None, &["sync"]);
    assert!(sync_err.contains("synced 1 items"), "{sync_err}");
    let (export, _) = ok(&db, None, &["export", "--min-score", "0"]);
    assert_eq!(export.trim(), "held.living.example");
    // What a log (not a terminal) sees of the progress: a plain line a page, with a rate.
    assert!(
        sync_err.contains("page 1: 1 stored") && sync_err.contains(" at ") && sync_err.contains("/s"),
        "{sync_err}"
    );

    for said in [&init_out, &init_err, &sync_out, &sync_err, &export] {
        assert!(!said.contains(&token), "the token was printed: {said}");
    }
    // The register and its write-ahead log, whatever else lies beside them.
    for entry in std::fs::read_dir(&dir.0).expect("dir") {
        let path = entry.expect("entry").path();
        if path != token_file {
            let bytes = std::fs::read(&path).expect("read");
            assert!(!contains_bytes(&bytes, token.as_bytes()), "the token is in {}", path.display());
        }
    }

    // An explicit token wins over the remembered one: a wrong one is refused by the hub.
    let err = fails(&db, Some("not-a-token"), &["sync"]);
    assert!(err.contains("UNAUTHENTICATED"), "{err}");
    // A remembered file someone opened up is refused, not read.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).expect("chmod");
        let err = fails(&db, None, &["sync"]);
        assert!(err.contains("chmod 600") && err.contains("他のユーザー"), "{err}");
        assert!(!err.contains(&token), "{err}");
    }
}

/// Every kind of share and a sighting through the binary, each seen on the hub and by
/// another member's register; the hub's refusals in both languages with its code.
#[test]
fn share_and_sighting_reach_a_real_hub() {
    let hub = TestHub::start(Backend::Postgres);
    let (m1, m2) = (hub.add_org("Member One", false), hub.add_org("Member Two", false));
    let (t1, t2) = (hub.token(&m1, Role::Analyst), hub.token(&m2, Role::Analyst));
    let dir = TempDir::new("renkei-living-test");

    // Member One: init with a token file of its own (owner-only), remembered by path.
    let token_file = dir.0.join("one.token");
    std::fs::write(&token_file, format!("{t1}\n")).expect("write");
    #[cfg(unix)]
    std::fs::set_permissions(
        &token_file,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600),
    )
    .expect("chmod");
    let one = dir.0.join("one.db");
    ok(&one, None, &["init", "--hub", &hub.base, "--token-file", token_file.to_str().expect("path")]);
    assert!(!dir.0.join("one.db.token").exists(), "a given file is remembered, not copied");

    let (out, _) =
        ok(&one, None, &["share", "--tlp", "GREEN", "indicator", "--type", "DOMAIN", "--value", "c2.living.example"]);
    let indicator = receipt_id(&out);
    assert!(indicator.starts_with("indicator--"), "{out}");
    // A file of TYPE,VALUE lines, a value with a comma quoted.
    let list = dir.0.join("iocs.csv");
    std::fs::write(&list, "IPV4,203.0.113.77\nURL,\"http://dl.living.example/a,b.bin\"\n\n").expect("write");
    let (out, _) = ok(&one, None, &["share", "--tlp", "GREEN", "indicator", "--file", list.to_str().expect("path")]);
    assert_eq!(out.lines().count(), 2, "{out}");
    let (out, _) = ok(
        &one,
        None,
        &[
            "share",
            "--tlp",
            "GREEN",
            "technique",
            "--attack-id",
            "T0866",
            "--name",
            "Exploitation of Remote Services",
            "--narrative",
            "exploited on an HMI",
        ],
    );
    let technique = receipt_id(&out);
    let (out, _) = ok(
        &one,
        None,
        &[
            "share",
            "--tlp",
            "GREEN",
            "incident",
            "--title",
            "Substation HMI taken over",
            "--summary",
            "remote access abused",
            "--sector",
            "energy",
            "--impact",
            "DEGRADED",
            "--technique",
            "T0866",
            "--indicator",
            &indicator,
        ],
    );
    let incident = receipt_id(&out);
    let (out, _) = ok(
        &one,
        None,
        &[
            "share",
            "--tlp",
            "GREEN",
            "advisory",
            "--cve",
            "CVE-2026-4242",
            "--title",
            "Acme SCADA HMI remote code execution",
            "--cpe",
            "cpe:2.3:a:acme:scada_hmi:*:*:*:*:*:*:*:*",
            "--fixed-in",
            "2.2",
        ],
    );
    let advisory = receipt_id(&out);

    // On the hub, as Member Two sees them.
    let node = |id: &str| hub.gql(&t2, NODE, json!({"id": id}))["node"].clone();
    let i = node(&indicator);
    assert_eq!(
        (i["__typename"].as_str(), i["value"].as_str(), i["tlp"].as_str()),
        (Some("Indicator"), Some("c2.living.example"), Some("GREEN"))
    );
    assert_eq!(i["createdBy"]["name"], "Member One");
    assert_eq!(node(&technique)["attackId"], "T0866");
    assert_eq!(node(&incident)["__typename"], "Incident");
    assert_eq!(node(&advisory)["cveId"], "CVE-2026-4242");

    // A technique's name is needed while the hub has no ATT&CK catalog: the hub says so.
    let err = fails(&one, None, &["share", "technique", "--attack-id", "T0867", "--narrative", "x"]);
    assert!(err.contains("INVALID_INPUT") && err.contains("ATT&CKカタログ"), "{err}");

    // A sighting by Member One, counted on the hub.
    let (out, _) = ok(&one, None, &["sighting", &indicator, "--count", "3"]);
    assert!(!out.trim().is_empty(), "a receipt: {out}");
    let sightings = &node(&indicator)["sightings"];
    assert_eq!((sightings["total"].as_i64(), sightings["organizations"].as_i64()), (Some(3), Some(1)), "{sightings}");

    // Member Two's register (its token from the environment, kept beside it) holds all.
    let two = dir.0.join("two.db");
    ok(&two, Some(&t2), &["init", "--hub", &hub.base]);
    ok(&two, None, &["sync"]);
    let (held, _) = ok(&two, None, &["export", "--format", "stix", "--min-score", "0"]);
    assert!(held.contains(&indicator), "{held}");
    let (plain, _) = ok(&two, None, &["export", "--min-score", "0"]);
    let mut values: Vec<&str> = plain.lines().collect();
    values.sort();
    assert_eq!(values, ["203.0.113.77", "c2.living.example", "http://dl.living.example/a,b.bin"]);
    // The technique, incident and advisory are in the register too (ids in its files).
    let mut register = std::fs::read(&two).expect("register");
    register.extend(std::fs::read(dir.0.join("two.db-wal")).unwrap_or_default());
    for id in [&technique, &incident, &advisory] {
        assert!(contains_bytes(&register, id.as_bytes()), "{id} not in Member Two's register");
    }

    // The hub's refusals: its code and both languages, exit 1, nothing shared.
    let before = hub.hub_view(&t2).len();
    let err = fails(
        &one,
        None,
        &["share", "--tlp", "PURPLE", "indicator", "--type", "DOMAIN", "--value", "x.living.example"],
    );
    assert!(err.contains("the hub refused") && err.contains("ハブが拒否しました"), "{err}");
    assert!(err.contains("(GRAPHQL_VALIDATION_FAILED)") && err.contains("PURPLE"), "{err}");
    let err = fails(&one, None, &["sighting", "indicator--00000000-0000-4000-8000-000000000000"]);
    assert!(
        err.contains("the hub refused") && err.contains("NOT_FOUND") && err.contains("ハブが拒否しました"),
        "{err}"
    );
    let err =
        fails(&one, None, &["share", "--tlp", "RED", "indicator", "--type", "DOMAIN", "--value", "y.living.example"]);
    assert!(err.contains("(TLP_RED_NEEDS_RECIPIENTS)") && err.contains("受領組織"), "{err}");
    assert_eq!(hub.hub_view(&t2).len(), before, "nothing refused was stored");
    let bad = dir.0.join("bad.csv");
    std::fs::write(&bad, "DOMAIN,ok.living.example\njust-a-value\nIPV4,198.51.100.1,extra\n").expect("write");
    let err = fails(&one, None, &["share", "indicator", "--file", bad.to_str().expect("path")]);
    assert!(err.contains("line 2") && err.contains("line 3") && err.contains("何も共有していません"), "{err}");
}
