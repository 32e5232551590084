/**
 * The policy language (CRA-SPEC §4). Rules live in atlases (`spec.policies`) and in Policy
 * resources. A condition is an object with exactly one key; combinators nest.
 */
import type { ParameterConstraint, RateLimitScope, RiskTier } from '../carp/types.js';

/** Comparison operators shared by every leaf condition. Exactly one is set. */
export interface Match {
  eq?: unknown;
  neq?: unknown;
  in?: unknown[];
  not_in?: unknown[];
  gt?: number | string;
  gte?: number | string;
  lt?: number | string;
  lte?: number | string;
  /** ECMAScript regular expression, anchored by the author if needed. */
  matches?: string;
  /** Glob: `*` matches any run of characters (dots included), `?` one character. */
  glob?: string;
  exists?: boolean;
}

export interface ParameterMatch extends Match {
  /** JSON Pointer (RFC 6901) into the action parameters, e.g. `/repo` or `/labels/0`. */
  pointer: string;
}

export interface AgentMatch {
  id?: Match;
  /** Every listed label must match; a string is shorthand for `{eq: value}`. */
  labels?: Record<string, Match | string>;
  /** Matches when any of the agent's roles satisfies the match (e.g. `{in: [admin]}`). */
  roles?: Match;
}

export const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Weekday = (typeof WEEKDAYS)[number];

export interface TimeWindow {
  weekdays?: Weekday[];
  /** Hours of the day [from, to) in the window's timezone, 0–24. */
  hours?: { from: number; to: number };
  /** IANA timezone, default `UTC`. */
  timezone?: string;
}

export type Condition =
  | { all: Condition[] }
  | { any: Condition[] }
  | { not: Condition }
  /** The risk tier of the action under evaluation (request-level rules: the request's tier). */
  | { riskTier: Match }
  /** The risk tier the request declared (`task.risk_tier`). */
  | { requestRiskTier: Match }
  /** A glob string is shorthand for `{glob}`. */
  | { actionType: Match | string }
  | { actionId: Match | string }
  | { domain: Match | string }
  | { atlas: Match | string }
  | { agent: AgentMatch }
  | { parameters: ParameterMatch }
  | { time: TimeWindow }
  | { always: true };

export const EFFECTS = ['allow', 'deny', 'require_approval', 'rate_limit', 'constrain', 'redact'] as const;
export type Effect = (typeof EFFECTS)[number];

export const REDACTION_MODES = ['full', 'partial', 'mask', 'hash', 'remove'] as const;
export type RedactionMode = (typeof REDACTION_MODES)[number];

export interface RedactionRule {
  id?: string;
  /** Dotted path with `*` for one segment and `**` for any depth, e.g. `payload.parameters.email`. */
  path: string;
  mode: RedactionMode;
  /** For `partial`: how many characters stay visible, and where. */
  showChars?: number;
  showPosition?: 'start' | 'end';
}

export interface ApprovalParams {
  /** Approver identities or roles; `role:approver` by default. */
  approvers?: string[];
  timeoutSeconds?: number;
}

export interface RateLimitParams {
  requests: number;
  windowSeconds: number;
  scope?: RateLimitScope;
}

export interface ConstrainParams {
  constraints: ParameterConstraint[];
}

export interface RedactParams {
  rules: RedactionRule[];
}

export type RuleParams = ApprovalParams | RateLimitParams | ConstrainParams | RedactParams;

export interface PolicyRule {
  id: string;
  description?: string;
  /** Absent means the rule always applies. */
  when?: Condition;
  effect: Effect;
  /** Higher first. Orders evaluation and reports; never lets an allow override a deny. */
  priority?: number;
  message?: string;
  params?: RuleParams;
  /** `request` rules decide the whole resolution; `action` rules (default) each action. */
  target?: 'action' | 'request';
}

/** Facts a condition reads. Absent `action`/`parameters` mean "not known yet" (resolve time). */
export interface EvaluationFacts {
  requestRiskTier?: RiskTier;
  agent: { id: string; labels: Record<string, string>; roles: string[] };
  action?: {
    id: string;
    type: string;
    domain: string;
    riskTier: RiskTier;
    atlas: string;
  };
  parameters?: Record<string, unknown>;
  /** Evaluation instant (epoch ms). */
  now: number;
}

/** Three-valued: `unknown` when a condition reads a fact that is not known yet. */
export type Truth = boolean | 'unknown';

export interface RuleSource {
  /** `atlas:<ref>` or `policy:<namespace>/<name>`. */
  id: string;
  name: string;
  version: string;
  atlasRef?: string;
  rules: PolicyRule[];
}

export interface RuleMatch {
  sourceId: string;
  rule: PolicyRule;
  truth: Truth;
}

/** What one rule source contributed to an evaluation: real counts and measured time. */
export interface PolicySourceStats {
  /** Rules of the evaluated target in this source (every one is evaluated). */
  evaluated: number;
  /** Rules whose condition was true or unknown. */
  matched: number;
  /** Time spent evaluating this source's rules, in milliseconds (`performance.now()`). */
  timeMs: number;
}

/** The combined outcome for one subject (an action, or the request as a whole). */
export interface PolicyOutcome {
  /** Some allow matched (true or unknown) and no deny definitely matched. */
  allowed: boolean;
  /** Decided only once unknown facts are known (e.g. at execute time). */
  conditional: boolean;
  denyingRules: RuleMatch[];
  requiresApproval: boolean;
  approval?: { approvers: string[]; timeoutSeconds: number };
  rateLimit?: RateLimitParams & { scope: RateLimitScope };
  constraints: ParameterConstraint[];
  redactions: RedactionRule[];
  matched: RuleMatch[];
  evaluated: number;
  /** Keyed by source id; every given source has an entry (zeros when it has no rules of the target). */
  perSource: Record<string, PolicySourceStats>;
}
