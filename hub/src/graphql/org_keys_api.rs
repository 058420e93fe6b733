//! Sealed TLP:RED: the organisation key directory (`organizationKeys`, and the
//! registration, introduction and revocation of the caller's organisation's keys) and
//! sharing sealed items (`shareSealed`). The hub checks keys and envelopes; it never
//! reads sealed content.

use async_graphql::{Context, InputObject, Object, SimpleObject, ID};

use crate::error::{AppError, AppResult};
use crate::services::org_keys;
use crate::services::sharing::{sealed_request, SealedRequest};
use crate::state::Metrics;
use renkei_schema::errors::Code;

use super::context::*;
use super::types::StatusGql;

/// An organisation's key as the hub publishes it.
#[derive(SimpleObject, Clone, Debug)]
pub struct OrganizationKey {
    pub org: String,
    pub key_id: String,
    /// Revoked by its organisation: nothing new is sealed to it (it still verifies
    /// what it signed before).
    pub revoked: bool,
    /// The JSON of `renkei_schema::seal::PublishedKey`: the registration as sent (with
    /// its introduction), `revoked`, and the hub's signature over both
    /// (`PublishedKey::hub_statement`), made with the hub's current signing key. Check
    /// it with `renkei_schema::seal::check_published`.
    pub record: String,
}

impl From<org_keys::Published> for OrganizationKey {
    fn from(p: org_keys::Published) -> Self {
        OrganizationKey { org: p.org, key_id: p.key_id, revoked: p.revoked, record: p.record }
    }
}

/// One sealed item to share.
#[derive(InputObject, Clone, Debug)]
pub struct SealedItemInput {
    /// The id the sender's client made (`<kind>--<uuid>`; the ciphertext is bound to it).
    pub id: String,
    /// The JSON of `renkei_schema::seal::SealedBody`, each wrap with the key id it is
    /// for.
    pub sealed: String,
}

/// What `shareSealed` stored, per item in input order.
#[derive(SimpleObject, Clone, Debug)]
pub struct SealedReceipt {
    pub id: ID,
    /// The content's kind: indicator, technique, incident, advisory or assessment.
    pub kind: String,
    pub version: i64,
    pub status: StatusGql,
}

#[derive(Default)]
pub struct OrgKeysQuery;

#[Object]
impl OrgKeysQuery {
    /// Every key of these organisations (at most 200), revoked and replaced ones too:
    /// old keys verify what was signed with them. Any member may read them.
    #[graphql(complexity = "orgs.len().max(1) * 4 * child_complexity")]
    async fn organization_keys(
        &self,
        ctx: &Context<'_>,
        orgs: Vec<String>,
    ) -> async_graphql::Result<Vec<OrganizationKey>> {
        identity(ctx)?;
        if orgs.len() > org_keys::MAX_ORGS {
            return Err(AppError::new(
                Code::BatchTooLarge,
                format!("at most {} organisations per request; got {}", org_keys::MAX_ORGS, orgs.len()),
                format!("1回に指定できる組織は{}件までです（{}件指定されました）", org_keys::MAX_ORGS, orgs.len()),
            )
            .into());
        }
        let keys = hub(ctx).db(move |hub, c| org_keys::published(c, &hub.keys, &orgs)).await?;
        Ok(keys.into_iter().map(Into::into).collect())
    }
}

async fn published_one(ctx: &Context<'_>, row: crate::store::models::OrgKeyRow) -> AppResult<OrganizationKey> {
    let mut keys = hub(ctx).db(move |hub, c| org_keys::publish(c, &hub.keys, &[row])).await?;
    keys.pop().map(Into::into).ok_or_else(|| AppError::internal("a key published as nothing"))
}

#[derive(Default)]
pub struct OrgKeysMutation;

#[Object]
impl OrgKeysMutation {
    /// Registers a key of the caller's organisation: `registration` is the JSON of
    /// `renkei_schema::seal::KeyRegistration` (self-signed; a rotation or a key joining
    /// others introduced by one of them).
    async fn register_organization_key(
        &self,
        ctx: &Context<'_>,
        registration: String,
    ) -> async_graphql::Result<OrganizationKey> {
        let who = identity(ctx)?;
        let row = hub(ctx).db(move |hub, c| org_keys::register(c, &hub.signer(), &who, &registration)).await?;
        Ok(published_one(ctx, row).await?)
    }

    /// Introduces a key of the caller's organisation registered without an
    /// introduction (a second installation) by another of its unrevoked keys.
    async fn introduce_organization_key(
        &self,
        ctx: &Context<'_>,
        key_id: String,
        introduced_by: String,
        introduction: String,
    ) -> async_graphql::Result<OrganizationKey> {
        let who = identity(ctx)?;
        let row = hub(ctx)
            .db(move |hub, c| org_keys::introduce(c, &hub.signer(), &who, &key_id, &introduced_by, &introduction))
            .await?;
        Ok(published_one(ctx, row).await?)
    }

    /// Revokes a key of the caller's organisation: nothing new is sealed to it.
    async fn revoke_organization_key(
        &self,
        ctx: &Context<'_>,
        key_id: String,
    ) -> async_graphql::Result<OrganizationKey> {
        let who = identity(ctx)?;
        let row = hub(ctx).db(move |hub, c| org_keys::revoke(c, &hub.signer(), &who, &key_id)).await?;
        Ok(published_one(ctx, row).await?)
    }

    /// Shares sealed TLP:RED items (all or nothing): each wrapped to exactly the
    /// current keys of every recipient and, unless anonymous, of the caller's
    /// organisation (`organizationKeys`); SEALED_KEYS_MISMATCH says to fetch the keys
    /// again. Never moderated; the hub stores and signs what it cannot read.
    #[allow(clippy::too_many_arguments)]
    async fn share_sealed(
        &self,
        ctx: &Context<'_>,
        items: Vec<SealedItemInput>,
        recipients: Vec<String>,
        anonymous: Option<bool>,
        confidence: Option<i32>,
        valid_until: Option<String>,
        labels: Option<Vec<String>>,
    ) -> async_graphql::Result<Vec<SealedReceipt>> {
        let who = identity(ctx)?;
        if !who.may_share() {
            return Err(AppError::forbidden("share items").into());
        }
        let h = hub(ctx);
        let request = SealedRequest {
            items: items.into_iter().map(|i| (i.id, i.sealed)).collect(),
            recipients,
            anonymous: anonymous.unwrap_or(false),
            confidence: confidence.map(i64::from),
            valid_until,
            labels: labels.unwrap_or_default(),
        };
        let (sealed, sharing) = sealed_request(request, h.config.limits.max_batch)?;
        let published = h.db(move |hub, c| crate::actions::share_sealed(hub, c, &who, sealed, sharing)).await?;
        Metrics::add(&h.metrics.objects_shared, published.len() as u64);
        h.note_writes(published.len() as u64);
        Ok(published
            .into_iter()
            .map(|p| SealedReceipt {
                id: ID(p.row.id),
                kind: p.envelope.kind.as_str().into(),
                version: p.row.revision,
                status: p.envelope.status.into(),
            })
            .collect())
    }
}
