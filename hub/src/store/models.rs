//! Row types of the hub's tables.

use diesel::prelude::*;

use super::schema::*;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = organizations)]
pub struct OrganizationRow {
    pub id: String,
    pub name: String,
    pub sector: String,
    pub is_coordinator: bool,
    pub created_at: String,
    /// `new`, `standard` or `trusted`: what the moderation policy routes by.
    pub trust: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = tokens)]
pub struct TokenRow {
    pub id: String,
    pub org_id: String,
    pub role: String,
    pub digest: String,
    pub created_at: String,
    pub expires_at: Option<String>,
    pub revoked_at: Option<String>,
    /// Comma-separated grants beyond the role (`indicators`).
    pub grants: String,
    /// The person or system holding the token, as the issuer named it.
    pub name: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable, AsChangeset)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = objects)]
pub struct ObjectRow {
    pub id: String,
    pub kind: String,
    pub revision: i64,
    pub tlp: String,
    pub recipients: String,
    pub status: String,
    pub submitter_org: String,
    pub anonymous: bool,
    pub valid_until: Option<String>,
    pub indicator_type: Option<String>,
    pub indicator_value: Option<String>,
    pub envelope: String,
    pub body: String,
    pub first_seq: i64,
    pub last_seq: i64,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = object_versions)]
pub struct VersionRow {
    pub seq: i64,
    pub object_id: String,
    pub revision: i64,
    pub kind: String,
    pub tlp: String,
    pub recipients: String,
    pub status: String,
    pub submitter_org: String,
    pub anonymous: bool,
    pub prev_tlp: Option<String>,
    pub prev_recipients: Option<String>,
    pub prev_status: Option<String>,
    pub stix: String,
    pub signature: String,
    pub recorded_at: String,
    /// Where a version received from a peer hub came from (`crate::services::stored::Provenance` as
    /// JSON); None for versions made here.
    pub origin: Option<String>,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = audit_log)]
pub struct AuditRow {
    pub seq: i64,
    pub at: String,
    pub actor_org: Option<String>,
    pub actor_token: Option<String>,
    pub action: String,
    pub target: Option<String>,
    pub detail: String,
    pub source: Option<String>,
    pub prev_hash: String,
    pub hash: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = attack_techniques)]
pub struct TechniqueRow {
    pub attack_id: String,
    pub stix_id: String,
    pub name: String,
    pub domain: String,
    pub tactics: String,
    pub platforms: String,
    pub is_subtechnique: bool,
    pub revoked: bool,
    pub deprecated: bool,
    pub description: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = attack_tactics)]
pub struct TacticRow {
    pub attack_id: String,
    pub stix_id: String,
    pub shortname: String,
    pub name: String,
    pub domain: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = attack_mitigations)]
pub struct MitigationRow {
    pub attack_id: String,
    pub stix_id: String,
    pub name: String,
    pub domain: String,
    pub revoked: bool,
    pub deprecated: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = attack_assets)]
pub struct AssetRow {
    pub attack_id: String,
    pub stix_id: String,
    pub name: String,
    pub platforms: String,
    pub revoked: bool,
    pub deprecated: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = attack_relations)]
pub struct RelationRow {
    pub kind: String,
    pub source_id: String,
    pub target_id: String,
}

/// One queued submission (a share call); its items' own status says which are pending.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = moderation)]
pub struct ModerationRow {
    pub id: String,
    pub kind: String,
    pub first_seq: i64,
    pub last_seq: i64,
    pub submitter_org: String,
    pub submitted_token: String,
    pub submitted_at: String,
    pub queued_because: String,
    /// JSON object: item id → why that item was queued, where it differs.
    pub item_reasons: String,
    pub is_open: bool,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = sightings)]
pub struct SightingRow {
    pub id: String,
    pub object_id: String,
    pub org_id: String,
    pub token_id: String,
    pub kind: String,
    pub count: i64,
    pub first_seen: String,
    pub last_seen: String,
    pub anonymous: bool,
    pub recorded_at: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = suppliers)]
pub struct SupplierRow {
    pub id: String,
    pub legal_name: String,
    pub name_ja: String,
    pub name_en: Option<String>,
    /// JSON array.
    pub aliases: String,
    pub corporate_number: Option<String>,
    pub lei: Option<String>,
    pub country: String,
    pub parent_id: Option<String>,
    /// JSON array.
    pub cpe_vendors: String,
    /// `active` or `proposed`.
    pub status: String,
    pub proposed_by: Option<String>,
    pub created_at: String,
    pub search_text: String,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = offerings)]
pub struct OfferingRow {
    pub id: String,
    pub supplier_id: String,
    pub name: String,
    pub kind: String,
    /// JSON arrays.
    pub cpe_products: String,
    pub versions: String,
    pub sectors: String,
    /// JSON array of supplier ids this offering relies on.
    pub subcontractors: String,
    pub status: String,
    pub proposed_by: Option<String>,
    pub created_at: String,
}

/// The current rating of a subject (supplier or offering) for an audience.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = supplier_ratings)]
pub struct RatingRow {
    pub subject_id: String,
    /// `*` (every organisation without a rating of its own) or an organisation id.
    pub audience: String,
    pub scheme_id: String,
    pub scheme_version: String,
    pub supplier_id: String,
    pub tier: Option<String>,
    /// `,FLAG,FLAG,` (`,` when none), so one flag is found with LIKE.
    pub flags: String,
    pub has_inputs: bool,
    /// The whole rating as JSON.
    pub rating: String,
    pub next_change_at: Option<String>,
    pub updated_seq: i64,
}

/// A rating change that matters, as stored, served in the feed and kept as history.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = rating_events)]
pub struct RatingEventRow {
    pub seq: i64,
    pub id: String,
    pub subject_id: String,
    pub supplier_id: String,
    pub audience: String,
    pub scheme_id: String,
    pub tlp: String,
    /// JSON array (the audience's organisation on TLP:RED events).
    pub recipients: String,
    pub worsened: bool,
    pub at: String,
    /// The canonical JSON of `renkei_schema::supply::change::RatingChange`.
    pub stix: String,
    pub signature: String,
}

/// A signed checkpoint of the audit log, as published in the change feed.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = audit_checkpoints)]
pub struct CheckpointRow {
    pub seq: i64,
    pub id: String,
    pub at: String,
    /// The canonical JSON of the checkpoint object (`services::audit::FeedCheckpoint`).
    pub stix: String,
    pub signature: String,
}

/// A change to a published item waiting for a coordinator (see `services::revision`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = pending_changes)]
pub struct PendingChangeRow {
    pub id: String,
    pub queued_seq: i64,
    pub object_id: String,
    pub base_revision: i64,
    /// `relabel` or `correct`.
    pub change: String,
    /// The item's envelope and body as the change would make them (JSON).
    pub envelope: String,
    pub body: String,
    /// What changes, for the coordinators (JSON).
    pub detail: String,
    pub submitter_org: String,
    pub submitted_token: String,
    pub submitted_at: String,
    pub queued_because: String,
    /// `open`, `approved`, `rejected` or `superseded`.
    pub state: String,
    /// Who decided, when and why (JSON), once decided.
    pub decision: Option<String>,
}

/// One of the hub's own keys, sealed under the key-encryption key (see `keystore`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = identity_keys)]
pub struct IdentityKeyRow {
    pub id: String,
    /// `signing`, `token` or `audit`.
    pub purpose: String,
    /// Signing keys: the Ed25519 public key (base64url).
    pub public_key: Option<String>,
    /// Hex of nonce and ChaCha20-Poly1305 ciphertext of the key material.
    pub sealed: String,
    pub created_at: String,
    /// Signing keys: the first feed sequence number it signs.
    pub from_seq: Option<i64>,
    pub retired: bool,
}

/// An announcement of a new signing key, as published in the change feed.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = hub_key_announcements)]
pub struct AnnouncementRow {
    pub seq: i64,
    pub id: String,
    pub at: String,
    /// The canonical JSON of the announcement (`services::identity::Announcement`).
    pub stix: String,
    /// By the key it replaces.
    pub signature: String,
}

/// An organisation's public key for sealed TLP:RED (see `services::org_keys`).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(treat_none_as_default_value = false)]
#[diesel(table_name = org_keys)]
pub struct OrgKeyRow {
    pub key_id: String,
    pub org_id: String,
    /// The JSON of `renkei_schema::seal::KeyRegistration`, as registered (with its
    /// introduction once introduced).
    pub registration: String,
    pub introduced_by: Option<String>,
    pub replaces: Option<String>,
    pub revoked: bool,
    /// Registered without an introduction beside current keys: not sealed to until
    /// introduced.
    pub pending: bool,
    pub registered_at: String,
    pub revoked_at: Option<String>,
}
