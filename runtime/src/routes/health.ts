import type { FastifyInstance } from 'fastify';
import type { Cra } from '../domain/cra.js';
import { ALWAYS_ANSWER } from '../plugins/telemetry.js';

export interface ReadinessSource {
  draining(): boolean;
}

/** Liveness stays cheap; readiness checks the bundle and the stores. Both are unauthenticated. */
export function healthRoutes(app: FastifyInstance, cra: Cra, lifecycle: ReadinessSource): void {
  app.get('/healthz', { schema: { tags: ['health'] }, config: ALWAYS_ANSWER }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags: ['health'] }, config: ALWAYS_ANSWER }, async (_request, reply) => {
    const stores = await cra.stores.health();
    // An empty bundle (waiting for the operator's first one) serves nothing: not ready.
    const bundle =
      cra.bundles.loaded && cra.bundles.current.atlases.length > 0
        ? { ok: true, version: cra.bundles.current.version, atlases: cra.bundles.current.atlases.length }
        : { ok: false, version: cra.bundles.loaded ? cra.bundles.current.version : 'none', atlases: 0 };
    const draining = lifecycle.draining();
    const ok = bundle.ok && !draining && Object.values(stores).every((s) => s.ok);
    return reply.code(ok ? 200 : 503).send({
      status: ok ? 'ready' : 'not_ready',
      bundle,
      stores,
      rate_limiter: cra.limiter.health?.() ?? { ok: true, mode: cra.limiter.mode() },
      ...(draining ? { draining: true } : {}),
    });
  });
}
