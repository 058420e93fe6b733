//! The response writer: like async-graphql's own serialisation, except that
//! `Value::Binary` holds pre-serialised JSON (only the `Json` scalar makes it) and is
//! written as is, and that a query that selected nothing answers `"data":{}`.

/// Serialises a response. Like async-graphql's own serialisation, except that
/// `Value::Binary` holds pre-serialised JSON (only the `Json` scalar makes it) and is
/// written as is, and that a query that ran without errors and selected nothing (every
/// root field skipped) answers `"data":{}`, not `null` (see `empty.rs`).
pub fn response_json(response: &async_graphql::Response) -> Result<Vec<u8>, serde_json::Error> {
    // Large answers are mostly pre-written parts; sizing the buffer for them up front
    // saves growing (copying) a 10 MB feed page several times.
    let mut out = Vec::with_capacity(1024 + binary_len(&response.data));
    out.extend_from_slice(b"{\"data\":");
    if response.data == async_graphql::Value::Null && response.errors.is_empty() {
        out.extend_from_slice(b"{}");
    } else {
        write_value(&response.data, &mut out)?;
    }
    if !response.errors.is_empty() {
        out.extend_from_slice(b",\"errors\":");
        serde_json::to_writer(&mut out, &response.errors)?;
    }
    if !response.extensions.is_empty() {
        out.extend_from_slice(b",\"extensions\":{");
        for (i, (k, v)) in response.extensions.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut out, k)?;
            out.push(b':');
            write_value(v, &mut out)?;
        }
        out.push(b'}');
    }
    out.push(b'}');
    Ok(out)
}

/// Bytes of pre-written JSON in an answer (what dominates a large one).
pub fn answer_len(response: &async_graphql::Response) -> usize {
    binary_len(&response.data)
}

/// Bytes of pre-written JSON inside a value.
fn binary_len(value: &async_graphql::Value) -> usize {
    use async_graphql::Value;
    match value {
        Value::Binary(raw) => raw.len(),
        Value::List(items) => items.iter().map(binary_len).sum(),
        Value::Object(map) => map.values().map(binary_len).sum(),
        _ => 0,
    }
}

fn write_value(value: &async_graphql::Value, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    use async_graphql::Value;
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Boolean(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => out.extend_from_slice(n.to_string().as_bytes()),
        Value::String(s) => serde_json::to_writer(&mut *out, s)?,
        Value::Enum(name) => serde_json::to_writer(&mut *out, name.as_str())?,
        Value::Binary(raw) => out.extend_from_slice(raw),
        Value::List(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            for (i, (k, v)) in map.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                serde_json::to_writer(&mut *out, k.as_str())?;
                out.push(b':');
                write_value(v, out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql::types::Json;
    use async_graphql::ScalarType;

    #[test]
    fn response_json_writes_pre_serialised_json_verbatim_and_escapes_strings() {
        let data = async_graphql::Value::from_json(serde_json::json!({"a": "x\"y", "n": 1.5, "l": [true, null]}))
            .expect("value");
        let mut response = async_graphql::Response::new(data);
        if let async_graphql::Value::Object(map) = &mut response.data {
            map.insert(async_graphql::Name::new("raw"), Json::Text("{\"k\":[1,2]}".into()).to_value());
        }
        let text = String::from_utf8(response_json(&response).expect("json")).expect("utf8");
        let parsed: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
        assert_eq!(
            parsed,
            serde_json::json!({"data": {"a": "x\"y", "n": 1.5, "l": [true, null], "raw": {"k": [1, 2]}}})
        );
    }

    #[test]
    fn response_json_answers_an_empty_map_for_a_query_that_selected_nothing() {
        let empty = async_graphql::Response::new(async_graphql::Value::Null);
        assert_eq!(response_json(&empty).expect("json"), b"{\"data\":{}}");
        let refused = async_graphql::Response::from_errors(vec![async_graphql::ServerError::new("no", None)]);
        let text = String::from_utf8(response_json(&refused).expect("json")).expect("utf8");
        assert!(text.starts_with("{\"data\":null,\"errors\":"), "{text}");
    }
}
