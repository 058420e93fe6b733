//! The live `changes` subscription (graphql-transport-ws and the older graphql-ws, on
//! `GET /graphql` with a WebSocket upgrade; `http/stream.rs` serves the same pushes as
//! Server-Sent Events). What each push holds is decided by `crate::live`, through the
//! same policy as the `changes` page.

use async_graphql::{Context, SimpleObject, Subscription};
use futures::{Stream, StreamExt};

use super::context::*;
use super::items_api::{change_of, Change};
use crate::error::{AppError, AppResult};
use crate::live::{self, Audience, PresentedToken};

/// One push of the live feed.
#[derive(SimpleObject)]
pub struct ChangePush {
    /// What the subscriber may see after its last cursor, in sequence order (empty only
    /// on a push that says `behind`). Resolved field by field: the pre-written JSON of
    /// the `changes` page (`render`) is spliced only into HTTP answers.
    pub items: Vec<Change>,
    /// Resume from here (`changes(after:)`, the subscription's or the page's).
    pub cursor: String,
    /// More follows at once: the subscriber is catching up from its cursor.
    pub has_more: bool,
    /// The subscriber fell further behind the live stream than the hub keeps for it;
    /// it was caught up from the database from its cursor (nothing was skipped).
    pub behind: bool,
}

#[derive(Default)]
pub struct SubscriptionRoot;

#[Subscription]
impl SubscriptionRoot {
    /// The change feed, pushed: everything the caller may see after `after` (as the
    /// `changes` page would give it, catching up first), then each new version,
    /// tombstone, rating event and audit checkpoint as it is committed on any replica.
    /// Resume after a reconnect with the last push's `cursor`: nothing is lost or
    /// doubled. The stream ends with an error when the token is revoked.
    async fn changes(
        &self,
        ctx: &Context<'_>,
        after: Option<String>,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<ChangePush>>> {
        let who = identity(ctx)?;
        let token = ctx.data_opt::<PresentedToken>().map(|t| t.0.clone()).ok_or_else(AppError::unauthenticated)?;
        let h = std::sync::Arc::clone(hub(ctx));
        let after = parse_cursor(after.as_deref())?;
        let page = h.config.limits.max_changes_page.min(1000);
        let stream = live::follow(std::sync::Arc::clone(&h), Audience::Member { identity: who, token }, after, page)?;
        Ok(stream.map(move |push| -> async_graphql::Result<ChangePush> {
            let push = push?;
            let items = push.items.into_iter().map(|i| change_of(&h, i)).collect::<AppResult<Vec<Change>>>()?;
            Ok(ChangePush { items, cursor: push.cursor.to_string(), has_more: push.has_more, behind: push.behind })
        }))
    }
}

/// Put in a WebSocket connection's data by `http::graphql_ws`.
pub struct OverWebSocket;

/// Over a WebSocket only subscriptions run: queries and mutations go to `POST /graphql`,
/// where the request limits (`guard`: document size, aliases, the answer budget, the
/// request lanes) apply.
pub struct WebSocketSubscriptionsOnly;

impl async_graphql::extensions::ExtensionFactory for WebSocketSubscriptionsOnly {
    fn create(&self) -> std::sync::Arc<dyn async_graphql::extensions::Extension> {
        std::sync::Arc::new(WebSocketSubscriptionsOnly)
    }
}

#[async_trait::async_trait]
impl async_graphql::extensions::Extension for WebSocketSubscriptionsOnly {
    async fn parse_query(
        &self,
        ctx: &async_graphql::extensions::ExtensionContext<'_>,
        query: &str,
        variables: &async_graphql::Variables,
        next: async_graphql::extensions::NextParseQuery<'_>,
    ) -> async_graphql::ServerResult<async_graphql::parser::types::ExecutableDocument> {
        use async_graphql::parser::types::OperationType;
        let document = next.run(ctx, query, variables).await?;
        if ctx.data_opt::<OverWebSocket>().is_some()
            && document.operations.iter().any(|(_, op)| op.node.ty != OperationType::Subscription)
        {
            let refusal = AppError::new(
                renkei_schema::errors::Code::BadRequest,
                "over WebSocket only subscriptions run: send queries and mutations to POST /graphql",
                "WebSocketではサブスクリプションのみ実行できます。クエリとミューテーションはPOST /graphqlに送ってください",
            );
            return Err(async_graphql::Error::from(refusal).into_server_error(async_graphql::Pos::default()));
        }
        Ok(document)
    }
}
