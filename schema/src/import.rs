//! What an importer (MISP event JSON, a STIX bundle) makes of each object it reads,
//! before the hub stores anything: a [`Candidate`], i.e. the typed body (validated by
//! the rules the typed GraphQL mutations use) or the reason it is refused, with the
//! label, recipients and lifetime the source gave it. The hub's common import path
//! stores the accepted candidates in one transaction and reports every one (stored,
//! duplicate, refused with its code).

use chrono::{DateTime, Utc};

use crate::errors::Code;
use crate::model::Body;
use crate::tlp::{LabelRefusal, Tlp};

/// Why an object is refused: a code of the catalogue and the text in English and
/// Japanese. The hub turns it into its `AppError` unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub code: Code,
    pub message: String,
    pub message_ja: String,
}

impl Refusal {
    pub fn new(code: Code, message: impl Into<String>, message_ja: impl Into<String>) -> Refusal {
        Refusal { code, message: message.into(), message_ja: message_ja.into() }
    }
}

impl From<LabelRefusal> for Refusal {
    fn from(refusal: LabelRefusal) -> Refusal {
        Refusal::new(refusal.code(), refusal.message(), refusal.message_ja())
    }
}

/// One object of an imported document, ready for the common import path.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Which object of the source this is, for the report (e.g. `Attribute[2] ip-dst
    /// 203.0.113.7 (uuid …)`).
    pub source: String,
    /// The id the item gets, derived from the source's own id (so that importing the
    /// same document again finds duplicates); `None` lets the hub mint one.
    pub id: Option<String>,
    /// The validated body, or why the object is refused.
    pub body: Result<Body, Refusal>,
    /// The label: never wider than the source said.
    pub tlp: Tlp,
    /// The organisations named for TLP:RED (empty for every other label).
    pub recipients: Vec<String>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub confidence: Option<u8>,
    pub labels: Vec<String>,
}

impl Candidate {
    /// The candidate's kind when it is accepted.
    pub fn kind(&self) -> Option<crate::model::Kind> {
        self.body.as_ref().ok().map(Body::kind)
    }
}

/// The recipients a candidate labelled `tlp` is shared with, from those the importer
/// named for RED items: RED takes them (and needs at least one, as
/// `tlp::check_audience` requires), every other label none. `why` says where the RED
/// label came from, for the refusal.
pub fn audience(tlp: Tlp, red_recipients: &[String], why: &str) -> Result<Vec<String>, Refusal> {
    if tlp != Tlp::Red {
        return Ok(Vec::new());
    }
    let mut named: Vec<String> = Vec::with_capacity(red_recipients.len());
    for r in red_recipients {
        if !named.contains(r) {
            named.push(r.clone());
        }
    }
    crate::tlp::check_audience(tlp, &named).map_err(|refusal| {
        let base = Refusal::from(refusal);
        Refusal::new(
            base.code,
            format!("{} ({why}); name the recipient organisations in the import's sharing options", base.message),
            format!("{}（{why}）。取り込みの共有設定で受領組織を指定してください", base.message_ja),
        )
    })?;
    Ok(named)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn red_takes_the_named_recipients_and_needs_one_others_take_none() {
        let orgs = vec!["org-a".to_string(), "org-a".to_string(), "org-b".to_string()];
        assert_eq!(audience(Tlp::Red, &orgs, "tlp:red").expect("named"), vec!["org-a", "org-b"]);
        let refused = audience(Tlp::Red, &[], "tlp:red").expect_err("RED without recipients");
        assert_eq!(refused.code, Code::TlpRedNeedsRecipients);
        assert!(refused.message.contains("tlp:red") && !refused.message_ja.is_ascii());
        for tlp in [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict] {
            assert_eq!(audience(tlp, &orgs, "x").expect("not RED"), Vec::<String>::new(), "{tlp}");
        }
    }
}
