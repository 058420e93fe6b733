//! The rating-change event: what the hub publishes in the change feed when a
//! supplier's (or an offering's) rating changes in a way that matters. It is a STIX 2.1
//! custom object (`x-renkei-rating-change`), signed by the hub like shared items, so a
//! client verifies it with the same `sign::verify_object` and parses it with this type.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::rating::{Assurance, ChangeReason, Flag, Rating, RatingRules};
use crate::tlp::Tlp;

/// The STIX type of rating-change events.
pub const STIX_TYPE: &str = "x-renkei-rating-change";

/// What a rating-change event says of a rating (before or after). Numbers are whole
/// (score and coverage rounded to integers), so the signed canonical JSON holds no
/// floating point that a reader's parser might print differently.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingSummary {
    /// 0–100, rounded; absent when nothing valid is scorable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub score: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tier: Option<String>,
    pub flags: Vec<Flag>,
    /// Weighted share of the applicable criteria with a valid result, in percent.
    pub coverage_percent: i64,
    pub assessor_count: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_assurance: Option<Assurance>,
    /// The assessments the rating was computed from.
    pub inputs: Vec<String>,
}

impl RatingSummary {
    pub fn of(r: &Rating) -> RatingSummary {
        RatingSummary {
            score: r.score.map(|s| s.round() as i64),
            tier: r.tier.clone(),
            flags: r.flags.iter().copied().collect(),
            coverage_percent: (r.coverage * 100.0).round() as i64,
            assessor_count: r.assessor_count,
            top_assurance: r.top_assurance,
            inputs: r.inputs.clone(),
        }
    }
}

/// One reason, with its text in English and Japanese.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReasonText {
    #[serde(flatten)]
    pub reason: ChangeReason,
    pub en: String,
    pub ja: String,
}

/// The rating-change object as published (and as a client reads it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RatingChange {
    #[serde(rename = "type")]
    pub stix_type: String,
    pub spec_version: String,
    /// `x-renkei-rating-change--<uuid>`.
    pub id: String,
    pub created: String,
    pub modified: String,
    pub object_marking_refs: Vec<String>,
    pub x_renkei_origin_hub: String,
    pub supplier_ref: String,
    /// Set when the rating is an offering's rather than the whole supplier's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub offering_ref: Option<String>,
    pub scheme: String,
    pub previous: RatingSummary,
    pub current: RatingSummary,
    pub reasons: Vec<ReasonText>,
    /// Whether any reason is a change for the worse (what clients flag risks on).
    pub worsened: bool,
}

impl RatingChange {
    /// The event for a rating that moved from `previous` to `current` for `reasons`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        at: DateTime<Utc>,
        origin_hub: &str,
        tlp: Tlp,
        supplier_id: &str,
        offering_id: Option<&str>,
        scheme_id: &str,
        previous: &Rating,
        current: &Rating,
        reasons: Vec<ChangeReason>,
        rules: &RatingRules,
    ) -> RatingChange {
        let at = crate::stix::timestamp(&at);
        RatingChange {
            stix_type: STIX_TYPE.into(),
            spec_version: "2.1".into(),
            id: format!("{STIX_TYPE}--{}", uuid::Uuid::new_v4()),
            created: at.clone(),
            modified: at,
            object_marking_refs: vec![tlp.marking_definition_id().into()],
            x_renkei_origin_hub: origin_hub.into(),
            supplier_ref: supplier_id.into(),
            offering_ref: offering_id.map(str::to_string),
            scheme: scheme_id.into(),
            previous: RatingSummary::of(previous),
            current: RatingSummary::of(current),
            worsened: reasons.iter().any(|r| r.worsens(rules)),
            reasons: reasons
                .into_iter()
                .map(|reason| ReasonText { en: reason.en(), ja: reason.ja(), reason })
                .collect(),
        }
    }

    /// The canonical JSON that is signed, stored and sent.
    pub fn canonical(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        crate::stix::canonical_json(&serde_json::to_value(self).unwrap_or_default())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::supply::rating::{rate, significant_change};
    use crate::supply::scheme::handbook_scheme;

    #[test]
    fn an_event_round_trips_through_its_canonical_json_with_bilingual_reasons() {
        let scheme = handbook_scheme();
        let rules = RatingRules::default();
        let before = rate(&scheme, &[], &rules, Utc::now());
        let after = before.clone();
        let reasons = significant_change(&before, &after, 5.0);
        assert!(reasons.is_empty());
        let reasons = vec![ChangeReason::Tier { from: Some("A".into()), to: Some("C".into()) }];
        let event = RatingChange::new(
            Utc::now(),
            "hub-1",
            Tlp::Amber,
            "supplier--1",
            Some("offering--2"),
            &scheme.id,
            &before,
            &after,
            reasons,
            &rules,
        );
        assert!(event.worsened);
        let text = event.canonical();
        let back: RatingChange = serde_json::from_str(&text).expect("parses");
        assert_eq!(back, event);
        let value: serde_json::Value = serde_json::from_str(&text).expect("json");
        assert_eq!(value["type"], STIX_TYPE);
        assert_eq!(value["reasons"][0]["kind"], "tier");
        assert_eq!(value["reasons"][0]["en"], "tier A -> C");
        assert_eq!(value["reasons"][0]["ja"], "ティア A → C");
        assert_eq!(value["object_marking_refs"][0], Tlp::Amber.marking_definition_id());
        assert!(value["previous"].get("score").is_none(), "no score is absent, never 0");
    }
}
