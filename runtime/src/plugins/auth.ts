/**
 * Authentication for the scoped API context (registered inside it, never globally): API key via
 * `Authorization: Bearer` or `X-API-Key`. In `insecure-none` mode (local experiments only) the
 * body's `requester.agent_id` (or `X-Agent-Id`) is trusted and a warning is logged at start.
 */
import { CraError, type Principal } from '@cra/core';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { IdentityRegistry } from '../auth/identities.js';
import { unauthenticatedPrincipal } from '../auth/identities.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

export interface AuthOptions {
  mode: 'required' | 'insecure-none';
  identities: () => IdentityRegistry;
}

export function presentedKey(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (match) return match[1];
  }
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey.length > 0 ? apiKey : undefined;
}

function agentIdFromRequest(request: FastifyRequest): string {
  const body = request.body as { requester?: { agent_id?: unknown } } | undefined;
  const fromBody = body && typeof body === 'object' ? body.requester?.agent_id : undefined;
  if (typeof fromBody === 'string' && fromBody.length > 0) return fromBody;
  const header = request.headers['x-agent-id'];
  return typeof header === 'string' && header.length > 0 ? header : 'anonymous';
}

export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  app.decorateRequest('principal', null as unknown as Principal);
  if (options.mode === 'insecure-none') {
    app.addHook('preHandler', async (request) => {
      request.principal = unauthenticatedPrincipal(agentIdFromRequest(request));
    });
    return;
  }
  app.addHook('onRequest', async (request) => {
    const key = presentedKey(request);
    if (key === undefined) {
      throw new CraError('UNAUTHORIZED', 'authenticate with "Authorization: Bearer <api key>" or "X-API-Key"');
    }
    const principal = options.identities().byApiKey(key);
    if (!principal) throw new CraError('UNAUTHORIZED', 'the API key is not valid');
    request.principal = principal;
  });
}
