/**
 * The runtime bundle (CRA-SPEC §1): everything a runtime needs from the control plane, compiled
 * from Atlas, Policy and AgentIdentity resources (or from local atlas directories by `cra serve`).
 * Deterministic: sorted, no timestamps, content-hashed.
 */
import type { RiskTier } from '../carp/types.js';
import type { LoadedAtlas } from '../atlas/types.js';
import type { PolicyRule, RedactionRule } from '../policy/types.js';

export const ROLES = ['agent', 'approver', 'admin', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export interface LabelSelector {
  /** Exact names (atlas `name` or agent id). */
  names?: string[];
  matchLabels?: Record<string, string>;
}

export interface PolicySpec {
  description?: string;
  selector?: { atlases?: LabelSelector; agents?: LabelSelector };
  rules?: PolicyRule[];
  /** Shorthand for `rate_limit` rules that always apply to the selected atlases/agents. */
  rateLimits?: { requests: number; windowSeconds: number; scope?: RateScope }[];
  redaction?: { rules: RedactionRule[] };
  approvals?: { approvers?: string[]; timeoutSeconds?: number };
}

export type RateScope = 'action' | 'session' | 'agent' | 'atlas' | 'global';

export interface SecretKeyRef {
  name: string;
  key: string;
}

export interface AgentIdentitySpec {
  agentId: string;
  labels?: Record<string, string>;
  roles?: Role[];
  auth?: {
    /** Secret holding the lowercase hex SHA-256 digest of the API key (never the key). */
    apiKeySecretRef?: SecretKeyRef;
    jwt?: { issuer: string; subject: string; audiences?: string[] };
  };
  atlasSelector?: LabelSelector;
  maxRiskTier?: RiskTier;
  rateLimit?: { requests: number; windowSeconds: number };
}

export interface CompiledPolicy {
  name: string;
  namespace: string;
  labels: Record<string, string>;
  spec: PolicySpec;
}

export interface CompiledIdentity {
  name: string;
  namespace: string;
  spec: AgentIdentitySpec;
  /** SHA-256 hex digests of the identity's API keys, read from its Secret by the operator. */
  apiKeyDigests: string[];
}

export interface RuntimeBundle {
  apiVersion: 'cra.dev/v1alpha1';
  kind: 'RuntimeBundle';
  /** Short content hash; changes exactly when the content changes. */
  version: string;
  /** `sha256:` + hex SHA-256 of the canonical JSON of atlases, policies and identities. */
  contentHash: string;
  atlases: LoadedAtlas[];
  policies: CompiledPolicy[];
  identities: CompiledIdentity[];
}
