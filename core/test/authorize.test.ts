/**
 * Execute authorization (CRA-SPEC §5): `authorizeExecution` refuses in the spec's order —
 * resolution unexpired, caller, decision, grant and type, grant validity, parameters, policies
 * re-evaluated with the parameters — and reports what the runtime enforces next (rate limit,
 * approval).
 */
import { describe, expect, it } from 'vitest';
import type { LoadedAtlas } from '../src/atlas/types.js';
import type { CompiledPolicy } from '../src/bundle/types.js';
import type { ActionPermission, CARPResolution, ExecuteRequest, ResolveRequest, RiskTier } from '../src/carp/types.js';
import { isoTime, sequentialIds } from '../src/ids.js';
import {
  authorizeExecution,
  ExecutionRefused,
  parameterValidator,
  type AuthorizeInput,
  type CheckName,
} from '../src/resolver/authorize.js';
import type { BundleIndex } from '../src/resolver/bundle-index.js';
import { materializeResolution } from '../src/resolver/materialize.js';
import { planResolution } from '../src/resolver/plan.js';
import type { Principal } from '../src/resolver/types.js';
import type { PolicyRule } from '../src/policy/types.js';
import {
  action,
  bundleIndex,
  executeRequest,
  hints,
  inScope,
  loadedAtlas,
  MONDAY_NOON_UTC,
  named,
  policy,
  principal,
  referenceAtlas,
  resolveRequest,
  risk,
  riskTier,
  rule,
  withAction,
  withPolicy,
  withSchema,
} from './fixtures/builders.js';

const NOW = MONDAY_NOON_UTC;
const TELEMETRY = { trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16), events_emitted: 0 };

const RULES: Record<string, PolicyRule> = {
  allow: rule('allow-all', 'allow'),
  noProd: rule('no-prod', 'deny', { parameters: { pointer: '/repo', eq: 'prod' } }, { message: 'prod is off limits' }),
  bigRefund: rule(
    'big-refund',
    'require_approval',
    { all: [{ actionId: 'refund' }, { parameters: { pointer: '/amount', gt: 100 } }] },
    { params: { approvers: ['role:finance'], timeoutSeconds: 600 } },
  ),
  approveHigh: rule(
    'approve-high',
    'require_approval',
    { riskTier: { eq: 'high' } },
    { params: { timeoutSeconds: 1200 } },
  ),
  repoNames: rule(
    'repo-names',
    'constrain',
    { actionId: 'deploy' },
    {
      params: {
        constraints: [
          { parameter: '/repo', constraint_type: 'pattern', value: '^[a-z-]+$', message: 'lowercase repo names only' },
        ],
      },
    },
  ),
  deployRate: rule(
    'deploy-rate',
    'rate_limit',
    { actionId: 'deploy' },
    { params: { requests: 3, windowSeconds: 60, scope: 'action' } },
  ),
};

function opsAtlas(rules: PolicyRule[] = Object.values(RULES)): LoadedAtlas {
  return loadedAtlas(
    named('ops'),
    withAction(
      action(
        'refund',
        risk('medium'),
        withSchema({
          type: 'object',
          required: ['amount'],
          properties: { amount: { type: 'integer', minimum: 1 }, order: { type: 'string' } },
          additionalProperties: false,
        }),
      ),
      action('merge', risk('high')),
    ),
    withPolicy(...rules),
  );
}

interface Fixture {
  index: BundleIndex;
  resolution: CARPResolution;
  grant: (id: string) => ActionPermission;
}

function resolved(
  atlases: LoadedAtlas[] = [opsAtlas()],
  request: ResolveRequest = resolveRequest('ship it', riskTier('high')),
  policies: CompiledPolicy[] = [],
  who: Principal = principal(),
): Fixture {
  const index = bundleIndex({ atlases, policies });
  const plan = planResolution({ request, index, principal: who, now: NOW });
  const { resolution } = materializeResolution({ plan, request, ids: sequentialIds(), now: NOW, telemetry: TELEMETRY });
  return {
    index,
    resolution,
    grant: (id) => {
      const g = resolution.allowed_actions.find((a) => a.atlas_action_id === id);
      if (!g) throw new Error(`no grant for ${id}`);
      return g;
    },
  };
}

const base = resolved();
const EXPIRY = Date.parse(base.resolution.ttl.resolution_expires_at);

function input(
  overrides: Partial<AuthorizeInput> & {
    fixture?: Fixture;
    grantId?: string;
    parameters?: Record<string, unknown>;
  } = {},
): AuthorizeInput {
  const { fixture = base, grantId = 'deploy', parameters = { repo: 'web' }, ...rest } = overrides;
  const resolution = rest.resolution ?? fixture.resolution;
  const grant = resolution.allowed_actions.find((g) => g.atlas_action_id === grantId) ?? fixture.grant(grantId);
  return {
    resolution,
    resolutionAgentId: 'agent-1',
    request: executeRequest(resolution, grant, parameters),
    requestRiskTier: 'high' as RiskTier,
    principal: principal(),
    index: fixture.index,
    now: NOW + 1000,
    ...rest,
  };
}

function refusal(authorize: AuthorizeInput): ExecutionRefused {
  try {
    authorizeExecution(authorize);
  } catch (error) {
    expect(error).toBeInstanceOf(ExecutionRefused);
    return error as ExecutionRefused;
  }
  throw new Error('expected the execution to be refused');
}

function withRequest(i: AuthorizeInput, change: (r: ExecuteRequest) => void): AuthorizeInput {
  const request = structuredClone(i.request);
  change(request);
  return { ...i, request };
}

// ---------------------------------------------------------------------------------------------

describe('a permitted execution', () => {
  it('returns the grant, the atlas action and what the runtime enforces next', () => {
    const out = authorizeExecution(input());
    expect(out.grant).toBe(base.grant('deploy'));
    expect(out.atlas.atlas.ref).toBe('default/ops@1.0.0');
    expect(out.action.id).toBe('deploy');
    expect(out.outcome.allowed).toBe(true);
    expect(out.requiresApproval).toBe(false);
    expect(out.approval).toBeUndefined();
    expect(out.rateLimit).toEqual({ requests: 3, windowSeconds: 60, scope: 'action' });
    expect(out.redactions).toEqual([]);
  });

  it('one millisecond before expiry is still valid', () => {
    expect(() => authorizeExecution(input({ now: EXPIRY - 1 }))).not.toThrow();
  });

  it('partial and requires_approval resolutions permit execution of their grants', () => {
    const partial = resolved(
      [opsAtlas()],
      resolveRequest('x', riskTier('medium'), inScope({ actions: ['deploy', 'merge'] })),
    );
    expect(partial.resolution.decision.type).toBe('partial');
    expect(() => authorizeExecution(input({ fixture: partial, requestRiskTier: 'medium' }))).not.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------

describe('refusals, in the order of §5', () => {
  const denyResolution = resolved(
    [opsAtlas([RULES.allow!, rule('stop', 'deny', undefined, { target: 'request' })])],
    resolveRequest('x', riskTier('high')),
  ).resolution;
  const insufficient = resolved([opsAtlas()], resolveRequest('x', hints('payments'))).resolution;
  const someGrant = base.grant('deploy');

  interface Row {
    name: string;
    input: () => AuthorizeInput;
    code: string;
    check: CheckName;
    status: number;
    message?: RegExp;
  }
  const rows: Row[] = [
    {
      name: 'resolution expired (at exactly its expiry)',
      input: () => input({ now: EXPIRY }),
      code: 'RESOLUTION_EXPIRED',
      check: 'resolution_unexpired',
      status: 410,
    },
    {
      name: 'expiry is checked before the caller',
      input: () => input({ now: EXPIRY + 1, resolutionAgentId: 'agent-2' }),
      code: 'RESOLUTION_EXPIRED',
      check: 'resolution_unexpired',
      status: 410,
    },
    {
      name: "another agent's resolution",
      input: () => input({ resolutionAgentId: 'agent-2' }),
      code: 'FORBIDDEN',
      check: 'caller',
      status: 403,
    },
    {
      name: 'the caller is another principal than the resolution was issued to',
      input: () => input({ principal: principal((p) => void (p.agentId = 'agent-2')) }),
      code: 'FORBIDDEN',
      check: 'caller',
      status: 403,
    },
    {
      name: 'another session',
      input: () => withRequest(input(), (r) => void (r.requester.session_id = '018f6b1c-0000-7000-8000-00000000ffff')),
      code: 'FORBIDDEN',
      check: 'caller',
      status: 403,
    },
    {
      name: 'the caller is checked before the grant',
      input: () =>
        withRequest(
          input({ resolutionAgentId: 'agent-2' }),
          (r) => void (r.action.action_id = '018f6b1c-0000-7000-8000-000000009999'),
        ),
      code: 'FORBIDDEN',
      check: 'caller',
      status: 403,
    },
    {
      name: 'a deny resolution permits nothing',
      input: () => ({
        ...input(),
        resolution: denyResolution,
        request: executeRequest(denyResolution, someGrant, { repo: 'web' }),
      }),
      code: 'ACTION_NOT_PERMITTED',
      check: 'decision',
      status: 403,
      message: /"deny" resolution permits no execution/,
    },
    {
      name: 'an insufficient_context resolution permits nothing',
      input: () => ({
        ...input(),
        resolution: insufficient,
        request: executeRequest(insufficient, someGrant, { repo: 'web' }),
      }),
      code: 'ACTION_NOT_PERMITTED',
      check: 'decision',
      status: 403,
    },
    {
      name: 'the decision is checked before the grants (a deny with a grant listed)',
      input: () =>
        input({ resolution: { ...base.resolution, decision: { type: 'deny', reason: 'r', policy_refs: [] } } }),
      code: 'ACTION_NOT_PERMITTED',
      check: 'decision',
      status: 403,
    },
    {
      name: 'an action_id that is not a grant of the resolution',
      input: () => withRequest(input(), (r) => void (r.action.action_id = '018f6b1c-0000-7000-8000-000000009999')),
      code: 'ACTION_NOT_PERMITTED',
      check: 'grant',
      status: 403,
      message: /is not a grant of resolution/,
    },
    {
      name: "another grant's action_type",
      input: () => withRequest(input(), (r) => void (r.action.action_type = 'api.test.merge')),
      code: 'ACTION_NOT_PERMITTED',
      check: 'grant',
      status: 403,
      message: /is for api\.test\.deploy, not api\.test\.merge/,
    },
    {
      name: 'the grant is no longer valid (valid_until passed, resolution still live)',
      input: () => {
        const resolution = structuredClone(base.resolution);
        resolution.allowed_actions.find((g) => g.atlas_action_id === 'deploy')!.valid_until = isoTime(NOW + 500);
        return input({ resolution });
      },
      code: 'RESOLUTION_EXPIRED',
      check: 'grant_valid',
      status: 410,
    },
    {
      name: 'the atlas is no longer in the bundle',
      input: () => input({ index: bundleIndex({ atlases: [loadedAtlas(named('other'), withPolicy(RULES.allow!))] }) }),
      code: 'ACTION_NOT_PERMITTED',
      check: 'grant',
      status: 403,
      message: /no longer provides deploy; resolve again/,
    },
    {
      name: 'the atlas no longer has the action',
      input: () =>
        input({
          index: bundleIndex({
            atlases: [loadedAtlas(named('ops'), (m) => void (m.actions = [action('merge')]), withPolicy(RULES.allow!))],
          }),
        }),
      code: 'ACTION_NOT_PERMITTED',
      check: 'grant',
      status: 403,
    },
    {
      name: 'the grant is checked before the parameters',
      input: () => withRequest(input({ parameters: {} }), (r) => void (r.action.action_type = 'api.test.merge')),
      code: 'ACTION_NOT_PERMITTED',
      check: 'grant',
      status: 403,
    },
    {
      name: 'parameters invalid against the schema',
      input: () => input({ parameters: { title: 'x' } }),
      code: 'CONSTRAINT_VIOLATED',
      check: 'parameters',
      status: 422,
    },
    {
      name: 'parameters are checked before policies (an invalid call to prod)',
      input: () => input({ parameters: { repo: 'prod', extra: true } }),
      code: 'CONSTRAINT_VIOLATED',
      check: 'parameters',
      status: 422,
    },
    {
      name: 'a deny decided by the parameters',
      input: () => input({ parameters: { repo: 'prod' } }),
      code: 'ACTION_NOT_PERMITTED',
      check: 'policy',
      status: 403,
      message: /^prod is off limits$/,
    },
  ];

  it.each(rows)('$name → $code ($check)', ({ input: make, code, check, status, message }) => {
    const error = refusal(make());
    expect(error.code).toBe(code);
    expect(error.check).toBe(check);
    expect(error.status).toBe(status);
    if (message) expect(error.message).toMatch(message);
  });
});

// ---------------------------------------------------------------------------------------------

describe('parameter validators', () => {
  it('are compiled once per schema, also for a copy read back from a store', () => {
    const schema = { type: 'object', required: ['n'], properties: { n: { type: 'integer', minimum: 1 } } };
    const validate = parameterValidator(schema);
    const copy = JSON.parse(JSON.stringify(schema)) as Record<string, unknown>;
    expect(parameterValidator(copy)).toBe(validate);
    expect(parameterValidator(copy)({ n: 2 })).toBe(true);
    expect(parameterValidator(copy)({ n: 0 })).toBe(false);
    expect(parameterValidator({ ...schema, required: [] })).not.toBe(validate);
  });
});

describe('CONSTRAINT_VIOLATED names every violation by JSON Pointer', () => {
  const violations = (parameters: Record<string, unknown>, fixture = base, grantId = 'deploy') => {
    const error = refusal(input({ parameters, fixture, grantId }));
    expect(error.code).toBe('CONSTRAINT_VIOLATED');
    expect(error.details).toEqual({ violations: error.violations });
    return error.violations;
  };

  it.each([
    ['a missing required parameter', { title: 'x' }, [{ path: '/repo', message: 'is required' }]],
    ['an unknown parameter', { repo: 'web', force: true }, [{ path: '/force', message: 'is not a known field' }]],
    [
      'a wrong type (the pattern constraint fails closed on a non-string too)',
      { repo: 42 },
      [
        { path: '/repo', message: 'must be string' },
        { path: '/repo', message: 'lowercase repo names only' },
      ],
    ],
    ['a schema bound', { repo: 'web', title: 'x'.repeat(257) }, [{ path: '/title' }]],
    [
      'a policy constraint of the grant',
      { repo: 'Web_App' },
      [{ path: '/repo', message: 'lowercase repo names only' }],
    ],
    [
      'schema and policy constraint together',
      { repo: 'Web_App', title: 'x'.repeat(300) },
      [{ path: '/title' }, { path: '/repo', message: 'lowercase repo names only' }],
    ],
  ])('%s', (_name, parameters, expected) => {
    const got = violations(parameters);
    expect(got).toEqual(expected.map((v) => expect.objectContaining({ code: 'CONSTRAINT_VIOLATED', ...v })));
  });

  it('of another action schema (integer minimum)', () => {
    expect(violations({ amount: 0 }, base, 'refund')).toEqual([
      expect.objectContaining({ path: '/amount', code: 'CONSTRAINT_VIOLATED' }),
    ]);
  });

  it('a constraint added to the bundle after the resolution is enforced at execute', () => {
    const index = bundleIndex({
      atlases: [opsAtlas()],
      policies: [
        policy('titles', {
          rules: [
            rule('short-titles', 'constrain', undefined, {
              params: { constraints: [{ parameter: '/title', constraint_type: 'max_length', value: 5 }] },
            }),
          ],
        }),
      ],
    });
    const error = refusal(input({ index, parameters: { repo: 'web', title: 'far too long' } }));
    expect(error.code).toBe('CONSTRAINT_VIOLATED');
    expect(error.check).toBe('parameters');
    expect(error.violations).toEqual([
      { code: 'CONSTRAINT_VIOLATED', path: '/title', message: 'must be at most 5 long' },
    ]);
  });
});

// ---------------------------------------------------------------------------------------------

describe('policies re-evaluated with the parameters', () => {
  it('a deny reading parameters refuses with its policy_refs', () => {
    const error = refusal(input({ parameters: { repo: 'prod' } }));
    expect(error.details).toEqual({ policy_refs: ['atlas:default/ops@1.0.0#no-prod'] });
  });

  it('the same grant with other parameters runs', () => {
    expect(authorizeExecution(input({ parameters: { repo: 'staging' } })).outcome.allowed).toBe(true);
  });

  it('a deny from a Policy resource added after the resolution', () => {
    const index = bundleIndex({
      atlases: [opsAtlas()],
      policies: [policy('freeze', { rules: [rule('freeze-deploys', 'deny', { actionId: 'deploy' })] })],
    });
    const error = refusal(input({ index }));
    expect(error.code).toBe('ACTION_NOT_PERMITTED');
    expect(error.check).toBe('policy');
    expect(error.details).toEqual({ policy_refs: ['policy:default/freeze#freeze-deploys'] });
  });

  it('no allow any more: default deny', () => {
    const index = bundleIndex({ atlases: [opsAtlas([RULES.noProd!])] });
    const error = refusal(input({ index }));
    expect(error.check).toBe('policy');
    expect(error.message).toBe('no policy allows this action with these parameters');
    expect(error.details).toEqual({ policy_refs: [] });
  });

  it('policies see the request risk tier of the resolution', () => {
    const tierRule = rule('no-high-requests', 'deny', { requestRiskTier: { eq: 'high' } });
    const index = bundleIndex({ atlases: [opsAtlas([...Object.values(RULES), tierRule])] });
    expect(refusal(input({ index, requestRiskTier: 'high' })).check).toBe('policy');
    expect(() => authorizeExecution(input({ index, requestRiskTier: 'medium' }))).not.toThrow();
  });

  // `requestRiskTier` is required by the type; should a caller still omit it, a deny that cannot
  // be decided at execute time refuses (fail closed) instead of letting the action through.
  it('an execute-time deny that cannot be decided refuses (fail closed)', () => {
    const tierRule = rule('no-high-requests', 'deny', { requestRiskTier: { eq: 'high' } });
    const index = bundleIndex({ atlases: [opsAtlas([...Object.values(RULES), tierRule])] });
    const { requestRiskTier: _omitted, ...withoutTier } = input({ index });
    expect(refusal(withoutTier as Parameters<typeof authorizeExecution>[0]).check).toBe('policy');
  });
});

// ---------------------------------------------------------------------------------------------

describe('approval', () => {
  it.each([
    ['above the threshold: required by the parameter rule', 150, true],
    ['at the threshold (gt is strict): not required', 100, false],
    ['below: not required', 5, false],
  ])('%s', (_name, amount, required) => {
    const out = authorizeExecution(input({ grantId: 'refund', parameters: { amount } }));
    expect(base.grant('refund').requires_approval).toBe(false);
    expect(out.requiresApproval).toBe(required);
    expect(out.approval).toEqual(required ? { approvers: ['role:finance'], timeoutSeconds: 600 } : undefined);
  });

  it('required by the grant (a high-risk action)', () => {
    expect(base.grant('merge').requires_approval).toBe(true);
    const out = authorizeExecution(input({ grantId: 'merge', parameters: { repo: 'web' } }));
    expect(out.requiresApproval).toBe(true);
    expect(out.approval).toEqual({ approvers: ['role:approver'], timeoutSeconds: 1200 });
  });

  it('required by the grant even when the current bundle no longer demands it', () => {
    const index = bundleIndex({ atlases: [opsAtlas([RULES.allow!])] });
    const out = authorizeExecution(input({ index, grantId: 'merge', parameters: { repo: 'web' } }));
    expect(out.outcome.requiresApproval).toBe(false);
    expect(out.requiresApproval).toBe(true);
    expect(out.approval).toEqual({ approvers: ['role:approver'], timeoutSeconds: 1200 });
  });

  it('required for every grant of a requires_approval resolution, with its timeout', () => {
    const held = resolved(
      [
        opsAtlas([
          ...Object.values(RULES),
          rule('hold', 'require_approval', undefined, { target: 'request', params: { timeoutSeconds: 300 } }),
        ]),
      ],
      resolveRequest('x', riskTier('high')),
    );
    expect(held.resolution.decision.type).toBe('requires_approval');
    const deploy = authorizeExecution(input({ fixture: held }));
    expect(deploy.requiresApproval).toBe(true);
    expect(deploy.approval).toEqual({ approvers: ['role:approver'], timeoutSeconds: 300 });
    const merge = authorizeExecution(input({ fixture: held, grantId: 'merge' }));
    expect(merge.approval?.timeoutSeconds).toBe(300);
  });
});

// ---------------------------------------------------------------------------------------------

describe('rate limit', () => {
  it('from the re-evaluated policies', () => {
    expect(authorizeExecution(input()).rateLimit).toEqual({ requests: 3, windowSeconds: 60, scope: 'action' });
  });

  it('a stricter limit in the current bundle applies', () => {
    const index = bundleIndex({
      atlases: [opsAtlas()],
      policies: [policy('tight', { rateLimits: [{ requests: 1, windowSeconds: 60 }] })],
    });
    expect(authorizeExecution(input({ index })).rateLimit).toEqual({ requests: 1, windowSeconds: 60, scope: 'agent' });
  });

  it("from the grant when the current bundle's rules set none", () => {
    const index = bundleIndex({ atlases: [opsAtlas([RULES.allow!, RULES.repoNames!])] });
    expect(base.grant('deploy').rate_limit).toEqual({ requests: 3, window_seconds: 60, scope: 'action' });
    expect(authorizeExecution(input({ index })).rateLimit).toEqual({ requests: 3, windowSeconds: 60, scope: 'action' });
  });

  it('none for an action without a limit', () => {
    expect(authorizeExecution(input({ grantId: 'refund', parameters: { amount: 5 } })).rateLimit).toBeUndefined();
  });
});

// ---------------------------------------------------------------------------------------------

describe('ignoreExpiry (an approved execution whose resolution expired while waiting)', () => {
  it('runs after the resolution and grant expired', () => {
    const out = authorizeExecution(input({ grantId: 'merge', now: EXPIRY + 3_600_000, ignoreExpiry: true }));
    expect(out.requiresApproval).toBe(true);
  });

  it('skips the grant valid_until check too', () => {
    const resolution = structuredClone(base.resolution);
    resolution.allowed_actions.find((g) => g.atlas_action_id === 'deploy')!.valid_until = isoTime(NOW);
    expect(() => authorizeExecution(input({ resolution, ignoreExpiry: true }))).not.toThrow();
  });

  it('every other check still applies', () => {
    const late = { now: EXPIRY + 60_000, ignoreExpiry: true };
    expect(refusal(input({ ...late, resolutionAgentId: 'agent-2' })).code).toBe('FORBIDDEN');
    expect(refusal(input({ ...late, parameters: {} })).code).toBe('CONSTRAINT_VIOLATED');
    expect(refusal(input({ ...late, parameters: { repo: 'prod' } })).check).toBe('policy');
  });
});

// ---------------------------------------------------------------------------------------------

describe('the reference atlases execute as their READMEs describe', () => {
  function resolvedReference(name: string, tier: RiskTier): Fixture {
    return resolved([referenceAtlas(name)], resolveRequest('golden path', riskTier(tier)));
  }
  const cluster = resolvedReference('cluster-ops', 'high');
  const support = resolvedReference('customer-support', 'high');
  const github = resolvedReference('github-ops', 'high');
  const scale = (namespace: string) => ({ namespace, name: 'checkout', spec: { replicas: 4 } });

  it('cluster-ops: scale-deployment in production is refused by deny-protected-namespaces', () => {
    const error = refusal(input({ fixture: cluster, grantId: 'scale-deployment', parameters: scale('production') }));
    expect(error.code).toBe('ACTION_NOT_PERMITTED');
    expect(error.check).toBe('policy');
    expect(error.message).toMatch(/kube-system, kube-public and production are off limits/);
    expect(error.details).toEqual({ policy_refs: ['atlas:default/cluster-ops@1.0.0#deny-protected-namespaces'] });
  });

  it('cluster-ops: reads in kube-system are refused too', () => {
    const parameters = { namespace: 'kube-system', pod: 'coredns-1', tailLines: 100 };
    expect(refusal(input({ fixture: cluster, grantId: 'get-pod-logs', parameters })).check).toBe('policy');
  });

  it('cluster-ops: scale-deployment in staging runs, limited to 6 per 10 minutes per agent', () => {
    const out = authorizeExecution(
      input({ fixture: cluster, grantId: 'scale-deployment', parameters: scale('staging') }),
    );
    expect(out.requiresApproval).toBe(false);
    expect(out.rateLimit).toEqual({ requests: 6, windowSeconds: 600, scope: 'agent' });
  });

  it('cluster-ops: restart-deployment waits for an approver (1800 s)', () => {
    const parameters = {
      namespace: 'staging',
      name: 'checkout',
      spec: {
        template: { metadata: { annotations: { 'kubectl.kubernetes.io/restartedAt': '2025-01-06T12:00:00Z' } } },
      },
    };
    const out = authorizeExecution(input({ fixture: cluster, grantId: 'restart-deployment', parameters }));
    expect(out.requiresApproval).toBe(true);
    expect(out.approval).toEqual({ approvers: ['role:approver'], timeoutSeconds: 1800 });
  });

  it.each([
    [4599, false],
    [10000, false],
    [10001, true],
    [64900, true],
  ])('customer-support: a refund of %i cents requires approval: %s', (amount, required) => {
    const parameters = {
      order_id: 'ord_9x7m2p',
      amount_cents: amount,
      currency: 'EUR',
      reason: 'Item arrived damaged',
    };
    const out = authorizeExecution(input({ fixture: support, grantId: 'issue-refund', parameters }));
    expect(out.requiresApproval).toBe(required);
    expect(out.approval).toEqual(required ? { approvers: ['role:approver'], timeoutSeconds: 3600 } : undefined);
    expect(out.redactions.map((r) => r.path)).toEqual(['**.email', '**.phone', '**.card_number', '**.address']);
  });

  it('customer-support: lookup-customer is limited to 20 per 5 minutes per agent', () => {
    const out = authorizeExecution(
      input({ fixture: support, grantId: 'lookup-customer', parameters: { customer_id: 'cus_123' } }),
    );
    expect(out.rateLimit).toEqual({ requests: 20, windowSeconds: 300, scope: 'agent' });
  });

  it('github-ops: merge-pr waits for an approver; an unknown merge method is a JSON Pointer violation', () => {
    const parameters = { owner: 'acme', repo: 'mobile-app', pull_number: 57, merge_method: 'squash' };
    const out = authorizeExecution(input({ fixture: github, grantId: 'merge-pr', parameters }));
    expect(out.requiresApproval).toBe(true);
    expect(out.approval).toEqual({ approvers: ['role:approver'], timeoutSeconds: 3600 });
    expect(out.rateLimit).toEqual({ requests: 30, windowSeconds: 60, scope: 'agent' });
    const error = refusal(
      input({
        fixture: github,
        grantId: 'merge-pr',
        parameters: { ...parameters, merge_method: 'fast-forward', repo: '..' },
      }),
    );
    expect(error.code).toBe('CONSTRAINT_VIOLATED');
    expect(error.violations.map((v) => v.path).sort()).toEqual(['/merge_method', '/repo']);
  });
});
