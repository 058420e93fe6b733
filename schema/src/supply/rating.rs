//! Supplier ratings, derived and never typed in: a posture score per assessment, and a
//! rating per supplier (or offering) across assessors, following
//! `shared/reference/register-and-suppliers.md` §5.2. Higher is better (a posture, not
//! a risk level). Pure functions: the hub passes in only the assessments the viewer may
//! see, so a rating never reveals one it may not.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::scheme::{Scheme, MAX_ANSWER};

/// How strongly an assessment's results are backed, weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Assurance {
    /// An automated tool's findings.
    Automated,
    /// The supplier's own answers.
    SelfAttested,
    /// A questionnaire reviewed by a member.
    QuestionnaireReviewed,
    /// A member's on-site visit or technical test.
    TechnicalTest,
    /// Independent certification or attestation (ISO/IEC 27001 and the like).
    IndependentCertification,
}

/// One answer to one criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "value")]
pub enum Answer {
    /// 0 (not in place) … 4 (fully in place).
    Scale(u8),
    NotApplicable,
    /// Left open: counts as the worst answer.
    Unanswered,
}

impl Answer {
    /// The answer as points in 0..=1; `None` when not applicable.
    fn points(self) -> Option<f64> {
        match self {
            Answer::Scale(v) => Some(f64::from(v.min(MAX_ANSWER)) / f64::from(MAX_ANSWER)),
            Answer::Unanswered => Some(0.0),
            Answer::NotApplicable => None,
        }
    }
}

/// Severity of a finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    /// Must be fixed before the supplier is used.
    Blocker,
}

/// What the rating needs of one assessment.
#[derive(Debug, Clone)]
pub struct AssessmentInput {
    pub id: String,
    /// Who assessed: the member organisation, the supplier itself, a firm or a tool.
    pub assessor: String,
    pub assurance: Assurance,
    pub observed: DateTime<Utc>,
    pub valid_until: DateTime<Utc>,
    /// Withdrawn by its assessor (or a coordinator).
    pub withdrawn: bool,
    pub answers: BTreeMap<String, Answer>,
    /// Severities of the findings still open.
    pub open_findings: Vec<Severity>,
}

impl AssessmentInput {
    /// The rating's view of a shared assessment, valid until `valid_until`, counted for
    /// `assessor` (who that is for a viewer is the hub's decision; see its ratings).
    pub fn of_body(
        body: &crate::model::AssessmentBody,
        valid_until: DateTime<Utc>,
        id: &str,
        assessor: &str,
    ) -> AssessmentInput {
        AssessmentInput {
            id: id.into(),
            assessor: assessor.into(),
            assurance: body.assurance,
            observed: body.observed,
            valid_until,
            withdrawn: false,
            answers: body.results.iter().map(|r| (r.criterion.clone(), r.answer)).collect(),
            open_findings: body.findings.iter().filter(|f| f.open).map(|f| f.severity).collect(),
        }
    }

    fn valid_at(&self, now: DateTime<Utc>) -> bool {
        !self.withdrawn && now <= self.valid_until
    }

    fn answer(&self, criterion: &str) -> Answer {
        self.answers.get(criterion).copied().unwrap_or(Answer::Unanswered)
    }
}

/// The 0–100 posture of one assessment over the criteria it scores: not-applicable
/// criteria excluded, unanswered ones counted as worst. `None` when nothing is
/// scorable (never shown as 0).
pub fn posture(scheme: &Scheme, assessment: &AssessmentInput) -> Option<f64> {
    let (mut sum, mut weights) = (0.0, 0.0);
    for c in &scheme.criteria {
        if let Some(p) = assessment.answer(&c.id).points() {
            sum += c.weight * p;
            weights += c.weight;
        }
    }
    (weights > 0.0).then(|| 100.0 * sum / weights)
}

/// Thresholds of the rating (configurable, versioned with `RATING_VERSION`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RatingRules {
    /// Results of one criterion further apart than this (in points, 0..=1) are contested.
    pub contested_spread: f64,
    /// Newest valid assessment older than this: `STALE`.
    pub stale_days: i64,
    /// Weighted share of the scheme covered below this: `INSUFFICIENT_COVERAGE`.
    pub min_coverage: f64,
    /// (tier, lowest score), best first; below the last is the last tier.
    pub tiers: Vec<(String, f64)>,
    /// A score move of at least this many points is a rating change that matters.
    pub event_score_delta: f64,
}

impl Default for RatingRules {
    fn default() -> Self {
        RatingRules {
            contested_spread: 0.5,
            stale_days: 365,
            min_coverage: 0.6,
            tiers: vec![("A".into(), 80.0), ("B".into(), 60.0), ("C".into(), 40.0), ("D".into(), 0.0)],
            event_score_delta: 5.0,
        }
    }
}

/// The version of these rules, stored with every rating. posture/2: an anonymous
/// assessment counts as an assessor of its own (the hub keys it so; the rules here are
/// unchanged), so ratings stored under posture/1 are recomputed.
pub const RATING_VERSION: &str = "posture/2";

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Flag {
    /// The newest valid assessment is older than `stale_days` (or there is none).
    Stale,
    /// Assessors disagree widely on at least one criterion (the worse value is used).
    Contested,
    /// Too little of the scheme is covered by valid results.
    InsufficientCoverage,
    /// A blocker finding is open in an assessment reviewed by a member or better.
    BlockerOpen,
}

/// The consensus on one criterion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionConsensus {
    pub criterion: String,
    /// Points 0..=1 used for the rating.
    pub points: f64,
    pub assurance: Assurance,
    pub contested: bool,
    /// Assessments whose results were used.
    pub from: Vec<String>,
}

/// A supplier's (or offering's) rating, with what it was computed from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Rating {
    pub score: Option<f64>,
    pub tier: Option<String>,
    /// Weighted share (0..=1) of the applicable criteria with a valid result.
    pub coverage: f64,
    /// Days since the newest valid assessment was observed.
    pub freshness_days: Option<i64>,
    /// When the newest valid assessment was observed (freshness counts from it).
    #[serde(default)]
    pub newest_observed: Option<DateTime<Utc>>,
    pub top_assurance: Option<Assurance>,
    pub assessor_count: usize,
    /// The widest spread (points) between assessors on any criterion.
    pub disagreement: f64,
    pub open_findings: BTreeMap<Severity, usize>,
    pub flags: BTreeSet<Flag>,
    pub criteria: Vec<CriterionConsensus>,
    /// The assessments the rating was computed from.
    pub inputs: Vec<String>,
    pub version: String,
}

fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0
    }
}

/// The rating from the assessments the viewer may see (in submission order), at `now`.
pub fn rate(scheme: &Scheme, assessments: &[AssessmentInput], rules: &RatingRules, now: DateTime<Utc>) -> Rating {
    let valid: Vec<&AssessmentInput> = assessments.iter().filter(|a| a.valid_at(now)).collect();
    let mut criteria = Vec::new();
    let (mut covered_weight, mut applicable_weight, mut weighted) = (0.0, 0.0, 0.0);
    let mut disagreement: f64 = 0.0;
    let mut inputs = BTreeSet::new();
    for c in &scheme.criteria {
        // Results for this criterion: (assessment, points), N/A left out.
        let results: Vec<(&AssessmentInput, f64)> =
            valid.iter().filter_map(|a| a.answer(&c.id).points().map(|p| (*a, p))).collect();
        let Some(top) = results.iter().map(|(a, _)| a.assurance).max() else {
            // No valid assessment scores it: applicable unless every valid one says N/A.
            if valid.is_empty() || valid.iter().any(|a| a.answer(&c.id) != Answer::NotApplicable) {
                applicable_weight += c.weight;
            }
            continue;
        };
        applicable_weight += c.weight;
        // At the highest assurance level, the latest result per assessor (on the same
        // observed date, the one given later: inputs come in submission order).
        let mut latest: BTreeMap<&str, (&AssessmentInput, f64)> = BTreeMap::new();
        for (a, p) in results.into_iter().filter(|(a, _)| a.assurance == top) {
            match latest.get(a.assessor.as_str()) {
                Some((seen, _)) if seen.observed > a.observed => {}
                _ => {
                    latest.insert(a.assessor.as_str(), (a, p));
                }
            }
        }
        let mut values: Vec<f64> = latest.values().map(|(_, p)| *p).collect();
        values.sort_by(f64::total_cmp);
        let (lo, hi) = (values[0], values[values.len() - 1]);
        let spread = hi - lo;
        disagreement = disagreement.max(spread);
        let contested = spread > rules.contested_spread;
        let points = if contested { lo } else { median(&values) };
        let from: Vec<String> = latest.values().map(|(a, _)| a.id.clone()).collect();
        inputs.extend(from.iter().cloned());
        covered_weight += c.weight;
        weighted += c.weight * points;
        criteria.push(CriterionConsensus { criterion: c.id.clone(), points, assurance: top, contested, from });
    }
    let score = (covered_weight > 0.0).then(|| 100.0 * weighted / covered_weight);
    let coverage = if applicable_weight > 0.0 { covered_weight / applicable_weight } else { 0.0 };
    let newest = valid.iter().map(|a| a.observed).max();
    let freshness_days = newest.map(|t| (now - t).num_days());
    let mut flags = BTreeSet::new();
    if freshness_days.is_none_or(|d| d > rules.stale_days) {
        flags.insert(Flag::Stale);
    }
    if criteria.iter().any(|c| c.contested) {
        flags.insert(Flag::Contested);
    }
    if coverage < rules.min_coverage {
        flags.insert(Flag::InsufficientCoverage);
    }
    let mut open_findings = BTreeMap::new();
    for a in &valid {
        for s in &a.open_findings {
            *open_findings.entry(*s).or_insert(0) += 1;
        }
    }
    let blocker = valid
        .iter()
        .any(|a| a.assurance >= Assurance::QuestionnaireReviewed && a.open_findings.contains(&Severity::Blocker));
    if blocker {
        flags.insert(Flag::BlockerOpen);
    }
    let tier = score.map(|s| {
        let last = rules.tiers.last().map(|(t, _)| t.clone()).unwrap_or_default();
        // An open blocker caps the tier at the worst level.
        if blocker {
            return last;
        }
        rules.tiers.iter().find(|(_, min)| s >= *min).map(|(t, _)| t.clone()).unwrap_or(last)
    });
    let assessors: BTreeSet<&str> = valid.iter().map(|a| a.assessor.as_str()).collect();
    Rating {
        score,
        tier,
        coverage,
        freshness_days,
        newest_observed: newest,
        top_assurance: valid.iter().map(|a| a.assurance).max(),
        assessor_count: assessors.len(),
        disagreement,
        open_findings,
        flags,
        criteria,
        inputs: inputs.into_iter().collect(),
        version: RATING_VERSION.into(),
    }
}

/// One reason a rating change matters to followers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum ChangeReason {
    Tier {
        from: Option<String>,
        to: Option<String>,
    },
    /// Scores rounded to whole points (signed objects carry no floating point).
    Score {
        from: Option<i64>,
        to: Option<i64>,
    },
    FlagRaised {
        flag: Flag,
    },
    FlagCleared {
        flag: Flag,
    },
}

impl Flag {
    /// The flag's name as the API spells it (`STALE`, `BLOCKER_OPEN`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Stale => "STALE",
            Flag::Contested => "CONTESTED",
            Flag::InsufficientCoverage => "INSUFFICIENT_COVERAGE",
            Flag::BlockerOpen => "BLOCKER_OPEN",
        }
    }

    fn ja(self) -> &'static str {
        match self {
            Flag::Stale => "評価が古い",
            Flag::Contested => "評価者間で見解が分かれている",
            Flag::InsufficientCoverage => "評価項目の網羅が不足",
            Flag::BlockerOpen => "重大な指摘が未解決",
        }
    }
}

fn score_text(s: Option<i64>) -> String {
    s.map_or_else(|| "none".into(), |s| s.to_string())
}

impl ChangeReason {
    /// The reason in English, e.g. `tier A -> B`.
    pub fn en(&self) -> String {
        match self {
            ChangeReason::Tier { from, to } => {
                format!("tier {} -> {}", from.as_deref().unwrap_or("none"), to.as_deref().unwrap_or("none"))
            }
            ChangeReason::Score { from, to } => format!("score {} -> {}", score_text(*from), score_text(*to)),
            ChangeReason::FlagRaised { flag } => format!("{} raised", flag.as_str()),
            ChangeReason::FlagCleared { flag } => format!("{} cleared", flag.as_str()),
        }
    }

    /// The reason in Japanese.
    pub fn ja(&self) -> String {
        let none = |t: &Option<String>| t.clone().unwrap_or_else(|| "なし".into());
        match self {
            ChangeReason::Tier { from, to } => format!("ティア {} → {}", none(from), none(to)),
            ChangeReason::Score { from, to } => {
                let s = |v: Option<i64>| v.map_or_else(|| "なし".into(), |v| v.to_string());
                format!("スコア {} → {}", s(*from), s(*to))
            }
            ChangeReason::FlagRaised { flag } => format!("「{}」（{}）が付きました", flag.ja(), flag.as_str()),
            ChangeReason::FlagCleared { flag } => format!("「{}」（{}）が解除されました", flag.ja(), flag.as_str()),
        }
    }

    /// Whether this reason is a change for the worse: a lower tier (or none), a lower
    /// score (or none), any flag raised. Tiers compare by their place in `rules.tiers`.
    pub fn worsens(&self, rules: &RatingRules) -> bool {
        let rank = |t: &Option<String>| match t {
            // No tier (nothing scorable) ranks below every tier.
            None => rules.tiers.len(),
            Some(t) => rules.tiers.iter().position(|(name, _)| name == t).unwrap_or(rules.tiers.len()),
        };
        match self {
            ChangeReason::Tier { from, to } => rank(to) > rank(from),
            ChangeReason::Score { from, to } => match (from, to) {
                (Some(a), Some(b)) => b < a,
                (Some(_), None) => true,
                _ => false,
            },
            ChangeReason::FlagRaised { .. } => true,
            ChangeReason::FlagCleared { .. } => false,
        }
    }
}

/// Why a new rating differs from the old one in a way followers must hear about (a
/// tier change, a score move of at least `delta`, a score appearing or vanishing, a
/// flag appearing or clearing); empty when the change does not matter.
pub fn significant_change(old: &Rating, new: &Rating, delta: f64) -> Vec<ChangeReason> {
    let mut reasons = Vec::new();
    if old.tier != new.tier {
        reasons.push(ChangeReason::Tier { from: old.tier.clone(), to: new.tier.clone() });
    }
    let moved = match (old.score, new.score) {
        (Some(a), Some(b)) => (a - b).abs() >= delta,
        (None, None) => false,
        _ => true,
    };
    if moved {
        let whole = |s: Option<f64>| s.map(|s| s.round() as i64);
        reasons.push(ChangeReason::Score { from: whole(old.score), to: whole(new.score) });
    }
    for f in new.flags.difference(&old.flags) {
        reasons.push(ChangeReason::FlagRaised { flag: *f });
    }
    for f in old.flags.difference(&new.flags) {
        reasons.push(ChangeReason::FlagCleared { flag: *f });
    }
    reasons
}

/// The next moment the rating of these assessments changes by time alone (an
/// assessment expiring, the newest one going stale), after `now`; `None` when none will.
pub fn next_change(assessments: &[AssessmentInput], rules: &RatingRules, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
    let valid: Vec<&AssessmentInput> = assessments.iter().filter(|a| a.valid_at(now)).collect();
    let expiry = valid.iter().map(|a| a.valid_until).min();
    // Freshness is counted in whole days: STALE shows once more than `stale_days` have passed.
    // Checked: `stale_days` comes from the configuration, and past the end of chrono's
    // calendar a change never comes (unchecked, a huge value panicked).
    let after_days = |t: DateTime<Utc>, days: i64| {
        days.checked_add(1).and_then(chrono::TimeDelta::try_days).and_then(|d| t.checked_add_signed(d))
    };
    let stale = valid.iter().map(|a| a.observed).max().and_then(|t| after_days(t, rules.stale_days));
    let expired = expiry.and_then(|t| t.checked_add_signed(chrono::TimeDelta::microseconds(1)));
    [expired, stale].into_iter().flatten().filter(|t| *t > now).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supply::scheme::{Criterion, Scheme};

    fn day(n: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").expect("time").with_timezone(&Utc)
            + chrono::Duration::days(n)
    }

    /// Three criteria weighted 1, 1 and 2.
    fn scheme() -> Scheme {
        let c = |id: &str, weight: f64| Criterion { id: id.into(), weight, text_ja: None, text_en: None };
        Scheme {
            id: "t".into(),
            version: "1".into(),
            name_ja: "テスト".into(),
            name_en: "test".into(),
            criteria: vec![c("c1", 1.0), c("c2", 1.0), c("c3", 2.0)],
            default_validity_days: 365,
        }
    }

    fn assessment(
        id: &str,
        assessor: &str,
        assurance: Assurance,
        observed: i64,
        answers: &[(&str, Answer)],
    ) -> AssessmentInput {
        AssessmentInput {
            id: id.into(),
            assessor: assessor.into(),
            assurance,
            observed: day(observed),
            valid_until: day(observed + 365),
            withdrawn: false,
            answers: answers.iter().map(|(c, a)| ((*c).to_string(), *a)).collect(),
            open_findings: vec![],
        }
    }

    use Answer::{NotApplicable as Na, Scale, Unanswered};
    use Assurance::*;

    #[test]
    fn posture_excludes_not_applicable_counts_unanswered_as_worst_and_is_never_a_false_zero() {
        let s = scheme();
        let a = assessment("a", "m1", QuestionnaireReviewed, 0, &[("c1", Scale(4)), ("c2", Na), ("c3", Scale(2))]);
        // (1×1 + 2×0.5) / 3 = 2/3
        assert!((posture(&s, &a).expect("score") - 200.0 / 3.0).abs() < 1e-9);
        let b = assessment("b", "m1", QuestionnaireReviewed, 0, &[("c1", Scale(4))]);
        // c2 and c3 unanswered count as 0: 1 / 4
        assert_eq!(posture(&s, &b), Some(25.0));
        let none = assessment("n", "m1", QuestionnaireReviewed, 0, &[("c1", Na), ("c2", Na), ("c3", Na)]);
        assert_eq!(posture(&s, &none), None, "nothing scorable is no score, not 0");
        let _ = Unanswered;
    }

    #[test]
    fn the_highest_assurance_wins_and_each_assessor_counts_once_with_its_latest() {
        let s = scheme();
        let all = |v: u8| [("c1", Scale(v)), ("c2", Scale(v)), ("c3", Scale(v))];
        let assessments = vec![
            assessment("self", "supplier", SelfAttested, 10, &all(4)),
            assessment("m1-old", "m1", TechnicalTest, 5, &all(1)),
            assessment("m1-new", "m1", TechnicalTest, 20, &all(3)),
        ];
        let r = rate(&s, &assessments, &RatingRules::default(), day(30));
        assert_eq!(r.score, Some(75.0), "m1's latest technical test, not the self-attestation");
        assert_eq!(r.inputs, vec!["m1-new".to_string()]);
        assert_eq!(r.top_assurance, Some(TechnicalTest));
        assert_eq!(r.assessor_count, 2);
        assert_eq!(r.tier.as_deref(), Some("B"));
        assert!(r.flags.is_empty(), "{:?}", r.flags);
    }

    #[test]
    fn wide_disagreement_is_contested_and_takes_the_worse_value_else_the_median() {
        let s = scheme();
        let rated = |vals: [u8; 3]| {
            let assessments: Vec<AssessmentInput> = vals
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    let who = format!("m{i}");
                    assessment(
                        &who,
                        &who,
                        QuestionnaireReviewed,
                        1,
                        &[("c1", Scale(*v)), ("c2", Scale(*v)), ("c3", Scale(*v))],
                    )
                })
                .collect();
            rate(&s, &assessments, &RatingRules::default(), day(2))
        };
        let close = rated([2, 3, 4]);
        assert_eq!(close.score, Some(75.0), "median of 0.5, 0.75, 1.0");
        assert!(!close.flags.contains(&Flag::Contested));
        let far = rated([0, 3, 4]);
        assert_eq!(far.score, Some(0.0), "worse value wins when contested");
        assert!(far.flags.contains(&Flag::Contested));
        assert_eq!(far.disagreement, 1.0);
        assert!(far.criteria.iter().all(|c| c.contested));
    }

    #[test]
    fn expired_and_withdrawn_assessments_do_not_count_and_age_makes_it_stale() {
        let s = scheme();
        let all = |v: u8| [("c1", Scale(v)), ("c2", Scale(v)), ("c3", Scale(v))];
        let mut withdrawn = assessment("w", "m2", TechnicalTest, 300, &all(0));
        withdrawn.withdrawn = true;
        let assessments = vec![assessment("old", "m1", QuestionnaireReviewed, 0, &all(4)), withdrawn];
        let r = rate(&s, &assessments, &RatingRules::default(), day(364));
        assert_eq!(r.score, Some(100.0));
        assert_eq!(r.inputs, vec!["old".to_string()]);
        let later = rate(&s, &assessments, &RatingRules::default(), day(366));
        assert_eq!(later.score, None, "expired: nothing valid");
        assert!(later.flags.contains(&Flag::Stale) && later.flags.contains(&Flag::InsufficientCoverage));
        let rules = RatingRules { stale_days: 100, ..RatingRules::default() };
        assert!(rate(&s, &assessments, &rules, day(101)).flags.contains(&Flag::Stale));
    }

    #[test]
    fn coverage_ignores_criteria_every_assessor_finds_not_applicable() {
        let s = scheme();
        let a = assessment("a", "m1", QuestionnaireReviewed, 0, &[("c1", Scale(4)), ("c2", Na), ("c3", Na)]);
        let r = rate(&s, &[a], &RatingRules::default(), day(1));
        assert_eq!(r.coverage, 1.0, "the only applicable criterion is covered");
        assert_eq!(r.score, Some(100.0));
        let b = assessment("b", "m1", QuestionnaireReviewed, 0, &[("c1", Scale(4)), ("c2", Na), ("c3", Unanswered)]);
        let r = rate(&s, &[b], &RatingRules::default(), day(1));
        assert_eq!(r.coverage, 1.0, "unanswered is a (worst) result, so covered");
        assert!((r.score.expect("score") - 100.0 / 3.0).abs() < 1e-9);
    }

    #[test]
    fn an_open_blocker_caps_the_tier_only_when_reviewed_by_a_member_or_better() {
        let s = scheme();
        let all = [("c1", Scale(4)), ("c2", Scale(4)), ("c3", Scale(4))];
        let mut reviewed = assessment("r", "m1", QuestionnaireReviewed, 0, &all);
        reviewed.open_findings = vec![Severity::Blocker, Severity::Low];
        let r = rate(&s, &[reviewed], &RatingRules::default(), day(1));
        assert_eq!((r.score, r.tier.as_deref()), (Some(100.0), Some("D")));
        assert!(r.flags.contains(&Flag::BlockerOpen));
        assert_eq!(r.open_findings.get(&Severity::Blocker), Some(&1));
        let mut claimed = assessment("s", "supplier", SelfAttested, 0, &all);
        claimed.open_findings = vec![Severity::Blocker];
        let r = rate(&s, &[claimed], &RatingRules::default(), day(1));
        assert_eq!(r.tier.as_deref(), Some("A"), "a self-attested blocker does not cap");
    }

    #[test]
    fn significant_changes_are_tier_score_delta_and_flags() {
        let s = scheme();
        let all = |v: u8| [("c1", Scale(v)), ("c2", Scale(v)), ("c3", Scale(v))];
        let rules = RatingRules::default();
        let a = rate(&s, &[assessment("a", "m1", QuestionnaireReviewed, 0, &all(4))], &rules, day(1));
        let b = rate(&s, &[assessment("b", "m1", QuestionnaireReviewed, 0, &all(3))], &rules, day(1));
        assert!(significant_change(&a, &a, 5.0).is_empty());
        let reasons = significant_change(&a, &b, 5.0);
        let en: Vec<String> = reasons.iter().map(ChangeReason::en).collect();
        assert_eq!(en, ["tier A -> B", "score 100 -> 75"]);
        assert!(reasons.iter().all(|r| r.worsens(&rules)), "{reasons:?}");
        assert_eq!(reasons[0].ja(), "ティア A → B");
        // The way back is a change too, for the better.
        assert!(significant_change(&b, &a, 5.0).iter().all(|r| !r.worsens(&rules)));
        // A move smaller than the delta alone is not.
        let c = rate(&s, &[assessment("c", "m1", QuestionnaireReviewed, 0, &all(4))], &rules, day(2));
        assert!(significant_change(&a, &c, 5.0).is_empty());
        let mut lasting = assessment("a", "m1", QuestionnaireReviewed, 0, &all(4));
        lasting.valid_until = day(1000);
        let stale = rate(&s, &[lasting], &rules, day(400));
        let reasons = significant_change(&a, &stale, 5.0);
        assert_eq!(reasons, [ChangeReason::FlagRaised { flag: Flag::Stale }]);
        assert!(reasons[0].worsens(&rules));
        assert_eq!(reasons[0].en(), "STALE raised");
        // Losing every input: the score vanishes, which is worse.
        let none = rate(&s, &[], &rules, day(1));
        let gone = significant_change(&a, &none, 5.0);
        assert!(gone.contains(&ChangeReason::Score { from: Some(100), to: None }), "{gone:?}");
        assert!(gone
            .iter()
            .filter(|r| matches!(r, ChangeReason::Tier { .. } | ChangeReason::Score { .. }))
            .all(|r| r.worsens(&rules)));
    }

    #[test]
    fn the_next_change_by_time_is_the_first_expiry_or_staleness() {
        let s = scheme();
        let rules = RatingRules::default();
        let all = [("c1", Scale(4)), ("c2", Scale(4)), ("c3", Scale(4))];
        let mut short = assessment("a", "m1", QuestionnaireReviewed, 0, &all);
        short.valid_until = day(30);
        let mut long = assessment("b", "m2", QuestionnaireReviewed, 10, &all);
        long.valid_until = day(510);
        let inputs = [short, long];
        let next = next_change(&inputs, &rules, day(1)).expect("a change is due");
        assert!(next > day(30) && next < day(31), "{next}");
        // Just after it, the rating differs from just before; then staleness is next.
        assert_ne!(rate(&s, &inputs, &rules, day(29)).inputs, rate(&s, &inputs, &rules, next).inputs);
        let next = next_change(&inputs, &rules, day(31)).expect("staleness is due");
        assert_eq!(next, day(10 + 366));
        assert!(!rate(&s, &inputs, &rules, next - chrono::Duration::seconds(1)).flags.contains(&Flag::Stale));
        assert!(rate(&s, &inputs, &rules, next).flags.contains(&Flag::Stale));
        // Past everything (the last assessment expired), nothing more changes by time.
        assert_eq!(next_change(&inputs, &rules, day(900)), None);
    }

    /// A configured `stale_days` too large for chrono panicked in `next_change`.
    #[test]
    fn a_huge_stale_days_never_makes_the_assessment_stale() {
        let all = [("c1", Scale(4)), ("c2", Scale(4)), ("c3", Scale(4))];
        let mut a = assessment("a", "m1", QuestionnaireReviewed, 0, &all);
        a.valid_until = DateTime::<Utc>::MAX_UTC;
        let inputs = [a];
        for stale_days in [99_999_999_999, 999_999_999, i64::MAX] {
            let rules = RatingRules { stale_days, ..RatingRules::default() };
            assert_eq!(next_change(&inputs, &rules, day(1)), None, "{stale_days}");
        }
    }
}
