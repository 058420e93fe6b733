//! Operations: both backends migrate to the same tables and columns; lockout after
//! repeated failed authentications and per-token rate limits, in Redis and in process;
//! health, readiness and metrics endpoints; the ATT&CK catalog over GraphQL.

use renkei_e2e::{redis_url, Backend, PgDatabase, TempDir, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

#[test]
fn both_backends_have_the_same_tables_and_columns() {
    let pg = PgDatabase::create();
    let dir = TempDir::new("renkei-parity");
    let pg_pool = renkei_hub::store::connect(&pg.url, 1).expect("pg");
    let sqlite_pool =
        renkei_hub::store::connect(&format!("sqlite://{}", dir.0.join("p.db").display()), 1).expect("sqlite");
    let mut pg_conn = pg_pool.get().expect("conn");
    let mut sqlite_conn = sqlite_pool.get().expect("conn");
    let applied_pg = renkei_hub::store::migrate(&mut pg_conn).expect("migrate pg");
    let applied_sqlite = renkei_hub::store::migrate(&mut sqlite_conn).expect("migrate sqlite");
    assert_eq!(applied_pg, applied_sqlite, "same migrations on both backends");
    assert!(applied_pg > 0);
    let pg_cols = renkei_hub::store::table_columns(&mut pg_conn).expect("pg columns");
    let sqlite_cols = renkei_hub::store::table_columns(&mut sqlite_conn).expect("sqlite columns");
    assert!(pg_cols.len() > 50, "{pg_cols:?}");
    assert_eq!(pg_cols, sqlite_cols);
    // Running again applies nothing.
    assert_eq!(renkei_hub::store::migrate(&mut pg_conn).expect("again"), 0);
}

/// Every hub query is bounded, and a plan with parallel workers cost a TAXII page 5 ms
/// of worker start-up where statistics were missing: the pool's PostgreSQL sessions
/// plan without them, whatever the server's default.
#[test]
fn postgres_sessions_of_the_pool_plan_without_parallel_workers() {
    use diesel::RunQueryDsl as _;
    #[derive(diesel::QueryableByName)]
    struct Setting {
        #[diesel(sql_type = diesel::sql_types::Text)]
        max_parallel_workers_per_gather: String,
    }
    let pg = PgDatabase::create();
    let pool = renkei_hub::store::connect(&pg.url, 2).expect("pg");
    let mut conn = pool.get().expect("conn");
    let renkei_hub::store::DbConn::Pg(c) = &mut *conn else { panic!("a PostgreSQL connection") };
    let shown: Setting = diesel::sql_query("SHOW max_parallel_workers_per_gather").get_result(c).expect("show");
    assert_eq!(shown.max_parallel_workers_per_gather, "0");
}

/// A token may name the person or system holding it; the audit then says who acted.
#[test]
fn the_audit_names_whom_a_token_was_issued_to() {
    use renkei_hub::services::directory::issue_token;
    let hub = TestHub::start(Backend::Sqlite);
    let coord = hub.add_org("Secretariat", true);
    let org = hub.add_org("Member Water", false);
    let tc = hub.token(&coord, Role::Coordinator);
    let issue = |name: Option<&str>| hub.db(|c| issue_token(c, &hub.hub.keys, &org, Role::Analyst, None, &[], name));
    let named = issue(Some("  佐藤 (SOC当番)  ")).expect("a named token").1;
    let unnamed = hub.token(&org, Role::Analyst);
    let share = |token: &str, value: &str| {
        let q = "mutation($v: String!) { shareIndicators(input: [{type: DOMAIN, value: $v}], sharing: {tlp: GREEN}) { id } }";
        hub.gql(token, q, json!({"v": value}))["shareIndicators"][0]["id"].as_str().expect("id").to_string()
    };
    let by_named = share(&named, "named.audit.example");
    let by_unnamed = share(&unnamed, "unnamed.audit.example");
    let log = hub.gql(&tc, "{ auditLog(limit: 200) { target actorTokenName } }", json!({}))["auditLog"].clone();
    let names_for = |target: &str| -> Vec<Value> {
        log.as_array()
            .expect("log")
            .iter()
            .filter(|e| e["target"] == json!(target))
            .map(|e| e["actorTokenName"].clone())
            .collect()
    };
    assert_eq!(names_for(&by_named), vec![json!("佐藤 (SOC当番)")], "{log}");
    assert_eq!(names_for(&by_unnamed), vec![Value::Null], "{log}");
    for bad in ["", "   ", "a\u{7}b", &"名".repeat(101)] {
        let refused = issue(Some(bad)).err().map(|e| e.code.as_str());
        assert_eq!(refused, Some("INVALID_INPUT"), "{bad:?}");
    }
    assert_eq!(issue(Some(&"名".repeat(100))).map(|_| ()).map_err(|e| e.code.as_str()), Ok(()));
}

fn lockout_and_rate_limit(redis: bool) {
    let hub = TestHub::start_with(Backend::Postgres, |c| {
        c.limits.lockout_threshold = 3;
        c.limits.requests_per_minute = 5;
        if redis {
            c.redis_url = Some(redis_url());
        }
    });
    assert_eq!(hub.hub.counters.backend_name(), if redis { "redis" } else { "in-process" });
    let m1 = hub.add_org("Member One", false);
    let victim = hub.token(&m1, Role::Analyst);
    let query = "{ me { role } }";

    // Rate limit: the 6th request of the minute is refused.
    for _ in 0..5 {
        assert_eq!(hub.post(Some(&victim), query, json!({})).0, 200);
    }
    let (status, body) = hub.post(Some(&victim), query, json!({}));
    assert_eq!(status, 429);
    assert_eq!(body["errors"][0]["extensions"]["code"], "RATE_LIMITED");

    // Lockout: three wrong secrets for a real token id lock out further failures with
    // that id (and from that source), audited once; the valid token still works.
    let other = hub.token(&m1, Role::Analyst);
    let forged = format!("{}AAAA", &other[..other.len() - 4]);
    for _ in 0..3 {
        assert_eq!(hub.post(Some(&forged), query, json!({})).0, 401);
    }
    let (status, body) = hub.post(Some(&forged), query, json!({}));
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "LOCKED_OUT");
    let (status, body) = hub.post(Some(&other), query, json!({}));
    assert_eq!(status, 200, "a valid token is never locked out: {body}");
    let actions: Vec<String> = hub.db(|c| {
        renkei_hub::services::audit::recent(c, None, 100).expect("audit").into_iter().map(|r| r.action).collect()
    });
    assert_eq!(actions.iter().filter(|a| *a == "auth.failure").count(), 3, "failures once locked are not audited");
    assert!(actions.iter().any(|a| a == "auth.lockout"), "{actions:?}");

    if redis {
        // The counters really live in Redis, under this hub's prefix.
        let client = redis::Client::open(redis_url()).expect("redis");
        let mut conn = client.get_connection().expect("redis connection");
        let keys: Vec<String> =
            redis::cmd("KEYS").arg(format!("renkei:{}:*", hub.hub.hub_id)).query(&mut conn).expect("keys");
        assert!(keys.iter().any(|k| k.contains("lock:tok:")), "{keys:?}");
        assert!(keys.iter().any(|k| k.contains("rate:")), "{keys:?}");
    }
}

#[test]
fn lockout_and_rate_limit_with_redis() {
    lockout_and_rate_limit(true);
}

#[test]
fn lockout_and_rate_limit_in_process() {
    lockout_and_rate_limit(false);
}

#[test]
fn health_readiness_metrics_and_limits() {
    let hub = TestHub::start_with(Backend::Sqlite, |c| {
        c.limits.max_query_depth = 3;
        c.limits.max_query_complexity = 50;
    });
    assert_eq!(hub.get("/healthz").0, 200);
    let (status, body) = hub.get("/readyz");
    assert_eq!(status, 200, "{body}");
    let m1 = hub.add_org("Member One", false);
    let token = hub.token(&m1, Role::Analyst);
    hub.gql(
        &token,
        "mutation { shareIndicators(input: [{type: URL, value: \"HTTP://Evil.Example/Path\"}], sharing: {tlp: CLEAR}) { value } }",
        json!({}),
    );
    // Metrics are the operator's: on their own listener, not on the members' port.
    assert_eq!(hub.get("/metrics").0, 404);
    assert_eq!(hub.get_as(&token, "/metrics").0, 404);
    let metrics = hub.metrics();
    assert!(metrics.contains("# TYPE renkei_objects_shared_total counter"), "{metrics}");
    assert!(metrics.contains("renkei_objects_shared_total 1"), "{metrics}");
    // The lookup index reports its size, so its growth can be told from the process's.
    let gauge = |name: &str| -> u64 {
        metrics
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name} ")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("{name} missing: {metrics}"))
    };
    assert_eq!(gauge("renkei_indicator_index_indicators"), 1);
    assert!(gauge("renkei_indicator_index_bytes") >= "http://evil.example/Path".len() as u64);
    // Depth and complexity limits are set explicitly (here 3 and 50), each with its code.
    hub.gql(&token, "{ me { organization { id } } }", json!({}));
    let (code, _) = hub.gql_error(&token, "{ indicators { nodes { createdBy { name } } } }", json!({}));
    assert_eq!(code, "QUERY_TOO_DEEP");
    let wide = format!("{{ {} }}", (0..60).map(|i| format!("a{i}: hub {{ id }}")).collect::<Vec<_>>().join(" "));
    let (code, _) = hub.gql_error(&token, &wide, json!({}));
    assert_eq!(code, "QUERY_TOO_COSTLY");
}

#[test]
fn attack_catalog_is_readable_over_graphql() {
    let Some(dir) = renkei_e2e::attack_data_dir() else {
        eprintln!("skipping attack_catalog_is_readable_over_graphql: shared/data/attack not found");
        return;
    };
    let hub = TestHub::start(Backend::Postgres);
    let bytes = std::fs::read(dir.join("ics-attack.json")).expect("read");
    let catalog = renkei_schema::attack::AttackCatalog::from_bundle_json(&bytes).expect("bundle");
    hub.db(|c| renkei_hub::services::attack::import(c, &hub.hub.keys, catalog)).unwrap_or_else(|e| panic!("{e:?}"));
    let m1 = hub.add_org("Member One", false);
    let token = hub.token(&m1, Role::Analyst);
    let data = hub.gql(
        &token,
        "{ attack { assets { attackId name } relations(kind: \"targets\", sourceId: \"T0866\") { targetId } } }",
        json!({}),
    );
    assert_eq!(data["attack"]["assets"].as_array().expect("assets").len(), 18);
    let targets: Vec<&str> =
        data["attack"]["relations"].as_array().expect("rel").iter().filter_map(|r| r["targetId"].as_str()).collect();
    assert!(targets.contains(&"A0003"), "{targets:?}");
    // Shared techniques are checked against it and filled in from it.
    let data = hub.gql(
        &token,
        "mutation { shareTechnique(input: {attackId: \"T0866\", narrative: \"used against an engineering workstation\"}, sharing: {tlp: GREEN}) { name tactics stix } }",
        json!({}),
    );
    assert_eq!(data["shareTechnique"]["name"], "Exploitation of Remote Services");
    assert_eq!(data["shareTechnique"]["stix"]["external_references"][0]["external_id"], "T0866");
    assert_eq!(data["shareTechnique"]["stix"]["kill_chain_phases"][0]["kill_chain_name"], "mitre-ics-attack");
}
