//! Ed25519 signatures over the canonical JSON of a shared object (ring).
//!
//! The origin hub signs every published version; clients and peer hubs verify with the
//! origin hub's public key. Signatures and keys travel as unpadded base64url.
//!
//! Objects are signed in **batches**: the canonical JSON of each object of a batch (up
//! to [`LEAVES_PER_TREE`] objects) is a leaf of a Merkle tree (RFC 9162 hashing:
//! SHA-256, `0x00` before a leaf, `0x01` before two children), the hub signs the tree's
//! root once with Ed25519, and each object's signature carries that root signature
//! with the object's inclusion proof. Every object still verifies on its own, against
//! nothing but the hub's public key; a hub publishing 1,000 objects signs 16 times
//! instead of 1,000 (about 40 µs each on this project's machines), and a follower
//! checks one Ed25519 signature per tree and hashes the rest ([`Verifier`] remembers
//! verified roots).
//!
//! An object signature reads `rk1.<index>.<size>.<root signature>.<proof>`: the leaf's
//! index in its batch, the batch size, the Ed25519 signature (base64url) over
//! `renkei-batch-v1\0 || size (u64, big-endian) || root`, and the audit path from the
//! leaf up (32-byte hashes, concatenated, base64url; empty for a batch of one).

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ring::digest::{Context, SHA256};
use ring::signature::{Ed25519KeyPair, KeyPair, UnparsedPublicKey, ED25519};
use std::collections::HashSet;

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
    #[error("the signature is not a renkei batch signature (rk1.<index>.<size>.<signature>.<proof>)")]
    BadSignatureFormat,
}

/// Objects under one Ed25519 signature. A larger tree signs less often but makes every
/// object's proof longer (32 bytes per doubling), and each version stores and sends
/// its proof. At 64 an object costs 1/64 of a signature and of a verification (about
/// 1 µs instead of 50–70 on this project's machines) and carries a 6-hash proof (a
/// signature string of about 360 characters). It was 16 (4 hashes, about 270): Ed25519
/// verification was then 12 % of a receiving hub's CPU while replicating (perf during
/// federation-bench), for 90 bytes a version saved. Any size verifies: the size travels
/// in each signature.
pub const LEAVES_PER_TREE: usize = 64;

/// Prefix of every batch signature, naming the scheme's version.
const BATCH_SCHEME: &str = "rk1";
/// Domain separation of the signed root, so a root signature can never be taken for
/// a signature over anything else the key signs.
const ROOT_CONTEXT: &[u8] = b"renkei-batch-v1\0";

type Hash = [u8; 32];

fn leaf_hash(object: &[u8]) -> Hash {
    let mut ctx = Context::new(&SHA256);
    ctx.update(&[0]);
    ctx.update(object);
    digest_array(ctx)
}

fn node_hash(left: &Hash, right: &Hash) -> Hash {
    let mut ctx = Context::new(&SHA256);
    ctx.update(&[1]);
    ctx.update(left);
    ctx.update(right);
    digest_array(ctx)
}

fn digest_array(ctx: Context) -> Hash {
    let mut out = [0u8; 32];
    out.copy_from_slice(ctx.finish().as_ref());
    out
}

/// The largest power of two strictly below `n` (n ≥ 2): RFC 9162's split point.
fn split(n: usize) -> usize {
    let mut k = 1;
    // `k < ⌈n/2⌉` is `2k < n` without overflowing: the size comes from the signature,
    // and past 2^63 `k * 2` overflowed (and, without overflow checks, looped forever).
    while k < n.div_ceil(2) {
        k *= 2;
    }
    k
}

/// The root of `leaves`, appending to each leaf's path the siblings on its way up
/// (deepest first, as RFC 9162's audit paths are ordered).
fn build(leaves: &[Hash], paths: &mut [Vec<Hash>]) -> Hash {
    if leaves.len() == 1 {
        return leaves[0];
    }
    let k = split(leaves.len());
    let (left_paths, right_paths) = paths.split_at_mut(k);
    let left = build(&leaves[..k], left_paths);
    let right = build(&leaves[k..], right_paths);
    left_paths.iter_mut().for_each(|p| p.push(right));
    right_paths.iter_mut().for_each(|p| p.push(left));
    node_hash(&left, &right)
}

/// The root a leaf's audit path leads to, or `None` if the path does not fit the
/// index and size.
fn root_from_path(index: usize, size: usize, leaf: Hash, path: &[Hash]) -> Option<Hash> {
    if size == 1 {
        return path.is_empty().then_some(leaf);
    }
    let (last, rest) = path.split_last()?;
    let k = split(size);
    if index < k {
        Some(node_hash(&root_from_path(index, k, leaf, rest)?, last))
    } else {
        Some(node_hash(last, &root_from_path(index - k, size - k, leaf, rest)?))
    }
}

fn root_message(size: usize, root: &Hash) -> Vec<u8> {
    let mut msg = Vec::with_capacity(ROOT_CONTEXT.len() + 8 + 32);
    msg.extend_from_slice(ROOT_CONTEXT);
    msg.extend_from_slice(&(size as u64).to_be_bytes());
    msg.extend_from_slice(root);
    msg
}

/// A batch signature taken apart.
struct BatchSignature {
    index: usize,
    size: usize,
    root_signature: Vec<u8>,
    path: Vec<Hash>,
}

impl BatchSignature {
    fn parse(signature: &str) -> Result<BatchSignature, SignError> {
        let mut parts = signature.split('.');
        let (Some(BATCH_SCHEME), Some(index), Some(size), Some(sig), Some(proof), None) =
            (parts.next(), parts.next(), parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(SignError::BadSignatureFormat);
        };
        let index: usize = index.parse().map_err(|_| SignError::BadSignatureFormat)?;
        let size: usize = size.parse().map_err(|_| SignError::BadSignatureFormat)?;
        if size == 0 || index >= size {
            return Err(SignError::BadSignatureFormat);
        }
        let root_signature = URL_SAFE_NO_PAD.decode(sig).map_err(|_| SignError::BadSignatureEncoding)?;
        let proof = URL_SAFE_NO_PAD.decode(proof).map_err(|_| SignError::BadSignatureEncoding)?;
        if proof.len() % 32 != 0 || proof.len() / 32 > 64 {
            return Err(SignError::BadSignatureFormat);
        }
        let path = proof
            .chunks_exact(32)
            .map(|c| {
                let mut h = [0u8; 32];
                h.copy_from_slice(c);
                h
            })
            .collect();
        Ok(BatchSignature { index, size, root_signature, path })
    }
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

    /// Signs a batch of objects (their canonical JSON) and returns each object's own
    /// batch signature, in order: one Ed25519 signature per [`LEAVES_PER_TREE`]
    /// objects. An empty batch gives none.
    pub fn sign_batch<T: AsRef<[u8]>>(&self, objects: &[T]) -> Vec<String> {
        objects.chunks(LEAVES_PER_TREE).flat_map(|chunk| self.sign_tree(chunk)).collect()
    }

    /// One tree, one signature.
    fn sign_tree<T: AsRef<[u8]>>(&self, objects: &[T]) -> Vec<String> {
        if objects.is_empty() {
            return Vec::new();
        }
        let leaves: Vec<Hash> = objects.iter().map(|o| leaf_hash(o.as_ref())).collect();
        let depth = usize::BITS - (leaves.len() - 1).leading_zeros();
        let mut paths: Vec<Vec<Hash>> = vec![Vec::with_capacity(depth as usize); leaves.len()];
        let root = build(&leaves, &mut paths);
        let size = leaves.len();
        let root_signature = URL_SAFE_NO_PAD.encode(self.pair.sign(&root_message(size, &root)).as_ref());
        paths
            .into_iter()
            .enumerate()
            .map(|(index, path)| {
                let proof = URL_SAFE_NO_PAD.encode(path.concat());
                format!("{BATCH_SCHEME}.{index}.{size}.{root_signature}.{proof}")
            })
            .collect()
    }
}

/// Verifies batch signatures of one hub, remembering the roots already verified so a
/// whole batch costs one Ed25519 verification.
pub struct Verifier {
    public_key: Vec<u8>,
    verified: HashSet<(usize, Hash, Vec<u8>)>,
}

/// Verified roots kept per [`Verifier`] before it forgets them all (a batch is
/// at most a few thousand objects, and feeds arrive in sequence order).
const VERIFIED_ROOTS_KEPT: usize = 4096;

impl Verifier {
    pub fn new(public_key: &str) -> Result<Verifier, SignError> {
        let public_key = URL_SAFE_NO_PAD.decode(public_key).map_err(|_| SignError::BadPublicKey)?;
        if public_key.len() != 32 {
            return Err(SignError::BadPublicKey);
        }
        Ok(Verifier { public_key, verified: HashSet::new() })
    }

    /// Verifies an object's canonical JSON against its batch signature.
    pub fn verify(&mut self, canonical: &[u8], signature: &str) -> Result<(), SignError> {
        let sig = BatchSignature::parse(signature)?;
        let root = root_from_path(sig.index, sig.size, leaf_hash(canonical), &sig.path).ok_or(SignError::Mismatch)?;
        let key = (sig.size, root, sig.root_signature);
        if self.verified.contains(&key) {
            return Ok(());
        }
        UnparsedPublicKey::new(&ED25519, &self.public_key)
            .verify(&root_message(key.0, &key.1), &key.2)
            .map_err(|_| SignError::Mismatch)?;
        if self.verified.len() >= VERIFIED_ROOTS_KEPT {
            self.verified.clear();
        }
        self.verified.insert(key);
        Ok(())
    }

    /// Verifies an object given as JSON (in any key order) against its batch signature.
    pub fn verify_json(&mut self, value: &serde_json::Value, signature: &str) -> Result<(), SignError> {
        self.verify(canonical_json(value).as_bytes(), signature)
    }

    /// How many batch roots this verifier has verified and remembers.
    pub fn verified_roots(&self) -> usize {
        self.verified.len()
    }
}

/// Verifies one object's batch signature (see [`Verifier`] to verify many).
pub fn verify_object(public_key: &str, canonical: &[u8], signature: &str) -> Result<(), SignError> {
    Verifier::new(public_key)?.verify(canonical, signature)
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

    fn objects(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("{{\"id\":\"indicator--{i}\",\"type\":\"indicator\"}}")).collect()
    }

    #[test]
    fn every_object_of_every_batch_size_verifies_alone() {
        let (key, _) = SigningKey::generate().expect("key");
        let public = key.public_key();
        for n in (1..=40).chain([255, 256, 257, 1000]) {
            let objs = objects(n);
            let sigs = key.sign_batch(&objs);
            assert_eq!(sigs.len(), n);
            for (i, (o, s)) in objs.iter().zip(&sigs).enumerate() {
                verify_object(&public, o.as_bytes(), s).unwrap_or_else(|e| panic!("batch {n}, object {i}: {e}"));
                let tree = (n - i / LEAVES_PER_TREE * LEAVES_PER_TREE).min(LEAVES_PER_TREE);
                assert!(s.starts_with(&format!("rk1.{}.{tree}.", i % LEAVES_PER_TREE)), "{s}");
            }
            let roots: std::collections::HashSet<&str> =
                sigs.iter().map(|s| s.split('.').nth(3).expect("sig")).collect();
            assert_eq!(roots.len(), n.div_ceil(LEAVES_PER_TREE), "one signature per tree");
        }
        assert!(key.sign_batch::<&[u8]>(&[]).is_empty());
    }

    #[test]
    fn batch_signature_fails_on_any_change() {
        let (key, _) = SigningKey::generate().expect("key");
        let public = key.public_key();
        let objs = objects(7);
        let sigs = key.sign_batch(&objs);
        // Another object of the same batch, or a changed object, does not verify.
        assert!(matches!(verify_object(&public, objs[1].as_bytes(), &sigs[2]), Err(SignError::Mismatch)));
        assert!(matches!(verify_object(&public, b"{}", &sigs[0]), Err(SignError::Mismatch)));
        // Another key does not verify.
        let (other, _) = SigningKey::generate().expect("key");
        assert!(matches!(verify_object(&other.public_key(), objs[0].as_bytes(), &sigs[0]), Err(SignError::Mismatch)));
        // Changing the index, the size or the proof breaks it.
        let parts: Vec<&str> = sigs[3].split('.').collect();
        let with = |i: usize, v: &str| {
            let mut p = parts.clone();
            p[i] = v;
            p.join(".")
        };
        for (bad, what) in [(with(1, "2"), "index"), (with(2, "8"), "size"), (with(4, ""), "proof")] {
            assert!(verify_object(&public, objs[3].as_bytes(), &bad).is_err(), "changed {what} still verifies");
        }
        assert!(matches!(
            verify_object(&public, objs[3].as_bytes(), &with(1, "7")),
            Err(SignError::BadSignatureFormat)
        ));
        assert!(matches!(
            verify_object(&public, objs[3].as_bytes(), "rk1.0.1.AAAA"),
            Err(SignError::BadSignatureFormat)
        ));
        // A plain Ed25519 signature over the root message is not a signature of an object.
        assert!(verify_object(&public, objs[0].as_bytes(), &key.sign_bytes(objs[0].as_bytes())).is_err());
    }

    #[test]
    fn verifier_checks_one_root_per_batch() {
        let (key, _) = SigningKey::generate().expect("key");
        let mut verifier = Verifier::new(&key.public_key()).expect("verifier");
        let first = objects(LEAVES_PER_TREE);
        let second = objects(3);
        for (o, s) in first.iter().zip(key.sign_batch(&first)) {
            verifier.verify(o.as_bytes(), &s).expect("verifies");
        }
        assert_eq!(verifier.verified_roots(), 1);
        for (o, s) in second.iter().zip(key.sign_batch(&second)) {
            verifier.verify(o.as_bytes(), &s).expect("verifies");
        }
        assert_eq!(verifier.verified_roots(), 2);
        // A remembered root does not let a changed object through.
        let sigs = key.sign_batch(&first);
        verifier.verify(first[0].as_bytes(), &sigs[0]).expect("verifies");
        assert!(verifier.verify(first[1].as_bytes(), &sigs[0]).is_err());
        assert!(Verifier::new("short").is_err());
    }

    /// Found by the `signature` fuzz target: a batch size above 2^63 in a received
    /// signature overflowed in `split` (a panic with overflow checks, an endless loop in a
    /// release build, so a hub or peer could hang a client's sync).
    #[test]
    fn a_batch_size_beyond_2_pow_63_is_refused_not_a_hang() {
        assert_eq!(split(2), 1);
        assert_eq!(split(3), 2);
        assert_eq!(split(64), 32);
        assert_eq!(split(65), 64);
        assert_eq!(split(usize::MAX), 1 << (usize::BITS - 1));
        let (key, _) = SigningKey::generate().expect("key");
        let proof = "SdPii-hl-gECCGSuZuqEiAnaAlnyB1V7AZAqvhpP_7E";
        for signature in [
            format!("rk1.188.15805158588828885888.888w.{proof}"),
            format!("rk1.0.{}.888w.{proof}", usize::MAX),
            format!("rk1.{}.{}.888w.{proof}", usize::MAX - 1, usize::MAX),
        ] {
            assert!(verify_object(&key.public_key(), b"{", &signature).is_err(), "{signature}");
        }
    }
}
