//! The hub's logic. GraphQL resolvers (and later TAXII, federation) are thin callers
//! of these functions; each write runs in one database transaction.

pub mod allowlist;
pub mod attack;
pub mod audit;
pub mod directory;
pub mod indicator_index;
pub mod kinds;
pub mod moderation;
pub mod revision;
pub mod sharing;
pub mod sightings;
pub mod suppliers;
