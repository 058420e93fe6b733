//! Indicators of compromise (IOCs): their types, strict normalisation and STIX patterns.
//!
//! Every value shared through the hub goes through [`normalize`] so that two CSIRTs
//! submitting the same indicator in different spellings (upper-case hex, defanged
//! domains, uncompressed IPv6, ...) end up with byte-identical stored values.
//!
//! Common rules for every type: surrounding whitespace is trimmed; empty values,
//! values over [`MAX_INPUT_BYTES`] and values containing control characters are
//! rejected. Network types (IP, CIDR, domain, URL, e-mail) additionally reject inner
//! whitespace and are "refanged" first (`[.]`, `(.)` → `.`, `[:]` → `:`, `[@]` → `@`,
//! and for URLs a leading `hxxp://` / `hxxps://` → `http://` / `https://`). Hashes and
//! file names are never refanged: `[.]` is a legitimate part of a file name.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};

/// Upper bound on the trimmed input of any type, checked before any parsing.
pub const MAX_INPUT_BYTES: usize = 8192;
/// Longest accepted normalised URL.
pub const MAX_URL_LEN: usize = 2048;
/// Longest accepted normalised (ASCII) domain name, without the trailing dot.
pub const MAX_DOMAIN_LEN: usize = 253;
/// Longest accepted DNS label.
pub const MAX_LABEL_LEN: usize = 63;
/// Longest accepted e-mail local part (RFC 5321).
pub const MAX_EMAIL_LOCAL_LEN: usize = 64;
/// Longest accepted file name, in bytes.
pub const MAX_FILENAME_BYTES: usize = 255;

/// The kinds of indicator the hub knows. The declaration order is the order of
/// [`IndicatorType::ALL`] and of [`normalize_any`]'s result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IndicatorType {
    Ipv4,
    Ipv6,
    Cidr,
    Domain,
    Url,
    Email,
    Md5,
    Sha1,
    Sha256,
    Filename,
}

impl IndicatorType {
    /// Every type, in declaration order.
    pub const ALL: [IndicatorType; 10] = [
        IndicatorType::Ipv4,
        IndicatorType::Ipv6,
        IndicatorType::Cidr,
        IndicatorType::Domain,
        IndicatorType::Url,
        IndicatorType::Email,
        IndicatorType::Md5,
        IndicatorType::Sha1,
        IndicatorType::Sha256,
        IndicatorType::Filename,
    ];

    /// The lowercase wire name (same as the serde form).
    pub fn as_str(self) -> &'static str {
        match self {
            IndicatorType::Ipv4 => "ipv4",
            IndicatorType::Ipv6 => "ipv6",
            IndicatorType::Cidr => "cidr",
            IndicatorType::Domain => "domain",
            IndicatorType::Url => "url",
            IndicatorType::Email => "email",
            IndicatorType::Md5 => "md5",
            IndicatorType::Sha1 => "sha1",
            IndicatorType::Sha256 => "sha256",
            IndicatorType::Filename => "filename",
        }
    }

    /// Parses an [`as_str`](Self::as_str) form, ignoring ASCII case. No aliases and no
    /// trimming.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str().eq_ignore_ascii_case(s))
    }

    /// Human names used in error reasons (English, Japanese).
    fn label(self) -> (&'static str, &'static str) {
        match self {
            IndicatorType::Ipv4 => ("IPv4 address", "IPv4アドレス"),
            IndicatorType::Ipv6 => ("IPv6 address", "IPv6アドレス"),
            IndicatorType::Cidr => ("CIDR block", "CIDRブロック"),
            IndicatorType::Domain => ("domain name", "ドメイン名"),
            IndicatorType::Url => ("URL", "URL"),
            IndicatorType::Email => ("email address", "メールアドレス"),
            IndicatorType::Md5 => ("MD5 hash", "MD5ハッシュ"),
            IndicatorType::Sha1 => ("SHA-1 hash", "SHA-1ハッシュ"),
            IndicatorType::Sha256 => ("SHA-256 hash", "SHA-256ハッシュ"),
            IndicatorType::Filename => ("file name", "ファイル名"),
        }
    }
}

impl fmt::Display for IndicatorType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a value was rejected, in English and Japanese. Both read
/// "not a valid <type>: <detail>" / "<type>として不正です：<detail>".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct InvalidIndicator {
    pub reason: String,
    pub reason_ja: String,
}

/// The type-independent part of a rejection; [`Detail::for_kind`] adds the type name.
#[derive(Debug)]
struct Detail {
    en: String,
    ja: String,
}

fn detail(en: impl Into<String>, ja: impl Into<String>) -> Detail {
    Detail { en: en.into(), ja: ja.into() }
}

impl Detail {
    fn for_kind(self, kind: IndicatorType) -> InvalidIndicator {
        let (en, ja) = kind.label();
        InvalidIndicator {
            reason: format!("not a valid {en}: {}", self.en),
            reason_ja: format!("{ja}として不正です：{}", self.ja),
        }
    }

    fn prefixed(self, en: &str, ja: &str) -> Detail {
        detail(format!("{en}{}", self.en), format!("{ja}{}", self.ja))
    }
}

/// A short, printable excerpt of user input for error messages.
fn snippet(s: &str) -> String {
    const MAX: usize = 40;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// Validates and canonicalises `raw` as an indicator of type `kind`.
pub fn normalize(kind: IndicatorType, raw: &str) -> Result<String, InvalidIndicator> {
    normalize_detail(kind, raw).map_err(|d| d.for_kind(kind))
}

/// Every type under which `raw` is valid, with its normalised form, in
/// [`IndicatorType::ALL`] order. Never panics.
pub fn normalize_any(raw: &str) -> Vec<(IndicatorType, String)> {
    let v = raw.trim();
    // What every type refuses is checked once here rather than once per type.
    if precheck(v).is_err() {
        return Vec::new();
    }
    let shape = Shape::of(v);
    // Most values are valid under two types (e.g. a hash is also a file name).
    let mut valid = Vec::with_capacity(2);
    for kind in IndicatorType::ALL {
        if shape.plausible(kind) {
            if let Ok(normalized) = normalize_checked(kind, v) {
                valid.push((kind, normalized));
            }
        }
    }
    valid
}

/// What one pass over a value tells about the types it could be, so that
/// [`normalize_any`] neither scans a value once per type nor builds rejection
/// messages for types that cannot match (lookups try every value under every type).
struct Shape {
    len: usize,
    all_hex: bool,
    /// Only digits, dots and the defanged dots `[.]` and `(.)`.
    ipv4_bytes: bool,
    dot: bool,
    colon: bool,
    slash: bool,
    double_slash: bool,
    at: bool,
}

/// Byte classes for [`Shape::of`], one bit each.
const HEX: u8 = 1;
const IPV4_BYTE: u8 = 2;
const DOT: u8 = 4;
const COLON: u8 = 8;
const SLASH: u8 = 16;
const AT: u8 = 32;

/// The classes of every byte value: a table lookup per byte instead of a `match`,
/// whose jump on random hex digits mispredicts (this loop runs once per looked-up value).
const BYTE_CLASS: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut b = 0usize;
    while b < 256 {
        let c = b as u8;
        let mut class = 0;
        if c.is_ascii_hexdigit() {
            class |= HEX;
        }
        if c.is_ascii_digit() || matches!(c, b'.' | b'[' | b']' | b'(' | b')') {
            class |= IPV4_BYTE;
        }
        match c {
            b'.' => class |= DOT,
            b':' => class |= COLON,
            b'/' => class |= SLASH,
            b'@' => class |= AT,
            _ => {}
        }
        table[b] = class;
        b += 1;
    }
    table
};

impl Shape {
    fn of(v: &str) -> Shape {
        let (mut every, mut some) = (u8::MAX, 0u8);
        for b in v.bytes() {
            let class = BYTE_CLASS[usize::from(b)];
            every &= class;
            some |= class;
        }
        let slash = some & SLASH != 0;
        let mut shape = Shape {
            len: v.len(),
            all_hex: every & HEX != 0,
            ipv4_bytes: every & IPV4_BYTE != 0,
            dot: some & DOT != 0,
            colon: some & COLON != 0,
            slash,
            double_slash: slash && v.contains("//"),
            at: some & AT != 0,
        };
        // IDNA maps the ideographic and full-width full stops to '.'.
        if !shape.dot && !v.is_ascii() {
            shape.dot = v.contains(['\u{3002}', '\u{FF0E}', '\u{FF61}']);
        }
        shape
    }

    /// A necessary condition for the value to be valid as `kind` (defanged forms included).
    fn plausible(&self, kind: IndicatorType) -> bool {
        match kind {
            IndicatorType::Md5 => self.all_hex && self.len == 32,
            IndicatorType::Sha1 => self.all_hex && self.len == 40,
            IndicatorType::Sha256 => self.all_hex && self.len == 64,
            IndicatorType::Ipv4 => self.dot && self.ipv4_bytes,
            // Only digits, dots and defanged dots can only make an all-digit last label
            // (or a bracket), which no domain name has: skip the failing attempt.
            IndicatorType::Domain => self.dot && !self.ipv4_bytes,
            IndicatorType::Ipv6 => self.colon,
            IndicatorType::Cidr => self.slash,
            IndicatorType::Url => self.double_slash,
            IndicatorType::Email => self.at,
            IndicatorType::Filename => true,
        }
    }
}

fn normalize_detail(kind: IndicatorType, raw: &str) -> Result<String, Detail> {
    let v = raw.trim();
    precheck(v)?;
    normalize_checked(kind, v)
}

/// What every type refuses: an empty or over-long value, or a control character.
fn precheck(v: &str) -> Result<(), Detail> {
    if v.is_empty() {
        return Err(detail("the value is empty", "値が空です"));
    }
    if v.len() > MAX_INPUT_BYTES {
        return Err(detail(
            format!("the value is too long ({} bytes, at most {MAX_INPUT_BYTES})", v.len()),
            format!("値が長すぎます（{}バイト、上限は{MAX_INPUT_BYTES}バイト）", v.len()),
        ));
    }
    if let Some(c) = first_char_where(v, |b| b.is_ascii_control(), char::is_control) {
        let code = format!("U+{:04X}", u32::from(c));
        return Err(detail(
            format!("it contains a control character ({code})"),
            format!("制御文字（{code}）が含まれています"),
        ));
    }
    Ok(())
}

/// Normalises a trimmed value that passed [`precheck`].
fn normalize_checked(kind: IndicatorType, v: &str) -> Result<String, Detail> {
    match kind {
        IndicatorType::Md5 => return normalize_hash(v, 32),
        IndicatorType::Sha1 => return normalize_hash(v, 40),
        IndicatorType::Sha256 => return normalize_hash(v, 64),
        IndicatorType::Filename => return normalize_filename(v),
        _ => {}
    }
    if let Some(c) = first_char_where(v, |b| b.is_ascii_whitespace() || b == 0x0b, char::is_whitespace) {
        let code = format!("U+{:04X}", u32::from(c));
        return Err(detail(format!("it contains whitespace ({code})"), format!("空白文字（{code}）が含まれています")));
    }
    let v = refang(v);
    // Nested defanging ("[[.]]") is refanged once here, and its remainder again each
    // time the stored value is normalised: refuse it, so a stored value is final. (Every
    // marker holds '[' or '('; most values hold neither, and lookups normalise each value
    // several times, so the byte scan comes first.)
    if has_bracket(&v) && DEFANGED.iter().any(|(defanged, _)| v.contains(defanged)) {
        return Err(detail(
            "it is defanged more than once (nested brackets such as '[[.]]')",
            "二重にデファングされています（「[[.]]」のような入れ子の括弧）",
        ));
    }
    match kind {
        // A strict dotted quad (no leading zeros) is already its canonical text.
        IndicatorType::Ipv4 => parse_ipv4(&v).map(|_| v.into_owned()),
        IndicatorType::Ipv6 => parse_ipv6(&v, true).map(|a| a.to_string()),
        IndicatorType::Cidr => normalize_cidr(&v),
        IndicatorType::Domain => normalize_domain(&v),
        IndicatorType::Url => normalize_url(&v),
        IndicatorType::Email => normalize_email(&v),
        IndicatorType::Md5 | IndicatorType::Sha1 | IndicatorType::Sha256 | IndicatorType::Filename => {
            Err(detail("internal dispatch error", "内部エラー"))
        }
    }
}

/// The first character of `v` with a property: byte by byte when `v` is ASCII (every
/// value normalised for a lookup passes here several times), by `char` otherwise.
/// `ascii` must agree with `any` on ASCII characters.
fn first_char_where(v: &str, ascii: impl Fn(u8) -> bool, any: impl Fn(char) -> bool) -> Option<char> {
    if v.is_ascii() {
        v.bytes().find(|b| ascii(*b)).map(char::from)
    } else {
        v.chars().find(|c| any(*c))
    }
}

/// The defanged spellings [`refang`] undoes, with what each stands for.
const DEFANGED: [(&str, &str); 4] = [("[.]", "."), ("(.)", "."), ("[:]", ":"), ("[@]", "@")];

/// Whether a value holds '[' or '(', which every defanging marker does.
fn has_bracket(s: &str) -> bool {
    s.bytes().any(|b| b == b'[' || b == b'(')
}

/// Undoes the usual defanging of network indicators.
fn refang(s: &str) -> std::borrow::Cow<'_, str> {
    if !has_bracket(s) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = s.to_owned();
    for (defanged, real) in DEFANGED {
        out = out.replace(defanged, real);
    }
    std::borrow::Cow::Owned(out)
}

/// `hxxp://` / `hxxps://` (any ASCII case) at the start of a URL → `http://` / `https://`.
fn refang_scheme(s: &str) -> String {
    for (defanged, real) in [("hxxps://", "https://"), ("hxxp://", "http://")] {
        if let (Some(head), Some(tail)) = (s.get(..defanged.len()), s.get(defanged.len()..)) {
            if head.eq_ignore_ascii_case(defanged) {
                return format!("{real}{tail}");
            }
        }
    }
    s.to_owned()
}

/// Strict dotted-quad IPv4: exactly four decimal octets, no leading zeros.
fn parse_ipv4(s: &str) -> Result<Ipv4Addr, Detail> {
    let parts = s.split('.').count();
    if parts != 4 {
        return Err(detail(
            format!("expected four dot-separated decimal octets, found {parts} part(s)"),
            format!("ドットで区切られた4つの10進数が必要ですが、{parts}個の部分があります"),
        ));
    }
    let mut octets = [0u8; 4];
    for (slot, part) in octets.iter_mut().zip(s.split('.')) {
        if part.is_empty() {
            return Err(detail(
                "an octet is empty (consecutive, leading or trailing dot)",
                "空のオクテットがあります（ドットの連続、先頭または末尾のドット）",
            ));
        }
        if !part.bytes().all(|b| b.is_ascii_digit()) {
            let shown = snippet(part);
            return Err(detail(
                format!("octet '{shown}' is not a decimal number"),
                format!("オクテット「{shown}」は10進数ではありません"),
            ));
        }
        if part.len() > 1 && part.starts_with('0') {
            let shown = snippet(part);
            return Err(detail(
                format!("octet '{shown}' has a leading zero (ambiguous: may be read as octal)"),
                format!("オクテット「{shown}」の先頭にゼロがあります（8進数と解釈される恐れがあり曖昧です）"),
            ));
        }
        match part.parse::<u8>() {
            Ok(n) if part.len() <= 3 => *slot = n,
            _ => {
                let shown = snippet(part);
                return Err(detail(
                    format!("octet '{shown}' is greater than 255"),
                    format!("オクテット「{shown}」が255を超えています"),
                ));
            }
        }
    }
    Ok(Ipv4Addr::from(octets))
}

fn parse_ipv6(s: &str, allow_brackets: bool) -> Result<Ipv6Addr, Detail> {
    let inner = match (s.strip_prefix('['), s.ends_with(']')) {
        (Some(rest), true) if allow_brackets => rest.strip_suffix(']').unwrap_or(rest),
        (None, false) => s,
        (Some(_), true) => {
            return Err(detail("square brackets are not allowed here", "ここでは角括弧は使用できません"))
        }
        _ => return Err(detail("unbalanced square brackets", "角括弧の対応が取れていません")),
    };
    if inner.contains('%') {
        return Err(detail("a zone index ('%…') is not allowed", "ゾーンID（「%…」）は使用できません"));
    }
    if !inner.contains(':') {
        return Err(detail(
            "it contains no ':' (an IPv4 address or name is not an IPv6 address)",
            "「:」が含まれていません（IPv4アドレスや名前はIPv6アドレスではありません）",
        ));
    }
    inner.parse::<Ipv6Addr>().map_err(|_| {
        let shown = snippet(inner);
        detail(
            format!("'{shown}' is not eight colon-separated groups of up to four hex digits (with at most one '::')"),
            format!("「{shown}」はコロン区切りの最大4桁の16進数8グループ（「::」は1回まで）ではありません"),
        )
    })
}

fn normalize_cidr(s: &str) -> Result<String, Detail> {
    let Some((addr, len)) = s.split_once('/') else {
        return Err(detail(
            "missing '/prefix-length' (e.g. 192.0.2.0/24)",
            "「/プレフィックス長」がありません（例：192.0.2.0/24）",
        ));
    };
    if len.contains('/') {
        return Err(detail("more than one '/'", "「/」が複数含まれています"));
    }
    let shown = snippet(len);
    if len.is_empty() || !len.bytes().all(|b| b.is_ascii_digit()) {
        return Err(detail(
            format!("prefix length '{shown}' is not a decimal number"),
            format!("プレフィックス長「{shown}」は10進数ではありません"),
        ));
    }
    if len.len() > 1 && len.starts_with('0') {
        return Err(detail(
            format!("prefix length '{shown}' has a leading zero"),
            format!("プレフィックス長「{shown}」の先頭にゼロがあります"),
        ));
    }
    let prefix: u32 = if len.len() > 3 { u32::MAX } else { len.parse().unwrap_or(u32::MAX) };
    if addr.contains(':') {
        let a = parse_ipv6(addr, false).map_err(|d| d.prefixed("address: ", "アドレス部："))?;
        if prefix > 128 {
            return Err(detail(
                format!("prefix length {shown} is out of range for IPv6 (0-128)"),
                format!("プレフィックス長{shown}はIPv6の範囲（0〜128）外です"),
            ));
        }
        let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
        Ok(format!("{}/{prefix}", Ipv6Addr::from(u128::from(a) & mask)))
    } else {
        let a = parse_ipv4(addr).map_err(|d| d.prefixed("IPv4 address: ", "IPv4アドレス部："))?;
        if prefix > 32 {
            return Err(detail(
                format!("prefix length {shown} is out of range for IPv4 (0-32)"),
                format!("プレフィックス長{shown}はIPv4の範囲（0〜32）外です"),
            ));
        }
        let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
        Ok(format!("{}/{prefix}", Ipv4Addr::from(u32::from(a) & mask)))
    }
}

fn normalize_domain(s: &str) -> Result<String, Detail> {
    let s = s.strip_suffix('.').unwrap_or(s);
    if s.is_empty() {
        return Err(detail("the name is empty", "名前が空です"));
    }
    // ASCII characters are checked before IDNA so that the reason names the culprit.
    if let Some(c) = first_char_where(
        s,
        |b| !(b.is_ascii_alphanumeric() || b == b'-' || b == b'.'),
        |c| c.is_ascii() && !(c.is_ascii_alphanumeric() || c == '-' || c == '.'),
    ) {
        return Err(bad_domain_char(c));
    }
    // Lower-case ASCII without punycode labels is its own IDNA form (UTS 46 maps
    // those characters to themselves); only other names need the IDNA machinery.
    let already_ascii = s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && !s.contains("xn--");
    let ascii = if already_ascii { Ok(s.to_owned()) } else { idna::domain_to_ascii(s) };
    let ascii = ascii.map_err(|_| {
        detail(
            "the internationalised name cannot be converted to ASCII (IDNA)",
            "国際化ドメイン名をASCII（IDNA）に変換できません",
        )
    })?;
    if ascii.len() > MAX_DOMAIN_LEN {
        return Err(detail(
            format!("it is {} characters long, at most {MAX_DOMAIN_LEN} are allowed", ascii.len()),
            format!("{}文字あり、上限の{MAX_DOMAIN_LEN}文字を超えています", ascii.len()),
        ));
    }
    let mut labels = 0usize;
    let mut last = "";
    for label in ascii.split('.') {
        labels += 1;
        last = label;
        if label.is_empty() {
            return Err(detail(
                "it has an empty label (consecutive, leading or trailing dots)",
                "空のラベルがあります（ドットの連続、先頭または末尾のドット）",
            ));
        }
        if let Some(c) = first_char_where(
            label,
            |b| !(b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'),
            |c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
        ) {
            return Err(bad_domain_char(c));
        }
        if label.len() > MAX_LABEL_LEN {
            let shown = snippet(label);
            return Err(detail(
                format!("label '{shown}' is longer than {MAX_LABEL_LEN} characters"),
                format!("ラベル「{shown}」が{MAX_LABEL_LEN}文字を超えています"),
            ));
        }
        if label.starts_with('-') || label.ends_with('-') {
            let shown = snippet(label);
            return Err(detail(
                format!("label '{shown}' starts or ends with a hyphen"),
                format!("ラベル「{shown}」がハイフンで始まるか終わっています"),
            ));
        }
    }
    if labels < 2 {
        return Err(detail(
            "it needs at least two labels (e.g. example.com)",
            "少なくとも2つのラベルが必要です（例：example.com）",
        ));
    }
    if last.bytes().all(|b| b.is_ascii_digit()) {
        let shown = snippet(last);
        return Err(detail(
            format!("the top-level label '{shown}' is all digits (an IP address is not a domain name)"),
            format!("トップレベルのラベル「{shown}」が数字のみです（IPアドレスはドメイン名ではありません）"),
        ));
    }
    Ok(ascii)
}

fn bad_domain_char(c: char) -> Detail {
    detail(
        format!("it contains '{c}'; only letters, digits, hyphens and dots are allowed"),
        format!("「{c}」が含まれています。使用できるのは英数字、ハイフン、ドットのみです"),
    )
}

fn is_special_scheme(scheme: &str) -> bool {
    matches!(scheme, "http" | "https" | "ws" | "wss" | "ftp" | "file")
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        if b == b'%' {
            let hex = bytes.get(i + 1..i + 3)?;
            let hex = std::str::from_utf8(hex).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn normalize_url(s: &str) -> Result<String, Detail> {
    let out = normalize_url_once(s)?;
    // The url crate's serialisation is not always its own normal form: in a file: URL, a
    // path segment like `r|` that comes first only once `\\` is read as `/` is a Windows
    // drive letter only on the next parse ("file://a\\r|" gives "file://a/r|", which
    // url 2.5.8 then reads without a host). A stored value must normalise to itself: take
    // the next form when that one is stable, refuse the URL otherwise.
    match normalize_url_once(&out) {
        Ok(again) if again == out => return Ok(out),
        Ok(again) if normalize_url_once(&again).is_ok_and(|third| third == again) => return Ok(again),
        _ => {}
    }
    Err(detail(
        "it has no stable normal form (the URL changes each time it is read)",
        "正規形が定まりません（読み取るたびに URL が変わります）",
    ))
}

fn normalize_url_once(s: &str) -> Result<String, Detail> {
    let s = refang_scheme(s);
    let scheme_ok = s.find(':').is_some_and(|colon| {
        let scheme = &s[..colon];
        s[colon..].starts_with("://")
            && scheme.starts_with(|c: char| c.is_ascii_alphabetic())
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
    });
    if !scheme_ok {
        return Err(detail(
            "it must start with a scheme followed by '://' (e.g. http://)",
            "スキームと「://」で始まる必要があります（例：http://）",
        ));
    }
    let no_host = || detail("it has no host", "ホストがありません");
    let mut url = url::Url::parse(&s).map_err(|e| match e {
        url::ParseError::EmptyHost => no_host(),
        url::ParseError::InvalidPort => detail("the port number is invalid", "ポート番号が不正です"),
        url::ParseError::IdnaError => detail(
            "the host is not a valid host name (forbidden character or invalid internationalised name)",
            "ホストがホスト名として不正です（使用できない文字、または不正な国際化ドメイン名）",
        ),
        url::ParseError::InvalidDomainCharacter => detail(
            "the host contains a character not allowed in a host name",
            "ホストにホスト名として使用できない文字が含まれています",
        ),
        url::ParseError::InvalidIpv4Address => {
            detail("the host is not a valid IPv4 address", "ホストがIPv4アドレスとして不正です")
        }
        url::ParseError::InvalidIpv6Address => {
            detail("the host is not a valid IPv6 address", "ホストがIPv6アドレスとして不正です")
        }
        other => detail(format!("it cannot be parsed ({other})"), format!("解析できません（{other}）")),
    })?;
    let opaque_host = match url.host() {
        None => return Err(no_host()),
        Some(url::Host::Domain("")) => return Err(no_host()),
        Some(url::Host::Domain(h)) if !is_special_scheme(url.scheme()) => Some(h.to_owned()),
        Some(_) => None,
    };
    // The url crate lowercases and IDNA-encodes hosts only for special schemes
    // (http, https, ftp, ws, wss, file); do the same for e.g. ldap:// or tcp://.
    if let Some(host) = opaque_host {
        let bad_host = || detail("the host is not a valid host name", "ホストがホスト名として不正です");
        let decoded = percent_decode(&host).ok_or_else(bad_host)?;
        let ascii = idna::domain_to_ascii(&decoded).map_err(|_| bad_host())?;
        if ascii.is_empty() {
            return Err(no_host());
        }
        // A decoded '%' (from `%25`) would be stored as is and not decode the next time
        // the value is normalised: no host name has one.
        if ascii.contains('%') {
            return Err(bad_host());
        }
        if ascii != host {
            url.set_host(Some(&ascii)).map_err(|_| bad_host())?;
        }
    }
    let out = String::from(url);
    if out.len() > MAX_URL_LEN {
        return Err(detail(
            format!("it is {} characters long, at most {MAX_URL_LEN} are allowed", out.len()),
            format!("{}文字あり、上限の{MAX_URL_LEN}文字を超えています", out.len()),
        ));
    }
    Ok(out)
}

fn normalize_email(s: &str) -> Result<String, Detail> {
    let Some((local, domain)) = s.rsplit_once('@') else {
        return Err(detail("it has no '@'", "「@」がありません"));
    };
    if local.contains('@') {
        return Err(detail("it has more than one '@'", "「@」が複数含まれています"));
    }
    if local.is_empty() {
        return Err(detail("the local part before '@' is empty", "「@」の前のローカル部が空です"));
    }
    if local.len() > MAX_EMAIL_LOCAL_LEN {
        return Err(detail(
            format!("the local part is {} bytes long, at most {MAX_EMAIL_LOCAL_LEN} are allowed", local.len()),
            format!("ローカル部が{}バイトあり、上限の{MAX_EMAIL_LOCAL_LEN}バイトを超えています", local.len()),
        ));
    }
    if let Some(c) = local.chars().find(|c| "\"(),:;<>[\\]".contains(*c)) {
        return Err(detail(
            format!("the local part contains '{c}' (quoted local parts are not supported)"),
            format!("ローカル部に「{c}」が含まれています（引用符付きのローカル部には対応していません）"),
        ));
    }
    if domain.is_empty() {
        return Err(detail("the domain part after '@' is empty", "「@」の後のドメイン部が空です"));
    }
    let domain = normalize_domain(domain).map_err(|d| d.prefixed("domain part: ", "ドメイン部："))?;
    Ok(format!("{local}@{domain}"))
}

/// Whether every byte is a hexadecimal digit, without a branch per byte (hex digits
/// mix two ranges, so a branch per byte mispredicts on every digit/letter change).
fn all_hex(s: &str) -> bool {
    s.bytes().fold(HEX, |every, b| every & BYTE_CLASS[usize::from(b)]) != 0
}

fn normalize_hash(s: &str, hex_len: usize) -> Result<String, Detail> {
    // Checked before the length so that the reason names a bad character first.
    let bad =
        if all_hex(s) { None } else { first_char_where(s, |b| !b.is_ascii_hexdigit(), |c| !c.is_ascii_hexdigit()) };
    if let Some(c) = bad {
        let c = c.escape_debug();
        return Err(detail(
            format!("'{c}' is not a hexadecimal digit (expected {hex_len} hexadecimal characters)"),
            format!("「{c}」は16進数の文字ではありません（{hex_len}文字の16進数が必要です）"),
        ));
    }
    if s.len() != hex_len {
        return Err(detail(
            format!("expected {hex_len} hexadecimal characters, got {}", s.len()),
            format!("{hex_len}文字の16進数が必要ですが、{}文字です", s.len()),
        ));
    }
    Ok(s.to_ascii_lowercase())
}

fn normalize_filename(s: &str) -> Result<String, Detail> {
    if s.len() > MAX_FILENAME_BYTES {
        return Err(detail(
            format!("it is {} bytes long, at most {MAX_FILENAME_BYTES} are allowed", s.len()),
            format!("{}バイトあり、上限の{MAX_FILENAME_BYTES}バイトを超えています", s.len()),
        ));
    }
    // Both separators are ASCII, so a byte search finds them in any UTF-8 text.
    if let Some(c) = s.bytes().find(|b| matches!(b, b'/' | b'\\')).map(char::from) {
        return Err(detail(
            format!("it contains the path separator '{c}' (give the base name only)"),
            format!("パス区切り文字「{c}」が含まれています（ファイル名のみを指定してください）"),
        ));
    }
    if s == "." || s == ".." {
        return Err(detail(
            format!("'{s}' is a directory reference, not a file name"),
            format!("「{s}」はディレクトリ参照であり、ファイル名ではありません"),
        ));
    }
    Ok(s.to_owned())
}

/// Escapes a value for a STIX 2.1 pattern string literal.
fn stix_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\'', "\\'")
}

/// The STIX 2.1 pattern matching a value already returned by [`normalize`].
pub fn stix_pattern(kind: IndicatorType, normalized: &str) -> String {
    let v = stix_escape(normalized);
    match kind {
        IndicatorType::Ipv4 => format!("[ipv4-addr:value = '{v}']"),
        IndicatorType::Ipv6 => format!("[ipv6-addr:value = '{v}']"),
        IndicatorType::Cidr if normalized.contains(':') => format!("[ipv6-addr:value = '{v}']"),
        IndicatorType::Cidr => format!("[ipv4-addr:value = '{v}']"),
        IndicatorType::Domain => format!("[domain-name:value = '{v}']"),
        IndicatorType::Url => format!("[url:value = '{v}']"),
        IndicatorType::Email => format!("[email-addr:value = '{v}']"),
        IndicatorType::Md5 => format!("[file:hashes.MD5 = '{v}']"),
        IndicatorType::Sha1 => format!("[file:hashes.'SHA-1' = '{v}']"),
        IndicatorType::Sha256 => format!("[file:hashes.'SHA-256' = '{v}']"),
        IndicatorType::Filename => format!("[file:name = '{v}']"),
    }
}

#[cfg(test)]
mod tests {
    use super::IndicatorType::*;
    use super::*;

    const MD5: &str = "d41d8cd98f00b204e9800998ecf8427e";
    const SHA1: &str = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
    const SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn normalize_any_finds_ideographic_full_stop_domains() {
        let found = normalize_any("例え\u{3002}jp");
        assert!(found.iter().any(|(t, v)| *t == IndicatorType::Domain && v.starts_with("xn--")), "{found:?}");
    }

    #[test]
    fn type_names_round_trip() {
        let names = ["ipv4", "ipv6", "cidr", "domain", "url", "email", "md5", "sha1", "sha256", "filename"];
        for (kind, name) in IndicatorType::ALL.into_iter().zip(names) {
            assert_eq!(kind.as_str(), name);
            assert_eq!(kind.to_string(), name);
            assert_eq!(IndicatorType::parse(name), Some(kind));
            assert_eq!(IndicatorType::parse(&name.to_uppercase()), Some(kind));
            assert_eq!(serde_json::to_string(&kind).expect("serialize"), format!("\"{name}\""));
            let back: IndicatorType = serde_json::from_str(&format!("\"{name}\"")).expect("deserialize");
            assert_eq!(back, kind);
        }
        assert_eq!(IndicatorType::parse("Sha256"), Some(Sha256));
        for bad in ["", "ip", "sha-1", " ipv4", "hostname", "ipv4 "] {
            assert_eq!(IndicatorType::parse(bad), None, "{bad:?}");
        }
        let mut sorted = IndicatorType::ALL;
        sorted.sort();
        assert_eq!(sorted, IndicatorType::ALL);
    }

    #[test]
    fn valid_values_normalise_exactly() {
        let long_label = "a".repeat(63);
        let long_label_domain = format!("{long_label}.example");
        let sha256_upper = SHA256.to_uppercase();
        let sha256_padded = format!("\t{SHA256}  ");
        let cases: Vec<(IndicatorType, &str, &str)> = vec![
            // IPv4
            (Ipv4, "192.0.2.1", "192.0.2.1"),
            (Ipv4, "  10.0.0.1\n", "10.0.0.1"),
            (Ipv4, "0.0.0.0", "0.0.0.0"),
            (Ipv4, "255.255.255.255", "255.255.255.255"),
            (Ipv4, "192[.]0[.]2[.]1", "192.0.2.1"),
            (Ipv4, "192(.)0(.)2(.)1", "192.0.2.1"),
            (Ipv4, "100.64.0.10", "100.64.0.10"),
            // IPv6
            (Ipv6, "2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            (Ipv6, "2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"),
            (Ipv6, "[::1]", "::1"),
            (Ipv6, "::", "::"),
            (Ipv6, "::FFFF:192.0.2.1", "::ffff:192.0.2.1"),
            (Ipv6, "2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
            (Ipv6, "fe80:0:0:0:0:0:0:1", "fe80::1"),
            (Ipv6, "2001:db8[:]:1", "2001:db8::1"),
            // CIDR
            (Cidr, "10.1.2.3/8", "10.0.0.0/8"),
            (Cidr, "192.0.2.255/24", "192.0.2.0/24"),
            (Cidr, "192.0.2.1/32", "192.0.2.1/32"),
            (Cidr, "203.0.113.77/0", "0.0.0.0/0"),
            (Cidr, "192.0.2.130/25", "192.0.2.128/25"),
            (Cidr, "10[.]1[.]2[.]3/16", "10.1.0.0/16"),
            (Cidr, "2001:DB8::FFFF/32", "2001:db8::/32"),
            (Cidr, "2001:db8:abcd:12::1/48", "2001:db8:abcd::/48"),
            (Cidr, "::1/128", "::1/128"),
            (Cidr, "2001:db8::1/0", "::/0"),
            // Domain
            (Domain, "Example.COM", "example.com"),
            (Domain, "example.com.", "example.com"),
            (Domain, "Bücher.example", "xn--bcher-kva.example"),
            (Domain, "BÜCHER.example", "xn--bcher-kva.example"),
            (Domain, "evil[.]example", "evil.example"),
            (Domain, "sub(.)evil[.]example", "sub.evil.example"),
            (Domain, "a-b.c0.example", "a-b.c0.example"),
            (Domain, "xn--bcher-kva.example", "xn--bcher-kva.example"),
            (Domain, "例え.テスト", "xn--r8jz45g.xn--zckzah"),
            (Domain, "1.2.3.example", "1.2.3.example"),
            (Domain, "x.co", "x.co"),
            (Domain, &long_label_domain, &long_label_domain),
            // URL
            (Url, "HTTP://Example.COM/Path", "http://example.com/Path"),
            (Url, "hxxp://evil[.]example/a", "http://evil.example/a"),
            (Url, "hXXps://evil[.]example/a?B=C", "https://evil.example/a?B=C"),
            (Url, "hxxps[:]//evil[.]example/", "https://evil.example/"),
            (Url, "http://example.com", "http://example.com/"),
            (Url, "http://example.com:80/x", "http://example.com/x"),
            (Url, "https://example.com:8443/x#Frag", "https://example.com:8443/x#Frag"),
            (Url, "http://Bücher.example/Ä", "http://xn--bcher-kva.example/%C3%84"),
            (Url, "ftp://files.example/pub/x.exe", "ftp://files.example/pub/x.exe"),
            (Url, "http://[2001:DB8::1]:8080/", "http://[2001:db8::1]:8080/"),
            (Url, "http://192.0.2.1/gate.php", "http://192.0.2.1/gate.php"),
            (Url, "ldap://Evil.Example:1389/a", "ldap://evil.example:1389/a"),
            (Url, "tcp://Bücher.example:4444", "tcp://xn--bcher-kva.example:4444"),
            (Url, "https://user@evil.example/", "https://user@evil.example/"),
            // Email
            (Email, "Alice@Example.COM", "Alice@example.com"),
            (Email, " bob.smith+tag@example.org ", "bob.smith+tag@example.org"),
            (Email, "ceo[@]evil[.]example", "ceo@evil.example"),
            (Email, "x@Bücher.example", "x@xn--bcher-kva.example"),
            (Email, "x@example.com.", "x@example.com"),
            // Hashes
            (Md5, "D41D8CD98F00B204E9800998ECF8427E", MD5),
            (Md5, MD5, MD5),
            (Sha1, "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709", SHA1),
            (Sha256, &sha256_upper, SHA256),
            (Sha256, &sha256_padded, SHA256),
            // File names
            (Filename, "Invoice.PDF.exe", "Invoice.PDF.exe"),
            (Filename, "  my report.docx  ", "my report.docx"),
            (Filename, "...", "..."),
            (Filename, ".bashrc", ".bashrc"),
            (Filename, "report[.]pdf", "report[.]pdf"),
            (Filename, "請求書.exe", "請求書.exe"),
            (Filename, "invoice\u{202E}fdp.exe", "invoice\u{202E}fdp.exe"),
        ];
        for (kind, raw, want) in cases {
            assert_eq!(normalize(kind, raw).as_deref(), Ok(want), "{kind} {raw:?}");
            // Normalisation is idempotent.
            assert_eq!(normalize(kind, want).as_deref(), Ok(want), "{kind} {want:?} again");
        }
    }

    #[test]
    fn invalid_values_are_rejected_with_specific_reasons() {
        let long_label = format!("{}.example", "a".repeat(64));
        let long_domain = format!("{}.example", ["abcdefghi"; 25].join("."));
        let long_url = format!("http://example.com/{}", "a".repeat(2048));
        let long_local = format!("{}@example.com", "a".repeat(65));
        let long_file = "a".repeat(256);
        let huge = "1".repeat(MAX_INPUT_BYTES + 1);
        // (kind, raw, exact English reason)
        let cases: Vec<(IndicatorType, &str, &str)> = vec![
            (Ipv4, "", "not a valid IPv4 address: the value is empty"),
            (Ipv4, "   ", "not a valid IPv4 address: the value is empty"),
            (Ipv4, "010.1.1.1", "not a valid IPv4 address: octet '010' has a leading zero (ambiguous: may be read as octal)"),
            (Ipv4, "1.2.3", "not a valid IPv4 address: expected four dot-separated decimal octets, found 3 part(s)"),
            (Ipv4, "1.2.3.4.5", "not a valid IPv4 address: expected four dot-separated decimal octets, found 5 part(s)"),
            (Ipv4, "1.2.3.256", "not a valid IPv4 address: octet '256' is greater than 255"),
            (Ipv4, "1.2.3.1000", "not a valid IPv4 address: octet '1000' is greater than 255"),
            (Ipv4, "1.2..4", "not a valid IPv4 address: an octet is empty (consecutive, leading or trailing dot)"),
            (Ipv4, "1.2.3.x", "not a valid IPv4 address: octet 'x' is not a decimal number"),
            (Ipv4, "0x7f.0.0.1", "not a valid IPv4 address: octet '0x7f' is not a decimal number"),
            (Ipv4, "+1.2.3.4", "not a valid IPv4 address: octet '+1' is not a decimal number"),
            (Ipv4, "1.2.3.4/32", "not a valid IPv4 address: octet '4/32' is not a decimal number"),
            (Ipv4, "1.2. 3.4", "not a valid IPv4 address: it contains whitespace (U+0020)"),
            (Ipv4, "1.2.3.4\u{0}", "not a valid IPv4 address: it contains a control character (U+0000)"),
            (Ipv4, "::1", "not a valid IPv4 address: expected four dot-separated decimal octets, found 1 part(s)"),
            (Ipv4, &huge, "not a valid IPv4 address: the value is too long (8193 bytes, at most 8192)"),
            (Ipv6, "1.2.3.4", "not a valid IPv6 address: it contains no ':' (an IPv4 address or name is not an IPv6 address)"),
            (Ipv6, "fe80::1%eth0", "not a valid IPv6 address: a zone index ('%…') is not allowed"),
            (Ipv6, "[::1", "not a valid IPv6 address: unbalanced square brackets"),
            (Ipv6, "2001:db8::1::2", "not a valid IPv6 address: '2001:db8::1::2' is not eight colon-separated groups of up to four hex digits (with at most one '::')"),
            (Ipv6, "2001:db8:0:0:0:0:0:0:1", "not a valid IPv6 address: '2001:db8:0:0:0:0:0:0:1' is not eight colon-separated groups of up to four hex digits (with at most one '::')"),
            (Ipv6, "12345::1", "not a valid IPv6 address: '12345::1' is not eight colon-separated groups of up to four hex digits (with at most one '::')"),
            (Ipv6, "g::1", "not a valid IPv6 address: 'g::1' is not eight colon-separated groups of up to four hex digits (with at most one '::')"),
            (Cidr, "10.0.0.0", "not a valid CIDR block: missing '/prefix-length' (e.g. 192.0.2.0/24)"),
            (Cidr, "10.0.0.0/33", "not a valid CIDR block: prefix length 33 is out of range for IPv4 (0-32)"),
            (Cidr, "10.0.0.0/99999", "not a valid CIDR block: prefix length 99999 is out of range for IPv4 (0-32)"),
            (Cidr, "2001:db8::/129", "not a valid CIDR block: prefix length 129 is out of range for IPv6 (0-128)"),
            (Cidr, "10.0.0.0/", "not a valid CIDR block: prefix length '' is not a decimal number"),
            (Cidr, "10.0.0.0/-1", "not a valid CIDR block: prefix length '-1' is not a decimal number"),
            (Cidr, "10.0.0.0/08", "not a valid CIDR block: prefix length '08' has a leading zero"),
            (Cidr, "10.0.0.0/8/8", "not a valid CIDR block: more than one '/'"),
            (Cidr, "010.0.0.0/8", "not a valid CIDR block: IPv4 address: octet '010' has a leading zero (ambiguous: may be read as octal)"),
            (Cidr, "[2001:db8::]/32", "not a valid CIDR block: address: square brackets are not allowed here"),
            (Cidr, "example.com/24", "not a valid CIDR block: IPv4 address: expected four dot-separated decimal octets, found 2 part(s)"),
            (Domain, "localhost", "not a valid domain name: it needs at least two labels (e.g. example.com)"),
            (Domain, "1.2.3.4", "not a valid domain name: the top-level label '4' is all digits (an IP address is not a domain name)"),
            (Domain, "under_score.example", "not a valid domain name: it contains '_'; only letters, digits, hyphens and dots are allowed"),
            (Domain, "*.example.com", "not a valid domain name: it contains '*'; only letters, digits, hyphens and dots are allowed"),
            (Domain, "http://example.com", "not a valid domain name: it contains ':'; only letters, digits, hyphens and dots are allowed"),
            (Domain, "a..example", "not a valid domain name: it has an empty label (consecutive, leading or trailing dots)"),
            (Domain, ".example.com", "not a valid domain name: it has an empty label (consecutive, leading or trailing dots)"),
            (Domain, "example.com..", "not a valid domain name: it has an empty label (consecutive, leading or trailing dots)"),
            (Domain, ".", "not a valid domain name: the name is empty"),
            (Domain, "-evil.example", "not a valid domain name: label '-evil' starts or ends with a hyphen"),
            (Domain, "evil-.example", "not a valid domain name: label 'evil-' starts or ends with a hyphen"),
            (Domain, &long_label, "not a valid domain name: label 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa…' is longer than 63 characters"),
            (Domain, &long_domain, "not a valid domain name: it is 257 characters long, at most 253 are allowed"),
            (Domain, "xn--a.example", "not a valid domain name: the internationalised name cannot be converted to ASCII (IDNA)"),
            (Domain, "evil .example", "not a valid domain name: it contains whitespace (U+0020)"),
            (Url, "evil.example/a", "not a valid URL: it must start with a scheme followed by '://' (e.g. http://)"),
            (Url, "mailto:a@example.com", "not a valid URL: it must start with a scheme followed by '://' (e.g. http://)"),
            (Url, "://example.com/", "not a valid URL: it must start with a scheme followed by '://' (e.g. http://)"),
            (Url, "1http://example.com/", "not a valid URL: it must start with a scheme followed by '://' (e.g. http://)"),
            (Url, "http://", "not a valid URL: it has no host"),
            (Url, "file:///etc/passwd", "not a valid URL: it has no host"),
            (Url, "foo:///bar", "not a valid URL: it has no host"),
            (Url, "http://example.com:99999/", "not a valid URL: the port number is invalid"),
            (Url, "http://[::1/", "not a valid URL: the host is not a valid IPv6 address"),
            (Url, "http://evil.example/a b", "not a valid URL: it contains whitespace (U+0020)"),
            (Url, "http://ev<il.example/", "not a valid URL: the host is not a valid host name (forbidden character or invalid internationalised name)"),
            (Url, &long_url, "not a valid URL: it is 2067 characters long, at most 2048 are allowed"),
            (Email, "alice.example.com", "not a valid email address: it has no '@'"),
            (Email, "@example.com", "not a valid email address: the local part before '@' is empty"),
            (Email, "alice@", "not a valid email address: the domain part after '@' is empty"),
            (Email, "a@b@example.com", "not a valid email address: it has more than one '@'"),
            (Email, "al ice@example.com", "not a valid email address: it contains whitespace (U+0020)"),
            (Email, "Alice <a@example.com>", "not a valid email address: it contains whitespace (U+0020)"),
            (Email, "<a@example.com>", "not a valid email address: the local part contains '<' (quoted local parts are not supported)"),
            (Email, &long_local, "not a valid email address: the local part is 65 bytes long, at most 64 are allowed"),
            (Email, "a@localhost", "not a valid email address: domain part: it needs at least two labels (e.g. example.com)"),
            (Email, "a@192.0.2.1", "not a valid email address: domain part: the top-level label '1' is all digits (an IP address is not a domain name)"),
            (Md5, "d41d8cd98f00b204e9800998ecf8427", "not a valid MD5 hash: expected 32 hexadecimal characters, got 31"),
            (Md5, SHA1, "not a valid MD5 hash: expected 32 hexadecimal characters, got 40"),
            (Md5, "g41d8cd98f00b204e9800998ecf8427e", "not a valid MD5 hash: 'g' is not a hexadecimal digit (expected 32 hexadecimal characters)"),
            (Md5, "d41d8cd98f00 b204e9800998ecf8427e", "not a valid MD5 hash: ' ' is not a hexadecimal digit (expected 32 hexadecimal characters)"),
            (Sha1, MD5, "not a valid SHA-1 hash: expected 40 hexadecimal characters, got 32"),
            (Sha1, "0xda39a3ee5e6b4b0d3255bfef95601890afd807", "not a valid SHA-1 hash: 'x' is not a hexadecimal digit (expected 40 hexadecimal characters)"),
            (Sha256, SHA1, "not a valid SHA-256 hash: expected 64 hexadecimal characters, got 40"),
            (Sha256, "ｅ3b0", "not a valid SHA-256 hash: 'ｅ' is not a hexadecimal digit (expected 64 hexadecimal characters)"),
            (Filename, "C:\\Users\\x\\evil.exe", "not a valid file name: it contains the path separator '\\' (give the base name only)"),
            (Filename, "/tmp/evil", "not a valid file name: it contains the path separator '/' (give the base name only)"),
            (Filename, ".", "not a valid file name: '.' is a directory reference, not a file name"),
            (Filename, "..", "not a valid file name: '..' is a directory reference, not a file name"),
            (Filename, "evil\u{0}.exe", "not a valid file name: it contains a control character (U+0000)"),
            (Filename, "a\tb", "not a valid file name: it contains a control character (U+0009)"),
            (Filename, &long_file, "not a valid file name: it is 256 bytes long, at most 255 are allowed"),
            (Filename, "", "not a valid file name: the value is empty"),
        ];
        for (kind, raw, want) in cases {
            let err = normalize(kind, raw).expect_err(&format!("{kind} {raw:?} should fail"));
            assert_eq!(err.reason, want, "{kind} {raw:?}");
            assert_eq!(err.to_string(), want);
            let (_, ja_label) = kind.label();
            assert!(err.reason_ja.starts_with(&format!("{ja_label}として不正です：")), "{}", err.reason_ja);
            assert!(err.reason_ja.len() > ja_label.len() + 30, "{}", err.reason_ja);
        }
    }

    #[test]
    fn japanese_reasons() {
        let cases = [
            (Ipv4, "010.1.1.1", "IPv4アドレスとして不正です：オクテット「010」の先頭にゼロがあります（8進数と解釈される恐れがあり曖昧です）"),
            (Md5, "abc", "MD5ハッシュとして不正です：32文字の16進数が必要ですが、3文字です"),
            (Domain, "a_b.example", "ドメイン名として不正です：「_」が含まれています。使用できるのは英数字、ハイフン、ドットのみです"),
            (Email, "a@x", "メールアドレスとして不正です：ドメイン部：少なくとも2つのラベルが必要です（例：example.com）"),
            (Url, "http://", "URLとして不正です：ホストがありません"),
            (Filename, "a/b", "ファイル名として不正です：パス区切り文字「/」が含まれています（ファイル名のみを指定してください）"),
        ];
        for (kind, raw, want) in cases {
            let err = normalize(kind, raw).expect_err(raw);
            assert_eq!(err.reason_ja, want);
        }
    }

    #[test]
    fn normalize_any_lists_every_matching_type_in_order() {
        let s = |v: &str| v.to_owned();
        let md5_upper = MD5.to_uppercase();
        let cases: Vec<(&str, Vec<(IndicatorType, String)>)> = vec![
            ("192.0.2.1", vec![(Ipv4, s("192.0.2.1")), (Filename, s("192.0.2.1"))]),
            ("192[.]0[.]2[.]1", vec![(Ipv4, s("192.0.2.1")), (Filename, s("192[.]0[.]2[.]1"))]),
            ("2001:DB8::1", vec![(Ipv6, s("2001:db8::1")), (Filename, s("2001:DB8::1"))]),
            ("10.1.2.3/8", vec![(Cidr, s("10.0.0.0/8"))]),
            ("Evil[.]Example", vec![(Domain, s("evil.example")), (Filename, s("Evil[.]Example"))]),
            ("hxxp://evil[.]example/a", vec![(Url, s("http://evil.example/a"))]),
            ("a@Example.com", vec![(Email, s("a@example.com")), (Filename, s("a@Example.com"))]),
            (&md5_upper, vec![(Md5, s(MD5)), (Filename, MD5.to_uppercase())]),
            (SHA1, vec![(Sha1, s(SHA1)), (Filename, s(SHA1))]),
            (SHA256, vec![(Sha256, s(SHA256)), (Filename, s(SHA256))]),
            ("evil.exe", vec![(Domain, s("evil.exe")), (Filename, s("evil.exe"))]),
            ("my file.exe", vec![(Filename, s("my file.exe"))]),
            ("deadbeef", vec![(Filename, s("deadbeef"))]),
            ("", vec![]),
            ("\u{0}", vec![]),
            ("/", vec![]),
            ("..", vec![]),
        ];
        for (raw, want) in cases {
            assert_eq!(normalize_any(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn normalize_any_skips_only_types_that_cannot_match() {
        let inputs = [
            "198.51.100.7",
            "198[.]51[.]100[.]7",
            "198(.)51(.)100(.)7",
            "2001:db8::1",
            "2001[:]db8[:]:1",
            "[2001:db8::1]",
            "192.0.2.0/24",
            "2001:db8::/32",
            "example.com",
            "EXAMPLE.com.",
            "例え。jp",
            "例え．jp",
            "hxxps://example.com/a",
            "http://[2001:db8::1]/x",
            "a@example.com",
            "a[@]example[.]com",
            "d41d8cd98f00b204e9800998ecf8427e",
            "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709",
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "invoice.pdf.exe",
            "x",
            "10.0.0.256",
            "1.2.3",
            "a//b",
            "::",
            "@",
            "/",
            "..",
            " padded.example ",
            "1[2].3",
            "(1).2",
            "1.2.3.4.",
            "1[.]2(.)3",
            "A1.b2",
            "0ab.c0",
        ];
        for raw in inputs {
            assert_eq!(normalize_any(raw), normalize_each_type(raw), "{raw:?}");
        }
    }

    fn normalize_each_type(raw: &str) -> Vec<(IndicatorType, String)> {
        IndicatorType::ALL.into_iter().filter_map(|k| normalize(k, raw).ok().map(|v| (k, v))).collect()
    }

    /// Every string of up to four characters over an alphabet that exercises each
    /// shortcut of `Shape` (hex letters, digits, dots, defanging brackets, separators).
    #[test]
    fn normalize_any_agrees_with_each_type_on_every_short_string() {
        const ALPHABET: [char; 12] = ['1', '0', 'a', 'G', '.', '[', ']', '(', ':', '/', '@', '-'];
        let mut strings = vec![String::new()];
        let mut checked = 0usize;
        for _ in 0..4 {
            strings = strings.iter().flat_map(|s| ALPHABET.iter().map(move |c| format!("{s}{c}"))).collect();
            for raw in &strings {
                assert_eq!(normalize_any(raw), normalize_each_type(raw), "{raw:?}");
                checked += 1;
            }
        }
        assert_eq!(checked, 12 + 144 + 1728 + 20736);
    }

    #[test]
    fn byte_checks_agree_with_char_checks_on_ascii() {
        for b in 0u8..128 {
            let c = char::from(b);
            assert_eq!(b.is_ascii_control(), c.is_control(), "control {b}");
            assert_eq!(b.is_ascii_whitespace() || b == 0x0b, c.is_whitespace(), "whitespace {b}");
        }
        // The lower-case ASCII fast path gives what IDNA gives.
        for name in ["example.com", "a-b.c0.example", "ab--cd.example", "1.example"] {
            assert_eq!(idna::domain_to_ascii(name).expect("idna"), normalize(IndicatorType::Domain, name).expect("ok"));
        }
        assert!(normalize(IndicatorType::Domain, "xn--zz.example").is_err(), "punycode still goes through IDNA");
    }

    #[test]
    fn normalize_any_never_panics_on_odd_input() {
        let long = "a".repeat(100_000);
        let odd = [
            "[",
            "]",
            "[]",
            "[.]",
            "%",
            "http://%",
            "ldap://%zz/",
            "ldap://%ff/",
            "x://é%",
            "::",
            ":",
            "/0",
            "1.1.1.1/",
            "::/",
            "@",
            "@@",
            "é",
            "\u{FFFF}",
            "hxxp",
            "hxxp://",
            "0.0.0.0/0",
            "::ffff:1.2.3.4/200",
            "\u{10FFFF}.example",
            &long,
        ];
        for raw in odd {
            let _ = normalize_any(raw);
        }
        assert_eq!(normalize_any("ldap://%zz/"), vec![]);
        assert_eq!(normalize_any("::ffff:1.2.3.4/104"), vec![(Cidr, s("::ffff:1.0.0.0/104"))]);
        fn s(v: &str) -> String {
            v.to_owned()
        }
    }

    /// Found by the `indicator` fuzz target: "file://a\\r|" normalised to "file://a/r|",
    /// which the url crate reads again as a path starting with a Windows drive letter and
    /// without a host (refused), so a stored value failed to normalise.
    #[test]
    fn a_url_is_stored_only_in_a_form_that_normalises_to_itself() {
        for raw in ["file://a\\\\r|", "file://ai\\\\\\r|/..\\\\\\[\\T\\/..\\:\\.].A]/[/", "file://a\\\\r|/x"] {
            match normalize(Url, raw) {
                Ok(once) => assert_eq!(normalize(Url, &once).as_deref(), Ok(once.as_str()), "{raw}"),
                Err(e) => assert_eq!(
                    e.reason, "not a valid URL: it has no stable normal form (the URL changes each time it is read)",
                    "{raw}"
                ),
            }
        }
        assert_eq!(normalize(Url, "file://server/share/x.lnk").as_deref(), Ok("file://server/share/x.lnk"));
    }

    /// Breaks the idempotence the `indicator` fuzz target checks: "http://a.bc/[[.]]"
    /// normalised to "http://a.bc/[.]", which normalised again to "http://a.bc/".
    #[test]
    fn nested_defanging_is_refused() {
        for (kind, raw) in [
            (Url, "http://a.bc/[[.]]"),
            (Url, "hxxp://evil[.]example/[(.)]"),
            (Url, "http://a.bc/x?q=[[@]]"),
            (Domain, "evil[[.]]example"),
            (Ipv4, "192.0.2[[.]]1"),
            (Ipv6, "2001:db8:[[:]]1"),
            (Email, "a[[@]]example.com"),
        ] {
            let err = normalize(kind, raw).expect_err(raw);
            assert!(err.reason.ends_with("it is defanged more than once (nested brackets such as '[[.]]')"), "{raw}");
            assert!(err.reason_ja.contains("二重にデファング"), "{raw}");
        }
        // Defanging once still works, in paths too; a file name is never refanged.
        assert_eq!(normalize(Url, "hxxp://a[.]bc/x(.)y").as_deref(), Ok("http://a.bc/x.y"));
        assert_eq!(normalize(Filename, "[[.]]").as_deref(), Ok("[[.]]"));
    }

    /// Found by the `indicator` fuzz target: `%25` in an opaque host decoded to a bare
    /// '%', which was stored and then refused when the stored value was normalised again.
    #[test]
    fn an_opaque_host_decoding_to_a_percent_sign_is_refused() {
        for raw in ["p://%25", "ldap://Ex%25mpe.cp", "tcp://a%25b.example/"] {
            let err = normalize(Url, raw).expect_err(raw);
            assert_eq!(err.reason, "not a valid URL: the host is not a valid host name", "{raw}");
        }
        let url = normalize(Url, "ldap://Ex%41mple.com/x").expect("valid url");
        assert_eq!(url, "ldap://example.com/x");
        assert_eq!(normalize(Url, &url).as_deref(), Ok(url.as_str()));
    }

    #[test]
    fn stix_patterns() {
        let cases = [
            (Ipv4, "192.0.2.1", "[ipv4-addr:value = '192.0.2.1']"),
            (Ipv6, "2001:db8::1", "[ipv6-addr:value = '2001:db8::1']"),
            (Cidr, "10.0.0.0/8", "[ipv4-addr:value = '10.0.0.0/8']"),
            (Cidr, "2001:db8::/32", "[ipv6-addr:value = '2001:db8::/32']"),
            (Domain, "evil.example", "[domain-name:value = 'evil.example']"),
            (Url, "http://evil.example/a", "[url:value = 'http://evil.example/a']"),
            (Url, "http://evil.example/it's", "[url:value = 'http://evil.example/it\\'s']"),
            (Email, "o'brien@example.com", "[email-addr:value = 'o\\'brien@example.com']"),
            (Md5, MD5, "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']"),
            (Sha1, SHA1, "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']"),
            (
                Sha256,
                SHA256,
                "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
            ),
            (Filename, "evil.exe", "[file:name = 'evil.exe']"),
            (Filename, "it's a\\b.exe", "[file:name = 'it\\'s a\\\\b.exe']"),
            (Filename, "\\'", "[file:name = '\\\\\\'']"),
        ];
        for (kind, value, want) in cases {
            assert_eq!(stix_pattern(kind, value), want);
        }
        // Patterns of normalised values.
        let url = normalize(Url, "hxxp://evil[.]example/it's").expect("valid url");
        assert_eq!(stix_pattern(Url, &url), "[url:value = 'http://evil.example/it\\'s']");
        let email = normalize(Email, "o'brien@Example.com").expect("valid email");
        assert_eq!(stix_pattern(Email, &email), "[email-addr:value = 'o\\'brien@example.com']");
    }
}
