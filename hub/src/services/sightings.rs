//! Sightings: members reporting that they saw an indicator (or that it was a false
//! positive for them). Side data: a sighting never makes a new version of the
//! indicator, so it cannot start a sync loop between hubs and never re-sends the
//! indicator to followers. Aggregates name no organisation, so no member learns who
//! reported; coordinators read the individual reports (anonymous ones included, marked
//! as such), as they see the submitters of anonymous items.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use renkei_schema::tlp::Status;

use super::audit::{self, AuditEvent};
use super::sharing;
use crate::auth::Identity;
use crate::error::{AppError, AppResult};
use crate::store::models::SightingRow;
use crate::store::schema::sightings;
use crate::store::{acquire_write_lock, now_text, time_text, DbConn};

/// What a report says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SightingKind {
    /// Seen in the reporter's environment.
    Seen,
    /// Matched something benign there.
    FalsePositive,
}

impl SightingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            SightingKind::Seen => "seen",
            SightingKind::FalsePositive => "false_positive",
        }
    }
}

/// A sighting as reported.
#[derive(Debug, Clone)]
pub struct NewSighting {
    pub indicator_id: String,
    pub kind: SightingKind,
    pub count: i64,
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    pub anonymous: bool,
}

/// Reports can be a little ahead of the hub's clock, not more.
const CLOCK_SKEW: chrono::TimeDelta = chrono::TimeDelta::minutes(5);
const MAX_COUNT: i64 = 1_000_000_000;

/// Records a sighting of an indicator the reporter may read. An indicator it may not
/// read is answered exactly as one that does not exist.
pub fn report(conn: &mut DbConn, actor: &Identity, s: &NewSighting) -> AppResult<SightingRow> {
    if !actor.may_share() {
        return Err(AppError::forbidden("report sightings"));
    }
    if !(1..=MAX_COUNT).contains(&s.count) {
        return Err(AppError::invalid(
            format!("count is 1 to {MAX_COUNT}"),
            format!("countは1〜{MAX_COUNT}で指定してください"),
        ));
    }
    let now = Utc::now();
    let last = s.last_seen.unwrap_or(now);
    let first = s.first_seen.unwrap_or(last);
    if first > last {
        return Err(AppError::invalid("firstSeen is after lastSeen", "firstSeenがlastSeenより後です"));
    }
    if last > now + CLOCK_SKEW {
        return Err(AppError::invalid("lastSeen is in the future", "lastSeenが未来の日時です"));
    }
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let row = sharing::get(c, &actor.viewer(), &s.indicator_id)?;
        let readable = row.filter(|r| r.kind == "indicator" && r.status != Status::Revoked.as_str());
        let Some(indicator) = readable else {
            return Err(AppError::not_found("indicator"));
        };
        let sighting = SightingRow {
            id: format!("sighting--{}", uuid::Uuid::new_v4()),
            object_id: indicator.id.clone(),
            org_id: actor.org_id.clone(),
            token_id: actor.token_id.clone(),
            kind: s.kind.as_str().into(),
            count: s.count,
            first_seen: time_text(&first),
            last_seen: time_text(&last),
            anonymous: s.anonymous,
            recorded_at: now_text(),
        };
        diesel::insert_into(sightings::table).values(&sighting).execute(c)?;
        audit::append(
            c,
            AuditEvent {
                actor_org: Some(actor.org_id.clone()),
                actor_token: Some(actor.token_id.clone()),
                action: "sighting".into(),
                target: Some(indicator.id.clone()),
                detail: json!({"sighting": sighting.id, "kind": sighting.kind, "count": s.count, "anonymous": s.anonymous}),
                source: actor.source.clone(),
            },
        )?;
        Ok(sighting)
    })
}

/// The aggregate of an indicator's sightings, naming no organisation.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Summary {
    /// Organisations that saw it.
    pub organizations: i64,
    /// Sum of the reported counts.
    pub total: i64,
    pub first_seen: Option<String>,
    pub last_seen: Option<String>,
    /// Organisations that reported it as a false positive, and their reports.
    pub false_positive_organizations: i64,
    pub false_positive_reports: i64,
    /// When the latest report of either kind arrived.
    pub last_reported: Option<String>,
}

/// Aggregates for many indicators in one query. The caller has already decided (through
/// the schema policy) that the viewer may read each of these indicators.
pub fn summaries(conn: &mut DbConn, ids: &[String]) -> AppResult<HashMap<String, Summary>> {
    let mut out: HashMap<String, Summary> = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    let mut seen_orgs: HashMap<&str, (Vec<String>, Vec<String>)> = HashMap::new();
    let rows: Vec<SightingRow> =
        sightings::table.filter(sightings::object_id.eq_any(ids)).select(SightingRow::as_select()).load(conn)?;
    for r in &rows {
        let s = out.entry(r.object_id.clone()).or_default();
        let (seen, fp) = seen_orgs.entry(r.object_id.as_str()).or_default();
        if r.last_reported_after(s.last_reported.as_deref()) {
            s.last_reported = Some(r.recorded_at.clone());
        }
        if r.kind == SightingKind::FalsePositive.as_str() {
            s.false_positive_reports += 1;
            if !fp.contains(&r.org_id) {
                fp.push(r.org_id.clone());
            }
            continue;
        }
        s.total += r.count;
        if !seen.contains(&r.org_id) {
            seen.push(r.org_id.clone());
        }
        // RFC 3339 UTC text with fixed precision sorts as time.
        if s.first_seen.as_deref().is_none_or(|f| r.first_seen.as_str() < f) {
            s.first_seen = Some(r.first_seen.clone());
        }
        if s.last_seen.as_deref().is_none_or(|l| r.last_seen.as_str() > l) {
            s.last_seen = Some(r.last_seen.clone());
        }
    }
    for (id, (seen, fp)) in seen_orgs {
        if let Some(s) = out.get_mut(id) {
            s.organizations = seen.len() as i64;
            s.false_positive_organizations = fp.len() as i64;
        }
    }
    Ok(out)
}

impl SightingRow {
    fn last_reported_after(&self, than: Option<&str>) -> bool {
        than.is_none_or(|t| self.recorded_at.as_str() > t)
    }
}

/// The individual reports on one indicator, for coordinators (who see reporters, even
/// anonymous ones, as they see anonymous submitters).
pub fn reports(conn: &mut DbConn, actor: &Identity, indicator_id: &str) -> AppResult<Vec<SightingRow>> {
    if !actor.is_coordinator() {
        return Err(AppError::forbidden("read individual sighting reports"));
    }
    if sharing::get(conn, &actor.viewer(), indicator_id)?.is_none() {
        return Err(AppError::not_found("indicator"));
    }
    Ok(sightings::table
        .filter(sightings::object_id.eq(indicator_id))
        .order(sightings::recorded_at.asc())
        .select(SightingRow::as_select())
        .load(conn)?)
}
