//! Sealed TLP:RED: content encrypted by the sender's client to every key of every
//! named recipient, so the hub (its operator, its database, its backups) stores and
//! signs an envelope it cannot read.
//!
//! **Organisation keys.** Each client installation of a member organisation holds an
//! [`OrgKeyPair`]: an X25519 key for HPKE and an Ed25519 key that signs what the
//! organisation seals. Its public half, an [`OrgKey`], is registered with the hub signed
//! by itself, and, when it joins keys the organisation already has (a rotation or a
//! second installation), by one of them (its *introduction*). The hub publishes every
//! key signed by the hub ([`PublishedKey`]); members pin an organisation's keys at first
//! sight and afterwards trust a new key only when a pinned key introduced it
//! ([`check_published`]), so a hub that swaps or adds a key is noticed.
//!
//! **Sealing** ([`seal`]). A batch of items gets one random 32-byte batch key, wrapped
//! with HPKE (RFC 9180, base mode, DHKEM(X25519, HKDF-SHA256), HKDF-SHA256,
//! ChaCha20-Poly1305) to each key; each item is encrypted with ChaCha20-Poly1305 under
//! its own key derived from the batch key and the item's id, with the id and kind as
//! associated data, so the hub can move no ciphertext to another item. Inside the
//! ciphertext the content is signed with the sender's signing key (a batch signature of
//! [`crate::sign`]; omitted for anonymous sharing), so the hub cannot test guesses of a
//! low-entropy value against a visible signature. 1,000 items to 22 keys cost 22 HPKE
//! operations, not 22,000.
//!
//! **Opening** ([`Opener`]). A recipient tries its keys on the wraps (they carry no key
//! id once stored: a recipient must not learn who else was named), keeps the batch key
//! for the batch's other items, decrypts, checks the sender's signature against the
//! sender organisation's pinned key and the content with [`check_content`].

use std::collections::HashMap;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable, Kem as _, OpModeR, OpModeS, Serializable};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305};
use ring::rand::SecureRandom;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::model::{limits, Body, Kind};
use crate::sign::{SigningKey, Verifier};
use crate::stix::canonical_json;

/// The scheme's name and version, in every sealed body and every signed statement.
pub const SCHEME: &str = "renkei-seal-v1";
/// HPKE `info` of a batch key's wrap.
const WRAP_INFO: &[u8] = b"renkei-seal-v1 batch key";
/// Domain separation of an item key derived from the batch key.
const ITEM_KEY_INFO: &[u8] = b"renkei-seal-v1 item key\0";
/// Domain separation of what an organisation key signs.
const KEY_STATEMENT: &str = "renkei-org-key-v1";
const INTRODUCTION: &str = "renkei-org-key-introduction-v1";
const PUBLISHED: &str = "renkei-org-key-published-v1";

/// Most wraps one sealed body may carry (recipients times their keys, and the sender's).
pub const MAX_WRAPS: usize = 256;
/// Largest ciphertext of one item, in bytes (the plaintext limits of every kind fit).
pub const MAX_CIPHERTEXT: usize = 512 * 1024;

type HpkeKem = X25519HkdfSha256;
type HpkePrivate = <HpkeKem as hpke::Kem>::PrivateKey;
type HpkePublic = <HpkeKem as hpke::Kem>::PublicKey;
type HpkeEncapped = <HpkeKem as hpke::Kem>::EncappedKey;

/// Why sealing, opening or checking a key failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the random number generator failed")]
    Rng,
    #[error("a key is malformed: {0}")]
    BadKey(String),
    #[error("the sealed envelope is malformed: {0}")]
    Malformed(String),
    #[error("the item is sealed to none of this installation's keys")]
    NotForUs,
    #[error("the ciphertext does not open: it was altered or is not for this item")]
    Tampered,
    #[error("the sender's signature is missing")]
    Unsigned,
    #[error("the sender's signature does not verify with organisation {org}'s key {key}")]
    ForgedSignature { org: String, key: String },
    #[error("the sender signed with key {key}, which is not a pinned key of organisation {org}")]
    UnknownSenderKey { org: String, key: String },
    #[error("the content names sender {inner} but the hub says {outer}")]
    SenderMismatch { inner: String, outer: String },
    #[error("the content is a {inner} but the envelope says {outer}")]
    KindMismatch { inner: String, outer: String },
    #[error("the content is not valid: {0}")]
    Invalid(String),
    #[error("key {key}: {why}")]
    KeyRefused { key: String, why: String },
    #[error("nothing to seal to: {0}")]
    NoKeys(String),
}

impl SealError {
    /// The same in Japanese, for the operators who read it.
    pub fn message_ja(&self) -> String {
        match self {
            SealError::Rng => "乱数生成に失敗しました".into(),
            SealError::BadKey(w) => format!("鍵の形式が不正です: {w}"),
            SealError::Malformed(w) => format!("封緘された情報の形式が不正です: {w}"),
            SealError::NotForUs => "この環境の鍵宛てに封緘されていません".into(),
            SealError::Tampered => "暗号文を復号できません（改ざんされたか、この情報のものではありません）".into(),
            SealError::Unsigned => "送信者の署名がありません".into(),
            SealError::ForgedSignature { org, key } => {
                format!("送信者の署名を組織{org}の鍵{key}で検証できません")
            }
            SealError::UnknownSenderKey { org, key } => {
                format!("送信者は鍵{key}で署名していますが、組織{org}の固定済みの鍵ではありません")
            }
            SealError::SenderMismatch { inner, outer } => {
                format!("内容の送信者は{inner}ですが、ハブは{outer}としています")
            }
            SealError::KindMismatch { inner, outer } => format!("内容の種別は{inner}ですが、封筒は{outer}です"),
            SealError::Invalid(w) => format!("内容が不正です: {w}"),
            SealError::KeyRefused { key, why } => format!("鍵{key}を信頼できません: {why}"),
            SealError::NoKeys(w) => format!("封緘先の鍵がありません: {w}"),
        }
    }
}

fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

fn unb64(field: &str, text: &str) -> Result<Vec<u8>, SealError> {
    URL_SAFE_NO_PAD.decode(text).map_err(|_| SealError::Malformed(format!("{field} is not base64url")))
}

fn random<const N: usize>() -> Result<[u8; N], SealError> {
    let mut out = [0u8; N];
    ring::rand::SystemRandom::new().fill(&mut out).map_err(|_| SealError::Rng)?;
    Ok(out)
}

fn sha256(parts: &[&[u8]]) -> [u8; 32] {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        ctx.update(p);
    }
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

// ---------------------------------------------------------------------------------------
// Organisation keys

/// The id of a key: the first 16 bytes of SHA-256 over both public keys, hex. A key id
/// names exactly one pair of public keys, so a pinned id cannot be given other keys.
pub fn key_id(encryption_key: &str, signing_key: &str) -> String {
    let digest = sha256(&[KEY_STATEMENT.as_bytes(), b"\0", encryption_key.as_bytes(), b"\0", signing_key.as_bytes()]);
    hex::encode(&digest[..16])
}

/// The public half of an organisation's key, as registered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrgKey {
    pub org: String,
    pub key_id: String,
    /// X25519, base64url.
    pub encryption_key: String,
    /// Ed25519, base64url.
    pub signing_key: String,
    pub created: DateTime<Utc>,
    /// The key this one rotates (it must introduce it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
}

impl OrgKey {
    /// What the key signs about itself (and what an introduction signs).
    pub fn statement(&self) -> String {
        canonical_json(&json!({
            "type": KEY_STATEMENT,
            "org": self.org,
            "keyId": self.key_id,
            "encryptionKey": self.encryption_key,
            "signingKey": self.signing_key,
            "created": crate::stix::timestamp(&self.created),
            "replaces": self.replaces,
        }))
    }

    fn introduction_message(&self) -> String {
        format!("{INTRODUCTION}\0{}", self.statement())
    }

    /// Checks the key's form: its id names its keys, both keys decode, and it signed
    /// its own statement.
    pub fn check_self(&self, self_signature: &str) -> Result<(), SealError> {
        let refuse = |why: &str| SealError::KeyRefused { key: self.key_id.clone(), why: why.into() };
        if key_id(&self.encryption_key, &self.signing_key) != self.key_id {
            return Err(refuse("its id does not name its keys"));
        }
        let enc = unb64("encryptionKey", &self.encryption_key)?;
        HpkePublic::from_bytes(&enc).map_err(|_| refuse("the encryption key is not an X25519 key"))?;
        crate::sign::verify_bytes(&self.signing_key, self.statement().as_bytes(), self_signature)
            .map_err(|_| refuse("its self-signature does not verify"))
    }

    /// Checks that `by` (a key of the same organisation) introduced this key.
    pub fn check_introduction(&self, by: &OrgKey, signature: &str) -> Result<(), SealError> {
        if by.org != self.org {
            return Err(SealError::KeyRefused {
                key: self.key_id.clone(),
                why: format!("introduced by a key of another organisation ({})", by.org),
            });
        }
        crate::sign::verify_bytes(&by.signing_key, self.introduction_message().as_bytes(), signature).map_err(|_| {
            SealError::KeyRefused {
                key: self.key_id.clone(),
                why: format!("its introduction by key {} does not verify", by.key_id),
            }
        })
    }
}

/// A key as the client registers it with the hub.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct KeyRegistration {
    #[serde(flatten)]
    pub key: OrgKey,
    pub self_signature: String,
    #[serde(default)]
    pub introduced_by: Option<String>,
    #[serde(default)]
    pub introduction: Option<String>,
}

impl KeyRegistration {
    /// Checks everything that needs no other key: form and self-signature.
    pub fn check(&self) -> Result<(), SealError> {
        self.key.check_self(&self.self_signature)?;
        if self.introduced_by.is_some() != self.introduction.is_some() {
            return Err(SealError::Malformed("an introduction names its key and carries its signature".into()));
        }
        if self.key.replaces.is_some() && self.key.replaces != self.introduced_by {
            return Err(SealError::KeyRefused {
                key: self.key.key_id.clone(),
                why: "a rotation is introduced by the key it replaces".into(),
            });
        }
        Ok(())
    }
}

/// A key as the hub publishes it: the registration, its state, and the hub's signature
/// over all of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PublishedKey {
    #[serde(flatten)]
    pub registration: KeyRegistration,
    /// Revoked by its organisation: nothing new is sealed to it.
    pub revoked: bool,
    /// Registered without an introduction beside current keys of its organisation (a
    /// second installation): nobody seals to it until one of them introduces it.
    #[serde(default)]
    pub pending: bool,
    /// The hub's signature (a batch signature of its signing key) over
    /// [`PublishedKey::hub_statement`].
    pub hub_signature: String,
}

impl PublishedKey {
    /// What the hub signs: the registration and its state.
    pub fn hub_statement(registration: &KeyRegistration, revoked: bool, pending: bool) -> String {
        let r = registration;
        canonical_json(&json!({
            "type": PUBLISHED,
            "statement": r.key.statement(),
            "selfSignature": r.self_signature,
            "introducedBy": r.introduced_by,
            "introduction": r.introduction,
            "revoked": revoked,
            "pending": pending,
        }))
    }
}

/// What [`check_published`] concludes about an organisation's published keys.
#[derive(Debug, Clone, Default)]
pub struct KeyCheck {
    /// Every key trusted: pinned before or introduced by a trusted key (old ones too:
    /// they verify what was signed before a rotation).
    pub trusted: Vec<OrgKey>,
    /// Trusted keys not pinned before (to pin now).
    pub newly_pinned: Vec<OrgKey>,
    /// Trusted keys to seal to: neither revoked nor replaced by a trusted key.
    pub current: Vec<OrgKey>,
    /// Keys published but not trusted, with why.
    pub refused: Vec<(String, SealError)>,
}

/// Decides which of an organisation's published keys to trust, given the keys pinned
/// before (none: the first sight, when every well-formed key the hub vouches for is
/// pinned, as the hub's own key is at `init`). Each must carry the hub's signature
/// (with `hub_key`, the pinned key of the hub) and its own; after the first sight a new
/// key is trusted only when a trusted key introduced it.
pub fn check_published(org: &str, hub_key: &str, published: &[PublishedKey], pinned: &[OrgKey]) -> KeyCheck {
    let mut check = KeyCheck::default();
    let mut well_formed: Vec<&PublishedKey> = Vec::new();
    let mut verifier = Verifier::new(hub_key).ok();
    for p in published {
        let r = &p.registration;
        let id = r.key.key_id.clone();
        if r.key.org != org {
            check.refused.push((id, SealError::Malformed(format!("a key of {} listed for {org}", r.key.org))));
            continue;
        }
        let statement = PublishedKey::hub_statement(r, p.revoked, p.pending);
        let hub_ok = verifier.as_mut().is_some_and(|v| v.verify(statement.as_bytes(), &p.hub_signature).is_ok());
        if !hub_ok {
            check.refused.push((
                id,
                SealError::KeyRefused { key: r.key.key_id.clone(), why: "the hub's signature does not verify".into() },
            ));
            continue;
        }
        if let Err(e) = r.check() {
            check.refused.push((id, e));
            continue;
        }
        well_formed.push(p);
    }
    let mut trusted: Vec<OrgKey> = pinned.to_vec();
    if pinned.is_empty() {
        // A pending key is a second installation's, not yet introduced: it waits.
        for p in well_formed.iter().filter(|p| !p.pending) {
            trusted.push(p.registration.key.clone());
            check.newly_pinned.push(p.registration.key.clone());
        }
    } else {
        // Introductions chain: a key introduced by a key introduced by a pinned one.
        loop {
            let mut added = false;
            for p in &well_formed {
                let r = &p.registration;
                if trusted.iter().any(|t| t.key_id == r.key.key_id) {
                    continue;
                }
                let (Some(by), Some(sig)) = (&r.introduced_by, &r.introduction) else { continue };
                if let Some(introducer) = trusted.iter().find(|t| &t.key_id == by) {
                    if r.key.check_introduction(introducer, sig).is_ok() {
                        trusted.push(r.key.clone());
                        check.newly_pinned.push(r.key.clone());
                        added = true;
                    }
                }
            }
            if !added {
                break;
            }
        }
        // A pending key is not refused: it waits for its introduction.
        for p in well_formed.iter().filter(|p| !p.pending) {
            let key = &p.registration.key;
            if !trusted.iter().any(|t| t.key_id == key.key_id) {
                check.refused.push((
                    key.key_id.clone(),
                    SealError::KeyRefused {
                        key: key.key_id.clone(),
                        why: "no key pinned for this organisation introduced it".into(),
                    },
                ));
            }
        }
    }
    // Revoked keys get nothing new; pending ones nothing yet.
    let withheld: Vec<&str> =
        well_formed.iter().filter(|p| p.revoked || p.pending).map(|p| p.registration.key.key_id.as_str()).collect();
    let published_ids: Vec<&str> = well_formed.iter().map(|p| p.registration.key.key_id.as_str()).collect();
    for key in &trusted {
        let replaced = trusted.iter().any(|t| t.replaces.as_deref() == Some(key.key_id.as_str()));
        // A pinned key the hub no longer lists is not sealed to (nothing to wrap for
        // a key its organisation cannot be shown to hold), but still verifies.
        if !replaced && !withheld.contains(&key.key_id.as_str()) && published_ids.contains(&key.key_id.as_str()) {
            check.current.push(key.clone());
        }
    }
    check.trusted = trusted;
    check
}

/// An installation's private keys.
pub struct OrgKeyPair {
    seed: [u8; 32],
    encryption: HpkePrivate,
    encryption_public: String,
    signing: SigningKey,
    signing_pkcs8: Vec<u8>,
    key_id: String,
}

impl OrgKeyPair {
    pub fn generate() -> Result<OrgKeyPair, SealError> {
        let seed = random::<32>()?;
        let (_, pkcs8) = SigningKey::generate().map_err(|_| SealError::Rng)?;
        OrgKeyPair::from_secrets(&seed, &pkcs8)
    }

    /// From what [`OrgKeyPair::secrets`] gave: the X25519 seed and the Ed25519 PKCS#8.
    pub fn from_secrets(seed: &[u8], signing_pkcs8: &[u8]) -> Result<OrgKeyPair, SealError> {
        let seed: [u8; 32] =
            seed.try_into().map_err(|_| SealError::BadKey("the X25519 seed is not 32 bytes".into()))?;
        let (encryption, public) = HpkeKem::derive_keypair(&seed);
        let encryption_public = b64(&public.to_bytes());
        let signing = SigningKey::from_pkcs8(signing_pkcs8).map_err(|e| SealError::BadKey(e.to_string()))?;
        let key_id = key_id(&encryption_public, &signing.public_key());
        Ok(OrgKeyPair { seed, encryption, encryption_public, signing, signing_pkcs8: signing_pkcs8.to_vec(), key_id })
    }

    /// The secrets to keep (owner-only): the X25519 seed and the Ed25519 PKCS#8.
    pub fn secrets(&self) -> (&[u8; 32], &[u8]) {
        (&self.seed, &self.signing_pkcs8)
    }

    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    pub fn public(&self, org: &str, created: DateTime<Utc>, replaces: Option<&str>) -> OrgKey {
        OrgKey {
            org: org.to_string(),
            key_id: self.key_id.clone(),
            encryption_key: self.encryption_public.clone(),
            signing_key: self.signing.public_key(),
            created,
            replaces: replaces.map(str::to_string),
        }
    }

    /// The registration of this key; `introducer` is a key of the organisation that
    /// vouches for it (for a rotation, the key it replaces).
    pub fn registration(&self, key: OrgKey, introducer: Option<&OrgKeyPair>) -> KeyRegistration {
        let self_signature = self.signing.sign_bytes(key.statement().as_bytes());
        let (introduced_by, introduction) = match introducer {
            Some(by) => (Some(by.key_id.clone()), Some(by.introduce(&key))),
            None => (None, None),
        };
        KeyRegistration { key, self_signature, introduced_by, introduction }
    }

    /// This key's introduction of another key of its organisation.
    pub fn introduce(&self, key: &OrgKey) -> String {
        self.signing.sign_bytes(key.introduction_message().as_bytes())
    }
}

// ---------------------------------------------------------------------------------------
// Sealed bodies

/// The batch key wrapped to one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Wrap {
    /// The key it is wrapped to: given to the hub (which checks every current key of
    /// every recipient has one) and kept there; never in what recipients read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// HPKE's encapsulated key, base64url.
    pub enc: String,
    /// The batch key sealed with HPKE, base64url.
    pub sealed_key: String,
}

/// What the hub stores in place of a sealed item's content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SealedBody {
    pub scheme: String,
    /// The kind of the content (the envelope's kind).
    pub content_kind: Kind,
    /// The batch this item was sealed in (base64url of 16 random bytes): items of a
    /// batch share their wraps.
    pub batch: String,
    pub wraps: Vec<Wrap>,
    pub ciphertext: String,
}

impl SealedBody {
    /// As recipients read it: the wraps without the keys they are for.
    pub fn for_readers(&self) -> SealedBody {
        let mut out = self.clone();
        out.wraps.iter_mut().for_each(|w| w.key = None);
        out
    }

    /// The key ids the wraps are for (as given to the hub).
    pub fn wrapped_keys(&self) -> Vec<&str> {
        self.wraps.iter().filter_map(|w| w.key.as_deref()).collect()
    }

    /// Checks what can be checked without a key: the scheme, sizes and encodings.
    pub fn check_form(&self) -> Result<(), SealError> {
        let bad = |w: &str| Err(SealError::Malformed(w.to_string()));
        if self.scheme != SCHEME {
            return bad("unknown sealing scheme");
        }
        if unb64("batch", &self.batch)?.len() != 16 {
            return bad("the batch id is not 16 bytes");
        }
        if self.wraps.is_empty() || self.wraps.len() > MAX_WRAPS {
            return Err(SealError::Malformed(format!("between 1 and {MAX_WRAPS} wraps")));
        }
        for w in &self.wraps {
            if unb64("enc", &w.enc)?.len() != 32 || unb64("sealedKey", &w.sealed_key)?.len() != 48 {
                return bad("a wrap is not an X25519 encapsulation of a 32-byte key");
            }
        }
        if self.ciphertext.len() > MAX_CIPHERTEXT * 4 / 3 + 4 {
            return Err(SealError::Malformed(format!("the ciphertext is over {MAX_CIPHERTEXT} bytes")));
        }
        if unb64("ciphertext", &self.ciphertext)?.len() < 16 {
            return bad("the ciphertext is shorter than its tag");
        }
        Ok(())
    }
}

/// The `format` of a sealed share handed from a member's client to the web console
/// (`renkei share --tlp RED --envelope-out FILE`, then uploaded to `/console/share/sealed`).
pub const SHARE_FORMAT: &str = "renkei-sealed-share-v1";

/// A sealed share as a document: the variables of the hub's `shareSealed` mutation
/// (each item's `sealed` is a [`SealedBody`] as JSON text), sealed by the member's
/// client; whoever carries it (a browser) cannot read the content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SealedShare {
    /// Always [`SHARE_FORMAT`].
    pub format: String,
    pub items: Vec<SealedShareItem>,
    pub recipients: Vec<String>,
    pub anonymous: bool,
    pub confidence: Option<i64>,
    pub valid_until: Option<String>,
}

/// One sealed item of a [`SealedShare`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedShareItem {
    pub id: String,
    /// A [`SealedBody`] as JSON text.
    pub sealed: String,
}

/// One item to seal: its id (made by the sender: the ciphertext is bound to it) and
/// its content.
pub struct Content {
    pub id: String,
    pub body: Body,
}

fn item_aad(id: &str, kind: Kind) -> Vec<u8> {
    format!("{SCHEME}\0{id}\0{}", kind.as_str()).into_bytes()
}

fn item_key(batch_key: &[u8; 32], batch: &[u8], id: &str) -> Result<LessSafeKey, SealError> {
    struct Len32;
    impl ring::hkdf::KeyType for Len32 {
        fn len(&self) -> usize {
            32
        }
    }
    let salt = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, batch);
    let prk = salt.extract(batch_key);
    let info = [ITEM_KEY_INFO, id.as_bytes()];
    let okm = prk.expand(&info, Len32).map_err(|_| SealError::Rng)?;
    let mut key = [0u8; 32];
    okm.fill(&mut key).map_err(|_| SealError::Rng)?;
    let unbound = UnboundKey::new(&CHACHA20_POLY1305, &key).map_err(|_| SealError::Rng)?;
    Ok(LessSafeKey::new(unbound))
}

/// What the ciphertext holds: the signed content and the sender's signature.
fn signed_content(id: &str, body: &Body, sender: Option<(&str, &str)>) -> Result<String, SealError> {
    let body = serde_json::to_value(body).map_err(|e| SealError::Malformed(e.to_string()))?;
    Ok(canonical_json(&json!({
        "scheme": SCHEME,
        "id": id,
        "kind": body.get("kind"),
        "body": body,
        "sender": sender.map(|(org, key)| json!({"org": org, "key": key})),
    })))
}

/// Seals a batch of items to `keys` (every current key of every recipient, and of the
/// sender unless anonymous), signed by `sender` (its organisation and key) unless
/// anonymous. Each content is checked with [`check_content`] first: the hub cannot.
pub fn seal(
    items: &[Content],
    keys: &[OrgKey],
    sender: Option<(&str, &OrgKeyPair)>,
) -> Result<Vec<SealedBody>, SealError> {
    if keys.is_empty() {
        return Err(SealError::NoKeys("no recipient key".into()));
    }
    if keys.len() > MAX_WRAPS {
        return Err(SealError::NoKeys(format!("more than {MAX_WRAPS} keys")));
    }
    for item in items {
        if matches!(item.body, Body::Sealed(_)) {
            return Err(SealError::Invalid("a sealed body cannot be sealed again".into()));
        }
        if Kind::of_id(&item.id) != Some(item.body.kind()) {
            return Err(SealError::Invalid(format!("{} is not an id of a {}", item.id, item.body.kind().as_str())));
        }
        check_content(&item.body)?;
    }
    let batch = random::<16>()?;
    let batch_key = random::<32>()?;
    let mut wraps = Vec::with_capacity(keys.len());
    for key in keys {
        let public = HpkePublic::from_bytes(&unb64("encryptionKey", &key.encryption_key)?)
            .map_err(|_| SealError::BadKey(format!("key {} is not an X25519 key", key.key_id)))?;
        let (enc, sealed) = hpke::single_shot_seal::<ChaCha20Poly1305, HkdfSha256, HpkeKem>(
            &OpModeS::Base,
            &public,
            WRAP_INFO,
            &batch_key,
            &batch,
        )
        .map_err(|_| SealError::Rng)?;
        wraps.push(Wrap { key: Some(key.key_id.clone()), enc: b64(&enc.to_bytes()), sealed_key: b64(&sealed) });
    }
    // In no order the sender chose (the recipients' order would say who came first).
    wraps.sort_by(|a, b| a.enc.cmp(&b.enc));
    let texts: Vec<String> = items
        .iter()
        .map(|i| signed_content(&i.id, &i.body, sender.map(|(org, k)| (org, k.key_id()))))
        .collect::<Result<_, _>>()?;
    let signatures: Vec<Option<String>> = match sender {
        Some((_, key)) => key.signing.sign_batch(&texts).into_iter().map(Some).collect(),
        None => vec![None; texts.len()],
    };
    let batch_text = b64(&batch);
    let mut out = Vec::with_capacity(items.len());
    for ((item, text), signature) in items.iter().zip(&texts).zip(signatures) {
        let plaintext = format!("{{\"signature\":{},\"signed\":{text}}}", json!(signature));
        let mut buffer = plaintext.into_bytes();
        let kind = item.body.kind();
        item_key(&batch_key, &batch, &item.id)?
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key([0u8; 12]),
                Aad::from(item_aad(&item.id, kind)),
                &mut buffer,
            )
            .map_err(|_| SealError::Rng)?;
        out.push(SealedBody {
            scheme: SCHEME.into(),
            content_kind: kind,
            batch: batch_text.clone(),
            wraps: wraps.clone(),
            ciphertext: b64(&buffer),
        });
    }
    Ok(out)
}

/// What an opened item holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Opened {
    pub body: Body,
    /// The signing organisation and key; `None` when shared anonymously.
    pub sender: Option<(String, String)>,
}

/// Opens sealed items with an installation's keys (current and old), remembering the
/// batch keys it has unwrapped and the sender signatures it has verified.
pub struct Opener {
    keys: Vec<OrgKeyPair>,
    batch_keys: HashMap<String, [u8; 32]>,
    verifiers: HashMap<String, Verifier>,
}

/// Who the hub says shared an item, for [`Opener::open`] to compare with the content.
pub enum Submitter<'a> {
    /// Shared anonymously: the content must name no sender.
    Anonymous,
    /// Whether an organisation is the one the hub names (a recipient may know it only
    /// as a STIX identity reference).
    Named(&'a dyn Fn(&str) -> bool),
}

impl Opener {
    pub fn new(keys: Vec<OrgKeyPair>) -> Opener {
        Opener { keys, batch_keys: HashMap::new(), verifiers: HashMap::new() }
    }

    fn batch_key(&mut self, sealed: &SealedBody) -> Result<[u8; 32], SealError> {
        if let Some(k) = self.batch_keys.get(&sealed.batch) {
            return Ok(*k);
        }
        let batch = unb64("batch", &sealed.batch)?;
        for wrap in &sealed.wraps {
            let Ok(enc) = HpkeEncapped::from_bytes(&unb64("enc", &wrap.enc)?) else { continue };
            let sealed_key = unb64("sealedKey", &wrap.sealed_key)?;
            for key in &self.keys {
                if let Ok(plain) = hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, HpkeKem>(
                    &OpModeR::Base,
                    &key.encryption,
                    &enc,
                    WRAP_INFO,
                    &sealed_key,
                    &batch,
                ) {
                    let k: [u8; 32] = plain.as_slice().try_into().map_err(|_| SealError::Tampered)?;
                    if self.batch_keys.len() > 4096 {
                        self.batch_keys.clear();
                    }
                    self.batch_keys.insert(sealed.batch.clone(), k);
                    return Ok(k);
                }
            }
        }
        Err(SealError::NotForUs)
    }

    /// Opens one item. `id` and `kind` are the envelope's; `submitter` is the sender
    /// the hub names; `sender_key(org, key_id)` gives the pinned signing key of that
    /// organisation's key, if trusted.
    pub fn open(
        &mut self,
        id: &str,
        kind: Kind,
        sealed: &SealedBody,
        submitter: Submitter<'_>,
        sender_key: &mut dyn FnMut(&str, &str) -> Option<String>,
    ) -> Result<Opened, SealError> {
        sealed.check_form()?;
        if sealed.content_kind != kind {
            return Err(SealError::KindMismatch {
                inner: sealed.content_kind.as_str().into(),
                outer: kind.as_str().into(),
            });
        }
        let batch_key = self.batch_key(sealed)?;
        let batch = unb64("batch", &sealed.batch)?;
        let mut buffer = unb64("ciphertext", &sealed.ciphertext)?;
        let plain = item_key(&batch_key, &batch, id)?
            .open_in_place(Nonce::assume_unique_for_key([0u8; 12]), Aad::from(item_aad(id, kind)), &mut buffer)
            .map_err(|_| SealError::Tampered)?;
        #[derive(Deserialize)]
        struct Outer {
            signature: Option<String>,
            signed: Value,
        }
        #[derive(Deserialize)]
        struct Signed {
            scheme: String,
            id: String,
            body: Body,
            sender: Option<SenderRef>,
        }
        #[derive(Deserialize)]
        struct SenderRef {
            org: String,
            key: String,
        }
        let outer: Outer = serde_json::from_slice(plain).map_err(|e| SealError::Malformed(e.to_string()))?;
        let signed_text = canonical_json(&outer.signed);
        let signed: Signed = serde_json::from_value(outer.signed).map_err(|e| SealError::Malformed(e.to_string()))?;
        if signed.scheme != SCHEME || signed.id != id {
            return Err(SealError::Malformed("the content names another item".into()));
        }
        if signed.body.kind() != kind {
            return Err(SealError::KindMismatch {
                inner: signed.body.kind().as_str().into(),
                outer: kind.as_str().into(),
            });
        }
        let sender = match (submitter, signed.sender, outer.signature) {
            (Submitter::Anonymous, None, None) => None,
            (Submitter::Anonymous, Some(s), _) => {
                return Err(SealError::SenderMismatch { inner: s.org, outer: "an anonymous member".into() })
            }
            (Submitter::Anonymous, None, Some(_)) => {
                return Err(SealError::Malformed("a signature without its sender".into()))
            }
            (Submitter::Named(_), None, _) | (Submitter::Named(_), Some(_), None) => return Err(SealError::Unsigned),
            (Submitter::Named(is_submitter), Some(s), Some(signature)) => {
                if !is_submitter(&s.org) {
                    return Err(SealError::SenderMismatch { inner: s.org, outer: "another organisation".into() });
                }
                let Some(public) = sender_key(&s.org, &s.key) else {
                    return Err(SealError::UnknownSenderKey { org: s.org, key: s.key });
                };
                let verifier = match self.verifiers.get_mut(&public) {
                    Some(v) => v,
                    None => {
                        let v = Verifier::new(&public).map_err(|e| SealError::BadKey(e.to_string()))?;
                        self.verifiers.entry(public.clone()).or_insert(v)
                    }
                };
                if verifier.verify(signed_text.as_bytes(), &signature).is_err() {
                    return Err(SealError::ForgedSignature { org: s.org, key: s.key });
                }
                Some((s.org, s.key))
            }
        };
        check_content(&signed.body)?;
        Ok(Opened { body: signed.body, sender })
    }
}

// ---------------------------------------------------------------------------------------
// Content rules

fn text_ok(field: &'static str, text: &str, max: usize) -> Result<(), SealError> {
    let clean = crate::model::clean_text(field, text, max).map_err(|e| SealError::Invalid(e.to_string()))?;
    if clean != text {
        return Err(SealError::Invalid(format!("{field} is not in canonical form")));
    }
    Ok(())
}

fn texts_ok(field: &'static str, texts: &[String], max: usize) -> Result<(), SealError> {
    texts.iter().try_for_each(|t| text_ok(field, t, max))
}

/// The rules a hub applies to a plaintext item's content that need nothing but the
/// content (values in canonical form, ids well formed, texts within their limits). The
/// sender's client checks them before sealing and every recipient's client after
/// opening, since the hub cannot.
pub fn check_content(body: &Body) -> Result<(), SealError> {
    let invalid = |w: String| SealError::Invalid(w);
    match body {
        Body::Indicator(b) => {
            let normal = crate::model::indicator::normalize(b.indicator_type, &b.value)
                .map_err(|e| invalid(format!("{} value: {e}", b.indicator_type.as_str())))?;
            if normal != b.value {
                return Err(invalid("the indicator value is not in canonical form".into()));
            }
            if let Some(d) = &b.description {
                text_ok("description", d, limits::INDICATOR_DESCRIPTION)?;
            }
        }
        Body::Technique(b) => {
            let id = crate::model::attack_id::validate_technique_id(&b.attack_id)
                .map_err(|e| invalid(format!("attackId: {}", e.reason)))?;
            if id != b.attack_id {
                return Err(invalid("attackId is not in canonical form".into()));
            }
            text_ok("name", &b.name, limits::NAME)?;
            text_ok("narrative", &b.narrative, limits::NARRATIVE)?;
            for t in &b.tactics {
                crate::model::attack_id::validate_tactic(t).map_err(|e| invalid(format!("tactics: {}", e.reason)))?;
            }
            texts_ok("platforms", &b.platforms, limits::LIST_ENTRY)?;
            texts_ok("icsAssetTypes", &b.ics_asset_types, limits::LIST_ENTRY)?;
        }
        Body::Incident(b) => {
            text_ok("title", &b.title, limits::TITLE)?;
            text_ok("summary", &b.summary, limits::SUMMARY)?;
            text_ok("sector", &b.sector, limits::SECTOR)?;
            if let Some(d) = &b.impact_description {
                text_ok("impactDescription", d, limits::IMPACT_DESCRIPTION)?;
            }
            for t in &b.technique_ids {
                crate::model::attack_id::validate_technique_id(t)
                    .map_err(|e| invalid(format!("techniqueIds: {}", e.reason)))?;
            }
            for r in &b.indicator_refs {
                if Kind::of_id(r) != Some(Kind::Indicator) {
                    return Err(invalid(format!("indicatorRefs: {r} is not an indicator id")));
                }
            }
        }
        Body::Advisory(b) => {
            let cve =
                crate::model::vuln::validate_cve_id(&b.cve_id).map_err(|e| invalid(format!("cveId: {}", e.reason)))?;
            if cve != b.cve_id {
                return Err(invalid("cveId is not in canonical form".into()));
            }
            text_ok("title", &b.title, limits::TITLE)?;
            if let Some(d) = &b.description {
                text_ok("description", d, limits::ADVISORY_DESCRIPTION)?;
            }
            for p in &b.affected {
                p.validate().map_err(|e| invalid(format!("affected: {}", e.reason)))?;
            }
            if b.cvss_base_score.is_some_and(|s| !(0.0..=10.0).contains(&s)) {
                return Err(invalid("cvssBaseScore is 0–10".into()));
            }
            texts_ok("fixes", &b.fixes, limits::REMEDY)?;
            texts_ok("workarounds", &b.workarounds, limits::REMEDY)?;
        }
        Body::Assessment(b) => {
            if b.results.is_empty() {
                return Err(invalid("an assessment answers at least one criterion".into()));
            }
            for f in &b.findings {
                text_ok("findings", &f.description, 2_000)?;
            }
            if b.posture.is_some_and(|p| !(0.0..=100.0).contains(&p)) {
                return Err(invalid("posture is 0–100".into()));
            }
        }
        Body::Sealed(_) => return Err(invalid("sealed content cannot hold another sealed body".into())),
    }
    Ok(())
}

#[cfg(test)]
mod tests;
