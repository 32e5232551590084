/**
 * The execute checks that need no I/O (CRA-SPEC §5), in the spec's order: resolution unexpired,
 * caller is the resolution's agent and session, decision allows execution, the action is a grant
 * of the resolution with the same type, the grant is still valid, parameters satisfy the action
 * schema and parameter constraints, and policies that read parameters or the clock still allow it.
 * Rate limits, approvals and the executor are the runtime's.
 */
import type { ValidateFunction } from 'ajv/dist/2020.js';
import type { ActionPermission, CARPResolution, ExecuteRequest, RiskTier, Violation } from '../carp/types.js';
import type { AtlasAction } from '../atlas/types.js';
import { CraError } from '../errors.js';
import { checkParameterConstraints } from '../policy/constraints.js';
import { evaluatePolicies } from '../policy/evaluate.js';
import type { PolicyOutcome, RedactionRule } from '../policy/types.js';
import { createAjv, toViolations } from '../validation.js';
import type { BundleIndex, IndexedAtlas } from './bundle-index.js';
import { factsFor, sourcesFor } from './plan.js';
import type { Principal } from './types.js';

export interface AuthorizedExecution {
  grant: ActionPermission;
  atlas: IndexedAtlas;
  action: AtlasAction;
  outcome: PolicyOutcome;
  requiresApproval: boolean;
  approval: { approvers: string[]; timeoutSeconds: number } | undefined;
  rateLimit: { requests: number; windowSeconds: number; scope: string } | undefined;
  redactions: RedactionRule[];
}

export type CheckName =
  'resolution' | 'resolution_unexpired' | 'caller' | 'decision' | 'grant' | 'grant_valid' | 'parameters' | 'policy';

export class ExecutionRefused extends CraError {
  readonly check: CheckName;
  readonly violations: Violation[];
  constructor(check: CheckName, error: CraError, violations: Violation[] = []) {
    super(error.code, error.message, {
      ...(error.details ? { details: error.details } : {}),
      retriable: error.retriable,
    });
    this.check = check;
    this.violations = violations;
  }
}

const EXECUTABLE_DECISIONS = new Set(['allow', 'allow_with_constraints', 'partial', 'requires_approval']);

const validators = new WeakMap<object, ValidateFunction>();
/**
 * Also by the schema's JSON text: the grant's schema usually comes from a resolution read back
 * from a store (a fresh copy on every execute), and compiling it took ~2 ms, the larger part of
 * an execute's CPU. Bounded: the bundle's actions are few, and an evicted schema recompiles.
 */
const validatorsByText = new Map<string, ValidateFunction>();
const MAX_VALIDATORS_BY_TEXT = 1024;
const schemaAjv = (() => {
  const ajv = createAjv();
  ajv.opts.strictSchema = false;
  return ajv;
})();

/** Compiled, cached validator for an action's parameter schema. */
export function parameterValidator(schema: Record<string, unknown>): ValidateFunction {
  let validate = validators.get(schema);
  if (!validate) {
    const text = JSON.stringify(schema);
    validate = validatorsByText.get(text);
    if (!validate) {
      validate = schemaAjv.compile(schema);
      if (validatorsByText.size >= MAX_VALIDATORS_BY_TEXT) {
        const oldest = validatorsByText.keys().next().value;
        if (oldest !== undefined) validatorsByText.delete(oldest);
      }
      validatorsByText.set(text, validate);
    }
    validators.set(schema, validate);
  }
  return validate;
}

export interface AuthorizeInput {
  resolution: CARPResolution;
  resolutionAgentId: string;
  request: ExecuteRequest;
  /** The risk tier the resolve request declared (or defaulted to); request-level rules read it. */
  requestRiskTier: RiskTier;
  principal: Principal;
  index: BundleIndex;
  now: number;
  /** An approved execution runs even if its resolution expired while waiting for the approver. */
  ignoreExpiry?: boolean;
  /** Approval timeout for rules that set none (the runtime's resolver.approvalTimeoutSeconds). */
  approvalTimeoutSeconds?: number;
}

function refuse(
  check: CheckName,
  code: ConstructorParameters<typeof CraError>[0],
  message: string,
  details?: Record<string, unknown>,
  violations?: Violation[],
): never {
  throw new ExecutionRefused(check, new CraError(code, message, details ? { details } : {}), violations);
}

export function authorizeExecution(input: AuthorizeInput): AuthorizedExecution {
  const { resolution, request, principal, index, now } = input;
  const call = request.action;

  if (!input.ignoreExpiry && Date.parse(resolution.ttl.resolution_expires_at) <= now) {
    refuse(
      'resolution_unexpired',
      'RESOLUTION_EXPIRED',
      `resolution ${resolution.resolution_id} expired at ${resolution.ttl.resolution_expires_at}`,
    );
  }
  if (input.resolutionAgentId !== principal.agentId || resolution.session_id !== request.requester.session_id) {
    refuse('caller', 'FORBIDDEN', 'this resolution belongs to another agent or session');
  }
  if (!EXECUTABLE_DECISIONS.has(resolution.decision.type)) {
    refuse('decision', 'ACTION_NOT_PERMITTED', `a "${resolution.decision.type}" resolution permits no execution`, {
      decision_type: resolution.decision.type,
    });
  }
  const grant = resolution.allowed_actions.find((g) => g.action_id === call.action_id);
  if (!grant) {
    refuse(
      'grant',
      'ACTION_NOT_PERMITTED',
      `action_id ${call.action_id} is not a grant of resolution ${resolution.resolution_id}`,
    );
  }
  if (grant.action_type !== call.action_type) {
    refuse(
      'grant',
      'ACTION_NOT_PERMITTED',
      `grant ${grant.action_id} is for ${grant.action_type}, not ${call.action_type}`,
    );
  }
  if (!input.ignoreExpiry && Date.parse(grant.valid_until) <= now) {
    refuse('grant_valid', 'RESOLUTION_EXPIRED', `grant ${grant.action_id} was valid until ${grant.valid_until}`);
  }

  const atlas = index.atlases.find((a) => a.atlas.ref === grant.atlas_ref);
  const action = atlas?.actions.find((a) => a.id === grant.atlas_action_id);
  if (!atlas || !action) {
    refuse(
      'grant',
      'ACTION_NOT_PERMITTED',
      `atlas ${grant.atlas_ref} no longer provides ${grant.atlas_action_id}; resolve again`,
    );
  }

  const parameters = call.parameters ?? {};
  const validate = parameterValidator(grant.schema);
  const violations: Violation[] = validate(parameters) ? [] : toViolations(validate.errors, 'CONSTRAINT_VIOLATED');
  violations.push(...checkParameterConstraints(parameters, grant.parameter_constraints ?? []));
  if (violations.length > 0) {
    refuse(
      'parameters',
      'CONSTRAINT_VIOLATED',
      `parameters violate ${violations.length} constraint(s)`,
      { violations },
      violations,
    );
  }

  // Re-evaluate with everything known now: parameters, the clock, the current bundle's rules.
  // Request-level rules first: a deny added since the resolution applies at once.
  const sources = sourcesFor(index, atlas, principal);
  const timeouts =
    input.approvalTimeoutSeconds === undefined ? {} : { approvalTimeoutSeconds: input.approvalTimeoutSeconds };
  const requestOutcome = evaluatePolicies(
    sources,
    factsFor(principal, input.requestRiskTier, now),
    'request',
    timeouts,
  );
  const outcome = evaluatePolicies(
    sources,
    factsFor(principal, input.requestRiskTier, now, atlas, action, parameters),
    'action',
    timeouts,
  );
  const denying = [...requestOutcome.denyingRules, ...outcome.denyingRules];
  // Every fact is known at execute time; a rule still `unknown` cannot vouch for the action.
  const undecided = outcome.matched.filter(
    (m) => m.truth === 'unknown' && (m.rule.effect === 'deny' || m.rule.effect === 'allow'),
  );
  if (denying.length > 0 || !outcome.allowed || undecided.some((m) => m.rule.effect === 'deny')) {
    const refs = [...denying, ...undecided.filter((m) => m.rule.effect === 'deny')].map(
      (m) => `${m.sourceId}#${m.rule.id}`,
    );
    const first = denying[0];
    refuse(
      'policy',
      'ACTION_NOT_PERMITTED',
      first?.rule.message ?? 'no policy allows this action with these parameters',
      {
        policy_refs: refs,
      },
    );
  }
  const postConstraintViolations = checkParameterConstraints(parameters, outcome.constraints);
  if (postConstraintViolations.length > 0) {
    refuse(
      'parameters',
      'CONSTRAINT_VIOLATED',
      'parameters violate a policy constraint',
      { violations: postConstraintViolations },
      postConstraintViolations,
    );
  }

  const requestApproval = resolution.decision.type === 'requires_approval' || requestOutcome.requiresApproval;
  const requiresApproval = grant.requires_approval || outcome.requiresApproval || requestApproval;
  const grantApproval = grant.constraints.find((c) => c.type === 'approval_required')?.params as
    { approvers?: string[]; timeout_seconds?: number } | undefined;
  const approval = requiresApproval
    ? {
        approvers: outcome.approval?.approvers ??
          requestOutcome.approval?.approvers ??
          grantApproval?.approvers ?? ['role:approver'],
        timeoutSeconds: Math.min(
          outcome.approval?.timeoutSeconds ?? Number.POSITIVE_INFINITY,
          grantApproval?.timeout_seconds ?? Number.POSITIVE_INFINITY,
          resolution.decision.type === 'requires_approval'
            ? resolution.decision.approval_timeout_seconds
            : Number.POSITIVE_INFINITY,
        ),
      }
    : undefined;
  if (approval && !Number.isFinite(approval.timeoutSeconds)) {
    approval.timeoutSeconds = input.approvalTimeoutSeconds ?? 900;
  }

  // The strictest of the grant's limit and the current bundle's wins (§4).
  const fromGrant = grant.rate_limit
    ? {
        requests: grant.rate_limit.requests,
        windowSeconds: grant.rate_limit.window_seconds,
        scope: grant.rate_limit.scope,
      }
    : undefined;
  const fromNow = outcome.rateLimit;
  const rate = (l: { requests: number; windowSeconds: number }): number => l.requests / l.windowSeconds;
  const limit =
    fromGrant && fromNow ? (rate(fromNow) <= rate(fromGrant) ? fromNow : fromGrant) : (fromNow ?? fromGrant);
  return {
    grant,
    atlas,
    action,
    outcome,
    requiresApproval,
    approval,
    rateLimit: limit
      ? { requests: limit.requests, windowSeconds: limit.windowSeconds, scope: limit.scope ?? 'agent' }
      : undefined,
    redactions: [...requestOutcome.redactions, ...outcome.redactions],
  };
}
