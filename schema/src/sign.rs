//! Ed25519 signatures over the canonical JSON of a shared object (ring).
//!
//! The origin hub signs every published version; clients and peer hubs verify with the
//! origin hub's public key. Signatures and keys travel as unpadded base64url.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};

use crate::stix::canonical_json;

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("the signing key is not a valid Ed25519 PKCS#8 document")]
    BadKey,
    #[error("the random number generator failed")]
    Rng,
    #[error("the public key is not valid base64url")]
    BadPublicKey,
    #[error("the signature is not valid base64url")]
    BadSignatureEncoding,
    #[error("the signature does not match the object")]
    Mismatch,
}

/// A hub's signing key.
pub struct SigningKey {
    pair: Ed25519KeyPair,
}

impl SigningKey {
    /// Makes a new key and returns it with its PKCS#8 document (what goes in the key file).
    pub fn generate() -> Result<(SigningKey, Vec<u8>), SignError> {
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).map_err(|_| SignError::Rng)?;
        let key = SigningKey::from_pkcs8(pkcs8.as_ref())?;
        Ok((key, pkcs8.as_ref().to_vec()))
    }

    pub fn from_pkcs8(doc: &[u8]) -> Result<SigningKey, SignError> {
        let pair = Ed25519KeyPair::from_pkcs8(doc).map_err(|_| SignError::BadKey)?;
        Ok(SigningKey { pair })
    }

    /// The public key, base64url without padding.
    pub fn public_key(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.pair.public_key().as_ref())
    }

    /// Signs raw bytes.
    pub fn sign_bytes(&self, msg: &[u8]) -> String {
        URL_SAFE_NO_PAD.encode(self.pair.sign(msg).as_ref())
    }

    /// Signs the canonical JSON of a value.
    pub fn sign_json(&self, value: &serde_json::Value) -> String {
        self.sign_bytes(canonical_json(value).as_bytes())
    }
}

/// Verifies a signature made by [`SigningKey::sign_bytes`].
pub fn verify_bytes(public_key: &str, msg: &[u8], signature: &str) -> Result<(), SignError> {
    let key = URL_SAFE_NO_PAD.decode(public_key).map_err(|_| SignError::BadPublicKey)?;
    let sig = URL_SAFE_NO_PAD.decode(signature).map_err(|_| SignError::BadSignatureEncoding)?;
    UnparsedPublicKey::new(&ED25519, key).verify(msg, &sig).map_err(|_| SignError::Mismatch)
}

/// Verifies a signature over the canonical JSON of a value.
pub fn verify_json(public_key: &str, value: &serde_json::Value, signature: &str) -> Result<(), SignError> {
    verify_bytes(public_key, canonical_json(value).as_bytes(), signature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn signature_survives_key_order_and_fails_on_any_change() {
        let (key, pkcs8) = SigningKey::generate().expect("key");
        let reloaded = SigningKey::from_pkcs8(&pkcs8).expect("reload");
        assert_eq!(key.public_key(), reloaded.public_key());

        let object =
            json!({"type": "indicator", "id": "indicator--1", "pattern": "[ipv4-addr:value = '198.51.100.7']"});
        let sig = key.sign_json(&object);
        let reordered: serde_json::Value = serde_json::from_str(
            r#"{"pattern": "[ipv4-addr:value = '198.51.100.7']", "id": "indicator--1", "type": "indicator"}"#,
        )
        .expect("json");
        verify_json(&key.public_key(), &reordered, &sig).expect("same object in another key order verifies");

        let altered =
            json!({"type": "indicator", "id": "indicator--1", "pattern": "[ipv4-addr:value = '198.51.100.8']"});
        assert!(matches!(verify_json(&key.public_key(), &altered, &sig), Err(SignError::Mismatch)));

        let (other, _) = SigningKey::generate().expect("key");
        assert!(matches!(verify_json(&other.public_key(), &object, &sig), Err(SignError::Mismatch)));
        assert!(matches!(verify_json(&key.public_key(), &object, "%%%"), Err(SignError::BadSignatureEncoding)));
    }
}
