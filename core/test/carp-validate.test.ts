import { describe, expect, it } from 'vitest';
import { validateCarpRequest } from '../src/carp/validate.js';

const base = {
  carp_version: '1.0',
  request_id: '018f6b1c-0000-7000-8000-0000000000a1',
  timestamp: '2026-01-01T00:00:00.000Z',
  operation: 'resolve',
  requester: { agent_id: 'agent-a', session_id: '018f6b1c-0000-7000-8000-000000000001' },
  task: { goal: 'Open an issue about the login crash', risk_tier: 'low' },
};

const paths = (body: unknown, op?: 'resolve' | 'execute' | 'validate') =>
  validateCarpRequest(body, op).map((v) => `${v.path} ${v.message}`);

describe('validateCarpRequest', () => {
  it('accepts a well-formed resolve request', () => {
    expect(validateCarpRequest(base, 'resolve')).toEqual([]);
  });

  it.each([
    ['wrong version', { ...base, carp_version: '0.1' }, '/carp_version must be "1.0"'],
    ['non-v7 request id', { ...base, request_id: 'abc' }, '/request_id does not match'],
    ['bad timestamp', { ...base, timestamp: 'yesterday' }, '/timestamp must match format "date-time"'],
    ['missing requester', { ...base, requester: undefined }, '/requester is required'],
    [
      'missing agent',
      { ...base, requester: { session_id: base.requester.session_id } },
      '/requester/agent_id is required',
    ],
    ['unknown field', { ...base, surprise: 1 }, '/surprise is not a known field'],
    ['resolve without task', { ...base, task: undefined }, '/task is required'],
    ['bad risk', { ...base, task: { goal: 'x', risk_tier: 'extreme' } }, '/task/risk_tier must be one of'],
    ['empty goal', { ...base, task: { goal: '' } }, '/task/goal must NOT have fewer than 1 characters'],
    ['wrong type', { ...base, scope: { max_actions: 'ten' } }, '/scope/max_actions must be integer'],
  ])('reports %s with its JSON Pointer', (_name, body, expected) => {
    expect(paths(body).join('\n')).toContain(expected);
  });

  it('reports every violation, not just the first', () => {
    const body = { ...base, carp_version: '2', request_id: 'x', task: { goal: 7 } };
    expect(paths(body).length).toBeGreaterThanOrEqual(3);
  });

  it('requires action for execute and validate', () => {
    const body = { ...base, operation: 'execute', task: undefined };
    expect(paths(body)).toContain('/action is required');
  });

  it('pins the operation to the endpoint', () => {
    expect(paths(base, 'execute')).toEqual(['/operation must be "execute" on this endpoint']);
  });

  it('rejects a body that is not an object', () => {
    expect(paths('hello')).toEqual([' must be object']);
    expect(paths(null)).toEqual([' must be object']);
  });
});
