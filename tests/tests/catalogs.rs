//! Framework catalogs, profiles, gap analysis and the treatment plan on the register
//! alone (handbook 4.2, 6.1-6.3): the shipped OSCAL catalogs import whole (and validate
//! with compliance-trestle when the Python tools have it), bad catalogs and mappings are
//! refused with every problem named and nothing stored, a CSF profile is kept per
//! subcategory and read as CIS v8 through the mappings, gaps come by motive, risk and
//! cost, and an overdue action flags the risks it was to treat.

use std::path::{Path, PathBuf};

use renkei_client::{catalogs, flags, plans, profiles, register, risks, services};
use renkei_e2e::TempDir;
use serde_json::{json, Value};

fn open() -> (TempDir, diesel::SqliteConnection) {
    let dir = TempDir::new("renkei-catalogs-test");
    let conn = register::open(&dir.0.join("register.db")).expect("register");
    (dir, conn)
}

fn shipped() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../client/catalogs"))
}

/// The shipped catalog files, or `None` (with a message) before the data is written.
fn shipped_catalogs() -> Option<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(shipped())
        .ok()?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    if files.len() < 5 {
        println!("SKIPPED: the shipped catalogs are not all in {} yet", shipped().display());
        return None;
    }
    Some(files)
}

/// Every group and control of an OSCAL document: (label, parent label, class).
fn nodes(node: &Value, parent: Option<&str>, out: &mut Vec<(String, Option<String>, String)>) {
    for key in ["groups", "controls"] {
        for child in node[key].as_array().into_iter().flatten() {
            let label = child["props"]
                .as_array()
                .into_iter()
                .flatten()
                .find(|p| p["name"] == "label")
                .and_then(|p| p["value"].as_str())
                .expect("every node has a label")
                .to_string();
            out.push((label.clone(), parent.map(str::to_string), child["class"].as_str().unwrap_or("").to_string()));
            nodes(child, Some(&label), out);
        }
    }
}

fn write(dir: &Path, name: &str, value: &Value) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(value).expect("json")).expect("write");
    path
}

fn metadata(framework: &str) -> Value {
    json!({"title": "A test catalog", "last-modified": "2026-12-07T00:00:00+00:00", "version": "1", "oscal-version": "1.1.2",
        "props": [{"name": "framework", "value": framework}, {"name": "text-licence", "value": "ids-and-titles-only"},
                  {"name": "source", "value": "test"}]})
}

fn node(id: &str, label: &str, class: &str, children: Vec<Value>) -> Value {
    json!({"id": id, "class": class, "title": format!("Title of {label}"),
        "props": [{"name": "label", "value": label}], "controls": children})
}

/// A small CIS v8 catalog: controls 3 and 4 with safeguards 3.1, 3.2 and 4.1.
fn small_cis(dir: &Path) -> PathBuf {
    let catalog = json!({"catalog": {"uuid": "0b1e5c1a-8b7d-4c53-9d5e-1f2a3b4c5d6e", "metadata": metadata("cis-v8"),
    "groups": [
        {"id": "cis-3", "class": "control", "title": "Data Protection", "props": [{"name": "label", "value": "3"}],
         "controls": [node("cis-3.1", "3.1", "safeguard", vec![]), node("cis-3.2", "3.2", "safeguard", vec![])]},
        {"id": "cis-4", "class": "control", "title": "Secure Configuration", "props": [{"name": "label", "value": "4"}],
         "controls": [node("cis-4.1", "4.1", "safeguard", vec![])]}
    ]}});
    write(dir, "small-cis.json", &catalog)
}

fn mappings(dir: &Path, rows: &[(&str, &str, &str)]) -> PathBuf {
    let rows: Vec<Value> = rows.iter().map(|(s, t, r)| json!({"source": s, "target": t, "relationship": r})).collect();
    write(dir, "map.json", &json!({"source": "nist-csf-2.0", "target": "cis-v8", "mappings": rows}))
}

#[test]
fn csf_is_there_without_an_import_down_to_the_subcategory() {
    let (_dir, mut conn) = open();
    let held = catalogs::list(&mut conn).expect("list");
    assert_eq!(held.iter().map(|c| c.framework.as_str()).collect::<Vec<_>>(), ["nist-csf-2.0"]);
    let csf = catalogs::controls(&mut conn, "nist-csf-2.0").expect("csf");
    let count = |kind: &str| csf.iter().filter(|c| c.kind == kind).count();
    assert_eq!((count("function"), count("category"), count("subcategory")), (6, 22, 106), "CSF 2.0 complete");
    let shown = catalogs::show_control(&mut conn, "nist-csf-2.0", "gv.sc-07").expect("GV.SC-07");
    assert_eq!(shown.control.parent.as_deref(), Some("GV.SC"));
    assert!(shown.control.text.contains("supplier"), "{}", shown.control.text);
    let entry = profiles::put(
        &mut conn,
        profiles::EntryInput {
            label: "gv.sc-07".into(),
            current: 1,
            target: 3,
            evidence: "supplier register".into(),
            owner: Some("Sato".into()),
            ..Default::default()
        },
    )
    .expect("a subcategory");
    assert_eq!((entry.label.as_str(), entry.kind.as_str()), ("GV.SC-07", "subcategory"));
    let stored = profiles::entries(&mut conn, None).expect("entries");
    assert_eq!(stored.len(), 1);
    assert_eq!((stored[0].owner.as_deref(), stored[0].evidence.as_str()), (Some("Sato"), "supplier register"));
}

#[test]
fn every_shipped_catalog_and_mapping_imports_whole() {
    let Some(files) = shipped_catalogs() else { return };
    let (_dir, mut conn) = open();
    for file in &files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(file).expect("read")).expect("JSON");
        let framework = doc["catalog"]["metadata"]["props"][0]["value"].as_str().expect("framework prop").to_string();
        let mut expected = Vec::new();
        nodes(&doc["catalog"], None, &mut expected);
        let done = catalogs::import(&mut conn, catalogs::read_file(file).expect("valid")).expect("import");
        assert_eq!(done.framework, framework);
        assert_eq!(done.controls, expected.len(), "{}", file.display());
        let stored = catalogs::controls(&mut conn, &framework).expect("controls");
        let got: Vec<(String, Option<String>, String)> =
            stored.iter().map(|c| (c.label.clone(), c.parent.clone(), c.kind.clone())).collect();
        assert_eq!(got, expected, "labels, parents and kinds of {}, in order", file.display());
        // A second import replaces the first (a newer version would).
        let again = catalogs::import(&mut conn, catalogs::read_file(file).expect("valid")).expect("re-import");
        assert_eq!(again.replaced.as_deref(), Some(done.version.as_str()));
        assert_eq!(catalogs::controls(&mut conn, &framework).expect("controls").len(), expected.len());
    }
    assert_eq!(catalogs::list(&mut conn).expect("list").len(), files.len());
    let mut map_files: Vec<PathBuf> = std::fs::read_dir(shipped().join("mappings"))
        .expect("the shipped mappings")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    map_files.sort();
    assert!(!map_files.is_empty());
    for file in map_files {
        let doc: Value = serde_json::from_str(&std::fs::read_to_string(&file).expect("read")).expect("JSON");
        let done = catalogs::import_mappings_file(&mut conn, &file).expect("mappings");
        assert_eq!(done.mappings, doc["mappings"].as_array().expect("mappings").len(), "{}", file.display());
        let (source, target) = (doc["source"].as_str().expect("source"), doc["target"].as_str().expect("target"));
        assert_eq!(catalogs::pairs(&mut conn, source, target).expect("pairs").len(), done.mappings);
    }
}

#[test]
fn every_shipped_catalog_validates_with_compliance_trestle() {
    let Some(files) = shipped_catalogs() else { return };
    let python = std::env::var_os("RENKEI_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/var/tmp/renkei-pyenv/bin/python"));
    let has_trestle =
        std::process::Command::new(&python).args(["-c", "import trestle"]).output().is_ok_and(|o| o.status.success());
    if !has_trestle {
        println!(
            "SKIPPED: {} cannot `import trestle`; add compliance-trestle to tests/interop/requirements.txt (or set RENKEI_PYTHON)",
            python.display()
        );
        return;
    }
    // trestle's pydantic models of OSCAL read each file: a schema violation raises.
    let script = "import pathlib, sys\n\
                  from trestle.oscal.catalog import Catalog\n\
                  for f in sys.argv[1:]:\n\
                  \x20   c = Catalog.oscal_read(pathlib.Path(f))\n\
                  \x20   assert c is not None, f\n\
                  \x20   print('VALID', f)\n";
    let out = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(&files)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .expect("python");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(stdout.matches("VALID").count(), files.len(), "{stdout}");
}

#[test]
fn bad_catalogs_are_refused_with_every_problem_named_and_nothing_stored() {
    let (dir, mut conn) = open();
    let bad = json!({"catalog": {"uuid": "not-a-uuid",
    "metadata": {"version": "1", "props": [{"name": "framework", "value": "iso-27001"}]},
    "groups": [{"id": "g1", "title": "G", "props": [{"name": "label", "value": "G"}], "controls": [
        node("c1", "G.1", "control", vec![]),
        node("c1", "g.1", "control", vec![]),
        {"id": "c3", "title": "no label"},
        {"id": "c4", "props": [{"name": "label", "value": "G.4"}]}
    ]}]}});
    let err = format!("{:#}", catalogs::read_file(&write(&dir.0, "bad.json", &bad)).expect_err("refused"));
    for needle in [
        "is not a UUID",
        "the metadata has no title / metadata に title がありません",
        "unknown framework id \"iso-27001\"",
        "text-licence",
        "prop \"source\"",
        "the id \"c1\" is used more than once",
        "the label \"g.1\" is used more than once",
        "control \"c3\" has no label",
        "control \"c4\" has no title",
    ] {
        assert!(err.contains(needle), "{needle} missing from:\n{err}");
    }
    let no_metadata = json!({"catalog": {"groups": [node("x", "X", "control", vec![])]}});
    let err = format!("{:#}", catalogs::read_file(&write(&dir.0, "meta.json", &no_metadata)).expect_err("refused"));
    assert!(err.contains("no uuid") && err.contains("no metadata / カタログに metadata がありません"), "{err}");
    let not_json = dir.0.join("not.json");
    std::fs::write(&not_json, "{\"catalog\": ").expect("write");
    assert!(format!("{:#}", catalogs::read_file(&not_json).expect_err("refused")).contains("not JSON"));
    let profile = write(&dir.0, "profile.json", &json!({"profile": {"uuid": "x"}}));
    assert!(format!("{:#}", catalogs::read_file(&profile).expect_err("refused")).contains("not an OSCAL catalog"));
    let mut deep = node("d0", "D0", "control", vec![]);
    for i in 1..=catalogs::MAX_DEPTH + 1 {
        deep = node(&format!("d{i}"), &format!("D{i}"), "control", vec![deep]);
    }
    let deep = json!({"catalog": {"uuid": "0b1e5c1a-8b7d-4c53-9d5e-1f2a3b4c5d6f", "metadata": metadata("cis-v8"), "controls": [deep]}});
    let err = format!("{:#}", catalogs::read_file(&write(&dir.0, "deep.json", &deep)).expect_err("refused"));
    assert!(err.contains("nested deeper than"), "{err}");
    let huge = dir.0.join("huge.json");
    let file = std::fs::File::create(&huge).expect("create");
    file.set_len(catalogs::MAX_FILE_BYTES + 1).expect("a sparse file over the cap");
    let err = format!("{:#}", catalogs::read_file(&huge).expect_err("refused"));
    assert!(err.contains("is more than a catalog may be") && err.contains("大きすぎます"), "{err}");
    let held = catalogs::list(&mut conn).expect("list");
    assert_eq!(held.iter().map(|c| c.framework.as_str()).collect::<Vec<_>>(), ["nist-csf-2.0"], "nothing stored");
}

#[test]
fn mappings_need_both_catalogs_and_every_label() {
    let (dir, mut conn) = open();
    let file = mappings(&dir.0, &[("GV.OC-01", "3.1", "intersects")]);
    let err = format!("{:#}", catalogs::import_mappings_file(&mut conn, &file).expect_err("cis-v8 not loaded"));
    assert!(err.contains("no catalog \"cis-v8\""), "{err}");
    catalogs::import(&mut conn, catalogs::read_file(&small_cis(&dir.0)).expect("cis")).expect("import");
    let file = mappings(
        &dir.0,
        &[
            ("GV.OC-01", "3.1", "intersects"),
            ("GV.OC-99", "3.2", "intersects"),
            ("ID.AM-07", "9.9", "subset-of"),
            ("PR.DS-01", "3.2", "kinda"),
        ],
    );
    let err = format!("{:#}", catalogs::import_mappings_file(&mut conn, &file).expect_err("refused"));
    for needle in [
        "mapping 2: \"GV.OC-99\" is not a label of NIST CSF 2.0",
        "mapping 3: \"9.9\" is not a label of CIS Controls v8",
        "mapping 4: relationship \"kinda\"",
    ] {
        assert!(err.contains(needle), "{needle} missing from:\n{err}");
    }
    assert!(catalogs::pairs(&mut conn, "nist-csf-2.0", "cis-v8").expect("pairs").is_empty(), "nothing stored");
}

/// The small CIS catalog, CSF → CIS mappings, and a CSF profile.
fn cross_setup(dir: &Path, conn: &mut diesel::SqliteConnection) {
    catalogs::import(conn, catalogs::read_file(&small_cis(dir)).expect("cis")).expect("import");
    let file = mappings(
        dir,
        &[("GV.OC-01", "3.1", "intersects"), ("ID.AM-07", "3.2", "intersects"), ("PR.DS-01", "3.2", "subset-of")],
    );
    assert_eq!(catalogs::import_mappings_file(conn, &file).expect("mappings").mappings, 3);
    for (label, current, target) in [("GV.OC-01", 1, 3), ("ID.AM", 2, 4)] {
        let input = profiles::EntryInput { label: label.into(), current, target, ..Default::default() };
        profiles::put(conn, input).expect("profile");
    }
}

#[test]
fn a_csf_profile_reads_as_cis_safeguards_through_the_mappings() {
    let (dir, mut conn) = open();
    cross_setup(&dir.0, &mut conn);
    let reading = profiles::read_as(&mut conn, "nist-csf-2.0", "cis-v8").expect("read as");
    let labels: Vec<&str> = reading.controls.iter().map(|r| r.label.as_str()).collect();
    assert_eq!(labels, ["3.1", "3.2"]);
    assert_eq!(reading.unmapped, ["3", "4", "4.1"], "the controls no mapping reaches are named");
    let first = &reading.controls[0];
    assert_eq!(
        (first.current_min, first.current_max, first.target_min, first.target_max),
        (Some(1), Some(1), Some(3), Some(3))
    );
    let second = &reading.controls[1];
    // ID.AM-07 takes its category's tiers; PR.DS-01 is mapped but not in the profile.
    let id_am = second.mapped.iter().find(|m| m.label == "ID.AM-07").expect("ID.AM-07");
    assert_eq!((id_am.assessed_at.as_deref(), id_am.current, id_am.target), (Some("ID.AM"), Some(2), Some(4)));
    let pr_ds = second.mapped.iter().find(|m| m.label == "PR.DS-01").expect("PR.DS-01");
    assert_eq!((pr_ds.current, pr_ds.relationship.as_str()), (None, "subset-of"));
    assert_eq!((second.current_min, second.current_max), (Some(2), Some(2)));
    // A profile entry on a CIS safeguard, and unknown labels refused with all problems.
    let cis = profiles::EntryInput {
        framework: Some("cis-v8".into()),
        label: "3.2".into(),
        current: 1,
        target: 2,
        ..Default::default()
    };
    assert_eq!(profiles::put(&mut conn, cis).expect("cis entry").kind, "safeguard");
    let bad = profiles::EntryInput {
        label: "GV.OC-99".into(),
        current: 0,
        target: 5,
        priority: Some(7),
        cost: Some("cheap".into()),
        ..Default::default()
    };
    let err = format!("{:#}", profiles::put(&mut conn, bad).expect_err("refused"));
    for needle in [
        "\"GV.OC-99\" is not a label of NIST CSF 2.0",
        "current tier must be 1 to 4",
        "target tier must be 1 to 4",
        "priority must be 1",
        "cost \"cheap\"",
    ] {
        assert!(err.contains(needle), "{needle} missing from:\n{err}");
    }
    assert_eq!(profiles::entries(&mut conn, None).expect("entries").len(), 3, "nothing more stored");
}

fn risk(conn: &mut diesel::SqliteConnection, title: &str, threat: usize, csf: &str) -> String {
    let input = risks::RiskInput {
        title: title.into(),
        method: "business_damage".into(),
        services: vec!["Power dispatch".into()],
        current: Some(risks::FactorsInput { impact: Some(threat), threat, vulnerability: threat }),
        csf: vec![csf.into()],
        ..Default::default()
    };
    risks::add(conn, input).expect("risk")
}

fn level(conn: &mut diesel::SqliteConnection, id: &str) -> f64 {
    risks::get(conn, id).expect("risk").effective().expect("rated").level as f64
}

#[test]
fn gaps_come_by_motive_then_risk_weighted_cost_effectiveness() {
    let (_dir, mut conn) = open();
    let service = services::Service {
        name: "Power dispatch".into(),
        mission: "essential".into(),
        tolerable_outage_hours: 2.0,
        impact_criteria: vec![],
    };
    services::put(&mut conn, service).expect("service");
    let supplier_risk = risk(&mut conn, "Supplier compromise", 5, "GV.SC");
    let minor_risk = risk(&mut conn, "Stale risk register", 1, "ID");
    let (high, low) = (level(&mut conn, &supplier_risk), level(&mut conn, &minor_risk));
    assert!(high >= 2.0 && low == 0.0, "the matrix rates them apart: {high} {low}");
    let gap =
        |label: &str, priority: i32, current: i32, cost: Option<&str>, estimate: Option<f64>| profiles::EntryInput {
            label: label.into(),
            current,
            target: current + 1,
            priority: Some(priority),
            motive: format!("motive for {label}"),
            cost: cost.map(str::to_string),
            cost_estimate: estimate,
            ..Default::default()
        };
    for input in [
        gap("DE.CM-01", 1, 1, Some("high"), None),
        gap("GV.SC-07", 2, 2, Some("medium"), None),
        gap("ID.RA-05", 2, 1, Some("low"), None),
        gap("GV.SC-06", 2, 1, Some("high"), None),
        gap("PR.PS-01", 3, 1, None, Some(100.0)),
        gap("PR.PS-02", 3, 1, None, Some(300.0)),
    ] {
        profiles::put(&mut conn, input).expect("entry");
    }
    // PR.AA-01 is wider than GV.SC-07 but no risk cites it.
    let mut wide = gap("PR.AA-01", 2, 1, Some("medium"), None);
    wide.target = 3;
    profiles::put(&mut conn, wide).expect("entry");
    let gaps = profiles::gaps(&mut conn).expect("gaps");
    let order: Vec<&str> = gaps.iter().map(|g| g.area.as_str()).collect();
    // DE.CM-01: motive 1 first whatever its score. Then by width × risk weight / cost:
    // GV.SC-07 (1 × (2 + high) / 2), ID.RA-05 (1 × 2 / 1, its function cited),
    // GV.SC-06 (1 × (2 + high) / 3), PR.AA-01 (2 × 1 / 2). Motive 3: the cheaper estimate first.
    assert_eq!(order, ["DE.CM-01", "GV.SC-07", "ID.RA-05", "GV.SC-06", "PR.AA-01", "PR.PS-01", "PR.PS-02"]);
    let sc = &gaps[1];
    assert_eq!(sc.cited_by, [supplier_risk]);
    assert_eq!((sc.risk_weight, sc.cost_factor, sc.width), (2.0 + high, 2.0, 1));
    assert!((sc.score - (2.0 + high) / 2.0).abs() < 1e-9);
    assert_eq!(gaps[2].cited_by, [minor_risk], "a risk citing the function counts for its subcategory");
    assert_eq!((gaps[4].risks, gaps[4].risk_weight, gaps[4].width), (0, 1.0, 2));
    assert!((gaps[5].cost_factor - 2.0 / 3.0).abs() < 1e-9, "an estimate counts against the median estimate");
    assert_eq!(gaps[0].motive, "motive for DE.CM-01");
}

#[test]
fn an_overdue_action_flags_the_risks_it_treats_once() {
    let (_dir, mut conn) = open();
    let service = services::Service {
        name: "Power dispatch".into(),
        mission: "essential".into(),
        tolerable_outage_hours: 2.0,
        impact_criteria: vec![],
    };
    services::put(&mut conn, service).expect("service");
    let treated = risk(&mut conn, "Supplier compromise", 4, "GV.SC-07");
    let other = risk(&mut conn, "Unrelated", 2, "DE.CM");
    let late = plans::add(
        &mut conn,
        plans::ActionInput {
            title: "Security clauses in supplier contracts".into(),
            owner: "Sato".into(),
            due: "2026-01-15".into(),
            cost: Some(400.0),
            gaps: vec!["GV.SC-07".into()],
            risks: vec![treated.clone()],
        },
    )
    .expect("action");
    let on_time = plans::add(
        &mut conn,
        plans::ActionInput {
            title: "Monitoring".into(),
            owner: "Ito".into(),
            due: "2099-01-01".into(),
            risks: vec![other.clone()],
            ..Default::default()
        },
    )
    .expect("action");
    let today = chrono::Utc::now().date_naive();
    let overdue = plans::list(&mut conn, true, today).expect("overdue");
    assert_eq!(overdue.iter().map(|a| a.id.as_str()).collect::<Vec<_>>(), [late.as_str()]);
    assert!(overdue[0].days_overdue > 0);
    flags::raise_due(&mut conn, chrono::Utc::now()).expect("due");
    let plan_flags = |conn: &mut diesel::SqliteConnection| -> Vec<flags::Flag> {
        flags::list(conn, "all")
            .expect("flags")
            .into_iter()
            .filter(|f| f.trigger == flags::Trigger::PlanOverdue)
            .collect()
    };
    let raised = plan_flags(&mut conn);
    assert_eq!(raised.len(), 1, "{raised:?}");
    assert_eq!(
        (raised[0].risk_id.as_str(), raised[0].source.as_str()),
        (treated.as_str(), format!("plan:{late}").as_str())
    );
    assert!(raised[0].detail.source_title.contains("2026-01-15") && !raised[0].detail.suggestion_ja.is_empty());
    assert!(raised[0].detail.evidence[0].ours.contains("Sato"));
    flags::raise_due(&mut conn, chrono::Utc::now()).expect("due again");
    assert_eq!(plan_flags(&mut conn).len(), 1, "one open flag per risk and action");
    // Done: no longer overdue, no new flag; the history keeps both states.
    plans::set_status(&mut conn, &late, "done", "clauses signed").expect("done");
    assert!(plans::list(&mut conn, true, today).expect("overdue").is_empty());
    let shown = plans::show(&mut conn, &late, today).expect("show");
    let history: Vec<(Option<&str>, &str)> = shown.history.iter().map(|h| (h.from.as_deref(), h.to.as_str())).collect();
    assert_eq!(history, [(None, "planned"), (Some("planned"), "done")]);
    assert_eq!(shown.action.gaps[0].label, "GV.SC-07");
    assert!(!plans::show(&mut conn, &on_time, today).expect("show").action.overdue);
    // Overdue only once the due day has passed.
    let due = chrono::NaiveDate::from_ymd_opt(2099, 1, 1).expect("date");
    assert!(plans::list(&mut conn, true, due).expect("on the day").is_empty());
    let next_day = due.succ_opt().expect("date");
    let late_then = plans::list(&mut conn, true, next_day).expect("the day after");
    assert_eq!((late_then.len(), late_then[0].id.as_str(), late_then[0].days_overdue), (1, on_time.as_str(), 1));
}

#[test]
fn bad_actions_are_refused_whole() {
    let (dir, mut conn) = open();
    let bad = plans::ActionInput {
        title: " ".into(),
        owner: "".into(),
        due: "31/12/2026".into(),
        cost: Some(-5.0),
        gaps: vec!["ZZ.TOP-99".into(), "cis-v8:3.1".into()],
        risks: vec!["R-0099".into()],
    };
    let err = format!("{:#}", plans::add(&mut conn, bad).expect_err("refused"));
    for needle in [
        "the title is empty / 件名が空です",
        "needs an owner",
        "\"31/12/2026\" is not YYYY-MM-DD",
        "the cost is a number of zero or more",
        "\"ZZ.TOP-99\" is not a label of NIST CSF 2.0",
        "no catalog \"cis-v8\"",
        "no risk R-0099",
    ] {
        assert!(err.contains(needle), "{needle} missing from:\n{err}");
    }
    assert!(plans::list(&mut conn, false, chrono::Utc::now().date_naive()).expect("list").is_empty(), "nothing stored");
    catalogs::import(&mut conn, catalogs::read_file(&small_cis(&dir.0)).expect("cis")).expect("import");
    let good = plans::ActionInput {
        title: "Data inventory".into(),
        owner: "Ito".into(),
        due: "2027-06-30".into(),
        gaps: vec!["cis-v8:3.1".into(), "id.am-07".into()],
        ..Default::default()
    };
    let id = plans::add(&mut conn, good).expect("good");
    let err = format!("{:#}", plans::set_status(&mut conn, &id, "finished", "").expect_err("refused"));
    assert!(err.contains("status \"finished\""), "{err}");
    assert!(format!("{:#}", plans::set_status(&mut conn, "P-0042", "done", "").expect_err("no such"))
        .contains("no action P-0042"));
    let gaps = plans::show(&mut conn, &id, chrono::Utc::now().date_naive()).expect("show").action.gaps;
    let labels: Vec<(&str, &str)> = gaps.iter().map(|g| (g.framework.as_str(), g.label.as_str())).collect();
    assert_eq!(labels, [("cis-v8", "3.1"), ("nist-csf-2.0", "ID.AM-07")]);
}
