//! The status of a TAXII POST (TAXII 2.1 §4.3): written once the import it reports
//! committed, readable by the organisation that posted until it expires.

use diesel::prelude::*;
use serde_json::Value;

use crate::error::AppResult;
use crate::store::schema::taxii_status;
use crate::store::{now_text, time_text, DbConn};

/// Keeps a status for `hours`, and drops the expired ones.
pub fn put(conn: &mut DbConn, id: &str, org_id: &str, body: &Value, hours: u32) -> AppResult<()> {
    let now = chrono::Utc::now();
    let expires = now + chrono::Duration::hours(i64::from(hours));
    diesel::delete(taxii_status::table.filter(taxii_status::expires_at.lt(time_text(&now)))).execute(conn)?;
    diesel::insert_into(taxii_status::table)
        .values((
            taxii_status::id.eq(id),
            taxii_status::org_id.eq(org_id),
            taxii_status::created_at.eq(time_text(&now)),
            taxii_status::expires_at.eq(time_text(&expires)),
            taxii_status::body.eq(body.to_string()),
        ))
        .execute(conn)?;
    Ok(())
}

/// A status the organisation posted, unexpired; `None` for any other (another
/// organisation's status answers exactly like a missing one).
pub fn get(conn: &mut DbConn, id: &str, org_id: &str) -> AppResult<Option<Value>> {
    let body: Option<String> = taxii_status::table
        .filter(taxii_status::id.eq(id))
        .filter(taxii_status::org_id.eq(org_id))
        .filter(taxii_status::expires_at.gt(now_text()))
        .select(taxii_status::body)
        .first(conn)
        .optional()?;
    Ok(body.and_then(|b| serde_json::from_str(&b).ok()))
}
