/**
 * JSON Schemas (structural subset, see `structural-schema.ts`) of the Policy and AgentIdentity
 * specs, of the compiled resources the operator puts into the runtime bundle, and of the
 * RuntimeBundle itself. The runtime validates a bundle file with `runtimeBundleSchema` (via
 * `validateBundle`), exactly as the operator validated what it wrote.
 */
import { loadedAtlasSchema } from '../atlas/schema.js';
import { RISK_TIERS } from '../carp/types.js';
import { policyRulesSchema, rateLimitSchema, redactionRuleSchema } from '../policy/schema.js';
import { describePattern, dnsLabel, labelMap, str, strList } from '../structural-schema.js';
import { ROLES } from './types.js';

export const BUNDLE_API_VERSION = 'cra.dev/v1alpha1';
export const BUNDLE_KIND = 'RuntimeBundle';
export const MAX_BUNDLE_ATLASES = 1024;
export const MAX_BUNDLE_POLICIES = 1024;
export const MAX_BUNDLE_IDENTITIES = 4096;

export const DNS1123_SUBDOMAIN = describePattern(
  '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$',
  "a DNS-1123 subdomain (lowercase letters, digits, '-' and '.')",
);

export const AGENT_ID_PATTERN = describePattern(
  '^[A-Za-z0-9]([A-Za-z0-9._:@-]*[A-Za-z0-9])?$',
  "an agent id (letters, digits, '.', '_', ':', '@' and '-', starting and ending with a letter or digit)",
);

export const SHA256_HEX_PATTERN = describePattern('^[0-9a-f]{64}$', 'a lowercase hex SHA-256 digest (64 characters)');

const resourceName = { type: 'string', minLength: 1, maxLength: 253, pattern: DNS1123_SUBDOMAIN };

const keyRef = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'key'],
  properties: {
    name: resourceName,
    key: { type: 'string', minLength: 1, maxLength: 253, pattern: '^[-._a-zA-Z0-9]+$' },
  },
};

export const labelSelectorSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    names: strList(256, 253),
    matchLabels: labelMap(),
  },
} as const;

export const policySpecSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    description: str(4096),
    selector: {
      type: 'object',
      additionalProperties: false,
      properties: { atlases: labelSelectorSchema, agents: labelSelectorSchema },
    },
    rules: policyRulesSchema,
    rateLimits: { type: 'array', maxItems: 16, items: rateLimitSchema },
    redaction: {
      type: 'object',
      additionalProperties: false,
      required: ['rules'],
      properties: { rules: { type: 'array', maxItems: 128, items: redactionRuleSchema } },
    },
    approvals: {
      type: 'object',
      additionalProperties: false,
      properties: {
        approvers: strList(32, 256),
        timeoutSeconds: { type: 'integer', minimum: 1, maximum: 604_800 },
      },
    },
  },
} as const;

export const agentIdentitySpecSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['agentId'],
  properties: {
    agentId: { type: 'string', minLength: 1, maxLength: 253, pattern: AGENT_ID_PATTERN },
    labels: labelMap(),
    roles: { type: 'array', maxItems: ROLES.length, items: { type: 'string', enum: [...ROLES] } },
    auth: {
      type: 'object',
      additionalProperties: false,
      properties: {
        apiKeySecretRef: keyRef,
        jwt: {
          type: 'object',
          additionalProperties: false,
          required: ['issuer', 'subject'],
          properties: {
            issuer: str(1024, { minLength: 1 }),
            subject: str(1024, { minLength: 1 }),
            audiences: strList(16, 1024),
          },
        },
      },
    },
    atlasSelector: labelSelectorSchema,
    maxRiskTier: { type: 'string', enum: [...RISK_TIERS] },
    rateLimit: {
      type: 'object',
      additionalProperties: false,
      required: ['requests', 'windowSeconds'],
      properties: {
        requests: { type: 'integer', minimum: 1, maximum: 1_000_000_000 },
        windowSeconds: { type: 'integer', minimum: 1, maximum: 31_536_000 },
      },
    },
  },
} as const;

export const compiledPolicySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'namespace', 'labels', 'spec'],
  properties: { name: resourceName, namespace: dnsLabel(), labels: labelMap(), spec: policySpecSchema },
} as const;

export const compiledIdentitySchema = {
  type: 'object',
  additionalProperties: false,
  required: ['name', 'namespace', 'spec', 'apiKeyDigests'],
  properties: {
    name: resourceName,
    namespace: dnsLabel(),
    spec: agentIdentitySpecSchema,
    apiKeyDigests: { type: 'array', maxItems: 16, items: { type: 'string', pattern: SHA256_HEX_PATTERN } },
  },
} as const;

export const runtimeBundleSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['apiVersion', 'kind', 'version', 'contentHash', 'atlases', 'policies', 'identities'],
  properties: {
    apiVersion: { type: 'string', enum: [BUNDLE_API_VERSION] },
    kind: { type: 'string', enum: [BUNDLE_KIND] },
    version: {
      type: 'string',
      pattern: describePattern('^[0-9a-f]{12}$', 'the first 12 hex digits of the content hash'),
    },
    contentHash: {
      type: 'string',
      pattern: describePattern('^sha256:[0-9a-f]{64}$', 'sha256:<64 lowercase hex digits>'),
    },
    atlases: { type: 'array', maxItems: MAX_BUNDLE_ATLASES, items: loadedAtlasSchema },
    policies: { type: 'array', maxItems: MAX_BUNDLE_POLICIES, items: compiledPolicySchema },
    identities: { type: 'array', maxItems: MAX_BUNDLE_IDENTITIES, items: compiledIdentitySchema },
  },
} as const;
