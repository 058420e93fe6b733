//! GraphQL for changing shared items after the fact: relabelling and corrections.
//! Thin callers of `services::revision`.

use crate::services::stored;
use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

use super::types::{shared_item, SharedItem, StatusGql, TlpGql};
use super::{hub, identity};
use crate::error::AppError;
use crate::services::directory;
use crate::services::revision::{Correction, Outcome};
use crate::store::parse_time;

/// The new version of a relabelled item. Only id, version, label and status: a
/// coordinator may tighten a RED item whose content it may not read. When the new
/// label widens the item's audience and the moderation policy reviews the submitter's
/// submissions, the change waits for a coordinator (`queued`, `pendingChange`): the
/// fields then describe the item as it stands.
#[derive(SimpleObject)]
pub struct Relabelled {
    pub id: ID,
    pub version: i64,
    pub tlp: TlpGql,
    pub status: StatusGql,
    pub queued: bool,
    /// The change waiting for a coordinator (see `pendingChanges`).
    pub pending_change: Option<ID>,
    pub queued_because: Option<String>,
}

/// Fields to correct; each must exist on the item's kind.
#[derive(InputObject, Clone, Debug, Default)]
pub struct CorrectionInput {
    /// Indicators and advisories.
    pub description: Option<String>,
    /// Incidents and advisories.
    pub title: Option<String>,
    /// Incidents.
    pub summary: Option<String>,
    /// Techniques.
    pub narrative: Option<String>,
    /// Incidents.
    pub impact_description: Option<String>,
    pub confidence: Option<i32>,
    /// RFC 3339; must be in the future.
    pub valid_until: Option<String>,
    /// Replaces the labels.
    pub labels: Option<Vec<String>>,
}

#[derive(Default)]
pub struct RevisionMutation;

#[Object]
impl RevisionMutation {
    /// Changes an item's label (and RED recipients). Tightening sends tombstones to
    /// everyone who loses access; loosening (submitter only) sends the item to everyone
    /// who gains it.
    async fn change_label(
        &self,
        ctx: &Context<'_>,
        id: ID,
        tlp: TlpGql,
        recipients: Option<Vec<ID>>,
    ) -> async_graphql::Result<Relabelled> {
        let who = identity(ctx)?;
        let recipients = recipients.unwrap_or_default().into_iter().map(|r| r.0).collect();
        let (row, queued) = hub(ctx)
            .db(move |hub, c| match crate::actions::change_label(hub, c, &who, &id, tlp.into(), recipients)? {
                Outcome::Applied(row) => Ok((row, None)),
                Outcome::Queued(change) => {
                    let row = stored::load_object(c, &change.object_id)?
                        .ok_or_else(|| AppError::internal("a queued change's item is gone"))?;
                    Ok((row, Some(change)))
                }
            })
            .await?;
        let access = stored::Access::of_object(&row)?;
        Ok(Relabelled {
            id: ID(row.id),
            version: row.revision,
            tlp: access.tlp.into(),
            status: access.status.into(),
            queued: queued.is_some(),
            pending_change: queued.as_ref().map(|c| ID(c.id.clone())),
            queued_because: queued.map(|c| c.queued_because),
        })
    }

    /// Corrects an item's content or metadata: a new version for everyone who holds it.
    /// A correction of a published item by an organisation whose submissions the
    /// moderation policy reviews waits for a coordinator (see `pendingChanges`); the
    /// answer is then the item as it stands.
    async fn correct(
        &self,
        ctx: &Context<'_>,
        id: ID,
        correction: CorrectionInput,
    ) -> async_graphql::Result<SharedItem> {
        let who = identity(ctx)?;
        let valid_until = match &correction.valid_until {
            Some(s) => Some(parse_time(s).ok_or_else(|| {
                AppError::invalid("validUntil is not an RFC 3339 time", "validUntilがRFC 3339形式の日時ではありません")
            })?),
            None => None,
        };
        let confidence = match correction.confidence {
            Some(c) => Some(
                u8::try_from(c)
                    .ok()
                    .filter(|c| *c <= 100)
                    .ok_or_else(|| AppError::invalid("confidence is 0–100", "確信度は0〜100で指定してください"))?,
            ),
            None => None,
        };
        let fix = Correction {
            description: correction.description,
            title: correction.title,
            summary: correction.summary,
            narrative: correction.narrative,
            impact_description: correction.impact_description,
            confidence,
            valid_until,
            labels: correction.labels,
            modified: None,
        };
        let caller = who.clone();
        let (row, names) = hub(ctx)
            .db(move |hub, c| {
                let row = match crate::actions::correct(hub, c, &caller, &id, &fix)? {
                    Outcome::Applied(row) => row,
                    // Waiting for a coordinator: the item as it stands (see `pendingChanges`).
                    Outcome::Queued(change) => stored::load_object(c, &change.object_id)?
                        .ok_or_else(|| AppError::internal("a queued change's item is gone"))?,
                };
                Ok((row, directory::org_names(c)?))
            })
            .await?;
        Ok(shared_item(&who.viewer(), &row, &names)?)
    }
}
