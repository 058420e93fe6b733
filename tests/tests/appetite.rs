//! Risk appetite and tolerance (handbook 5.1) and contingency readiness (handbook 7 and
//! the annex's seven traits) in the member's register: statements and incidents checked
//! whole (every bad row named in English and Japanese, nothing stored); a service's
//! own incidents measured within, trending or breached in a rolling window at fixed
//! dates; a breach or a trend flagging the risks tied to the service, once per
//! statement; the readiness answers, reviews and due dates; and, against a real hub, a
//! shared technique making "evolving techniques" (and its tactic's trait) due and a
//! shared incident making "damage scenarios" and "simultaneous attacks" due while it is
//! counted beside, never in, the member's own figures.

use chrono::{DateTime, Duration, Utc};
use renkei_client::appetite::{self, IncidentInput, State, StatementInput};
use renkei_client::readiness::{self, AnswerInput};
use renkei_client::{flags, hub_api::HubApi, register, risks, services, sync};
use renkei_e2e::{Backend, TempDir, TestHub};
use renkei_hub::auth::Role;
use serde_json::json;

fn open() -> (TempDir, diesel::SqliteConnection) {
    let dir = TempDir::new("renkei-appetite-test");
    let conn = register::open(&dir.0.join("register.db")).expect("register");
    (dir, conn)
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).expect("time").with_timezone(&Utc)
}

/// The fixed "now" of the register-only tests.
fn now() -> DateTime<Utc> {
    at("2026-11-30T00:00:00Z")
}

fn service(conn: &mut diesel::SqliteConnection, name: &str) {
    services::put(
        conn,
        services::Service {
            name: name.into(),
            mission: "essential".into(),
            tolerable_outage_hours: 4.0,
            impact_criteria: vec![],
        },
    )
    .expect("service");
}

fn statement(service: &str, kind: &str, max: i64, degradation: f64, hours: Option<f64>) -> StatementInput {
    StatementInput {
        service: service.into(),
        kind: kind.into(),
        max_incidents: max,
        period_days: 365,
        max_degradation: degradation,
        max_outage_hours: hours,
        ..Default::default()
    }
}

fn incident(service: &str, started: &str, hours: i64, degradation: f64) -> IncidentInput {
    let s = at(started);
    IncidentInput {
        service: service.into(),
        started: s.to_rfc3339(),
        ended: (s + Duration::hours(hours)).to_rfc3339(),
        degradation,
        title: Some(format!("outage of {started}")),
    }
}

fn rows(list: Vec<IncidentInput>) -> appetite::IncidentRows {
    list.into_iter().enumerate().map(|(i, x)| (format!("row {}", i + 2), Some(x), vec![])).collect()
}

fn business_risk(conn: &mut diesel::SqliteConnection, title: &str, service: &str, techniques: &[&str]) -> String {
    risks::add(
        conn,
        risks::RiskInput {
            title: title.into(),
            method: "business_damage".into(),
            services: vec![service.into()],
            techniques: techniques.iter().map(|t| t.to_string()).collect(),
            current: Some(risks::FactorsInput { impact: Some(5), threat: 3, vulnerability: 3 }),
            ..Default::default()
        },
    )
    .expect("risk")
}

fn appetite_flags(conn: &mut diesel::SqliteConnection, status: &str) -> Vec<flags::Flag> {
    flags::list(conn, status).expect("flags").into_iter().filter(|f| f.trigger == "appetite_breach").collect()
}

#[test]
fn statements_and_incidents_are_checked_whole_and_nothing_half_stored() {
    let (dir, mut conn) = open();
    service(&mut conn, "Power supply");

    // A statement: every problem at once, in both languages.
    let bad = StatementInput {
        service: "Gas supply".into(),
        kind: "wish".into(),
        max_incidents: -1,
        period_days: 0,
        max_degradation: 120.0,
        max_outage_hours: Some(-2.0),
        ..Default::default()
    };
    let err = appetite::set(&mut conn, bad, now()).expect_err("refused").to_string();
    for needle in [
        "no service \"Gas supply\"",
        "サービス「Gas supply」は登録されていません",
        "kind \"wish\"",
        "max_incidents must be 0",
        "period_days must be 1",
        "max_degradation is a percentage",
        "最大機能低下",
        "max_outage_hours must be zero or more",
    ] {
        assert!(err.contains(needle), "{needle} missing: {err}");
    }
    assert!(appetite::list(&mut conn).expect("list").is_empty(), "nothing stored");
    let s = appetite::set(&mut conn, statement("Power supply", "", 3, 20.0, None), now()).expect("set");
    assert_eq!((s.kind.as_str(), s.revision), ("appetite", 1));
    assert!(
        s.statement.contains("at most 3 incidents in 365 days")
            && s.statement_ja.contains("365日間にインシデント3件まで")
    );
    let s = appetite::set(&mut conn, statement("Power supply", "appetite", 2, 20.0, None), now()).expect("again");
    assert_eq!(s.revision, 2, "a changed statement is a new revision");

    // A file of incidents: every bad row named, in both languages; nothing stored.
    let csv = dir.0.join("incidents.csv");
    std::fs::write(
        &csv,
        "service,started,ended,degradation,title\n\
         Power supply,2026-10-01T00:00:00Z,2026-10-01T05:00:00Z,10,fine\n\
         Ghost,2026-10-02T00:00:00Z,2026-10-01T00:00:00Z,150,\"three, at once\"\n\
         Power supply,yesterday,2026-10-03T00:00:00Z,x,two\n\
         Power supply,2026-10-01T00:00:00Z,2026-10-01T01:00:00Z,5,same start as row 2\n\
         Power supply,2026-11-01T00:00:00Z,2027-01-01T00:00:00Z,5,ends after now\n",
    )
    .expect("write");
    let err = flags::record_incidents(&mut conn, appetite::read_file(&csv).expect("read"), now())
        .expect_err("refused")
        .to_string();
    for needle in [
        "row 3 / 3行目: no service \"Ghost\"",
        "row 3 / 3行目: it ended before it started / 終了時刻が開始時刻より前です",
        "row 3 / 3行目: degradation is a percentage from 0 to 100",
        "row 4 / 4行目: degradation \"x\" is not a number",
        "row 4 / 4行目: started \"yesterday\" is not an RFC 3339 time / 開始時刻「yesterday」",
        "row 5 / 5行目: the same service and start as row 2 / 2行目と同じサービス・開始時刻です",
        "row 6 / 6行目: it ends in the future",
    ] {
        assert!(err.contains(needle), "{needle} missing: {err}");
    }
    assert!(!err.contains("row 2 / 2行目:"), "row 2 is fine: {err}");
    assert!(appetite::incidents(&mut conn, None).expect("list").is_empty(), "nothing stored");

    // The same in JSON, with a row that is not an incident at all.
    let json_file = dir.0.join("incidents.json");
    std::fs::write(
        &json_file,
        json!([
            {"service": "Power supply", "started": "2026-10-01T00:00:00Z", "ended": "2026-10-01T05:00:00Z", "degradation": 10},
            {"service": "Power supply", "begun": "2026-10-01"},
            {"service": "Power supply", "started": "2026-10-05T00:00:00+09:00", "ended": "2026-10-05T03:00:00+09:00", "degradation": -5}
        ])
        .to_string(),
    )
    .expect("write");
    let err = flags::record_incidents(&mut conn, appetite::read_file(&json_file).expect("read"), now())
        .expect_err("refused")
        .to_string();
    assert!(err.contains("incident 2 / インシデント2: not an incident") && err.contains("begun"), "{err}");
    assert!(err.contains("incident 3 / インシデント3: degradation is a percentage"), "{err}");
    assert!(appetite::incidents(&mut conn, None).expect("list").is_empty());

    // A good file is stored whole; importing it again changes nothing.
    std::fs::write(
        &csv,
        "service,started,ended,degradation,title\n\
         Power supply,2026-10-01T00:00:00Z,2026-10-01T05:00:00Z,10,\"HMI down, substation 3\"\n\
         Power supply,2026-10-05T00:00:00+09:00,2026-10-05T03:00:00+09:00,15 %,\n",
    )
    .expect("write");
    let (stored, _) = flags::record_incidents(&mut conn, appetite::read_file(&csv).expect("read"), now()).expect("ok");
    assert_eq!((stored.stored, stored.unchanged), (2, 0));
    let (stored, _) = flags::record_incidents(&mut conn, appetite::read_file(&csv).expect("read"), now()).expect("ok");
    assert_eq!((stored.stored, stored.unchanged), (0, 2));
    let held = appetite::incidents(&mut conn, None).expect("list");
    assert_eq!(held.len(), 2);
    // Stored in UTC, the latest first; the quoted comma kept.
    assert_eq!((held[0].started.as_str(), held[0].degradation), ("2026-10-04T15:00:00Z", 15.0));
    assert_eq!((held[1].title.as_str(), held[1].outage_hours()), ("HMI down, substation 3", 5.0));
}

#[test]
fn own_incidents_are_within_trending_or_breached_in_a_rolling_window() {
    let (_dir, mut conn) = open();
    service(&mut conn, "Power supply");
    service(&mut conn, "Billing");
    appetite::set(&mut conn, statement("Power supply", "appetite", 3, 20.0, None), now()).expect("appetite");
    appetite::set(&mut conn, statement("Power supply", "tolerance", 5, 50.0, Some(4.0)), now()).expect("tolerance");
    let state = |conn: &mut diesel::SqliteConnection, at: DateTime<Utc>| -> Vec<(String, State, usize)> {
        appetite::status(conn, at)
            .expect("status")
            .into_iter()
            .map(|s| (s.statement.kind.clone(), s.state, s.own.count))
            .collect()
    };
    let add = |conn: &mut diesel::SqliteConnection, list: Vec<IncidentInput>| {
        flags::record_incidents(conn, rows(list), now()).expect("incidents");
    };
    // Older than the window, and another service's: not counted.
    add(
        &mut conn,
        vec![
            incident("Power supply", "2025-10-01T00:00:00Z", 1, 90.0),
            incident("Billing", "2026-11-01T00:00:00Z", 9, 90.0),
        ],
    );
    // One early in the window.
    add(&mut conn, vec![incident("Power supply", "2026-01-10T00:00:00Z", 2, 10.0)]);
    assert_eq!(
        state(&mut conn, now()),
        [("appetite".into(), State::Within, 1), ("tolerance".into(), State::Within, 1)]
    );
    // Two in the latest half year: at this pace a year holds 4, over the appetite's 3.
    add(&mut conn, vec![incident("Power supply", "2026-09-01T00:00:00Z", 1, 10.0)]);
    add(&mut conn, vec![incident("Power supply", "2026-11-01T00:00:00Z", 3, 10.0)]);
    let status = appetite::status(&mut conn, now()).expect("status");
    let a = &status[0];
    assert_eq!((a.state, a.own.count, a.own.projected), (State::Trending, 3, 4));
    assert!(a.reasons[0].en.contains("at the limit"), "3 of 3 is at the limit: {:?}", a.reasons);
    assert_eq!((status[1].state, status[1].own.projected), (State::Within, 4), "4 is under the tolerance's 5");
    assert_eq!((a.own.worst_degradation, a.own.longest_outage_hours), (10.0, 3.0));
    assert_eq!(a.window_start, "2025-11-30T00:00:00Z");
    // A fourth: the appetite is breached, the tolerance is not.
    add(&mut conn, vec![incident("Power supply", "2026-11-20T00:00:00Z", 1, 10.0)]);
    assert_eq!(
        state(&mut conn, now()),
        [("appetite".into(), State::Breached, 4), ("tolerance".into(), State::Trending, 4)]
    );
    // One incident too long for the tolerance, too deep for both.
    add(&mut conn, vec![incident("Power supply", "2026-11-25T00:00:00Z", 6, 60.0)]);
    let status = appetite::status(&mut conn, now()).expect("status");
    let t = &status[1];
    assert_eq!((t.state, t.own.count), (State::Breached, 5));
    let why: Vec<&str> = t.reasons.iter().map(|r| r.en.as_str()).collect();
    assert_eq!(why.len(), 2, "{why:?}");
    assert!(why[0].contains("degraded the service 60 %, over 50 %") && why[1].contains("lasted 6 h, over 4 h"));
    assert!(t.reasons[1].ja.contains("6時間続いたインシデント"), "{:?}", t.reasons);
    // The window moves on: a year and a half later every incident has left it.
    let later = at("2028-06-01T00:00:00Z");
    assert_eq!(
        state(&mut conn, later),
        [("appetite".into(), State::Within, 0), ("tolerance".into(), State::Within, 0)]
    );
}

#[test]
fn a_breach_or_trend_flags_the_services_risks_once_per_statement() {
    let (_dir, mut conn) = open();
    service(&mut conn, "Power supply");
    service(&mut conn, "Billing");
    let tied = business_risk(&mut conn, "Supply stops", "Power supply", &[]);
    let other = business_risk(&mut conn, "Billing stops", "Billing", &[]);
    appetite::set(&mut conn, statement("Power supply", "appetite", 2, 20.0, None), now()).expect("appetite");

    // Within: nothing.
    let (_, flagged) =
        flags::record_incidents(&mut conn, rows(vec![incident("Power supply", "2026-03-01T00:00:00Z", 1, 5.0)]), now())
            .expect("one");
    assert_eq!(flagged.raised, 0);
    // At the limit: a trend, flagged on the service's risk only.
    let (_, flagged) =
        flags::record_incidents(&mut conn, rows(vec![incident("Power supply", "2026-06-01T00:00:00Z", 1, 5.0)]), now())
            .expect("two");
    assert_eq!(flagged.raised, 1);
    let open = appetite_flags(&mut conn, "open");
    assert_eq!(open.len(), 1);
    let f = &open[0];
    assert_eq!(
        (f.risk_id.as_str(), f.source.as_str(), f.quality.as_str()),
        (tied.as_str(), "appetite:Power supply:appetite", "exact")
    );
    assert!(f.detail.source_title.contains("trending"), "{f:#?}");
    assert!(f.detail.suggestion_ja.contains("超過に向かっています"), "{f:#?}");
    assert!(!open.iter().any(|f| f.risk_id == other));

    // A breach updates the same flag: one open flag per (risk, statement), naming the
    // statement and the figures in both languages.
    let (_, flagged) = flags::record_incidents(
        &mut conn,
        rows(vec![incident("Power supply", "2026-11-01T00:00:00Z", 2, 30.0)]),
        now(),
    )
    .expect("three");
    assert_eq!((flagged.raised, flagged.updated), (0, 1));
    let open = appetite_flags(&mut conn, "open");
    assert_eq!(open.len(), 1);
    let f = &open[0];
    assert!(f.detail.source_title.contains("breached"), "{f:#?}");
    assert!(
        f.detail.suggestion.contains("at most 2 incidents in 365 days")
            && f.detail.suggestion.contains("3 incidents in 365 days, worst 30 % degradation"),
        "{}",
        f.detail.suggestion
    );
    assert!(
        f.detail.suggestion_ja.contains("リスク選好「リスク選好: 365日間にインシデント2件まで")
            && f.detail.suggestion_ja.contains("最大機能低下30%"),
        "{}",
        f.detail.suggestion_ja
    );
    assert_eq!(f.detail.evidence[0].via, "service Power supply -> risk");
    assert_eq!(flags::priority_label(f.priority), "act / 即時対応", "a breach on a rated risk: {}", f.priority);
    // A tolerance of the same service is a second statement: its own flag.
    appetite::set(&mut conn, statement("Power supply", "tolerance", 2, 25.0, None), now()).expect("tolerance");
    flags::raise_due(&mut conn, now()).expect("due");
    let sources: Vec<String> = appetite_flags(&mut conn, "open").into_iter().map(|f| f.source).collect();
    assert_eq!(sources.len(), 2, "{sources:?}");

    // An assessment resolves them; the same figures do not raise them again.
    flags::assess_risk(
        &mut conn,
        &tied,
        risks::Assessment { note: "substation redundancy planned".into(), ..Default::default() },
    )
    .expect("assess");
    assert!(appetite_flags(&mut conn, "open").is_empty());
    assert_eq!(flags::raise_due(&mut conn, now()).expect("due").raised, 0);
    // A new incident does.
    flags::record_incidents(&mut conn, rows(vec![incident("Power supply", "2026-11-20T00:00:00Z", 1, 5.0)]), now())
        .expect("four");
    assert_eq!(appetite_flags(&mut conn, "open").len(), 2);
    // Back within (the window moved on): the open flags stay until a person resolves them.
    flags::raise_due(&mut conn, at("2028-06-01T00:00:00Z")).expect("due");
    let open = appetite_flags(&mut conn, "open");
    assert_eq!(open.len(), 2, "not deleted when back within");
    assert!(appetite::status(&mut conn, at("2028-06-01T00:00:00Z"))
        .expect("status")
        .iter()
        .all(|s| s.state == State::Within));
}

#[test]
fn readiness_answers_are_reviewed_and_fall_due() {
    let (_dir, mut conn) = open();
    service(&mut conn, "Power supply");
    let risk = business_risk(&mut conn, "Supply stops", "Power supply", &[]);

    // The seven traits are built in, all unanswered.
    let all = readiness::list(&mut conn, now()).expect("list");
    assert_eq!(all.len(), 7);
    assert_eq!((all[1].info.slug, all[1].info.name_ja), ("evolving-techniques", "進化する攻撃手法"));
    assert!(all[4].info.guidance.contains("CEPTOAR"));
    assert!(all.iter().all(|t| t.state == readiness::State::Unanswered));

    // An answer: every problem at once, nothing stored.
    let bad = AnswerInput {
        answer: " ".into(),
        review_days: 0,
        risks: vec![risk.clone(), "R-0099".into()],
        trees: vec!["AT-0099".into()],
        ..Default::default()
    };
    let err = readiness::set(&mut conn, "9", bad.clone(), now()).expect_err("refused").to_string();
    for needle in [
        "no trait \"9\"",
        "the answer is empty",
        "回答(--answer)が空です",
        "review_days must be 1",
        "no risk R-0099 / リスク R-0099 はありません",
        "no attack tree AT-0099 / 攻撃ツリー AT-0099 はありません",
    ] {
        assert!(err.contains(needle), "{needle} missing: {err}");
    }
    assert_eq!(readiness::show(&mut conn, "3", now()).expect("show").state, readiness::State::Unanswered);
    assert!(readiness::review(&mut conn, "3", "looked", now())
        .expect_err("unanswered")
        .to_string()
        .contains("not answered yet"));

    // The damage scenario the answer rests on, as an attack tree of the risk.
    let plc: renkei_client::assets::AssetInput =
        serde_json::from_value(json!({"name": "PLC", "kind": "ot_device", "criticality": 5})).expect("asset");
    flags::import_assets(&mut conn, vec![("PLC".into(), plc)]).expect("asset");
    let tree: renkei_client::trees::TreeInput = serde_json::from_value(json!({
    "damage": "Supply stops", "services": ["Power supply"], "risk": risk, "damage_size": 5,
    "nodes": [
        {"id": "root", "kind": "or", "title": "Supply stops", "children": ["plc"]},
        {"id": "plc", "kind": "leaf", "title": "PLC logic changed", "technique": "T0831", "asset": "PLC",
         "threat": 3, "vulnerability": 3}
    ]}))
    .expect("tree");
    let tree_id = renkei_client::trees::import(&mut conn, vec![tree]).expect("tree").remove(0);
    let answer = AnswerInput {
        answer: "Cut points: the OT firewall and the maintenance VPN; contractors called from the list".into(),
        evidence: vec!["network diagram v4".into(), "contractor call list 2026-10".into()],
        review_days: 90,
        risks: vec![risk.clone()],
        trees: vec![tree_id.clone()],
        owner: Some("OT lead".into()),
    };
    readiness::set(&mut conn, "fast-spread", answer, now()).expect("set");
    let t = readiness::show(&mut conn, "3", now()).expect("show");
    assert_eq!(t.state, readiness::State::Current);
    assert_eq!((t.risks.clone(), t.trees.clone(), t.evidence.len()), (vec![risk.clone()], vec![tree_id.clone()], 2));
    assert_eq!(t.next_review.as_deref(), Some("2027-02-28T00:00:00Z"));
    // The review date passes: due; a review makes it current again and is kept.
    let later = now() + Duration::days(91);
    assert_eq!(readiness::show(&mut conn, "3", later).expect("show").state, readiness::State::Due);
    assert!(readiness::review(&mut conn, "3", " ", later).is_err(), "a note is required");
    readiness::review(&mut conn, "3", "cut points tested in the November drill", later).expect("review");
    let t = readiness::show(&mut conn, "3", later).expect("show");
    assert_eq!(t.state, readiness::State::Current);
    assert_eq!(t.reviews.len(), 2);
    assert_eq!(t.reviews[0].note, "cut points tested in the November drill");

    // Intelligence arriving in a sync page (here a page built by hand; against a real
    // hub below): a technique with the lateral-movement tactic makes 2 and 3 due.
    readiness::set(
        &mut conn,
        "2",
        AnswerInput { answer: "JPCERT/CC read daily".into(), review_days: 180, ..Default::default() },
        later,
    )
    .expect("set 2");
    let stix = json!({"type": "attack-pattern", "name": "Remote Services", "external_references": [{"source_name": "mitre-attack", "external_id": "T0886"}],
        "kill_chain_phases": [{"kill_chain_name": "mitre-ics-attack", "phase_name": "lateral-movement"}]});
    let item = register::ItemRow {
        id: "attack-pattern--00000000-0000-4000-8000-000000000001".into(),
        kind: "technique".into(),
        revision: 1,
        tlp: "GREEN".into(),
        seq: 1,
        stix: stix.to_string(),
        signature: String::new(),
        received_at: String::new(),
    };
    // Stored as a sync stores it, then matched.
    let store = |conn: &mut diesel::SqliteConnection, item: &register::ItemRow| {
        use diesel::RunQueryDsl;
        diesel::replace_into(renkei_client::tables::items::table).values(item).execute(conn).expect("stored");
    };
    store(&mut conn, &item);
    let index = flags::MatchIndex::load(&mut conn).expect("index");
    flags::match_items(&mut conn, &index, std::slice::from_ref(&item)).expect("page");
    let all = readiness::list(&mut conn, later).expect("list");
    assert_eq!(all[1].state, readiness::State::DueIntelligence);
    assert_eq!(all[2].state, readiness::State::DueIntelligence);
    let why = &all[2].intelligence[0];
    assert_eq!(why.item_id, item.id);
    assert!(why.reason.contains("T0886 (lateral-movement, the item's kill chain)"), "{why:?}");
    assert_eq!(all[3].state, readiness::State::Unanswered, "persistence: no bearing, still unanswered");
    // The same revision again (a re-sync) after a review does not make it due again.
    let answered = readiness::review(&mut conn, "3", "the VPN cut point covers T0886", later).expect("review");
    assert_eq!(answered, vec![item.id.clone()]);
    flags::match_items(&mut conn, &index, std::slice::from_ref(&item)).expect("again");
    assert_eq!(readiness::show(&mut conn, "3", later).expect("show").state, readiness::State::Current);
    // A later revision does.
    let revised = register::ItemRow { revision: 2, ..item };
    store(&mut conn, &revised);
    flags::match_items(&mut conn, &index, std::slice::from_ref(&revised)).expect("revised");
    assert_eq!(readiness::show(&mut conn, "3", later).expect("show").state, readiness::State::DueIntelligence);
}

#[test]
fn shared_intelligence_makes_readiness_due_and_is_counted_as_the_sectors() {
    let hub = TestHub::start(Backend::Postgres);
    let m1 = hub.add_org("Member One", false);
    let m2 = hub.add_org("Member Two", false);
    let (t1, t2) = (hub.token(&m1, Role::Analyst), hub.token(&m2, Role::Analyst));

    let dir = TempDir::new("renkei-appetite-hub-test");
    let mut conn = register::open(&dir.0.join("register.db")).expect("register");
    let api = HubApi::new(&hub.base, t1.clone(), None).expect("api");
    sync::init(&mut conn, &api, &hub.base, None).expect("init");
    service(&mut conn, "Power supply");
    let risk = business_risk(&mut conn, "Operators misled", "Power supply", &["T0832"]);
    let now = Utc::now();
    appetite::set(&mut conn, statement("Power supply", "appetite", 1, 20.0, None), now).expect("appetite");
    for trait_id in 1..=7 {
        let answer =
            AnswerInput { answer: format!("plan section 7.{trait_id}"), review_days: 365, ..Default::default() };
        readiness::set(&mut conn, &trait_id.to_string(), answer, now).expect("answer");
    }
    // The member's own incidents breach its appetite: flagged, with no sector incident yet.
    let day = |d: i64| (now - Duration::days(d)).to_rfc3339();
    let own = |started: String, ended: String| IncidentInput {
        service: "Power supply".into(),
        started,
        ended,
        degradation: 10.0,
        title: None,
    };
    flags::record_incidents(&mut conn, rows(vec![own(day(40), day(39)), own(day(20), day(19))]), now).expect("own");
    let f = appetite_flags(&mut conn, "open");
    assert_eq!(f.len(), 1);
    assert!(f[0].detail.evidence[1].theirs.starts_with("0 sector incidents"), "{:#?}", f[0].detail);
    let options = sync::SyncOptions { page_size: 50, max_pages: None };
    sync::sync(&mut conn, &api, &options, &mut |_| {}).expect("first sync");
    assert!(readiness::list(&mut conn, Utc::now()).expect("list").iter().all(|t| t.state == readiness::State::Current));

    // Another member shares a technique (lateral movement) and an incident using T0832.
    let q = "mutation($i: TechniqueInput!, $s: SharingInput!) { shareTechnique(input: $i, sharing: $s) { id } }";
    let technique = hub.gql(
        &t2,
        q,
        json!({"i": {"attackId": "T0866", "name": "Exploitation of Remote Services", "tactics": ["lateral-movement"],
            "narrative": "reached an HMI through a remote service"}, "s": {"tlp": "GREEN"}}),
    )["shareTechnique"]["id"]
        .as_str()
        .expect("technique id")
        .to_string();
    let q = "mutation($i: IncidentInput!, $s: SharingInput!) { reportIncident(input: $i, sharing: $s) { id } }";
    let incident = hub.gql(
        &t2,
        q,
        json!({"i": {"title": "Operators saw a normal screen during a trip", "summary": "HMI view manipulated",
            "sector": "electricity", "serviceImpact": "DISRUPTED", "techniqueIds": ["T0832"]}, "s": {"tlp": "GREEN"}}),
    )["reportIncident"]["id"]
        .as_str()
        .expect("incident id")
        .to_string();
    let synced = sync::sync(&mut conn, &api, &options, &mut |_| {}).expect("sync");
    assert!(synced.refused.is_empty(), "{:?}", synced.refused);

    // The technique: 2 (evolving techniques) and 3 (fast spread, from the tactic the item
    // carries); the incident: 1 and 5, and 7 (T0832 Manipulation of View).
    let all = readiness::list(&mut conn, Utc::now()).expect("list");
    let due: Vec<(i32, Vec<String>)> = all
        .iter()
        .filter(|t| t.state == readiness::State::DueIntelligence)
        .map(|t| (t.info.id, t.intelligence.iter().map(|i| i.item_id.clone()).collect()))
        .collect();
    assert_eq!(
        due,
        [
            (1, vec![incident.clone()]),
            (2, vec![technique.clone()]),
            (3, vec![technique.clone()]),
            (5, vec![incident.clone()]),
            (7, vec![incident.clone()]),
        ]
    );
    assert!(
        all[2].intelligence[0].reason.contains("T0866 (lateral-movement, the item's kill chain)"),
        "{:?}",
        all[2].intelligence
    );
    assert!(all[6].intelligence[0].reason.contains("T0832"), "{:?}", all[6].intelligence);
    assert_eq!((all[3].state, all[5].state), (readiness::State::Current, readiness::State::Current));
    // A review answers it.
    assert_eq!(
        readiness::review(&mut conn, "1", "scenario 4 covers a falsified HMI view", Utc::now()).expect("review"),
        vec![incident.clone()]
    );
    assert_eq!(readiness::show(&mut conn, "1", Utc::now()).expect("show").state, readiness::State::Current);

    // The sector's incident is counted beside the member's own figures, never in them,
    // and the appetite flag now carries it (recomputed by the page that brought it).
    let status = appetite::status(&mut conn, Utc::now()).expect("status");
    let s = &status[0];
    assert_eq!((s.own.count, s.state), (2, State::Breached));
    assert_eq!(
        (s.sector.count, s.sector.related.clone()),
        (1, vec![incident.clone()]),
        "it names T0832, which {risk} assumes"
    );
    let f = appetite_flags(&mut conn, "open");
    assert_eq!(f.len(), 1);
    assert!(
        f[0].detail.evidence[1].theirs.starts_with("1 sector incidents shared on the hub in the same window, 1 naming"),
        "{:#?}",
        f[0].detail
    );
    assert!(f[0].detail.source_title.contains("2 incidents"), "{}", f[0].detail.source_title);

    // The technique revoked (a tombstone takes it away): it no longer makes 2 and 3 due.
    let q = "mutation($id: ID!) { revoke(id: $id, reason: \"shared by mistake\") { id } }";
    hub.gql(&t2, q, json!({"id": technique}));
    sync::sync(&mut conn, &api, &options, &mut |_| {}).expect("sync");
    let all = readiness::list(&mut conn, Utc::now()).expect("list");
    assert_eq!((all[1].state, all[2].state), (readiness::State::Current, readiness::State::Current));
    assert_eq!(all[6].state, readiness::State::DueIntelligence, "the incident is still held");
}
