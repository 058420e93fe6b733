//! The GraphQL API: thin resolvers over `services`. The schema carries the hub; the
//! caller's [`Identity`] is added per request. Every object a resolver returns comes
//! from a service that filtered it through `renkei_schema::tlp`.

mod allowlist_api;
mod context;
mod empty;
pub mod guard;
mod import_api;
mod items_api;
mod json;
pub mod live_api;
mod moderation_api;
mod org_keys_api;
mod peers_api;
mod render;
mod revision_api;
mod sightings_api;
mod subgraph;
mod supplier_api;
pub mod types;

use async_graphql::{EmptySubscription, Schema};
use std::sync::Arc;

use crate::state::Hub;

pub(crate) use context::*;
pub use items_api::*;
pub use json::{answer_len, response_json};

/// The query root: the foundation's queries, those of each later capability, and
/// `_service`/`_entities` for Apollo Federation.
// Named `Query` (and the mutation root `Mutation`): a federation subgraph's SDL has no
// `schema { … }` block, so a gateway finds the roots by these default names.
#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "Query")]
pub struct QueryRoot(
    CoreQuery,
    moderation_api::ModerationQuery,
    sightings_api::SightingsQuery,
    allowlist_api::AllowlistQuery,
    moderation_api::RestrictedQuery,
    supplier_api::SupplierQuery,
    supplier_api::SchemeQuery,
    peers_api::PeerQuery,
    org_keys_api::OrgKeysQuery,
    subgraph::SubgraphQuery,
);

/// The mutation root, merged like the query root.
#[derive(async_graphql::MergedObject, Default)]
#[graphql(name = "Mutation")]
pub struct MutationRoot(
    CoreMutation,
    moderation_api::ModerationMutation,
    revision_api::RevisionMutation,
    sightings_api::SightingsMutation,
    allowlist_api::AllowlistMutation,
    supplier_api::SupplierMutation,
    supplier_api::SchemeMutation,
    supplier_api::AssessmentMutation,
    import_api::ImportMutation,
    org_keys_api::OrgKeysMutation,
);

pub type HubSchema = Schema<QueryRoot, MutationRoot, live_api::SubscriptionRoot>;

/// Builds the schema with the hub's limits set explicitly (async-graphql leaves depth
/// and complexity unlimited by default; `guard` turns them into coded refusals). It is
/// an Apollo Federation v2 subgraph too (`_service`, `_entities`; see `subgraph.rs`).
pub fn build_schema(hub: Arc<Hub>) -> HubSchema {
    let limits = hub.config.limits.clone();
    Schema::build(QueryRoot::default(), MutationRoot::default(), live_api::SubscriptionRoot)
        .enable_federation()
        .extension(guard::ValidationLimits {
            max_complexity: limits.max_query_complexity,
            max_depth: limits.max_query_depth,
        })
        .extension(subgraph::EntityBatches)
        .extension(empty::EmptySelections)
        .extension(live_api::WebSocketSubscriptionsOnly)
        .data(hub)
        .finish()
}

/// The SDL, as checked in at `schema/hub.graphql` (with the federation fields
/// `_service` and `_entities`; `_service { sdl }` serves [`federation_sdl`]).
pub fn sdl() -> String {
    Schema::build(QueryRoot::default(), MutationRoot::default(), live_api::SubscriptionRoot)
        .enable_federation()
        .finish()
        .sdl()
}

/// The subgraph SDL that `_service { sdl }` answers the federation gateway with. It
/// leaves out the subscription, which gateways do not route: subscribers connect to a
/// hub (through its load balancer) directly.
pub fn federation_sdl() -> String {
    Schema::build(QueryRoot::default(), MutationRoot::default(), EmptySubscription)
        .enable_federation()
        .finish()
        .sdl_with_options(async_graphql::SDLExportOptions::new().federation().compose_directive())
}
