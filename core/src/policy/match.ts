/**
 * Leaf comparisons of the policy language: one `Match` object applied to one value.
 * See `evaluate.ts` for the full semantics.
 */
import { RISK_TIERS, type RiskTier } from '../carp/types.js';
import { CraError } from '../errors.js';
import { globMatch } from './glob.js';
import type { Match } from './types.js';

export const MATCH_OPERATORS = [
  'eq',
  'neq',
  'in',
  'not_in',
  'gt',
  'gte',
  'lt',
  'lte',
  'matches',
  'glob',
  'exists',
] as const;
export type MatchOperator = (typeof MATCH_OPERATORS)[number];

export const ORDERING_OPERATORS = ['gt', 'gte', 'lt', 'lte'] as const;

/** How `gt`/`gte`/`lt`/`lte` compare: numbers numerically, risk tiers by rank. */
export type Ordering = 'number' | 'tier';

/** What a bare string stands for where a Match is allowed. */
export type Shorthand = 'glob' | 'eq';

const OPERATOR_SET: ReadonlySet<string> = new Set(MATCH_OPERATORS);

export function isMatchOperator(key: string): key is MatchOperator {
  return OPERATOR_SET.has(key);
}

/** Structural equality of JSON values (object member order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a) && Array.isArray(b)) {
    return a.length === b.length && a.every((item, i) => deepEqual(item, b[i]));
  }
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  const rb = b as Record<string, unknown>;
  const ra = a as Record<string, unknown>;
  return ka.every((k) => Object.hasOwn(rb, k) && deepEqual(ra[k], rb[k]));
}

const regexCache = new Map<string, RegExp>();
const REGEX_CACHE_LIMIT = 4096;

/** Compiles (once) an ECMAScript regular expression without flags. Throws SyntaxError. */
export function cachedRegExp(source: string): RegExp {
  const hit = regexCache.get(source);
  if (hit) return hit;
  const re = new RegExp(source);
  if (regexCache.size >= REGEX_CACHE_LIMIT) regexCache.clear();
  regexCache.set(source, re);
  return re;
}

/** The single operator of a Match; throws when there is none or more than one. */
export function matchOperator(match: Match): MatchOperator {
  const keys = Object.keys(match).filter((k) => (match as Record<string, unknown>)[k] !== undefined);
  const [only] = keys;
  if (keys.length !== 1 || only === undefined || !isMatchOperator(only)) {
    throw new CraError('INTERNAL_ERROR', `invalid match ${JSON.stringify(match)}: exactly one operator is required`);
  }
  return only;
}

export function normalizeMatch(match: Match | string, shorthand: Shorthand): Match {
  return typeof match === 'string' ? { [shorthand]: match } : match;
}

function tierRank(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const rank = RISK_TIERS.indexOf(value as RiskTier);
  return rank >= 0 ? rank : undefined;
}

function compare(op: (typeof ORDERING_OPERATORS)[number], value: unknown, bound: unknown, ordering: Ordering): boolean {
  let left: number | undefined;
  let right: number | undefined;
  if (ordering === 'tier') {
    left = tierRank(value);
    right = tierRank(bound);
  } else if (typeof value === 'number' && typeof bound === 'number') {
    left = value;
    right = bound;
  }
  if (left === undefined || right === undefined || Number.isNaN(left) || Number.isNaN(right)) return false;
  switch (op) {
    case 'gt':
      return left > right;
    case 'gte':
      return left >= right;
    case 'lt':
      return left < right;
    case 'lte':
      return left <= right;
  }
}

function inList(list: unknown, value: unknown): boolean {
  return Array.isArray(list) && list.some((item) => deepEqual(item, value));
}

/**
 * Applies one Match to a value (`undefined` = absent). A string is shorthand for
 * `{[shorthand]: string}`. Throws CraError(INTERNAL_ERROR) on a malformed Match: validation
 * rejects those, so reaching one means unvalidated input — failing the call is fail-closed.
 */
export function evaluateMatch(
  match: Match | string,
  value: unknown,
  options: { ordering?: Ordering; shorthand?: Shorthand } = {},
): boolean {
  const m = normalizeMatch(match, options.shorthand ?? 'eq');
  const op = matchOperator(m);
  switch (op) {
    case 'eq':
      return deepEqual(value, m.eq);
    case 'neq':
      return !deepEqual(value, m.neq);
    case 'in':
      return inList(m.in, value);
    case 'not_in':
      return !inList(m.not_in, value);
    case 'gt':
    case 'gte':
    case 'lt':
    case 'lte':
      return compare(op, value, m[op], options.ordering ?? 'number');
    case 'matches':
      return typeof value === 'string' && typeof m.matches === 'string' && cachedRegExp(m.matches).test(value);
    case 'glob':
      return typeof value === 'string' && typeof m.glob === 'string' && globMatch(m.glob, value);
    case 'exists':
      return (value !== undefined) === (m.exists === true);
  }
}

/**
 * A Match over a set of values (an agent's roles). Positive operators hold when ANY member
 * satisfies them; `neq`/`not_in` hold when NO member equals / is in the list (so
 * `{neq: admin}` means "not an admin"); `exists` asks whether the set is non-empty.
 */
export function evaluateSetMatch(match: Match, values: readonly unknown[]): boolean {
  const op = matchOperator(match);
  switch (op) {
    case 'neq':
      return !values.some((v) => deepEqual(v, match.neq));
    case 'not_in':
      return !values.some((v) => inList(match.not_in, v));
    case 'exists':
      return values.length > 0 === (match.exists === true);
    default:
      return values.some((v) => evaluateMatch(match, v));
  }
}
