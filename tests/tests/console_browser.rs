//! The web console in a real browser: headless Chromium driven over WebDriver
//! (`renkei_e2e::browser`), against a real hub. Each test walks what a person does,
//! saves a screenshot of every page it passes (under `$CARGO_TARGET_DIR/console-screenshots/`)
//! and runs axe-core on it: no serious or critical accessibility violation.

use std::time::Duration;

use renkei_e2e::browser::{describe_violations, Browser, BrowserOptions};
use renkei_e2e::console::{token_id, totp_now};
use renkei_e2e::{Backend, TestHub};
use renkei_hub::auth::Role;
use serde_json::json;

const WAIT: Duration = Duration::from_secs(15);

/// The hub's address as the browser must use it: WebAuthn takes no IP address as its
/// relying party, so the console is reached as `localhost`.
fn base(hub: &TestHub) -> String {
    hub.base.replace("127.0.0.1", "localhost")
}

/// A screenshot of the page, and axe-core's verdict on it.
fn check(browser: &Browser, step: &str) {
    browser.screenshot(step).expect("screenshot");
    let violations = browser.axe_violations().expect("axe");
    assert!(violations.is_empty(), "{step}: accessibility violations:\n{}", describe_violations(&violations));
}

fn sign_in(browser: &Browser, hub: &TestHub, token: &str) {
    browser.goto(&format!("{}/console/sign-in", base(hub))).expect("sign-in page");
    browser.fill("#token", token).expect("token");
    browser.find("#sign-in").and_then(|b| b.click()).expect("sign in");
}

fn wait_for_path(browser: &Browser, path: &str) {
    let start = std::time::Instant::now();
    loop {
        let url = browser.url().expect("url");
        if url.split('?').next().is_some_and(|u| u.ends_with(path)) {
            return;
        }
        assert!(start.elapsed() < WAIT, "never reached {path}; at {url}: {}", browser.body_text().unwrap_or_default());
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A coordinator registers a TOTP factor on the enrolment page, as a person would with
/// an authenticator app.
fn enrol_totp(browser: &Browser, hub: &TestHub, token: &str) {
    let code = hub
        .db(|c| renkei_hub::services::sessions::issue_enrolment(c, &hub.hub.keys, token_id(token), 24))
        .expect("enrolment code");
    sign_in(browser, hub, token);
    wait_for_path(browser, "/console/enrol");
    let secret = browser.text("#totp-secret").expect("secret");
    browser.fill("#enrolment-code", &code).expect("code");
    browser.fill("#totp-code", &totp_now(&secret).expect("totp")).expect("totp");
    browser.find("#enrol-totp").and_then(|b| b.click()).expect("enrol");
    wait_for_path(browser, "/console/account");
}

#[test]
fn a_coordinator_signs_in_with_a_security_key_and_without_it_is_refused() {
    let hub = TestHub::start(Backend::Sqlite);
    let coord = hub.add_org("Sector ISAC secretariat", true);
    let token = hub.token(&coord, Role::Coordinator);
    let browser = Browser::start("coordinator-webauthn").expect("browser");
    let key = browser.add_virtual_authenticator().expect("authenticator");
    let code = hub
        .db(|c| renkei_hub::services::sessions::issue_enrolment(c, &hub.hub.keys, token_id(&token), 24))
        .expect("enrolment code");
    sign_in(&browser, &hub, &token);
    wait_for_path(&browser, "/console/enrol");
    check(&browser, "enrol");
    browser.fill("#enrolment-code", &code).expect("code");
    browser.find("#register-key").and_then(|b| b.click()).expect("register");
    wait_for_path(&browser, "/console/account");
    check(&browser, "account-with-key");
    assert_eq!(browser.credentials(&key).expect("credentials").len(), 1, "the key holds one credential");
    assert!(browser.body_text().expect("text").contains("Security key"));

    // Signed out, then in again: the key answers the challenge.
    browser.find("#sign-out").and_then(|b| b.click()).expect("sign out");
    wait_for_path(&browser, "/console/sign-in");
    sign_in(&browser, &hub, &token);
    wait_for_path(&browser, "/console/second-factor");
    check(&browser, "second-factor");
    browser.goto(&format!("{}/console/dashboard", base(&hub))).expect("dashboard");
    wait_for_path(&browser, "/console/second-factor");
    browser.find("#use-key").and_then(|b| b.click()).expect("use key");
    wait_for_path(&browser, "/console/dashboard");
    check(&browser, "dashboard");

    // Without the key (another authenticator, which holds no credential of this
    // token), the sign-in stops at the second factor.
    browser.find("#sign-out").and_then(|b| b.click()).expect("sign out");
    wait_for_path(&browser, "/console/sign-in");
    browser.remove_virtual_authenticator(&key).expect("remove");
    browser.add_virtual_authenticator().expect("another authenticator");
    sign_in(&browser, &hub, &token);
    wait_for_path(&browser, "/console/second-factor");
    browser.find("#use-key").and_then(|b| b.click()).expect("use key");
    let start = std::time::Instant::now();
    while browser.text("#webauthn-status").unwrap_or_default().chars().count() < 5 {
        assert!(start.elapsed() < Duration::from_secs(90), "the refused key never said so");
        std::thread::sleep(Duration::from_millis(200));
    }
    check(&browser, "refused-without-key");
    browser.goto(&format!("{}/console/dashboard", base(&hub))).expect("dashboard");
    wait_for_path(&browser, "/console/second-factor");
}

#[test]
fn members_share_and_find_and_a_coordinator_moderates_what_they_see() {
    let hub = TestHub::start(Backend::Sqlite);
    let coord = hub.add_org("Sector ISAC secretariat", true);
    let newcomer = hub.add_org_trusted("Kanto Rail", false, renkei_hub::services::moderation::Trust::New);
    let member_token = hub.token(&newcomer, Role::Analyst);
    let coord_token = hub.token(&coord, Role::Coordinator);

    // The member shares a bulk list (defanged values welcome) and finds it.
    let member = Browser::start("member-share-search").expect("browser");
    sign_in(&member, &hub, &member_token);
    wait_for_path(&member, "/console/search");
    check(&member, "search-empty");
    member.goto(&format!("{}/console/share", base(&hub))).expect("share");
    check(&member, "share-form");
    member
        .fill("#values", "198.51.100.77\nhxxp://drop.example[.]jp/a.exe\nd2a6b8a2c1f0e9d8c7b6a5f4e3d2c1b0")
        .expect("values");
    member.fill("#description", "seen at Kanto Substation 3 during the outage").expect("description");
    member.find("input[name=tlp][value='TLP:AMBER']").and_then(|r| r.click()).expect("label");
    member.find("#share-submit").and_then(|b| b.click()).expect("share");
    member.wait_for("#share-summary", WAIT).expect("summary");
    check(&member, "share-summary");
    let summary = member.text("#share-summary").expect("summary");
    assert!(summary.contains("3 items") && summary.contains("coordinator reviews"), "{summary}");
    member.find("#share-confirm").and_then(|b| b.click()).expect("confirm");
    wait_for_path(&member, "/console/submissions");
    check(&member, "submissions-pending");
    assert_eq!(member.body_text().expect("text").matches("Pending review").count(), 3);
    member.goto(&format!("{}/console/search", base(&hub))).expect("search");
    member.fill("#q", "198.51.100[.]77\nhttp://drop.example.jp/a.exe\n203.0.113.250").expect("q");
    member.find("#search-submit").and_then(|b| b.click()).expect("search");
    member.wait_for("#results", WAIT).expect("results");
    check(&member, "search-results");
    let results = member.text("#results").expect("results");
    assert!(results.contains("198.51.100.77") && results.contains("http://drop.example.jp/a.exe"), "{results}");
    assert!(member.text("#results-heading").expect("heading").starts_with("2 values"), "two of three found");

    // The coordinator approves one with a redaction (previewed) and rejects another.
    let coordinator = Browser::start("coordinator-moderation").expect("browser");
    enrol_totp(&coordinator, &hub, &coord_token);
    coordinator.goto(&format!("{}/console/moderation", base(&hub))).expect("queue");
    check(&coordinator, "queue");
    let entries: Vec<String> = coordinator
        .find_all("#queue a")
        .expect("entries")
        .iter()
        .map(|a| a.attr("href").expect("href").expect("href"))
        .collect();
    assert_eq!(entries.len(), 3);
    coordinator.goto(&format!("{}{}", base(&hub), entries[0])).expect("item");
    check(&coordinator, "queued-item");
    coordinator.fill("#redact", "Kanto Substation 3").expect("redact");
    coordinator.find("#preview-button").and_then(|b| b.click()).expect("preview");
    coordinator.wait_for("#preview", WAIT).expect("preview");
    check(&coordinator, "preview");
    let preview = coordinator.text("#preview").expect("preview");
    assert!(preview.contains("[REDACTED]") && !preview.contains("Kanto Substation 3"), "{preview}");
    coordinator.find("#approve-button").and_then(|b| b.click()).expect("approve");
    coordinator.wait_for("#decided", WAIT).expect("decided");
    check(&coordinator, "approved");
    coordinator.goto(&format!("{}{}", base(&hub), entries[1])).expect("item");
    coordinator.fill("#reason", "the file hash is a common installer, not malware").expect("reason");
    coordinator.find("#reject-button").and_then(|b| b.click()).expect("reject");
    coordinator.wait_for("#decided", WAIT).expect("decided");

    // The member sees both outcomes, with the reason.
    member.goto(&format!("{}/console/submissions", base(&hub))).expect("submissions");
    check(&member, "submissions-decided");
    let mine = member.text("#submissions").expect("submissions");
    assert!(mine.contains("Published") && mine.contains("Rejected"), "{mine}");
    assert!(mine.contains("the file hash is a common installer, not malware"), "{mine}");
    let approved = entries[0].trim_start_matches("/console/moderation/");
    member.goto(&format!("{}/console/items/{approved}", base(&hub))).expect("item");
    check(&member, "approved-item");
    let item = member.text("#fields").expect("fields");
    assert!(item.contains("[REDACTED]") && !item.contains("Kanto Substation 3"), "{item}");

    // A form without its CSRF token is refused, and nothing is shared.
    let before = hub.count("objects");
    member.goto(&format!("{}/console/share", base(&hub))).expect("share");
    member.execute("document.querySelector('#share-form input[name=csrf]').remove();", vec![]).expect("strip csrf");
    member.fill("#values", "192.0.2.99").expect("values");
    member.find("input[name=tlp][value='TLP:GREEN']").and_then(|r| r.click()).expect("label");
    member.find("#share-submit").and_then(|b| b.click()).expect("share");
    member.wait_for("#error-code", WAIT).expect("error page");
    check(&member, "csrf-refused");
    assert_eq!(member.text("#error-code").expect("code"), "CSRF_REFUSED");
    assert_eq!(hub.count("objects"), before);
}

#[test]
fn a_narrative_with_markup_renders_as_text() {
    let hub = TestHub::start(Backend::Sqlite);
    let org = hub.add_org("Member One Power", false);
    let token = hub.token(&org, Role::Analyst);
    let payload = "<script>window.__xss = 1</script><img src=x onerror=\"window.__xss = 2\">";
    let data = hub.gql(
        &token,
        "mutation($n: String!) { shareTechnique(input: {attackId: \"T0866\", name: \"Exploitation of Remote Services\", narrative: $n}, sharing: {tlp: GREEN}) { id } }",
        json!({"n": payload}),
    );
    let id = data["shareTechnique"]["id"].as_str().expect("id").to_string();
    let browser = Browser::start("xss-narrative").expect("browser");
    sign_in(&browser, &hub, &token);
    wait_for_path(&browser, "/console/search");
    browser.goto(&format!("{}/console/items/{id}", base(&hub))).expect("item");
    browser.wait_for("#fields", WAIT).expect("fields");
    std::thread::sleep(Duration::from_millis(300));
    check(&browser, "item-with-markup");
    assert_eq!(browser.execute("return window.__xss === undefined;", vec![]).expect("probe"), json!(true));
    assert_eq!(
        browser.execute("return document.querySelectorAll('main img, main script').length;", vec![]).expect("probe"),
        json!(0)
    );
    assert!(browser.text("#fields").expect("fields").contains(payload), "the narrative is shown as written");
}

#[test]
fn the_language_switch_changes_every_string_and_sessions_expire() {
    let hub = TestHub::start_with(Backend::Sqlite, |c| c.console.idle_seconds = 3);
    let org = hub.add_org("Member One Power", false);
    let token = hub.token(&org, Role::Analyst);
    let browser = Browser::start_with(
        "language-and-expiry",
        &BrowserOptions { accept_language: Some("en".into()), ..Default::default() },
    )
    .expect("browser");
    sign_in(&browser, &hub, &token);
    wait_for_path(&browser, "/console/search");
    browser.goto(&format!("{}/console/share", base(&hub))).expect("share");
    let english = browser.body_text().expect("text");
    check(&browser, "share-en");
    browser.find("#lang-switch").and_then(|a| a.click()).expect("switch");
    wait_for_path(&browser, "/console/share");
    let japanese = browser.body_text().expect("text");
    check(&browser, "share-ja");
    assert_eq!(browser.execute("return document.documentElement.lang;", vec![]).expect("lang"), json!("ja"));
    // Every line of the English page that holds English words is gone (what stays is
    // data: names, labels such as TLP:GREEN, the brand).
    let kept: Vec<&str> = english
        .lines()
        .filter(|l| {
            l.split_whitespace().filter(|w| w.chars().all(|c| c.is_ascii_lowercase()) && w.len() > 3).count() >= 2
        })
        .filter(|l| japanese.lines().any(|j| j == *l))
        .collect();
    assert!(kept.is_empty(), "still in English after the switch: {kept:?}");
    assert!(japanese.contains("指標の共有"));
    // Idle past the limit: the next page is the sign-in page.
    std::thread::sleep(Duration::from_millis(3500));
    browser.goto(&format!("{}/console/submissions", base(&hub))).expect("page");
    wait_for_path(&browser, "/console/sign-in");
    check(&browser, "expired-sign-in");
}

#[test]
fn procurement_finds_a_supplier_by_its_japanese_name_and_reads_why_it_is_rated_so() {
    let hub = TestHub::start(Backend::Sqlite);
    let coord = hub.add_org("Sector ISAC secretariat", true);
    let member = hub.add_org("Member One Power", false);
    let tc = hub.token(&coord, Role::Coordinator);
    let tp = hub.token(&member, Role::Procurement);
    let supplier = hub.gql(
        &tc,
        "mutation($i: SupplierInput!) { addSupplier(input: $i) { id } }",
        json!({"i": {"legalName": "Tokai Seigyo Systems K.K.", "nameJa": "東海制御システム株式会社", "nameEn": "Tokai Control Systems", "country": "JP"}}),
    )["addSupplier"]["id"]
        .as_str()
        .expect("id")
        .to_string();
    hub.gql(
        &tp,
        "mutation($i: AssessmentInput!, $s: SharingInput!) { submitAssessment(input: $i, sharing: $s) { id } }",
        json!({"i": renkei_e2e::handbook_assessment(&supplier, &[], "QUESTIONNAIRE_REVIEWED", 3), "s": {"tlp": "GREEN"}}),
    );
    let browser = Browser::start_with(
        "procurement-supplier",
        &BrowserOptions { accept_language: Some("ja".into()), ..Default::default() },
    )
    .expect("browser");
    sign_in(&browser, &hub, &tp);
    wait_for_path(&browser, "/console/suppliers");
    browser.fill("#q", "東海制御").expect("query");
    browser.find("#supplier-search").and_then(|b| b.click()).expect("search");
    browser.wait_for("#suppliers", WAIT).expect("results");
    check(&browser, "supplier-search");
    browser.find("#suppliers a").and_then(|a| a.click()).expect("open");
    browser.wait_for("#rating", WAIT).expect("rating");
    check(&browser, "supplier-page");
    let score = browser.text("#rating-score").expect("score");
    assert!(score.parse::<f64>().is_ok(), "a score is shown: {score}");
    let criteria = browser.text("#criteria").expect("criteria");
    assert!(criteria.contains("HB64-01"), "{criteria}");
    // The handbook 6.4 text of each criterion, in Japanese on a Japanese page.
    assert!(criteria.chars().any(|c| ('\u{3040}'..='\u{30ff}').contains(&c)), "{criteria}");
    assert_eq!(browser.find_all("#assessments li").expect("assessments").len(), 1);
    // Who assessed, and how strongly backed: a member's reviewed questionnaire.
    let assessed = browser.text("#assessments").expect("assessments");
    assert!(
        assessed.contains("会員組織による評価")
            && assessed.contains("会員が確認した質問票")
            && assessed.contains("2026-11-01"),
        "{assessed}"
    );
}

/// Every page each role reaches by following the console's links, in both languages
/// for the members' pages: axe-core finds no serious or critical violation, and each
/// page is kept as a screenshot.
#[test]
fn every_page_each_role_reaches_passes_axe() {
    let hub = TestHub::start(Backend::Sqlite);
    let coord = hub.add_org("Sector ISAC secretariat", true);
    let m1 = hub.add_org("Member One Power", false);
    let newcomer = hub.add_org_trusted("Member Four Rail", false, renkei_hub::services::moderation::Trust::New);
    let t1 = hub.token(&m1, Role::Analyst);
    let share =
        "mutation($i: [IndicatorInput!]!, $s: SharingInput!) { shareIndicators(input: $i, sharing: $s) { id } }";
    hub.gql(&t1, share, json!({"i": [{"type": "IPV4", "value": "198.51.100.5"}], "s": {"tlp": "GREEN"}}));
    hub.gql(
        &hub.token(&newcomer, Role::Analyst),
        share,
        json!({"i": [{"type": "DOMAIN", "value": "queued.example.jp"}], "s": {"tlp": "AMBER"}}),
    );
    hub.gql(
        &t1,
        "mutation { reportIncident(input: {title: \"Relay intrusion\", summary: \"remote access\", sector: \"electricity\", serviceImpact: DEGRADED}, sharing: {tlp: AMBER}) { __typename } }",
        json!({}),
    );
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
    for (role, token, lang) in [("analyst", &t1, "ja"), ("procurement", &tp, "en"), ("coordinator", &tc, "en")] {
        let browser = Browser::start_with(
            &format!("axe-{role}"),
            &BrowserOptions { accept_language: Some(lang.into()), ..Default::default() },
        )
        .expect("browser");
        if role == "coordinator" {
            enrol_totp(&browser, &hub, token);
        } else {
            sign_in(&browser, &hub, token);
            std::thread::sleep(Duration::from_millis(300));
        }
        let mut queue = vec![
            "/console/".to_string(),
            format!("/console/suppliers/{supplier}"),
            "/console/search?q=198.51.100.5%0Aqueued.example.jp".to_string(),
        ];
        let mut seen = std::collections::BTreeSet::new();
        let mut per_kind: std::collections::BTreeMap<String, usize> = Default::default();
        while let Some(path) = queue.pop() {
            if !seen.insert(path.clone()) || seen.len() > 60 {
                continue;
            }
            browser.goto(&format!("{}{path}", base(&hub))).expect("page");
            browser.wait_for("main", WAIT).expect("main");
            let step = path.trim_start_matches("/console/").replace(['/', '?', '=', '&'], "_");
            check(&browser, &format!("{role}-{}", if step.is_empty() { "home" } else { &step }));
            for a in browser.find_all("a[href^='/console/']").expect("links") {
                let Ok(Some(href)) = a.attr("href") else { continue };
                // One page of each kind: ids stand for any id.
                let kind: String = href
                    .split('?')
                    .next()
                    .unwrap_or_default()
                    .split('/')
                    .map(|segment| if segment.contains("--") { "*" } else { segment })
                    .collect::<Vec<_>>()
                    .join("/");
                let skip = ["/console/lang", "/console/export/", "/console/static"].iter().any(|p| href.starts_with(p));
                let count = per_kind.entry(kind).or_default();
                if !skip && *count < 1 {
                    *count += 1;
                    queue.push(href);
                }
            }
        }
        assert!(seen.len() >= 5, "{role} reached only {seen:?}");
    }
}
