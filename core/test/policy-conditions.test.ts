import { describe, expect, it } from 'vitest';
import { CraError } from '../src/errors.js';
import { and, evaluateCondition, not, or } from '../src/policy/conditions.js';
import { globMatch } from '../src/policy/glob.js';
import { deepEqual, evaluateMatch } from '../src/policy/match.js';
import { escapePointerSegment, getByPointer, joinPointer, parsePointer } from '../src/policy/pointer.js';
import type { Condition, EvaluationFacts, Match, Truth } from '../src/policy/types.js';
import {
  at,
  facts,
  requestTier,
  withActionFacts,
  withAgent,
  withoutAction,
  withoutParameters,
  withoutRequestTier,
  withParameters,
} from './fixtures/builders.js';

const T: Condition = { always: true };
const F: Condition = { not: { always: true } };
/** Unknown at resolve time: reads parameters, which the default facts lack below. */
const U: Condition = { parameters: { pointer: '/repo', exists: true } };
const resolveTime = facts(withoutParameters());

describe('JSON Pointer', () => {
  const doc = { a: { 'b/c': [10, { 'd~e': 'x' }] }, '': 1, list: [0, 1] };
  it.each<[string, unknown]>([
    ['', doc],
    ['/a/b~1c/0', 10],
    ['/a/b~1c/1/d~0e', 'x'],
    ['/', 1],
    ['/list/1', 1],
    ['/list/01', undefined],
    ['/list/-', undefined],
    ['/list/2', undefined],
    ['/missing/deeper', undefined],
    ['/a/b~1c/0/x', undefined],
  ])('get %j', (pointer, expected) => {
    expect(getByPointer(doc, pointer)).toEqual(expected);
  });

  it.each(['a', '/a~2', '/~'])('rejects malformed pointer %j', (pointer) => {
    expect(parsePointer(pointer)).toBeUndefined();
    expect(() => getByPointer(doc, pointer)).toThrow(TypeError);
  });

  it('does not read inherited members', () => {
    expect(getByPointer({}, '/constructor')).toBeUndefined();
    expect(getByPointer({}, '/__proto__')).toBeUndefined();
  });

  it('escapes and joins segments', () => {
    expect(escapePointerSegment('a/b~c')).toBe('a~1b~0c');
    expect(joinPointer('/x', 'a/b', 0)).toBe('/x/a~1b/0');
  });
});

describe('glob', () => {
  it.each<[string, string, boolean]>([
    ['api.github.*', 'api.github.create_issue', true],
    ['api.*', 'api.github.create_issue', true],
    ['*', '', true],
    ['*.delete', 'api.repo.delete', true],
    ['*.delete', 'api.repo.delete_all', false],
    ['api.github.?', 'api.github.x', true],
    ['api.github.?', 'api.github.xy', false],
    ['api.github', 'api.github.create_issue', false],
    ['a.c', 'abc', false],
    ['a+(b)[c]^$|{1}\\', 'a+(b)[c]^$|{1}\\', true],
    ['?', 'é', true],
  ])('%j vs %j → %s', (glob, value, expected) => {
    expect(globMatch(glob, value)).toBe(expected);
  });
});

describe('Match operators', () => {
  it.each<[string, Match, unknown, boolean]>([
    ['eq string', { eq: 'a' }, 'a', true],
    ['eq deep object, any member order', { eq: { x: 1, y: [1, 2] } }, { y: [1, 2], x: 1 }, true],
    ['eq deep array order matters', { eq: [1, 2] }, [2, 1], false],
    ['eq number vs string', { eq: 1 }, '1', false],
    ['eq absent', { eq: 'a' }, undefined, false],
    ['eq null', { eq: null }, null, true],
    ['neq', { neq: 'a' }, 'b', true],
    ['neq same', { neq: 'a' }, 'a', false],
    ['neq absent', { neq: 'a' }, undefined, true],
    ['in', { in: ['a', 'b'] }, 'b', true],
    ['in deep', { in: [{ k: 1 }] }, { k: 1 }, true],
    ['in miss', { in: ['a'] }, 'c', false],
    ['not_in', { not_in: ['a'] }, 'c', true],
    ['not_in hit', { not_in: ['a'] }, 'a', false],
    ['gt', { gt: 3 }, 4, true],
    ['gt equal', { gt: 3 }, 3, false],
    ['gte equal', { gte: 3 }, 3, true],
    ['lt', { lt: 3 }, 2, true],
    ['lte equal', { lte: 3 }, 3, true],
    ['lte above', { lte: 3 }, 4, false],
    ['gt string value', { gt: 3 }, '4', false],
    ['gt string bound', { gt: 'a' }, 'b', false],
    ['gt absent', { gt: 0 }, undefined, false],
    ['matches', { matches: '^feat/' }, 'feat/x', true],
    ['matches unanchored', { matches: 'x' }, 'abxcd', true],
    ['matches miss', { matches: '^feat/' }, 'fix/x', false],
    ['matches non-string', { matches: '1' }, 1, false],
    ['glob', { glob: 'a*' }, 'abc', true],
    ['glob non-string', { glob: '*' }, 1, false],
    ['exists true', { exists: true }, 0, true],
    ['exists true absent', { exists: true }, undefined, false],
    ['exists false absent', { exists: false }, undefined, true],
    ['exists false present', { exists: false }, null, false],
  ])('%s', (_name, match, value, expected) => {
    expect(evaluateMatch(match, value)).toBe(expected);
  });

  it.each<[Match, string, boolean]>([
    [{ gt: 'low' }, 'medium', true],
    [{ gte: 'high' }, 'high', true],
    [{ gte: 'high' }, 'medium', false],
    [{ lt: 'critical' }, 'high', true],
    [{ lte: 'low' }, 'medium', false],
    [{ gt: 'low' }, 'extreme', false],
    [{ gt: 1 }, 'high', false],
  ])('tier ordering %j on %s → %s', (match, tier, expected) => {
    expect(evaluateMatch(match, tier, { ordering: 'tier' })).toBe(expected);
  });

  it.each<[Match]>([[{}], [{ eq: 1, neq: 2 }], [{ equals: 1 } as Match]])('rejects malformed %j', (match) => {
    expect(() => evaluateMatch(match, 1)).toThrow(CraError);
  });

  it('deepEqual treats JSON values structurally', () => {
    expect(deepEqual({ a: [1, { b: null }] }, { a: [1, { b: null }] })).toBe(true);
    expect(deepEqual({ a: 1 }, { a: 1, b: undefined })).toBe(false);
    expect(deepEqual([], {})).toBe(false);
  });
});

describe('three-valued logic', () => {
  const values: Truth[] = [true, false, 'unknown'];
  const kleeneAnd = (a: Truth, b: Truth): Truth =>
    a === false || b === false ? false : a === 'unknown' || b === 'unknown' ? 'unknown' : true;
  const kleeneOr = (a: Truth, b: Truth): Truth =>
    a === true || b === true ? true : a === 'unknown' || b === 'unknown' ? 'unknown' : false;
  const leaf = (v: Truth): Condition => (v === true ? T : v === false ? F : U);
  const cases = values.flatMap((a) => values.map((b) => [a, b] as const));

  it.each(cases)('all [%s, %s]', (a, b) => {
    expect(evaluateCondition({ all: [leaf(a), leaf(b)] }, resolveTime)).toBe(kleeneAnd(a, b));
    expect(and([a, b])).toBe(kleeneAnd(a, b));
  });
  it.each(cases)('any [%s, %s]', (a, b) => {
    expect(evaluateCondition({ any: [leaf(a), leaf(b)] }, resolveTime)).toBe(kleeneOr(a, b));
    expect(or([a, b])).toBe(kleeneOr(a, b));
  });
  it.each<[Truth, Truth]>([
    [true, false],
    [false, true],
    ['unknown', 'unknown'],
  ])('not %s → %s', (a, expected) => {
    expect(evaluateCondition({ not: leaf(a) }, resolveTime)).toBe(expected);
    expect(not(a)).toBe(expected);
  });

  it('nests', () => {
    const c: Condition = { all: [T, { any: [F, { not: { not: U } }] }] };
    expect(evaluateCondition(c, resolveTime)).toBe('unknown');
    expect(evaluateCondition(c, facts())).toBe(true);
  });

  it('an absent condition is true', () => {
    expect(evaluateCondition(undefined, facts())).toBe(true);
  });
});

describe('leaf conditions', () => {
  type Row = [string, Condition, EvaluationFacts, Truth];
  const rows: Row[] = [
    // action facts, glob shorthand
    ['actionType glob shorthand', { actionType: 'api.github.*' }, facts(), true],
    ['actionType glob across dots', { actionType: 'api.*' }, facts(), true],
    ['actionType miss', { actionType: 'api.gitlab.*' }, facts(), false],
    ['actionType match object', { actionType: { matches: '^api\\.github\\.' } }, facts(), true],
    ['actionType without action', { actionType: '*' }, facts(withoutAction()), 'unknown'],
    ['actionId', { actionId: 'create-issue' }, facts(), true],
    ['actionId in', { actionId: { in: ['close-issue', 'create-issue'] } }, facts(), true],
    ['actionId without action', { actionId: 'x' }, facts(withoutAction()), 'unknown'],
    ['domain', { domain: 'github.*' }, facts(), true],
    ['domain eq', { domain: { eq: 'github.pulls' } }, facts(), false],
    ['domain without action', { domain: 'github.issues' }, facts(withoutAction()), 'unknown'],
    ['atlas glob', { atlas: 'default/github-ops@*' }, facts(), true],
    ['atlas without action', { atlas: '*' }, facts(withoutAction()), 'unknown'],
    // risk tiers
    ['riskTier of action', { riskTier: { eq: 'low' } }, facts(requestTier('critical')), true],
    ['riskTier gte on action', { riskTier: { gte: 'high' } }, facts(withActionFacts({ riskTier: 'critical' })), true],
    ['riskTier in', { riskTier: { in: ['high', 'critical'] } }, facts(), false],
    [
      'riskTier without action reads request',
      { riskTier: { eq: 'high' } },
      facts(withoutAction(), requestTier('high')),
      true,
    ],
    [
      'riskTier without action or request tier',
      { riskTier: { eq: 'low' } },
      facts(withoutAction(), withoutRequestTier()),
      'unknown',
    ],
    ['requestRiskTier', { requestRiskTier: { lte: 'medium' } }, facts(requestTier('medium')), true],
    ['requestRiskTier with action', { requestRiskTier: { eq: 'high' } }, facts(requestTier('high')), true],
    ['requestRiskTier absent', { requestRiskTier: { eq: 'low' } }, facts(withoutRequestTier()), 'unknown'],
    // parameters
    ['parameters eq', { parameters: { pointer: '/repo', eq: 'web' } }, facts(), true],
    ['parameters array element', { parameters: { pointer: '/labels/0', eq: 'bug' } }, facts(), true],
    ['parameters in', { parameters: { pointer: '/owner', in: ['acme', 'corp'] } }, facts(), true],
    ['parameters not_in', { parameters: { pointer: '/owner', not_in: ['acme'] } }, facts(), false],
    ['parameters gt', { parameters: { pointer: '/count', gt: 2 } }, facts(), true],
    ['parameters lt', { parameters: { pointer: '/count', lt: 2 } }, facts(), false],
    ['parameters matches', { parameters: { pointer: '/title', matches: '^B' } }, facts(), true],
    ['parameters neq missing member', { parameters: { pointer: '/nope', neq: 'x' } }, facts(), true],
    ['parameters exists false on missing', { parameters: { pointer: '/nope', exists: false } }, facts(), true],
    ['parameters exists true', { parameters: { pointer: '/title', exists: true } }, facts(), true],
    ['parameters deep eq', { parameters: { pointer: '/labels', eq: ['bug', 'mobile'] } }, facts(), true],
    [
      'parameters escaped pointer',
      { parameters: { pointer: '/a~1b', eq: 1 } },
      facts(withParameters({ 'a/b': 1 })),
      true,
    ],
    [
      'parameters unknown at resolve time',
      { parameters: { pointer: '/repo', exists: false } },
      facts(withoutParameters()),
      'unknown',
    ],
    // agent
    ['agent id', { agent: { id: { eq: 'agent-1' } } }, facts(), true],
    ['agent id glob', { agent: { id: { glob: 'agent-*' } } }, facts(), true],
    ['agent label shorthand', { agent: { labels: { team: 'platform' } } }, facts(), true],
    ['agent label mismatch', { agent: { labels: { team: 'sales' } } }, facts(), false],
    ['agent label missing', { agent: { labels: { tier: 'gold' } } }, facts(), false],
    ['agent label exists false', { agent: { labels: { tier: { exists: false } } } }, facts(), true],
    ['agent label in', { agent: { labels: { team: { in: ['platform', 'sre'] } } } }, facts(), true],
    ['agent roles in', { agent: { roles: { in: ['admin', 'agent'] } } }, facts(), true],
    [
      'agent roles eq any role',
      { agent: { roles: { eq: 'approver' } } },
      facts(withAgent({ roles: ['agent', 'approver'] })),
      true,
    ],
    ['agent roles eq none', { agent: { roles: { eq: 'admin' } } }, facts(), false],
    [
      'agent roles neq: no role equals',
      { agent: { roles: { neq: 'admin' } } },
      facts(withAgent({ roles: ['agent', 'admin'] })),
      false,
    ],
    ['agent roles neq holds', { agent: { roles: { neq: 'admin' } } }, facts(), true],
    [
      'agent roles not_in: no role in list',
      { agent: { roles: { not_in: ['admin', 'auditor'] } } },
      facts(withAgent({ roles: ['agent', 'auditor'] })),
      false,
    ],
    ['agent roles not_in holds', { agent: { roles: { not_in: ['admin'] } } }, facts(), true],
    [
      'agent roles exists false (no roles)',
      { agent: { roles: { exists: false } } },
      facts(withAgent({ roles: [] })),
      true,
    ],
    [
      'agent roles matches',
      { agent: { roles: { matches: '^appr' } } },
      facts(withAgent({ roles: ['approver'] })),
      true,
    ],
    ['agent: every part must hold', { agent: { id: { eq: 'agent-1' }, roles: { eq: 'admin' } } }, facts(), false],
    [
      'agent: all parts hold',
      { agent: { id: { eq: 'agent-1' }, labels: { team: 'platform' }, roles: { eq: 'agent' } } },
      facts(),
      true,
    ],
    [
      'agent known without action',
      { agent: { id: { eq: 'agent-1' } } },
      facts(withoutAction(), withoutParameters()),
      true,
    ],
    ['always', { always: true }, facts(), true],
  ];
  it.each(rows)('%s', (_name, condition, f, expected) => {
    expect(evaluateCondition(condition, f)).toBe(expected);
  });
});

describe('time windows', () => {
  const businessHours = (timezone?: string): Condition => ({
    time: {
      weekdays: ['mon', 'tue', 'wed', 'thu', 'fri'],
      hours: { from: 9, to: 17 },
      ...(timezone ? { timezone } : {}),
    },
  });
  const night = (weekdays?: ('mon' | 'fri' | 'sat')[]): Condition => ({
    time: { hours: { from: 22, to: 6 }, ...(weekdays ? { weekdays } : {}) },
  });
  type Row = [string, Condition, string, boolean];
  const rows: Row[] = [
    ['business hours, UTC default', businessHours(), '2025-01-06T12:00:00Z', true],
    ['from is inclusive', businessHours(), '2025-01-06T09:00:00Z', true],
    ['to is exclusive', businessHours(), '2025-01-06T17:00:00Z', false],
    ['one second before to', businessHours(), '2025-01-06T16:59:59Z', true],
    ['weekend', businessHours(), '2025-01-04T12:00:00Z', false],
    ['New York: 12:00Z is 07:00 EST', businessHours('America/New_York'), '2025-01-06T12:00:00Z', false],
    ['New York: 14:00Z is 09:00 EST', businessHours('America/New_York'), '2025-01-06T14:00:00Z', true],
    ['New York after DST: 13:00Z is 09:00 EDT', businessHours('America/New_York'), '2025-03-10T13:00:00Z', true],
    ['New York before DST: 13:00Z is 08:00 EST', businessHours('America/New_York'), '2025-03-07T13:00:00Z', false],
    ['Kolkata half-hour offset: 03:30Z is 09:00 IST', businessHours('Asia/Kolkata'), '2025-01-06T03:30:00Z', true],
    ['Kolkata: 03:29Z is 08:59 IST', businessHours('Asia/Kolkata'), '2025-01-06T03:29:00Z', false],
    [
      'Tokyo: Sunday 20:00Z is Monday 05:00',
      { time: { weekdays: ['mon'], timezone: 'Asia/Tokyo' } },
      '2025-01-05T20:00:00Z',
      true,
    ],
    [
      'Tokyo: Monday 20:00Z is Tuesday',
      { time: { weekdays: ['mon'], timezone: 'Asia/Tokyo' } },
      '2025-01-06T20:00:00Z',
      false,
    ],
    ['weekday alone is the whole day', { time: { weekdays: ['mon'] } }, '2025-01-06T00:00:00Z', true],
    ['fractional hours', { time: { hours: { from: 9.5, to: 10 } } }, '2025-01-06T09:45:00Z', true],
    ['fractional hours before', { time: { hours: { from: 9.5, to: 10 } } }, '2025-01-06T09:29:00Z', false],
    ['from == to is all day', { time: { hours: { from: 8, to: 8 } } }, '2025-01-06T03:00:00Z', true],
    ['to 24 includes 23:59', { time: { hours: { from: 20, to: 24 } } }, '2025-01-06T23:59:59Z', true],
    ['midnight wrap: late evening', night(), '2025-01-06T23:00:00Z', true],
    ['midnight wrap: early morning', night(), '2025-01-07T03:00:00Z', true],
    ['midnight wrap: from is inclusive', night(), '2025-01-06T22:00:00Z', true],
    ['midnight wrap: to is exclusive', night(), '2025-01-07T06:00:00Z', false],
    ['midnight wrap: midday', night(), '2025-01-06T12:00:00Z', false],
    ['wrap belongs to start day: Friday night, Saturday 02:00', night(['fri']), '2025-01-11T02:00:00Z', true],
    ['wrap belongs to start day: Friday 02:00 is Thursday night', night(['fri']), '2025-01-10T02:00:00Z', false],
    ['wrap belongs to start day: Friday 23:00', night(['fri']), '2025-01-10T23:00:00Z', true],
    ['wrap: Monday 02:00 is Sunday night', night(['mon']), '2025-01-06T02:00:00Z', false],
    [
      'wrap in a timezone: 04:00Z is 23:00 EST Monday',
      { time: { weekdays: ['mon'], hours: { from: 22, to: 6 }, timezone: 'America/New_York' } },
      '2025-01-07T04:00:00Z',
      true,
    ],
  ];
  it.each(rows)('%s', (_name, condition, iso, expected) => {
    expect(evaluateCondition(condition, facts(at(iso)))).toBe(expected);
  });
});

describe('malformed conditions fail closed', () => {
  it.each<[string, unknown]>([
    ['no key', {}],
    ['two keys', { always: true, domain: 'x' }],
    ['unknown key', { weather: 'sunny' }],
    ['bad match', { domain: { eq: 'a', neq: 'b' } }],
    ['bad pointer', { parameters: { pointer: 'repo', eq: 'x' } }],
    ['bad timezone', { time: { hours: { from: 1, to: 2 }, timezone: 'Mars/Olympus' } }],
  ])('%s throws CraError', (_name, condition) => {
    expect(() => evaluateCondition(condition as Condition, facts())).toThrow(CraError);
  });
});
