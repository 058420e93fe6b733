//! Rating-change events, rating history and the stored ratings behind procurement
//! filters: each viewer hears of the changes of the rating it may compute (never of
//! one that rests on a TLP:RED assessment it may not read), events are signed and sit
//! in the change feed, a scheme change recomputes ratings, and time alone (an expiry)
//! makes an event too.

use std::time::{Duration, Instant};

use renkei_e2e::{Backend, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

const SUBMIT: &str =
    "mutation($i: AssessmentInput!, $s: SharingInput!) { submitAssessment(input: $i, sharing: $s) { id } }";
const HISTORY: &str = "query($id: ID!) { supplier(id: $id) { ratingHistory { id at offeringId reasons reasonsJa worsened previous { tier score flags } current { tier score flags inputs } } } }";

use renkei_e2e::handbook_assessment as assessment;

struct Setup {
    hub: TestHub,
    tp: String,
    t2: String,
    t3: String,
    tc: String,
    m1: String,
    /// (token, organisation, role) of every viewer.
    viewers: Vec<(String, String, renkei_schema::tlp::ViewerRole)>,
    key: String,
}

impl Setup {
    fn submit(&self, token: &str, input: Value, sharing: Value) -> String {
        self.hub.gql(token, SUBMIT, json!({"i": input, "s": sharing}))["submitAssessment"]["id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    fn add_supplier(&self, name: &str) -> String {
        let add = "mutation($i: SupplierInput!) { addSupplier(input: $i) { id } }";
        self.hub.gql(&self.tc, add, json!({"i": {"legalName": name, "nameJa": name, "country": "JP"}}))["addSupplier"]
            ["id"]
            .as_str()
            .expect("id")
            .to_string()
    }

    /// The feed after `cursor`: every item, and the new cursor.
    fn feed(&self, token: &str, cursor: &str) -> (Vec<Value>, String) {
        self.hub.follow_changes(token, Some(cursor.to_string()), 3)
    }

    fn history(&self, token: &str, supplier: &str) -> Vec<Value> {
        self.hub.gql(token, HISTORY, json!({"id": supplier}))["supplier"]["ratingHistory"]
            .as_array()
            .cloned()
            .expect("history")
    }

    fn live(&self, token: &str, supplier: &str) -> Value {
        let q = "query($id: ID!) { supplier(id: $id) { rating { score tier flags inputs } } }";
        self.hub.gql(token, q, json!({"id": supplier}))["supplier"]["rating"].clone()
    }

    fn filtered(&self, token: &str, filter: Value) -> Vec<String> {
        let q = "query($f: SupplierFilter) { suppliers(filter: $f) { id } }";
        renkei_e2e::field_strings(&self.hub.gql(token, q, json!({"f": filter}))["suppliers"], "id")
    }

    /// Checks every item's signature against the hub's key (assessments carry a
    /// floating-point posture, which must survive the reader's parse); returns the
    /// rating-change objects among them.
    fn rating_changes(&self, items: &[Value]) -> Vec<Value> {
        let mut out = Vec::new();
        for item in items.iter().filter(|i| i["deleted"] == json!(false)) {
            renkei_schema::sign::verify_object(
                &self.key,
                renkei_schema::stix::canonical_json(&item["object"]).as_bytes(),
                item["signature"].as_str().expect("signature"),
            )
            .unwrap_or_else(|e| panic!("{} {} does not verify: {e}", item["type"], item["id"]));
            if item["type"] != "rating-change" {
                continue;
            }
            let parsed: renkei_schema::supply::change::RatingChange =
                serde_json::from_value(item["object"].clone()).expect("a rating change parses");
            assert_eq!(parsed.id, item["id"].as_str().expect("id"));
            out.push(item["object"].clone());
        }
        out
    }
}

fn ratings_flow(backend: Backend) {
    // Time-based changes are checked every second here.
    let hub = TestHub::start_with(backend, |c| c.rating_sweep_seconds = 1);
    let m1 = hub.add_org("Member One", false);
    let m2 = hub.add_org("Member Two", false);
    let m3 = hub.add_org("Member Three", false);
    let coord = hub.add_org("Secretariat", true);
    let s = Setup {
        tp: hub.token(&m1, Role::Procurement),
        t2: hub.token(&m2, Role::Analyst),
        t3: hub.token(&m3, Role::Analyst),
        tc: hub.token(&coord, Role::Coordinator),
        key: String::new(),
        viewers: Vec::new(),
        m1,
        hub,
    };
    let member = renkei_schema::tlp::ViewerRole::Member;
    let viewers = vec![
        (s.tp.clone(), s.m1.clone(), member),
        (s.t2.clone(), m2.clone(), member),
        (s.t3.clone(), m3.clone(), member),
        (s.tc.clone(), coord.clone(), renkei_schema::tlp::ViewerRole::Coordinator),
    ];
    let key =
        s.hub.gql(&s.t3, "{ hub { publicKey } }", json!({}))["hub"]["publicKey"].as_str().expect("key").to_string();
    let s = Setup { key, viewers, ..s };
    let supplier = s.add_supplier("格付株式会社");
    let add_offering = "mutation($i: OfferingInput!) { addOffering(input: $i) { id } }";
    let offering = |name: &str| {
        s.hub.gql(
            &s.tc,
            add_offering,
            json!({"i": {"supplierId": supplier, "name": name, "kind": "SOFTWARE", "sectors": ["electricity"]}}),
        )["addOffering"]["id"]
            .as_str()
            .expect("id")
            .to_string()
    };
    let (o1, o2) = (offering("SCADA Suite"), offering("Historian"));
    let (_, c3) = s.hub.follow_changes(&s.t3, None, 100);
    let (_, cp) = s.hub.follow_changes(&s.tp, None, 100);

    // 1. A first assessment (of the supplier and its offering O1): the supplier's and
    //    O1's ratings appear, and followers hear of both, signed.
    let a1 = s.submit(&s.tp, assessment(&supplier, &[&o1], "QUESTIONNAIRE_REVIEWED", 4), json!({"tlp": "GREEN"}));
    let (items, c3) = s.feed(&s.t3, &c3);
    assert_eq!(items[0]["id"], json!(a1), "the assessment comes first, then what it changed");
    let changes = s.rating_changes(&items);
    assert_eq!(changes.len(), 2, "{changes:#?}");
    assert!(changes.iter().all(|c| c["supplier_ref"] == json!(supplier) && c["current"]["tier"] == "A"));
    assert_eq!(changes.iter().filter(|c| c["offering_ref"] == json!(o1)).count(), 1);
    assert!(changes.iter().all(|c| c["previous"].get("tier").is_none() && c["worsened"] == json!(false)));
    let history = s.history(&s.t3, &supplier);
    assert_eq!(history.len(), 1);
    assert!(history[0]["reasons"].as_array().expect("r").contains(&json!("tier none -> A")), "{history:?}");
    assert!(history[0]["reasonsJa"][0].as_str().is_some_and(|r| r.contains("ティア")));
    let offering_rating = |o: &str| {
        let q = "query($id: ID!) { supplier(id: $id) { offerings { id rating { score } ratingHistory { current { tier } } } } }";
        s.hub.gql(&s.t3, q, json!({"id": supplier}))["supplier"]["offerings"]
            .as_array()
            .expect("offerings")
            .iter()
            .find(|x| x["id"] == json!(o))
            .cloned()
            .expect("offering")
    };
    assert_eq!(offering_rating(&o1)["rating"]["score"], 100.0);
    assert_eq!(offering_rating(&o1)["ratingHistory"].as_array().map(Vec::len), Some(1));
    assert!(offering_rating(&o2)["rating"]["score"].is_null(), "no assessment names O2: no score, never 0");

    // 2. Another member disagrees completely: the criterion is contested and the worse
    //    value wins. A change for the worse (O1 is not named, so only the supplier's).
    let a2 = s.submit(&s.t2, assessment(&supplier, &[], "QUESTIONNAIRE_REVIEWED", 0), json!({"tlp": "GREEN"}));
    let (items, c3) = s.feed(&s.t3, &c3);
    let changes = s.rating_changes(&items);
    assert_eq!(changes.len(), 1, "{changes:#?}");
    assert_eq!(changes[0]["worsened"], true);
    assert_eq!(
        (changes[0]["previous"]["tier"].clone(), changes[0]["current"]["tier"].clone()),
        (json!("A"), json!("D"))
    );
    let kinds: Vec<&str> =
        changes[0]["reasons"].as_array().expect("r").iter().filter_map(|r| r["kind"].as_str()).collect();
    assert_eq!(kinds, ["tier", "score", "flag_raised"]);
    assert_eq!(s.filtered(&s.t3, json!({"worsenedWithinDays": 90})), vec![supplier.clone()]);
    assert_eq!(s.filtered(&s.t3, json!({"sectors": ["electricity"]})), vec![supplier.clone()]);
    assert!(s.filtered(&s.t3, json!({"sectors": ["gas"]})).is_empty());
    assert_eq!(
        s.hub.gql_error(&s.t3, "{ suppliers(filter: {worsenedWithinDays: -1}) { id } }", json!({})).0,
        "INVALID_INPUT"
    );

    // 3. A RED on-site test by Member Two for Member One: their ratings rest on it (the
    //    highest assurance wins) and they hear of that, under RED; Member Three hears
    //    nothing and its rating, stored and live, does not move.
    let a3 =
        s.submit(&s.t2, assessment(&supplier, &[], "TECHNICAL_TEST", 4), json!({"tlp": "RED", "recipients": [s.m1]}));
    let (items, _) = s.feed(&s.t3, &c3);
    assert!(items.is_empty(), "Member Three learns nothing of the RED test: {items:#?}");
    let (items, cp) = s.feed(&s.tp, &cp);
    let mine = s.rating_changes(&items);
    let last = mine.last().expect("Member One hears of its rating change");
    assert_eq!(last["current"]["inputs"], json!([a3]));
    assert_eq!(last["object_marking_refs"][0], "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1");
    assert_eq!(items.iter().rfind(|i| i["type"] == "rating-change").map(|i| i["tlp"].clone()), Some(json!("RED")));
    assert_eq!(s.history(&s.tp, &supplier).len(), 3, "its own change, after the two everyone heard of");
    let h3 = s.history(&s.t3, &supplier);
    assert_eq!(h3.len(), 2);
    assert!(!json!(h3).to_string().contains(&a3), "no trace of the RED test in Member Three's history");
    // Stored ratings (what `rating` answers, and what the filters read) agree with the
    // rating computed now from what each viewer may read.
    let stored_in_use = s.hub.hub.ratings_follow_rules.load(std::sync::atomic::Ordering::Acquire);
    assert!(stored_in_use, "the hub answers from its stored ratings (the start-up check is done)");
    for (token, org, role) in &s.viewers {
        let live = s.live(token, &supplier);
        let computed = s.hub.db(|c| {
            let scheme = renkei_hub::services::suppliers::known_scheme(c, "renkei-handbook-6.4").expect("scheme");
            let viewer = renkei_schema::tlp::Viewer { org, role: *role };
            renkei_hub::services::ratings::live(c, &s.hub.hub.config.ratings, &viewer, &supplier, None, &scheme)
                .expect("rating")
        });
        assert_eq!(live["score"], json!(computed.score), "{org}");
        assert_eq!(live["inputs"], json!(computed.inputs), "{org}");
        assert_eq!(live["flags"], json!(computed.flags), "{org}");
        let tier = live["tier"].as_str().expect("tier");
        assert!(s.filtered(token, json!({"tiers": [tier]})).contains(&supplier), "{live}");
        let contested = live["flags"].as_array().expect("flags").contains(&json!("CONTESTED"));
        assert_eq!(s.filtered(token, json!({"flags": ["CONTESTED"]})).contains(&supplier), contested);
    }
    assert_eq!(s.live(&s.tp, &supplier)["tier"], "A");
    assert_eq!(s.live(&s.t3, &supplier)["tier"], "D");

    // 4. Member Two withdraws its disagreeing assessment: everyone's rating recovers
    //    (an event for them); Member One's rests on the RED test and does not move.
    s.hub.gql(&s.t2, "mutation($id: ID!) { revoke(id: $id, reason: \"superseded\") { status } }", json!({"id": a2}));
    let (items, c3) = s.feed(&s.t3, &c3);
    let changes = s.rating_changes(&items);
    assert_eq!(changes.len(), 1);
    assert_eq!((changes[0]["current"]["tier"].clone(), changes[0]["worsened"].clone()), (json!("A"), json!(false)));
    let (items, _) = s.feed(&s.tp, &cp);
    assert!(s.rating_changes(&items).is_empty(), "Member One follows its own rating now: {items:#?}");

    // 5. A new version of the scheme weights the first criterion heavily: the stored
    //    ratings are recomputed and the change is published.
    let other = s.add_supplier("重み株式会社");
    let mut half = assessment(&other, &[], "QUESTIONNAIRE_REVIEWED", 0);
    half["results"][0]["answer"] = json!(4);
    s.submit(&s.t3, half, json!({"tlp": "GREEN"}));
    assert_eq!(s.live(&s.t3, &other)["tier"], "D");
    let schemes = s.hub.gql(
        &s.t3,
        "{ assessmentSchemes { id version nameJa nameEn criteria { id weight textJa textEn } } }",
        json!({}),
    );
    let mut v2 = schemes["assessmentSchemes"][0].clone();
    v2["version"] = json!("2");
    v2["criteria"][0]["weight"] = json!(1000.0);
    v2["referenceOnly"] = json!(false);
    v2["defaultValidityDays"] = json!(365);
    let add = "mutation($i: AssessmentSchemeInput!) { addAssessmentScheme(input: $i) { version } }";
    s.hub.gql(&s.tc, add, json!({"i": v2}));
    assert_eq!(s.live(&s.t3, &other)["tier"], "A", "the live rating follows the new version at once");
    let recomputed = wait_for(|| s.history(&s.t3, &other).len() == 2);
    assert!(recomputed, "the stored rating was recomputed under the new scheme version");
    assert_eq!(s.history(&s.t3, &other)[0]["current"]["tier"], "A");
    let status = "{ ratingRecompute { running seconds suppliers ratingsWritten events error } }";
    let finished = wait_for(|| s.hub.gql(&s.tc, status, json!({}))["ratingRecompute"]["running"] == json!(false));
    assert!(finished);
    let done = s.hub.gql(&s.tc, status, json!({}))["ratingRecompute"].clone();
    assert_eq!(done["suppliers"], 2, "both rated suppliers: {done}");
    assert!(done["events"].as_i64().is_some_and(|n| n >= 1) && done["error"].is_null(), "{done}");
    assert_eq!(s.hub.gql_error(&s.t3, status, json!({})).0, "FORBIDDEN");

    // 6. Time alone: an assessment that expires in a few seconds. The sweep notices and
    //    publishes the (worse) change.
    let brief = s.add_supplier("短期株式会社");
    let mut expiring = assessment(&brief, &[], "QUESTIONNAIRE_REVIEWED", 4);
    let until = chrono::Utc::now() + chrono::Duration::seconds(3);
    expiring["validUntil"] = json!(until.to_rfc3339());
    s.submit(&s.t3, expiring.clone(), json!({"tlp": "GREEN"}));
    assert_eq!(s.history(&s.t3, &brief).len(), 1);
    // An expiry that changes nothing: the same assessor's newer assessment already
    // outweighs the one that expires.
    let steady = s.add_supplier("安定株式会社");
    let mut older = expiring;
    older["supplierId"] = json!(steady);
    older["observed"] = json!((chrono::Utc::now() - chrono::Duration::days(2)).to_rfc3339());
    s.submit(&s.t3, older, json!({"tlp": "GREEN"}));
    let mut newer = assessment(&steady, &[], "QUESTIONNAIRE_REVIEWED", 4);
    newer["observed"] = json!((chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339());
    s.submit(&s.t3, newer, json!({"tlp": "GREEN"}));
    let expired = wait_for(|| s.history(&s.t3, &brief).len() == 2);
    assert!(expired, "the expiry was published");
    let latest = &s.history(&s.t3, &brief)[0];
    assert_eq!(latest["worsened"], true);
    assert!(latest["current"]["score"].is_null(), "{latest}");
    assert!(s.filtered(&s.t3, json!({"noValidAssessment": true})).contains(&brief));
    // Every stored rating was rewritten with its next change by time still ahead (a
    // passed one would bring it back to every sweep and to live computation).
    let now = renkei_hub::store::now_text();
    let overdue: i64 = s.hub.db(|c| {
        use diesel::prelude::*;
        use renkei_hub::store::schema::supplier_ratings as r;
        r::table.filter(r::next_change_at.le(&now)).count().get_result(c).expect("count")
    });
    assert_eq!(overdue, 0);
    assert_eq!(s.history(&s.t3, &steady).len(), 1, "an expiry that changes nothing is no event");
    // The feed carries it as well.
    let (items, _) = s.feed(&s.t3, &c3);
    assert!(s.rating_changes(&items).iter().any(|c| c["supplier_ref"] == json!(brief) && c["worsened"] == json!(true)));
}

/// Polls `done` for up to 30 seconds.
fn wait_for(mut done: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(30) {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    false
}

#[test]
fn ratings_on_postgres() {
    ratings_flow(Backend::Postgres);
}

#[test]
fn ratings_on_sqlite() {
    ratings_flow(Backend::Sqlite);
}
