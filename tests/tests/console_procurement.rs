//! The console's procurement pages (handbook 6.4): suppliers compared side by side, a
//! supplier's supply chain, and the assessment form, on a real hub. What each viewer
//! sees comes from the assessments it may read: a TLP:RED assessment never shows on
//! another organisation's pages, a hidden supplier answers like a missing one, and a
//! subcontractor the viewer may not see is drawn without its name.

use renkei_e2e::console::{ConsoleClient, Page};
use renkei_e2e::{handbook_assessment, Backend, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

const ADD: &str = "mutation($i: SupplierInput!) { addSupplier(input: $i) { id } }";
const OFFER: &str = "mutation($i: OfferingInput!) { addOffering(input: $i) { id } }";
const SUBMIT: &str =
    "mutation($i: AssessmentInput!, $s: SharingInput!) { submitAssessment(input: $i, sharing: $s) { id status } }";
const SCRIPT: &str = "<script>alert(1)</script>";
const EVIDENCE: &str = "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08";

struct World {
    hub: TestHub,
    m1: String,
    /// Member One's procurement team.
    tp: String,
    /// Member Two's analyst.
    t2: String,
    /// Member Three's procurement team.
    t3: String,
    /// Toyota: the supplier assessed well.
    a: String,
    /// A second supplier, assessed poorly.
    b: String,
    /// A supplier whose names are markup.
    x: String,
    /// Member Two's proposal: only it and the coordinators see it.
    p: String,
}

fn add_supplier(hub: &TestHub, token: &str, input: Value) -> String {
    hub.gql(token, ADD, json!({"i": input}))["addSupplier"]["id"].as_str().expect("supplier id").to_string()
}

fn add_offering(hub: &TestHub, token: &str, supplier: &str, name: &str, kind: &str, subs: &[&str]) -> String {
    let input = json!({"supplierId": supplier, "name": name, "kind": kind, "subcontractorIds": subs});
    hub.gql(token, OFFER, json!({"i": input}))["addOffering"]["id"].as_str().expect("offering id").to_string()
}

/// Suppliers A (all criteria 4) and B (all 1) assessed GREEN by Member Two; a chain
/// A → B → X → A (a loop), and A → P (a proposal others may not see).
fn world(backend: Backend) -> World {
    let hub = TestHub::start(backend);
    let m1 = hub.add_org("Member One", false);
    let m2 = hub.add_org("Member Two", false);
    let m3 = hub.add_org("Member Three", false);
    let coord = hub.add_org("Secretariat", true);
    let (tp, t2, t3, tc) = (
        hub.token(&m1, Role::Procurement),
        hub.token(&m2, Role::Analyst),
        hub.token(&m3, Role::Procurement),
        hub.token(&coord, Role::Coordinator),
    );
    let a = add_supplier(
        &hub,
        &tc,
        json!({"legalName": "Toyota Motor Corporation", "nameJa": "トヨタ自動車株式会社", "nameEn": "Toyota Motor", "corporateNumber": "1180301018771", "country": "JP"}),
    );
    let b = add_supplier(
        &hub,
        &tc,
        json!({"legalName": "Kanto Control Systems Ltd", "nameJa": "関東制御システム株式会社", "nameEn": "Kanto Control Systems", "country": "JP"}),
    );
    let x = add_supplier(
        &hub,
        &tc,
        json!({"legalName": format!("{SCRIPT} Ltd"), "nameJa": format!("{SCRIPT}株式会社"), "nameEn": format!("{SCRIPT} Ltd"), "country": "JP"}),
    );
    let p = add_supplier(
        &hub,
        &t2,
        json!({"legalName": "Secret Subcontractor KK", "nameJa": "秘密の再委託先株式会社", "nameEn": "Secret Subcontractor", "country": "JP"}),
    );
    add_offering(&hub, &tc, &a, "Plant controller", "OT_DEVICE", &[&b, &p]);
    add_offering(&hub, &tc, &b, "Controller firmware", "SOFTWARE", &[&x]);
    add_offering(&hub, &tc, &x, "Hosting", "CLOUD_SERVICE", &[&a]);
    for (supplier, answer) in [(&a, 4), (&b, 1)] {
        let input = handbook_assessment(supplier, &[], "QUESTIONNAIRE_REVIEWED", answer);
        let shared = hub.gql(&t2, SUBMIT, json!({"i": input, "s": {"tlp": "GREEN"}}));
        assert_eq!(shared["submitAssessment"]["status"], "PUBLISHED");
    }
    World { hub, m1, tp, t2, t3, a, b, x, p }
}

fn client(w: &World, token: &str, lang: &str) -> ConsoleClient {
    ConsoleClient::signed_in(&w.hub, token, lang).expect("signed in")
}

fn compare_path(ids: &[&str]) -> String {
    let query: Vec<String> = ids.iter().map(|i| format!("id={i}")).collect();
    format!("/console/suppliers/compare?{}", query.join("&"))
}

/// The visible text of one element, found by its `id`, up to its end tag.
fn element_text(page: &Page, id: &str, end: &str) -> String {
    let start = page.body.find(&format!("id=\"{id}\"")).unwrap_or_else(|| panic!("no #{id} in {}", page.body));
    let rest = &page.body[start..];
    let stop = rest.find(end).map_or(rest.len(), |e| e + end.len());
    renkei_e2e::console::visible_text(&format!("<x {}", &rest[..stop]))
}

/// The score the supplier page shows.
fn shown_score(c: &mut ConsoleClient, supplier: &str) -> String {
    let page = c.get(&format!("/console/suppliers/{supplier}")).expect("supplier page");
    assert_eq!(page.status, 200, "{}", page.text());
    element_text(&page, "rating-score", "</p>")
}

/// The assessment form as a procurement team fills it in: every criterion `answer` but
/// HB64-03 not applicable, with evidence.
fn filled_form(answer: &str, tlp: Option<&str>, recipients: &[&str]) -> Vec<(String, String)> {
    let mut fields: Vec<(String, String)> = Vec::new();
    for i in 1..=11 {
        let value = if i == 3 { "na" } else { answer };
        fields.push((format!("answer-HB64-{i:02}"), value.to_string()));
    }
    fields.push(("comment-HB64-02".into(), "検査体制を現地で確認".into()));
    for (k, v) in [
        ("assessor", "member"),
        ("assessor_name", "調達部"),
        ("assurance", "technical_test"),
        ("conclusion", "ok"),
        ("observed", "2026-11-20"),
        ("evidence", &format!("{EVIDENCE} audit_report")),
    ] {
        fields.push((k.into(), v.to_string()));
    }
    if let Some(tlp) = tlp {
        fields.push(("tlp".into(), tlp.into()));
    }
    for r in recipients {
        fields.push(("recipients".into(), r.to_string()));
    }
    fields
}

fn post_form(c: &mut ConsoleClient, path: &str, fields: &[(String, String)]) -> Page {
    let borrowed: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    c.post(path, &borrowed).expect("post")
}

fn score_of(shown: &str) -> f64 {
    shown.parse().unwrap_or_else(|_| panic!("not a score: {shown:?}"))
}

fn assessments(hub: &TestHub) -> i64 {
    hub.count("assessment_subjects")
}

#[test]
fn the_comparison_shows_criteria_side_by_side_in_both_languages() {
    let w = world(Backend::Sqlite);
    let mut en = client(&w, &w.tp, "en");
    let page = en.get(&compare_path(&[&w.a, &w.b])).expect("compare");
    assert_eq!(page.status, 200, "{}", page.text());
    let text = page.text();
    for expected in
        ["Compare suppliers", "Toyota Motor", "トヨタ自動車株式会社", "Kanto Control Systems", "1180301018771"]
    {
        assert!(text.contains(expected), "{expected:?} missing: {text}");
    }
    // Rows are criteria in the page's language, columns the suppliers in the order asked.
    let row = element_text(&page, "criterion-HB64-01", "</tr>");
    assert!(row.starts_with("HB64-01 Consistent quality control throughout the procurement process"), "{row}");
    let (hundred, quarter) = (row.find(" 100 ").expect("A's value"), row.find(" 25 ").expect("B's value"));
    assert!(hundred < quarter, "A's column comes first: {row}");
    assert!(row.contains("questionnaire reviewed by a member"), "{row}");
    assert!(page.body.contains("<th scope=\"col\">"), "column headers are marked");
    let tiers = element_text(&page, "compare", "</table>");
    assert!(tiers.contains("Tier A D"), "{tiers}");

    // The same in Japanese.
    let mut ja = client(&w, &w.t3, "ja");
    let page = ja.get(&compare_path(&[&w.a, &w.b])).expect("compare ja");
    assert_eq!(page.status, 200);
    let row = element_text(&page, "criterion-HB64-01", "</tr>");
    assert!(row.contains("調達過程における一貫した品質管理が担保できることの選定基準への盛り込み"), "{row}");
    assert!(row.contains("会員が確認した質問票"), "{row}");
    assert!(page.text().contains("サプライヤーの比較"));
    assert!(page.body.contains("<html lang=\"ja\">"));

    // Adding from a search keeps the suppliers already compared.
    let page = en.get(&format!("/console/suppliers/compare?id={}&q=Kanto", w.a)).expect("search");
    assert_eq!(page.status, 200);
    let add = format!("/console/suppliers/compare?id={}&id={}", w.a, w.b);
    assert!(page.links("/console/suppliers/compare?").contains(&add), "an add link with both: {}", page.body);
    // ... or by id; duplicates count once, more than five are refused.
    let page = en.get(&format!("/console/suppliers/compare?id={}&id={}&id={}", w.a, w.a, w.b)).expect("dup");
    assert_eq!(page.status, 200);
    assert_eq!(page.body.matches("<th scope=\"col\"><a href=").count(), 2, "one column per supplier");
    let six = [w.a.as_str(), "s1", "s2", "s3", "s4", "s5"];
    assert_eq!(en.get(&compare_path(&six)).expect("six").status, 422);

    // An unknown supplier and one the viewer may not see answer alike: 404, nothing told.
    let unknown = en.get(&compare_path(&[&w.a, "supplier--00000000-0000-4000-8000-000000000000"])).expect("unknown");
    let hidden = en.get(&compare_path(&[&w.a, &w.p])).expect("hidden");
    assert_eq!((unknown.status, hidden.status), (404, 404));
    assert_eq!(unknown.text(), hidden.text());
    assert!(!hidden.body.contains("Secret") && !hidden.body.contains("秘密"));
    // Its proposer sees it.
    let mut proposer = client(&w, &w.t2, "en");
    assert_eq!(proposer.get(&compare_path(&[&w.a, &w.p])).expect("own proposal").status, 200);
}

#[test]
fn an_assessment_submitted_through_the_form_changes_the_rating_and_bad_forms_store_nothing() {
    let w = world(Backend::Sqlite);
    let mut c = client(&w, &w.tp, "en");
    let form_path = format!("/console/suppliers/{}/assess", w.b);
    let form = c.get(&form_path).expect("form");
    assert_eq!(form.status, 200, "{}", form.text());
    let text = form.text();
    assert!(text.contains("The contractor can supervise its subcontractors and answer for them"), "{text}");
    assert!(text.contains("independent certification") && text.contains("an audit or assessment firm"));
    assert!(form.body.contains("name=\"tlp\" value=\"TLP:RED\" required>"), "no label is chosen by default");
    assert!(!form.body.contains(" checked>"), "nothing is ticked by default");
    assert!(form.body.contains("<label for=\"answer-HB64-01\">"));
    let before = shown_score(&mut c, &w.b);
    assert_eq!(before, "25");

    // A bad form: an answer off the scale and no label. 422, the form again, nothing stored.
    let stored = (assessments(&w.hub), w.hub.count("objects"));
    let mut bad = filled_form("7", None, &[]);
    let page = post_form(&mut c, &form_path, &bad);
    assert_eq!(page.status, 422, "{}", page.text());
    assert!(element_text(&page, "assess-error", "</p>").contains("choose a TLP label"));
    assert!(page.body.contains("調達部") && page.body.contains("検査体制を現地で確認"), "the form is kept");
    bad.push(("tlp".into(), "TLP:GREEN".into()));
    let page = post_form(&mut c, &form_path, &bad);
    assert_eq!(page.status, 422, "{}", page.text());
    assert!(element_text(&page, "assess-error", "</p>").contains("outside the 0–4 scale"), "{}", page.text());
    assert!(page.body.contains("value=\"TLP:GREEN\" required checked"), "the label is kept");
    let mut bad_hash = filled_form("4", Some("TLP:GREEN"), &[]);
    bad_hash.retain(|(k, _)| k != "evidence");
    bad_hash.push(("evidence".into(), "not-a-hash".into()));
    assert_eq!(post_form(&mut c, &form_path, &bad_hash).status, 422);
    // In Japanese, the message is Japanese.
    let mut ja = client(&w, &w.tp, "ja");
    ja.get(&form_path).expect("form ja");
    let page = post_form(&mut ja, &form_path, &filled_form("7", None, &[]));
    assert_eq!(page.status, 422);
    assert!(element_text(&page, "assess-error", "</p>").contains("TLPラベルを選んでください"));
    // Without the session's CSRF secret: refused.
    let mut raw: Vec<(&str, &str)> = Vec::new();
    let good = filled_form("4", Some("TLP:GREEN"), &[]);
    raw.extend(good.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let refused = c.post_raw(&form_path, &raw).expect("no csrf");
    assert_eq!(refused.status, 403, "{}", refused.text());
    raw.push(("csrf", "0000"));
    assert_eq!(c.post_raw(&form_path, &raw).expect("wrong csrf").status, 403);
    assert_eq!((assessments(&w.hub), w.hub.count("objects")), stored, "nothing stored");

    // A good form: shared, back to the supplier page, which now shows the new rating
    // (a technical test outranks the questionnaire on every criterion it answers).
    c.get(&form_path).expect("form");
    let done = post_form(&mut c, &form_path, &good);
    assert_eq!(done.status, 303, "{}", done.text());
    assert_eq!(done.location.as_deref(), Some(format!("/console/suppliers/{}", w.b).as_str()));
    assert_eq!(assessments(&w.hub), stored.0 + 1);
    assert!(score_of(&shown_score(&mut c, &w.b)) > 90.0);
    // Through the same path as GraphQL: the assessment is there, as submitted.
    let q = "query($id: ID!) { supplier(id: $id) { assessments { assurance tlp results { criterion answer notApplicable comment evidence { sha256 kind } } } } }";
    let data = w.hub.gql(&w.tp, q, json!({"id": w.b}));
    let newest = data["supplier"]["assessments"].as_array().and_then(|a| a.last()).cloned().expect("assessment");
    assert_eq!(newest["assurance"], "TECHNICAL_TEST");
    assert_eq!(newest["results"][2]["notApplicable"], true);
    assert_eq!(newest["results"][1]["comment"], "検査体制を現地で確認");
    assert_eq!(newest["results"][0]["evidence"][0]["sha256"], EVIDENCE.to_ascii_lowercase());

    // A supplier the viewer may not see: the form answers 404, like a missing one.
    assert_eq!(c.get(&format!("/console/suppliers/{}/assess", w.p)).expect("hidden").status, 404);
    assert_eq!(post_form(&mut c, &format!("/console/suppliers/{}/assess", w.p), &good).status, 404);
}

/// The leak check: a TLP:RED assessment for Member One changes Member One's comparison,
/// never Member Three's.
#[test]
fn a_red_assessment_does_not_change_what_another_organisation_compares() {
    let w = world(Backend::Sqlite);
    let path = compare_path(&[&w.a, &w.b]);
    let mut other = client(&w, &w.t3, "en");
    let mut named = client(&w, &w.tp, "en");
    let other_before = other.get(&path).expect("compare").text();
    let named_before = named.get(&path).expect("compare").text();
    assert_eq!(other_before, named_before, "the same GREEN assessments for both");

    // Member Two's analyst shares an on-site test of A, every criterion 0, RED to Member One.
    let mut analyst = client(&w, &w.t2, "en");
    let form_path = format!("/console/suppliers/{}/assess", w.a);
    analyst.get(&form_path).expect("form");
    let done = post_form(&mut analyst, &form_path, &filled_form("0", Some("TLP:RED"), &[&w.m1]));
    assert_eq!(done.status, 303, "{}", done.text());

    let other_after = other.get(&path).expect("compare").text();
    assert_eq!(other_before, other_after, "Member Three's comparison is unchanged");
    assert!(!other.get(&format!("/console/suppliers/{}", w.a)).expect("page").body.contains("TLP:RED"));
    let named_after = named.get(&path).expect("compare").text();
    assert_ne!(named_before, named_after, "Member One's comparison reflects what it may read");
    let page = named.get(&path).expect("compare");
    let row = element_text(&page, "criterion-HB64-01", "</tr>");
    assert!(row.contains("technical test or visit"), "{row}");
}

#[test]
fn the_chain_lists_subcontractors_and_hides_those_the_viewer_may_not_see() {
    let w = world(Backend::Sqlite);
    let mut c = client(&w, &w.tp, "en");
    let page = c.get(&format!("/console/suppliers/{}/chain", w.a)).expect("chain");
    assert_eq!(page.status, 200, "{}", page.text());
    let list = element_text(&page, "chain-list", "</div>");
    for expected in [
        "Toyota Motor",
        "Plant controller",
        "OT device",
        "Kanto Control Systems",
        "Controller firmware",
        &format!("{SCRIPT} Ltd"),
        "Hosting",
        "Not visible to you",
        "loops back to a supplier above",
    ] {
        assert!(list.contains(expected), "{expected:?} missing from the list: {list}");
    }
    // The proposal is drawn without its name, anywhere on the page.
    for secret in ["Secret", "秘密", &w.p] {
        assert!(!page.body.contains(secret), "{secret} leaked");
    }
    // The graph: an image with its title, a box per entry.
    assert!(page.body.contains("<svg") && page.body.contains("role=\"img\""));
    assert!(page.body.contains("<title id=\"chain-title\">"));
    assert!(page.body.matches("<rect").count() >= 7, "{}", page.body);
    assert!(page.body.contains("class=\"node hidden\""));
    assert!(page.links("/console/suppliers/").iter().any(|l| l == &format!("/console/suppliers/{}", w.b)));
    // Its proposer sees the subcontractor by name.
    let mut proposer = client(&w, &w.t2, "ja");
    let page = proposer.get(&format!("/console/suppliers/{}/chain", w.a)).expect("chain");
    assert_eq!(page.status, 200);
    assert!(element_text(&page, "chain-list", "</div>").contains("秘密の再委託先株式会社"));
    assert!(page.text().contains("サプライチェーン"));
    // A hidden or unknown supplier's chain: 404 alike.
    let hidden = c.get(&format!("/console/suppliers/{}/chain", w.p)).expect("hidden");
    let unknown = c.get("/console/suppliers/supplier--00000000-0000-4000-8000-000000000000/chain").expect("unknown");
    assert_eq!((hidden.status, unknown.status), (404, 404));
    assert_eq!(hidden.text(), unknown.text());
}

#[test]
fn supplier_names_with_markup_are_escaped_on_every_page() {
    let w = world(Backend::Sqlite);
    let mut c = client(&w, &w.tp, "en");
    let paths = [
        compare_path(&[&w.x, &w.a]),
        format!("/console/suppliers/{}/chain", w.x),
        format!("/console/suppliers/{}/chain", w.b),
        format!("/console/suppliers/{}/assess", w.x),
        format!("/console/suppliers/compare?q=script&id={}", w.a),
    ];
    for path in paths {
        let page = c.get(&path).expect("page");
        assert_eq!(page.status, 200, "{path}: {}", page.text());
        assert!(!page.body.contains(SCRIPT), "{path} shows the name unescaped");
        assert!(page.text().contains(SCRIPT), "{path} shows the name (escaped): {}", page.text());
        let csp = page.headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
    }
}

/// The same on PostgreSQL: comparison, the form, and the rating it changes.
#[test]
fn procurement_pages_on_postgres() {
    let w = world(Backend::Postgres);
    let mut c = client(&w, &w.t3, "ja");
    let page = c.get(&compare_path(&[&w.a, &w.b])).expect("compare");
    assert_eq!(page.status, 200, "{}", page.text());
    let row = element_text(&page, "criterion-HB64-11", "</tr>");
    assert!(row.contains("サプライチェーンとのネットワーク接続点におけるセキュリティの確認"), "{row}");
    let form_path = format!("/console/suppliers/{}/assess", w.b);
    c.get(&form_path).expect("form");
    let stored = assessments(&w.hub);
    assert_eq!(post_form(&mut c, &form_path, &filled_form("7", None, &[])).status, 422);
    assert_eq!(assessments(&w.hub), stored);
    let done = post_form(&mut c, &form_path, &filled_form("4", Some("TLP:AMBER"), &[]));
    assert_eq!(done.status, 303, "{}", done.text());
    let after = shown_score(&mut c, &w.b);
    assert!(score_of(&after) > 90.0, "{after}");
    // AMBER reaches every member organisation: Member One sees the same.
    let mut one = client(&w, &w.tp, "en");
    assert_eq!(shown_score(&mut one, &w.b), after);
    let chain = one.get(&format!("/console/suppliers/{}/chain", w.a)).expect("chain");
    assert!(element_text(&chain, "chain-list", "</div>").contains("Not visible to you"));
}
