//! Objects whose selection selects nothing are answered as `{}`, not `null`.
//!
//! async-graphql 7.2 resolves an object whose selection set yields no field (only
//! fragments on other members of a union, `@skip`/`@include` leaving nothing, or every
//! field failing) to `null`. Where the schema says the field is non-null (`correct`'s
//! `SharedItem!`, `QueueEntry.item`, `me`, the items of `[Indicator!]!`...), that answer
//! contradicts the schema the hub publishes; the GraphQL spec answers such an object
//! with an empty map. This extension puts `{}` back where a non-null object, union or
//! interface came out `null`, in lists of them too. A nullable field keeps async-graphql's
//! answer: there `null` cannot be told apart from "not found" after the fact.

use std::sync::Arc;

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextResolve, ResolveInfo};
use async_graphql::registry::{MetaTypeName, Registry};
use async_graphql::{ServerResult, Value};

pub(super) struct EmptySelections;

impl ExtensionFactory for EmptySelections {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(EmptySelections)
    }
}

#[async_trait::async_trait]
impl Extension for EmptySelections {
    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let return_type = info.return_type;
        let mut value = next.run(ctx, info).await?;
        // Only a null, or a list that holds one, can need `{}`: every other value (most
        // fields) passes without looking at its type. Nested fields run this hook
        // themselves; list items do not.
        if let Some(value) = value.as_mut().filter(|v| may_hold_null(v)) {
            fill(&ctx.schema_env.registry, return_type, value);
        }
        Ok(value)
    }
}

/// Whether a value is null or a list with a null somewhere in it.
fn may_hold_null(value: &Value) -> bool {
    match value {
        Value::Null => true,
        Value::List(items) => items.iter().any(may_hold_null),
        _ => false,
    }
}

/// Replaces `null` with `{}` wherever `type_name` (a qualified name such as
/// `[Indicator!]!`) says a non-null object, union or interface stands.
fn fill(registry: &Registry, type_name: &str, value: &mut Value) {
    match MetaTypeName::create(type_name) {
        MetaTypeName::NonNull(inner) => {
            if matches!(value, Value::Null) && is_composite(registry, inner) {
                *value = Value::Object(Default::default());
            } else {
                fill(registry, inner, value);
            }
        }
        MetaTypeName::List(inner) => {
            if let Value::List(items) = value {
                for item in items {
                    fill(registry, inner, item);
                }
            }
        }
        MetaTypeName::Named(_) => {}
    }
}

/// Whether a (possibly wrapped) type name is an object, union or interface; lists are not.
fn is_composite(registry: &Registry, type_name: &str) -> bool {
    matches!(MetaTypeName::create(type_name), MetaTypeName::Named(_))
        && registry.types.get(type_name).is_some_and(|t| t.is_composite())
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema, SimpleObject, Union};

    #[derive(SimpleObject)]
    struct A {
        a: i32,
    }

    #[derive(SimpleObject)]
    struct B {
        b: i32,
    }

    #[derive(Union)]
    enum AorB {
        A(A),
        B(B),
    }

    struct Query;

    #[Object]
    impl Query {
        async fn one(&self) -> AorB {
            AorB::A(A { a: 1 })
        }
        async fn maybe(&self) -> Option<AorB> {
            Some(AorB::A(A { a: 1 }))
        }
        async fn none(&self) -> Option<AorB> {
            None
        }
        async fn many(&self) -> Vec<A> {
            vec![A { a: 1 }, A { a: 2 }]
        }
        async fn number(&self) -> i32 {
            7
        }
    }

    async fn run(query: &str) -> serde_json::Value {
        let schema = Schema::build(Query, EmptyMutation, EmptySubscription).extension(EmptySelections).finish();
        let response = schema.execute(query).await;
        assert!(response.errors.is_empty(), "{:?}", response.errors);
        serde_json::to_value(&response.data).expect("json")
    }

    #[tokio::test]
    async fn non_null_objects_that_select_nothing_are_empty_maps() {
        let data = run("{ one { ... on B { b } } many { a @skip(if: true) } number }").await;
        assert_eq!(data, serde_json::json!({"one": {}, "many": [{}, {}], "number": 7}));
        let data = run("{ one { ... on A { a } } many { a } }").await;
        assert_eq!(data, serde_json::json!({"one": {"a": 1}, "many": [{"a": 1}, {"a": 2}]}));
    }

    #[tokio::test]
    async fn nullable_fields_keep_their_null() {
        let data = run("{ maybe { ... on A { a } } none { ... on A { a } } }").await;
        assert_eq!(data, serde_json::json!({"maybe": {"a": 1}, "none": null}));
    }
}
