//! What an import proposes to store, whatever it came from (a STIX bundle, a TAXII POST,
//! a MISP event): one candidate per source object, already mapped to renkei's kinds but
//! not yet validated: the hub validates each body with exactly the rules of the typed
//! mutations, then routes, checks and stores the lot in one transaction.

use chrono::{DateTime, Utc};

use crate::errors::Code;
use crate::model::Body;
use crate::tlp::Tlp;

/// Why a source object is not stored, with a code and both languages.
#[derive(Debug, Clone, PartialEq)]
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
    /// The label its markings give; `None` when it carries none (the import's default
    /// label applies).
    pub tlp: Option<Tlp>,
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
            valid_from: None,
            valid_until: None,
            confidence: None,
            labels: Vec::new(),
        }
    }
}
