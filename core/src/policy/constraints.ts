/**
 * Parameter constraints (`constrain` rules, CRA-SPEC §4/§5): checked against the parameters of
 * an execute, each failure a `CONSTRAINT_VIOLATED` violation at the parameter's JSON Pointer.
 *
 * | type       | `value`                    | holds when                                                  |
 * |------------|----------------------------|-------------------------------------------------------------|
 * | enum       | array of allowed values    | absent, or deep-equal to one of them                         |
 * | range      | `{min?, max?}` numbers     | absent, or a number with min ≤ n ≤ max                       |
 * | pattern    | ECMAScript regex           | absent, or a string the regex matches (unanchored)           |
 * | max_length | integer                    | absent, or a string (code points) / array no longer than it  |
 * | required   | —                          | present                                                     |
 * | forbidden  | — or array of values       | without value: absent; with: absent or none of the values   |
 *
 * A malformed constraint (bad pointer, regex or value) is itself a violation: fail closed.
 */
import type { ParameterConstraint, ParameterConstraintType, Violation } from '../carp/types.js';
import { cachedRegExp, deepEqual } from './match.js';
import { getByPointer, isValidPointer } from './pointer.js';

export const CONSTRAINT_VIOLATED = 'CONSTRAINT_VIOLATED';

type Check = (value: unknown, constraint: ParameterConstraint) => string | undefined;

function isRange(value: unknown): value is { min?: number; max?: number } {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return false;
  const { min, max, ...rest } = value as Record<string, unknown>;
  return (
    Object.keys(rest).length === 0 &&
    (min === undefined || typeof min === 'number') &&
    (max === undefined || typeof max === 'number') &&
    (min !== undefined || max !== undefined)
  );
}

const CHECKS: Record<ParameterConstraintType, Check> = {
  enum: (value, c) =>
    value === undefined || (Array.isArray(c.value) && c.value.some((v) => deepEqual(v, value)))
      ? undefined
      : `must be one of ${Array.isArray(c.value) ? c.value.map((v) => JSON.stringify(v)).join(', ') : '(invalid enum)'}`,
  range: (value, c) => {
    if (value === undefined) return undefined;
    if (!isRange(c.value)) return 'has an invalid range constraint';
    const { min, max } = c.value;
    if (typeof value !== 'number') return 'must be a number';
    if (min !== undefined && value < min) return `must be >= ${min}`;
    if (max !== undefined && value > max) return `must be <= ${max}`;
    return undefined;
  },
  pattern: (value, c) => {
    if (value === undefined) return undefined;
    let re: RegExp;
    try {
      re = cachedRegExp(String(c.value));
    } catch {
      return 'has an invalid pattern constraint';
    }
    if (typeof value !== 'string') return 'must be a string';
    return re.test(value) ? undefined : `must match ${String(c.value)}`;
  },
  max_length: (value, c) => {
    if (value === undefined) return undefined;
    if (typeof c.value !== 'number' || !Number.isInteger(c.value) || c.value < 0)
      return 'has an invalid max_length constraint';
    const length = typeof value === 'string' ? [...value].length : Array.isArray(value) ? value.length : undefined;
    if (length === undefined) return 'must be a string or an array';
    return length <= c.value ? undefined : `must be at most ${c.value} long`;
  },
  required: (value) => (value === undefined ? 'is required' : undefined),
  forbidden: (value, c) => {
    if (value === undefined) return undefined;
    if (c.value === undefined) return 'is not allowed';
    const values = Array.isArray(c.value) ? c.value : [c.value];
    return values.some((v) => deepEqual(v, value)) ? `must not be ${JSON.stringify(value)}` : undefined;
  },
};

/** Every violated constraint, in constraint order. */
export function checkParameterConstraints(
  parameters: Record<string, unknown>,
  constraints: readonly ParameterConstraint[],
): Violation[] {
  const out: Violation[] = [];
  for (const constraint of constraints) {
    const path = constraint.parameter;
    const check = Object.hasOwn(CHECKS, constraint.constraint_type) ? CHECKS[constraint.constraint_type] : undefined;
    let problem: string | undefined;
    if (check === undefined || typeof path !== 'string' || !isValidPointer(path)) {
      problem = 'has an invalid constraint';
    } else {
      problem = check(getByPointer(parameters, path), constraint);
    }
    if (problem !== undefined) {
      out.push({
        code: CONSTRAINT_VIOLATED,
        path: typeof path === 'string' ? path : '',
        message: constraint.message ?? problem,
      });
    }
  }
  return out;
}
