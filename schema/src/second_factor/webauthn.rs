//! WebAuthn (W3C Web Authentication Level 2): registering a security key (§7.1) and
//! checking a sign-in assertion (§7.2), for ES256 keys (ECDSA P-256 with SHA-256).
//!
//! ES256 is the one algorithm every FIDO2 security key and Chromium's virtual
//! authenticator offer; the hub asks for it alone (`pubKeyCredParams: [{type:
//! "public-key", alg: -7}]`), and a key answering with another algorithm (EdDSA -8,
//! RS256 -257, …) is refused with [`WebAuthnError::UnsupportedAlgorithm`].
//!
//! **Attestation is not verified.** The hub trusts a key because a signed-in
//! coordinator enrolled it, not because its vendor vouches for the model: the hub
//! requests `attestation: "none"`, accepts the `"none"` format, and accepts `"packed"`
//! (what some keys send as self-attestation even then) by ignoring its statement. Other
//! formats are refused. Nothing here checks AAGUIDs against a metadata service.
//!
//! The caller keeps the challenge it issued (one use, short-lived), stores the
//! [`Credential`] a registration returns, checks that the credential id the browser
//! reports (`rawId`) is the one returned here, and after each sign-in stores the new
//! signature counter [`verify_assertion`] returns.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine as _;
use ring::digest::{digest, SHA256};
use ring::rand::SecureRandom;
use ring::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
use serde::Deserialize;

use super::cbor::{self, CborError, Value};

/// COSE algorithm identifier of ES256 (ECDSA with SHA-256), the only one accepted.
pub const ES256: i64 = -7;
/// The shortest challenge accepted (WebAuthn §13.4.3: at least 16 bytes).
pub const MIN_CHALLENGE_LEN: usize = 16;
/// The longest credential id accepted (WebAuthn Level 3 §6.5.1).
pub const MAX_CREDENTIAL_ID_LEN: usize = 1023;

const FLAG_USER_PRESENT: u8 = 0x01;
const FLAG_USER_VERIFIED: u8 = 0x04;
const FLAG_BACKUP_ELIGIBLE: u8 = 0x08;
const FLAG_BACKED_UP: u8 = 0x10;
const FLAG_ATTESTED_CREDENTIAL_DATA: u8 = 0x40;
const FLAG_EXTENSIONS: u8 = 0x80;

/// COSE key labels and values (RFC 9052, RFC 9053).
const COSE_KTY: i128 = 1;
const COSE_ALG: i128 = 3;
const COSE_EC2_CRV: i128 = -1;
const COSE_EC2_X: i128 = -2;
const COSE_EC2_Y: i128 = -3;
const COSE_KTY_EC2: i128 = 2;
const COSE_CRV_P256: i128 = 1;

/// What the hub expects of a ceremony it started.
#[derive(Debug, Clone, Copy)]
pub struct Expected<'a> {
    /// The relying party id (the hub's host name, e.g. `hub.example.jp`).
    pub rp_id: &'a str,
    /// The console's origin, compared exactly (e.g. `https://hub.example.jp`).
    pub origin: &'a str,
    /// The challenge the hub issued for this ceremony.
    pub challenge: &'a [u8],
    /// Whether the key must have verified the user (PIN or biometrics), not only their presence.
    pub require_user_verification: bool,
}

/// A registered security key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Credential {
    /// The credential id (the browser's `rawId`).
    pub id: Vec<u8>,
    /// The public key: an uncompressed SEC1 P-256 point (`0x04 || x || y`, 65 bytes).
    pub public_key: Vec<u8>,
    /// Its COSE algorithm, [`ES256`].
    pub algorithm: i64,
    /// The signature counter last seen.
    pub sign_count: u32,
}

/// Why a registration or a sign-in with a security key was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebAuthnError {
    /// The system random number generator failed.
    #[error("{}", self.message())]
    Rng,
    /// `clientDataJSON` is not JSON with string `type`, `challenge` and `origin`.
    #[error("{}", self.message())]
    MalformedClientData,
    /// `clientDataJSON`'s `type` is not the ceremony's (`webauthn.create` or `webauthn.get`).
    #[error("{}", self.message())]
    WrongType,
    /// The challenge signed is not the one the hub issued.
    #[error("{}", self.message())]
    WrongChallenge,
    /// The page that called WebAuthn is not the hub's console.
    #[error("{}", self.message())]
    WrongOrigin,
    /// The ceremony ran in a frame embedded by another site (`crossOrigin: true`).
    #[error("{}", self.message())]
    CrossOrigin,
    /// Bytes that are not CBOR this reader accepts.
    #[error("{message}: {0}", message = self.message())]
    Cbor(#[from] CborError),
    /// The attestation object is CBOR, but not a map of `fmt`, `attStmt` and `authData`.
    #[error("{}", self.message())]
    MalformedAttestationObject,
    /// An attestation format other than `none` and `packed`.
    #[error("{}", self.message())]
    UnsupportedAttestationFormat,
    /// The authenticator data is too short, holds trailing bytes, or has inconsistent flags.
    #[error("{}", self.message())]
    MalformedAuthenticatorData,
    /// The authenticator data is for another relying party id.
    #[error("{}", self.message())]
    WrongRelyingParty,
    /// The user-present flag is not set (nobody touched the key).
    #[error("{}", self.message())]
    UserNotPresent,
    /// User verification was required and the user-verified flag is not set.
    #[error("{}", self.message())]
    UserNotVerified,
    /// A registration without attested credential data (no credential id or public key).
    #[error("{}", self.message())]
    MissingCredentialData,
    /// A key of another algorithm than ES256 (P-256).
    #[error("{}", self.message())]
    UnsupportedAlgorithm,
    /// The public key is not a well-formed COSE EC2 key (or stored key not a P-256 point).
    #[error("{}", self.message())]
    MalformedPublicKey,
    /// The signature does not verify with the registered key.
    #[error("{}", self.message())]
    BadSignature,
    /// The signature counter did not increase: the key may have been cloned.
    #[error("{}", self.message())]
    CounterNotIncreasing,
}

impl WebAuthnError {
    /// What went wrong, in English.
    pub fn message(&self) -> &'static str {
        match self {
            WebAuthnError::Rng => "the random number generator failed",
            WebAuthnError::MalformedClientData => {
                "the browser's client data is not JSON with a type, a challenge and an origin"
            }
            WebAuthnError::WrongType => "the client data is for another ceremony (registration and sign-in mixed up)",
            WebAuthnError::WrongChallenge => {
                "the challenge does not match the one issued: reload the page and try again"
            }
            WebAuthnError::WrongOrigin => "the request did not come from this hub's console (wrong origin)",
            WebAuthnError::CrossOrigin => "security keys are not accepted from a page embedded by another site",
            WebAuthnError::Cbor(_) => "the security key's data is not well-formed CBOR",
            WebAuthnError::MalformedAttestationObject => {
                "the attestation object is not a map of fmt, attStmt and authData"
            }
            WebAuthnError::UnsupportedAttestationFormat => {
                "unsupported attestation format (only \"none\" and \"packed\" are accepted)"
            }
            WebAuthnError::MalformedAuthenticatorData => "the authenticator data is malformed",
            WebAuthnError::WrongRelyingParty => "the security key answered for another relying party (wrong RP ID)",
            WebAuthnError::UserNotPresent => "the security key did not confirm the user's presence (no touch)",
            WebAuthnError::UserNotVerified => "the security key did not verify the user (PIN or biometrics required)",
            WebAuthnError::MissingCredentialData => "the registration holds no credential id and public key",
            WebAuthnError::UnsupportedAlgorithm => "unsupported key algorithm (only ES256, ECDSA P-256, is accepted)",
            WebAuthnError::MalformedPublicKey => "the security key's public key is malformed",
            WebAuthnError::BadSignature => "the security key's signature does not verify",
            WebAuthnError::CounterNotIncreasing => {
                "the security key's signature counter did not increase: the key may have been cloned"
            }
        }
    }

    /// What went wrong, in Japanese, for operators' screens.
    pub fn message_ja(&self) -> &'static str {
        match self {
            WebAuthnError::Rng => "乱数を生成できませんでした",
            WebAuthnError::MalformedClientData => "ブラウザから届いたクライアントデータを読み取れません",
            WebAuthnError::WrongType => "認証の種類が違います（登録とサインインを取り違えています）",
            WebAuthnError::WrongChallenge => {
                "チャレンジが発行したものと一致しません。画面を再読み込みしてやり直してください"
            }
            WebAuthnError::WrongOrigin => "このハブのコンソール以外のページからの要求です（オリジンが違います）",
            WebAuthnError::CrossOrigin => "他のサイトに埋め込まれたページからのセキュリティキー認証は受け付けません",
            WebAuthnError::Cbor(_) => "セキュリティキーから届いたデータ（CBOR）の形式が正しくありません",
            WebAuthnError::MalformedAttestationObject => "セキュリティキーの登録データの形式が正しくありません",
            WebAuthnError::UnsupportedAttestationFormat => {
                "対応していない登録データ形式です（none と packed のみ受け付けます）"
            }
            WebAuthnError::MalformedAuthenticatorData => "セキュリティキーの認証データの形式が正しくありません",
            WebAuthnError::WrongRelyingParty => "セキュリティキーが別のサイト向けに応答しました（RP ID が違います）",
            WebAuthnError::UserNotPresent => "セキュリティキーへのタッチを確認できません",
            WebAuthnError::UserNotVerified => "セキュリティキーで本人確認（PIN または生体認証）が行われていません",
            WebAuthnError::MissingCredentialData => "登録データに認証情報 ID と公開鍵が含まれていません",
            WebAuthnError::UnsupportedAlgorithm => {
                "対応していない鍵のアルゴリズムです（ES256（ECDSA P-256）のみ受け付けます）"
            }
            WebAuthnError::MalformedPublicKey => "セキュリティキーの公開鍵の形式が正しくありません",
            WebAuthnError::BadSignature => "セキュリティキーの署名を確認できません",
            WebAuthnError::CounterNotIncreasing => {
                "セキュリティキーの署名カウンターが増えていません。キーが複製された可能性があります"
            }
        }
    }
}

/// A new random challenge (32 bytes) for one ceremony.
pub fn new_challenge(rng: &dyn SecureRandom) -> Result<[u8; 32], WebAuthnError> {
    let mut challenge = [0u8; 32];
    rng.fill(&mut challenge).map_err(|_| WebAuthnError::Rng)?;
    Ok(challenge)
}

/// Checks a registration (`navigator.credentials.create`) and returns the new credential.
///
/// `client_data_json` is `response.clientDataJSON` and `attestation_object`
/// `response.attestationObject`, both as the raw bytes the browser gave.
pub fn verify_registration(
    expected: &Expected<'_>,
    client_data_json: &[u8],
    attestation_object: &[u8],
) -> Result<Credential, WebAuthnError> {
    check_client_data(expected, client_data_json, "webauthn.create")?;
    let object = cbor::decode_exact(attestation_object)?;
    let (Some(Value::Text(fmt)), Some(statement @ Value::Map(_)), Some(Value::Bytes(auth_data))) =
        (object.get_text_key("fmt"), object.get_text_key("attStmt"), object.get_text_key("authData"))
    else {
        return Err(WebAuthnError::MalformedAttestationObject);
    };
    match *fmt {
        // "none" carries an empty statement.
        "none" if *statement != Value::Map(Vec::new()) => return Err(WebAuthnError::MalformedAttestationObject),
        "none" => {}
        // "packed" (self or full attestation): the statement is not verified, see the module's documentation.
        "packed" => {}
        _ => return Err(WebAuthnError::UnsupportedAttestationFormat),
    }
    let data = parse_authenticator_data(expected, auth_data)?;
    let Some((id, key)) = data.attested else {
        return Err(WebAuthnError::MissingCredentialData);
    };
    let public_key = es256_public_key(&key)?;
    Ok(Credential { id: id.to_vec(), public_key, algorithm: ES256, sign_count: data.sign_count })
}

/// Checks a sign-in assertion (`navigator.credentials.get`) against a registered key and
/// returns the key's new signature counter, to store.
///
/// `signature` is `response.signature`: ASN.1 DER ECDSA over `authenticator_data ||
/// SHA-256(client_data_json)`. The counter must increase unless both the stored and
/// the new one are zero (keys without a counter).
pub fn verify_assertion(
    expected: &Expected<'_>,
    credential: &Credential,
    client_data_json: &[u8],
    authenticator_data: &[u8],
    signature: &[u8],
) -> Result<u32, WebAuthnError> {
    if credential.algorithm != ES256 {
        return Err(WebAuthnError::UnsupportedAlgorithm);
    }
    if credential.public_key.len() != 65 || credential.public_key.first() != Some(&0x04) {
        return Err(WebAuthnError::MalformedPublicKey);
    }
    check_client_data(expected, client_data_json, "webauthn.get")?;
    let data = parse_authenticator_data(expected, authenticator_data)?;
    if data.attested.is_some() {
        // An assertion never carries attested credential data.
        return Err(WebAuthnError::MalformedAuthenticatorData);
    }
    let client_data_hash = digest(&SHA256, client_data_json);
    let mut signed = Vec::with_capacity(authenticator_data.len() + client_data_hash.as_ref().len());
    signed.extend_from_slice(authenticator_data);
    signed.extend_from_slice(client_data_hash.as_ref());
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, &credential.public_key)
        .verify(&signed, signature)
        .map_err(|_| WebAuthnError::BadSignature)?;
    if (credential.sign_count != 0 || data.sign_count != 0) && data.sign_count <= credential.sign_count {
        return Err(WebAuthnError::CounterNotIncreasing);
    }
    Ok(data.sign_count)
}

/// The members of `CollectedClientData` checked (others, such as `topOrigin`, are ignored;
/// a repeated member makes the JSON malformed).
#[derive(Deserialize)]
struct ClientData {
    #[serde(rename = "type")]
    kind: String,
    challenge: String,
    origin: String,
    #[serde(rename = "crossOrigin", default)]
    cross_origin: Option<bool>,
}

fn check_client_data(expected: &Expected<'_>, json: &[u8], kind: &str) -> Result<(), WebAuthnError> {
    let data: ClientData = serde_json::from_slice(json).map_err(|_| WebAuthnError::MalformedClientData)?;
    if data.kind != kind {
        return Err(WebAuthnError::WrongType);
    }
    let challenge = URL_SAFE_NO_PAD.decode(data.challenge.as_bytes()).map_err(|_| WebAuthnError::WrongChallenge)?;
    // WebAuthn asks for at least 16 random bytes; a shorter expected challenge is a caller's bug.
    if expected.challenge.len() < MIN_CHALLENGE_LEN || !constant_time_eq(&challenge, expected.challenge) {
        return Err(WebAuthnError::WrongChallenge);
    }
    if data.origin != expected.origin {
        return Err(WebAuthnError::WrongOrigin);
    }
    if data.cross_origin == Some(true) {
        return Err(WebAuthnError::CrossOrigin);
    }
    Ok(())
}

struct AuthenticatorData<'a> {
    sign_count: u32,
    /// The credential id and COSE key, when the AT flag is set.
    attested: Option<(&'a [u8], Value<'a>)>,
}

/// Reads authenticator data (WebAuthn §6.1) and checks the relying party and the flags.
fn parse_authenticator_data<'a>(
    expected: &Expected<'_>,
    bytes: &'a [u8],
) -> Result<AuthenticatorData<'a>, WebAuthnError> {
    let malformed = WebAuthnError::MalformedAuthenticatorData;
    let (Some(rp_id_hash), Some(&flags), Some(count), Some(mut rest)) =
        (bytes.get(..32), bytes.get(32), bytes.get(33..37), bytes.get(37..))
    else {
        return Err(malformed);
    };
    if rp_id_hash != digest(&SHA256, expected.rp_id.as_bytes()).as_ref() {
        return Err(WebAuthnError::WrongRelyingParty);
    }
    if flags & FLAG_USER_PRESENT == 0 {
        return Err(WebAuthnError::UserNotPresent);
    }
    if expected.require_user_verification && flags & FLAG_USER_VERIFIED == 0 {
        return Err(WebAuthnError::UserNotVerified);
    }
    if flags & FLAG_BACKED_UP != 0 && flags & FLAG_BACKUP_ELIGIBLE == 0 {
        return Err(malformed);
    }
    let sign_count = u32::from_be_bytes([count[0], count[1], count[2], count[3]]);
    let mut attested = None;
    if flags & FLAG_ATTESTED_CREDENTIAL_DATA != 0 {
        // AAGUID (16 bytes, not used), credential id length (2, big-endian), credential id, COSE key.
        let (Some(id_len), Some(after_len)) = (rest.get(16..18), rest.get(18..)) else {
            return Err(malformed);
        };
        let id_len = usize::from(u16::from_be_bytes([id_len[0], id_len[1]]));
        if id_len == 0 || id_len > MAX_CREDENTIAL_ID_LEN {
            return Err(malformed);
        }
        let (Some(id), Some(key_bytes)) = (after_len.get(..id_len), after_len.get(id_len..)) else {
            return Err(malformed);
        };
        let (key, used) = cbor::decode(key_bytes)?;
        attested = Some((id, key));
        rest = &key_bytes[used..];
    }
    if flags & FLAG_EXTENSIONS != 0 {
        let extensions = cbor::decode_exact(rest)?;
        if !matches!(extensions, Value::Map(_)) {
            return Err(malformed);
        }
    } else if !rest.is_empty() {
        return Err(malformed);
    }
    Ok(AuthenticatorData { sign_count, attested })
}

/// The SEC1 uncompressed point of a COSE ES256 key (EC2, P-256).
fn es256_public_key(key: &Value<'_>) -> Result<Vec<u8>, WebAuthnError> {
    let malformed = WebAuthnError::MalformedPublicKey;
    if !matches!(key, Value::Map(_)) {
        return Err(malformed);
    }
    match key.get_int_key(COSE_ALG) {
        Some(Value::Integer(alg)) if *alg == i128::from(ES256) => {}
        Some(Value::Integer(_)) => return Err(WebAuthnError::UnsupportedAlgorithm),
        _ => return Err(malformed),
    }
    if key.get_int_key(COSE_KTY) != Some(&Value::Integer(COSE_KTY_EC2)) {
        return Err(malformed);
    }
    match key.get_int_key(COSE_EC2_CRV) {
        Some(Value::Integer(COSE_CRV_P256)) => {}
        Some(Value::Integer(_)) => return Err(WebAuthnError::UnsupportedAlgorithm),
        _ => return Err(malformed),
    }
    let (Some(Value::Bytes(x)), Some(Value::Bytes(y))) = (key.get_int_key(COSE_EC2_X), key.get_int_key(COSE_EC2_Y))
    else {
        return Err(malformed);
    };
    if x.len() != 32 || y.len() != 32 {
        return Err(malformed);
    }
    let mut point = Vec::with_capacity(65);
    point.push(0x04);
    point.extend_from_slice(x);
    point.extend_from_slice(y);
    Ok(point)
}

/// Equality of two byte strings whose time depends on their lengths only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};

    const RP_ID: &str = "hub.example.jp";
    const ORIGIN: &str = "https://hub.example.jp";
    const CHALLENGE: [u8; 32] = [0x5a; 32];

    // ---- a small CBOR encoder, independent of the reader under test ----

    enum C {
        U(u64),
        /// A negative integer, given as its value (-1 is `N(-1)`).
        N(i64),
        B(Vec<u8>),
        T(&'static str),
        A(Vec<C>),
        M(Vec<(C, C)>),
        Bool(bool),
        /// Raw bytes spliced in as they are (for hostile or indefinite encodings).
        Raw(Vec<u8>),
    }

    fn head(major: u8, n: u64, out: &mut Vec<u8>) {
        let major = major << 5;
        match n {
            0..=23 => out.push(major | n as u8),
            24..=0xff => out.extend([major | 24, n as u8]),
            0x100..=0xffff => {
                out.push(major | 25);
                out.extend((n as u16).to_be_bytes());
            }
            0x1_0000..=0xffff_ffff => {
                out.push(major | 26);
                out.extend((n as u32).to_be_bytes());
            }
            _ => {
                out.push(major | 27);
                out.extend(n.to_be_bytes());
            }
        }
    }

    fn enc_into(c: &C, out: &mut Vec<u8>) {
        match c {
            C::U(n) => head(0, *n, out),
            C::N(n) => head(1, (-1 - *n) as u64, out),
            C::B(b) => {
                head(2, b.len() as u64, out);
                out.extend(b);
            }
            C::T(t) => {
                head(3, t.len() as u64, out);
                out.extend(t.as_bytes());
            }
            C::A(items) => {
                head(4, items.len() as u64, out);
                items.iter().for_each(|i| enc_into(i, out));
            }
            C::M(entries) => {
                head(5, entries.len() as u64, out);
                for (k, v) in entries {
                    enc_into(k, out);
                    enc_into(v, out);
                }
            }
            C::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
            C::Raw(bytes) => out.extend(bytes),
        }
    }

    fn enc(c: &C) -> Vec<u8> {
        let mut out = Vec::new();
        enc_into(c, &mut out);
        out
    }

    // ---- a software authenticator ----

    struct Authenticator {
        rng: SystemRandom,
        key: EcdsaKeyPair,
        credential_id: Vec<u8>,
    }

    impl Authenticator {
        fn new() -> Authenticator {
            let rng = SystemRandom::new();
            let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).expect("generate");
            let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng).expect("parse");
            let mut credential_id = vec![0u8; 48];
            rng.fill(&mut credential_id).expect("rng");
            Authenticator { rng, key, credential_id }
        }

        fn point(&self) -> &[u8] {
            self.key.public_key().as_ref()
        }

        fn cose_key(&self) -> C {
            cose_ec2(ES256, 1, self.point()[1..33].to_vec(), self.point()[33..].to_vec())
        }

        fn sign(&self, authenticator_data: &[u8], client_data_json: &[u8]) -> Vec<u8> {
            let mut signed = authenticator_data.to_vec();
            signed.extend_from_slice(digest(&SHA256, client_data_json).as_ref());
            self.key.sign(&self.rng, &signed).expect("sign").as_ref().to_vec()
        }

        fn credential(&self, sign_count: u32) -> Credential {
            Credential {
                id: self.credential_id.clone(),
                public_key: self.point().to_vec(),
                algorithm: ES256,
                sign_count,
            }
        }
    }

    fn cose_ec2(alg: i64, crv: u64, x: Vec<u8>, y: Vec<u8>) -> C {
        C::M(vec![
            (C::U(1), C::U(2)),
            (C::U(3), C::N(alg)),
            (C::N(-1), C::U(crv)),
            (C::N(-2), C::B(x)),
            (C::N(-3), C::B(y)),
        ])
    }

    fn expected() -> Expected<'static> {
        Expected { rp_id: RP_ID, origin: ORIGIN, challenge: &CHALLENGE, require_user_verification: false }
    }

    fn client_data(kind: &str, challenge: &[u8], origin: &str) -> Vec<u8> {
        format!(
            r#"{{"type":"{kind}","challenge":"{}","origin":"{origin}","crossOrigin":false}}"#,
            URL_SAFE_NO_PAD.encode(challenge)
        )
        .into_bytes()
    }

    const UP: u8 = FLAG_USER_PRESENT;
    const UV: u8 = FLAG_USER_VERIFIED;
    const AT: u8 = FLAG_ATTESTED_CREDENTIAL_DATA;
    const ED: u8 = FLAG_EXTENSIONS;

    fn authenticator_data(rp_id: &str, flags: u8, count: u32, attested: Option<(&[u8], Vec<u8>)>) -> Vec<u8> {
        let mut data = digest(&SHA256, rp_id.as_bytes()).as_ref().to_vec();
        data.push(flags);
        data.extend(count.to_be_bytes());
        if let Some((id, key)) = attested {
            data.extend([0xaa; 16]); // AAGUID
            data.extend((id.len() as u16).to_be_bytes());
            data.extend(id);
            data.extend(key);
        }
        data
    }

    fn attestation_object(fmt: &'static str, statement: C, auth_data: Vec<u8>) -> Vec<u8> {
        enc(&C::M(vec![(C::T("fmt"), C::T(fmt)), (C::T("attStmt"), statement), (C::T("authData"), C::B(auth_data))]))
    }

    /// A registration built from parts: flags, COSE key and format.
    fn registration(a: &Authenticator, flags: u8, key: &C) -> Vec<u8> {
        let data = authenticator_data(RP_ID, flags, 0, Some((&a.credential_id, enc(key))));
        attestation_object("none", C::M(vec![]), data)
    }

    fn register(a: &Authenticator, flags: u8, key: &C) -> Result<Credential, WebAuthnError> {
        let client = client_data("webauthn.create", &CHALLENGE, ORIGIN);
        verify_registration(&expected(), &client, &registration(a, flags, key))
    }

    fn assert_with(
        a: &Authenticator,
        stored: &Credential,
        expected: &Expected<'_>,
        client: &[u8],
        data: &[u8],
    ) -> Result<u32, WebAuthnError> {
        let signature = a.sign(data, client);
        verify_assertion(expected, stored, client, data, &signature)
    }

    fn assertion(a: &Authenticator, stored: &Credential, flags: u8, count: u32) -> Result<u32, WebAuthnError> {
        let client = client_data("webauthn.get", &CHALLENGE, ORIGIN);
        let data = authenticator_data(RP_ID, flags, count, None);
        assert_with(a, stored, &expected(), &client, &data)
    }

    #[test]
    fn a_key_registers_then_signs_in() {
        let a = Authenticator::new();
        let credential = register(&a, UP | UV | AT, &a.cose_key()).expect("registration");
        assert_eq!(credential, a.credential(0));
        assert_eq!(credential.public_key.len(), 65);
        assert_eq!(assertion(&a, &credential, UP | UV, 1), Ok(1));
        assert_eq!(assertion(&a, &Credential { sign_count: 1, ..credential.clone() }, UP, 7), Ok(7));
        // A key without a counter reports zero every time: fine.
        assert_eq!(assertion(&a, &credential, UP, 0), Ok(0));
        // User verification required and given.
        let strict = Expected { require_user_verification: true, ..expected() };
        let client = client_data("webauthn.get", &CHALLENGE, ORIGIN);
        let data = authenticator_data(RP_ID, UP | UV, 2, None);
        assert_eq!(assert_with(&a, &credential, &strict, &client, &data), Ok(2));
    }

    #[test]
    fn packed_self_attestation_is_accepted_without_checking_the_statement() {
        let a = Authenticator::new();
        let data = authenticator_data(RP_ID, UP | AT, 3, Some((&a.credential_id, enc(&a.cose_key()))));
        let statement = C::M(vec![(C::T("alg"), C::N(-7)), (C::T("sig"), C::B(vec![0x30, 0x00]))]);
        let object = attestation_object("packed", statement, data);
        let client = client_data("webauthn.create", &CHALLENGE, ORIGIN);
        assert_eq!(verify_registration(&expected(), &client, &object), Ok(a.credential(3)));
    }

    #[test]
    fn other_attestation_formats_and_malformed_objects_are_refused() {
        let a = Authenticator::new();
        let client = client_data("webauthn.create", &CHALLENGE, ORIGIN);
        let data = || authenticator_data(RP_ID, UP | AT, 0, Some((&a.credential_id, enc(&a.cose_key()))));
        for fmt in ["tpm", "fido-u2f", "android-key", "apple", ""] {
            let object = attestation_object(fmt, C::M(vec![]), data());
            assert_eq!(
                verify_registration(&expected(), &client, &object),
                Err(WebAuthnError::UnsupportedAttestationFormat),
                "{fmt}"
            );
        }
        // "none" with a statement.
        let object = attestation_object("none", C::M(vec![(C::T("sig"), C::B(vec![1]))]), data());
        assert_eq!(verify_registration(&expected(), &client, &object), Err(WebAuthnError::MalformedAttestationObject));
        // Missing or mistyped members.
        for object in [
            C::M(vec![(C::T("fmt"), C::T("none")), (C::T("attStmt"), C::M(vec![]))]),
            C::M(vec![(C::T("fmt"), C::T("none")), (C::T("authData"), C::B(data()))]),
            C::M(vec![(C::T("fmt"), C::U(0)), (C::T("attStmt"), C::M(vec![])), (C::T("authData"), C::B(data()))]),
            C::M(vec![(C::T("fmt"), C::T("none")), (C::T("attStmt"), C::A(vec![])), (C::T("authData"), C::B(data()))]),
            C::A(vec![C::T("none"), C::M(vec![]), C::B(data())]),
        ] {
            assert_eq!(
                verify_registration(&expected(), &client, &enc(&object)),
                Err(WebAuthnError::MalformedAttestationObject)
            );
        }
    }

    #[test]
    fn registration_refusals_in_the_client_data() {
        let a = Authenticator::new();
        let object = registration(&a, UP | AT, &a.cose_key());
        let cases: Vec<(Vec<u8>, WebAuthnError)> = vec![
            (client_data("webauthn.create", &CHALLENGE, "https://evil.example"), WebAuthnError::WrongOrigin),
            (client_data("webauthn.create", &CHALLENGE, "https://hub.example.jp:8443"), WebAuthnError::WrongOrigin),
            (client_data("webauthn.create", &CHALLENGE, "http://hub.example.jp"), WebAuthnError::WrongOrigin),
            (client_data("webauthn.create", &[0x5b; 32], ORIGIN), WebAuthnError::WrongChallenge),
            (client_data("webauthn.create", &CHALLENGE[..31], ORIGIN), WebAuthnError::WrongChallenge),
            (client_data("webauthn.get", &CHALLENGE, ORIGIN), WebAuthnError::WrongType),
            (client_data("payment.get", &CHALLENGE, ORIGIN), WebAuthnError::WrongType),
            (
                format!(
                    r#"{{"type":"webauthn.create","challenge":"{}=","origin":"{ORIGIN}"}}"#,
                    URL_SAFE_NO_PAD.encode(CHALLENGE)
                )
                .into_bytes(),
                WebAuthnError::WrongChallenge,
            ),
            (
                format!(
                    r#"{{"type":"webauthn.create","challenge":"{}","origin":"{ORIGIN}","crossOrigin":true}}"#,
                    URL_SAFE_NO_PAD.encode(CHALLENGE)
                )
                .into_bytes(),
                WebAuthnError::CrossOrigin,
            ),
            (b"not json".to_vec(), WebAuthnError::MalformedClientData),
            (br#"{"type":"webauthn.create","origin":"https://hub.example.jp"}"#.to_vec(), WebAuthnError::MalformedClientData),
            (
                format!(
                    r#"{{"type":"webauthn.create","challenge":"{}","origin":"https://evil.example","origin":"{ORIGIN}"}}"#,
                    URL_SAFE_NO_PAD.encode(CHALLENGE)
                )
                .into_bytes(),
                WebAuthnError::MalformedClientData,
            ),
        ];
        for (client, error) in cases {
            assert_eq!(
                verify_registration(&expected(), &client, &object),
                Err(error.clone()),
                "{}",
                String::from_utf8_lossy(&client)
            );
        }
        // An empty (or too short) expected challenge never matches, even an empty one.
        let empty = Expected { challenge: &[], ..expected() };
        let client = client_data("webauthn.create", &[], ORIGIN);
        assert_eq!(verify_registration(&empty, &client, &object), Err(WebAuthnError::WrongChallenge));
        // Members the hub does not check are ignored; crossOrigin may be absent.
        let client = format!(
            r#"{{"type":"webauthn.create","challenge":"{}","origin":"{ORIGIN}","other_keys_can_be_added_here":"x","topOrigin":"{ORIGIN}"}}"#,
            URL_SAFE_NO_PAD.encode(CHALLENGE)
        );
        assert!(verify_registration(&expected(), client.as_bytes(), &object).is_ok());
    }

    #[test]
    fn registration_refusals_in_the_authenticator_data() {
        let a = Authenticator::new();
        let client = client_data("webauthn.create", &CHALLENGE, ORIGIN);
        let key = enc(&a.cose_key());
        let with = |rp_id: &str, flags: u8| {
            let data = authenticator_data(rp_id, flags, 0, Some((&a.credential_id, key.clone())));
            verify_registration(&expected(), &client, &attestation_object("none", C::M(vec![]), data))
        };
        assert_eq!(with("evil.example", UP | AT), Err(WebAuthnError::WrongRelyingParty));
        assert_eq!(with("example.jp", UP | AT), Err(WebAuthnError::WrongRelyingParty));
        assert_eq!(with(RP_ID, AT), Err(WebAuthnError::UserNotPresent));
        assert_eq!(with(RP_ID, UV | AT), Err(WebAuthnError::UserNotPresent));
        assert_eq!(with(RP_ID, UP | FLAG_BACKED_UP | AT), Err(WebAuthnError::MalformedAuthenticatorData));
        assert!(with(RP_ID, UP | FLAG_BACKUP_ELIGIBLE | FLAG_BACKED_UP | AT).is_ok());
        // UV: refused when required, accepted when not.
        assert!(with(RP_ID, UP | AT).is_ok());
        let strict = Expected { require_user_verification: true, ..expected() };
        let object = registration(&a, UP | AT, &a.cose_key());
        assert_eq!(verify_registration(&strict, &client, &object), Err(WebAuthnError::UserNotVerified));
        assert!(verify_registration(&strict, &client, &registration(&a, UP | UV | AT, &a.cose_key())).is_ok());
        // No attested credential data.
        let data = authenticator_data(RP_ID, UP, 0, None);
        assert_eq!(
            verify_registration(&expected(), &client, &attestation_object("none", C::M(vec![]), data)),
            Err(WebAuthnError::MissingCredentialData)
        );
        // AT set but nothing follows, or a credential id longer than the data.
        let mut data = authenticator_data(RP_ID, UP | AT, 0, None);
        assert_eq!(
            verify_registration(&expected(), &client, &attestation_object("none", C::M(vec![]), data.clone())),
            Err(WebAuthnError::MalformedAuthenticatorData)
        );
        data.extend([0xaa; 16]);
        data.extend(500u16.to_be_bytes());
        data.extend([1; 10]);
        assert_eq!(
            verify_registration(&expected(), &client, &attestation_object("none", C::M(vec![]), data)),
            Err(WebAuthnError::MalformedAuthenticatorData)
        );
        // Shorter than the fixed 37 bytes.
        let data = authenticator_data(RP_ID, UP | AT, 0, None)[..36].to_vec();
        assert_eq!(
            verify_registration(&expected(), &client, &attestation_object("none", C::M(vec![]), data)),
            Err(WebAuthnError::MalformedAuthenticatorData)
        );
        // Bytes after the COSE key: refused without the ED flag, read as extensions with it.
        let mut trailing = key.clone();
        trailing.extend(enc(&C::M(vec![(C::T("credProtect"), C::U(2))])));
        let data = authenticator_data(RP_ID, UP | AT, 0, Some((&a.credential_id, trailing.clone())));
        assert_eq!(
            verify_registration(&expected(), &client, &attestation_object("none", C::M(vec![]), data)),
            Err(WebAuthnError::MalformedAuthenticatorData)
        );
        let data = authenticator_data(RP_ID, UP | AT | ED, 0, Some((&a.credential_id, trailing)));
        assert_eq!(
            verify_registration(&expected(), &client, &attestation_object("none", C::M(vec![]), data)),
            Ok(a.credential(0))
        );
        let mut not_a_map = key.clone();
        not_a_map.extend(enc(&C::U(2)));
        let data = authenticator_data(RP_ID, UP | AT | ED, 0, Some((&a.credential_id, not_a_map)));
        assert_eq!(
            verify_registration(&expected(), &client, &attestation_object("none", C::M(vec![]), data)),
            Err(WebAuthnError::MalformedAuthenticatorData)
        );
    }

    #[test]
    fn only_es256_keys_are_accepted() {
        let a = Authenticator::new();
        let x = a.point()[1..33].to_vec();
        let y = a.point()[33..].to_vec();
        // EdDSA (OKP, Ed25519).
        let ed25519 =
            C::M(vec![(C::U(1), C::U(1)), (C::U(3), C::N(-8)), (C::N(-1), C::U(6)), (C::N(-2), C::B(vec![9; 32]))]);
        assert_eq!(register(&a, UP | AT, &ed25519), Err(WebAuthnError::UnsupportedAlgorithm));
        // RS256 (RSA: n, e).
        let rs256 = C::M(vec![
            (C::U(1), C::U(3)),
            (C::U(3), C::N(-257)),
            (C::N(-1), C::B(vec![0xc5; 256])),
            (C::N(-2), C::B(vec![1, 0, 1])),
        ]);
        assert_eq!(register(&a, UP | AT, &rs256), Err(WebAuthnError::UnsupportedAlgorithm));
        // ES384 and a P-384 curve under ES256.
        assert_eq!(
            register(&a, UP | AT, &cose_ec2(-35, 2, x.clone(), y.clone())),
            Err(WebAuthnError::UnsupportedAlgorithm)
        );
        assert_eq!(
            register(&a, UP | AT, &cose_ec2(ES256, 2, x.clone(), y.clone())),
            Err(WebAuthnError::UnsupportedAlgorithm)
        );
        // Malformed ES256 keys: short coordinates, no alg, a wrong key type, a compressed point, not a map.
        assert_eq!(
            register(&a, UP | AT, &cose_ec2(ES256, 1, x[1..].to_vec(), y.clone())),
            Err(WebAuthnError::MalformedPublicKey)
        );
        assert_eq!(
            register(&a, UP | AT, &cose_ec2(ES256, 1, x.clone(), vec![])),
            Err(WebAuthnError::MalformedPublicKey)
        );
        let no_alg = C::M(vec![
            (C::U(1), C::U(2)),
            (C::N(-1), C::U(1)),
            (C::N(-2), C::B(x.clone())),
            (C::N(-3), C::B(y.clone())),
        ]);
        assert_eq!(register(&a, UP | AT, &no_alg), Err(WebAuthnError::MalformedPublicKey));
        let okp = C::M(vec![
            (C::U(1), C::U(1)),
            (C::U(3), C::N(-7)),
            (C::N(-1), C::U(1)),
            (C::N(-2), C::B(x.clone())),
            (C::N(-3), C::B(y)),
        ]);
        assert_eq!(register(&a, UP | AT, &okp), Err(WebAuthnError::MalformedPublicKey));
        let compressed = C::M(vec![
            (C::U(1), C::U(2)),
            (C::U(3), C::N(-7)),
            (C::N(-1), C::U(1)),
            (C::N(-2), C::B(x)),
            (C::N(-3), C::Bool(true)),
        ]);
        assert_eq!(register(&a, UP | AT, &compressed), Err(WebAuthnError::MalformedPublicKey));
        assert_eq!(register(&a, UP | AT, &C::A(vec![])), Err(WebAuthnError::MalformedPublicKey));
        // A stored credential of another algorithm is refused at sign-in too.
        let stored = Credential { algorithm: -8, ..a.credential(0) };
        assert_eq!(assertion(&a, &stored, UP, 1), Err(WebAuthnError::UnsupportedAlgorithm));
        let stored = Credential { public_key: a.point()[..64].to_vec(), ..a.credential(0) };
        assert_eq!(assertion(&a, &stored, UP, 1), Err(WebAuthnError::MalformedPublicKey));
    }

    #[test]
    fn truncated_garbage_and_hostile_cbor_is_refused() {
        let a = Authenticator::new();
        let client = client_data("webauthn.create", &CHALLENGE, ORIGIN);
        let good = registration(&a, UP | AT, &a.cose_key());
        assert!(verify_registration(&expected(), &client, &good).is_ok());
        for end in 0..good.len() {
            assert!(
                matches!(verify_registration(&expected(), &client, &good[..end]), Err(WebAuthnError::Cbor(_))),
                "prefix of {end} bytes"
            );
        }
        let mut trailing = good.clone();
        trailing.push(0);
        assert_eq!(
            verify_registration(&expected(), &client, &trailing),
            Err(WebAuthnError::Cbor(CborError::TrailingBytes { count: 1 }))
        );
        for garbage in [&b"\xff\xff\xff\xff"[..], b"\x1c", b"\xc1\x00", b"\xfa\x00\x00\x00\x00", b"garbage!"] {
            assert!(
                matches!(
                    verify_registration(&expected(), &client, garbage),
                    Err(WebAuthnError::Cbor(_) | WebAuthnError::MalformedAttestationObject)
                ),
                "{garbage:?}"
            );
        }
        // An indefinite-length map at the top, and an indefinite-length byte string for authData.
        let mut indefinite = vec![0xbf];
        indefinite.extend(enc(&C::T("fmt")));
        indefinite.extend(enc(&C::T("none")));
        indefinite.push(0xff);
        assert_eq!(
            verify_registration(&expected(), &client, &indefinite),
            Err(WebAuthnError::Cbor(CborError::IndefiniteLength { offset: 0 }))
        );
        let data = authenticator_data(RP_ID, UP | AT, 0, Some((&a.credential_id, enc(&a.cose_key()))));
        let mut chunked = vec![0x5f];
        chunked.extend(enc(&C::B(data)));
        chunked.push(0xff);
        let object = enc(&C::M(vec![
            (C::T("fmt"), C::T("none")),
            (C::T("attStmt"), C::M(vec![])),
            (C::T("authData"), C::Raw(chunked)),
        ]));
        assert!(matches!(
            verify_registration(&expected(), &client, &object),
            Err(WebAuthnError::Cbor(CborError::IndefiniteLength { .. }))
        ));
        // A byte string claiming 2^60 bytes: refused at its head, nothing allocated.
        let mut hostile = vec![0x5b];
        hostile.extend((1u64 << 60).to_be_bytes());
        hostile.extend([0; 8]);
        let object = enc(&C::M(vec![
            (C::T("fmt"), C::T("none")),
            (C::T("attStmt"), C::M(vec![])),
            (C::T("authData"), C::Raw(hostile.clone())),
        ]));
        assert!(matches!(
            verify_registration(&expected(), &client, &object),
            Err(WebAuthnError::Cbor(CborError::LengthExceedsInput { .. }))
        ));
        // The same inside the COSE key, and an array claiming 2^60 items there.
        for key in [
            C::M(vec![(C::U(1), C::U(2)), (C::N(-2), C::Raw(hostile))]),
            C::M(vec![(C::U(1), C::Raw(vec![0x9b, 0x10, 0, 0, 0, 0, 0, 0, 0]))]),
        ] {
            assert!(matches!(
                register(&a, UP | AT, &key),
                Err(WebAuthnError::Cbor(CborError::LengthExceedsInput { .. }))
            ));
        }
        // Nesting too deep, in the attestation statement and in the COSE key.
        let mut deep = C::U(0);
        for _ in 0..40 {
            deep = C::A(vec![deep]);
        }
        let data = authenticator_data(RP_ID, UP | AT, 0, Some((&a.credential_id, enc(&a.cose_key()))));
        let object = attestation_object("packed", C::M(vec![(C::T("x5c"), deep)]), data);
        assert!(matches!(
            verify_registration(&expected(), &client, &object),
            Err(WebAuthnError::Cbor(CborError::TooDeep { .. }))
        ));
        let mut deep = C::U(0);
        for _ in 0..40 {
            deep = C::M(vec![(C::U(1), deep)]);
        }
        assert!(matches!(register(&a, UP | AT, &deep), Err(WebAuthnError::Cbor(CborError::TooDeep { .. }))));
        // A repeated key in the attestation object.
        let object = enc(&C::M(vec![
            (C::T("fmt"), C::T("none")),
            (C::T("fmt"), C::T("packed")),
            (C::T("attStmt"), C::M(vec![])),
            (C::T("authData"), C::B(vec![])),
        ]));
        assert!(matches!(
            verify_registration(&expected(), &client, &object),
            Err(WebAuthnError::Cbor(CborError::DuplicateKey { .. }))
        ));
    }

    #[test]
    fn assertion_refusals() {
        let a = Authenticator::new();
        let stored = register(&a, UP | AT, &a.cose_key()).expect("registration");
        let stored = Credential { sign_count: 5, ..stored };
        let good_data = authenticator_data(RP_ID, UP, 6, None);
        let with_client = |client: Vec<u8>| assert_with(&a, &stored, &expected(), &client, &good_data);
        assert_eq!(with_client(client_data("webauthn.get", &CHALLENGE, ORIGIN)), Ok(6));
        assert_eq!(
            with_client(client_data("webauthn.get", &CHALLENGE, "https://evil.example")),
            Err(WebAuthnError::WrongOrigin)
        );
        assert_eq!(with_client(client_data("webauthn.get", &[0; 32], ORIGIN)), Err(WebAuthnError::WrongChallenge));
        assert_eq!(with_client(client_data("webauthn.create", &CHALLENGE, ORIGIN)), Err(WebAuthnError::WrongType));
        assert_eq!(with_client(b"{}".to_vec()), Err(WebAuthnError::MalformedClientData));

        let client = client_data("webauthn.get", &CHALLENGE, ORIGIN);
        let with_data = |data: Vec<u8>| assert_with(&a, &stored, &expected(), &client, &data);
        assert_eq!(with_data(authenticator_data("evil.example", UP, 6, None)), Err(WebAuthnError::WrongRelyingParty));
        assert_eq!(with_data(authenticator_data(RP_ID, 0, 6, None)), Err(WebAuthnError::UserNotPresent));
        assert_eq!(with_data(authenticator_data(RP_ID, UV, 6, None)), Err(WebAuthnError::UserNotPresent));
        let strict = Expected { require_user_verification: true, ..expected() };
        assert_eq!(
            assert_with(&a, &stored, &strict, &client, &authenticator_data(RP_ID, UP, 6, None)),
            Err(WebAuthnError::UserNotVerified)
        );
        // Attested credential data in an assertion, trailing bytes, too short.
        let attested = authenticator_data(RP_ID, UP | AT, 6, Some((&a.credential_id, enc(&a.cose_key()))));
        assert_eq!(with_data(attested), Err(WebAuthnError::MalformedAuthenticatorData));
        let mut trailing = good_data.clone();
        trailing.push(0);
        assert_eq!(with_data(trailing), Err(WebAuthnError::MalformedAuthenticatorData));
        assert_eq!(with_data(good_data[..36].to_vec()), Err(WebAuthnError::MalformedAuthenticatorData));
        // Extensions in an assertion are fine.
        let mut extended = authenticator_data(RP_ID, UP | ED, 6, None);
        extended.extend(enc(&C::M(vec![(C::T("credProps"), C::Bool(true))])));
        assert_eq!(with_data(extended), Ok(6));

        // The counter must increase.
        assert_eq!(with_data(authenticator_data(RP_ID, UP, 5, None)), Err(WebAuthnError::CounterNotIncreasing));
        assert_eq!(with_data(authenticator_data(RP_ID, UP, 4, None)), Err(WebAuthnError::CounterNotIncreasing));
        assert_eq!(with_data(authenticator_data(RP_ID, UP, 0, None)), Err(WebAuthnError::CounterNotIncreasing));
        let counterless = Credential { sign_count: 0, ..stored.clone() };
        assert_eq!(assert_with(&a, &counterless, &expected(), &client, &authenticator_data(RP_ID, UP, 0, None)), Ok(0));
        assert_eq!(assert_with(&a, &counterless, &expected(), &client, &authenticator_data(RP_ID, UP, 1, None)), Ok(1));
    }

    #[test]
    fn signatures_are_checked() {
        let a = Authenticator::new();
        let stored = a.credential(5);
        let client = client_data("webauthn.get", &CHALLENGE, ORIGIN);
        let data = authenticator_data(RP_ID, UP, 6, None);
        let signature = a.sign(&data, &client);
        assert_eq!(verify_assertion(&expected(), &stored, &client, &data, &signature), Ok(6));

        // A tampered signature: every byte flipped in turn.
        for i in 0..signature.len() {
            let mut tampered = signature.clone();
            tampered[i] ^= 0x01;
            assert_eq!(
                verify_assertion(&expected(), &stored, &client, &data, &tampered),
                Err(WebAuthnError::BadSignature),
                "byte {i}"
            );
        }
        assert_eq!(verify_assertion(&expected(), &stored, &client, &data, &[]), Err(WebAuthnError::BadSignature));
        assert_eq!(
            verify_assertion(&expected(), &stored, &client, &data, &signature[..signature.len() - 1]),
            Err(WebAuthnError::BadSignature)
        );
        // Tampered authenticator data: a higher counter, the UV flag added.
        let mut higher = data.clone();
        higher[36] = 0xff;
        assert_eq!(
            verify_assertion(&expected(), &stored, &client, &higher, &signature),
            Err(WebAuthnError::BadSignature)
        );
        let mut verified = data.clone();
        verified[32] |= UV;
        assert_eq!(
            verify_assertion(&expected(), &stored, &client, &verified, &signature),
            Err(WebAuthnError::BadSignature)
        );
        // Client data changed after signing while still valid (another member).
        let mut other_client = client.clone();
        other_client.truncate(other_client.len() - 1);
        other_client.extend(br#","extra":1}"#);
        assert_eq!(
            verify_assertion(&expected(), &stored, &other_client, &data, &signature),
            Err(WebAuthnError::BadSignature)
        );
        // Another key's signature.
        let b = Authenticator::new();
        let signature = b.sign(&data, &client);
        assert_eq!(
            verify_assertion(&expected(), &stored, &client, &data, &signature),
            Err(WebAuthnError::BadSignature)
        );
        // A stored key that is not a point on the curve.
        let mut off_curve = a.credential(5);
        off_curve.public_key[64] ^= 0x01;
        let signature = a.sign(&data, &client);
        assert_eq!(
            verify_assertion(&expected(), &off_curve, &client, &data, &signature),
            Err(WebAuthnError::BadSignature)
        );
    }

    #[test]
    fn challenges_are_random() {
        let rng = SystemRandom::new();
        let a = new_challenge(&rng).expect("rng");
        let b = new_challenge(&rng).expect("rng");
        assert_ne!(a, b);
        assert_ne!(a, [0; 32]);
    }

    #[test]
    fn messages_exist_in_both_languages() {
        let all = [
            WebAuthnError::Rng,
            WebAuthnError::MalformedClientData,
            WebAuthnError::WrongType,
            WebAuthnError::WrongChallenge,
            WebAuthnError::WrongOrigin,
            WebAuthnError::CrossOrigin,
            WebAuthnError::Cbor(CborError::Truncated { offset: 3 }),
            WebAuthnError::MalformedAttestationObject,
            WebAuthnError::UnsupportedAttestationFormat,
            WebAuthnError::MalformedAuthenticatorData,
            WebAuthnError::WrongRelyingParty,
            WebAuthnError::UserNotPresent,
            WebAuthnError::UserNotVerified,
            WebAuthnError::MissingCredentialData,
            WebAuthnError::UnsupportedAlgorithm,
            WebAuthnError::MalformedPublicKey,
            WebAuthnError::BadSignature,
            WebAuthnError::CounterNotIncreasing,
        ];
        let mut english = std::collections::HashSet::new();
        let mut japanese = std::collections::HashSet::new();
        for e in &all {
            assert!(e.to_string().starts_with(e.message()));
            assert!(english.insert(e.message()), "{e:?}");
            assert!(japanese.insert(e.message_ja()) && !e.message_ja().is_ascii(), "{e:?}");
        }
        assert!(all[6].to_string().contains("offset 3"));
    }
}
