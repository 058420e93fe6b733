//! Expiry times typed by an operator: a duration from now (`90d`, `12h`, `30m`) or an
//! RFC 3339 time (`2027-04-01T00:00:00Z`), as `renkei-hub token issue --expires` takes.
//!
//! A pure function of the text and the current time: every rejection is an
//! [`InvalidDuration`] in English and Japanese, never a panic (a multi-byte last
//! character, a number too large for a date, a time before now).

use chrono::{DateTime, TimeDelta, Utc};

/// The furthest ahead an expiry may be: 3,650 days (about ten years). A token meant to
/// outlive that is issued without an expiry.
pub const MAX_EXPIRY_DAYS: i64 = 3650;

/// An expiry that was refused, in English (`reason`, also the `Display` text) and
/// Japanese (`reason_ja`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidDuration {
    pub reason: String,
    pub reason_ja: String,
}

impl InvalidDuration {
    fn new(reason: impl Into<String>, reason_ja: impl Into<String>) -> Self {
        Self { reason: reason.into(), reason_ja: reason_ja.into() }
    }
}

/// Quote operator input for a message: escaped and cut to a few characters.
fn shown(raw: &str) -> String {
    const MAX: usize = 40;
    let mut out: String = raw.chars().take(MAX).collect();
    if raw.chars().count() > MAX {
        out.push('…');
    }
    format!("\"{}\"", out.escape_debug())
}

/// The expiry `text` names, seen at `now`: `now` plus a positive number of days (`d`),
/// hours (`h`) or minutes (`m`), or an RFC 3339 time. The result is after `now` and at
/// most [`MAX_EXPIRY_DAYS`] days after it.
pub fn parse_expiry(text: &str, now: DateTime<Utc>) -> Result<DateTime<Utc>, InvalidDuration> {
    let text = text.trim();
    if text.is_empty() {
        return Err(InvalidDuration::new(
            "the expiry is empty: give a duration such as 90d, 12h or 30m, or an RFC 3339 time such as 2027-04-01T00:00:00Z",
            "有効期限が空です。90d、12h、30m のような期間、または 2027-04-01T00:00:00Z のような RFC 3339 形式の日時を指定してください",
        ));
    }
    let latest = TimeDelta::try_days(MAX_EXPIRY_DAYS).and_then(|d| now.checked_add_signed(d));
    let too_far = || {
        InvalidDuration::new(
            format!("the expiry {} is too far ahead: at most {MAX_EXPIRY_DAYS} days (about ten years) from now; issue the token without an expiry instead", shown(text)),
            format!("有効期限 {} は先すぎます。現在から最大 {MAX_EXPIRY_DAYS} 日（約10年）までです。それより長く使うトークンは有効期限なしで発行してください", shown(text)),
        )
    };
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        let t = t.with_timezone(&Utc);
        if t <= now {
            return Err(InvalidDuration::new(
                format!("the expiry {} is not in the future", shown(text)),
                format!("有効期限 {} が未来の日時ではありません", shown(text)),
            ));
        }
        if latest.is_none_or(|latest| t > latest) {
            return Err(too_far());
        }
        return Ok(t);
    }
    let bad_form = || {
        InvalidDuration::new(
            format!(
                "the expiry {} is neither a duration (a whole number followed by d for days, h for hours or m for minutes, e.g. 90d) nor an RFC 3339 time (e.g. 2027-04-01T00:00:00Z)",
                shown(text)
            ),
            format!(
                "有効期限 {} は期間（整数の後に日数の d、時間の h、分の m を付けたもの。例：90d）でも RFC 3339 形式の日時（例：2027-04-01T00:00:00Z）でもありません",
                shown(text)
            ),
        )
    };
    // The unit is the last character, which may be any character: split by char, not byte.
    let mut chars = text.chars();
    let unit = chars.next_back();
    let number = chars.as_str();
    let minutes_per_unit: i64 = match unit {
        Some('d') => 24 * 60,
        Some('h') => 60,
        Some('m') => 1,
        _ => return Err(bad_form()),
    };
    let digits = number.strip_prefix(['-', '+']).unwrap_or(number);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_form());
    }
    if number.starts_with('-') || digits.bytes().all(|b| b == b'0') {
        return Err(InvalidDuration::new(
            format!("the expiry {} is not in the future: the duration must be positive (e.g. 90d)", shown(text)),
            format!("有効期限 {} が未来ではありません。期間は正の値で指定してください（例：90d）", shown(text)),
        ));
    }
    // More digits than an i64 holds is too far ahead as well.
    let n: i64 = digits.parse().unwrap_or(i64::MAX);
    if n > MAX_EXPIRY_DAYS * 24 * 60 / minutes_per_unit {
        return Err(too_far());
    }
    let expiry = n
        .checked_mul(minutes_per_unit)
        .and_then(TimeDelta::try_minutes)
        .and_then(|d| now.checked_add_signed(d))
        .ok_or_else(too_far)?;
    if latest.is_none_or(|latest| expiry > latest) {
        return Err(too_far());
    }
    Ok(expiry)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-05-01T12:00:00Z").expect("time").with_timezone(&Utc)
    }

    fn refused(text: &str) -> InvalidDuration {
        let err = parse_expiry(text, now()).expect_err(text);
        assert!(!err.reason.is_empty() && !err.reason_ja.is_empty(), "{err:?}");
        assert!(!err.reason_ja.is_ascii(), "{err:?}");
        err
    }

    #[test]
    fn durations_count_from_now() {
        assert_eq!(parse_expiry("90d", now()), Ok(now() + TimeDelta::days(90)));
        assert_eq!(parse_expiry("12h", now()), Ok(now() + TimeDelta::hours(12)));
        assert_eq!(parse_expiry("30m", now()), Ok(now() + TimeDelta::minutes(30)));
        assert_eq!(parse_expiry(" 7d ", now()), Ok(now() + TimeDelta::days(7)));
        assert_eq!(parse_expiry("+7d", now()), Ok(now() + TimeDelta::days(7)));
        assert_eq!(parse_expiry("3650d", now()), Ok(now() + TimeDelta::days(3650)));
    }

    #[test]
    fn rfc3339_times_are_taken_as_they_are() {
        let t = DateTime::parse_from_rfc3339("2027-04-01T09:00:00+09:00").expect("time").with_timezone(&Utc);
        assert_eq!(parse_expiry("2027-04-01T09:00:00+09:00", now()), Ok(t));
        assert!(refused("2020-01-01T00:00:00Z").reason.contains("not in the future"));
        assert!(refused("2026-05-01T12:00:00Z").reason.contains("not in the future"));
        assert!(refused("9999-12-31T23:59:59Z").reason.contains("too far ahead"));
    }

    /// `split_at(len - 1)` panicked on a multi-byte last character.
    #[test]
    fn a_multibyte_unit_is_refused_not_a_panic() {
        let err = refused("5日");
        assert!(err.reason.contains("\"5日\""), "{}", err.reason);
        assert!(err.reason.contains("neither a duration"), "{}", err.reason);
        assert!(err.reason_ja.contains("期間"), "{}", err.reason_ja);
        refused("日");
        refused("5é");
        refused("５d");
    }

    /// `chrono::Duration::days` panicked past its range and `now + d` past year 262143.
    #[test]
    fn a_huge_duration_is_refused_not_a_panic() {
        for text in ["99999999999999d", "9223372036854775807m", "99999999999999999999999999d", "3651d", "87601h"] {
            assert!(refused(text).reason.contains("too far ahead"), "{text}");
        }
        // Near the end of chrono's calendar, even a short duration cannot be added.
        assert!(parse_expiry("1d", DateTime::<Utc>::MAX_UTC).is_err());
    }

    #[test]
    fn zero_and_negative_durations_are_refused() {
        for text in ["-3d", "0d", "000h", "-0m"] {
            assert!(refused(text).reason.contains("must be positive"), "{text}");
        }
    }

    #[test]
    fn other_forms_are_refused() {
        assert!(refused("").reason.contains("empty"));
        assert!(refused("   ").reason.contains("empty"));
        for text in ["d", "90", "90s", "1.5d", "d90", "9 0d", "--3d", "+-3d", "0x10d", "tomorrow", "2027-04-01"] {
            assert!(refused(text).reason.contains("neither a duration"), "{text}");
        }
    }
}
