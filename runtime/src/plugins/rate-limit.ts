/**
 * The per-agent request limit of the authenticated API (CRA-SPEC §9: default 100 requests/min per
 * agent). A `preHandler` registered in the scoped context after auth, so the bucket key is the
 * verified identity (`agent:<agentId>`), never something the client chose. Every answer carries
 * the IETF draft "RateLimit header fields" (`RateLimit-Policy: 100;w=60`,
 * `RateLimit: limit=100, remaining=37, reset=12`); a refused request is a 429 RATE_LIMITED
 * CARPError with `Retry-After`.
 */
import { CraError, type Principal } from '@cra/core';
import type { FastifyInstance } from 'fastify';
import type { Limit, LimitDecision, RateLimiter } from '../limits/types.js';

/** The `scope` reported for refusals by this limit (metrics label, error details). */
export const API_RATE_LIMIT_SCOPE = 'api';

export interface RequestRateLimitOptions {
  limiter: RateLimiter;
  /** The agent's limit: its AgentIdentity's `spec.rateLimit`, else `config.rateLimit`. */
  limitFor(principal: Principal): Limit;
  /** Called for every refusal (metrics: `cra_rate_limited_total{scope}`). */
  onLimited?(scope: string): void;
}

export function rateLimitKey(agentId: string): string {
  return `agent:${agentId}`;
}

/** `RateLimit-Policy` and `RateLimit` header values (draft-ietf-httpapi-ratelimit-headers). */
export function rateLimitHeaders(decision: LimitDecision, limit: Limit): Record<string, string> {
  return {
    'ratelimit-policy': `${decision.limit};w=${limit.windowSeconds}`,
    ratelimit: `limit=${decision.limit}, remaining=${decision.remaining}, reset=${Math.ceil(decision.resetMs / 1000)}`,
  };
}

export function registerRateLimit(api: FastifyInstance, options: RequestRateLimitOptions): void {
  api.addHook('preHandler', async (request, reply) => {
    const principal = request.principal;
    const limit = options.limitFor(principal);
    const decision = await options.limiter.take(rateLimitKey(principal.agentId), limit);
    reply.headers(rateLimitHeaders(decision, limit));
    if (decision.allowed) return;
    options.onLimited?.(API_RATE_LIMIT_SCOPE);
    throw new CraError(
      'RATE_LIMITED',
      `request rate limit of ${decision.limit}/${limit.windowSeconds}s for agent ${principal.agentId} exhausted`,
      {
        retryAfterSeconds: Math.max(1, Math.ceil(decision.retryAfterMs / 1000)),
        details: {
          scope: API_RATE_LIMIT_SCOPE,
          limit: decision.limit,
          window_seconds: limit.windowSeconds,
          reset_ms: decision.resetMs,
        },
      },
    );
  });
}
