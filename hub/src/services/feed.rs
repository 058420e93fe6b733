//! The change feed: every version, rating-change event and audit checkpoint a viewer
//! may see after a cursor, with tombstones for what it held and may hold no longer.
//! Each entry is decided by `renkei_schema::tlp::feed_entry` (rating events by
//! `ratings::reaches`). Members follow it (`changes`), and so do peer hubs.

use diesel::prelude::*;

use renkei_schema::model::Kind;
use renkei_schema::tlp::{feed_entry, FeedEntry, Tlp, Viewer};

use super::stored::{Access, Provenance};
use crate::error::{AppError, AppResult};
use crate::store::models::VersionRow;
use crate::store::schema::object_versions;
use crate::store::DbConn;

/// One entry of the change feed.
#[derive(Debug, Clone)]
pub struct FeedItem {
    pub seq: i64,
    pub id: String,
    pub kind: String,
    pub revision: i64,
    pub tlp: String,
    pub deleted: bool,
    /// The STIX JSON of the version (absent on tombstones).
    pub stix: Option<String>,
    /// Made with this hub's key, or with the origin's for a received version.
    pub signature: Option<String>,
    /// Where a received version came from (absent on what this hub published, and on
    /// tombstones).
    pub origin: Option<Provenance>,
}

pub struct FeedPage {
    pub items: Vec<FeedItem>,
    pub cursor: i64,
    pub has_more: bool,
    /// What the items weigh ([`FeedItem::weight`]).
    pub bytes: usize,
}

impl FeedItem {
    /// What an item weighs in an answer: its object and signature, and the fields
    /// around them.
    pub fn weight(&self) -> usize {
        self.stix.as_ref().map_or(0, String::len) + self.signature.as_ref().map_or(0, String::len) + 160
    }
}

/// Versions the viewer may see after `after`, in sequence order, with tombstones for
/// what it held and may hold no longer, the rating-change events of its audience (see
/// `ratings::reaches`) and the hub's audit checkpoints (members only; see
/// `audit::publish_checkpoint`). Scans at most `scan_cap` rows per call so a member
/// who may see few items still gets a cursor that moves on, and ends the page before
/// its items weigh more than `max_bytes` (the first item always fits, so a follower
/// always moves on).
#[allow(clippy::too_many_arguments)]
pub fn changes(
    conn: &mut DbConn,
    viewer: &Viewer<'_>,
    indicators: bool,
    after: i64,
    limit: usize,
    scan_cap: usize,
    max_bytes: usize,
) -> AppResult<FeedPage> {
    use crate::store::models::{CheckpointRow, RatingEventRow};
    use crate::store::schema::{audit_checkpoints, rating_events};
    let own_audiences = super::ratings::own_audiences(conn, viewer.org)?;
    let peer = matches!(viewer.role, renkei_schema::tlp::ViewerRole::Peer(_));
    let mut items = Vec::with_capacity(limit.min(10_000));
    let mut cursor = after;
    let mut scanned = 0usize;
    let mut bytes = 0usize;
    let batch = limit.clamp(100, 10_000) as i64;
    loop {
        // The query is written into the macro so each backend's arm types its own.
        let rows: Vec<VersionRow> = crate::load_rows!(
            conn,
            object_versions::table
                .filter(object_versions::seq.gt(cursor))
                .order(object_versions::seq.asc())
                .limit(batch)
                .select(VersionRow::as_select()),
            VersionRow
        )?;
        // Rating events are this hub's own view of its members' assessments, and its
        // audit checkpoints are for its own members: neither travels to peers (the
        // assessments do).
        let (events, checkpoints): (Vec<RatingEventRow>, Vec<CheckpointRow>) = if peer {
            (Vec::new(), Vec::new())
        } else {
            (
                rating_events::table
                    .filter(rating_events::seq.gt(cursor))
                    .order(rating_events::seq.asc())
                    .limit(batch)
                    .select(RatingEventRow::as_select())
                    .load(conn)?,
                audit_checkpoints::table
                    .filter(audit_checkpoints::seq.gt(cursor))
                    .order(audit_checkpoints::seq.asc())
                    .limit(batch)
                    .select(CheckpointRow::as_select())
                    .load(conn)?,
            )
        };
        // Entries are known complete only up to the end of the shortest-reaching batch.
        let end_of = |full: bool, last: Option<i64>| if full { last.unwrap_or(i64::MAX) } else { i64::MAX };
        let upto = end_of(rows.len() as i64 == batch, rows.last().map(|r| r.seq))
            .min(end_of(events.len() as i64 == batch, events.last().map(|e| e.seq)))
            .min(end_of(checkpoints.len() as i64 == batch, checkpoints.last().map(|e| e.seq)));
        let exhausted = upto == i64::MAX;
        // Events and checkpoints in one sorted stream of side entries, each what the
        // viewer gets of it (an event of another audience is nothing).
        let mut side: Vec<(i64, Option<FeedItem>)> = events
            .into_iter()
            .filter(|e| e.seq <= upto)
            .map(|e| (e.seq, rating_item(e, viewer.org, &own_audiences)))
            .chain(checkpoints.into_iter().filter(|c| c.seq <= upto).map(|c| (c.seq, Some(checkpoint_item(c)))))
            .collect();
        side.sort_by_key(|(seq, _)| *seq);
        let mut side = side.into_iter().peekable();
        let mut rows = rows.into_iter().filter(|r| r.seq <= upto).peekable();
        loop {
            let next_side = side.peek().map(|(seq, _)| *seq);
            let next_row = rows.peek().map(|r| r.seq);
            let item = match (next_row, next_side) {
                (None, None) => break,
                (Some(r), Some(e)) if e < r => side.next().and_then(|(_, item)| item),
                (None, Some(_)) => side.next().and_then(|(_, item)| item),
                _ => match rows.next() {
                    // Callers who may not read indicators (procurement) skip them.
                    Some(row) if !indicators && row.kind == Kind::Indicator.as_str() => None,
                    Some(row) => version_item(viewer, row)?,
                    None => None,
                },
            };
            let seq = next_row.into_iter().chain(next_side).min().unwrap_or(cursor);
            if let Some(i) = &item {
                let weight = i.weight();
                if items.len() == limit || (!items.is_empty() && bytes + weight > max_bytes) {
                    return Ok(FeedPage { items, cursor, has_more: true, bytes });
                }
                bytes += weight;
            }
            cursor = seq;
            scanned += 1;
            items.extend(item);
        }
        if exhausted {
            return Ok(FeedPage { items, cursor, has_more: false, bytes });
        }
        cursor = upto;
        // A full page (or enough scanning) ends here rather than fetching another
        // batch only to stop at its first visible row.
        if items.len() == limit || scanned >= scan_cap {
            return Ok(FeedPage { items, cursor, has_more: true, bytes });
        }
    }
}

/// An audit checkpoint as a feed entry (every member gets it: it names nothing).
fn checkpoint_item(c: crate::store::models::CheckpointRow) -> FeedItem {
    FeedItem {
        seq: c.seq,
        id: c.id,
        kind: super::audit::FEED_KIND.into(),
        revision: 1,
        tlp: Tlp::Green.as_str().into(),
        deleted: false,
        stix: Some(c.stix),
        signature: Some(c.signature),
        origin: None,
    }
}

/// What the viewer gets of one version: the version, a tombstone, or nothing. A
/// received version carries its origin, and with it the path a peer's view depends on.
fn version_item(viewer: &Viewer<'_>, row: VersionRow) -> AppResult<Option<FeedItem>> {
    let origin: Option<Provenance> = match &row.origin {
        Some(text) => Some(serde_json::from_str(text).map_err(AppError::internal)?),
        None => None,
    };
    let path = origin.as_ref().map(|o| o.path.clone()).unwrap_or_default();
    let mut current = Access::parse(&row.tlp, &row.recipients, &row.status, &row.submitter_org, row.anonymous)?;
    let previous = match (&row.prev_tlp, &row.prev_recipients, &row.prev_status) {
        (Some(t), Some(r), Some(s)) => {
            let mut previous = Access::parse(t, r, s, &row.submitter_org, row.anonymous)?;
            previous.path = path.clone();
            Some(previous)
        }
        _ => None,
    };
    current.path = path;
    Ok(match feed_entry(viewer, &current.item(), previous.as_ref().map(|p| p.item()).as_ref()) {
        FeedEntry::Version => Some(FeedItem {
            seq: row.seq,
            id: row.object_id,
            kind: row.kind,
            revision: row.revision,
            tlp: row.tlp,
            deleted: false,
            stix: Some(row.stix),
            signature: Some(row.signature),
            origin,
        }),
        FeedEntry::Tombstone => Some(FeedItem {
            seq: row.seq,
            id: row.object_id,
            kind: row.kind,
            revision: row.revision,
            // The label the follower knew, not the one it lost access by.
            tlp: row.prev_tlp.unwrap_or(row.tlp),
            deleted: true,
            stix: None,
            signature: None,
            origin: None,
        }),
        FeedEntry::Skip => None,
    })
}

/// A rating-change event, if it is for the viewer's audience.
fn rating_item(
    e: crate::store::models::RatingEventRow,
    org: &str,
    own_audiences: &std::collections::HashMap<String, i64>,
) -> Option<FeedItem> {
    super::ratings::reaches(&e.audience, &e.supplier_id, e.seq, org, own_audiences).then(|| FeedItem {
        seq: e.seq,
        id: e.id,
        kind: super::ratings::FEED_KIND.into(),
        revision: 1,
        tlp: e.tlp,
        deleted: false,
        stix: Some(e.stix),
        signature: Some(e.signature),
        origin: None,
    })
}
