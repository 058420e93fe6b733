//! What members and coordinators do to shared items, as every surface asks for it
//! (GraphQL today; TAXII and the web console call the same functions): each runs the
//! services' write in its transaction and then brings what this process keeps in memory
//! (the lookup index) up to date with what was committed. Call them inside `Hub::db`.
//!
//! Resolvers turn their input into plain values and call one of these; they do not
//! route, check allowlists or touch the index themselves.

use diesel::Connection as _;
use renkei_schema::model::Body;
use renkei_schema::tlp::{may_force_past_allowlist, Tlp};

use crate::auth::Identity;
use crate::error::{AppError, AppResult};
use crate::services::allowlist;
use crate::services::moderation::{self, Decision, Route};
use crate::services::revision::{self, Correction, Outcome};
use crate::services::sharing::{self, Published};
use crate::services::stored::Sharing;
use crate::state::Hub;
use crate::store::models::{ObjectRow, PendingChangeRow};
use crate::store::DbConn;

/// Shares new items (all of one kind) as one submission: the moderation policy routes
/// it, allowlisted indicators are refused (or, when the submitter forces them, queued
/// for a coordinator; RED cannot be forced, since RED is never queued), and everything
/// is stored, signed and sequenced in one transaction.
pub fn share(
    hub: &Hub,
    c: &mut DbConn,
    actor: &Identity,
    bodies: Vec<Body>,
    sharing: Sharing,
    force_allowlisted: bool,
) -> AppResult<Vec<Published>> {
    let kind = bodies.first().map(|b| b.kind()).ok_or_else(|| AppError::internal("nothing to publish"))?;
    let route = moderation::route(c, &hub.config.moderation, actor, kind, sharing.tlp)?;
    let mut routes = vec![route; bodies.len()];
    let matcher = hub.allowlists.matcher(c)?;
    let listed = allowlist::listed(&matcher, &bodies);
    let may_force = may_force_past_allowlist(sharing.tlp);
    let forced = force_allowlisted && may_force;
    if !listed.is_empty() && !forced {
        return Err(allowlist::refusal(&bodies, &listed, may_force));
    }
    for hit in listed {
        routes[hit.index] = Route::Queue(format!(
            "submitted past allowlist '{}' (entry {}) by the submitter's choice",
            hit.list, hit.entry
        ));
    }
    let valid_days = &hub.config.indicators.valid_days;
    let require_sealing = hub.config.sealing.require_for_red;
    let published =
        sharing::publish_new(c, &hub.signer(), actor, bodies, sharing, &routes, valid_days, require_sealing)?;
    hub.note_committed(published.iter().map(|p| &p.row))?;
    Ok(published)
}

/// Shares sealed TLP:RED items (`sharing::publish_sealed`): never moderated, never
/// matched against allowlists, never indexed (the hub cannot read them); stored, signed
/// and sequenced in one transaction.
pub fn share_sealed(
    hub: &Hub,
    c: &mut DbConn,
    actor: &Identity,
    items: Vec<sharing::SealedItem>,
    sharing: Sharing,
) -> AppResult<Vec<Published>> {
    let valid_days = &hub.config.indicators.valid_days;
    let published = sharing::publish_sealed(c, &hub.signer(), actor, items, sharing, valid_days)?;
    hub.note_committed(published.iter().map(|p| &p.row))?;
    Ok(published)
}

/// Revokes an item (its submitter or a coordinator).
pub fn revoke(hub: &Hub, c: &mut DbConn, actor: &Identity, id: &str, reason: &str) -> AppResult<ObjectRow> {
    let row = sharing::revoke(c, &hub.signer(), actor, id, reason)?;
    hub.note_committed([&row])?;
    Ok(row)
}

/// A coordinator's decision on a pending submission.
pub fn decide(
    hub: &Hub,
    c: &mut DbConn,
    actor: &Identity,
    id: &str,
    decision: Decision,
    reviewed_version: Option<i64>,
) -> AppResult<ObjectRow> {
    let row = moderation::decide(c, &hub.signer(), actor, id, decision, reviewed_version)?;
    hub.note_committed([&row])?;
    Ok(row)
}

/// A coordinator's decision on a queued change of a published item.
pub fn decide_change(
    hub: &Hub,
    c: &mut DbConn,
    actor: &Identity,
    change_id: &str,
    decision: Decision,
) -> AppResult<(PendingChangeRow, Option<ObjectRow>)> {
    let (change, row) = revision::decide_change(c, &hub.signer(), actor, change_id, decision)?;
    if let Some(row) = &row {
        hub.note_committed([row])?;
    }
    Ok((change, row))
}

/// Relabels an item; a change that widens its audience may be queued (see
/// `revision::change_label`).
pub fn change_label(
    hub: &Hub,
    c: &mut DbConn,
    actor: &Identity,
    id: &str,
    tlp: Tlp,
    recipients: Vec<String>,
) -> AppResult<Outcome> {
    let outcome = revision::change_label(c, &hub.signer(), &hub.config.moderation, actor, id, tlp, recipients)?;
    applied(hub, outcome)
}

/// Corrects an item's content or sharing options; may be queued like a relabelling.
pub fn correct(hub: &Hub, c: &mut DbConn, actor: &Identity, id: &str, fix: &Correction) -> AppResult<Outcome> {
    let outcome = revision::correct(c, &hub.signer(), &hub.config.moderation, actor, id, fix)?;
    applied(hub, outcome)
}

fn applied(hub: &Hub, outcome: Outcome) -> AppResult<Outcome> {
    if let Outcome::Applied(row) = &outcome {
        hub.note_committed([row])?;
    }
    Ok(outcome)
}

/// Imports what a STIX bundle, TAXII POST or MISP event proposes, as one transaction:
/// every candidate is checked like the typed mutations' input (`services::import::plan`);
/// allowlisted indicators are refused one by one (an import never forces past an
/// allowlist); the new items are shared in submissions of one kind and sharing each,
/// routed by the moderation policy, signed and sequenced; new versions of the caller's
/// own items are corrections. Returns one report per candidate, in order.
pub fn import(
    hub: &Hub,
    c: &mut DbConn,
    actor: &Identity,
    candidates: Vec<renkei_schema::import::Candidate>,
    defaults: &crate::services::import::Defaults,
) -> AppResult<Vec<crate::services::import::Report>> {
    use crate::services::import as imports;
    use std::collections::BTreeMap;

    let (reports, committed) = c.transaction(|c| -> AppResult<_> {
        let mut plan = imports::plan(c, actor, candidates, defaults)?;
        let matcher = hub.allowlists.matcher(c)?;
        let bodies: Vec<Body> = plan.new_items.iter().map(|n| n.body.clone()).collect();
        let listed = allowlist::listed(&matcher, &bodies);
        let mut refused: std::collections::HashSet<usize> = std::collections::HashSet::new();
        for hit in listed {
            let item = &plan.new_items[hit.index];
            let report = &mut plan.reports[item.report];
            report.outcome = imports::Outcome::Refused;
            report.code = Some(renkei_schema::errors::Code::Allowlisted);
            report.message = Some(format!("on allowlist '{}' (entry {})", hit.list, hit.entry));
            report.message_ja = Some(format!("許可リスト「{}」（項目 {}）に載っています", hit.list, hit.entry));
            refused.insert(hit.index);
        }
        let mut groups: BTreeMap<_, Vec<imports::NewItem>> = BTreeMap::new();
        for (i, item) in plan.new_items.into_iter().enumerate() {
            if !refused.contains(&i) {
                let key = imports::group_key(&item);
                groups.entry((key.0.as_str(), key.1, key.2, key.3)).or_default().push(item);
            }
        }
        let mut committed: Vec<ObjectRow> = Vec::new();
        let valid_days = &hub.config.indicators.valid_days;
        for ((_, tlp, _, _), items) in groups {
            let kind = items[0].body.kind();
            let route = moderation::route(c, &hub.config.moderation, actor, kind, tlp)?;
            let routes = vec![route; items.len()];
            let sharing = items[0].sharing.clone();
            let mut report_of = Vec::with_capacity(items.len());
            let mut bodies = Vec::with_capacity(items.len());
            let mut provided = Vec::with_capacity(items.len());
            for item in items {
                report_of.push(item.report);
                bodies.push(item.body);
                provided.push(item.provided);
            }
            let require_sealing = hub.config.sealing.require_for_red;
            let published = sharing::publish_new_as(
                c,
                &hub.signer(),
                actor,
                bodies,
                sharing,
                &routes,
                valid_days,
                require_sealing,
                &provided,
            )?;
            for (report, p) in report_of.into_iter().zip(published) {
                let line = &mut plan.reports[report];
                line.id = Some(p.row.id.clone());
                if p.row.status == renkei_schema::tlp::Status::Pending.as_str() {
                    line.outcome = imports::Outcome::Queued;
                }
                committed.push(p.row);
            }
        }
        for update in plan.updates {
            let outcome = revision::correct(c, &hub.signer(), &hub.config.moderation, actor, &update.id, &update.fix)?;
            let line = &mut plan.reports[update.report];
            match outcome {
                Outcome::Applied(row) => committed.push(row),
                Outcome::Queued(_) => line.outcome = imports::Outcome::Queued,
            }
        }
        Ok((plan.reports, committed))
    })?;
    hub.note_committed(committed.iter())?;
    Ok(reports)
}
