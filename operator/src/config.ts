/**
 * Operator configuration from the environment (and an optional YAML/JSON file for the runtime
 * workload it manages), validated at start with a clear message per bad value.
 */
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createAjv, toViolations } from '@cra/core';
import { parse as parseYaml } from 'yaml';

export interface RuntimeWorkloadConfig {
  /** Manage the runtime Deployment, Service, PDB, HPA, ServiceAccount and RBAC. */
  enabled: boolean;
  name: string;
  image: string;
  imagePullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  replicas: number;
  port: number;
  resources: Record<string, unknown>;
  /** Extra environment (CRA_* settings of the runtime), as name → value. */
  env: Record<string, string>;
  /** Secrets whose keys become environment variables (e.g. CRA_POSTGRES_URL, CRA_REDIS_URL). */
  envFromSecrets: string[];
  /** Single environment variables from a key of a Secret (when the key is not already the CRA_* name). */
  secretEnv: { name: string; secretName: string; key: string }[];
  /** kubernetes.io/dockerconfigjson Secrets the runtime pods pull their image with. */
  imagePullSecrets: string[];
  serviceType: 'ClusterIP' | 'NodePort' | 'LoadBalancer';
  podDisruptionBudget: { enabled: boolean; minAvailable: number };
  autoscaling: { enabled: boolean; minReplicas: number; maxReplicas: number; targetCPUUtilizationPercentage: number };
  podAnnotations: Record<string, string>;
  nodeSelector: Record<string, string>;
  tolerations: unknown[];
  affinity: Record<string, unknown>;
}

export interface OperatorConfig {
  namespace: string;
  /** Empty = every namespace. */
  watchNamespaces: string[];
  bundleConfigMap: string;
  /** The operator's own Deployment: owner of everything it creates (absent outside a cluster). */
  ownerDeployment?: string;
  leaderElection: {
    enabled: boolean;
    leaseName: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
  identity: string;
  /** Relist everything and re-read referenced ConfigMaps and Secrets this often (they are not watched). */
  resyncSeconds: number;
  httpPort: number;
  logLevel: string;
  runtime: RuntimeWorkloadConfig;
}

const workloadSchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    enabled: { type: 'boolean', default: true },
    name: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 50, default: 'cra-runtime' },
    image: { type: 'string', minLength: 1, default: 'ghcr.io/cra-dev/cra:1.0.0' },
    imagePullPolicy: { type: 'string', enum: ['Always', 'IfNotPresent', 'Never'], default: 'IfNotPresent' },
    replicas: { type: 'integer', minimum: 0, maximum: 1000, default: 2 },
    port: { type: 'integer', minimum: 1, maximum: 65535, default: 8080 },
    resources: { type: 'object', default: {} },
    env: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
    envFromSecrets: { type: 'array', items: { type: 'string', minLength: 1 }, default: [] },
    secretEnv: {
      type: 'array',
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['name', 'secretName', 'key'],
        properties: {
          name: { type: 'string', pattern: '^[A-Za-z_][A-Za-z0-9_]*$' },
          secretName: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' },
          key: { type: 'string', pattern: '^[-._a-zA-Z0-9]+$' },
        },
      },
      default: [],
    },
    imagePullSecrets: {
      type: 'array',
      items: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' },
      default: [],
    },
    serviceType: { type: 'string', enum: ['ClusterIP', 'NodePort', 'LoadBalancer'], default: 'ClusterIP' },
    podDisruptionBudget: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', default: true },
        minAvailable: { type: 'integer', minimum: 0, default: 1 },
      },
      default: {},
    },
    autoscaling: {
      type: 'object',
      additionalProperties: false,
      properties: {
        enabled: { type: 'boolean', default: false },
        minReplicas: { type: 'integer', minimum: 1, default: 2 },
        maxReplicas: { type: 'integer', minimum: 1, default: 10 },
        targetCPUUtilizationPercentage: { type: 'integer', minimum: 1, maximum: 100, default: 70 },
      },
      default: {},
    },
    podAnnotations: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
    nodeSelector: { type: 'object', additionalProperties: { type: 'string' }, default: {} },
    tolerations: { type: 'array', default: [] },
    affinity: { type: 'object', default: {} },
  },
} as const;

const ajv = createAjv();
ajv.opts.useDefaults = true;
const validateWorkload = ajv.compile(workloadSchema);

export class OperatorConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid operator configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

type Env = Record<string, string | undefined>;

function integer(env: Env, name: string, fallback: number, problems: string[]): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw)) problems.push(`${name}: "${raw}" is not a non-negative integer`);
  return Number(raw);
}

function bool(env: Env, name: string, fallback: boolean, problems: string[]): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^(true|false|1|0)$/i.test(raw)) problems.push(`${name}: "${raw}" is not true or false`);
  return /^(true|1)$/i.test(raw);
}

function port(env: Env, problems: string[]): number {
  const value = integer(env, 'CRA_OPERATOR_PORT', 8081, problems);
  if (value < 1 || value > 65535) problems.push(`CRA_OPERATOR_PORT: ${value} is not a port (1–65535)`);
  return value;
}

function resync(env: Env, problems: string[]): number {
  const value = integer(env, 'CRA_RESYNC_SECONDS', 60, problems);
  if (value < 1) problems.push(`CRA_RESYNC_SECONDS: must be at least 1`);
  return value;
}

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

/** Environment variables, documented in docs/reference/operator.md. */
export function loadOperatorConfig(env: Env = process.env): OperatorConfig {
  const problems: string[] = [];
  const namespace = env.CRA_OPERATOR_NAMESPACE ?? env.POD_NAMESPACE ?? 'cra-system';
  if (!DNS_LABEL.test(namespace)) problems.push(`CRA_OPERATOR_NAMESPACE: "${namespace}" is not a namespace name`);
  const watchNamespaces = (env.CRA_WATCH_NAMESPACES ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  for (const ns of watchNamespaces)
    if (!DNS_LABEL.test(ns)) problems.push(`CRA_WATCH_NAMESPACES: "${ns}" is not a namespace name`);
  const bundleConfigMap = env.CRA_BUNDLE_CONFIGMAP_NAME ?? 'cra-runtime-bundle';
  if (!DNS_LABEL.test(bundleConfigMap))
    problems.push(`CRA_BUNDLE_CONFIGMAP_NAME: "${bundleConfigMap}" is not a valid name`);

  let workload: unknown = {};
  const file = env.CRA_RUNTIME_CONFIG_FILE;
  if (file) {
    try {
      workload = parseYaml(readFileSync(file, 'utf8')) ?? {};
    } catch (err) {
      problems.push(`CRA_RUNTIME_CONFIG_FILE ${file}: ${(err as Error).message}`);
    }
  }
  if (!validateWorkload(workload)) {
    for (const v of toViolations(validateWorkload.errors)) {
      problems.push(`runtime${v.path.replace(/\//g, '.')}: ${v.message}`);
    }
  }
  if (problems.length === 0) {
    const { env: plain, secretEnv } = workload as RuntimeWorkloadConfig;
    for (const [i, e] of secretEnv.entries())
      if (e.name in plain) problems.push(`runtime.secretEnv.${i}.name: ${e.name} is also set in runtime.env`);
  }
  const leaderElection = {
    enabled: bool(env, 'CRA_LEADER_ELECTION', true, problems),
    leaseName: env.CRA_LEASE_NAME ?? 'cra-operator',
    leaseDurationMs: integer(env, 'CRA_LEASE_DURATION_MS', 15_000, problems),
    renewDeadlineMs: integer(env, 'CRA_RENEW_DEADLINE_MS', 10_000, problems),
    retryPeriodMs: integer(env, 'CRA_RETRY_PERIOD_MS', 2_000, problems),
  };
  const resyncSeconds = resync(env, problems);
  const httpPort = port(env, problems);
  if (problems.length > 0) throw new OperatorConfigError(problems);
  return {
    namespace,
    watchNamespaces,
    bundleConfigMap,
    ...(env.CRA_OPERATOR_DEPLOYMENT ? { ownerDeployment: env.CRA_OPERATOR_DEPLOYMENT } : {}),
    leaderElection,
    identity: env.CRA_OPERATOR_IDENTITY ?? `${env.POD_NAME ?? hostname()}_${crypto.randomUUID()}`,
    resyncSeconds,
    httpPort,
    logLevel: env.CRA_LOG_LEVEL ?? 'info',
    runtime: workload as RuntimeWorkloadConfig,
  };
}
