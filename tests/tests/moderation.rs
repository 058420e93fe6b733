//! Moderation end to end: the policy routes submissions, pending items stay between
//! their submitter and the coordinators on every surface, decisions respect
//! segregation of duties, sanitising never loosens a label, and followers of `changes`
//! see each decision as the TLP table says.

use renkei_e2e::{Backend, TestHub};
use renkei_hub::auth::Role;
use renkei_hub::services::moderation::Trust;
use renkei_schema::stix::{prop, StixRead};
use serde_json::{json, Value};

const SHARE: &str = "mutation($input: [IndicatorInput!]!, $sharing: SharingInput!) { shareIndicators(input: $input, sharing: $sharing) { id status } }";
const INCIDENT: &str = "mutation($input: IncidentInput!, $sharing: SharingInput!) { reportIncident(input: $input, sharing: $sharing) { id status version } }";
const NODE: &str = "query($id: ID!) { node(id: $id) { ... on Indicator { id status version tlp } ... on Incident { id status version tlp summary impactDescription statusReason } } }";
const QUEUE: &str = "{ moderationQueue(first: 100) { entries { cursor submittedAt queuedBecause item { ... on Indicator { id value createdBy { id } } ... on Incident { id title } } } pageInfo { hasNextPage } } }";
const APPROVE: &str = "mutation($id: ID!) { approve(id: $id) { ... on Indicator { id status version } ... on Incident { id status version } } }";
const REJECT: &str = "mutation($id: ID!, $reason: String!) { reject(id: $id, reason: $reason) { ... on Indicator { id status version statusReason } } }";
const APPROVE_WITH: &str = "mutation($id: ID!, $patch: ModerationPatchInput!) { approveWithChanges(id: $id, patch: $patch) { ... on Incident { id status version tlp summary impactDescription } ... on Indicator { id status version tlp recipients } } }";
const REVOKE: &str = "mutation($id: ID!, $reason: String!) { revoke(id: $id, reason: $reason) { id version status } }";

fn share(hub: &TestHub, token: &str, values: &[&str], sharing: Value) -> Vec<(String, String)> {
    let input: Vec<Value> = values.iter().map(|v| json!({"type": "DOMAIN", "value": v})).collect();
    let data = hub.gql(token, SHARE, json!({"input": input, "sharing": sharing}));
    data["shareIndicators"]
        .as_array()
        .expect("list")
        .iter()
        .map(|i| (i["id"].as_str().expect("id").to_string(), i["status"].as_str().expect("status").to_string()))
        .collect()
}

fn incident(hub: &TestHub, token: &str, summary: &str, tlp: &str) -> String {
    let input = json!({
        "title": "Phishing wave against plant operators",
        "summary": summary,
        "sector": "electricity",
        "serviceImpact": "DEGRADED",
        "impactDescription": "HMI at Plant 7 of Acme Power unreachable for 2 h",
    });
    let data = hub.gql(token, INCIDENT, json!({"input": input, "sharing": {"tlp": tlp}}));
    assert_eq!(data["reportIncident"]["status"], "PENDING", "new organisations are reviewed");
    data["reportIncident"]["id"].as_str().expect("id").to_string()
}

fn node(hub: &TestHub, token: &str, id: &str) -> Value {
    hub.gql(token, NODE, json!({"id": id}))["node"].clone()
}

fn lookup_ids(hub: &TestHub, token: &str, value: &str) -> Vec<String> {
    let data = hub.gql(token, "query($v: [String!]!) { lookup(values: $v) { matches { id } } }", json!({"v": [value]}));
    data["lookup"][0]["matches"]
        .as_array()
        .expect("matches")
        .iter()
        .map(|m| m["id"].as_str().expect("id").into())
        .collect()
}

fn listed(hub: &TestHub, token: &str) -> Vec<String> {
    let data = hub.gql(token, "{ indicators(first: 1000) { nodes { id } } }", json!({}));
    data["indicators"]["nodes"]
        .as_array()
        .expect("nodes")
        .iter()
        .map(|n| n["id"].as_str().expect("id").into())
        .collect()
}

/// (id, version, deleted, status in the STIX object) of every feed item about `id`.
fn feed_of(hub: &TestHub, token: &str, id: &str) -> Vec<(i64, bool, Option<String>, Option<String>)> {
    let (items, _) = hub.follow_changes(token, None, 1000);
    items
        .iter()
        .filter(|i| i["id"] == id)
        .map(|i| {
            let object = Some(&i["object"]).filter(|o| !o.is_null());
            (
                i["version"].as_i64().expect("version"),
                i["deleted"].as_bool().expect("deleted"),
                object.as_ref().and_then(|o| StixRead(o).prop(prop::STATUS).as_str().map(str::to_string)),
                object.as_ref().and_then(|o| StixRead(o).prop(prop::STATUS_REASON).as_str().map(str::to_string)),
            )
        })
        .collect()
}

fn queue_ids(hub: &TestHub, token: &str) -> Vec<String> {
    let data = hub.gql(token, QUEUE, json!({}));
    data["moderationQueue"]["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["item"]["id"].as_str().expect("id").to_string())
        .collect()
}

fn moderation_flows(backend: Backend) {
    let hub = TestHub::start(backend);
    let newbie = hub.add_org_trusted("New Member Gas", false, Trust::New);
    let member = hub.add_org("Member Two Power", false);
    let secretariat = hub.add_org("Sector ISAC secretariat", true);
    let tn = hub.token(&newbie, Role::Analyst);
    let tm = hub.token(&member, Role::Analyst);
    let tc = hub.token(&secretariat, Role::Coordinator);
    let tc2 = hub.token(&secretariat, Role::Coordinator);

    // A new organisation's submissions wait; a standard one's publish at once.
    let pending = share(&hub, &tn, &["pending-one.example", "pending-two.example"], json!({"tlp": "GREEN"}));
    assert!(pending.iter().all(|(_, s)| s == "PENDING"), "{pending:?}");
    let direct = share(&hub, &tm, &["direct.example"], json!({"tlp": "GREEN"}));
    assert_eq!(direct[0].1, "PUBLISHED");
    // RED is never queued, even from a new organisation: it goes to its recipients.
    let red = share(&hub, &tn, &["red-one.example"], json!({"tlp": "RED", "recipients": [member]}));
    assert_eq!(red[0].1, "PUBLISHED");

    // Pending: the submitter and the coordinators see it, another member nowhere.
    let (p1, p2) = (pending[0].0.clone(), pending[1].0.clone());
    for (who, token, sees) in [("submitter", &tn, true), ("coordinator", &tc, true), ("member", &tm, false)] {
        assert_eq!(!node(&hub, token, &p1).is_null(), sees, "{who}: node");
        assert_eq!(listed(&hub, token).contains(&p1), sees, "{who}: indicators");
        assert_eq!(lookup_ids(&hub, token, "pending-one.example").contains(&p1), sees, "{who}: lookup");
        assert_eq!(!feed_of(&hub, token, &p1).is_empty(), sees, "{who}: changes");
    }
    // The queue is the coordinators': pending items only, never RED, oldest first.
    assert_eq!(queue_ids(&hub, &tc), vec![p1.clone(), p2.clone()]);
    let queue = hub.gql(&tc, QUEUE, json!({}));
    let first = &queue["moderationQueue"]["entries"][0];
    assert!(first["queuedBecause"].as_str().expect("why").contains("trust new"), "{first}");
    assert_eq!(first["item"]["createdBy"]["id"], newbie.as_str(), "coordinators see the submitter");
    assert_eq!(hub.gql_error(&tm, QUEUE, json!({})).0, "FORBIDDEN");

    // A member cannot decide, and an item it cannot see does not exist for it.
    assert_eq!(hub.gql_error(&tm, APPROVE, json!({"id": p1})).0, "NOT_FOUND");
    assert_eq!(hub.gql_error(&tn, APPROVE, json!({"id": p1})).0, "FORBIDDEN");

    // Approve: a new version, published; the member's feed gets it, lookups find it.
    let approved = hub.gql(&tc, APPROVE, json!({"id": p1}));
    assert_eq!(approved["approve"]["status"], "PUBLISHED");
    assert_eq!(approved["approve"]["version"], 2);
    assert_eq!(feed_of(&hub, &tm, &p1), vec![(2, false, None, None)], "members see only the published version");
    assert_eq!(lookup_ids(&hub, &tm, "pending-one.example"), vec![p1.clone()]);
    assert_eq!(hub.gql_error(&tc2, APPROVE, json!({"id": p1})).0, "NOT_PENDING", "approving twice");
    assert_eq!(queue_ids(&hub, &tc), vec![p2.clone()]);

    // Reject: a reason is required; the submitter sees the rejection and its reason
    // in its own feed; the member never saw the item at all.
    assert_eq!(hub.gql_error(&tc, REJECT, json!({"id": p2, "reason": "  "})).0, "REASON_REQUIRED");
    let rejected = hub.gql(&tc, REJECT, json!({"id": p2, "reason": "benign CDN host"}));
    assert_eq!(rejected["reject"]["status"], "REJECTED");
    assert_eq!(rejected["reject"]["statusReason"], "benign CDN host");
    assert_eq!(
        feed_of(&hub, &tn, &p2),
        vec![
            (1, false, Some("pending".into()), None),
            (2, false, Some("rejected".into()), Some("benign CDN host".into()))
        ]
    );
    assert!(feed_of(&hub, &tm, &p2).is_empty());
    assert!(node(&hub, &tm, &p2).is_null());
    assert_eq!(hub.gql_error(&tc, APPROVE, json!({"id": p2})).0, "NOT_PENDING", "approving a rejected item");

    // A withdrawn (revoked) submission cannot be approved afterwards.
    let withdrawn = share(&hub, &tn, &["withdrawn.example"], json!({"tlp": "GREEN"}));
    hub.gql(&tn, REVOKE, json!({"id": withdrawn[0].0, "reason": "sent by mistake"}));
    let (code, err) = hub.gql_error(&tc, APPROVE, json!({"id": withdrawn[0].0}));
    assert_eq!(code, "NOT_PENDING", "{err}");
    assert!(queue_ids(&hub, &tc).is_empty(), "a withdrawn item leaves the queue");

    // Approve with changes: loosening is refused and changes nothing; tightening,
    // stripping and redacting publish the sanitised version.
    let inc = incident(&hub, &tn, "Acme Power staff received lures naming Acme Power's vendor", "AMBER");
    let versions_before = hub.count("object_versions");
    for (patch, code) in [
        (json!({"tlp": "GREEN"}), "TLP_LOOSENING"),
        (json!({"strip": ["title"]}), "INVALID_PATCH"),
        (json!({"redact": ["Globex"]}), "INVALID_PATCH"),
        (json!({"tlp": "AMBER_STRICT", "redact": ["Acme Power", "not there"]}), "INVALID_PATCH"),
    ] {
        assert_eq!(hub.gql_error(&tc, APPROVE_WITH, json!({"id": inc, "patch": patch})).0, code, "{patch}");
    }
    assert_eq!(hub.count("object_versions"), versions_before, "a refused patch stores nothing");
    assert_eq!(node(&hub, &tc, &inc)["status"], "PENDING");
    let patch = json!({"tlp": "AMBER_STRICT", "strip": ["impactDescription"], "redact": ["Acme Power"]});
    let sanitised = hub.gql(&tc, APPROVE_WITH, json!({"id": inc, "patch": patch}))["approveWithChanges"].clone();
    assert_eq!(sanitised["status"], "PUBLISHED");
    assert_eq!(sanitised["tlp"], "AMBER_STRICT");
    assert_eq!(sanitised["summary"], "[REDACTED] staff received lures naming [REDACTED]'s vendor");
    assert!(sanitised["impactDescription"].is_null());
    let seen = node(&hub, &tm, &inc);
    assert_eq!(seen["summary"], sanitised["summary"], "members read only the sanitised text");
    let (items, _) = hub.follow_changes(&tm, None, 1000);
    let stix: Vec<String> = items.iter().filter(|i| i["id"] == inc.as_str()).map(|i| i["object"].to_string()).collect();
    assert_eq!(stix.len(), 1);
    assert!(!stix[0].contains("Acme Power"), "the redacted text never reaches members: {}", stix[0]);

    // Tightening to RED names recipients; non-recipients then see nothing.
    let to_red = share(&hub, &tn, &["to-red.example"], json!({"tlp": "GREEN"}));
    let patch = json!({"tlp": "RED", "recipients": [secretariat]});
    let red_item = hub.gql(&tc, APPROVE_WITH, json!({"id": to_red[0].0, "patch": patch}))["approveWithChanges"].clone();
    assert_eq!(red_item["tlp"], "RED");
    assert!(node(&hub, &tm, &to_red[0].0).is_null());
    assert_eq!(hub.gql_error(&tc, APPROVE_WITH, json!({"id": to_red[0].0, "patch": {"tlp": "RED"}})).0, "NOT_PENDING");
    // Tightened to RED for someone else, the item is no longer the coordinator's to
    // read: the answer is null, as the policy says.
    let for_member = share(&hub, &tn, &["to-red-member.example"], json!({"tlp": "GREEN"}));
    let patch = json!({"tlp": "RED", "recipients": [member]});
    let answer = hub.gql(&tc, APPROVE_WITH, json!({"id": for_member[0].0, "patch": patch}));
    assert!(answer["approveWithChanges"].is_null(), "{answer}");
    assert_eq!(node(&hub, &tm, &for_member[0].0)["tlp"], "RED");

    // Segregation of duties: a coordinator organisation's own queued item needs a
    // second coordinator; the one who submitted it cannot decide on it.
    hub.gql(
        &tc,
        "mutation($id: ID!) { setOrganizationTrust(id: $id, trust: NEW) { trust } }",
        json!({"id": secretariat}),
    );
    let own = share(&hub, &tc, &["own.example"], json!({"tlp": "CLEAR"}));
    assert_eq!(own[0].1, "PENDING");
    assert_eq!(hub.gql_error(&tc, APPROVE, json!({"id": own[0].0})).0, "SELF_APPROVAL");
    assert_eq!(hub.gql_error(&tc, REJECT, json!({"id": own[0].0, "reason": "mine"})).0, "SELF_APPROVAL");
    assert_eq!(hub.gql(&tc2, APPROVE, json!({"id": own[0].0}))["approve"]["status"], "PUBLISHED");

    // The policy is the coordinators' to change, and then routes accordingly.
    let set =
        "mutation($p: ModerationPolicyInput!) { setModerationPolicy(policy: $p) { default rules { kinds action } } }";
    let policy = json!({"default": "PUBLISH", "rules": [{"kinds": ["INCIDENT"], "action": "QUEUE"}]});
    assert_eq!(hub.gql_error(&tm, set, json!({"p": policy})).0, "FORBIDDEN");
    hub.gql(&tc, set, json!({"p": policy}));
    let read = hub.gql(&tc, "{ moderationPolicy { default rules { kinds action } } }", json!({}));
    assert_eq!(read["moderationPolicy"]["rules"][0]["kinds"], json!(["INCIDENT"]));
    let routed = hub.gql(
        &tm,
        INCIDENT,
        json!({"input": {"title": "t", "summary": "s", "sector": "gas", "serviceImpact": "NONE"}, "sharing": {"tlp": "GREEN"}}),
    );
    assert_eq!(routed["reportIncident"]["status"], "PENDING", "incidents are now reviewed");
    assert_eq!(share(&hub, &tm, &["still-direct.example"], json!({"tlp": "GREEN"}))[0].1, "PUBLISHED");
    assert_eq!(share(&hub, &tn, &["newbie-now-direct.example"], json!({"tlp": "GREEN"}))[0].1, "PUBLISHED");

    // Every decision is in the audit log, which still verifies.
    let audit = hub.gql(&tc, "{ auditLog(limit: 1000) { action } }", json!({}));
    let actions: Vec<&str> =
        audit["auditLog"].as_array().expect("nodes").iter().filter_map(|n| n["action"].as_str()).collect();
    for action in ["moderation.approve", "moderation.reject", "moderation.policy", "org.trust"] {
        assert!(actions.contains(&action), "{action} missing from {actions:?}");
    }
}

#[test]
fn moderation_on_postgres() {
    moderation_flows(Backend::Postgres);
}

#[test]
fn moderation_on_sqlite() {
    moderation_flows(Backend::Sqlite);
}

/// Coordinators not named on a RED item see that it exists (who sent it unless
/// anonymous, to whom, when), never its content; named coordinators read it normally.
#[test]
fn coordinators_see_only_that_red_items_exist() {
    let hub = TestHub::start(Backend::Postgres);
    let m1 = hub.add_org("Member One", false);
    let m2 = hub.add_org("Member Two", false);
    let secretariat = hub.add_org("Secretariat", true);
    let (t1, t2, tc) =
        (hub.token(&m1, Role::Analyst), hub.token(&m2, Role::Analyst), hub.token(&secretariat, Role::Coordinator));
    let named = share(&hub, &t1, &["red-named.example"], json!({"tlp": "RED", "recipients": [m2]}))[0].0.clone();
    let anonymous =
        share(&hub, &t1, &["red-anon.example"], json!({"tlp": "RED", "recipients": [m2], "anonymous": true}))[0]
            .0
            .clone();
    let to_secretariat =
        share(&hub, &t1, &["red-c.example"], json!({"tlp": "RED", "recipients": [secretariat]}))[0].0.clone();
    share(&hub, &t1, &["green.example"], json!({"tlp": "GREEN"}));

    let q = "{ restrictedItems { items { id kind submitter recipients status modified } pageInfo { hasNextPage } } }";
    let data = hub.gql(&tc, q, json!({}));
    let items = data["restrictedItems"]["items"].as_array().expect("items").clone();
    let ids: Vec<&str> = items.iter().map(|i| i["id"].as_str().expect("id")).collect();
    assert_eq!(ids, vec![named.as_str(), anonymous.as_str()], "only RED items the coordinator is not named on");
    assert_eq!(items[0]["submitter"], m1.as_str());
    assert!(items[1]["submitter"].is_null(), "an anonymous RED item hides its submitter even here");
    assert_eq!(items[0]["recipients"], json!([m2]));
    assert!(!data.to_string().contains("red-named"), "no content: {data}");
    // Content stays out of reach everywhere else, and the named coordinator reads it.
    assert!(node(&hub, &tc, &named).is_null());
    assert!(!node(&hub, &tc, &to_secretariat).is_null());
    assert_eq!(hub.gql_error(&t2, q, json!({})).0, "FORBIDDEN");
}
