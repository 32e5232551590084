/**
 * Validation of policy rules: the structural schema (`schema.ts`) plus what a schema cannot say
 * — conditions (one key per object, known keys, valid operators, regexes, pointers, timezones,
 * weekdays), effect parameters, unique rule ids. Every issue names its member by JSON Pointer.
 */
import { PARAMETER_CONSTRAINT_TYPES, RATE_LIMIT_SCOPES, RISK_TIERS } from '../carp/types.js';
import { lazyValidator, type FieldIssue } from '../structural-schema.js';
import { CONDITION_KEYS, isConditionKey, type ConditionKey } from './conditions.js';
import { MATCH_OPERATORS, isMatchOperator, type Ordering } from './match.js';
import { isValidPointer, joinPointer } from './pointer.js';
import { policyRulesSchema } from './schema.js';
import { isValidTimezone } from './time.js';
import { EFFECTS, REDACTION_MODES, WEEKDAYS } from './types.js';

export const MAX_CONDITION_DEPTH = 32;
export const MAX_CONDITION_ITEMS = 64;
export const MAX_MATCH_LIST = 256;

type Issues = FieldIssue[];
type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function list(values: readonly string[]): string {
  return values.join(', ');
}

function unknownKeys(value: Json, allowed: readonly string[], path: string, out: Issues, what = 'unknown field'): void {
  for (const key of Object.keys(value))
    if (!allowed.includes(key)) out.push({ path: joinPointer(path, key), message: what });
}

// ---------------------------------------------------------------------------------------------
// Match objects

interface MatchOptions {
  /** Which bare string shorthand is allowed, if any. */
  shorthand?: 'glob' | 'eq';
  ordering: Ordering;
  /** Keys allowed beside the operator (e.g. `pointer`). */
  extraKeys?: readonly string[];
}

function isTier(value: unknown): boolean {
  return typeof value === 'string' && (RISK_TIERS as readonly string[]).includes(value);
}

function operandIssue(op: string, operand: unknown, ordering: Ordering): string | undefined {
  switch (op) {
    case 'in':
    case 'not_in':
      if (!Array.isArray(operand)) return 'must be a list';
      if (operand.length > MAX_MATCH_LIST) return `must have at most ${MAX_MATCH_LIST} items`;
      if (ordering === 'tier' && !operand.every(isTier)) return `must list risk tiers (${list(RISK_TIERS)})`;
      return undefined;
    case 'eq':
    case 'neq':
      if (operand === undefined) return 'must be a value';
      return ordering === 'tier' && !isTier(operand) ? `must be a risk tier (${list(RISK_TIERS)})` : undefined;
    case 'matches':
      if (typeof operand !== 'string') return 'must be a string';
      try {
        new RegExp(operand);
        return undefined;
      } catch (error) {
        return `is not a valid regular expression: ${(error as Error).message}`;
      }
    case 'glob':
      return typeof operand === 'string' ? undefined : 'must be a string';
    case 'exists':
      return typeof operand === 'boolean' ? undefined : 'must be true or false';
    default: // gt, gte, lt, lte
      if (ordering === 'tier') return isTier(operand) ? undefined : `must be a risk tier (${list(RISK_TIERS)})`;
      return typeof operand === 'number' && Number.isFinite(operand) ? undefined : 'must be a number';
  }
}

/** Issues of a Match object (or shorthand string) at `path`. */
export function matchIssues(match: unknown, path: string, options: MatchOptions): Issues {
  if (typeof match === 'string' && options.shorthand) return [];
  if (!isObject(match)) {
    const shorthand =
      options.shorthand === 'glob' ? ' or a glob string' : options.shorthand === 'eq' ? ' or a string' : '';
    return [{ path, message: `must be a match object such as {eq: …}${shorthand}` }];
  }
  const out: Issues = [];
  const extra = options.extraKeys ?? [];
  const ops = Object.keys(match).filter((k) => !extra.includes(k));
  unknownKeys(match, [...MATCH_OPERATORS, ...extra], path, out, `unknown operator (one of ${list(MATCH_OPERATORS)})`);
  const known = ops.filter(isMatchOperator);
  if (known.length === 0 && ops.length === known.length) {
    out.push({ path, message: `must have exactly one operator (${list(MATCH_OPERATORS)})` });
  } else if (known.length > 1) {
    out.push({ path, message: `has several operators (${list(known)}); use one per match and combine with all` });
  }
  for (const op of known) {
    const issue = operandIssue(op, match[op], options.ordering);
    if (issue) out.push({ path: joinPointer(path, op), message: issue });
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Conditions

function agentIssues(agent: unknown, path: string): Issues {
  if (!isObject(agent)) return [{ path, message: 'must be an object with id, labels or roles' }];
  const out: Issues = [];
  unknownKeys(agent, ['id', 'labels', 'roles'], path, out);
  if (agent.id === undefined && agent.labels === undefined && agent.roles === undefined) {
    out.push({ path, message: 'must set id, labels or roles' });
  }
  if (agent.id !== undefined) out.push(...matchIssues(agent.id, `${path}/id`, { ordering: 'number' }));
  if (agent.roles !== undefined) out.push(...matchIssues(agent.roles, `${path}/roles`, { ordering: 'number' }));
  if (agent.labels !== undefined) {
    if (!isObject(agent.labels)) out.push({ path: `${path}/labels`, message: 'must be a map of label matches' });
    else {
      for (const [key, value] of Object.entries(agent.labels)) {
        out.push(...matchIssues(value, joinPointer(`${path}/labels`, key), { ordering: 'number', shorthand: 'eq' }));
      }
    }
  }
  return out;
}

function parameterIssues(match: unknown, path: string): Issues {
  if (!isObject(match)) return [{ path, message: 'must be an object {pointer, <operator>}' }];
  const out: Issues = [];
  if (typeof match.pointer !== 'string')
    out.push({ path: `${path}/pointer`, message: 'is required (a JSON Pointer such as /repo)' });
  else if (!isValidPointer(match.pointer) || match.pointer === '') {
    out.push({ path: `${path}/pointer`, message: 'must be a JSON Pointer (RFC 6901) such as /repo' });
  }
  out.push(...matchIssues(match, path, { ordering: 'number', extraKeys: ['pointer'] }));
  return out;
}

function hoursIssues(hours: unknown, path: string): Issues {
  if (!isObject(hours)) return [{ path, message: 'must be an object {from, to}' }];
  const out: Issues = [];
  unknownKeys(hours, ['from', 'to'], path, out);
  for (const key of ['from', 'to'] as const) {
    const v = hours[key];
    if (v === undefined) out.push({ path: `${path}/${key}`, message: 'is required' });
    else if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > 24) {
      out.push({ path: `${path}/${key}`, message: 'must be an hour between 0 and 24' });
    }
  }
  return out;
}

function weekdayIssues(weekdays: unknown, path: string): Issues {
  if (!Array.isArray(weekdays) || weekdays.length === 0)
    return [{ path, message: 'must be a non-empty list of weekdays' }];
  const out: Issues = [];
  weekdays.forEach((day, i) => {
    if (!(WEEKDAYS as readonly unknown[]).includes(day)) {
      out.push({ path: `${path}/${i}`, message: `unknown weekday ${JSON.stringify(day)} (one of ${list(WEEKDAYS)})` });
    } else if (weekdays.indexOf(day) !== i) {
      out.push({ path: `${path}/${i}`, message: `duplicate weekday ${JSON.stringify(day)}` });
    }
  });
  return out;
}

function timeIssues(window: unknown, path: string): Issues {
  if (!isObject(window)) return [{ path, message: 'must be an object {weekdays?, hours?, timezone?}' }];
  const out: Issues = [];
  unknownKeys(window, ['weekdays', 'hours', 'timezone'], path, out);
  if (window.weekdays === undefined && window.hours === undefined)
    out.push({ path, message: 'must set weekdays or hours' });
  if (window.weekdays !== undefined) out.push(...weekdayIssues(window.weekdays, `${path}/weekdays`));
  if (window.hours !== undefined) out.push(...hoursIssues(window.hours, `${path}/hours`));
  if (window.timezone !== undefined && (typeof window.timezone !== 'string' || !isValidTimezone(window.timezone))) {
    out.push({ path: `${path}/timezone`, message: 'must be an IANA timezone such as Europe/Paris' });
  }
  return out;
}

function listIssues(items: unknown, path: string, depth: number): Issues {
  if (!Array.isArray(items) || items.length === 0) return [{ path, message: 'must be a non-empty list of conditions' }];
  if (items.length > MAX_CONDITION_ITEMS)
    return [{ path, message: `must have at most ${MAX_CONDITION_ITEMS} conditions` }];
  return items.flatMap((item, i) => conditionIssues(item, `${path}/${i}`, depth + 1));
}

function leafIssues(key: ConditionKey, value: unknown, path: string, depth: number): Issues {
  switch (key) {
    case 'all':
    case 'any':
      return listIssues(value, path, depth);
    case 'not':
      return conditionIssues(value, path, depth + 1);
    case 'riskTier':
    case 'requestRiskTier':
      return matchIssues(value, path, { ordering: 'tier' });
    case 'actionType':
    case 'actionId':
    case 'domain':
    case 'atlas':
      return matchIssues(value, path, { ordering: 'number', shorthand: 'glob' });
    case 'agent':
      return agentIssues(value, path);
    case 'parameters':
      return parameterIssues(value, path);
    case 'time':
      return timeIssues(value, path);
    case 'always':
      return value === true ? [] : [{ path, message: 'must be true' }];
  }
}

/** Issues of one condition at `path` (recursively). */
export function conditionIssues(condition: unknown, path: string, depth = 0): Issues {
  if (depth > MAX_CONDITION_DEPTH) return [{ path, message: `nests deeper than ${MAX_CONDITION_DEPTH} levels` }];
  if (!isObject(condition)) return [{ path, message: 'must be a condition object with exactly one key' }];
  const keys = Object.keys(condition);
  const out: Issues = [];
  unknownKeys(condition, CONDITION_KEYS, path, out, `unknown condition (one of ${list(CONDITION_KEYS)})`);
  const known = keys.filter(isConditionKey);
  if (keys.length === 0) out.push({ path, message: `must have exactly one condition key (${list(CONDITION_KEYS)})` });
  if (known.length > 1) {
    out.push({ path, message: `has several condition keys (${list(known)}); combine conditions with all: [...]` });
  }
  for (const key of known) out.push(...leafIssues(key, condition[key], `${path}/${key}`, depth));
  return out;
}

// ---------------------------------------------------------------------------------------------
// Effect parameters

function integerIssue(value: unknown, path: string, min: number, max: number, required: boolean): Issues {
  if (value === undefined) return required ? [{ path, message: 'is required' }] : [];
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    return [{ path, message: `must be an integer between ${min} and ${max}` }];
  }
  return [];
}

function approvalIssues(params: Json, path: string): Issues {
  const out: Issues = [];
  unknownKeys(params, ['approvers', 'timeoutSeconds'], path, out);
  const { approvers } = params;
  if (approvers !== undefined) {
    if (!Array.isArray(approvers) || approvers.length === 0 || approvers.length > 32) {
      out.push({ path: `${path}/approvers`, message: 'must be a list of 1 to 32 approvers' });
    } else {
      approvers.forEach((a, i) => {
        if (typeof a !== 'string' || a.length === 0 || a.length > 256) {
          out.push({ path: `${path}/approvers/${i}`, message: 'must be an identity id or role:<name>' });
        }
      });
    }
  }
  out.push(...integerIssue(params.timeoutSeconds, `${path}/timeoutSeconds`, 1, 604_800, false));
  return out;
}

function rateLimitIssues(params: Json, path: string): Issues {
  const out: Issues = [];
  unknownKeys(params, ['requests', 'windowSeconds', 'scope'], path, out);
  out.push(...integerIssue(params.requests, `${path}/requests`, 1, 1_000_000_000, true));
  out.push(...integerIssue(params.windowSeconds, `${path}/windowSeconds`, 1, 31_536_000, true));
  if (params.scope !== undefined && !(RATE_LIMIT_SCOPES as readonly unknown[]).includes(params.scope)) {
    out.push({ path: `${path}/scope`, message: `must be one of ${list(RATE_LIMIT_SCOPES)}` });
  }
  return out;
}

function constraintValueIssue(type: unknown, value: unknown): string | undefined {
  switch (type) {
    case 'enum':
      return Array.isArray(value) && value.length > 0 ? undefined : 'must be a non-empty list of allowed values';
    case 'range': {
      if (!isObject(value)) return 'must be an object {min?, max?}';
      const { min, max, ...rest } = value;
      const num = (n: unknown): boolean => n === undefined || (typeof n === 'number' && Number.isFinite(n));
      if (Object.keys(rest).length > 0 || !num(min) || !num(max) || (min === undefined && max === undefined)) {
        return 'must be an object {min?, max?} with at least one number';
      }
      return typeof min === 'number' && typeof max === 'number' && min > max ? 'min must not exceed max' : undefined;
    }
    case 'pattern':
      return operandIssue('matches', value, 'number');
    case 'max_length':
      return typeof value === 'number' && Number.isInteger(value) && value >= 0
        ? undefined
        : 'must be a non-negative integer';
    case 'required':
      return value === undefined ? undefined : 'is not used by required';
    default:
      return undefined;
  }
}

/** Issues of one ParameterConstraint at `path`. */
export function parameterConstraintIssues(constraint: unknown, path: string): Issues {
  if (!isObject(constraint)) return [{ path, message: 'must be a parameter constraint object' }];
  const out: Issues = [];
  unknownKeys(constraint, ['parameter', 'constraint_type', 'value', 'message'], path, out);
  const { parameter, constraint_type: type } = constraint;
  if (typeof parameter !== 'string' || parameter === '' || !isValidPointer(parameter)) {
    out.push({ path: `${path}/parameter`, message: 'must be a JSON Pointer (RFC 6901) such as /repo' });
  }
  if (!(PARAMETER_CONSTRAINT_TYPES as readonly unknown[]).includes(type)) {
    out.push({ path: `${path}/constraint_type`, message: `must be one of ${list(PARAMETER_CONSTRAINT_TYPES)}` });
  } else {
    const issue = constraintValueIssue(type, constraint.value);
    if (issue) out.push({ path: `${path}/value`, message: issue });
  }
  if (constraint.message !== undefined && typeof constraint.message !== 'string') {
    out.push({ path: `${path}/message`, message: 'must be a string' });
  }
  return out;
}

const PARTIAL_MODES: readonly unknown[] = ['partial', 'mask'];

/** `showChars`/`showPosition` only mean something for the partial and mask modes. */
export function redactionModeIssues(rule: unknown, path: string): Issues {
  if (
    !isObject(rule) ||
    !(REDACTION_MODES as readonly unknown[]).includes(rule.mode) ||
    PARTIAL_MODES.includes(rule.mode)
  ) {
    return [];
  }
  return ['showChars', 'showPosition']
    .filter((key) => rule[key] !== undefined)
    .map((key) => ({
      path: `${path}/${key}`,
      message: `is only used by partial and mask (mode is ${String(rule.mode)})`,
    }));
}

/** Issues of one RedactionRule at `path` (everything, for rules inside free-form `params`). */
export function redactionRuleIssues(rule: unknown, path: string): Issues {
  if (!isObject(rule)) return [{ path, message: 'must be a redaction rule {path, mode}' }];
  const out: Issues = [];
  unknownKeys(rule, ['id', 'path', 'mode', 'showChars', 'showPosition'], path, out);
  if (typeof rule.path !== 'string' || rule.path === '' || rule.path.split('.').some((s) => s === '')) {
    out.push({ path: `${path}/path`, message: 'must be a dotted path such as payload.parameters.email' });
  }
  if (!(REDACTION_MODES as readonly unknown[]).includes(rule.mode)) {
    out.push({ path: `${path}/mode`, message: `must be one of ${list(REDACTION_MODES)}` });
  }
  out.push(...redactionModeIssues(rule, path));
  out.push(...integerIssue(rule.showChars, `${path}/showChars`, 0, 64, false));
  if (rule.showPosition !== undefined && rule.showPosition !== 'start' && rule.showPosition !== 'end') {
    out.push({ path: `${path}/showPosition`, message: 'must be start or end' });
  }
  return out;
}

function listOf(value: unknown, path: string, what: string, each: (item: unknown, path: string) => Issues): Issues {
  if (!Array.isArray(value) || value.length === 0) return [{ path, message: `must be a non-empty list of ${what}` }];
  if (value.length > MAX_MATCH_LIST) return [{ path, message: `must have at most ${MAX_MATCH_LIST} ${what}` }];
  return value.flatMap((item, i) => each(item, `${path}/${i}`));
}

function paramsIssues(effect: unknown, params: unknown, path: string): Issues {
  if (effect === 'allow' || effect === 'deny') {
    return params === undefined ? [] : [{ path, message: `is not used by effect ${effect}` }];
  }
  if (params === undefined) {
    return effect === 'require_approval' ? [] : [{ path, message: `is required for effect ${String(effect)}` }];
  }
  if (!isObject(params)) return [{ path, message: 'must be an object' }];
  const out: Issues = [];
  switch (effect) {
    case 'require_approval':
      return approvalIssues(params, path);
    case 'rate_limit':
      return rateLimitIssues(params, path);
    case 'constrain':
      unknownKeys(params, ['constraints'], path, out);
      out.push(...listOf(params.constraints, `${path}/constraints`, 'constraints', parameterConstraintIssues));
      return out;
    case 'redact':
      unknownKeys(params, ['rules'], path, out);
      out.push(...listOf(params.rules, `${path}/rules`, 'redaction rules', redactionRuleIssues));
      return out;
    default:
      return [];
  }
}

// ---------------------------------------------------------------------------------------------
// Rules

/**
 * The checks the rule schema cannot express (conditions, params per effect, unique ids).
 * Defensive about shapes, so it may run whether or not the schema passed.
 */
export function policyRuleSemanticIssues(rules: unknown, basePath: string): Issues {
  if (!Array.isArray(rules)) return [];
  const out: Issues = [];
  const firstIndex = new Map<string, number>();
  rules.forEach((rule, i) => {
    if (!isObject(rule)) return;
    const path = `${basePath}/${i}`;
    if (typeof rule.id === 'string') {
      const first = firstIndex.get(rule.id);
      if (first === undefined) firstIndex.set(rule.id, i);
      else
        out.push({
          path: `${path}/id`,
          message: `duplicate rule id ${JSON.stringify(rule.id)} (also ${basePath}/${first})`,
        });
    }
    // Non-object `when`/`params` are the schema's to report.
    if (isObject(rule.when)) out.push(...conditionIssues(rule.when, `${path}/when`));
    if ((EFFECTS as readonly unknown[]).includes(rule.effect) && (rule.params === undefined || isObject(rule.params))) {
      out.push(...paramsIssues(rule.effect, rule.params, `${path}/params`));
    }
  });
  return out;
}

const validateRulesSchema = lazyValidator(policyRulesSchema);

/** Every problem with a list of rules: schema and semantics, each at a JSON Pointer. */
export function validatePolicyRules(rules: unknown, basePath = ''): FieldIssue[] {
  return [...validateRulesSchema(rules, basePath), ...policyRuleSemanticIssues(rules, basePath)];
}

/** Issues of a standalone condition (for tools and tests). */
export function validateCondition(condition: unknown, basePath = ''): FieldIssue[] {
  return conditionIssues(condition, basePath);
}
