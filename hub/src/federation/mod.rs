//! Federation between hubs: links to peer hubs, the feed a peer reads, checking and
//! applying what a peer sends, the pullers, and sightings aggregates. (Apollo Federation,
//! the GraphQL subgraph, is something else: `graphql::subgraph`.)
//!
//! A link's agreement (highest label, community, kinds) becomes a `ViewerRole::Peer`
//! viewer, and the change feed is read through `feed::changes` like a member's: the
//! schema policy decides what travels, including the path rule (never back to a hub
//! the item crossed, at most `MAX_HOPS` hubs). What arrives is checked before it is
//! stored: the origin's signature (the peer's pinned key for its own items, the key it
//! vouches for otherwise, pinned per origin at first sight), the label against the
//! same policy from the receiving side, the envelope against the signed STIX, and the
//! revision against what is held. A page and the link's cursor commit together.
//!
//! Where things are: [`links`] (the agreements and their status), [`feed`] (what a peer
//! reads), [`pages`] (checking and storing what a peer sent), [`sightings`] (signed
//! sightings aggregates, both ways), [`puller`] (the background pull per link) and
//! [`http`] (the `/federation/*` endpoints). Why an entry is refused is a [`Refusal`].

pub mod feed;
pub mod http;
pub mod links;
pub mod pages;
pub mod puller;
mod refusal;
pub mod sightings;

pub use feed::{peer_feed, PeerItem, PeerPage};
pub use links::{
    add_peer, learn_hub_id, list_peers, remove_peer, set_token, status_of, Direction, PeerInput, PeerRow,
    PeerStatusRow, CARRIED_KINDS, SIGHTING_KIND,
};
pub use pages::{apply_page, check_page, store_page, Applied, CheckedPage, Lookup, ALREADY_HELD};
pub use refusal::Refusal;
