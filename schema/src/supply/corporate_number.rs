//! The Japanese corporate number (法人番号): 13 digits, the first a check digit over
//! the other twelve (法人番号の指定等に関する省令 第2条, National Tax Agency).

/// Why a corporate number was refused, in English and Japanese.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidCorporateNumber {
    pub reason: String,
    pub reason_ja: String,
}

/// The check digit of a 12-digit base number: 9 − (Σ Pn × Qn mod 9), Pn being the
/// n-th digit counted from the right, Qn 1 for odd n and 2 for even n.
pub fn check_digit(base: &[u8; 12]) -> u8 {
    let sum: u32 = base.iter().rev().enumerate().map(|(i, d)| u32::from(*d) * if i % 2 == 0 { 1 } else { 2 }).sum();
    9 - (sum % 9) as u8
}

/// Validates a corporate number; accepts full-width digits and separating spaces or
/// hyphens, and returns the 13 ASCII digits.
pub fn validate(raw: &str) -> Result<String, InvalidCorporateNumber> {
    let digits: String = raw
        .chars()
        .filter(|c| !matches!(c, ' ' | '-' | '\u{3000}'))
        .map(|c| match c {
            '０'..='９' => char::from(b'0' + (u32::from(c) - u32::from('０')) as u8),
            c => c,
        })
        .collect();
    if digits.len() != 13 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(InvalidCorporateNumber {
            reason: format!("a corporate number is 13 digits; got {:?}", raw.chars().take(40).collect::<String>()),
            reason_ja: "法人番号は13桁の数字です".into(),
        });
    }
    let bytes = digits.as_bytes();
    let mut base = [0u8; 12];
    for (slot, b) in base.iter_mut().zip(&bytes[1..]) {
        *slot = b - b'0';
    }
    let expected = check_digit(&base);
    let given = bytes[0] - b'0';
    if given != expected {
        return Err(InvalidCorporateNumber {
            reason: format!(
                "the check digit (the first digit) is {given}; for these twelve digits it must be {expected}"
            ),
            reason_ja: format!("検査用数字（先頭の数字）が{given}ですが、正しくは{expected}です"),
        });
    }
    Ok(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_corporate_numbers_validate() {
        // The National Tax Agency and Toyota Motor Corporation, as published.
        for n in ["7000012050002", "1180301018771"] {
            assert_eq!(validate(n).as_deref(), Ok(n));
        }
        assert_eq!(validate("１１８０３０１０１８７７１").as_deref(), Ok("1180301018771"), "full-width digits");
        assert_eq!(validate("1-1803-0101-8771").as_deref(), Ok("1180301018771"));
    }

    #[test]
    fn a_wrong_check_digit_or_length_is_refused_with_the_reason() {
        let err = validate("2180301018771").expect_err("check digit");
        assert!(err.reason.contains("must be 1"), "{}", err.reason);
        assert!(err.reason_ja.contains("検査用数字"));
        assert!(validate("118030101877").is_err(), "12 digits");
        assert!(validate("11803010187A1").is_err());
    }

    /// A mod-9 check catches every single-digit change except 0 ↔ 9 in the base digits
    /// (both weights make that change a multiple of 9).
    #[test]
    fn every_single_digit_change_but_nought_for_nine_is_caught() {
        let good = b"1180301018771";
        for pos in 0..13 {
            for d in b'0'..=b'9' {
                let swap = [d, good[pos]];
                if d == good[pos] || (pos > 0 && swap.contains(&b'0') && swap.contains(&b'9')) {
                    continue;
                }
                let mut n = *good;
                n[pos] = d;
                let n = std::str::from_utf8(&n).expect("ascii");
                assert!(validate(n).is_err(), "{n} should fail");
            }
        }
    }
}

/// Validates a Legal Entity Identifier (ISO 17442): 20 characters, digits and capital
/// letters, whose last two digits make the whole a multiple of 97 plus 1 (ISO 7064
/// MOD 97-10, letters counted as 10–35).
pub fn validate_lei(raw: &str) -> Result<String, InvalidCorporateNumber> {
    let lei = raw.trim().to_ascii_uppercase();
    let bad = || InvalidCorporateNumber {
        reason: format!(
            "{:?} is not a valid LEI (20 letters and digits with a MOD 97-10 check)",
            raw.chars().take(40).collect::<String>()
        ),
        reason_ja: "LEIとして不正です（20桁の英数字、MOD 97-10の検査）".into(),
    };
    if lei.len() != 20 || !lei.bytes().all(|b| b.is_ascii_digit() || b.is_ascii_uppercase()) {
        return Err(bad());
    }
    let mut remainder: u32 = 0;
    for b in lei.bytes() {
        let value = if b.is_ascii_digit() { u32::from(b - b'0') } else { u32::from(b - b'A') + 10 };
        remainder = if value >= 10 { (remainder * 100 + value) % 97 } else { (remainder * 10 + value) % 97 };
    }
    if remainder != 1 {
        return Err(bad());
    }
    Ok(lei)
}

#[cfg(test)]
mod lei_tests {
    use super::*;

    #[test]
    fn published_leis_validate_and_altered_ones_do_not() {
        // GLEIF's own LEI and Toyota Motor Corporation's, as published.
        for lei in ["506700GE1G29325QX363", "5493006W3QUS5LMH6R84"] {
            assert_eq!(validate_lei(lei).as_deref(), Ok(lei));
        }
        assert!(validate_lei("506700GE1G29325QX364").is_err());
        assert!(validate_lei("506700GE1G29325QX36").is_err());
    }
}
