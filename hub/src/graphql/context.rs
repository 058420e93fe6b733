//! What every resolver uses: the hub, the caller, cursors and page sizes.

use async_graphql::Context;
use std::sync::Arc;

use crate::auth::{Identity, Role};
use crate::error::{AppError, AppResult};
use crate::state::Hub;
use crate::store::models::ObjectRow;
use renkei_schema::errors::Code;
use renkei_schema::model::Kind;

use super::types::*;

pub(crate) fn hub<'a>(ctx: &Context<'a>) -> &'a Arc<Hub> {
    // Put there by build_schema; a schema without it is a programming error caught by every test.
    ctx.data_unchecked::<Arc<Hub>>()
}

/// The caller, for every resolver but the federation feed: peer hubs' tokens read
/// only `peerChanges`.
pub(crate) fn identity(ctx: &Context<'_>) -> AppResult<Identity> {
    let who = ctx.data_opt::<Identity>().cloned().ok_or_else(AppError::unauthenticated)?;
    if who.role == Role::Peer {
        return Err(AppError::new(
            Code::Forbidden,
            "a peer hub's token reads only the federation feed (peerChanges)",
            "ピアハブのトークンで読めるのは連携フィード（peerChanges）のみです",
        ));
    }
    Ok(who)
}

pub(crate) fn require_coordinator(id: &Identity, what: &str) -> AppResult<()> {
    if id.is_coordinator() {
        Ok(())
    } else {
        Err(AppError::forbidden(what))
    }
}

pub(crate) fn parse_cursor(after: Option<&str>) -> AppResult<i64> {
    match after {
        None | Some("") => Ok(0),
        Some(s) => s.parse::<i64>().ok().filter(|n| *n >= 0).ok_or_else(|| {
            AppError::new(
                Code::InvalidCursor,
                "not a cursor returned by this hub",
                "このハブが返したカーソルではありません",
            )
        }),
    }
}

pub(crate) fn page_size(first: Option<i32>, max: usize, default: usize) -> AppResult<usize> {
    match first {
        None => Ok(default.min(max)),
        Some(n) if n >= 1 && (n as usize) <= max => Ok(n as usize),
        Some(_) => Err(AppError::invalid(
            format!("page size must be 1–{max}"),
            format!("ページサイズは1〜{max}で指定してください"),
        )),
    }
}

pub(crate) fn to_items(
    id: &Identity,
    rows: Vec<ObjectRow>,
    names: &std::collections::HashMap<String, String>,
) -> AppResult<Vec<SharedItem>> {
    let viewer = id.viewer();
    let indicators = id.may_read_indicators();
    rows.into_iter()
        .filter(|row| indicators || row.kind != Kind::Indicator.as_str())
        .map(|row| shared_item(&viewer, &row, names))
        .collect()
}
