//! The coordinators' administration pages of the web console (`/console/admin/…`)
//! against a real hub: each page in both languages, coordinators only; organisations
//! and tokens added through the forms (a token's secret shown once, and it signs in);
//! revoking a token ends its console session; forms without the session's CSRF secret
//! and bad input change nothing; the audit log names a named token's holder and says
//! whether its chain verifies.

use renkei_e2e::console::{ConsoleClient, Page};
use renkei_e2e::{Backend, TestHub};
use renkei_hub::auth::Role;
use renkei_hub::services::{directory, sessions};
use renkei_schema::second_factor::totp;

/// The administration pages and the heading each shows in English and Japanese.
const PAGES: [(&str, &str, &str); 7] = [
    ("/console/admin", "Administration", "管理"),
    ("/console/admin/organizations", "Organisations", "組織"),
    ("/console/admin/tokens", "Tokens", "トークン"),
    ("/console/admin/policy", "Moderation policy", "モデレーションポリシー"),
    ("/console/admin/allowlists", "Allowlists", "許可リスト"),
    ("/console/admin/peers", "Federation links", "連携リンク"),
    ("/console/admin/audit", "Audit log", "監査ログ"),
];

/// The token id of a token (`rk_<id>_<secret>`).
fn token_id(token: &str) -> &str {
    token.strip_prefix("rk_").and_then(|rest| rest.split('_').next()).expect("a renkei token")
}

fn between(body: &str, start: &str, end: &str) -> Option<String> {
    let a = body.find(start)? + start.len();
    let b = body[a..].find(end)? + a;
    Some(body[a..b].to_string())
}

/// Signs a coordinator in for the first time with a one-time enrolment code: the
/// sign-in goes to the enrolment page, a TOTP factor is registered with the code, and
/// the session is active. Leaves the client on the administration index (for its CSRF
/// secret).
fn enrol_with_code(hub: &TestHub, token: &str, code: &str, lang: &str) -> ConsoleClient {
    let mut client = ConsoleClient::new(hub, lang);
    let answer = client.sign_in(token).expect("sign in");
    assert_eq!(
        answer.location.as_deref(),
        Some("/console/enrol"),
        "a coordinator without a second factor enrols first"
    );
    let page = client.get("/console/enrol").expect("enrol page");
    let secret = between(&page.body, "<code id=\"totp-secret\">", "<").expect("the TOTP secret on the page");
    let key = totp::from_base32(&secret).expect("a base32 secret");
    let now = totp::code_at(&key, chrono::Utc::now().timestamp());
    let done = client
        .post(
            "/console/enrol/totp",
            &[("enrolment_code", code), ("secret", &secret), ("code", &now), ("label", "test phone")],
        )
        .expect("enrol");
    assert_eq!(done.status, 303, "enrolment refused: {}", done.text());
    let index = client.get("/console/admin").expect("admin index");
    assert_eq!(index.status, 200, "{}", index.text());
    client
}

/// A coordinator's token with a TOTP factor registered, signed in (the enrolment code
/// issued as `renkei-hub token enrol` issues it).
fn enrolled(hub: &TestHub, token: &str, lang: &str) -> ConsoleClient {
    let code = hub.db(|c| sessions::issue_enrolment(c, &hub.hub.keys, token_id(token), 24)).expect("enrolment code");
    enrol_with_code(hub, token, &code, lang)
}

/// A coordinator organisation and a coordinator signed in to the console.
fn coordinator(hub: &TestHub, lang: &str) -> (String, ConsoleClient) {
    let org = hub.add_org("JP-ISAC Secretariat", true);
    let token = hub.token(&org, Role::Coordinator);
    (org, enrolled(hub, &token, lang))
}

/// A member signed in (members need no second factor).
fn analyst(hub: &TestHub, org: &str) -> (String, ConsoleClient) {
    let token = hub.token(org, Role::Analyst);
    let client = ConsoleClient::signed_in(hub, &token, "en").expect("analyst signs in");
    (token, client)
}

fn org_named(hub: &TestHub, name: &str) -> Option<String> {
    hub.db(|c| directory::list_orgs(c).expect("orgs")).into_iter().find(|o| o.name == name).map(|o| o.id)
}

fn heading(page: &Page) -> String {
    between(&page.body, "<h1>", "</h1>").unwrap_or_default()
}

#[test]
fn every_page_renders_for_coordinators_in_both_languages_and_refuses_analysts() {
    let hub = TestHub::start(Backend::Sqlite);
    let (org, mut en) = coordinator(&hub, "en");
    let ja_token = hub.token(&org, Role::Coordinator);
    let mut ja = enrolled(&hub, &ja_token, "ja");
    let member = hub.add_org("Kanto Electric", false);
    let (_, mut member_client) = analyst(&hub, &member);
    for (path, english, japanese) in PAGES {
        let page = en.get(path).expect("page");
        assert_eq!(page.status, 200, "{path}: {}", page.text());
        assert_eq!(heading(&page), english, "{path}");
        assert!(page.body.contains("lang=\"en\""), "{path}");
        let page = ja.get(path).expect("page");
        assert_eq!(page.status, 200, "{path}: {}", page.text());
        assert_eq!(heading(&page), japanese, "{path}");
        assert!(page.body.contains("lang=\"ja\""), "{path}");
        let refused = member_client.get(path).expect("page");
        assert_eq!(refused.status, 403, "{path} opened for an analyst");
    }
    // The index links every section.
    let index = en.get("/console/admin").expect("index");
    for (path, _, _) in &PAGES[1..] {
        assert!(index.links(path).iter().any(|l| l == path), "the index links {path}");
    }
    // The forms refuse an analyst too, and store nothing.
    let before = hub.count("organizations");
    let refused = member_client
        .post(
            "/console/admin/organizations",
            &[("name", "Rogue Org"), ("sector", "energy"), ("coordinator", "yes"), ("trust", "trusted")],
        )
        .expect("post");
    assert_eq!(refused.status, 403);
    assert_eq!(hub.count("organizations"), before);
    // Bilingual texts the services carry show in the page's language.
    let ja_error = ja
        .post("/console/admin/organizations", &[("name", "  "), ("sector", "energy"), ("trust", "new")])
        .expect("post");
    assert_eq!(ja_error.status, 422);
    assert!(ja_error.text().contains("が空です"), "{}", ja_error.text());
}

#[test]
fn an_organisation_and_a_token_are_added_and_the_secret_is_shown_once_and_signs_in() {
    let hub = TestHub::start(Backend::Sqlite);
    let (_, mut admin) = coordinator(&hub, "en");

    let added = admin
        .post(
            "/console/admin/organizations",
            &[("name", "Kansai Gas"), ("sector", "energy"), ("coordinator", "no"), ("trust", "standard")],
        )
        .expect("add org");
    assert_eq!(added.status, 303, "{}", added.text());
    assert_eq!(added.location.as_deref(), Some("/console/admin/organizations?done=org-added"));
    let list = admin.get("/console/admin/organizations?done=org-added").expect("orgs");
    assert!(list.text().contains("The organisation was added."));
    assert!(list.text().contains("Kansai Gas"));
    let org = org_named(&hub, "Kansai Gas").expect("stored");
    let row = hub.db(|c| directory::list_orgs(c).expect("orgs")).into_iter().find(|o| o.id == org).expect("row");
    assert!(!row.is_coordinator);
    assert_eq!(row.trust, "standard");

    // Trust changes per row.
    let changed =
        admin.post(&format!("/console/admin/organizations/{org}/trust"), &[("trust", "trusted")]).expect("trust");
    assert_eq!(changed.status, 303, "{}", changed.text());
    let row = hub.db(|c| directory::list_orgs(c).expect("orgs")).into_iter().find(|o| o.id == org).expect("row");
    assert_eq!(row.trust, "trusted");

    // A token: the secret once, on a page no cache keeps.
    admin.get("/console/admin/tokens").expect("tokens");
    let issued = admin
        .post(
            "/console/admin/tokens",
            &[("org", &org), ("role", "analyst"), ("name", "Sato Hanako"), ("expires", ""), ("grants", "indicators")],
        )
        .expect("issue");
    assert_eq!(issued.status, 200, "{}", issued.text());
    assert_eq!(issued.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let secret = between(&issued.body, "<code id=\"one-time-secret\">", "<").expect("the secret on the page");
    assert!(secret.starts_with("rk_"), "{secret}");
    assert!(issued.text().contains("it will not be shown again"));
    let id = token_id(&secret).to_string();
    let listed = admin.get("/console/admin/tokens").expect("tokens");
    assert!(listed.text().contains(&id) && listed.text().contains("Sato Hanako"));
    assert!(!listed.body.contains(&secret), "the list never shows the secret");
    let stored = hub.db(|c| directory::find_token(c, &id).expect("token")).expect("stored");
    assert_eq!((stored.role.as_str(), stored.grants.as_str()), ("analyst", "indicators"));

    // It signs in.
    let mut holder = ConsoleClient::signed_in(&hub, &secret, "en").expect("the new token signs in");
    assert_eq!(holder.get("/console/search").expect("search").status, 200);

    // A coordinator token for a new coordinator organisation, with its enrolment code
    // issued on the console: the new coordinator enrols with it.
    let added = admin
        .post(
            "/console/admin/organizations",
            &[("name", "Chubu Secretariat"), ("sector", "energy"), ("coordinator", "yes"), ("trust", "trusted")],
        )
        .expect("add org");
    assert_eq!(added.status, 303);
    let second = org_named(&hub, "Chubu Secretariat").expect("stored");
    let issued = admin
        .post(
            "/console/admin/tokens",
            &[("org", &second), ("role", "coordinator"), ("name", "Suzuki Jiro"), ("expires", "2099-01-01")],
        )
        .expect("issue");
    // 2099 is more than ten years away: refused, nothing stored.
    assert_eq!(issued.status, 422, "{}", issued.text());
    let tokens_before = hub.count("tokens");
    let next_year = (chrono::Utc::now() + chrono::Duration::days(365)).format("%Y-%m-%d").to_string();
    let issued = admin
        .post(
            "/console/admin/tokens",
            &[("org", &second), ("role", "coordinator"), ("name", "Suzuki Jiro"), ("expires", &next_year)],
        )
        .expect("issue");
    assert_eq!(issued.status, 200, "{}", issued.text());
    assert_eq!(hub.count("tokens"), tokens_before + 1);
    let new_coordinator = between(&issued.body, "<code id=\"one-time-secret\">", "<").expect("secret");
    let new_id = token_id(&new_coordinator).to_string();
    let stored = hub.db(|c| directory::find_token(c, &new_id).expect("token")).expect("stored");
    assert!(stored.expires_at.as_deref().is_some_and(|e| e.starts_with(&next_year)), "{:?}", stored.expires_at);
    let code_page = admin.post(&format!("/console/admin/tokens/{new_id}/enrolment"), &[]).expect("enrolment code");
    assert_eq!(code_page.status, 200, "{}", code_page.text());
    assert_eq!(code_page.headers.get("cache-control").and_then(|v| v.to_str().ok()), Some("no-store"));
    let code = between(&code_page.body, "<code id=\"one-time-secret\">", "<").expect("the code on the page");
    let mut second_admin = enrol_with_code(&hub, &new_coordinator, &code, "ja");
    assert_eq!(second_admin.get("/console/admin/tokens").expect("tokens").status, 200);
}

#[test]
fn revoking_a_token_ends_its_console_session() {
    let hub = TestHub::start(Backend::Sqlite);
    let (_, mut admin) = coordinator(&hub, "en");
    let member = hub.add_org("Tohoku Rail", false);
    let (token, mut member_client) = analyst(&hub, &member);
    assert_eq!(member_client.get("/console/search").expect("search").status, 200);

    admin.get("/console/admin/tokens").expect("tokens");
    let revoked = admin.post(&format!("/console/admin/tokens/{}/revoke", token_id(&token)), &[]).expect("revoke");
    assert_eq!(revoked.status, 303, "{}", revoked.text());
    assert_eq!(revoked.location.as_deref(), Some("/console/admin/tokens?done=token-revoked"));

    let after = member_client.get("/console/search").expect("search");
    assert_eq!(after.status, 303, "the revoked token's session still works");
    assert_eq!(after.location.as_deref(), Some("/console/sign-in"));
    let again = ConsoleClient::new(&hub, "en").sign_in(&token).expect("sign in");
    assert_ne!(again.location.as_deref(), Some("/console/"), "a revoked token signed in");
    // Revoking twice is refused on the page.
    let twice = admin.post(&format!("/console/admin/tokens/{}/revoke", token_id(&token)), &[]).expect("revoke");
    assert_eq!(twice.status, 404, "{}", twice.text());
}

#[test]
fn forms_without_the_csrf_secret_are_refused_and_change_nothing() {
    let hub = TestHub::start(Backend::Sqlite);
    let (org, mut admin) = coordinator(&hub, "en");
    let member = hub.add_org("Kyushu Water", false);
    let (token, _) = analyst(&hub, &member);
    let orgs = hub.count("organizations");
    let tokens = hub.count("tokens");
    let audit = hub.count("audit_log");
    let forms: Vec<(String, Vec<(&str, &str)>)> = vec![
        (
            "/console/admin/organizations".into(),
            vec![("name", "Forged Org"), ("sector", "energy"), ("coordinator", "yes"), ("trust", "trusted")],
        ),
        (format!("/console/admin/organizations/{member}/trust"), vec![("trust", "trusted")]),
        ("/console/admin/tokens".into(), vec![("org", &org), ("role", "coordinator")]),
        (format!("/console/admin/tokens/{}/revoke", token_id(&token)), vec![]),
        (format!("/console/admin/tokens/{}/enrolment", token_id(&token)), vec![]),
        ("/console/admin/policy".into(), vec![("policy", "{\"default\": \"queue\", \"rules\": []}")]),
        ("/console/admin/allowlists".into(), vec![("name", "forged"), ("entries", "192.0.2.0/24")]),
    ];
    for (path, fields) in &forms {
        let missing = admin.post_raw(path, fields).expect("post");
        assert_eq!(missing.status, 403, "{path} without a CSRF secret: {}", missing.text());
        assert!(missing.text().contains("CSRF_REFUSED"), "{path}: {}", missing.text());
        let mut wrong = vec![("csrf", "0000000000000000000000000000000000000000000000000000000000000000")];
        wrong.extend_from_slice(fields);
        assert_eq!(admin.post_raw(path, &wrong).expect("post").status, 403, "{path} with a wrong CSRF secret");
    }
    assert_eq!(hub.count("organizations"), orgs);
    assert_eq!(hub.count("tokens"), tokens);
    assert_eq!(hub.count("audit_log"), audit);
    assert_eq!(hub.count("allowlist_entries"), 0);
    let trust = hub.db(|c| directory::list_orgs(c).expect("orgs")).into_iter().find(|o| o.id == member).expect("org");
    assert_eq!(trust.trust, "standard");
    assert!(ConsoleClient::signed_in(&hub, &token, "en").is_ok(), "the token was revoked by a forged form");
}

#[test]
fn bad_input_is_shown_on_the_form_and_nothing_is_stored() {
    let hub = TestHub::start(Backend::Sqlite);
    let (_, mut admin) = coordinator(&hub, "en");
    let member = hub.add_org("Shikoku Telecom", false);
    let orgs = hub.count("organizations");
    let tokens = hub.count("tokens");
    let audit = hub.count("audit_log");

    let empty = admin
        .post(
            "/console/admin/organizations",
            &[("name", ""), ("sector", "energy"), ("coordinator", "no"), ("trust", "new")],
        )
        .expect("post");
    assert_eq!(empty.status, 422, "{}", empty.text());
    assert!(empty.body.contains("id=\"admin-error\""));
    assert!(empty.text().contains("name is empty"), "{}", empty.text());
    // The form keeps what was typed.
    assert!(empty.body.contains("value=\"energy\""));

    let duplicate = admin
        .post(
            "/console/admin/organizations",
            &[("name", "Shikoku Telecom"), ("sector", "telecom"), ("coordinator", "no"), ("trust", "new")],
        )
        .expect("post");
    assert_eq!(duplicate.status, 422, "{}", duplicate.text());
    assert!(duplicate.text().contains("already exists"));

    let bad_trust =
        admin.post(&format!("/console/admin/organizations/{member}/trust"), &[("trust", "absolute")]).expect("post");
    assert_eq!(bad_trust.status, 422);

    let coordinator_for_member = admin
        .post("/console/admin/tokens", &[("org", &member), ("role", "coordinator"), ("name", "Someone")])
        .expect("post");
    // The rule the command line applies too: FORBIDDEN.
    assert_eq!(coordinator_for_member.status, 403, "{}", coordinator_for_member.text());
    assert!(coordinator_for_member.text().contains("only for coordinator organisations"));
    let peer = admin.post("/console/admin/tokens", &[("org", &member), ("role", "peer")]).expect("post");
    assert_eq!(peer.status, 422);
    let bad_grant = admin
        .post("/console/admin/tokens", &[("org", &member), ("role", "analyst"), ("grants", "everything")])
        .expect("post");
    assert_eq!(bad_grant.status, 422);
    let past = admin
        .post("/console/admin/tokens", &[("org", &member), ("role", "analyst"), ("expires", "2001-01-01")])
        .expect("post");
    assert_eq!(past.status, 422);

    let policy_before = admin.get("/console/admin/policy").expect("policy");
    let bad_policy = admin.post("/console/admin/policy", &[("policy", "{\"default\": \"sometimes\"}")]).expect("post");
    assert_eq!(bad_policy.status, 422, "{}", bad_policy.text());
    assert!(bad_policy.text().contains("the policy is not valid"));
    assert!(bad_policy.body.contains("sometimes"), "the form keeps the text as posted");
    let policy_after = admin.get("/console/admin/policy").expect("policy");
    assert_eq!(
        between(&policy_before.body, "<table id=\"policy-rules\">", "</table>"),
        between(&policy_after.body, "<table id=\"policy-rules\">", "</table>")
    );

    let bad_list = admin
        .post("/console/admin/allowlists", &[("name", "resolvers"), ("entries", "8.8.8.8\nnot a domain!\n10.0.0.1/8")])
        .expect("post");
    assert_eq!(bad_list.status, 422, "{}", bad_list.text());
    assert!(bad_list.text().contains("line 2"), "{}", bad_list.text());
    assert_eq!(hub.count("allowlist_entries"), 0);

    assert_eq!(hub.count("organizations"), orgs);
    assert_eq!(hub.count("tokens"), tokens);
    assert_eq!(hub.count("audit_log"), audit, "a refused form left an audit entry");
}

/// On PostgreSQL: the policy, an allowlist, and the audit log with the acting
/// coordinator's token name and the chain verified.
#[test]
fn the_audit_page_names_a_named_token_and_verifies_the_chain_on_postgres() {
    let hub = TestHub::start(Backend::Postgres);
    let org = hub.add_org("JP-ISAC Secretariat", true);
    let token = hub
        .db(|c| directory::issue_token(c, &hub.hub.keys, &org, Role::Coordinator, None, &[], Some("Tanaka Ichiro")))
        .map(|(_, t)| t)
        .expect("token");
    let mut admin = enrolled(&hub, &token, "en");

    let saved = admin
        .post(
            "/console/admin/policy",
            &[("policy", "{\"default\": \"publish\", \"rules\": [{\"trust\": [\"new\", \"standard\"], \"kinds\": [\"incident\"], \"tlp\": [\"TLP:AMBER\"], \"action\": \"queue\"}]}")],
        )
        .expect("policy");
    assert_eq!(saved.status, 303, "{}", saved.text());
    let policy = admin.get("/console/admin/policy?done=policy-saved").expect("policy");
    let rules = between(&policy.body, "<table id=\"policy-rules\">", "</table>").expect("rules");
    assert!(rules.contains("TLP:AMBER") && rules.contains("Incident") && rules.contains("wait for a coordinator"));

    let imported = admin
        .post(
            "/console/admin/allowlists",
            &[("name", "isac-resolvers"), ("entries", "# resolvers\n192.0.2.53\n*.example.jp")],
        )
        .expect("allowlist");
    assert_eq!(imported.status, 303, "{}", imported.text());
    let lists = admin.get("/console/admin/allowlists").expect("lists");
    let table = between(&lists.body, "<table id=\"allowlists\">", "</table>").expect("lists table");
    assert!(table.contains("isac-resolvers") && table.contains("<td>2</td>"), "{table}");

    let added = admin
        .post(
            "/console/admin/organizations",
            &[("name", "Hokkaido Grid"), ("sector", "energy"), ("coordinator", "no"), ("trust", "new")],
        )
        .expect("org");
    assert_eq!(added.status, 303);

    let audit = admin.get("/console/admin/audit").expect("audit");
    assert_eq!(audit.status, 200);
    let text = audit.text();
    assert!(text.contains("JP-ISAC Secretariat · Tanaka Ichiro"), "{text}");
    assert!(text.contains("org.add") && text.contains("moderation.policy") && text.contains("allowlist.import"));
    let chain = between(&audit.body, "id=\"audit-chain\">", "</p>").expect("chain state");
    assert!(chain.contains("verified on request"), "{chain}");
    // The check runs in the background; the page says where it stands.
    admin.get("/console/admin/audit?verify=1").expect("verify");
    let started = std::time::Instant::now();
    let chain = loop {
        let page = admin.get("/console/admin/audit").expect("audit");
        let chain = between(&page.body, "id=\"audit-chain\">", "</p>").expect("chain state");
        if !chain.contains("being verified") {
            break chain;
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "the check never finished");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    let entries = hub.count("audit_log");
    assert!(chain.contains(&format!("entries 1 to {entries} are intact")), "{chain}");

    // Paged: 100 entries a page, older ones behind `before`.
    for i in 0..110 {
        hub.db(|c| {
            renkei_hub::services::moderation::set_trust(
                c,
                &hub.hub.keys,
                None,
                &org,
                if i % 2 == 0 {
                    renkei_hub::services::moderation::Trust::Trusted
                } else {
                    renkei_hub::services::moderation::Trust::Standard
                },
            )
        })
        .expect("trust");
    }
    let first = admin.get("/console/admin/audit").expect("audit");
    let rows = first.body.matches("<tr>").count() - 1;
    assert_eq!(rows, 100);
    let older = first.links("/console/admin/audit?before=");
    assert_eq!(older.len(), 1, "one link to older entries");
    let second = admin.get(&older[0]).expect("older");
    assert_eq!(second.status, 200);
    assert!(second.text().contains("Tanaka Ichiro"), "the older page holds the coordinator's entries");
    assert_eq!(admin.get("/console/admin/audit?before=abc").expect("bad").status, 422);
}
