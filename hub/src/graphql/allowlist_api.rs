//! GraphQL for the false-positive allowlists (coordinators manage them; anyone who
//! may share can check values before submitting).

use async_graphql::{Context, Object, SimpleObject};

use super::types::IndicatorTypeGql;
use super::{hub, identity};
use crate::error::AppError;
use crate::services::allowlist;
use renkei_schema::model::indicator::normalize_any;

#[derive(SimpleObject)]
pub struct AllowlistInfo {
    pub name: String,
    pub entries: i64,
}

/// What an allowlist says of one value (under each type it is valid as).
#[derive(SimpleObject)]
pub struct AllowlistMatch {
    pub input: String,
    #[graphql(name = "type")]
    pub indicator_type: IndicatorTypeGql,
    pub list: String,
    pub entry: String,
}

#[derive(Default)]
pub struct AllowlistQuery;

#[Object]
impl AllowlistQuery {
    /// The hub's stored allowlists (coordinators); the built-in list is not among them.
    async fn allowlists(&self, ctx: &Context<'_>) -> async_graphql::Result<Vec<AllowlistInfo>> {
        let who = identity(ctx)?;
        if !who.is_coordinator() {
            return Err(AppError::forbidden("read the allowlists").into());
        }
        let lists = hub(ctx).db(|_, c| allowlist::lists(c)).await?;
        Ok(lists.into_iter().map(|(name, entries)| AllowlistInfo { name, entries }).collect())
    }

    /// Which of these values an allowlist holds (up to the lookup limit).
    #[graphql(complexity = "values.len().max(1) * child_complexity")]
    async fn check_allowlist(
        &self,
        ctx: &Context<'_>,
        values: Vec<String>,
    ) -> async_graphql::Result<Vec<AllowlistMatch>> {
        identity(ctx)?;
        let h = hub(ctx);
        crate::services::sharing::check_lookup_size(values.len(), h.config.limits.max_lookup_values)?;
        let matcher = h.db(|hub, c| hub.allowlists.matcher(c)).await?;
        let mut out = Vec::new();
        for input in values {
            for (kind, value) in normalize_any(&input) {
                if let Some(hit) = matcher.check(kind, &value) {
                    out.push(AllowlistMatch {
                        input: input.clone(),
                        indicator_type: kind.into(),
                        list: hit.list.to_string(),
                        entry: hit.entry.to_string(),
                    });
                }
            }
        }
        Ok(out)
    }
}

#[derive(Default)]
pub struct AllowlistMutation;

#[Object]
impl AllowlistMutation {
    /// Imports (or replaces) an allowlist from text, all or nothing (coordinators).
    async fn import_allowlist(
        &self,
        ctx: &Context<'_>,
        name: String,
        text: String,
    ) -> async_graphql::Result<AllowlistInfo> {
        let who = identity(ctx)?;
        let list = name.clone();
        let n = hub(ctx).db(move |hub, c| allowlist::import(c, &hub.keys, Some(&who), &list, &text)).await?;
        Ok(AllowlistInfo { name, entries: n as i64 })
    }

    /// Removes an allowlist (coordinators).
    async fn remove_allowlist(&self, ctx: &Context<'_>, name: String) -> async_graphql::Result<AllowlistInfo> {
        let who = identity(ctx)?;
        let list = name.clone();
        let n = hub(ctx).db(move |hub, c| allowlist::remove(c, &hub.keys, Some(&who), &list)).await?;
        Ok(AllowlistInfo { name, entries: n as i64 })
    }
}
