/**
 * Who may call: AgentIdentity entries of the bundle, indexed by the SHA-256 digest of their API
 * keys and by the (issuer, subject) of their JWT mapping. Keys are never stored; a presented key
 * is hashed and the digest compared in constant time (the lookup itself is by digest, which an
 * attacker cannot steer without a preimage). JWTs are verified before they get here (`jwt.ts`).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { DEFAULT_NAMESPACE, ROLES, type CompiledIdentity, type Principal, type RuntimeBundle } from '@cra/core';

export function principalOf(identity: CompiledIdentity): Principal {
  const spec = identity.spec;
  return {
    agentId: spec.agentId,
    namespace: identity.namespace,
    labels: spec.labels ?? {},
    roles: spec.roles && spec.roles.length > 0 ? spec.roles : ['agent'],
    ...(spec.atlasSelector ? { atlasSelector: spec.atlasSelector } : {}),
    ...(spec.maxRiskTier ? { maxRiskTier: spec.maxRiskTier } : {}),
  };
}

/** The principal of an agent in insecure no-auth mode: every role, no selector. */
export function unauthenticatedPrincipal(agentId: string): Principal {
  return { agentId, namespace: DEFAULT_NAMESPACE, labels: {}, roles: [...ROLES] };
}

const subjectKey = (issuer: string, subject: string): string => JSON.stringify([issuer, subject]);

export class IdentityRegistry {
  private readonly byDigest = new Map<string, CompiledIdentity>();
  private readonly byAgent = new Map<string, CompiledIdentity>();
  private readonly bySubject = new Map<string, CompiledIdentity[]>();

  constructor(bundle?: RuntimeBundle) {
    if (bundle) this.load(bundle);
  }

  load(bundle: RuntimeBundle): void {
    this.byDigest.clear();
    this.byAgent.clear();
    this.bySubject.clear();
    for (const identity of bundle.identities) {
      this.byAgent.set(identity.spec.agentId, identity);
      for (const digest of identity.apiKeyDigests) this.byDigest.set(digest, identity);
      const jwt = identity.spec.auth?.jwt;
      if (jwt) {
        const key = subjectKey(jwt.issuer, jwt.subject);
        this.bySubject.set(key, [...(this.bySubject.get(key) ?? []), identity]);
      }
    }
  }

  get size(): number {
    return this.byAgent.size;
  }

  byApiKey(key: string): Principal | undefined {
    const digest = createHash('sha256').update(key, 'utf8').digest();
    const hex = digest.toString('hex');
    const identity = this.byDigest.get(hex);
    if (!identity) return undefined;
    const stored = Buffer.from(hex, 'hex');
    return timingSafeEqual(stored, digest) ? principalOf(identity) : undefined;
  }

  /**
   * The identity a verified JWT maps to: its `auth.jwt` names this issuer and subject and, when it
   * lists audiences, the token carries one of them. Ambiguous mappings (several identities claim
   * the same issuer, subject and audience) match nobody: authentication fails closed.
   */
  byJwt(issuer: string, subject: string, audiences: readonly string[]): Principal | undefined {
    const candidates = (this.bySubject.get(subjectKey(issuer, subject)) ?? []).filter((identity) => {
      const wanted = identity.spec.auth?.jwt?.audiences ?? [];
      return wanted.length === 0 || wanted.some((aud) => audiences.includes(aud));
    });
    return candidates.length === 1 ? principalOf(candidates[0]!) : undefined;
  }

  byAgentId(agentId: string): Principal | undefined {
    const identity = this.byAgent.get(agentId);
    return identity ? principalOf(identity) : undefined;
  }

  identity(agentId: string): CompiledIdentity | undefined {
    return this.byAgent.get(agentId);
  }
}
