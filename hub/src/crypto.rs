//! The hub's keys and the few primitives it uses, all from ring: the Ed25519 signing
//! key (created at first start), the HMAC key under which token digests are stored,
//! the HMAC key that chains the audit log (so that whoever can write the database
//! cannot rewrite an entry and chain the rest again), random tokens, and SHA-256.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::rand::{SecureRandom, SystemRandom};
use ring::{digest, hmac};
use std::path::Path;

use renkei_schema::sign::SigningKey;

const SIGNING_KEY_FILE: &str = "hub-signing-key.pk8";
const TOKEN_KEY_FILE: &str = "token-hmac.key";
const AUDIT_KEY_FILE: &str = "audit-hmac.key";

pub struct HubKeys {
    pub signing: SigningKey,
    token_hmac: hmac::Key,
    audit_hmac: hmac::Key,
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
}

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> KeyError + '_ {
    move |source| KeyError::Io { path: path.display().to_string(), source }
}

/// Writes a new secret file readable by the hub's user only.
fn write_secret(path: &Path, bytes: &[u8]) -> Result<(), KeyError> {
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

fn read_secret(path: &Path) -> Result<Vec<u8>, KeyError> {
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

/// A 32-byte HMAC key from its file, made at first use.
fn secret_key(path: &Path) -> Result<hmac::Key, KeyError> {
    if !path.exists() {
        write_secret(path, &random_bytes::<32>()?)?;
    }
    let key = read_secret(path)?;
    if key.len() != 32 {
        return Err(KeyError::Damaged(path.display().to_string()));
    }
    Ok(hmac::Key::new(hmac::HMAC_SHA256, &key))
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], KeyError> {
    let mut buf = [0u8; N];
    SystemRandom::new().fill(&mut buf).map_err(|_| KeyError::Rng)?;
    Ok(buf)
}

impl HubKeys {
    /// Loads the hub's keys from its data folder, creating them at first start.
    pub fn load_or_create(data_dir: &Path) -> Result<HubKeys, KeyError> {
        std::fs::create_dir_all(data_dir).map_err(io_err(data_dir))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let _ = std::fs::set_permissions(data_dir, std::fs::Permissions::from_mode(0o700));
        }
        let signing_path = data_dir.join(SIGNING_KEY_FILE);
        if !signing_path.exists() {
            let (_, pkcs8) = SigningKey::generate().map_err(|_| KeyError::Rng)?;
            write_secret(&signing_path, &pkcs8)?;
        }
        let signing = SigningKey::from_pkcs8(&read_secret(&signing_path)?)
            .map_err(|_| KeyError::Damaged(signing_path.display().to_string()))?;

        let token_hmac = secret_key(&data_dir.join(TOKEN_KEY_FILE))?;
        let audit_hmac = secret_key(&data_dir.join(AUDIT_KEY_FILE))?;
        Ok(HubKeys { signing, token_hmac, audit_hmac })
    }

    /// Whether the data folder holds a hub's keys already (commands that only read,
    /// like `audit verify`, must not make a new identity in the wrong folder).
    pub fn exist_in(data_dir: &Path) -> bool {
        data_dir.join(SIGNING_KEY_FILE).exists()
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
    /// the token key file, so a copy of the database alone reveals none of them.
    fn sealing_key(&self) -> Result<ring::aead::LessSafeKey, KeyError> {
        let derived = hmac::sign(&self.token_hmac, b"renkei sealing key v1");
        // ChaCha20-Poly1305 takes a 32-byte key: an HMAC-SHA256 tag is one.
        let key = ring::aead::UnboundKey::new(&ring::aead::CHACHA20_POLY1305, derived.as_ref())
            .map_err(|_| KeyError::Damaged(TOKEN_KEY_FILE.into()))?;
        Ok(ring::aead::LessSafeKey::new(key))
    }

    /// Seals a secret (ChaCha20-Poly1305, a random nonce): hex of nonce and ciphertext.
    pub fn seal(&self, plaintext: &[u8]) -> Result<String, KeyError> {
        let nonce_bytes = random_bytes::<12>()?;
        let mut sealed = plaintext.to_vec();
        self.sealing_key()?
            .seal_in_place_append_tag(
                ring::aead::Nonce::assume_unique_for_key(nonce_bytes),
                ring::aead::Aad::from(b"renkei"),
                &mut sealed,
            )
            .map_err(|_| KeyError::Rng)?;
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&sealed);
        Ok(hex::encode(out))
    }

    /// Opens what [`HubKeys::seal`] sealed; None if it was altered or sealed by another key.
    pub fn open_sealed(&self, sealed_hex: &str) -> Option<Vec<u8>> {
        let bytes = hex::decode(sealed_hex).ok()?;
        if bytes.len() < 12 + 16 {
            return None;
        }
        let (nonce, rest) = bytes.split_at(12);
        let nonce = ring::aead::Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut buffer = rest.to_vec();
        let plain =
            self.sealing_key().ok()?.open_in_place(nonce, ring::aead::Aad::from(b"renkei"), &mut buffer).ok()?;
        Some(plain.to_vec())
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(digest::digest(&digest::SHA256, data).as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_created_once_private_and_reloaded() {
        let dir = std::env::temp_dir().join(format!("renkei-keys-{}", uuid::Uuid::new_v4()));
        let keys = HubKeys::load_or_create(&dir).expect("create");
        let again = HubKeys::load_or_create(&dir).expect("reload");
        assert_eq!(keys.signing.public_key(), again.signing.public_key());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.join(SIGNING_KEY_FILE)).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(dir.join(SIGNING_KEY_FILE), std::fs::Permissions::from_mode(0o644))
                .expect("chmod");
            assert!(matches!(HubKeys::load_or_create(&dir), Err(KeyError::TooOpen(_))));
        }
        let (id, token) = new_token().expect("token");
        assert_eq!(token_id_of(&token), Some(id.as_str()));
        let digest = keys.token_digest(&token);
        assert!(keys.token_matches(&token, &digest));
        assert!(!keys.token_matches(&format!("{token}x"), &digest));
        assert_eq!(token_id_of("rk_short_x"), None);
        let _ = std::fs::remove_dir_all(dir);
    }

    #[test]
    fn sealed_secrets_open_only_unaltered_and_under_the_same_keys() {
        let dir = std::env::temp_dir().join(format!("renkei-seal-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&dir).expect("dir");
        let keys = HubKeys::load_or_create(&dir).expect("keys");
        let sealed = keys.seal(b"totp secret").expect("seal");
        assert!(!sealed.contains(&hex::encode(b"totp secret")), "the secret shows through");
        assert_eq!(keys.open_sealed(&sealed).as_deref(), Some(&b"totp secret"[..]));
        assert_ne!(keys.seal(b"totp secret").expect("seal"), sealed, "a fresh nonce each time");
        let mut altered = sealed.clone().into_bytes();
        let last = altered.len() - 1;
        altered[last] = if altered[last] == b'0' { b'1' } else { b'0' };
        assert_eq!(keys.open_sealed(&String::from_utf8(altered).expect("hex")), None);
        let other_dir = std::env::temp_dir().join(format!("renkei-seal-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&other_dir).expect("dir");
        let other = HubKeys::load_or_create(&other_dir).expect("keys");
        assert_eq!(other.open_sealed(&sealed), None);
        assert_eq!(keys.open_sealed("zz"), None);
        let _ = std::fs::remove_dir_all(dir);
        let _ = std::fs::remove_dir_all(other_dir);
    }
}
