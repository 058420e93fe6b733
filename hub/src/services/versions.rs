//! Writing the next version of an existing item, with what derives from it: the
//! version itself is `stored::write_version`; a new version of a supplier assessment
//! (published, relabelled, corrected, revoked) also refreshes its supplier's ratings.
//! Moderation, revision and sharing write versions through here.

use chrono::Utc;

use renkei_schema::model::{Body, Envelope};

use super::ratings;
use super::stored::{self, Signer};
use crate::error::AppResult;
use crate::store::models::ObjectRow;
use crate::store::DbConn;

/// Stores and signs the next version of `current` (see `stored::write_version`) and
/// refreshes the ratings it changes. Call inside the transaction, holding the write lock.
pub fn write_next(
    c: &mut DbConn,
    signer: &Signer<'_>,
    current: &ObjectRow,
    env: Envelope,
    body: &Body,
) -> AppResult<ObjectRow> {
    let row = stored::write_version(c, signer, current, env, body)?;
    if let Body::Assessment(a) = body {
        ratings::refresh(c, signer, std::slice::from_ref(&a.supplier_id), Utc::now())?;
    }
    Ok(row)
}
