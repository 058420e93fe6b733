//! How current an indicator is: a 0–100 score that decays with age, is refreshed by
//! sightings and lowered by false-positive reports. A pure function of the indicator's
//! own fields and its sightings aggregate, so every surface computes the same number.

use chrono::{DateTime, Utc};

/// The inputs for one indicator.
#[derive(Debug, Clone, Copy)]
pub struct ScoreInput {
    /// The submitter's confidence (0–100), if given.
    pub confidence: Option<u8>,
    /// When the indicator was first published (its `valid_from`).
    pub published: DateTime<Utc>,
    /// The latest time any organisation reported seeing it.
    pub last_seen: Option<DateTime<Utc>>,
    /// Organisations that reported it as a false positive.
    pub false_positive_organizations: i64,
    /// When the indicator stops being valid, if ever.
    pub valid_until: Option<DateTime<Utc>>,
    /// Days for the score to halve without new sightings (per indicator type).
    pub half_life_days: f64,
}

/// Confidence assumed when the submitter gave none.
pub const DEFAULT_CONFIDENCE: u8 = 50;

/// The lowest score an indicator has to count as active when nothing else is
/// configured: the hub's `indicators.active_min_score` default and the client's
/// `renkei export --min-score` default.
pub const DEFAULT_ACTIVE_MIN_SCORE: u8 = 20;

/// Days for a score to halve without sightings, per type, when nothing else is
/// configured (the hub's `indicators.half_life_days` defaults; the client scores what
/// it holds with these): addresses churn within weeks, file hashes do not.
pub fn default_half_life_days(kind: crate::model::indicator::IndicatorType) -> u32 {
    use crate::model::indicator::IndicatorType as T;
    match kind {
        T::Ipv4 | T::Ipv6 => 14,
        T::Cidr | T::Domain => 30,
        T::Url => 21,
        T::Email => 60,
        T::Md5 | T::Sha1 | T::Sha256 => 180,
        T::Filename => 90,
    }
}

/// The score at `now`: confidence × ½^(days since last seen or published ÷ half-life),
/// halved once per organisation that reported a false positive; 0 once expired.
pub fn score(input: &ScoreInput, now: DateTime<Utc>) -> u8 {
    if input.valid_until.is_some_and(|u| u <= now) {
        return 0;
    }
    let base = f64::from(input.confidence.unwrap_or(DEFAULT_CONFIDENCE).min(100));
    let fresh = match input.last_seen {
        Some(seen) if seen > input.published => seen,
        _ => input.published,
    };
    let age_days = ((now - fresh).num_seconds().max(0) as f64) / 86_400.0;
    let decay = if input.half_life_days > 0.0 { 0.5f64.powf(age_days / input.half_life_days) } else { 1.0 };
    let penalty = 0.5f64.powi(input.false_positive_organizations.clamp(0, 16) as i32);
    (base * decay * penalty).round().clamp(0.0, 100.0) as u8
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(days: i64) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").expect("time").with_timezone(&Utc)
            + chrono::Duration::days(days)
    }

    fn input() -> ScoreInput {
        ScoreInput {
            confidence: Some(80),
            published: at(0),
            last_seen: None,
            false_positive_organizations: 0,
            valid_until: None,
            half_life_days: 30.0,
        }
    }

    #[test]
    fn the_score_halves_every_half_life() {
        assert_eq!(score(&input(), at(0)), 80);
        assert_eq!(score(&input(), at(30)), 40);
        assert_eq!(score(&input(), at(60)), 20);
        let older: Vec<u8> = (0..200).map(|d| score(&input(), at(d))).collect();
        assert!(older.windows(2).all(|w| w[0] >= w[1]), "never rises with age alone");
    }

    #[test]
    fn sightings_refresh_and_false_positives_lower_it() {
        let seen = ScoreInput { last_seen: Some(at(58)), ..input() };
        assert_eq!(score(&seen, at(60)), 76, "a sighting two days ago makes it nearly fresh");
        let stale_sighting = ScoreInput { last_seen: Some(at(-10)), ..input() };
        assert_eq!(score(&stale_sighting, at(30)), 40, "a sighting before publication changes nothing");
        let fp = ScoreInput { false_positive_organizations: 1, ..input() };
        assert_eq!(score(&fp, at(0)), 40);
        let fp2 = ScoreInput { false_positive_organizations: 2, ..input() };
        assert_eq!(score(&fp2, at(0)), 20);
    }

    #[test]
    fn expiry_ends_it_and_confidence_defaults() {
        let expiring = ScoreInput { valid_until: Some(at(10)), ..input() };
        assert!(score(&expiring, at(9)) > 0);
        assert_eq!(score(&expiring, at(10)), 0);
        let unsure = ScoreInput { confidence: None, ..input() };
        assert_eq!(score(&unsure, at(0)), DEFAULT_CONFIDENCE);
    }
}
