"""Schemathesis hooks for ops/schemathesis.sh (loaded through SCHEMATHESIS_HOOKS=hooks).

Schemathesis judges a GraphQL answer by generic rules: any error that carries a `path`
counts as a "server error". The hub answers a refusal (FORBIDDEN for a member asking a
coordinator's question, NOT_FOUND, INVALID_INPUT, a cost limit...) with such a coded
error, which is correct behaviour, so the run uses the checks below instead of
`not_a_server_error` and `positive_data_acceptance`:

- `renkei_no_server_error`: no HTTP 5xx; no GraphQL error coded INTERNAL or UNAVAILABLE
  (the embedded database on loopback has no reason to be unavailable); no async-graphql
  internal error ("internal: ...").
- `renkei_errors_coded`: every error carries a stable `extensions.code` and its Japanese
  text (`extensions.messageJa`), as the hub's errors must.
- `renkei_response_conforms`: the answer is JSON; a 200 is a GraphQL response whose
  `data` matches the query it answers against the published schema (every selected
  field present and none other, no null where the schema says non-null, lists, enum
  values, scalar kinds, union and interface members); a 4xx carries coded errors.

`_Any` (the federation representations of `_entities`) gets a strategy of its own:
`{__typename, id}` objects naming the hub's entity types (and now and then another).
"""

from __future__ import annotations

import json
import math

import graphql
import schemathesis
from hypothesis import strategies as st
from schemathesis.graphql import nodes

ENTITY_TYPES = ["Advisory", "Incident", "Indicator", "Offering", "Supplier", "SupplierAssessment", "Technique"]

SERVER_FAILURE_CODES = {"INTERNAL", "UNAVAILABLE"}


def _field(name: str, value: graphql.ValueNode) -> graphql.ObjectFieldNode:
    return graphql.ObjectFieldNode(name=graphql.NameNode(value=name), value=value)


_typenames = st.one_of(st.sampled_from(ENTITY_TYPES), st.text(max_size=12))
_ids = st.one_of(st.uuids().map(str), st.text(max_size=40))
_representation = st.builds(
    lambda typename, ident: nodes.Object([_field("__typename", nodes.String(typename)), _field("id", nodes.String(ident))]),
    _typenames,
    _ids,
)
schemathesis.graphql.scalar("_Any", _representation)


def _payload(response):
    try:
        return json.loads(response.content)
    except (ValueError, UnicodeDecodeError) as exc:
        raise AssertionError(f"the answer (HTTP {response.status_code}) is not JSON: {exc}") from None


def _errors(response):
    """The GraphQL errors of an answer that is a JSON object, else none."""
    try:
        payload = json.loads(response.content)
    except (ValueError, UnicodeDecodeError):
        return []  # renkei_response_conforms reports it
    if not isinstance(payload, dict) or not isinstance(payload.get("errors"), list):
        return []
    return [e for e in payload["errors"] if isinstance(e, dict)]


def _code(error):
    extensions = error.get("extensions")
    return extensions.get("code") if isinstance(extensions, dict) else None


@schemathesis.check
def renkei_no_server_error(ctx, response, case):
    """No 5xx, and no GraphQL error that reports a failure of the hub rather than a refusal."""
    if response.status_code >= 500:
        raise AssertionError(f"HTTP {response.status_code}: {response.content[:500]!r}")
    for error in _errors(response):
        message = str(error.get("message", ""))
        code = _code(error)
        if code in SERVER_FAILURE_CODES:
            raise AssertionError(f"GraphQL error coded {code}: {message}")
        if message.startswith("internal:"):
            raise AssertionError(f"async-graphql internal error: {message}")
    return None


@schemathesis.check
def renkei_errors_coded(ctx, response, case):
    """Every error carries a stable `extensions.code` and its Japanese text."""
    for error in _errors(response):
        message = str(error.get("message", ""))
        if _code(error) is None:
            where = f" (path {error['path']})" if "path" in error else ""
            raise AssertionError(f"error without extensions.code: {message}{where}")
        if not error["extensions"].get("messageJa"):
            raise AssertionError(f"error coded {_code(error)} has no extensions.messageJa: {message}")
    return None


@schemathesis.check
def renkei_response_conforms(ctx, response, case):
    """The answer is a well-formed GraphQL response (200) or coded refusal (4xx)."""
    status = response.status_code
    if status >= 500:
        return None  # renkei_no_server_error reports it
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    if not content_type.startswith("application/json"):
        raise AssertionError(f"HTTP {status} with content-type {content_type!r}, not application/json")
    payload = _payload(response)
    if not isinstance(payload, dict):
        raise AssertionError("the answer is not a JSON object")
    errors = payload.get("errors")
    if errors is not None:
        if not isinstance(errors, list) or not errors:
            raise AssertionError("`errors` is present but not a non-empty list")
        for error in errors:
            if not isinstance(error, dict) or not isinstance(error.get("message"), str):
                raise AssertionError(f"an error without a message: {error!r}")
    if status != 200:
        if not errors:
            raise AssertionError(f"HTTP {status} without errors")
        if any(not isinstance(e.get("extensions"), dict) or not e["extensions"].get("code") for e in errors):
            raise AssertionError(f"HTTP {status} with an error that has no extensions.code")
        return None
    extra = set(payload) - {"data", "errors", "extensions"}
    if extra:
        raise AssertionError(f"unexpected top-level keys {sorted(extra)}")
    if "data" not in payload:
        if not errors:
            raise AssertionError("neither data nor errors")
        return None  # refused before execution
    data = payload["data"]
    if data is None:
        if not errors:
            raise AssertionError("data is null without errors")
        return None
    # Schemathesis keeps the query text as the case's body (it sends {"query": body}).
    query = case.body.get("query") if isinstance(case.body, dict) else case.body
    if not isinstance(query, str):
        return None
    schema = case.operation.schema.client_schema
    error_paths = [tuple(e["path"]) for e in errors or () if isinstance(e.get("path"), list)]
    Conformance(schema, graphql.parse(query), error_paths).check_document(data)
    return None


class Conformance:
    """Walks `data` along the query's selections and the schema's types."""

    def __init__(self, schema: graphql.GraphQLSchema, document: graphql.DocumentNode, error_paths=()):
        self.schema = schema
        # async-graphql 7.2 leaves a field that failed out of its object (and answers an
        # object whose every field failed as null) instead of nulling it: a missing key
        # or a null is accepted where an error was reported at or below it.
        self.error_paths = list(error_paths)
        self.fragments = {
            d.name.value: d for d in document.definitions if isinstance(d, graphql.FragmentDefinitionNode)
        }
        operations = [d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)]
        self.operation = operations[0]

    def errored(self, path) -> bool:
        n = len(path)
        return any(len(p) >= n and list(p[:n]) == list(path) for p in self.error_paths)

    def fail(self, path, message):
        where = ".".join(str(p) for p in path) or "data"
        raise AssertionError(f"response does not conform to the schema at {where}: {message}")

    def check_document(self, data):
        op = self.operation.operation
        root = self.schema.mutation_type if op == graphql.OperationType.MUTATION else self.schema.query_type
        self.check_object(data, root, [self.operation.selection_set], [])

    def _conditional(self, node) -> bool:
        """Whether @skip/@include may leave the node out (then its presence is not required)."""
        return any(d.name.value in ("skip", "include") for d in (node.directives or ()))

    def collect(self, parent, runtime, selection_sets, owner, definite, out):
        """Response key -> list of (field node, type that declares it, required)."""
        for selection_set in selection_sets:
            for sel in selection_set.selections:
                if isinstance(sel, graphql.FieldNode):
                    key = sel.alias.value if sel.alias else sel.name.value
                    out.setdefault(key, []).append((sel, owner, definite and not self._conditional(sel)))
                    continue
                if isinstance(sel, graphql.InlineFragmentNode):
                    condition = sel.type_condition.name.value if sel.type_condition else None
                    inner = sel.selection_set
                else:
                    fragment = self.fragments.get(sel.name.value)
                    if fragment is None:
                        continue
                    condition = fragment.type_condition.name.value
                    inner = fragment.selection_set
                target = self.schema.get_type(condition) if condition else owner
                applies = self.applies(target, parent, runtime)
                if applies is False:
                    continue
                self.collect(
                    parent,
                    runtime,
                    [inner],
                    target,
                    definite and applies is True and not self._conditional(sel),
                    out,
                )
        return out

    def applies(self, target, parent, runtime):
        """True, False, or None (unknown: an abstract type whose runtime type is not selected)."""
        if target is None or target == parent:
            return True
        if runtime is not None:
            if target == runtime:
                return True
            if graphql.is_abstract_type(target):
                return self.schema.is_sub_type(target, runtime)
            return False
        return None

    def check_object(self, value, parent, selection_sets, path):
        if not isinstance(value, dict):
            self.fail(path, f"expected an object of type {parent.name}, got {value!r:.100}")
        runtime = parent if isinstance(parent, graphql.GraphQLObjectType) else None
        if runtime is None:
            # An abstract type: its runtime type is known if __typename is selected.
            probe = self.collect(parent, None, selection_sets, parent, True, {})
            for key, entries in probe.items():
                if entries[0][0].name.value == "__typename" and key in value:
                    name = value[key]
                    candidate = self.schema.get_type(name) if isinstance(name, str) else None
                    if not isinstance(candidate, graphql.GraphQLObjectType) or not self.schema.is_sub_type(
                        parent, candidate
                    ):
                        self.fail(path + [key], f"{name!r} is not a member of {parent.name}")
                    runtime = candidate
                    break
        fields = self.collect(parent, runtime, selection_sets, runtime or parent, True, {})
        for key in value:
            if key not in fields:
                self.fail(path, f"key {key!r} was not selected")
        for key, entries in fields.items():
            if key not in value:
                if any(required for _, _, required in entries) and not self.errored(path + [key]):
                    self.fail(path, f"selected field {key!r} is missing")
                continue
            node, owner, _ = entries[0]
            name = node.name.value
            if name == "__typename":
                if not isinstance(value[key], str):
                    self.fail(path + [key], "__typename is not a string")
                continue
            if name.startswith("__"):
                continue  # introspection: not checked here
            owner_type = runtime or owner
            field_def = getattr(owner_type, "fields", {}).get(name) or getattr(owner, "fields", {}).get(name)
            if field_def is None:
                self.fail(path + [key], f"{owner_type.name} has no field {name!r}")
            subsets = [n.selection_set for n, _, _ in entries if n.selection_set is not None]
            self.check_value(value[key], field_def.type, subsets, path + [key])

    def check_value(self, value, type_, selection_sets, path):
        if graphql.is_non_null_type(type_):
            if value is None and not self.errored(path):
                self.fail(path, f"null for non-null type {type_}")
            return self.check_value(value, type_.of_type, selection_sets, path)
        if value is None:
            return None
        if graphql.is_list_type(type_):
            if not isinstance(value, list):
                self.fail(path, f"expected a list for {type_}, got {value!r:.100}")
            for i, item in enumerate(value):
                self.check_value(item, type_.of_type, selection_sets, path + [i])
            return None
        if isinstance(type_, graphql.GraphQLEnumType):
            if value not in type_.values:
                self.fail(path, f"{value!r:.100} is not a value of enum {type_.name}")
            return None
        if isinstance(type_, graphql.GraphQLScalarType):
            self.check_scalar(value, type_.name, path)
            return None
        return self.check_object(value, type_, selection_sets, path)

    def check_scalar(self, value, name, path):
        ok = True
        if name == "Int":
            ok = isinstance(value, int) and not isinstance(value, bool) and -(2**31) <= value < 2**31
        elif name == "Float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
        elif name in ("String", "ID"):
            ok = isinstance(value, str)
        elif name == "Boolean":
            ok = isinstance(value, bool)
        if not ok:
            self.fail(path, f"{value!r:.100} is not a valid {name}")
