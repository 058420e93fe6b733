//! Rotating the hub's signing key (`renkei-hub key rotate`). In one transaction, under
//! the write lock: a new Ed25519 key, sealed in the database (`keystore`), that signs
//! from the next sequence number on, and an announcement in the change feed (kind
//! `hub-key`, `renkei_schema::rotation`), signed by the key it replaces:
//!
//! ```json
//! {"at":"<time>","from_seq":1235,"hub":"<hub id>","id":"x-renkei-hub-key--<uuid>",
//!  "new_key":"<base64url>","old_key":"<base64url>","type":"x-renkei-hub-key"}
//! ```
//!
//! (canonical JSON, the announcement's own sequence number being `from_seq - 1`).
//! Members' clients and peer hubs verify it with the key they pinned, then pin the new
//! one; versions before `from_seq` still verify with the old key, which stays in the
//! database (retired). Running replicas follow at their next write (`HubKeys::follow`).

use diesel::prelude::*;
use serde_json::json;

use renkei_schema::rotation::{Announcement, PublishedKey, ANNOUNCEMENT_TYPE};
use renkei_schema::sign::SigningKey;

use super::audit::{self, AuditEvent};
use crate::crypto::HubKeys;
use crate::error::{AppError, AppResult};
use crate::keystore::SigningHistory;
use crate::store::models::AnnouncementRow;
use crate::store::schema::hub_key_announcements;
use crate::store::{acquire_write_lock, now_text, DbConn};

pub use renkei_schema::rotation::FEED_KIND;

/// What a rotation did.
#[derive(Debug, Clone)]
pub struct Rotated {
    pub old_key: String,
    pub new_key: String,
    /// The first sequence number the new key signs.
    pub from_seq: i64,
    /// The announcement's sequence number.
    pub seq: i64,
}

/// Makes a new signing key and announces it in the change feed, signed by the current
/// one, in one transaction (see the module's documentation). This process signs with
/// the new key at once; other replicas at their next write.
pub fn rotate(conn: &mut DbConn, keys: &HubKeys, hub_id: &str) -> AppResult<Rotated> {
    let (new_key, pkcs8) = SigningKey::generate().map_err(AppError::internal)?;
    let new_public = new_key.public_key();
    let (rotated, active) = conn.transaction(|c| {
        acquire_write_lock(c)?;
        let old = keys.follow(c)?;
        let seq = super::stored::max_seq(c)? + 1;
        let announcement = Announcement {
            kind: ANNOUNCEMENT_TYPE.into(),
            id: format!("{ANNOUNCEMENT_TYPE}--{}", uuid::Uuid::new_v4()),
            hub: hub_id.to_string(),
            old_key: old.public_key.clone(),
            new_key: new_public.clone(),
            from_seq: seq + 1,
            at: now_text(),
        };
        let stix = announcement.canonical();
        let signature = old.key.sign_batch(&[stix.as_bytes()]).concat();
        diesel::insert_into(hub_key_announcements::table)
            .values(&AnnouncementRow { seq, id: announcement.id.clone(), at: announcement.at.clone(), stix, signature })
            .execute(c)?;
        let active = keys.store_signing_key(c, &pkcs8, seq + 1)?;
        audit::append(
            c,
            keys,
            AuditEvent {
                action: "hub.key_rotated".into(),
                target: Some(active.id.clone()),
                detail: json!({"oldKey": old.public_key, "newKey": new_public, "fromSeq": seq + 1}),
                ..Default::default()
            },
        )?;
        let rotated = Rotated { old_key: old.public_key.clone(), new_key: new_public.clone(), from_seq: seq + 1, seq };
        Ok::<_, AppError>((rotated, active))
    })?;
    keys.signing.replace(active);
    Ok(rotated)
}

/// Every signing key the hub has had, oldest first, each with its announcement: what a
/// new member's client checks and pins at `init`, so the versions signed before the
/// current key verify too.
pub fn published(conn: &mut DbConn) -> AppResult<Vec<PublishedKey>> {
    let history = SigningHistory::load(conn)?;
    let rows: Vec<AnnouncementRow> = hub_key_announcements::table
        .order(hub_key_announcements::seq.asc())
        .select(AnnouncementRow::as_select())
        .load(conn)?;
    let mut out = Vec::with_capacity(history.keys.len());
    for key in history.keys {
        let made = rows.iter().find(|r| Announcement::parse(&r.stix).is_some_and(|a| a.new_key == key.public_key));
        out.push(PublishedKey {
            public_key: key.public_key,
            from_seq: key.from_seq,
            announcement: made.map(|r| r.stix.clone()),
            signature: made.map(|r| r.signature.clone()),
        });
    }
    Ok(out)
}
