//! Imports (a STIX bundle, a TAXII POST, a MISP event): each candidate the schema crate
//! mapped is checked here exactly as the typed mutations check their input, and the
//! import is planned: new items to share (with the ids and times their source gave),
//! new versions of the caller's own items (corrections), duplicates, and refusals, each
//! with a code. `actions::import` runs the plan in one transaction.
//!
//! An id already taken by an item the caller may not read is never reported as taken
//! (that would tell the caller the hidden item exists): the object is stored under a new
//! id instead, exactly as if the id had been free.

use chrono::{DateTime, Duration, Utc};
use std::collections::HashSet;

use renkei_schema::errors::Code;
use renkei_schema::import::{Candidate, Proposal, Refusal};
use renkei_schema::model::{Body, Kind};
use renkei_schema::tlp::{check_audience, visibility, Status, Tlp, Visibility};

use super::kinds::{self, AdvisoryInput, AffectedInput, IncidentInput, TechniqueInput};
use super::revision::Correction;
use super::sharing::Provided;
use super::stored::{self, Access, Sharing};
use crate::auth::Identity;
use crate::error::{AppError, AppResult};
use crate::store::DbConn;

/// What an import applies to objects that do not say: the label of unmarked objects, the
/// recipients of RED ones, anonymity, and the highest label it accepts (a TAXII
/// collection's).
#[derive(Debug, Clone)]
pub struct Defaults {
    pub tlp: Tlp,
    pub recipients: Vec<String>,
    pub anonymous: bool,
    pub max_tlp: Option<Tlp>,
}

/// What became of one source object.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Stored and published.
    Stored,
    /// Stored, waiting for a coordinator (the moderation policy queued it).
    Queued,
    /// A new version of an item the caller's organisation shared.
    Updated,
    /// The hub holds this version (or a newer one) already.
    Duplicate,
    /// A marking definition, identity or extension definition: accepted, not stored.
    Context,
    Refused,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Stored => "stored",
            Outcome::Queued => "queued",
            Outcome::Updated => "updated",
            Outcome::Duplicate => "duplicate",
            Outcome::Context => "context",
            Outcome::Refused => "refused",
        }
    }

    /// Whether the object counts as a success (TAXII's status).
    pub fn succeeded(self) -> bool {
        self != Outcome::Refused
    }
}

/// The report line of one source object.
#[derive(Debug, Clone)]
pub struct Report {
    pub source: String,
    /// The item's id here (a refused object's own id, when it had one).
    pub id: Option<String>,
    /// The STIX `modified` of the version concerned.
    pub version: Option<String>,
    pub outcome: Outcome,
    pub code: Option<Code>,
    pub message: Option<String>,
    pub message_ja: Option<String>,
}

impl Report {
    fn new(c: &Candidate, outcome: Outcome) -> Report {
        Report {
            source: c.source.clone(),
            id: c.id.clone(),
            version: c.modified.as_ref().map(renkei_schema::stix::timestamp),
            outcome,
            code: None,
            message: None,
            message_ja: None,
        }
    }

    pub fn refused(c: &Candidate, refusal: Refusal) -> Report {
        Report {
            code: Some(refusal.code),
            message: Some(refusal.message),
            message_ja: Some(refusal.message_ja),
            ..Report::new(c, Outcome::Refused)
        }
    }
}

/// How many versions an import wrote (for the planner statistics' refresh).
pub fn written(reports: &[Report]) -> u64 {
    reports.iter().filter(|r| matches!(r.outcome, Outcome::Stored | Outcome::Queued | Outcome::Updated)).count() as u64
}

/// A new item to share.
pub struct NewItem {
    pub report: usize,
    pub body: Body,
    pub sharing: Sharing,
    pub provided: Provided,
}

/// A new version of one of the caller's items.
pub struct Update {
    pub report: usize,
    pub id: String,
    pub fix: Correction,
}

/// The plan of an import: one report per candidate, in order, and what to write.
pub struct Plan {
    pub reports: Vec<Report>,
    pub new_items: Vec<NewItem>,
    pub updates: Vec<Update>,
}

fn refusal_of(e: AppError) -> Refusal {
    Refusal::new(e.code, e.message, e.message_ja)
}

/// How far in the future a source's timestamps may be (clocks differ a little).
const CLOCK_SKEW_MINUTES: i64 = 5;

/// Checks every candidate and plans the import (reads only; nothing is written).
pub fn plan(c: &mut DbConn, actor: &Identity, candidates: Vec<Candidate>, defaults: &Defaults) -> AppResult<Plan> {
    let viewer = actor.viewer();
    let latest_allowed = Utc::now() + Duration::minutes(CLOCK_SKEW_MINUTES);
    let mut plan = Plan { reports: Vec::with_capacity(candidates.len()), new_items: Vec::new(), updates: Vec::new() };
    let mut ids_seen: HashSet<String> = HashSet::new();
    // The items the source's ids name already, read in a few queries, not one each.
    let given: Vec<String> = candidates.iter().filter_map(|c| c.id.clone()).collect();
    let mut existing = stored::load_objects(c, &given)?;
    let mut values_seen: HashSet<(String, String)> = HashSet::new();
    for candidate in candidates {
        let index = plan.reports.len();
        let body = match &candidate.proposal {
            Proposal::Context => {
                plan.reports.push(Report::new(&candidate, Outcome::Context));
                continue;
            }
            Proposal::Refused(r) => {
                plan.reports.push(Report::refused(&candidate, r.clone()));
                continue;
            }
            Proposal::Item(body) => (**body).clone(),
        };
        let refuse = |plan: &mut Plan, r: Refusal| plan.reports.push(Report::refused(&candidate, r));
        let tlp = candidate.tlp.unwrap_or(defaults.tlp);
        if let Some(max) = defaults.max_tlp {
            if tlp > max {
                refuse(
                    &mut plan,
                    Refusal::new(
                        Code::LabelAboveCollection,
                        format!("the object is {tlp}; this collection holds up to {max}"),
                        format!("このオブジェクトは{tlp}ですが、このコレクションの上限は{max}です"),
                    ),
                );
                continue;
            }
        }
        let recipients = match tlp {
            Tlp::Red if !candidate.recipients.is_empty() => candidate.recipients.clone(),
            Tlp::Red => defaults.recipients.clone(),
            _ => Vec::new(),
        };
        if let Err(label) = check_audience(tlp, &recipients) {
            refuse(&mut plan, Refusal::new(label.code(), label.message(), label.message_ja()));
            continue;
        }
        if [candidate.created, candidate.modified, candidate.valid_from].iter().flatten().any(|t| *t > latest_allowed) {
            refuse(
                &mut plan,
                Refusal::new(
                    Code::StixInvalid,
                    "created, modified or valid_from is in the future",
                    "created、modified、valid_fromのいずれかが未来の日時です",
                ),
            );
            continue;
        }
        let (body, valid_until) = match validate(c, actor, tlp, body, candidate.valid_until) {
            Ok(validated) => validated,
            Err(e) => {
                refuse(&mut plan, refusal_of(e));
                continue;
            }
        };
        if let Body::Indicator(b) = &body {
            if !values_seen.insert((b.indicator_type.as_str().to_string(), b.value.clone())) {
                refuse(
                    &mut plan,
                    Refusal::new(
                        Code::DuplicateInBatch,
                        format!("{} appears twice in this import", b.value),
                        format!("{} がこの取り込みに重複しています", b.value),
                    ),
                );
                continue;
            }
        }
        // The id the source gave, when it is one of this kind's and free (or the
        // caller's own item, which this may be a new version of).
        let mut id = candidate.id.clone().filter(|id| Kind::of_id(id) == Some(body.kind()));
        if let Some(given) = id.clone() {
            if !ids_seen.insert(given.clone()) {
                plan.reports.push(Report::new(&candidate, Outcome::Duplicate));
                continue;
            }
            if let Some(current) = existing.remove(&given) {
                let access = Access::of_object(&current)?;
                let readable = visibility(&viewer, &access.item()) == Visibility::Full;
                if !readable || access.status == Status::Revoked || access.status == Status::Rejected {
                    // Hidden (or gone): stored under a new id, as if the id were free.
                    id = None;
                } else {
                    let (env, current_body) = stored::parts_of(&current)?;
                    let newer = candidate.modified.is_some_and(|m| m > env.modified);
                    if !newer {
                        let mut report = Report::new(&candidate, Outcome::Duplicate);
                        report.version = Some(renkei_schema::stix::timestamp(&env.modified));
                        plan.reports.push(report);
                        continue;
                    }
                    if access.submitter != actor.org_id {
                        refuse(
                            &mut plan,
                            Refusal::new(
                                Code::ObjectExists,
                                "a newer version of an item another organisation shared; only its submitter changes it",
                                "他の組織が共有した情報の新しい版です。変更できるのは提出者のみです",
                            ),
                        );
                        continue;
                    }
                    match correction(&env, &current_body, &body, tlp, &candidate) {
                        Ok(Some(fix)) => {
                            plan.reports.push(Report::new(&candidate, Outcome::Updated));
                            plan.updates.push(Update { report: index, id: given, fix });
                        }
                        Ok(None) => plan.reports.push(Report::new(&candidate, Outcome::Duplicate)),
                        Err(r) => refuse(&mut plan, r),
                    }
                    continue;
                }
            }
        }
        plan.reports.push(Report::new(&candidate, Outcome::Stored));
        plan.new_items.push(NewItem {
            report: index,
            body,
            sharing: Sharing {
                tlp,
                recipients,
                anonymous: defaults.anonymous,
                confidence: candidate.confidence,
                valid_until: None,
                labels: candidate.labels.clone(),
            },
            provided: Provided {
                id,
                created: candidate.created,
                modified: candidate.modified,
                valid_from: candidate.valid_from,
                valid_until,
            },
        });
    }
    Ok(plan)
}

/// A body as the typed mutations would have it: the same validation and normalisation,
/// with the item's validity end (the source's, or for an assessment the one its scheme
/// gives, as `submitAssessment` sets it).
fn validate(
    c: &mut DbConn,
    actor: &Identity,
    tlp: Tlp,
    body: Body,
    valid_until: Option<DateTime<Utc>>,
) -> AppResult<(Body, Option<DateTime<Utc>>)> {
    let body = match body {
        // Sealed content is shared with `shareSealed`, which checks its keys.
        Body::Sealed(_) => {
            return Err(AppError::new(
                Code::InvalidSealed,
                "a sealed item is shared with shareSealed, not imported",
                "封緘された情報はshareSealedで共有します（取り込みはできません）",
            ))
        }
        Body::Assessment(b) => {
            // Its validity is the scheme's when the source gives none.
            let (body, until) = super::suppliers::assessment_body(c, actor, assessment_input(b, valid_until))?;
            return Ok((body, Some(until)));
        }
        Body::Indicator(b) => {
            let mut bodies = super::sharing::normalize_indicators(vec![(b.indicator_type, b.value, b.description)])?;
            bodies.pop().ok_or_else(|| AppError::internal("one indicator in, one out"))
        }
        Body::Technique(b) => kinds::technique_body(
            c,
            TechniqueInput {
                attack_id: b.attack_id,
                name: Some(b.name),
                tactics: b.tactics,
                narrative: b.narrative,
                platforms: b.platforms,
                ics_asset_types: b.ics_asset_types,
            },
        ),
        Body::Incident(b) => kinds::incident_body(
            c,
            &actor.viewer(),
            tlp,
            IncidentInput {
                title: b.title,
                summary: b.summary,
                sector: b.sector,
                occurred_at: b.occurred_at.as_ref().map(renkei_schema::stix::timestamp),
                service_impact: b.service_impact,
                impact_description: b.impact_description,
                technique_ids: b.technique_ids,
                indicator_ids: b.indicator_refs,
                supplier_ids: b.supplier_refs,
            },
        ),
        Body::Advisory(b) => kinds::advisory_body(AdvisoryInput {
            cve_id: b.cve_id,
            title: b.title,
            description: b.description,
            affected: b.affected.into_iter().map(AffectedInput::from).collect(),
            cvss_vector: b.cvss_vector,
            exploitation: b.exploitation,
            fixes: b.fixes,
            workarounds: b.workarounds,
        }),
    }?;
    Ok((body, valid_until))
}

/// An imported assessment as `submitAssessment` takes it: the scheme version it names,
/// every answer as given (an unanswered criterion left out, as the mutation leaves it),
/// the posture never (the hub computes it).
fn assessment_input(
    b: renkei_schema::model::AssessmentBody,
    valid_until: Option<DateTime<Utc>>,
) -> super::suppliers::AssessmentInput {
    use renkei_schema::supply::rating::Answer;
    let results = b
        .results
        .into_iter()
        .filter_map(|r| {
            let answer = match r.answer {
                Answer::Scale(v) => Some(i32::from(v)),
                Answer::NotApplicable => None,
                Answer::Unanswered => return None,
            };
            Some((r.criterion, answer, r.comment, r.evidence))
        })
        .collect();
    super::suppliers::AssessmentInput {
        supplier_id: b.supplier_id,
        offering_ids: b.offering_ids,
        scheme_id: b.scheme_id,
        scheme_version: Some(b.scheme_version),
        assessor: b.assessor,
        assessor_name: b.assessor_name,
        assurance: b.assurance,
        observed: b.observed,
        valid_until,
        results,
        findings: b.findings,
        conclusion: b.conclusion,
    }
}

/// The correction that turns the current version into the imported one: only what a
/// correction may change (texts, confidence, validity, labels). A changed value, label
/// or other field is refused: that is a new item, or a relabelling.
fn correction(
    env: &renkei_schema::model::Envelope,
    current: &Body,
    new: &Body,
    tlp: Tlp,
    candidate: &Candidate,
) -> Result<Option<Correction>, Refusal> {
    let not_a_correction = |what: &str| {
        Refusal::new(
            Code::InvalidPatch,
            format!("the new version changes {what}, which a correction cannot; share a new item (or relabel it)"),
            format!("新しい版は{what}を変更していますが、訂正では変更できません。新しい情報として共有（またはラベル変更）してください"),
        )
    };
    if tlp != env.tlp {
        return Err(not_a_correction("the label"));
    }
    let mut fix = Correction {
        description: None,
        title: None,
        summary: None,
        narrative: None,
        impact_description: None,
        confidence: None,
        valid_until: None,
        labels: None,
        modified: candidate.modified,
    };
    let changed = |a: &Option<String>, b: &Option<String>| (a != b).then(|| b.clone().unwrap_or_default());
    match (current, new) {
        (Body::Indicator(a), Body::Indicator(b)) => {
            if (a.indicator_type, &a.value) != (b.indicator_type, &b.value) {
                return Err(not_a_correction("the value"));
            }
            fix.description = changed(&a.description, &b.description);
        }
        (Body::Technique(a), Body::Technique(b)) => {
            if (&a.attack_id, &a.tactics, &a.platforms, &a.ics_asset_types)
                != (&b.attack_id, &b.tactics, &b.platforms, &b.ics_asset_types)
            {
                return Err(not_a_correction("the technique"));
            }
            fix.narrative = (a.narrative != b.narrative).then(|| b.narrative.clone());
        }
        (Body::Incident(a), Body::Incident(b)) => {
            let mut a2 = a.clone();
            a2.title = b.title.clone();
            a2.summary = b.summary.clone();
            a2.impact_description = b.impact_description.clone();
            if a2 != *b {
                return Err(not_a_correction("the incident's facts"));
            }
            fix.title = (a.title != b.title).then(|| b.title.clone());
            fix.summary = (a.summary != b.summary).then(|| b.summary.clone());
            fix.impact_description = changed(&a.impact_description, &b.impact_description);
        }
        (Body::Advisory(a), Body::Advisory(b)) => {
            let mut a2 = a.clone();
            a2.title = b.title.clone();
            a2.description = b.description.clone();
            if a2 != *b {
                return Err(not_a_correction("the advisory's facts"));
            }
            fix.title = (a.title != b.title).then(|| b.title.clone());
            fix.description = changed(&a.description, &b.description);
        }
        _ => return Err(not_a_correction("the kind")),
    }
    if candidate.confidence.is_some() && candidate.confidence != env.confidence {
        fix.confidence = candidate.confidence;
    }
    if candidate.valid_until.is_some() && candidate.valid_until != env.valid_until {
        fix.valid_until = candidate.valid_until;
    }
    if candidate.labels != env.labels {
        fix.labels = Some(candidate.labels.clone());
    }
    let nothing = fix.description.is_none()
        && fix.title.is_none()
        && fix.summary.is_none()
        && fix.narrative.is_none()
        && fix.impact_description.is_none()
        && fix.confidence.is_none()
        && fix.valid_until.is_none()
        && fix.labels.is_none();
    Ok((!nothing).then_some(fix))
}

/// The key new items are shared together under: one submission per kind and sharing.
pub fn group_key(item: &NewItem) -> (Kind, Tlp, Option<u8>, Vec<String>) {
    (item.body.kind(), item.sharing.tlp, item.sharing.confidence, item.sharing.labels.clone())
}

/// When a report's version is the hub's own time (a stored correction).
pub fn version_of(modified: &DateTime<Utc>) -> String {
    renkei_schema::stix::timestamp(modified)
}
