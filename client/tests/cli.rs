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

/// The subcommands a `--help` lists under "Commands:" (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

/// Every command and subcommand, found by walking `renkei --help` down, shows an example.
#[test]
fn every_command_has_an_example_in_its_help() {
    let dir = scratch("help");
    let mut queue = vec![Vec::<String>::new()];
    let mut seen = 0;
    while let Some(path) = queue.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let help = ok(&dir, &args);
        assert!(help.contains("Example"), "`renkei {}` has no example:\n{help}", path.join(" "));
        for sub in subcommands(&help) {
            let mut deeper = path.clone();
            deeper.push(sub);
            queue.push(deeper);
        }
        seen += 1;
    }
    // The commands of today (more may be added): the walk really went down.
    assert!(seen >= 30, "only {seen} commands walked");
    assert!(!dir.0.join("register.db").exists(), "help opens no register");
}

#[test]
fn bash_completions_name_the_commands_and_parse() {
    let dir = scratch("completions");
    let script = ok(&dir, &["completions", "bash"]);
    for command in ["init", "sync", "asset", "risk", "share", "sighting", "completions"] {
        assert!(script.contains(command), "{command} missing from the bash completions");
    }
    let file = dir.0.join("renkei.bash");
    std::fs::write(&file, &script).expect("write");
    let check = Command::new("bash").arg("-n").arg(&file).output().expect("bash");
    assert!(check.status.success(), "bash -n: {}", String::from_utf8_lossy(&check.stderr));
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        assert!(ok(&dir, &["completions", shell]).contains("renkei"), "{shell}");
    }
    assert!(!dir.0.join("register.db").exists(), "completions open no register");
    let out = renkei(&dir, &["completions", "tcsh"]);
    assert_eq!(out.status.code(), Some(2), "an unknown shell is a usage error");
}

/// Quoted CSV fields may hold commas, quotes and line breaks; every bad row and every
/// unknown column is named.
#[test]
fn asset_csv_takes_quoted_fields_and_names_every_problem() {
    let dir = scratch("csv");
    let file = dir.0.join("assets.csv");
    std::fs::write(
        &file,
        "name,kind,services,criticality,product\n\
         \"PLC, line 1\",ot_device,\"Power; Water\",4,\"Model \"\"X\"\"\"\n\
         \"HMI\nnorth\",system,,2,\n\n",
    )
    .expect("write");
    assert!(ok(&dir, &["asset", "import", file.to_str().expect("path")]).contains("2 assets imported"));
    let listed: serde_json::Value =
        serde_json::from_str(&ok(&dir, &["--json", "asset", "list"])).expect("asset list --json is JSON");
    let names: Vec<&str> = listed.as_array().expect("array").iter().filter_map(|a| a["name"].as_str()).collect();
    assert_eq!(names, ["HMI\nnorth", "PLC, line 1"]);
    assert_eq!(listed[1]["services"], serde_json::json!(["Power", "Water"]));
    assert_eq!(listed[1]["product"], "Model \"X\"");
    assert_eq!(listed[1]["criticality"], 4);

    // The row after a field with a line break is named by the line it starts on.
    std::fs::write(&file, "name,kind,criticality\n\"A\nB\",system,9\nC,robot,2\n").expect("write");
    let err = fails(&dir, &["asset", "import", file.to_str().expect("path")]);
    assert!(err.contains("row 2: criticality") && err.contains("row 4: kind"), "{err}");
    assert!(err.contains("2 bad assets") && err.contains("何も取り込んでいません"), "{err}");
    std::fs::write(&file, "name,kind,colour,size\nA,system,red,9\n").expect("write");
    let err = fails(&dir, &["asset", "import", file.to_str().expect("path")]);
    assert!(err.contains("\"colour\", \"size\"") && err.contains("不明な列"), "{err}");
    // A quote never closed takes the rest of the file into its field: the row is refused.
    std::fs::write(&file, "name,kind\n\"never closed,system\n").expect("write");
    let err = fails(&dir, &["asset", "import", file.to_str().expect("path")]);
    assert!(err.contains("row 2: kind"), "{err}");
    // Nothing of the refused files was stored.
    let listed: serde_json::Value = serde_json::from_str(&ok(&dir, &["--json", "asset", "list"])).expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(2));
}

/// `--json` on the list and show commands: one JSON document each, with the fields the
/// text shows.
#[test]
fn list_and_show_commands_print_json() {
    let dir = scratch("json");
    let json = |args: &[&str]| -> serde_json::Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        serde_json::from_str(&ok(&dir, &all)).unwrap_or_else(|e| panic!("{args:?}: not JSON: {e}"))
    };
    ok(&dir, &["service", "add", "Power supply", "--mission", "essential", "--tolerable-outage-hours", "2"]);
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
    ok(&dir, &["profile", "set", "GV.SC", "--current", "1", "--target", "3"]);
    assert_eq!(json(&["service", "list"])[0]["name"], "Power supply");
    let risks = json(&["risk", "list"]);
    assert_eq!(risks[0]["id"], "R-0001");
    assert_eq!(risks[0]["title"], "Supply stops");
    assert_eq!(risks[0]["level"], "Very high / 極めて高い");
    assert_eq!(risks[0]["value"], 80);
    assert_eq!(risks[0]["open_flags"], 0);
    let shown = json(&["risk", "show", "R-0001"]);
    assert_eq!(shown["risk"]["id"], "R-0001");
    assert_eq!(shown["revisions"][0]["revision"], 1);
    assert!(shown["next_review"].is_string());
    assert_eq!(json(&["profile", "gap"])[0]["area"], "GV.SC");
    assert_eq!(json(&["matrix", "show"])["version"], 1);
    assert_eq!(json(&["asset", "list"]), serde_json::json!([]));
    assert_eq!(json(&["audit-checkpoints"]), serde_json::json!([]));
    let mut m = json(&["matrix", "show"]);
    m["version"] = serde_json::json!(2);
    let file = dir.0.join("matrix.json");
    std::fs::write(&file, m.to_string()).expect("write");
    ok(&dir, &["matrix", "set", file.to_str().expect("path")]);
    let flags = json(&["flags"]);
    assert_eq!(flags[0]["risk_id"], "R-0001");
    assert_eq!(flags[0]["trigger"], "matrix_changed");
}

/// A token file others may read is refused before anything is asked of the hub.
#[cfg(unix)]
#[test]
fn a_token_file_others_can_read_is_refused() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = scratch("token-mode");
    let token = dir.0.join("token");
    std::fs::write(&token, "secret-token-value").expect("write");
    std::fs::set_permissions(&token, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    let out = renkei(&dir, &["init", "--hub", "http://127.0.0.1:9", "--token-file", token.to_str().expect("path")]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("chmod 600") && err.contains("他のユーザー") && err.contains("640"), "{err}");
    assert!(!err.contains("secret-token-value"), "{err}");
}
