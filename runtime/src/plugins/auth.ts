/**
 * Authentication for the scoped API context (registered inside it, never globally), as an
 * `onRequest` hook: a `Authorization: Bearer` value that looks like a JWT is verified as one
 * (`auth/jwt.ts`) and mapped to its AgentIdentity by (issuer, subject); any other Bearer value and
 * `X-API-Key` are API keys. Refusals are 401 with `WWW-Authenticate: Bearer error="invalid_token"`
 * and a short reason; tokens and keys are never logged. In `insecure-none` mode (local experiments
 * only) the body's `requester.agent_id` (or `X-Agent-Id`) is trusted and a warning is logged at start.
 */
import { CraError, type Principal } from '@cra/core';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IdentityRegistry } from '../auth/identities.js';
import { unauthenticatedPrincipal } from '../auth/identities.js';
import { looksLikeJwt, type JwtVerifier, type VerifiedJwt } from '../auth/jwt.js';
import { envelope } from './errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

export interface AuthOptions {
  mode: 'required' | 'insecure-none';
  identities: () => IdentityRegistry;
  /** Verifies JWT bearer tokens; without it a JWT is refused ("JWT authentication is not configured"). */
  jwt?: JwtVerifier;
}

export interface PresentedCredential {
  kind: 'bearer' | 'api-key';
  value: string;
}

export function presentedCredential(request: FastifyRequest): PresentedCredential | undefined {
  const header = request.headers.authorization;
  if (typeof header === 'string') {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    if (match) return { kind: 'bearer', value: match[1]! };
  }
  const apiKey = request.headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey.length > 0 ? { kind: 'api-key', value: apiKey } : undefined;
}

export function presentedKey(request: FastifyRequest): string | undefined {
  return presentedCredential(request)?.value;
}

function agentIdFromRequest(request: FastifyRequest): string {
  const body = request.body as { requester?: { agent_id?: unknown } } | undefined;
  const fromBody = body && typeof body === 'object' ? body.requester?.agent_id : undefined;
  if (typeof fromBody === 'string' && fromBody.length > 0) return fromBody;
  const header = request.headers['x-agent-id'];
  return typeof header === 'string' && header.length > 0 ? header : 'anonymous';
}

/** RFC 6750 §3: error_description is a quoted-string of printable ASCII without `"` and `\`. */
function quoted(text: string): string {
  return text.replace(/[^\x20-\x7e]|["\\]/g, "'");
}

function refuse(request: FastifyRequest, reply: FastifyReply, message: string, presented: boolean): FastifyReply {
  const error = new CraError('UNAUTHORIZED', message);
  request.log.debug({ code: error.code }, message);
  const challenge = presented
    ? `Bearer realm="cra", error="invalid_token", error_description="${quoted(message)}"`
    : 'Bearer realm="cra"';
  return reply
    .code(error.status)
    .header('www-authenticate', challenge)
    .type('application/json')
    .send(envelope(request.body, String(request.id), error));
}

async function authenticate(
  credential: PresentedCredential,
  options: AuthOptions,
): Promise<{ principal: Principal } | { refused: string }> {
  const registry = options.identities();
  if (credential.kind === 'bearer' && looksLikeJwt(credential.value)) {
    if (!options.jwt) return { refused: 'JWT authentication is not configured' };
    let verified: VerifiedJwt;
    try {
      verified = await options.jwt.verify(credential.value);
    } catch (err) {
      if (err instanceof CraError && err.code === 'UNAUTHORIZED') return { refused: err.message };
      throw err;
    }
    const principal = registry.byJwt(verified.issuer, verified.subject, verified.audience);
    return principal ? { principal } : { refused: 'no agent identity for this token' };
  }
  const principal = registry.byApiKey(credential.value);
  return principal ? { principal } : { refused: 'the API key is not valid' };
}

export function registerAuth(app: FastifyInstance, options: AuthOptions): void {
  app.decorateRequest('principal', null as unknown as Principal);
  if (options.mode === 'insecure-none') {
    app.addHook('preHandler', async (request) => {
      request.principal = unauthenticatedPrincipal(agentIdFromRequest(request));
    });
    return;
  }
  app.addHook('onRequest', async (request, reply) => {
    const credential = presentedCredential(request);
    if (credential === undefined) {
      return refuse(
        request,
        reply,
        'authenticate with "Authorization: Bearer <API key or JWT>" or "X-API-Key: <API key>"',
        false,
      );
    }
    const outcome = await authenticate(credential, options);
    if ('refused' in outcome) return refuse(request, reply, outcome.refused, true);
    request.principal = outcome.principal;
    return undefined;
  });
}
