/**
 * Cross-cutting HTTP concerns: request timing into the metrics, load shedding (503 + Retry-After
 * when the event loop lags), and GET /metrics (open, or for admins and auditors only).
 */
import underPressure from '@fastify/under-pressure';
import { CraError, type Principal } from '@cra/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Metrics } from '../telemetry/metrics.js';

export interface TelemetryOptions {
  metrics: Metrics;
  /** 0 disables shedding. */
  maxEventLoopDelayMs: number;
  retryAfterSeconds: number;
}

/** Routes that must answer even under pressure: the orchestrator's probes. */
export const ALWAYS_ANSWER = { pressureHandler: () => undefined } as const;

export async function registerTelemetry(app: FastifyInstance, options: TelemetryOptions): Promise<void> {
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    options.metrics.http(request.method, route, reply.statusCode, reply.elapsedTime / 1000);
  });
  if (options.maxEventLoopDelayMs > 0) {
    await app.register(underPressure, {
      maxEventLoopDelay: options.maxEventLoopDelayMs,
      retryAfter: options.retryAfterSeconds,
      // Thrown, so the error handler answers with the CARPError envelope and Retry-After.
      pressureHandler: (_request: FastifyRequest, _reply: FastifyReply, type: string, value: number | undefined) => {
        // No delay sample in the last interval (one long synchronous task, e.g. start-up) reads as
        // Infinity; that says nothing about the load now, so it does not shed.
        if (value !== undefined && !Number.isFinite(value)) return;
        options.metrics.loadShed();
        throw new CraError(
          'SERVICE_UNAVAILABLE',
          `overloaded (${type}${value !== undefined ? ` ${Math.round(value)}` : ''}); retry shortly`,
          { retryAfterSeconds: options.retryAfterSeconds },
        );
      },
    });
  }
}

const METRICS_ROLES = new Set(['admin', 'auditor']);

export function metricsRoute(app: FastifyInstance, metrics: Metrics, protectedBy?: 'auth'): void {
  app.get('/metrics', { schema: { hide: true }, config: ALWAYS_ANSWER }, async (request, reply) => {
    if (protectedBy === 'auth') {
      const principal = (request as FastifyRequest & { principal?: Principal }).principal;
      if (!principal || !principal.roles.some((r) => METRICS_ROLES.has(r))) {
        throw new CraError('FORBIDDEN', 'metrics need the admin or auditor role');
      }
    }
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
