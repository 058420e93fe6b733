//! What an import proposes to store, whatever it came from (a STIX bundle, a TAXII POST,
//! a MISP event): one candidate per source object, already mapped to renkei's kinds but
//! not yet validated: the hub validates each body with exactly the rules of the typed
//! mutations, then routes, checks and stores the lot in one transaction.

use chrono::{DateTime, Utc};

use crate::errors::Code;
use crate::model::Body;
use crate::tlp::{LabelRefusal, Tlp};

/// Why a source object is not stored, with a code and both languages.
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

/// What a source object is to an import.
#[derive(Debug, Clone, PartialEq)]
pub enum Proposal {
    /// An item to store (after validation).
    Item(Box<Body>),
    /// An object other objects refer to and renkei does not store as an item: a marking
    /// definition, an identity, an extension definition. Accepted, not stored.
    Context,
    /// Refused as it stands.
    Refused(Refusal),
}

/// One source object, as an import proposes to store it.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// Where it is in the source (`objects[3]`, `Attribute 5f1c…`), for the report.
    pub source: String,
    /// The id it should keep (a STIX id of one of renkei's types), when the source gave one.
    pub id: Option<String>,
    /// The source's `created` and `modified` (a version is (id, modified) in STIX).
    pub created: Option<DateTime<Utc>>,
    pub modified: Option<DateTime<Utc>>,
    pub proposal: Proposal,
    /// The label its markings give, never wider than the source said; `None` when it
    /// carries none (the import's default label applies).
    pub tlp: Option<Tlp>,
    /// The organisations named for TLP:RED (empty: the import's own recipients).
    pub recipients: Vec<String>,
    pub valid_from: Option<DateTime<Utc>>,
    pub valid_until: Option<DateTime<Utc>>,
    pub confidence: Option<u8>,
    pub labels: Vec<String>,
}

impl Candidate {
    /// A candidate with nothing but its place and proposal.
    pub fn new(source: String, proposal: Proposal) -> Candidate {
        Candidate {
            source,
            id: None,
            created: None,
            modified: None,
            proposal,
            tlp: None,
            recipients: Vec::new(),
            valid_from: None,
            valid_until: None,
            confidence: None,
            labels: Vec::new(),
        }
    }

    /// A candidate of a typed body (or the refusal of its object), as a reader that
    /// settles the label itself (MISP) makes it.
    pub fn of_body(
        source: String,
        id: Option<String>,
        body: Result<Body, Refusal>,
        tlp: Tlp,
        recipients: Vec<String>,
        labels: Vec<String>,
    ) -> Candidate {
        let proposal = match body {
            Ok(body) => Proposal::Item(Box::new(body)),
            Err(refusal) => Proposal::Refused(refusal),
        };
        Candidate { id, tlp: Some(tlp), recipients, labels, ..Candidate::new(source, proposal) }
    }

    /// The body, or why the object is refused (`None`: a context object).
    pub fn body(&self) -> Option<Result<&Body, &Refusal>> {
        match &self.proposal {
            Proposal::Item(body) => Some(Ok(body)),
            Proposal::Refused(r) => Some(Err(r)),
            Proposal::Context => None,
        }
    }

    /// The candidate's kind when it is accepted.
    pub fn kind(&self) -> Option<crate::model::Kind> {
        match &self.proposal {
            Proposal::Item(body) => Some(body.kind()),
            _ => None,
        }
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
