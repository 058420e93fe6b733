//! Time-based one-time passwords (RFC 6238 over RFC 4226's HOTP): the fallback second
//! factor for coordinators without a security key.
//!
//! The parameters are the ones every authenticator app understands: HMAC-SHA-1, six
//! digits, 30-second steps counted from the Unix epoch. [`verify`] accepts the current
//! step and one either side (clock drift, a code typed as it changed) and refuses a step
//! at or before the last one used, so the caller stores the returned step and a code
//! seen once (on a shoulder, in a proxy log) cannot sign in again. Time is passed in:
//! nothing here reads a clock.

use ring::hmac;
use ring::rand::SecureRandom;

/// Bytes of a new secret: 160 bits, the HMAC-SHA-1 output size RFC 4226 recommends.
pub const SECRET_LEN: usize = 20;
/// Digits of a code.
pub const DIGITS: u32 = 6;
/// Seconds per step.
pub const PERIOD: i64 = 30;
/// Steps accepted either side of the current one.
pub const WINDOW: i64 = 1;

/// Why a TOTP code was not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// The system random number generator failed.
    #[error("{}", self.message())]
    Rng,
    /// The input is not six digits (after removing spaces).
    #[error("{}", self.message())]
    Malformed,
    /// Six digits, but not the code of the current step or a neighbour.
    #[error("{}", self.message())]
    WrongCode,
    /// The code of a step already used to sign in.
    #[error("{}", self.message())]
    Replayed,
}

impl TotpError {
    /// What went wrong, in English.
    pub fn message(&self) -> &'static str {
        match self {
            TotpError::Rng => "the random number generator failed",
            TotpError::Malformed => "the code must be 6 digits",
            TotpError::WrongCode => "wrong code: check the authenticator app and the device's clock",
            TotpError::Replayed => "this code has already been used: wait for the next code",
        }
    }

    /// What went wrong, in Japanese, for operators' screens.
    pub fn message_ja(&self) -> &'static str {
        match self {
            TotpError::Rng => "乱数を生成できませんでした",
            TotpError::Malformed => "確認コードは 6 桁の数字で入力してください",
            TotpError::WrongCode => "確認コードが正しくありません。認証アプリと端末の時刻を確認してください",
            TotpError::Replayed => "この確認コードは既に使われています。次のコードが表示されるまでお待ちください",
        }
    }
}

/// A new random secret of [`SECRET_LEN`] bytes.
pub fn new_secret(rng: &dyn SecureRandom) -> Result<Vec<u8>, TotpError> {
    let mut secret = vec![0u8; SECRET_LEN];
    rng.fill(&mut secret).map_err(|_| TotpError::Rng)?;
    Ok(secret)
}

/// RFC 4648 base32 (upper case, no padding), the form authenticator apps take secrets in.
pub fn base32(secret: &[u8]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let mut out = String::with_capacity(secret.len().div_ceil(5) * 8);
    for chunk in secret.chunks(5) {
        let mut block = [0u8; 5];
        block[..chunk.len()].copy_from_slice(chunk);
        let bits = block.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        // 8 bits per byte, 5 bits per character, rounded up.
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..chars {
            let index = (bits >> (35 - 5 * i)) & 0x1f;
            out.push(char::from(ALPHABET[index as usize]));
        }
    }
    out
}

/// Decodes base32 (RFC 4648; case, spaces and padding ignored, as people type a secret
/// shown on screen): None for any other character or a length no encoder writes.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    let mut bits: u64 = 0;
    let mut held = 0u32;
    let mut out = Vec::with_capacity(text.len() * 5 / 8);
    let mut count = 0usize;
    for ch in text.chars().filter(|c| !c.is_whitespace() && *c != '=') {
        let value = match ch.to_ascii_uppercase() {
            c @ 'A'..='Z' => c as u64 - 'A' as u64,
            c @ '2'..='7' => c as u64 - '2' as u64 + 26,
            _ => return None,
        };
        count += 1;
        bits = (bits << 5) | value;
        held += 5;
        if held >= 8 {
            held -= 8;
            out.push((bits >> held) as u8);
            bits &= (1u64 << held) - 1;
        }
    }
    // Lengths an encoder writes: 8 characters per 5 bytes, the last group 2, 4, 5 or 7.
    if count == 0 || matches!(count % 8, 1 | 3 | 6) {
        return None;
    }
    Some(out)
}

/// The `otpauth://` URI an authenticator app reads from a QR code (Google's Key Uri
/// Format): `otpauth://totp/Issuer:account?secret=…&issuer=…&algorithm=SHA1&digits=6&period=30`.
/// The issuer and the account are percent-encoded as UTF-8 (a colon in either too).
pub fn otpauth_uri(secret: &[u8], issuer: &str, account: &str) -> String {
    let issuer = percent_encode(issuer);
    format!(
        "otpauth://totp/{issuer}:{account}?secret={secret}&issuer={issuer}&algorithm=SHA1&digits={DIGITS}&period={PERIOD}",
        account = percent_encode(account),
        secret = base32(secret),
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The step `unix_seconds` falls in.
pub fn step_at(unix_seconds: i64) -> i64 {
    unix_seconds.div_euclid(PERIOD)
}

/// The six-digit code for the step `unix_seconds` falls in.
pub fn code_at(secret: &[u8], unix_seconds: i64) -> String {
    hotp(secret, step_at(unix_seconds), DIGITS)
}

/// RFC 4226 HOTP of `counter`, `digits` long (zero-padded). A step before the epoch (never
/// used in practice) is taken as its two's complement, as a `u64` counter.
fn hotp(secret: &[u8], counter: i64, digits: u32) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
    let tag = hmac::sign(&key, &counter.to_be_bytes());
    let tag = tag.as_ref();
    // Dynamic truncation (RFC 4226 5.3): the low nibble of the last byte picks 4 bytes.
    let offset = usize::from(tag[tag.len() - 1] & 0x0f);
    let binary = u32::from_be_bytes([tag[offset] & 0x7f, tag[offset + 1], tag[offset + 2], tag[offset + 3]]);
    let code = binary % 10u32.pow(digits);
    format!("{code:0width$}", width = digits as usize)
}

/// Checks `code` against the steps around `unix_seconds` ([`WINDOW`] either side).
///
/// Spaces (any Unicode white space, so an ideographic space too) are ignored and
/// full-width digits (`１２３４５６`, as a Japanese input method may type them) read as
/// digits. Returns the step that matched, which the caller stores as the new
/// `last_used_step`; a step at or before `last_used_step` is refused as a replay. Codes
/// are compared in constant time, and all the window's steps are always computed.
pub fn verify(secret: &[u8], code: &str, unix_seconds: i64, last_used_step: Option<i64>) -> Result<i64, TotpError> {
    let mut typed = Vec::with_capacity(DIGITS as usize);
    for c in code.chars().filter(|c| !c.is_whitespace()) {
        let digit = match c {
            '0'..='9' => u32::from(c) - u32::from('0'),
            '０'..='９' => u32::from(c) - u32::from('０'),
            _ => return Err(TotpError::Malformed),
        };
        if typed.len() == DIGITS as usize {
            return Err(TotpError::Malformed);
        }
        typed.push(b'0' + digit as u8);
    }
    if typed.len() != DIGITS as usize {
        return Err(TotpError::Malformed);
    }
    let current = step_at(unix_seconds);
    let mut fresh: Option<i64> = None;
    let mut replayed = false;
    for step in current.saturating_sub(WINDOW)..=current.saturating_add(WINDOW) {
        let expected = hotp(secret, step, DIGITS);
        if constant_time_eq(expected.as_bytes(), &typed) {
            if last_used_step.is_some_and(|last| step <= last) {
                replayed = true;
            } else if fresh.is_none() {
                fresh = Some(step);
            }
        }
    }
    match (fresh, replayed) {
        (Some(step), _) => Ok(step),
        (None, true) => Err(TotpError::Replayed),
        (None, false) => Err(TotpError::WrongCode),
    }
}

/// Equality of two byte strings whose time depends on their length only.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    /// RFC 6238 Appendix B's SHA-1 secret: the ASCII string "12345678901234567890".
    const RFC_SECRET: &[u8] = b"12345678901234567890";

    #[test]
    fn rfc6238_appendix_b_sha1_vectors() {
        let vectors: &[(i64, &str)] = &[
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_111_111_111, "14050471"),
            (1_234_567_890, "89005924"),
            (2_000_000_000, "69279037"),
            (20_000_000_000, "65353130"),
        ];
        for (time, expected) in vectors {
            assert_eq!(hotp(RFC_SECRET, step_at(*time), 8), *expected, "T = {time}");
            // The public six-digit code is the same computation modulo 10^6.
            assert_eq!(code_at(RFC_SECRET, *time), expected[2..], "T = {time}");
        }
    }

    #[test]
    fn rfc4226_appendix_d_hotp_vectors() {
        let expected =
            ["755224", "287082", "359152", "969429", "338314", "254676", "287922", "162583", "399871", "520489"];
        for (counter, code) in expected.iter().enumerate() {
            assert_eq!(hotp(RFC_SECRET, counter as i64, 6), *code, "counter {counter}");
        }
    }

    #[test]
    fn window_of_one_step_either_side() {
        let now = 1_700_000_015;
        let step = step_at(now);
        for offset in -1..=1 {
            let code = code_at(RFC_SECRET, now + offset * PERIOD);
            assert_eq!(verify(RFC_SECRET, &code, now, None), Ok(step + offset), "offset {offset}");
        }
        for offset in [-2, 2, -3, 3] {
            let code = code_at(RFC_SECRET, now + offset * PERIOD);
            assert_eq!(verify(RFC_SECRET, &code, now, None), Err(TotpError::WrongCode), "offset {offset}");
        }
        // A code at the very end of its step still verifies at the start of the next.
        let code = code_at(RFC_SECRET, 1_700_000_009);
        assert_eq!(verify(RFC_SECRET, &code, 1_700_000_010, None), Ok(step_at(1_700_000_009)));
    }

    #[test]
    fn a_used_step_is_refused() {
        let now = 1_700_000_015;
        let code = code_at(RFC_SECRET, now);
        let step = verify(RFC_SECRET, &code, now, None).expect("first use");
        assert_eq!(verify(RFC_SECRET, &code, now, Some(step)), Err(TotpError::Replayed));
        assert_eq!(verify(RFC_SECRET, &code, now + PERIOD, Some(step)), Err(TotpError::Replayed));
        // An older code after a newer one was used: refused too.
        let older = code_at(RFC_SECRET, now - PERIOD);
        assert_eq!(verify(RFC_SECRET, &older, now, Some(step)), Err(TotpError::Replayed));
        // The next step's code is still fine.
        let next = code_at(RFC_SECRET, now + PERIOD);
        assert_eq!(verify(RFC_SECRET, &next, now + PERIOD, Some(step)), Ok(step + 1));
        // A wrong code stays wrong, whatever was used before.
        let wrong = if code == "000000" { "000001" } else { "000000" };
        assert_eq!(verify(RFC_SECRET, wrong, now, Some(step)), Err(TotpError::WrongCode));
    }

    #[test]
    fn spaces_are_ignored_and_full_width_digits_read() {
        let now = 59;
        assert_eq!(code_at(RFC_SECRET, now), "287082");
        for typed in ["287082", "287 082", " 287082 ", "2 8 7 0 8 2", "287\u{3000}082", "２８７０８２", "287０82"]
        {
            assert_eq!(verify(RFC_SECRET, typed, now, None), Ok(1), "{typed:?}");
        }
        for typed in ["", "28708", "2870821", "287-082", "28708a", "abcdef", "287082\u{0}", "٢٨٧٠٨٢"] {
            assert_eq!(verify(RFC_SECRET, typed, now, None), Err(TotpError::Malformed), "{typed:?}");
        }
    }

    #[test]
    fn rfc4648_base32_vectors() {
        let vectors: &[(&[u8], &str)] = &[
            (b"", ""),
            (b"f", "MY"),
            (b"fo", "MZXQ"),
            (b"foo", "MZXW6"),
            (b"foob", "MZXW6YQ"),
            (b"fooba", "MZXW6YTB"),
            (b"foobar", "MZXW6YTBOI"),
        ];
        for (input, expected) in vectors {
            assert_eq!(base32(input), *expected);
        }
        assert_eq!(base32(RFC_SECRET), "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(base32(&[0xff; 5]), "77777777");
    }

    #[test]
    fn otpauth_uri_shape() {
        let uri = otpauth_uri(RFC_SECRET, "Renkei Hub", "yamada@example.jp");
        assert_eq!(
            uri,
            "otpauth://totp/Renkei%20Hub:yamada%40example.jp?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ\
             &issuer=Renkei%20Hub&algorithm=SHA1&digits=6&period=30"
        );
        let uri = otpauth_uri(RFC_SECRET, "連携ハブ", "山田:太郎");
        assert!(
            uri.starts_with(
                "otpauth://totp/%E9%80%A3%E6%90%BA%E3%83%8F%E3%83%96:%E5%B1%B1%E7%94%B0%3A%E5%A4%AA%E9%83%8E?secret="
            ),
            "{uri}"
        );
        assert!(
            uri.ends_with("&issuer=%E9%80%A3%E6%90%BA%E3%83%8F%E3%83%96&algorithm=SHA1&digits=6&period=30"),
            "{uri}"
        );
        assert!(uri.is_ascii());
    }

    #[test]
    fn new_secrets_are_random_and_long_enough() {
        let rng = SystemRandom::new();
        let a = new_secret(&rng).expect("rng");
        let b = new_secret(&rng).expect("rng");
        assert_eq!(a.len(), SECRET_LEN);
        assert_ne!(a, b);
        let now = 1_700_000_000;
        assert!(verify(&a, &code_at(&a, now), now, None).is_ok());
    }

    #[test]
    fn messages_exist_in_both_languages() {
        for e in [TotpError::Rng, TotpError::Malformed, TotpError::WrongCode, TotpError::Replayed] {
            assert_eq!(e.to_string(), e.message());
            assert!(!e.message_ja().is_empty() && !e.message_ja().is_ascii());
        }
    }

    #[test]
    fn base32_round_trips_and_refuses_other_characters() {
        for len in 0..=21usize {
            let bytes: Vec<u8> = (0..len as u8).map(|b| b.wrapping_mul(37)).collect();
            let text = base32(&bytes);
            if len == 0 {
                assert_eq!(from_base32(&text), None);
            } else {
                assert_eq!(from_base32(&text), Some(bytes.clone()), "{text}");
                assert_eq!(from_base32(&text.to_lowercase()), Some(bytes), "lower case");
            }
        }
        assert_eq!(from_base32("MZXW 6YTB OI======"), Some(b"foobar".to_vec()));
        assert_eq!(from_base32("MZXW1"), None);
        assert_eq!(from_base32("M"), None);
    }
}
