/**
 * `buildApp(deps)`: the HTTP surface as a fastify instance, the unit under test (inject) and the
 * thing `server.ts` listens with. Open routes: /healthz, /readyz, /openapi.json, /docs, the trace
 * viewer's static files at /ui. Everything under /v1 is registered in a scoped context that
 * authenticates first.
 */
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { randomIds, systemClock, type Clock, type IdSource } from '@cra/core';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { IdentityRegistry } from './auth/identities.js';
import type { JwtVerifier } from './auth/jwt.js';
import type { Cra } from './domain/cra.js';
import type { Tracer } from './domain/tracer.js';
import { asciiJsonPayload } from './plugins/ascii-json.js';
import { registerAuth } from './plugins/auth.js';
import { mcpRoutes, type McpHttpOptions } from './mcp/http.js';
import { registerErrorHandling } from './plugins/errors.js';
import { operationSpan } from './domain/call-context.js';
import { metricsRoute, registerTelemetry, type TelemetryOptions } from './plugins/telemetry.js';
import { registerRateLimit, type RequestRateLimitOptions } from './plugins/rate-limit.js';
import { registerUi, type UiOptions } from './plugins/ui.js';
import { adaptRoutes } from './routes/adapt.js';
import { approvalRoutes } from './routes/approvals.js';
import { atlasRoutes } from './routes/atlases.js';
import { carpRoutes } from './routes/carp.js';
import { healthRoutes, type ReadinessSource } from './routes/health.js';
import { SHARED_SCHEMAS } from './routes/schemas.js';
import { sessionRoutes } from './routes/sessions.js';
import { statsRoutes, type StatsCounters } from './routes/stats.js';
import { traceRoutes } from './routes/traces.js';
import { resolveStreamRoutes } from './routes/resolve-stream.js';
import {
  registerWebSockets,
  TRACE_STREAM_DEFAULTS,
  TraceStreamHub,
  traceStreamRoutes,
  type TraceStreamOptions,
} from './ws/trace-stream.js';
import { VERSION } from './version.js';

export interface AppDeps {
  cra: Cra;
  identities: () => IdentityRegistry;
  authMode: 'required' | 'insecure-none';
  /** Verifies JWT bearer tokens (auth.jwt.issuers); absent when no issuer is configured. */
  jwt?: JwtVerifier;
  counters: StatsCounters;
  /** Per-agent request limit of /v1 (limiter + limitFor(principal)), checked after auth. */
  rateLimit?: RequestRateLimitOptions;
  bodyLimitBytes?: number;
  /** Whole-request timeout in ms (0 = none). */
  requestTimeoutMs?: number;
  logger?: FastifyServerOptions['logger'];
  ids?: IdSource;
  /** The runtime's clock (adapters check resolution expiry and stamp requests with it). */
  clock?: Clock;
  lifecycle?: ReadinessSource;
  /** Live events for WebSocket subscribers; default this replica's tracer (plus other replicas' with Redis). */
  traceFeed?: Pick<Tracer, 'subscribe'>;
  /** SSE and WebSocket streaming: heartbeat interval, slow-consumer limit, subscriptions per socket. */
  streaming?: Partial<TraceStreamOptions>;
  /** MCP over Streamable HTTP at `/mcp` (authenticated like /v1); absent: not served. */
  mcp?: McpHttpOptions;
  /** Prometheus metrics, load shedding; `/metrics` open unless `openMetrics` is false. */
  telemetry?: TelemetryOptions & { openMetrics: boolean; serveMetrics: boolean };
  /** The trace viewer at `/ui` (default: served from runtime/dist/ui); false: not served. */
  ui?: UiOptions | false;
}

export const OPENAPI_INFO = {
  title: 'CRA runtime API',
  description:
    'CARP over HTTP: resolve context and permitted actions, execute them through CRA, and read the TRACE audit log.',
  version: VERSION,
} as const;

export async function buildApp(deps: AppDeps): Promise<FastifyInstance> {
  const ids = deps.ids ?? randomIds;
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: deps.bodyLimitBytes ?? 1_048_576,
    requestTimeout: deps.requestTimeoutMs ?? 0,
    requestIdHeader: 'x-request-id',
    genReqId: () => ids.uuid(),
    ajv: { customOptions: { allErrors: true, removeAdditional: false, coerceTypes: 'array', useDefaults: true } },
  });
  registerErrorHandling(app, async (request) => {
    // Authenticated CARP calls only: the session named in the body gets `error.internal`.
    if (!request.principal) return;
    const traceparent = request.headers.traceparent;
    const span = operationSpan(ids, undefined, typeof traceparent === 'string' ? traceparent : undefined);
    await deps.cra.sessions.recordInternal(request.principal, span, request.body, String(request.id));
  });
  // CARP speaks JSON only: anything else is 415, not a string body failing validation.
  app.removeContentTypeParser('text/plain');

  for (const [name, schema] of Object.entries(SHARED_SCHEMAS)) app.addSchema({ ...schema, $id: name, title: name });
  await app.register(swagger, {
    refResolver: { buildLocalReference: (json, _baseUri, _fragment, i) => String(json.$id ?? `def-${i}`) },
    openapi: {
      openapi: '3.1.0',
      info: OPENAPI_INFO,
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', description: 'API key (or JWT) as a bearer token' },
          apiKey: { type: 'apiKey', in: 'header', name: 'X-API-Key' },
        },
      },
      security: [{ bearer: [] }, { apiKey: [] }],
      tags: [
        { name: 'carp', description: 'Resolve, execute, validate' },
        { name: 'sessions', description: 'CARP sessions; one TRACE chain each' },
        { name: 'traces', description: 'TRACE events, export and verification' },
        { name: 'approvals', description: 'Executions waiting for an approver' },
        { name: 'atlases', description: 'What the runtime serves' },
        { name: 'stats', description: 'Runtime statistics' },
        { name: 'adapters', description: 'Tools and prompts for OpenAI, Anthropic and MCP; tool calls through CARP' },
        { name: 'health', description: 'Probes' },
      ],
    },
  });
  // WebSocket before any route: upgrades then dispatch through the router, hooks and auth.
  const traceStream = new TraceStreamHub(deps.traceFeed ?? deps.cra.tracer, {
    ...TRACE_STREAM_DEFAULTS,
    ...deps.streaming,
  });
  if (deps.telemetry) {
    const { metrics } = deps.telemetry;
    traceStream.onDrop((reason) => metrics.wsDropped(reason));
  }
  await registerWebSockets(app, traceStream);
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  if (deps.ui !== false) await registerUi(app, deps.ui ?? {});

  if (deps.telemetry) {
    await registerTelemetry(app, deps.telemetry);
    if (deps.telemetry.serveMetrics && deps.telemetry.openMetrics) metricsRoute(app, deps.telemetry.metrics);
  }
  const lifecycle = deps.lifecycle ?? { draining: () => false };
  // While draining, every response closes its connection: a keep-alive client that had a request
  // in flight must not hold the server open until the keep-alive timeout.
  app.addHook('onSend', async (_request, reply) => {
    if (lifecycle.draining()) reply.header('connection', 'close');
  });
  // Large JSON answers with non-ASCII text go out as ASCII-escaped bytes (plugins/ascii-json.ts).
  app.addHook('onSend', asciiJsonPayload);
  healthRoutes(app, deps.cra, lifecycle);

  await app.register(async (api) => {
    registerAuth(api, { mode: deps.authMode, identities: deps.identities, ...(deps.jwt ? { jwt: deps.jwt } : {}) });
    if (deps.rateLimit) registerRateLimit(api, deps.rateLimit);
    carpRoutes(api, deps.cra);
    resolveStreamRoutes(api, deps.cra, { heartbeatMs: traceStream.options.heartbeatMs });
    traceStreamRoutes(api, deps.cra, traceStream);
    sessionRoutes(api, deps.cra, ids);
    traceRoutes(api, deps.cra);
    approvalRoutes(api, deps.cra);
    atlasRoutes(api, deps.cra);
    adaptRoutes(api, deps.cra, ids, deps.clock ?? systemClock);
    statsRoutes(api, deps.cra, { snapshot: () => ({ ...deps.counters.snapshot(), ...traceStream.snapshot() }) });
    if (deps.mcp) mcpRoutes(api, { cra: deps.cra, ids, feed: deps.traceFeed ?? deps.cra.tracer, options: deps.mcp });
    if (deps.telemetry?.serveMetrics && !deps.telemetry.openMetrics) {
      metricsRoute(api, deps.telemetry.metrics, 'auth');
    }
  });
  return app;
}
