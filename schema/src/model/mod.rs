//! Domain types of the shared objects and the validation of their input.
//!
//! Every shared item is an [`Envelope`] (who, when, which label) around a [`Body`]
//! (what). Bodies are validated and normalised by their `validate` functions before a
//! hub stores them, so a stored object is always in canonical form.

pub mod attack_id;
pub mod indicator;
pub mod sanitize;
pub mod vuln;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::tlp::{Status, Tlp};
use indicator::IndicatorType;
use vuln::{AffectedProduct, ExploitationStatus};

/// The kinds of shared object this version of renkei knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Indicator,
    Technique,
    Incident,
    Advisory,
    /// A supplier assessment result (supply-chain registry).
    Assessment,
}

impl Kind {
    pub const ALL: [Kind; 5] = [Kind::Indicator, Kind::Technique, Kind::Incident, Kind::Advisory, Kind::Assessment];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Indicator => "indicator",
            Kind::Technique => "technique",
            Kind::Incident => "incident",
            Kind::Advisory => "advisory",
            Kind::Assessment => "assessment",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The STIX 2.1 object type this kind is shared as.
    pub fn stix_type(self) -> &'static str {
        match self {
            Kind::Indicator => "indicator",
            Kind::Technique => "attack-pattern",
            Kind::Incident => "incident",
            Kind::Advisory => "vulnerability",
            // STIX has no assessment object: a custom one, prefixed as STIX 2.1 asks.
            Kind::Assessment => "x-renkei-supplier-assessment",
        }
    }

    /// A new STIX-style id (`type--uuidv4`), stable across hubs.
    pub fn new_id(self) -> String {
        format!("{}--{}", self.stix_type(), uuid::Uuid::new_v4())
    }

    /// The kind of an id made by [`Kind::new_id`].
    pub fn of_id(id: &str) -> Option<Kind> {
        let (prefix, rest) = id.split_once("--")?;
        uuid::Uuid::parse_str(rest).ok()?;
        Kind::ALL.into_iter().find(|k| k.stix_type() == prefix)
    }
}

/// The envelope every shared item travels in (see DESIGN.md, "The shared object").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Envelope {
    pub id: String,
    pub kind: Kind,
    /// Revision counter on the origin hub: 1 for the first version.
    pub revision: i64,
    pub created: DateTime<Utc>,
    /// The STIX `modified` of this version; strictly increasing per item.
    pub modified: DateTime<Utc>,
    pub origin_hub: String,
    /// The submitting organisation's id.
    pub created_by: String,
    pub anonymous: bool,
    pub tlp: Tlp,
    /// Organisations named for TLP:RED; empty otherwise.
    pub recipients: Vec<String>,
    pub status: Status,
    /// Why the item is rejected or revoked (shown to those who may see that version:
    /// the submitter and the coordinators).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    pub confidence: Option<u8>,
    pub valid_from: DateTime<Utc>,
    pub valid_until: Option<DateTime<Utc>>,
    pub labels: Vec<String>,
}

/// An indicator of compromise: one typed, normalised value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IndicatorBody {
    pub indicator_type: IndicatorType,
    pub value: String,
    pub description: Option<String>,
}

/// An attack technique as a member saw it, anchored on its MITRE ATT&CK id.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TechniqueBody {
    pub attack_id: String,
    pub name: String,
    /// ATT&CK tactic shortnames, e.g. `initial-access`.
    pub tactics: Vec<String>,
    /// How the technique was seen being used.
    pub narrative: String,
    pub platforms: Vec<String>,
    /// ATT&CK for ICS asset ids or names the technique was used against.
    pub ics_asset_types: Vec<String>,
}

/// Impact of an incident on the critical service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceImpact {
    None,
    Degraded,
    Disrupted,
    Outage,
}

impl ServiceImpact {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceImpact::None => "none",
            ServiceImpact::Degraded => "degraded",
            ServiceImpact::Disrupted => "disrupted",
            ServiceImpact::Outage => "outage",
        }
    }
}

/// An incident report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct IncidentBody {
    pub title: String,
    pub summary: String,
    pub sector: String,
    pub occurred_at: Option<DateTime<Utc>>,
    pub service_impact: ServiceImpact,
    pub impact_description: Option<String>,
    /// ATT&CK technique ids seen in the incident.
    pub technique_ids: Vec<String>,
    /// Ids of shared indicators linked to the incident.
    pub indicator_refs: Vec<String>,
    /// Registry suppliers the incident involves (a breach at a supplier, a compromised
    /// update or maintenance channel): members whose risks depend on them are flagged.
    /// Absent in incidents stored before the field existed (and so in their signatures).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub supplier_refs: Vec<String>,
}

/// A vulnerability advisory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AdvisoryBody {
    pub cve_id: String,
    pub title: String,
    pub description: Option<String>,
    pub affected: Vec<AffectedProduct>,
    pub cvss_vector: Option<String>,
    pub cvss_base_score: Option<f64>,
    pub exploitation: ExploitationStatus,
    pub fixes: Vec<String>,
    pub workarounds: Vec<String>,
}

/// Who assessed a supplier.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssessorKind {
    /// The sharing member organisation itself.
    Member,
    /// The supplier, about itself.
    Supplier,
    /// An audit or assessment firm.
    ThirdParty,
    /// A tool.
    Automated,
}

/// One criterion's answer in an assessment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionResult {
    pub criterion: String,
    pub answer: crate::supply::rating::Answer,
    pub comment: Option<String>,
    /// SHA-256 (hex) of evidence documents, with their kind.
    pub evidence: Vec<Evidence>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    pub sha256: String,
    /// certificate, audit_report, pen_test, sbom, policy, other.
    pub kind: String,
    pub issued: Option<DateTime<Utc>>,
    pub expires: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub severity: crate::supply::rating::Severity,
    pub description: String,
    pub open: bool,
}

/// A supplier assessment result shared by a member (handbook 6.4).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AssessmentBody {
    pub supplier_id: String,
    pub offering_ids: Vec<String>,
    pub scheme_id: String,
    pub scheme_version: String,
    pub assessor: AssessorKind,
    /// The firm or tool, when not a member or the supplier.
    pub assessor_name: Option<String>,
    pub assurance: crate::supply::rating::Assurance,
    pub observed: DateTime<Utc>,
    pub results: Vec<CriterionResult>,
    pub findings: Vec<Finding>,
    /// ok, warning, blocker or not_applicable.
    pub conclusion: String,
    /// The 0–100 posture over the scheme, computed at submission (never typed in).
    pub posture: Option<f64>,
}

/// The content of a shared item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Body {
    Indicator(IndicatorBody),
    Technique(TechniqueBody),
    Incident(IncidentBody),
    Advisory(AdvisoryBody),
    Assessment(AssessmentBody),
    /// Sealed TLP:RED content the hub cannot read (`crate::seal`); the envelope's kind
    /// is the content's.
    Sealed(crate::seal::SealedBody),
}

impl Body {
    pub fn kind(&self) -> Kind {
        match self {
            Body::Indicator(_) => Kind::Indicator,
            Body::Technique(_) => Kind::Technique,
            Body::Incident(_) => Kind::Incident,
            Body::Advisory(_) => Kind::Advisory,
            Body::Assessment(_) => Kind::Assessment,
            Body::Sealed(s) => s.content_kind,
        }
    }
}

/// The longest text (in characters) of each free-text field of a shared item: the hub
/// checks plaintext submissions against them, and the members' clients check sealed
/// content (which the hub cannot read) against the same ones.
pub mod limits {
    pub const NAME: usize = 300;
    pub const TITLE: usize = 300;
    pub const NARRATIVE: usize = 20_000;
    pub const SUMMARY: usize = 50_000;
    pub const SECTOR: usize = 100;
    /// A list entry such as a platform or an ATT&CK for ICS asset type.
    pub const LIST_ENTRY: usize = 100;
    pub const INDICATOR_DESCRIPTION: usize = 10_000;
    pub const IMPACT_DESCRIPTION: usize = 10_000;
    pub const ADVISORY_DESCRIPTION: usize = 50_000;
    /// A fix or a workaround of an advisory.
    pub const REMEDY: usize = 5_000;
}

/// A short free text field: trimmed, non-empty, at most `max` characters.
pub fn clean_text(field: &'static str, raw: &str, max: usize) -> Result<String, TextError> {
    let text = raw.trim();
    if text.is_empty() {
        return Err(TextError { field, reason: "is empty", reason_ja: "が空です" });
    }
    if text.chars().count() > max {
        return Err(TextError { field, reason: "is too long", reason_ja: "が長すぎます" });
    }
    if text.chars().any(|c| c.is_control() && c != '\n' && c != '\t' && c != '\r') {
        return Err(TextError {
            field,
            reason: "contains control characters",
            reason_ja: "に制御文字が含まれています",
        });
    }
    Ok(text.to_string())
}

/// A free text field that failed [`clean_text`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field} {reason}")]
pub struct TextError {
    pub field: &'static str,
    pub reason: &'static str,
    pub reason_ja: &'static str,
}

impl TextError {
    pub fn message_ja(&self) -> String {
        format!("{}{}", self.field, self.reason_ja)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_carry_their_kind() {
        for kind in Kind::ALL {
            let id = kind.new_id();
            assert_eq!(Kind::of_id(&id), Some(kind), "{id}");
            assert_eq!(Kind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(Kind::of_id("indicator--not-a-uuid"), None);
        assert_eq!(Kind::of_id("malware--3fa85f64-5717-4562-b3fc-2c963f66afa6"), None);
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(clean_text("title", "  x ", 5), Ok("x".to_string()));
        assert!(clean_text("title", "   ", 5).is_err());
        assert!(clean_text("title", "abcdef", 5).is_err());
        assert!(clean_text("title", "a\u{7}b", 5).is_err());
    }
}
