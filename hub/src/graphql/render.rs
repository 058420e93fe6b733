//! Hand-written JSON for the two hottest lists: change-feed items and lookup results.
//!
//! async-graphql resolves every field of every object as a future of its own, which
//! costs about a microsecond a field here: a 10,000-item feed page spent more time
//! there than in the database, and a 100-value lookup most of its time. When a list's
//! selection is plain fields (no fragments, directives, arguments or repeated response
//! keys), the wrappers below write the items directly, fields in selection order under
//! their response keys, exactly as the executor would (a test compares both). Any
//! other selection goes through the executor unchanged. The data written is the data
//! the resolvers were given: visibility was decided before, by the schema policy.

use std::borrow::Cow;

use async_graphql::parser::types::{Field, Selection};
use async_graphql::{registry, ContextSelectionSet, InputType, OutputType, Positioned, ServerResult, Value};

use super::types::{Indicator, IndicatorTypeGql, Json, StatusGql, TlpGql};
use super::{Change, LookupResult};
use crate::services::indicator_index::IndexedIndicator;

/// A selection of plain fields: (response key, field name, the field).
type Plan<'a> = Vec<(&'a str, &'a str, &'a Field)>;

/// The plan of a field's selection set, if it is plain fields only.
fn plain_selection(field: &Field) -> Option<Plan<'_>> {
    let mut plan: Plan<'_> = Vec::with_capacity(field.selection_set.node.items.len());
    for selection in &field.selection_set.node.items {
        let Selection::Field(f) = &selection.node else {
            return None;
        };
        let f = &f.node;
        if !f.directives.is_empty() || !f.arguments.is_empty() {
            return None;
        }
        let key = f.alias.as_ref().map_or(f.name.node.as_str(), |a| a.node.as_str());
        if plan.iter().any(|(k, _, _)| *k == key) {
            return None;
        }
        plan.push((key, f.name.node.as_str(), f));
    }
    Some(plan)
}

/// A JSON string, as serde_json writes it. Ids, signatures and sequence numbers never
/// need escaping, and copying them whole is several times faster than escaping byte
/// by byte (serde_json's escaping was a tenth of a feed page's time).
fn string(out: &mut Vec<u8>, s: &str) {
    if s.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        // Writing a str to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
        return;
    }
    out.reserve(s.len() + 2);
    out.push(b'"');
    out.extend_from_slice(s.as_bytes());
    out.push(b'"');
}

fn key(out: &mut Vec<u8>, first: bool, key: &str) {
    if !first {
        out.push(b',');
    }
    string(out, key);
    out.push(b':');
}

/// The GraphQL name of an enum value, as the executor writes it.
fn enum_name<T: InputType>(value: &T) -> Option<String> {
    match value.to_value() {
        Value::Enum(name) => Some(name.to_string()),
        _ => None,
    }
}

fn change_fields_known(plan: &Plan<'_>) -> bool {
    plan.iter().all(|(_, name, _)| {
        matches!(
            *name,
            "__typename"
                | "seq"
                | "id"
                | "type"
                | "version"
                | "tlp"
                | "deleted"
                | "object"
                | "signature"
                | "originHub"
                | "signingKey"
        )
    })
}

/// Writes feed items; `None` if an item needs the executor (an object not stored as text).
fn write_changes(items: &[Change], plan: &Plan<'_>) -> Option<Vec<u8>> {
    if !change_fields_known(plan) {
        return None;
    }
    let size: usize = items
        .iter()
        .map(|c| {
            let text = |s: &Option<String>| s.as_ref().map_or(0, String::len);
            160 + c.id.len()
                + text(&c.signature)
                + text(&c.origin_hub)
                + text(&c.signing_key)
                + c.object.as_ref().map_or(0, json_len)
        })
        .sum();
    let mut out = Vec::with_capacity(size + 2);
    out.push(b'[');
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        for (n, (response_key, name, _)) in plan.iter().enumerate() {
            key(&mut out, n == 0, response_key);
            match *name {
                "__typename" => string(&mut out, "Change"),
                "seq" => string(&mut out, &item.seq),
                "id" => string(&mut out, &item.id),
                "type" => string(&mut out, &item.kind),
                "version" => out.extend_from_slice(itoa::Buffer::new().format(item.version).as_bytes()),
                "tlp" => string(&mut out, &enum_name(&item.tlp)?),
                "deleted" => out.extend_from_slice(if item.deleted { b"true" } else { b"false" }),
                "object" => match &item.object {
                    None => out.extend_from_slice(b"null"),
                    Some(Json::Text(text)) => out.extend_from_slice(text.as_bytes()),
                    Some(Json::Stix(_)) => return None,
                },
                "signature" => optional_string(&mut out, &item.signature),
                "originHub" => optional_string(&mut out, &item.origin_hub),
                "signingKey" => optional_string(&mut out, &item.signing_key),
                _ => return None,
            }
        }
        out.push(b'}');
    }
    out.push(b']');
    Some(out)
}

fn optional_string(out: &mut Vec<u8>, value: &Option<String>) {
    match value {
        None => out.extend_from_slice(b"null"),
        Some(s) => string(out, s),
    }
}

fn json_len(json: &Json) -> usize {
    match json {
        Json::Text(t) => t.len(),
        Json::Stix(_) => 0,
    }
}

/// The fields of an indicator that the lookup index holds, from either form.
trait IndexFields {
    fn id(&self) -> &str;
    fn kind(&self) -> &str;
    fn indicator_type(&self) -> Option<IndicatorTypeGql>;
    fn value(&self) -> &str;
    fn tlp(&self) -> TlpGql;
    fn version(&self) -> i64;
    fn status(&self) -> StatusGql;
}

impl IndexFields for Indicator {
    fn id(&self) -> &str {
        &self.shared.id
    }
    fn kind(&self) -> &str {
        &self.shared.kind
    }
    fn indicator_type(&self) -> Option<IndicatorTypeGql> {
        self.indicator_type
    }
    fn value(&self) -> &str {
        &self.value
    }
    fn tlp(&self) -> TlpGql {
        self.shared.tlp
    }
    fn version(&self) -> i64 {
        self.shared.version
    }
    fn status(&self) -> StatusGql {
        self.shared.status
    }
}

impl IndexFields for IndexedIndicator {
    fn id(&self) -> &str {
        &self.id
    }
    fn kind(&self) -> &str {
        "indicator"
    }
    fn indicator_type(&self) -> Option<IndicatorTypeGql> {
        Some(self.indicator_type.into())
    }
    fn value(&self) -> &str {
        &self.value
    }
    fn tlp(&self) -> TlpGql {
        self.tlp.into()
    }
    fn version(&self) -> i64 {
        self.revision
    }
    fn status(&self) -> StatusGql {
        self.status.into()
    }
}

/// Writes the fields of an indicator that the lookup index fills in.
fn write_indicator(out: &mut Vec<u8>, x: &impl IndexFields, plan: &Plan<'_>) -> Option<()> {
    out.push(b'{');
    for (n, (response_key, name, _)) in plan.iter().enumerate() {
        key(out, n == 0, response_key);
        match *name {
            "__typename" => string(out, "Indicator"),
            "id" => string(out, x.id()),
            "kind" => string(out, x.kind()),
            "type" => match x.indicator_type() {
                Some(t) => string(out, &enum_name(&t)?),
                None => out.extend_from_slice(b"null"),
            },
            "value" => string(out, x.value()),
            "tlp" => string(out, &enum_name(&x.tlp())?),
            "version" => out.extend_from_slice(itoa::Buffer::new().format(x.version()).as_bytes()),
            "status" => string(out, &enum_name(&x.status())?),
            _ => return None,
        }
    }
    out.push(b'}');
    Some(())
}

fn write_lookup<X: IndexFields>(results: &[(&str, &[X])], plan: &Plan<'_>) -> Option<Vec<u8>> {
    // Each `matches` selection is planned once, not once per result.
    let mut nested: Vec<Option<Plan<'_>>> = Vec::with_capacity(plan.len());
    for (_, name, field) in plan {
        nested.push(match *name {
            "matches" => Some(plain_selection(field)?),
            "__typename" | "input" => None,
            _ => return None,
        });
    }
    let mut out = Vec::with_capacity(results.len() * 64);
    out.push(b'[');
    for (i, result) in results.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.push(b'{');
        for (n, ((response_key, name, _), sub)) in plan.iter().zip(&nested).enumerate() {
            key(&mut out, n == 0, response_key);
            let (input, matches) = result;
            match (*name, sub) {
                ("__typename", _) => string(&mut out, "LookupResult"),
                ("input", _) => string(&mut out, input),
                ("matches", Some(sub)) => {
                    out.push(b'[');
                    for (m, x) in matches.iter().enumerate() {
                        if m > 0 {
                            out.push(b',');
                        }
                        write_indicator(&mut out, x, sub)?;
                    }
                    out.push(b']');
                }
                _ => return None,
            }
        }
        out.push(b'}');
    }
    out.push(b']');
    Some(out)
}

fn count_direct(ctx: &ContextSelectionSet<'_>) {
    if let Ok(hub) = ctx.data::<std::sync::Arc<crate::state::Hub>>() {
        crate::state::Metrics::add(&hub.metrics.lists_written_directly, 1);
    }
}

/// The schema names and type of the list a wrapper stands for, so wrapping a list to
/// write it by hand changes nothing in the schema.
macro_rules! same_schema_type_as {
    ($list:ty) => {
        fn type_name() -> Cow<'static, str> {
            <$list as OutputType>::type_name()
        }

        fn qualified_type_name() -> String {
            <$list as OutputType>::qualified_type_name()
        }

        fn create_type_info(registry: &mut registry::Registry) -> String {
            <$list as OutputType>::create_type_info(registry)
        }
    };
}

/// The `items` of a change-feed page: `[Change!]!` in the schema.
pub struct ChangeItems(pub Vec<Change>);

impl OutputType for ChangeItems {
    same_schema_type_as!(Vec<Change>);

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        if let Some(bytes) = plain_selection(&field.node).and_then(|plan| write_changes(&self.0, &plan)) {
            count_direct(ctx);
            return Ok(Value::Binary(bytes.into()));
        }
        OutputType::resolve(&self.0, ctx, field).await
    }
}

/// The answer of `lookup`: `[LookupResult!]!` in the schema.
pub enum LookupResults {
    /// Straight from the index: only the fields in [`Indicator::FROM_INDEX`] are
    /// selected (the resolver checked).
    FromIndex(Vec<(String, Vec<IndexedIndicator>)>),
    /// Full indicators read from the database.
    Full(Vec<LookupResult>),
}

impl LookupResults {
    fn write(&self, plan: &Plan<'_>) -> Option<Vec<u8>> {
        match self {
            LookupResults::FromIndex(results) => {
                let results: Vec<(&str, &[IndexedIndicator])> =
                    results.iter().map(|(i, m)| (i.as_str(), m.as_slice())).collect();
                write_lookup(&results, plan)
            }
            LookupResults::Full(results) => {
                let results: Vec<(&str, &[Indicator])> =
                    results.iter().map(|r| (r.input.as_str(), r.matches.as_slice())).collect();
                write_lookup(&results, plan)
            }
        }
    }
}

impl OutputType for LookupResults {
    same_schema_type_as!(Vec<LookupResult>);

    async fn resolve(&self, ctx: &ContextSelectionSet<'_>, field: &Positioned<Field>) -> ServerResult<Value> {
        if let Some(bytes) = plain_selection(&field.node).and_then(|plan| self.write(&plan)) {
            count_direct(ctx);
            return Ok(Value::Binary(bytes.into()));
        }
        match self {
            LookupResults::Full(results) => OutputType::resolve(results, ctx, field).await,
            LookupResults::FromIndex(results) => {
                let results: Vec<LookupResult> = results
                    .iter()
                    .map(|(input, matches)| LookupResult {
                        input: input.clone(),
                        matches: matches.iter().cloned().map(Indicator::from_index).collect(),
                    })
                    .collect();
                OutputType::resolve(&results, ctx, field).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        for s in ["", "plain", "rk1.0.16.abc_-", "quote\"d", "back\\slash", "tab\there", "\u{1}", "日本語", "\u{7f}"]
        {
            let mut ours = Vec::new();
            super::string(&mut ours, s);
            assert_eq!(String::from_utf8(ours).expect("utf8"), serde_json::to_string(s).expect("json"), "{s:?}");
        }
    }
}
