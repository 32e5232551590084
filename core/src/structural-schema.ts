/**
 * JSON Schema support for the resource schemas (Atlas, Policy, AgentIdentity, runtime bundle).
 *
 * Those schemas are written in the Kubernetes *structural schema* subset so the CRDs can be
 * generated from them: every node has a `type` (except nodes marked
 * `x-kubernetes-preserve-unknown-fields`, which hold free-form or union values checked in code);
 * no `$ref`; no `oneOf`/`anyOf`/`if` at object level; no `uniqueItems: true`; strings, lists and
 * maps are bounded. `additionalProperties: false` makes unknown fields errors here; the CRD
 * generator drops it because the apiserver prunes unknown fields instead.
 *
 * Validators report `{path, message}` issues whose `path` is a JSON Pointer.
 */
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import { joinPointer } from './policy/pointer.js';

/** One problem with an input, located by JSON Pointer (`''` is the whole document). */
export interface FieldIssue {
  path: string;
  message: string;
}

export const KUBERNETES_SCHEMA_KEYWORDS = [
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
] as const;

export const PRESERVE_UNKNOWN_FIELDS = 'x-kubernetes-preserve-unknown-fields';

/** A strict Ajv (2020-12) that accepts the `x-kubernetes-*` annotations. */
export function createStructuralAjv(): Ajv2020 {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: false });
  for (const keyword of KUBERNETES_SCHEMA_KEYWORDS) ajv.addKeyword(keyword);
  return ajv;
}

/** Human descriptions of the patterns used by the schemas, so messages do not quote regexes. */
const PATTERN_DESCRIPTIONS = new Map<string, string>();

/** Registers a readable description used instead of the raw regex in `pattern` messages. */
export function describePattern(pattern: string, description: string): string {
  PATTERN_DESCRIPTIONS.set(pattern, description);
  return pattern;
}

function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}

function describeError(error: ErrorObject): FieldIssue {
  const at = error.instancePath;
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'required':
      return { path: joinPointer(at, String(params.missingProperty)), message: 'is required' };
    case 'additionalProperties':
      return { path: joinPointer(at, String(params.additionalProperty)), message: 'unknown field' };
    case 'type':
      return {
        path: at,
        message: `must be ${/^[aeiou]/.test(String(params.type)) ? 'an' : 'a'} ${String(params.type)}`,
      };
    case 'enum':
      return {
        path: at,
        message: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`,
      };
    case 'const':
      return { path: at, message: `must be ${JSON.stringify(params.allowedValue)}` };
    case 'pattern': {
      const pattern = String(params.pattern);
      const description = PATTERN_DESCRIPTIONS.get(pattern);
      return { path: at, message: description ? `must be ${description}` : `must match ${pattern}` };
    }
    case 'maxLength':
      return { path: at, message: `must be at most ${plural(Number(params.limit), 'character')} long` };
    case 'minLength':
      return {
        path: at,
        message:
          Number(params.limit) === 1
            ? 'must not be empty'
            : `must be at least ${plural(Number(params.limit), 'character')} long`,
      };
    case 'maxItems':
      return { path: at, message: `must have at most ${plural(Number(params.limit), 'item')}` };
    case 'minItems':
      return { path: at, message: `must have at least ${plural(Number(params.limit), 'item')}` };
    case 'maxProperties':
      return { path: at, message: `must have at most ${plural(Number(params.limit), 'entry', 'entries')}` };
    case 'minProperties':
      return { path: at, message: `must have at least ${plural(Number(params.limit), 'entry', 'entries')}` };
    default:
      return { path: at, message: error.message ?? `fails ${error.keyword}` };
  }
}

/** Ajv errors → issues under `basePath`, deduplicated, in Ajv's (deterministic) order. */
export function schemaIssues(errors: readonly ErrorObject[] | null | undefined, basePath = ''): FieldIssue[] {
  const seen = new Set<string>();
  const out: FieldIssue[] = [];
  for (const error of errors ?? []) {
    if (error.keyword === 'if') continue;
    const issue = describeError(error);
    const path = basePath + issue.path;
    const key = `${path}\u0000${issue.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ path, message: issue.message });
  }
  return out;
}

/** Compiles lazily (first use) and memoizes, so importing a module costs nothing. */
export function lazyValidator(schema: object): (value: unknown, basePath?: string) => FieldIssue[] {
  let validate: ReturnType<Ajv2020['compile']> | undefined;
  return (value, basePath = '') => {
    validate ??= createStructuralAjv().compile(schema);
    return validate(value) ? [] : schemaIssues(validate.errors, basePath);
  };
}

// ---------------------------------------------------------------------------------------------
// Building blocks shared by the resource schemas

export const DNS1123_LABEL = describePattern(
  '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
  "a DNS-1123 label (lowercase letters, digits and '-', starting and ending with a letter or digit)",
);

export const RESOURCE_ID = describePattern(
  '^[a-z0-9]([a-z0-9._-]*[a-z0-9])?$',
  "an id of lowercase letters, digits, '.', '_' and '-', starting and ending with a letter or digit",
);

export const LABEL_VALUE = describePattern(
  '^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$',
  "a label value (letters, digits, '-', '_' and '.', starting and ending with a letter or digit)",
);

/** A bounded string. */
export function str(maxLength: number, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { type: 'string', maxLength, ...extra };
}

/** A bounded list of bounded, non-empty strings. */
export function strList(
  maxItems: number,
  maxLength: number,
  extra: Record<string, unknown> = {},
): Record<string, unknown> {
  return { type: 'array', maxItems, items: { type: 'string', minLength: 1, maxLength, ...extra } };
}

export function dnsLabel(): Record<string, unknown> {
  return { type: 'string', minLength: 1, maxLength: 63, pattern: DNS1123_LABEL };
}

export function resourceId(): Record<string, unknown> {
  return { type: 'string', minLength: 1, maxLength: 63, pattern: RESOURCE_ID };
}

/** Kubernetes-style labels: keys are checked in code (`labelKeyIssues`), values here. */
export function labelMap(): Record<string, unknown> {
  return {
    type: 'object',
    maxProperties: 64,
    additionalProperties: { type: 'string', maxLength: 63, pattern: LABEL_VALUE },
  };
}

/** A free-form object (any members), e.g. a JSON Schema or a condition checked in code. */
export function freeObject(): Record<string, unknown> {
  return { type: 'object', [PRESERVE_UNKNOWN_FIELDS]: true };
}

/** A free-form value of any JSON type (string-or-object unions, checked in code). */
export function freeValue(): Record<string, unknown> {
  return { [PRESERVE_UNKNOWN_FIELDS]: true };
}

const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Label keys: optional DNS-1123 subdomain prefix (≤ 253) + `/` + name (≤ 63). */
export function labelKeyIssues(labels: unknown, basePath: string): FieldIssue[] {
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels)) return [];
  const out: FieldIssue[] = [];
  for (const key of Object.keys(labels)) {
    const slash = key.indexOf('/');
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
    const name = slash >= 0 ? key.slice(slash + 1) : key;
    const prefixOk = prefix === undefined || (prefix.length <= 253 && DNS1123_SUBDOMAIN.test(prefix));
    if (!prefixOk || name.length > 63 || !LABEL_NAME.test(name)) {
      out.push({ path: joinPointer(basePath, key), message: 'is not a valid label key' });
    }
  }
  return out;
}

export function isDnsLabel(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 63 && new RegExp(DNS1123_LABEL).test(value);
}
