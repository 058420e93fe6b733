//! Bad input gets its error code and nothing is stored (handbook: each write is one
//! transaction). Run against PostgreSQL and SQLite.

use renkei_e2e::{Backend, TestHub, BACKENDS};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

const SHARE: &str = "mutation($input: [IndicatorInput!]!, $sharing: SharingInput!) { shareIndicators(input: $input, sharing: $sharing) { id } }";

/// A two-technique ATT&CK bundle in MITRE's format, one of them revoked.
fn small_catalog() -> renkei_schema::attack::AttackCatalog {
    let bundle = json!({
        "type": "bundle", "id": "bundle--0b6f2b4c-7a43-4a6e-9b1a-000000000001", "objects": [
            {"type": "attack-pattern", "id": "attack-pattern--e8de4e1d-2b7b-4b63-8d2e-000000000001", "name": "Exploitation of Remote Services",
             "external_references": [{"source_name": "mitre-attack", "external_id": "T0866"}],
             "kill_chain_phases": [{"kill_chain_name": "mitre-ics-attack", "phase_name": "initial-access"}],
             "x_mitre_domains": ["ics-attack"], "spec_version": "2.1", "created": "2020-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z"},
            {"type": "attack-pattern", "id": "attack-pattern--e8de4e1d-2b7b-4b63-8d2e-000000000002", "name": "Old Technique",
             "external_references": [{"source_name": "mitre-attack", "external_id": "T1086"}], "revoked": true,
             "x_mitre_domains": ["enterprise-attack"], "spec_version": "2.1", "created": "2020-01-01T00:00:00.000Z", "modified": "2024-01-01T00:00:00.000Z"}
        ]
    });
    renkei_schema::attack::AttackCatalog::from_bundle_json(bundle.to_string().as_bytes()).expect("bundle")
}

fn assert_nothing_stored(hub: &TestHub, what: &str) {
    assert_eq!(hub.count("objects"), 0, "{what}: an object was stored");
    assert_eq!(hub.count("object_versions"), 0, "{what}: a version was stored");
}

fn bad_input(backend: Backend) {
    let hub = TestHub::start_with(backend, |c| c.limits.max_body_bytes = 256 * 1024);
    let m1 = hub.add_org("Member One", false);
    let token = hub.token(&m1, Role::Analyst);
    let audit_before = hub.count("audit_log");

    // One bad value rejects the batch and is named by index.
    let (code, err) = hub.gql_error(
        &token,
        SHARE,
        json!({"input": [
            {"type": "IPV4", "value": "192.0.2.1"},
            {"type": "DOMAIN", "value": "example.org"},
            {"type": "IPV4", "value": "192.0.2.300"},
            {"type": "SHA256", "value": "abc"}
        ], "sharing": {"tlp": "GREEN"}}),
    );
    assert_eq!(code, "INVALID_INDICATOR");
    let entries = err["extensions"]["entries"].as_array().expect("entries");
    let indexes: Vec<u64> = entries.iter().map(|e| e["index"].as_u64().expect("index")).collect();
    assert_eq!(indexes, vec![2, 3], "{err}");
    assert!(entries[0]["messageJa"].as_str().is_some_and(|m| !m.is_empty()));
    assert_nothing_stored(&hub, "malformed indicators");

    let cases: Vec<(&str, Value, &str)> = vec![
        ("RED without recipients", json!({"tlp": "RED"}), "TLP_RED_NEEDS_RECIPIENTS"),
        ("recipients on GREEN", json!({"tlp": "GREEN", "recipients": [m1.clone()]}), "RECIPIENTS_ONLY_FOR_RED"),
        (
            "unknown recipient",
            json!({"tlp": "RED", "recipients": ["00000000-0000-4000-8000-000000000000"]}),
            "UNKNOWN_RECIPIENT",
        ),
        ("confidence out of range", json!({"tlp": "GREEN", "confidence": 101}), "INVALID_INPUT"),
    ];
    for (what, sharing, want) in cases {
        let (code, _) = hub.gql_error(
            &token,
            SHARE,
            json!({"input": [{"type": "IPV4", "value": "192.0.2.1"}], "sharing": sharing}),
        );
        assert_eq!(code, want, "{what}");
        assert_nothing_stored(&hub, what);
    }

    // Oversize batch.
    let batch: Vec<Value> =
        (0..1001).map(|i| json!({"type": "IPV4", "value": format!("10.0.{}.{}", i / 256, i % 256)})).collect();
    let (code, _) = hub.gql_error(&token, SHARE, json!({"input": batch, "sharing": {"tlp": "GREEN"}}));
    assert_eq!(code, "BATCH_TOO_LARGE");
    assert_nothing_stored(&hub, "oversize batch");

    // Oversize body: refused before it is parsed.
    let huge = "x".repeat(300 * 1024);
    let (status, body) = hub.post(
        Some(&token),
        SHARE,
        json!({"input": [{"type": "FILENAME", "value": huge}], "sharing": {"tlp": "GREEN"}}),
    );
    assert_eq!(status, 413);
    assert_eq!(body["errors"][0]["extensions"]["code"], "BODY_TOO_LARGE");
    assert_nothing_stored(&hub, "oversize body");

    // Technique ids: form always; catalog membership once a catalog is loaded.
    let technique = "mutation($id: String!) { shareTechnique(input: {attackId: $id, narrative: \"seen\"}, sharing: {tlp: GREEN}) { attackId name tactics } }";
    let (code, _) = hub.gql_error(&token, technique, json!({"id": "T66"}));
    assert_eq!(code, "INVALID_TECHNIQUE_ID");
    let (code, _) = hub.gql_error(&token, technique, json!({"id": "T0866"}));
    assert_eq!(code, "INVALID_INPUT", "without a catalog a name is required");
    hub.db(|c| renkei_hub::services::attack::import(c, &hub.hub.keys, small_catalog()))
        .unwrap_or_else(|e| panic!("import: {e:?}"));
    let (code, _) = hub.gql_error(&token, technique, json!({"id": "T0999"}));
    assert_eq!(code, "UNKNOWN_TECHNIQUE");
    let (code, _) = hub.gql_error(&token, technique, json!({"id": "T1086"}));
    assert_eq!(code, "UNKNOWN_TECHNIQUE", "revoked ids are refused");
    let (code, _) = hub.gql_error(
        &token,
        "mutation { reportIncident(input: {title: \"t\", summary: \"s\", sector: \"gas\", serviceImpact: NONE, techniqueIds: [\"T0999\"]}, sharing: {tlp: GREEN}) { id } }",
        json!({}),
    );
    assert_eq!(code, "UNKNOWN_TECHNIQUE");
    let (code, _) = hub.gql_error(
        &token,
        "mutation { shareAdvisory(input: {cveId: \"CVE-24-1\", title: \"t\"}, sharing: {tlp: GREEN}) { id } }",
        json!({}),
    );
    assert_eq!(code, "INVALID_INPUT");
    let (code, _) = hub.gql_error(
        &token,
        "mutation { shareAdvisory(input: {cveId: \"CVE-2024-1234\", title: \"t\", affected: [{cpe: \"cpe:2.3:x:vendor\"}]}, sharing: {tlp: GREEN}) { id } }",
        json!({}),
    );
    assert_eq!(code, "INVALID_INPUT");
    let (code, _) = hub.gql_error(
        &token,
        "mutation { shareAdvisory(input: {cveId: \"CVE-2024-1234\", title: \"t\", cvssVector: \"CVSS:3.1/AV:N\"}, sharing: {tlp: GREEN}) { id } }",
        json!({}),
    );
    assert_eq!(code, "INVALID_INPUT");
    assert_nothing_stored(&hub, "bad techniques and advisories");

    // The catalog fills in name and tactics.
    let data = hub.gql(&token, technique, json!({"id": "t0866"}));
    assert_eq!(data["shareTechnique"]["attackId"], "T0866");
    assert_eq!(data["shareTechnique"]["name"], "Exploitation of Remote Services");
    assert_eq!(data["shareTechnique"]["tactics"], json!(["initial-access"]));

    // Roles: procurement may read but not share.
    let procurement = hub.token(&m1, Role::Procurement);
    let before = hub.count("objects");
    let (code, _) = hub.gql_error(
        &procurement,
        SHARE,
        json!({"input": [{"type": "IPV4", "value": "192.0.2.1"}], "sharing": {"tlp": "GREEN"}}),
    );
    assert_eq!(code, "FORBIDDEN");
    assert_eq!(hub.count("objects"), before);
    // Only coordinators read the audit log.
    let (code, _) = hub.gql_error(&token, "{ auditLog { seq } }", json!({}));
    assert_eq!(code, "FORBIDDEN");
    // Failed writes leave no audit entry either (each write is one transaction).
    let shares = hub.db(|c| {
        renkei_hub::services::audit::recent(c, None, 1000)
            .expect("audit")
            .into_iter()
            .filter(|r| r.action == "share")
            .count()
    });
    assert_eq!(shares, 1, "only the successful technique share is audited");
    assert!(hub.count("audit_log") > audit_before);
}

#[test]
fn bad_input_gets_its_code_and_nothing_is_stored() {
    for backend in BACKENDS {
        bad_input(backend);
    }
}

#[test]
fn bad_revoked_and_expired_tokens_are_refused() {
    let hub = TestHub::start(Backend::Postgres);
    let m1 = hub.add_org("Member One", false);
    let query = "{ me { organization { name } role } }";

    // Without a token nothing is parsed or run.
    let (status, body) = hub.post(None, query, json!({}));
    assert_eq!(status, 401);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    for bad in ["nonsense", "rk_000000000000000000000000_secret"] {
        let (status, body) = hub.post(Some(bad), query, json!({}));
        assert_eq!(status, 401, "{bad}");
        assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    }
    let token = hub.token(&m1, Role::Analyst);
    let data = hub.gql(&token, query, json!({}));
    assert_eq!(data["me"]["organization"]["name"], "Member One");
    assert_eq!(data["me"]["role"], "ANALYST");
    // A wrong secret for a real token id.
    let forged = format!("{}x", &token[..token.len() - 1]);
    assert_eq!(hub.post(Some(&forged), query, json!({})).0, 401);

    let token_id = token.split('_').nth(1).expect("id").to_string();
    hub.db(|c| renkei_hub::services::directory::revoke_token(c, &hub.hub.keys, &token_id))
        .unwrap_or_else(|e| panic!("{e:?}"));
    // Revoked outside the serving code (as the CLI does): the hub may trust the token
    // it verified a moment ago for at most token_cache_ms, never longer.
    let cache = std::time::Duration::from_millis(hub.hub.config.limits.token_cache_ms);
    assert!(cache <= std::time::Duration::from_secs(1), "the default cache is short");
    std::thread::sleep(cache + std::time::Duration::from_millis(50));
    let (status, body) = hub.post(Some(&token), query, json!({}));
    assert_eq!(status, 401);
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");

    let expiring = hub.db(|c| {
        renkei_hub::services::directory::issue_token(
            c,
            &hub.hub.keys,
            &m1,
            Role::Analyst,
            Some(chrono::Utc::now() + chrono::Duration::milliseconds(1500)),
            &[],
            None,
        )
        .map(|(_, t)| t)
        .unwrap_or_else(|e| panic!("{e:?}"))
    });
    assert_eq!(hub.post(Some(&expiring), query, json!({})).0, 200);
    std::thread::sleep(std::time::Duration::from_millis(1700));
    assert_eq!(hub.post(Some(&expiring), query, json!({})).0, 401);

    // A coordinator token is only for coordinator organisations.
    let refused = hub.db(|c| {
        renkei_hub::services::directory::issue_token(c, &hub.hub.keys, &m1, Role::Coordinator, None, &[], None)
    });
    assert_eq!(refused.err().map(|e| e.code.as_str()), Some("FORBIDDEN"));
    // Grants are from a fixed list.
    let bad_grant = hub.db(|c| {
        renkei_hub::services::directory::issue_token(
            c,
            &hub.hub.keys,
            &m1,
            Role::Procurement,
            None,
            &["everything".into()],
            None,
        )
    });
    assert_eq!(bad_grant.err().map(|e| e.code.as_str()), Some("INVALID_INPUT"));

    // Every failure above is in the audit log.
    let failures = hub.db(|c| {
        renkei_hub::services::audit::recent(c, None, 1000)
            .expect("audit")
            .into_iter()
            .filter(|r| r.action == "auth.failure")
            .count()
    });
    assert_eq!(failures, 5, "nonsense, unknown id, wrong secret, revoked, expired");
}
