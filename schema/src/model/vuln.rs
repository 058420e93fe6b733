//! Vulnerability advisories: CVE ids, CPE 2.3 names and NVD-style affected version
//! ranges, CVSS vectors (with the CVSS 3.x base score) and the exploitation status.
//!
//! Every function here is pure and validates untrusted input; each rejection is an
//! [`InvalidValue`] naming the field and explaining the expected form in English and
//! Japanese.

use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

use chrono::Datelike;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A field of a vulnerability advisory was rejected.
///
/// `field` names the field, `reason` explains the problem in English (also the
/// `Display` text) and `reason_ja` the same in Japanese.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidValue {
    pub field: &'static str,
    pub reason: String,
    pub reason_ja: String,
}

impl InvalidValue {
    fn new(field: &'static str, reason: impl Into<String>, reason_ja: impl Into<String>) -> Self {
        Self { field, reason: reason.into(), reason_ja: reason_ja.into() }
    }
}

/// Quote untrusted input for an error message: escaped and cut to a few characters.
fn shown(raw: &str) -> String {
    const MAX: usize = 60;
    let mut out: String = raw.chars().take(MAX).collect::<String>();
    if raw.chars().count() > MAX {
        out.push('…');
    }
    format!("\"{}\"", out.escape_debug())
}

// ---------------------------------------------------------------------------
// CVE ids
// ---------------------------------------------------------------------------

const CVE_FIELD: &str = "cve_id";
/// First year of the CVE program.
const CVE_FIRST_YEAR: i32 = 1999;
/// Longest sequence number allowed by the CVE JSON 5 schema.
const CVE_MAX_SEQ_DIGITS: usize = 19;
/// Longest input looked at before parsing.
const CVE_MAX_INPUT: usize = 64;

/// Validate a CVE id (`CVE-YYYY-NNNN`) and return it uppercased.
///
/// The year must be between 1999 and next year (by the current UTC date), the
/// sequence number has at least 4 digits and, when longer than 4 digits, no leading
/// zero (`CVE-2021-0001` and `CVE-2021-44228` are valid, `CVE-2021-00001` is not).
pub fn validate_cve_id(raw: &str) -> Result<String, InvalidValue> {
    validate_cve_id_for_year(raw, chrono::Utc::now().year())
}

/// [`validate_cve_id`] with the current year given explicitly (ids up to
/// `current_year + 1` are accepted).
pub fn validate_cve_id_for_year(raw: &str, current_year: i32) -> Result<String, InvalidValue> {
    let trimmed = raw.trim();
    let form_error = || {
        InvalidValue::new(
            CVE_FIELD,
            format!(
                "CVE id {} is invalid; expected CVE-YYYY-NNNN with a 4-digit year and at least 4 digits (e.g. CVE-2021-44228)",
                shown(trimmed)
            ),
            format!(
                "CVE ID {} は不正です。CVE-YYYY-NNNN の形式(4 桁の年と 4 桁以上の番号、例: CVE-2021-44228)で入力してください",
                shown(trimmed)
            ),
        )
    };
    if trimmed.is_empty() {
        return Err(InvalidValue::new(
            CVE_FIELD,
            "CVE id is empty; expected CVE-YYYY-NNNN (e.g. CVE-2021-44228)",
            "CVE ID が空です。CVE-YYYY-NNNN の形式(例: CVE-2021-44228)で入力してください",
        ));
    }
    if trimmed.len() > CVE_MAX_INPUT || !trimmed.is_ascii() {
        return Err(form_error());
    }
    let id = trimmed.to_ascii_uppercase();
    let Some(rest) = id.strip_prefix("CVE-") else {
        return Err(form_error());
    };
    let Some((year, seq)) = rest.split_once('-') else {
        return Err(form_error());
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if year.len() != 4 || !digits(year) || seq.len() < 4 || !digits(seq) {
        return Err(form_error());
    }
    if seq.len() > CVE_MAX_SEQ_DIGITS {
        return Err(InvalidValue::new(
            CVE_FIELD,
            format!(
                "CVE id {} is invalid: the sequence number has more than {CVE_MAX_SEQ_DIGITS} digits",
                shown(trimmed)
            ),
            format!("CVE ID {} は不正です。番号部分が {CVE_MAX_SEQ_DIGITS} 桁を超えています", shown(trimmed)),
        ));
    }
    if seq.len() > 4 && seq.starts_with('0') {
        return Err(InvalidValue::new(
            CVE_FIELD,
            format!(
                "CVE id {} is invalid: a sequence number longer than 4 digits must not start with 0",
                shown(trimmed)
            ),
            format!("CVE ID {} は不正です。5 桁以上の番号は 0 で始めることはできません", shown(trimmed)),
        ));
    }
    let year_num: i32 = year.parse().map_err(|_| form_error())?;
    let last_year = current_year.saturating_add(1);
    if !(CVE_FIRST_YEAR..=last_year).contains(&year_num) {
        return Err(InvalidValue::new(
            CVE_FIELD,
            format!("CVE id {} is invalid: the year must be between {CVE_FIRST_YEAR} and {last_year}", shown(trimmed)),
            format!(
                "CVE ID {} は不正です。年は {CVE_FIRST_YEAR} から {last_year} の範囲で指定してください",
                shown(trimmed)
            ),
        ));
    }
    Ok(id)
}

// ---------------------------------------------------------------------------
// CPE 2.3 formatted string binding
// ---------------------------------------------------------------------------

const CPE_FIELD: &str = "cpe";
const CPE_PREFIX: &str = "cpe:2.3:";
/// Longest CPE string accepted.
const CPE_MAX_LEN: usize = 1024;
/// Names of the 11 attributes, in formatted-string order.
const CPE_ATTRIBUTES: [&str; 11] = [
    "part",
    "vendor",
    "product",
    "version",
    "update",
    "edition",
    "language",
    "sw_edition",
    "target_sw",
    "target_hw",
    "other",
];

/// A CPE 2.3 name in the formatted string binding (NISTIR 7695), e.g.
/// `cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*`.
///
/// Attribute values are kept in canonical formatted-string form: lowercase, `*` for
/// ANY, `-` for NA, punctuation escaped with a backslash (`\:`, `\!`...) except `.`,
/// `_` and `-`, which are never escaped unless the value is a literal hyphen (`\-`).
/// Build one with [`Cpe23::parse`]; it serializes as the 13-part string.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Cpe23 {
    /// `a` (application), `o` (operating system) or `h` (hardware).
    pub part: char,
    pub vendor: String,
    pub product: String,
    pub version: String,
    pub update: String,
    pub edition: String,
    pub language: String,
    pub sw_edition: String,
    pub target_sw: String,
    pub target_hw: String,
    pub other: String,
}

/// One character of an attribute value, for matching.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// `?`: exactly one character.
    AnyOne,
    /// `*`: any sequence of characters.
    AnySeq,
}

impl Cpe23 {
    /// Parse a CPE 2.3 formatted string.
    ///
    /// Requires the `cpe:2.3:` prefix and exactly 13 colon-separated components
    /// (a `\:` does not separate), part `a`, `o` or `h`, a concrete vendor (no
    /// wildcard, not `*` or `-`) and a product that is not `*` or `-`. Values may use
    /// letters, digits, `_`, `-`, `.`, backslash-escaped punctuation and the `*` / `?`
    /// wildcards at the start or end. The result is lowercased and canonical.
    pub fn parse(raw: &str) -> Result<Cpe23, InvalidValue> {
        let trimmed = raw.trim();
        if trimmed.is_empty() {
            return Err(InvalidValue::new(
                CPE_FIELD,
                "CPE name is empty; expected a CPE 2.3 string such as cpe:2.3:a:vendor:product:version:*:*:*:*:*:*:*",
                "CPE 名が空です。cpe:2.3:a:vendor:product:version:*:*:*:*:*:*:* のような CPE 2.3 形式で入力してください",
            ));
        }
        if trimmed.len() > CPE_MAX_LEN {
            return Err(InvalidValue::new(
                CPE_FIELD,
                format!("CPE name is longer than {CPE_MAX_LEN} characters"),
                format!("CPE 名が {CPE_MAX_LEN} 文字を超えています"),
            ));
        }
        if let Some(bad) = trimmed.chars().find(|c| !c.is_ascii_graphic()) {
            return Err(InvalidValue::new(
                CPE_FIELD,
                format!(
                    "CPE name {} contains {:?}; only printable ASCII without spaces is allowed",
                    shown(trimmed),
                    bad
                ),
                format!(
                    "CPE 名 {} に使用できない文字 {:?} が含まれています。空白を除く半角英数記号のみ使用できます",
                    shown(trimmed),
                    bad
                ),
            ));
        }
        let lower = trimmed.to_ascii_lowercase();
        let Some(body) = lower.strip_prefix(CPE_PREFIX) else {
            return Err(InvalidValue::new(
                CPE_FIELD,
                format!(
                    "CPE name {} does not start with cpe:2.3: (CPE 2.2 URIs such as cpe:/a:... are not accepted); expected cpe:2.3:part:vendor:product:version:update:edition:language:sw_edition:target_sw:target_hw:other",
                    shown(trimmed)
                ),
                format!(
                    "CPE 名 {} が cpe:2.3: で始まっていません(cpe:/a:... のような CPE 2.2 形式は使用できません)。cpe:2.3:part:vendor:product:version:update:edition:language:sw_edition:target_sw:target_hw:other の形式で入力してください",
                    shown(trimmed)
                ),
            ));
        };
        let attrs = split_unescaped_colons(body);
        if attrs.len() != CPE_ATTRIBUTES.len() {
            let found = attrs.len() + 2;
            return Err(InvalidValue::new(
                CPE_FIELD,
                format!(
                    "CPE name {} has {found} colon-separated components; a CPE 2.3 name has exactly 13 (cpe:2.3: followed by 11 attributes, use * for any value)",
                    shown(trimmed)
                ),
                format!(
                    "CPE 名 {} はコロン区切りの要素が {found} 個あります。CPE 2.3 名はちょうど 13 個(cpe:2.3: と 11 個の属性、任意の値は * )で構成されます",
                    shown(trimmed)
                ),
            ));
        }
        let part = match attrs[0].as_str() {
            "a" => 'a',
            "o" => 'o',
            "h" => 'h',
            other => {
                return Err(InvalidValue::new(
                    CPE_FIELD,
                    format!(
                        "CPE part {} is invalid; expected a (application), o (operating system) or h (hardware)",
                        shown(other)
                    ),
                    format!(
                        "CPE の part {} は不正です。a(アプリケーション)、o(OS)、h(ハードウェア)のいずれかを指定してください",
                        shown(other)
                    ),
                ))
            }
        };
        let mut values = Vec::with_capacity(CPE_ATTRIBUTES.len() - 1);
        for (name, raw_value) in CPE_ATTRIBUTES.iter().zip(&attrs).skip(1) {
            values.push(canonical_value(name, raw_value)?);
        }
        let vendor = &values[0];
        if vendor == "*" || vendor == "-" || has_wildcard(vendor) {
            return Err(InvalidValue::new(
                CPE_FIELD,
                format!(
                    "CPE vendor {} is not concrete; name the vendor without * or ? wildcards and not - (e.g. siemens)",
                    shown(vendor)
                ),
                format!(
                    "CPE の vendor {} が具体的ではありません。ワイルドカード(* や ?)や - を使わずにベンダー名(例: siemens)を指定してください",
                    shown(vendor)
                ),
            ));
        }
        let product = &values[1];
        if product == "*" || product == "-" {
            return Err(InvalidValue::new(
                CPE_FIELD,
                format!(
                    "CPE product {} is not allowed; name the product (e.g. simatic_s7-1500_firmware)",
                    shown(product)
                ),
                format!(
                    "CPE の product に {} は指定できません。製品名(例: simatic_s7-1500_firmware)を指定してください",
                    shown(product)
                ),
            ));
        }
        let mut it = values.into_iter();
        let mut next = || it.next().unwrap_or_default();
        Ok(Cpe23 {
            part,
            vendor: next(),
            product: next(),
            version: next(),
            update: next(),
            edition: next(),
            language: next(),
            sw_edition: next(),
            target_sw: next(),
            target_hw: next(),
            other: next(),
        })
    }

    /// Whether this name is about `vendor`'s `product`.
    ///
    /// Both are compared case-insensitively, as plain names (`node.js`, `at&t`) or in
    /// CPE escaped form (`at\&t`). The vendor must be equal; the product may match
    /// through the `*` / `?` wildcards of this name.
    pub fn matches_product(&self, vendor: &str, product: &str) -> bool {
        let (Some(vendor), Some(product)) = (plain_chars(vendor), plain_chars(product)) else {
            return false;
        };
        glob_match(&tokens(&self.vendor), &vendor) && glob_match(&tokens(&self.product), &product)
    }
}

impl fmt::Display for Cpe23 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{CPE_PREFIX}{}:{}:{}:{}:{}:{}:{}:{}:{}:{}:{}",
            self.part,
            self.vendor,
            self.product,
            self.version,
            self.update,
            self.edition,
            self.language,
            self.sw_edition,
            self.target_sw,
            self.target_hw,
            self.other
        )
    }
}

impl FromStr for Cpe23 {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Cpe23::parse(s)
    }
}

impl Serialize for Cpe23 {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cpe23 {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        Cpe23::parse(&raw).map_err(serde::de::Error::custom)
    }
}

/// Split on `:` not preceded by an escaping backslash; escapes are kept.
fn split_unescaped_colons(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                current.push(c);
                if let Some(escaped) = chars.next() {
                    current.push(escaped);
                }
            }
            ':' => out.push(std::mem::take(&mut current)),
            _ => current.push(c),
        }
    }
    out.push(current);
    out
}

/// Validate one (already lowercased) attribute value and return its canonical form.
fn canonical_value(attr: &str, value: &str) -> Result<String, InvalidValue> {
    if value.is_empty() {
        return Err(InvalidValue::new(
            CPE_FIELD,
            format!("CPE {attr} is empty; use * (any value) or - (not applicable)"),
            format!("CPE の {attr} が空です。任意の値は *、該当なしは - を指定してください"),
        ));
    }
    if value == "*" || value == "-" {
        return Ok(value.to_owned());
    }
    // (character, escaped) pairs, or a wildcard.
    enum Item {
        Plain(char),
        Escaped(char),
        Wild(char),
    }
    let mut items = Vec::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(e) if e.is_ascii_punctuation() => items.push(Item::Escaped(e)),
                _ => {
                    return Err(InvalidValue::new(
                        CPE_FIELD,
                        format!(
                            "CPE {attr} value {} has a backslash not followed by a punctuation character; a backslash only escapes punctuation such as \\: or \\!",
                            shown(value)
                        ),
                        format!(
                            "CPE の {attr} の値 {} のバックスラッシュの後に記号がありません。バックスラッシュは \\: や \\! のように記号のエスケープにのみ使えます",
                            shown(value)
                        ),
                    ))
                }
            },
            '*' | '?' => items.push(Item::Wild(c)),
            c if c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.') => {
                items.push(Item::Plain(c))
            }
            other => {
                return Err(InvalidValue::new(
                    CPE_FIELD,
                    format!(
                        "CPE {attr} value {} contains {other:?}, which must be escaped with a backslash; letters, digits, _, - and . are allowed as is",
                        shown(value)
                    ),
                    format!(
                        "CPE の {attr} の値 {} に含まれる {other:?} はバックスラッシュでエスケープする必要があります。英数字、_、-、. はそのまま使用できます",
                        shown(value)
                    ),
                ))
            }
        }
    }
    // Wildcards: only a leading and a trailing run, each either `*` or one or more `?`.
    let is_wild = |item: &Item| matches!(item, Item::Wild(_));
    let lead = items.iter().take_while(|i| is_wild(i)).count();
    let trail = if lead == items.len() { 0 } else { items.iter().rev().take_while(|i| is_wild(i)).count() };
    let run_ok = |run: &[Item]| {
        run.is_empty() || matches!(run, [Item::Wild('*')]) || run.iter().all(|i| matches!(i, Item::Wild('?')))
    };
    let middle = &items[lead..items.len() - trail];
    if middle.iter().any(is_wild) || !run_ok(&items[..lead]) || !run_ok(&items[items.len() - trail..]) {
        return Err(InvalidValue::new(
            CPE_FIELD,
            format!(
                "CPE {attr} value {} misplaces a wildcard; * (once) or a run of ? may appear only at the start or end of a value; escape a literal * or ? as \\* or \\?",
                shown(value)
            ),
            format!(
                "CPE の {attr} の値 {} のワイルドカードの位置が不正です。* (1 個)または ? の並びは値の先頭か末尾にのみ置けます。文字としての * や ? は \\* や \\? とエスケープしてください",
                shown(value)
            ),
        ));
    }
    let lone_hyphen = matches!(items.as_slice(), [Item::Escaped('-')]);
    let mut out = String::with_capacity(value.len());
    for item in &items {
        match *item {
            Item::Plain(c) | Item::Wild(c) => out.push(c),
            Item::Escaped(c) if matches!(c, '.' | '_' | '-') && !lone_hyphen => out.push(c),
            Item::Escaped(c) => {
                out.push('\\');
                out.push(c);
            }
        }
    }
    Ok(out)
}

/// Whether a canonical value contains an unescaped `*` or `?`.
fn has_wildcard(value: &str) -> bool {
    tokens(value).iter().any(|t| !matches!(t, Tok::Lit(_)))
}

/// The matching tokens of a canonical value (`*` alone is ANY; `-` alone is itself).
fn tokens(value: &str) -> Vec<Tok> {
    let mut out = Vec::with_capacity(value.len());
    let mut chars = value.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                if let Some(e) = chars.next() {
                    out.push(Tok::Lit(e));
                }
            }
            '*' => out.push(Tok::AnySeq),
            '?' => out.push(Tok::AnyOne),
            other => out.push(Tok::Lit(other)),
        }
    }
    out
}

/// Literal characters of a caller's plain name: trimmed, lowercased, `\x` read as `x`.
fn plain_chars(raw: &str) -> Option<Vec<char>> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return None;
    }
    let mut out = Vec::with_capacity(trimmed.len());
    let mut chars = trimmed.chars();
    while let Some(c) = chars.next() {
        let c = if c == '\\' { chars.next()? } else { c };
        out.push(c.to_ascii_lowercase());
    }
    Some(out)
}

/// Match `text` against `pattern` (`*` any sequence, `?` exactly one character).
fn glob_match(pattern: &[Tok], text: &[char]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Tok::AnySeq) => {
                star = Some((p, t));
                p += 1;
            }
            Some(Tok::AnyOne) => {
                p += 1;
                t += 1;
            }
            Some(Tok::Lit(c)) if *c == text[t] => {
                p += 1;
                t += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|tok| *tok == Tok::AnySeq)
}

// ---------------------------------------------------------------------------
// Version ranges
// ---------------------------------------------------------------------------

/// Longest version string accepted in a range bound.
const VERSION_MAX_LEN: usize = 128;

/// An affected product as in NVD configurations: a CPE name, optionally with a
/// version range (then the CPE's version must be `*`).
///
/// Deserializing does not check the range; call [`AffectedProduct::validate`].
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AffectedProduct {
    pub cpe: Cpe23,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_start_including: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_start_excluding: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_end_including: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version_end_excluding: Option<String>,
}

impl AffectedProduct {
    /// An affected product without a version range.
    pub fn new(cpe: Cpe23) -> Self {
        Self {
            cpe,
            version_start_including: None,
            version_start_excluding: None,
            version_end_including: None,
            version_end_excluding: None,
        }
    }

    fn start(&self) -> Option<(&str, bool)> {
        match (&self.version_start_including, &self.version_start_excluding) {
            (Some(v), _) => Some((v, true)),
            (None, Some(v)) => Some((v, false)),
            (None, None) => None,
        }
    }

    fn end(&self) -> Option<(&str, bool)> {
        match (&self.version_end_including, &self.version_end_excluding) {
            (Some(v), _) => Some((v, true)),
            (None, Some(v)) => Some((v, false)),
            (None, None) => None,
        }
    }

    fn has_range(&self) -> bool {
        self.start().is_some() || self.end().is_some()
    }

    /// Check the version range: at most one bound per end, bounds that are version
    /// strings (non-empty, no whitespace, not `*` or `-`), the CPE's version `*` when a
    /// range is given, and a start not after the end (and not equal to it when either
    /// bound is exclusive, which would cover nothing).
    pub fn validate(&self) -> Result<(), InvalidValue> {
        if self.version_start_including.is_some() && self.version_start_excluding.is_some() {
            return Err(InvalidValue::new(
                "version_start_including",
                "version_start_including and version_start_excluding are both set; give only one start bound",
                "version_start_including と version_start_excluding が両方指定されています。開始側の境界はどちらか一方のみ指定してください",
            ));
        }
        if self.version_end_including.is_some() && self.version_end_excluding.is_some() {
            return Err(InvalidValue::new(
                "version_end_including",
                "version_end_including and version_end_excluding are both set; give only one end bound",
                "version_end_including と version_end_excluding が両方指定されています。終了側の境界はどちらか一方のみ指定してください",
            ));
        }
        let bounds: [(&'static str, &Option<String>); 4] = [
            ("version_start_including", &self.version_start_including),
            ("version_start_excluding", &self.version_start_excluding),
            ("version_end_including", &self.version_end_including),
            ("version_end_excluding", &self.version_end_excluding),
        ];
        for (field, bound) in bounds {
            if let Some(v) = bound {
                check_version_bound(field, v)?;
            }
        }
        if self.has_range() && self.cpe.version != "*" {
            return Err(InvalidValue::new(
                "version_range",
                format!(
                    "a version range is given but the CPE already names version {}; use * as the CPE version with a range",
                    shown(&self.cpe.version)
                ),
                format!(
                    "バージョン範囲が指定されていますが、CPE にバージョン {} が含まれています。範囲を指定する場合は CPE のバージョンを * にしてください",
                    shown(&self.cpe.version)
                ),
            ));
        }
        if let (Some((start, start_inc)), Some((end, end_inc))) = (self.start(), self.end()) {
            match compare_versions(start, end) {
                Ordering::Greater => {
                    return Err(InvalidValue::new(
                        "version_range",
                        format!(
                            "the version range starts at {} after it ends at {}",
                            shown(start),
                            shown(end)
                        ),
                        format!(
                            "バージョン範囲の開始 {} が終了 {} より後になっています",
                            shown(start),
                            shown(end)
                        ),
                    ))
                }
                Ordering::Equal if !(start_inc && end_inc) => {
                    return Err(InvalidValue::new(
                        "version_range",
                        format!(
                            "the version range from {} to {} is empty because a bound is exclusive; use including bounds for a single version",
                            shown(start),
                            shown(end)
                        ),
                        format!(
                            "バージョン範囲 {} から {} は境界が除外指定のため空です。単一バージョンの場合は including の境界を使用してください",
                            shown(start),
                            shown(end)
                        ),
                    ))
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Whether `version` (of this CPE's product) is affected.
    ///
    /// Every bound that is set must hold (by [`compare_versions`]). Without a range,
    /// a CPE version `*` covers any version, `-` (not applicable) covers only `-`, a
    /// version with wildcards covers what it matches and a concrete version covers the
    /// versions comparing equal to it (`1.0` covers `1.0.0`). An empty `version`
    /// is never covered.
    pub fn covers(&self, version: &str) -> bool {
        let version = version.trim();
        if version.is_empty() {
            return false;
        }
        let cpe_version_ok = match self.cpe.version.as_str() {
            "*" => true,
            "-" => version == "-",
            pinned if has_wildcard(pinned) => {
                let text: Vec<char> = version.chars().map(|c| c.to_ascii_lowercase()).collect();
                glob_match(&tokens(pinned), &text)
            }
            pinned => {
                let literal: String = tokens(pinned)
                    .into_iter()
                    .filter_map(|t| match t {
                        Tok::Lit(c) => Some(c),
                        _ => None,
                    })
                    .collect();
                compare_versions(version, &literal) == Ordering::Equal
            }
        };
        if !cpe_version_ok {
            return false;
        }
        let holds = |bound: &Option<String>, ok: fn(Ordering) -> bool| {
            bound.as_deref().is_none_or(|b| ok(compare_versions(version, b)))
        };
        holds(&self.version_start_including, |o| o != Ordering::Less)
            && holds(&self.version_start_excluding, |o| o == Ordering::Greater)
            && holds(&self.version_end_including, |o| o != Ordering::Greater)
            && holds(&self.version_end_excluding, |o| o == Ordering::Less)
    }
}

fn check_version_bound(field: &'static str, v: &str) -> Result<(), InvalidValue> {
    if v.is_empty() || v == "*" || v == "-" {
        return Err(InvalidValue::new(
            field,
            format!("{field} {} is not a version (e.g. 2.15.0)", shown(v)),
            format!("{field} の {} はバージョンではありません(例: 2.15.0)", shown(v)),
        ));
    }
    if v.len() > VERSION_MAX_LEN || v.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err(InvalidValue::new(
            field,
            format!(
                "{field} {} must be at most {VERSION_MAX_LEN} characters without spaces or control characters",
                shown(v)
            ),
            format!("{field} の {} は空白や制御文字を含まない {VERSION_MAX_LEN} 文字以内で指定してください", shown(v)),
        ));
    }
    Ok(())
}

/// One run of a version segment: digits (leading zeros stripped) or other text.
#[derive(Debug, PartialEq, Eq)]
enum Run<'a> {
    Num(&'a str),
    Text(String),
}

impl Ord for Run<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Run::Num(a), Run::Num(b)) => a.len().cmp(&b.len()).then_with(|| a.cmp(b)),
            (Run::Text(a), Run::Text(b)) => a.cmp(b),
            (Run::Num(_), Run::Text(_)) => Ordering::Less,
            (Run::Text(_), Run::Num(_)) => Ordering::Greater,
        }
    }
}

impl PartialOrd for Run<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The comparison key of a segment; an empty segment counts as `0`.
fn segment_key(segment: &str) -> Vec<Run<'_>> {
    let mut runs = Vec::new();
    let mut rest = segment;
    while let Some(first) = rest.chars().next() {
        let digits = first.is_ascii_digit();
        let len = rest.find(|c: char| c.is_ascii_digit() != digits).unwrap_or(rest.len());
        let (run, tail) = rest.split_at(len);
        runs.push(if digits { Run::Num(run.trim_start_matches('0')) } else { Run::Text(run.to_ascii_lowercase()) });
        rest = tail;
    }
    if runs.is_empty() {
        runs.push(Run::Num(""));
    }
    runs
}

fn version_key(version: &str) -> Vec<Vec<Run<'_>>> {
    let mut key: Vec<Vec<Run<'_>>> = version.trim().split('.').map(segment_key).collect();
    while key.last().is_some_and(|seg| seg.as_slice() == [Run::Num("")]) {
        key.pop();
    }
    key
}

/// Compare two version strings segment by segment (segments separated by `.`).
///
/// Numeric segments compare numerically (`10` > `9`, `01` = `1`); other segments
/// compare as runs of digits (numerically) and other text (lexically, ASCII
/// case-insensitive). Missing or empty trailing segments count as `0`, so `2.15`
/// equals `2.15.0`; a longer version with a further non-zero segment is greater.
pub fn compare_versions(a: &str, b: &str) -> Ordering {
    version_key(a).cmp(&version_key(b))
}

// ---------------------------------------------------------------------------
// CVSS
// ---------------------------------------------------------------------------

const CVSS_FIELD: &str = "cvss_vector";
/// Longest CVSS vector accepted (a full 4.0 vector is about 250 characters).
const CVSS_MAX_LEN: usize = 512;

/// The CVSS version of a vector.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CvssVersion {
    #[serde(rename = "3.0")]
    V3_0,
    #[serde(rename = "3.1")]
    V3_1,
    #[serde(rename = "4.0")]
    V4_0,
}

impl CvssVersion {
    /// `3.0`, `3.1` or `4.0`.
    pub fn as_str(self) -> &'static str {
        match self {
            CvssVersion::V3_0 => "3.0",
            CvssVersion::V3_1 => "3.1",
            CvssVersion::V4_0 => "4.0",
        }
    }

    fn metrics(self) -> &'static [MetricDef] {
        match self {
            CvssVersion::V3_0 | CvssVersion::V3_1 => V3_METRICS,
            CvssVersion::V4_0 => V4_METRICS,
        }
    }
}

impl fmt::Display for CvssVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A validated CVSS vector.
///
/// `vector` is canonical: the `CVSS:x.y` prefix followed by the given metrics in the
/// specification's order. `base_score` is the CVSS 3.x base score, `None` for 4.0.
/// Serializes as the vector string; deserializing parses it and recomputes the score.
#[derive(Clone, Debug, PartialEq)]
pub struct CvssVector {
    pub version: CvssVersion,
    pub vector: String,
    pub base_score: Option<f64>,
}

impl fmt::Display for CvssVector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.vector)
    }
}

impl FromStr for CvssVector {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        parse_cvss(s)
    }
}

impl Serialize for CvssVector {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.vector)
    }
}

impl<'de> Deserialize<'de> for CvssVector {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = String::deserialize(deserializer)?;
        parse_cvss(&raw).map_err(serde::de::Error::custom)
    }
}

struct MetricDef {
    key: &'static str,
    values: &'static [&'static str],
    required: bool,
}

const fn base(key: &'static str, values: &'static [&'static str]) -> MetricDef {
    MetricDef { key, values, required: true }
}

const fn optional(key: &'static str, values: &'static [&'static str]) -> MetricDef {
    MetricDef { key, values, required: false }
}

/// CVSS 3.0 / 3.1 metrics in specification order (Table 15 of the 3.1 specification).
const V3_METRICS: &[MetricDef] = &[
    base("AV", &["N", "A", "L", "P"]),
    base("AC", &["L", "H"]),
    base("PR", &["N", "L", "H"]),
    base("UI", &["N", "R"]),
    base("S", &["U", "C"]),
    base("C", &["H", "L", "N"]),
    base("I", &["H", "L", "N"]),
    base("A", &["H", "L", "N"]),
    optional("E", &["X", "H", "F", "P", "U"]),
    optional("RL", &["X", "U", "W", "T", "O"]),
    optional("RC", &["X", "C", "R", "U"]),
    optional("CR", &["X", "H", "M", "L"]),
    optional("IR", &["X", "H", "M", "L"]),
    optional("AR", &["X", "H", "M", "L"]),
    optional("MAV", &["X", "N", "A", "L", "P"]),
    optional("MAC", &["X", "L", "H"]),
    optional("MPR", &["X", "N", "L", "H"]),
    optional("MUI", &["X", "N", "R"]),
    optional("MS", &["X", "U", "C"]),
    optional("MC", &["X", "H", "L", "N"]),
    optional("MI", &["X", "H", "L", "N"]),
    optional("MA", &["X", "H", "L", "N"]),
];

/// CVSS 4.0 metrics in specification order (section 7 of the 4.0 specification).
const V4_METRICS: &[MetricDef] = &[
    base("AV", &["N", "A", "L", "P"]),
    base("AC", &["L", "H"]),
    base("AT", &["N", "P"]),
    base("PR", &["N", "L", "H"]),
    base("UI", &["N", "P", "A"]),
    base("VC", &["H", "L", "N"]),
    base("VI", &["H", "L", "N"]),
    base("VA", &["H", "L", "N"]),
    base("SC", &["H", "L", "N"]),
    base("SI", &["H", "L", "N"]),
    base("SA", &["H", "L", "N"]),
    optional("E", &["X", "A", "P", "U"]),
    optional("CR", &["X", "H", "M", "L"]),
    optional("IR", &["X", "H", "M", "L"]),
    optional("AR", &["X", "H", "M", "L"]),
    optional("MAV", &["X", "N", "A", "L", "P"]),
    optional("MAC", &["X", "L", "H"]),
    optional("MAT", &["X", "N", "P"]),
    optional("MPR", &["X", "N", "L", "H"]),
    optional("MUI", &["X", "N", "P", "A"]),
    optional("MVC", &["X", "H", "L", "N"]),
    optional("MVI", &["X", "H", "L", "N"]),
    optional("MVA", &["X", "H", "L", "N"]),
    optional("MSC", &["X", "H", "L", "N"]),
    optional("MSI", &["X", "S", "H", "L", "N"]),
    optional("MSA", &["X", "S", "H", "L", "N"]),
    optional("S", &["X", "N", "P"]),
    optional("AU", &["X", "N", "Y"]),
    optional("R", &["X", "A", "U", "I"]),
    optional("V", &["X", "D", "C"]),
    optional("RE", &["X", "L", "M", "H"]),
    optional("U", &["X", "Clear", "Green", "Amber", "Red"]),
];

/// Parse and validate a CVSS 3.0, 3.1 or 4.0 vector string.
///
/// All base metrics must be present (8 for 3.x, 11 for 4.0), each metric at most once
/// and with a value defined for it (case-sensitive, as in the specifications); the
/// temporal/threat, environmental and supplemental metrics are optional. Metrics may
/// come in any order; the returned vector lists them in specification order. For 3.x
/// the base score is computed as in the FIRST specification (3.1: Roundup of Appendix
/// A; 3.0: ceiling to one decimal).
pub fn parse_cvss(raw: &str) -> Result<CvssVector, InvalidValue> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(InvalidValue::new(
            CVSS_FIELD,
            "CVSS vector is empty; expected e.g. CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS ベクトルが空です。CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H のような形式で入力してください",
        ));
    }
    if trimmed.len() > CVSS_MAX_LEN {
        return Err(InvalidValue::new(
            CVSS_FIELD,
            format!("CVSS vector is longer than {CVSS_MAX_LEN} characters"),
            format!("CVSS ベクトルが {CVSS_MAX_LEN} 文字を超えています"),
        ));
    }
    let (prefix, rest) = trimmed.split_once('/').unwrap_or((trimmed, ""));
    let version = match prefix {
        "CVSS:3.0" => CvssVersion::V3_0,
        "CVSS:3.1" => CvssVersion::V3_1,
        "CVSS:4.0" => CvssVersion::V4_0,
        _ => {
            return Err(InvalidValue::new(
                CVSS_FIELD,
                format!(
                    "CVSS vector {} must start with CVSS:3.0/, CVSS:3.1/ or CVSS:4.0/ (CVSS v2 vectors are not accepted)",
                    shown(trimmed)
                ),
                format!(
                    "CVSS ベクトル {} は CVSS:3.0/、CVSS:3.1/、CVSS:4.0/ のいずれかで始まる必要があります(CVSS v2 のベクトルは使用できません)",
                    shown(trimmed)
                ),
            ))
        }
    };
    let defs = version.metrics();
    let mut chosen: Vec<Option<&'static str>> = vec![None; defs.len()];
    for component in rest.split('/') {
        let Some((key, value)) = component.split_once(':') else {
            return Err(InvalidValue::new(
                CVSS_FIELD,
                format!(
                    "CVSS vector component {} is not METRIC:VALUE (e.g. AV:N); check for a missing metric or a stray /",
                    shown(component)
                ),
                format!(
                    "CVSS ベクトルの要素 {} が「メトリック:値」(例: AV:N)の形式ではありません。メトリックの欠落や余分な / がないか確認してください",
                    shown(component)
                ),
            ));
        };
        let Some(index) = defs.iter().position(|d| d.key == key) else {
            return Err(InvalidValue::new(
                CVSS_FIELD,
                format!("CVSS {} vector has unknown metric {}", version.as_str(), shown(key)),
                format!("CVSS {} のベクトルに未定義のメトリック {} があります", version.as_str(), shown(key)),
            ));
        };
        let def = &defs[index];
        let Some(allowed) = def.values.iter().copied().find(|v| *v == value) else {
            let expected = def.values.join(", ");
            return Err(InvalidValue::new(
                CVSS_FIELD,
                format!("CVSS metric {key} has invalid value {}; expected one of {expected}", shown(value)),
                format!(
                    "CVSS メトリック {key} の値 {} は不正です。{expected} のいずれかを指定してください",
                    shown(value)
                ),
            ));
        };
        if chosen[index].is_some() {
            return Err(InvalidValue::new(
                CVSS_FIELD,
                format!("CVSS metric {key} appears more than once"),
                format!("CVSS メトリック {key} が複数回指定されています"),
            ));
        }
        chosen[index] = Some(allowed);
    }
    let missing: Vec<&str> =
        defs.iter().zip(&chosen).filter(|(d, v)| d.required && v.is_none()).map(|(d, _)| d.key).collect();
    if !missing.is_empty() {
        let missing = missing.join(", ");
        return Err(InvalidValue::new(
            CVSS_FIELD,
            format!("CVSS {} vector lacks base metric(s) {missing}; all base metrics are required", version.as_str()),
            format!(
                "CVSS {} のベクトルに基本メトリック {missing} がありません。基本メトリックはすべて必須です",
                version.as_str()
            ),
        ));
    }
    let mut vector = format!("CVSS:{}", version.as_str());
    for (def, value) in defs.iter().zip(&chosen) {
        if let Some(value) = value {
            vector.push('/');
            vector.push_str(def.key);
            vector.push(':');
            vector.push_str(value);
        }
    }
    let base_score = match version {
        CvssVersion::V3_0 | CvssVersion::V3_1 => {
            let value =
                |key: &str| defs.iter().zip(&chosen).find(|(d, _)| d.key == key).and_then(|(_, v)| *v).unwrap_or("");
            v3_base_score(
                version,
                [value("AV"), value("AC"), value("PR"), value("UI"), value("S"), value("C"), value("I"), value("A")],
            )
        }
        CvssVersion::V4_0 => None,
    };
    Ok(CvssVector { version, vector, base_score })
}

/// The CVSS 3.x base score from the values of AV, AC, PR, UI, S, C, I, A
/// (section 7.1 of the 3.1 specification; 3.0 differs only in rounding).
fn v3_base_score(version: CvssVersion, [av, ac, pr, ui, s, c, i, a]: [&str; 8]) -> Option<f64> {
    let changed = match s {
        "U" => false,
        "C" => true,
        _ => return None,
    };
    let av = match av {
        "N" => 0.85,
        "A" => 0.62,
        "L" => 0.55,
        "P" => 0.2,
        _ => return None,
    };
    let ac = match ac {
        "L" => 0.77,
        "H" => 0.44,
        _ => return None,
    };
    let pr = match (pr, changed) {
        ("N", _) => 0.85,
        ("L", false) => 0.62,
        ("L", true) => 0.68,
        ("H", false) => 0.27,
        ("H", true) => 0.5,
        _ => return None,
    };
    let ui = match ui {
        "N" => 0.85,
        "R" => 0.62,
        _ => return None,
    };
    let cia = |v: &str| match v {
        "H" => Some(0.56),
        "L" => Some(0.22),
        "N" => Some(0.0),
        _ => None,
    };
    let (c, i, a) = (cia(c)?, cia(i)?, cia(a)?);

    let iss = 1.0 - ((1.0 - c) * (1.0 - i) * (1.0 - a));
    let impact = if changed { 7.52 * (iss - 0.029) - 3.25 * (iss - 0.02_f64).powf(15.0) } else { 6.42 * iss };
    let exploitability = 8.22 * av * ac * pr * ui;
    if impact <= 0.0 {
        return Some(0.0);
    }
    let raw = if changed { (1.08 * (impact + exploitability)).min(10.0) } else { (impact + exploitability).min(10.0) };
    Some(match version {
        CvssVersion::V3_0 => (raw * 10.0).ceil() / 10.0,
        _ => roundup_v31(raw),
    })
}

/// Roundup of CVSS 3.1 Appendix A: the smallest number, to one decimal place, equal
/// to or higher than the input, robust to floating-point error.
fn roundup_v31(input: f64) -> f64 {
    let int_input = (input * 100_000.0).round() as i64;
    if int_input % 10_000 == 0 {
        int_input as f64 / 100_000.0
    } else {
        ((int_input / 10_000) + 1) as f64 / 10.0
    }
}

// ---------------------------------------------------------------------------
// Exploitation status
// ---------------------------------------------------------------------------

/// What is known about exploitation of a vulnerability.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default)]
#[serde(rename_all = "snake_case")]
pub enum ExploitationStatus {
    /// Nothing has been assessed.
    #[default]
    Unknown,
    /// Assessed: no exploitation or public exploit is known.
    NotKnown,
    /// A proof of concept is public.
    PocPublic,
    /// Exploited in the wild (e.g. listed in CISA KEV).
    KnownExploited,
}

impl ExploitationStatus {
    /// All statuses, from least to most severe.
    pub const ALL: [ExploitationStatus; 4] = [
        ExploitationStatus::Unknown,
        ExploitationStatus::NotKnown,
        ExploitationStatus::PocPublic,
        ExploitationStatus::KnownExploited,
    ];

    /// The snake_case name, as serialized.
    pub fn as_str(self) -> &'static str {
        match self {
            ExploitationStatus::Unknown => "unknown",
            ExploitationStatus::NotKnown => "not_known",
            ExploitationStatus::PocPublic => "poc_public",
            ExploitationStatus::KnownExploited => "known_exploited",
        }
    }

    /// Parse the snake_case name; surrounding whitespace and letter case are ignored
    /// and `-` or a space may stand for `_` (`Known-Exploited` is `known_exploited`).
    pub fn parse(raw: &str) -> Result<ExploitationStatus, InvalidValue> {
        let normalized: String = raw
            .trim()
            .chars()
            .map(|c| match c {
                '-' | ' ' => '_',
                other => other.to_ascii_lowercase(),
            })
            .collect();
        Self::ALL
            .into_iter()
            .find(|s| s.as_str() == normalized)
            .ok_or_else(|| {
                InvalidValue::new(
                    "exploitation_status",
                    format!(
                        "exploitation status {} is invalid; expected one of unknown, not_known, poc_public, known_exploited",
                        shown(raw.trim())
                    ),
                    format!(
                        "悪用状況 {} は不正です。unknown、not_known、poc_public、known_exploited のいずれかを指定してください",
                        shown(raw.trim())
                    ),
                )
            })
    }
}

impl fmt::Display for ExploitationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExploitationStatus {
    type Err = InvalidValue;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ExploitationStatus::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_bilingual(err: &InvalidValue, field: &str, input: &str) {
        assert_eq!(err.field, field, "input {input:?}: {err:?}");
        assert!(!err.reason.is_empty(), "input {input:?}");
        assert!(!err.reason_ja.is_ascii(), "input {input:?}: Japanese reason {:?}", err.reason_ja);
        assert_eq!(err.to_string(), err.reason);
    }

    // --- CVE ---------------------------------------------------------------

    #[test]
    fn valid_cve_ids_are_uppercased() {
        let cases = [
            ("CVE-2021-44228", "CVE-2021-44228"),
            ("cve-2021-44228", "CVE-2021-44228"),
            ("  Cve-2014-0160\n", "CVE-2014-0160"),
            ("CVE-1999-0001", "CVE-1999-0001"),
            ("CVE-2021-0001", "CVE-2021-0001"),
            ("CVE-2021-0000", "CVE-2021-0000"),
            ("CVE-2023-1234567", "CVE-2023-1234567"),
            ("CVE-2026-10000", "CVE-2026-10000"),
            ("CVE-2027-0001", "CVE-2027-0001"),
            ("CVE-2020-1234567890123456789", "CVE-2020-1234567890123456789"),
        ];
        for (raw, want) in cases {
            assert_eq!(validate_cve_id_for_year(raw, 2026).as_deref(), Ok(want), "input {raw:?}");
        }
    }

    #[test]
    fn invalid_cve_ids_are_rejected() {
        let cases = [
            "",
            "   ",
            "CVE",
            "CVE-",
            "CVE-2021",
            "CVE-2021-",
            "CVE--44228",
            "CVE-2021-123",
            "CVE-2021-12a4",
            "CVE-2021-00001",
            "CVE-2021-012345",
            "CVE-1998-0001",
            "CVE-0000-0001",
            "CVE-2028-0001",
            "CVE-9999-0001",
            "CVE-21-44228",
            "CVE-20211-44228",
            "CVE_2021_44228",
            "CVE 2021 44228",
            "CVE-2021-44228-1",
            "CVE-2021-44228 x",
            "CVE-2021 -44228",
            "CVE-2021-+4228",
            "XCVE-2021-44228",
            "CAN-2001-0001",
            "GHSA-jfh8-c2jp-5v3q",
            "JVNDB-2021-000001",
            "2021-44228",
            "CVE-２０２１-44228",
            "CVE-2021-12345678901234567890",
        ];
        for raw in cases {
            let err = validate_cve_id_for_year(raw, 2026).expect_err(raw);
            assert_bilingual(&err, "cve_id", raw);
        }
    }

    #[test]
    fn cve_errors_explain_the_problem() {
        let err = validate_cve_id_for_year("CVE-2028-0001", 2026).expect_err("future");
        assert!(err.reason.contains("1999 and 2027"), "{}", err.reason);
        assert!(err.reason_ja.contains("1999 から 2027"), "{}", err.reason_ja);
        let err = validate_cve_id_for_year("CVE-2021-00001", 2026).expect_err("zero");
        assert!(err.reason.contains("leading") || err.reason.contains("start with 0"));
        let err = validate_cve_id_for_year("CVE-2021-12345678901234567890", 2026).expect_err("too long");
        assert!(err.reason.contains("more than 19 digits"), "{}", err.reason);
        let err = validate_cve_id_for_year("CVE-21-1", 2026).expect_err("form");
        assert!(err.reason.contains("CVE-YYYY-NNNN"), "{}", err.reason);
        assert!(err.reason_ja.contains("CVE-YYYY-NNNN"), "{}", err.reason_ja);
    }

    #[test]
    fn cve_year_bound_follows_the_clock() {
        let year = chrono::Utc::now().year();
        let next = format!("CVE-{}-0001", year + 1);
        let after = format!("CVE-{}-0001", year + 2);
        assert_eq!(validate_cve_id(&next), Ok(next.clone()));
        assert!(validate_cve_id(&after).is_err());
        assert_eq!(validate_cve_id("cve-2021-44228").as_deref(), Ok("CVE-2021-44228"));
    }

    // --- CPE ---------------------------------------------------------------

    fn cpe(raw: &str) -> Cpe23 {
        Cpe23::parse(raw).unwrap_or_else(|e| panic!("{raw:?}: {e}"))
    }

    #[test]
    fn valid_cpe_names_are_canonicalized() {
        let cases = [
            ("cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*", "cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*"),
            (
                "CPE:2.3:A:Microsoft:Internet_Explorer:8.0.6001:Beta:*:*:*:*:*:*",
                "cpe:2.3:a:microsoft:internet_explorer:8.0.6001:beta:*:*:*:*:*:*",
            ),
            (
                "  cpe:2.3:o:siemens:simatic_s7-1500_firmware:-:*:*:*:*:*:*:*\n",
                "cpe:2.3:o:siemens:simatic_s7-1500_firmware:-:*:*:*:*:*:*:*",
            ),
            (
                "cpe:2.3:h:schneider-electric:modicon_m580:-:*:*:*:*:*:*:*",
                "cpe:2.3:h:schneider-electric:modicon_m580:-:*:*:*:*:*:*:*",
            ),
            ("cpe:2.3:a:foo\\:bar:baz:1.0:*:*:*:*:*:*:*", "cpe:2.3:a:foo\\:bar:baz:1.0:*:*:*:*:*:*:*"),
            (
                "cpe:2.3:a:node\\.js:node\\.js:1\\.0\\-rc\\_1:*:*:*:*:*:*:*",
                "cpe:2.3:a:node.js:node.js:1.0-rc_1:*:*:*:*:*:*:*",
            ),
            ("cpe:2.3:a:at\\&t:connect\\!:\\-:*:*:*:*:*:*:*", "cpe:2.3:a:at\\&t:connect\\!:\\-:*:*:*:*:*:*:*"),
            ("cpe:2.3:o:microsoft:windows_*:10:*:*:*:*:*:x64:*", "cpe:2.3:o:microsoft:windows_*:10:*:*:*:*:*:x64:*"),
            ("cpe:2.3:a:vendor:product:1.?:sp??:*x*:*:*:*:*:\\*", "cpe:2.3:a:vendor:product:1.?:sp??:*x*:*:*:*:*:\\*"),
            ("cpe:2.3:a:vendor:product:??1:*:-:en:*:*:*:a\\\\b", "cpe:2.3:a:vendor:product:??1:*:-:en:*:*:*:a\\\\b"),
            (
                "cpe:2.3:a:hitachi_energy:microscada_x_sys600:10.2.1:-:*:*:*:*:*:*",
                "cpe:2.3:a:hitachi_energy:microscada_x_sys600:10.2.1:-:*:*:*:*:*:*",
            ),
        ];
        for (raw, want) in cases {
            assert_eq!(cpe(raw).to_string(), want, "input {raw:?}");
            // Canonical output parses to itself.
            assert_eq!(cpe(want).to_string(), want, "reparse {want:?}");
        }
    }

    #[test]
    fn cpe_fields_are_split_in_order() {
        let parsed = cpe("cpe:2.3:a:Vendor\\:X:prod:1.2:u3:ed:ja:swed:tsw:thw:oth");
        assert_eq!(
            parsed,
            Cpe23 {
                part: 'a',
                vendor: "vendor\\:x".into(),
                product: "prod".into(),
                version: "1.2".into(),
                update: "u3".into(),
                edition: "ed".into(),
                language: "ja".into(),
                sw_edition: "swed".into(),
                target_sw: "tsw".into(),
                target_hw: "thw".into(),
                other: "oth".into(),
            }
        );
        assert_eq!(
            "cpe:2.3:h:abb:ac500:-:*:*:*:*:*:*:*".parse::<Cpe23>(),
            Ok(cpe("cpe:2.3:h:abb:ac500:-:*:*:*:*:*:*:*"))
        );
    }

    #[test]
    fn invalid_cpe_names_are_rejected() {
        let cases = [
            "",
            "   ",
            "cpe:/a:apache:log4j:2.14.1",
            "cpe:2.2:a:apache:log4j:2.14.1:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:log4j:2.14.1",
            "cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*",
            "cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:",
            "cpe:2.3::apache:log4j:2.14.1:*:*:*:*:*:*:*",
            "cpe:2.3:x:apache:log4j:2.14.1:*:*:*:*:*:*:*",
            "cpe:2.3:*:apache:log4j:2.14.1:*:*:*:*:*:*:*",
            "cpe:2.3:ao:apache:log4j:2.14.1:*:*:*:*:*:*:*",
            "cpe:2.3:a:*:log4j:2.14.1:*:*:*:*:*:*:*",
            "cpe:2.3:a:-:log4j:2.14.1:*:*:*:*:*:*:*",
            "cpe:2.3:a:apa*:log4j:2.14.1:*:*:*:*:*:*:*",
            "cpe:2.3:a:?pache:log4j:2.14.1:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:*:2.14.1:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:-:2.14.1:*:*:*:*:*:*:*",
            "cpe:2.3:a::log4j:2.14.1:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:log4j::*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:log 4j:2.14.1:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*\u{0}",
            "cpe:2.3:a:apache:lög4j:2.14.1:*:*:*:*:*:*:*",
            "cpe:2.3:a:at&t:connect:1.0:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:log4j:2.14.1+build:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:a/b",
            "cpe:2.3:a:apache:log4j:2.*.1:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:log4j:2.?.1:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:log4j:**:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:log4j:*?:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:log4j:?*1:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:log4j:1**:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:log4j:1\\a:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:log4j:1\\1:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:x\\",
            "cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*\\",
            "cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:\\",
            "cpe:2.3:a:apache\\:log4j:2.14.1:*:*:*:*:*:*:*",
            "cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*:",
            "apache:log4j:2.14.1",
            "cpe:2.3",
        ];
        for raw in cases {
            let err = Cpe23::parse(raw).expect_err(raw);
            assert_bilingual(&err, "cpe", raw);
        }
        let long = format!("cpe:2.3:a:v:{}:*:*:*:*:*:*:*:*", "p".repeat(2000));
        assert!(Cpe23::parse(&long).is_err());
    }

    #[test]
    fn cpe_errors_explain_the_problem() {
        let err = Cpe23::parse("cpe:2.3:a:apache:log4j").expect_err("short");
        assert!(err.reason.contains("has 5"), "{}", err.reason);
        assert!(err.reason.contains("exactly 13"), "{}", err.reason);
        let err = Cpe23::parse("cpe:2.3:a:*:log4j:*:*:*:*:*:*:*:*").expect_err("vendor");
        assert!(err.reason.contains("vendor"), "{}", err.reason);
        let err = Cpe23::parse("cpe:2.3:q:a:b:*:*:*:*:*:*:*:*").expect_err("part");
        assert!(err.reason.contains("a (application)"), "{}", err.reason);
        let err = Cpe23::parse("cpe:/a:apache:log4j").expect_err("2.2");
        assert!(err.reason.contains("cpe:2.3:"), "{}", err.reason);
    }

    #[test]
    fn cpe_serializes_as_its_string() {
        let parsed = cpe("cpe:2.3:a:Apache:Log4j:2.14.1:*:*:*:*:*:*:*");
        let json = serde_json::to_string(&parsed).expect("serialize");
        assert_eq!(json, r#""cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*""#);
        let back: Cpe23 = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, parsed);
        for bad in [r#""cpe:2.3:a:*:log4j:*:*:*:*:*:*:*:*""#, r#""cpe:/a:apache""#, "42", "null", r#"{"part":"a"}"#] {
            assert!(serde_json::from_str::<Cpe23>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cpe_product_matching() {
        let log4j = cpe("cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*");
        let nodejs = cpe("cpe:2.3:a:nodejs:node.js:*:*:*:*:*:*:*:*");
        let att = cpe("cpe:2.3:a:at\\&t:connect\\!:*:*:*:*:*:*:*:*");
        let windows = cpe("cpe:2.3:o:microsoft:windows_*:*:*:*:*:*:*:*:*");
        let sp = cpe("cpe:2.3:a:acme:scada?:*:*:*:*:*:*:*:*");
        let cases = [
            (&log4j, "apache", "log4j", true),
            (&log4j, " Apache ", "LOG4J", true),
            (&log4j, "apache", "log4j2", false),
            (&log4j, "apache", "log4", false),
            (&log4j, "apache2", "log4j", false),
            (&log4j, "apache", "", false),
            (&log4j, "", "log4j", false),
            (&log4j, "apache", "*", false),
            (&nodejs, "nodejs", "node.js", true),
            (&nodejs, "nodejs", "node\\.js", true),
            (&nodejs, "nodejs", "nodexjs", false),
            (&att, "at&t", "connect!", true),
            (&att, "at\\&t", "connect\\!", true),
            (&att, "att", "connect", false),
            (&windows, "microsoft", "windows_10", true),
            (&windows, "microsoft", "windows_", true),
            (&windows, "microsoft", "windows_server_2019", true),
            (&windows, "microsoft", "windows", false),
            (&windows, "microsoft", "office", false),
            (&sp, "acme", "scada1", true),
            (&sp, "acme", "scada", false),
            (&sp, "acme", "scada12", false),
        ];
        for (name, vendor, product, want) in cases {
            assert_eq!(name.matches_product(vendor, product), want, "{name} vs {vendor:?} {product:?}");
        }
    }

    #[test]
    fn glob_matching() {
        let cases = [
            ("abc", "abc", true),
            ("abc", "abd", false),
            ("*", "", true),
            ("*", "anything", true),
            ("a*", "a", true),
            ("a*", "ab", true),
            ("*c", "abc", true),
            ("*c", "abd", false),
            ("*b*", "abc", true),
            ("*b*", "ac", false),
            ("??c", "abc", true),
            ("??c", "bc", false),
            ("a??", "abc", true),
            ("a??", "abcd", false),
            ("a\\*", "a*", true),
            ("a\\*", "ab", false),
        ];
        for (pattern, text, want) in cases {
            let text: Vec<char> = text.chars().collect();
            assert_eq!(glob_match(&tokens(pattern), &text), want, "{pattern:?} vs {text:?}");
        }
    }

    // --- versions ----------------------------------------------------------

    #[test]
    fn version_comparison() {
        use Ordering::{Equal, Greater, Less};
        let cases = [
            ("1.0", "1.0", Equal),
            ("1.0", "1.0.0", Equal),
            ("1", "1.0.0.0", Equal),
            ("2.15", "2.15.0", Equal),
            ("01.2", "1.02", Equal),
            ("1.", "1", Equal),
            ("1..2", "1.0.2", Equal),
            (" 1.2 ", "1.2", Equal),
            ("1.2", "1.10", Less),
            ("1.9", "1.10", Less),
            ("2.14.1", "2.15.0", Less),
            ("2.15.0", "2.14.1", Greater),
            ("10.0", "9.9.9", Greater),
            ("1.0.1", "1.0", Greater),
            ("1.0", "1.0.1", Less),
            ("1.0.a", "1.0", Greater),
            ("1.a", "1.b", Less),
            ("1.B", "1.a", Greater),
            ("1.RC1", "1.rc1", Equal),
            ("1.rc2", "1.rc10", Less),
            ("1.10a", "1.9a", Greater),
            ("1.0a", "1.0", Greater),
            ("1.0-rc1", "1.0", Greater),
            ("1.a", "1.1", Greater),
            ("18446744073709551616", "18446744073709551615", Greater),
            ("99999999999999999999999.1", "99999999999999999999999.0", Greater),
            ("", "", Equal),
            ("", "0", Equal),
            ("", "1", Less),
            ("v2", "v10", Less),
        ];
        for (a, b, want) in cases {
            assert_eq!(compare_versions(a, b), want, "{a:?} vs {b:?}");
            assert_eq!(compare_versions(b, a), want.reverse(), "{b:?} vs {a:?}");
        }
    }

    #[test]
    fn version_comparison_is_transitive_on_samples() {
        let samples = [
            "", "0", "1", "1.", "1.0", "1.0.0", "1.0.1", "1.0a", "1.0.a", "1.a", "1.b", "1.1", "1.10", "1.9", "2",
            "2.0-rc1", "10", "a", "1-beta", "1.0.0.1",
        ];
        for a in samples {
            for b in samples {
                for c in samples {
                    let ab = compare_versions(a, b);
                    let bc = compare_versions(b, c);
                    if ab == bc || bc == Ordering::Equal {
                        assert_eq!(compare_versions(a, c), ab, "{a:?} {b:?} {c:?}");
                    } else if ab == Ordering::Equal {
                        assert_eq!(compare_versions(a, c), bc, "{a:?} {b:?} {c:?}");
                    }
                }
            }
        }
    }

    fn range(
        cpe_str: &str,
        start_inc: Option<&str>,
        start_exc: Option<&str>,
        end_inc: Option<&str>,
        end_exc: Option<&str>,
    ) -> AffectedProduct {
        AffectedProduct {
            cpe: cpe(cpe_str),
            version_start_including: start_inc.map(str::to_owned),
            version_start_excluding: start_exc.map(str::to_owned),
            version_end_including: end_inc.map(str::to_owned),
            version_end_excluding: end_exc.map(str::to_owned),
        }
    }

    const LOG4J_ANY: &str = "cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*";

    #[test]
    fn valid_ranges() {
        let cases = [
            range(LOG4J_ANY, None, None, None, None),
            range(LOG4J_ANY, Some("2.0"), None, None, Some("2.15.0")),
            range(LOG4J_ANY, None, Some("2.0"), Some("2.14.1"), None),
            range(LOG4J_ANY, Some("2.0"), None, Some("2.0"), None),
            range(LOG4J_ANY, Some("2.0"), None, None, None),
            range(LOG4J_ANY, None, None, None, Some("1.0")),
            range(LOG4J_ANY, Some("2.0-beta9"), None, None, Some("2.3.1")),
            range("cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*", None, None, None, None),
            range("cpe:2.3:o:siemens:simatic_s7-1500_firmware:-:*:*:*:*:*:*:*", None, None, None, None),
        ];
        for product in cases {
            assert_eq!(product.validate(), Ok(()), "{product:?}");
        }
    }

    #[test]
    fn invalid_ranges() {
        let cases = [
            (range(LOG4J_ANY, Some("1.0"), Some("1.0"), None, None), "version_start_including"),
            (range(LOG4J_ANY, None, None, Some("2.0"), Some("2.1")), "version_end_including"),
            (range(LOG4J_ANY, Some("2.15.0"), None, None, Some("2.0")), "version_range"),
            (range(LOG4J_ANY, None, Some("3"), Some("2.9"), None), "version_range"),
            (range(LOG4J_ANY, Some("2.0"), None, None, Some("2.0.0")), "version_range"),
            (range(LOG4J_ANY, None, Some("2.0"), Some("2.0"), None), "version_range"),
            (range(LOG4J_ANY, None, Some("2.0"), None, Some("2.0")), "version_range"),
            (range(LOG4J_ANY, Some(""), None, None, None), "version_start_including"),
            (range(LOG4J_ANY, None, Some("*"), None, None), "version_start_excluding"),
            (range(LOG4J_ANY, None, None, Some("-"), None), "version_end_including"),
            (range(LOG4J_ANY, None, None, None, Some("2.15 .0")), "version_end_excluding"),
            (range(LOG4J_ANY, None, None, None, Some("2.15\n")), "version_end_excluding"),
            (range(LOG4J_ANY, None, None, None, Some(&"9".repeat(129))), "version_end_excluding"),
            (range("cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*", None, None, None, Some("2.15.0")), "version_range"),
            (range("cpe:2.3:a:apache:log4j:-:*:*:*:*:*:*:*", Some("1.0"), None, None, None), "version_range"),
        ];
        for (product, field) in cases {
            let err = product.validate().expect_err(field);
            assert_bilingual(&err, field, &format!("{product:?}"));
        }
    }

    #[test]
    fn range_coverage() {
        let log4shell = range(LOG4J_ANY, Some("2.0-beta9"), None, None, Some("2.15.0"));
        let upto = range(LOG4J_ANY, None, Some("1.0"), Some("1.2.17"), None);
        let any = range(LOG4J_ANY, None, None, None, None);
        let pinned = range("cpe:2.3:a:apache:log4j:2.14.1:*:*:*:*:*:*:*", None, None, None, None);
        let pinned_wild = range("cpe:2.3:a:apache:log4j:2.14.?:*:*:*:*:*:*:*", None, None, None, None);
        let na = range("cpe:2.3:h:siemens:simatic_s7-1500:-:*:*:*:*:*:*:*", None, None, None, None);
        let cases = [
            (&log4shell, "2.14.1", true),
            (&log4shell, "2.0-beta9", true),
            (&log4shell, "2.0", false),
            (&log4shell, "2.1", true),
            (&log4shell, "2.15.0", false),
            (&log4shell, "2.15", false),
            (&log4shell, "2.16.0", false),
            (&log4shell, "1.2.17", false),
            (&log4shell, " 2.14.1 ", true),
            (&log4shell, "", false),
            (&upto, "1.0", false),
            (&upto, "1.0.1", true),
            (&upto, "1.2.17", true),
            (&upto, "1.2.17.0", true),
            (&upto, "1.2.18", false),
            (&upto, "0.9", false),
            (&any, "0.0.1", true),
            (&any, "99", true),
            (&any, "  ", false),
            (&pinned, "2.14.1", true),
            (&pinned, "2.14.1.0", true),
            (&pinned, "2.14.2", false),
            (&pinned_wild, "2.14.9", true),
            (&pinned_wild, "2.14.10", false),
            (&pinned_wild, "2.15.1", false),
            (&na, "-", true),
            (&na, "1.0", false),
        ];
        for (product, version, want) in cases {
            assert_eq!(product.covers(version), want, "{} covers {version:?}", product.cpe);
        }
    }

    #[test]
    fn affected_product_serde() {
        let product = range(LOG4J_ANY, Some("2.0-beta9"), None, None, Some("2.15.0"));
        let json = serde_json::to_string(&product).expect("serialize");
        assert_eq!(
            json,
            r#"{"cpe":"cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*","version_start_including":"2.0-beta9","version_end_excluding":"2.15.0"}"#
        );
        let back: AffectedProduct = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, product);
        let bare: AffectedProduct =
            serde_json::from_str(r#"{"cpe":"cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*"}"#).expect("bare");
        assert_eq!(bare, AffectedProduct::new(cpe(LOG4J_ANY)));
        for bad in [
            r#"{"cpe":"cpe:2.3:a:*:log4j:*:*:*:*:*:*:*:*"}"#,
            r#"{"cpe":"cpe:2.3:a:apache:log4j:*:*:*:*:*:*:*:*","versionEndExcluding":"2"}"#,
            r#"{"version_end_excluding":"2"}"#,
        ] {
            assert!(serde_json::from_str::<AffectedProduct>(bad).is_err(), "{bad}");
        }
    }

    // --- CVSS --------------------------------------------------------------

    #[test]
    fn cvss3_base_scores() {
        let cases = [
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:N/I:N/A:N", 0.0),
            ("CVSS:3.1/AV:P/AC:H/PR:H/UI:R/S:U/C:N/I:N/A:N", 0.0),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H", 10.0),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 8.8),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H", 7.5),
            ("CVSS:3.1/AV:N/AC:H/PR:N/UI:N/S:C/C:H/I:H/A:H", 9.0),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N", 5.3),
            ("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:L/A:N", 6.5),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:R/S:C/C:L/I:L/A:N", 5.4),
            ("CVSS:3.1/AV:N/AC:L/PR:L/UI:N/S:C/C:L/I:L/A:N", 6.4),
            ("CVSS:3.1/AV:P/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 6.8),
            ("CVSS:3.1/AV:A/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 8.8),
            ("CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H", 7.2),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:U/C:N/I:N/A:H", 5.5),
            ("CVSS:3.1/AV:L/AC:L/PR:L/UI:N/S:C/C:H/I:H/A:H", 8.8),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H", 9.8),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:R/S:C/C:L/I:L/A:N", 6.1),
            ("CVSS:3.0/AV:L/AC:L/PR:L/UI:N/S:U/C:H/I:H/A:H", 7.8),
            ("CVSS:3.0/AV:N/AC:H/PR:N/UI:N/S:U/C:H/I:N/A:N", 5.9),
            ("CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:N", 0.0),
            // Temporal and environmental metrics do not change the base score.
            (
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:U/RL:O/RC:U/CR:L/IR:L/AR:L/MAV:P/MAC:H/MPR:H/MUI:R/MS:C/MC:N/MI:N/MA:N",
                9.8,
            ),
        ];
        for (raw, want) in cases {
            let parsed = parse_cvss(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(parsed.base_score, Some(want), "{raw}");
            assert_eq!(parsed.vector, raw);
        }
    }

    #[test]
    fn every_cvss3_base_vector_scores_within_range() {
        let mut count = 0;
        for version in ["3.0", "3.1"] {
            for av in ["N", "A", "L", "P"] {
                for ac in ["L", "H"] {
                    for pr in ["N", "L", "H"] {
                        for ui in ["N", "R"] {
                            for s in ["U", "C"] {
                                for c in ["H", "L", "N"] {
                                    for i in ["H", "L", "N"] {
                                        for a in ["H", "L", "N"] {
                                            let raw = format!(
                                                "CVSS:{version}/AV:{av}/AC:{ac}/PR:{pr}/UI:{ui}/S:{s}/C:{c}/I:{i}/A:{a}"
                                            );
                                            let score =
                                                parse_cvss(&raw).expect("valid").base_score.expect("3.x has a score");
                                            assert!((0.0..=10.0).contains(&score), "{raw}");
                                            // One decimal place exactly.
                                            let tenths = score * 10.0;
                                            assert_eq!(tenths, tenths.round(), "{raw}");
                                            let no_impact = c == "N" && i == "N" && a == "N";
                                            assert_eq!(score == 0.0, no_impact, "{raw}");
                                            count += 1;
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        assert_eq!(count, 2 * 2592);
    }

    #[test]
    fn roundup_per_cvss31_appendix_a() {
        let cases = [
            (4.02, 4.1),
            (4.0, 4.0),
            (4.000_000_000_000_001, 4.0),
            (4.000_01, 4.1),
            (0.0, 0.0),
            (9.81, 9.9),
            (10.0, 10.0),
            (2.000_004_999_9, 2.0),
        ];
        for (input, want) in cases {
            assert_eq!(roundup_v31(input), want, "Roundup({input})");
        }
        // The 3.0 ceiling is sensitive to floating-point error; 3.1 Roundup is not.
        assert_eq!((4.000_000_000_000_001_f64 * 10.0).ceil() / 10.0, 4.1);
    }

    #[test]
    fn cvss_vectors_are_canonicalized() {
        let cases = [
            (
                "  CVSS:3.1/S:U/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H  ",
                "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
                CvssVersion::V3_1,
                Some(9.8),
            ),
            (
                "CVSS:3.0/MA:X/A:H/I:H/C:H/S:U/UI:N/PR:N/AC:L/AV:N/E:P",
                "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:P/MA:X",
                CvssVersion::V3_0,
                Some(9.8),
            ),
            (
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
                CvssVersion::V4_0,
                None,
            ),
            (
                "CVSS:4.0/SA:N/SI:N/SC:N/VA:H/VI:H/VC:H/UI:N/PR:N/AT:N/AC:L/AV:N/E:A",
                "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:A",
                CvssVersion::V4_0,
                None,
            ),
            (
                "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:L/VA:L/SC:H/SI:H/SA:H/E:U/CR:H/IR:M/AR:L/MAV:A/MAC:H/MAT:P/MPR:L/MUI:P/MVC:N/MVI:L/MVA:H/MSC:X/MSI:S/MSA:S/S:P/AU:Y/R:I/V:C/RE:H/U:Amber",
                "CVSS:4.0/AV:P/AC:H/AT:P/PR:H/UI:A/VC:L/VI:L/VA:L/SC:H/SI:H/SA:H/E:U/CR:H/IR:M/AR:L/MAV:A/MAC:H/MAT:P/MPR:L/MUI:P/MVC:N/MVI:L/MVA:H/MSC:X/MSI:S/MSA:S/S:P/AU:Y/R:I/V:C/RE:H/U:Amber",
                CvssVersion::V4_0,
                None,
            ),
            (
                "CVSS:4.0/AV:A/AC:L/AT:N/PR:L/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:L/U:Clear",
                "CVSS:4.0/AV:A/AC:L/AT:N/PR:L/UI:P/VC:N/VI:N/VA:N/SC:L/SI:L/SA:L/U:Clear",
                CvssVersion::V4_0,
                None,
            ),
        ];
        for (raw, vector, version, score) in cases {
            let parsed = parse_cvss(raw).unwrap_or_else(|e| panic!("{raw}: {e}"));
            assert_eq!(parsed, CvssVector { version, vector: vector.to_owned(), base_score: score }, "{raw}");
            assert_eq!(parse_cvss(vector), Ok(parsed.clone()), "reparse {vector}");
            assert_eq!(parsed.to_string(), vector);
        }
    }

    #[test]
    fn invalid_cvss_vectors_are_rejected() {
        let cases = [
            "",
            "   ",
            "CVSS:3.1",
            "CVSS:3.1/",
            "AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "AV:N/AC:L/Au:N/C:P/I:P/A:P",
            "CVSS:2.0/AV:N/AC:L/Au:N/C:P/I:P/A:P",
            "CVSS:3.2/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "cvss:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/av:n/ac:l/pr:n/ui:n/s:u/c:h/i:h/a:h",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/",
            "CVSS:3.1//AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:H",
            "CVSS:3.1/AV:N/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:X/E:X",
            "CVSS:3.1/AV:X/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AC:M/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:P/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:X/C:H/I:H/A:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:P/I:H/A:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:A",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/RL:Z",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/MSI:S",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/AT:N",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/XX:N",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/E:",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/:H",
            "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H:H",
            "CVSS:3.1/AV:N /AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV:NN/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1/AV=N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:3.1 AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N",
            "CVSS:4.0/AV:N/AC:L/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "CVSS:4.0/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:R/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:S/SA:N",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/E:F",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/U:red",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/U:R",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/MSC:S",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/RL:O",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/AU:N/AU:Y",
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N/SA:N",
        ];
        for raw in cases {
            let err = parse_cvss(raw).expect_err(raw);
            assert_bilingual(&err, "cvss_vector", raw);
        }
        let long = format!("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H{}", "/E:X".repeat(200));
        assert!(parse_cvss(&long).is_err());
    }

    #[test]
    fn cvss_errors_explain_the_problem() {
        let err = parse_cvss("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H").expect_err("missing");
        assert!(err.reason.contains("I, A"), "{}", err.reason);
        assert!(err.reason_ja.contains("I, A"), "{}", err.reason_ja);
        let err = parse_cvss("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H/A:L").expect_err("duplicate");
        assert!(err.reason.contains("more than once"), "{}", err.reason);
        let err = parse_cvss("CVSS:3.1/AV:Q/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").expect_err("bad value");
        assert!(err.reason.contains("N, A, L, P"), "{}", err.reason);
        let err = parse_cvss("AV:N/AC:L/Au:N/C:P/I:P/A:P").expect_err("v2");
        assert!(err.reason.contains("CVSS:3.1/"), "{}", err.reason);
    }

    #[test]
    fn cvss_serde() {
        let parsed = parse_cvss("CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H").expect("valid");
        let json = serde_json::to_string(&parsed).expect("serialize");
        assert_eq!(json, r#""CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H""#);
        let back: CvssVector = serde_json::from_str(&json).expect("deserialize");
        assert_eq!(back, parsed);
        assert!(serde_json::from_str::<CvssVector>(r#""CVSS:3.1/AV:N""#).is_err());
        assert_eq!(serde_json::to_string(&CvssVersion::V4_0).expect("version"), r#""4.0""#);
        assert_eq!(serde_json::from_str::<CvssVersion>(r#""3.0""#).expect("version"), CvssVersion::V3_0);
        assert_eq!(
            "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N".parse::<CvssVector>().map(|v| v.version),
            Ok(CvssVersion::V4_0)
        );
    }

    // --- exploitation status -----------------------------------------------

    #[test]
    fn exploitation_status_names() {
        let cases = [
            (ExploitationStatus::Unknown, "unknown"),
            (ExploitationStatus::NotKnown, "not_known"),
            (ExploitationStatus::PocPublic, "poc_public"),
            (ExploitationStatus::KnownExploited, "known_exploited"),
        ];
        for (status, name) in cases {
            assert_eq!(status.as_str(), name);
            assert_eq!(status.to_string(), name);
            assert_eq!(ExploitationStatus::parse(name), Ok(status));
            assert_eq!(serde_json::to_string(&status).expect("serialize"), format!("\"{name}\""));
            assert_eq!(
                serde_json::from_str::<ExploitationStatus>(&format!("\"{name}\"")).expect("deserialize"),
                status
            );
        }
        assert_eq!(ExploitationStatus::default(), ExploitationStatus::Unknown);
    }

    #[test]
    fn exploitation_status_parsing() {
        let valid = [
            (" Known_Exploited ", ExploitationStatus::KnownExploited),
            ("known-exploited", ExploitationStatus::KnownExploited),
            ("POC PUBLIC", ExploitationStatus::PocPublic),
            ("not_known", ExploitationStatus::NotKnown),
        ];
        for (raw, want) in valid {
            assert_eq!(ExploitationStatus::parse(raw), Ok(want), "{raw:?}");
            assert_eq!(raw.parse::<ExploitationStatus>(), Ok(want), "{raw:?}");
        }
        let invalid =
            ["", "  ", "exploited", "knownexploited", "known__exploited", "poc", "KnownExploited", "unknown!", "0"];
        for raw in invalid {
            let err = ExploitationStatus::parse(raw).expect_err(raw);
            assert_bilingual(&err, "exploitation_status", raw);
            assert!(err.reason.contains("known_exploited"), "{}", err.reason);
        }
        for bad in [r#""KnownExploited""#, r#""known-exploited""#, "1"] {
            assert!(serde_json::from_str::<ExploitationStatus>(bad).is_err(), "{bad}");
        }
    }
}
