/**
 * The runtime configuration: one schema with defaults, validated once at start with a clear
 * message for every bad value, then frozen and passed down. Sources, later wins: defaults,
 * the YAML/JSON file (`--config` / CRA_CONFIG), environment (CRA_*), command-line flags.
 */
import { RISK_TIERS } from '@cra/core';

export const configSchema = {
  $id: 'https://cra.dev/schemas/runtime-config.json',
  type: 'object',
  additionalProperties: false,
  properties: {
    server: {
      type: 'object',
      additionalProperties: false,
      properties: {
        host: { type: 'string', default: '0.0.0.0' },
        port: { type: 'integer', minimum: 0, maximum: 65535, default: 8080 },
        bodyLimitBytes: { type: 'integer', minimum: 1024, maximum: 67_108_864, default: 1_048_576 },
        requestTimeoutMs: { type: 'integer', minimum: 0, default: 30_000 },
        shutdownGraceMs: { type: 'integer', minimum: 0, maximum: 600_000, default: 10_000 },
        instanceId: { type: 'string', minLength: 1 },
      },
      default: {},
    },
    atlases: {
      description: 'Atlas directories, or folders holding atlas directories',
      type: 'array',
      items: { type: 'string', minLength: 1 },
      default: [],
    },
    watch: { type: 'boolean', default: true, description: 'Reload atlases and the bundle file when they change' },
    bundleFile: { type: 'string', minLength: 1, description: 'Runtime bundle JSON written by the operator' },
    policies: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
    identities: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
    secretsDir: { type: 'string', minLength: 1, description: 'Secrets as files: <dir>/<secret name>/<key>' },
    dataDir: { type: 'string', minLength: 1, default: '.cra-data' },
    auth: {
      type: 'object',
      additionalProperties: false,
      properties: {
        mode: { type: 'string', enum: ['required', 'insecure-none'], default: 'required' },
        openMetrics: { type: 'boolean', default: true },
      },
      default: {},
    },
    store: {
      type: 'object',
      additionalProperties: false,
      properties: {
        kind: { type: 'string', enum: ['embedded', 'memory', 'postgres'], default: 'embedded' },
        postgresUrl: { type: 'string', minLength: 1 },
        durability: { type: 'string', enum: ['sync', 'async'], default: 'sync' },
      },
      default: {},
    },
    rateLimit: {
      type: 'object',
      additionalProperties: false,
      properties: {
        requests: { type: 'integer', minimum: 1, default: 100 },
        windowSeconds: { type: 'integer', minimum: 1, default: 60 },
      },
      default: {},
    },
    resolver: {
      type: 'object',
      additionalProperties: false,
      properties: {
        ttlSeconds: { type: 'integer', minimum: 1, maximum: 86_400, default: 300 },
        maxContextTokens: { type: 'integer', minimum: 0, default: 8192 },
        maxActions: { type: 'integer', minimum: 0, default: 50 },
        riskTier: { type: 'string', enum: RISK_TIERS, default: 'low' },
        approvalTimeoutSeconds: { type: 'integer', minimum: 1, default: 900 },
      },
      default: {},
    },
    trace: {
      type: 'object',
      additionalProperties: false,
      properties: {
        hmacKey: { type: 'string', minLength: 16, description: 'Key for the redaction hash mode (HMAC-SHA-256)' },
      },
      default: {},
    },
    log: {
      type: 'object',
      additionalProperties: false,
      properties: {
        level: {
          type: 'string',
          enum: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'],
          default: 'info',
        },
      },
      default: {},
    },
  },
} as const;

export interface RuntimeConfig {
  server: {
    host: string;
    port: number;
    bodyLimitBytes: number;
    requestTimeoutMs: number;
    shutdownGraceMs: number;
    instanceId?: string;
  };
  atlases: string[];
  watch: boolean;
  bundleFile?: string;
  policies: string[];
  identities: string[];
  secretsDir?: string;
  dataDir: string;
  auth: { mode: 'required' | 'insecure-none'; openMetrics: boolean };
  store: { kind: 'embedded' | 'memory' | 'postgres'; postgresUrl?: string; durability: 'sync' | 'async' };
  rateLimit: { requests: number; windowSeconds: number };
  resolver: {
    ttlSeconds: number;
    maxContextTokens: number;
    maxActions: number;
    riskTier: (typeof RISK_TIERS)[number];
    approvalTimeoutSeconds: number;
  };
  trace: { hmacKey?: string };
  log: { level: string };
}
