//! A minimal, bounded CBOR reader (RFC 8949): just what WebAuthn's attestation object,
//! authenticator data and COSE keys need.
//!
//! Read: unsigned and negative integers, byte strings, text strings (UTF-8 checked),
//! arrays, maps and the simple values `false`, `true` and `null`, all of definite length.
//! Refused: indefinite lengths, tags, floats, other simple values and reserved encodings;
//! nesting deeper than [`MAX_DEPTH`]; maps with a repeated key (two readers could pick
//! different values). Every length is checked against the input left before anything is
//! read or reserved, so a hostile header (a byte string "of 2^60 bytes") costs nothing:
//! strings are borrowed from the input, and an array or map claiming more items than
//! there are bytes left is refused before its `Vec` exists. Non-preferred (longer than
//! needed) integer and length encodings are accepted, as most readers do.
//!
//! [`decode`] reads one item from the front of its input and says how many bytes it took
//! (authenticator data holds a COSE key followed by more data); [`decode_exact`] also
//! refuses trailing bytes.

/// The deepest nesting of arrays and maps accepted (the item at the top is depth 1).
pub const MAX_DEPTH: usize = 16;

/// One decoded CBOR item; strings borrow from the input.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Value<'a> {
    /// An integer, major type 0 or 1 (`-2^64 ..= 2^64 - 1` fits in an `i128`).
    Integer(i128),
    Bytes(&'a [u8]),
    Text(&'a str),
    Array(Vec<Value<'a>>),
    /// Map entries in their encoded order (keys are distinct).
    Map(Vec<(Value<'a>, Value<'a>)>),
    Bool(bool),
    Null,
}

impl<'a> Value<'a> {
    /// The value under `key` when `self` is a map.
    pub fn get(&self, key: &Value<'_>) -> Option<&Value<'a>> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value under the text key `key` when `self` is a map.
    pub fn get_text_key(&self, key: &str) -> Option<&Value<'a>> {
        self.get(&Value::Text(key))
    }

    /// The value under the integer key `key` when `self` is a map (COSE labels).
    pub fn get_int_key(&self, key: i128) -> Option<&Value<'a>> {
        self.get(&Value::Integer(key))
    }
}

/// Why bytes are not a CBOR item this reader accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CborError {
    /// The input ends inside an item.
    #[error("CBOR input ends inside an item (offset {offset})")]
    Truncated { offset: usize },
    /// A length or item count larger than the input left (checked before allocating).
    #[error("CBOR length at offset {offset} exceeds the remaining input")]
    LengthExceedsInput { offset: usize },
    /// An indefinite-length string, array or map, or a stray "break".
    #[error("indefinite-length CBOR item at offset {offset} (only definite lengths are accepted)")]
    IndefiniteLength { offset: usize },
    /// A tag, float, or simple value other than false, true and null.
    #[error("unsupported CBOR item at offset {offset} (tags, floats and other simple values are refused)")]
    Unsupported { offset: usize },
    /// Additional information 28 to 30, reserved by RFC 8949.
    #[error("reserved CBOR encoding at offset {offset}")]
    Reserved { offset: usize },
    /// A text string that is not UTF-8.
    #[error("CBOR text string at offset {offset} is not UTF-8")]
    InvalidUtf8 { offset: usize },
    /// Arrays and maps nested deeper than [`MAX_DEPTH`].
    #[error("CBOR nesting deeper than {MAX_DEPTH} at offset {offset}")]
    TooDeep { offset: usize },
    /// A map holding the same key twice.
    #[error("CBOR map at offset {offset} repeats a key")]
    DuplicateKey { offset: usize },
    /// Bytes left after the item ([`decode_exact`] only).
    #[error("{count} byte(s) after the CBOR item")]
    TrailingBytes { count: usize },
}

/// Reads one item from the front of `input`: the item and the number of bytes it took.
pub fn decode(input: &[u8]) -> Result<(Value<'_>, usize), CborError> {
    let mut reader = Reader { input, pos: 0 };
    let value = reader.item(1)?;
    Ok((value, reader.pos))
}

/// Reads `input` as exactly one item, refusing trailing bytes.
pub fn decode_exact(input: &[u8]) -> Result<Value<'_>, CborError> {
    let (value, used) = decode(input)?;
    if used != input.len() {
        return Err(CborError::TrailingBytes { count: input.len() - used });
    }
    Ok(value)
}

struct Reader<'a> {
    input: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn remaining(&self) -> usize {
        self.input.len() - self.pos
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], CborError> {
        if n > self.remaining() {
            return Err(CborError::Truncated { offset: self.pos });
        }
        let bytes = &self.input[self.pos..self.pos + n];
        self.pos += n;
        Ok(bytes)
    }

    /// The argument of a head whose additional information is `info` (0..=27).
    fn argument(&mut self, info: u8, start: usize) -> Result<u64, CborError> {
        let width = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            28..=30 => return Err(CborError::Reserved { offset: start }),
            _ => return Err(CborError::IndefiniteLength { offset: start }),
        };
        let bytes = self.take(width)?;
        Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    }

    /// A length or count, no larger than the input left divided by `min_item_size`.
    fn bounded_len(&self, n: u64, min_item_size: usize, start: usize) -> Result<usize, CborError> {
        match usize::try_from(n) {
            Ok(n) if n <= self.remaining() / min_item_size => Ok(n),
            _ => Err(CborError::LengthExceedsInput { offset: start }),
        }
    }

    fn item(&mut self, depth: usize) -> Result<Value<'a>, CborError> {
        let start = self.pos;
        let head = *self.take(1)?.first().ok_or(CborError::Truncated { offset: start })?;
        let major = head >> 5;
        let info = head & 0x1f;
        match major {
            0 => Ok(Value::Integer(i128::from(self.argument(info, start)?))),
            1 => Ok(Value::Integer(-1 - i128::from(self.argument(info, start)?))),
            2 | 3 => {
                let n = self.argument(info, start)?;
                let n = self.bounded_len(n, 1, start)?;
                let bytes = self.take(n)?;
                if major == 2 {
                    Ok(Value::Bytes(bytes))
                } else {
                    std::str::from_utf8(bytes).map(Value::Text).map_err(|_| CborError::InvalidUtf8 { offset: start })
                }
            }
            4 | 5 => {
                let n = self.argument(info, start)?;
                if depth > MAX_DEPTH {
                    return Err(CborError::TooDeep { offset: start });
                }
                if major == 4 {
                    let n = self.bounded_len(n, 1, start)?;
                    let mut items = Vec::with_capacity(n);
                    for _ in 0..n {
                        items.push(self.item(depth + 1)?);
                    }
                    Ok(Value::Array(items))
                } else {
                    let n = self.bounded_len(n, 2, start)?;
                    let mut entries = Vec::with_capacity(n);
                    for _ in 0..n {
                        let key = self.item(depth + 1)?;
                        let value = self.item(depth + 1)?;
                        entries.push((key, value));
                    }
                    let mut keys: Vec<&Value<'a>> = entries.iter().map(|(k, _)| k).collect();
                    keys.sort_unstable();
                    if keys.windows(2).any(|w| w[0] == w[1]) {
                        return Err(CborError::DuplicateKey { offset: start });
                    }
                    Ok(Value::Map(entries))
                }
            }
            6 => Err(CborError::Unsupported { offset: start }),
            _ => match info {
                20 => Ok(Value::Bool(false)),
                21 => Ok(Value::Bool(true)),
                22 => Ok(Value::Null),
                28..=30 => Err(CborError::Reserved { offset: start }),
                31 => Err(CborError::IndefiniteLength { offset: start }),
                _ => Err(CborError::Unsupported { offset: start }),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(s: &str) -> Vec<u8> {
        hex::decode(s.replace(' ', "")).expect("test hex")
    }

    fn read(s: &str) -> Result<Value<'static>, CborError> {
        let bytes: &'static [u8] = Vec::leak(hex(s));
        decode_exact(bytes)
    }

    #[test]
    fn rfc8949_appendix_a_integers() {
        let cases: &[(&str, i128)] = &[
            ("00", 0),
            ("01", 1),
            ("0a", 10),
            ("17", 23),
            ("1818", 24),
            ("1819", 25),
            ("1864", 100),
            ("1903e8", 1000),
            ("1a000f4240", 1_000_000),
            ("1b000000e8d4a51000", 1_000_000_000_000),
            ("1bffffffffffffffff", 18_446_744_073_709_551_615),
            ("3bffffffffffffffff", -18_446_744_073_709_551_616),
            ("20", -1),
            ("29", -10),
            ("3863", -100),
            ("3903e7", -1000),
        ];
        for (encoded, expected) in cases {
            assert_eq!(read(encoded), Ok(Value::Integer(*expected)), "{encoded}");
        }
    }

    #[test]
    fn rfc8949_appendix_a_strings_simple_values_and_containers() {
        assert_eq!(read("40"), Ok(Value::Bytes(&[])));
        assert_eq!(read("4401020304"), Ok(Value::Bytes(&[1, 2, 3, 4])));
        assert_eq!(read("60"), Ok(Value::Text("")));
        assert_eq!(read("6161"), Ok(Value::Text("a")));
        assert_eq!(read("6449455446"), Ok(Value::Text("IETF")));
        assert_eq!(read("62225c"), Ok(Value::Text("\"\\")));
        assert_eq!(read("62c3bc"), Ok(Value::Text("\u{fc}")));
        assert_eq!(read("63e6b0b4"), Ok(Value::Text("\u{6c34}")));
        assert_eq!(read("f4"), Ok(Value::Bool(false)));
        assert_eq!(read("f5"), Ok(Value::Bool(true)));
        assert_eq!(read("f6"), Ok(Value::Null));
        assert_eq!(read("80"), Ok(Value::Array(vec![])));
        assert_eq!(
            read("8301820203820405"),
            Ok(Value::Array(vec![
                Value::Integer(1),
                Value::Array(vec![Value::Integer(2), Value::Integer(3)]),
                Value::Array(vec![Value::Integer(4), Value::Integer(5)]),
            ]))
        );
        let long = read("98190102030405060708090a0b0c0d0e0f101112131415161718181819").expect("25 items");
        assert_eq!(long, Value::Array((1..=25).map(Value::Integer).collect()));
        assert_eq!(read("a0"), Ok(Value::Map(vec![])));
        let map = read("a201020304").expect("map");
        assert_eq!(map.get_int_key(1), Some(&Value::Integer(2)));
        assert_eq!(map.get_int_key(3), Some(&Value::Integer(4)));
        assert_eq!(map.get_int_key(5), None);
        let map = read("a26161016162820203").expect("map");
        assert_eq!(map.get_text_key("a"), Some(&Value::Integer(1)));
        assert_eq!(map.get_text_key("b"), Some(&Value::Array(vec![Value::Integer(2), Value::Integer(3)])));
    }

    #[test]
    fn decode_reports_the_bytes_consumed() {
        let bytes = hex("a10102 ff ee");
        let (value, used) = decode(&bytes).expect("prefix");
        assert_eq!(used, 3);
        assert_eq!(value.get_int_key(1), Some(&Value::Integer(2)));
        assert_eq!(decode_exact(&bytes), Err(CborError::TrailingBytes { count: 2 }));
    }

    #[test]
    fn truncated_input_is_refused() {
        for encoded in ["", "18", "19 03", "1b 0000", "44 0102", "63 e6b0", "82 01", "a2 0102 03"] {
            let bytes = hex(encoded);
            assert!(
                matches!(decode(&bytes), Err(CborError::Truncated { .. } | CborError::LengthExceedsInput { .. })),
                "{encoded}: {:?}",
                decode(&bytes)
            );
        }
    }

    #[test]
    fn indefinite_lengths_are_refused() {
        // RFC 8949 Appendix A: (_ h'0102', h'030405'), (_ "strea", "ming"), [_ ], [_ 1, 2], {_ "a": 1}, and a stray break.
        for encoded in ["5f42010243030405ff", "7f657374726561646d696e67ff", "9fff", "9f0102ff", "bf616101ff", "ff"] {
            assert!(matches!(read(encoded), Err(CborError::IndefiniteLength { offset: 0 })), "{encoded}");
        }
        // Also inside a definite container.
        assert_eq!(read("81 9fff"), Err(CborError::IndefiniteLength { offset: 1 }));
    }

    #[test]
    fn tags_floats_other_simple_values_and_reserved_encodings_are_refused() {
        // tag 1 (epoch time), tag 24 (embedded CBOR), half/single/double floats, undefined, simple(16), simple(255).
        for encoded in ["c11a514b67b0", "d818 41 00", "f90000", "fa47c35000", "fb3ff199999999999a", "f7", "f0", "f8ff"]
        {
            assert!(matches!(read(encoded), Err(CborError::Unsupported { offset: 0 })), "{encoded}");
        }
        for encoded in ["1c", "3d", "5e", "7c", "9d", "be", "dc", "fc"] {
            assert!(
                matches!(read(encoded), Err(CborError::Reserved { .. } | CborError::Unsupported { .. })),
                "{encoded}"
            );
        }
        assert_eq!(read("1c"), Err(CborError::Reserved { offset: 0 }));
    }

    #[test]
    fn invalid_utf8_text_is_refused() {
        assert_eq!(read("62 c328"), Err(CborError::InvalidUtf8 { offset: 0 }));
    }

    #[test]
    fn hostile_lengths_are_refused_before_anything_is_reserved() {
        // A byte string, a text string, an array and a map each claiming 2^60 (or 2^64 - 1)
        // items: refused at the head. Had the reader reserved space for the array or map
        // first, `Vec::with_capacity` would abort the test binary (capacity overflow / OOM).
        for encoded in [
            "5b 1000000000000000 00",
            "7b 1000000000000000 00",
            "9b 1000000000000000 00",
            "bb 1000000000000000 00",
            "5b ffffffffffffffff",
            "9b ffffffffffffffff",
            "bb ffffffffffffffff",
        ] {
            assert_eq!(read(encoded), Err(CborError::LengthExceedsInput { offset: 0 }), "{encoded}");
        }
        // A map of n entries needs at least 2n bytes: 3 entries in 5 bytes is refused at once.
        assert_eq!(read("a3 0102030405"), Err(CborError::LengthExceedsInput { offset: 0 }));
        // Nested: the inner hostile length is refused at its own offset.
        assert_eq!(read("a1 01 5a ffffffff"), Err(CborError::LengthExceedsInput { offset: 2 }));
    }

    #[test]
    fn nesting_is_capped() {
        let at_limit = format!("{}00", "81".repeat(MAX_DEPTH));
        let value = read(&at_limit).expect("16 nested arrays");
        let mut depth = 0;
        let mut v = &value;
        while let Value::Array(items) = v {
            depth += 1;
            v = &items[0];
        }
        assert_eq!(depth, MAX_DEPTH);
        let too_deep = format!("{}00", "81".repeat(MAX_DEPTH + 1));
        assert_eq!(read(&too_deep), Err(CborError::TooDeep { offset: MAX_DEPTH }));
        let maps = format!("{}00", "a100".repeat(MAX_DEPTH + 1));
        assert!(matches!(read(&maps), Err(CborError::TooDeep { .. })));
        // Far deeper than the cap: refused without recursing further (no stack overflow).
        let bytes = vec![0x81u8; 1_000_000];
        assert!(matches!(decode(&bytes), Err(CborError::TooDeep { .. })));
    }

    #[test]
    fn repeated_map_keys_are_refused() {
        assert_eq!(read("a2 01 02 01 03"), Err(CborError::DuplicateKey { offset: 0 }));
        assert_eq!(read("a2 6161 01 6161 02"), Err(CborError::DuplicateKey { offset: 0 }));
        // The same number as unsigned and as a differently sized encoding is the same key.
        assert_eq!(read("a2 01 02 1801 03"), Err(CborError::DuplicateKey { offset: 0 }));
        assert!(read("a2 01 02 20 03").is_ok());
    }

    #[test]
    fn garbage_never_panics() {
        // A cheap deterministic sweep: every prefix of a valid item, and every single-byte head.
        let valid = hex("a3 63666d74 646e6f6e65 6761747453746d74 a0 686175746844617461 43 010203");
        assert!(decode_exact(&valid).is_ok());
        for end in 0..valid.len() {
            assert!(decode_exact(&valid[..end]).is_err(), "prefix {end}");
        }
        for head in 0..=255u8 {
            let _ = decode(&[head]);
            let _ = decode(&[head, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
        }
    }
}
