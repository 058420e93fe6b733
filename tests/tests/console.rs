//! The web console over plain HTTP (the browser tests drive the same pages in
//! Chromium): the TLP leak matrix replayed through the console's pages, escaping,
//! CSRF, sessions (idle and absolute expiry, sign-out, revoked tokens), second factors,
//! moderation end to end, and the language switch.

use renkei_e2e::console::{token_id, totp_now, ConsoleClient, Page};
use renkei_e2e::{Backend, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};

const SHARE: &str = "mutation($input: [IndicatorInput!]!, $sharing: SharingInput!) { shareIndicators(input: $input, sharing: $sharing) { id } }";

fn share(hub: &TestHub, token: &str, value: &str, sharing: Value) -> String {
    let data = hub.gql(token, SHARE, json!({"input": [{"type": "IPV4", "value": value}], "sharing": sharing}));
    data["shareIndicators"][0]["id"].as_str().expect("id").to_string()
}

/// What the API shows a viewer of an item: whether `node` answers it, and the submitter
/// it names.
fn api_view(hub: &TestHub, token: &str, id: &str) -> Option<Option<String>> {
    let data = hub.gql(
        token,
        "query($id: ID!) { node(id: $id) { ... on Indicator { createdBy { name } } ... on Technique { createdBy { name } } ... on SupplierAssessment { createdBy { name } } } }",
        json!({"id": id}),
    );
    if data["node"].is_null() {
        return None;
    }
    Some(data["node"]["createdBy"]["name"].as_str().map(str::to_string))
}

fn api_lookup(hub: &TestHub, token: &str, values: &[&str]) -> BTreeSet<String> {
    let data = hub.gql(token, "query($v: [String!]!) { lookup(values: $v) { matches { id } } }", json!({"v": values}));
    data["lookup"]
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|r| r["matches"].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m["id"].as_str().map(str::to_string))
        .collect()
}

/// The item ids a console page links to.
fn linked_items(page: &Page) -> BTreeSet<String> {
    page.links("/console/items/").iter().map(|l| l.trim_start_matches("/console/items/").to_string()).collect()
}

fn leak_matrix(backend: Backend) {
    let hub = TestHub::start(backend);
    let coord_org = hub.add_org("Sector ISAC secretariat", true);
    let m1 = hub.add_org("Member One Power", false);
    let m2 = hub.add_org("Member Two Gas", false);
    let m3 = hub.add_org("Member Three Water", false);
    let m4 = hub.add_org_trusted("Member Four Rail", false, renkei_hub::services::moderation::Trust::New);
    let tokens: BTreeMap<&str, String> = [
        ("C", hub.token(&coord_org, Role::Coordinator)),
        ("M1", hub.token(&m1, Role::Analyst)),
        ("M2", hub.token(&m2, Role::Analyst)),
        ("M3", hub.token(&m3, Role::Analyst)),
        ("M4", hub.token(&m4, Role::Analyst)),
        ("P1", hub.token(&m1, Role::Procurement)),
    ]
    .into();
    let t = |n: &str| tokens[n].clone();
    let mut items = Vec::new();
    let mut values = Vec::new();
    for (i, tlp) in ["CLEAR", "GREEN", "AMBER", "AMBER_STRICT"].iter().enumerate() {
        let v = format!("198.51.100.{}", i + 1);
        items.push(share(&hub, &t("M1"), &v, json!({"tlp": tlp})));
        values.push(v);
    }
    items.push(share(&hub, &t("M1"), "198.51.100.10", json!({"tlp": "RED", "recipients": [m2]})));
    values.push("198.51.100.10".into());
    items.push(share(&hub, &t("M3"), "203.0.113.1", json!({"tlp": "GREEN", "anonymous": true})));
    values.push("203.0.113.1".into());
    items.push(share(&hub, &t("M3"), "203.0.113.2", json!({"tlp": "RED", "recipients": [m2], "anonymous": true})));
    values.push("203.0.113.2".into());
    // Member Four is new: queued; one rejected by the coordinator.
    items.push(share(&hub, &t("M4"), "192.0.2.41", json!({"tlp": "GREEN"})));
    values.push("192.0.2.41".into());
    let rejected = share(&hub, &t("M4"), "192.0.2.43", json!({"tlp": "GREEN"}));
    values.push("192.0.2.43".into());
    hub.gql(
        &t("C"),
        "mutation($id: ID!) { reject(id: $id, reason: \"not relevant\") { __typename } }",
        json!({"id": rejected}),
    );
    items.push(rejected);
    let tech = hub.gql(
        &t("M1"),
        "mutation($r: [ID!]!) { shareTechnique(input: {attackId: \"T1566.001\", name: \"Spearphishing Attachment\", narrative: \"invoice lure\"}, sharing: {tlp: RED, recipients: $r}) { id } }",
        json!({"r": [m3]}),
    );
    items.push(tech["shareTechnique"]["id"].as_str().expect("id").to_string());
    // A supplier assessed GREEN by one member and TLP:RED (to Member Two only) by
    // another: each viewer's rating is computed from what it may read.
    let supplier = hub.gql(
        &t("C"),
        "mutation($i: SupplierInput!) { addSupplier(input: $i) { id } }",
        json!({"i": {"legalName": "Kita Keiki K.K.", "nameJa": "北計器株式会社", "country": "JP"}}),
    )["addSupplier"]["id"]
        .as_str()
        .expect("supplier")
        .to_string();
    let submit =
        "mutation($i: AssessmentInput!, $s: SharingInput!) { submitAssessment(input: $i, sharing: $s) { id } }";
    for (who, assurance, answer, sharing) in [
        ("P1", "QUESTIONNAIRE_REVIEWED", 4, json!({"tlp": "GREEN"})),
        ("M3", "TECHNICAL_TEST", 0, json!({"tlp": "RED", "recipients": [m2]})),
    ] {
        let done = hub.gql(
            &t(who),
            submit,
            json!({"i": renkei_e2e::handbook_assessment(&supplier, &[], assurance, answer), "s": sharing}),
        );
        items.push(done["submitAssessment"]["id"].as_str().expect("assessment").to_string());
    }
    let missing = "indicator--00000000-0000-4000-8000-000000000000".to_string();
    let mut scores = BTreeSet::new();
    // How often each case came up: the matrix must exercise all three.
    let (mut shown, mut hidden, mut withheld) = (0, 0, 0);

    for (name, token) in &tokens {
        let mut console = if *name == "C" {
            ConsoleClient::enrolled(&hub, token, "en").expect("coordinator enrolled").0
        } else {
            ConsoleClient::signed_in(&hub, token, "en").expect("signed in")
        };
        let missing_page = console.get(&format!("/console/items/{missing}")).expect("missing");
        assert_eq!(missing_page.status, 404, "{name}");
        for id in &items {
            let page = console.get(&format!("/console/items/{id}")).expect("item");
            // Procurement reads no indicators through the API either (FORBIDDEN there).
            let api = if *name == "P1" && id.starts_with("indicator--") { None } else { api_view(&hub, token, id) };
            match api {
                Some(submitter) => {
                    shown += 1;
                    withheld += usize::from(submitter.is_none());
                    assert_eq!(page.status, 200, "{name} should read {id}: {}", page.text());
                    let shown = page.text();
                    match submitter {
                        Some(org) => assert!(shown.contains(&format!("Shared by {org}")), "{name} {id}: {shown}"),
                        None => assert!(
                            shown.contains("Shared by (withheld)"),
                            "{name} {id} names a withheld submitter: {shown}"
                        ),
                    }
                }
                None => {
                    hidden += 1;
                    // A hidden item answers exactly like a missing one.
                    assert_eq!(page.status, 404, "{name} must not read {id}");
                    assert_eq!(page.body, missing_page.body, "{name}: {id} answers unlike a missing item");
                }
            }
        }
        // The supplier page shows the rating the API computes for this viewer.
        let api = hub.gql(token, "query($id: ID!) { supplier(id: $id) { rating { score } } }", json!({"id": supplier}));
        let api_score =
            api["supplier"]["rating"]["score"].as_f64().map_or_else(|| "—".to_string(), |s| format!("{s:.0}"));
        let page = console.get(&format!("/console/suppliers/{supplier}")).expect("supplier");
        assert_eq!(page.status, 200);
        let shown = page.body.split("id=\"rating-score\">").nth(1).and_then(|s| s.split('<').next()).expect("score");
        assert_eq!(shown, api_score, "{name}: the console's rating differs from the API's");
        scores.insert(api_score);
        if *name != "P1" {
            let refs: Vec<&str> = values.iter().map(String::as_str).collect();
            let query: String = refs.join("\n");
            let page = console
                .get(&format!("/console/search?q={}", renkei_e2e::console::form_encode(&query)))
                .expect("search");
            assert_eq!(page.status, 200);
            let api = api_lookup(&hub, token, &refs);
            assert_eq!(linked_items(&page), api, "{name}: the search lists other items than the lookup");
            let matched = page.text();
            assert!(
                matched.contains(&format!("{} value", api.len())),
                "{name}: the count differs from the API's: {matched}"
            );
        } else {
            let page = console.get("/console/search?q=198.51.100.1").expect("search");
            assert_eq!(page.status, 403, "procurement reads no indicators in the console either");
        }
        if *name == "C" {
            // The dashboard counts only what the coordinator reads (RED items it is not
            // named on are listed by existence only, never counted by label).
            let dash = console.get("/console/dashboard").expect("dashboard");
            assert_eq!(dash.status, 200);
            let readable = items.iter().filter(|id| api_view(&hub, token, id).is_some()).count();
            let text = dash.text();
            let counted: i64 = text
                .split("TLP:")
                .skip(1)
                .filter_map(|piece| piece.split_whitespace().nth(1).and_then(|n| n.parse::<i64>().ok()))
                .sum();
            assert_eq!(counted as usize, readable, "dashboard counts: {text}");
            // Rating changes: exactly those the API tells the coordinator of.
            let api = hub.gql(
                token,
                "query($id: ID!) { supplier(id: $id) { ratingHistory { id } } }",
                json!({"id": supplier}),
            );
            let told = api["supplier"]["ratingHistory"].as_array().map_or(0, Vec::len);
            let rows = dash
                .body
                .split("id=\"rating-changes\"")
                .nth(1)
                .map_or(0, |t| t.split("</table>").next().unwrap_or("").matches("<tr>").count().saturating_sub(1));
            assert!(told > 0, "the GREEN assessment changed everyone's rating");
            assert_eq!(rows, told, "the dashboard lists other rating changes than the API");
            let queue = console.get("/console/moderation").expect("queue");
            let restricted = queue.text();
            for id in &items {
                let red = id == &items[4] || id == &items[6] || id.starts_with("technique--");
                if red {
                    assert!(restricted.contains(id.as_str()), "the coordinator learns a RED item exists: {id}");
                }
            }
        }
    }
    assert!(
        shown > 20 && hidden > 10 && withheld > 3,
        "the matrix missed a case: {shown} shown, {hidden} hidden, {withheld} withheld"
    );
}

#[test]
fn the_console_shows_each_viewer_what_the_api_shows_sqlite() {
    leak_matrix(Backend::Sqlite);
}

#[test]
fn the_console_shows_each_viewer_what_the_api_shows_postgres() {
    leak_matrix(Backend::Postgres);
}

#[test]
fn pages_escape_what_members_wrote_and_carry_the_security_headers() {
    let hub = TestHub::start(Backend::Sqlite);
    let org = hub.add_org("Member One Power", false);
    let token = hub.token(&org, Role::Analyst);
    let payload = "<script>alert(1)</script><img src=x onerror=alert(2)>\"'";
    let data = hub.gql(
        &token,
        "mutation($n: String!) { shareTechnique(input: {attackId: \"T0866\", name: \"Exploitation of Remote Services\", narrative: $n}, sharing: {tlp: GREEN}) { id } }",
        json!({"n": payload}),
    );
    let id = data["shareTechnique"]["id"].as_str().expect("id");
    let mut console = ConsoleClient::signed_in(&hub, &token, "en").expect("signed in");
    let page = console.get(&format!("/console/items/{id}")).expect("item");
    assert_eq!(page.status, 200);
    assert!(!page.body.contains("<script"), "a script tag reached the page");
    assert!(!page.body.contains("<img"), "an element from the narrative reached the page");
    assert!(
        page.body.contains("&#60;script&#62;alert(1)&#60;/script&#62;")
            || page.body.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the narrative is not shown as text"
    );
    assert!(page.text().contains(payload), "the narrative reads as written");
    for path in ["/console/sign-in", &format!("/console/items/{id}"), "/console/nowhere", "/console/search"] {
        let page = console.get(path).expect("page");
        let csp = page.headers.get("content-security-policy").and_then(|v| v.to_str().ok()).unwrap_or_default();
        assert!(csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"), "{path}: {csp}");
        assert!(!csp.contains("unsafe-inline"), "{path}");
        assert_eq!(page.headers.get("x-frame-options").and_then(|v| v.to_str().ok()), Some("DENY"), "{path}");
    }
    // Forms without the session's CSRF secret change nothing.
    let before = hub.count("objects");
    let refused = console.post_raw("/console/share", &[("values", "192.0.2.200"), ("tlp", "TLP:GREEN")]).expect("post");
    assert_eq!(refused.status, 403);
    assert!(refused.text().contains("CSRF_REFUSED"), "{}", refused.text());
    let forged = console
        .post_raw("/console/share", &[("csrf", "0000"), ("values", "192.0.2.200"), ("tlp", "TLP:GREEN")])
        .expect("post");
    assert_eq!(forged.status, 403);
    assert_eq!(hub.count("objects"), before, "a refused form stored something");
    // Sign-in without the form's own cookie (a login CSRF) is refused.
    let mut stranger = ConsoleClient::new(&hub, "en");
    let login = stranger.post_raw("/console/sign-in", &[("token", &token), ("pre", "abc")]).expect("post");
    assert_eq!(login.status, 403);
    assert!(stranger.session_cookie().is_none());
    // A bad list is refused as a whole, naming the line.
    let bad = console
        .post("/console/share", &[("values", "192.0.2.201\nnot-an-indicator"), ("tlp", "TLP:GREEN")])
        .expect("post");
    assert_eq!(bad.status, 422, "{}", bad.text());
    assert!(bad.text().contains("#2"), "{}", bad.text());
    assert_eq!(hub.count("objects"), before, "half a list was stored");
    // No label chosen: refused, nothing stored.
    let unlabelled = console.post("/console/share", &[("values", "192.0.2.201")]).expect("post");
    assert_eq!(unlabelled.status, 422);
    assert_eq!(hub.count("objects"), before);
    // Peers have no console.
    let peer_org = hub.add_org("Peer link", false);
    let peer = hub.token(&peer_org, Role::Peer);
    let answer = ConsoleClient::new(&hub, "en").sign_in(&peer).expect("post");
    assert_eq!(answer.status, 403, "{}", answer.text());
}

#[test]
fn sessions_end_when_idle_at_sign_out_and_with_their_token() {
    let hub = TestHub::start_with(Backend::Sqlite, |c| {
        c.console.idle_seconds = 2;
        c.console.absolute_seconds = 3600;
    });
    let org = hub.add_org("Member One Power", false);
    let token = hub.token(&org, Role::Analyst);
    // Idle: a GET goes to the sign-in page, a form gets SESSION_EXPIRED.
    let mut console = ConsoleClient::signed_in(&hub, &token, "en").expect("signed in");
    assert_eq!(console.get("/console/share").expect("share").status, 200);
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let page = console.get("/console/share").expect("share");
    assert_eq!((page.status, page.location.as_deref()), (303, Some("/console/sign-in")));
    let form = console.post("/console/share", &[("values", "192.0.2.9"), ("tlp", "TLP:GREEN")]).expect("post");
    assert_eq!(form.status, 401);
    assert!(form.text().contains("SESSION_EXPIRED"));
    // A session nobody comes back to is swept at the next sign-in.
    let _abandoned = ConsoleClient::signed_in(&hub, &token, "en").expect("signed in");
    std::thread::sleep(std::time::Duration::from_millis(2500));
    let _fresh = ConsoleClient::signed_in(&hub, &token, "en").expect("signed in");
    assert_eq!(hub.count("console_sessions"), 1, "the abandoned session was kept");
    // Sign-out: the old cookie opens nothing.
    let mut console = ConsoleClient::signed_in(&hub, &token, "en").expect("signed in");
    let cookie = console.session_cookie().expect("cookie").to_string();
    let out = console.post("/console/sign-out", &[]).expect("sign out");
    assert_eq!(out.location.as_deref(), Some("/console/sign-in"));
    console.set_cookie("renkei_session", Some(&cookie));
    assert_eq!(console.get("/console/share").expect("share").status, 303);
    // A revoked token ends its sessions.
    let mut console = ConsoleClient::signed_in(&hub, &token, "en").expect("signed in");
    hub.db(|c| renkei_hub::services::directory::revoke_token(c, &hub.hub.keys, token_id(&token))).expect("revoke");
    assert_eq!(console.get("/console/share").expect("share").status, 303);
    // Absolute expiry.
    let hub = TestHub::start_with(Backend::Sqlite, |c| {
        c.console.idle_seconds = 1;
        c.console.absolute_seconds = 1;
    });
    let org = hub.add_org("Member One Power", false);
    let token = hub.token(&org, Role::Analyst);
    let mut console = ConsoleClient::signed_in(&hub, &token, "en").expect("signed in");
    std::thread::sleep(std::time::Duration::from_millis(1200));
    assert_eq!(console.get("/console/share").expect("share").status, 303);
}

#[test]
fn coordinators_sign_in_with_a_second_factor() {
    let hub = TestHub::start(Backend::Sqlite);
    let coord = hub.add_org("Sector ISAC secretariat", true);
    let token = hub.token(&coord, Role::Coordinator);
    // Without a factor and without the one-time code, nothing but the enrolment page.
    let mut console = ConsoleClient::new(&hub, "en");
    let answer = console.sign_in(&token).expect("sign in");
    assert_eq!(answer.location.as_deref(), Some("/console/enrol"));
    assert_eq!(console.get("/console/dashboard").expect("dash").location.as_deref(), Some("/console/enrol"));
    let page = console.get("/console/enrol").expect("enrol");
    let secret =
        page.body.split("id=\"totp-secret\">").nth(1).and_then(|s| s.split('<').next()).expect("secret").to_string();
    let code = totp_now(&secret).expect("code");
    let wrong = console
        .post(
            "/console/enrol/totp",
            &[("enrolment_code", "AAAAAAAAAAAAAAAA"), ("secret", &secret), ("code", &code), ("label", "x")],
        )
        .expect("post");
    assert_eq!(wrong.status, 422, "a wrong enrolment code is refused");
    assert_eq!(console.get("/console/dashboard").expect("dash").location.as_deref(), Some("/console/enrol"));
    // Enrolled (with the code), then a later sign-in asks for the factor.
    let (mut first, secret) = ConsoleClient::enrolled(&hub, &token, "en").expect("enrolled");
    let before = first.session_cookie().map(str::to_string);
    assert_eq!(first.get("/console/dashboard").expect("dash").status, 200);
    let mut later = ConsoleClient::new(&hub, "en");
    let answer = later.sign_in(&token).expect("sign in");
    assert_eq!(answer.location.as_deref(), Some("/console/second-factor"));
    assert_eq!(later.get("/console/dashboard").expect("dash").location.as_deref(), Some("/console/second-factor"));
    let form = later.get("/console/second-factor").expect("form");
    assert_eq!(form.status, 200);
    let pre_factor = later.session_cookie().map(str::to_string);
    let bad = later.post("/console/second-factor/totp", &[("code", "000000")]).expect("post");
    assert_eq!(bad.status, 401);
    assert_eq!(later.get("/console/dashboard").expect("dash").status, 303);
    // The step the enrolment used is spent: wait for the next one.
    let used = totp_now(&secret).expect("code");
    let code = loop {
        let code = totp_now(&secret).expect("code");
        if code != used {
            break code;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let good = later.post("/console/second-factor/totp", &[("code", &code)]).expect("post");
    assert_eq!(good.status, 303, "{}", good.text());
    assert_ne!(
        later.session_cookie().map(str::to_string),
        pre_factor,
        "the session id changes once the factor is shown"
    );
    assert_eq!(later.get("/console/dashboard").expect("dash").status, 200);
    // The same code again (a replay) is refused.
    let mut replay = ConsoleClient::new(&hub, "en");
    replay.sign_in(&token).expect("sign in");
    replay.get("/console/second-factor").expect("form");
    assert_eq!(replay.post("/console/second-factor/totp", &[("code", &code)]).expect("post").status, 401);
    assert!(before.is_some());
}

#[test]
fn a_coordinator_moderates_and_the_submitter_sees_both_outcomes() {
    let hub = TestHub::start(Backend::Sqlite);
    let coord = hub.add_org("Sector ISAC secretariat", true);
    let newcomer = hub.add_org_trusted("Member Four Rail", false, renkei_hub::services::moderation::Trust::New);
    let member = hub.token(&newcomer, Role::Analyst);
    let mut submitter = ConsoleClient::signed_in(&hub, &member, "en").expect("member");
    submitter.get("/console/share").expect("form");
    let fields = [
        ("values", "192.0.2.61\nhxxp://bad[.]example/drop"),
        ("tlp", "TLP:AMBER"),
        ("description", "seen at Kanto Substation 3"),
    ];
    // First the summary: what, under which label, who reads it, that a coordinator
    // reviews it first; nothing stored yet.
    let before = hub.count("objects");
    let summary = submitter.post("/console/share", &fields).expect("review");
    assert_eq!(summary.status, 200, "{}", summary.text());
    let said = summary.text();
    assert!(
        said.contains("2 items") && said.contains("TLP:AMBER") && said.contains("A coordinator reviews it"),
        "{said}"
    );
    assert!(said.contains("http://bad.example/drop"), "the refanged value is shown: {said}");
    assert_eq!(hub.count("objects"), before, "the summary stored something");
    let mut confirmed = fields.to_vec();
    confirmed.push(("action", "confirm"));
    let shared = submitter.post("/console/share", &confirmed).expect("share");
    assert_eq!(shared.location.as_deref(), Some("/console/submissions?shared=1"), "{}", shared.text());
    let mine = submitter.get("/console/submissions").expect("mine");
    assert_eq!(mine.text().matches("Pending review").count(), 2, "{}", mine.text());

    let (mut coordinator, _) =
        ConsoleClient::enrolled(&hub, &hub.token(&coord, Role::Coordinator), "en").expect("coord");
    let queue = coordinator.get("/console/moderation").expect("queue");
    let entries = queue.links("/console/moderation/");
    assert_eq!(entries.len(), 2, "{}", queue.text());
    // Approve the first with a redaction, previewed first.
    let item = coordinator.get(&entries[0]).expect("item");
    assert!(item.text().contains("Kanto Substation 3"));
    let revision = item
        .body
        .split("name=\"revision\" value=\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("revision")
        .to_string();
    let preview = coordinator
        .post(&entries[0], &[("action", "preview"), ("revision", &revision), ("redact", "Kanto Substation 3")])
        .expect("preview");
    assert_eq!(preview.status, 200, "{}", preview.text());
    let shown = preview.body.split("id=\"preview\"").nth(1).expect("preview section");
    assert!(
        shown.contains("[REDACTED]") && !shown.split("</section>").next().unwrap_or("").contains("Kanto Substation 3")
    );
    assert_eq!(
        hub.gql(
            &member,
            "query($id: ID!) { node(id: $id) { ... on Indicator { status } } }",
            json!({"id": entries[0].trim_start_matches("/console/moderation/")})
        )["node"]["status"],
        json!("PENDING"),
        "a preview saves nothing"
    );
    let approved = coordinator
        .post(&entries[0], &[("action", "approve"), ("revision", &revision), ("redact", "Kanto Substation 3")])
        .expect("approve");
    assert_eq!(approved.location.as_deref(), Some("/console/moderation?decided=approved"), "{}", approved.text());
    coordinator.get(&entries[1]).expect("item");
    let rejected = coordinator
        .post(&entries[1], &[("action", "reject"), ("reason", "out of scope for this ISAC")])
        .expect("reject");
    assert_eq!(rejected.location.as_deref(), Some("/console/moderation?decided=rejected"), "{}", rejected.text());
    // A rejection needs a reason.
    let mine = submitter.get("/console/submissions").expect("mine").text();
    assert!(
        mine.contains("Published") && mine.contains("Rejected") && mine.contains("out of scope for this ISAC"),
        "{mine}"
    );
    let approved_id = entries[0].trim_start_matches("/console/moderation/");
    let page = submitter.get(&format!("/console/items/{approved_id}")).expect("item").text();
    assert!(page.contains("[REDACTED]") && !page.contains("Kanto Substation 3"), "{page}");
}

/// Every message of the English page is gone from the Japanese one (data aside), and the
/// switch keeps the person where they were.
#[test]
fn the_language_switch_changes_every_visible_string() {
    let hub = TestHub::start(Backend::Sqlite);
    let org = hub.add_org("Member One Power", false);
    let token = hub.token(&org, Role::Analyst);
    let english: Vec<String> = include_str!("../../hub/console/i18n/en/core.ftl")
        .lines()
        .filter_map(|l| l.split_once(" = ").map(|(_, v)| v.trim().to_string()))
        .filter(|v| v.len() > 3 && v.chars().any(|c| c.is_ascii_lowercase()))
        .collect();
    let mut console = ConsoleClient::signed_in(&hub, &token, "en").expect("signed in");
    for path in ["/console/search", "/console/share", "/console/submissions", "/console/suppliers", "/console/account"]
    {
        let en = console.get(path).expect("en").text();
        let shown: Vec<&String> = english.iter().filter(|m| en.contains(m.as_str())).collect();
        assert!(shown.len() >= 3, "{path}: the English page shows few messages: {en}");
        let switch = console.get(&format!("/console/lang/ja?back={path}")).expect("switch");
        assert_eq!(switch.location.as_deref(), Some(path));
        let ja = console.get(path).expect("ja").text();
        for message in shown {
            assert!(!ja.contains(message.as_str()), "{path}: {message:?} is still English after the switch: {ja}");
        }
        console.get(&format!("/console/lang/en?back={path}")).expect("back");
    }
    // The switch never sends anyone off the console.
    let away = console.get("/console/lang/ja?back=//evil.example/").expect("switch");
    assert_eq!(away.location.as_deref(), Some("/console/"));
    // Japanese by the browser's preference.
    let mut ja = ConsoleClient::signed_in(&hub, &token, "ja,en;q=0.5").expect("signed in");
    assert!(ja.get("/console/share").expect("page").text().contains("指標の共有"));
}

#[test]
fn exports_history_and_related_items_follow_the_policy() {
    let hub = TestHub::start(Backend::Sqlite);
    let m1 = hub.add_org("Member One Power", false);
    let m2 = hub.add_org("Member Two Gas", false);
    let t1 = hub.token(&m1, Role::Analyst);
    let t2 = hub.token(&m2, Role::Analyst);
    let green = share(&hub, &t1, "198.51.100.31", json!({"tlp": "GREEN"}));
    share(&hub, &t1, "198.51.100.32", json!({"tlp": "RED", "recipients": [m1]}));
    // Relabelled: the first version (GREEN) and the second (AMBER) both readable.
    hub.gql(&t1, "mutation($id: ID!) { changeLabel(id: $id, tlp: AMBER) { __typename } }", json!({"id": green}));
    let incident = hub.gql(
        &t1,
        "mutation($i: [ID!]!) { reportIncident(input: {title: \"Relay intrusion\", summary: \"remote access\", sector: \"electricity\", serviceImpact: DEGRADED, indicatorIds: $i}, sharing: {tlp: AMBER}) { id } }",
        json!({"i": [green]}),
    )["reportIncident"]["id"]
        .as_str()
        .expect("id")
        .to_string();

    let mut other = ConsoleClient::signed_in(&hub, &t2, "en").expect("signed in");
    let csv = other.get("/console/export/indicators?format=csv").expect("export");
    assert_eq!(csv.status, 200, "{}", csv.body);
    assert!(csv.body.contains("198.51.100.31") && !csv.body.contains("198.51.100.32"), "{}", csv.body);
    let bundle = other.get("/console/export/stix?kind=indicator").expect("stix");
    assert_eq!(bundle.status, 200);
    assert!(bundle.body.contains("198.51.100.31") && !bundle.body.contains("198.51.100.32"));
    // Without a session, the console's exports are refused like its pages.
    let mut stranger = ConsoleClient::new(&hub, "en");
    assert_eq!(stranger.get("/console/export/indicators?format=csv").expect("export").status, 303);
    // The same through the token endpoint: the console hands over only its own caller.
    let item = other.get(&format!("/console/items/{green}")).expect("item");
    let history = item.body.split("id=\"history\"").nth(1).expect("history").split("</table>").next().expect("table");
    assert_eq!(history.matches("<tr>").count() - 1, 2, "two versions: {history}");
    let page = other.get(&format!("/console/items/{incident}")).expect("incident");
    assert_eq!(linked_items(&page), [green.clone()].into(), "the incident's indicator is linked");
    let mut owner = ConsoleClient::signed_in(&hub, &t1, "en").expect("signed in");
    let csv = owner.get("/console/export/indicators?format=csv").expect("export");
    assert!(csv.body.contains("198.51.100.32"), "the RED item's recipient exports it");
}

#[test]
fn techniques_incidents_and_advisories_are_shared_through_their_forms() {
    let hub = TestHub::start(Backend::Sqlite);
    let m1 = hub.add_org("Member One Power", false);
    let m2 = hub.add_org("Member Two Gas", false);
    let m3 = hub.add_org("Member Three Water", false);
    let t1 = hub.token(&m1, Role::Analyst);
    let mut console = ConsoleClient::signed_in(&hub, &t1, "en").expect("signed in");
    assert_eq!(console.get("/console/share/technique").expect("form").status, 200);
    // RED to Member Two: the summary names it, and only it.
    let technique = [
        ("attack_id", "T0866"),
        ("name", "Exploitation of Remote Services"),
        ("narrative", "remote services abused on the HMI network"),
        ("tlp", "TLP:RED"),
        ("recipients", m2.as_str()),
    ];
    let summary = console.post("/console/share/technique", &technique).expect("review");
    assert_eq!(summary.status, 200, "{}", summary.text());
    let said = summary.text();
    assert!(said.contains("Member Two Gas") && !said.contains("Member Three Water"), "{said}");
    assert!(said.contains("only the organisations named below"), "{said}");
    let mut confirmed = technique.to_vec();
    confirmed.push(("action", "confirm"));
    assert_eq!(console.post("/console/share/technique", &confirmed).expect("share").status, 303);
    // RED without a recipient is refused at the summary, before anything is stored.
    let before = hub.count("objects");
    let bad = console.post("/console/share/technique", &technique[..4]).expect("review");
    assert_eq!(bad.status, 422, "{}", bad.text());
    assert_eq!(hub.count("objects"), before);
    let incident = [
        ("title", "Relay station intrusion"),
        ("summary", "remote access abused"),
        ("sector", "electricity"),
        ("service_impact", "degraded"),
        ("occurred_at", "2026-11-30T08:15"),
        ("technique_ids", "T0866"),
        ("tlp", "TLP:AMBER"),
        ("action", "confirm"),
    ];
    let done = console.post("/console/share/incident", &incident).expect("incident");
    assert_eq!(done.status, 303, "{}", done.text());
    let advisory = [
        ("cve_id", "CVE-2024-3400"),
        ("title", "PAN-OS GlobalProtect command injection"),
        ("cvss_vector", "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"),
        ("exploitation", "known_exploited"),
        ("affected", "cpe:2.3:o:paloaltonetworks:pan-os:*:*:*:*:*:*:*:*"),
        ("tlp", "TLP:GREEN"),
        ("action", "confirm"),
    ];
    let done = console.post("/console/share/advisory", &advisory).expect("advisory");
    assert_eq!(done.status, 303, "{}", done.text());
    let bad_cve = console
        .post("/console/share/advisory", &[("cve_id", "CVE-24"), ("title", "x"), ("tlp", "TLP:GREEN")])
        .expect("bad");
    assert_eq!(bad_cve.status, 422);
    // What the API reads back for the other members.
    let t3 = hub.token(&m3, Role::Analyst);
    let seen = hub.gql(
        &t3,
        "{ techniques { nodes { id } } incidents { nodes { title } } advisories { nodes { cveId cvssBaseScore } } }",
        json!({}),
    );
    assert_eq!(
        seen["techniques"]["nodes"].as_array().map(Vec::len),
        Some(0),
        "the RED technique reached a non-recipient"
    );
    assert_eq!(seen["incidents"]["nodes"][0]["title"], json!("Relay station intrusion"));
    assert_eq!(seen["advisories"]["nodes"][0]["cvssBaseScore"], json!(9.8));
    let t2 = hub.token(&m2, Role::Analyst);
    let seen = hub.gql(&t2, "{ techniques { nodes { narrative } } }", json!({}));
    assert_eq!(seen["techniques"]["nodes"][0]["narrative"], json!("remote services abused on the HMI network"));
}

/// Every page each role reaches by following the console's own links (and the largest
/// search a page allows, every value matching) weighs under 200 KB with its style sheet
/// and script, and answers 200.
#[test]
fn every_page_stays_under_200_kb_with_its_css_and_script() {
    const LIMIT: usize = 200 * 1024;
    let hub = TestHub::start(Backend::Sqlite);
    let coord = hub.add_org("Sector ISAC secretariat", true);
    let m1 = hub.add_org("Member One Power", false);
    let newcomer = hub.add_org_trusted("Member Four Rail", false, renkei_hub::services::moderation::Trust::New);
    let t1 = hub.token(&m1, Role::Analyst);
    // 500 indicators, the most one console search looks up, all of them found.
    let values: Vec<String> =
        (0..500).map(|i| format!("45.{}.{}.{}", 1 + i / 65536, (i / 256) % 256, i % 256)).collect();
    let input: Vec<Value> = values.iter().map(|v| json!({"type": "IPV4", "value": v})).collect();
    hub.gql(&t1, SHARE, json!({"input": input, "sharing": {"tlp": "GREEN"}}));
    share(&hub, &hub.token(&newcomer, Role::Analyst), "192.0.2.77", json!({"tlp": "GREEN"}));
    let tc = hub.token(&coord, Role::Coordinator);
    let supplier = hub.gql(
        &tc,
        "mutation($i: SupplierInput!) { addSupplier(input: $i) { id } }",
        json!({"i": {"legalName": "Kita Keiki K.K.", "nameJa": "北計器株式会社", "country": "JP"}}),
    )["addSupplier"]["id"]
        .as_str()
        .expect("supplier")
        .to_string();
    let tp = hub.token(&m1, Role::Procurement);
    hub.gql(
        &tp,
        "mutation($i: AssessmentInput!, $s: SharingInput!) { submitAssessment(input: $i, sharing: $s) { id } }",
        json!({"i": renkei_e2e::handbook_assessment(&supplier, &[], "QUESTIONNAIRE_REVIEWED", 3), "s": {"tlp": "GREEN"}}),
    );
    let mut weights: Vec<(String, usize)> = Vec::new();
    for (role, mut console) in [
        ("analyst", ConsoleClient::signed_in(&hub, &t1, "ja").expect("analyst")),
        ("procurement", ConsoleClient::signed_in(&hub, &tp, "en").expect("procurement")),
        ("coordinator", ConsoleClient::enrolled(&hub, &tc, "en").expect("coordinator").0),
    ] {
        let mut queue: Vec<String> = vec!["/console/".into(), format!("/console/suppliers/{supplier}")];
        if role == "analyst" {
            queue.push(format!("/console/search?q={}", renkei_e2e::console::form_encode(&values.join("\n"))));
        }
        let mut seen = BTreeSet::new();
        let mut per_kind: BTreeMap<String, usize> = BTreeMap::new();
        while let Some(path) = queue.pop() {
            if !seen.insert(path.clone()) || seen.len() > 60 {
                continue;
            }
            let mut page = console.get(&path).expect("page");
            let mut hops = 0;
            while page.status == 303 && hops < 3 {
                let to = page.location.clone().expect("location");
                page = console.get(&to).expect("page");
                hops += 1;
            }
            assert_eq!(page.status, 200, "{role} {path}: {}", page.text());
            let mut weight = page.body.len();
            for asset in page.links("/console/static/").into_iter().chain(
                page.body.split("<script src=\"").skip(1).filter_map(|s| s.split('"').next()).map(str::to_string),
            ) {
                weight += console.get(&asset).expect("asset").body.len();
            }
            assert!(weight < LIMIT, "{role} {path} weighs {weight} bytes with its CSS and script");
            weights.push((format!("{role} {}", path.split('?').next().unwrap_or_default()), weight));
            for link in page.links("/console/") {
                let kind: String = link.split('/').take(3).collect::<Vec<_>>().join("/");
                let skip = ["/console/lang", "/console/export", "/console/static"].iter().any(|p| link.starts_with(p));
                let count = per_kind.entry(kind).or_default();
                if !skip && *count < 3 {
                    *count += 1;
                    queue.push(link);
                }
            }
        }
        assert!(seen.len() >= 5, "{role} reached only {seen:?}");
    }
    let heaviest = weights.iter().max_by_key(|(_, w)| *w).expect("pages");
    eprintln!("{} pages; heaviest: {} at {} bytes", weights.len(), heaviest.0, heaviest.1);
    assert!(heaviest.1 > 50 * 1024, "the 500-value search should be the heaviest page: {heaviest:?}");
}

#[test]
fn members_report_sightings_and_false_positives_and_see_only_the_aggregate() {
    let hub = TestHub::start(Backend::Sqlite);
    let m1 = hub.add_org("Member One Power", false);
    let m2 = hub.add_org("Member Two Gas", false);
    let t1 = hub.token(&m1, Role::Analyst);
    let t2 = hub.token(&m2, Role::Analyst);
    let id = share(&hub, &t1, "198.51.100.61", json!({"tlp": "GREEN"}));
    let hidden = share(&hub, &t1, "198.51.100.62", json!({"tlp": "RED", "recipients": [m1]}));
    let mut other = ConsoleClient::signed_in(&hub, &t2, "en").expect("signed in");
    other.get(&format!("/console/items/{id}")).expect("item");
    let seen = other.post(&format!("/console/items/{id}/sighting"), &[("kind", "seen"), ("count", "3")]).expect("seen");
    assert_eq!(seen.status, 303, "{}", seen.text());
    let mut owner = ConsoleClient::signed_in(&hub, &t1, "en").expect("signed in");
    owner.get(&format!("/console/items/{id}")).expect("item");
    owner.post(&format!("/console/items/{id}/sighting"), &[("kind", "false_positive")]).expect("fp");
    let page = owner.get(&format!("/console/items/{id}")).expect("item").text();
    assert!(page.contains("Organisations that saw it 1") && page.contains("Reported count 3"), "{page}");
    assert!(page.contains("Organisations reporting a false positive 1"), "{page}");
    assert!(!page.contains("Member Two Gas"), "the aggregate names nobody: {page}");
    // A sighting of an item the reporter may not read answers like a missing one.
    let refused = other.post(&format!("/console/items/{hidden}/sighting"), &[("kind", "seen")]).expect("post");
    let missing = other
        .post("/console/items/indicator--00000000-0000-4000-8000-000000000000/sighting", &[("kind", "seen")])
        .expect("post");
    assert_eq!((refused.status, refused.text()), (missing.status, missing.text()));
    assert_eq!(refused.status, 404);
    let bad =
        other.post(&format!("/console/items/{id}/sighting"), &[("kind", "seen"), ("count", "many")]).expect("post");
    assert_eq!(bad.status, 422);
}

#[test]
fn a_token_has_one_request_budget_through_the_api_and_the_console() {
    let hub = TestHub::start_with(Backend::Sqlite, |c| c.limits.requests_per_minute = 8);
    let org = hub.add_org("Member One Power", false);
    let token = hub.token(&org, Role::Analyst);
    // Signing in and the account page spend two.
    let mut console = ConsoleClient::signed_in(&hub, &token, "en").expect("signed in");
    for _ in 0..3 {
        assert_eq!(console.get("/console/search").expect("page").status, 200);
    }
    for _ in 0..3 {
        hub.gql(&token, "{ me { role } }", json!({}));
    }
    let limited = console.get("/console/search").expect("page");
    assert_eq!(limited.status, 429, "{}", limited.text());
    assert!(limited.text().contains("RATE_LIMITED"));
}
