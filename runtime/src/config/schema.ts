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
    bundleConfigMap: {
      type: 'string',
      pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?/[a-z0-9]([-a-z0-9.]*[a-z0-9])?$',
      description: 'namespace/name of the ConfigMap the operator publishes the bundle in (watched through the API)',
    },
    policies: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
    identities: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
    secretsDir: { type: 'string', minLength: 1, description: 'Secrets as files: <dir>/<secret name>/<key>' },
    dataDir: { type: 'string', minLength: 1, default: '.cra-data' },
    auth: {
      type: 'object',
      additionalProperties: false,
      properties: {
        mode: { type: 'string', enum: ['required', 'insecure-none'], default: 'required' },
        openMetrics: { type: 'boolean', default: true, description: 'Serve /metrics without authentication' },
        jwt: {
          type: 'object',
          additionalProperties: false,
          properties: {
            issuers: {
              type: 'array',
              items: {
                type: 'object',
                additionalProperties: false,
                required: ['issuer', 'audiences'],
                properties: {
                  issuer: { type: 'string', minLength: 1 },
                  jwksUri: { type: 'string', format: 'uri' },
                  publicKeys: {
                    description: 'PEM (SPKI) or JWK JSON strings, instead of or besides jwksUri',
                    type: 'array',
                    items: { type: 'string', minLength: 1 },
                  },
                  audiences: { type: 'array', minItems: 1, items: { type: 'string', minLength: 1 } },
                  algorithms: {
                    type: 'array',
                    items: {
                      type: 'string',
                      enum: ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'],
                    },
                    default: ['RS256', 'ES256', 'EdDSA'],
                  },
                  clockToleranceSeconds: { type: 'integer', minimum: 0, maximum: 300, default: 5 },
                },
              },
              default: [],
            },
          },
          default: {},
        },
      },
      default: {},
    },
    redis: {
      type: 'object',
      additionalProperties: false,
      properties: {
        url: { type: 'string', minLength: 1, description: 'redis://… ; shared rate limits, resolutions, idempotency' },
        keyPrefix: { type: 'string', default: 'cra:' },
      },
      default: {},
    },
    cluster: {
      type: 'object',
      additionalProperties: false,
      properties: {
        replicas: {
          type: 'integer',
          minimum: 1,
          description:
            'Expected replica count; each replica limits locally with 1/replicas of a limit while Redis is down',
        },
      },
      default: {},
    },
    metrics: {
      type: 'object',
      additionalProperties: false,
      properties: { enabled: { type: 'boolean', default: true } },
      default: {},
    },
    load: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxEventLoopDelayMs: {
          type: 'integer',
          minimum: 0,
          default: 1000,
          description: '503 + Retry-After above this delay (0 = off)',
        },
        retryAfterSeconds: { type: 'integer', minimum: 1, default: 2 },
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
        onUnavailable: {
          type: 'string',
          enum: ['spool', 'fail'],
          default: 'spool',
          description: 'Postgres unreachable: spool trace events to local disk and drain later, or refuse with 503',
        },
        spoolDir: { type: 'string', minLength: 1, description: 'Default <dataDir>/spool' },
        poolSize: { type: 'integer', minimum: 1, maximum: 200, default: 10 },
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
        checkpoint: {
          type: 'object',
          additionalProperties: false,
          properties: {
            intervalSeconds: { type: 'integer', minimum: 0, default: 60, description: '0 = never' },
            dir: { type: 'string', minLength: 1, description: 'Default <dataDir>/checkpoints' },
            signingKeyFile: { type: 'string', minLength: 1, description: 'Ed25519 private key (PKCS#8 PEM)' },
          },
          default: {},
        },
      },
      default: {},
    },
    stream: {
      type: 'object',
      additionalProperties: false,
      properties: {
        heartbeatMs: {
          type: 'integer',
          minimum: 10,
          maximum: 600_000,
          default: 15_000,
          description: 'SSE `: ping` lines, WebSocket heartbeat frames and liveness pings every this many ms',
        },
        maxBufferedBytes: {
          type: 'integer',
          minimum: 1024,
          default: 1_048_576,
          description: 'A WebSocket client with more unsent data than this is closed with 1013 "slow consumer"',
        },
        maxSubscriptions: { type: 'integer', minimum: 1, maximum: 1024, default: 32 },
      },
      default: {},
    },
    mcp: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', default: true, description: 'Serve MCP over Streamable HTTP at /mcp' },
        sessions: {
          type: 'string',
          enum: ['stateless', 'stateful'],
          default: 'stateless',
          description: 'stateless: any replica answers any request; stateful: sessions held by one replica',
        },
        allowedHosts: {
          description: 'Hostnames a /mcp request may name in Host (DNS-rebinding protection); empty: any',
          type: 'array',
          items: { type: 'string', minLength: 1 },
          default: [],
        },
        allowedOrigins: {
          description: 'Origins a /mcp request may send in Origin; a request with any other Origin is refused',
          type: 'array',
          items: { type: 'string', minLength: 1 },
          default: [],
        },
        idleTimeoutSeconds: { type: 'integer', minimum: 10, maximum: 86_400, default: 1800 },
      },
      default: {},
    },
    ui: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', default: true, description: 'Serve the trace viewer at /ui' },
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

export interface JwtIssuerConfig {
  issuer: string;
  jwksUri?: string;
  publicKeys?: string[];
  audiences: string[];
  algorithms: string[];
  clockToleranceSeconds: number;
}

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
  bundleConfigMap?: string;
  policies: string[];
  identities: string[];
  secretsDir?: string;
  dataDir: string;
  auth: {
    mode: 'required' | 'insecure-none';
    openMetrics: boolean;
    jwt: { issuers: JwtIssuerConfig[] };
  };
  redis: { url?: string; keyPrefix: string };
  cluster: { replicas?: number };
  metrics: { enabled: boolean };
  load: { maxEventLoopDelayMs: number; retryAfterSeconds: number };
  store: {
    kind: 'embedded' | 'memory' | 'postgres';
    postgresUrl?: string;
    durability: 'sync' | 'async';
    onUnavailable: 'spool' | 'fail';
    spoolDir?: string;
    poolSize: number;
  };
  rateLimit: { requests: number; windowSeconds: number };
  resolver: {
    ttlSeconds: number;
    maxContextTokens: number;
    maxActions: number;
    riskTier: (typeof RISK_TIERS)[number];
    approvalTimeoutSeconds: number;
  };
  trace: {
    hmacKey?: string;
    checkpoint: { intervalSeconds: number; dir?: string; signingKeyFile?: string };
  };
  stream: { heartbeatMs: number; maxBufferedBytes: number; maxSubscriptions: number };
  mcp: {
    enabled: boolean;
    sessions: 'stateless' | 'stateful';
    allowedHosts: string[];
    allowedOrigins: string[];
    idleTimeoutSeconds: number;
  };
  ui: { enabled: boolean };
  log: { level: string };
}
