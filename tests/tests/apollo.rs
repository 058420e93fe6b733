//! Apollo Federation v2: the hub is a subgraph. `_service { sdl }` links federation v2
//! and keys the shared types by id; `_entities` resolves through the same TLP and
//! registry policy as `node` and `supplier`; and the real `@apollo/gateway`
//! (tests/apollo/gateway.mjs, installed by `ops/test` with `npm ci --prefix tests/apollo`)
//! composes the hub with a second subgraph whose tickets reference the hub's indicators
//! and suppliers, so queries through the gateway make it call the hub's `_entities`.
//! Node.js and the installed packages are required: without them this test fails.

use renkei_e2e::{Backend, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const SHARE: &str =
    "mutation($v: String!, $s: SharingInput!) { shareIndicators(input: [{type: IPV4, value: $v}], sharing: $s) { id } }";
const ADD_SUPPLIER: &str = "mutation($i: SupplierInput!) { addSupplier(input: $i) { id status } }";
const ENTITIES: &str = "query($r: [_Any!]!) { _entities(representations: $r) { __typename \
     ... on Indicator { id value tlp } ... on Supplier { id nameJa } } }";
const TICKETS: &str =
    "{ tickets { id title indicator { id value tlp sightings { organizations } } supplier { id nameJa status } } }";

fn share(hub: &TestHub, token: &str, value: &str, sharing: Value) -> String {
    hub.gql(token, SHARE, json!({"v": value, "s": sharing}))["shareIndicators"][0]["id"]
        .as_str()
        .expect("indicator id")
        .to_string()
}

fn add_supplier(hub: &TestHub, token: &str, name: &str, corporate_number: &str) -> (String, String) {
    let input = json!({"legalName": name, "nameJa": name, "corporateNumber": corporate_number, "country": "JP"});
    let added = hub.gql(token, ADD_SUPPLIER, json!({"i": input}))["addSupplier"].clone();
    (added["id"].as_str().expect("supplier id").to_string(), added["status"].as_str().expect("status").to_string())
}

fn rep(typename: &str, id: &str) -> Value {
    json!({"__typename": typename, "id": id})
}

/// `_entities` for `token`, one answer (or null) per representation, in order.
fn entities(hub: &TestHub, token: &str, representations: &[Value]) -> Vec<Value> {
    hub.gql(token, ENTITIES, json!({"r": representations}))["_entities"].as_array().expect("list").clone()
}

fn ids(answers: &[Value]) -> Vec<Option<&str>> {
    answers.iter().map(|a| a["id"].as_str()).collect()
}

/// The Node.js gateway process; killed when dropped (and it exits when its stdin closes).
struct Gateway {
    child: Child,
    url: String,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn apollo_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("apollo")
}

fn start_gateway(hub_url: &str, token: &str, tickets: &Value) -> Gateway {
    let dir = apollo_dir();
    assert!(
        dir.join("node_modules/@apollo/gateway/package.json").exists(),
        "the Apollo packages are not installed: run `npm ci --prefix tests/apollo` (ops/test does)"
    );
    let mut child = Command::new("node")
        .arg(dir.join("gateway.mjs"))
        .current_dir(&dir)
        .env("HUB_URL", hub_url)
        .env("HUB_TOKEN", token)
        .env("TICKETS", tickets.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `node` (Node.js 20 or later is required for this test): {e}"));
    let stdout = child.stdout.take().expect("gateway stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            match line {
                Ok(line) => {
                    if tx.send(line).is_err() {
                        break;
                    }
                }
                Err(_) => break,
            }
        }
    });
    let mut gateway = Gateway { child, url: String::new() };
    let started = std::time::Instant::now();
    loop {
        let left = Duration::from_secs(60).saturating_sub(started.elapsed());
        let line = rx.recv_timeout(left).unwrap_or_else(|_| {
            let status = gateway.child.try_wait().ok().flatten();
            panic!("the gateway did not start within 60 s (exit status: {status:?}; its errors are above)")
        });
        if let Ok(ready) = serde_json::from_str::<Value>(&line) {
            if let Some(url) = ready["gateway"].as_str() {
                gateway.url = url.to_string();
                return gateway;
            }
        }
    }
}

/// POSTs a query to the gateway, with or without a bearer token.
fn via_gateway(gateway: &Gateway, token: Option<&str>, query: &str) -> Value {
    let mut req = reqwest::blocking::Client::new().post(&gateway.url).json(&json!({"query": query}));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().expect("gateway answers");
    resp.json().expect("gateway JSON")
}

#[test]
fn the_hub_is_a_federation_subgraph_and_composes_with_apollo_gateway() {
    let hub = TestHub::start(Backend::Sqlite);
    let m1 = hub.add_org("Kanto Electric", false);
    let m2 = hub.add_org("Chubu Gas", false);
    let m3 = hub.add_org("Kyushu Water", false);
    let coord = hub.add_org("Secretariat", true);
    let (t1, t2, t3, tc) = (
        hub.token(&m1, Role::Analyst),
        hub.token(&m2, Role::Analyst),
        hub.token(&m3, Role::Analyst),
        hub.token(&coord, Role::Coordinator),
    );
    let procurement = hub.token(&m3, Role::Procurement);

    let green = share(&hub, &t1, "198.51.100.7", json!({"tlp": "GREEN"}));
    let red = share(&hub, &t1, "198.51.100.66", json!({"tlp": "RED", "recipients": [m2]}));
    let (supplier, status) = add_supplier(&hub, &tc, "トヨタ自動車株式会社", "1180301018771");
    assert_eq!(status, "ACTIVE");
    let (proposal, status) = add_supplier(&hub, &t1, "国税庁", "7000012050002");
    assert_eq!(status, "PROPOSED");

    // (1) The subgraph SDL: federation v2 linked, the shared types keyed by id. Like
    // introspection it needs a token (the gateway introspects with one), as every query.
    let sdl = hub.gql(&t3, "{ _service { sdl } }", json!({}))["_service"]["sdl"].as_str().expect("sdl").to_string();
    assert_eq!(hub.post(None, "{ _service { sdl } }", json!({})).0, 401);
    assert!(sdl.contains("extend schema @link(") && sdl.contains("url: \"https://specs.apollo.dev/federation/v2."));
    for ty in ["Indicator", "Technique", "Incident", "Advisory", "SupplierAssessment", "Supplier", "Offering"] {
        assert!(sdl.contains(&format!("type {ty} @key(fields: \"id\")")), "{ty} is not an entity:\n{sdl}");
    }

    // (2) `_entities` answers as `node` and `supplier` do: null where the caller may not
    // read the item (RED not naming it, another member's proposal), where it does not
    // exist, or where the id is of another type.
    let reps = [
        rep("Indicator", &green),
        rep("Indicator", &red),
        rep("Supplier", &supplier),
        rep("Supplier", &proposal),
        rep("Indicator", "indicator--00000000-0000-4000-8000-000000000000"),
        rep("Technique", &green),
        rep("Supplier", &green),
    ];
    let named = entities(&hub, &t2, &reps);
    assert_eq!(
        ids(&named),
        [Some(green.as_str()), Some(red.as_str()), Some(supplier.as_str()), None, None, None, None]
    );
    assert_eq!((named[1]["__typename"].as_str(), named[1]["tlp"].as_str()), (Some("Indicator"), Some("RED")));
    assert_eq!(named[2]["nameJa"], "トヨタ自動車株式会社");
    let submitter = entities(&hub, &t1, &reps);
    assert_eq!(
        ids(&submitter)[..4],
        [Some(green.as_str()), Some(red.as_str()), Some(supplier.as_str()), Some(proposal.as_str())]
    );
    let outsider = entities(&hub, &t3, &reps);
    assert_eq!(ids(&outsider), [Some(green.as_str()), None, Some(supplier.as_str()), None, None, None, None]);
    let coordinator = entities(&hub, &tc, &reps);
    assert_eq!(ids(&coordinator)[..4], [Some(green.as_str()), None, Some(supplier.as_str()), Some(proposal.as_str())]);
    // A procurement token reads suppliers but not indicators, as with `node`.
    let buyer = entities(&hub, &procurement, &reps[..3]);
    assert_eq!(ids(&buyer), [None, None, Some(supplier.as_str())]);
    // The same answers one representation at a time (no batch to lean on).
    for (i, r) in reps.iter().enumerate() {
        assert_eq!(entities(&hub, &t3, std::slice::from_ref(r))[0]["id"], outsider[i]["id"], "{r}");
    }
    // Two aliased `_entities` fields in one request each get their own answers.
    let both = hub.gql(
        &t2,
        "query($a: [_Any!]!, $b: [_Any!]!) { a: _entities(representations: $a) { ... on Indicator { id } } \
         b: _entities(representations: $b) { ... on Indicator { id } } }",
        json!({"a": [rep("Indicator", &green)], "b": [rep("Indicator", &red)]}),
    );
    assert_eq!((both["a"][0]["id"].as_str(), both["b"][0]["id"].as_str()), (Some(green.as_str()), Some(red.as_str())));
    // Without a token: refused like every query.
    let (_, body) = hub.post(None, ENTITIES, json!({"r": [rep("Indicator", &green)]}));
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{body}");
    assert!(body["errors"][0]["extensions"]["messageJa"].as_str().is_some_and(|m| !m.is_empty()));
    // More representations than a page: refused with a code, in both languages.
    let many: Vec<Value> = (0..1001).map(|_| rep("Indicator", &green)).collect();
    let (code, err) = hub.gql_error(&t2, ENTITIES, json!({"r": many}));
    assert_eq!(code, "TOO_MANY_REPRESENTATIONS", "{err}");
    assert!(err["extensions"]["messageJa"].as_str().is_some_and(|m| m.contains("1000")));

    // (3) The real Apollo gateway composes the hub with the tickets subgraph.
    let tickets = json!([
        {"id": "T-1", "title": "scan from a known address", "indicatorId": green, "supplierId": supplier},
        {"id": "T-2", "title": "beacon to a RED address", "indicatorId": red},
        {"id": "T-3", "title": "a proposed supplier", "supplierId": proposal},
    ]);
    let gateway = start_gateway(&format!("{}/graphql", hub.base), &tc, &tickets);

    // A query the gateway routes to the hub alone, with the caller's token.
    let listed = via_gateway(&gateway, Some(&t3), "{ indicators { nodes { id value tlp } } }");
    assert!(listed.get("errors").is_none(), "{listed}");
    assert_eq!(listed["data"]["indicators"]["nodes"], json!([{"id": green, "value": "198.51.100.7", "tlp": "GREEN"}]));

    // Tickets from the second subgraph, their indicators and suppliers from the hub's
    // `_entities`, each as the gateway's caller may read them.
    let as_named = via_gateway(&gateway, Some(&t2), TICKETS);
    assert!(as_named.get("errors").is_none(), "{as_named}");
    let t = &as_named["data"]["tickets"];
    assert_eq!(
        t[0]["indicator"],
        json!({"id": green, "value": "198.51.100.7", "tlp": "GREEN", "sightings": {"organizations": 0}})
    );
    assert_eq!(t[0]["supplier"], json!({"id": supplier, "nameJa": "トヨタ自動車株式会社", "status": "ACTIVE"}));
    assert_eq!(
        (t[1]["indicator"]["value"].as_str(), t[1]["indicator"]["tlp"].as_str()),
        (Some("198.51.100.66"), Some("RED"))
    );
    // What the hub resolves to null the gateway answers as null (noting the missing
    // non-null fields under `extensions.valueCompletion`).
    assert!(t[2]["supplier"].is_null(), "another member's proposal: {t}");

    let as_outsider = via_gateway(&gateway, Some(&t3), TICKETS);
    let t = &as_outsider["data"]["tickets"];
    assert_eq!(t[0]["indicator"]["value"], "198.51.100.7", "{as_outsider}");
    assert!(t[1]["indicator"].is_null(), "a RED indicator not naming the caller: {as_outsider}");
    assert!(!as_outsider.to_string().contains("198.51.100.66"), "{as_outsider}");

    let as_submitter = via_gateway(&gateway, Some(&t1), TICKETS);
    assert_eq!(as_submitter["data"]["tickets"][2]["supplier"]["nameJa"], "国税庁", "{as_submitter}");

    // Without a token the hub answers nothing through the gateway either.
    let anonymous = via_gateway(&gateway, None, "{ indicators { nodes { id } } }");
    assert!(anonymous.to_string().contains("UNAUTHENTICATED"), "{anonymous}");
    let anonymous = via_gateway(&gateway, None, TICKETS);
    assert!(!anonymous.to_string().contains("198.51.100."), "{anonymous}");
}
