//! Batch signatures as clients and peer hubs receive them: `sign::Verifier::verify`
//! (and `verify_object`) on any signature string and object.
//!
//! The input is the signature text up to the first NUL byte, then the object. A fixed
//! key signs a batch of five objects once (the seeds in `fuzz/seeds/signature` are its
//! signatures, so the fuzzer starts from valid `rk1.` signatures). Invariants: no
//! panic, no endless loop; nothing but the five signed objects ever verifies; the
//! genuine signatures still verify after whatever the fuzzer fed the same verifier.
#![no_main]

use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use renkei_schema::sign::{verify_object, SigningKey, Verifier};

struct Fixture {
    public_key: String,
    objects: Vec<Vec<u8>>,
    signatures: Vec<String>,
}

/// An Ed25519 key made for this target (PKCS#8 v2, hex); it signs nothing else.
const PKCS8: &str = "3051020101300506032b6570042204206d2a1740b6f3f81ecd369a92e68d793e43fbfdbefa1392b268600b179933ace881210093f31ce93390fa86bbbbf6374fede9fa661a19067ceabae7b7ab3209bcf9af86";

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("constant hex")).collect()
}

fn fixture() -> &'static Fixture {
    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let key = SigningKey::from_pkcs8(&hex(PKCS8)).expect("the constant test key loads");
        let objects: Vec<Vec<u8>> = (0..5).map(|i| format!("{{\"id\":{i}}}").into_bytes()).collect();
        let signatures = key.sign_batch(&objects);
        Fixture { public_key: key.public_key(), objects, signatures }
    })
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let mut verifier = Verifier::new(&f.public_key).expect("the fixture's public key is a valid key");
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (signature, object) = text.split_once('\0').unwrap_or((text, ""));
    let result = verifier.verify(object.as_bytes(), signature);
    // Only the fixture's objects were signed with this key (an Ed25519 forgery is not
    // what the fuzzer will find); a signature may be spelt another way ("01" for "1").
    assert!(result.is_err() || f.objects.iter().any(|o| o == object.as_bytes()), "{signature:?} verified {object:?}");
    let _ = verify_object(&f.public_key, object.as_bytes(), signature);
    for (o, s) in f.objects.iter().zip(&f.signatures) {
        assert!(verifier.verify(o, s).is_ok());
    }
});
