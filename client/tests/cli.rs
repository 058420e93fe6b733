//! The `renkei` command line on a register of its own (the hub-facing commands are
//! covered end to end in tests/tests/client.rs and reassessment.rs): exit codes, the
//! messages a user reads (in English and Japanese), and the commands chained as a
//! member would use them.

use std::path::PathBuf;
use std::process::{Command, Output};

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn scratch(name: &str) -> Scratch {
    let dir = std::env::temp_dir().join(format!("renkei-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch dir");
    Scratch(dir)
}

fn renkei(dir: &Scratch, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_renkei"))
        .arg("--db")
        .arg(dir.0.join("register.db"))
        .args(args)
        .env_remove("RENKEI_TOKEN")
        .output()
        .expect("run renkei")
}

fn ok(dir: &Scratch, args: &[&str]) -> String {
    let out = renkei(dir, args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn fails(dir: &Scratch, args: &[&str]) -> String {
    let out = renkei(dir, args);
    assert_eq!(out.status.code(), Some(1), "{args:?} should fail: {}", String::from_utf8_lossy(&out.stdout));
    String::from_utf8(out.stderr).expect("utf-8")
}

#[test]
fn register_commands_chain_and_fail_clearly() {
    let dir = scratch("chain");
    let bad = dir.0.join("bad.csv");
    std::fs::write(&bad, "name,kind,cpe\nPLC,robot,\nHMI,ot_device,cpe:2.3:broken\n").expect("write");
    let err = fails(&dir, &["asset", "import", bad.to_str().expect("path")]);
    assert!(
        err.contains("row 2: kind") && err.contains("row 3: cpe") && err.contains("何も取り込んでいません"),
        "{err}"
    );

    let good = dir.0.join("assets.csv");
    std::fs::write(
        &good,
        "name,kind,criticality,vendor,product,version,cpe,ics_asset_types\n\
         HMI,ot_device,5,Acme,SCADA HMI,2.1,cpe:2.3:a:acme:scada_hmi:2.1:*:*:*:*:*:*:*,A0002\n",
    )
    .expect("write");
    assert!(ok(&dir, &["asset", "import", good.to_str().expect("path")]).contains("1 assets imported"));
    ok(&dir, &["service", "add", "Power supply", "--mission", "essential", "--tolerable-outage-hours", "2"]);
    let err = fails(&dir, &["service", "add", "X", "--mission", "vital"]);
    assert!(err.contains("mission \"vital\""), "{err}");

    let id = ok(
        &dir,
        &[
            "risk",
            "add",
            "--title",
            "HMI taken over",
            "--method",
            "asset",
            "--asset",
            "HMI",
            "--technique",
            "T0866",
            "--current",
            "4,3",
        ],
    );
    assert_eq!(id.trim(), "R-0001");
    let err = fails(&dir, &["risk", "add", "--title", "x", "--method", "asset", "--asset", "Nope"]);
    assert!(err.contains("no asset \"Nope\"") && err.contains("登録されていません"), "{err}");
    let err = fails(
        &dir,
        &[
            "risk",
            "add",
            "--title",
            "x",
            "--method",
            "business-damage",
            "--service",
            "Power supply",
            "--current",
            "3,3",
        ],
    );
    assert!(err.contains("被害の大きさ"), "{err}");
    ok(
        &dir,
        &[
            "risk",
            "add",
            "--title",
            "Supply stops",
            "--method",
            "business-damage",
            "--service",
            "Power supply",
            "--current",
            "5,4,4",
        ],
    );
    let list = ok(&dir, &["risk", "list"]);
    let first: Vec<&str> = list.lines().map(|l| l.split('\t').next().unwrap_or_default()).collect();
    assert_eq!(first, ["R-0002", "R-0001"], "the higher risk first:\n{list}");
    assert!(list.contains("Very high / 極めて高い"), "{list}");

    // An assessment needs a note (a usage error) and makes a revision.
    let out = renkei(&dir, &["risk", "assess", "R-0001", "--current", "4,4"]);
    assert_eq!(out.status.code(), Some(2), "clap's usage error");
    assert!(ok(&dir, &["risk", "assess", "R-0001", "--current", "4,4", "--note", "new exploit seen"])
        .contains("revision 2"));
    let show = ok(&dir, &["risk", "show", "R-0001"]);
    assert!(show.contains("revision 2 at") && show.contains("new exploit seen"), "{show}");

    let err = fails(&dir, &["flags", "dismiss", "42", "--reason", "no such flag"]);
    assert!(err.contains("no open flag 42"), "{err}");
    let err = fails(&dir, &["flags", "dismiss", "42", "--reason", " "]);
    assert!(err.contains("needs a reason"), "{err}");

    ok(&dir, &["profile", "set", "GV.SC", "--current", "1", "--target", "3", "--priority", "1"]);
    let err = fails(&dir, &["profile", "set", "XX", "--current", "1", "--target", "3"]);
    assert!(err.contains("CSF 2.0"), "{err}");
    assert!(ok(&dir, &["profile", "gap"]).starts_with("GV.SC\t"));

    let matrix = ok(&dir, &["matrix", "show"]);
    let mut m: serde_json::Value = serde_json::from_str(&matrix).expect("the matrix is JSON");
    m["version"] = serde_json::json!(2);
    let file = dir.0.join("matrix.json");
    std::fs::write(&file, m.to_string()).expect("write");
    assert!(ok(&dir, &["matrix", "set", file.to_str().expect("path")]).contains("2 risks flagged"));
    let flags = ok(&dir, &["flags"]);
    assert_eq!(flags.matches("matrix_changed").count(), 2, "{flags}");

    let html = dir.0.join("report.html");
    ok(&dir, &["report", "--audience", "operations", "--format", "html", "--out", html.to_str().expect("path")]);
    let text = std::fs::read_to_string(&html).expect("report");
    assert!(text.contains("HMI taken over") && text.contains("GV.SC") && text.contains("<svg"), "{text}");
    let err = fails(&dir, &["report", "--format", "pdf"]);
    assert!(err.contains("needs --out"), "{err}");
    let err = fails(&dir, &["report", "--audience", "board", "--format", "docx"]);
    assert!(err.contains("audience \"board\"") && err.contains("format \"docx\""), "{err}");
    // Hub commands need a hub first.
    let err = fails(&dir, &["sighting", "indicator--x"]);
    assert!(err.contains("renkei init"), "{err}");
}

/// `export`: the Suricata rules need a folder for the lists beside them; a bad format
/// is refused in both languages; the CSV header is the hub's.
#[test]
fn export_writes_files_and_refuses_clearly() {
    let dir = scratch("export");
    let err = fails(&dir, &["export", "--format", "suricata"]);
    assert!(err.contains("--out DIR") && err.contains("フォルダー"), "{err}");
    let err = fails(&dir, &["export", "--format", "pdf"]);
    assert!(err.contains("format \"pdf\"") && err.contains("形式「pdf」"), "{err}");
    let out = dir.0.join("rules");
    ok(&dir, &["export", "--format", "suricata", "--out", out.to_str().expect("path")]);
    let rules = std::fs::read_to_string(out.join("renkei.rules")).expect("rules written");
    assert!(rules.starts_with("# Suricata 7 rules written by renkei"), "{rules}");
    assert!(!rules.lines().any(|l| l.starts_with("alert ")), "nothing held, no rules: {rules}");
    let csv = dir.0.join("held.csv");
    ok(&dir, &["export", "--format", "csv", "--min-score", "0", "--out", csv.to_str().expect("path")]);
    assert_eq!(std::fs::read_to_string(&csv).expect("csv"), "value,type,tlp,score,valid_until,id\n");
}
