// Composes a running renkei hub with a second, small subgraph through the real
// @apollo/gateway (IntrospectAndCompose), all on 127.0.0.1. Run by
// tests/tests/apollo.rs; nothing here is a mock of Apollo.
//
// Environment:
//   HUB_URL    the hub's GraphQL endpoint, e.g. http://127.0.0.1:PORT/graphql
//   HUB_TOKEN  a bearer token the gateway introspects the hub with (`_service { sdl }`)
//   TICKETS    JSON list of {id, title, indicatorId?, supplierId?}: the second
//              subgraph's data, whose Ticket.indicator / Ticket.supplier are references
//              to the hub's entities, so querying them makes the gateway call the
//              hub's `_entities`.
//
// Prints one JSON line {"gateway": URL, "tickets": URL} once both listen (ports chosen
// by the system), then serves until stdin closes or the process is killed.
// Requests to the gateway forward their Authorization header to both subgraphs.

import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';
import { buildSubgraphSchema } from '@apollo/subgraph';
import { parse } from 'graphql';

const fail = (message) => {
  console.error(`gateway.mjs: ${message}`);
  process.exit(2);
};

const hubUrl = process.env.HUB_URL || fail('HUB_URL is not set');
const hubToken = process.env.HUB_TOKEN || fail('HUB_TOKEN is not set');
const tickets = JSON.parse(process.env.TICKETS || '[]');

// The second subgraph: tickets that point at the hub's indicators and suppliers. It
// declares them as entity stubs it cannot resolve itself (resolvable: false).
const typeDefs = parse(`
  extend schema @link(url: "https://specs.apollo.dev/federation/v2.5", import: ["@key"])

  type Indicator @key(fields: "id", resolvable: false) {
    id: ID!
  }

  type Supplier @key(fields: "id", resolvable: false) {
    id: ID!
  }

  type Ticket {
    id: ID!
    title: String!
    indicator: Indicator
    supplier: Supplier
  }

  type Query {
    tickets: [Ticket!]!
  }
`);

const resolvers = {
  Query: { tickets: () => tickets },
  Ticket: {
    indicator: (t) => (t.indicatorId ? { __typename: 'Indicator', id: t.indicatorId } : null),
    supplier: (t) => (t.supplierId ? { __typename: 'Supplier', id: t.supplierId } : null),
  },
};

const listen = { host: '127.0.0.1', port: 0 };

const ticketServer = new ApolloServer({ schema: buildSubgraphSchema([{ typeDefs, resolvers }]) });
const { url: ticketsUrl } = await startStandaloneServer(ticketServer, { listen });

class ForwardAuthorization extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    // Introspection runs with an empty context; its header comes from introspectionHeaders.
    if (context && context.authorization) {
      request.http.headers.set('authorization', context.authorization);
    }
  }
}

const gateway = new ApolloGateway({
  supergraphSdl: new IntrospectAndCompose({
    subgraphs: [
      { name: 'hub', url: hubUrl },
      { name: 'tickets', url: ticketsUrl },
    ],
    introspectionHeaders: { authorization: `Bearer ${hubToken}` },
  }),
  buildService: ({ url }) => new ForwardAuthorization({ url }),
});

const server = new ApolloServer({ gateway });
const { url: gatewayUrl } = await startStandaloneServer(server, {
  listen,
  context: async ({ req }) => ({ authorization: req.headers.authorization }),
});

console.log(JSON.stringify({ gateway: gatewayUrl, tickets: ticketsUrl }));

const stop = async () => {
  await server.stop().catch(() => {});
  await ticketServer.stop().catch(() => {});
  process.exit(0);
};
process.stdin.on('end', stop);
process.stdin.resume();
process.on('SIGTERM', stop);
