import type { RiskTier } from '../carp/types.js';
import type { LabelSelector, Role } from '../bundle/types.js';
import type { EventType } from '../trace/event-types.js';
import type { Severity } from '../trace/types.js';

/** The authenticated caller, as the resolver needs it. */
export interface Principal {
  agentId: string;
  /** Namespace of the AgentIdentity (licence terms may restrict by namespace). */
  namespace: string;
  labels: Record<string, string>;
  roles: Role[];
  atlasSelector?: LabelSelector;
  maxRiskTier?: RiskTier;
}

/** One step the resolver or executor reports; the runtime turns it into a TRACE event. */
export interface TraceStep {
  type: EventType;
  severity?: Severity;
  payload: Record<string, unknown>;
}

export interface ResolverDefaults {
  ttlSeconds: number;
  maxContextTokens: number;
  maxActions: number;
  /** Applied when the request declares no `task.risk_tier`. */
  riskTier: RiskTier;
  approvalTimeoutSeconds: number;
}

export const RESOLVER_DEFAULTS: ResolverDefaults = {
  ttlSeconds: 300,
  maxContextTokens: 8192,
  maxActions: 50,
  riskTier: 'low',
  approvalTimeoutSeconds: 900,
};
