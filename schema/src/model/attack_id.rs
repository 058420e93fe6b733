//! MITRE ATT&CK identifiers: technique ids (Enterprise, Mobile and ICS) and tactic
//! shortnames, validated and normalized to their canonical form.
//!
//! * Enterprise and Mobile techniques: `T` + 4 digits (first digit not `0`), with an
//!   optional sub-technique suffix `.` + 3 digits: `T1566`, `T1566.001`.
//! * ICS techniques: `T0` + 3 digits, never with a sub-technique: `T0866`.
//! * Tactic shortnames: lowercase words joined by hyphens: `initial-access`,
//!   `inhibit-response-function`.

/// Longest input accepted before any parsing (technique ids are 9 characters at most).
const MAX_TECHNIQUE_INPUT: usize = 64;
/// Longest tactic shortname accepted.
const MAX_TACTIC_LEN: usize = 64;

/// An ATT&CK technique id or tactic shortname was rejected.
///
/// `reason` is English (also the `Display` text), `reason_ja` is the same in Japanese.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidTechniqueId {
    pub reason: String,
    pub reason_ja: String,
}

impl InvalidTechniqueId {
    fn new(reason: impl Into<String>, reason_ja: impl Into<String>) -> Self {
        Self { reason: reason.into(), reason_ja: reason_ja.into() }
    }
}

/// Quote untrusted input for an error message: escaped and cut to a few characters.
fn shown(raw: &str) -> String {
    const MAX: usize = 40;
    let mut out: String = raw.chars().take(MAX).collect::<String>();
    if raw.chars().count() > MAX {
        out.push('…');
    }
    format!("\"{}\"", out.escape_debug())
}

fn all_ascii_digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// Validate an ATT&CK technique id and return its canonical form.
///
/// Surrounding whitespace is trimmed and letters are uppercased, so `" t1566.001 "`
/// becomes `"T1566.001"`. Accepted forms: `T` + 4 digits (not starting with `0`) with an
/// optional `.` + 3 digit sub-technique (`001`..=`999`) for Enterprise/Mobile, and
/// `T0` + 3 digits for ICS (which has no sub-techniques).
pub fn validate_technique_id(raw: &str) -> Result<String, InvalidTechniqueId> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(InvalidTechniqueId::new(
            "ATT&CK technique id is empty; expected T#### or T####.### (e.g. T1566, T1566.001) or ICS T0### (e.g. T0866)",
            "ATT&CK テクニック ID が空です。T####、T####.###(例: T1566、T1566.001)または ICS の T0###(例: T0866)の形式で入力してください",
        ));
    }
    if trimmed.len() > MAX_TECHNIQUE_INPUT || !trimmed.is_ascii() {
        return Err(form_error(trimmed));
    }
    let id = trimmed.to_ascii_uppercase();
    let Some(body) = id.strip_prefix('T') else {
        return Err(form_error(trimmed));
    };
    let (main, sub) = match body.split_once('.') {
        Some((main, sub)) => (main, Some(sub)),
        None => (body, None),
    };
    if main.len() != 4 || !all_ascii_digits(main) {
        return Err(form_error(trimmed));
    }
    let ics = main.starts_with('0');
    if let Some(sub) = sub {
        if ics {
            return Err(InvalidTechniqueId::new(
                format!(
                    "ATT&CK technique id {} is invalid: ICS techniques (T0###) have no sub-techniques; use the bare id such as T0866",
                    shown(trimmed)
                ),
                format!(
                    "ATT&CK テクニック ID {} は不正です。ICS テクニック(T0###)にはサブテクニックがありません。T0866 のように番号のみを指定してください",
                    shown(trimmed)
                ),
            ));
        }
        if sub.len() != 3 || !all_ascii_digits(sub) {
            return Err(form_error(trimmed));
        }
        if sub == "000" {
            return Err(InvalidTechniqueId::new(
                format!(
                    "ATT&CK technique id {} is invalid: sub-technique numbers start at .001 (e.g. T1566.001)",
                    shown(trimmed)
                ),
                format!(
                    "ATT&CK テクニック ID {} は不正です。サブテクニック番号は .001 から始まります(例: T1566.001)",
                    shown(trimmed)
                ),
            ));
        }
    }
    Ok(id)
}

fn form_error(trimmed: &str) -> InvalidTechniqueId {
    InvalidTechniqueId::new(
        format!(
            "ATT&CK technique id {} is invalid; expected T#### or T####.### (e.g. T1566, T1566.001) or ICS T0### (e.g. T0866)",
            shown(trimmed)
        ),
        format!(
            "ATT&CK テクニック ID {} は不正です。T####、T####.###(例: T1566、T1566.001)または ICS の T0###(例: T0866)の形式で入力してください",
            shown(trimmed)
        ),
    )
}

/// Whether `id` is a valid ATT&CK for ICS technique id (`T0###`).
///
/// The id is read like [`validate_technique_id`] does (trimmed, case-insensitive);
/// anything that is not a valid technique id gives `false`.
pub fn is_ics_technique(id: &str) -> bool {
    validate_technique_id(id).is_ok_and(|canonical| canonical.starts_with("T0"))
}

/// The parent technique of a sub-technique id: `T1566.001` gives `Some("T1566")`.
///
/// Returns `None` for a parent technique itself, an ICS technique or anything that is
/// not a valid technique id. The id is read like [`validate_technique_id`] does
/// (trimmed, case-insensitive); the returned slice borrows from `id` and keeps its
/// letter case, so pass a canonical id to get a canonical parent.
pub fn parent_technique(id: &str) -> Option<&str> {
    let trimmed = id.trim();
    let canonical = validate_technique_id(trimmed).ok()?;
    if canonical.contains('.') {
        // Valid ids are ASCII, so byte index 5 is the end of `T####`.
        trimmed.get(..5)
    } else {
        None
    }
}

/// Validate an ATT&CK tactic shortname and return its canonical form.
///
/// The canonical form is lowercase ASCII words joined by single hyphens, as used in
/// the `x_mitre_shortname` of tactics and the `phase_name` of kill chain phases:
/// `initial-access`, `command-and-control`, `inhibit-response-function`.
/// Surrounding whitespace is trimmed, letters are lowercased and single spaces or
/// underscores between words are read as hyphens, so the display name
/// `"Initial Access"` is accepted as `initial-access`.
pub fn validate_tactic(raw: &str) -> Result<String, InvalidTechniqueId> {
    let trimmed = raw.trim();
    let invalid = || {
        InvalidTechniqueId::new(
            format!(
                "ATT&CK tactic {} is invalid; expected lowercase words joined by hyphens (e.g. initial-access, inhibit-response-function)",
                shown(trimmed)
            ),
            format!(
                "ATT&CK タクティク {} は不正です。英小文字の単語をハイフンでつないだ形式(例: initial-access、inhibit-response-function)で入力してください",
                shown(trimmed)
            ),
        )
    };
    if trimmed.is_empty() {
        return Err(InvalidTechniqueId::new(
            "ATT&CK tactic is empty; expected lowercase words joined by hyphens (e.g. initial-access)",
            "ATT&CK タクティクが空です。英小文字の単語をハイフンでつないだ形式(例: initial-access)で入力してください",
        ));
    }
    if trimmed.len() > MAX_TACTIC_LEN {
        return Err(invalid());
    }
    let canonical: String = trimmed
        .chars()
        .map(|c| match c {
            ' ' | '_' => '-',
            other => other.to_ascii_lowercase(),
        })
        .collect();
    let well_formed = canonical.split('-').all(|word| !word.is_empty() && word.bytes().all(|b| b.is_ascii_lowercase()));
    if well_formed {
        Ok(canonical)
    } else {
        Err(invalid())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_technique_ids_are_canonicalized() {
        let cases = [
            ("T1566", "T1566"),
            ("T1566.001", "T1566.001"),
            ("t1566.001", "T1566.001"),
            ("  T1059.003\t", "T1059.003"),
            ("T1001", "T1001"),
            ("T1999.999", "T1999.999"),
            ("T9999", "T9999"),
            ("T0866", "T0866"),
            ("t0800", "T0800"),
            ("T0001", "T0001"),
            ("T1398", "T1398"),
            ("T1626.001", "T1626.001"),
        ];
        for (raw, want) in cases {
            assert_eq!(validate_technique_id(raw).as_deref(), Ok(want), "input {raw:?}");
        }
    }

    #[test]
    fn invalid_technique_ids_are_rejected() {
        let cases = [
            "",
            "   ",
            "T",
            "T156",
            "T15666",
            "1566",
            "TA0001",
            "TA0108",
            "S0001",
            "G0032",
            "X1566",
            "T1566.",
            "T1566.01",
            "T1566.0001",
            "T1566.000",
            "T1566.00a",
            "T1566.001.002",
            "T1566-001",
            "T1566 .001",
            "T 1566",
            "T15a6",
            "T+566",
            "T-566",
            "T0866.001",
            "T0866.000",
            "t0866.001",
            "T１５６６",
            "T1566\u{0}",
            ".T1566",
            "T1566/001",
            "attack-pattern--T1566",
        ];
        for raw in cases {
            let err = validate_technique_id(raw).expect_err(raw);
            assert!(!err.reason.is_empty(), "input {raw:?}");
            assert!(!err.reason_ja.is_empty(), "input {raw:?}");
        }
        let long = "T".repeat(1000);
        assert!(validate_technique_id(&long).is_err());
    }

    #[test]
    fn technique_errors_name_the_expected_form() {
        let err = validate_technique_id("T156").expect_err("too short");
        assert!(err.reason.contains("T####.###"), "{}", err.reason);
        assert!(err.reason.contains("T0###"), "{}", err.reason);
        assert!(err.reason_ja.contains("T####.###"), "{}", err.reason_ja);
        assert_eq!(err.to_string(), err.reason);

        let err = validate_technique_id("T0866.001").expect_err("ics sub-technique");
        assert!(err.reason.contains("no sub-techniques"), "{}", err.reason);
        assert!(err.reason_ja.contains("サブテクニック"), "{}", err.reason_ja);

        let err = validate_technique_id("").expect_err("empty");
        assert!(err.reason.contains("empty"), "{}", err.reason);
    }

    #[test]
    fn error_messages_do_not_echo_unbounded_or_raw_input() {
        let raw = format!("T\n{}", "9".repeat(200));
        let err = validate_technique_id(&raw).expect_err("garbage");
        assert!(!err.reason.contains('\n'));
        assert!(err.reason.len() < 300, "{}", err.reason);
    }

    #[test]
    fn ics_detection() {
        let cases = [
            ("T0866", true),
            ("t0800", true),
            (" T0001 ", true),
            ("T1566", false),
            ("T1566.001", false),
            ("T0866.001", false),
            ("T086", false),
            ("", false),
            ("TA0108", false),
        ];
        for (id, want) in cases {
            assert_eq!(is_ics_technique(id), want, "input {id:?}");
        }
    }

    #[test]
    fn parent_of_sub_techniques() {
        let cases = [
            ("T1566.001", Some("T1566")),
            ("T1059.003", Some("T1059")),
            (" T1566.002 ", Some("T1566")),
            ("t1566.001", Some("t1566")),
            ("T1566", None),
            ("T0866", None),
            ("T0866.001", None),
            ("T1566.000", None),
            ("T1566.01", None),
            ("", None),
            ("garbage", None),
        ];
        for (id, want) in cases {
            assert_eq!(parent_technique(id), want, "input {id:?}");
        }
    }

    #[test]
    fn valid_tactics_are_canonicalized() {
        let cases = [
            ("initial-access", "initial-access"),
            ("inhibit-response-function", "inhibit-response-function"),
            ("impair-process-control", "impair-process-control"),
            ("command-and-control", "command-and-control"),
            ("execution", "execution"),
            ("  Impact ", "impact"),
            ("Initial-Access", "initial-access"),
            ("Initial Access", "initial-access"),
            ("privilege_escalation", "privilege-escalation"),
            ("Command and Control", "command-and-control"),
        ];
        for (raw, want) in cases {
            assert_eq!(validate_tactic(raw).as_deref(), Ok(want), "input {raw:?}");
        }
    }

    #[test]
    fn invalid_tactics_are_rejected() {
        let cases = [
            "",
            "  ",
            "-",
            "initial--access",
            "-initial-access",
            "initial-access-",
            "initial  access",
            "initial.access",
            "initial/access",
            "TA0001",
            "ta0001",
            "t1566",
            "initial-access2",
            "inítial-access",
            "初期アクセス",
            "initial\taccess",
            "initial-access\n-x",
        ];
        for raw in cases {
            let err = validate_tactic(raw).expect_err(raw);
            assert!(!err.reason.is_empty(), "input {raw:?}");
            assert!(!err.reason_ja.is_empty(), "input {raw:?}");
        }
        assert!(validate_tactic(&"a".repeat(65)).is_err());
        assert_eq!(validate_tactic(&"a".repeat(64)), Ok("a".repeat(64)));
    }

    #[test]
    fn tactic_error_names_the_expected_form() {
        let err = validate_tactic("initial access!").expect_err("punctuation");
        assert!(err.reason.contains("initial-access"), "{}", err.reason);
        assert!(err.reason_ja.contains("ハイフン"), "{}", err.reason_ja);
    }
}
