import { describe, expect, it } from 'vitest';
import { validateCondition, validatePolicyRules } from '../src/policy/validate.js';

type Row = [string, unknown, string, RegExp | string];

function expectIssue(issues: { path: string; message: string }[], path: string, message: RegExp | string): void {
  const atPath = issues.filter((i) => i.path === path);
  expect(atPath, `issues: ${JSON.stringify(issues)}`).not.toEqual([]);
  expect(
    atPath.some((i) => (typeof message === 'string' ? i.message === message : message.test(i.message))),
    JSON.stringify(atPath),
  ).toBe(true);
}

describe('validatePolicyRules: valid rules', () => {
  it.each<[string, unknown]>([
    ['empty list', []],
    ['allow without condition', [{ id: 'a', effect: 'allow' }]],
    [
      'every condition kind',
      [
        {
          id: 'everything',
          effect: 'deny',
          priority: 10,
          target: 'action',
          message: 'no',
          when: {
            all: [
              { riskTier: { gte: 'high' } },
              { requestRiskTier: { in: ['low', 'medium'] } },
              { actionType: 'api.github.*' },
              { actionId: { matches: '^merge' } },
              { domain: { glob: 'github.*' } },
              { atlas: 'default/*' },
              {
                agent: {
                  id: { eq: 'bot' },
                  labels: { team: 'sre', tier: { exists: false } },
                  roles: { not_in: ['admin'] },
                },
              },
              { parameters: { pointer: '/labels/0', neq: 'x' } },
              { time: { weekdays: ['sat', 'sun'], hours: { from: 22, to: 6 }, timezone: 'Europe/Paris' } },
              { any: [{ always: true }, { not: { parameters: { pointer: '/n', lte: 3 } } }] },
            ],
          },
        },
      ],
    ],
    ['approval without params', [{ id: 'r', effect: 'require_approval' }]],
    [
      'approval with params',
      [{ id: 'r', effect: 'require_approval', params: { approvers: ['role:admin'], timeoutSeconds: 60 } }],
    ],
    ['rate limit', [{ id: 'r', effect: 'rate_limit', params: { requests: 10, windowSeconds: 60, scope: 'session' } }]],
    [
      'constrain',
      [
        {
          id: 'c',
          effect: 'constrain',
          params: { constraints: [{ parameter: '/n', constraint_type: 'range', value: { min: 0, max: 5 } }] },
        },
      ],
    ],
    [
      'redact',
      [
        {
          id: 'x',
          effect: 'redact',
          params: {
            rules: [
              { path: 'payload.*.email', mode: 'partial', showChars: 3, showPosition: 'end' },
              { path: 'payload.**.token', mode: 'hash' },
            ],
          },
        },
      ],
    ],
  ])('%s', (_name, rules) => {
    expect(validatePolicyRules(rules, '/policies')).toEqual([]);
  });
});

describe('validatePolicyRules: invalid rules name the field', () => {
  const base = '/policies';
  const r = (extra: Record<string, unknown>) => [{ id: 'r1', effect: 'allow', ...extra }];
  const when = (condition: unknown) => r({ when: condition });
  const rows: Row[] = [
    ['not a list', { id: 'x' }, '/policies', 'must be an array'],
    ['missing id', [{ effect: 'allow' }], '/policies/0/id', 'is required'],
    ['bad id', [{ id: 'Bad Id', effect: 'allow' }], '/policies/0/id', /^must be an id/],
    ['unknown effect', [{ id: 'a', effect: 'permit' }], '/policies/0/effect', /^must be one of "allow"/],
    ['unknown rule field', r({ condition: { always: true } }), '/policies/0/condition', 'unknown field'],
    ['priority not integer', r({ priority: 1.5 }), '/policies/0/priority', 'must be an integer'],
    ['bad target', r({ target: 'session' }), '/policies/0/target', /must be one of/],
    [
      'duplicate id',
      [
        { id: 'a', effect: 'allow' },
        { id: 'a', effect: 'deny' },
      ],
      '/policies/1/id',
      'duplicate rule id "a" (also /policies/0)',
    ],
    ['when not an object', when('always'), '/policies/0/when', 'must be an object'],
    ['empty condition', when({}), '/policies/0/when', /must have exactly one condition key/],
    [
      'several condition keys',
      when({ domain: 'a', actionType: 'b' }),
      '/policies/0/when',
      /has several condition keys \(actionType, domain\)|has several condition keys \(domain, actionType\)/,
    ],
    ['unknown condition key', when({ risk_tier: { eq: 'low' } }), '/policies/0/when/risk_tier', /^unknown condition/],
    ['empty all', when({ all: [] }), '/policies/0/when/all', 'must be a non-empty list of conditions'],
    [
      'nested unknown key',
      when({ any: [{ always: true }, { not: { nope: 1 } }] }),
      '/policies/0/when/any/1/not/nope',
      /^unknown condition/,
    ],
    ['always false', when({ always: false }), '/policies/0/when/always', 'must be true'],
    ['match with no operator', when({ domain: {} }), '/policies/0/when/domain', /must have exactly one operator/],
    [
      'match with two operators',
      when({ domain: { eq: 'a', glob: 'b' } }),
      '/policies/0/when/domain',
      /has several operators \(eq, glob\)/,
    ],
    ['unknown operator', when({ domain: { equals: 'a' } }), '/policies/0/when/domain/equals', /^unknown operator/],
    [
      'bad regex',
      when({ actionType: { matches: '(' } }),
      '/policies/0/when/actionType/matches',
      /not a valid regular expression/,
    ],
    ['in not a list', when({ actionId: { in: 'a' } }), '/policies/0/when/actionId/in', 'must be a list'],
    [
      'gt not a number',
      when({ parameters: { pointer: '/n', gt: '3' } }),
      '/policies/0/when/parameters/gt',
      'must be a number',
    ],
    [
      'exists not boolean',
      when({ parameters: { pointer: '/n', exists: 'yes' } }),
      '/policies/0/when/parameters/exists',
      'must be true or false',
    ],
    ['risk tier typo', when({ riskTier: { eq: 'hgih' } }), '/policies/0/when/riskTier/eq', /must be a risk tier/],
    [
      'risk tier list typo',
      when({ requestRiskTier: { in: ['low', 'severe'] } }),
      '/policies/0/when/requestRiskTier/in',
      /must list risk tiers/,
    ],
    ['risk tier string shorthand', when({ riskTier: 'high' }), '/policies/0/when/riskTier', /must be a match object/],
    [
      'parameters missing pointer',
      when({ parameters: { eq: 1 } }),
      '/policies/0/when/parameters/pointer',
      /is required/,
    ],
    [
      'parameters bad pointer',
      when({ parameters: { pointer: 'repo', eq: 1 } }),
      '/policies/0/when/parameters/pointer',
      /must be a JSON Pointer/,
    ],
    [
      'parameters no operator',
      when({ parameters: { pointer: '/repo' } }),
      '/policies/0/when/parameters',
      /must have exactly one operator/,
    ],
    ['agent empty', when({ agent: {} }), '/policies/0/when/agent', 'must set id, labels or roles'],
    ['agent unknown part', when({ agent: { name: 'x' } }), '/policies/0/when/agent/name', 'unknown field'],
    [
      'agent label bad match',
      when({ agent: { labels: { team: { eq: 'a', neq: 'b' } } } }),
      '/policies/0/when/agent/labels/team',
      /has several operators/,
    ],
    [
      'agent label key escaped',
      when({ agent: { labels: { 'cra.dev/tier': 5 } } }),
      '/policies/0/when/agent/labels/cra.dev~1tier',
      /must be a match object/,
    ],
    ['agent id string', when({ agent: { id: 'bot' } }), '/policies/0/when/agent/id', /must be a match object/],
    ['time empty', when({ time: { timezone: 'UTC' } }), '/policies/0/when/time', 'must set weekdays or hours'],
    [
      'time bad timezone',
      when({ time: { hours: { from: 1, to: 2 }, timezone: 'Mars/Olympus_Mons' } }),
      '/policies/0/when/time/timezone',
      /IANA timezone/,
    ],
    [
      'time unknown weekday',
      when({ time: { weekdays: ['mon', 'monday'] } }),
      '/policies/0/when/time/weekdays/1',
      /unknown weekday "monday"/,
    ],
    [
      'time duplicate weekday',
      when({ time: { weekdays: ['mon', 'mon'] } }),
      '/policies/0/when/time/weekdays/1',
      /duplicate weekday/,
    ],
    [
      'time hour out of range',
      when({ time: { hours: { from: 9, to: 25 } } }),
      '/policies/0/when/time/hours/to',
      /between 0 and 24/,
    ],
    ['time hour missing', when({ time: { hours: { from: 9 } } }), '/policies/0/when/time/hours/to', 'is required'],
    [
      'time unknown field',
      when({ time: { weekdays: ['mon'], tz: 'UTC' } }),
      '/policies/0/when/time/tz',
      'unknown field',
    ],
    ['params on allow', r({ params: { requests: 1 } }), '/policies/0/params', 'is not used by effect allow'],
    [
      'rate limit without params',
      [{ id: 'r', effect: 'rate_limit' }],
      '/policies/0/params',
      'is required for effect rate_limit',
    ],
    [
      'rate limit missing requests',
      [{ id: 'r', effect: 'rate_limit', params: { windowSeconds: 60 } }],
      '/policies/0/params/requests',
      'is required',
    ],
    [
      'rate limit zero window',
      [{ id: 'r', effect: 'rate_limit', params: { requests: 1, windowSeconds: 0 } }],
      '/policies/0/params/windowSeconds',
      /integer between 1/,
    ],
    [
      'rate limit bad scope',
      [{ id: 'r', effect: 'rate_limit', params: { requests: 1, windowSeconds: 1, scope: 'tenant' } }],
      '/policies/0/params/scope',
      /must be one of action/,
    ],
    [
      'approval bad approvers',
      [{ id: 'r', effect: 'require_approval', params: { approvers: [] } }],
      '/policies/0/params/approvers',
      /1 to 32/,
    ],
    [
      'approval unknown param',
      [{ id: 'r', effect: 'require_approval', params: { timeout: 5 } }],
      '/policies/0/params/timeout',
      'unknown field',
    ],
    [
      'constrain without constraints',
      [{ id: 'c', effect: 'constrain', params: {} }],
      '/policies/0/params/constraints',
      /non-empty list of constraints/,
    ],
    [
      'constraint bad type',
      [{ id: 'c', effect: 'constrain', params: { constraints: [{ parameter: '/a', constraint_type: 'regex' }] } }],
      '/policies/0/params/constraints/0/constraint_type',
      /must be one of enum/,
    ],
    [
      'constraint bad pointer',
      [{ id: 'c', effect: 'constrain', params: { constraints: [{ parameter: 'a', constraint_type: 'required' }] } }],
      '/policies/0/params/constraints/0/parameter',
      /JSON Pointer/,
    ],
    [
      'constraint bad range',
      [
        {
          id: 'c',
          effect: 'constrain',
          params: { constraints: [{ parameter: '/a', constraint_type: 'range', value: { min: 5, max: 1 } }] },
        },
      ],
      '/policies/0/params/constraints/0/value',
      'min must not exceed max',
    ],
    [
      'constraint bad pattern',
      [
        {
          id: 'c',
          effect: 'constrain',
          params: { constraints: [{ parameter: '/a', constraint_type: 'pattern', value: '[' }] },
        },
      ],
      '/policies/0/params/constraints/0/value',
      /not a valid regular expression/,
    ],
    [
      'constraint empty enum',
      [
        {
          id: 'c',
          effect: 'constrain',
          params: { constraints: [{ parameter: '/a', constraint_type: 'enum', value: [] }] },
        },
      ],
      '/policies/0/params/constraints/0/value',
      /non-empty list/,
    ],
    [
      'redact without rules',
      [{ id: 'x', effect: 'redact', params: { rules: [] } }],
      '/policies/0/params/rules',
      /non-empty list of redaction rules/,
    ],
    [
      'redact bad mode',
      [{ id: 'x', effect: 'redact', params: { rules: [{ path: 'a.b', mode: 'scramble' }] } }],
      '/policies/0/params/rules/0/mode',
      /must be one of full/,
    ],
    [
      'redact empty path segment',
      [{ id: 'x', effect: 'redact', params: { rules: [{ path: 'a..b', mode: 'full' }] } }],
      '/policies/0/params/rules/0/path',
      /dotted path/,
    ],
    [
      'hash-mode rule with showChars',
      [{ id: 'x', effect: 'redact', params: { rules: [{ path: 'a.b', mode: 'hash', showChars: 4 }] } }],
      '/policies/0/params/rules/0/showChars',
      /only used by partial and mask/,
    ],
    [
      'redact bad showPosition',
      [{ id: 'x', effect: 'redact', params: { rules: [{ path: 'a', mode: 'partial', showPosition: 'middle' }] } }],
      '/policies/0/params/rules/0/showPosition',
      'must be start or end',
    ],
  ];
  it.each(rows)('%s → %s', (_name, rules, path, message) => {
    expectIssue(validatePolicyRules(rules, base), path, message);
  });

  it('reports every problem at once', () => {
    const issues = validatePolicyRules([
      { id: 'a', effect: 'allow', when: { domain: { eq: 1, neq: 2 } } },
      { id: 'b', effect: 'rate_limit' },
    ]);
    expect(issues.map((i) => i.path)).toEqual(['/0/when/domain', '/1/params']);
  });

  it('rejects absurd nesting', () => {
    let c: unknown = { always: true };
    for (let i = 0; i < 40; i++) c = { not: c };
    expect(validateCondition(c).some((i) => /nests deeper/.test(i.message))).toBe(true);
  });
});
