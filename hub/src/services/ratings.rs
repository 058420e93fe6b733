//! Supplier and offering ratings, derived from shared assessments and never typed in.
//!
//! - **Live**: `supplier(id).rating` is computed per request from the assessments the
//!   caller may read (through the TLP policy).
//! - **Materialised**: for procurement filters, rating history and rating-change events,
//!   each subject (a supplier, or an offering named by an assessment) has one stored
//!   rating per *audience*: `*` for every organisation that reads the supplier's
//!   assessments as an unnamed organisation does, plus one per organisation that
//!   `renkei_schema::tlp::readers_apart` names (submitter or recipient of a TLP:RED
//!   assessment). Both are computed by the same function from the same policy, so a
//!   stored rating equals the live one of every viewer in its audience (tested).
//! - Each write that can change a rating (an assessment's version, a dispute, a scheme
//!   version, time passing an expiry) refreshes the supplier's stored ratings in its own
//!   transaction; a change that matters (`significant_change`) becomes a signed
//!   `x-renkei-rating-change` event numbered from the change feed's sequence.
//!
//! An offering's rating counts only the assessments that name it; the supplier's counts
//! all of the supplier's assessments.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use diesel::prelude::*;

use renkei_schema::model::{AssessorKind, Body};
use renkei_schema::supply::change::RatingChange;
use renkei_schema::supply::rating::{
    next_change, rate, significant_change, AssessmentInput as RatingInput, Rating, RatingRules,
};
use renkei_schema::supply::scheme::Scheme;
use renkei_schema::tlp::{readers_apart, visibility, Status, Tlp, Viewer, ViewerRole, Visibility, OUTSIDER};

use super::stored::{self, Access, Signer};
use crate::error::{AppError, AppResult};
use crate::store::models::{ObjectRow, RatingEventRow, RatingRow};
use crate::store::schema::supplier_ratings;
use crate::store::schema::{assessment_disputes, assessment_subjects, objects, rating_audiences, rating_events};
use crate::store::{acquire_write_lock, time_text, DbConn};

/// The audience of the rating every organisation without one of its own follows.
pub const EVERYONE: &str = "*";

/// The feed kind of rating-change events.
pub const FEED_KIND: &str = "rating-change";

/// One assessment (its current version, any status) as ratings need it.
pub struct Assessed {
    pub id: String,
    pub first_seq: i64,
    pub access: Access,
    pub scheme_id: String,
    pub offering_ids: Vec<String>,
    pub input: RatingInput,
}

/// The latest version of every stored scheme, by id.
pub fn latest_schemes(conn: &mut DbConn) -> AppResult<HashMap<String, Scheme>> {
    // Oldest first per id, so the last one kept is the latest.
    Ok(schemes(conn)?.into_iter().map(|(s, _)| (s.id.clone(), s)).collect())
}

/// Who counts as one assessor: a member organisation, the supplier, a named firm or tool.
///
/// An anonymous assessment is an assessor of its own, for every viewer: grouped under
/// its submitting organisation, it would replace that organisation's named assessment
/// in the rating (the latest result per assessor counts), and the count of assessors,
/// the inputs, the per-criterion values and the events would tell every reader whose it
/// is. The submitter stands in for a firm or tool only when it is named.
fn assessor_key(row: &ObjectRow, kind: AssessorKind, name: Option<&str>) -> String {
    let submitter = if row.anonymous { format!("anonymous:{}", row.id) } else { row.submitter_org.clone() };
    match kind {
        AssessorKind::Member => format!("org:{submitter}"),
        AssessorKind::Supplier => "supplier".into(),
        AssessorKind::ThirdParty => format!("firm:{}", name.map_or(submitter, str::to_string)),
        AssessorKind::Automated => format!("tool:{}", name.map_or(submitter, str::to_string)),
    }
}

/// Every assessment of these suppliers, by supplier, in submission order. An assessment
/// that is not published, or is under an open dispute or one that was upheld, counts
/// as withdrawn.
pub fn assessed_of(
    conn: &mut DbConn,
    supplier_ids: &[String],
    schemes: &HashMap<String, Scheme>,
) -> AppResult<HashMap<String, Vec<Assessed>>> {
    let mut out: HashMap<String, Vec<Assessed>> = HashMap::new();
    for chunk in supplier_ids.chunks(500) {
        let ids: Vec<String> = assessment_subjects::table
            .filter(assessment_subjects::supplier_id.eq_any(chunk))
            .select(assessment_subjects::object_id)
            .load(conn)?;
        for ids in ids.chunks(1000) {
            let rows: Vec<ObjectRow> = objects::table
                .filter(objects::id.eq_any(ids))
                .order(objects::first_seq.asc())
                .select(ObjectRow::as_select())
                .load(conn)?;
            let disputed: HashSet<String> = assessment_disputes::table
                .filter(assessment_disputes::assessment_id.eq_any(ids))
                .filter(assessment_disputes::state.eq_any(["open", "upheld"]))
                .select(assessment_disputes::assessment_id)
                .load::<String>(conn)?
                .into_iter()
                .collect();
            for row in rows {
                let (env, body) = stored::parts_of(&row)?;
                let Body::Assessment(b) = body else { continue };
                let validity = schemes.get(&b.scheme_id).map_or(365, |s| s.default_validity_days);
                let valid_until = env.valid_until.unwrap_or(b.observed + chrono::Duration::days(i64::from(validity)));
                let mut input = renkei_schema::supply::rating::AssessmentInput::of_body(
                    &b,
                    valid_until,
                    &row.id,
                    &assessor_key(&row, b.assessor, b.assessor_name.as_deref()),
                );
                input.withdrawn = env.status != Status::Published || disputed.contains(&row.id);
                let access = Access::of_object(&row)?;
                out.entry(b.supplier_id.clone()).or_default().push(Assessed {
                    first_seq: row.first_seq,
                    id: row.id,
                    access,
                    scheme_id: b.scheme_id,
                    offering_ids: b.offering_ids,
                    input,
                });
            }
        }
    }
    // Chunks came back in their own order; keep submission order across them (the
    // rating takes the later of two results an assessor gave on the same day).
    for list in out.values_mut() {
        list.sort_by_key(|a| a.first_seq);
    }
    Ok(out)
}

/// The rating inputs of one subject (the supplier, or one offering) under a scheme, as
/// this viewer may read them: the policy decides, exactly as for listing assessments.
pub fn inputs_for(viewer: &Viewer<'_>, list: &[Assessed], scheme_id: &str, offering: Option<&str>) -> Vec<RatingInput> {
    list.iter()
        .filter(|a| a.scheme_id == scheme_id)
        .filter(|a| offering.is_none_or(|o| a.offering_ids.iter().any(|x| x == o)))
        .filter(|a| a.access.status != Status::Revoked && visibility(viewer, &a.access.item()) == Visibility::Full)
        .map(|a| a.input.clone())
        .collect()
}

/// The rating this viewer sees now, computed from what it may read.
pub fn live(
    conn: &mut DbConn,
    rules: &RatingRules,
    viewer: &Viewer<'_>,
    supplier_id: &str,
    offering: Option<&str>,
    scheme: &Scheme,
) -> AppResult<Rating> {
    let schemes = HashMap::from([(scheme.id.clone(), scheme.clone())]);
    let mut assessed = assessed_of(conn, &[supplier_id.to_string()], &schemes)?;
    let list = assessed.remove(supplier_id).unwrap_or_default();
    Ok(rate(scheme, &inputs_for(viewer, &list, &scheme.id, offering), rules, Utc::now()))
}

/// The rating this viewer sees now: its audience's stored rating when that is current
/// (computed under the scheme's latest version and the configured rules, and not due
/// for a change by time), else computed live. Both come from the same function over
/// the same policy; the stored one costs one row instead of every assessment.
pub fn current(
    conn: &mut DbConn,
    rules: &RatingRules,
    stored_follow_rules: bool,
    viewer: &Viewer<'_>,
    supplier_id: &str,
    offering: Option<&str>,
    scheme: &Scheme,
) -> AppResult<Rating> {
    let now = Utc::now();
    if stored_follow_rules {
        let subject = offering.unwrap_or(supplier_id);
        let rows: Vec<RatingRow> = supplier_ratings::table
            .filter(supplier_ratings::subject_id.eq(subject))
            .filter(supplier_ratings::scheme_id.eq(&scheme.id))
            .filter(supplier_ratings::audience.eq_any([EVERYONE, viewer.org]))
            .select(RatingRow::as_select())
            .load(conn)?;
        let own = rows.iter().find(|r| r.audience == viewer.org);
        let own_audience = own.is_some()
            || rating_audiences::table
                .find((supplier_id, viewer.org))
                .select(rating_audiences::org_id)
                .first::<String>(conn)
                .optional()?
                .is_some();
        let row = if own_audience { own } else { rows.iter().find(|r| r.audience == EVERYONE) };
        if let Some(row) = row.filter(|r| {
            r.scheme_version == scheme.version
                && r.next_change_at.as_deref().is_none_or(|t| t > time_text(&now).as_str())
        }) {
            let mut rating: Rating = serde_json::from_str(&row.rating).map_err(AppError::internal)?;
            rating.freshness_days = rating.newest_observed.map(|t| (now - t).num_days());
            return Ok(rating);
        }
    }
    live(conn, rules, viewer, supplier_id, offering, scheme)
}

/// The rating of nothing: no score, STALE and INSUFFICIENT_COVERAGE. What a subject
/// without a stored rating has.
fn empty_rating(scheme: &Scheme, rules: &RatingRules, now: DateTime<Utc>) -> Rating {
    rate(scheme, &[], rules, now)
}

fn flags_text(r: &Rating) -> String {
    let mut s = String::from(",");
    for f in &r.flags {
        s.push_str(f.as_str());
        s.push(',');
    }
    s
}

/// What one refresh did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Refreshed {
    pub suppliers: usize,
    pub ratings_written: usize,
    pub events: usize,
}

/// Recomputes the stored ratings of these suppliers (all their subjects, schemes and
/// audiences) and records a signed event for each change that matters. Call inside
/// the writing transaction, holding the write lock (sequence numbers are taken here).
pub fn refresh(
    c: &mut DbConn,
    origin: &Signer<'_>,
    supplier_ids: &[String],
    now: DateTime<Utc>,
) -> AppResult<Refreshed> {
    let mut done = Refreshed::default();
    if supplier_ids.is_empty() {
        return Ok(done);
    }
    let rules = origin.rating_rules;
    let schemes = latest_schemes(c)?;
    let assessed = assessed_of(c, supplier_ids, &schemes)?;
    let mut stored: HashMap<(String, String, String), RatingRow> = HashMap::new();
    for chunk in supplier_ids.chunks(500) {
        let rows: Vec<RatingRow> = supplier_ratings::table
            .filter(supplier_ratings::supplier_id.eq_any(chunk))
            .select(RatingRow::as_select())
            .load(c)?;
        for r in rows {
            stored.insert((r.subject_id.clone(), r.audience.clone(), r.scheme_id.clone()), r);
        }
    }
    let mut audiences: HashMap<String, Vec<String>> = HashMap::new();
    for chunk in supplier_ids.chunks(500) {
        let rows: Vec<(String, String)> = rating_audiences::table
            .filter(rating_audiences::supplier_id.eq_any(chunk))
            .select((rating_audiences::supplier_id, rating_audiences::org_id))
            .load(c)?;
        for (s, o) in rows {
            audiences.entry(s).or_default().push(o);
        }
    }
    let first_seq = stored::max_seq(c)? + 1;
    let mut new_rows: Vec<RatingRow> = Vec::new();
    let mut stale_keys: Vec<(String, String, String)> = Vec::new();
    let mut events: Vec<(RatingEventRow, RatingChange)> = Vec::new();
    let mut new_audiences: Vec<(String, String)> = Vec::new();
    let no_list = Vec::new();
    for supplier in supplier_ids {
        done.suppliers += 1;
        let list = assessed.get(supplier).unwrap_or(&no_list);
        // Organisations that read some counted assessment unlike an unnamed one. Only
        // published assessments count towards ratings, so only they make an audience.
        let known = audiences.entry(supplier.clone()).or_default();
        for a in list.iter().filter(|a| a.access.status == Status::Published) {
            for org in readers_apart(&a.access.item(), ViewerRole::Member) {
                if !known.iter().any(|k| k == org) {
                    known.push(org.to_string());
                    new_audiences.push((supplier.clone(), org.to_string()));
                }
            }
        }
        let mut subjects: Vec<Option<String>> = vec![None];
        let mut scheme_ids: Vec<String> = Vec::new();
        for a in list {
            for o in &a.offering_ids {
                if !subjects.contains(&Some(o.clone())) {
                    subjects.push(Some(o.clone()));
                }
            }
            if !scheme_ids.contains(&a.scheme_id) {
                scheme_ids.push(a.scheme_id.clone());
            }
        }
        // Subjects and schemes rated before stay rated (their rating may now be empty).
        for ((subject, _, scheme), row) in &stored {
            if &row.supplier_id != supplier {
                continue;
            }
            let as_subject = (subject != supplier).then(|| subject.clone());
            if !subjects.contains(&as_subject) {
                subjects.push(as_subject);
            }
            if !scheme_ids.contains(scheme) {
                scheme_ids.push(scheme.clone());
            }
        }
        let everyone = std::iter::once(EVERYONE.to_string());
        let all_audiences: Vec<String> = everyone.chain(known.iter().cloned()).collect();
        for scheme_id in &scheme_ids {
            // A scheme removed from storage cannot be rated under; its rows stay as they were.
            let Some(scheme) = schemes.get(scheme_id) else { continue };
            for audience in &all_audiences {
                let org = if audience == EVERYONE { OUTSIDER } else { audience.as_str() };
                let viewer = Viewer { org, role: ViewerRole::Member };
                for subject in &subjects {
                    let subject_id = subject.clone().unwrap_or_else(|| supplier.clone());
                    let inputs = inputs_for(&viewer, list, scheme_id, subject.as_deref());
                    let new = rate(scheme, &inputs, rules, now);
                    let key = (subject_id.clone(), audience.clone(), scheme_id.clone());
                    // What the audience followed until now: its own stored rating, else
                    // (a new audience) the one for everyone, else nothing.
                    let before = stored
                        .get(&key)
                        .or_else(|| stored.get(&(subject_id.clone(), EVERYONE.to_string(), scheme_id.clone())));
                    let old = match before {
                        Some(row) => serde_json::from_str::<Rating>(&row.rating).map_err(AppError::internal)?,
                        None => empty_rating(scheme, rules, now),
                    };
                    let text = serde_json::to_string(&new).map_err(AppError::internal)?;
                    let next = next_change(&inputs, rules, now).map(|t| time_text(&t));
                    // Rewritten when anything differs, the next change by time included
                    // (else a passed one would bring the row back to every sweep).
                    let differs = |row: &RatingRow| {
                        row.rating != text || row.scheme_version != scheme.version || row.next_change_at != next
                    };
                    if stored.get(&key).is_none_or(differs) {
                        if stored.contains_key(&key) {
                            stale_keys.push(key.clone());
                        }
                        new_rows.push(RatingRow {
                            subject_id: subject_id.clone(),
                            audience: audience.clone(),
                            scheme_id: scheme_id.clone(),
                            scheme_version: scheme.version.clone(),
                            supplier_id: supplier.clone(),
                            tier: new.tier.clone(),
                            flags: flags_text(&new),
                            has_inputs: !new.inputs.is_empty(),
                            rating: text,
                            next_change_at: next,
                            updated_seq: first_seq,
                        });
                    }
                    let reasons = significant_change(&old, &new, rules.event_score_delta);
                    if reasons.is_empty() {
                        continue;
                    }
                    // The event carries the most restrictive label among the assessments
                    // it summarises (what the audience reads; never RED for everyone).
                    let tlp = list
                        .iter()
                        .filter(|a| new.inputs.contains(&a.id) || old.inputs.contains(&a.id))
                        .filter(|a| visibility(&viewer, &a.access.item()) == Visibility::Full)
                        .map(|a| a.access.tlp)
                        .max()
                        .unwrap_or(Tlp::Green);
                    let change = RatingChange::new(
                        now,
                        origin.hub_id,
                        tlp,
                        supplier,
                        subject.as_deref(),
                        scheme_id,
                        &old,
                        &new,
                        reasons,
                        rules,
                    );
                    let recipients: Vec<&str> =
                        if tlp == Tlp::Red && audience != EVERYONE { vec![audience.as_str()] } else { vec![] };
                    events.push((
                        RatingEventRow {
                            seq: 0,
                            id: change.id.clone(),
                            subject_id,
                            supplier_id: supplier.clone(),
                            audience: audience.clone(),
                            scheme_id: scheme_id.clone(),
                            tlp: tlp.as_str().to_string(),
                            recipients: serde_json::to_string(&recipients).map_err(AppError::internal)?,
                            worsened: change.worsened,
                            at: time_text(&now),
                            stix: change.canonical(),
                            signature: String::new(),
                        },
                        change,
                    ));
                }
            }
        }
    }
    // A new audience follows its own rating from the first sequence number of this
    // refresh: its event here replaces the one for everyone.
    for (supplier, org) in &new_audiences {
        diesel::insert_into(rating_audiences::table)
            .values((
                rating_audiences::supplier_id.eq(supplier),
                rating_audiences::org_id.eq(org),
                rating_audiences::since_seq.eq(first_seq),
            ))
            .execute(c)?;
    }
    for (subject, audience, scheme) in &stale_keys {
        diesel::delete(supplier_ratings::table.find((subject, audience, scheme))).execute(c)?;
    }
    done.ratings_written = new_rows.len();
    for chunk in new_rows.chunks(500) {
        crate::insert_rows!(c, supplier_ratings::table, chunk)?;
    }
    let texts: Vec<&[u8]> = events.iter().map(|(row, _)| row.stix.as_bytes()).collect();
    // The hub's current key (another replica may have rotated it).
    let signatures = if texts.is_empty() { Vec::new() } else { origin.keys.follow(c)?.key.sign_batch(&texts) };
    let mut rows: Vec<RatingEventRow> = Vec::with_capacity(events.len());
    for ((seq, (mut row, _)), signature) in (first_seq..).zip(events).zip(signatures) {
        row.seq = seq;
        row.signature = signature;
        rows.push(row);
    }
    done.events = rows.len();
    for chunk in rows.chunks(500) {
        crate::insert_rows!(c, rating_events::table, chunk)?;
    }
    Ok(done)
}

/// Refreshes suppliers in batches, each in its own transaction (writers wait at most
/// one batch). Returns the totals.
pub fn refresh_in_batches(
    conn: &mut DbConn,
    origin: &Signer<'_>,
    supplier_ids: &[String],
    batch: usize,
) -> AppResult<Refreshed> {
    let mut total = Refreshed::default();
    for chunk in supplier_ids.chunks(batch.max(1)) {
        let done = conn.transaction(|c| {
            acquire_write_lock(c)?;
            refresh(c, origin, chunk, Utc::now())
        })?;
        total.suppliers += done.suppliers;
        total.ratings_written += done.ratings_written;
        total.events += done.events;
    }
    Ok(total)
}

/// Every supplier with an assessment or a stored rating.
pub fn rated_suppliers(conn: &mut DbConn) -> AppResult<Vec<String>> {
    let mut ids: Vec<String> =
        assessment_subjects::table.select(assessment_subjects::supplier_id).distinct().load(conn)?;
    let stored: Vec<String> = supplier_ratings::table.select(supplier_ratings::supplier_id).distinct().load(conn)?;
    ids.extend(stored);
    ids.sort();
    ids.dedup();
    Ok(ids)
}

/// Recomputes every stored rating (after a scheme version or the rating rules change).
pub fn recompute_all(conn: &mut DbConn, origin: &Signer<'_>) -> AppResult<Refreshed> {
    let ids = rated_suppliers(conn)?;
    refresh_in_batches(conn, origin, &ids, 200)
}

/// Refreshes the suppliers whose rating time alone has changed (an assessment expired,
/// the newest went stale) by `now`.
pub fn refresh_due(conn: &mut DbConn, origin: &Signer<'_>, now: DateTime<Utc>) -> AppResult<Refreshed> {
    let ids: Vec<String> = supplier_ratings::table
        .filter(supplier_ratings::next_change_at.le(time_text(&now)))
        .select(supplier_ratings::supplier_id)
        .distinct()
        .load(conn)?;
    refresh_in_batches(conn, origin, &ids, 200)
}

/// The key under which the rules the stored ratings were computed with are kept.
const RULES_KEY: &str = "rating_rules";

/// Whether the stored ratings were computed with other rules (or never): then they are
/// all recomputed at start.
pub fn rules_changed(conn: &mut DbConn, rules: &RatingRules) -> AppResult<bool> {
    use crate::store::schema::hub_meta;
    let stored: Option<String> = hub_meta::table.find(RULES_KEY).select(hub_meta::value).first(conn).optional()?;
    Ok(stored.as_deref() != Some(rules_fingerprint(rules)?.as_str()))
}

fn rules_fingerprint(rules: &RatingRules) -> AppResult<String> {
    Ok(format!(
        "{}:{}",
        renkei_schema::supply::rating::RATING_VERSION,
        serde_json::to_string(rules).map_err(AppError::internal)?
    ))
}

/// Records that the stored ratings follow these rules.
pub fn note_rules(conn: &mut DbConn, rules: &RatingRules) -> AppResult<()> {
    use crate::store::schema::hub_meta;
    let value = rules_fingerprint(rules)?;
    conn.transaction(|c| {
        diesel::delete(hub_meta::table.find(RULES_KEY)).execute(c)?;
        diesel::insert_into(hub_meta::table)
            .values((hub_meta::key.eq(RULES_KEY), hub_meta::value.eq(value)))
            .execute(c)?;
        Ok(())
    })
}

/// The organisations' own audiences, for one viewer: supplier → first sequence number
/// from which the viewer follows its own rating rather than everyone's.
pub fn own_audiences(conn: &mut DbConn, org: &str) -> AppResult<HashMap<String, i64>> {
    Ok(rating_audiences::table
        .filter(rating_audiences::org_id.eq(org))
        .select((rating_audiences::supplier_id, rating_audiences::since_seq))
        .load::<(String, i64)>(conn)?
        .into_iter()
        .collect())
}

/// Whether an event reaches this organisation: its own audience's, or everyone's while
/// it followed everyone's rating of that supplier.
pub fn reaches(event_audience: &str, supplier: &str, seq: i64, org: &str, own: &HashMap<String, i64>) -> bool {
    if event_audience == org {
        return true;
    }
    event_audience == EVERYONE && own.get(supplier).is_none_or(|since| seq < *since)
}

/// A subject's rating changes this viewer was told of, newest first.
pub fn history(
    conn: &mut DbConn,
    viewer: &Viewer<'_>,
    subject_id: &str,
    scheme_id: &str,
    first: usize,
) -> AppResult<Vec<RatingChange>> {
    let own = own_audiences(conn, viewer.org)?;
    let rows: Vec<RatingEventRow> = rating_events::table
        .filter(rating_events::subject_id.eq(subject_id))
        .filter(rating_events::scheme_id.eq(scheme_id))
        .filter(rating_events::audience.eq_any([EVERYONE, viewer.org]))
        .order(rating_events::seq.desc())
        .select(RatingEventRow::as_select())
        .load(conn)?;
    rows.into_iter()
        .filter(|r| reaches(&r.audience, &r.supplier_id, r.seq, viewer.org, &own))
        .take(first)
        .map(|r| serde_json::from_str(&r.stix).map_err(AppError::internal))
        .collect()
}

/// The newest rating changes this viewer was told of, across suppliers (the
/// coordinators' dashboard): at most `first`, reading back through at most `scan`
/// events (an audience of other organisations' own ratings may fill the newest ones).
pub fn recent(
    conn: &mut DbConn,
    viewer: &Viewer<'_>,
    scheme_id: &str,
    first: usize,
    scan: usize,
) -> AppResult<Vec<RatingChange>> {
    let own = own_audiences(conn, viewer.org)?;
    let rows: Vec<RatingEventRow> = rating_events::table
        .filter(rating_events::scheme_id.eq(scheme_id))
        .filter(rating_events::audience.eq_any([EVERYONE, viewer.org]))
        .order(rating_events::seq.desc())
        .limit(scan as i64)
        .select(RatingEventRow::as_select())
        .load(conn)?;
    rows.into_iter()
        .filter(|r| reaches(&r.audience, &r.supplier_id, r.seq, viewer.org, &own))
        .take(first)
        .map(|r| serde_json::from_str(&r.stix).map_err(AppError::internal))
        .collect()
}

/// Which of these suppliers had their rating (or an offering's) worsen for this viewer
/// since `since`.
pub fn worsened_among(
    conn: &mut DbConn,
    viewer: &Viewer<'_>,
    scheme_id: &str,
    since: DateTime<Utc>,
    supplier_ids: &[String],
) -> AppResult<HashSet<String>> {
    let own = own_audiences(conn, viewer.org)?;
    let rows: Vec<(String, String, i64)> = rating_events::table
        .filter(rating_events::supplier_id.eq_any(supplier_ids))
        // Written literally so that the partial index rating_events_worsened applies.
        .filter(diesel::dsl::sql::<diesel::sql_types::Bool>("worsened"))
        .filter(rating_events::at.ge(time_text(&since)))
        .filter(rating_events::scheme_id.eq(scheme_id))
        .filter(rating_events::audience.eq_any([EVERYONE, viewer.org]))
        .select((rating_events::supplier_id, rating_events::audience, rating_events::seq))
        .load(conn)?;
    Ok(rows
        .into_iter()
        .filter(|(supplier, audience, seq)| reaches(audience, supplier, *seq, viewer.org, &own))
        .map(|(supplier, _, _)| supplier)
        .collect())
}

/// A stored rating as filters read it.
pub struct Summary {
    pub tier: Option<String>,
    /// `,FLAG,FLAG,`.
    pub flags: String,
    /// Whether anything valid was read.
    pub has_inputs: bool,
}

/// The stored supplier-level rating summary each of these suppliers has for this viewer.
/// Suppliers without one have the rating of nothing.
pub fn current_summaries(
    conn: &mut DbConn,
    viewer: &Viewer<'_>,
    scheme_id: &str,
    supplier_ids: &[String],
) -> AppResult<HashMap<String, Summary>> {
    let rows: Vec<(String, String, Option<String>, String, bool)> = supplier_ratings::table
        .filter(supplier_ratings::supplier_id.eq_any(supplier_ids))
        .filter(supplier_ratings::scheme_id.eq(scheme_id))
        .filter(supplier_ratings::subject_id.eq(supplier_ratings::supplier_id))
        .filter(supplier_ratings::audience.eq_any([EVERYONE, viewer.org]))
        .select((
            supplier_ratings::supplier_id,
            supplier_ratings::audience,
            supplier_ratings::tier,
            supplier_ratings::flags,
            supplier_ratings::has_inputs,
        ))
        .load(conn)?;
    let mut out = HashMap::with_capacity(rows.len());
    for (supplier, audience, tier, flags, has_inputs) in rows {
        // An organisation's own rating wins over everyone's.
        if audience == EVERYONE && out.contains_key(&supplier) {
            continue;
        }
        out.insert(supplier, Summary { tier, flags, has_inputs });
    }
    Ok(out)
}

/// The stored assessment schemes, newest version last per id.
pub fn schemes(conn: &mut DbConn) -> AppResult<Vec<(Scheme, bool)>> {
    use crate::store::schema::assessment_schemes as s;
    let rows: Vec<(String, bool)> =
        s::table.order((s::id.asc(), s::created_at.asc())).select((s::body, s::reference_only)).load(conn)?;
    rows.into_iter()
        .map(|(body, reference_only)| Ok((serde_json::from_str(&body).map_err(AppError::internal)?, reference_only)))
        .collect()
}
