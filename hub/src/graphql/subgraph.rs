//! The Apollo Federation v2 subgraph (not to be confused with `crate::federation`, links
//! between hubs): the hub's schema is also a subgraph. async-graphql serves
//! `_service { sdl }` (the SDL with `@link(url: "https://specs.apollo.dev/federation/v2.5")`
//! and a `@key(fields: "id")` on each type below) and `_entities(representations:)`,
//! which calls the entity resolvers here.
//!
//! An entity is resolved exactly as `node(id)`, `supplier(id)` and `offering(id)` resolve
//! it: through `stored::get` (the TLP policy) and `suppliers::get`/`get_offering`, for
//! the caller's token. One the caller may not read resolves to null, like one that does
//! not exist. The representations of one `_entities` call are loaded together: one
//! database task per kind of entity, not one per representation.

use crate::services::stored;
use async_graphql::{Context, Object, ID};
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::OnceCell;

use super::supplier_api::{Offering, Supplier};
use super::types::{Advisory, Incident, Indicator, SharedItem, SupplierAssessment, Technique};
use super::{hub, identity, to_items};
use crate::auth::Identity;
use crate::error::{AppError, AppResult};
use crate::services::{directory, suppliers};
use crate::store::DbConn;
use renkei_schema::errors::Code;

/// The GraphQL names of the shared-item entities (all read through `stored::get`).
const SHARED_TYPES: &[&str] = &["Indicator", "Technique", "Incident", "Advisory", "SupplierAssessment"];

/// The entity resolvers. They are not fields: async-graphql turns each into the
/// `@key(fields: "id")` of its type and a branch of `_entities`.
#[derive(Default)]
pub struct SubgraphQuery;

#[Object]
impl SubgraphQuery {
    #[graphql(entity)]
    async fn find_indicator_by_id(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Indicator>> {
        Ok(match shared(ctx, &id).await? {
            Some(SharedItem::Indicator(x)) => Some(x),
            _ => None,
        })
    }

    #[graphql(entity)]
    async fn find_technique_by_id(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Technique>> {
        Ok(match shared(ctx, &id).await? {
            Some(SharedItem::Technique(x)) => Some(x),
            _ => None,
        })
    }

    #[graphql(entity)]
    async fn find_incident_by_id(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Incident>> {
        Ok(match shared(ctx, &id).await? {
            Some(SharedItem::Incident(x)) => Some(x),
            _ => None,
        })
    }

    #[graphql(entity)]
    async fn find_advisory_by_id(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Advisory>> {
        Ok(match shared(ctx, &id).await? {
            Some(SharedItem::Advisory(x)) => Some(x),
            _ => None,
        })
    }

    #[graphql(entity)]
    async fn find_supplier_assessment_by_id(
        &self,
        ctx: &Context<'_>,
        id: ID,
    ) -> async_graphql::Result<Option<SupplierAssessment>> {
        Ok(match shared(ctx, &id).await? {
            Some(SharedItem::SupplierAssessment(x)) => Some(x),
            _ => None,
        })
    }

    #[graphql(entity)]
    async fn find_supplier_by_id(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Supplier>> {
        Ok(registry_entity(ctx, &id, |b| &b.suppliers, "Supplier", suppliers::get).await?)
    }

    #[graphql(entity)]
    async fn find_offering_by_id(&self, ctx: &Context<'_>, id: ID) -> async_graphql::Result<Option<Offering>> {
        Ok(registry_entity(ctx, &id, |b| &b.offerings, "Offering", suppliers::get_offering).await?)
    }
}

/// A registry entry by id as `supplier(id)` or `offering(id)` answers it for the caller.
async fn registry_entity<R, T>(
    ctx: &Context<'_>,
    id: &ID,
    cell: impl FnOnce(&EntityBatch) -> &OnceCell<HashMap<String, Option<T>>>,
    type_name: &'static str,
    get: fn(&mut DbConn, &Identity, &str) -> AppResult<Option<R>>,
) -> AppResult<Option<T>>
where
    R: Send + 'static,
    T: From<R> + Clone + Send + 'static,
{
    let who = identity(ctx)?;
    let load = |ids: Vec<String>| {
        let who = who.clone();
        hub(ctx).db(move |_, c| {
            let mut found = HashMap::with_capacity(ids.len());
            for id in ids {
                if let Some(row) = get(c, &who, &id)? {
                    found.insert(id, T::from(row));
                }
            }
            Ok(found)
        })
    };
    load_once(ctx, id, cell, &[type_name], load).await
}

/// A shared item by id as `node(id)` answers it for the caller.
async fn shared(ctx: &Context<'_>, id: &ID) -> AppResult<Option<SharedItem>> {
    let who = identity(ctx)?;
    load_once(ctx, id, |b| &b.shared, SHARED_TYPES, |ids| load_shared(ctx, who.clone(), ids)).await
}

async fn load_shared(ctx: &Context<'_>, who: Identity, ids: Vec<String>) -> AppResult<HashMap<String, SharedItem>> {
    let caller = who.clone();
    let _lane = super::guard::lane(ctx).await;
    let (rows, names) = hub(ctx)
        .db(move |_, c| {
            let viewer = caller.viewer();
            let mut rows = Vec::with_capacity(ids.len());
            for id in &ids {
                rows.extend(stored::get(c, &viewer, id)?);
            }
            let names = if rows.is_empty() { HashMap::new() } else { directory::org_names(c)? };
            Ok((rows, names))
        })
        .await?;
    super::guard::charge_rows(ctx, &rows)?;
    // `to_items` drops indicators for tokens that may not read them, as `node` does.
    Ok(to_items(&who, rows, &names)?
        .into_iter()
        .map(|item| {
            let id = match &item {
                SharedItem::Indicator(x) => &x.shared.id,
                SharedItem::Technique(x) => &x.shared.id,
                SharedItem::Incident(x) => &x.shared.id,
                SharedItem::Advisory(x) => &x.shared.id,
                SharedItem::SupplierAssessment(x) => &x.shared.id,
            };
            (id.0.clone(), item)
        })
        .collect())
}

/// What one `_entities` call has loaded, per kind: every id the batch asked for, `None`
/// where there is none the caller may read.
#[derive(Default)]
struct EntityBatch {
    shared: OnceCell<HashMap<String, Option<SharedItem>>>,
    suppliers: OnceCell<HashMap<String, Option<Supplier>>>,
    offerings: OnceCell<HashMap<String, Option<Offering>>>,
}

/// The batches of one request, one per `_entities` field (aliases make several).
/// Put into the request's data by [`EntityBatches`] when the query names `_entities`.
#[derive(Default)]
struct RequestEntities {
    fields: std::sync::Mutex<HashMap<String, Arc<EntityBatch>>>,
}

impl RequestEntities {
    /// The batch of the `_entities` field this resolver runs under.
    fn batch(&self, ctx: &Context<'_>) -> AppResult<Arc<EntityBatch>> {
        let field = ctx.field();
        let key = field.alias().unwrap_or(field.name()).to_string();
        let mut fields = self.fields.lock().map_err(|_| AppError::internal("entity batches poisoned"))?;
        Ok(Arc::clone(fields.entry(key).or_default()))
    }
}

/// Looks `id` up in its field's batch: the first resolver of a kind to run loads the
/// ids of every representation of the call whose `__typename` is one of `types`; the
/// others wait for that load. An id without a batch (a schema built without
/// [`EntityBatches`]) is loaded alone.
async fn load_once<'c, T, Load, Fut>(
    ctx: &Context<'c>,
    id: &ID,
    cell: impl FnOnce(&EntityBatch) -> &OnceCell<HashMap<String, Option<T>>>,
    types: &[&str],
    load: Load,
) -> AppResult<Option<T>>
where
    T: Clone,
    Load: Fn(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = AppResult<HashMap<String, T>>>,
{
    let alone = || async { Ok(load(vec![id.0.clone()]).await?.remove(id.as_str())) };
    let Some(request) = ctx.data_opt::<RequestEntities>() else {
        return alone().await;
    };
    let batch = request.batch(ctx)?;
    let found = cell(&batch)
        .get_or_try_init(|| async {
            let ids = representation_ids(ctx, types, id)?;
            let mut found = load(ids.clone()).await?;
            Ok::<_, AppError>(ids.into_iter().map(|i| (i.clone(), found.remove(&i))).collect::<HashMap<_, _>>())
        })
        .await?;
    match found.get(id.as_str()) {
        Some(item) => Ok(item.clone()),
        None => alone().await,
    }
}

/// The representations of the `_entities` field this resolver runs under.
fn representations(ctx: &Context<'_>) -> AppResult<Vec<async_graphql::Value>> {
    use async_graphql::Value;
    let arguments =
        ctx.field().arguments().map_err(|e| AppError::invalid(e.message, "representationsを読み取れません"))?;
    Ok(match arguments.into_iter().find(|(name, _)| name.as_str() == "representations") {
        Some((_, Value::List(items))) => items,
        _ => Vec::new(),
    })
}

/// The distinct ids of this `_entities` call's representations of the given types
/// (always including `id`); [`RequestEntities::batch`] has checked their number.
fn representation_ids(ctx: &Context<'_>, types: &[&str], id: &ID) -> AppResult<Vec<String>> {
    use async_graphql::Value;
    let representations = representations(ctx)?;
    let mut ids = vec![id.0.clone()];
    let mut seen: std::collections::HashSet<String> = ids.iter().cloned().collect();
    for representation in representations {
        let Value::Object(fields) = representation else { continue };
        let wanted = matches!(fields.get("__typename"), Some(Value::String(t)) if types.contains(&t.as_str()));
        let key = match fields.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => continue,
        };
        if wanted && seen.insert(key.clone()) {
            ids.push(key);
        }
    }
    Ok(ids)
}

/// Puts a [`RequestEntities`] into the data of each request whose query names
/// `_entities` (the others never read one).
#[derive(Default)]
pub(super) struct EntityBatches;

impl async_graphql::extensions::ExtensionFactory for EntityBatches {
    fn create(&self) -> Arc<dyn async_graphql::extensions::Extension> {
        Arc::new(EntityBatches)
    }
}

#[async_trait::async_trait]
impl async_graphql::extensions::Extension for EntityBatches {
    async fn prepare_request(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        request: async_graphql::Request,
        next: async_graphql::extensions::NextPrepareRequest<'_>,
    ) -> async_graphql::ServerResult<async_graphql::Request> {
        // The representations asked for together were counted before the request
        // ran (`guard::DocumentCache::prepare`).
        if !request.query.contains("_entities") {
            return next.run(ctx, request).await;
        }
        next.run(ctx, request.data(RequestEntities::default())).await
    }

    /// async-graphql answers a representation that no entity resolver takes (a
    /// `__typename` that is not an entity of this hub, no `id`) with a bare "Entity not
    /// found." for the whole field; the hub's refusals carry a code and Japanese text.
    async fn resolve(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        info: async_graphql::extensions::ResolveInfo<'_>,
        next: async_graphql::extensions::NextResolve<'_>,
    ) -> async_graphql::ServerResult<Option<async_graphql::Value>> {
        if info.name != "_entities" {
            return next.run(ctx, info).await;
        }
        // `_entities` is a root field: its path is its response key.
        let key = info.alias.unwrap_or(info.name).to_string();
        next.run(ctx, info).await.map_err(|e| {
            if e.extensions.as_ref().is_some_and(|ext| ext.get("code").is_some()) {
                return e;
            }
            let mut refusal = super::guard::server_error(invalid_representation());
            refusal.locations = e.locations;
            refusal.path = vec![async_graphql::PathSegment::Field(key)];
            refusal
        })
    }
}

fn invalid_representation() -> AppError {
    AppError::new(
        Code::InvalidRepresentation,
        format!(
            "a representation names no entity of this hub: each needs a __typename among {} and an id",
            ENTITY_TYPES.join(", ")
        ),
        format!(
            "このハブのエンティティを指していない表現があります。__typenameは{}のいずれかとし、idを指定してください",
            ENTITY_TYPES.join("、")
        ),
    )
}

/// Every entity type, as `_Entity` lists them.
const ENTITY_TYPES: &[&str] =
    &["Advisory", "Incident", "Indicator", "Offering", "Supplier", "SupplierAssessment", "Technique"];
