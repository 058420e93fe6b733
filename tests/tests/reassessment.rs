//! Reassessment flags end to end: a member's register (assets, a service, risks by both
//! methods) synced from a real hub on loopback (PostgreSQL-backed) while other members
//! share a technique, advisories, supplier assessments and a supplier incident. Each
//! trigger kind raises the right flag on the right risk with its explanation, once; a
//! later revision updates the flag; a tightened label withdraws it; dismissing needs a
//! reason; an assessment resolves the risk's flags; dates raise review and acceptance
//! flags.

use std::collections::BTreeMap;

use renkei_client::{context, flags, hub_api::HubApi, register, report, risks, services, sync};
use renkei_e2e::{handbook_assessment, Backend, TempDir, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

const SUBMIT: &str =
    "mutation($i: AssessmentInput!, $s: SharingInput!) { submitAssessment(input: $i, sharing: $s) { id } }";
const ADVISORY: &str =
    "mutation($i: AdvisoryInput!, $s: SharingInput!) { shareAdvisory(input: $i, sharing: $s) { id } }";

fn id(v: &Value) -> String {
    v["id"].as_str().expect("id").to_string()
}

fn risk(title: &str, method: &str) -> risks::RiskInput {
    risks::RiskInput { title: title.into(), method: method.into(), ..Default::default() }
}

fn factors(impact: usize, threat: usize, vulnerability: usize) -> Option<risks::FactorsInput> {
    Some(risks::FactorsInput { impact: Some(impact), threat, vulnerability })
}

/// Open flags by (risk, trigger).
fn open_flags(conn: &mut diesel::SqliteConnection) -> BTreeMap<(String, String), Vec<flags::Flag>> {
    let mut out: BTreeMap<(String, String), Vec<flags::Flag>> = BTreeMap::new();
    for f in flags::list(conn, "open").expect("flags") {
        out.entry((f.risk_id.clone(), f.trigger.to_string())).or_default().push(f);
    }
    out
}

fn one<'a>(all: &'a BTreeMap<(String, String), Vec<flags::Flag>>, risk: &str, trigger: &str) -> &'a flags::Flag {
    let found = all
        .get(&(risk.to_string(), trigger.to_string()))
        .unwrap_or_else(|| panic!("no {trigger} flag on {risk}; flags: {:#?}", all.keys().collect::<Vec<_>>()));
    assert_eq!(found.len(), 1, "one flag per risk and source: {found:#?}");
    &found[0]
}

#[test]
fn each_trigger_raises_one_explained_flag() {
    let hub = TestHub::start(Backend::Postgres);
    let catalog = renkei_e2e::attack_data_dir().map(|dir| {
        let bytes = std::fs::read(dir.join("ics-attack.json")).expect("read");
        let catalog = renkei_schema::attack::AttackCatalog::from_bundle_json(&bytes).expect("bundle");
        hub.db(|c| renkei_hub::services::attack::import(c, &hub.hub.keys, catalog)).unwrap_or_else(|e| panic!("{e:?}"));
    });
    if catalog.is_none() {
        eprintln!("shared/data/attack not found: the technique names its ICS asset type itself (no catalog `targets`)");
    }
    let m1 = hub.add_org("Member One", false);
    let m2 = hub.add_org("Member Two", false);
    let m3 = hub.add_org("Member Three", false);
    let coord = hub.add_org("Secretariat", true);
    let (t1, t2, t3) = (hub.token(&m1, Role::Analyst), hub.token(&m2, Role::Analyst), hub.token(&m3, Role::Analyst));
    let tc = hub.token(&coord, Role::Coordinator);

    // The registry: a direct supplier, a maintainer whose offering subcontracts to a
    // third company (the fourth party).
    let add_supplier = |name: &str| {
        let q = "mutation($i: SupplierInput!) { addSupplier(input: $i) { id } }";
        id(&hub.gql(&tc, q, json!({"i": {"legalName": name, "nameJa": name, "country": "JP"}}))["addSupplier"])
    };
    let (direct, maintainer, sub) =
        (add_supplier("直接株式会社"), add_supplier("保守株式会社"), add_supplier("再委託株式会社"));
    let offering = id(&hub.gql(
        &tc,
        "mutation($i: OfferingInput!) { addOffering(input: $i) { id } }",
        json!({"i": {"supplierId": maintainer, "name": "Remote maintenance", "kind": "MAINTENANCE", "subcontractorIds": [sub]}}),
    )["addOffering"]);
    // An offering of the direct supplier that an asset names without naming its supplier.
    let metering = id(&hub.gql(
        &tc,
        "mutation($i: OfferingInput!) { addOffering(input: $i) { id } }",
        json!({"i": {"supplierId": direct, "name": "Metering service", "kind": "CLOUD_SERVICE"}}),
    )["addOffering"]);

    // The ICS asset type T0866 targets, by the catalog (or one the item will name).
    let target = if catalog.is_some() {
        let q = "{ attack { relations(kind: \"targets\", sourceId: \"T0866\") { targetId } } }";
        hub.gql(&t1, q, json!({}))["attack"]["relations"][0]["targetId"].as_str().expect("a target").to_string()
    } else {
        "A0003".to_string()
    };

    // Member One's register.
    let dir = TempDir::new("renkei-reassess-test");
    let mut conn = register::open(&dir.0.join("register.db")).expect("register");
    let api = HubApi::new(&hub.base, t1.clone(), None).expect("api");
    sync::init(&mut conn, &api, &hub.base, None).expect("init");
    let asset =
        |v: Value| (v["name"].as_str().unwrap_or_default().to_string(), serde_json::from_value(v).expect("asset"));
    flags::import_assets(
        &mut conn,
        vec![
            asset(json!({"name": "Plant HMI", "kind": "ot_device", "criticality": 5, "version": "2.1",
                "cpe": "cpe:2.3:a:acme:scada_hmi:2.1:*:*:*:*:*:*:*", "ics_asset_types": [target], "exposure": "control"})),
            asset(json!({"name": "Historian", "kind": "system", "criticality": 3, "vendor": "Acme Corp", "product": "Data Historian"})),
            asset(json!({"name": "Billing cloud", "kind": "cloud", "criticality": 4, "suppliers": [direct]})),
            asset(json!({"name": "Field gateway", "kind": "component", "criticality": 4, "suppliers": [maintainer], "offerings": [offering]})),
            asset(json!({"name": "Smart meters", "kind": "cloud", "criticality": 3, "offerings": [metering]})),
        ],
    )
    .expect("assets");
    services::put(
        &mut conn,
        services::Service {
            name: "Power supply".into(),
            mission: "essential".into(),
            tolerable_outage_hours: 2.0,
            impact_criteria: vec!["outage over 2 h = 5".into()],
        },
    )
    .expect("service");
    let r1 = risks::add(
        &mut conn,
        risks::RiskInput {
            assets: vec!["Plant HMI".into()],
            techniques: vec!["T0866".into()],
            current: Some(risks::FactorsInput { impact: None, threat: 3, vulnerability: 3 }),
            ..risk("HMI taken over remotely", "asset")
        },
    )
    .expect("r1");
    let r2 = risks::add(
        &mut conn,
        risks::RiskInput { assets: vec!["Historian".into()], ..risk("Historian data loss", "asset") },
    )
    .expect("r2");
    let r3 = risks::add(
        &mut conn,
        risks::RiskInput {
            services: vec!["Power supply".into()],
            suppliers: vec![risks::Dependency { supplier: direct.clone(), offering: None, dependency: 4 }],
            current: factors(5, 3, 3),
            ..risk("Supply stops through the direct supplier", "business_damage")
        },
    )
    .expect("r3");
    let r4 = risks::add(
        &mut conn,
        risks::RiskInput { assets: vec!["Field gateway".into()], ..risk("Maintenance channel abused", "asset") },
    )
    .expect("r4");
    let r5 = risks::add(
        &mut conn,
        risks::RiskInput {
            assets: vec!["Billing cloud".into()],
            treatment: "accept".into(),
            approver: Some("CISO".into()),
            accepted_until: Some("2026-01-01".into()),
            ..risk("Billing outage accepted", "asset")
        },
    )
    .expect("r5");
    let r6 = risks::add(
        &mut conn,
        risks::RiskInput {
            assets: vec!["Plant HMI".into()],
            cves: vec!["CVE-2026-1234".into()],
            ..risk("Known HMI flaw", "asset")
        },
    )
    .expect("r6");
    let r7 = risks::add(
        &mut conn,
        risks::RiskInput { assets: vec!["Smart meters".into()], ..risk("Meter readings lost", "asset") },
    )
    .expect("r7");
    assert_eq!(r1, "R-0001");
    // The asset-based rating took the asset's importance as its impact.
    assert_eq!(risks::get(&mut conn, &r1).expect("r1").current.expect("rated").factors.impact, 5);

    // The chain is read from the hub's registry.
    let refreshed = context::refresh(&mut conn, &api).expect("refresh");
    assert_eq!(refreshed.suppliers, 2, "the two suppliers the register names");
    assert!(refreshed.chain_links >= 2, "{refreshed:?}");
    if catalog.is_some() {
        assert!(refreshed.targets > 50, "{refreshed:?}");
    }
    let options = sync::SyncOptions { page_size: 50, max_pages: None };
    sync::sync(&mut conn, &api, &options, &mut |_| {}).expect("first sync");

    // What other members share.
    let technique = if catalog.is_some() {
        json!({"attackId": "T0866", "narrative": "reached an HMI through a remote service"})
    } else {
        json!({"attackId": "T0866", "name": "Exploitation of Remote Services", "narrative": "reached an HMI", "icsAssetTypes": [target]})
    };
    let q = "mutation($i: TechniqueInput!, $s: SharingInput!) { shareTechnique(input: $i, sharing: $s) { id } }";
    let technique_id = id(&hub.gql(&t2, q, json!({"i": technique, "s": {"tlp": "GREEN"}}))["shareTechnique"]);
    let advisory = id(&hub.gql(
        &t2,
        ADVISORY,
        json!({"i": {"cveId": "CVE-2026-1234", "title": "Acme SCADA HMI and Historian remote code execution",
            "exploitation": "KNOWN_EXPLOITED",
            "affected": [
                {"cpe": "cpe:2.3:a:acme:scada_hmi:*:*:*:*:*:*:*:*", "versionEndExcluding": "3.0"},
                {"cpe": "cpe:2.3:a:acme_corp:data_historian:*:*:*:*:*:*:*:*"}
            ]}, "s": {"tlp": "GREEN"}}),
    )["shareAdvisory"]);
    // Fixed before the version the member runs: no flag.
    hub.gql(
        &t2,
        ADVISORY,
        json!({"i": {"cveId": "CVE-2026-2000", "title": "An old HMI flaw",
            "affected": [{"cpe": "cpe:2.3:a:acme:scada_hmi:*:*:*:*:*:*:*:*", "versionEndExcluding": "2.0"}]},
            "s": {"tlp": "GREEN"}}),
    );
    // Ratings: a good assessment, then a member that disagrees completely.
    for supplier in [&direct, &sub] {
        hub.gql(
            &t2,
            SUBMIT,
            json!({"i": handbook_assessment(supplier, &[], "QUESTIONNAIRE_REVIEWED", 2), "s": {"tlp": "GREEN"}}),
        );
        hub.gql(
            &t3,
            SUBMIT,
            json!({"i": handbook_assessment(supplier, &[], "QUESTIONNAIRE_REVIEWED", 0), "s": {"tlp": "GREEN"}}),
        );
    }
    let q =
        "mutation($i: IncidentInput!, $s: SharingInput!) { reportIncident(input: $i, sharing: $s) { id supplierIds } }";
    let incident = hub.gql(
        &t2,
        q,
        json!({"i": {"title": "Breach at a supplier", "summary": "its support portal was breached", "sector": "electricity",
            "serviceImpact": "NONE", "supplierIds": [direct]}, "s": {"tlp": "GREEN"}}),
    )["reportIncident"]
        .clone();
    assert_eq!(incident["supplierIds"], json!([direct]));
    let (code, _) = hub.gql_error(
        &t2,
        q,
        json!({"i": {"title": "x", "summary": "x", "sector": "x", "serviceImpact": "NONE",
        "supplierIds": ["supplier--00000000-0000-4000-8000-000000000000"]}, "s": {"tlp": "GREEN"}}),
    );
    assert_eq!(code, "UNKNOWN_REFERENCE", "a supplier not in the registry is refused");

    let synced = sync::sync(&mut conn, &api, &options, &mut |_| {}).expect("sync");
    assert!(synced.refused.is_empty(), "{:?}", synced.refused);
    flags::raise_due(&mut conn, chrono::Utc::now()).expect("due");
    let all = open_flags(&mut conn);

    // T4: the technique the risk assumes, and the ICS asset type it targets, in one flag.
    let f = one(&all, &r1, "technique");
    assert_eq!((f.source.as_str(), f.quality.as_str()), (technique_id.as_str(), "exact"));
    let selectors: Vec<&str> = f.detail.evidence.iter().map(|e| e.selector.as_str()).collect();
    assert_eq!(selectors, ["technique", "ics_asset_type"], "{f:#?}");
    let how = if catalog.is_some() { "ATT&CK for ICS targets" } else { "named by the item" };
    assert!(f.detail.evidence[1].theirs.contains(&target) && f.detail.evidence[1].theirs.contains(how), "{f:#?}");
    assert!(f.detail.suggestion_ja.contains("T0866"));
    // The other risk on that HMI assumes no technique: matched through the asset type only.
    assert_eq!(one(&all, &r6, "technique").quality, "inferred");
    // T1: a CVE the risk names and the asset's CPE in range; the version-only match; a
    // vendor and product named in free text (no version known).
    let f = one(&all, &r6, "vulnerability");
    assert_eq!((f.source.as_str(), f.quality.as_str()), (advisory.as_str(), "exact"));
    assert_eq!(f.detail.evidence.len(), 2, "{f:#?}");
    assert_eq!(flags::priority_label(f.priority), "act / 即時対応", "known exploited: {f:#?}");
    assert_eq!(one(&all, &r1, "vulnerability").quality, "version_in_range");
    let f = one(&all, &r2, "vulnerability");
    assert_eq!(f.quality, "product_only");
    assert!(f.detail.evidence[0].ours.contains("version unknown"), "{f:#?}");
    assert!(
        all.values().flatten().all(|f| !f.detail.source_title.contains("CVE-2026-2000")),
        "a fixed version raises nothing"
    );
    // T6: the direct dependency (weighted by its dependency of 4), the asset's supplier,
    // and the fourth party through the maintainer's offering.
    let f = one(&all, &r3, "supplier_rating");
    assert_eq!(f.quality, "exact");
    assert!(f.detail.evidence[0].ours.contains("dependency 4/4"), "{f:#?}");
    assert!(f.detail.source_title.contains("worsened"), "{f:#?}");
    assert_eq!(one(&all, &r5, "supplier_rating").detail.evidence[0].via, "asset -> risk");
    let f = one(&all, &r4, "supplier_rating");
    assert_eq!(f.quality, "transitive");
    assert!(f.detail.evidence.iter().any(|e| e.theirs.contains(&sub) && e.theirs.contains("subcontractor")), "{f:#?}");
    // An asset naming only an offering depends on the offering's supplier (the hub says
    // which): its rating and its incidents reach the risk.
    let f = one(&all, &r7, "supplier_rating");
    assert_eq!(
        (f.quality.as_str(), f.detail.evidence[0].via.as_str()),
        ("exact", "offering -> asset -> risk"),
        "{f:#?}"
    );
    assert!(f.detail.evidence[0].ours.contains(&metering), "{f:#?}");
    one(&all, &r7, "supplier_incident");
    // T7: the supplier incident, ahead of the rating flag on the same risk.
    let incident_flag = one(&all, &r3, "supplier_incident");
    assert!(incident_flag.priority > one(&all, &r3, "supplier_rating").priority);
    one(&all, &r5, "supplier_incident");
    // T9: the acceptance lapsed.
    assert!(one(&all, &r5, "acceptance_expired").detail.source_title.contains("2026-01-01"));
    // Nothing else: R-0001..R-0007 and exactly these flags.
    let kinds: Vec<(String, String)> = all.keys().cloned().collect();
    assert_eq!(kinds.len(), 13, "{kinds:#?}");

    // Again: nothing new, nothing doubled.
    let before = flags::list(&mut conn, "all").expect("flags").len();
    let again = sync::sync(&mut conn, &api, &options, &mut |_| {}).expect("sync");
    assert_eq!(again.flags, flags::Recorded::default());
    flags::raise_due(&mut conn, chrono::Utc::now()).expect("due");
    assert_eq!(flags::list(&mut conn, "all").expect("flags").len(), before);

    // A new revision of the advisory updates its flags rather than adding any.
    let correct = "mutation($id: ID!) { correct(id: $id, correction: {description: \"exploited since November\"}) { __typename } }";
    hub.gql(&t2, correct, json!({"id": advisory}));
    let revised = sync::sync(&mut conn, &api, &options, &mut |_| {}).expect("sync");
    assert_eq!((revised.flags.raised, revised.flags.updated), (0, 3), "{revised:?}");
    let f = one(&open_flags(&mut conn), &r6, "vulnerability").clone();
    assert_eq!(f.source_revision, 2);

    // Dismissing needs a reason, and keeps it; the flag is not raised again for the
    // same revision.
    let historian = one(&open_flags(&mut conn), &r2, "vulnerability").id;
    assert!(flags::dismiss(&mut conn, historian, " ").is_err());
    flags::dismiss(&mut conn, historian, "the historian is an Acme Corp appliance not affected").expect("dismiss");
    assert!(flags::dismiss(&mut conn, historian, "again").is_err(), "only open flags are dismissed");

    // A tightened label takes the advisory away: its open flags are withdrawn.
    let relabel = "mutation($id: ID!, $r: [ID!]) { changeLabel(id: $id, tlp: RED, recipients: $r) { id } }";
    hub.gql(&t2, relabel, json!({"id": advisory, "r": [coord]}));
    sync::sync(&mut conn, &api, &options, &mut |_| {}).expect("sync");
    assert!(register::all_items(&mut conn).expect("items").iter().all(|i| i.id != advisory));
    let open = open_flags(&mut conn);
    assert!(!open.contains_key(&(r6.clone(), "vulnerability".into())), "withdrawn with the item");
    let withdrawn = flags::list(&mut conn, "withdrawn").expect("flags");
    assert_eq!(withdrawn.len(), 2, "R-0001's and R-0006's");

    // An assessment resolves the risk's open flags, as a new revision with its note.
    assert!(flags::assess_risk(&mut conn, &r3, risks::Assessment::default()).is_err(), "a note is required");
    let (revision, resolved) = flags::assess_risk(
        &mut conn,
        &r3,
        risks::Assessment {
            current: factors(5, 4, 3),
            note: "supplier breach confirmed; threat raised".into(),
            ..Default::default()
        },
    )
    .expect("assess");
    assert_eq!((revision, resolved), (2, 2));
    assert_eq!(risks::revisions(&mut conn, &r3).expect("revisions").len(), 2);
    assert!(!open_flags(&mut conn).keys().any(|(r, _)| r == &r3));

    // Dates: a year on, every risk is due for review, once.
    let later = chrono::Utc::now() + chrono::Duration::days(400);
    let due = flags::raise_due(&mut conn, later).expect("due");
    assert_eq!(due.raised, 7, "{due:?}");
    assert_eq!(flags::raise_due(&mut conn, later).expect("due").raised, 0);

    // The management report names the risks, the flags and the suppliers.
    let md = report::render(&mut conn, "md").expect("md");
    for needle in
        ["# Cyber risk report / サイバーリスク報告", &r1, "Open reassessment flags", "直接株式会社", "review due"]
    {
        assert!(md.contains(needle), "{needle} missing:\n{md}");
    }
    // The supplier's row lists the risks depending on it directly, through an asset, and
    // through an asset that names only its offering.
    let row = md.lines().find(|l| l.starts_with("| 直接株式会社")).expect("the supplier's row");
    assert!(row.ends_with(&format!("| {r3}, {r5}, {r7} |")), "{row}");
    // With the tier the latest rating event gave (the hub's live rating for the member).
    let q = "query($id: ID!) { supplier(id: $id) { rating { tier } } }";
    let tier = hub.gql(&t1, q, json!({"id": direct}))["supplier"]["rating"]["tier"].as_str().expect("tier").to_string();
    assert!(row.contains(&format!(") | {tier} |")), "{tier}: {row}");
    let html = report::render(&mut conn, "html").expect("html");
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("<table>") && !html.contains("<script"));
    assert!(report::render(&mut conn, "pdf").is_err());
}
