/**
 * Three-valued evaluation of one condition against the facts. Semantics: see `evaluate.ts`.
 */
import { CraError } from '../errors.js';
import { evaluateMatch, evaluateSetMatch } from './match.js';
import { getByPointer, isValidPointer } from './pointer.js';
import { inTimeWindow } from './time.js';
import type { AgentMatch, Condition, EvaluationFacts, Match, ParameterMatch, Truth } from './types.js';

export const CONDITION_KEYS = [
  'all',
  'any',
  'not',
  'riskTier',
  'requestRiskTier',
  'actionType',
  'actionId',
  'domain',
  'atlas',
  'agent',
  'parameters',
  'time',
  'always',
] as const;
export type ConditionKey = (typeof CONDITION_KEYS)[number];

const KEY_SET: ReadonlySet<string> = new Set(CONDITION_KEYS);

export function isConditionKey(key: string): key is ConditionKey {
  return KEY_SET.has(key);
}

/** The single key of a condition object; throws CraError(INTERNAL_ERROR) when malformed. */
export function conditionKey(condition: Condition): ConditionKey {
  const keys = condition !== null && typeof condition === 'object' ? Object.keys(condition) : [];
  const [only] = keys;
  if (keys.length !== 1 || only === undefined || !isConditionKey(only)) {
    throw new CraError(
      'INTERNAL_ERROR',
      `invalid condition ${JSON.stringify(condition)}: exactly one known key is required`,
    );
  }
  return only;
}

/** Kleene conjunction: any false → false; else any unknown → unknown; else true. */
export function and(values: Iterable<Truth>): Truth {
  let unknown = false;
  for (const v of values) {
    if (v === false) return false;
    if (v === 'unknown') unknown = true;
  }
  return unknown ? 'unknown' : true;
}

/** Kleene disjunction: any true → true; else any unknown → unknown; else false. */
export function or(values: Iterable<Truth>): Truth {
  let unknown = false;
  for (const v of values) {
    if (v === true) return true;
    if (v === 'unknown') unknown = true;
  }
  return unknown ? 'unknown' : false;
}

export function not(value: Truth): Truth {
  return value === 'unknown' ? 'unknown' : !value;
}

function* lazily(conditions: readonly Condition[], facts: EvaluationFacts): Generator<Truth> {
  for (const c of conditions) yield evaluateCondition(c, facts);
}

function agentHolds(match: AgentMatch, agent: EvaluationFacts['agent']): boolean {
  if (match.id !== undefined && !evaluateMatch(match.id, agent.id)) return false;
  for (const [key, labelMatch] of Object.entries(match.labels ?? {})) {
    const value = Object.hasOwn(agent.labels, key) ? agent.labels[key] : undefined;
    if (!evaluateMatch(labelMatch, value, { shorthand: 'eq' })) return false;
  }
  return match.roles === undefined || evaluateSetMatch(match.roles, agent.roles);
}

function actionFact(
  facts: EvaluationFacts,
  read: (a: NonNullable<EvaluationFacts['action']>) => string,
  match: Match | string,
): Truth {
  return facts.action ? evaluateMatch(match, read(facts.action), { shorthand: 'glob' }) : 'unknown';
}

function parametersHold(match: ParameterMatch, facts: EvaluationFacts): Truth {
  if (facts.parameters === undefined) return 'unknown';
  const { pointer, ...op } = match;
  if (typeof pointer !== 'string' || !isValidPointer(pointer)) {
    throw new CraError('INTERNAL_ERROR', `invalid condition: ${JSON.stringify(pointer)} is not a JSON Pointer`);
  }
  return evaluateMatch(op, getByPointer(facts.parameters, pointer));
}

/**
 * Evaluates a condition (absent = always true) to true, false or `unknown` (it reads a fact
 * that is not known yet). Throws CraError(INTERNAL_ERROR) on a malformed condition.
 */
export function evaluateCondition(condition: Condition | undefined, facts: EvaluationFacts): Truth {
  if (condition === undefined) return true;
  const c = condition as Record<ConditionKey, unknown>;
  switch (conditionKey(condition)) {
    case 'all':
      return and(lazily(c.all as Condition[], facts));
    case 'any':
      return or(lazily(c.any as Condition[], facts));
    case 'not':
      return not(evaluateCondition(c.not as Condition, facts));
    case 'riskTier': {
      const tier = facts.action ? facts.action.riskTier : facts.requestRiskTier;
      return tier === undefined ? 'unknown' : evaluateMatch(c.riskTier as Match, tier, { ordering: 'tier' });
    }
    case 'requestRiskTier':
      return facts.requestRiskTier === undefined
        ? 'unknown'
        : evaluateMatch(c.requestRiskTier as Match, facts.requestRiskTier, { ordering: 'tier' });
    case 'actionType':
      return actionFact(facts, (a) => a.type, c.actionType as Match | string);
    case 'actionId':
      return actionFact(facts, (a) => a.id, c.actionId as Match | string);
    case 'domain':
      return actionFact(facts, (a) => a.domain, c.domain as Match | string);
    case 'atlas':
      return actionFact(facts, (a) => a.atlas, c.atlas as Match | string);
    case 'agent':
      return agentHolds(c.agent as AgentMatch, facts.agent);
    case 'parameters':
      return parametersHold(c.parameters as ParameterMatch, facts);
    case 'time':
      return inTimeWindow(c.time as Parameters<typeof inTimeWindow>[0], facts.now);
    case 'always':
      return c.always === true;
  }
}
