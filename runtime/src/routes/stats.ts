import type { FastifyInstance } from 'fastify';
import type { Cra } from '../domain/cra.js';
import { errors } from './schemas.js';

export interface StatsCounters {
  snapshot(): Record<string, number | Record<string, number>>;
}

export function statsRoutes(app: FastifyInstance, cra: Cra, counters: StatsCounters): void {
  app.get(
    '/v1/stats',
    {
      schema: {
        tags: ['stats'],
        summary: 'Runtime statistics of this replica',
        response: { 200: { type: 'object', additionalProperties: true }, ...errors(401) },
      },
    },
    async () => ({
      uptime_ms: Date.now() - cra.startedAt,
      bundle_version: cra.bundles.current.version,
      atlases_loaded: cra.bundles.current.atlases.length,
      active_sessions: await cra.stores.sessions.count({ status: 'active' }),
      pending_approvals: await cra.stores.approvals.countPending(),
      trace_events_emitted: cra.tracer.eventsEmitted,
      rate_limiter: cra.limiter.mode(),
      ...counters.snapshot(),
    }),
  );
}
