//! GraphQL for moderation: the queue, the decisions, the policy and trust levels.
//! Thin callers of `services::moderation`.

use async_graphql::{Context, Enum, InputObject, Object, SimpleObject, ID};

use renkei_schema::model::Kind;
use renkei_schema::tlp::Tlp;

use super::types::{shared_item, SharedItem, TlpGql};
use super::{hub, identity, page_size, Organization, PageInfo};
use crate::error::AppError;
use crate::services::directory;
use crate::services::moderation::{self, Action, Decision, Patch, Policy, Rule, Trust};
use crate::store::models::{ObjectRow, OrganizationRow};

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "TrustLevel")]
pub enum TrustGql {
    New,
    Standard,
    Trusted,
}

impl From<TrustGql> for Trust {
    fn from(t: TrustGql) -> Self {
        match t {
            TrustGql::New => Trust::New,
            TrustGql::Standard => Trust::Standard,
            TrustGql::Trusted => Trust::Trusted,
        }
    }
}

impl From<Trust> for TrustGql {
    fn from(t: Trust) -> Self {
        match t {
            Trust::New => TrustGql::New,
            Trust::Standard => TrustGql::Standard,
            Trust::Trusted => TrustGql::Trusted,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "ItemKind")]
pub enum KindGql {
    Indicator,
    Technique,
    Incident,
    Advisory,
    Assessment,
}

impl From<KindGql> for Kind {
    fn from(k: KindGql) -> Self {
        match k {
            KindGql::Indicator => Kind::Indicator,
            KindGql::Technique => Kind::Technique,
            KindGql::Incident => Kind::Incident,
            KindGql::Advisory => Kind::Advisory,
            KindGql::Assessment => Kind::Assessment,
        }
    }
}

impl From<Kind> for KindGql {
    fn from(k: Kind) -> Self {
        match k {
            Kind::Indicator => KindGql::Indicator,
            Kind::Technique => KindGql::Technique,
            Kind::Incident => KindGql::Incident,
            Kind::Advisory => KindGql::Advisory,
            Kind::Assessment => KindGql::Assessment,
        }
    }
}

#[derive(Enum, Copy, Clone, Eq, PartialEq, Debug)]
#[graphql(name = "ModerationAction")]
pub enum ActionGql {
    /// Published at once.
    Publish,
    /// Queued as pending for a coordinator.
    Queue,
}

impl From<ActionGql> for Action {
    fn from(a: ActionGql) -> Self {
        match a {
            ActionGql::Publish => Action::Publish,
            ActionGql::Queue => Action::Queue,
        }
    }
}

impl From<Action> for ActionGql {
    fn from(a: Action) -> Self {
        match a {
            Action::Publish => ActionGql::Publish,
            Action::Queue => ActionGql::Queue,
        }
    }
}

/// One rule of the moderation policy; an empty list matches anything.
#[derive(SimpleObject, InputObject, Clone, Debug)]
#[graphql(input_name = "ModerationRuleInput")]
pub struct ModerationRule {
    #[graphql(default)]
    pub trust: Vec<TrustGql>,
    #[graphql(default)]
    pub kinds: Vec<KindGql>,
    #[graphql(default)]
    pub tlp: Vec<TlpGql>,
    /// Only coordinator organisations' submissions (true) or members' (false).
    pub coordinator_org: Option<bool>,
    pub action: ActionGql,
}

/// The moderation policy: the first matching rule decides, else `default`.
/// TLP:RED submissions are never queued, whatever the rules say.
#[derive(SimpleObject, InputObject, Clone, Debug)]
#[graphql(input_name = "ModerationPolicyInput")]
pub struct ModerationPolicy {
    pub default: ActionGql,
    #[graphql(default)]
    pub rules: Vec<ModerationRule>,
}

impl From<Policy> for ModerationPolicy {
    fn from(p: Policy) -> Self {
        ModerationPolicy {
            default: p.default.into(),
            rules: p
                .rules
                .into_iter()
                .map(|r| ModerationRule {
                    trust: r.trust.into_iter().map(Into::into).collect(),
                    kinds: r.kinds.into_iter().map(Into::into).collect(),
                    tlp: r.tlp.into_iter().map(Into::into).collect(),
                    coordinator_org: r.coordinator_org,
                    action: r.action.into(),
                })
                .collect(),
        }
    }
}

impl From<ModerationPolicy> for Policy {
    fn from(p: ModerationPolicy) -> Self {
        Policy {
            default: p.default.into(),
            rules: p
                .rules
                .into_iter()
                .map(|r| Rule {
                    trust: r.trust.into_iter().map(Into::into).collect(),
                    kinds: r.kinds.into_iter().map(Into::into).collect(),
                    tlp: r.tlp.into_iter().map(Tlp::from).collect(),
                    coordinator_org: r.coordinator_org,
                    action: r.action.into(),
                })
                .collect(),
        }
    }
}

/// What a coordinator changes before publishing a pending item.
#[derive(InputObject, Clone, Debug, Default)]
pub struct ModerationPatchInput {
    /// A tighter label; a looser one is refused (only the submitter may loosen).
    pub tlp: Option<TlpGql>,
    /// Recipient organisations, when tightening to RED.
    #[graphql(default)]
    pub recipients: Vec<ID>,
    /// Optional fields to clear, by name (e.g. `description`, `impactDescription`).
    #[graphql(default)]
    pub strip: Vec<String>,
    /// Passages of free text to replace with `[REDACTED]`.
    #[graphql(default)]
    pub redact: Vec<String>,
    /// Labels to remove.
    #[graphql(default)]
    pub remove_labels: Vec<String>,
}

impl From<ModerationPatchInput> for Patch {
    fn from(patch: ModerationPatchInput) -> Self {
        Patch {
            tlp: patch.tlp.map(Into::into),
            recipients: patch.recipients.into_iter().map(|r| r.0).collect(),
            strip: patch.strip,
            redact: patch.redact,
            remove_labels: patch.remove_labels,
        }
    }
}

/// A change to a published item waiting for a coordinator: a looser label or a
/// correction by an organisation whose submissions the moderation policy reviews.
#[derive(SimpleObject)]
pub struct PendingChange {
    pub id: ID,
    /// The item it changes.
    pub item_id: ID,
    /// `relabel` or `correct`.
    pub change: String,
    /// The item's version the change applies to.
    pub base_version: i64,
    /// What changes (from and to label, or the fields corrected).
    pub detail: super::types::Json,
    /// The item as it would become; null where the caller may not read it.
    pub proposed: Option<SharedItem>,
    pub submitted_at: String,
    pub queued_because: String,
    /// open, approved, rejected or superseded.
    pub state: String,
    pub cursor: String,
}

#[derive(SimpleObject)]
pub struct PendingChanges {
    pub changes: Vec<PendingChange>,
    pub page_info: PageInfo,
}

/// A pending change as this viewer may see it: the proposed item only where the policy
/// lets it read the item as a pending one.
pub(crate) fn pending_change_of(
    viewer: &renkei_schema::tlp::Viewer<'_>,
    change: crate::store::models::PendingChangeRow,
    current: Option<&ObjectRow>,
    names: &std::collections::HashMap<String, String>,
) -> async_graphql::Result<PendingChange> {
    let proposed = match current {
        Some(current) => {
            let row = crate::services::revision::proposed_row(&change, current)?;
            if crate::services::stored::may_read(viewer, &row)? {
                Some(shared_item(viewer, &row, names)?)
            } else {
                None
            }
        }
        None => None,
    };
    Ok(PendingChange {
        id: ID(change.id),
        item_id: ID(change.object_id),
        change: change.change,
        base_version: change.base_revision,
        detail: super::types::Json::Text(change.detail),
        proposed,
        submitted_at: change.submitted_at,
        queued_because: change.queued_because,
        state: change.state,
        cursor: change.queued_seq.to_string(),
    })
}

async fn decide_change(ctx: &Context<'_>, id: ID, decision: Decision) -> async_graphql::Result<PendingChange> {
    let who = identity(ctx)?;
    let caller = who.clone();
    let (change, current, names) = hub(ctx)
        .db(move |hub, c| {
            let (change, _) = crate::actions::decide_change(hub, c, &caller, &id, decision)?;
            let current = crate::services::stored::load_object(c, &change.object_id)?;
            Ok((change, current, directory::org_names(c)?))
        })
        .await?;
    pending_change_of(&who.viewer(), change, current.as_ref(), &names)
}

/// A pending submission in the queue.
#[derive(SimpleObject)]
pub struct QueueEntry {
    pub cursor: String,
    pub item: SharedItem,
    pub submitted_at: String,
    /// Which rule (or what else) sent it to the queue.
    pub queued_because: String,
}

#[derive(SimpleObject)]
pub struct ModerationQueue {
    pub entries: Vec<QueueEntry>,
    pub page_info: PageInfo,
}

pub fn organization_of(row: OrganizationRow, coordinator_view: bool) -> Organization {
    Organization {
        id: ID(row.id),
        name: row.name,
        sector: row.sector,
        is_coordinator: row.is_coordinator,
        created_at: coordinator_view.then_some(row.created_at),
        trust: if coordinator_view { Trust::parse(&row.trust).map(Into::into) } else { None },
    }
}

#[derive(Default)]
pub struct ModerationQuery;

#[Object]
impl ModerationQuery {
    /// Pending submissions, oldest first (coordinators).
    #[graphql(complexity = "first.unwrap_or(100).max(1) as usize * child_complexity")]
    async fn moderation_queue(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<ModerationQueue> {
        let who = identity(ctx)?;
        let h = hub(ctx);
        let first = page_size(first, h.config.limits.max_page, 100)?;
        let caller = who.clone();
        let (entries, has_more, names) = h
            .db(move |_, c| {
                let (entries, has_more) = moderation::queue(c, &caller, first, after.as_deref())?;
                Ok((entries, has_more, directory::org_names(c)?))
            })
            .await?;
        let viewer = who.viewer();
        let mut out = Vec::with_capacity(entries.len());
        for e in entries {
            out.push(QueueEntry {
                cursor: moderation::queue_cursor(&e),
                item: shared_item(&viewer, &e.object, &names)?,
                submitted_at: e.submission.submitted_at,
                queued_because: e.queued_because,
            });
        }
        let end_cursor = out.last().map(|e| e.cursor.clone());
        Ok(ModerationQueue { entries: out, page_info: PageInfo { has_next_page: has_more, end_cursor } })
    }

    /// Changes to published items waiting for a coordinator, oldest first: every one
    /// for coordinators, the caller's own organisation's for members.
    #[graphql(complexity = "first.unwrap_or(100).max(1) as usize * child_complexity")]
    async fn pending_changes(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<PendingChanges> {
        let who = identity(ctx)?;
        let h = hub(ctx);
        let first = page_size(first, h.config.limits.max_page, 100)?;
        let after = super::parse_cursor(after.as_deref())?;
        let caller = who.clone();
        let (rows, more, items, names) = h
            .db(move |_, c| {
                let (rows, more) = crate::services::revision::open_changes(c, &caller, first, after)?;
                let mut items = std::collections::HashMap::new();
                for r in &rows {
                    if let Some(o) = crate::services::stored::load_object(c, &r.object_id)? {
                        items.insert(r.object_id.clone(), o);
                    }
                }
                Ok((rows, more, items, directory::org_names(c)?))
            })
            .await?;
        let viewer = who.viewer();
        let changes = rows
            .into_iter()
            .map(|r| {
                let current = items.get(&r.object_id);
                pending_change_of(&viewer, r, current, &names)
            })
            .collect::<async_graphql::Result<Vec<_>>>()?;
        let end_cursor = changes.last().map(|c| c.cursor.clone());
        Ok(PendingChanges { changes, page_info: PageInfo { has_next_page: more, end_cursor } })
    }

    /// The moderation policy in force (coordinators).
    async fn moderation_policy(&self, ctx: &Context<'_>) -> async_graphql::Result<ModerationPolicy> {
        let who = identity(ctx)?;
        if !who.is_coordinator() {
            return Err(AppError::forbidden("read the moderation policy").into());
        }
        let policy = hub(ctx).db(|hub, c| moderation::effective_policy(c, &hub.config.moderation)).await?;
        Ok(policy.into())
    }
}

#[derive(Default)]
pub struct ModerationMutation;

/// Runs a decision and answers with the item as the deciding coordinator sees it.
/// Null when the decision leaves the item unreadable to the deciding coordinator
/// (tightened to TLP:RED without naming its organisation): the policy decides the
/// answer like any other read.
async fn decide(
    ctx: &Context<'_>,
    id: ID,
    decision: Decision,
    version: Option<i64>,
) -> async_graphql::Result<Option<SharedItem>> {
    let who = identity(ctx)?;
    let caller = who.clone();
    let (row, names): (ObjectRow, _) = hub(ctx)
        .db(move |hub, c| {
            let row = crate::actions::decide(hub, c, &caller, &id, decision, version)?;
            Ok((row, directory::org_names(c)?))
        })
        .await?;
    let viewer = who.viewer();
    if !crate::services::stored::may_read(&viewer, &row)? {
        return Ok(None);
    }
    Ok(Some(shared_item(&viewer, &row, &names)?))
}

#[Object]
impl ModerationMutation {
    /// Publishes a pending item as submitted (a coordinator other than the submitter).
    /// With `version` (the one reviewed), refused with VERSION_CHANGED if the submitter
    /// corrected the item since.
    async fn approve(
        &self,
        ctx: &Context<'_>,
        id: ID,
        version: Option<i64>,
    ) -> async_graphql::Result<Option<SharedItem>> {
        decide(ctx, id, Decision::Approve(None), version).await
    }

    /// Publishes a pending item after sanitising it: strip fields, redact passages,
    /// remove labels, tighten the label (never loosen it).
    async fn approve_with_changes(
        &self,
        ctx: &Context<'_>,
        id: ID,
        patch: ModerationPatchInput,
        version: Option<i64>,
    ) -> async_graphql::Result<Option<SharedItem>> {
        decide(ctx, id, Decision::Approve(Some(patch.into())), version).await
    }

    /// Rejects a pending item; the submitter sees the reason in its own feed.
    async fn reject(
        &self,
        ctx: &Context<'_>,
        id: ID,
        reason: String,
        version: Option<i64>,
    ) -> async_graphql::Result<Option<SharedItem>> {
        decide(ctx, id, Decision::Reject(reason), version).await
    }

    /// Approves a pending change to a published item (a looser label or a correction
    /// by an organisation whose submissions are reviewed), optionally sanitised like a
    /// submission; the item gets its new version. Answers with the change as decided.
    async fn approve_change(
        &self,
        ctx: &Context<'_>,
        id: ID,
        patch: Option<ModerationPatchInput>,
    ) -> async_graphql::Result<PendingChange> {
        decide_change(ctx, id, Decision::Approve(patch.map(Into::into))).await
    }

    /// Rejects a pending change with a reason; the item stays as it is.
    async fn reject_change(&self, ctx: &Context<'_>, id: ID, reason: String) -> async_graphql::Result<PendingChange> {
        decide_change(ctx, id, Decision::Reject(reason)).await
    }

    /// Replaces the moderation policy (coordinators); it then wins over the configuration.
    async fn set_moderation_policy(
        &self,
        ctx: &Context<'_>,
        policy: ModerationPolicy,
    ) -> async_graphql::Result<ModerationPolicy> {
        let who = identity(ctx)?;
        let policy: Policy = policy.into();
        let stored = policy.clone();
        hub(ctx).db(move |hub, c| moderation::set_policy(c, &hub.keys, &who, &stored)).await?;
        Ok(policy.into())
    }

    /// Sets an organisation's trust level (coordinators).
    async fn set_organization_trust(
        &self,
        ctx: &Context<'_>,
        id: ID,
        trust: TrustGql,
    ) -> async_graphql::Result<Organization> {
        let who = identity(ctx)?;
        let row = hub(ctx).db(move |hub, c| moderation::set_trust(c, &hub.keys, Some(&who), &id, trust.into())).await?;
        Ok(organization_of(row, true))
    }
}

/// A TLP:RED item a coordinator is not named on: that it exists, never its content.
#[derive(SimpleObject)]
pub struct RestrictedItem {
    pub id: ID,
    pub kind: String,
    /// Null when the submitter shared it anonymously.
    pub submitter: Option<ID>,
    pub recipients: Vec<ID>,
    pub status: super::types::StatusGql,
    /// When its current version was recorded.
    pub modified: String,
    pub cursor: String,
}

#[derive(SimpleObject)]
pub struct RestrictedItems {
    pub items: Vec<RestrictedItem>,
    pub page_info: PageInfo,
}

#[derive(Default)]
pub struct RestrictedQuery;

#[Object]
impl RestrictedQuery {
    /// TLP:RED items the caller is not named on but may know exist (coordinators):
    /// id, kind, submitter unless anonymous, recipients and time; never content.
    #[graphql(complexity = "first.unwrap_or(100).max(1) as usize * child_complexity")]
    async fn restricted_items(
        &self,
        ctx: &Context<'_>,
        first: Option<i32>,
        after: Option<String>,
    ) -> async_graphql::Result<RestrictedItems> {
        let who = identity(ctx)?;
        if !who.is_coordinator() {
            return Err(AppError::forbidden("list restricted items").into());
        }
        let h = hub(ctx);
        let first = page_size(first, h.config.limits.max_page, 100)?;
        let after = super::parse_cursor(after.as_deref())?;
        let caller = who.clone();
        let (rows, has_more) =
            h.db(move |_, c| crate::services::sharing::restricted(c, &caller.viewer(), first, after)).await?;
        let viewer = who.viewer();
        let mut items = Vec::with_capacity(rows.len());
        for row in rows {
            let access = crate::services::stored::Access::of_object(&row)?;
            let env = crate::services::stored::envelope_of(&row)?;
            items.push(RestrictedItem {
                id: ID(row.id.clone()),
                kind: row.kind.clone(),
                submitter: crate::services::stored::visible_submitter(&viewer, &row)?.map(|s| ID(s.to_string())),
                recipients: access.recipients.iter().map(|r| ID(r.clone())).collect(),
                status: access.status.into(),
                modified: renkei_schema::stix::timestamp(&env.modified),
                cursor: row.first_seq.to_string(),
            });
        }
        let end_cursor = items.last().map(|i| i.cursor.clone());
        Ok(RestrictedItems { items, page_info: PageInfo { has_next_page: has_more, end_cursor } })
    }
}
