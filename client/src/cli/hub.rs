//! The commands that talk to the hub or act on what it sent: init, sync, share and
//! sightings, exports, the audit checkpoints kept, matching a log.
use std::path::PathBuf;

use anyhow::{Context as _, Result};
use renkei_client::progress::Progress;
use renkei_client::{context, csirt, flags, follow, hub_api::HubApi, register, sealed, share, sync};

use super::args::*;
use super::*;

/// Runs one of these commands on the open register (`db` is its file, for messages).
/// `json`: the global `--json` flag (list and show commands print JSON).
pub(super) fn run_hub(
    mut conn: diesel::SqliteConnection,
    db: &std::path::Path,
    command: Command,
    json: bool,
) -> Result<i32> {
    match command {
        Command::Init { hub, token_file, ca } => {
            let source = TokenSource::find(&mut conn, token_file.as_ref())?;
            let token = source.read()?;
            let api = HubApi::new(&hub, token.clone(), ca.as_deref())?;
            let ca_text = ca.as_ref().map(|p| p.display().to_string());
            let id = sync::init(&mut conn, &api, &hub, ca_text.as_deref())?;
            // Remembered for the later commands: the file's path, never the token.
            let remembered = match source {
                TokenSource::File(f) => f,
                TokenSource::Environment(_) => {
                    let mut beside = db.as_os_str().to_owned();
                    beside.push(".token");
                    let beside = PathBuf::from(beside);
                    write_token_file(&beside, &token)?;
                    beside
                }
            };
            let remembered = std::fs::canonicalize(&remembered).unwrap_or(remembered);
            register::set(&mut conn, register::TOKEN_FILE, &remembered.to_string_lossy())?;
            println!("register {} follows hub {id} at {hub}", db.display());
            // This installation's key for sealed TLP:RED, made once.
            if sealed::Keys::load(&mut conn)?.is_none_or(|k| k.list().is_empty()) {
                match sealed::new_key(&mut conn, db, &api, false) {
                    Ok(key) => println!("made encryption key {key} / 暗号鍵{key}を作成しました"),
                    Err(e) => eprintln!(
                        "warning: no encryption key made ({e:#}); sealed RED items will not open until `renkei key new` / \
                         警告: 暗号鍵を作成できませんでした。`renkei key new`を実行するまで封緘されたREDは開けません"
                    ),
                }
            }
            println!(
                "the token is read from {} from now on / 以後、トークンは{}から読み込みます",
                remembered.display(),
                remembered.display()
            );
            Ok(0)
        }
        Command::Sync { token_file, page_size, max_pages, follow: true, interval } => {
            if max_pages.is_some() {
                anyhow::bail!(
                    "--max-pages stops a sync; --follow does not stop / --max-pagesと--followは同時に指定できません"
                );
            }
            let api = connect(&mut conn, token_file.as_ref())?;
            let options =
                follow::FollowOptions { page_size, interval: std::time::Duration::from_secs(interval.max(1)) };
            let mut printer = SyncProgress::new(None);
            // Followed until killed: every page is committed with its cursor.
            let stop = std::sync::atomic::AtomicBool::new(false);
            follow::follow(&mut conn, &api, &options, &stop, &mut |event| match event {
                follow::Event::Context(refreshed) => print_context(refreshed),
                follow::Event::Connected { after } => {
                    eprintln!("following the hub's pushes after cursor {}", after.unwrap_or("(start)"))
                }
                follow::Event::Page(r) => printer.page(r),
                follow::Event::Synced { report, elapsed } => {
                    printer.synced(report, elapsed);
                    print_flags(&report.flags);
                }
                follow::Event::Due(due) => print_flags(due),
                follow::Event::Retrying { error, retry } => eprintln!(
                    "warning: {error:#}; trying again in {:.1} s / {:.1}秒後に再試行します",
                    retry.as_secs_f64(),
                    retry.as_secs_f64()
                ),
                follow::Event::Polling { interval } => eprintln!(
                    "the hub cannot push changes (no /changes/stream): polling every {} s / \
                     ハブがプッシュに対応していないため、{}秒ごとに取得します",
                    interval.as_secs(),
                    interval.as_secs()
                ),
            })?;
            Ok(0)
        }
        Command::Sync { token_file, page_size, max_pages, .. } => {
            let api = connect(&mut conn, token_file.as_ref())?;
            let options = sync::SyncOptions { page_size, max_pages };
            // The organisations' keys, to check who signed the sealed items that come.
            print_keys_refreshed(sealed::refresh_keys(&mut conn, &api, None).as_ref());
            // Matching needs the catalog's `targets` and the supplier chain; a hub that
            // cannot give them still syncs (matching then uses what is stored).
            print_context(context::refresh(&mut conn, &api).as_ref());
            let expected = max_pages.map(|m| m as u64 * page_size.max(1) as u64);
            let mut printer = SyncProgress::new(expected);
            let started = std::time::Instant::now();
            let report = sync::sync(&mut conn, &api, &options, &mut |r| printer.page(r))?;
            printer.synced(&report, started.elapsed());
            let mut flagged = report.flags;
            flagged += sealed::retry_unopened(&mut conn)?;
            flagged += flags::raise_due(&mut conn, chrono::Utc::now())?;
            print_flags(&flagged);
            // A sealed item that did not open is reported (and kept to try again).
            let unopened = sealed::unopened(&mut conn)?;
            for u in &unopened {
                eprintln!("sealed item {} not opened: {}", u.id, u.reason);
            }
            // A refused object fails the command (the rest is applied).
            Ok(if report.refused.is_empty() && unopened.is_empty() { 0 } else { 1 })
        }
        Command::Export { format, out, min_score } => {
            let held = csirt::active_indicators(&mut conn, min_score.min(100))?;
            if format == "suricata" {
                let Some(dir) = out else {
                    anyhow::bail!(
                        "--format suricata writes a rules file and the hash lists it names: give a folder with --out DIR / \
                         suricataの出力はルールファイルと参照するハッシュリストです。--out DIRでフォルダーを指定してください"
                    );
                };
                for path in csirt::export_suricata(&held, &dir)? {
                    eprintln!("wrote {}", path.display());
                }
                return Ok(0);
            }
            let mut writer: Box<dyn std::io::Write> = match &out {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            csirt::export(&held, &format, &mut writer)?;
            std::io::Write::flush(&mut writer)?;
            Ok(0)
        }
        Command::AuditCheckpoints { latest } => {
            let mut held = register::audit_checkpoints(&mut conn)?;
            if latest {
                held.truncate(1);
            }
            if json {
                print_json(&held)?;
                return Ok(0);
            }
            for object in held {
                println!("{object}");
            }
            Ok(0)
        }
        // RED with recipients is sealed; without, the hub refuses it with its own code.
        Command::Share { sharing, command }
            if is_red(&sharing.tlp) && !sharing.no_seal && !sharing.recipients.is_empty() =>
        {
            let api = connect(&mut conn, sharing.token_file.as_ref())?;
            let envelope_out = sharing.envelope_out.clone();
            let how = sharing_of(sharing);
            let bodies = match command {
                ShareCommand::Indicator { kind, value, file } => {
                    share::bodies::indicators(&indicator_entries(kind, value, file)?)?
                }
                ShareCommand::Technique { attack_id, name, narrative, ics_asset_types } => {
                    vec![share::bodies::technique(&attack_id, name.as_deref(), &narrative, &ics_asset_types)?]
                }
                ShareCommand::Incident { title, summary, sector, impact, techniques, indicators, suppliers } => {
                    let i = share::IncidentShare { title, summary, sector, impact, techniques, indicators, suppliers };
                    vec![share::bodies::incident(&i)?]
                }
                ShareCommand::Advisory { cve, title, cpes, fixed_in, exploitation } => {
                    let a = share::AdvisoryShare { cve, title, cpes, fixed_in, exploitation };
                    vec![share::bodies::advisory(&a)?]
                }
            };
            let document = sealed::seal_share(&mut conn, &api, bodies, &how)?;
            if let Some(path) = &envelope_out {
                sealed::write_envelope(path, &document)?;
                println!(
                    "{} sealed item(s) written to {}: upload it at /console/share/sealed / \
                     封緘した{}件を{}に書き出しました。コンソールの/console/share/sealedからアップロードしてください",
                    document.items.len(),
                    path.display(),
                    document.items.len(),
                    path.display()
                );
                return Ok(0);
            }
            for (id, status) in sealed::send(&api, &document)? {
                println!("{id}\t{status}\tsealed");
            }
            Ok(0)
        }
        Command::Key { token_file, command } => {
            if let KeyCommand::List = command {
                let keys = sealed::Keys::load(&mut conn)?;
                let list = keys.map(|k| k.list()).unwrap_or_default();
                if json {
                    let rows: Vec<serde_json::Value> = list
                        .iter()
                        .map(|(id, org, created, current)| {
                            serde_json::json!({"keyId": id, "org": org, "created": created, "current": current})
                        })
                        .collect();
                    print_json(&rows)?;
                } else {
                    for (id, org, created, current) in list {
                        println!("{id}\t{org}\t{created}{}", if current { "\tcurrent" } else { "" });
                    }
                }
                return Ok(0);
            }
            let api = connect(&mut conn, token_file.as_ref())?;
            match command {
                KeyCommand::New | KeyCommand::Rotate => {
                    let rotate = matches!(command, KeyCommand::Rotate);
                    let key = sealed::new_key(&mut conn, db, &api, rotate)?;
                    println!("{key}");
                }
                KeyCommand::Endorse { key_id } => {
                    sealed::endorse(&mut conn, &api, &key_id)?;
                    println!("endorsed {key_id} / 鍵{key_id}を承認しました");
                }
                KeyCommand::Revoke { key_id } => {
                    sealed::revoke(&mut conn, &api, &key_id)?;
                    println!("revoked {key_id} / 鍵{key_id}を失効させました");
                }
                KeyCommand::Trust { org, key_id } => {
                    sealed::trust(&mut conn, &api, &org, &key_id)?;
                    println!("trusted {key_id} of {org} / 組織{org}の鍵{key_id}を信頼しました");
                }
                KeyCommand::List => {}
            }
            Ok(0)
        }
        Command::Unopened => {
            let rows = sealed::unopened(&mut conn)?;
            if json {
                let rows: Vec<serde_json::Value> = rows
                    .iter()
                    .map(|u| serde_json::json!({"id": u.id, "kind": u.kind, "seq": u.seq, "reason": u.reason, "receivedAt": u.received_at}))
                    .collect();
                print_json(&rows)?;
            } else {
                for u in rows {
                    println!("{}\t{}\t{}", u.id, u.kind, u.reason);
                }
            }
            Ok(0)
        }
        Command::Share { sharing, command } => {
            anyhow::ensure!(
                sharing.envelope_out.is_none(),
                "--envelope-out writes a sealed TLP:RED share: it needs --tlp RED, --recipient ORG and no --no-seal / \
                 --envelope-outは封緘するTLP:REDの共有にのみ使えます（--tlp RED と --recipient を指定し、--no-sealは付けないでください）"
            );
            let api = connect(&mut conn, sharing.token_file.as_ref())?;
            let how = sharing_of(sharing);
            let receipts = match command {
                ShareCommand::Indicator { kind, value, file } => {
                    share::indicators(&api, &indicator_entries(kind, value, file)?, &how)?
                }
                ShareCommand::Technique { attack_id, name, narrative, ics_asset_types } => {
                    vec![share::technique(&api, &attack_id, name.as_deref(), &narrative, &ics_asset_types, &how)?]
                }
                ShareCommand::Incident { title, summary, sector, impact, techniques, indicators, suppliers } => {
                    let i = share::IncidentShare { title, summary, sector, impact, techniques, indicators, suppliers };
                    vec![share::incident(&api, &i, &how)?]
                }
                ShareCommand::Advisory { cve, title, cpes, fixed_in, exploitation } => {
                    let a = share::AdvisoryShare { cve, title, cpes, fixed_in, exploitation };
                    vec![share::advisory(&api, &a, &how)?]
                }
            };
            for (id, status) in receipts {
                println!("{id}\t{status}");
            }
            Ok(0)
        }
        Command::Sighting { indicator, count, false_positive, anonymous, token_file } => {
            let api = connect(&mut conn, token_file.as_ref())?;
            println!("{}", share::sighting(&api, &indicator, count, false_positive, anonymous)?);
            Ok(0)
        }
        Command::Match { file } => {
            // Every live indicator held, whatever its score.
            let held = csirt::active_indicators(&mut conn, 0)?;
            let mut input: Box<dyn std::io::BufRead> = if file.as_os_str() == "-" {
                Box::new(std::io::stdin().lock())
            } else {
                let f = std::fs::File::open(&file).with_context(|| format!("opening {}", file.display()))?;
                Box::new(std::io::BufReader::new(f))
            };
            let matches = csirt::match_lines(&held, &mut input)?;
            for m in &matches {
                for (value, id) in &m.hits {
                    println!("{}:{}: {value} ({id})", file.display(), m.line);
                }
            }
            eprintln!("{} matching lines", matches.len());
            Ok(0)
        }
        _ => anyhow::bail!("internal: this command is dispatched elsewhere by cli::run"),
    }
}

/// How to share, from the command line's sharing flags.
fn sharing_of(sharing: SharingArgs) -> share::Sharing {
    share::Sharing {
        tlp: sharing.tlp,
        recipients: sharing.recipients,
        anonymous: sharing.anonymous,
        confidence: sharing.confidence,
        valid_until: sharing.valid_until,
    }
}

/// Whether a label given on the command line is TLP:RED.
fn is_red(tlp: &str) -> bool {
    tlp.trim().trim_start_matches("TLP:").eq_ignore_ascii_case("RED")
}

/// The indicators of `share indicator`: TYPE and VALUE, and the lines of a file.
fn indicator_entries(
    kind: Option<String>,
    value: Option<String>,
    file: Option<PathBuf>,
) -> Result<Vec<(String, String)>> {
    let mut entries = Vec::new();
    if let (Some(k), Some(v)) = (&kind, &value) {
        entries.push((k.clone(), v.clone()));
    }
    if let Some(f) = file {
        let text = std::fs::read(&f).with_context(|| format!("reading {}", f.display()))?;
        entries.extend(indicator_lines(&text, kind.as_deref()).map_err(|bad| {
            anyhow::anyhow!(
                "{}: {} bad lines, nothing shared / {}件の不正な行があり、何も共有していません:\n{}",
                f.display(),
                bad.len(),
                bad.len(),
                bad.join("\n")
            )
        })?);
    }
    Ok(entries)
}

/// Warns about organisation keys the hub lists that this register does not trust.
fn print_keys_refreshed(refreshed: std::result::Result<&sealed::KeysRefreshed, &renkei_client::error::Error>) {
    match refreshed {
        Ok(r) => {
            for (org, key, why) in &r.refused {
                eprintln!("warning: key {key} of {org} is not trusted: {why}");
            }
        }
        Err(e) => {
            eprintln!("warning: the organisations' keys were not refreshed: {e} / 組織の鍵を更新できませんでした")
        }
    }
}

/// `TYPE,VALUE` lines (CSV: a value holding a comma is quoted), or bare values of
/// `kind`; every bad line is named (in both languages) or none is taken.
fn indicator_lines(text: &[u8], kind: Option<&str>) -> std::result::Result<Vec<(String, String)>, Vec<String>> {
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(text);
    let (mut entries, mut bad) = (Vec::new(), Vec::new());
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| p.line());
                bad.push(format!("line {line}: {e} / {line}行目: CSVとして読めません"));
                continue;
            }
        };
        let line = record.position().map_or(0, |p| p.line());
        let cells: Vec<&str> = record.iter().map(str::trim).collect();
        if cells.iter().all(|c| c.is_empty()) {
            continue;
        }
        match (cells.as_slice(), kind) {
            ([k, v], _) => entries.push((k.to_string(), v.to_string())),
            ([v], Some(k)) => entries.push((k.to_string(), v.to_string())),
            _ => bad.push(format!(
                "line {line}: expected TYPE,VALUE (or give --type) / {line}行目: 種別,値 の形式ではありません"
            )),
        }
    }
    if bad.is_empty() {
        Ok(entries)
    } else {
        Err(bad)
    }
}

fn print_context(refreshed: std::result::Result<&context::Refreshed, &renkei_client::error::Error>) {
    match refreshed {
        Ok(r) => eprintln!(
            "context: {} ATT&CK targets relations, {} suppliers, {} subcontractor links",
            r.targets, r.suppliers, r.chain_links
        ),
        Err(e) => eprintln!("warning: could not refresh the catalog and supplier chain: {e:#}"),
    }
}

fn print_flags(flagged: &flags::Recorded) {
    if flagged.raised + flagged.updated > 0 {
        eprintln!("{} reassessment flags raised, {} updated: see `renkei flags`", flagged.raised, flagged.updated);
    }
}

/// The progress of a sync (`progress::Progress` counting items): a bar on a terminal, a
/// line a page in a log.
struct SyncProgress {
    progress: Progress,
    /// Items counted so far in the report being followed (reports are cumulative).
    counted: u64,
}

impl SyncProgress {
    /// `expected`: the items the sync will apply at most, when known (`--max-pages`).
    fn new(expected: Option<u64>) -> SyncProgress {
        SyncProgress { progress: Progress::start("sync", expected), counted: 0 }
    }

    fn page(&mut self, r: &sync::SyncReport) {
        let items = (r.stored + r.deleted + r.refused.len()) as u64;
        let note = format!(
            "page {}: {} stored, {} deleted, {} refused, {} flags raised",
            r.pages,
            r.stored,
            r.deleted,
            r.refused.len(),
            r.flags.raised
        );
        self.progress.advance_with(items.saturating_sub(self.counted), &note);
        self.counted = items;
    }

    /// After the pages of a sync (or of a push).
    fn synced(&mut self, report: &sync::SyncReport, elapsed: std::time::Duration) {
        self.progress.clear();
        let rate = report.stored as f64 / elapsed.as_secs_f64().max(1e-3);
        eprintln!(
            "synced {} items in {:.1} s ({rate:.0} items/s): {:.1} s waiting for the hub and verification, {:.1} s writing",
            report.stored,
            elapsed.as_secs_f64(),
            report.waited.as_secs_f64(),
            report.writing.as_secs_f64()
        );
        for (id, why) in &report.refused {
            eprintln!("refused {id}: {why}");
        }
        // A follower's next pages are timed and counted from here.
        self.progress.restart();
        self.counted = 0;
    }
}
