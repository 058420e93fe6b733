//! Errors the hub shows its users.
//!
//! Layering: `renkei-schema` and `store` return their own `thiserror` types; services
//! turn them into [`AppError`], which carries a stable code (`extensions.code` in
//! GraphQL) and the message in English and Japanese. Internal causes are logged, never
//! returned. `anyhow` is used only by the command line at the outer edge.

use async_graphql::ErrorExtensions as _;
use serde::Serialize;

pub use renkei_schema::errors::Code;

/// One bad entry of a batch, by its index in the input list.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EntryError {
    pub index: usize,
    pub code: Code,
    pub message: String,
    pub message_ja: String,
}

#[derive(Debug, Clone)]
pub struct AppError {
    pub code: Code,
    pub message: String,
    pub message_ja: String,
    pub entries: Vec<EntryError>,
}

// AppError deliberately implements neither Display nor std::error::Error: async-graphql
// converts every Display type into an error without extensions, and this keeps `?` in
// resolvers on our own conversion below, which carries the code.

pub type AppResult<T> = Result<T, AppError>;

/// A write-side label rule refused (`renkei_schema::tlp`): its code and both texts.
impl From<renkei_schema::tlp::LabelRefusal> for AppError {
    fn from(refusal: renkei_schema::tlp::LabelRefusal) -> Self {
        AppError::new(refusal.code(), refusal.message(), refusal.message_ja())
    }
}

/// An importer's refusal (`renkei_schema::import`): its code and both texts.
impl From<renkei_schema::import::Refusal> for AppError {
    fn from(refusal: renkei_schema::import::Refusal) -> Self {
        AppError::new(refusal.code, refusal.message, refusal.message_ja)
    }
}

impl AppError {
    pub fn new(code: Code, message: impl Into<String>, message_ja: impl Into<String>) -> Self {
        AppError { code, message: message.into(), message_ja: message_ja.into(), entries: Vec::new() }
    }

    pub fn with_entries(mut self, entries: Vec<EntryError>) -> Self {
        self.entries = entries;
        self
    }

    pub fn unauthenticated() -> Self {
        Self::new(Code::Unauthenticated, "a valid bearer token is required", "有効なベアラートークンが必要です")
    }

    pub fn forbidden(what: &str) -> Self {
        Self::new(
            Code::Forbidden,
            format!("your role may not {what}"),
            format!("このロールには権限がありません: {what}"),
        )
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(Code::NotFound, format!("no {what} with that id"), format!("該当する{what}はありません"))
    }

    pub fn invalid(message: impl Into<String>, message_ja: impl Into<String>) -> Self {
        Self::new(Code::InvalidInput, message, message_ja)
    }

    /// The database does not answer (or every connection stayed busy): the operation
    /// did not start, and may be sent again shortly. HTTP 503 on the plain endpoints,
    /// `extensions.code` in GraphQL.
    pub fn unavailable() -> Self {
        Self::new(
            Code::Unavailable,
            "the database is unavailable, so this operation was not carried out; try again shortly",
            "データベースに一時的に接続できないため、この操作は実行されませんでした。しばらくしてから再試行してください",
        )
    }

    /// The connection to the database was lost while the request was being answered
    /// (the database stopped or restarted). A change may or may not have been stored.
    pub fn connection_lost() -> Self {
        Self::new(
            Code::Unavailable,
            "the connection to the database was lost; try again shortly (if this was a change, check whether it was stored before repeating it)",
            "データベースとの接続が切れました。しばらくしてから再試行してください（変更の場合は、保存されたかどうかを確認してから再実行してください）",
        )
    }

    /// Whether the request may simply be sent again later.
    pub fn is_unavailable(&self) -> bool {
        self.code == Code::Unavailable
    }

    /// An unexpected failure: the cause goes to the log, the user gets a generic text.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        tracing::error!(%cause, "internal error");
        Self::new(Code::Internal, "internal error", "内部エラーが発生しました")
    }
}

/// Whether a query failed because its connection to the server is gone (the server
/// stopped, restarted or ended the session), not because of the query.
pub fn is_connection_lost(e: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match e {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection | DatabaseErrorKind::UnableToSendCommand, _) => true,
        Error::BrokenTransactionManager => true,
        Error::RollbackErrorOnCommit { rollback_error, commit_error } => {
            is_connection_lost(rollback_error) || is_connection_lost(commit_error)
        }
        _ => false,
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        if is_connection_lost(&e) {
            tracing::warn!(error = %e, "database connection lost");
            return AppError::connection_lost();
        }
        AppError::internal(e)
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        tracing::warn!(error = %e, "no database connection");
        AppError::unavailable()
    }
}

impl From<crate::store::StoreError> for AppError {
    fn from(e: crate::store::StoreError) -> Self {
        match e {
            crate::store::StoreError::Query(e) => e.into(),
            crate::store::StoreError::Pool(e) => e.into(),
            e => AppError::internal(e),
        }
    }
}

impl From<crate::store::health::Unavailable> for AppError {
    fn from(e: crate::store::health::Unavailable) -> Self {
        match e {
            crate::store::health::Unavailable::Down => AppError::unavailable(),
            crate::store::health::Unavailable::Busy => AppError::new(
                Code::Unavailable,
                "the database is busy, so this operation was not carried out; try again shortly",
                "データベースが混み合っているため、この操作は実行されませんでした。しばらくしてから再試行してください",
            ),
        }
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(e: AppError) -> Self {
        let mut err = async_graphql::Error::new(e.message.clone());
        err = err.extend_with(|_, ext| {
            ext.set("code", e.code.as_str());
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
