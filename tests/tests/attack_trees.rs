//! Attack trees (handbook 5.2, business-damage-based analysis): the shipped example
//! (`client/examples/attack-tree.json`) imported, worked out along its AND and OR steps,
//! exported and imported back unchanged; every kind of bad tree refused with the
//! problem named in English and Japanese and nothing stored; the SVG drawing parsed by a
//! real XML parser (Python's xml.etree); and, against a real hub, a technique shared by
//! another member flagging the tree's risk with the path from the leaf to the damage.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::PathBuf;

use renkei_client::{flags, hub_api::HubApi, matrix, register, risks, services, sync, trees};
use renkei_e2e::{Backend, TempDir, TestHub};
use renkei_hub::auth::Role;
use serde_json::{json, Value};

fn example_path() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../client/examples/attack-tree.json"))
}

fn example() -> Value {
    serde_json::from_str(&std::fs::read_to_string(example_path()).expect("the example")).expect("JSON")
}

fn input(v: Value) -> trees::TreeInput {
    serde_json::from_value(v).expect("a tree input")
}

/// Assets, the service and the risks the example names: R-0001 business-damage-based
/// and rated (5, 3, 3), R-0002 asset-based.
fn fill(conn: &mut diesel::SqliteConnection) {
    let asset = |name: &str, exposure: &str| {
        let input: renkei_client::assets::AssetInput =
            serde_json::from_value(json!({"name": name, "kind": "system", "criticality": 4, "exposure": exposure}))
                .expect("asset");
        (name.to_string(), input)
    };
    flags::import_assets(
        conn,
        vec![
            asset("VPN gateway", "internet"),
            asset("Office PC", "corporate"),
            asset("Engineering workstation", "control"),
            asset("PLC", "control"),
            asset("Plant HMI", "control"),
        ],
    )
    .expect("assets");
    services::put(
        conn,
        services::Service {
            name: "Power supply".into(),
            mission: "essential".into(),
            tolerable_outage_hours: 2.0,
            impact_criteria: vec!["outage over 2 h = 5".into()],
        },
    )
    .expect("service");
    let r1 = risks::add(
        conn,
        risks::RiskInput {
            title: "Power supply stops".into(),
            method: "business_damage".into(),
            services: vec!["Power supply".into()],
            techniques: vec!["T1133".into()],
            current: Some(risks::FactorsInput { impact: Some(5), threat: 3, vulnerability: 3 }),
            ..Default::default()
        },
    )
    .expect("r1");
    assert_eq!(r1, "R-0001");
    let r2 = risks::add(
        conn,
        risks::RiskInput {
            title: "PLC tampered".into(),
            method: "asset".into(),
            assets: vec!["PLC".into()],
            ..Default::default()
        },
    )
    .expect("r2");
    assert_eq!(r2, "R-0002");
}

fn open_register(prefix: &str) -> (TempDir, diesel::SqliteConnection) {
    let dir = TempDir::new(prefix);
    let conn = register::open(&dir.0.join("register.db")).expect("register");
    (dir, conn)
}

#[test]
fn the_example_is_worked_out_along_the_tree_and_round_trips() {
    let (_dir, mut conn) = open_register("renkei-trees-example");
    fill(&mut conn);
    let ids = trees::import(&mut conn, vec![input(example())]).expect("imported");
    assert_eq!(ids, ["AT-0001"]);
    let tree = trees::get(&mut conn, "AT-0001").expect("stored");
    let c = trees::compute_stored(&mut conn, &tree).expect("computed");
    let at = |id: &str| {
        let n = c.nodes.iter().find(|n| n.id == id).unwrap_or_else(|| panic!("no node {id}"));
        (n.threat, n.vulnerability)
    };
    // foothold = AND(mail (5,3), lateral (3,4)): each factor at its lowest.
    assert_eq!(at("foothold"), (3, 3));
    // reach-ot = OR(vpn (4,3), foothold (3,3)): the higher threat.
    assert_eq!(at("reach-ot"), (4, 3));
    // loss-of-control = AND(reach-ot (4,3), manipulate (2,4)).
    assert_eq!(at("loss-of-control"), (2, 3));
    // The ransomware leaf gives no factors: the risk's current ones (3,3).
    assert_eq!(at("ransomware"), (3, 3));
    assert!(c.nodes.iter().find(|n| n.id == "ransomware").expect("leaf").from_risk);
    // outage = OR(loss-of-control (2,3), ransomware (3,3)); value = 5 × 3 × 3.
    assert_eq!(c.nodes[0].id, "outage");
    assert_eq!((c.threat, c.vulnerability, c.value), (3, 3, 45));
    let m = matrix::Matrix::default();
    let rated = m.rate(matrix::Factors { impact: 5, threat: 3, vulnerability: 3 }).expect("rated");
    assert_eq!((c.likelihood, c.level), (rated.likelihood, rated.level));
    assert_eq!(c.level_name, "High / 高");
    // Every node once, each before its children.
    assert_eq!(c.nodes.len(), 9);
    let order: Vec<&str> = c.nodes.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(
        order,
        ["outage", "loss-of-control", "reach-ot", "vpn", "foothold", "mail", "lateral", "manipulate", "ransomware"]
    );

    // Exported, imported back: the same tree, the same id, one tree held.
    let exported = trees::export(&mut conn, "AT-0001").expect("export");
    let again: Value = serde_json::from_str(&exported).expect("JSON");
    assert_eq!(again["id"], "AT-0001");
    assert_eq!(trees::import(&mut conn, vec![input(again)]).expect("re-import"), ["AT-0001"]);
    assert_eq!(trees::export(&mut conn, "AT-0001").expect("export"), exported);
    assert_eq!(trees::list(&mut conn).expect("list").len(), 1);
    // Without an id, the same tree is a new one.
    assert_eq!(trees::import(&mut conn, vec![input(example())]).expect("second"), ["AT-0002"]);

    // The leaves are indexed by technique, with the path up to the damage.
    let leaves = trees::leaves_by_technique(&mut conn).expect("leaves");
    let mail = &leaves["T1566.001"];
    assert_eq!(mail.len(), 2, "one per tree");
    assert_eq!(
        mail[0].path().steps,
        [
            "Spearphishing attachment opened",
            "Foothold on an engineering workstation",
            "Attacker reaches the control network",
            "Operators lose control of the plant",
            "Power supply stops",
            "Power supply to customers stops for over 2 hours / 顧客への電力供給が2時間以上停止する",
        ]
    );
}

/// The example with `change` applied to its JSON.
fn changed(change: impl FnOnce(&mut Value)) -> Value {
    let mut v = example();
    change(&mut v);
    v
}

fn node_mut<'a>(tree: &'a mut Value, id: &str) -> &'a mut Value {
    tree["nodes"].as_array_mut().expect("nodes").iter_mut().find(|n| n["id"] == id).expect("node")
}

fn push_node(tree: &mut Value, node: Value) {
    tree["nodes"].as_array_mut().expect("nodes").push(node);
}

#[test]
fn every_kind_of_bad_tree_is_refused_and_nothing_is_stored() {
    let (_dir, mut conn) = open_register("renkei-trees-bad");
    fill(&mut conn);
    let chain = |n: usize| {
        // OR steps n deep, a leaf at the bottom.
        let mut nodes: Vec<Value> = (0..n)
            .map(|i| json!({"id": format!("s{i}"), "kind": "or", "title": format!("step {i}"), "children": [format!("s{}", i + 1)]}))
            .collect();
        nodes.push(json!({"id": format!("s{n}"), "kind": "leaf", "title": "entry", "technique": "T1133", "asset": "VPN gateway"}));
        nodes
    };
    let cases: Vec<(&str, Value, &[&str])> = vec![
        (
            "unknown asset",
            changed(|t| node_mut(t, "mail")["asset"] = json!("Ghost PC")),
            &["node mail: no asset \"Ghost PC\" in the register", "資産「Ghost PC」は登録されていません"],
        ),
        (
            "unknown service",
            changed(|t| t["services"] = json!(["Power supply", "Water supply"])),
            &["no service \"Water supply\" in the register", "サービス「Water supply」は登録されていません"],
        ),
        (
            "unknown risk",
            changed(|t| t["risk"] = json!("R-0999")),
            &["no risk \"R-0999\" in the register", "リスク「R-0999」は登録されていません"],
        ),
        (
            "an asset-based risk",
            changed(|t| t["risk"] = json!("R-0002")),
            &["risk R-0002 is asset-based", "事業被害ベースではありません"],
        ),
        (
            "bad technique id",
            changed(|t| node_mut(t, "lateral")["technique"] = json!("T12")),
            &["node lateral: technique \"T12\"", "テクニック ID"],
        ),
        (
            "a technique of neither Enterprise nor ICS",
            changed(|t| node_mut(t, "lateral")["technique"] = json!("T2001")),
            &["node lateral: technique T2001: a leaf takes an ATT&CK Enterprise", "EnterpriseまたはICS"],
        ),
        (
            "an ICS technique with a sub-technique",
            changed(|t| node_mut(t, "manipulate")["technique"] = json!("T0831.001")),
            &["ICS techniques (T0###) have no sub-techniques", "サブテクニックがありません"],
        ),
        (
            "a cycle",
            changed(|t| {
                let n = node_mut(t, "manipulate");
                n["kind"] = json!("or");
                n["children"] = json!(["loss-of-control"]);
                for k in ["technique", "asset", "threat", "vulnerability"] {
                    n.as_object_mut().expect("node").remove(k);
                }
            }),
            &["a cycle: loss-of-control -> manipulate -> loss-of-control", "循環しています"],
        ),
        (
            "a shared node",
            changed(|t| node_mut(t, "reach-ot")["children"] = json!(["vpn", "foothold", "mail"])),
            &["node mail is shared by reach-ot, foothold", "複数の親"],
        ),
        (
            "a leaf without technique",
            changed(|t| {
                node_mut(t, "vpn").as_object_mut().expect("node").remove("technique");
            }),
            &["node vpn: a leaf names its ATT&CK technique", "ATT&CKテクニック(technique)を指定してください"],
        ),
        (
            "a leaf without its entry (asset)",
            changed(|t| {
                node_mut(t, "vpn").as_object_mut().expect("node").remove("asset");
            }),
            &["node vpn: a leaf names the asset it enters by", "侵入口となる資産(asset)を指定してください"],
        ),
        (
            "an AND step with no children",
            changed(|t| {
                node_mut(t, "outage")["children"] = json!(["loss-of-control", "ransomware", "empty"]);
                push_node(t, json!({"id": "empty", "kind": "and", "title": "nothing under it"}));
            }),
            &["node empty is an AND step with no children", "子ノードのないANDノードです"],
        ),
        (
            "an OR step with no children",
            changed(|t| {
                node_mut(t, "outage")["children"] = json!(["loss-of-control", "ransomware", "empty"]);
                push_node(t, json!({"id": "empty", "kind": "or", "title": "nothing under it", "children": []}));
            }),
            &["node empty is an OR step with no children", "子ノードのないORノードです"],
        ),
        (
            "duplicate node ids",
            changed(|t| {
                push_node(
                    t,
                    json!({"id": "mail", "kind": "leaf", "title": "again", "technique": "T1566", "asset": "Office PC"}),
                )
            }),
            &["duplicate node id \"mail\"", "ノードID「mail」が重複しています"],
        ),
        (
            "too many nodes",
            changed(|t| t["nodes"] = json!(chain(trees::MAX_NODES))),
            &["the tree has 2001 nodes, more than 2000", "上限 2000 を超えています"],
        ),
        (
            "too deep",
            changed(|t| t["nodes"] = json!(chain(trees::MAX_DEPTH + 1))),
            &["levels deep, more than 40", "木の深さ"],
        ),
        (
            "several roots",
            changed(|t| push_node(t, json!({"id": "stray", "kind": "or", "title": "stray", "children": ["vpn"]}))),
            &["several roots: outage, stray", "根が複数あります", "node vpn is shared by reach-ot, stray"],
        ),
        (
            "a child that does not exist",
            changed(|t| node_mut(t, "foothold")["children"] = json!(["mail", "lateral", "ghost"])),
            &["node foothold: no child node \"ghost\"", "子ノード「ghost」がありません"],
        ),
        (
            "a damage size off the scale",
            changed(|t| t["damage_size"] = json!(9)),
            &["damage_size 9 is outside 1..5", "被害の大きさ"],
        ),
        (
            "a leaf's threat off the scale",
            changed(|t| node_mut(t, "vpn")["threat"] = json!(7)),
            &["node vpn: threat is outside 1..5", "threatは1〜5です"],
        ),
        (
            "no damage",
            changed(|t| t["damage"] = json!(" ")),
            &["the business damage (damage) is empty", "事業被害(damage)が空です"],
        ),
        (
            "an unknown kind",
            changed(|t| node_mut(t, "vpn")["kind"] = json!("xor")),
            &["node vpn: kind \"xor\", expected and, or or leaf", "種別(kind)"],
        ),
    ];
    for (what, tree, needles) in cases {
        let err = trees::import(&mut conn, vec![input(tree)]).expect_err(what).to_string();
        for needle in needles {
            assert!(err.contains(needle), "{what}: {needle:?} missing from:\n{err}");
        }
        assert!(trees::list(&mut conn).expect("list").is_empty(), "{what}: nothing stored");
    }

    // Every problem at once.
    let many = changed(|t| {
        t["risk"] = json!("R-0999");
        node_mut(t, "mail")["asset"] = json!("Ghost PC");
        node_mut(t, "lateral")["technique"] = json!("X1");
        push_node(t, json!({"id": "mail", "kind": "and", "title": "dup"}));
    });
    let err = trees::import(&mut conn, vec![input(many)]).expect_err("refused").to_string();
    for needle in ["no risk \"R-0999\"", "no asset \"Ghost PC\"", "technique \"X1\"", "duplicate node id \"mail\""] {
        assert!(err.contains(needle), "{needle} missing from:\n{err}");
    }

    // A file of two trees, the second bad: neither is stored; the problem says which tree.
    let err = trees::import(
        &mut conn,
        vec![input(example()), input(changed(|t| node_mut(t, "vpn")["asset"] = json!("Ghost")))],
    )
    .expect_err("refused")
    .to_string();
    assert!(err.contains("tree 2 / 木2: node vpn: no asset \"Ghost\""), "{err}");
    assert!(!err.contains("tree 1"), "{err}");
    assert!(trees::list(&mut conn).expect("list").is_empty(), "all or nothing");
    assert!(trees::leaves_by_technique(&mut conn).expect("leaves").is_empty());
    // Unknown fields are refused when the file is read.
    assert!(serde_json::from_value::<trees::TreeInput>(changed(|t| t["colour"] = json!("red"))).is_err());
}

/// What Python's XML parser reads in an SVG: every `text` element's text, and the
/// class of each node's shape by the group's id.
fn parse_svg(svg: &str) -> Value {
    let dir = TempDir::new("renkei-trees-svg");
    let file = dir.0.join("tree.svg");
    std::fs::write(&file, svg).expect("write");
    let script = r#"
import json, sys
import xml.etree.ElementTree as ET
ns = {"s": "http://www.w3.org/2000/svg"}
root = ET.parse(sys.argv[1]).getroot()
assert root.tag == "{http://www.w3.org/2000/svg}svg", root.tag
texts = ["".join(t.itertext()) for t in root.iter("{http://www.w3.org/2000/svg}text")]
shapes = {}
for g in root.findall("s:g", ns):
    shape = [c for c in g if c.tag.split("}")[1] in ("rect", "ellipse", "path")]
    shapes[g.get("id")] = [shape[0].tag.split("}")[1], shape[0].get("class")]
print(json.dumps({"texts": texts, "shapes": shapes}))
"#;
    let out = std::process::Command::new(renkei_e2e::interop::python())
        .arg("-c")
        .arg(script)
        .arg(&file)
        .output()
        .expect("python");
    assert!(out.status.success(), "not well-formed XML: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("JSON")
}

#[test]
fn the_svg_is_well_formed_and_labels_every_node() {
    let (_dir, mut conn) = open_register("renkei-trees-svg");
    fill(&mut conn);
    let tree = changed(|t| {
        node_mut(t, "ransomware")["title"] = json!("HMI <ransom> & \"wipe\"");
        t["damage"] = json!("Outage </svg> & more");
    });
    trees::import(&mut conn, vec![input(tree)]).expect("imported");
    let tree = trees::get(&mut conn, "AT-0001").expect("tree");
    let c = trees::compute_stored(&mut conn, &tree).expect("computed");
    let svg = trees::svg(&c, &HashSet::from(["mail".to_string()]));
    let parsed = parse_svg(&svg);
    let texts: Vec<&str> = parsed["texts"].as_array().expect("texts").iter().filter_map(Value::as_str).collect();
    for label in [
        "Power supply stops",
        "HMI <ransom> & \"wipe\"",
        "T1566.001 @ Office PC",
        "T1021 @ Engineering workstation",
        "T0831 @ PLC",
        "T1486 @ Plant HMI",
        "T1133 @ VPN gateway",
        "AND",
        "OR",
        "T3 V3 L2 (risk's)",
        "value 45 · High / 高",
    ] {
        assert!(texts.contains(&label), "{label:?} not among {texts:#?}");
    }
    let shape = |id: &str| {
        let s = &parsed["shapes"][format!("node-{id}")];
        (s[0].as_str().unwrap_or_default().to_string(), s[1].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(shape("outage"), ("ellipse".into(), "node or root flagged".into()));
    assert_eq!(shape("loss-of-control"), ("path".into(), "node and flagged".into()));
    assert_eq!(shape("foothold"), ("path".into(), "node and flagged".into()));
    assert_eq!(shape("mail"), ("rect".into(), "node leaf flagged".into()));
    assert_eq!(shape("lateral"), ("rect".into(), "node leaf".into()), "not on the flagged path");
    assert_eq!(shape("vpn"), ("rect".into(), "node leaf".into()));
    assert_eq!(parsed["shapes"].as_object().expect("shapes").len(), 9);
}

const SHARE_TECHNIQUE: &str =
    "mutation($i: TechniqueInput!, $s: SharingInput!) { shareTechnique(input: $i, sharing: $s) { id } }";

#[test]
fn a_shared_technique_on_a_leaf_flags_the_trees_risk_with_the_path() {
    let hub = TestHub::start(Backend::Postgres);
    let m1 = hub.add_org("Member One", false);
    let m2 = hub.add_org("Member Two", false);
    let (t1, t2) = (hub.token(&m1, Role::Analyst), hub.token(&m2, Role::Analyst));

    let (_dir, mut conn) = open_register("renkei-trees-e2e");
    let api = HubApi::new(&hub.base, t1, None).expect("api");
    sync::init(&mut conn, &api, &hub.base, None).expect("init");
    fill(&mut conn);
    trees::import(&mut conn, vec![input(example())]).expect("tree");
    let options = sync::SyncOptions { page_size: 50, max_pages: None };
    sync::sync(&mut conn, &api, &options, &mut |_| {}).expect("first sync");

    let share = |attack_id: &str, name: &str| {
        let v = hub.gql(
            &t2,
            SHARE_TECHNIQUE,
            json!({"i": {"attackId": attack_id, "name": name, "narrative": "seen in the sector"}, "s": {"tlp": "GREEN"}}),
        );
        v["shareTechnique"]["id"].as_str().expect("id").to_string()
    };
    // The very technique of a leaf.
    let exact = share("T1566.001", "Spearphishing Attachment");
    // A sub-technique of a leaf's technique (T1021): matched by its parent.
    let sub = share("T1021.001", "Remote Desktop Protocol");
    // The parent of a leaf's sub-technique (T1566.001): not matched.
    let parent = share("T1566", "Phishing");
    // A technique the risk also assumes: one flag, an attack-tree one with both reasons.
    let assumed = share("T1133", "External Remote Services");
    // A technique on no leaf.
    let elsewhere = share("T1595", "Active Scanning");
    let q = "mutation($i: IncidentInput!, $s: SharingInput!) { reportIncident(input: $i, sharing: $s) { id } }";
    let incident = hub.gql(
        &t2,
        q,
        json!({"i": {"title": "PLC logic changed", "summary": "a utility's PLC was reprogrammed", "sector": "electricity",
            "serviceImpact": "DEGRADED", "techniqueIds": ["T0831"]}, "s": {"tlp": "GREEN"}}),
    )["reportIncident"]["id"]
        .as_str()
        .expect("incident id")
        .to_string();

    let synced = sync::sync(&mut conn, &api, &options, &mut |_| {}).expect("sync");
    assert!(synced.refused.is_empty(), "{:?}", synced.refused);
    let open: BTreeMap<String, flags::Flag> = flags::list(&mut conn, "open")
        .expect("flags")
        .into_iter()
        .filter(|f| f.risk_id == "R-0001")
        .map(|f| (f.source.clone(), f))
        .collect();
    assert!(!open.contains_key(&parent), "a shared parent does not match a leaf's sub-technique: {open:#?}");
    assert!(!open.contains_key(&elsewhere), "{open:#?}");
    let damage = "Power supply to customers stops for over 2 hours / 顧客への電力供給が2時間以上停止する";

    let f = &open[&exact];
    assert_eq!((f.trigger, f.quality.as_str()), (flags::Trigger::AttackTree, "exact"));
    assert_eq!(f.detail.paths.len(), 1, "{f:#?}");
    let path = &f.detail.paths[0];
    assert_eq!((path.tree.as_str(), path.leaf.as_str(), path.technique.as_str()), ("AT-0001", "mail", "T1566.001"));
    assert_eq!(
        path.steps,
        [
            "Spearphishing attachment opened",
            "Foothold on an engineering workstation",
            "Attacker reaches the control network",
            "Operators lose control of the plant",
            "Power supply stops",
            damage,
        ]
    );
    assert!(f.detail.suggestion.contains("attack tree AT-0001"), "{f:#?}");
    assert!(f.detail.suggestion_ja.contains("攻撃ツリー AT-0001"), "{f:#?}");
    assert_eq!(f.detail.evidence[0].selector, "attack_tree_leaf");

    let f = &open[&sub];
    assert_eq!(f.trigger, flags::Trigger::AttackTree);
    assert_eq!(f.detail.paths[0].leaf, "lateral");
    assert_eq!(f.detail.paths[0].steps.first().map(String::as_str), Some("Remote services to the workstation"));
    assert!(f.detail.evidence[0].ours.contains("T1021 on asset Engineering workstation"), "{f:#?}");

    let f = &open[&assumed];
    assert_eq!(f.trigger, flags::Trigger::AttackTree);
    let selectors: Vec<&str> = f.detail.evidence.iter().map(|e| e.selector.as_str()).collect();
    assert_eq!(selectors, ["technique", "attack_tree_leaf"], "{f:#?}");
    assert_eq!(
        f.detail.paths[0].steps,
        [
            "Stolen VPN account used",
            "Attacker reaches the control network",
            "Operators lose control of the plant",
            "Power supply stops",
            damage
        ]
    );

    let f = &open[&incident];
    assert_eq!(f.trigger, flags::Trigger::AttackTree);
    assert_eq!(
        f.detail.paths[0].steps,
        ["Control logic changed on the PLC", "Operators lose control of the plant", "Power supply stops", damage]
    );
    assert_eq!(open.len(), 4, "{:#?}", open.keys().collect::<Vec<_>>());
    // The stored flag's JSON carries the path; a flag without one keeps its old form.
    let stored: Value = serde_json::to_value(&open[&exact].detail).expect("json");
    assert_eq!(stored["paths"][0]["steps"][5], damage);
    let due = flags::Detail {
        source_title: "x".into(),
        evidence: vec![],
        suggestion: String::new(),
        suggestion_ja: String::new(),
        paths: vec![],
    };
    assert!(serde_json::to_value(&due).expect("json").get("paths").is_none());
    assert!(risks::get(&mut conn, "R-0001").is_ok());

    // The drawing marks the paths of the open flags.
    let tree = trees::get(&mut conn, "AT-0001").expect("tree");
    let flagged: HashSet<String> = open.values().flat_map(|f| f.detail.paths.iter().map(|p| p.leaf.clone())).collect();
    assert_eq!(flagged, HashSet::from(["mail", "lateral", "vpn", "manipulate"].map(String::from)));
    let svg = trees::svg(&trees::compute_stored(&mut conn, &tree).expect("computed"), &flagged);
    let parsed = parse_svg(&svg);
    assert_eq!(parsed["shapes"]["node-ransomware"][1], "node leaf");
    assert_eq!(parsed["shapes"]["node-manipulate"][1], "node leaf flagged");

    // A tree drawn after the technique was shared: importing it flags its risk with the
    // technique already held (T1595 reached no leaf when it arrived).
    let mut scanning = example();
    scanning["damage"] = json!("Customer portal defaced");
    scanning["damage_ja"] = json!("顧客ポータルの改ざん");
    scanning["nodes"] = json!([
        {"id": "deface", "kind": "or", "title": "Portal defaced", "children": ["scan", "mail"]},
        {"id": "scan", "kind": "leaf", "title": "Exposed services found by scanning", "technique": "T1595",
         "asset": "VPN gateway", "threat": 3, "vulnerability": 3},
        {"id": "mail", "kind": "leaf", "title": "Spearphishing attachment opened", "technique": "T1566.001",
         "asset": "Office PC", "threat": 5, "vulnerability": 3},
    ]);
    let (ids, flagged) = flags::import_trees(&mut conn, vec![input(scanning.clone())]).expect("second tree");
    assert_eq!(ids, ["AT-0002"]);
    // T1595 is new for R-0001; T1566.001 already had an open flag, now with both paths.
    assert_eq!((flagged.raised, flagged.updated), (1, 1), "{flagged:?}");
    let open: BTreeMap<String, flags::Flag> = flags::list(&mut conn, "open")
        .expect("flags")
        .into_iter()
        .filter(|f| f.risk_id == "R-0001")
        .map(|f| (f.source.clone(), f))
        .collect();
    let f = &open[&elsewhere];
    assert_eq!(f.trigger, flags::Trigger::AttackTree);
    assert_eq!(f.detail.paths[0].tree, "AT-0002");
    assert_eq!(
        f.detail.paths[0].steps,
        ["Exposed services found by scanning", "Portal defaced", "Customer portal defaced / 顧客ポータルの改ざん"]
    );
    let trees_of_exact: BTreeSet<&str> = open[&exact].detail.paths.iter().map(|p| p.tree.as_str()).collect();
    assert_eq!(trees_of_exact, BTreeSet::from(["AT-0001", "AT-0002"]));
    // Importing the same tree again raises nothing new.
    scanning["id"] = json!("AT-0002");
    let (_, again) = flags::import_trees(&mut conn, vec![input(scanning)]).expect("again");
    assert_eq!(again.raised, 0, "{again:?}");
}
