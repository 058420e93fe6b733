//! Second factors for coordinators signing in to the hub's web console (handbook
//! 11.4.2.3): WebAuthn security keys first, TOTP codes as the fallback.
//!
//! Pure functions, like the rest of this crate: no I/O and no clock reads. The hub passes
//! in the time, the random number generator, the challenge it issued and the state it
//! stored (a TOTP secret and its last used step; a credential and its signature counter),
//! and stores what comes back.
//!
//! - [`totp`]: RFC 6238 codes (HMAC-SHA-1, 6 digits, 30 s), secrets, their base32 form
//!   and `otpauth://` URI, and verification with a ±1 step window and replay refusal.
//! - [`webauthn`]: W3C WebAuthn Level 2 registration (§7.1) and assertion (§7.2) for
//!   ES256 (ECDSA P-256) keys, signatures checked with ring.
//! - [`cbor`]: the small, bounded CBOR reader WebAuthn's binary structures need (no
//!   dependency: the usual crates pull in more than this crate allows, webauthn-rs
//!   OpenSSL among them).
//!
//! **Attestation statements are not verified.** The hub trusts a security key because a
//! signed-in coordinator enrolled it, not because its vendor's certificate chain says
//! what model it is: registrations with the `"none"` format are accepted, and `"packed"`
//! ones (self-attestation) with their statement ignored. Checking vendor attestation
//! would need a metadata service and its trust roots, and would prove nothing the
//! enrolment does not.

pub mod cbor;
pub mod totp;
pub mod webauthn;
