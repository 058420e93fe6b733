//! Links to peer hubs: adding, listing and removing them, their agreement (highest
//! label, community, kinds, direction), their status, and the keys pinned for them.

use crate::auth::Role;
use crate::crypto::HubKeys;
use crate::error::{AppError, AppResult};
use crate::services::audit::{self, AuditEvent};
use crate::store::models::OrganizationRow;
use crate::store::schema::{hub_keys, organizations, peer_key_history, peer_status, peers};
use crate::store::{acquire_write_lock, now_text, DbConn};
use diesel::prelude::*;
use renkei_schema::errors::Code;
use renkei_schema::model::Kind;
use renkei_schema::sign::Verifier;
use renkei_schema::tlp::{PeerLink, Tlp};
use serde_json::json;
use std::collections::{BTreeMap, HashMap};

/// The kinds of shared item a link may carry.
pub const CARRIED_KINDS: [Kind; 5] =
    [Kind::Indicator, Kind::Technique, Kind::Incident, Kind::Advisory, Kind::Assessment];

/// The kind named in a link's kinds when sightings aggregates travel over it
/// (`federated_sightings`).
pub const SIGHTING_KIND: &str = "sighting";

/// Which way items flow over a link. The receiving hub always drives (it keeps the
/// cursor): `pull` runs a puller here, `push` lets the peer's puller read this hub.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    Pull,
    Push,
    Both,
}

impl Direction {
    pub fn parse(s: &str) -> Option<Direction> {
        match s.to_ascii_lowercase().as_str() {
            "pull" => Some(Direction::Pull),
            "push" => Some(Direction::Push),
            "both" => Some(Direction::Both),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Pull => "pull",
            Direction::Push => "push",
            Direction::Both => "both",
        }
    }

    pub fn pulls(self) -> bool {
        matches!(self, Direction::Pull | Direction::Both)
    }

    pub fn serves(self) -> bool {
        matches!(self, Direction::Push | Direction::Both)
    }
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = peers)]
pub struct PeerRow {
    pub name: String,
    pub hub_id: Option<String>,
    pub org_id: String,
    pub url: String,
    pub public_key: String,
    pub max_tlp: String,
    pub community: bool,
    pub direction: String,
    /// JSON array of kinds.
    pub kinds: String,
    pub token: Option<String>,
    pub ca_pem: Option<String>,
    /// The client certificate (SHA-256, hex) the peer must present when it reads.
    pub client_cert_sha256: Option<String>,
    pub created_at: String,
}

/// Where pulling from a peer stands.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = peer_status)]
pub struct PeerStatusRow {
    pub name: String,
    pub cursor: i64,
    pub peer_head: i64,
    pub received: i64,
    /// JSON object: reason → count.
    pub refused: String,
    pub last_error: Option<String>,
    pub last_attempt_at: Option<String>,
    pub last_success_at: Option<String>,
    /// Where pulling the peer's sightings feed stands.
    pub sightings_cursor: i64,
}

impl PeerStatusRow {
    pub fn refused_counts(&self) -> BTreeMap<String, i64> {
        serde_json::from_str(&self.refused).unwrap_or_default()
    }
}

impl PeerRow {
    pub fn link(&self) -> AppResult<PeerLink> {
        Ok(PeerLink { max_tlp: self.max_tlp.parse().map_err(AppError::internal)?, community: self.community })
    }

    pub fn direction(&self) -> Direction {
        Direction::parse(&self.direction).unwrap_or(Direction::Pull)
    }

    pub fn kinds(&self) -> Vec<String> {
        serde_json::from_str(&self.kinds).unwrap_or_default()
    }
}

/// A new link, as a coordinator describes it.
#[derive(Debug, Clone)]
pub struct PeerInput {
    pub name: String,
    pub url: String,
    pub public_key: String,
    pub max_tlp: Tlp,
    pub community: bool,
    pub direction: Direction,
    pub kinds: Vec<Kind>,
    /// Whether sightings aggregates travel too (kind `sighting`).
    pub sightings: bool,
    /// The token the peer issued this hub (needed to pull).
    pub token: Option<String>,
    /// The CA (or the peer's own certificate, pinned) its TLS server presents.
    pub ca_pem: Option<String>,
    /// The client certificate (SHA-256 of its DER, hex) the peer must present to read
    /// this hub (mTLS; the hub needs `tls_client_ca`).
    pub client_cert_sha256: Option<String>,
}

fn bad(message: String, message_ja: String) -> AppError {
    AppError::new(Code::InvalidPeer, message, message_ja)
}

/// Adds a link in one transaction: the peer's organisation (what its tokens belong to
/// and what received items are filed under), the link, and, when the peer may read
/// this hub, its token, returned once.
pub fn add_peer(conn: &mut DbConn, keys: &HubKeys, input: PeerInput) -> AppResult<(PeerRow, Option<String>)> {
    let name = renkei_schema::model::clean_text("name", &input.name, 100)
        .map_err(|e| AppError::invalid(e.to_string(), e.message_ja()))?;
    if !(input.url.starts_with("https://") || input.url.starts_with("http://")) {
        return Err(bad(
            format!("url {:?}: expected the peer hub's https:// address", input.url),
            format!("URL「{}」はピアハブのhttps://アドレスで指定してください", input.url),
        ));
    }
    Verifier::new(&input.public_key).map_err(|_| {
        bad(
            "public key: expected the peer's Ed25519 key as `renkei-hub key show` prints it".into(),
            "公開鍵はピアの `renkei-hub key show` が表示するEd25519鍵を指定してください".into(),
        )
    })?;
    if input.max_tlp > Tlp::Amber {
        return Err(bad(
            format!(
                "max TLP {}: a link carries CLEAR, GREEN or AMBER; AMBER+STRICT and RED never leave a hub",
                input.max_tlp
            ),
            format!(
                "リンクの上限{}は指定できません（CLEAR・GREEN・AMBERのみ。AMBER+STRICTとREDはハブ外に出ません）",
                input.max_tlp
            ),
        ));
    }
    if input.kinds.is_empty() || input.kinds.iter().any(|k| !CARRIED_KINDS.contains(k)) {
        return Err(bad(
            "kinds: name one or more of indicator, technique, incident, advisory, assessment (and sighting)".into(),
            "種別はindicator・technique・incident・advisory・assessment（とsighting）から指定してください".into(),
        ));
    }
    if let Some(pin) = &input.client_cert_sha256 {
        let pin = pin.trim();
        if pin.len() != 64 || !pin.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad(
                format!("client certificate {pin:?}: expected its SHA-256 as 64 hex digits"),
                format!("クライアント証明書「{pin}」はSHA-256（16進64桁）で指定してください"),
            ));
        }
    }
    let mut kinds: Vec<&str> = input.kinds.iter().map(|k| k.as_str()).collect();
    if input.sightings {
        kinds.push(SIGHTING_KIND);
    }
    kinds.sort();
    kinds.dedup();
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let exists: i64 = peers::table.filter(peers::name.eq(&name)).count().get_result(c)?;
        if exists > 0 {
            return Err(AppError::new(
                Code::Duplicate,
                format!("a peer named {name:?} exists already"),
                format!("ピア「{name}」は既に登録されています"),
            ));
        }
        // A link removed and added again keeps its organisation (what came over it is
        // filed under it).
        let org_name = format!("peer hub {name}");
        let existing: Option<String> = organizations::table
            .filter(organizations::name.eq(&org_name))
            .filter(organizations::sector.eq("federation"))
            .select(organizations::id)
            .first(c)
            .optional()?;
        let org_id = match existing {
            Some(id) => id,
            None => {
                let org = OrganizationRow {
                    id: uuid::Uuid::new_v4().to_string(),
                    name: org_name,
                    sector: "federation".into(),
                    is_coordinator: false,
                    created_at: now_text(),
                    trust: "standard".into(),
                };
                diesel::insert_into(organizations::table).values(&org).execute(c)?;
                org.id
            }
        };
        let row = PeerRow {
            name: name.clone(),
            hub_id: None,
            org_id: org_id.clone(),
            url: input.url.trim_end_matches('/').to_string(),
            public_key: input.public_key.clone(),
            max_tlp: input.max_tlp.as_str().into(),
            community: input.community,
            direction: input.direction.as_str().into(),
            kinds: json!(kinds).to_string(),
            token: input.token.as_ref().map(|t| t.trim().to_string()),
            ca_pem: input.ca_pem.clone(),
            client_cert_sha256: input.client_cert_sha256.as_ref().map(|h| h.trim().to_ascii_lowercase()),
            created_at: now_text(),
        };
        diesel::insert_into(peers::table).values(&row).execute(c)?;
        diesel::insert_into(peer_status::table)
            .values(&PeerStatusRow {
                name: name.clone(),
                cursor: 0,
                peer_head: 0,
                received: 0,
                refused: "{}".into(),
                last_error: None,
                last_attempt_at: None,
                last_success_at: None,
                sightings_cursor: 0,
            })
            .execute(c)?;
        let token = if input.direction.serves() {
            Some(crate::services::directory::issue_token(c, keys, &org_id, Role::Peer, None, &[], None)?.1)
        } else {
            None
        };
        audit::append(
            c,
            keys,
            AuditEvent {
                action: "peer.add".into(),
                target: Some(name.clone()),
                detail: json!({"url": row.url, "maxTlp": row.max_tlp, "community": row.community,
                    "direction": row.direction, "kinds": kinds}),
                ..Default::default()
            },
        )?;
        Ok((row, token))
    })
}

/// Sets the token this hub pulls from the peer with (the peer issues it when it adds
/// this hub, which may come after this hub added the peer).
pub fn set_token(conn: &mut DbConn, name: &str, token: &str) -> AppResult<()> {
    let token = token.trim();
    if token.is_empty() {
        return Err(bad("the token is empty".into(), "トークンが空です".into()));
    }
    let n = diesel::update(peers::table.find(name)).set(peers::token.eq(Some(token))).execute(conn)?;
    if n == 0 {
        return Err(AppError::not_found("peer"));
    }
    Ok(())
}

pub fn list_peers(conn: &mut DbConn) -> AppResult<Vec<(PeerRow, PeerStatusRow)>> {
    Ok(peers::table
        .inner_join(peer_status::table)
        .order(peers::name.asc())
        .select((PeerRow::as_select(), PeerStatusRow::as_select()))
        .load(conn)?)
}

/// One link's status.
pub fn status_of(conn: &mut DbConn, name: &str) -> AppResult<PeerStatusRow> {
    peer_status::table
        .find(name)
        .select(PeerStatusRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("peer"))
}

/// Removes a link and revokes its peer's tokens. What came over it stays (filed under
/// the peer's organisation) until its origin revokes it through another link.
pub fn remove_peer(conn: &mut DbConn, keys: &HubKeys, name: &str) -> AppResult<()> {
    use crate::store::schema::tokens;
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let row = load_peer(c, name)?;
        diesel::update(tokens::table.filter(tokens::org_id.eq(&row.org_id)).filter(tokens::revoked_at.is_null()))
            .set(tokens::revoked_at.eq(Some(now_text())))
            .execute(c)?;
        diesel::delete(peer_status::table.find(name)).execute(c)?;
        diesel::delete(peer_key_history::table.filter(peer_key_history::link.eq(name))).execute(c)?;
        diesel::delete(peers::table.find(name)).execute(c)?;
        audit::append(
            c,
            keys,
            AuditEvent { action: "peer.remove".into(), target: Some(name.to_string()), ..Default::default() },
        )?;
        Ok(())
    })
}

/// One link by name.
pub(crate) fn load_peer(conn: &mut DbConn, name: &str) -> AppResult<PeerRow> {
    peers::table
        .find(name)
        .select(PeerRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("peer"))
}

/// The link a peer token belongs to.
pub fn link_of_org(conn: &mut DbConn, org_id: &str) -> AppResult<PeerRow> {
    peers::table
        .filter(peers::org_id.eq(org_id))
        .select(PeerRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::forbidden("read the federation feed without a link"))
}

/// The key `origin`'s objects must verify with: the link's pinned key for the peer's
/// own, else the key pinned for that origin (or met earlier in this page).
pub(crate) fn expected_key(
    conn: &mut DbConn,
    link: &PeerRow,
    peer_hub: &str,
    origin: &str,
    learned: &HashMap<String, String>,
) -> AppResult<Option<String>> {
    Ok(if origin == peer_hub {
        Some(link.public_key.clone())
    } else if let Some(k) = learned.get(origin) {
        Some(k.clone())
    } else {
        hub_keys::table.find(origin).select(hub_keys::public_key).first::<String>(conn).optional()?
    })
}

/// The keys the peer signed its own versions with, each from the peer's sequence number
/// on which it signs, oldest first: the key the link was added with (from 0) and those
/// its announcements named since (`pages::follow_key`).
pub(crate) fn peer_keys(conn: &mut DbConn, link: &PeerRow) -> AppResult<Vec<(i64, String)>> {
    let mut keys: Vec<(i64, String)> = peer_key_history::table
        .filter(peer_key_history::link.eq(&link.name))
        .order(peer_key_history::from_seq.asc())
        .select((peer_key_history::from_seq, peer_key_history::public_key))
        .load(conn)?;
    if keys.is_empty() {
        keys.push((0, link.public_key.clone()));
    }
    Ok(keys)
}

/// The key of `keys` (oldest first) that signs at `seq`.
pub(crate) fn key_at(keys: &[(i64, String)], seq: i64) -> &str {
    keys.iter().rev().find(|(from, _)| *from <= seq).or(keys.first()).map_or("", |(_, k)| k.as_str())
}

/// Pins the new key a peer announced (checked by the caller): kept from its `from_seq`
/// beside the keys before, and the link's key from then on (what `peer list` shows and
/// sightings aggregates verify with). Audited.
pub(crate) fn pin_peer_key(
    conn: &mut DbConn,
    keys: &HubKeys,
    link: &PeerRow,
    announcement: &renkei_schema::rotation::Announcement,
) -> AppResult<()> {
    let now = now_text();
    conn.transaction(|c| {
        acquire_write_lock(c)?;
        let known: Vec<(i64, String)> = peer_key_history::table
            .filter(peer_key_history::link.eq(&link.name))
            .select((peer_key_history::from_seq, peer_key_history::public_key))
            .load(c)?;
        if known.iter().any(|(from, key)| *from == announcement.from_seq && *key == announcement.new_key) {
            return Ok(());
        }
        if known.is_empty() {
            // The key the link was added with signed everything before.
            diesel::insert_into(peer_key_history::table)
                .values((
                    peer_key_history::link.eq(&link.name),
                    peer_key_history::public_key.eq(&announcement.old_key),
                    peer_key_history::from_seq.eq(0i64),
                    peer_key_history::learned_at.eq(&now),
                ))
                .execute(c)?;
        }
        diesel::delete(
            peer_key_history::table
                .filter(peer_key_history::link.eq(&link.name))
                .filter(peer_key_history::from_seq.eq(announcement.from_seq)),
        )
        .execute(c)?;
        diesel::insert_into(peer_key_history::table)
            .values((
                peer_key_history::link.eq(&link.name),
                peer_key_history::public_key.eq(&announcement.new_key),
                peer_key_history::from_seq.eq(announcement.from_seq),
                peer_key_history::learned_at.eq(&now),
            ))
            .execute(c)?;
        let newest: Option<String> = peer_key_history::table
            .filter(peer_key_history::link.eq(&link.name))
            .order(peer_key_history::from_seq.desc())
            .select(peer_key_history::public_key)
            .first(c)
            .optional()?;
        if let Some(newest) = newest {
            diesel::update(peers::table.find(&link.name)).set(peers::public_key.eq(newest)).execute(c)?;
        }
        audit::append(
            c,
            keys,
            AuditEvent {
                action: "peer.key_rotated".into(),
                target: Some(link.name.clone()),
                detail: json!({"oldKey": announcement.old_key, "newKey": announcement.new_key,
                    "fromSeq": announcement.from_seq}),
                ..Default::default()
            },
        )?;
        Ok(())
    })
}

/// Records the peer's hub id at first contact; another id later is an error.
pub fn learn_hub_id(conn: &mut DbConn, link_name: &str, hub_id: &str) -> AppResult<()> {
    let stored: Option<Option<String>> = peers::table.find(link_name).select(peers::hub_id).first(conn).optional()?;
    match stored {
        None => Err(AppError::not_found("peer")),
        Some(Some(known)) if known == hub_id => Ok(()),
        Some(Some(known)) => Err(AppError::new(
            Code::PeerIdentityChanged,
            format!("peer {link_name} was hub {known} and now says it is {hub_id}"),
            format!("ピア{link_name}のハブIDが{known}から{hub_id}に変わりました"),
        )),
        Some(None) => {
            diesel::update(peers::table.find(link_name)).set(peers::hub_id.eq(Some(hub_id))).execute(conn)?;
            Ok(())
        }
    }
}

/// Records a failed attempt (the peer down, a bad answer) in the link's status.
pub fn note_failure(conn: &mut DbConn, link_name: &str, error: &str) -> AppResult<()> {
    diesel::update(peer_status::table.find(link_name))
        .set((
            peer_status::last_error.eq(Some(error.chars().take(500).collect::<String>())),
            peer_status::last_attempt_at.eq(Some(now_text())),
        ))
        .execute(conn)?;
    Ok(())
}
