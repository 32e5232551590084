/**
 * Whether a JSON Schema can be sent to OpenAI with `strict: true` exactly as it is (Structured
 * Outputs for function calling). CRA never rewrites an atlas schema to make it strict: making an
 * optional parameter required-but-nullable changes what the model sends, so a schema that does
 * not already satisfy the rules goes out with `strict: false` and CRA validates the arguments
 * itself at execute time (CRA-SPEC §5) either way.
 *
 * The rules follow OpenAI's "Supported schemas" for Structured Outputs and the strictness
 * transform of the official SDK (openai-node 7.55, `src/lib/transform.ts`, `toStrictJsonSchema`):
 * - the root is an object schema (`type: "object"`) and not a union (`anyOf`);
 * - every object schema sets `additionalProperties: false`, lists every property in `required`
 *   and requires only declared properties;
 * - arrays declare one `items` schema (no tuples, no `additionalItems`);
 * - none of the keywords strict mode cannot represent appear anywhere (`allOf`, `oneOf`, `not`,
 *   `if`/`then`/`else`, `patternProperties`, `uniqueItems`, …);
 * - `$ref` points inside the document;
 * - at most 5000 object properties in total, 10 levels of object nesting and 1000 enum values.
 */

/** Keywords strict mode rejects (openai-node `JSON_SCHEMA_UNSUPPORTED_SCHEMA_KEYWORDS`). */
export const STRICT_UNSUPPORTED_KEYWORDS: readonly string[] = [
  '$anchor',
  '$dynamicAnchor',
  '$dynamicRef',
  '$recursiveAnchor',
  '$recursiveRef',
  'additionalItems',
  'allOf',
  'contains',
  'contentEncoding',
  'contentMediaType',
  'contentSchema',
  'dependencies',
  'dependentRequired',
  'dependentSchemas',
  'else',
  'if',
  'maxContains',
  'maxProperties',
  'minContains',
  'minProperties',
  'not',
  'oneOf',
  'patternProperties',
  'prefixItems',
  'propertyNames',
  'then',
  'unevaluatedItems',
  'unevaluatedProperties',
  'uniqueItems',
];

export const STRICT_LIMITS = { maxProperties: 5000, maxNesting: 10, maxEnumValues: 1000 } as const;

export interface StrictIssue {
  /** JSON Pointer into the schema. */
  path: string;
  message: string;
}

type SchemaNode = Record<string, unknown>;

const isNode = (value: unknown): value is SchemaNode =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const escape = (segment: string): string => segment.replace(/~/g, '~0').replace(/\//g, '~1');

function typesOf(node: SchemaNode): string[] {
  const type = node.type;
  if (typeof type === 'string') return [type];
  return Array.isArray(type) ? type.filter((t): t is string => typeof t === 'string') : [];
}

function isObjectSchema(node: SchemaNode): boolean {
  return (
    typesOf(node).includes('object') || 'properties' in node || 'required' in node || 'additionalProperties' in node
  );
}

interface WalkState {
  issues: StrictIssue[];
  properties: number;
  enumValues: number;
}

function checkKeywords(node: SchemaNode, path: string, state: WalkState): void {
  for (const keyword of STRICT_UNSUPPORTED_KEYWORDS) {
    if (node[keyword] !== undefined) {
      state.issues.push({
        path: `${path}/${escape(keyword)}`,
        message: `"${keyword}" is not supported in strict mode`,
      });
    }
  }
  if (typeof node.$ref === 'string' && !node.$ref.startsWith('#')) {
    state.issues.push({ path: `${path}/$ref`, message: 'only local references ("#/...") are supported' });
  }
  if (Array.isArray(node.enum)) state.enumValues += node.enum.length;
  if (typesOf(node).includes('array') && node.items === undefined) {
    state.issues.push({ path: path || '/', message: 'an array must declare "items"' });
  }
  if (Array.isArray(node.items)) {
    state.issues.push({ path: `${path}/items`, message: 'tuple-form "items" is not supported in strict mode' });
  }
}

/** Checks an object schema and walks its properties; returns the nesting depth of its children. */
function checkObject(node: SchemaNode, path: string, depth: number, state: WalkState): number {
  const childDepth = depth + 1;
  if (childDepth > STRICT_LIMITS.maxNesting) {
    state.issues.push({ path: path || '/', message: `nests objects deeper than ${STRICT_LIMITS.maxNesting} levels` });
  }
  if (node.additionalProperties !== false) {
    state.issues.push({ path: `${path}/additionalProperties`, message: 'must be false' });
  }
  const properties = isNode(node.properties) ? node.properties : {};
  const required = Array.isArray(node.required) ? node.required : [];
  for (const key of Object.keys(properties)) {
    state.properties += 1;
    if (!required.includes(key)) {
      state.issues.push({
        path: `${path}/properties/${escape(key)}`,
        message: 'is optional; strict mode requires every property to be listed in "required"',
      });
    }
  }
  for (const key of required) {
    if (typeof key !== 'string' || !(key in properties)) {
      state.issues.push({ path: `${path}/required`, message: `requires "${String(key)}", which is not declared` });
    }
  }
  for (const [key, child] of Object.entries(properties)) {
    walk(child, `${path}/properties/${escape(key)}`, childDepth, state);
  }
  return childDepth;
}

function walk(node: unknown, path: string, depth: number, state: WalkState): void {
  if (!isNode(node)) {
    state.issues.push({ path: path || '/', message: 'boolean schemas cannot be represented in strict mode' });
    return;
  }
  checkKeywords(node, path, state);
  const childDepth = isObjectSchema(node) ? checkObject(node, path, depth, state) : depth;
  if (node.items !== undefined && !Array.isArray(node.items)) walk(node.items, `${path}/items`, childDepth, state);
  if (Array.isArray(node.anyOf)) {
    node.anyOf.forEach((branch, i) => walk(branch, `${path}/anyOf/${i}`, childDepth, state));
  }
  for (const defs of ['$defs', 'definitions'] as const) {
    const map = node[defs];
    if (isNode(map)) {
      for (const [key, child] of Object.entries(map)) walk(child, `${path}/${defs}/${escape(key)}`, depth, state);
    }
  }
}

/** Every reason `schema` cannot go out with `strict: true`; empty when it can. */
export function strictIssues(schema: unknown): StrictIssue[] {
  const state: WalkState = { issues: [], properties: 0, enumValues: 0 };
  if (!isNode(schema)) return [{ path: '/', message: 'the root must be an object schema' }];
  if (!typesOf(schema).includes('object') || typesOf(schema).length !== 1) {
    state.issues.push({ path: '/type', message: 'the root must have type "object"' });
  }
  if (schema.anyOf !== undefined) {
    state.issues.push({ path: '/anyOf', message: 'the root must not be a union' });
  }
  walk(schema, '', 0, state);
  if (state.properties > STRICT_LIMITS.maxProperties) {
    state.issues.push({ path: '/', message: `has more than ${STRICT_LIMITS.maxProperties} object properties` });
  }
  if (state.enumValues > STRICT_LIMITS.maxEnumValues) {
    state.issues.push({ path: '/', message: `has more than ${STRICT_LIMITS.maxEnumValues} enum values` });
  }
  return state.issues;
}

/** True when `schema` satisfies OpenAI's strict-mode rules as it is. */
export function strictCompatible(schema: unknown): boolean {
  return strictIssues(schema).length === 0;
}
