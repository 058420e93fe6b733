//! What one GraphQL request may cost the hub, checked before it runs and while it runs.
//!
//! - Before parsing: the query text is at most `limits.max_query_bytes`.
//! - After parsing, before async-graphql's own checks (which expand every fragment
//!   spread each time it appears, so a document of a few hundred bytes can make them
//!   walk billions of fields): the fields the document selects, counted with each
//!   fragment expanded once and memoised, at most `max_query_fields`, aliases at most
//!   `max_aliases`, no fragment cycles.
//! - At validation: the complexity async-graphql computes, where list fields multiply
//!   what they select by their size argument (`limit`, `first`, the number of `values`
//!   or `representations`), across the whole document, at most `max_query_complexity`;
//!   the depth at most `max_query_depth`. Each refusal has its own code.
//! - While it runs: [`AnswerBudget`] caps the shared content one answer carries.
//!
//! Parsed documents are cached by their text (clients repeat a few queries with new
//! variables; parsing was a tenth of a lookup's time); only documents that passed the
//! shape check are cached, and validation and limits run for every request.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use async_graphql::extensions::{Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextValidation};
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql::{ServerError, ValidationResult, Variables};

use crate::config::Limits;
use crate::error::AppError;
use renkei_schema::errors::Code;

/// Fields and aliases a document selects, and its introspection roots (`__schema`,
/// `__type`), fragments expanded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Shape {
    pub fields: u64,
    pub aliases: u64,
    pub introspection: u64,
}

impl Shape {
    fn add(&mut self, other: Shape) {
        self.fields = self.fields.saturating_add(other.fields);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.introspection = self.introspection.saturating_add(other.introspection);
    }
}

/// Introspection roots one document may hold. The schema is the same each time and
/// writing it out is costly (60 aliases of one introspection query kept both cores
/// busy for seconds), while no client needs it twice in a request.
const MAX_INTROSPECTION_ROOTS: u64 = 2;

struct Walk<'a> {
    doc: &'a ExecutableDocument,
    memo: HashMap<&'a str, Shape>,
    visiting: HashSet<&'a str>,
}

fn fragment_cycle(name: &str) -> AppError {
    AppError::new(
        Code::FragmentCycle,
        format!("fragment {name} spreads itself"),
        format!("フラグメント{name}が自分自身を展開しています"),
    )
}

impl<'a> Walk<'a> {
    // The parser bounds nesting (64 levels), so this recursion is bounded too.
    fn selection_set(&mut self, set: &'a SelectionSet) -> Result<Shape, AppError> {
        let mut shape = Shape::default();
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    shape.add(Shape {
                        fields: 1,
                        aliases: u64::from(field.node.alias.is_some()),
                        introspection: u64::from(name == "__schema" || name == "__type"),
                    });
                    shape.add(self.selection_set(&field.node.selection_set.node)?);
                }
                Selection::InlineFragment(inline) => shape.add(self.selection_set(&inline.node.selection_set.node)?),
                Selection::FragmentSpread(spread) => shape.add(self.fragment(spread.node.fragment_name.node.as_str())?),
            }
        }
        Ok(shape)
    }

    fn fragment(&mut self, name: &'a str) -> Result<Shape, AppError> {
        if let Some(shape) = self.memo.get(name) {
            return Ok(*shape);
        }
        if !self.visiting.insert(name) {
            return Err(fragment_cycle(name));
        }
        // An unknown fragment selects nothing here; validation reports it.
        let shape = match self.doc.fragments.get(name) {
            Some(fragment) => self.selection_set(&fragment.node.selection_set.node)?,
            None => Shape::default(),
        };
        self.visiting.remove(name);
        self.memo.insert(name, shape);
        Ok(shape)
    }
}

/// The shape of every operation of a document (each is checked, though one runs).
pub fn shape(doc: &ExecutableDocument) -> Result<Shape, AppError> {
    let mut walk = Walk { doc, memo: HashMap::new(), visiting: HashSet::new() };
    let mut total = Shape::default();
    for (_, operation) in doc.operations.iter() {
        total.add(walk.selection_set(&operation.node.selection_set.node)?);
    }
    // Fragments no operation uses are refused by validation, but a cycle among them
    // would still make async-graphql's depth check recurse: walk them too.
    for name in doc.fragments.keys() {
        walk.fragment(name.as_str())?;
    }
    Ok(total)
}

/// Refuses a document wider than the limits allow.
pub fn check_shape(doc: &ExecutableDocument, limits: &Limits) -> Result<(), AppError> {
    let shape = shape(doc)?;
    if shape.fields > limits.max_query_fields as u64 {
        return Err(AppError::new(
            Code::QueryTooWide,
            format!(
                "the query selects {} fields with its fragments expanded; at most {} are allowed",
                shape.fields, limits.max_query_fields
            ),
            format!(
                "クエリがフラグメント展開後に{}個のフィールドを選択しています（上限は{}個です）",
                shape.fields, limits.max_query_fields
            ),
        ));
    }
    if shape.introspection > MAX_INTROSPECTION_ROOTS {
        return Err(AppError::new(
            Code::TooMuchIntrospection,
            format!(
                "the query asks for the schema (__schema, __type) {} times; at most {MAX_INTROSPECTION_ROOTS} are allowed",
                shape.introspection
            ),
            format!(
                "クエリがスキーマ（__schema、__type）を{}回要求しています（上限は{MAX_INTROSPECTION_ROOTS}回です）",
                shape.introspection
            ),
        ));
    }
    if shape.aliases > limits.max_aliases as u64 {
        return Err(AppError::new(
            Code::TooManyAliases,
            format!("the query has {} aliases; at most {} are allowed", shape.aliases, limits.max_aliases),
            format!("クエリの別名が{}個あります（上限は{}個です）", shape.aliases, limits.max_aliases),
        ));
    }
    Ok(())
}

/// How deep brackets may nest in query text: the parser refuses selection sets nested
/// deeper than 64 but recurses on the way there, and on nested values without a limit.
const MAX_TEXT_NESTING: usize = 80;

/// The deepest nesting of `{`, `(` and `[` in query text, outside strings and comments.
fn text_nesting(query: &str) -> usize {
    let (mut depth, mut max) = (0usize, 0usize);
    let mut chars = query.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '#' => {
                for c in chars.by_ref() {
                    if c == '\n' || c == '\r' {
                        break;
                    }
                }
            }
            '"' => {
                let mut escaped = false;
                for c in chars.by_ref() {
                    match c {
                        _ if escaped => escaped = false,
                        '\\' => escaped = true,
                        '"' => break,
                        _ => {}
                    }
                }
            }
            '{' | '(' | '[' => {
                depth += 1;
                max = max.max(depth);
            }
            '}' | ')' | ']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Refuses query text longer than the limit, or nested deeper than the parser goes,
/// before it is parsed.
pub fn check_query_bytes(query: &str, limits: &Limits) -> Result<(), AppError> {
    let nesting = text_nesting(query);
    if nesting > MAX_TEXT_NESTING {
        return Err(AppError::new(
            Code::QueryTooDeep,
            format!("the query nests {nesting} brackets deep; at most {MAX_TEXT_NESTING} are allowed"),
            format!("クエリの括弧が{nesting}段入れ子になっています（上限は{MAX_TEXT_NESTING}段です）"),
        ));
    }
    if query.len() > limits.max_query_bytes {
        return Err(AppError::new(
            Code::QueryTooLarge,
            format!(
                "the query text is {} bytes; at most {} are allowed (pass data in variables)",
                query.len(),
                limits.max_query_bytes
            ),
            format!(
                "クエリ本文が{}バイトあります（上限は{}バイトです。データは変数で渡してください）",
                query.len(),
                limits.max_query_bytes
            ),
        ));
    }
    Ok(())
}

/// What running a document will ask for, read before it runs (the shape check has
/// bounded its size, so walking it with fragments expanded is cheap).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Weight {
    /// It may keep a thread busy for long: introspection, a page size (`limit`, `first`)
    /// of 1,000 or more, or a list argument of 1,000 entries or more.
    pub heavy: bool,
    /// Representations its `_entities` fields ask for together.
    pub representations: usize,
}

/// Page sizes and list arguments from this size on make a request heavy.
const HEAVY_LIST: usize = 1000;

/// Weighs a document with its variables.
pub fn weigh(doc: &ExecutableDocument, variables: &async_graphql::Variables) -> Weight {
    use async_graphql_value::{ConstValue, Value};
    fn list_len(value: &Value, variables: &async_graphql::Variables) -> Option<usize> {
        match value {
            Value::List(items) => Some(items.len()),
            Value::Variable(name) => match variables.get(name) {
                Some(ConstValue::List(items)) => Some(items.len()),
                _ => None,
            },
            _ => None,
        }
    }
    fn number(value: &Value, variables: &async_graphql::Variables) -> Option<u64> {
        match value {
            Value::Number(n) => n.as_u64(),
            Value::Variable(name) => match variables.get(name) {
                Some(ConstValue::Number(n)) => n.as_u64(),
                _ => None,
            },
            _ => None,
        }
    }
    fn walk(
        doc: &ExecutableDocument,
        set: &SelectionSet,
        variables: &async_graphql::Variables,
        depth: usize,
        w: &mut Weight,
    ) {
        // The shape check refused cycles; the depth bound is a second guard.
        if depth > 64 {
            return;
        }
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    let name = field.node.name.node.as_str();
                    w.heavy |= name == "__schema" || name == "__type";
                    for (argument, value) in &field.node.arguments {
                        let (argument, value) = (argument.node.as_str(), &value.node);
                        let len = list_len(value, variables).unwrap_or(0);
                        w.heavy |= len >= HEAVY_LIST;
                        if matches!(argument, "limit" | "first") {
                            w.heavy |= number(value, variables).is_some_and(|n| n >= HEAVY_LIST as u64);
                        }
                        if name == "_entities" && argument == "representations" {
                            w.representations = w.representations.saturating_add(len);
                        }
                    }
                    walk(doc, &field.node.selection_set.node, variables, depth + 1, w);
                }
                Selection::InlineFragment(inline) => {
                    walk(doc, &inline.node.selection_set.node, variables, depth + 1, w)
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = doc.fragments.get(&spread.node.fragment_name.node) {
                        walk(doc, &fragment.node.selection_set.node, variables, depth + 1, w);
                    }
                }
            }
        }
    }
    let mut weight = Weight::default();
    for (_, operation) in doc.operations.iter() {
        walk(doc, &operation.node.selection_set.node, variables, 0, &mut weight);
    }
    weight
}

/// Parsed documents that passed [`check_shape`], by their text.
#[derive(Default)]
pub struct DocumentCache {
    docs: Mutex<HashMap<String, ExecutableDocument>>,
}

/// Queries remembered before the cache starts over, and the longest one remembered.
const DOCUMENTS_KEPT: usize = 512;
const DOCUMENT_MAX_BYTES: usize = 16 * 1024;

impl DocumentCache {
    /// Checks a request's query (size, then shape once parsed, then the `_entities`
    /// representations it asks for together), hands async-graphql the parsed document,
    /// and tells whether the request is heavy. A query that does not parse is left to
    /// async-graphql, which answers with the parser's error.
    pub fn prepare(&self, request: &mut async_graphql::Request, limits: &Limits) -> Result<Weight, AppError> {
        check_query_bytes(&request.query, limits)?;
        let cached = self.docs.lock().ok().and_then(|docs| docs.get(&request.query).cloned());
        let doc = match cached {
            Some(doc) => doc,
            None => {
                let Ok(doc) = async_graphql::parser::parse_query(&request.query) else {
                    return Ok(Weight::default());
                };
                check_shape(&doc, limits)?;
                if request.query.len() <= DOCUMENT_MAX_BYTES {
                    if let Ok(mut docs) = self.docs.lock() {
                        if docs.len() >= DOCUMENTS_KEPT {
                            docs.clear();
                        }
                        docs.insert(request.query.clone(), doc.clone());
                    }
                }
                doc
            }
        };
        let weight = weigh(&doc, &request.variables);
        if weight.representations > limits.max_page {
            let (max, asked) = (limits.max_page, weight.representations);
            return Err(AppError::new(
                Code::TooManyRepresentations,
                format!("at most {max} representations per request, over all _entities fields; got {asked}"),
                format!("1回の要求で解決できる_entitiesは合計{max}件までです（{asked}件指定されました）"),
            ));
        }
        request.set_parsed_query(doc);
        Ok(weight)
    }
}

/// Turns async-graphql's complexity and depth into coded refusals (its own limits
/// answer with a bare message), and codes its parser's and validator's errors, which
/// carry neither a code nor Japanese text: GRAPHQL_PARSE_FAILED for a query that does not
/// parse, GRAPHQL_VALIDATION_FAILED for one that does not fit the schema (the codes Apollo
/// Server uses, which GraphQL clients and tools know).
pub struct ValidationLimits {
    pub max_complexity: usize,
    pub max_depth: usize,
}

impl ExtensionFactory for ValidationLimits {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ValidationLimits { max_complexity: self.max_complexity, max_depth: self.max_depth })
    }
}

/// An error of async-graphql's own with `code` and the Japanese text added (its English
/// message, which names the field or argument, is kept and quoted in the Japanese text).
/// One that already has a code keeps it.
fn coded(mut err: ServerError, code: Code, ja: &str) -> ServerError {
    if err.extensions.as_ref().is_some_and(|ext| ext.get("code").is_some()) {
        return err;
    }
    let mut ext = err.extensions.take().unwrap_or_default();
    ext.set("code", code.as_str());
    ext.set("messageJa", format!("{ja}（{}）", err.message));
    err.extensions = Some(ext);
    err
}

/// A refusal as async-graphql answers it, with the code and the Japanese text.
pub(crate) fn server_error(e: AppError) -> ServerError {
    let mut err = ServerError::new(e.message.clone(), None);
    let mut ext = async_graphql::ErrorExtensionValues::default();
    ext.set("code", e.code.as_str());
    ext.set("messageJa", e.message_ja);
    err.extensions = Some(ext);
    err
}

#[async_trait::async_trait]
impl Extension for ValidationLimits {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> Result<ExecutableDocument, ServerError> {
        next.run(ctx, query, variables)
            .await
            .map_err(|e| coded(e, Code::GraphqlParseFailed, "クエリを構文解析できません"))
    }

    async fn validation(
        &self,
        ctx: &ExtensionContext<'_>,
        next: NextValidation<'_>,
    ) -> Result<ValidationResult, Vec<ServerError>> {
        let result = next.run(ctx).await.map_err(|errors| {
            errors
                .into_iter()
                .map(|e| coded(e, Code::GraphqlValidationFailed, "クエリがスキーマに合っていません"))
                .collect::<Vec<_>>()
        })?;
        if result.depth > self.max_depth {
            return Err(vec![server_error(AppError::new(
                Code::QueryTooDeep,
                format!("the query nests {} levels deep; at most {} are allowed", result.depth, self.max_depth),
                format!("クエリの入れ子が{}段あります（上限は{}段です）", result.depth, self.max_depth),
            ))]);
        }
        if result.complexity > self.max_complexity {
            return Err(vec![server_error(AppError::new(
                Code::QueryTooCostly,
                format!(
                    "the query would cost {} (list sizes multiply what they select, across the whole document); at most {} is allowed: ask for smaller pages or fewer fields",
                    result.complexity, self.max_complexity
                ),
                format!(
                    "クエリのコストが{}です（一覧の件数と選択項目の積を文書全体で合計します）。上限は{}です。ページを小さくするか項目を減らしてください",
                    result.complexity, self.max_complexity
                ),
            ))]);
        }
        Ok(result)
    }
}

/// The shared content (bytes) one answer may still carry. Put in each request's data;
/// resolvers of lists charge it for what they return.
pub struct AnswerBudget {
    left: AtomicUsize,
    limit: usize,
}

impl AnswerBudget {
    pub fn new(limit: usize) -> AnswerBudget {
        AnswerBudget { left: AtomicUsize::new(limit), limit }
    }

    /// Takes `bytes` from the budget if they fit; false (and nothing taken) if not.
    pub fn try_take(&self, bytes: usize) -> bool {
        self.left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| left.checked_sub(bytes)).is_ok()
    }

    /// What is left.
    pub fn left(&self) -> usize {
        self.left.load(Ordering::Relaxed)
    }

    /// Takes `bytes`, or what is left if that is less.
    pub fn take_up_to(&self, bytes: usize) {
        let _ = self.left.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |left| Some(left.saturating_sub(bytes)));
    }

    /// Takes `bytes`, or refuses the field with ANSWER_TOO_LARGE.
    pub fn take(&self, bytes: usize) -> Result<(), AppError> {
        if self.try_take(bytes) {
            return Ok(());
        }
        Err(AppError::new(
            Code::AnswerTooLarge,
            format!(
                "the answer would carry more than {} bytes of shared content; ask for smaller pages or fewer fields",
                self.limit
            ),
            format!(
                "回答に含まれる共有情報が{}バイトを超えます。ページを小さくするか項目を減らしてください",
                self.limit
            ),
        ))
    }
}

/// One lane per request for the resolvers that load lists: aliased copies of a costly
/// field run one after another, so a request holds one batch of rows at a time rather
/// than one per alias (they are all charged to the same [`AnswerBudget`]).
#[derive(Default)]
pub struct RequestLane(tokio::sync::Mutex<()>);

/// Waits for this request's lane (no lane, as in a schema executed without one: no
/// waiting).
pub async fn lane<'a>(ctx: &async_graphql::Context<'a>) -> Option<tokio::sync::MutexGuard<'a, ()>> {
    match ctx.data_opt::<RequestLane>() {
        Some(lane) => Some(lane.0.lock().await),
        None => None,
    }
}

/// The budget of the request a resolver runs in (every HTTP request has one; a schema
/// executed without one, as in unit tests, is not limited).
pub fn budget<'a>(ctx: &async_graphql::Context<'a>) -> Option<&'a AnswerBudget> {
    ctx.data_opt::<AnswerBudget>()
}

/// Charges the budget for rows a resolver is about to return.
pub fn charge_rows(ctx: &async_graphql::Context<'_>, rows: &[crate::store::models::ObjectRow]) -> Result<(), AppError> {
    match budget(ctx) {
        Some(b) => b.take(rows.iter().map(|r| r.body.len() + r.envelope.len() + r.recipients.len() + 64).sum()),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(q: &str) -> ExecutableDocument {
        async_graphql::parser::parse_query(q).expect("parses")
    }

    #[test]
    fn fragments_are_counted_expanded_but_walked_once() {
        // Each level spreads the next twice: 2^40 fields once expanded, 40 fragments to walk.
        let mut q = String::from("query { ...F0 }\n");
        for i in 0..40 {
            q.push_str(&format!("fragment F{i} on Query {{ ...F{} ...F{} }}\n", i + 1, i + 1));
        }
        q.push_str("fragment F40 on Query { __typename }\n");
        let t0 = std::time::Instant::now();
        let s = shape(&parsed(&q)).expect("shape");
        assert_eq!(s.fields, 1u64 << 40);
        assert!(t0.elapsed() < std::time::Duration::from_secs(1));
        let err = check_shape(&parsed(&q), &Limits::default()).expect_err("refused");
        assert_eq!(err.code, "QUERY_TOO_WIDE");
    }

    #[test]
    fn aliases_and_cycles_are_refused() {
        let mut q = String::from("{");
        for i in 0..65 {
            q.push_str(&format!(" a{i}: __typename"));
        }
        q.push('}');
        assert_eq!(check_shape(&parsed(&q), &Limits::default()).expect_err("aliases").code, "TOO_MANY_ALIASES");
        let cyclic = "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        assert_eq!(check_shape(&parsed(cyclic), &Limits::default()).expect_err("cycle").code, "FRAGMENT_CYCLE");
        let unused = "query { __typename } fragment A on Query { ...A }";
        assert_eq!(check_shape(&parsed(unused), &Limits::default()).expect_err("cycle").code, "FRAGMENT_CYCLE");
        let fine = "query { me { role } ...F } fragment F on Query { hub { id } x: hub { name } }";
        assert_eq!(shape(&parsed(fine)).expect("shape"), Shape { fields: 6, aliases: 1, introspection: 0 });
        let schema =
            "{ a: __schema { queryType { name } } ...F } fragment F on Query { __type(name: \"Query\") { name } }";
        assert_eq!(shape(&parsed(schema)).expect("shape").introspection, 2);
        assert!(check_shape(&parsed(schema), &Limits::default()).is_ok());
        let thrice = "{ a: __schema { queryType { name } } b: __schema { queryType { name } } c: __type(name: \"Query\") { name } }";
        assert_eq!(
            check_shape(&parsed(thrice), &Limits::default()).expect_err("thrice").code,
            "TOO_MUCH_INTROSPECTION"
        );
    }

    #[test]
    fn nesting_is_measured_outside_strings_and_comments() {
        assert_eq!(text_nesting("{ a { b(x: [1, [2]]) } }"), 5);
        assert_eq!(text_nesting("{ a(s: \"{{{{{{\\\"{{\") # {{{{\n }"), 2);
        let deep = format!("{}{}", "{ a ".repeat(200), "}".repeat(200));
        assert_eq!(check_query_bytes(&deep, &Limits::default()).expect_err("deep").code, "QUERY_TOO_DEEP");
    }

    #[test]
    fn weight_reads_page_sizes_lists_and_introspection_with_variables() {
        let vars = |v: serde_json::Value| async_graphql::Variables::from_json(v);
        let light = parsed("query($v: [String!]!) { lookup(values: $v) { input } changes(limit: 100) { cursor } }");
        let values: Vec<String> = (0..100).map(|i| format!("v{i}")).collect();
        assert!(!weigh(&light, &vars(serde_json::json!({"v": values}))).heavy);
        let values: Vec<String> = (0..1000).map(|i| format!("v{i}")).collect();
        assert!(weigh(&light, &vars(serde_json::json!({"v": values}))).heavy);
        let page = parsed("query($l: Int) { ...F } fragment F on Query { changes(limit: $l) { cursor } }");
        assert!(weigh(&page, &vars(serde_json::json!({"l": 10000}))).heavy);
        assert!(!weigh(&page, &vars(serde_json::json!({"l": 10}))).heavy);
        assert!(weigh(&parsed("{ __schema { queryType { name } } }"), &vars(serde_json::json!({}))).heavy);
        let entities = parsed(
            "query($r: [_Any!]!) { a: _entities(representations: $r) { __typename } b: _entities(representations: [{}, {}]) { __typename } }",
        );
        let reps: Vec<serde_json::Value> =
            (0..3).map(|_| serde_json::json!({"__typename": "Indicator", "id": "x"})).collect();
        assert_eq!(weigh(&entities, &vars(serde_json::json!({"r": reps}))).representations, 5);
    }

    #[test]
    fn the_budget_takes_what_fits_and_refuses_the_rest() {
        let budget = AnswerBudget::new(100);
        assert!(budget.try_take(60));
        assert!(!budget.try_take(41));
        assert!(budget.try_take(40));
        assert_eq!(budget.take(1).expect_err("over").code, "ANSWER_TOO_LARGE");
    }
}
