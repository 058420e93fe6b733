//! The member's risk register on its own (no hub needed): risks checked whole with
//! every problem named in English and Japanese and nothing half-stored, revisions kept,
//! sub-technique matching, internal changes (an asset, the matrix) flagging the risks
//! that rest on them, and the CSF profile gaps in priority order.

use renkei_client::{assets, flags, matrix, profiles, register, risks};
use renkei_e2e::TempDir;

fn open() -> (TempDir, diesel::SqliteConnection) {
    let dir = TempDir::new("renkei-register-test");
    let conn = register::open(&dir.0.join("register.db")).expect("register");
    (dir, conn)
}

fn asset(name: &str, version: &str) -> (String, assets::AssetInput) {
    let input = assets::AssetInput {
        name: name.into(),
        kind: "ot_device".into(),
        criticality: 4,
        version: Some(version.into()),
        ics_asset_types: vec!["A0002".into()],
        ..Default::default()
    };
    (name.into(), input)
}

fn factors(threat: usize, vulnerability: usize) -> Option<risks::FactorsInput> {
    Some(risks::FactorsInput { impact: None, threat, vulnerability })
}

#[test]
fn bad_risks_are_refused_whole_and_revisions_are_kept() {
    let (_dir, mut conn) = open();
    flags::import_assets(&mut conn, vec![asset("HMI", "2.1")]).expect("assets");
    let bad = risks::RiskInput {
        title: " ".into(),
        method: "asset".into(),
        assets: vec!["HMI".into(), "Ghost".into()],
        techniques: vec!["T99".into()],
        cves: vec!["CVE-26-1".into()],
        current: factors(5, 5),
        target: factors(1, 1),
        treatment: "accept".into(),
        csf: vec!["XX.YY".into()],
        ..Default::default()
    };
    let err = format!("{:#}", risks::add(&mut conn, bad).expect_err("refused"));
    for needle in [
        "the title is empty / 件名が空です",
        "no asset \"Ghost\"",
        "technique \"T99\"",
        "CVE \"CVE-26-1\"",
        "needs an approver and an expiry",
        "target is below the current level but no control",
        "CSF 2.0",
    ] {
        assert!(err.contains(needle), "{needle} missing from:\n{err}");
    }
    assert!(risks::list(&mut conn).expect("list").is_empty(), "nothing stored");
    let business = risks::RiskInput {
        title: "Outage".into(),
        method: "business_damage".into(),
        services: vec!["Nowhere".into()],
        current: factors(3, 3),
        ..Default::default()
    };
    let err = format!("{:#}", risks::add(&mut conn, business).expect_err("refused"));
    assert!(err.contains("no service \"Nowhere\"") && err.contains("damage size"), "{err}");

    let id = risks::add(
        &mut conn,
        risks::RiskInput {
            title: "HMI misuse".into(),
            method: "asset".into(),
            assets: vec!["HMI".into()],
            current: factors(4, 4),
            target: factors(2, 2),
            controls: vec!["MFA on remote access".into()],
            treatment: "mitigate".into(),
            ..Default::default()
        },
    )
    .expect("add");
    assert_eq!(id, "R-0001", "the refused attempts used no number");
    let first = risks::get(&mut conn, &id).expect("get");
    let current = first.current.clone().expect("rated");
    // impact 4 (the asset's criticality), likelihood ceil(16/5) = 4, 4 x 4 = 16: High.
    assert_eq!((current.factors.impact, current.likelihood, current.value, current.level), (4, 4, 64, 2));
    // Accepting needs an approver and expiry; once given, a new revision.
    let accept =
        risks::Assessment { treatment: Some("accept".into()), note: "accept for now".into(), ..Default::default() };
    assert!(flags::assess_risk(&mut conn, &id, accept.clone()).is_err());
    let accept =
        risks::Assessment { approver: Some("CISO".into()), accepted_until: Some("2027-03-31".into()), ..accept };
    assert_eq!(flags::assess_risk(&mut conn, &id, accept).expect("assess"), (2, 0));
    let revisions = risks::revisions(&mut conn, &id).expect("revisions");
    assert_eq!(
        revisions.iter().map(|r| (r.0, r.2.as_str())).collect::<Vec<_>>(),
        [(1, "created"), (2, "accept for now")]
    );
    assert_eq!(risks::get(&mut conn, &id).expect("get").treatment, "accept");
}

#[test]
fn sub_techniques_assets_and_matrix_changes_flag_risks() {
    let (_dir, mut conn) = open();
    flags::import_assets(&mut conn, vec![asset("HMI", "2.1")]).expect("assets");
    let id = risks::add(
        &mut conn,
        risks::RiskInput {
            title: "Phishing into the plant".into(),
            method: "asset".into(),
            assets: vec!["HMI".into()],
            techniques: vec!["T1566".into()],
            current: factors(3, 3),
            ..Default::default()
        },
    )
    .expect("add");

    // A sub-technique of an assumed technique matches it.
    let item = register::ItemRow {
        id: "attack-pattern--0001".into(),
        kind: "technique".into(),
        revision: 1,
        tlp: "TLP:GREEN".into(),
        seq: 1,
        stix: serde_json::json!({"type": "attack-pattern", "id": "attack-pattern--0001", "name": "Spearphishing Attachment",
            "external_references": [{"source_name": "mitre-attack", "external_id": "T1566.001"}]})
        .to_string(),
        signature: String::new(),
        received_at: String::new(),
    };
    let index = flags::MatchIndex::load(&mut conn).expect("index");
    let recorded = flags::match_items(&mut conn, &index, std::slice::from_ref(&item)).expect("match");
    assert_eq!(recorded.raised, 1);
    let flag = &flags::list(&mut conn, "open").expect("flags")[0];
    assert_eq!((flag.risk_id.as_str(), flag.quality.as_str()), (id.as_str(), "exact"));
    assert_eq!(flag.detail.evidence[0].ours, "risk assumes T1566");
    // The same revision again updates, never doubles.
    let again = flags::match_items(&mut conn, &index, std::slice::from_ref(&item)).expect("match");
    assert_eq!((again.raised, again.updated), (0, 1));
    // Dismissed, it stays dismissed for that revision; a new revision raises it again.
    flags::dismiss(&mut conn, flag.id, "phishing training covers it").expect("dismiss");
    assert_eq!(flags::match_items(&mut conn, &index, std::slice::from_ref(&item)).expect("match").suppressed, 1);
    let revised = register::ItemRow { revision: 2, ..item };
    assert_eq!(flags::match_items(&mut conn, &index, &[revised]).expect("match").raised, 1);

    // An asset's new version flags the risks on it; the same import again does not.
    flags::import_assets(&mut conn, vec![asset("HMI", "3.0")]).expect("assets");
    let changed: Vec<flags::Flag> =
        flags::list(&mut conn, "open").expect("flags").into_iter().filter(|f| f.trigger == "asset_changed").collect();
    assert_eq!(changed.len(), 1);
    assert_eq!(changed[0].detail.evidence[0].theirs, "version: 2.1 -> 3.0");
    flags::import_assets(&mut conn, vec![asset("HMI", "3.0")]).expect("assets");
    assert_eq!(
        flags::list(&mut conn, "open").expect("flags").iter().filter(|f| f.trigger == "asset_changed").count(),
        1
    );
    // A malformed ICS asset type is named, not stored.
    let named = assets::AssetInput { ics_asset_types: vec!["Human-Machine Interface".into()], ..asset("X", "1").1 };
    let err = format!("{:#}", flags::import_assets(&mut conn, vec![("row 2".into(), named)]).expect_err("refused"));
    assert!(err.contains("row 2: ICS asset type") && err.contains("A0002"), "{err}");

    // A new matrix flags every rating made under the old one; re-rating resolves it.
    let mut m = matrix::current(&mut conn).expect("matrix");
    assert!(matrix::replace(&mut conn, m.clone()).is_err(), "the version must go up");
    m.version = 2;
    m.levels[0].review_days = 30;
    matrix::replace(&mut conn, m).expect("replace");
    let due = flags::raise_due(&mut conn, chrono::Utc::now()).expect("due");
    assert_eq!(due.raised, 1);
    let assessed = flags::assess_risk(
        &mut conn,
        &id,
        risks::Assessment { current: factors(3, 2), note: "re-rated on matrix 2".into(), ..Default::default() },
    )
    .expect("assess");
    assert_eq!(assessed.1, 3, "the technique, asset and matrix flags");
    assert_eq!(risks::get(&mut conn, &id).expect("get").matrix_version, 2);
    assert_eq!(flags::raise_due(&mut conn, chrono::Utc::now()).expect("due").raised, 0);
}

#[test]
fn profile_gaps_come_in_priority_order() {
    let (_dir, mut conn) = open();
    profiles::set(&mut conn, "gv.sc", 1, 3, 1, "supplier oversight").expect("set");
    profiles::set(&mut conn, "DE.CM", 2, 4, 2, "").expect("set");
    profiles::set(&mut conn, "ID.RA-05", 1, 2, 2, "").expect("set");
    profiles::set(&mut conn, "PR", 3, 3, 1, "").expect("set");
    assert!(profiles::set(&mut conn, "ZZ.TOP", 1, 2, 1, "").is_err());
    assert!(profiles::set(&mut conn, "ID.AM", 0, 5, 1, "").is_err());
    let gaps = profiles::gaps(&mut conn).expect("gaps");
    let order: Vec<(&str, i32)> = gaps.iter().map(|g| (g.area.as_str(), g.target - g.current)).collect();
    assert_eq!(order, [("GV.SC", 2), ("DE.CM", 2), ("ID.RA", 1)], "priority, then the wider gap; PR has none");
    assert!(gaps[0].name.contains("サプライチェーン"));
}
