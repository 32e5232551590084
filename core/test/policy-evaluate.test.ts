import { describe, expect, it } from 'vitest';
import type { ParameterConstraint } from '../src/carp/types.js';
import { CraError } from '../src/errors.js';
import { checkParameterConstraints } from '../src/policy/constraints.js';
import { evaluatePolicies, orderRules } from '../src/policy/evaluate.js';
import type { Condition, PolicyRule, RuleSource } from '../src/policy/types.js';
import {
  facts,
  requestTier,
  rule,
  source,
  withActionFacts,
  withoutAction,
  withoutParameters,
  withParams,
} from './fixtures/builders.js';

const yes: Condition = { always: true };
const no: Condition = { not: { always: true } };
/** Unknown until parameters are known. */
const later: Condition = { parameters: { pointer: '/repo', eq: 'web' } };
const resolveTime = facts(withoutParameters());

function outcome(rules: PolicyRule[], f = resolveTime, target: 'action' | 'request' = 'action') {
  return evaluatePolicies([source('atlas:default/a@1.0.0', ...rules)], f, target);
}

describe('deny-overrides, default-deny', () => {
  type Row = [string, PolicyRule[], { allowed: boolean; conditional: boolean; denying: string[] }];
  const rows: Row[] = [
    ['no rules: default deny', [], { allowed: false, conditional: false, denying: [] }],
    ['only a false allow', [rule('a', 'allow', no)], { allowed: false, conditional: false, denying: [] }],
    ['a true allow', [rule('a', 'allow', yes)], { allowed: true, conditional: false, denying: [] }],
    ['an allow without when', [rule('a', 'allow')], { allowed: true, conditional: false, denying: [] }],
    [
      'allow and deny both true: deny wins',
      [rule('a', 'allow', yes), rule('d', 'deny', yes)],
      { allowed: false, conditional: false, denying: ['d'] },
    ],
    [
      'deny with higher allow priority still wins',
      [rule('a', 'allow', yes, { priority: 1000 }), rule('d', 'deny', yes, { priority: -5 })],
      { allowed: false, conditional: false, denying: ['d'] },
    ],
    [
      'a false deny does not deny',
      [rule('a', 'allow', yes), rule('d', 'deny', no)],
      { allowed: true, conditional: false, denying: [] },
    ],
    [
      'an unknown allow allows, conditionally',
      [rule('a', 'allow', later)],
      { allowed: true, conditional: true, denying: [] },
    ],
    [
      'an unknown deny does not deny yet',
      [rule('a', 'allow', yes), rule('d', 'deny', later)],
      { allowed: true, conditional: true, denying: [] },
    ],
    ['only a deny: nothing allows', [rule('d', 'deny', no)], { allowed: false, conditional: false, denying: [] }],
    [
      'unknown approval is conditional',
      [rule('a', 'allow', yes), rule('r', 'require_approval', later)],
      { allowed: true, conditional: true, denying: [] },
    ],
    [
      'unknown constrain is conditional too',
      [
        rule('a', 'allow', yes),
        withParams(rule('c', 'constrain', later), {
          constraints: [{ parameter: '/repo', constraint_type: 'required' }],
        }),
      ],
      { allowed: true, conditional: true, denying: [] },
    ],
    [
      'two true denies both reported',
      [rule('a', 'allow'), rule('d2', 'deny'), rule('d1', 'deny')],
      { allowed: false, conditional: false, denying: ['d1', 'd2'] },
    ],
  ];
  it.each(rows)('%s', (_name, rules, expected) => {
    const o = outcome(rules);
    expect(o.allowed).toBe(expected.allowed);
    expect(o.conditional).toBe(expected.conditional);
    expect(o.denyingRules.map((m) => m.rule.id)).toEqual(expected.denying);
  });

  it('the same unknown allow is decided once parameters are known', () => {
    const rules = [rule('a', 'allow', later), rule('d', 'deny', { parameters: { pointer: '/repo', eq: 'secret' } })];
    expect(outcome(rules, facts()).allowed).toBe(true);
    expect(outcome(rules, facts()).conditional).toBe(false);
    expect(
      outcome(
        rules,
        facts((f) => void (f.parameters = { repo: 'other' })),
      ).allowed,
    ).toBe(false);
    const denied = outcome(
      rules,
      facts((f) => void (f.parameters = { repo: 'secret' })),
    );
    expect(denied.allowed).toBe(false);
    expect(denied.denyingRules.map((m) => m.rule.id)).toEqual(['d']);
  });

  it('combines rules from several sources', () => {
    const o = evaluatePolicies(
      [
        source('atlas:default/a@1.0.0', rule('allow-all', 'allow')),
        source('policy:default/freeze', rule('deny-deploy', 'deny', { actionType: 'api.github.*' })),
      ],
      facts(),
      'action',
    );
    expect(o.allowed).toBe(false);
    expect(o.denyingRules).toEqual([
      { sourceId: 'policy:default/freeze', rule: expect.objectContaining({ id: 'deny-deploy' }), truth: true },
    ]);
  });
});

describe('approval', () => {
  it.each<[string, PolicyRule[], { required: boolean; approvers?: string[]; timeout?: number }]>([
    ['none', [rule('a', 'allow')], { required: false }],
    ['false rule', [rule('a', 'allow'), rule('r', 'require_approval', no)], { required: false }],
    [
      'defaults',
      [rule('a', 'allow'), rule('r', 'require_approval')],
      { required: true, approvers: ['role:approver'], timeout: 900 },
    ],
    [
      'union of approvers, minimum timeout',
      [
        rule('a', 'allow'),
        withParams(rule('r1', 'require_approval', yes, { priority: 10 }), {
          approvers: ['role:admin', 'alice'],
          timeoutSeconds: 600,
        }),
        withParams(rule('r2', 'require_approval'), { approvers: ['alice', 'bob'], timeoutSeconds: 120 }),
        withParams(rule('r3', 'require_approval'), { timeoutSeconds: 3600 }),
      ],
      { required: true, approvers: ['role:admin', 'alice', 'bob'], timeout: 120 },
    ],
    [
      'approvers only: default timeout',
      [withParams(rule('r', 'require_approval'), { approvers: ['carol'] })],
      { required: true, approvers: ['carol'], timeout: 900 },
    ],
    ['approval by risk tier', [rule('r', 'require_approval', { riskTier: { gte: 'high' } })], { required: false }],
  ])('%s', (_name, rules, expected) => {
    const o = outcome(rules, facts());
    expect(o.requiresApproval).toBe(expected.required);
    if (expected.required)
      expect(o.approval).toEqual({ approvers: expected.approvers, timeoutSeconds: expected.timeout });
    else expect(o.approval).toBeUndefined();
  });

  it('high-risk actions need approval', () => {
    const rules = [
      rule('allow', 'allow'),
      rule('approve-high', 'require_approval', { riskTier: { in: ['high', 'critical'] } }),
    ];
    expect(outcome(rules, facts(withActionFacts({ riskTier: 'high' }))).requiresApproval).toBe(true);
    expect(outcome(rules, facts(withActionFacts({ riskTier: 'medium' }))).requiresApproval).toBe(false);
  });
});

describe('rate limits', () => {
  const rl = (
    id: string,
    requests: number,
    windowSeconds: number,
    scope?: 'action' | 'session' | 'agent' | 'atlas' | 'global',
    when: Condition = yes,
  ) => withParams(rule(id, 'rate_limit', when), { requests, windowSeconds, ...(scope ? { scope } : {}) });
  it.each<[string, PolicyRule[], { requests: number; windowSeconds: number; scope: string } | undefined]>([
    ['none', [rule('a', 'allow')], undefined],
    ['one, default scope agent', [rl('r', 100, 60)], { requests: 100, windowSeconds: 60, scope: 'agent' }],
    [
      'strictest rate wins',
      [rl('r1', 100, 60, 'global'), rl('r2', 10, 60, 'session'), rl('r3', 1000, 3600)],
      { requests: 10, windowSeconds: 60, scope: 'session' },
    ],
    [
      'rate, not request count',
      [rl('r1', 5, 1), rl('r2', 60, 60, 'action')],
      { requests: 60, windowSeconds: 60, scope: 'action' },
    ],
    [
      'same rate: fewer requests wins',
      [rl('r1', 100, 600), rl('r2', 10, 60, 'atlas')],
      { requests: 10, windowSeconds: 60, scope: 'atlas' },
    ],
    [
      'false rules do not limit',
      [rl('r1', 1, 60, 'agent', no), rl('r2', 50, 60)],
      { requests: 50, windowSeconds: 60, scope: 'agent' },
    ],
    ['unknown rules do not limit at resolve time', [rl('r1', 1, 60, 'agent', later)], undefined],
  ])('%s', (_name, rules, expected) => {
    expect(outcome(rules).rateLimit).toEqual(expected);
  });
});

describe('constraints and redactions accumulate', () => {
  const c1: ParameterConstraint = { parameter: '/repo', constraint_type: 'enum', value: ['web', 'api'] };
  const c2: ParameterConstraint = { parameter: '/title', constraint_type: 'max_length', value: 80 };
  it('unions constrain params of true rules, without duplicates', () => {
    const o = outcome([
      rule('a', 'allow'),
      withParams(rule('c1', 'constrain', yes, { priority: 5 }), { constraints: [c1] }),
      withParams(rule('c2', 'constrain'), { constraints: [c2, { ...c1 }] }),
      withParams(rule('c3', 'constrain', no), { constraints: [{ parameter: '/x', constraint_type: 'required' }] }),
    ]);
    expect(o.constraints).toEqual([c1, c2]);
  });
  it('unions redact params of true rules', () => {
    const o = outcome([
      withParams(rule('r1', 'redact'), { rules: [{ path: 'payload.parameters.email', mode: 'hash' }] }),
      withParams(rule('r2', 'redact'), {
        rules: [
          { path: 'payload.parameters.token', mode: 'partial', showChars: 4 },
          { path: 'payload.parameters.email', mode: 'hash' },
        ],
      }),
    ]);
    expect(o.redactions).toEqual([
      { path: 'payload.parameters.email', mode: 'hash' },
      { path: 'payload.parameters.token', mode: 'partial', showChars: 4 },
    ]);
  });
});

describe('ordering, targets and reports', () => {
  const sources: RuleSource[] = [
    source(
      'policy:default/b',
      rule('z', 'allow', yes, { priority: 10 }),
      rule('req', 'deny', { requestRiskTier: { eq: 'critical' } }, { target: 'request' }),
    ),
    source(
      'atlas:default/a@1.0.0',
      rule('y', 'allow', yes, { priority: 10 }),
      rule('x', 'deny', no),
      rule('w', 'constrain', later, { params: { constraints: [{ parameter: '/repo', constraint_type: 'required' }] } }),
    ),
    source('policy:default/empty'),
  ];

  it('orders by priority desc, then source id, then rule id', () => {
    expect(orderRules(sources, 'action').map((c) => `${c.source.id}#${c.rule.id}`)).toEqual([
      'atlas:default/a@1.0.0#y',
      'policy:default/b#z',
      'atlas:default/a@1.0.0#w',
      'atlas:default/a@1.0.0#x',
    ]);
  });

  it('order does not depend on the order of the sources', () => {
    const a = evaluatePolicies(sources, resolveTime, 'action');
    const b = evaluatePolicies([...sources].reverse(), resolveTime, 'action');
    expect(b.matched).toEqual(a.matched);
  });

  it('reports every evaluated rule of the target and what matched', () => {
    const o = evaluatePolicies(sources, resolveTime, 'action');
    expect(o.evaluated).toBe(4);
    expect(o.matched.map((m) => [m.rule.id, m.truth])).toEqual([
      ['y', true],
      ['z', true],
      ['w', 'unknown'],
    ]);
    expect(o.perSource['atlas:default/a@1.0.0']).toMatchObject({ evaluated: 3, matched: 2 });
    expect(o.perSource['policy:default/b']).toMatchObject({ evaluated: 1, matched: 1 });
    expect(o.perSource['policy:default/empty']).toEqual({ evaluated: 0, matched: 0, timeMs: 0 });
    for (const stats of Object.values(o.perSource)) expect(stats.timeMs).toBeGreaterThanOrEqual(0);
  });

  it('request-level evaluation sees only request rules and the request tier', () => {
    const low = evaluatePolicies(sources, facts(withoutAction(), withoutParameters(), requestTier('low')), 'request');
    expect(low.evaluated).toBe(1);
    expect(low.denyingRules).toEqual([]);
    expect(low.allowed).toBe(false); // default deny: no request-level allow
    const critical = evaluatePolicies(sources, facts(withoutAction(), requestTier('critical')), 'request');
    expect(critical.denyingRules.map((m) => m.rule.id)).toEqual(['req']);
    expect(critical.perSource['policy:default/b']).toMatchObject({ evaluated: 1, matched: 1 });
    expect(critical.perSource['atlas:default/a@1.0.0']).toMatchObject({ evaluated: 0, matched: 0 });
  });

  it('action-type rules are unknown at request level', () => {
    const o = evaluatePolicies(
      [
        source(
          'policy:default/p',
          rule('d', 'deny', { actionType: 'api.*' }, { target: 'request' }),
          rule('a', 'allow', undefined, { target: 'request' }),
        ),
      ],
      facts(withoutAction()),
      'request',
    );
    expect(o.allowed).toBe(true);
    expect(o.conditional).toBe(true);
  });

  it('a malformed rule fails the evaluation rather than being skipped', () => {
    const bad = rule('d', 'deny', { bogus: 1 } as unknown as Condition);
    expect(() => outcome([rule('a', 'allow'), bad])).toThrow(CraError);
  });
});

describe('checkParameterConstraints', () => {
  const params = { repo: 'web', title: 'Fix 🐛', count: 5, labels: ['a', 'b', 'c'], nested: { env: 'prod' } };
  type Row = [string, ParameterConstraint, string | undefined];
  const rows: Row[] = [
    ['enum ok', { parameter: '/repo', constraint_type: 'enum', value: ['web', 'api'] }, undefined],
    ['enum violated', { parameter: '/repo', constraint_type: 'enum', value: ['api'] }, 'must be one of "api"'],
    ['enum absent ok', { parameter: '/missing', constraint_type: 'enum', value: ['api'] }, undefined],
    ['enum deep', { parameter: '/nested', constraint_type: 'enum', value: [{ env: 'prod' }] }, undefined],
    ['range ok', { parameter: '/count', constraint_type: 'range', value: { min: 1, max: 5 } }, undefined],
    ['range below', { parameter: '/count', constraint_type: 'range', value: { min: 6 } }, 'must be >= 6'],
    ['range above', { parameter: '/count', constraint_type: 'range', value: { max: 4 } }, 'must be <= 4'],
    ['range not a number', { parameter: '/repo', constraint_type: 'range', value: { max: 4 } }, 'must be a number'],
    ['pattern ok', { parameter: '/nested/env', constraint_type: 'pattern', value: '^(prod|staging)$' }, undefined],
    ['pattern violated', { parameter: '/repo', constraint_type: 'pattern', value: '^api' }, 'must match ^api'],
    ['pattern on number', { parameter: '/count', constraint_type: 'pattern', value: '5' }, 'must be a string'],
    ['max_length counts code points', { parameter: '/title', constraint_type: 'max_length', value: 5 }, undefined],
    ['max_length violated', { parameter: '/title', constraint_type: 'max_length', value: 4 }, 'must be at most 4 long'],
    [
      'max_length of arrays',
      { parameter: '/labels', constraint_type: 'max_length', value: 2 },
      'must be at most 2 long',
    ],
    ['required ok', { parameter: '/repo', constraint_type: 'required' }, undefined],
    ['required missing', { parameter: '/branch', constraint_type: 'required' }, 'is required'],
    ['forbidden present', { parameter: '/nested/env', constraint_type: 'forbidden' }, 'is not allowed'],
    ['forbidden absent', { parameter: '/force', constraint_type: 'forbidden' }, undefined],
    [
      'forbidden values',
      { parameter: '/nested/env', constraint_type: 'forbidden', value: ['prod'] },
      'must not be "prod"',
    ],
    ['forbidden other values', { parameter: '/nested/env', constraint_type: 'forbidden', value: ['dev'] }, undefined],
    [
      'custom message',
      { parameter: '/repo', constraint_type: 'enum', value: ['api'], message: 'only the api repo' },
      'only the api repo',
    ],
    [
      'malformed regex fails closed',
      { parameter: '/repo', constraint_type: 'pattern', value: '(' },
      'has an invalid pattern constraint',
    ],
    ['malformed pointer fails closed', { parameter: 'repo', constraint_type: 'required' }, 'has an invalid constraint'],
  ];
  it.each(rows)('%s', (_name, constraint, message) => {
    const violations = checkParameterConstraints(params, [constraint]);
    if (message === undefined) expect(violations).toEqual([]);
    else expect(violations).toEqual([{ code: 'CONSTRAINT_VIOLATED', path: constraint.parameter, message }]);
  });

  it('reports every violation in order', () => {
    const v = checkParameterConstraints({}, [
      { parameter: '/a', constraint_type: 'required' },
      { parameter: '/b', constraint_type: 'required' },
    ]);
    expect(v.map((x) => x.path)).toEqual(['/a', '/b']);
  });
});
