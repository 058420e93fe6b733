//! The change feed: every version, rating-change event, audit checkpoint and key
//! announcement a viewer may see after a cursor, with tombstones for what it held and
//! may hold no longer.
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
    /// The key that verifies `signature`: for what this hub published, the hub's key at
    /// `seq` (`keystore::SigningHistory::key_for_seq`: after a rotation older entries keep
    /// the key that signed them); the origin's for a received version; none on
    /// tombstones. Set by [`entries`].
    pub signing_key: Option<String>,
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

/// The feed's stored rows after a cursor, as read once for every viewer: versions,
/// rating-change events and audit checkpoints, complete up to `upto`. What each viewer
/// gets of them is decided by [`entries`]: the page reader below and the live tail
/// (`crate::live`, which reads each new stretch once per replica and decides per
/// subscriber) share it.
#[derive(Debug, Clone, Default)]
pub struct RawBatch {
    pub rows: Vec<VersionRow>,
    pub events: Vec<crate::store::models::RatingEventRow>,
    pub checkpoints: Vec<crate::store::models::CheckpointRow>,
    /// Announcements of a new signing key (`services::identity`): for members and peers.
    pub announcements: Vec<crate::store::models::AnnouncementRow>,
    /// The hub's signing keys, read after the entries (each is signed by a key already
    /// in it), which label what the hub published with the key that signed it.
    pub history: crate::keystore::SigningHistory,
    /// Every entry with a sequence number up to this one is in the batch.
    pub upto: i64,
    /// The batch reaches the end of the feed (nothing after it was committed yet).
    pub exhausted: bool,
}

impl RawBatch {
    /// Whether the batch holds any rating event (deciding those needs the viewer's
    /// audiences, [`audiences_of`]).
    pub fn has_events(&self) -> bool {
        !self.events.is_empty()
    }

    /// The highest sequence number the batch holds, if any.
    pub fn last_seq(&self) -> Option<i64> {
        let last = |v: Option<i64>, w: Option<i64>| v.max(w);
        last(
            last(
                last(self.rows.last().map(|r| r.seq), self.events.last().map(|e| e.seq)),
                self.checkpoints.last().map(|c| c.seq),
            ),
            self.announcements.last().map(|a| a.seq),
        )
    }
}

/// Reads up to `batch` rows of each of the feed's tables after `after`. `side` also
/// reads rating events and audit checkpoints (members' feeds; peers get neither).
pub fn load_after(conn: &mut DbConn, after: i64, batch: i64, side: bool) -> AppResult<RawBatch> {
    use crate::store::models::{AnnouncementRow, CheckpointRow, RatingEventRow};
    use crate::store::schema::{audit_checkpoints, hub_key_announcements, rating_events};
    // The query is written into the macro so each backend's arm types its own.
    let rows: Vec<VersionRow> = crate::load_rows!(
        conn,
        object_versions::table
            .filter(object_versions::seq.gt(after))
            .order(object_versions::seq.asc())
            .limit(batch)
            .select(VersionRow::as_select()),
        VersionRow
    )?;
    // Rating events are this hub's own view of its members' assessments, and its audit
    // checkpoints are for its own members: neither travels to peers (the assessments do).
    let (events, checkpoints): (Vec<RatingEventRow>, Vec<CheckpointRow>) = if side {
        (
            rating_events::table
                .filter(rating_events::seq.gt(after))
                .order(rating_events::seq.asc())
                .limit(batch)
                .select(RatingEventRow::as_select())
                .load(conn)?,
            audit_checkpoints::table
                .filter(audit_checkpoints::seq.gt(after))
                .order(audit_checkpoints::seq.asc())
                .limit(batch)
                .select(CheckpointRow::as_select())
                .load(conn)?,
        )
    } else {
        (Vec::new(), Vec::new())
    };
    // Key announcements go to members and peers alike (they name nothing).
    let announcements: Vec<AnnouncementRow> = hub_key_announcements::table
        .filter(hub_key_announcements::seq.gt(after))
        .order(hub_key_announcements::seq.asc())
        .limit(batch)
        .select(AnnouncementRow::as_select())
        .load(conn)?;
    // Entries are known complete only up to the end of the shortest-reaching batch.
    let end_of = |full: bool, last: Option<i64>| if full { last.unwrap_or(i64::MAX) } else { i64::MAX };
    let upto = end_of(rows.len() as i64 == batch, rows.last().map(|r| r.seq))
        .min(end_of(events.len() as i64 == batch, events.last().map(|e| e.seq)))
        .min(end_of(checkpoints.len() as i64 == batch, checkpoints.last().map(|e| e.seq)))
        .min(end_of(announcements.len() as i64 == batch, announcements.last().map(|e| e.seq)));
    let exhausted = upto == i64::MAX;
    // After the entries: a key in use by any of them is committed before it.
    let history = crate::keystore::SigningHistory::load(conn)?;
    let mut raw = RawBatch { rows, events, checkpoints, announcements, history, upto, exhausted };
    if exhausted {
        raw.upto = raw.last_seq().unwrap_or(after);
    } else {
        raw.rows.retain(|r| r.seq <= upto);
        raw.events.retain(|e| e.seq <= upto);
        raw.checkpoints.retain(|c| c.seq <= upto);
        raw.announcements.retain(|a| a.seq <= upto);
    }
    Ok(raw)
}

/// The feed's last sequence number (0 when empty): where a live tail starts.
pub fn head(conn: &mut DbConn) -> AppResult<i64> {
    use crate::store::schema::{audit_checkpoints, rating_events};
    use diesel::dsl::max;
    let versions: Option<i64> = object_versions::table.select(max(object_versions::seq)).first(conn)?;
    let events: Option<i64> = rating_events::table.select(max(rating_events::seq)).first(conn)?;
    let checkpoints: Option<i64> = audit_checkpoints::table.select(max(audit_checkpoints::seq)).first(conn)?;
    let announcements: Option<i64> = crate::store::schema::hub_key_announcements::table
        .select(max(crate::store::schema::hub_key_announcements::seq))
        .first(conn)?;
    Ok(versions.max(events).max(checkpoints).max(announcements).unwrap_or(0))
}

/// The rating audiences the viewer's organisation belongs to (what [`entries`] needs
/// to decide rating events; see `ratings::reaches`).
pub fn audiences_of(conn: &mut DbConn, viewer: &Viewer<'_>) -> AppResult<std::collections::HashMap<String, i64>> {
    super::ratings::own_audiences(conn, viewer.org)
}

/// What the viewer gets of a raw batch's entries after `after`, in sequence order: each
/// entry's sequence number with the item (None where the viewer gets nothing). Every
/// decision is the schema policy's (`feed_entry`, `ratings::reaches`).
pub fn entries(
    viewer: &Viewer<'_>,
    indicators: bool,
    audiences: &std::collections::HashMap<String, i64>,
    raw: &RawBatch,
    after: i64,
) -> AppResult<Vec<(i64, Option<FeedItem>)>> {
    let peer = matches!(viewer.role, renkei_schema::tlp::ViewerRole::Peer(_));
    let mut out: Vec<(i64, Option<FeedItem>)> = Vec::with_capacity(raw.rows.len());
    for row in raw.rows.iter().filter(|r| r.seq > after) {
        // Callers who may not read indicators (procurement) skip them.
        let item = if !indicators && row.kind == Kind::Indicator.as_str() { None } else { version_item(viewer, row)? };
        out.push((row.seq, item));
    }
    if !peer {
        for e in raw.events.iter().filter(|e| e.seq > after) {
            out.push((e.seq, rating_item(e, viewer.org, audiences)));
        }
        for c in raw.checkpoints.iter().filter(|c| c.seq > after) {
            out.push((c.seq, Some(checkpoint_item(c))));
        }
    }
    for a in raw.announcements.iter().filter(|a| a.seq > after) {
        out.push((a.seq, Some(announcement_item(a))));
    }
    if !peer || !raw.announcements.is_empty() {
        out.sort_by_key(|(seq, _)| *seq);
    }
    // Each entry with the key that verifies it.
    for (seq, item) in out.iter_mut() {
        if let Some(item) = item.as_mut().filter(|i| !i.deleted) {
            item.signing_key = match &item.origin {
                Some(origin) => Some(origin.key.clone()),
                None => raw.history.key_for_seq(*seq).map(str::to_string),
            };
        }
    }
    Ok(out)
}

/// A key announcement as a feed entry (every member and peer gets it: it names nothing
/// but the hub's keys).
fn announcement_item(a: &crate::store::models::AnnouncementRow) -> FeedItem {
    FeedItem {
        seq: a.seq,
        id: a.id.clone(),
        kind: super::identity::FEED_KIND.into(),
        revision: 1,
        tlp: Tlp::Clear.as_str().into(),
        deleted: false,
        stix: Some(a.stix.clone()),
        signature: Some(a.signature.clone()),
        origin: None,
        signing_key: None,
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
    let own_audiences = audiences_of(conn, viewer)?;
    let peer = matches!(viewer.role, renkei_schema::tlp::ViewerRole::Peer(_));
    let mut items = Vec::with_capacity(limit.min(10_000));
    let mut cursor = after;
    let mut scanned = 0usize;
    let mut bytes = 0usize;
    let batch = limit.clamp(100, 10_000) as i64;
    loop {
        let raw = load_after(conn, cursor, batch, !peer)?;
        for (seq, item) in entries(viewer, indicators, &own_audiences, &raw, cursor)? {
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
        if raw.exhausted {
            return Ok(FeedPage { items, cursor, has_more: false, bytes });
        }
        cursor = raw.upto;
        // A full page (or enough scanning) ends here rather than fetching another
        // batch only to stop at its first visible row.
        if items.len() == limit || scanned >= scan_cap {
            return Ok(FeedPage { items, cursor, has_more: true, bytes });
        }
    }
}

/// An audit checkpoint as a feed entry (every member gets it: it names nothing).
fn checkpoint_item(c: &crate::store::models::CheckpointRow) -> FeedItem {
    FeedItem {
        seq: c.seq,
        id: c.id.clone(),
        kind: super::audit::FEED_KIND.into(),
        revision: 1,
        tlp: Tlp::Green.as_str().into(),
        deleted: false,
        stix: Some(c.stix.clone()),
        signature: Some(c.signature.clone()),
        origin: None,
        signing_key: None,
    }
}

/// What the viewer gets of one version: the version, a tombstone, or nothing. A
/// received version carries its origin, and with it the path a peer's view depends on.
fn version_item(viewer: &Viewer<'_>, row: &VersionRow) -> AppResult<Option<FeedItem>> {
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
            id: row.object_id.clone(),
            kind: row.kind.clone(),
            revision: row.revision,
            tlp: row.tlp.clone(),
            deleted: false,
            stix: Some(row.stix.clone()),
            signature: Some(row.signature.clone()),
            origin,
            signing_key: None,
        }),
        FeedEntry::Tombstone => Some(FeedItem {
            seq: row.seq,
            id: row.object_id.clone(),
            kind: row.kind.clone(),
            revision: row.revision,
            // The label the follower knew, not the one it lost access by.
            tlp: row.prev_tlp.clone().unwrap_or_else(|| row.tlp.clone()),
            deleted: true,
            stix: None,
            signature: None,
            origin: None,
            signing_key: None,
        }),
        FeedEntry::Skip => None,
    })
}

/// A rating-change event, if it is for the viewer's audience.
fn rating_item(
    e: &crate::store::models::RatingEventRow,
    org: &str,
    own_audiences: &std::collections::HashMap<String, i64>,
) -> Option<FeedItem> {
    super::ratings::reaches(&e.audience, &e.supplier_id, e.seq, org, own_audiences).then(|| FeedItem {
        seq: e.seq,
        id: e.id.clone(),
        kind: super::ratings::FEED_KIND.into(),
        revision: 1,
        tlp: e.tlp.clone(),
        deleted: false,
        stix: Some(e.stix.clone()),
        signature: Some(e.signature.clone()),
        origin: None,
        signing_key: None,
    })
}
