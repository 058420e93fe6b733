//! Errors the hub shows its users.
//!
//! Layering: `renkei-schema` and `store` return their own `thiserror` types; services
//! turn them into [`AppError`], which carries a stable code (`extensions.code` in
//! GraphQL) and the message in English and Japanese. Internal causes are logged, never
//! returned. `anyhow` is used only by the command line at the outer edge.

use async_graphql::ErrorExtensions as _;
use serde::Serialize;

/// One bad entry of a batch, by its index in the input list.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EntryError {
    pub index: usize,
    pub code: &'static str,
    pub message: String,
    pub message_ja: String,
}

#[derive(Debug, Clone)]
pub struct AppError {
    pub code: &'static str,
    pub message: String,
    pub message_ja: String,
    pub entries: Vec<EntryError>,
}

// AppError deliberately implements neither Display nor std::error::Error: async-graphql
// converts every Display type into an error without extensions, and this keeps `?` in
// resolvers on our own conversion below, which carries the code.

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn new(code: &'static str, message: impl Into<String>, message_ja: impl Into<String>) -> Self {
        AppError { code, message: message.into(), message_ja: message_ja.into(), entries: Vec::new() }
    }

    pub fn with_entries(mut self, entries: Vec<EntryError>) -> Self {
        self.entries = entries;
        self
    }

    pub fn unauthenticated() -> Self {
        Self::new("UNAUTHENTICATED", "a valid bearer token is required", "有効なベアラートークンが必要です")
    }

    pub fn forbidden(what: &str) -> Self {
        Self::new("FORBIDDEN", format!("your role may not {what}"), format!("このロールには権限がありません: {what}"))
    }

    pub fn not_found(what: &str) -> Self {
        Self::new("NOT_FOUND", format!("no {what} with that id"), format!("該当する{what}はありません"))
    }

    pub fn invalid(message: impl Into<String>, message_ja: impl Into<String>) -> Self {
        Self::new("INVALID_INPUT", message, message_ja)
    }

    /// An unexpected failure: the cause goes to the log, the user gets a generic text.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new("INTERNAL", "internal error", "内部エラーが発生しました")
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        AppError::internal(e)
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::new("UNAVAILABLE", format!("database unavailable: {e}"), "データベースに接続できません")
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        AppError::internal(e)
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(e: AppError) -> Self {
        let mut err = async_graphql::Error::new(e.message.clone());
        err = err.extend_with(|_, ext| {
            ext.set("code", e.code);
            ext.set("messageJa", e.message_ja.clone());
            if !e.entries.is_empty() {
                let entries: Vec<async_graphql::Value> =
                    e.entries.iter().map(|entry| async_graphql::to_value(entry).unwrap_or_default()).collect();
                ext.set("entries", async_graphql::Value::List(entries));
            }
        });
        err
    }
}
