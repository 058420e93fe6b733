//! The risk treatment plan (handbook 6.3): actions with an owner, a due date, a cost
//! and a status (planned, in_progress, done, cancelled), each tied to the gaps it
//! closes (labels of a loaded catalog) and the risks it treats, with every change of
//! status kept. Overdue is derived (due date passed, neither done nor cancelled), never
//! stored; reassessment (`flags::raise_due`) flags the risks of an overdue action.

use std::collections::HashMap;

use crate::bail;
use crate::error::{Context as _, Result};
use chrono::NaiveDate;
use diesel::prelude::*;
use diesel::sqlite::SqliteConnection;
use serde::{Deserialize, Serialize};

use crate::catalogs::{Index, CSF};
use crate::register;
use crate::tables::{plan_actions, plan_history, plan_links};

/// Settings key of the next action number.
const NEXT_ACTION: &str = "next_plan_action_number";

pub const STATUSES: [&str; 4] = ["planned", "in_progress", "done", "cancelled"];

/// An action as a member gives it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ActionInput {
    pub title: String,
    pub owner: String,
    /// YYYY-MM-DD.
    pub due: String,
    pub cost: Option<f64>,
    /// Gap labels: `LABEL` (NIST CSF 2.0) or `FRAMEWORK:LABEL` (`cis-v8:3.1`).
    pub gaps: Vec<String>,
    /// Risk ids (`R-0001`).
    pub risks: Vec<String>,
}

/// A gap an action closes.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct GapRef {
    pub framework: String,
    pub label: String,
}

/// An action as stored, with whether it is overdue on the day asked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Action {
    pub id: String,
    pub title: String,
    pub owner: String,
    pub due: NaiveDate,
    pub cost: Option<f64>,
    pub status: String,
    pub gaps: Vec<GapRef>,
    pub risks: Vec<String>,
    pub overdue: bool,
    /// Days past the due date (0 when not overdue).
    pub days_overdue: i64,
    pub created_at: String,
    pub updated_at: String,
}

/// One change of an action's status.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    pub at: String,
    pub from: Option<String>,
    pub to: String,
    pub note: String,
}

/// An action with its history, oldest change first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Shown {
    #[serde(flatten)]
    pub action: Action,
    pub history: Vec<Change>,
}

fn now() -> String {
    crate::register::stamp(chrono::Utc::now())
}

fn is_open(status: &str) -> bool {
    status != "done" && status != "cancelled"
}

/// Adds an action, checked whole (every problem named; nothing stored unless all is
/// well); returns its id (`P-0001`…).
pub fn add(conn: &mut SqliteConnection, input: ActionInput) -> Result<String> {
    let mut problems: Vec<String> = Vec::new();
    let title = input.title.trim().to_string();
    if title.is_empty() {
        problems.push("the title is empty / 件名が空です".into());
    }
    let owner = input.owner.trim().to_string();
    if owner.is_empty() {
        problems.push("an action needs an owner (--owner) / 対応策には担当者(--owner)が必要です".into());
    }
    let due = match NaiveDate::parse_from_str(input.due.trim(), "%Y-%m-%d") {
        Ok(d) => Some(d),
        Err(_) => {
            problems.push(format!(
                "the due date {:?} is not YYYY-MM-DD / 期限「{}」はYYYY-MM-DD形式ではありません",
                input.due, input.due
            ));
            None
        }
    };
    if input.cost.is_some_and(|c| !c.is_finite() || c < 0.0) {
        problems.push("the cost is a number of zero or more / コストは0以上の数です".into());
    }
    let mut gaps: Vec<GapRef> = Vec::new();
    let mut indexes: HashMap<String, Option<Index>> = HashMap::new();
    for raw in input.gaps.iter().map(|g| g.trim()).filter(|g| !g.is_empty()) {
        let (framework, label) = match raw.split_once(':') {
            Some((f, l)) => (f.trim().to_lowercase(), l.trim()),
            None => (CSF.to_string(), raw),
        };
        if !indexes.contains_key(&framework) {
            let index = match Index::load(conn, &framework) {
                Ok(i) => Some(i),
                Err(crate::error::Error::Invalid(m)) => {
                    problems.push(format!("gap {raw:?}: {m}"));
                    None
                }
                Err(e) => return Err(e),
            };
            indexes.insert(framework.clone(), index);
        }
        if let Some(index) = indexes.get(&framework).and_then(|i| i.as_ref()) {
            match index.find(label) {
                Some(c) => gaps.push(GapRef { framework, label: c.label.clone() }),
                None => problems.push(format!("gap: {}", index.unknown(label))),
            }
        }
    }
    gaps.sort();
    gaps.dedup();
    let mut risks: Vec<String> =
        input.risks.iter().map(|r| r.trim().to_uppercase()).filter(|r| !r.is_empty()).collect();
    risks.sort();
    risks.dedup();
    for r in &risks {
        let held: i64 = crate::tables::risks::table.filter(crate::tables::risks::id.eq(r)).count().get_result(conn)?;
        if held == 0 {
            problems.push(format!("no risk {r} in the register / リスク {r} は登録されていません"));
        }
    }
    let (Some(due), true) = (due, problems.is_empty()) else {
        bail!("{}", problems.join("\n"));
    };
    crate::register::write_transaction(conn, |c| {
        let number: u64 = register::get(c, NEXT_ACTION)?.and_then(|n| n.parse().ok()).unwrap_or(1);
        register::set(c, NEXT_ACTION, &(number + 1).to_string())?;
        let id = format!("P-{number:04}");
        let at = now();
        diesel::insert_into(plan_actions::table)
            .values((
                plan_actions::id.eq(&id),
                plan_actions::title.eq(&title),
                plan_actions::owner.eq(&owner),
                plan_actions::due.eq(due.to_string()),
                plan_actions::cost.eq(input.cost),
                plan_actions::status.eq("planned"),
                plan_actions::created_at.eq(&at),
                plan_actions::updated_at.eq(&at),
            ))
            .execute(c)?;
        let links: Vec<_> = gaps
            .iter()
            .map(|g| ("gap", g.framework.as_str(), g.label.as_str()))
            .chain(risks.iter().map(|r| ("risk", "", r.as_str())))
            .map(|(kind, framework, value)| {
                (
                    plan_links::action_id.eq(&id),
                    plan_links::kind.eq(kind),
                    plan_links::framework.eq(framework),
                    plan_links::value.eq(value),
                )
            })
            .collect();
        for chunk in links.chunks(500) {
            diesel::insert_into(plan_links::table).values(chunk).execute(c)?;
        }
        diesel::insert_into(plan_history::table)
            .values((
                plan_history::action_id.eq(&id),
                plan_history::at.eq(&at),
                plan_history::from_status.eq(None::<String>),
                plan_history::to_status.eq("planned"),
                plan_history::note.eq("created"),
            ))
            .execute(c)?;
        Ok(id)
    })
}

/// Changes an action's status (to another one), keeping the change and its note.
pub fn set_status(conn: &mut SqliteConnection, id: &str, status: &str, note: &str) -> Result<()> {
    let id = id.trim().to_uppercase();
    let status = status.trim().to_lowercase().replace('-', "_");
    if !STATUSES.contains(&status.as_str()) {
        bail!("status {status:?}: expected one of {} / 状態「{status}」は使えません", STATUSES.join(", "));
    }
    crate::register::write_transaction(conn, |c| {
        let old: Option<String> = plan_actions::table.find(&id).select(plan_actions::status).first(c).optional()?;
        let old = old.with_context(|| format!("no action {id} in the plan / 対応策 {id} はありません"))?;
        if old == status {
            bail!("action {id} is already {status} / 対応策 {id} はすでに {status} です");
        }
        let at = now();
        diesel::update(plan_actions::table.find(&id))
            .set((plan_actions::status.eq(&status), plan_actions::updated_at.eq(&at)))
            .execute(c)?;
        diesel::insert_into(plan_history::table)
            .values((
                plan_history::action_id.eq(&id),
                plan_history::at.eq(&at),
                plan_history::from_status.eq(Some(old)),
                plan_history::to_status.eq(&status),
                plan_history::note.eq(note.trim()),
            ))
            .execute(c)?;
        Ok(())
    })
}

type ActionRow = (String, String, String, String, Option<f64>, String, String, String);

fn load(conn: &mut SqliteConnection, only: Option<&str>, today: NaiveDate) -> Result<Vec<Action>> {
    let mut query = plan_actions::table
        .select((
            plan_actions::id,
            plan_actions::title,
            plan_actions::owner,
            plan_actions::due,
            plan_actions::cost,
            plan_actions::status,
            plan_actions::created_at,
            plan_actions::updated_at,
        ))
        .order((plan_actions::due.asc(), plan_actions::id.asc()))
        .into_boxed();
    let mut links = plan_links::table
        .select((plan_links::action_id, plan_links::kind, plan_links::framework, plan_links::value))
        .into_boxed();
    if let Some(id) = only {
        query = query.filter(plan_actions::id.eq(id.to_string()));
        links = links.filter(plan_links::action_id.eq(id.to_string()));
    }
    let rows: Vec<ActionRow> = query.load(conn)?;
    let link_rows: Vec<(String, String, String, String)> = links.load(conn)?;
    let mut linked: HashMap<String, (Vec<GapRef>, Vec<String>)> = HashMap::new();
    for (action, kind, framework, value) in link_rows {
        let entry = linked.entry(action).or_default();
        if kind == "gap" {
            entry.0.push(GapRef { framework, label: value });
        } else {
            entry.1.push(value);
        }
    }
    rows.into_iter()
        .map(|(id, title, owner, due, cost, status, created_at, updated_at)| {
            let due = NaiveDate::parse_from_str(&due, "%Y-%m-%d")
                .with_context(|| format!("action {id}: a stored due date {due:?} is not YYYY-MM-DD"))?;
            let overdue = is_open(&status) && due < today;
            let (mut gaps, mut risks) = linked.remove(&id).unwrap_or_default();
            gaps.sort();
            risks.sort();
            Ok(Action {
                days_overdue: if overdue { (today - due).num_days() } else { 0 },
                overdue,
                id,
                title,
                owner,
                due,
                cost,
                status,
                gaps,
                risks,
                created_at,
                updated_at,
            })
        })
        .collect()
}

/// The actions, earliest due first (only the overdue ones on `today` if asked).
pub fn list(conn: &mut SqliteConnection, overdue_only: bool, today: NaiveDate) -> Result<Vec<Action>> {
    Ok(load(conn, None, today)?.into_iter().filter(|a| a.overdue || !overdue_only).collect())
}

/// One action with its history.
pub fn show(conn: &mut SqliteConnection, id: &str, today: NaiveDate) -> Result<Shown> {
    let id = id.trim().to_uppercase();
    let action = load(conn, Some(&id), today)?
        .into_iter()
        .next()
        .with_context(|| format!("no action {id} in the plan / 対応策 {id} はありません"))?;
    let history: Vec<(String, Option<String>, String, String)> = plan_history::table
        .filter(plan_history::action_id.eq(&id))
        .order(plan_history::id.asc())
        .select((plan_history::at, plan_history::from_status, plan_history::to_status, plan_history::note))
        .load(conn)?;
    Ok(Shown {
        action,
        history: history.into_iter().map(|(at, from, to, note)| Change { at, from, to, note }).collect(),
    })
}

/// A risk that an overdue action was to treat (what reassessment flags).
#[derive(Debug, Clone, PartialEq)]
pub struct OverdueLink {
    pub risk_id: String,
    pub action_id: String,
    pub title: String,
    pub owner: String,
    pub due: NaiveDate,
    pub days_overdue: i64,
}

/// Every (risk, overdue action) pair on `today`.
pub fn overdue_links(conn: &mut SqliteConnection, today: NaiveDate) -> Result<Vec<OverdueLink>> {
    let mut out = Vec::new();
    for action in list(conn, true, today)? {
        for risk in &action.risks {
            out.push(OverdueLink {
                risk_id: risk.clone(),
                action_id: action.id.clone(),
                title: action.title.clone(),
                owner: action.owner.clone(),
                due: action.due,
                days_overdue: action.days_overdue,
            });
        }
    }
    Ok(out)
}
