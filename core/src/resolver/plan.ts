/**
 * Resolution planning (CRA-SPEC §3, steps 2–6): a pure function of the request, the bundle, the
 * caller and the instant. The plan carries no ids or timestamps, so it can be cached and
 * materialised again with fresh ids (a cache hit returns a new `resolution_id`).
 */
import {
  riskRank,
  type ActionDenial,
  type Approver,
  type Constraint,
  type Decision,
  type PolicyApplication,
  type ResolveRequest,
  type RiskTier,
  type Warning,
} from '../carp/types.js';
import type { AtlasAction } from '../atlas/types.js';
import { CraError } from '../errors.js';
import { goalHash } from '../hash.js';
import { evaluatePolicies } from '../policy/evaluate.js';
import { deepEqual } from '../policy/match.js';
import type { EvaluationFacts, PolicyOutcome, RedactionRule, RuleSource } from '../policy/types.js';
import type { BundleIndex, IndexedAtlas, IndexedPack } from './bundle-index.js';
import { planContext, type PlannedBlock } from './context.js';
import { selects } from './selectors.js';
import { selectAtlases } from './select-atlases.js';
import { RESOLVER_DEFAULTS, type Principal, type ResolverDefaults, type TraceStep } from './types.js';

export interface PlannedGrant {
  atlas: IndexedAtlas;
  action: AtlasAction;
  constraints: Constraint[];
  outcome: PolicyOutcome;
}

export interface ResolutionPlan {
  bundleVersion: string;
  decision: Decision;
  blocks: PlannedBlock[];
  grants: PlannedGrant[];
  denials: ActionDenial[];
  policiesApplied: PolicyApplication[];
  ttlSeconds: number;
  warnings: Warning[];
  steps: TraceStep[];
  /** Policy `redact` rules that apply to this resolution's trace events. */
  redactions: RedactionRule[];
  cacheable: boolean;
}

export interface PlanInput {
  request: ResolveRequest;
  index: BundleIndex;
  principal: Principal;
  now: number;
  defaults?: Partial<ResolverDefaults>;
}

/** Rule sources that govern one atlas for one caller: its own policies plus selected Policies. */
export function sourcesFor(index: BundleIndex, atlas: IndexedAtlas, principal: Principal): RuleSource[] {
  const sources = [atlas.source];
  for (const { policy, source } of index.policies) {
    if (policy.namespace !== atlas.atlas.namespace) continue;
    if (!selects(policy.spec.selector?.atlases, atlas.atlas.name, atlas.atlas.labels)) continue;
    const identity = index.identities.get(principal.agentId);
    if (!selects(policy.spec.selector?.agents, principal.agentId, identity?.spec.labels ?? principal.labels)) continue;
    sources.push(source);
  }
  return sources;
}

export function factsFor(
  principal: Principal,
  requestRiskTier: RiskTier | undefined,
  now: number,
  atlas?: IndexedAtlas,
  action?: AtlasAction,
  parameters?: Record<string, unknown>,
): EvaluationFacts {
  return {
    ...(requestRiskTier ? { requestRiskTier } : {}),
    agent: { id: principal.agentId, labels: principal.labels, roles: principal.roles },
    ...(atlas && action
      ? {
          action: {
            id: action.id,
            type: action.type,
            domain: action.domain,
            riskTier: action.riskTier,
            atlas: atlas.atlas.name,
          },
        }
      : {}),
    ...(parameters ? { parameters } : {}),
    now,
  };
}

function approversOf(ids: readonly string[]): Approver[] {
  return ids.map((id) =>
    id.startsWith('role:') ? { id: id.slice(5), type: 'role' as const } : { id, type: 'user' as const },
  );
}

/**
 * Constraints a grant carries, derived from its policy outcome. Ids are stable. Rate limits are
 * reported in the grant's `rate_limit` field, not as constraints: every grant is rate limited
 * (per agent at least), so a limit alone does not make a resolution `allow_with_constraints`.
 */
export function grantConstraints(outcome: PolicyOutcome, action: AtlasAction): Constraint[] {
  const out: Constraint[] = [];
  if (outcome.requiresApproval && outcome.approval) {
    out.push({
      id: `${action.id}:approval`,
      type: 'approval_required',
      description: `Execution waits for approval by ${outcome.approval.approvers.join(', ')}`,
      params: { approvers: outcome.approval.approvers, timeout_seconds: outcome.approval.timeoutSeconds },
      enforcement: 'hard',
    });
  }
  if (outcome.constraints.length > 0) {
    out.push({
      id: `${action.id}:parameters`,
      type: 'parameter_restriction',
      description: 'Parameters must satisfy the policy constraints listed in parameter_constraints',
      params: { constraints: outcome.constraints },
      enforcement: 'hard',
    });
  }
  if (outcome.conditional) {
    out.push({
      id: `${action.id}:conditional`,
      type: 'parameter_restriction',
      description: 'Policies that read parameters or the clock are re-evaluated at execute time',
      params: { rules: outcome.matched.filter((m) => m.truth === 'unknown').map((m) => `${m.sourceId}#${m.rule.id}`) },
      enforcement: 'hard',
    });
  }
  return out;
}

interface Applications {
  bySource: Map<string, PolicyApplication>;
}

function record(apps: Applications, sources: RuleSource[], outcome: PolicyOutcome, target: string): void {
  for (const source of sources) {
    let app = apps.bySource.get(source.id);
    if (!app) {
      app = {
        policy_id: source.id,
        policy_name: source.name,
        policy_version: source.version,
        ...(source.atlasRef ? { atlas_ref: source.atlasRef } : {}),
        rules_evaluated: 0,
        rules_matched: 0,
        effects: [],
        evaluation_time_ms: 0,
      };
      apps.bySource.set(source.id, app);
    }
    const stats = outcome.perSource[source.id];
    if (stats) {
      app.rules_evaluated += stats.evaluated;
      app.evaluation_time_ms += stats.timeMs;
    }
    for (const match of outcome.matched) {
      if (match.sourceId !== source.id) continue;
      app.rules_matched += 1;
      app.effects.push({
        rule_id: match.rule.id,
        effect: match.rule.effect,
        target,
        ...(match.truth === 'unknown' ? { reason: 'depends on parameters or time; checked at execute' } : {}),
        ...(match.truth === true && match.rule.message ? { reason: match.rule.message } : {}),
      });
    }
  }
}

function denial(atlas: IndexedAtlas, action: AtlasAction, reason: string, extra: Partial<ActionDenial>): ActionDenial {
  return {
    action_type: action.type,
    atlas_action_id: action.id,
    atlas_ref: atlas.atlas.ref,
    reason,
    policy_refs: [],
    permanent: true,
    ...extra,
  };
}

function ruleRef(m: { sourceId: string; rule: { id: string } }): string {
  return `${m.sourceId}#${m.rule.id}`;
}

export function planResolution(input: PlanInput): ResolutionPlan {
  const defaults = { ...RESOLVER_DEFAULTS, ...input.defaults };
  const { request, index, principal, now } = input;
  const task = request.task;
  const scope = request.scope ?? {};
  const requestRisk: RiskTier = task.risk_tier ?? defaults.riskTier;
  const steps: TraceStep[] = [];
  const warnings: Warning[] = [];
  const apps: Applications = { bySource: new Map() };

  const selection = selectAtlases(index, principal, request);
  steps.push({
    type: 'carp.atlas.selected',
    payload: { atlases: selection.atlases.map((a) => a.atlas.ref), excluded: selection.excluded },
  });
  if (selection.usableCount === 0) {
    throw new CraError('ATLAS_NOT_FOUND', 'no loaded atlas is available to this agent for this request', {
      details: { scope_atlases: scope.atlases ?? [], excluded: selection.excluded },
    });
  }
  if (selection.unknownHints.length > 0 && selection.knownHints.length > 0) {
    warnings.push({
      code: 'UNKNOWN_CONTEXT_HINTS',
      message: `context hints name no known domain: ${selection.unknownHints.join(', ')}`,
      details: { hints: selection.unknownHints },
    });
  }

  // Request-level rules decide the whole resolution.
  const requestSources = uniqueSources(selection.atlases.flatMap((a) => sourcesFor(index, a, principal)));
  const requestFacts = factsFor(principal, requestRisk, now);
  const timeouts = { approvalTimeoutSeconds: defaults.approvalTimeoutSeconds };
  const requestOutcome = evaluatePolicies(requestSources, requestFacts, 'request', timeouts);
  record(apps, requestSources, requestOutcome, 'request');
  const redactions: RedactionRule[] = [...requestOutcome.redactions];

  const base = {
    bundleVersion: index.version,
    warnings,
    redactions,
    cacheable: !index.timeSensitive,
  };

  if (requestOutcome.denyingRules.length > 0) {
    const first = requestOutcome.denyingRules[0]!;
    steps.push(policyStartedStep(requestSources), ...matchedSteps(requestOutcome, 'request'));
    steps.push(policyCompletedStep(requestOutcome.evaluated, requestOutcome.matched.length));
    return {
      ...base,
      decision: {
        type: 'deny',
        reason: first.rule.message ?? `denied by policy rule ${first.rule.id}`,
        policy_refs: requestOutcome.denyingRules.map(ruleRef),
      },
      blocks: [],
      grants: [],
      denials: [],
      policiesApplied: [...apps.bySource.values()],
      ttlSeconds: defaults.ttlSeconds,
      steps,
    };
  }

  if (selection.knownHints.length === 0 && selection.unknownHints.length > 0) {
    steps.push(policyStartedStep(requestSources), policyCompletedStep(requestOutcome.evaluated, 0));
    return {
      ...base,
      decision: {
        type: 'insufficient_context',
        missing_domains: selection.unknownHints,
        suggestion: `known domains: ${selection.availableDomains.join(', ') || 'none'}`,
      },
      blocks: [],
      grants: [],
      denials: [],
      policiesApplied: [...apps.bySource.values()],
      ttlSeconds: defaults.ttlSeconds,
      steps,
    };
  }

  // Context (step 3).
  const domainFilter = selection.knownHints.length > 0 ? new Set(selection.knownHints) : undefined;
  const scopeDomains = scope.domains && scope.domains.length > 0 ? new Set(scope.domains) : undefined;
  const packs: IndexedPack[] = selection.atlases
    .flatMap((a) => a.packs)
    .filter((p) => (!domainFilter || domainFilter.has(p.domain)) && (!scopeDomains || scopeDomains.has(p.domain)));
  const context = planContext(packs, task.goal, scope.max_context_tokens ?? defaults.maxContextTokens);
  steps.push({
    type: 'carp.context.selected',
    payload: {
      candidates: packs.length,
      selected: context.blocks.map((b) => `${b.pack.atlasRef}#${b.pack.id}`),
      skipped: context.skipped,
      max_tokens: context.budget,
    },
  });
  steps.push({
    type: 'carp.context.assembled',
    payload: { block_count: context.blocks.length, total_tokens: context.totalTokens },
  });

  // Actions (step 4).
  steps.push(policyStartedStep(requestSources));
  const grants: PlannedGrant[] = [];
  const denials: ActionDenial[] = [];
  const matches = new RuleMatches();
  matches.add(requestOutcome, 'request');
  let evaluated = requestOutcome.evaluated;
  let matched = requestOutcome.matched.length;
  const scopeActions = scope.actions && scope.actions.length > 0 ? new Set(scope.actions) : undefined;
  const maxRisk = principal.maxRiskTier;

  for (const atlas of selection.atlases) {
    const sources = sourcesFor(index, atlas, principal);
    for (const action of atlas.actions) {
      if (domainFilter && !domainFilter.has(action.domain)) continue;
      if (scopeDomains && !scopeDomains.has(action.domain)) continue;
      if (scopeActions && !scopeActions.has(action.type) && !scopeActions.has(action.id)) continue;
      if (maxRisk && riskRank(action.riskTier) > riskRank(maxRisk)) {
        // Checked first: resolving again at a higher tier cannot help.
        denials.push(denial(atlas, action, `risk tier ${action.riskTier} exceeds this agent's maximum ${maxRisk}`, {}));
        continue;
      }
      if (riskRank(action.riskTier) > riskRank(requestRisk)) {
        denials.push(
          denial(atlas, action, `risk tier ${action.riskTier} exceeds the requested risk tier ${requestRisk}`, {
            permanent: false,
            remediation: `resolve again with task.risk_tier "${action.riskTier}"`,
          }),
        );
        continue;
      }
      const outcome = evaluatePolicies(
        sources,
        factsFor(principal, requestRisk, now, atlas, action),
        'action',
        timeouts,
      );
      evaluated += outcome.evaluated;
      matched += outcome.matched.length;
      record(apps, sources, outcome, action.type);
      matches.add(outcome, action.type);
      // The same policy's rules come back for every action: keep each once (the redactor checks every rule at every node).
      for (const rule of outcome.redactions) if (!redactions.some((r) => deepEqual(r, rule))) redactions.push(rule);
      if (!outcome.allowed) {
        const denying = outcome.denyingRules;
        denials.push(
          denial(
            atlas,
            action,
            denying.length > 0
              ? (denying[0]!.rule.message ?? `denied by policy rule ${denying[0]!.rule.id}`)
              : 'no policy allows this action (default deny)',
            {
              policy_refs: denying.map(ruleRef),
              ...(denying.length === 0 ? { remediation: 'add a policy rule that allows this action' } : {}),
            },
          ),
        );
        continue;
      }
      grants.push({ atlas, action, outcome, constraints: grantConstraints(outcome, action) });
    }
  }
  steps.push(...matches.steps());
  steps.push(policyCompletedStep(evaluated, matched));

  const maxActions = scope.max_actions ?? defaults.maxActions;
  if (grants.length > maxActions) {
    warnings.push({
      code: 'MAX_ACTIONS_REACHED',
      message: `${grants.length - maxActions} grant(s) omitted by scope.max_actions = ${maxActions}`,
      details: { omitted: grants.slice(maxActions).map((g) => g.action.type) },
    });
    grants.length = maxActions;
  }
  steps.push({
    type: 'carp.actions.resolved',
    payload: {
      allowed_count: grants.length,
      denied_count: denials.length,
      allowed_action_types: grants.map((g) => g.action.type),
      denied_action_types: denials.map((d) => d.action_type),
    },
  });

  if (requestOutcome.requiresApproval) {
    // A request-level approval rule holds every grant of the resolution for approval.
    for (const grant of grants) {
      grant.outcome = {
        ...grant.outcome,
        requiresApproval: true,
        approval: grant.outcome.approval ??
          requestOutcome.approval ?? {
            approvers: ['role:approver'],
            timeoutSeconds: defaults.approvalTimeoutSeconds,
          },
      };
      grant.constraints = grantConstraints(grant.outcome, grant.action);
    }
  }
  const ttlSeconds = Math.min(defaults.ttlSeconds, ...context.blocks.map((b) => b.pack.ttlSeconds));
  return {
    ...base,
    decision: decide({ requestOutcome, grants, denials, scopeActions, defaults }),
    blocks: context.blocks,
    grants,
    denials,
    policiesApplied: [...apps.bySource.values()],
    ttlSeconds,
    steps,
  };
}

function decide(input: {
  requestOutcome: PolicyOutcome;
  grants: PlannedGrant[];
  denials: ActionDenial[];
  scopeActions: Set<string> | undefined;
  defaults: ResolverDefaults;
}): Decision {
  const { requestOutcome, grants, denials, scopeActions, defaults } = input;
  if (requestOutcome.requiresApproval) {
    return {
      type: 'requires_approval',
      approvers: approversOf(requestOutcome.approval?.approvers ?? ['role:approver']),
      approval_timeout_seconds: requestOutcome.approval?.timeoutSeconds ?? defaults.approvalTimeoutSeconds,
    };
  }
  if (scopeActions) {
    const deniedNamed = denials.filter((d) => scopeActions.has(d.action_type) || scopeActions.has(d.atlas_action_id));
    if (deniedNamed.length > 0) {
      return {
        type: 'partial',
        reason: `${deniedNamed.length} requested action(s) denied`,
        allowed_subset: grants.map((g) => g.action.type),
        denied_subset: deniedNamed.map((d) => d.action_type),
      };
    }
  }
  const constraints = grants.flatMap((g) => g.constraints);
  if (constraints.length > 0) return { type: 'allow_with_constraints', constraints };
  return { type: 'allow' };
}

function uniqueSources(sources: RuleSource[]): RuleSource[] {
  const seen = new Map<string, RuleSource>();
  for (const s of sources) if (!seen.has(s.id)) seen.set(s.id, s);
  return [...seen.values()];
}

function policyStartedStep(sources: RuleSource[]): TraceStep {
  return {
    type: 'carp.policy.evaluation.started',
    payload: { sources: sources.map((s) => s.id), rules: sources.reduce((n, s) => n + s.rules.length, 0) },
  };
}

function policyCompletedStep(evaluated: number, matched: number): TraceStep {
  return { type: 'carp.policy.evaluation.completed', payload: { rules_evaluated: evaluated, rules_matched: matched } };
}

/**
 * One `carp.policy.rule.matched` event per matched rule, listing every target it matched
 * (`request` or action types); `conditional_targets` are those decided only at execute time.
 */
class RuleMatches {
  private readonly byRule = new Map<
    string,
    { policy_id: string; rule_id: string; effect: string; targets: string[]; conditional_targets: string[] }
  >();

  add(outcome: PolicyOutcome, target: string): void {
    for (const m of outcome.matched) {
      const key = `${m.sourceId}#${m.rule.id}`;
      let entry = this.byRule.get(key);
      if (!entry) {
        entry = {
          policy_id: m.sourceId,
          rule_id: m.rule.id,
          effect: m.rule.effect,
          targets: [],
          conditional_targets: [],
        };
        this.byRule.set(key, entry);
      }
      (m.truth === 'unknown' ? entry.conditional_targets : entry.targets).push(target);
    }
  }

  steps(): TraceStep[] {
    return [...this.byRule.values()].map(({ conditional_targets, ...rest }) => ({
      type: 'carp.policy.rule.matched' as const,
      payload: { ...rest, ...(conditional_targets.length > 0 ? { conditional_targets } : {}) },
    }));
  }
}

function matchedSteps(outcome: PolicyOutcome, target: string): TraceStep[] {
  const matches = new RuleMatches();
  matches.add(outcome, target);
  return matches.steps();
}

/** Cache key (CRA-SPEC §3 step 7): agent, goal hash, risk tier, hints, scope, bundle version. */
export function cacheKeyParts(request: ResolveRequest, agentId: string, bundleVersion: string, defaultRisk: RiskTier) {
  const sorted = (xs: string[] | undefined): string[] => [...(xs ?? [])].sort();
  const scope = request.scope ?? {};
  return {
    agent: agentId,
    goal_hash: goalHash(request.task.goal),
    risk_tier: request.task.risk_tier ?? defaultRisk,
    hints: sorted(request.task.context_hints),
    scope: {
      atlases: sorted(scope.atlases),
      domains: sorted(scope.domains),
      actions: sorted(scope.actions),
      max_context_tokens: scope.max_context_tokens ?? null,
      max_actions: scope.max_actions ?? null,
    },
    bundle_version: bundleVersion,
  };
}
