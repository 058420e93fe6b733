//! The core roots: shared items (lists, `node`, lookup), the change feed, sharing and
//! revoking, organisations and the hub, the audit log, the ATT&CK catalog.

use async_graphql::{Context, Object, SimpleObject, ID};

use renkei_schema::model::indicator::normalize_any;
use renkei_schema::model::{Body, Kind};

use super::types::*;
use crate::auth::{Identity, Role};
use crate::error::{AppError, AppResult};
use crate::services::feed;
use crate::services::sharing::{self, ListFilter};
use crate::services::stored::{self, Sharing};
use crate::services::{attack, audit, directory, kinds};
use crate::state::{Hub, Metrics};
use crate::store::parse_time;
use renkei_schema::errors::Code;

use super::context::*;
use super::{guard, moderation_api, render, sightings_api};

#[derive(SimpleObject)]
pub struct Me {
    pub organization: Organization,
    pub role: RoleGql,
}

#[derive(SimpleObject, Clone)]
pub struct Organization {
    pub id: ID,
    pub name: String,
    pub sector: String,
    pub is_coordinator: bool,
    /// Coordinators only.
    pub created_at: Option<String>,
    /// What the moderation policy routes this organisation's submissions by;
    /// coordinators only.
    pub trust: Option<moderation_api::TrustGql>,
}

#[derive(SimpleObject)]
pub struct HubInfo {
    pub id: String,
    pub name: String,
    /// The Ed25519 public key (base64url) the hub signs with now.
    pub public_key: String,
    /// Every key the hub has signed with, oldest first, the last being `publicKey`: a
    /// new follower checks each announcement with the key before and pins them all, so
    /// versions signed before a rotation verify too (`renkei_schema::rotation`).
    pub signing_keys: Vec<HubSigningKey>,
}

/// One of the hub's signing keys.
#[derive(SimpleObject)]
pub struct HubSigningKey {
    pub public_key: String,
    /// The first sequence number of the change feed it signs.
    pub from_seq: String,
    /// The announcement that made it current (canonical JSON), signed by the key
    /// before; null for the first key.
    pub announcement: Option<String>,
    pub signature: Option<String>,
}

#[derive(SimpleObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub end_cursor: Option<String>,
}

macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty) => {
        #[derive(SimpleObject)]
        pub struct $edge {
            pub cursor: String,
            pub node: $node,
        }
        #[derive(SimpleObject)]
        pub struct $conn {
            pub edges: Vec<$edge>,
            pub nodes: Vec<$node>,
            pub page_info: PageInfo,
        }
    };
}
connection!(IndicatorConnection, IndicatorEdge, Indicator);
connection!(TechniqueConnection, TechniqueEdge, Technique);
connection!(IncidentConnection, IncidentEdge, Incident);
connection!(AdvisoryConnection, AdvisoryEdge, Advisory);

#[derive(SimpleObject)]
pub struct LookupResult {
    /// The value as given.
    pub input: String,
    pub matches: Vec<Indicator>,
}

#[derive(SimpleObject)]
pub struct Change {
    /// The hub sequence number of this version.
    pub seq: String,
    pub id: ID,
    /// indicator, technique, incident or advisory.
    #[graphql(name = "type")]
    pub kind: String,
    pub version: i64,
    pub tlp: TlpGql,
    /// A tombstone: delete the item (revoked, or no longer visible to you).
    pub deleted: bool,
    /// The STIX 2.1 JSON of the version; null on tombstones.
    pub object: Option<Json>,
    /// The origin hub's signature over the canonical JSON of `object`: an Ed25519
    /// signature over the Merkle root of the batch the version was published in, with
    /// the version's inclusion proof (`rk1.<index>.<size>.<signature>.<proof>`; see
    /// renkei-schema's `sign` module). Verifies alone against `signingKey`.
    pub signature: Option<String>,
    /// The hub the version comes from: this hub for what it publishes, a peer hub for
    /// what it received (the hub re-signs nothing it receives); null on tombstones.
    pub origin_hub: Option<String>,
    /// The Ed25519 public key (base64url) that verifies `signature`: for this hub's own
    /// entries, the hub's key at their `seq` (after a rotation, older versions keep the
    /// key that signed them: `hub { signingKeys }`); the origin hub's key, as this hub
    /// pinned it, for received ones. A client may pin it per origin hub in turn. Null on
    /// tombstones.
    pub signing_key: Option<String>,
}

#[derive(SimpleObject)]
pub struct Revoked {
    pub id: ID,
    pub version: i64,
    pub status: StatusGql,
}

#[derive(SimpleObject)]
pub struct ChangePage {
    pub items: render::ChangeItems,
    /// Pass as `after` to resume.
    pub cursor: String,
    pub has_more: bool,
}

/// A feed entry as the API shows it (the `changes` page and the live `changes`
/// subscription): with the hub it comes from and the key that verifies it.
pub(crate) fn change_of(h: &Hub, i: feed::FeedItem) -> AppResult<Change> {
    let (origin_hub, signing_key) = crate::live::origin_and_key(h, &i);
    Ok(Change {
        seq: i.seq.to_string(),
        id: ID(i.id),
        kind: i.kind,
        version: i.revision,
        tlp: tlp_of(&i.tlp)?,
        deleted: i.deleted,
        object: i.stix.map(Json::Text),
        signature: i.signature,
        origin_hub,
        signing_key,
    })
}

#[derive(SimpleObject)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: String,
    pub actor_org: Option<String>,
    /// The actor (organisation and address) is withheld: the entry concerns an item
    /// whose submitter the caller may not learn (an anonymous TLP:RED item it is not
    /// named on), and that submitter acted. The operator sees it with `audit show`.
    pub actor_withheld: bool,
    /// The name the acting token was issued with (`token issue --name`): the person or
    /// system that acted. Null when the actor is withheld or the token has none.
    pub actor_token_name: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: Json,
    pub source: Option<String>,
    pub hash: String,
}

#[derive(SimpleObject)]
pub struct CatalogTechnique {
    pub attack_id: String,
    pub name: String,
    pub domain: String,
    pub tactics: Vec<String>,
    pub platforms: Vec<String>,
    pub is_subtechnique: bool,
    pub revoked: bool,
    pub deprecated: bool,
}

#[derive(SimpleObject)]
pub struct CatalogEntry {
    pub attack_id: String,
    pub name: String,
    pub domain: Option<String>,
}

#[derive(SimpleObject)]
pub struct CatalogRelation {
    /// targets, mitigates or subtechnique-of.
    pub kind: String,
    pub source_id: String,
    pub target_id: String,
}

fn json_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

/// The ATT&CK catalog loaded with `renkei-hub attack import`.
pub struct AttackCatalogView;

#[Object]
impl AttackCatalogView {
    #[graphql(complexity = "1000 * child_complexity")]
    async fn techniques(
        &self,
        ctx: &Context<'_>,
        domain: Option<String>,
    ) -> async_graphql::Result<Vec<CatalogTechnique>> {
        let rows = hub(ctx).db(move |_, c| attack::techniques(c, domain.as_deref())).await?;
        Ok(rows
            .into_iter()
            .map(|t| CatalogTechnique {
                tactics: json_list(&t.tactics),
                platforms: json_list(&t.platforms),
                attack_id: t.attack_id,
                name: t.name,
                domain: t.domain,
                is_subtechnique: t.is_subtechnique,
                revoked: t.revoked,
                deprecated: t.deprecated,
            })
            .collect())
    }

    /// ATT&CK for ICS assets (A0001…).
    #[graphql(complexity = "100 * child_complexity")]
    async fn assets(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CatalogEntry>> {
        let rows = hub(ctx).db(|_, c| attack::assets(c)).await?;
        Ok(rows.into_iter().map(|a| CatalogEntry { attack_id: a.attack_id, name: a.name, domain: None }).collect())
    }

    #[graphql(complexity = "50 * child_complexity")]
    async fn tactics(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CatalogEntry>> {
        let rows = hub(ctx).db(|_, c| attack::tactics(c)).await?;
        Ok(rows
            .into_iter()
            .map(|t| CatalogEntry { attack_id: t.attack_id, name: t.name, domain: Some(t.domain) })
            .collect())
    }

    #[graphql(complexity = "300 * child_complexity")]
    async fn mitigations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<CatalogEntry>> {
        let rows = hub(ctx).db(|_, c| attack::mitigations(c)).await?;
        Ok(rows
            .into_iter()
            .map(|m| CatalogEntry { attack_id: m.attack_id, name: m.name, domain: Some(m.domain) })
            .collect())
    }

    /// Relations by kind (`targets`: technique → ICS asset; `mitigates`; `subtechnique-of`).
    #[graphql(complexity = "5000 * child_complexity")]
    async fn relations(
        &self,
        ctx: &Context<'_>,
        kind: Option<String>,
        source_id: Option<String>,
    ) -> async_graphql::Result<Vec<CatalogRelation>> {
        let rows = hub(ctx).db(move |_, c| attack::relations(c, kind.as_deref(), source_id.as_deref())).await?;
        Ok(rows
            .into_iter()
            .map(|r| CatalogRelation { kind: r.kind, source_id: r.source_id, target_id: r.target_id })
            .collect())
    }
}

#[derive(Default)]
pub struct CoreQuery;

#[Object]
impl CoreQuery {
    /// Who the token belongs to.
    async fn me(&self, ctx: &Context<'_>) -> async_graphql::Result<Me> {
        let id = identity(ctx)?;
        let org_id = id.org_id.clone();
        let orgs = hub(ctx).db(|_, c| directory::list_orgs(c)).await?;
        let org = orgs.into_iter().find(|o| o.id == org_id).ok_or_else(|| AppError::not_found("organisation"))?;
        let role = match id.role {
            Role::Coordinator => RoleGql::Coordinator,
            Role::Analyst => RoleGql::Analyst,
            Role::Procurement => RoleGql::Procurement,
            Role::Peer => return Err(AppError::forbidden("read this as a peer hub").into()),
        };
        Ok(Me { organization: moderation_api::organization_of(org, id.is_coordinator()), role })
    }

    /// This hub and its signing key.
    async fn hub(&self, ctx: &Context<'_>) -> async_graphql::Result<HubInfo> {
        identity(ctx)?;
        let h = hub(ctx);
        let keys = h.db(|_, c| crate::services::identity::published(c)).await?;
        Ok(HubInfo {
            id: h.hub_id.clone(),
            name: h.config.hub_name.clone(),
            // The database's current key (another replica may have rotated it).
            public_key: keys.last().map_or_else(|| h.keys.signing.public_key(), |k| k.public_key.clone()),
            signing_keys: keys
                .into_iter()
                .map(|k| HubSigningKey {
                    public_key: k.public_key,
                    from_seq: k.from_seq.to_string(),
                    announcement: k.announcement,
                    signature: k.signature,
                })
                .collect(),
        })
    }

    /// Member organisations: coordinators see every field, members a directory.
    async fn organizations(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<Organization>> {
        let id = identity(ctx)?;
        let rows = hub(ctx).db(|_, c| directory::list_orgs(c)).await?;
        Ok(rows.into_iter().map(|o| moderation_api::organization_of(o, id.is_coordinator())).collect())
    }

    #[graphql(complexity = "first.unwrap_or(100).max(1) as usize * child_complexity")]
    async fn indicators(
        &self,
        ctx: &Context<'_>,
        filter: Option<IndicatorFilter>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IndicatorConnection> {
        let policy = &hub(ctx).config.indicators;
        let filter = match filter {
            Some(f) => {
                let min =
                    match f.min_score {
                        Some(m) => Some(u8::try_from(m).ok().filter(|m| *m <= 100).ok_or_else(|| {
                            AppError::invalid("minScore is 0–100", "minScoreは0〜100で指定してください")
                        })?),
                        None if f.active => Some(policy.active_min_score),
                        None => None,
                    };
                Some(ListFilter {
                    indicator_type: f.indicator_type.map(Into::into),
                    tlp: f.tlp.map(Into::into),
                    include_revoked: f.include_revoked,
                    active: f.active,
                    min_score: min.map(|min| sharing::ScoreFloor { min, half_life_days: policy.half_life_days }),
                })
            }
            None => None,
        };
        identity(ctx)?.require_indicators()?;
        let (items, page_info) = list_kind(ctx, Kind::Indicator, filter.unwrap_or_default(), first, after).await?;
        let mut edges = Vec::new();
        for (cursor, item) in items {
            if let SharedItem::Indicator(node) = item {
                edges.push(IndicatorEdge { cursor, node });
            }
        }
        let ahead = ctx.look_ahead();
        let wants = |field: &str| {
            ahead.field("nodes").field(field).exists() || ahead.field("edges").field("node").field(field).exists()
        };
        if wants("sightings") || wants("score") {
            let mut nodes: Vec<&mut Indicator> = edges.iter_mut().map(|e| &mut e.node).collect();
            sightings_api::preload(ctx, &mut nodes).await?;
        }
        let nodes = edges.iter().map(|e| e.node.clone()).collect();
        Ok(IndicatorConnection { edges, nodes, page_info })
    }

    #[graphql(complexity = "first.unwrap_or(100).max(1) as usize * child_complexity")]
    async fn techniques(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<TechniqueConnection> {
        let (items, page_info) = list_kind(ctx, Kind::Technique, ListFilter::default(), first, after).await?;
        let mut edges = Vec::new();
        for (cursor, item) in items {
            if let SharedItem::Technique(node) = item {
                edges.push(TechniqueEdge { cursor, node });
            }
        }
        let nodes = edges.iter().map(|e| e.node.clone()).collect();
        Ok(TechniqueConnection { edges, nodes, page_info })
    }

    #[graphql(complexity = "first.unwrap_or(100).max(1) as usize * child_complexity")]
    async fn incidents(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<IncidentConnection> {
        let (items, page_info) = list_kind(ctx, Kind::Incident, ListFilter::default(), first, after).await?;
        let mut edges = Vec::new();
        for (cursor, item) in items {
            if let SharedItem::Incident(node) = item {
                edges.push(IncidentEdge { cursor, node });
            }
        }
        let nodes = edges.iter().map(|e| e.node.clone()).collect();
        Ok(IncidentConnection { edges, nodes, page_info })
    }

    #[graphql(complexity = "first.unwrap_or(100).max(1) as usize * child_complexity")]
    async fn advisories(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<AdvisoryConnection> {
        let (items, page_info) = list_kind(ctx, Kind::Advisory, ListFilter::default(), first, after).await?;
        let mut edges = Vec::new();
        for (cursor, item) in items {
            if let SharedItem::Advisory(node) = item {
                edges.push(AdvisoryEdge { cursor, node });
            }
        }
        let nodes = edges.iter().map(|e| e.node.clone()).collect();
        Ok(AdvisoryConnection { edges, nodes, page_info })
    }

    /// One shared object by id; null if it does not exist or the caller may not see it.
    async fn node(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<SharedItem>> {
        let who = identity(ctx)?;
        let caller = who.clone();
        let _lane = guard::lane(ctx).await;
        let found = hub(ctx)
            .db(move |_, c| {
                let row = stored::get(c, &caller.viewer(), &id)?;
                let names = directory::org_names(c)?;
                Ok((row, names))
            })
            .await?;
        match found {
            (Some(row), names) => {
                guard::charge_rows(ctx, std::slice::from_ref(&row))?;
                Ok(to_items(&who, vec![row], &names)?.pop())
            }
            (None, _) => Ok(None),
        }
    }

    /// Exact match of up to 1,000 raw values (any indicator type) after normalisation.
    #[graphql(complexity = "values.len().max(1) * child_complexity")]
    async fn lookup(&self, ctx: &Context<'_>, values: Vec<String>) -> async_graphql::Result<render::LookupResults> {
        let who = identity(ctx)?;
        who.require_indicators()?;
        let h = hub(ctx);
        sharing::check_lookup_size(values.len(), h.config.limits.max_lookup_values)?;
        h.index.wait_ready(std::time::Duration::from_secs(30)).await?;
        let candidates: Vec<_> = values.iter().map(|v| normalize_any(v)).collect();
        let found = h.index.lookup(&who.viewer(), &candidates)?;
        // What the index holds answers most lookups (`matches { id tlp value }`);
        // any other field of a match is read from the database, checked again there.
        let index_answers = ctx
            .look_ahead()
            .field("matches")
            .selection_fields()
            .iter()
            .all(|m| m.selection_set().all(|f| Indicator::FROM_INDEX.contains(&f.name())));
        if index_answers {
            return Ok(render::LookupResults::FromIndex(values.into_iter().zip(found).collect()));
        }
        let ids: Vec<String> = found
            .iter()
            .flatten()
            .map(|f| f.id.clone())
            .collect::<std::collections::HashSet<_>>()
            .into_iter()
            .collect();
        let caller = who.clone();
        let _lane = guard::lane(ctx).await;
        let (rows, names) = h
            .db(move |_, c| {
                let rows = stored::get_many(c, &caller.viewer(), &ids)?;
                let names = if rows.is_empty() { Default::default() } else { directory::org_names(c)? };
                Ok((rows, names))
            })
            .await?;
        guard::charge_rows(ctx, &rows)?;
        let mut by_id = std::collections::HashMap::with_capacity(rows.len());
        for item in to_items(&who, rows, &names)? {
            if let SharedItem::Indicator(x) = item {
                by_id.insert(x.shared.id.0.clone(), x);
            }
        }
        Ok(render::LookupResults::Full(
            values
                .into_iter()
                .zip(found)
                .map(|(input, hits)| LookupResult {
                    input,
                    matches: hits.iter().filter_map(|f| by_id.get(&f.id).cloned()).collect(),
                })
                .collect(),
        ))
    }

    /// The change feed: versions the caller may see after `after`, in sequence order,
    /// with tombstones for what it may no longer hold. Resumable from any cursor.
    #[graphql(complexity = "limit.unwrap_or(1000).max(1) as usize * child_complexity")]
    async fn changes(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
        limit: Option<i32>,
    ) -> async_graphql::Result<ChangePage> {
        let who = identity(ctx)?;
        let h = hub(ctx);
        let after = parse_cursor(after.as_deref())?;
        let limit = page_size(limit, h.config.limits.max_changes_page, 1000)?;
        // Aliased feeds of one request load one after another, each within what the
        // answer's budget has left: the page ends early there (`hasMore`, the cursor at
        // its last item), so nothing is skipped and one request holds no more than the
        // budget plus one batch of rows.
        let lane = guard::lane(ctx).await;
        let budget = guard::budget(ctx);
        let max_bytes = budget.map_or(usize::MAX, guard::AnswerBudget::left);
        let page = if max_bytes == 0 {
            feed::FeedPage { items: Vec::new(), cursor: after, has_more: true, bytes: 0 }
        } else {
            h.db(move |_, c| {
                let scan_cap = limit.saturating_mul(20).max(10_000);
                feed::changes(c, &who.viewer(), who.may_read_indicators(), after, limit, scan_cap, max_bytes)
            })
            .await?
        };
        if let Some(budget) = budget {
            budget.take_up_to(page.bytes);
        }
        drop(lane);
        let (page_items, cursor, has_more) = (page.items, page.cursor, page.has_more);
        Metrics::add(&h.metrics.feed_items_served, page_items.len() as u64);
        let items = page_items.into_iter().map(|i| change_of(h, i)).collect::<AppResult<Vec<_>>>()?;
        Ok(ChangePage { items: render::ChangeItems(items), cursor: cursor.to_string(), has_more })
    }

    /// The MITRE ATT&CK catalog (techniques, ICS assets, tactics, mitigations, relations).
    async fn attack(&self, ctx: &Context<'_>) -> async_graphql::Result<AttackCatalogView> {
        identity(ctx)?;
        Ok(AttackCatalogView)
    }

    /// The audit log, newest first. Coordinators only. Entries about a shared item
    /// follow the item's policy: where the caller may not learn who submitted it, the
    /// submitter's own entries about it do not name their actor (`actorWithheld`).
    #[graphql(complexity = "limit.unwrap_or(100).max(1) as usize * child_complexity")]
    async fn audit_log(
        &self,
        ctx: &Context<'_>,
        before: Option<i64>,
        limit: Option<i32>,
    ) -> async_graphql::Result<Vec<AuditEntry>> {
        let who = identity(ctx)?;
        require_coordinator(&who, "read the audit log")?;
        let limit = page_size(limit, 1000, 100)? as i64;
        let (rows, names) = hub(ctx)
            .db(move |_, c| {
                let rows = audit::recent_for(c, &who.viewer(), before, limit)?;
                // Withheld entries carry no token, so their actor stays unnamed.
                let tokens: Vec<&str> = rows.iter().filter_map(|s| s.row.actor_token.as_deref()).collect();
                let names = directory::token_names(c, &tokens)?;
                Ok((rows, names))
            })
            .await?;
        Ok(rows
            .into_iter()
            .map(|shown| {
                let r = shown.row;
                AuditEntry {
                    seq: r.seq,
                    at: r.at,
                    actor_org: r.actor_org,
                    actor_withheld: shown.actor_withheld,
                    actor_token_name: r.actor_token.as_ref().and_then(|t| names.get(t).cloned()),
                    action: r.action,
                    target: r.target,
                    detail: Json::Text(r.detail),
                    source: r.source,
                    hash: r.hash,
                }
            })
            .collect())
    }
}

async fn list_kind(
    ctx: &Context<'_>,
    kind: Kind,
    filter: ListFilter,
    first: Option<i32>,
    after: Option<String>,
) -> AppResult<(Vec<(String, SharedItem)>, PageInfo)> {
    let who = identity(ctx)?;
    let h = hub(ctx);
    let first = page_size(first, h.config.limits.max_page, 100)?;
    let after = parse_cursor(after.as_deref())?;
    let caller = who.clone();
    let _lane = guard::lane(ctx).await;
    let ((rows, has_next), names) = h
        .db(move |_, c| {
            let page = sharing::list(c, &caller.viewer(), kind, &filter, first, after)?;
            let names = directory::org_names(c)?;
            Ok((page, names))
        })
        .await?;
    guard::charge_rows(ctx, &rows)?;
    let cursors: Vec<String> = rows.iter().map(|r| r.first_seq.to_string()).collect();
    let end_cursor = cursors.last().cloned();
    let items = to_items(&who, rows, &names)?;
    Ok((cursors.into_iter().zip(items).collect(), PageInfo { has_next_page: has_next, end_cursor }))
}

fn sharing_of(input: SharingInput) -> AppResult<Sharing> {
    let valid_until = match &input.valid_until {
        Some(s) => Some(parse_time(s).ok_or_else(|| {
            AppError::invalid("validUntil is not an RFC 3339 time", "validUntilがRFC 3339形式の日時ではありません")
        })?),
        None => None,
    };
    let confidence = match input.confidence {
        Some(c) if (0..=100).contains(&c) => Some(c as u8),
        Some(_) => return Err(AppError::invalid("confidence is 0–100", "確信度は0〜100で指定してください")),
        None => None,
    };
    Ok(Sharing {
        tlp: input.tlp.into(),
        recipients: input.recipients.into_iter().map(|r| r.0).collect(),
        anonymous: input.anonymous,
        confidence,
        valid_until,
        labels: input.labels,
    })
}

/// Publishes bodies built (and validated) inside the same blocking call.
async fn publish<F>(ctx: &Context<'_>, build: F, sharing: SharingInput) -> AppResult<Vec<SharedItem>>
where
    F: FnOnce(&mut crate::store::DbConn, &Identity, &mut Sharing) -> AppResult<Vec<Body>> + Send + 'static,
{
    publish_as(ctx, build, sharing, false).await
}

/// Shares a supplier assessment: procurement teams may, as well as analysts.
pub(crate) async fn publish_assessment(
    ctx: &Context<'_>,
    input: crate::services::suppliers::AssessmentInput,
    sharing: SharingInput,
) -> AppResult<SharedItem> {
    let build = move |c: &mut crate::store::DbConn, who: &Identity, sharing: &mut Sharing| {
        let (body, valid_until) = crate::services::suppliers::assessment_body(c, who, input)?;
        // The assessment's own validity is the item's.
        sharing.valid_until = Some(valid_until);
        Ok(vec![body])
    };
    publish_as(ctx, build, sharing, true).await?.pop().ok_or_else(|| AppError::internal("publish returned no item"))
}

async fn publish_as<F>(
    ctx: &Context<'_>,
    build: F,
    sharing: SharingInput,
    procurement: bool,
) -> AppResult<Vec<SharedItem>>
where
    F: FnOnce(&mut crate::store::DbConn, &Identity, &mut Sharing) -> AppResult<Vec<Body>> + Send + 'static,
{
    let who = identity(ctx)?;
    if !(who.may_share() || (procurement && who.role == Role::Procurement)) {
        return Err(AppError::forbidden("share items"));
    }
    let force_allowlisted = sharing.force_allowlisted;
    let mut sharing = sharing_of(sharing)?;
    let h = hub(ctx);
    let caller = who.clone();
    let (rows, names) = h
        .db(move |hub, c| {
            let bodies = build(c, &caller, &mut sharing)?;
            let published = crate::actions::share(hub, c, &caller, bodies, sharing, force_allowlisted)?;
            let names = directory::org_names(c)?;
            Ok((published, names))
        })
        .await?;
    Metrics::add(&h.metrics.objects_shared, rows.len() as u64);
    h.note_writes(rows.len() as u64);
    let viewer = who.viewer();
    rows.into_iter().map(|p| shared_item_of(&viewer, &p.row, p.envelope, p.body, &names)).collect()
}

fn single<T>(items: Vec<SharedItem>, pick: impl Fn(SharedItem) -> Option<T>) -> AppResult<T> {
    items.into_iter().next().and_then(pick).ok_or_else(|| AppError::internal("publish returned no item"))
}

#[derive(Default)]
pub struct CoreMutation;

#[Object]
impl CoreMutation {
    /// Shares a batch of indicators (all or nothing; bad entries are named by index).
    async fn share_indicators(
        &self,
        ctx: &Context<'_>,
        input: Vec<IndicatorInput>,
        sharing: SharingInput,
    ) -> async_graphql::Result<Vec<Indicator>> {
        let max = hub(ctx).config.limits.max_batch;
        if input.len() > max {
            return Err(AppError::new(
                Code::BatchTooLarge,
                format!("at most {max} indicators per call; got {}", input.len()),
                format!("1回に共有できる指標は{max}件までです（{}件指定されました）", input.len()),
            )
            .into());
        }
        if input.is_empty() {
            return Err(AppError::invalid("the batch is empty", "指標が指定されていません").into());
        }
        let raw: Vec<_> = input.into_iter().map(|i| (i.indicator_type.into(), i.value, i.description)).collect();
        let items = publish(ctx, move |_, _, _| sharing::normalize_indicators(raw), sharing).await?;
        Ok(items
            .into_iter()
            .filter_map(|i| match i {
                SharedItem::Indicator(x) => Some(x),
                _ => None,
            })
            .collect())
    }

    /// Shares an attack technique as seen by the member.
    async fn share_technique(
        &self,
        ctx: &Context<'_>,
        input: TechniqueInput,
        sharing: SharingInput,
    ) -> async_graphql::Result<Technique> {
        let input = kinds::TechniqueInput {
            attack_id: input.attack_id,
            name: input.name,
            tactics: input.tactics,
            narrative: input.narrative,
            platforms: input.platforms,
            ics_asset_types: input.ics_asset_types,
        };
        let items = publish(ctx, move |c, _, _| Ok(vec![kinds::technique_body(c, input)?]), sharing).await?;
        Ok(single(items, |i| match i {
            SharedItem::Technique(x) => Some(x),
            _ => None,
        })?)
    }

    /// Reports an incident.
    async fn report_incident(
        &self,
        ctx: &Context<'_>,
        input: IncidentInput,
        sharing: SharingInput,
    ) -> async_graphql::Result<Incident> {
        let input = kinds::IncidentInput {
            title: input.title,
            summary: input.summary,
            sector: input.sector,
            occurred_at: input.occurred_at,
            service_impact: input.service_impact.into(),
            impact_description: input.impact_description,
            technique_ids: input.technique_ids,
            indicator_ids: input.indicator_ids.into_iter().map(|i| i.0).collect(),
            supplier_ids: input.supplier_ids.into_iter().map(|i| i.0).collect(),
        };
        let items = publish(
            ctx,
            move |c, who, sharing| Ok(vec![kinds::incident_body(c, &who.viewer(), sharing.tlp, input)?]),
            sharing,
        )
        .await?;
        Ok(single(items, |i| match i {
            SharedItem::Incident(x) => Some(x),
            _ => None,
        })?)
    }

    /// Shares a vulnerability advisory.
    async fn share_advisory(
        &self,
        ctx: &Context<'_>,
        input: AdvisoryInput,
        sharing: SharingInput,
    ) -> async_graphql::Result<Advisory> {
        let input = kinds::AdvisoryInput {
            cve_id: input.cve_id,
            title: input.title,
            description: input.description,
            affected: input
                .affected
                .into_iter()
                .map(|a| kinds::AffectedInput {
                    cpe: a.cpe,
                    version_start_including: a.version_start_including,
                    version_start_excluding: a.version_start_excluding,
                    version_end_including: a.version_end_including,
                    version_end_excluding: a.version_end_excluding,
                })
                .collect(),
            cvss_vector: input.cvss_vector,
            exploitation: input.exploitation.into(),
            fixes: input.fixes,
            workarounds: input.workarounds,
        };
        let items = publish(ctx, move |_, _, _| Ok(vec![kinds::advisory_body(input)?]), sharing).await?;
        Ok(single(items, |i| match i {
            SharedItem::Advisory(x) => Some(x),
            _ => None,
        })?)
    }

    /// Revokes an item (its submitter or a coordinator); followers get a tombstone.
    /// Answers with the new version's id and revision only: a coordinator may revoke a
    /// RED item whose content it may not read.
    async fn revoke(&self, ctx: &Context<'_>, id: ID, reason: String) -> async_graphql::Result<Revoked> {
        let who = identity(ctx)?;
        let row = hub(ctx).db(move |hub, c| crate::actions::revoke(hub, c, &who, &id, &reason)).await?;
        Ok(Revoked { id: ID(row.id), version: row.revision, status: StatusGql::Revoked })
    }
}
