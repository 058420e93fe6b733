//! TLP 2.0 labels and THE sharing policy.
//!
//! Every read path of the hub (GraphQL lists and lookups, the change feed, exports,
//! federation) asks [`visibility`], [`may_see_submitter`] or [`feed_entry`]. They are
//! pure functions over plain data: the viewer and the access attributes of one version
//! of an item. Nothing else in renkei decides who may see what.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A Traffic Light Protocol 2.0 label, ordered from least to most restrictive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Tlp {
    #[serde(rename = "TLP:CLEAR")]
    Clear,
    #[serde(rename = "TLP:GREEN")]
    Green,
    #[serde(rename = "TLP:AMBER")]
    Amber,
    #[serde(rename = "TLP:AMBER+STRICT")]
    AmberStrict,
    #[serde(rename = "TLP:RED")]
    Red,
}

impl Tlp {
    pub const ALL: [Tlp; 5] = [Tlp::Clear, Tlp::Green, Tlp::Amber, Tlp::AmberStrict, Tlp::Red];

    /// The label as TLP 2.0 writes it, e.g. `TLP:AMBER+STRICT`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tlp::Clear => "TLP:CLEAR",
            Tlp::Green => "TLP:GREEN",
            Tlp::Amber => "TLP:AMBER",
            Tlp::AmberStrict => "TLP:AMBER+STRICT",
            Tlp::Red => "TLP:RED",
        }
    }

    /// The OASIS TLP 2.0 marking-definition id (STIX `object_marking_refs`).
    pub fn marking_definition_id(self) -> &'static str {
        match self {
            Tlp::Clear => "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
            Tlp::Green => "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
            Tlp::Amber => "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
            Tlp::AmberStrict => "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
            Tlp::Red => "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
        }
    }

    /// Maps any marking-definition id seen in the ecosystem to a TLP 2.0 label: the
    /// OASIS TLP 2.0 ids, the STIX 2.1 TLP 1.0 ids (MISP and OpenCTI export these) and
    /// OpenCTI's own AMBER+STRICT id.
    pub fn from_marking_definition_id(id: &str) -> Option<Tlp> {
        let tlp = match id {
            "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9" => Tlp::Clear,
            "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da" => Tlp::Green,
            "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82" => Tlp::Amber,
            "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed" => Tlp::Red,
            "marking-definition--826578e1-40ad-459f-bc73-ede076f81f37" => Tlp::AmberStrict,
            other => return Tlp::ALL.into_iter().find(|t| t.marking_definition_id() == other),
        };
        Some(tlp)
    }
}

impl fmt::Display for Tlp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not a TLP label.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a TLP 2.0 label: {0:?} (expected TLP:CLEAR, TLP:GREEN, TLP:AMBER, TLP:AMBER+STRICT or TLP:RED)")]
pub struct InvalidTlp(pub String);

impl FromStr for Tlp {
    type Err = InvalidTlp;

    /// Accepts `TLP:AMBER+STRICT`, `AMBER+STRICT`, `amber_strict` and TLP 1.0's `WHITE`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        // Stored labels are always in canonical form: no allocation for them.
        if let Some(tlp) = Tlp::ALL.into_iter().find(|t| t.as_str() == s) {
            return Ok(tlp);
        }
        let upper = s.trim().to_ascii_uppercase();
        let bare = upper.strip_prefix("TLP:").unwrap_or(&upper);
        match bare {
            "CLEAR" | "WHITE" => Ok(Tlp::Clear),
            "GREEN" => Ok(Tlp::Green),
            "AMBER" => Ok(Tlp::Amber),
            "AMBER+STRICT" | "AMBER_STRICT" => Ok(Tlp::AmberStrict),
            "RED" => Ok(Tlp::Red),
            _ => Err(InvalidTlp(s.to_string())),
        }
    }
}

/// Where an item is in its moderation lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Pending,
    Published,
    Rejected,
    Revoked,
}

impl Status {
    pub const ALL: [Status; 4] = [Status::Pending, Status::Published, Status::Rejected, Status::Revoked];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "pending",
            Status::Published => "published",
            Status::Rejected => "rejected",
            Status::Revoked => "revoked",
        }
    }

    pub fn parse(s: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|st| st.as_str() == s)
    }
}

/// The role an organisation holds on this hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ViewerRole {
    /// The hub's coordinators (ISAC/CEPTOAR secretariat).
    Coordinator,
    /// A member organisation.
    Member,
    /// Another hub reading over a federation link; the viewer's `org` is that hub's name.
    Peer(PeerLink),
}

/// What a federation link carries, as its agreement says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PeerLink {
    /// The highest label the link carries: CLEAR, GREEN, or AMBER on a link explicitly
    /// trusted for it. AMBER+STRICT and RED never leave a hub, whatever this says.
    pub max_tlp: Tlp,
    /// Whether the peer is in this hub's community (GREEN travels only to those).
    pub community: bool,
}

/// How many hubs an item may have crossed (its origin included) and still travel on.
pub const MAX_HOPS: usize = 4;

/// Whether a federation link may carry this version to the peer hub `peer`: only
/// published items (and their tombstones, through [`feed_entry`]); CLEAR always, GREEN
/// to a peer in the community, AMBER only from its origin hub over a link trusted for
/// AMBER (it never travels beyond that link); never AMBER+STRICT or RED. Scope only
/// narrows: an item is never sent to a hub already on its path, nor beyond
/// [`MAX_HOPS`].
pub fn peer_may_carry(peer: &str, link: PeerLink, item: &ItemAccess<'_>) -> bool {
    let label_ok = match item.tlp {
        Tlp::Clear => true,
        Tlp::Green => link.community && link.max_tlp >= Tlp::Green,
        Tlp::Amber => link.max_tlp >= Tlp::Amber && item.path.is_empty(),
        Tlp::AmberStrict | Tlp::Red => false,
    };
    label_ok && item.path.len() < MAX_HOPS && !item.path.iter().any(|hub| hub == peer)
}

/// Whether a peer hub may receive the sightings aggregates of an item (how many of a
/// hub's members saw an indicator, naming none of them). Only of a published item: one
/// the link would carry to it ([`peer_may_carry`]), or one it holds already because it
/// is on the item's path — the origin learns how its indicator was seen downstream —
/// within the link's label. Never of AMBER+STRICT or RED items, which never left.
pub fn peer_may_learn_sightings(peer: &str, link: PeerLink, item: &ItemAccess<'_>) -> bool {
    if item.status != Status::Published {
        return false;
    }
    if item.path.iter().any(|hub| hub == peer) {
        return item.tlp <= Tlp::Amber && item.tlp <= link.max_tlp;
    }
    peer_may_carry(peer, link, item)
}

/// Who is asking. Being the submitter or a named RED recipient is a relation between
/// the viewer and an item, so it is derived from the item, not stored here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Viewer<'a> {
    pub org: &'a str,
    pub role: ViewerRole,
}

/// The access attributes of one version of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ItemAccess<'a> {
    pub tlp: Tlp,
    /// Organisations named for TLP:RED (empty for other labels).
    pub recipients: &'a [String],
    pub status: Status,
    pub submitter: &'a str,
    pub anonymous: bool,
    /// The hubs a received item crossed before this one, its origin first; empty for an
    /// item this hub published. Only federation links read it.
    pub path: &'a [String],
}

/// How much of an item a viewer may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Visibility {
    /// The whole item.
    Full,
    /// Only that it exists: id, kind, submitter unless anonymous, recipients, time.
    /// Coordinators get this for RED items they are not named on.
    ExistenceOnly,
    /// Nothing, not even that it exists.
    Hidden,
}

impl ItemAccess<'_> {
    fn is_submitted_by(&self, viewer: &Viewer<'_>) -> bool {
        self.submitter == viewer.org
    }

    fn names_recipient(&self, viewer: &Viewer<'_>) -> bool {
        self.recipients.iter().any(|r| r == viewer.org)
    }
}

/// THE policy: how much of this version of an item this viewer may see.
pub fn visibility(viewer: &Viewer<'_>, item: &ItemAccess<'_>) -> Visibility {
    // A peer hub gets whole published items its link carries, and nothing else: no
    // pending items, no existence of RED ones.
    if let ViewerRole::Peer(link) = viewer.role {
        let carried = item.status == Status::Published && peer_may_carry(viewer.org, link, item);
        return if carried { Visibility::Full } else { Visibility::Hidden };
    }
    if item.is_submitted_by(viewer) {
        return Visibility::Full;
    }
    let coordinator = viewer.role == ViewerRole::Coordinator;
    let named = item.tlp == Tlp::Red && item.names_recipient(viewer);
    match item.status {
        Status::Published => match item.tlp {
            Tlp::Clear | Tlp::Green | Tlp::Amber | Tlp::AmberStrict => Visibility::Full,
            Tlp::Red if named => Visibility::Full,
            Tlp::Red if coordinator => Visibility::ExistenceOnly,
            Tlp::Red => Visibility::Hidden,
        },
        // Not (or no longer) shared: only the submitter and the coordinators, who
        // still never read RED content they are not named on.
        Status::Pending | Status::Rejected | Status::Revoked => {
            if !coordinator {
                Visibility::Hidden
            } else if item.tlp == Tlp::Red && !named {
                Visibility::ExistenceOnly
            } else {
                Visibility::Full
            }
        }
    }
}

/// Whether the viewer may read the item's content.
pub fn may_read(viewer: &Viewer<'_>, item: &ItemAccess<'_>) -> bool {
    visibility(viewer, item) == Visibility::Full
}

/// An organisation named on no item: the viewer every organisation is, for an item
/// that names neither it as submitter nor as a recipient.
pub const OUTSIDER: &str = "(any organisation not named on the item)";

/// The organisations (among those the item names: submitter and RED recipients) that
/// may read the item when an organisation it does not name may not, or the reverse.
/// Everyone else reads it exactly as [`OUTSIDER`] does, since the policy tells
/// organisations apart only by these names. Derived views shared per audience (supplier
/// ratings) are computed once for the outsider and once for each of these.
pub fn readers_apart<'a>(item: &ItemAccess<'a>, role: ViewerRole) -> Vec<&'a str> {
    let outsider = may_read(&Viewer { org: OUTSIDER, role }, item);
    std::iter::once(item.submitter)
        .chain(item.recipients.iter().map(String::as_str))
        .filter(|org| may_read(&Viewer { org, role }, item) != outsider)
        .fold(Vec::new(), |mut orgs, org| {
            if !orgs.contains(&org) {
                orgs.push(org);
            }
            orgs
        })
}

/// Whether the viewer may learn which organisation submitted the item. Anonymous
/// items name their submitter only to the coordinators and to the submitter itself.
pub fn may_see_submitter(viewer: &Viewer<'_>, item: &ItemAccess<'_>) -> bool {
    // Peers learn a submitter only from the STIX object, where the origin hub names it
    // (`created_by_ref`) unless the submission was anonymous.
    if matches!(viewer.role, ViewerRole::Peer(_)) {
        return false;
    }
    let coordinator = viewer.role == ViewerRole::Coordinator;
    match visibility(viewer, item) {
        Visibility::Hidden => false,
        _ if item.is_submitted_by(viewer) => true,
        Visibility::Full => coordinator || !item.anonymous,
        // A RED item's existence shows its submitter to coordinators not named on it,
        // unless the submitter chose anonymity: then not even the secretariat learns
        // who sent something it cannot read.
        Visibility::ExistenceOnly => coordinator && !item.anonymous,
    }
}

/// What a follower of the change feed gets for one version of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedEntry {
    /// The version itself.
    Version,
    /// A tombstone: the follower held the item and must now delete it (revoked, or
    /// the follower lost access through a tightened label or a removed recipient).
    Tombstone,
    /// Nothing: the follower neither holds nor may hold the item.
    Skip,
}

/// Whether the viewer holds an item at this version: it may read it and it is not revoked.
fn holds(viewer: &Viewer<'_>, item: &ItemAccess<'_>) -> bool {
    item.status != Status::Revoked && may_read(viewer, item)
}

/// The change-feed decision for one version, given the version before it (if any).
/// A follower that applies every entry in sequence order ends with exactly the items
/// it may hold now, whatever cursor it started from.
pub fn feed_entry(viewer: &Viewer<'_>, current: &ItemAccess<'_>, previous: Option<&ItemAccess<'_>>) -> FeedEntry {
    if holds(viewer, current) {
        FeedEntry::Version
    } else if previous.is_some_and(|p| holds(viewer, p)) {
        FeedEntry::Tombstone
    } else {
        FeedEntry::Skip
    }
}

// ---------------------------------------------------------------------------------
// The write side: which labels an item may be given, and by whom. The hub's services
// ask these before they store a version; like the read rules above they are pure.
// ---------------------------------------------------------------------------------

/// Why a label (with its recipients) may not be set as asked. Each has the error code
/// the hub answers with, and its text in English and Japanese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelRefusal {
    /// TLP:RED is for named recipients only.
    RedNeedsRecipients,
    /// Only TLP:RED names recipients; the others are shared by their label.
    RecipientsOnlyForRed { tlp: Tlp },
    /// Only the submitter widens an item's audience (a coordinator tightens only).
    LooseningNeedsSubmitter { from: Tlp, to: Tlp },
    /// A pending item cannot become RED: RED is never queued, so a coordinator who is
    /// not named on it could not review it.
    RedNotPending,
    /// The item already has this label and these recipients.
    NoChange,
    /// An item may link only items shared at least as widely (and never a RED one).
    LinkNarrowerThanItem { linked: Tlp, item: Tlp },
}

impl LabelRefusal {
    pub fn code(&self) -> crate::errors::Code {
        use crate::errors::Code;
        match self {
            LabelRefusal::RedNeedsRecipients => Code::TlpRedNeedsRecipients,
            LabelRefusal::RecipientsOnlyForRed { .. } => Code::RecipientsOnlyForRed,
            LabelRefusal::LooseningNeedsSubmitter { .. } => Code::TlpLoosening,
            LabelRefusal::RedNotPending => Code::RedNotPending,
            LabelRefusal::NoChange => Code::NoChange,
            LabelRefusal::LinkNarrowerThanItem { .. } => Code::LinkNarrowerThanItem,
        }
    }

    pub fn message(&self) -> String {
        match self {
            LabelRefusal::RedNeedsRecipients => "TLP:RED items must name their recipient organisations".into(),
            LabelRefusal::RecipientsOnlyForRed { tlp } => {
                format!("recipients are only for TLP:RED; {tlp} is shared by its label")
            }
            LabelRefusal::LooseningNeedsSubmitter { from, to } => {
                format!("only the submitter may loosen a label ({from} to {to})")
            }
            LabelRefusal::RedNotPending => "a pending item cannot become TLP:RED: RED items go straight to their recipients; ask a coordinator to approve it with the RED label".into(),
            LabelRefusal::NoChange => "the item already has this label".into(),
            LabelRefusal::LinkNarrowerThanItem { linked, item } => format!(
                "the linked item is {linked}; an item shared as {item} may only link items shared at least as widely"
            ),
        }
    }

    pub fn message_ja(&self) -> String {
        match self {
            LabelRefusal::RedNeedsRecipients => "TLP:REDの情報には受領組織を指定してください".into(),
            LabelRefusal::RecipientsOnlyForRed { tlp } => {
                format!("受領組織の指定はTLP:REDのみです（{tlp}はラベルに従って共有されます）")
            }
            LabelRefusal::LooseningNeedsSubmitter { from, to } => {
                format!("ラベルを緩められるのは提出者のみです（{from}から{to}）")
            }
            LabelRefusal::RedNotPending => "保留中の情報はTLP:REDにできません。REDの情報は受領組織に直接届くため、コーディネーターにREDでの承認を依頼してください".into(),
            LabelRefusal::NoChange => "既にこのラベルです".into(),
            LabelRefusal::LinkNarrowerThanItem { linked, item } => {
                format!("紐付ける情報は{linked}です。{item}の情報には同等以上に広く共有された情報のみ紐付けられます")
            }
        }
    }
}

/// An item's audience as its label and RED recipients give it.
pub type Audience<'a> = (Tlp, &'a [String]);

/// Whether the recipients suit the label: RED names at least one, the others none.
pub fn check_audience(tlp: Tlp, recipients: &[String]) -> Result<(), LabelRefusal> {
    match (tlp, recipients.is_empty()) {
        (Tlp::Red, true) => Err(LabelRefusal::RedNeedsRecipients),
        (Tlp::Red, false) | (_, true) => Ok(()),
        (tlp, false) => Err(LabelRefusal::RecipientsOnlyForRed { tlp }),
    }
}

/// Whether `to` lets anyone read the item who could not under `from`. Labels order
/// from CLEAR (widest) to RED; between two RED labels, adding a recipient loosens.
pub fn loosens(from: Audience<'_>, to: Audience<'_>) -> bool {
    match (from.0, to.0) {
        (Tlp::Red, Tlp::Red) => to.1.iter().any(|r| !from.1.contains(r)),
        (a, b) => b < a,
    }
}

/// A relabelling of an item in `status` from `from` to `to` (both already passed
/// [`check_audience`]), asked by its submitter or by a coordinator. Answers whether it
/// loosens: a loosening goes through moderation like a new submission.
pub fn check_relabel(
    status: Status,
    from: Audience<'_>,
    to: Audience<'_>,
    by_submitter: bool,
) -> Result<bool, LabelRefusal> {
    if status == Status::Pending && to.0 == Tlp::Red {
        return Err(LabelRefusal::RedNotPending);
    }
    if from.0 == to.0 && from.1 == to.1 {
        return Err(LabelRefusal::NoChange);
    }
    let loosening = loosens(from, to);
    if loosening && !by_submitter {
        return Err(LabelRefusal::LooseningNeedsSubmitter { from: from.0, to: to.0 });
    }
    Ok(loosening)
}

/// A coordinator's label in an approval with changes: never looser than submitted.
pub fn check_moderated_label(submitted: Tlp, decided: Tlp) -> Result<(), LabelRefusal> {
    if decided < submitted {
        return Err(LabelRefusal::LooseningNeedsSubmitter { from: submitted, to: decided });
    }
    Ok(())
}

/// Who, outside the member's own organisation, a document the member writes from what it
/// holds (a report) is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outside {
    /// Peers and partners in the member's community: the sector's regulator, its ISAC.
    Community,
    /// Anyone: a public channel.
    Public,
}

/// May content labelled `tlp` appear in a member's document for `party`? TLP 2.0:
/// CLEAR may go anywhere; GREEN to the community but not in public; AMBER and
/// AMBER+STRICT stay inside the recipient's organisation (and, for AMBER, its clients on
/// a need-to-know basis, never a third party such as a regulator); RED stays with the
/// people named on it.
pub fn may_pass_outside(tlp: Tlp, party: Outside) -> bool {
    match tlp {
        Tlp::Clear => true,
        Tlp::Green => party == Outside::Community,
        Tlp::Amber | Tlp::AmberStrict | Tlp::Red => false,
    }
}

/// TLP:RED is never queued for moderation: queuing it would show its content to
/// coordinators who are not named on it. It goes straight to its recipients.
pub fn never_queued(tlp: Tlp) -> bool {
    tlp == Tlp::Red
}

/// Whether a submitter may push allowlisted values past the allowlist (they are then
/// queued for a coordinator); RED is never queued, so RED may not.
pub fn may_force_past_allowlist(tlp: Tlp) -> bool {
    !never_queued(tlp)
}

/// Whether an item shared as `item` may link one shared as `linked` (an incident
/// naming an indicator): only what is shared at least as widely, never RED, so a link
/// never tells a reader about something it may not read.
pub fn check_link(linked: Tlp, item: Tlp) -> Result<(), LabelRefusal> {
    if linked > item || linked == Tlp::Red {
        return Err(LabelRefusal::LinkNarrowerThanItem { linked, item });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_may_pass_outside_the_organisation_table() {
        let table = [
            (Tlp::Clear, true, true),
            (Tlp::Green, true, false),
            (Tlp::Amber, false, false),
            (Tlp::AmberStrict, false, false),
            (Tlp::Red, false, false),
        ];
        for (tlp, community, public) in table {
            assert_eq!(may_pass_outside(tlp, Outside::Community), community, "{tlp:?} to the community");
            assert_eq!(may_pass_outside(tlp, Outside::Public), public, "{tlp:?} in public");
        }
    }

    const SUBMITTER: &str = "org-submitter";
    const RECIPIENT: &str = "org-recipient";
    const OTHER: &str = "org-other";

    /// The viewer kinds of the policy table: role × relation to the item.
    const VIEWER_KINDS: [(&str, &str, ViewerRole); 6] = [
        ("coordinator", OTHER, ViewerRole::Coordinator),
        ("coordinator-submitter", SUBMITTER, ViewerRole::Coordinator),
        ("coordinator-recipient", RECIPIENT, ViewerRole::Coordinator),
        ("member", OTHER, ViewerRole::Member),
        ("member-submitter", SUBMITTER, ViewerRole::Member),
        ("member-recipient", RECIPIENT, ViewerRole::Member),
    ];

    /// The expected table, written out by hand from DESIGN.md's TLP table.
    /// One line per (status, label); columns in VIEWER_KINDS order.
    /// F = full, E = existence only, - = hidden.
    const EXPECTED: &str = "
        published CLEAR        F F F F F F
        published GREEN        F F F F F F
        published AMBER        F F F F F F
        published AMBER+STRICT F F F F F F
        published RED          E F F - F F
        pending   CLEAR        F F F - F -
        pending   GREEN        F F F - F -
        pending   AMBER        F F F - F -
        pending   AMBER+STRICT F F F - F -
        pending   RED          E F F - F -
        rejected  CLEAR        F F F - F -
        rejected  GREEN        F F F - F -
        rejected  AMBER        F F F - F -
        rejected  AMBER+STRICT F F F - F -
        rejected  RED          E F F - F -
        revoked   CLEAR        F F F - F -
        revoked   GREEN        F F F - F -
        revoked   AMBER        F F F - F -
        revoked   AMBER+STRICT F F F - F -
        revoked   RED          E F F - F -
    ";

    fn expected_table() -> Vec<(Status, Tlp, Vec<Visibility>)> {
        EXPECTED
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(|line| {
                let cells: Vec<&str> = line.split_whitespace().collect();
                let status = Status::parse(cells[0]).expect("status");
                let tlp: Tlp = cells[1].parse().expect("tlp");
                let vis = cells[2..]
                    .iter()
                    .map(|c| match *c {
                        "F" => Visibility::Full,
                        "E" => Visibility::ExistenceOnly,
                        "-" => Visibility::Hidden,
                        other => panic!("bad cell {other}"),
                    })
                    .collect();
                (status, tlp, vis)
            })
            .collect()
    }

    fn cell(v: Visibility) -> &'static str {
        match v {
            Visibility::Full => "F",
            Visibility::ExistenceOnly => "E",
            Visibility::Hidden => "-",
        }
    }

    #[test]
    fn policy_table_every_label_viewer_and_status() {
        let recipients = vec![RECIPIENT.to_string()];
        let table = expected_table();
        assert_eq!(table.len(), Tlp::ALL.len() * Status::ALL.len());
        let mut failures = Vec::new();
        let mut printed =
            String::from("status    label        | coord coord-sub coord-rcp member member-sub member-rcp\n");
        for anonymous in [false, true] {
            for (status, tlp, expected) in &table {
                // Recipients exist only on RED items.
                let recips: &[String] = if *tlp == Tlp::Red { &recipients } else { &[] };
                let item = ItemAccess {
                    tlp: *tlp,
                    recipients: recips,
                    status: *status,
                    submitter: SUBMITTER,
                    anonymous,
                    path: &[],
                };
                let mut row = format!("{:<9} {:<12} |", status.as_str(), tlp.as_str().trim_start_matches("TLP:"));
                for ((name, org, role), want) in VIEWER_KINDS.iter().zip(expected) {
                    let viewer = Viewer { org, role: *role };
                    let got = visibility(&viewer, &item);
                    row.push_str(&format!(" {:>5}", cell(got)));
                    if got != *want {
                        failures.push(format!(
                            "{} {} anonymous={anonymous} viewer={name}: expected {} got {}",
                            status.as_str(),
                            tlp,
                            cell(*want),
                            cell(got)
                        ));
                    }
                }
                if !anonymous {
                    printed.push_str(&row);
                    printed.push('\n');
                }
            }
        }
        assert!(failures.is_empty(), "policy table:\n{printed}\nmismatches:\n{}", failures.join("\n"));
    }

    /// Everyone but the orgs `readers_apart` names reads an item as the outsider does,
    /// and each org it names reads it differently: checked against the policy itself
    /// for every label, status, role and anonymity, with unnamed orgs of several shapes.
    #[test]
    fn readers_apart_are_exactly_the_orgs_that_read_unlike_an_outsider() {
        let recipients = vec![RECIPIENT.to_string(), SUBMITTER.to_string()];
        let unnamed = [OTHER, "", "org-recipient-2", "ORG-SUBMITTER", OUTSIDER];
        let mut published_red_apart = None;
        for anonymous in [false, true] {
            for status in Status::ALL {
                for tlp in Tlp::ALL {
                    let recips: &[String] = if tlp == Tlp::Red { &recipients } else { &[] };
                    let item =
                        ItemAccess { tlp, recipients: recips, status, submitter: SUBMITTER, anonymous, path: &[] };
                    for role in [ViewerRole::Member, ViewerRole::Coordinator] {
                        let apart = readers_apart(&item, role);
                        let outsider = may_read(&Viewer { org: OUTSIDER, role }, &item);
                        for org in unnamed {
                            assert_eq!(may_read(&Viewer { org, role }, &item), outsider, "{org} {status:?} {tlp}");
                        }
                        for org in [SUBMITTER, RECIPIENT] {
                            let differs = may_read(&Viewer { org, role }, &item) != outsider;
                            assert_eq!(apart.contains(&org), differs, "{org} {status:?} {tlp} {role:?}");
                        }
                        if status == Status::Published && tlp == Tlp::Red && role == ViewerRole::Member {
                            published_red_apart = Some(apart.clone());
                        }
                        if status == Status::Published && tlp != Tlp::Red {
                            assert!(apart.is_empty(), "a published {tlp} item reads the same for everyone");
                        }
                    }
                }
            }
        }
        // The submitter is named twice (also as a recipient) but listed once.
        assert_eq!(published_red_apart, Some(vec![SUBMITTER, RECIPIENT]));
    }

    #[test]
    fn anonymous_submitter_is_known_only_to_coordinators_and_itself() {
        let recipients = vec![RECIPIENT.to_string()];
        let mut failures = Vec::new();
        for status in Status::ALL {
            for tlp in Tlp::ALL {
                for anonymous in [false, true] {
                    let recips: &[String] = if tlp == Tlp::Red { &recipients } else { &[] };
                    let item =
                        ItemAccess { tlp, recipients: recips, status, submitter: SUBMITTER, anonymous, path: &[] };
                    for (name, org, role) in VIEWER_KINDS {
                        let viewer = Viewer { org, role };
                        let vis = visibility(&viewer, &item);
                        let expected = match (role, org == SUBMITTER) {
                            (_, true) => true,
                            (ViewerRole::Coordinator, false) => {
                                vis == Visibility::Full || (vis == Visibility::ExistenceOnly && !anonymous)
                            }
                            (ViewerRole::Member, false) => !anonymous && vis == Visibility::Full,
                            (ViewerRole::Peer(_), false) => false,
                        };
                        let got = may_see_submitter(&viewer, &item);
                        if got != expected {
                            failures.push(format!(
                                "{} {tlp} anonymous={anonymous} viewer={name}: expected {expected} got {got}",
                                status.as_str()
                            ));
                        }
                    }
                }
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn revocation_and_tightening_produce_tombstones_only_for_holders() {
        let recipients = vec![RECIPIENT.to_string()];
        let green = ItemAccess {
            tlp: Tlp::Green,
            recipients: &[],
            status: Status::Published,
            submitter: SUBMITTER,
            anonymous: false,
            path: &[],
        };
        let red = ItemAccess { tlp: Tlp::Red, recipients: &recipients, ..green };
        let revoked = ItemAccess { status: Status::Revoked, ..green };
        let member = Viewer { org: OTHER, role: ViewerRole::Member };
        let recipient = Viewer { org: RECIPIENT, role: ViewerRole::Member };
        let coordinator = Viewer { org: OTHER, role: ViewerRole::Coordinator };

        assert_eq!(feed_entry(&member, &green, None), FeedEntry::Version);
        assert_eq!(feed_entry(&member, &red, Some(&green)), FeedEntry::Tombstone);
        assert_eq!(feed_entry(&recipient, &red, Some(&green)), FeedEntry::Version);
        assert_eq!(feed_entry(&coordinator, &red, Some(&green)), FeedEntry::Tombstone);
        assert_eq!(feed_entry(&member, &revoked, Some(&green)), FeedEntry::Tombstone);
        assert_eq!(feed_entry(&member, &revoked, Some(&red)), FeedEntry::Skip);
        assert_eq!(feed_entry(&member, &red, None), FeedEntry::Skip);
        // Loosening RED -> GREEN gives the version to those who gain access.
        assert_eq!(feed_entry(&member, &green, Some(&red)), FeedEntry::Version);
    }

    /// Federation links of every reach, as viewer kinds of the policy table.
    const PEER_KINDS: [(&str, PeerLink); 4] = [
        ("clear link", PeerLink { max_tlp: Tlp::Clear, community: false }),
        ("green link, other community", PeerLink { max_tlp: Tlp::Green, community: false }),
        ("green link, same community", PeerLink { max_tlp: Tlp::Green, community: true }),
        ("amber-trusted link", PeerLink { max_tlp: Tlp::Amber, community: true }),
    ];
    const PEER: &str = "hub-peer";

    /// Published items, by label and by where the item comes from: `own` (published on
    /// this hub), `received` (from another hub), `via-peer` (the peer is on its path
    /// already), `far` (crossed MAX_HOPS hubs). Columns in PEER_KINDS order.
    const PEER_EXPECTED: &str = "
        CLEAR        own      F F F F
        GREEN        own      - - F F
        AMBER        own      - - - F
        AMBER+STRICT own      - - - -
        RED          own      - - - -
        CLEAR        received F F F F
        GREEN        received - - F F
        AMBER        received - - - -
        AMBER+STRICT received - - - -
        RED          received - - - -
        CLEAR        via-peer - - - -
        GREEN        via-peer - - - -
        CLEAR        far      - - - -
        GREEN        far      - - - -
    ";

    #[test]
    fn peer_links_carry_only_what_their_agreement_and_the_path_allow() {
        let recipients = vec![PEER.to_string()];
        let paths: [(&str, Vec<String>); 4] = [
            ("own", vec![]),
            ("received", vec!["hub-origin".into()]),
            ("via-peer", vec!["hub-origin".into(), PEER.into()]),
            ("far", (0..MAX_HOPS).map(|i| format!("hub-{i}")).collect()),
        ];
        let mut failures = Vec::new();
        for line in PEER_EXPECTED.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let cells: Vec<&str> = line.split_whitespace().collect();
            let tlp: Tlp = cells[0].parse().expect("tlp");
            let path = &paths.iter().find(|(name, _)| *name == cells[1]).expect("path kind").1;
            // A RED item naming the peer's name as a recipient still never travels.
            let recips: &[String] = if tlp == Tlp::Red { &recipients } else { &[] };
            for anonymous in [false, true] {
                for status in Status::ALL {
                    let item = ItemAccess { tlp, recipients: recips, status, submitter: PEER, anonymous, path };
                    for ((name, link), want) in PEER_KINDS.iter().zip(&cells[2..]) {
                        let viewer = Viewer { org: PEER, role: ViewerRole::Peer(*link) };
                        let want = if status == Status::Published { *want } else { "-" };
                        let got = cell(visibility(&viewer, &item));
                        if got != want {
                            failures.push(format!("{line} {status:?} anonymous={anonymous} {name}: got {got}"));
                        }
                        assert!(!may_see_submitter(&viewer, &item), "peers never learn submitters here");
                    }
                }
            }
        }
        assert!(failures.is_empty(), "peer policy:\n{}", failures.join("\n"));
        // Tightening GREEN to AMBER on the origin reaches a community peer as a tombstone.
        let green = ItemAccess {
            tlp: Tlp::Green,
            recipients: &[],
            status: Status::Published,
            submitter: SUBMITTER,
            anonymous: false,
            path: &[],
        };
        let amber = ItemAccess { tlp: Tlp::Amber, ..green };
        let community = Viewer { org: PEER, role: ViewerRole::Peer(PEER_KINDS[2].1) };
        assert_eq!(feed_entry(&community, &amber, Some(&green)), FeedEntry::Tombstone);
        assert_eq!(
            feed_entry(&community, &ItemAccess { status: Status::Revoked, ..green }, Some(&green)),
            FeedEntry::Tombstone
        );
        assert_eq!(feed_entry(&community, &green, None), FeedEntry::Version);

        // Sightings aggregates: what the link carries, and back along the item's path
        // (the origin hears how its item was seen) within the link's label.
        let link = |max_tlp, community| PeerLink { max_tlp, community };
        let from_peer = vec![PEER.to_string()];
        let from_elsewhere = vec!["hub-origin".to_string()];
        let item = |tlp, path: &'static [String]| ItemAccess { tlp, path, ..green };
        let leak = |v: &Vec<String>| -> &'static [String] { Box::leak(v.clone().into_boxed_slice()) };
        let (to_origin, elsewhere) = (leak(&from_peer), leak(&from_elsewhere));
        for (tlp, path, link, want) in [
            (Tlp::Amber, to_origin, link(Tlp::Amber, true), true),
            (Tlp::Amber, to_origin, link(Tlp::Green, true), false),
            (Tlp::Green, to_origin, link(Tlp::Clear, false), false),
            (Tlp::Green, to_origin, link(Tlp::Green, false), true),
            (Tlp::Amber, elsewhere, link(Tlp::Amber, true), false),
            (Tlp::Green, elsewhere, link(Tlp::Green, true), true),
            (Tlp::Green, elsewhere, link(Tlp::Green, false), false),
            (Tlp::Clear, &[], link(Tlp::Clear, false), true),
            (Tlp::AmberStrict, to_origin, link(Tlp::Amber, true), false),
            (Tlp::Red, to_origin, link(Tlp::Amber, true), false),
        ] {
            let got = peer_may_learn_sightings(PEER, link, &item(tlp, path));
            assert_eq!(got, want, "sightings of {tlp:?} with path {path:?} over {link:?}");
            let revoked = ItemAccess { status: Status::Revoked, ..item(tlp, path) };
            assert!(!peer_may_learn_sightings(PEER, link, &revoked), "never of a revoked item");
        }
    }

    #[test]
    fn labels_round_trip_and_accept_ecosystem_forms() {
        for tlp in Tlp::ALL {
            assert_eq!(tlp.as_str().parse::<Tlp>(), Ok(tlp));
            assert_eq!(Tlp::from_marking_definition_id(tlp.marking_definition_id()), Some(tlp));
            let json = serde_json::to_string(&tlp).expect("json");
            assert_eq!(json, format!("\"{}\"", tlp.as_str()));
        }
        assert_eq!("amber_strict".parse::<Tlp>(), Ok(Tlp::AmberStrict));
        assert_eq!("TLP:WHITE".parse::<Tlp>(), Ok(Tlp::Clear));
        assert!("TLP:PURPLE".parse::<Tlp>().is_err());
        assert_eq!(
            Tlp::from_marking_definition_id("marking-definition--826578e1-40ad-459f-bc73-ede076f81f37"),
            Some(Tlp::AmberStrict)
        );
        assert!(Tlp::Clear < Tlp::Red);
    }

    #[test]
    fn write_rules_table() {
        let none: &[String] = &[];
        let a = vec!["org-a".to_string()];
        let ab = vec!["org-a".to_string(), "org-b".to_string()];
        // check_audience: label x recipients.
        for tlp in Tlp::ALL {
            let empty = check_audience(tlp, none);
            let named = check_audience(tlp, &a);
            if tlp == Tlp::Red {
                assert_eq!(empty, Err(LabelRefusal::RedNeedsRecipients));
                assert_eq!(named, Ok(()));
            } else {
                assert_eq!(empty, Ok(()));
                assert_eq!(named, Err(LabelRefusal::RecipientsOnlyForRed { tlp }));
            }
        }
        // loosens: every pair of labels, and RED recipient sets.
        for from in Tlp::ALL {
            for to in Tlp::ALL {
                let (rf, rt): (&[String], &[String]) =
                    (if from == Tlp::Red { &a } else { none }, if to == Tlp::Red { &a } else { none });
                assert_eq!(loosens((from, rf), (to, rt)), to < from, "{from} -> {to}");
            }
        }
        assert!(loosens((Tlp::Red, &a), (Tlp::Red, &ab)), "adding a RED recipient");
        assert!(!loosens((Tlp::Red, &ab), (Tlp::Red, &a)), "removing one tightens");
        // check_relabel: (status, from, to, by submitter) -> outcome.
        type Case<'a> = (Status, Audience<'a>, Audience<'a>, bool, Result<bool, LabelRefusal>);
        let cases: Vec<Case<'_>> = vec![
            (Status::Published, (Tlp::Amber, none), (Tlp::Green, none), true, Ok(true)),
            (
                Status::Published,
                (Tlp::Amber, none),
                (Tlp::Green, none),
                false,
                Err(LabelRefusal::LooseningNeedsSubmitter { from: Tlp::Amber, to: Tlp::Green }),
            ),
            (Status::Published, (Tlp::Green, none), (Tlp::Amber, none), false, Ok(false)),
            (Status::Published, (Tlp::Green, none), (Tlp::Red, &a), false, Ok(false)),
            (Status::Published, (Tlp::Red, &a), (Tlp::Red, &ab), true, Ok(true)),
            (
                Status::Published,
                (Tlp::Red, &a),
                (Tlp::Red, &ab),
                false,
                Err(LabelRefusal::LooseningNeedsSubmitter { from: Tlp::Red, to: Tlp::Red }),
            ),
            (Status::Published, (Tlp::Red, &ab), (Tlp::Red, &a), false, Ok(false)),
            (Status::Published, (Tlp::Green, none), (Tlp::Green, none), true, Err(LabelRefusal::NoChange)),
            (Status::Pending, (Tlp::Green, none), (Tlp::Red, &a), true, Err(LabelRefusal::RedNotPending)),
            (Status::Pending, (Tlp::Amber, none), (Tlp::Clear, none), true, Ok(true)),
        ];
        for (status, from, to, by_submitter, expected) in cases {
            assert_eq!(check_relabel(status, from, to, by_submitter), expected, "{status:?} {from:?} -> {to:?}");
        }
        // Moderated labels, queuing, forcing past an allowlist, links.
        for submitted in Tlp::ALL {
            for decided in Tlp::ALL {
                assert_eq!(check_moderated_label(submitted, decided).is_ok(), decided >= submitted);
                assert_eq!(
                    check_link(decided, submitted).is_ok(),
                    decided <= submitted && decided != Tlp::Red,
                    "link {decided} from {submitted}"
                );
            }
            assert_eq!(never_queued(submitted), submitted == Tlp::Red);
            assert_eq!(may_force_past_allowlist(submitted), submitted != Tlp::Red);
        }
        // Every refusal has a code and both texts.
        for r in [
            LabelRefusal::RedNeedsRecipients,
            LabelRefusal::RecipientsOnlyForRed { tlp: Tlp::Green },
            LabelRefusal::LooseningNeedsSubmitter { from: Tlp::Amber, to: Tlp::Clear },
            LabelRefusal::RedNotPending,
            LabelRefusal::NoChange,
            LabelRefusal::LinkNarrowerThanItem { linked: Tlp::Red, item: Tlp::Green },
        ] {
            assert!(!r.code().as_str().is_empty() && !r.message().is_empty() && !r.message_ja().is_empty());
        }
    }
}
