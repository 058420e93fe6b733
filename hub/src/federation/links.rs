//! Federation: links to peer hubs, the feed a peer reads, and applying what a peer sends.
//!
//! A link's agreement (highest label, community, kinds) becomes a `ViewerRole::Peer`
//! viewer, and the change feed is read through `sharing::changes` like a member's: the
//! schema policy decides what travels, including the path rule (never back to a hub
//! the item crossed, at most `MAX_HOPS` hubs). What arrives is checked before it is
//! stored: the origin's signature (the peer's pinned key for its own items, the key it
//! vouches for otherwise, pinned per origin at first sight), the label against the
//! same policy from the receiving side, the envelope against the signed STIX, and the
//! revision against what is held. A page and the link's cursor commit together.

use std::collections::{BTreeMap, HashMap};

use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::json;

use renkei_schema::model::{Body, Envelope, Kind};
use renkei_schema::sign::Verifier;
use renkei_schema::stix::{canonical_json, to_stix};
use renkei_schema::tlp::{peer_may_carry, ItemAccess, PeerLink, Status, Tlp, Viewer, ViewerRole};

use super::audit::{self, AuditEvent};
use super::sharing;
use crate::auth::Role;
use crate::crypto::HubKeys;
use crate::error::{AppError, AppResult};
use crate::store::models::{ObjectRow, OrganizationRow};
use crate::store::schema::{hub_keys, objects, organizations, peer_status, peers};
use crate::store::{acquire_write_lock, now_text, DbConn};

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
    AppError::new("INVALID_PEER", message, message_ja)
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
                "DUPLICATE",
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
            Some(super::directory::issue_token(c, keys, &org_id, Role::Peer, None, &[])?.1)
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
fn load_peer(conn: &mut DbConn, name: &str) -> AppResult<PeerRow> {
    peers::table
        .find(name)
        .select(PeerRow::as_select())
        .first(conn)
        .optional()?
        .ok_or_else(|| AppError::not_found("peer"))
}

/// The feed for the peer whose token (of organisation `org_id`) asks, as hub
/// `peer_hub`: what both GraphQL's `peerChanges` and `GET /federation/changes` serve.
#[allow(clippy::too_many_arguments)]
pub fn serve_feed(
    conn: &mut DbConn,
    local: &Local<'_>,
    org_id: &str,
    presented: Option<&str>,
    peer_hub: &str,
    after: i64,
    limit: usize,
) -> AppResult<PeerPage> {
    let link = authorize(conn, org_id, presented, peer_hub)?;
    peer_feed(conn, local, &link, peer_hub, after, limit, scan_cap(limit))
}

/// How many versions a feed page of `limit` items may scan (most may be for others).
pub fn scan_cap(limit: usize) -> usize {
    limit.saturating_mul(20).max(10_000)
}

/// The link a peer token (of organisation `org_id`) may read this hub over, as hub
/// `peer_hub`, on a connection that presented the client certificate `presented`.
pub fn authorize(conn: &mut DbConn, org_id: &str, presented: Option<&str>, peer_hub: &str) -> AppResult<PeerRow> {
    let link = link_of_org(conn, org_id)?;
    if !link.direction().serves() {
        return Err(AppError::forbidden("read this hub over a pull-only link"));
    }
    // A link pinned to a client certificate is served only over a connection that
    // presented it (the token alone is not enough).
    if let Some(pin) = &link.client_cert_sha256 {
        if presented != Some(pin.as_str()) {
            return Err(AppError::new(
                "FORBIDDEN",
                format!("peer {} must present its pinned client certificate", link.name),
                format!("ピア{}は登録済みのクライアント証明書を提示する必要があります", link.name),
            ));
        }
    }
    learn_hub_id(conn, &link.name, peer_hub)?;
    Ok(link)
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

/// One entry of the federation feed: the version as its origin signed it, with the
/// envelope and body it renders from (checked against the STIX by the receiver).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PeerItem {
    pub seq: String,
    pub id: String,
    pub kind: String,
    pub revision: i64,
    pub tlp: String,
    pub deleted: bool,
    pub object: Option<String>,
    pub signature: Option<String>,
    pub origin_hub: Option<String>,
    pub origin_key: Option<String>,
    /// Hubs the item crossed before the sender, origin first (empty: the sender is
    /// the origin).
    pub path: Vec<String>,
    pub envelope: Option<String>,
    pub body: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerPage {
    pub items: Vec<PeerItem>,
    pub cursor: String,
    pub has_more: bool,
    /// The sender's newest sequence number (the receiver's lag is measured by it).
    pub head: String,
}

/// What this hub is, for the feed it serves and the pages it applies.
pub struct Local<'a> {
    pub hub_id: &'a str,
    pub keys: &'a HubKeys,
}

/// Where a version received from a peer came from, kept with the version
/// (`object_versions.origin`, JSON): what the next hop and this hub's members need to
/// check it at its origin. The version's `signature` is the origin's, made with `key`
/// (this hub does not sign received versions again), except on a tombstone made here
/// (status revoked), which this hub signs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Origin {
    pub hub: String,
    pub key: String,
    /// The submitting organisation as the origin names it ("" if it is anonymous).
    pub created_by: String,
    /// Hubs crossed, the origin first and the hub it came from last.
    pub path: Vec<String>,
    /// The link it came through.
    pub via: String,
}

/// The paths of the received items among `ids`, from their current versions (items
/// published here have none).
pub fn paths_of(conn: &mut DbConn, ids: &[&str]) -> AppResult<HashMap<String, Vec<String>>> {
    use crate::store::schema::object_versions;
    let mut out = HashMap::new();
    for chunk in ids.chunks(1000) {
        let rows: Vec<(String, Option<String>)> = objects::table
            .inner_join(object_versions::table.on(object_versions::seq.eq(objects::last_seq)))
            .filter(objects::id.eq_any(chunk))
            .filter(object_versions::origin.is_not_null())
            .select((objects::id, object_versions::origin))
            .load(conn)?;
        for (id, origin) in rows {
            if let Some(text) = origin {
                let origin: Origin = serde_json::from_str(&text).map_err(AppError::internal)?;
                out.insert(id, origin.path);
            }
        }
    }
    Ok(out)
}

/// The feed a peer reads: `sharing::changes` as the link's viewer, the link's kinds
/// only, each version with what the receiver needs to check it at its origin. A
/// version superseded since is left out (its successor follows in the feed).
pub fn peer_feed(
    conn: &mut DbConn,
    local: &Local<'_>,
    link: &PeerRow,
    peer_hub_id: &str,
    after: i64,
    limit: usize,
    scan_cap: usize,
) -> AppResult<PeerPage> {
    let viewer = Viewer { org: peer_hub_id, role: ViewerRole::Peer(link.link()?) };
    let kinds = link.kinds();
    let carries_indicators = kinds.iter().any(|k| k == Kind::Indicator.as_str());
    let page = sharing::changes(conn, &viewer, carries_indicators, after, limit, scan_cap, usize::MAX)?;
    let items: Vec<sharing::FeedItem> = page.items.into_iter().filter(|i| kinds.contains(&i.kind)).collect();
    let live: Vec<String> = items.iter().filter(|i| !i.deleted).map(|i| i.id.clone()).collect();
    let mut current: HashMap<String, ObjectRow> = HashMap::new();
    // Items first stored within the page's range are read in the order they were stored
    // (the `(kind, first_seq)` index, heap pages in order) instead of one primary-key
    // lookup each, when they are most of the range (a replicating peer's pages are); the
    // rest (items created earlier and changed since) are looked up by id.
    let range = page.cursor.saturating_sub(after);
    if !live.is_empty() && (live.len() as i64).saturating_mul(2) >= range {
        let wanted: std::collections::HashSet<&str> = live.iter().map(String::as_str).collect();
        let rows: Vec<ObjectRow> = crate::load_rows!(
            conn,
            objects::table
                .filter(objects::kind.eq_any(&kinds))
                .filter(objects::first_seq.gt(after))
                .filter(objects::first_seq.le(page.cursor))
                .select(ObjectRow::as_select()),
            ObjectRow
        )?;
        current.extend(rows.into_iter().filter(|r| wanted.contains(r.id.as_str())).map(|r| (r.id.clone(), r)));
    }
    let missing: Vec<&String> = live.iter().filter(|id| !current.contains_key(id.as_str())).collect();
    for chunk in missing.chunks(500) {
        let rows: Vec<ObjectRow> =
            objects::table.filter(objects::id.eq_any(chunk)).select(ObjectRow::as_select()).load(conn)?;
        current.extend(rows.into_iter().map(|r| (r.id.clone(), r)));
    }
    let own_key = local.keys.signing.public_key();
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let mut entry = PeerItem {
            seq: item.seq.to_string(),
            id: item.id.clone(),
            kind: item.kind.clone(),
            revision: item.revision,
            tlp: item.tlp.clone(),
            deleted: item.deleted,
            object: None,
            signature: None,
            origin_hub: None,
            origin_key: None,
            path: Vec::new(),
            envelope: None,
            body: None,
        };
        if !item.deleted {
            let Some(row) = current.get(&item.id).filter(|r| r.revision == item.revision) else { continue };
            entry.body = Some(row.body.clone());
            entry.object = item.stix;
            entry.signature = item.signature;
            match item.origin {
                Some(r) => {
                    entry.origin_hub = Some(r.hub);
                    entry.origin_key = Some(r.key);
                    entry.path = r.path;
                    // The origin's envelope: this row's, naming the origin's submitter.
                    let mut envelope = sharing::envelope_of(row)?;
                    envelope.created_by = r.created_by;
                    entry.envelope = Some(serde_json::to_string(&envelope).map_err(AppError::internal)?);
                }
                None => {
                    entry.origin_hub = Some(local.hub_id.to_string());
                    entry.origin_key = Some(own_key.clone());
                    let mut envelope = sharing::envelope_of(row)?;
                    // An anonymous submitter is named to no peer (the STIX leaves it out,
                    // so the signed rendering does not need it).
                    if envelope.anonymous {
                        envelope.created_by = String::new();
                    }
                    entry.envelope = Some(serde_json::to_string(&envelope).map_err(AppError::internal)?);
                }
            }
        }
        out.push(entry);
    }
    Ok(PeerPage {
        items: out,
        cursor: page.cursor.to_string(),
        has_more: page.has_more,
        head: sharing::max_seq(conn)?.to_string(),
    })
}

/// What applying a page did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Applied {
    /// New versions and tombstones stored.
    pub received: usize,
    /// Versions held already (the same or a newer revision), tombstones of nothing held.
    pub unchanged: usize,
    /// Refused, by reason.
    pub refused: BTreeMap<String, usize>,
}

/// Why an entry is refused (counted per reason in peer status).
fn refuse(reason: &str, id: &str, detail: impl std::fmt::Display) -> (String, String) {
    (reason.to_string(), format!("{id}: {detail}"))
}

/// A version that passed every check, ready to store.
pub struct Accepted {
    envelope: Envelope,
    stix: String,
    /// The origin's signature of `stix`, stored as the version's: this hub's members
    /// verify it with the origin's key as this hub pinned it.
    signature: String,
    /// The row this hub stores, sequence numbers left to the store stage.
    row: ObjectRow,
    /// Its `Origin` as stored with the version (JSON), written here rather than in the
    /// store stage, which holds the write lock.
    origin: String,
}

/// An empty row, left behind when a prepared one is taken.
fn placeholder_row() -> ObjectRow {
    ObjectRow {
        id: String::new(),
        kind: String::new(),
        revision: 0,
        tlp: String::new(),
        recipients: String::new(),
        status: String::new(),
        submitter_org: String::new(),
        anonymous: false,
        valid_until: None,
        indicator_type: None,
        indicator_value: None,
        envelope: String::new(),
        body: String::new(),
        first_seq: 0,
        last_seq: 0,
    }
}

/// Checks one live entry from `link` against the policy and the origin's signature.
fn check(
    conn: &mut DbConn,
    local: &Local<'_>,
    link: &PeerRow,
    peer_hub: &str,
    item: &PeerItem,
    learned: &mut HashMap<String, String>,
    verifiers: &mut HashMap<String, Verifier>,
) -> AppResult<Result<Accepted, (String, String)>> {
    let id = item.id.as_str();
    let (Some(object), Some(signature), Some(origin), Some(key), Some(envelope), Some(body)) =
        (&item.object, &item.signature, &item.origin_hub, &item.origin_key, &item.envelope, &item.body)
    else {
        return Ok(Err(refuse("malformed", id, "a version without its object, signature, origin or envelope")));
    };
    // The path here: the sender's, then the sender.
    let mut path = item.path.clone();
    path.push(peer_hub.to_string());
    if origin == local.hub_id || path.iter().any(|h| h == local.hub_id) {
        return Ok(Err(refuse("own_origin", id, "this hub is its origin or on its path")));
    }
    if path.first() != Some(origin) {
        return Ok(Err(refuse("malformed", id, "the path does not start at the origin")));
    }
    let Ok(tlp) = item.tlp.parse::<Tlp>() else {
        return Ok(Err(refuse("malformed", id, format!("label {:?}", item.tlp))));
    };
    // The same policy the sender applies, from this side: would the link carry it here?
    let as_sent = ItemAccess {
        tlp,
        recipients: &[],
        status: Status::Published,
        submitter: "",
        anonymous: true,
        path: &item.path,
    };
    if !peer_may_carry(local.hub_id, link.link()?, &as_sent) {
        return Ok(Err(refuse("label_not_carried", id, format!("{tlp} over a link carrying up to {}", link.max_tlp))));
    }
    // The origin's key: the link's pinned key for the peer's own items, else the key the
    // peer vouches for, pinned per origin at first sight.
    let expected = expected_key(conn, link, peer_hub, origin, learned)?;
    if expected.as_ref().is_some_and(|k| k != key) {
        return Ok(Err(refuse("origin_key_mismatch", id, format!("origin {origin}"))));
    }
    // One verifier per origin key: it remembers the batch roots it has checked, so a
    // page signed in a few batches costs a few Ed25519 verifications, not one per item.
    let verified = match verifiers.entry(key.clone()) {
        std::collections::hash_map::Entry::Occupied(v) => v.into_mut().verify(object.as_bytes(), signature),
        std::collections::hash_map::Entry::Vacant(slot) => {
            Verifier::new(key).and_then(|v| slot.insert(v).verify(object.as_bytes(), signature))
        }
    };
    if verified.is_err() {
        return Ok(Err(refuse("bad_signature", id, format!("signature of origin {origin} does not verify"))));
    }
    if expected.is_none() {
        learned.insert(origin.clone(), key.clone());
    }
    let (Ok(envelope_parsed), Ok(body_parsed)) =
        (serde_json::from_str::<Envelope>(envelope), serde_json::from_str::<Body>(body))
    else {
        return Ok(Err(refuse("malformed", id, "envelope or body unreadable")));
    };
    // The envelope and body must render to exactly the signed object.
    if canonical_json(&to_stix(&envelope_parsed, &body_parsed)) != *object {
        return Ok(Err(refuse("mismatch", id, "envelope and body do not render to the signed object")));
    }
    if envelope_parsed.id != item.id
        || envelope_parsed.revision != item.revision
        || &envelope_parsed.origin_hub != origin
        || envelope_parsed.tlp != tlp
        || envelope_parsed.kind.as_str() != item.kind
    {
        return Ok(Err(refuse("mismatch", id, "the signed object disagrees with the feed entry")));
    }
    if envelope_parsed.status != Status::Published {
        return Ok(Err(refuse("not_published", id, format!("status {}", envelope_parsed.status.as_str()))));
    }
    // Filed under the link's organisation; the origin's STIX (and its `created_by_ref`,
    // unless anonymous) is what members read.
    let mut env = envelope_parsed.clone();
    env.created_by = link.org_id.clone();
    env.recipients = Vec::new();
    let row = sharing::object_row(&env, &body_parsed, 0, 0)?;
    let origin = Origin {
        hub: origin.clone(),
        key: key.clone(),
        created_by: envelope_parsed.created_by.clone(),
        path,
        via: link.name.clone(),
    };
    Ok(Ok(Accepted {
        envelope: envelope_parsed,
        stix: object.clone(),
        signature: signature.clone(),
        row,
        origin: serde_json::to_string(&origin).map_err(AppError::internal)?,
    }))
}

/// A version to store, or a tombstone (id, revision), in feed order.
pub enum Step {
    Version(Box<Accepted>),
    Tombstone(String, i64),
}

/// What `store_page` did, and the objects it wrote as they now are.
pub struct Stored {
    pub applied: Applied,
    pub rows: Vec<ObjectRow>,
    /// Entries of the page whose item this hub held already (known only when every id
    /// was looked up: `Lookup::Every`).
    pub held: usize,
}

/// Which of a page's ids `store_page` looks up before writing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// Every id: what is held decides (revisions, own items).
    Every,
    /// Only the tombstones' ids: new versions are written as new items, and a page
    /// holding one already fails on the objects' primary key with `ALREADY_HELD`,
    /// having stored nothing; the puller then pulls it again with `Every`. One lookup
    /// of a page's ids in the primary key was a B-tree descent per object on top of
    /// the one its insert makes, for pages that are nearly always all new.
    Tombstones,
}

/// The error code of a page `Lookup::Tombstones` could not store (an item was held).
pub const ALREADY_HELD: &str = "ALREADY_HELD";

/// A page that passed `check_page`, ready for `store_page`.
pub struct CheckedPage {
    link: PeerRow,
    cursor: i64,
    head: i64,
    steps: Vec<Step>,
    applied: Applied,
    learned: HashMap<String, String>,
    reasons: Vec<String>,
}

/// Applies a page from `link` and moves its cursor: `check_page`, then `store_page`.
pub fn apply_page(conn: &mut DbConn, local: &Local<'_>, link_name: &str, page: &PeerPage) -> AppResult<Applied> {
    let checked = check_page(conn, local, link_name, page)?;
    Ok(store_page(conn, local, checked, Lookup::Every)?.applied)
}

/// The checks of a page (signatures, rendering, labels, keys), outside any transaction:
/// the puller runs them for the next page while the last one is stored.
pub fn check_page(conn: &mut DbConn, local: &Local<'_>, link_name: &str, page: &PeerPage) -> AppResult<CheckedPage> {
    let cursor: i64 = page.cursor.parse().map_err(|_| AppError::invalid("cursor", "カーソルが不正です"))?;
    let head: i64 = page.head.parse().unwrap_or(cursor);
    let link = load_peer(conn, link_name)?;
    let peer_hub = link.hub_id.clone().ok_or_else(|| AppError::internal("the peer's hub id is not known yet"))?;
    let kinds = link.kinds();
    let mut applied = Applied::default();
    let mut learned: HashMap<String, String> = HashMap::new();
    let mut verifiers: HashMap<String, Verifier> = HashMap::new();
    let mut reasons: Vec<String> = Vec::new();
    let mut steps: Vec<Step> = Vec::new();
    for item in &page.items {
        if !kinds.contains(&item.kind) {
            let (reason, why) = refuse("kind_not_carried", &item.id, &item.kind);
            *applied.refused.entry(reason).or_default() += 1;
            reasons.push(why);
            continue;
        }
        if item.deleted {
            steps.push(Step::Tombstone(item.id.clone(), item.revision));
            continue;
        }
        match check(conn, local, &link, &peer_hub, item, &mut learned, &mut verifiers)? {
            Ok(accepted) => steps.push(Step::Version(Box::new(accepted))),
            Err((reason, why)) => {
                *applied.refused.entry(reason).or_default() += 1;
                reasons.push(why);
            }
        }
    }
    Ok(CheckedPage { link, cursor, head, steps, applied, learned, reasons })
}

/// Stores a checked page and moves the link's cursor, in one transaction holding the
/// write lock: revisions decide what changes (see `Lookup` for what is looked up).
pub fn store_page(conn: &mut DbConn, local: &Local<'_>, page: CheckedPage, lookup: Lookup) -> AppResult<Stored> {
    let CheckedPage { link, cursor, head, steps, mut applied, learned, mut reasons } = page;
    let started = std::time::Instant::now();
    let ids: Vec<String> = steps
        .iter()
        .map(|s| match s {
            Step::Version(a) => a.envelope.id.clone(),
            Step::Tombstone(id, _) => id.clone(),
        })
        .collect();
    let items = ids.len();
    let mut looked_up: Vec<String> = steps
        .iter()
        .filter_map(|s| match s {
            Step::Version(a) if lookup == Lookup::Every => Some(a.envelope.id.clone()),
            Step::Version(_) => None,
            Step::Tombstone(id, _) => Some(id.clone()),
        })
        .collect();
    // In key order: PostgreSQL sorts an `IN` list before it walks the index.
    looked_up.sort_unstable();
    looked_up.dedup();
    let result = conn.transaction(|c| {
        acquire_write_lock(c)?;
        // A page lost to a crash right after its commit is lost with its cursor and
        // pulled again: it need not wait for the WAL to reach the disk.
        if let DbConn::Pg(pg) = c {
            use diesel::connection::SimpleConnection;
            pg.batch_execute("SET LOCAL synchronous_commit TO OFF")?;
        }
        // What is held of these ids, and the origins (JSON) of those that came from a peer:
        // only those may change here, and a tombstone keeps its item's origin.
        let mut held: HashMap<String, ObjectRow> = HashMap::new();
        let mut held_origin: HashMap<String, String> = HashMap::new();
        for chunk in looked_up.chunks(1000) {
            let rows: Vec<ObjectRow> =
                objects::table.filter(objects::id.eq_any(chunk)).select(ObjectRow::as_select()).load(c)?;
            // Only what is held can have been received before.
            if !rows.is_empty() {
                use crate::store::schema::object_versions;
                let by_seq: HashMap<i64, &str> = rows.iter().map(|r| (r.last_seq, r.id.as_str())).collect();
                let seqs: Vec<i64> = by_seq.keys().copied().collect();
                let got: Vec<(i64, Option<String>)> = object_versions::table
                    .filter(object_versions::seq.eq_any(&seqs))
                    .filter(object_versions::origin.is_not_null())
                    .select((object_versions::seq, object_versions::origin))
                    .load(c)?;
                for (seq, origin) in got {
                    if let (Some(id), Some(origin)) = (by_seq.get(&seq), origin) {
                        held_origin.insert(id.to_string(), origin);
                    }
                }
            }
            held.extend(rows.into_iter().map(|r| (r.id.clone(), r)));
        }
        let held_before = held.len();
        // (new row, the row it replaces, its STIX, its signature here (tombstones are
        // signed below), its origin as stored).
        type Write = (ObjectRow, Option<ObjectRow>, String, Option<String>, Option<String>);
        // Ids met more than once in the page (their rows are tracked as they change).
        let mut seen: std::collections::HashSet<&str> = std::collections::HashSet::new();
        let repeated: std::collections::HashSet<String> =
            ids.iter().filter(|id| !seen.insert(id.as_str())).cloned().collect();
        let mut writes: Vec<Write> = Vec::new();
        let mut seq = sharing::max_seq(c)?;
        for step in steps {
            let id = match &step {
                Step::Version(a) => a.envelope.id.clone(),
                Step::Tombstone(id, _) => id.clone(),
            };
            let existing = held.get(&id).cloned();
            if existing.is_some() && !held_origin.contains_key(&id) {
                *applied.refused.entry("own_origin".into()).or_default() += 1;
                reasons.push(format!("{id}: an item published on this hub"));
                continue;
            }
            match step {
                Step::Version(mut accepted) => {
                    if existing.as_ref().is_some_and(|e| e.revision >= accepted.envelope.revision) {
                        applied.unchanged += 1;
                        continue;
                    }
                    seq += 1;
                    let mut row = std::mem::replace(&mut accepted.row, placeholder_row());
                    row.last_seq = seq;
                    row.first_seq = existing.as_ref().map_or(seq, |e| e.first_seq);
                    let origin = std::mem::take(&mut accepted.origin);
                    if repeated.contains(&id) {
                        held.insert(id.clone(), row.clone());
                        held_origin.insert(id, origin.clone());
                    }
                    let stix = std::mem::take(&mut accepted.stix);
                    let signature = std::mem::take(&mut accepted.signature);
                    writes.push((row, existing, stix, Some(signature), Some(origin)));
                }
                Step::Tombstone(id, revision) => {
                    let Some(current) = existing.filter(|e| e.revision < revision && e.status != "revoked") else {
                        applied.unchanged += 1;
                        continue;
                    };
                    seq += 1;
                    let (mut env, body) = sharing::parts_of(&current)?;
                    env.status = Status::Revoked;
                    env.revision = revision;
                    let row = sharing::object_row(&env, &body, seq, current.first_seq)?;
                    let stix = canonical_json(&to_stix(&env, &body));
                    let origin = held_origin.get(&id).cloned();
                    if repeated.contains(&id) {
                        held.insert(id, row.clone());
                    }
                    writes.push((row, Some(current), stix, None, origin));
                }
            }
        }
        // Received versions keep their origin's signature; the tombstones made here are
        // signed by this hub.
        let unsigned: Vec<&[u8]> =
            writes.iter().filter(|w| w.3.is_none()).map(|(_, _, s, _, _)| s.as_bytes()).collect();
        let mut tombstone_signatures = local.keys.signing.sign_batch(&unsigned).into_iter();
        let now = now_text();
        let mut versions = Vec::with_capacity(writes.len());
        let mut new_rows: Vec<ObjectRow> = Vec::new();
        // An id written twice in one page keeps its last row.
        let mut updated: BTreeMap<String, ObjectRow> = BTreeMap::new();
        let mut new_ids: std::collections::HashSet<String> = std::collections::HashSet::new();
        for (row, previous, stix, signature, origin) in writes {
            let signature = signature.or_else(|| tombstone_signatures.next()).unwrap_or_default();
            let mut version = sharing::version_row(&row, previous.as_ref(), stix, signature);
            version.origin = origin;
            versions.push(version);
            if previous.is_some() || updated.contains_key(&row.id) || new_ids.contains(&row.id) {
                updated.insert(row.id.clone(), row);
            } else {
                new_ids.insert(row.id.clone());
                new_rows.push(row);
            }
        }
        applied.received = versions.len();
        // New objects before their versions (SQLite checks the versions' foreign key as
        // each row goes in); rows first inserted in this page and changed again later
        // are updated after.
        for chunk in new_rows.chunks(500) {
            crate::insert_rows!(c, objects::table, chunk).map_err(|e| match e {
                diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
                    if lookup == Lookup::Tombstones =>
                {
                    AppError::new(
                        ALREADY_HELD,
                        "the page holds an item this hub has already; it is pulled again and looked up",
                        "このページには既に保持している情報が含まれます。照合のうえ再取得します",
                    )
                }
                e => AppError::from(e),
            })?;
        }
        for chunk in versions.chunks(500) {
            crate::insert_rows!(c, crate::store::schema::object_versions::table, chunk)?;
        }
        for row in updated.values() {
            diesel::update(objects::table.find(&row.id)).set(row).execute(c)?;
        }
        pin_keys(c, &learned, &link.name)?;
        let status = status_of(c, &link.name)?;
        let refused = add_refusals(&status, &applied.refused);
        diesel::update(peer_status::table.find(&link.name))
            .set((
                peer_status::cursor.eq(cursor),
                peer_status::peer_head.eq(head),
                peer_status::received.eq(status.received + applied.received as i64),
                peer_status::refused.eq(refused),
                peer_status::last_error.eq(reasons.first().map(|r| format!("refused {r}"))),
                peer_status::last_success_at.eq(Some(now.clone())),
                peer_status::last_attempt_at.eq(Some(now.clone())),
            ))
            .execute(c)?;
        audit_refusals(c, local.keys, &link.name, &applied.refused, &reasons)?;
        // The objects as they now are (for this process's lookup index).
        let mut rows = new_rows;
        rows.retain(|r| !updated.contains_key(&r.id));
        rows.extend(updated.into_values());
        Ok(Stored { applied, rows, held: held_before })
    });
    tracing::debug!(items, store_ms = started.elapsed().as_secs_f64() * 1e3, "federation page stored");
    result
}

/// Pins the origin keys first met in a page (another key for a pinned hub was refused).
pub(crate) fn pin_keys(conn: &mut DbConn, learned: &HashMap<String, String>, via: &str) -> AppResult<()> {
    let now = now_text();
    for (hub, key) in learned {
        let known: Option<String> = hub_keys::table.find(hub).select(hub_keys::public_key).first(conn).optional()?;
        if known.is_none() {
            diesel::insert_into(hub_keys::table)
                .values((
                    hub_keys::hub.eq(hub),
                    hub_keys::public_key.eq(key),
                    hub_keys::learned_via.eq(via),
                    hub_keys::learned_at.eq(&now),
                ))
                .execute(conn)?;
        }
    }
    Ok(())
}

/// The link's refusal counts with a page's added, as stored in `peer_status.refused`.
pub(crate) fn add_refusals(status: &PeerStatusRow, page: &BTreeMap<String, usize>) -> String {
    let mut refused = status.refused_counts();
    for (reason, n) in page {
        *refused.entry(reason.clone()).or_default() += *n as i64;
    }
    json!(refused).to_string()
}

/// Audits what a page brought that was refused (the first few reasons).
pub(crate) fn audit_refusals(
    conn: &mut DbConn,
    keys: &HubKeys,
    link_name: &str,
    refused: &BTreeMap<String, usize>,
    reasons: &[String],
) -> AppResult<()> {
    if refused.is_empty() {
        return Ok(());
    }
    audit::append(
        conn,
        keys,
        AuditEvent {
            action: "peer.refused".into(),
            target: Some(link_name.to_string()),
            detail: json!({"refused": refused, "first": reasons.iter().take(5).collect::<Vec<_>>()}),
            ..Default::default()
        },
    )?;
    Ok(())
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

/// Records the peer's hub id at first contact; another id later is an error.
pub fn learn_hub_id(conn: &mut DbConn, link_name: &str, hub_id: &str) -> AppResult<()> {
    let stored: Option<Option<String>> = peers::table.find(link_name).select(peers::hub_id).first(conn).optional()?;
    match stored {
        None => Err(AppError::not_found("peer")),
        Some(Some(known)) if known == hub_id => Ok(()),
        Some(Some(known)) => Err(AppError::new(
            "PEER_IDENTITY_CHANGED",
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
