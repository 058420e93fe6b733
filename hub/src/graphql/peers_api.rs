//! GraphQL for federation: the feed a peer hub reads (`peerChanges`, peer tokens only)
//! and the links' status for coordinators (`peers`).

use async_graphql::{Context, Object, SimpleObject, ID};

use super::{hub, identity, page_size, parse_cursor, require_coordinator};
use crate::auth::{Identity, Role};
use crate::error::AppError;
use crate::federation::{self, PeerItem};

/// One entry of the federation feed (see `federation::PeerItem`).
#[derive(SimpleObject)]
pub struct PeerChange {
    pub seq: String,
    pub id: ID,
    pub kind: String,
    pub revision: i64,
    pub tlp: String,
    pub deleted: bool,
    /// The STIX object as its origin signed it (canonical JSON text).
    pub object: Option<String>,
    /// The origin hub's signature of `object`.
    pub signature: Option<String>,
    pub origin_hub: Option<String>,
    pub origin_key: Option<String>,
    /// Hubs the item crossed before this one, its origin first.
    pub path: Vec<String>,
    /// The renkei envelope and body `object` renders from (JSON text).
    pub envelope: Option<String>,
    pub body: Option<String>,
}

impl From<PeerItem> for PeerChange {
    fn from(i: PeerItem) -> Self {
        PeerChange {
            seq: i.seq,
            id: ID(i.id),
            kind: i.kind,
            revision: i.revision,
            tlp: i.tlp,
            deleted: i.deleted,
            object: i.object,
            signature: i.signature,
            origin_hub: i.origin_hub,
            origin_key: i.origin_key,
            path: i.path,
            envelope: i.envelope,
            body: i.body,
        }
    }
}

#[derive(SimpleObject)]
pub struct PeerChangePage {
    /// This hub's id (what it signs as).
    pub hub_id: String,
    pub items: Vec<PeerChange>,
    pub cursor: String,
    pub has_more: bool,
    /// This hub's newest sequence number.
    pub head: String,
}

#[derive(SimpleObject)]
pub struct RefusedCount {
    pub reason: String,
    pub count: i64,
}

/// A link and where pulling from it stands.
#[derive(SimpleObject)]
pub struct PeerStatus {
    pub name: String,
    pub hub_id: Option<String>,
    pub url: String,
    pub public_key: String,
    pub max_tlp: String,
    pub community: bool,
    pub direction: String,
    pub kinds: Vec<String>,
    pub cursor: String,
    /// The peer's newest sequence number when last asked; `lag` = head − cursor.
    pub peer_head: String,
    pub lag: i64,
    pub received: i64,
    pub refused: Vec<RefusedCount>,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_success_at: Option<String>,
}

#[derive(Default)]
pub struct PeerQuery;

#[Object]
impl PeerQuery {
    /// The change feed as a peer hub's link carries it. Peer tokens only; `hubId` is the
    /// caller's own hub id (fixed for the link at first use).
    #[graphql(complexity = "limit.unwrap_or(1000).max(1) as usize * child_complexity")]
    async fn peer_changes(
        &self,
        ctx: &Context<'_>,
        hub_id: ID,
        after: Option<String>,
        limit: Option<i32>,
    ) -> async_graphql::Result<PeerChangePage> {
        let who = ctx.data_opt::<Identity>().cloned().ok_or_else(AppError::unauthenticated)?;
        if who.role != Role::Peer {
            return Err(AppError::forbidden("read the federation feed (peer hubs only)").into());
        }
        let h = hub(ctx);
        let after = parse_cursor(after.as_deref())?;
        let limit = page_size(limit, h.config.limits.max_changes_page, 1000)?;
        // A link pinned to a client certificate is served here too when the TLS
        // connection presented it (`http.rs` passes it on with the request).
        let presented = ctx.data_opt::<crate::http::gate::ClientCertificate>().map(|c| c.0.clone());
        let page = h
            .db(move |hub, c| {
                let local = hub.signer();
                federation::feed::serve_feed(c, &local, &who.org_id, presented.as_deref(), &hub_id, after, limit)
            })
            .await?;
        Ok(PeerChangePage {
            hub_id: h.hub_id.clone(),
            items: page.items.into_iter().map(Into::into).collect(),
            cursor: page.cursor,
            has_more: page.has_more,
            head: page.head,
        })
    }

    /// The federation links and their status (coordinators).
    async fn peers(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<PeerStatus>> {
        let who = identity(ctx)?;
        require_coordinator(&who, "see federation links")?;
        let rows = hub(ctx).db(|_, c| federation::list_peers(c)).await?;
        Ok(rows
            .into_iter()
            .map(|(p, s)| PeerStatus {
                kinds: p.kinds(),
                refused: s.refused_counts().into_iter().map(|(reason, count)| RefusedCount { reason, count }).collect(),
                lag: (s.peer_head - s.cursor).max(0),
                cursor: s.cursor.to_string(),
                peer_head: s.peer_head.to_string(),
                received: s.received,
                last_error: s.last_error,
                last_attempt_at: s.last_attempt_at,
                last_success_at: s.last_success_at,
                name: p.name,
                hub_id: p.hub_id,
                url: p.url,
                public_key: p.public_key,
                max_tlp: p.max_tlp,
                community: p.community,
                direction: p.direction,
            })
            .collect())
    }
}
