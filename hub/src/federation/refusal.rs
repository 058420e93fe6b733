//! Why a hub refuses an entry a peer sent. The names are what a link's status
//! (`peerStatus.refused`) counts and the audit records (`peer.refused`); adding a reason
//! is a variant here and the check that returns it.

/// One reason to refuse a received version or sightings aggregate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Refusal {
    /// Something required is missing or unreadable, or the path does not start at the
    /// origin, or the label is not one of TLP 2.0's.
    Malformed,
    /// This hub is the entry's origin or is on its path (it would loop).
    OwnOrigin,
    /// The link's agreement does not carry this label (or the policy forbids it).
    LabelNotCarried,
    /// The link's agreement does not carry this kind.
    KindNotCarried,
    /// The origin's key is not the one pinned for it.
    OriginKeyMismatch,
    /// The origin's signature does not verify.
    BadSignature,
    /// The envelope and body do not render to the signed object, or the signed object
    /// disagrees with the feed entry.
    Mismatch,
    /// A version that is not published (pending, rejected) was sent.
    NotPublished,
    /// A sightings aggregate for an indicator this hub does not hold.
    IndicatorNotHeld,
}

impl Refusal {
    pub const ALL: [Refusal; 9] = [
        Refusal::Malformed,
        Refusal::OwnOrigin,
        Refusal::LabelNotCarried,
        Refusal::KindNotCarried,
        Refusal::OriginKeyMismatch,
        Refusal::BadSignature,
        Refusal::Mismatch,
        Refusal::NotPublished,
        Refusal::IndicatorNotHeld,
    ];

    /// The name peers' status and the audit show.
    pub fn as_str(self) -> &'static str {
        match self {
            Refusal::Malformed => "malformed",
            Refusal::OwnOrigin => "own_origin",
            Refusal::LabelNotCarried => "label_not_carried",
            Refusal::KindNotCarried => "kind_not_carried",
            Refusal::OriginKeyMismatch => "origin_key_mismatch",
            Refusal::BadSignature => "bad_signature",
            Refusal::Mismatch => "mismatch",
            Refusal::NotPublished => "not_published",
            Refusal::IndicatorNotHeld => "indicator_not_held",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_distinct_snake_case() {
        let names: std::collections::HashSet<&str> = Refusal::ALL.iter().map(|r| r.as_str()).collect();
        assert_eq!(names.len(), Refusal::ALL.len());
        assert!(names.iter().all(|n| n.chars().all(|c| c.is_ascii_lowercase() || c == '_')));
    }
}
