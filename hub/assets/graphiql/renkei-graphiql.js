// Starts GraphiQL on the hub's page (hub/src/graphiql.rs). It is a file of its own, not
// an inline script, so that the page's Content-Security-Policy can forbid inline scripts.
// React, ReactDOM and GraphiQL are the pinned bundles the page loads before this file.
(function () {
  'use strict';

  // GraphiQL's dialogs add one <style> element (react-style-singleton, which marks it
  // with `__webpack_nonce__`): the page's style-src allows it by this per-page nonce.
  var script = document.currentScript;
  if (script && script.dataset.styleNonce) {
    window.__webpack_nonce__ = script.dataset.styleNonce;
  }

  // The page is served at .../graphql and posts to the same address.
  var endpoint = 'graphql';

  // GraphiQL's own schema query nests type references nine deep, 15 levels in all,
  // past the hub's default limit of 12 (`limits.max_query_depth`). This one asks for the
  // same (graphql-js `getIntrospectionQuery()` defaults) with type references six deep
  // (any type with up to six list and non-null wrappers), 12 levels.
  var introspection = [
    'query IntrospectionQuery {',
    '  __schema {',
    '    queryType { name }',
    '    mutationType { name }',
    '    subscriptionType { name }',
    '    types { ...FullType }',
    '    directives { name description locations args { ...InputValue } }',
    '  }',
    '}',
    'fragment FullType on __Type {',
    '  kind',
    '  name',
    '  description',
    '  fields(includeDeprecated: true) {',
    '    name',
    '    description',
    '    args { ...InputValue }',
    '    type { ...TypeRef }',
    '    isDeprecated',
    '    deprecationReason',
    '  }',
    '  inputFields { ...InputValue }',
    '  interfaces { ...TypeRef }',
    '  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }',
    '  possibleTypes { ...TypeRef }',
    '}',
    'fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }',
    'fragment TypeRef on __Type {',
    '  kind name ofType { kind name ofType { kind name ofType {',
    '  kind name ofType { kind name ofType { kind name ofType { kind name } } } } } }',
    '}',
  ].join('\n');

  // Headers come from GraphiQL's headers editor. The prefilled "Bearer " with no token
  // is left out rather than sent: the hub would count an empty token as a failed
  // authentication (and lock the address out after a few).
  function fetcher(params, options) {
    var headers = { 'Content-Type': 'application/json', Accept: 'application/json' };
    var given = (options && options.headers) || {};
    Object.keys(given).forEach(function (name) {
      var value = String(given[name]);
      if (name.toLowerCase() === 'authorization' && /^\s*(bearer)?\s*$/i.test(value)) {
        return;
      }
      headers[name] = value;
    });
    if (params && params.operationName === 'IntrospectionQuery') {
      params = { operationName: 'IntrospectionQuery', query: introspection };
    }
    return fetch(endpoint, {
      method: 'POST',
      headers: headers,
      body: JSON.stringify(params),
      credentials: 'omit',
      cache: 'no-store',
    })
      .then(function (response) {
        return response.text();
      })
      .then(function (text) {
        try {
          return JSON.parse(text);
        } catch (e) {
          return { errors: [{ message: text }] };
        }
      });
  }

  var defaultQuery = [
    '# renkei hub: put your token after "Bearer " under Headers',
    '# below, then run the query (Ctrl-Enter).',
    '# 下の Headers の "Bearer " の後にトークンを入力して、',
    '# クエリを実行してください（Ctrl-Enter）。',
    '{',
    '  me {',
    '    role',
    '    organization {',
    '      name',
    '    }',
    '  }',
    '}',
    '',
  ].join('\n');

  // GraphiQL 3.9 saves each query of its history with the headers it was sent with, token
  // and all, in localStorage even with shouldPersistHeaders off. Its storage is this one,
  // which drops every "headers" field before saving.
  function withoutHeaders(value) {
    if (typeof value !== 'string' || value.charAt(0) !== '{') {
      return value;
    }
    try {
      return JSON.stringify(JSON.parse(value), function (key, field) {
        return key === 'headers' ? undefined : field;
      });
    } catch (e) {
      return value; // a query's text, not JSON
    }
  }
  var local = null;
  try {
    local = window.localStorage;
  } catch (e) {
    local = null; // storage disabled: GraphiQL keeps nothing
  }
  function ownKeys() {
    var keys = [];
    for (var i = 0; local && i < local.length; i++) {
      var key = local.key(i);
      if (key && key.indexOf('graphiql:') === 0) {
        keys.push(key);
      }
    }
    return keys;
  }
  var storage = local && {
    getItem: function (key) {
      return local.getItem(key);
    },
    setItem: function (key, value) {
      local.setItem(key, withoutHeaders(value));
    },
    removeItem: function (key) {
      local.removeItem(key);
    },
    clear: function () {
      ownKeys().forEach(function (key) {
        local.removeItem(key);
      });
    },
    get length() {
      return ownKeys().length;
    },
  };

  var root = ReactDOM.createRoot(document.getElementById('graphiql'));
  root.render(
    React.createElement(GraphiQL, {
      fetcher: fetcher,
      defaultQuery: defaultQuery,
      defaultHeaders: '{\n  "Authorization": "Bearer "\n}',
      defaultEditorToolsVisibility: 'headers',
      // Tokens typed into the headers editor are not kept in the browser's storage.
      shouldPersistHeaders: false,
      storage: storage,
    }),
  );
})();
