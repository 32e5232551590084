/**
 * Core's resource schemas (JSON Schema 2020-12 written in the Kubernetes structural subset, see
 * core/src/structural-schema.ts) → CRD `openAPIV3Schema` nodes, plus the CRD-only overlays.
 *
 * The transformation, and nothing else (crds-drift.test.ts holds the CRDs to it):
 * 1. `additionalProperties: false` is dropped: the apiserver prunes unknown fields instead (and
 *    rejects them under `fieldValidation: Strict`, kubectl's default).
 * 2. `$id`, `$schema` and `$comment` are dropped.
 * 3. Every other keyword is copied as is, provided the CRD schema language has it with the same
 *    meaning; anything else (`$ref`, `oneOf`, `const`, `uniqueItems: true`, `patternProperties`,
 *    2020-12's numeric `exclusiveMinimum`, …) is an error naming the node, never a silent change.
 * 4. Structural rules are checked, not assumed: every node has a single `type` except
 *    `x-kubernetes-preserve-unknown-fields` / `x-kubernetes-int-or-string` nodes; `properties`
 *    and `additionalProperties` only on objects and never together; arrays have `items`.
 * Then overlays (`applyOverlays`) add CRD-only keywords at named nodes: CEL
 * `x-kubernetes-validations`, `x-kubernetes-list-type`/`-list-map-keys` and `description`.
 */

export type JsonSchema = Record<string, unknown>;

export class StructuralSchemaError extends Error {
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(`${path === '' ? '(root)' : path}: ${message}`);
    this.name = 'StructuralSchemaError';
  }
}

/** Keywords dropped by the transformation (besides `additionalProperties: false`). */
export const DROPPED_KEYWORDS = ['$id', '$schema', '$comment'] as const;

/** Keywords copied unchanged: same meaning in JSON Schema 2020-12 and in CRD schemas. */
export const COPIED_KEYWORDS = [
  'type',
  'format',
  'title',
  'description',
  'default',
  'example',
  'enum',
  'nullable',
  'minimum',
  'maximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'minProperties',
  'maxProperties',
  'required',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
] as const;

const COPIED = new Set<string>(COPIED_KEYWORDS);
const DROPPED = new Set<string>(DROPPED_KEYWORDS);
const TYPES = new Set(['object', 'array', 'string', 'integer', 'number', 'boolean']);
const SCHEMALESS = ['x-kubernetes-preserve-unknown-fields', 'x-kubernetes-int-or-string'] as const;

function isObject(value: unknown): value is JsonSchema {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function escapeToken(token: string): string {
  return token.replaceAll('~', '~0').replaceAll('/', '~1');
}

function checkNode(node: JsonSchema, path: string): void {
  const type = node.type;
  const schemaless = SCHEMALESS.some((k) => node[k] === true);
  if (type === undefined) {
    if (!schemaless) {
      throw new StructuralSchemaError(
        path,
        'has no type (only x-kubernetes-preserve-unknown-fields or x-kubernetes-int-or-string nodes may omit it)',
      );
    }
  } else if (typeof type !== 'string' || !TYPES.has(type)) {
    throw new StructuralSchemaError(path, `type must be one of ${[...TYPES].join(', ')} (got ${JSON.stringify(type)})`);
  }
  if ((node.properties !== undefined || node.additionalProperties !== undefined) && type !== 'object') {
    throw new StructuralSchemaError(path, 'properties/additionalProperties need type: object');
  }
  if (node.properties !== undefined && node.additionalProperties !== undefined) {
    throw new StructuralSchemaError(path, 'properties and additionalProperties are mutually exclusive in a CRD');
  }
  if (type === 'array' && !isObject(node.items)) {
    throw new StructuralSchemaError(path, 'an array needs an items schema');
  }
  if (node.items !== undefined && type !== 'array') {
    throw new StructuralSchemaError(path, 'items needs type: array');
  }
}

/** One node of core's schema → its CRD form (a fresh tree; core's objects are never mutated). */
export function toStructural(schema: unknown, path = ''): JsonSchema {
  if (!isObject(schema)) throw new StructuralSchemaError(path, 'a schema node must be an object');
  const out: JsonSchema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (DROPPED.has(key)) continue;
    if (key === 'additionalProperties') {
      if (value === false) continue;
      if (!isObject(value)) {
        throw new StructuralSchemaError(
          path,
          'additionalProperties must be false or a schema (use x-kubernetes-preserve-unknown-fields for free-form)',
        );
      }
      out[key] = toStructural(value, `${path}/additionalProperties`);
    } else if (key === 'properties') {
      if (!isObject(value)) throw new StructuralSchemaError(path, 'properties must be an object');
      out[key] = Object.fromEntries(
        Object.entries(value).map(([name, sub]) => [
          name,
          toStructural(sub, `${path}/properties/${escapeToken(name)}`),
        ]),
      );
    } else if (key === 'items') {
      out[key] = toStructural(value, `${path}/items`);
    } else if (COPIED.has(key)) {
      out[key] = structuredClone(value);
    } else {
      throw new StructuralSchemaError(path, `keyword ${JSON.stringify(key)} has no CRD equivalent`);
    }
  }
  checkNode(out, path);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Overlays

/** A CEL rule (`x-kubernetes-validations` entry). */
export interface CelRule {
  rule: string;
  message?: string;
  messageExpression?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate';
  fieldPath?: string;
}

/** CRD-only keywords added at one node of a transformed schema. */
export interface SchemaOverlay {
  /** JSON Pointer into the schema, e.g. `/properties/contextPacks/items` (`''` is the root). */
  path: string;
  description?: string;
  'x-kubernetes-validations'?: CelRule[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
}

/** The keywords an overlay may add. */
export const OVERLAY_KEYWORDS = [
  'description',
  'x-kubernetes-validations',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
] as const;

/** The node at `pointer`; throws when it does not exist (a moved field must not drop a rule silently). */
export function schemaAt(schema: JsonSchema, pointer: string): JsonSchema {
  if (pointer === '') return schema;
  let node: unknown = schema;
  for (const raw of pointer.slice(1).split('/')) {
    const token = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    node = isObject(node) ? node[token] : undefined;
    if (!isObject(node)) throw new StructuralSchemaError(pointer, 'overlay target does not exist in the schema');
  }
  return node as JsonSchema;
}

/**
 * Adds each overlay's keywords to its node, in place. An overlay only adds: a keyword the node
 * already has (from core) is an error. `description` goes first, the rest after core's keywords.
 */
export function applyOverlays(schema: JsonSchema, overlays: readonly SchemaOverlay[]): JsonSchema {
  for (const overlay of overlays) {
    const node = schemaAt(schema, overlay.path);
    const { path: _path, description, ...rest } = overlay;
    for (const key of [...(description === undefined ? [] : ['description']), ...Object.keys(rest)]) {
      if (Object.hasOwn(node, key)) throw new StructuralSchemaError(overlay.path, `overlay would replace ${key}`);
    }
    const entries = Object.entries(node);
    for (const key of Object.keys(node)) delete node[key];
    Object.assign(node, description === undefined ? {} : { description }, Object.fromEntries(entries));
    Object.assign(node, structuredClone(rest));
    if (node['x-kubernetes-list-type'] !== undefined && node.type !== 'array') {
      throw new StructuralSchemaError(overlay.path, 'x-kubernetes-list-type needs type: array');
    }
  }
  return schema;
}
