//! Sightings: members reporting that they saw an indicator (or that it was a false
//! positive for them). Side data: a sighting never makes a new version of the
//! indicator, so it cannot start a sync loop between hubs and never re-sends the
//! indicator to followers. Aggregates name no organisation, so no member learns who
//! reported; coordinators read the individual reports (anonymous ones included, marked
//! as such), as they see the submitters of anonymous items.

use crate::services::stored;
use std::collections::HashMap;

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use serde_json::json;

use renkei_schema::tlp::Status;

use super::audit::{self, AuditEvent};
use crate::auth::Identity;
use crate::error::{AppError, AppResult};
use crate::store::models::SightingRow;
use crate::store::schema::{received_sightings, sighting_changes, sightings};
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
/// read is answered exactly as one that does not exist. The change is noted for the
/// peers' sightings feeds (this hub, `hub_id`, reported).
pub fn report(
    conn: &mut DbConn,
    keys: &crate::crypto::HubKeys,
    hub_id: &str,
    actor: &Identity,
    s: &NewSighting,
) -> AppResult<SightingRow> {
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
        let row = stored::get(c, &actor.viewer(), &s.indicator_id)?;
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
        note_change(c, &indicator.id, hub_id)?;
        audit::append(
            c, keys,
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
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
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

/// Appends a change to an indicator's sightings as reported on `reporting_hub` (the
/// peers' sightings feed reads these in order). Called under the write lock.
pub fn note_change(conn: &mut DbConn, object_id: &str, reporting_hub: &str) -> AppResult<()> {
    let last: Option<i64> = sighting_changes::table.select(diesel::dsl::max(sighting_changes::seq)).first(conn)?;
    diesel::insert_into(sighting_changes::table)
        .values((
            sighting_changes::seq.eq(last.unwrap_or(0) + 1),
            sighting_changes::object_id.eq(object_id),
            sighting_changes::reporting_hub.eq(reporting_hub),
        ))
        .execute(conn)?;
    Ok(())
}

/// One hub's aggregate of its members' sightings of one indicator, as that hub signs it
/// for its peers (canonical JSON of this struct). `version` grows with every change.
/// Read back, a field it does not know makes its canonical form differ from what was
/// signed, so the receiver refuses it (`mismatch`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HubAggregate {
    #[serde(rename = "type")]
    pub kind: String,
    pub indicator: String,
    pub reporting_hub: String,
    pub version: i64,
    #[serde(flatten)]
    pub summary: Summary,
}

/// The `type` of a signed aggregate.
pub const AGGREGATE_TYPE: &str = "x-renkei-sighting-aggregate";

impl HubAggregate {
    pub fn new(indicator: &str, reporting_hub: &str, version: i64, summary: &Summary) -> HubAggregate {
        HubAggregate {
            kind: AGGREGATE_TYPE.into(),
            indicator: indicator.into(),
            reporting_hub: reporting_hub.into(),
            version,
            summary: summary.clone(),
        }
    }

    /// The bytes its hub signs.
    pub fn canonical(&self) -> AppResult<String> {
        Ok(renkei_schema::stix::canonical_json(&serde_json::to_value(self).map_err(AppError::internal)?))
    }

    /// Adds another hub's aggregate to `into` (members belong to one hub, so
    /// organisations add up).
    fn add_to(&self, into: &mut Summary) {
        let s = &self.summary;
        into.organizations += s.organizations;
        into.total += s.total;
        into.false_positive_organizations += s.false_positive_organizations;
        into.false_positive_reports += s.false_positive_reports;
        // RFC 3339 UTC text with fixed precision sorts as time.
        let earlier = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(x), Some(y)) => Some(x.min(y).clone()),
            (x, y) => x.clone().or_else(|| y.clone()),
        };
        let later = |a: &Option<String>, b: &Option<String>| match (a, b) {
            (Some(x), Some(y)) => Some(x.max(y).clone()),
            (x, y) => x.clone().or_else(|| y.clone()),
        };
        into.first_seen = earlier(&into.first_seen, &s.first_seen);
        into.last_seen = later(&into.last_seen, &s.last_seen);
        into.last_reported = later(&into.last_reported, &s.last_reported);
    }
}

/// Aggregates for many indicators: this hub's members' reports and the aggregates peer
/// hubs sent of theirs. The caller has already decided (through the schema policy)
/// that the viewer may read each of these indicators.
pub fn summaries(conn: &mut DbConn, ids: &[String]) -> AppResult<HashMap<String, Summary>> {
    let mut out = local_summaries(conn, ids)?;
    if ids.is_empty() {
        return Ok(out);
    }
    for chunk in ids.chunks(1000) {
        let received: Vec<String> = received_sightings::table
            .filter(received_sightings::object_id.eq_any(chunk))
            .select(received_sightings::aggregate)
            .load(conn)?;
        for text in received {
            let aggregate: HubAggregate = serde_json::from_str(&text).map_err(AppError::internal)?;
            aggregate.add_to(out.entry(aggregate.indicator.clone()).or_default());
        }
    }
    Ok(out)
}

/// Aggregates of this hub's own members' reports (what it signs for its peers).
pub fn local_summaries(conn: &mut DbConn, ids: &[String]) -> AppResult<HashMap<String, Summary>> {
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
    if stored::get(conn, &actor.viewer(), indicator_id)?.is_none() {
        return Err(AppError::not_found("indicator"));
    }
    Ok(sightings::table
        .filter(sightings::object_id.eq(indicator_id))
        .order(sightings::recorded_at.asc())
        .select(SightingRow::as_select())
        .load(conn)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_aggregate_reads_back_to_its_signed_bytes_and_nothing_can_be_added() {
        let summary = Summary {
            organizations: 2,
            total: 7,
            first_seen: Some("2026-11-01T00:00:00.000000Z".into()),
            last_seen: None,
            false_positive_organizations: 1,
            false_positive_reports: 1,
            last_reported: Some("2026-11-02T00:00:00.000000Z".into()),
        };
        let signed = HubAggregate::new("indicator--1", "hub-a", 9, &summary).canonical().expect("canonical");
        let read: HubAggregate = serde_json::from_str(&signed).expect("reads back");
        assert_eq!(read.summary, summary);
        assert_eq!(read.canonical().expect("canonical"), signed);
        // A field the hub never signed does not survive reading back, so the canonical
        // form no longer matches and the receiver refuses it.
        let padded = signed.replacen('{', "{\"extra\":1,", 1);
        let read: HubAggregate = serde_json::from_str(&padded).expect("reads");
        assert_ne!(read.canonical().expect("canonical"), padded);
        // Another hub's aggregate adds up: members belong to one hub each.
        let mut total = summary.clone();
        HubAggregate::new("indicator--1", "hub-b", 1, &summary).add_to(&mut total);
        assert_eq!((total.organizations, total.total, total.last_seen), (4, 14, None));
        assert_eq!(total.first_seen, summary.first_seen);
    }
}
