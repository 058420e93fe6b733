//! The hub's logic. GraphQL resolvers (and later TAXII, federation) are thin callers
//! of these functions; each write runs in one database transaction.

pub mod allowlist;
pub mod attack;
pub mod audit;
pub mod directory;
pub mod feed;
pub mod identity;
pub mod import;
pub mod indicator_index;
pub mod kinds;
pub mod moderation;
pub mod org_keys;
pub mod ratings;
pub mod revision;
pub mod sessions;
pub mod sharing;
pub mod sightings;
pub mod stored;
pub mod suppliers;
pub mod tail;
pub mod versions;

/// A free-text field, trimmed and checked (`renkei_schema::model::clean_text`), or
/// INVALID_INPUT naming the field, in English and Japanese.
pub fn text(field: &'static str, value: &str, max: usize) -> crate::error::AppResult<String> {
    renkei_schema::model::clean_text(field, value, max)
        .map_err(|e| crate::error::AppError::invalid(e.to_string(), e.message_ja()))
}
