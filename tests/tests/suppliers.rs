//! The supplier registry: suppliers and offerings with validated identifiers, member
//! proposals that only their proposer and the coordinators see until approved, and
//! search by name in either language or by corporate number.

use renkei_e2e::{Backend, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

const ADD: &str = "mutation($i: SupplierInput!) { addSupplier(input: $i) { id legalName nameJa corporateNumber lei country status } }";
const OFFER: &str =
    "mutation($i: OfferingInput!) { addOffering(input: $i) { id name kind cpeProducts subcontractors status } }";
const GET: &str =
    "query($id: ID!) { supplier(id: $id) { id nameJa status offerings { id name kind subcontractors } } }";

fn names(data: &Value) -> Vec<String> {
    renkei_e2e::field_strings(&data["suppliers"], "nameJa")
}

fn registry(backend: Backend) {
    let hub = TestHub::start(backend);
    let m1 = hub.add_org("Member One", false);
    let m2 = hub.add_org("Member Two", false);
    let coord = hub.add_org("Secretariat", true);
    let (t1, t2, tc) =
        (hub.token(&m1, Role::Procurement), hub.token(&m2, Role::Analyst), hub.token(&coord, Role::Coordinator));

    let toyota = json!({"legalName": "Toyota Motor Corporation", "nameJa": "トヨタ自動車株式会社", "nameEn": "Toyota Motor", "corporateNumber": "1180301018771", "lei": "5493006W3QUS5LMH6R84", "country": "jp", "cpeVendors": ["toyota"]});
    let added = hub.gql(&tc, ADD, json!({"i": toyota}))["addSupplier"].clone();
    assert_eq!(added["status"], "ACTIVE");
    assert_eq!(added["country"], "JP");
    let supplier = added["id"].as_str().expect("id").to_string();

    // Bad identifiers and duplicates: clear codes, nothing stored.
    let before = hub.count("suppliers");
    let mut wrong = toyota.clone();
    wrong["corporateNumber"] = json!("2180301018771");
    let (code, err) = hub.gql_error(&tc, ADD, json!({"i": wrong}));
    assert_eq!(code, "INVALID_CORPORATE_NUMBER", "{err}");
    assert!(err["extensions"]["messageJa"].as_str().is_some_and(|m| m.contains("検査用数字")));
    assert_eq!(hub.gql_error(&tc, ADD, json!({"i": toyota})).0, "DUPLICATE_SUPPLIER");
    let mut bad_lei = toyota.clone();
    bad_lei["corporateNumber"] = json!(null);
    bad_lei["lei"] = json!("5493006W3QUS5LMH6R85");
    assert_eq!(hub.gql_error(&tc, ADD, json!({"i": bad_lei})).0, "INVALID_LEI");
    let mut bad_country = toyota.clone();
    bad_country["corporateNumber"] = json!(null);
    bad_country["country"] = json!("Japan");
    assert_eq!(hub.gql_error(&tc, ADD, json!({"i": bad_country})).0, "INVALID_INPUT");
    assert_eq!(hub.count("suppliers"), before);

    // A member's proposal: its own and the coordinators' to see until approved.
    let proposal = json!({"legalName": "National Tax Agency", "nameJa": "国税庁", "corporateNumber": "7000012050002", "country": "JP"});
    let proposed = hub.gql(&t1, ADD, json!({"i": proposal}))["addSupplier"].clone();
    assert_eq!(proposed["status"], "PROPOSED");
    let nta = proposed["id"].as_str().expect("id").to_string();
    assert!(!hub.gql(&t1, GET, json!({"id": nta}))["supplier"].is_null());
    assert!(!hub.gql(&tc, GET, json!({"id": nta}))["supplier"].is_null());
    assert!(hub.gql(&t2, GET, json!({"id": nta}))["supplier"].is_null(), "another member does not see a proposal");
    assert_eq!(
        hub.gql_error(&t2, "mutation($id: ID!) { approveRegistryEntry(id: $id) }", json!({"id": nta})).0,
        "FORBIDDEN"
    );
    let find = |token: &str| {
        names(&hub.gql(token, "query($q: String) { suppliers(query: $q) { nameJa } }", json!({"q": "国税"})))
    };
    assert_eq!((find(&t1), find(&tc)), (vec!["国税庁".to_string()], vec!["国税庁".to_string()]));
    assert!(find(&t2).is_empty(), "search does not show another member's proposal");
    hub.gql(&tc, "mutation($id: ID!) { approveRegistryEntry(id: $id) }", json!({"id": nta}));
    assert_eq!(hub.gql(&t2, GET, json!({"id": nta}))["supplier"]["status"], "ACTIVE");
    assert_eq!(find(&t2), vec!["国税庁".to_string()], "approved, it is found by everyone");
    assert_eq!(
        hub.gql_error(&tc, "mutation($id: ID!) { approveRegistryEntry(id: $id) }", json!({"id": nta})).0,
        "NOT_PENDING"
    );

    // Offerings with a subcontractor chain; bad CPE, unknown or self subcontractors refused.
    let offering = json!({"supplierId": supplier, "name": "Plant controller", "kind": "OT_DEVICE", "cpeProducts": ["cpe:2.3:h:toyota:plant_controller:-:*:*:*:*:*:*:*"], "subcontractorIds": [nta]});
    let o = hub.gql(&tc, OFFER, json!({"i": offering}))["addOffering"].clone();
    assert_eq!(o["kind"], "OT_DEVICE");
    assert_eq!(o["subcontractors"], json!([nta]));
    for (patch, code) in [
        (json!({"cpeProducts": ["not a cpe"]}), "INVALID_INPUT"),
        (json!({"subcontractorIds": [supplier]}), "INVALID_INPUT"),
        (json!({"subcontractorIds": ["supplier--00000000-0000-4000-8000-000000000000"]}), "NOT_FOUND"),
        (json!({"supplierId": "supplier--00000000-0000-4000-8000-000000000000"}), "NOT_FOUND"),
    ] {
        let mut input = offering.clone();
        for (k, v) in patch.as_object().expect("object") {
            input[k] = v.clone();
        }
        assert_eq!(hub.gql_error(&tc, OFFER, json!({"i": input})).0, code, "{patch}");
    }
    let member_offer = hub.gql(
        &t2,
        OFFER,
        json!({"i": {"supplierId": supplier, "name": "Remote maintenance", "kind": "MAINTENANCE"}}),
    );
    assert_eq!(member_offer["addOffering"]["status"], "PROPOSED");
    let seen =
        |token: &str| hub.gql(token, GET, json!({"id": supplier}))["supplier"]["offerings"].as_array().map(Vec::len);
    assert_eq!((seen(&t1), seen(&t2), seen(&tc)), (Some(1), Some(2), Some(2)));
    // One offering by id, with its supplier; a proposal only for its proposer and coordinators.
    let one = "query($id: ID!) { offering(id: $id) { id supplierId subcontractors } }";
    let got = hub.gql(&t1, one, json!({"id": o["id"]}));
    assert_eq!((&got["offering"]["supplierId"], &got["offering"]["subcontractors"]), (&json!(supplier), &json!([nta])));
    let proposal = &member_offer["addOffering"]["id"];
    assert!(hub.gql(&t1, one, json!({"id": proposal}))["offering"].is_null(), "another member's proposal is hidden");
    assert_eq!(hub.gql(&t2, one, json!({"id": proposal}))["offering"]["supplierId"], json!(supplier));
    assert!(hub.gql(&t1, one, json!({"id": "offering--00000000-0000-4000-8000-000000000000"}))["offering"].is_null());

    // Search in either language, by alias or corporate number, literally.
    let search = "query($q: String) { suppliers(query: $q) { nameJa } }";
    assert_eq!(names(&hub.gql(&t2, search, json!({"q": "トヨタ"}))), vec!["トヨタ自動車株式会社"]);
    assert_eq!(names(&hub.gql(&t2, search, json!({"q": "toyota motor"}))), vec!["トヨタ自動車株式会社"]);
    assert_eq!(names(&hub.gql(&t2, search, json!({"q": "7000012050002"}))), vec!["国税庁"]);
    assert!(names(&hub.gql(&t2, search, json!({"q": "%"}))).is_empty(), "wildcards match literally");
    assert_eq!(names(&hub.gql(&t2, search, json!({}))).len(), 2);
}

/// The handbook 6.4 scheme is there from the start, in both languages; coordinators add
/// versioned schemes, reference-only ones by criterion id alone.
#[test]
fn assessment_schemes_are_seeded_and_versioned() {
    let hub = TestHub::start(Backend::Sqlite);
    let m1 = hub.add_org("Member One", false);
    let coord = hub.add_org("Secretariat", true);
    let (t1, tc) = (hub.token(&m1, Role::Procurement), hub.token(&coord, Role::Coordinator));
    let q = "{ assessmentSchemes { id version referenceOnly criteria { id weight textJa textEn } } }";
    let data = hub.gql(&t1, q, json!({}));
    let builtin = &data["assessmentSchemes"][0];
    assert_eq!(builtin["id"], "renkei-handbook-6.4");
    assert_eq!(builtin["criteria"].as_array().map(Vec::len), Some(11));
    assert!(builtin["criteria"][1]["textJa"].as_str().is_some_and(|t| t.contains("不正プログラム")));

    let add = "mutation($i: AssessmentSchemeInput!) { addAssessmentScheme(input: $i) { id version referenceOnly } }";
    let sig = json!({"id": "sig-lite", "version": "2025", "nameJa": "SIG Lite", "nameEn": "SIG Lite", "referenceOnly": true, "criteria": [{"id": "A.1", "weight": 1.0}, {"id": "A.2", "weight": 2.0}]});
    assert_eq!(hub.gql_error(&t1, add, json!({"i": sig})).0, "FORBIDDEN");
    assert_eq!(hub.gql(&tc, add, json!({"i": sig}))["addAssessmentScheme"]["referenceOnly"], true);
    assert_eq!(hub.gql_error(&tc, add, json!({"i": sig})).0, "DUPLICATE_SCHEME");
    let mut copied = sig.clone();
    copied["version"] = json!("2026");
    copied["criteria"][0]["textEn"] = json!("copied question text");
    assert_eq!(
        hub.gql_error(&tc, add, json!({"i": copied})).0,
        "INVALID_SCHEME",
        "reference-only schemes keep no text"
    );
    let mut twice = sig.clone();
    twice["version"] = json!("2027");
    twice["criteria"][1]["id"] = json!("A.1");
    assert_eq!(hub.gql_error(&tc, add, json!({"i": twice})).0, "INVALID_SCHEME");
    assert_eq!(hub.gql(&t1, q, json!({}))["assessmentSchemes"].as_array().map(Vec::len), Some(2));
}

#[test]
fn supplier_registry_on_postgres() {
    registry(Backend::Postgres);
}

#[test]
fn supplier_registry_on_sqlite() {
    registry(Backend::Sqlite);
}
