import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, resolve } from 'node:path';
import { createAjv, toViolations } from '@cra/core';
import { parse as parseYaml } from 'yaml';
import { configSchema, type RuntimeConfig } from './schema.js';

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** CRA_* variables and where they land. Documented in docs/reference/config.md. */
export const ENV_VARS: Record<string, { path: string; kind: 'string' | 'int' | 'bool' | 'list' }> = {
  CRA_HOST: { path: 'server.host', kind: 'string' },
  CRA_PORT: { path: 'server.port', kind: 'int' },
  CRA_BODY_LIMIT_BYTES: { path: 'server.bodyLimitBytes', kind: 'int' },
  CRA_INSTANCE_ID: { path: 'server.instanceId', kind: 'string' },
  CRA_ATLASES: { path: 'atlases', kind: 'list' },
  CRA_WATCH: { path: 'watch', kind: 'bool' },
  CRA_BUNDLE_FILE: { path: 'bundleFile', kind: 'string' },
  CRA_BUNDLE_CONFIGMAP: { path: 'bundleConfigMap', kind: 'string' },
  CRA_POLICIES: { path: 'policies', kind: 'list' },
  CRA_IDENTITIES: { path: 'identities', kind: 'list' },
  CRA_SECRETS_DIR: { path: 'secretsDir', kind: 'string' },
  CRA_DATA_DIR: { path: 'dataDir', kind: 'string' },
  CRA_AUTH_MODE: { path: 'auth.mode', kind: 'string' },
  CRA_STORE: { path: 'store.kind', kind: 'string' },
  CRA_POSTGRES_URL: { path: 'store.postgresUrl', kind: 'string' },
  CRA_STORE_ON_UNAVAILABLE: { path: 'store.onUnavailable', kind: 'string' },
  CRA_SPOOL_DIR: { path: 'store.spoolDir', kind: 'string' },
  CRA_REDIS_URL: { path: 'redis.url', kind: 'string' },
  CRA_REDIS_KEY_PREFIX: { path: 'redis.keyPrefix', kind: 'string' },
  CRA_REPLICAS: { path: 'cluster.replicas', kind: 'int' },
  CRA_METRICS_ENABLED: { path: 'metrics.enabled', kind: 'bool' },
  CRA_OPEN_METRICS: { path: 'auth.openMetrics', kind: 'bool' },
  CRA_MAX_EVENT_LOOP_DELAY_MS: { path: 'load.maxEventLoopDelayMs', kind: 'int' },
  CRA_CHECKPOINT_INTERVAL_SECONDS: { path: 'trace.checkpoint.intervalSeconds', kind: 'int' },
  CRA_CHECKPOINT_DIR: { path: 'trace.checkpoint.dir', kind: 'string' },
  CRA_CHECKPOINT_KEY_FILE: { path: 'trace.checkpoint.signingKeyFile', kind: 'string' },
  CRA_DURABILITY: { path: 'store.durability', kind: 'string' },
  CRA_RATE_LIMIT_REQUESTS: { path: 'rateLimit.requests', kind: 'int' },
  CRA_RATE_LIMIT_WINDOW_SECONDS: { path: 'rateLimit.windowSeconds', kind: 'int' },
  CRA_DEFAULT_RISK_TIER: { path: 'resolver.riskTier', kind: 'string' },
  CRA_TRACE_HMAC_KEY: { path: 'trace.hmacKey', kind: 'string' },
  CRA_LOG_LEVEL: { path: 'log.level', kind: 'string' },
  CRA_MCP_ENABLED: { path: 'mcp.enabled', kind: 'bool' },
  CRA_MCP_SESSIONS: { path: 'mcp.sessions', kind: 'string' },
  CRA_MCP_ALLOWED_HOSTS: { path: 'mcp.allowedHosts', kind: 'list' },
  CRA_MCP_ALLOWED_ORIGINS: { path: 'mcp.allowedOrigins', kind: 'list' },
  CRA_UI_ENABLED: { path: 'ui.enabled', kind: 'bool' },
};

function setPath(target: Record<string, unknown>, path: string, value: unknown): void {
  const parts = path.split('.');
  let node = target;
  for (const part of parts.slice(0, -1)) {
    const next = node[part];
    if (typeof next !== 'object' || next === null) node[part] = {};
    node = node[part] as Record<string, unknown>;
  }
  node[parts.at(-1)!] = value;
}

function coerce(name: string, raw: string, kind: string, problems: string[]): unknown {
  switch (kind) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) problems.push(`${name}: "${raw}" is not an integer`);
      return Number(raw);
    }
    case 'bool': {
      if (!/^(true|false|1|0)$/i.test(raw.trim())) problems.push(`${name}: "${raw}" is not true or false`);
      return /^(true|1)$/i.test(raw.trim());
    }
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      return raw;
  }
}

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] =
      value &&
      typeof value === 'object' &&
      !Array.isArray(value) &&
      current &&
      typeof current === 'object' &&
      !Array.isArray(current)
        ? merge(current as Record<string, unknown>, value as Record<string, unknown>)
        : value;
  }
  return out;
}

const ajv = createAjv();
ajv.opts.useDefaults = true;
const validate = ajv.compile(configSchema);

/** Paths in a config file are relative to the file. */
function resolvePaths(config: Record<string, unknown>, base: string): void {
  const rel = (p: unknown): unknown => (typeof p === 'string' && !isAbsolute(p) ? resolve(base, p) : p);
  for (const key of ['atlases', 'policies', 'identities']) {
    if (Array.isArray(config[key])) config[key] = (config[key] as unknown[]).map(rel);
  }
  for (const key of ['bundleFile', 'secretsDir', 'dataDir']) if (key in config) config[key] = rel(config[key]);
  const store = config.store as Record<string, unknown> | undefined;
  if (store && 'spoolDir' in store) store.spoolDir = rel(store.spoolDir);
  const checkpoint = (config.trace as { checkpoint?: Record<string, unknown> } | undefined)?.checkpoint;
  if (checkpoint)
    for (const key of ['dir', 'signingKeyFile']) if (key in checkpoint) checkpoint[key] = rel(checkpoint[key]);
}

export interface LoadConfigInput {
  file?: string;
  env?: Env;
  /** Dotted paths → values, from command-line flags. */
  overrides?: Record<string, unknown>;
}

export async function loadConfig(input: LoadConfigInput = {}): Promise<Readonly<RuntimeConfig>> {
  const env = input.env ?? process.env;
  const problems: string[] = [];
  let fromFile: Record<string, unknown> = {};
  const file = input.file ?? env.CRA_CONFIG;
  if (file) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      throw new ConfigError([`config file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`]);
    }
    try {
      const parsed: unknown = parseYaml(text);
      if (parsed !== null && (typeof parsed !== 'object' || Array.isArray(parsed))) {
        throw new Error('top level must be a mapping');
      }
      fromFile = (parsed ?? {}) as Record<string, unknown>;
      resolvePaths(fromFile, dirname(resolve(file)));
    } catch (err) {
      throw new ConfigError([`config file ${file}: ${(err as Error).message}`]);
    }
  }
  const fromEnv: Record<string, unknown> = {};
  /** Dotted path → the variable that set it, so a bad value is reported under the variable's name. */
  const setBy = new Map<string, string>();
  for (const [name, spec] of Object.entries(ENV_VARS)) {
    const raw = env[name];
    if (raw === undefined || raw === '') continue;
    const before = problems.length;
    const value = coerce(name, raw, spec.kind, problems);
    if (problems.length > before) continue; // reported once, as the variable
    setPath(fromEnv, spec.path, value);
    setBy.set(spec.path, name);
  }
  const fromFlags: Record<string, unknown> = {};
  for (const [path, value] of Object.entries(input.overrides ?? {})) {
    if (value !== undefined) {
      setPath(fromFlags, path, value);
      setBy.delete(path);
    }
  }
  const config = merge(merge(fromFile, fromEnv), fromFlags);
  if (!validate(config)) {
    for (const v of toViolations(validate.errors)) {
      const where = v.path.replace(/^\//, '').replace(/\//g, '.') || '(root)';
      const variable = setBy.get(where);
      problems.push(variable ? `${variable} (${where}): ${v.message}` : `${where}: ${v.message}`);
    }
  }
  const typed = config as unknown as RuntimeConfig;
  if (typed.store?.kind === 'postgres' && !typed.store.postgresUrl) {
    problems.push('store.postgresUrl: is required when store.kind is "postgres" (CRA_POSTGRES_URL)');
  }
  if (typed.atlases?.length === 0 && !typed.bundleFile && !typed.bundleConfigMap) {
    problems.push(
      'atlases: give at least one atlas directory (--atlases, CRA_ATLASES), a bundleFile (CRA_BUNDLE_FILE) or a bundleConfigMap (CRA_BUNDLE_CONFIGMAP)',
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze(typed);
}
