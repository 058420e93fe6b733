//! Sightings aggregates between hubs: how many of a hub's members saw an indicator (or
//! found it a false positive), naming none of them, signed by that hub.
//!
//! Each hub keeps a log of changes to what it knows of sightings (`sighting_changes`:
//! its members' reports, and aggregates received from peers). A peer reads that log from
//! its cursor (`GET /federation/sightings`) over a link that carries `sighting`; for each
//! (indicator, reporting hub) changed, it gets that hub's newest aggregate as the hub
//! signed it. Aggregates are keyed by reporting hub, so a hub's members are counted once
//! however many paths their aggregate takes, and a newer version replaces an older one.
//! What may travel is decided by the schema policy (`peer_may_learn_sightings`, on the
//! indicator's label and path), and like items an aggregate never goes back to a hub on
//! its path nor beyond `MAX_HOPS`.

use std::collections::{HashMap, HashSet};

use diesel::prelude::*;
use serde::{Deserialize, Serialize};

use renkei_schema::sign::Verifier;
use renkei_schema::tlp::{peer_may_learn_sightings, Tlp, MAX_HOPS};

use super::feed;
use super::links::{self, PeerRow, SIGHTING_KIND};
use super::pages::{self, Applied};
use super::Refusal;
use crate::error::{AppError, AppResult};
use crate::services::sightings::{self, HubAggregate};
use crate::services::stored::{Access, Signer};
use crate::store::models::ObjectRow;
use crate::store::schema::{objects, peer_status, received_sightings, sighting_changes};
use crate::store::{acquire_write_lock, now_text, DbConn};

/// One hub's aggregate of one indicator, as the feed carries it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SightingItem {
    pub indicator: String,
    pub reporting_hub: String,
    /// The reporting hub's key (the receiver checks it against the one it pinned).
    pub reporting_key: String,
    pub version: i64,
    /// The aggregate's canonical JSON, as the reporting hub signed it.
    pub aggregate: String,
    pub signature: String,
    /// Hubs the aggregate crossed before the sender, the reporting hub first (empty:
    /// the sender reported it).
    pub path: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SightingPage {
    pub hub_id: String,
    pub items: Vec<SightingItem>,
    pub cursor: String,
    pub has_more: bool,
}

/// Received aggregates as stored.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = received_sightings)]
struct ReceivedSighting {
    object_id: String,
    reporting_hub: String,
    version: i64,
    aggregate: String,
    signature: String,
    reporting_key: String,
    path: String,
    via_peer: String,
    received_at: String,
}

/// The sightings feed for a peer (already authorised, see `feed::authorize`).
pub fn feed(
    conn: &mut DbConn,
    local: &Signer<'_>,
    link: &PeerRow,
    peer_hub: &str,
    after: i64,
    limit: usize,
) -> AppResult<SightingPage> {
    if !link.kinds().iter().any(|k| k == SIGHTING_KIND) {
        return Err(AppError::forbidden("read sightings over a link that does not carry them"));
    }
    let changes: Vec<(i64, String, String)> = sighting_changes::table
        .filter(sighting_changes::seq.gt(after))
        .order(sighting_changes::seq.asc())
        .limit(limit as i64)
        .select((sighting_changes::seq, sighting_changes::object_id, sighting_changes::reporting_hub))
        .load(conn)?;
    let has_more = changes.len() == limit;
    let cursor = changes.last().map_or(after, |c| c.0);
    // The last change of each (indicator, reporting hub) in the page, in page order.
    let mut last: HashMap<(String, String), i64> = HashMap::new();
    for (seq, id, hub) in &changes {
        last.insert((id.clone(), hub.clone()), *seq);
    }
    let mut pairs: Vec<((String, String), i64)> = last.into_iter().collect();
    pairs.sort_by_key(|(_, seq)| *seq);
    let ids: Vec<String> = pairs.iter().map(|((id, _), _)| id.clone()).collect::<HashSet<_>>().into_iter().collect();
    let mut rows: HashMap<String, ObjectRow> = HashMap::new();
    for chunk in ids.chunks(500) {
        let found: Vec<ObjectRow> =
            objects::table.filter(objects::id.eq_any(chunk)).select(ObjectRow::as_select()).load(conn)?;
        rows.extend(found.into_iter().map(|r| (r.id.clone(), r)));
    }
    let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let paths = feed::paths_of(conn, &id_refs)?;
    let policy = link.link()?;
    // The schema policy decides, on the indicator as this hub holds it.
    let allowed = |id: &str| -> AppResult<bool> {
        let Some(row) = rows.get(id).filter(|r| r.kind == "indicator") else { return Ok(false) };
        let mut access = Access::of_object(row)?;
        access.path = paths.get(id).cloned().unwrap_or_default();
        Ok(peer_may_learn_sightings(peer_hub, policy, &access.item()))
    };
    let mut own: Vec<(String, i64)> = Vec::new();
    let mut forwarded: Vec<(String, String)> = Vec::new();
    for ((id, hub), seq) in &pairs {
        if !allowed(id)? {
            continue;
        }
        if hub == local.hub_id {
            own.push((id.clone(), *seq));
        } else {
            forwarded.push((id.clone(), hub.clone()));
        }
    }
    let own_ids: Vec<String> = own.iter().map(|(id, _)| id.clone()).collect();
    let summaries = sightings::local_summaries(conn, &own_ids)?;
    let mut items = Vec::with_capacity(own.len() + forwarded.len());
    let mut own_aggregates = Vec::with_capacity(own.len());
    for (id, seq) in &own {
        let summary = summaries.get(id).cloned().unwrap_or_default();
        own_aggregates.push(HubAggregate::new(id, local.hub_id, *seq, &summary).canonical()?);
    }
    // Signed with the hub's current key (another replica may have rotated it).
    let key = local.keys.follow(conn)?;
    let signatures = key.key.sign_batch(&own_aggregates);
    let own_key = key.public_key.clone();
    for (((id, seq), aggregate), signature) in own.iter().zip(own_aggregates).zip(signatures) {
        items.push(SightingItem {
            indicator: id.clone(),
            reporting_hub: local.hub_id.to_string(),
            reporting_key: own_key.clone(),
            version: *seq,
            aggregate,
            signature,
            path: Vec::new(),
        });
    }
    for (id, hub) in forwarded {
        let held: Option<ReceivedSighting> =
            received_sightings::table.find((&id, &hub)).select(ReceivedSighting::as_select()).first(conn).optional()?;
        let Some(r) = held else { continue };
        let path: Vec<String> = serde_json::from_str(&r.path).map_err(AppError::internal)?;
        // Never back to a hub it crossed (its reporting hub first), nor too far.
        if path.iter().any(|h| h == peer_hub) || path.len() >= MAX_HOPS {
            continue;
        }
        items.push(SightingItem {
            indicator: r.object_id,
            reporting_hub: r.reporting_hub,
            reporting_key: r.reporting_key,
            version: r.version,
            aggregate: r.aggregate,
            signature: r.signature,
            path,
        });
    }
    Ok(SightingPage { hub_id: local.hub_id.to_string(), items, cursor: cursor.to_string(), has_more })
}

/// An aggregate that passed its checks.
struct Checked {
    item: SightingItem,
    path: Vec<String>,
}

/// Applies a page of a peer's sightings feed: each aggregate checked (reporting hub not
/// this one nor on the path, its pinned key, its signature, its canonical form, an
/// indicator held here within the link's label), then stored with the link's sightings
/// cursor in one transaction. A version not newer than the one held changes nothing.
pub fn apply(conn: &mut DbConn, local: &Signer<'_>, link_name: &str, page: &SightingPage) -> AppResult<Applied> {
    let cursor: i64 = page.cursor.parse().map_err(|_| AppError::invalid("cursor", "カーソルが不正です"))?;
    let link = links::list_peers(conn)?
        .into_iter()
        .map(|(p, _)| p)
        .find(|p| p.name == link_name)
        .ok_or_else(|| AppError::not_found("peer"))?;
    let peer_hub = link.hub_id.clone().ok_or_else(|| AppError::internal("the peer's hub id is not known yet"))?;
    let carried = link.kinds().iter().any(|k| k == SIGHTING_KIND);
    let max_tlp: Tlp = link.max_tlp.parse().map_err(AppError::internal)?;
    let mut applied = Applied::default();
    let mut reasons: Vec<String> = Vec::new();
    let mut learned: HashMap<String, String> = HashMap::new();
    let mut verifiers: HashMap<String, Verifier> = HashMap::new();
    let mut accepted: Vec<Checked> = Vec::new();
    for item in &page.items {
        let refused =
            |reason: Refusal, why: String| (reason.to_string(), format!("sightings of {}: {why}", item.indicator));
        let verdict = (|| -> AppResult<Result<Vec<String>, (String, String)>> {
            if !carried {
                return Ok(Err(refused(Refusal::KindNotCarried, "the link does not carry sightings".into())));
            }
            let mut path = item.path.clone();
            path.push(peer_hub.clone());
            if item.reporting_hub == local.hub_id || path.iter().any(|h| h == local.hub_id) {
                return Ok(Err(refused(Refusal::OwnOrigin, "this hub reported them or is on their path".into())));
            }
            if path.first() != Some(&item.reporting_hub) || path.len() > MAX_HOPS {
                return Ok(Err(refused(Refusal::Malformed, "the path does not start at the reporting hub".into())));
            }
            let expected = links::expected_key(conn, &link, &peer_hub, &item.reporting_hub, &learned)?;
            if expected.as_ref().is_some_and(|k| *k != item.reporting_key) {
                return Ok(Err(refused(Refusal::OriginKeyMismatch, format!("reporting hub {}", item.reporting_hub))));
            }
            let verifier = match verifiers.entry(item.reporting_key.clone()) {
                std::collections::hash_map::Entry::Occupied(v) => v.into_mut(),
                std::collections::hash_map::Entry::Vacant(slot) => match Verifier::new(&item.reporting_key) {
                    Ok(v) => slot.insert(v),
                    Err(_) => return Ok(Err(refused(Refusal::BadSignature, "an unreadable key".into()))),
                },
            };
            if verifier.verify(item.aggregate.as_bytes(), &item.signature).is_err() {
                return Ok(Err(refused(
                    Refusal::BadSignature,
                    format!("signature of {} does not verify", item.reporting_hub),
                )));
            }
            if expected.is_none() {
                learned.insert(item.reporting_hub.clone(), item.reporting_key.clone());
            }
            let parsed: Option<HubAggregate> = serde_json::from_str(&item.aggregate).ok();
            let faithful = match &parsed {
                Some(a) => a.canonical()? == item.aggregate,
                None => false,
            };
            let Some(aggregate) = parsed.filter(|a| {
                faithful
                    && a.kind == sightings::AGGREGATE_TYPE
                    && a.indicator == item.indicator
                    && a.reporting_hub == item.reporting_hub
                    && a.version == item.version
            }) else {
                return Ok(Err(refused(
                    Refusal::Mismatch,
                    "the signed aggregate disagrees with the feed entry".into(),
                )));
            };
            let held: Option<(String, String)> = objects::table
                .find(&aggregate.indicator)
                .select((objects::kind, objects::tlp))
                .first(conn)
                .optional()?;
            let Some((_, tlp)) = held.filter(|(kind, _)| kind == "indicator") else {
                return Ok(Err(refused(Refusal::IndicatorNotHeld, "no such indicator here".into())));
            };
            let tlp: Tlp = tlp.parse().map_err(AppError::internal)?;
            if tlp > max_tlp || tlp > Tlp::Amber {
                return Ok(Err(refused(
                    Refusal::LabelNotCarried,
                    format!("{tlp} over a link carrying up to {max_tlp}"),
                )));
            }
            Ok(Ok(path))
        })()?;
        match verdict {
            Ok(path) => accepted.push(Checked { item: item.clone(), path }),
            Err((reason, why)) => {
                *applied.refused.entry(reason).or_default() += 1;
                reasons.push(why);
            }
        }
    }
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let now = now_text();
        for Checked { item, path } in accepted {
            let held: Option<i64> = received_sightings::table
                .find((&item.indicator, &item.reporting_hub))
                .select(received_sightings::version)
                .first(c)
                .optional()?;
            if held.is_some_and(|v| v >= item.version) {
                applied.unchanged += 1;
                continue;
            }
            diesel::delete(received_sightings::table.find((&item.indicator, &item.reporting_hub))).execute(c)?;
            diesel::insert_into(received_sightings::table)
                .values(&ReceivedSighting {
                    object_id: item.indicator.clone(),
                    reporting_hub: item.reporting_hub.clone(),
                    version: item.version,
                    aggregate: item.aggregate,
                    signature: item.signature,
                    reporting_key: item.reporting_key,
                    path: serde_json::to_string(&path).map_err(AppError::internal)?,
                    via_peer: link.name.clone(),
                    received_at: now.clone(),
                })
                .execute(c)?;
            // Onward to this hub's other peers, through its own sightings feed.
            sightings::note_change(c, &item.indicator, &item.reporting_hub)?;
            applied.received += 1;
        }
        pages::pin_keys(c, &learned, &link.name)?;
        let status = links::status_of(c, &link.name)?;
        diesel::update(peer_status::table.find(&link.name))
            .set((
                peer_status::sightings_cursor.eq(cursor),
                peer_status::refused.eq(pages::add_refusals(&status, &applied.refused)),
                peer_status::last_error.eq(reasons.first().map(|r| format!("refused {r}"))),
                peer_status::last_attempt_at.eq(Some(now.clone())),
            ))
            .execute(c)?;
        pages::audit_refusals(c, local.keys, &link.name, &applied.refused, &reasons)?;
        Ok(applied)
    })
}
