//! The hub's keys and the few primitives it uses, all from ring: the Ed25519 signing
//! key, the HMAC key under which token digests are stored, the HMAC key that chains the
//! audit log (so that whoever can write the database cannot rewrite an entry and chain
//! the rest again), sealing under the key-encryption key, random tokens, and SHA-256.
//! Where the keys live (the database, sealed under the operator's key-encryption key)
//! and how a replica follows a rotation is `keystore`.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac};
use std::path::Path;
use std::sync::{Arc, RwLock};

use renkei_schema::sign::SigningKey;

/// The key files of hubs made before the keys moved into the database: imported at
/// the first start on an empty database (`keystore`), never written again.
pub const SIGNING_KEY_FILE: &str = "hub-signing-key.pk8";
pub const TOKEN_KEY_FILE: &str = "token-hmac.key";
pub const AUDIT_KEY_FILE: &str = "audit-hmac.key";

/// A signing key with its id (the fingerprint of its public key) and public key.
pub struct ActiveKey {
    pub id: String,
    pub public_key: String,
    pub key: SigningKey,
}

impl ActiveKey {
    pub fn new(key: SigningKey) -> ActiveKey {
        let public_key = key.public_key();
        ActiveKey { id: fingerprint(&public_key), public_key, key }
    }
}

/// The hub's current signing key: what a process signs with, swapped when the database
/// names another (a rotation made by another replica or the command line; see
/// `HubKeys::follow` in `keystore`). Signing here is with the key as it is now: writers
/// call `follow` under the write lock first.
pub struct CurrentKey {
    current: RwLock<Arc<ActiveKey>>,
}

impl CurrentKey {
    pub fn new(key: ActiveKey) -> CurrentKey {
        CurrentKey { current: RwLock::new(Arc::new(key)) }
    }

    /// The key as it is now (it stays usable after a swap).
    pub fn get(&self) -> Arc<ActiveKey> {
        Arc::clone(&self.current.read().unwrap_or_else(|e| e.into_inner()))
    }

    pub(crate) fn replace(&self, key: Arc<ActiveKey>) {
        *self.current.write().unwrap_or_else(|e| e.into_inner()) = key;
    }

    /// The current public key (base64url).
    pub fn public_key(&self) -> String {
        self.get().public_key.clone()
    }

    pub fn sign_batch<T: AsRef<[u8]>>(&self, objects: &[T]) -> Vec<String> {
        self.get().key.sign_batch(objects)
    }

    pub fn sign_bytes(&self, msg: &[u8]) -> String {
        self.get().key.sign_bytes(msg)
    }

    pub fn sign_json(&self, value: &serde_json::Value) -> String {
        self.get().key.sign_json(value)
    }
}

/// The fingerprint of an Ed25519 public key (base64url): hex of the SHA-256 of its 32
/// bytes, the first 32 digits. Names a signing key in the database and in `key list`.
pub fn fingerprint(public_key: &str) -> String {
    let raw = URL_SAFE_NO_PAD.decode(public_key).unwrap_or_else(|_| public_key.as_bytes().to_vec());
    sha256_hex(&raw)[..32].to_string()
}

pub struct HubKeys {
    pub signing: CurrentKey,
    token_hmac: hmac::Key,
    audit_hmac: hmac::Key,
    /// What unseals a signing key another process made (a rotation), with the hub id
    /// its sealing names.
    pub(crate) kek: Kek,
    pub(crate) hub_id: String,
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("key file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("key file {0} is damaged")]
    Damaged(String),
    #[error("key file {0} is readable by other users; chmod 600 it")]
    TooOpen(String),
    #[error("random number generator failed")]
    Rng,
    /// The hub refuses to start (or a command to run) with these keys: both languages.
    #[error("{en}\n{ja}")]
    Refused { en: String, ja: String },
    #[error("database: {0}")]
    Database(String),
}

impl From<diesel::result::Error> for KeyError {
    fn from(e: diesel::result::Error) -> Self {
        KeyError::Database(e.to_string())
    }
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io { path: path.display().to_string(), source }
}

/// Writes a new secret file readable by the hub's user only.
pub(crate) fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path).map_err(io_err(path))?;
    file.write_all(bytes).map_err(io_err(path))?;
    file.sync_all().map_err(io_err(path))
}

pub(crate) fn read_secret(path: &Path) -> Result<Vec<u8>, KeyError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path).map_err(io_err(path))?.permissions().mode();
        if mode & 0o077 != 0 {
            return Err(KeyError::TooOpen(path.display().to_string()));
        }
    }
    std::fs::read(path).map_err(io_err(path))
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut buf = [0u8; N];
    SystemRandom::new().fill(&mut buf).map_err(|_| KeyError::Rng)?;
    Ok(buf)
}

impl HubKeys {
    /// The keys from their material: the signing key, the 32-byte token and audit
    /// HMAC keys, and what unseals further signing keys (`keystore` loads them).
    pub fn from_material(signing: ActiveKey, token: &[u8], audit: &[u8], kek: Kek, hub_id: &str) -> HubKeys {
        HubKeys {
            signing: CurrentKey::new(signing),
            token_hmac: hmac::Key::new(hmac::HMAC_SHA256, token),
            audit_hmac: hmac::Key::new(hmac::HMAC_SHA256, audit),
            kek,
            hub_id: hub_id.to_string(),
        }
    }

    /// A name for the token key that reveals nothing of it (recorded in the database).
    pub fn token_key_id(&self) -> String {
        hex::encode(&hmac::sign(&self.token_hmac, b"renkei token key id v1").as_ref()[..16])
    }

    /// HMAC-SHA256 (hex) of an audit entry's canonical content under the audit key.
    pub fn audit_mac(&self, content: &[u8]) -> String {
        hex::encode(hmac::sign(&self.audit_hmac, content).as_ref())
    }

    /// Constant-time check of an audit MAC.
    pub fn audit_mac_matches(&self, content: &[u8], mac_hex: &str) -> bool {
        match hex::decode(mac_hex) {
            Ok(tag) => hmac::verify(&self.audit_hmac, content, &tag).is_ok(),
            Err(_) => false,
        }
    }

    /// A name for the audit key that reveals nothing of it, recorded in the database so
    /// a process run with another data folder is refused before it writes entries the
    /// chain's own key would not verify.
    pub fn audit_key_id(&self) -> String {
        self.audit_mac(b"renkei audit key id v1")[..32].to_string()
    }

    /// The digest a token is stored under (hex of HMAC-SHA256).
    /// A MAC over a paging cursor the hub hands out (TAXII `next`), so a caller cannot
    /// make up or alter one. Keyed by the token key, domain-separated from token digests.
    pub fn cursor_mac(&self, content: &[u8]) -> Vec<u8> {
        hmac::sign(&self.token_hmac, &Self::cursor_content(content)).as_ref().to_vec()
    }

    /// Constant-time check of a cursor's MAC.
    pub fn cursor_mac_matches(&self, content: &[u8], mac: &[u8]) -> bool {
        hmac::verify(&self.token_hmac, &Self::cursor_content(content), mac).is_ok()
    }

    fn cursor_content(content: &[u8]) -> Vec<u8> {
        let mut out = b"renkei cursor\0".to_vec();
        out.extend_from_slice(content);
        out
    }

    pub fn token_digest(&self, token: &str) -> String {
        hex::encode(hmac::sign(&self.token_hmac, token.as_bytes()).as_ref())
    }

    /// Constant-time check of a presented token against a stored digest.
    pub fn token_matches(&self, token: &str, stored_digest: &str) -> bool {
        match hex::decode(stored_digest) {
            Ok(tag) => hmac::verify(&self.token_hmac, token.as_bytes(), &tag).is_ok(),
            Err(_) => false,
        }
    }
}

/// A new bearer token: `rk_<token id>_<secret>`. The id lets the hub find the token
/// and count failures against it; the secret is 256 random bits.
pub fn new_token() -> Result<(String, String), KeyError> {
    let id = hex::encode(random_bytes::<12>()?);
    let secret = URL_SAFE_NO_PAD.encode(random_bytes::<32>()?);
    Ok((id.clone(), format!("rk_{id}_{secret}")))
}

/// The token id part of a presented token, if it has the right shape.
pub fn token_id_of(token: &str) -> Option<&str> {
    let rest = token.strip_prefix("rk_")?;
    let (id, secret) = rest.split_once('_')?;
    (id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()) && !secret.is_empty()).then_some(id)
}

/// Whether two byte strings are equal, in time that depends on their lengths only.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl HubKeys {
    /// The key that seals secrets kept in the database (a TOTP factor's): derived from
    /// the token key, itself sealed in the database under the key-encryption key, so a
    /// copy of the database alone reveals none of them.
    fn sealing_key(&self) -> Result<ring::aead::LessSafeKey, KeyError> {
        let derived = hmac::sign(&self.token_hmac, b"renkei sealing key v1");
        // ChaCha20-Poly1305 takes a 32-byte key: an HMAC-SHA256 tag is one.
        let key = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, derived.as_ref())
            .map_err(|_| KeyError::Damaged("the token key".into()))?;
        Ok(ring::aead::LessSafeKey::new(key))
    }

    /// Seals a secret (ChaCha20-Poly1305, a random nonce): hex of nonce and ciphertext.
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, KeyError> {
        seal_with(&self.sealing_key()?, b"renkei", plaintext)
    }

    /// Opens what [`HubKeys::seal`] sealed; None if it was altered or sealed by another key.
    pub fn open_sealed(&self, sealed_hex: &str) -> Option<Vec<u8>> {
        open_with(&self.sealing_key().ok()?, b"renkei", sealed_hex)
    }
}

/// ChaCha20-Poly1305 with a random nonce: hex of nonce and ciphertext (with its tag).
fn seal_with(key: &ring::aead::LessSafeKey, aad: &[u8], plaintext: &[u8]) -> Result<String, KeyError> {
    let nonce_bytes = random_bytes::<12>()?;
    let mut sealed = plaintext.to_vec();
    key.seal_in_place_append_tag(
        ring::aead::Nonce::assume_unique_for_key(nonce_bytes),
        ring::aead::Aad::from(aad),
        &mut sealed,
    )
    .map_err(|_| KeyError::Rng)?;
    let mut out = nonce_bytes.to_vec();
    out.extend_from_slice(&sealed);
    Ok(hex::encode(out))
}

/// Opens what [`seal_with`] sealed under the same key and associated data.
fn open_with(key: &ring::aead::LessSafeKey, aad: &[u8], sealed_hex: &str) -> Option<Vec<u8>> {
    let bytes = hex::decode(sealed_hex).ok()?;
    if bytes.len() < 12 + 16 {
        return None;
    }
    let (nonce, rest) = bytes.split_at(12);
    let nonce = ring::aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
    let mut buffer = rest.to_vec();
    let plain = key.open_in_place(nonce, ring::aead::Aad::from(aad), &mut buffer).ok()?;
    Some(plain.to_vec())
}

/// The operator's key-encryption key (KEK): 32 bytes, kept in a file apart from the
/// database, under which the hub's keys are sealed in it (ChaCha20-Poly1305).
pub struct Kek {
    key: ring::aead::LessSafeKey,
}

impl Kek {
    /// A KEK from its 32 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Option<Kek> {
        let key = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, bytes).ok()?;
        Some(Kek { key: ring::aead::LessSafeKey::new(key) })
    }

    /// The KEK a file holds: 32 bytes, or 64 hex digits (with spaces or a newline
    /// around them); None if it holds neither.
    pub fn parse_file(content: &[u8]) -> Option<Kek> {
        if content.len() == 32 {
            return Kek::from_bytes(content);
        }
        let text = std::str::from_utf8(content).ok()?.trim();
        if text.len() != 64 {
            return None;
        }
        Kek::from_bytes(&hex::decode(text).ok()?)
    }

    /// Seals key material; `aad` names what it is (bound to the ciphertext).
    pub fn seal(&self, aad: &[u8], plaintext: &[u8]) -> Result<String, KeyError> {
        seal_with(&self.key, aad, plaintext)
    }

    /// Opens what [`Kek::seal`] sealed with the same `aad`; None under another KEK, for
    /// other associated data, or altered.
    pub fn open(&self, aad: &[u8], sealed_hex: &str) -> Option<Vec<u8>> {
        open_with(&self.key, aad, sealed_hex)
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> HubKeys {
        let (signing, _) = SigningKey::generate().expect("key");
        let kek = Kek::from_bytes(&random_bytes::<32>().expect("rng")).expect("kek");
        let (token, audit) = (random_bytes::<32>().expect("rng"), random_bytes::<32>().expect("rng"));
        HubKeys::from_material(ActiveKey::new(signing), &token, &audit, kek, "hub")
    }

    #[test]
    fn tokens_digest_under_the_token_key() {
        let keys = keys();
        let (id, token) = new_token().expect("token");
        assert_eq!(token_id_of(&token), Some(id.as_str()));
        let digest = keys.token_digest(&token);
        assert!(keys.token_matches(&token, &digest));
        assert!(!keys.token_matches(&format!("{token}x"), &digest));
        assert!(!self::keys().token_matches(&token, &digest), "another hub's token key");
        assert_eq!(token_id_of("rk_short_x"), None);
        assert_eq!(keys.token_key_id().len(), 32);
        assert_ne!(keys.token_key_id(), keys.audit_key_id());
    }

    #[test]
    fn secret_files_are_private_and_too_open_ones_refused() {
        let dir = std::env::temp_dir().join(format!("renkei-keys-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let path = dir.join("secret.key");
        write_secret(&path, b"0123456789abcdef0123456789abcdef").expect("write");
        assert!(write_secret(&path, b"again").is_err(), "never overwritten");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            assert_eq!(read_secret(&path).expect("read").len(), 32);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            assert!(matches!(read_secret(&path), Err(KeyError::TooOpen(_))));
        }
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn the_current_key_signs_until_it_is_replaced() {
        let keys = keys();
        let first = keys.signing.get();
        assert_eq!(first.id, fingerprint(&keys.signing.public_key()));
        let signature = keys.signing.sign_batch(&[b"object"]).concat();
        renkei_schema::sign::verify_object(&first.public_key, b"object", &signature).expect("verifies");
        let (next, _) = SigningKey::generate().expect("key");
        keys.signing.replace(Arc::new(ActiveKey::new(next)));
        assert_ne!(keys.signing.public_key(), first.public_key);
        let signature = keys.signing.sign_batch(&[b"object"]).concat();
        assert!(renkei_schema::sign::verify_object(&first.public_key, b"object", &signature).is_err());
        assert_eq!(first.key.public_key(), first.public_key, "a key taken before the swap stays usable");
    }

    #[test]
    fn key_material_opens_only_under_the_same_kek_and_name() {
        let kek = Kek::from_bytes(&[7u8; 32]).expect("kek");
        let sealed = kek.seal(b"hub\0signing\0id", b"pkcs8 document").expect("seal");
        assert!(!sealed.contains(&hex::encode(b"pkcs8 document")), "the key shows through");
        assert_eq!(kek.open(b"hub\0signing\0id", &sealed).as_deref(), Some(&b"pkcs8 document"[..]));
        assert_eq!(kek.open(b"hub\0token\0id", &sealed), None, "sealed as another key");
        let wrong = Kek::from_bytes(&[8u8; 32]).expect("kek");
        assert_eq!(wrong.open(b"hub\0signing\0id", &sealed), None, "another KEK");
        assert!(Kek::parse_file(&[1u8; 31]).is_none());
        let hex_file = format!("{}\n", hex::encode([7u8; 32]));
        let from_hex = Kek::parse_file(hex_file.as_bytes()).expect("hex KEK");
        assert_eq!(from_hex.open(b"hub\0signing\0id", &sealed).as_deref(), Some(&b"pkcs8 document"[..]));
    }

    #[test]
    fn sealed_secrets_open_only_unaltered_and_under_the_same_keys() {
        let keys = keys();
        let sealed = keys.seal(b"totp secret").expect("seal");
        assert!(!sealed.contains(&hex::encode(b"totp secret")), "the secret shows through");
        assert_eq!(keys.open_sealed(&sealed).as_deref(), Some(&b"totp secret"[..]));
        assert_ne!(keys.seal(b"totp secret").expect("seal"), sealed, "a fresh nonce each time");
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(keys.open_sealed(&String::from_utf8(altered).expect("hex")), None);
        let other = self::keys();
        assert_eq!(other.open_sealed(&sealed), None);
        assert_eq!(keys.open_sealed("zz"), None);
    }
}
