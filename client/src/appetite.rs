//! Risk appetite and tolerance (handbook 5.1), measured: per business service, a
//! statement such as "at most 3 outages a year, each under 20 % degradation", at two
//! levels (`appetite`: what the member aims for; `tolerance`: the hard limit), held
//! against the member's OWN incidents, with the sector's incidents shared on the hub
//! shown beside them for comparison (never counted in the member's figures).
//!
//! The window is rolling: the incidents that started in the last `period_days` before
//! `now` (every function takes `now`, so a window moving on is a date passing). A
//! statement is
//! - `breached` when the window holds more incidents than the limit, or one degraded
//!   the service more than `max_degradation` %, or lasted longer than
//!   `max_outage_hours`;
//! - `trending` when it is not breached but the window's count is at the limit (the
//!   next incident breaches), or the pace of the window's latest half, kept for a whole
//!   window, passes the limit (the rate so far projects past it);
//! - `within` otherwise.
//!
//! A breach or a trend is raised as an `appetite_breach` flag on each risk tied to the
//! service (`flags::raise_appetite` records what [`flags_due`] returns): one open flag
//! per (risk, statement), source `appetite:SERVICE:KIND`. Its source revision grows
//! with a newer incident in the window or a changed statement, so a flag resolved by an
//! assessment is raised again only for something new. Back within, the open flag stays
//! (a person resolves it).

use std::collections::{BTreeMap, HashSet};

use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use renkei_schema::stix::{prop, StixRead};

use crate::bail;
use crate::error::{Context as _, Error, Result};
use crate::register::{stamp, ItemRow};
use crate::tables::{appetite_statements, own_incidents, risk_links, risks};

/// The two levels of a statement.
pub const KINDS: [&str; 2] = ["appetite", "tolerance"];
/// The longest window a statement may measure over (ten years).
pub const MAX_PERIOD_DAYS: i64 = 3660;

fn parse_time(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw.trim()).ok().map(|t| t.with_timezone(&Utc))
}

/// A statement as a user writes it (`appetite set`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct StatementInput {
    pub service: String,
    /// `appetite` (the default) or `tolerance`.
    pub kind: String,
    pub max_incidents: i64,
    pub period_days: i64,
    /// Percent of the service lost that one incident may cause at most.
    pub max_degradation: f64,
    /// Hours one incident may last at most.
    pub max_outage_hours: Option<f64>,
    /// The statement in the member's words (else one is written from the figures).
    pub statement: Option<String>,
    pub statement_ja: Option<String>,
}

/// A statement as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Statement {
    pub service: String,
    pub kind: String,
    pub max_incidents: i32,
    pub period_days: i32,
    pub max_degradation: f64,
    pub max_outage_hours: Option<f64>,
    pub statement: String,
    pub statement_ja: String,
    pub revision: i32,
    pub updated_at: String,
}

type StatementRow = (String, String, i32, i32, f64, Option<f64>, String, String, i32, String);

impl Statement {
    fn from_row(r: StatementRow) -> Statement {
        Statement {
            service: r.0,
            kind: r.1,
            max_incidents: r.2,
            period_days: r.3,
            max_degradation: r.4,
            max_outage_hours: r.5,
            statement: r.6,
            statement_ja: r.7,
            revision: r.8,
            updated_at: r.9,
        }
    }

    /// The flag source of this statement.
    pub fn source(&self) -> String {
        format!("appetite:{}:{}", self.service, self.kind)
    }

    fn kind_ja(&self) -> &'static str {
        if self.kind == "tolerance" {
            "許容度"
        } else {
            "リスク選好"
        }
    }
}

/// The statement written from the figures, in English and Japanese.
fn worded(kind: &str, max: i64, days: i64, degradation: f64, hours: Option<f64>) -> (String, String) {
    let outage = hours.map(|h| format!(" and {h} h")).unwrap_or_default();
    let outage_ja = hours.map(|h| format!("、停止は{h}時間以内")).unwrap_or_default();
    let level_ja = if kind == "tolerance" { "許容度" } else { "リスク選好" };
    (
        format!("{kind}: at most {max} incidents in {days} days, each at most {degradation} % degradation{outage}"),
        format!("{level_ja}: {days}日間にインシデント{max}件まで、1件あたりの機能低下は{degradation}%まで{outage_ja}"),
    )
}

/// Adds or replaces the statement of a service at one level; every problem is named
/// (English and Japanese), nothing is stored unless all is well.
pub fn set(conn: &mut SqliteConnection, input: StatementInput, now: DateTime<Utc>) -> Result<Statement> {
    let mut problems: Vec<String> = Vec::new();
    let service = input.service.trim().to_string();
    if service.is_empty() {
        problems.push("the service is empty / サービスが空です".into());
    }
    let kind = if input.kind.trim().is_empty() { "appetite".to_string() } else { input.kind.trim().to_lowercase() };
    if !KINDS.contains(&kind.as_str()) {
        problems.push(format!(
            "kind {kind:?}: expected appetite or tolerance / 種別「{kind}」は使えません(appetite または tolerance)"
        ));
    }
    if !(0..=100_000).contains(&input.max_incidents) {
        problems.push("max_incidents must be 0 to 100000 / 最大インシデント件数は0〜100000です".into());
    }
    if !(1..=MAX_PERIOD_DAYS).contains(&input.period_days) {
        problems.push(format!(
            "period_days must be 1 to {MAX_PERIOD_DAYS} / 期間は1〜{MAX_PERIOD_DAYS}日で指定してください"
        ));
    }
    if !(input.max_degradation.is_finite() && (0.0..=100.0).contains(&input.max_degradation)) {
        problems.push("max_degradation is a percentage from 0 to 100 / 最大機能低下は0〜100(%)です".into());
    }
    if input.max_outage_hours.is_some_and(|h| !(h.is_finite() && h >= 0.0)) {
        problems.push("max_outage_hours must be zero or more / 最大停止時間は0時間以上です".into());
    }
    conn.immediate_transaction(|c| {
        if !service.is_empty() {
            for s in crate::services::unknown(c, std::slice::from_ref(&service))? {
                problems.push(format!("no service {s:?} in the register / サービス「{s}」は登録されていません"));
            }
        }
        if !problems.is_empty() {
            bail!("{}", problems.join("\n"));
        }
        let previous: Option<i32> = appetite_statements::table
            .find((&service, &kind))
            .select(appetite_statements::revision)
            .first(c)
            .optional()?;
        let (en, ja) =
            worded(&kind, input.max_incidents, input.period_days, input.max_degradation, input.max_outage_hours);
        let text = |given: Option<String>, default: String| {
            given.map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).unwrap_or(default)
        };
        let statement = Statement {
            service: service.clone(),
            kind: kind.clone(),
            max_incidents: input.max_incidents as i32,
            period_days: input.period_days as i32,
            max_degradation: input.max_degradation,
            max_outage_hours: input.max_outage_hours,
            statement: text(input.statement, en),
            statement_ja: text(input.statement_ja, ja),
            revision: previous.unwrap_or(0) + 1,
            updated_at: stamp(now),
        };
        diesel::replace_into(appetite_statements::table)
            .values((
                appetite_statements::service.eq(&statement.service),
                appetite_statements::kind.eq(&statement.kind),
                appetite_statements::max_incidents.eq(statement.max_incidents),
                appetite_statements::period_days.eq(statement.period_days),
                appetite_statements::max_degradation.eq(statement.max_degradation),
                appetite_statements::max_outage_hours.eq(statement.max_outage_hours),
                appetite_statements::statement.eq(&statement.statement),
                appetite_statements::statement_ja.eq(&statement.statement_ja),
                appetite_statements::revision.eq(statement.revision),
                appetite_statements::updated_at.eq(&statement.updated_at),
            ))
            .execute(c)?;
        Ok(statement)
    })
}

/// Every statement, by service and level.
pub fn list(conn: &mut SqliteConnection) -> Result<Vec<Statement>> {
    let rows: Vec<StatementRow> = appetite_statements::table
        .order((appetite_statements::service.asc(), appetite_statements::kind.asc()))
        .select((
            appetite_statements::service,
            appetite_statements::kind,
            appetite_statements::max_incidents,
            appetite_statements::period_days,
            appetite_statements::max_degradation,
            appetite_statements::max_outage_hours,
            appetite_statements::statement,
            appetite_statements::statement_ja,
            appetite_statements::revision,
            appetite_statements::updated_at,
        ))
        .load(conn)?;
    Ok(rows.into_iter().map(Statement::from_row).collect())
}

// == The member's own incidents ==

/// One of the member's own incidents as given (`incident add`, a row of a file).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct IncidentInput {
    pub service: String,
    /// RFC 3339.
    pub started: String,
    /// RFC 3339.
    pub ended: String,
    /// Percent of the service lost (100: a full outage).
    pub degradation: f64,
    pub title: Option<String>,
}

/// An incident as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Incident {
    pub id: i64,
    pub service: String,
    pub started: String,
    pub ended: String,
    pub degradation: f64,
    pub title: String,
    pub recorded_at: String,
}

impl Incident {
    /// How long it lasted, in hours.
    pub fn outage_hours(&self) -> f64 {
        match (parse_time(&self.started), parse_time(&self.ended)) {
            (Some(s), Some(e)) => (e - s).num_seconds() as f64 / 3600.0,
            _ => 0.0,
        }
    }
}

/// A row of a file: a label naming it in messages, the incident read (none when the
/// row is not one), and what reading found wrong (English and Japanese).
pub type IncidentRow = (String, Option<IncidentInput>, Vec<String>);
pub type IncidentRows = Vec<IncidentRow>;

/// One incident given directly (`incident add`).
pub fn one(input: IncidentInput) -> IncidentRows {
    vec![(String::new(), Some(input), Vec::new())]
}

/// Reads a file of incidents: `.json` (an array of objects with the keys of
/// [`IncidentInput`]), else CSV with a header row (`service,started,ended,degradation,title`).
/// A row that cannot be read is kept with its problem, so the import names every bad row.
pub fn read_file(path: &std::path::Path) -> Result<IncidentRows> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {} / 読み込めません", path.display()))?;
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
        let values: Vec<Value> = serde_json::from_str(&text)
            .context("the JSON file is not an array of incidents / JSONファイルがインシデントの配列ではありません")?;
        return Ok(values
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                let n = i + 1;
                let label = format!("incident {n} / インシデント{n}");
                match serde_json::from_value::<IncidentInput>(v) {
                    Ok(input) => (label, Some(input), Vec::new()),
                    Err(e) => {
                        (label, None, vec![format!("not an incident ({e}) / インシデントの形式が正しくありません")])
                    }
                }
            })
            .collect());
    }
    let mut reader = csv::ReaderBuilder::new().trim(csv::Trim::All).flexible(true).from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| Error::Invalid(format!("the CSV header row: {e} / CSVの見出し行が読めません")))?
        .iter()
        .map(str::to_lowercase)
        .collect();
    const COLUMNS: [&str; 5] = ["service", "started", "ended", "degradation", "title"];
    let unknown: Vec<&String> = header.iter().filter(|h| !COLUMNS.contains(&h.as_str())).collect();
    if !unknown.is_empty() {
        bail!("unknown columns {unknown:?}; the columns are {} / 不明な列があります: {unknown:?}", COLUMNS.join(", "));
    }
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        // The header is line 1.
        let line = i + 2;
        let label = format!("row {line} / {line}行目");
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                rows.push((label, None, vec![format!("unreadable CSV ({e}) / CSVとして読めません")]));
                continue;
            }
        };
        let cell = |name: &str| header.iter().position(|h| h == name).and_then(|p| record.get(p)).unwrap_or("");
        let degradation = cell("degradation").trim_end_matches('%').trim();
        let mut problems = Vec::new();
        let parsed = degradation.parse::<f64>().unwrap_or_else(|_| {
            problems.push(format!(
                "degradation {degradation:?} is not a number (percent) / 機能低下「{degradation}」が数値(%)ではありません"
            ));
            0.0
        });
        let input = IncidentInput {
            service: cell("service").to_string(),
            started: cell("started").to_string(),
            ended: cell("ended").to_string(),
            degradation: parsed,
            title: Some(cell("title").to_string()).filter(|t| !t.is_empty()),
        };
        rows.push((label, Some(input), problems));
    }
    Ok(rows)
}

/// An incident checked, ready to store.
struct Checked {
    service: String,
    started: String,
    ended: String,
    degradation: f64,
    title: String,
}

/// Checks one incident: every problem, in English and Japanese.
fn check(input: &IncidentInput, known_services: &HashSet<String>, now: DateTime<Utc>) -> Vec<String> {
    let mut problems = Vec::new();
    let service = input.service.trim();
    if service.is_empty() {
        problems.push("the service is empty / サービスが空です".to_string());
    } else if !known_services.contains(service) {
        problems.push(format!("no service {service:?} in the register / サービス「{service}」は登録されていません"));
    }
    let started = parse_time(&input.started);
    let ended = parse_time(&input.ended);
    if started.is_none() {
        problems.push(format!(
            "started {:?} is not an RFC 3339 time / 開始時刻「{}」がRFC 3339形式ではありません",
            input.started, input.started
        ));
    }
    if ended.is_none() {
        problems.push(format!(
            "ended {:?} is not an RFC 3339 time / 終了時刻「{}」がRFC 3339形式ではありません",
            input.ended, input.ended
        ));
    }
    if let (Some(s), Some(e)) = (started, ended) {
        if e < s {
            problems.push("it ended before it started / 終了時刻が開始時刻より前です".into());
        }
        if e > now {
            problems.push("it ends in the future / 終了時刻が未来です".into());
        }
    }
    if !(input.degradation.is_finite() && (0.0..=100.0).contains(&input.degradation)) {
        problems.push("degradation is a percentage from 0 to 100 / 機能低下は0〜100(%)です".into());
    }
    problems
}

/// What storing incidents did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Stored {
    /// New incidents, or changed ones (a row for the same service and start).
    pub stored: usize,
    /// Rows identical to an incident already held.
    pub unchanged: usize,
}

/// Stores the member's incidents, all or none (in the caller's transaction; the
/// entry point that also raises the flags is `flags::record_incidents`): every bad row
/// is named in English and Japanese. A row for the service and start of an incident
/// already held replaces it (with a new id) when it differs, and is left alone when
/// it is the same, so importing a file again changes nothing.
pub fn store(conn: &mut SqliteConnection, rows: IncidentRows, now: DateTime<Utc>) -> Result<Stored> {
    let known: HashSet<String> = crate::tables::services::table
        .select(crate::tables::services::name)
        .load::<String>(conn)?
        .into_iter()
        .collect();
    let mut problems = Vec::new();
    let mut checked: Vec<Checked> = Vec::new();
    let mut seen: BTreeMap<(String, String), String> = BTreeMap::new();
    let single = rows.len() == 1;
    for (label, read, mut found) in rows {
        let named = |p: &str| if single { p.to_string() } else { format!("{label}: {p}") };
        let Some(input) = read else {
            problems.extend(found.iter().map(|p| named(p)));
            continue;
        };
        found.extend(check(&input, &known, now));
        if !found.is_empty() {
            problems.extend(found.iter().map(|p| named(p)));
            continue;
        }
        let (Some(started), Some(ended)) = (parse_time(&input.started), parse_time(&input.ended)) else {
            continue;
        };
        let key = (input.service.trim().to_string(), stamp(started));
        if let Some(first) = seen.get(&key) {
            let (en, ja) = first.split_once(" / ").unwrap_or((first, first));
            problems.push(named(&format!("the same service and start as {en} / {ja}と同じサービス・開始時刻です")));
            continue;
        }
        seen.insert(key.clone(), label.clone());
        checked.push(Checked {
            service: key.0,
            started: key.1,
            ended: stamp(ended),
            degradation: input.degradation,
            title: input.title.map(|t| t.trim().to_string()).unwrap_or_default(),
        });
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    let mut done = Stored::default();
    let recorded_at = stamp(now);
    for i in checked {
        let held: Option<(i64, String, f64, String)> = own_incidents::table
            .filter(own_incidents::service.eq(&i.service))
            .filter(own_incidents::started_at.eq(&i.started))
            .select((own_incidents::id, own_incidents::ended_at, own_incidents::degradation, own_incidents::title))
            .first(conn)
            .optional()?;
        if let Some((id, ended, degradation, title)) = held {
            if ended == i.ended && degradation == i.degradation && title == i.title {
                done.unchanged += 1;
                continue;
            }
            diesel::delete(own_incidents::table.find(id)).execute(conn)?;
        }
        diesel::insert_into(own_incidents::table)
            .values((
                own_incidents::service.eq(&i.service),
                own_incidents::started_at.eq(&i.started),
                own_incidents::ended_at.eq(&i.ended),
                own_incidents::degradation.eq(i.degradation),
                own_incidents::title.eq(&i.title),
                own_incidents::recorded_at.eq(&recorded_at),
            ))
            .execute(conn)?;
        done.stored += 1;
    }
    Ok(done)
}

type StoredIncident = (i64, String, String, String, f64, String, String);

/// The member's incidents, the latest first (of one service, or all).
pub fn incidents(conn: &mut SqliteConnection, service: Option<&str>) -> Result<Vec<Incident>> {
    let mut query = own_incidents::table
        .order((own_incidents::started_at.desc(), own_incidents::id.desc()))
        .select((
            own_incidents::id,
            own_incidents::service,
            own_incidents::started_at,
            own_incidents::ended_at,
            own_incidents::degradation,
            own_incidents::title,
            own_incidents::recorded_at,
        ))
        .into_boxed();
    if let Some(s) = service {
        query = query.filter(own_incidents::service.eq(s.to_string()));
    }
    let rows: Vec<StoredIncident> = query.load(conn)?;
    Ok(rows
        .into_iter()
        .map(|r| Incident {
            id: r.0,
            service: r.1,
            started: r.2,
            ended: r.3,
            degradation: r.4,
            title: r.5,
            recorded_at: r.6,
        })
        .collect())
}

// == Measuring ==

/// Where a statement stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    Within,
    Trending,
    Breached,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Within => "within",
            State::Trending => "trending",
            State::Breached => "breached",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            State::Within => "within / 範囲内",
            State::Trending => "trending / 超過傾向",
            State::Breached => "breached / 超過",
        }
    }
}

/// The member's own incidents in a statement's window.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Figures {
    pub count: usize,
    pub worst_degradation: f64,
    pub longest_outage_hours: f64,
    /// What a whole window would hold at the pace of its latest half.
    pub projected: usize,
    /// The incidents counted (ids).
    pub incidents: Vec<i64>,
}

/// The sector's incidents shared on the hub in the same window, for comparison.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Sector {
    pub count: usize,
    /// Those naming a technique or supplier the service's risks assume or depend on.
    pub related: Vec<String>,
}

/// Why a statement is trending or breached, in English and Japanese.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Reason {
    pub en: String,
    pub ja: String,
}

/// A statement measured.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Status {
    pub statement: Statement,
    pub window_start: String,
    pub window_end: String,
    pub own: Figures,
    pub state: State,
    /// Why it is trending or breached.
    pub reasons: Vec<Reason>,
    pub sector: Sector,
}

/// A sector incident held: when it happened, the techniques and suppliers it names.
struct SectorIncident {
    id: String,
    at: Option<DateTime<Utc>>,
    techniques: Vec<String>,
    suppliers: Vec<String>,
}

fn sector_incidents(conn: &mut SqliteConnection) -> Result<Vec<SectorIncident>> {
    let mut out = Vec::new();
    for item in crate::register::held_items(conn, Some("incident"))? {
        let Ok(stix) = serde_json::from_str::<Value>(&item.stix) else { continue };
        let read = StixRead(&stix);
        if read.revoked() {
            continue;
        }
        // When it happened, else when it was reported.
        let at = read.prop(prop::OCCURRED_AT).as_str().or(stix["created"].as_str()).and_then(parse_time);
        out.push(SectorIncident { id: item.id, at, techniques: read.technique_ids(), suppliers: read.supplier_refs() });
    }
    Ok(out)
}

/// The risks tied to a service (id and level), and the techniques, suppliers and
/// offerings they assume or depend on.
struct ServiceRisks {
    risks: Vec<(String, i32)>,
    named: HashSet<String>,
}

fn service_risks(conn: &mut SqliteConnection, service: &str) -> Result<ServiceRisks> {
    let ids: Vec<String> = risk_links::table
        .filter(risk_links::kind.eq("service"))
        .filter(risk_links::value.eq(service))
        .select(risk_links::risk_id)
        .load(conn)?;
    let levels: Vec<(String, i32)> = risks::table
        .filter(risks::id.eq_any(&ids))
        .order(risks::id.asc())
        .select((risks::id, risks::level))
        .load(conn)?;
    let named: Vec<String> = risk_links::table
        .filter(risk_links::risk_id.eq_any(&ids))
        .filter(risk_links::kind.eq_any(["technique", "supplier", "offering"]))
        .select(risk_links::value)
        .load(conn)?;
    Ok(ServiceRisks { risks: levels, named: named.into_iter().collect() })
}

/// Measures one statement at `now` against the member's incidents of its service.
fn measure(
    statement: Statement,
    own: &[Incident],
    sector: &[SectorIncident],
    named: &HashSet<String>,
    now: DateTime<Utc>,
) -> Status {
    let period = TimeDelta::days(i64::from(statement.period_days));
    let start = now - period;
    let half = now - period / 2;
    let mut f = Figures::default();
    let mut recent = 0;
    for i in own {
        let Some(at) = parse_time(&i.started) else { continue };
        if at <= start || at > now {
            continue;
        }
        f.count += 1;
        f.worst_degradation = f.worst_degradation.max(i.degradation);
        f.longest_outage_hours = f.longest_outage_hours.max(i.outage_hours());
        f.incidents.push(i.id);
        if at > half {
            recent += 1;
        }
    }
    f.projected = recent * 2;
    let max = statement.max_incidents.max(0) as usize;
    let mut breaches = Vec::new();
    if f.count > max {
        breaches.push((
            format!("{} incidents in {} days, over the limit of {max}", f.count, statement.period_days),
            format!("{}日間にインシデント{}件(上限{max}件を超過)", statement.period_days, f.count),
        ));
    }
    if f.worst_degradation > statement.max_degradation {
        breaches.push((
            format!("an incident degraded the service {} %, over {} %", f.worst_degradation, statement.max_degradation),
            format!("機能低下{}%のインシデント(上限{}%を超過)", f.worst_degradation, statement.max_degradation),
        ));
    }
    if let Some(h) = statement.max_outage_hours.filter(|h| f.longest_outage_hours > *h) {
        let longest = (f.longest_outage_hours * 10.0).round() / 10.0;
        breaches.push((
            format!("an incident lasted {longest} h, over {h} h"),
            format!("{longest}時間続いたインシデント(上限{h}時間を超過)"),
        ));
    }
    let mut trends = Vec::new();
    if breaches.is_empty() {
        if f.count == max && f.count > 0 {
            trends.push((
                format!(
                    "{} incidents in {} days: at the limit, the next one breaches it",
                    f.count, statement.period_days
                ),
                format!(
                    "{}日間にインシデント{}件で上限に達しています。次の1件で超過します",
                    statement.period_days, f.count
                ),
            ));
        } else if f.projected > max {
            trends.push((
                format!(
                    "{recent} incidents in the latest {} days: at this pace a window holds {}, over the limit of {max}",
                    statement.period_days / 2,
                    f.projected
                ),
                format!(
                    "直近{}日間にインシデント{recent}件。このペースでは期間内に{}件となり上限{max}件を超えます",
                    statement.period_days / 2,
                    f.projected
                ),
            ));
        }
    }
    let state = if !breaches.is_empty() {
        State::Breached
    } else if !trends.is_empty() {
        State::Trending
    } else {
        State::Within
    };
    let mut s = Sector::default();
    for i in sector {
        if !i.at.is_some_and(|at| at > start && at <= now) {
            continue;
        }
        s.count += 1;
        let related = i.suppliers.iter().any(|x| named.contains(x))
            || i.techniques.iter().any(|t| {
                named.contains(t)
                    || renkei_schema::model::attack_id::parent_technique(t).is_some_and(|p| named.contains(p))
            });
        if related {
            s.related.push(i.id.clone());
        }
    }
    Status {
        window_start: stamp(start),
        window_end: stamp(now),
        statement,
        own: f,
        state,
        reasons: if breaches.is_empty() { trends } else { breaches }
            .into_iter()
            .map(|(en, ja)| Reason { en, ja })
            .collect(),
        sector: s,
    }
}

/// Every statement measured at `now`.
pub fn status(conn: &mut SqliteConnection, now: DateTime<Utc>) -> Result<Vec<Status>> {
    let statements = list(conn)?;
    if statements.is_empty() {
        return Ok(Vec::new());
    }
    let sector = sector_incidents(conn)?;
    let mut out = Vec::new();
    for statement in statements {
        let own = incidents(conn, Some(&statement.service))?;
        let tied = service_risks(conn, &statement.service)?;
        out.push(measure(statement, &own, &sector, &tied.named, now));
    }
    Ok(out)
}

/// An appetite flag to raise on a risk (`flags` records it as a `Trigger::AppetiteBreach`
/// flag of quality `exact`: the risk names the service).
#[derive(Debug, Clone, PartialEq)]
pub struct AppetiteFlag {
    pub risk_id: String,
    /// `appetite:SERVICE:KIND`.
    pub source: String,
    pub source_revision: i64,
    pub priority: i32,
    pub title: String,
    /// (selector, theirs, ours, via), as a flag's evidence.
    pub evidence: Vec<(String, String, String, String)>,
    pub suggestion: String,
    pub suggestion_ja: String,
}

/// The flags the statements breached or trending call for at `now`, on the risks tied
/// to their service.
pub fn flags_due(conn: &mut SqliteConnection, now: DateTime<Utc>) -> Result<Vec<AppetiteFlag>> {
    let mut out = Vec::new();
    for s in status(conn, now)? {
        if s.state == State::Within {
            continue;
        }
        let risks = service_risks(conn, &s.statement.service)?.risks;
        let st = &s.statement;
        // Grows with a newer incident in the window, and with a changed statement.
        let newest = s.own.incidents.iter().copied().max().unwrap_or(0);
        let revision = (i64::from(st.revision) << 32) + newest;
        let (base, verb, verb_ja) = match (s.state, st.kind.as_str()) {
            (State::Breached, "tolerance") => (50, "breached", "超過しました"),
            (State::Breached, _) => (40, "breached", "超過しました"),
            _ => (20, "is trending towards breaching", "超過に向かっています"),
        };
        let why: Vec<&str> = s.reasons.iter().map(|r| r.en.as_str()).collect();
        let why_ja: Vec<&str> = s.reasons.iter().map(|r| r.ja.as_str()).collect();
        let figures = format!(
            "{} incidents in {} days, worst {} % degradation, longest {:.1} h",
            s.own.count, st.period_days, s.own.worst_degradation, s.own.longest_outage_hours
        );
        let figures_ja = format!(
            "{}日間に{}件、最大機能低下{}%、最長{:.1}時間",
            st.period_days, s.own.count, s.own.worst_degradation, s.own.longest_outage_hours
        );
        let mut evidence = vec![(
            "appetite".to_string(),
            format!("{figures} ({})", why.join("; ")),
            format!("{} \"{}\"", st.kind, st.statement),
            format!("service {} -> risk", st.service),
        )];
        evidence.push((
            "sector".to_string(),
            format!(
                "{} sector incidents shared on the hub in the same window, {} naming this service's techniques or suppliers",
                s.sector.count,
                s.sector.related.len()
            ),
            "for comparison; not counted in the member's figures".to_string(),
            "hub".to_string(),
        ));
        for (risk_id, level) in risks {
            out.push(AppetiteFlag {
                risk_id,
                source: st.source(),
                source_revision: revision,
                priority: base + 10 * level.max(0),
                title: format!("{} of {} {verb}: {figures}", st.kind, st.service),
                evidence: evidence.clone(),
                suggestion: format!(
                    "the {} \"{}\" for {} {verb} ({figures}; {}): re-assess this risk's likelihood and treatment, and whether the service's controls or the statement must change",
                    st.kind,
                    st.statement,
                    st.service,
                    why.join("; ")
                ),
                suggestion_ja: format!(
                    "{}の{}「{}」を{verb_ja}({figures_ja}。{})。このリスクの発生可能性と対応方針、サービスの管理策または表明の見直しを検討してください",
                    st.service,
                    st.kind_ja(),
                    st.statement_ja,
                    why_ja.join("。")
                ),
            });
        }
    }
    Ok(out)
}

/// What a sync page means here, in its transaction (called once per page by
/// `flags::match_items`): shared intelligence bearing on a readiness trait makes its
/// review due (`readiness::note_items`), and a page that brought incidents has the
/// statements measured again (the flags carry the sector's figures beside the
/// member's). Returns the appetite flags to record.
pub fn after_page(conn: &mut SqliteConnection, items: &[ItemRow], now: DateTime<Utc>) -> Result<Vec<AppetiteFlag>> {
    if !items.iter().any(|i| i.kind == "technique" || i.kind == "incident") {
        return Ok(Vec::new());
    }
    crate::readiness::note_items(conn, items, now)?;
    let statements: i64 = appetite_statements::table.count().get_result(conn)?;
    // Measuring reads every sector incident held: not once per page of a first sync
    // (the date-driven flags measure once when it ends).
    let first_sync = crate::register::get(conn, crate::register::FIRST_SYNC)?.is_some();
    if statements == 0 || first_sync || !items.iter().any(|i| i.kind == "incident") {
        return Ok(Vec::new());
    }
    flags_due(conn, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        parse_time(s).expect("time")
    }

    fn statement(max: i32) -> Statement {
        Statement {
            service: "Power".into(),
            kind: "appetite".into(),
            max_incidents: max,
            period_days: 100,
            max_degradation: 20.0,
            max_outage_hours: Some(4.0),
            statement: String::new(),
            statement_ja: String::new(),
            revision: 1,
            updated_at: String::new(),
        }
    }

    fn incident(id: i64, started: &str, hours: i64, degradation: f64) -> Incident {
        let s = at(started);
        Incident {
            id,
            service: "Power".into(),
            started: stamp(s),
            ended: stamp(s + TimeDelta::hours(hours)),
            degradation,
            title: String::new(),
            recorded_at: String::new(),
        }
    }

    #[test]
    fn the_window_rolls_and_the_pace_of_its_latest_half_projects() {
        let now = at("2026-12-01T00:00:00Z");
        let none = HashSet::new();
        let m = |max, own: &[Incident]| measure(statement(max), own, &[], &none, now);
        // Outside the window (more than 100 days ago): not counted.
        let old = incident(1, "2026-08-01T00:00:00Z", 1, 10.0);
        let early = incident(2, "2026-09-01T00:00:00Z", 1, 10.0);
        let late = incident(3, "2026-11-01T00:00:00Z", 1, 10.0);
        let later = incident(4, "2026-11-20T00:00:00Z", 1, 10.0);
        let s = m(3, &[old]);
        assert_eq!((s.own.count, s.state), (0, State::Within));
        // One early, one late: within (the pace of the latest half: 2 a window).
        let s = m(3, &[early.clone(), late.clone()]);
        assert_eq!((s.own.count, s.own.projected, s.state), (2, 2, State::Within));
        // Two in the latest half: 4 a window, over 3.
        let s = m(3, &[late.clone(), later.clone()]);
        assert_eq!((s.own.projected, s.state), (4, State::Trending));
        // At the limit.
        assert_eq!(m(2, &[early.clone(), late.clone()]).state, State::Trending);
        // Over it; and a single incident too deep or too long.
        assert_eq!(m(1, &[early.clone(), late.clone()]).state, State::Breached);
        assert_eq!(m(3, &[incident(5, "2026-10-01T00:00:00Z", 1, 25.0)]).state, State::Breached);
        let s = m(3, &[incident(6, "2026-10-01T00:00:00Z", 5, 10.0)]);
        assert_eq!(s.state, State::Breached);
        assert!(s.reasons[0].en.contains("lasted 5 h, over 4 h"), "{:?}", s.reasons);
        // The window moves on: at the end of the year nothing is left in it.
        let s = measure(statement(1), &[early, late], &[], &none, at("2027-06-01T00:00:00Z"));
        assert_eq!((s.own.count, s.state), (0, State::Within));
    }
}
