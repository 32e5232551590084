/**
 * JSON Schemas (2020-12) of the Atlas spec and of the local `atlas.yaml`, in the Kubernetes
 * structural subset (see `structural-schema.ts`) so `crds/` can be generated from them.
 *
 * Free-form nodes (`x-kubernetes-preserve-unknown-fields`): each action's `schema`, examples'
 * `parameters`, policy `when` and `params`, and the string-or-ValueSource unions of executors
 * (`url`, `baseUrl`, header values). What a structural schema cannot say (one-of content
 * sources, executor shape by type, unique ids, references between fields, SemVer) is checked
 * in `validate.ts`.
 */
import { CONTENT_TYPES, RISK_TIERS } from '../carp/types.js';
import { policyRulesSchema } from '../policy/schema.js';
import {
  describePattern,
  dnsLabel,
  freeObject,
  freeValue,
  labelMap,
  resourceId,
  str,
  strList,
} from '../structural-schema.js';
import { LICENSE_TYPES, PLATFORMS } from './types.js';

export const MAX_DOMAINS = 64;
export const MAX_PACKS = 256;
export const MAX_ACTIONS = 256;
export const MAX_DEPENDENCIES = 32;
/** Characters of one pack's content (a ConfigMap holds at most 1 MiB, so no pack may exceed it). */
export const MAX_INLINE_CONTENT = 1_048_576;

export const ACTION_TYPE_PATTERN = describePattern(
  '^[a-z][a-z0-9_]*(\\.[a-z][a-z0-9_]*)+$',
  'a dotted action type such as api.github.create_issue',
);

export const DEPENDENCY_PATTERN = describePattern(
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?/)?[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
  'an atlas name, or <namespace>/<name>',
);

const riskTier = { type: 'string', enum: [...RISK_TIERS] };
const priority = { type: 'integer', minimum: -1000, maximum: 1000 };
const timeoutMs = { type: 'integer', minimum: 1, maximum: 300_000 };
const keyRef = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'key'],
  properties: {
    name: { type: 'string', minLength: 1, maxLength: 253 },
    key: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[-._a-zA-Z0-9]+$' },
  },
};

const licenseSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { type: 'string', enum: [...LICENSE_TYPES] },
    spdx: str(128, { minLength: 1 }),
    terms: {
      type: 'object',
      additionalProperties: false,
      properties: {
        namespaces: strList(256, 63),
        agents: strList(256, 253),
      },
    },
  },
};

const domainSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'name', 'riskTier'],
  properties: {
    id: resourceId(),
    name: str(128, { minLength: 1 }),
    description: str(4096),
    riskTier,
  },
};

/** Where a pack's content comes from: the resource, the local directory, or a loaded atlas. */
export type PackMode = 'resource' | 'local' | 'loaded';

function packSchema(mode: PackMode): Record<string, unknown> {
  const source =
    mode === 'local' ? { file: str(255, { minLength: 1 }) } : mode === 'resource' ? { configMapRef: keyRef } : {};
  return {
    type: 'object',
    additionalProperties: false,
    required: mode === 'loaded' ? ['id', 'domain', 'content'] : ['id', 'domain'],
    properties: {
      id: resourceId(),
      domain: resourceId(),
      format: { type: 'string', enum: [...CONTENT_TYPES] },
      ttlSeconds: { type: 'integer', minimum: 1, maximum: 604_800 },
      tags: strList(64, 64),
      priority,
      evidenceSources: strList(32, 2048),
      content: str(MAX_INLINE_CONTENT),
      ...source,
    },
  };
}

const exampleSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['description', 'parameters'],
  properties: {
    description: str(1024, { minLength: 1 }),
    parameters: freeObject(),
    expectedOutcome: str(1024),
  },
};

/** http and mcp executors in one object: which members each type needs is checked in code. */
const executorSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { type: 'string', enum: ['http', 'mcp'] },
    method: { type: 'string', enum: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] },
    url: freeValue(),
    baseUrl: freeValue(),
    headers: { type: 'object', maxProperties: 32, additionalProperties: freeValue() },
    body: { type: 'string', enum: ['remaining', 'parameters', 'none'] },
    timeoutMs,
    response: {
      type: 'object',
      additionalProperties: false,
      properties: {
        output: { type: 'object', maxProperties: 64, additionalProperties: str(512) },
        successStatus: { type: 'array', maxItems: 32, items: { type: 'integer', minimum: 100, maximum: 599 } },
      },
    },
    tool: str(128, { minLength: 1 }),
  },
};

const actionSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['id', 'type', 'name', 'description', 'domain', 'riskTier', 'schema'],
  properties: {
    id: resourceId(),
    type: { type: 'string', minLength: 3, maxLength: 253, pattern: ACTION_TYPE_PATTERN },
    name: str(128, { minLength: 1 }),
    description: str(4096, { minLength: 1 }),
    domain: resourceId(),
    riskTier,
    schema: freeObject(),
    examples: { type: 'array', maxItems: 16, items: exampleSchema },
    executor: executorSchema,
  },
};

const toolNames = { type: 'object', maxProperties: MAX_ACTIONS, additionalProperties: str(128) };

const toolMappingsSchema = {
  type: 'object',
  additionalProperties: false,
  properties: Object.fromEntries(PLATFORMS.map((p) => [p, toolNames])),
};

const dependencySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['atlas', 'versionRange'],
  properties: {
    atlas: { type: 'string', minLength: 1, maxLength: 127, pattern: DEPENDENCY_PATTERN },
    versionRange: str(128, { minLength: 1 }),
  },
};

function specProperties(mode: PackMode): Record<string, unknown> {
  return {
    version: str(64, { minLength: 1 }),
    description: str(4096),
    license: licenseSchema,
    keywords: strList(64, 64),
    domains: { type: 'array', minItems: 1, maxItems: MAX_DOMAINS, items: domainSchema },
    contextPacks: { type: 'array', maxItems: MAX_PACKS, items: packSchema(mode) },
    actions: { type: 'array', maxItems: MAX_ACTIONS, items: actionSchema },
    policies: policyRulesSchema,
    toolMappings: toolMappingsSchema,
    dependencies: { type: 'array', maxItems: MAX_DEPENDENCIES, items: dependencySchema },
  };
}

/** `spec` of the Atlas resource (packs: inline `content` or `configMapRef`). */
export const atlasSpecSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'domains'],
  properties: specProperties('resource'),
} as const;

/** `atlas.yaml` of the local directory format (packs: inline `content` or a `file`). */
export const localAtlasManifestSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'version', 'domains'],
  properties: {
    name: dnsLabel(),
    namespace: dnsLabel(),
    labels: labelMap(),
    ...specProperties('local'),
  },
} as const;

/** The spec of a loaded atlas: every pack carries its content inline. */
export const loadedAtlasSpecSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['version', 'domains'],
  properties: specProperties('loaded'),
} as const;

/** A LoadedAtlas, as the runtime bundle carries it. */
export const loadedAtlasSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['ref', 'name', 'namespace', 'labels', 'spec'],
  properties: {
    ref: str(400, { minLength: 1 }),
    name: dnsLabel(),
    namespace: dnsLabel(),
    labels: labelMap(),
    spec: loadedAtlasSpecSchema,
  },
} as const;
