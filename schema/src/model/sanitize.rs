//! Sanitising a submission before it is published: what a coordinator may strip or
//! redact in `approveWithChanges`. Pure functions over a [`Body`]; the hub decides who
//! may call them and records what changed.

use super::Body;

/// What replaces a redacted passage.
pub const REDACTED: &str = "[REDACTED]";

/// Why a sanitising step was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanitizeError {
    pub message: String,
    pub message_ja: String,
}

/// The optional fields of a kind that a coordinator may strip, by their GraphQL names.
pub fn strippable_fields(body: &Body) -> &'static [&'static str] {
    match body {
        Body::Indicator(_) => &["description"],
        Body::Technique(_) => &["platforms", "icsAssetTypes"],
        Body::Incident(_) => &["occurredAt", "impactDescription", "techniqueIds", "indicatorIds"],
        Body::Advisory(_) => &["description", "cvssVector", "fixes", "workarounds"],
        Body::Assessment(_) => &["assessorName", "findings"],
        // Sealed RED is never moderated, and its content cannot be read.
        Body::Sealed(_) => &[],
    }
}

/// Clears one optional field. Fields that identify the item (an indicator's value, a
/// CVE id, an ATT&CK id) or that it cannot do without (a title) cannot be stripped;
/// their text can be redacted instead.
pub fn strip_field(body: &mut Body, field: &str) -> Result<(), SanitizeError> {
    let stripped = match (&mut *body, field) {
        (Body::Indicator(b), "description") => b.description.take().is_some(),
        (Body::Technique(b), "platforms") => !std::mem::take(&mut b.platforms).is_empty(),
        (Body::Technique(b), "icsAssetTypes") => !std::mem::take(&mut b.ics_asset_types).is_empty(),
        (Body::Incident(b), "occurredAt") => b.occurred_at.take().is_some(),
        (Body::Incident(b), "impactDescription") => b.impact_description.take().is_some(),
        (Body::Incident(b), "techniqueIds") => !std::mem::take(&mut b.technique_ids).is_empty(),
        (Body::Incident(b), "indicatorIds") => !std::mem::take(&mut b.indicator_refs).is_empty(),
        (Body::Advisory(b), "description") => b.description.take().is_some(),
        (Body::Advisory(b), "cvssVector") => {
            b.cvss_base_score = None;
            b.cvss_vector.take().is_some()
        }
        (Body::Advisory(b), "fixes") => !std::mem::take(&mut b.fixes).is_empty(),
        (Body::Advisory(b), "workarounds") => !std::mem::take(&mut b.workarounds).is_empty(),
        (Body::Assessment(b), "assessorName") => b.assessor_name.take().is_some(),
        (Body::Assessment(b), "findings") => !std::mem::take(&mut b.findings).is_empty(),
        _ => {
            let allowed = strippable_fields(body).join(", ");
            let kind = body.kind().as_str();
            return Err(SanitizeError {
                message: format!("'{field}' cannot be stripped from a {kind}; strippable fields: {allowed}"),
                message_ja: format!("{kind}の「{field}」は削除できません（削除できる項目: {allowed}）"),
            });
        }
    };
    if !stripped {
        return Err(SanitizeError {
            message: format!("'{field}' is already empty; nothing to strip"),
            message_ja: format!("「{field}」は既に空です（削除するものがありません）"),
        });
    }
    Ok(())
}

/// The free-text fields of a body, which redaction works on.
fn text_fields(body: &mut Body) -> Vec<&mut String> {
    match body {
        Body::Indicator(b) => b.description.iter_mut().collect(),
        Body::Technique(b) => vec![&mut b.narrative],
        Body::Incident(b) => {
            let mut fields = vec![&mut b.title, &mut b.summary];
            fields.extend(b.impact_description.iter_mut());
            fields
        }
        Body::Advisory(b) => {
            let mut fields = vec![&mut b.title];
            fields.extend(b.description.iter_mut());
            fields.extend(b.fixes.iter_mut());
            fields.extend(b.workarounds.iter_mut());
            fields
        }
        Body::Assessment(b) => {
            let mut fields: Vec<&mut String> = b.results.iter_mut().filter_map(|r| r.comment.as_mut()).collect();
            fields.extend(b.findings.iter_mut().map(|f| &mut f.description));
            fields
        }
        Body::Sealed(_) => Vec::new(),
    }
}

/// Replaces every occurrence of `passage` in the body's free text with [`REDACTED`].
/// A passage that occurs nowhere is refused, so a typo never passes for a redaction.
pub fn redact(body: &mut Body, passage: &str) -> Result<usize, SanitizeError> {
    let passage = passage.trim();
    if passage.is_empty() {
        return Err(SanitizeError {
            message: "a passage to redact is empty".into(),
            message_ja: "黒塗りする文字列が空です".into(),
        });
    }
    let mut count = 0;
    for text in text_fields(body) {
        let found = text.matches(passage).count();
        if found > 0 {
            *text = text.replace(passage, REDACTED);
            count += found;
        }
    }
    if count == 0 {
        return Err(SanitizeError {
            message: format!("{passage:?} does not occur in the item's text; nothing was redacted"),
            message_ja: format!("「{passage}」は本文に含まれていません（黒塗りされていません）"),
        });
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{IncidentBody, IndicatorBody, ServiceImpact};

    fn incident() -> Body {
        Body::Incident(IncidentBody {
            title: "Outage at Plant 7 (Acme Power)".into(),
            summary: "Acme Power saw phishing; Acme Power's SCADA HMI was reached.".into(),
            sector: "electricity".into(),
            occurred_at: None,
            service_impact: ServiceImpact::Degraded,
            impact_description: Some("Acme Power lost telemetry".into()),
            technique_ids: vec!["T0866".into()],
            indicator_refs: vec![],
            supplier_refs: vec![],
        })
    }

    #[test]
    fn redaction_replaces_every_occurrence_in_every_text_field() {
        let mut body = incident();
        assert_eq!(redact(&mut body, "Acme Power").expect("redacted"), 4);
        let Body::Incident(b) = &body else { panic!("kind changed") };
        assert_eq!(b.title, "Outage at Plant 7 ([REDACTED])");
        assert_eq!(b.summary, "[REDACTED] saw phishing; [REDACTED]'s SCADA HMI was reached.");
        assert_eq!(b.impact_description.as_deref(), Some("[REDACTED] lost telemetry"));
        assert_eq!(b.sector, "electricity", "structured fields are not text to redact");
    }

    #[test]
    fn redacting_absent_or_empty_text_is_refused_and_changes_nothing() {
        let mut body = incident();
        let before = body.clone();
        assert!(redact(&mut body, "Globex").is_err());
        assert!(redact(&mut body, "  ").is_err());
        assert_eq!(body, before);
    }

    #[test]
    fn only_optional_fields_are_strippable_and_only_when_set() {
        let mut body = incident();
        strip_field(&mut body, "techniqueIds").expect("strip");
        let Body::Incident(b) = &body else { panic!("kind changed") };
        assert!(b.technique_ids.is_empty());
        let err = strip_field(&mut body, "techniqueIds").expect_err("already empty");
        assert!(err.message.contains("already empty"), "{}", err.message);
        let err = strip_field(&mut body, "title").expect_err("title is required");
        assert!(err.message.contains("impactDescription"), "names what can be stripped: {}", err.message);
        let mut ioc = Body::Indicator(IndicatorBody {
            indicator_type: crate::model::indicator::IndicatorType::Domain,
            value: "evil.example".into(),
            description: Some("seen at Acme".into()),
        });
        assert!(strip_field(&mut ioc, "value").is_err(), "the value identifies the indicator");
        strip_field(&mut ioc, "description").expect("strip description");
        for body in [&incident(), &ioc] {
            for field in strippable_fields(body) {
                // Every advertised field is one strip_field knows.
                let mut copy = body.clone();
                match strip_field(&mut copy, field) {
                    Ok(()) => {}
                    Err(e) => assert!(e.message.contains("already empty"), "{field}: {}", e.message),
                }
            }
        }
    }
}
