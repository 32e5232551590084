/**
 * Policy evaluation (CRA-SPEC §4): the semantics of the policy language.
 *
 * ## Conditions — `evaluateCondition(condition, facts): Truth` (in `conditions.ts`)
 *
 * Three-valued (Kleene): `true`, `false` or `'unknown'`. A leaf that reads a fact that is not
 * known yet is `'unknown'`:
 * - no `facts.action` (request-level evaluation) → `actionType`, `actionId`, `domain`, `atlas`
 *   are unknown. `riskTier` then reads `facts.requestRiskTier` (the request's tier) instead of
 *   the action's; `requestRiskTier` always reads it. Either is unknown when that tier is absent.
 * - no `facts.parameters` (resolve time) → `parameters` is unknown.
 * - `agent` and `time` are always known; `always: true` is true; a missing `when` is true.
 *
 * Combinators: `all` — any false → false, else any unknown → unknown, else true. `any` — any
 * true → true, else any unknown → unknown, else false. `not` negates; unknown stays unknown.
 *
 * ## Match operators (`match.ts`) — exactly one per Match object
 * - `eq`/`neq`: deep equality of JSON values. `in`/`not_in`: deep membership in a list.
 * - `gt`/`gte`/`lt`/`lte`: numbers numerically; for `riskTier`/`requestRiskTier` by tier rank
 *   (low < medium < high < critical). Anything else (other strings, mixed types) → false.
 * - `matches`: ECMAScript regex (no flags, unanchored unless the author anchors it), strings
 *   only. `glob`: `*` any run of characters including dots, `?` one character, anchored;
 *   strings only. `exists`: `exists: true` holds when the value is present (`!== undefined`).
 * - A bare string where a Match is allowed is shorthand: `{glob: s}` for `actionType`,
 *   `actionId`, `domain`, `atlas`; `{eq: s}` for agent label values.
 *
 * ## agent — `{id?, labels?, roles?}`: every given part must hold
 * - `id`: the Match on the agent id. `labels`: each listed label's Match on the agent's label
 *   value (absent label = undefined, so `{exists: false}` holds for a missing label).
 * - `roles`: the Match over the set of roles. Positive operators (eq, in, matches, glob, …)
 *   hold when ANY role satisfies them; `neq: r` holds when NO role equals r, `not_in: L` when
 *   NO role is in L; `exists: true` when the agent has at least one role.
 *
 * ## parameters — `{pointer, <op>}`
 * Reads `facts.parameters` by RFC 6901 JSON Pointer; a missing member is `undefined` (so
 * `exists: false` is true and `neq` is true).
 *
 * ## time — `{weekdays?, hours?: {from, to}, timezone?}`
 * Wall clock of `facts.now` in the IANA timezone (default UTC). Hours are [from, to); from > to
 * wraps midnight (the part after midnight belongs to the start day); from == to is all day.
 * See `time.ts`.
 *
 * ## Combination — `evaluatePolicies(sources, facts, target): PolicyOutcome`
 * - The rules of `target` (`rule.target ?? 'action'`) from all sources, ordered by priority
 *   (desc, default 0), then source id, then rule id — deterministic. Every rule is evaluated;
 *   priority orders evaluation and reports and never lets an allow override a deny.
 * - Deny-overrides, default-deny: `allowed` = some `allow` is true or unknown AND no `deny` is
 *   true. An unknown deny does not deny at resolve time; it makes the outcome conditional.
 * - `conditional`: some rule evaluated to unknown, so the outcome must be re-checked when the
 *   unknown facts are known (parameters, at execute time). This is conservative: it covers
 *   every effect (a `constrain` or `rate_limit` rule that may apply at execute time too), not
 *   only allow/deny/require_approval.
 * - `requiresApproval`: some `require_approval` is true; `approval.approvers` = union of the
 *   rules' approvers in evaluation order (default `['role:approver']`), `timeoutSeconds` = the
 *   minimum given (default 900).
 * - `rateLimit`: the strictest true `rate_limit` — lowest requests/windowSeconds, ties broken
 *   by fewer requests, then evaluation order; `scope` defaults to `agent`.
 * - `constraints` / `redactions`: union (deduplicated, evaluation order) of the `constrain` /
 *   `redact` params of true rules.
 * - `denyingRules`: the true deny rules. `matched`: every rule that was true or unknown, in
 *   evaluation order. `evaluated`: the number of rules of `target`.
 * - `perSource`: keyed by source id, the rules evaluated and matched and the measured
 *   evaluation time (`performance.now()`), for the resolution's `policies_applied`.
 *
 * Malformed rules (which validation rejects) make evaluation throw CraError(INTERNAL_ERROR):
 * an invalid rule never silently allows or skips a deny.
 */
import type { ParameterConstraint, RateLimitScope } from '../carp/types.js';
import { evaluateCondition } from './conditions.js';
import { checkParameterConstraints } from './constraints.js';
import { deepEqual } from './match.js';
import type {
  ApprovalParams,
  ConstrainParams,
  EvaluationFacts,
  PolicyOutcome,
  PolicyRule,
  PolicySourceStats,
  RateLimitParams,
  RedactParams,
  RedactionRule,
  RuleMatch,
  RuleSource,
} from './types.js';

export { evaluateCondition, checkParameterConstraints };

export type PolicyTarget = 'action' | 'request';

export const DEFAULT_APPROVERS: readonly string[] = ['role:approver'];
export const DEFAULT_APPROVAL_TIMEOUT_SECONDS = 900;
export const DEFAULT_RATE_LIMIT_SCOPE: RateLimitScope = 'agent';

export interface OrderedRule {
  source: RuleSource;
  rule: PolicyRule;
  order: number;
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The rules of `target`, in evaluation order. */
export function orderRules(sources: readonly RuleSource[], target: PolicyTarget): OrderedRule[] {
  const candidates: OrderedRule[] = [];
  for (const source of sources) {
    for (const rule of source.rules) {
      if ((rule.target ?? 'action') === target) candidates.push({ source, rule, order: candidates.length });
    }
  }
  return candidates.sort(
    (a, b) =>
      (b.rule.priority ?? 0) - (a.rule.priority ?? 0) ||
      compareStrings(a.source.id, b.source.id) ||
      compareStrings(a.rule.id, b.rule.id) ||
      a.order - b.order,
  );
}

function pushUnique<T>(into: T[], items: readonly T[]): void {
  for (const item of items) if (!into.some((existing) => deepEqual(existing, item))) into.push(item);
}

function isPositive(n: unknown): n is number {
  return typeof n === 'number' && Number.isFinite(n) && n > 0;
}

function stricter(candidate: RateLimitParams, current: RateLimitParams | undefined): boolean {
  if (current === undefined) return true;
  const a = candidate.requests / candidate.windowSeconds;
  const b = current.requests / current.windowSeconds;
  return a < b || (a === b && candidate.requests < current.requests);
}

class Accumulator {
  readonly denyingRules: RuleMatch[] = [];
  readonly matched: RuleMatch[] = [];
  readonly constraints: ParameterConstraint[] = [];
  readonly redactions: RedactionRule[] = [];
  readonly approvers: string[] = [];
  someAllow = false;
  conditional = false;
  requiresApproval = false;
  timeoutSeconds: number | undefined;
  rateLimit: (RateLimitParams & { scope: RateLimitScope }) | undefined;

  add(match: RuleMatch): void {
    const { rule, truth } = match;
    if (truth === false) return;
    this.matched.push(match);
    if (truth === 'unknown') {
      this.conditional = true;
      if (rule.effect === 'allow') this.someAllow = true;
      return;
    }
    this.applyTrue(match);
  }

  private applyTrue(match: RuleMatch): void {
    const { rule } = match;
    switch (rule.effect) {
      case 'allow':
        this.someAllow = true;
        return;
      case 'deny':
        this.denyingRules.push(match);
        return;
      case 'require_approval':
        this.addApproval((rule.params ?? {}) as ApprovalParams);
        return;
      case 'rate_limit':
        this.addRateLimit((rule.params ?? {}) as RateLimitParams);
        return;
      case 'constrain':
        pushUnique(this.constraints, ((rule.params ?? {}) as ConstrainParams).constraints ?? []);
        return;
      case 'redact':
        pushUnique(this.redactions, ((rule.params ?? {}) as RedactParams).rules ?? []);
        return;
    }
  }

  private addApproval(params: ApprovalParams): void {
    this.requiresApproval = true;
    for (const approver of params.approvers ?? [])
      if (!this.approvers.includes(approver)) this.approvers.push(approver);
    if (isPositive(params.timeoutSeconds)) {
      this.timeoutSeconds = Math.min(this.timeoutSeconds ?? Infinity, params.timeoutSeconds);
    }
  }

  private addRateLimit(params: RateLimitParams): void {
    if (!isPositive(params.requests) || !isPositive(params.windowSeconds)) return;
    if (stricter(params, this.rateLimit)) {
      this.rateLimit = {
        requests: params.requests,
        windowSeconds: params.windowSeconds,
        scope: params.scope ?? DEFAULT_RATE_LIMIT_SCOPE,
      };
    }
  }
}

/** Evaluates every rule of `target` from all sources and combines them (see the header). */
export function evaluatePolicies(
  sources: readonly RuleSource[],
  facts: EvaluationFacts,
  target: PolicyTarget,
  options: { approvalTimeoutSeconds?: number } = {},
): PolicyOutcome {
  const perSource: Record<string, PolicySourceStats> = {};
  for (const source of sources) perSource[source.id] ??= { evaluated: 0, matched: 0, timeMs: 0 };
  const acc = new Accumulator();
  const ordered = orderRules(sources, target);
  for (const { source, rule } of ordered) {
    const stats = perSource[source.id] as PolicySourceStats;
    const started = performance.now();
    const truth = evaluateCondition(rule.when, facts);
    stats.timeMs += performance.now() - started;
    stats.evaluated += 1;
    if (truth !== false) stats.matched += 1;
    acc.add({ sourceId: source.id, rule, truth });
  }

  const outcome: PolicyOutcome = {
    allowed: acc.someAllow && acc.denyingRules.length === 0,
    conditional: acc.conditional,
    denyingRules: acc.denyingRules,
    requiresApproval: acc.requiresApproval,
    constraints: acc.constraints,
    redactions: acc.redactions,
    matched: acc.matched,
    evaluated: ordered.length,
    perSource,
  };
  if (acc.requiresApproval) {
    outcome.approval = {
      approvers: acc.approvers.length > 0 ? acc.approvers : [...DEFAULT_APPROVERS],
      timeoutSeconds: acc.timeoutSeconds ?? options.approvalTimeoutSeconds ?? DEFAULT_APPROVAL_TIMEOUT_SECONDS,
    };
  }
  if (acc.rateLimit) outcome.rateLimit = acc.rateLimit;
  return outcome;
}
