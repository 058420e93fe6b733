//! What a TAXII collection holds for one caller, read from the database: the current
//! version of each shared item of the collection's kinds and labels that the caller may
//! read in full (the one TLP policy, `renkei_schema::tlp::visibility`, decides every
//! row), published and not revoked, in the order this hub added the versions.
//!
//! Pages are keyed by the current version's sequence, so a page costs the same wherever
//! it is in the collection. The SQL narrows rows with what the policy says of the caller
//! for an item it is not named on (labels it reads anyway; otherwise its own or naming
//! it), then the policy decides each row; a page scans a bounded number of rows.

use diesel::prelude::*;

use renkei_schema::model::Kind;
use renkei_schema::tlp::{visibility, ItemAccess, Status, Tlp, Viewer, Visibility};

use crate::error::AppResult;
use crate::services::stored::Access;
use crate::store::schema::{object_versions, objects};
use crate::store::DbConn;

/// One object (one version) as a collection serves it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub id: String,
    /// The version's sequence number (its place in the collection).
    pub seq: i64,
    /// When this hub added the version (TAXII's `date_added`, microseconds).
    pub date_added: String,
    /// The STIX object, canonical JSON, as signed at its origin.
    pub stix: String,
}

impl Entry {
    /// The version's STIX `modified` (TAXII's version of an object).
    pub fn modified(&self) -> String {
        #[derive(serde::Deserialize)]
        struct Modified {
            modified: Option<String>,
            created: Option<String>,
        }
        serde_json::from_str::<Modified>(&self.stix).ok().and_then(|m| m.modified.or(m.created)).unwrap_or_default()
    }
}

/// Which objects of a collection a request asks for.
#[derive(Debug, Clone)]
pub struct Selection {
    pub kinds: Vec<Kind>,
    /// The labels the collection holds.
    pub labels: Vec<Tlp>,
    /// `match[id]`, when given.
    pub ids: Option<Vec<String>>,
    /// Objects whose current version comes after this sequence.
    pub after_seq: i64,
    pub limit: usize,
}

/// A page: the entries, whether more may follow, and the last sequence looked at (where
/// the next page starts).
#[derive(Debug)]
pub struct Page {
    pub entries: Vec<Entry>,
    pub more: bool,
    pub resume_after: i64,
}

/// Rows one page looks at, at most, before it answers with what it found (`more` set).
const MAX_SCAN: usize = 20_000;

/// A row of a page: the current version's access attributes, and its STIX and time
/// (one query joins the object to its current version).
#[derive(Queryable)]
struct PageRow {
    id: String,
    tlp: String,
    recipients: String,
    status: String,
    submitter_org: String,
    anonymous: bool,
    last_seq: i64,
    recorded_at: String,
    stix: String,
}

/// Whether the policy lets this viewer read a published item of `tlp` that neither it
/// submitted nor names it: asked of the policy itself, so the SQL narrowing below can
/// never admit less than the policy does.
fn reads_unnamed(viewer: &Viewer<'_>, tlp: Tlp) -> bool {
    let item = ItemAccess {
        tlp,
        recipients: &[],
        status: Status::Published,
        submitter: "\u{0}(no organisation)",
        anonymous: true,
        path: &[],
    };
    visibility(viewer, &item) == Visibility::Full
}

/// The current versions the viewer may read in full, after `selection.after_seq`.
pub fn page(conn: &mut DbConn, viewer: &Viewer<'_>, selection: &Selection) -> AppResult<Page> {
    let kinds: Vec<&str> = selection.kinds.iter().map(|k| k.as_str()).collect();
    let everyone: Vec<&str> =
        selection.labels.iter().filter(|t| reads_unnamed(viewer, **t)).map(|t| t.as_str()).collect();
    let named: Vec<&str> =
        selection.labels.iter().filter(|t| !reads_unnamed(viewer, **t)).map(|t| t.as_str()).collect();
    // A wildcard in an organisation id could only widen the match; the policy decides
    // each row anyway, so nothing is escaped.
    let naming = format!("%\"{}\"%", viewer.org);
    let batch = (selection.limit + 1).clamp(64, 5000) as i64;
    let mut found: Vec<PageRow> = Vec::with_capacity(selection.limit + 1);
    let mut cursor = selection.after_seq;
    let mut scanned = 0usize;
    let mut more = false;
    loop {
        let mut query = objects::table
            .inner_join(object_versions::table.on(object_versions::seq.eq(objects::last_seq)))
            .filter(objects::last_seq.gt(cursor))
            // Said of both sides, so PostgreSQL merges from the cursor on both indexes
            // (without it, it read the versions from the first one: 260 ms a page).
            .filter(object_versions::seq.gt(cursor))
            .filter(objects::kind.eq_any(&kinds))
            .filter(objects::status.eq(Status::Published.as_str()))
            .filter(
                objects::tlp.eq_any(&everyone).or(objects::tlp
                    .eq_any(&named)
                    .and(objects::submitter_org.eq(viewer.org).or(objects::recipients.like(&naming)))),
            )
            .into_boxed();
        if let Some(ids) = &selection.ids {
            query = query.filter(objects::id.eq_any(ids));
        }
        let rows: Vec<PageRow> = query
            .order(objects::last_seq.asc())
            .limit(batch)
            .select((
                objects::id,
                objects::tlp,
                objects::recipients,
                objects::status,
                objects::submitter_org,
                objects::anonymous,
                objects::last_seq,
                object_versions::recorded_at,
                object_versions::stix,
            ))
            .load(conn)?;
        let exhausted = (rows.len() as i64) < batch;
        for row in rows {
            scanned += 1;
            cursor = row.last_seq;
            let access = Access::parse(&row.tlp, &row.recipients, &row.status, &row.submitter_org, row.anonymous)?;
            if access.status != Status::Published || visibility(viewer, &access.item()) != Visibility::Full {
                continue;
            }
            // Sealed TLP:RED is read in the renkei client, not over TAXII.
            if crate::services::stored::stix_is_sealed(&row.stix) {
                continue;
            }
            if found.len() == selection.limit {
                more = true;
                break;
            }
            found.push(row);
        }
        if more || exhausted {
            break;
        }
        if scanned >= MAX_SCAN {
            // Bounded work per request: answer with what was found; `next` resumes here.
            more = true;
            break;
        }
    }
    let resume_after = if more { found.last().map_or(cursor, |r| r.last_seq).max(selection.after_seq) } else { cursor };
    // When the scan stopped early with nothing found, resume where it stopped.
    let resume_after = if more && found.is_empty() { cursor } else { resume_after };
    let entries = found
        .into_iter()
        .map(|row| Entry { id: row.id, seq: row.last_seq, date_added: row.recorded_at, stix: row.stix })
        .collect();
    Ok(Page { entries, more, resume_after })
}

/// The first sequence of a version added after `time` (a TAXII timestamp), or `None`
/// when none was. Version times strictly increase with the sequence.
pub fn first_seq_added_after(conn: &mut DbConn, time: &chrono::DateTime<chrono::Utc>) -> AppResult<Option<i64>> {
    let text = crate::store::time_text(time);
    Ok(object_versions::table
        .filter(object_versions::recorded_at.gt(text))
        .select(diesel::dsl::min(object_versions::seq))
        .first::<Option<i64>>(conn)?)
}

/// Every version of one item the viewer may read in full, oldest first; empty when the
/// item is not in the selection or not readable now (so a hidden item answers like a
/// missing one). A version that was pending, rejected or a tombstone is not one.
pub fn versions(conn: &mut DbConn, viewer: &Viewer<'_>, selection: &Selection, id: &str) -> AppResult<Vec<Entry>> {
    let current = Selection { ids: Some(vec![id.to_string()]), after_seq: 0, limit: 1, ..selection.clone() };
    if page(conn, viewer, &current)?.entries.is_empty() {
        return Ok(Vec::new());
    }
    #[derive(Queryable)]
    struct VersionColumns {
        seq: i64,
        tlp: String,
        recipients: String,
        status: String,
        submitter_org: String,
        anonymous: bool,
        recorded_at: String,
        stix: String,
    }
    let rows: Vec<VersionColumns> = object_versions::table
        .filter(object_versions::object_id.eq(id))
        .order(object_versions::seq.asc())
        .select((
            object_versions::seq,
            object_versions::tlp,
            object_versions::recipients,
            object_versions::status,
            object_versions::submitter_org,
            object_versions::anonymous,
            object_versions::recorded_at,
            object_versions::stix,
        ))
        .load(conn)?;
    let mut out = Vec::with_capacity(rows.len());
    for v in rows {
        let access = Access::parse(&v.tlp, &v.recipients, &v.status, &v.submitter_org, v.anonymous)?;
        // Each version is read under its own label: a version shared more narrowly
        // before a relabelling stays hidden from those the label did not admit then.
        if access.status == Status::Published
            && selection.labels.contains(&access.tlp)
            && visibility(viewer, &access.item()) == Visibility::Full
        {
            out.push(Entry { id: id.to_string(), seq: v.seq, date_added: v.recorded_at, stix: v.stix });
        }
    }
    Ok(out)
}
