//! Expiries typed by an operator: `duration::parse_expiry` (`token issue --expires`).
//!
//! The first 8 bytes pick `now` anywhere in chrono's calendar, the rest is the text.
//! Invariants: no panic; an accepted expiry is after `now` and at most
//! `MAX_EXPIRY_DAYS` days after it; a refusal has an English and a Japanese reason.
#![no_main]

use chrono::{DateTime, TimeDelta, Utc};
use libfuzzer_sys::fuzz_target;
use renkei_schema::duration::{parse_expiry, MAX_EXPIRY_DAYS};

fuzz_target!(|data: &[u8]| {
    let (now, text) = match data.split_first_chunk::<8>() {
        Some((head, rest)) => {
            let min = DateTime::<Utc>::MIN_UTC.timestamp();
            let max = DateTime::<Utc>::MAX_UTC.timestamp();
            let span = (max - min) as u64;
            let secs = min + (u64::from_le_bytes(*head) % span) as i64;
            (DateTime::from_timestamp(secs, 0).expect("secs lies within chrono's range"), rest)
        }
        None => (DateTime::UNIX_EPOCH, data),
    };
    let Ok(text) = std::str::from_utf8(text) else { return };
    match parse_expiry(text, now) {
        Ok(t) => {
            assert!(t > now, "{text:?} at {now}: {t} is not in the future");
            assert!(t - now <= TimeDelta::days(MAX_EXPIRY_DAYS), "{text:?} at {now}: {t} is too far");
        }
        Err(e) => assert!(!e.reason.is_empty() && !e.reason_ja.is_empty()),
    }
    // Today's clock too, as the hub calls it.
    let _ = parse_expiry(text, Utc::now());
});
