//! The feed a peer hub reads: the change feed through the link's `ViewerRole::Peer`
//! viewer (`feed::changes`, decided by the schema policy like a member's), with what the
//! next hop needs to check each version at its origin.

use super::links::{learn_hub_id, link_of_org, PeerRow};
use crate::error::{AppError, AppResult};
use crate::services::stored::{Provenance, Signer};
use crate::services::{feed, identity, stored};
use crate::store::models::ObjectRow;
use crate::store::schema::objects;
use crate::store::DbConn;
use diesel::prelude::*;
use renkei_schema::errors::Code;
use renkei_schema::model::Kind;
use renkei_schema::tlp::{Viewer, ViewerRole};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// The feed for the peer whose token (of organisation `org_id`) asks, as hub
/// `peer_hub`: what both GraphQL's `peerChanges` and `GET /federation/changes` serve.
#[allow(clippy::too_many_arguments)]
pub fn serve_feed(
    conn: &mut DbConn,
    local: &Signer<'_>,
    org_id: &str,
    presented: Option<&str>,
    peer_hub: &str,
    after: i64,
    limit: usize,
) -> AppResult<PeerPage> {
    let link = authorize(conn, org_id, presented, peer_hub)?;
    peer_feed(conn, local, &link, peer_hub, after, limit, scan_cap(limit))
}

/// How many versions a feed page of `limit` items may scan (most may be for others).
pub fn scan_cap(limit: usize) -> usize {
    limit.saturating_mul(20).max(10_000)
}

/// The link a peer token (of organisation `org_id`) may read this hub over, as hub
/// `peer_hub`, on a connection that presented the client certificate `presented`.
pub fn authorize(conn: &mut DbConn, org_id: &str, presented: Option<&str>, peer_hub: &str) -> AppResult<PeerRow> {
    let link = link_of_org(conn, org_id)?;
    if !link.direction().serves() {
        return Err(AppError::forbidden("read this hub over a pull-only link"));
    }
    // A link pinned to a client certificate is served only over a connection that
    // presented it (the token alone is not enough).
    if let Some(pin) = &link.client_cert_sha256 {
        if presented != Some(pin.as_str()) {
            return Err(AppError::new(
                Code::Forbidden,
                format!("peer {} must present its pinned client certificate", link.name),
                format!("ピア{}は登録済みのクライアント証明書を提示する必要があります", link.name),
            ));
        }
    }
    learn_hub_id(conn, &link.name, peer_hub)?;
    Ok(link)
}

/// One entry of the federation feed: the version as its origin signed it, with the
/// envelope and body it renders from (checked against the STIX by the receiver).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PeerItem {
    pub seq: String,
    pub id: String,
    pub kind: String,
    pub revision: i64,
    pub tlp: String,
    pub deleted: bool,
    pub object: Option<String>,
    pub signature: Option<String>,
    pub origin_hub: Option<String>,
    pub origin_key: Option<String>,
    /// Hubs the item crossed before the sender, origin first (empty: the sender is
    /// the origin).
    pub path: Vec<String>,
    pub envelope: Option<String>,
    pub body: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerPage {
    pub items: Vec<PeerItem>,
    pub cursor: String,
    pub has_more: bool,
    /// The sender's newest sequence number (the receiver's lag is measured by it).
    pub head: String,
}

/// The paths of the received items among `ids`, from their current versions (items
/// published here have none).
pub fn paths_of(conn: &mut DbConn, ids: &[&str]) -> AppResult<HashMap<String, Vec<String>>> {
    use crate::store::schema::object_versions;
    let mut out = HashMap::new();
    for chunk in ids.chunks(1000) {
        let rows: Vec<(String, Option<String>)> = objects::table
            .inner_join(object_versions::table.on(object_versions::seq.eq(objects::last_seq)))
            .filter(objects::id.eq_any(chunk))
            .filter(object_versions::origin.is_not_null())
            .select((objects::id, object_versions::origin))
            .load(conn)?;
        for (id, origin) in rows {
            if let Some(text) = origin {
                let origin: Provenance = serde_json::from_str(&text).map_err(AppError::internal)?;
                out.insert(id, origin.path);
            }
        }
    }
    Ok(out)
}

/// The feed a peer reads: `feed::changes` as the link's viewer, the link's kinds
/// only, each version with what the receiver needs to check it at its origin. A
/// version superseded since is left out (its successor follows in the feed).
pub fn peer_feed(
    conn: &mut DbConn,
    local: &Signer<'_>,
    link: &PeerRow,
    peer_hub_id: &str,
    after: i64,
    limit: usize,
    scan_cap: usize,
) -> AppResult<PeerPage> {
    let viewer = Viewer { org: peer_hub_id, role: ViewerRole::Peer(link.link()?) };
    let kinds = link.kinds();
    let carries_indicators = kinds.iter().any(|k| k == Kind::Indicator.as_str());
    let page = feed::changes(conn, &viewer, carries_indicators, after, limit, scan_cap, usize::MAX)?;
    // The link's kinds, and this hub's key announcements (a peer follows them).
    let items: Vec<feed::FeedItem> =
        page.items.into_iter().filter(|i| kinds.contains(&i.kind) || i.kind == identity::FEED_KIND).collect();
    let live: Vec<String> =
        items.iter().filter(|i| !i.deleted && i.kind != identity::FEED_KIND).map(|i| i.id.clone()).collect();
    let mut current: HashMap<String, ObjectRow> = HashMap::new();
    // Items first stored within the page's range are read in the order they were stored
    // (the `(kind, first_seq)` index, heap pages in order) instead of one primary-key
    // lookup each, when they are most of the range (a replicating peer's pages are); the
    // rest (items created earlier and changed since) are looked up by id.
    let range = page.cursor.saturating_sub(after);
    if !live.is_empty() && (live.len() as i64).saturating_mul(2) >= range {
        let wanted: std::collections::HashSet<&str> = live.iter().map(String::as_str).collect();
        let rows: Vec<ObjectRow> = crate::load_rows!(
            conn,
            objects::table
                .filter(objects::kind.eq_any(&kinds))
                .filter(objects::first_seq.gt(after))
                .filter(objects::first_seq.le(page.cursor))
                .select(ObjectRow::as_select()),
            ObjectRow
        )?;
        current.extend(rows.into_iter().filter(|r| wanted.contains(r.id.as_str())).map(|r| (r.id.clone(), r)));
    }
    let missing: Vec<&String> = live.iter().filter(|id| !current.contains_key(id.as_str())).collect();
    for chunk in missing.chunks(500) {
        let rows: Vec<ObjectRow> =
            objects::table.filter(objects::id.eq_any(chunk)).select(ObjectRow::as_select()).load(conn)?;
        current.extend(rows.into_iter().map(|r| (r.id.clone(), r)));
    }
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        if item.kind == identity::FEED_KIND {
            // An announcement: the object signed by the key it replaces.
            out.push(PeerItem {
                seq: item.seq.to_string(),
                id: item.id,
                kind: item.kind,
                revision: item.revision,
                tlp: item.tlp,
                deleted: false,
                object: item.stix,
                signature: item.signature,
                origin_hub: Some(local.hub_id.to_string()),
                origin_key: item.signing_key,
                path: Vec::new(),
                envelope: None,
                body: None,
            });
            continue;
        }
        let mut entry = PeerItem {
            seq: item.seq.to_string(),
            id: item.id.clone(),
            kind: item.kind.clone(),
            revision: item.revision,
            tlp: item.tlp.clone(),
            deleted: item.deleted,
            object: None,
            signature: None,
            origin_hub: None,
            origin_key: None,
            path: Vec::new(),
            envelope: None,
            body: None,
        };
        if !item.deleted {
            let Some(row) = current.get(&item.id).filter(|r| r.revision == item.revision) else { continue };
            entry.body = Some(row.body.clone());
            entry.object = item.stix;
            entry.signature = item.signature;
            match item.origin {
                Some(r) => {
                    entry.origin_hub = Some(r.hub);
                    entry.origin_key = Some(r.key);
                    entry.path = r.path;
                    // The origin's envelope: this row's, naming the origin's submitter.
                    let mut envelope = stored::envelope_of(row)?;
                    envelope.created_by = r.created_by;
                    entry.envelope = Some(serde_json::to_string(&envelope).map_err(AppError::internal)?);
                }
                None => {
                    entry.origin_hub = Some(local.hub_id.to_string());
                    // The key that signed this version (the hub's at its sequence number).
                    entry.origin_key = item.signing_key.clone();
                    let mut envelope = stored::envelope_of(row)?;
                    // An anonymous submitter is named to no peer (the STIX leaves it out,
                    // so the signed rendering does not need it).
                    if envelope.anonymous {
                        envelope.created_by = String::new();
                    }
                    entry.envelope = Some(serde_json::to_string(&envelope).map_err(AppError::internal)?);
                }
            }
        }
        out.push(entry);
    }
    Ok(PeerPage {
        items: out,
        cursor: page.cursor.to_string(),
        has_more: page.has_more,
        head: stored::max_seq(conn)?.to_string(),
    })
}
