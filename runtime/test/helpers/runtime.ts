/**
 * A runtime on the reference atlases for tests: in-memory PGlite, dev identities, a fixed set of
 * API keys, and helpers to build CARP requests.
 */
import { fileURLToPath } from 'node:url';
import { randomIds, type CARPResolution, type RiskTier } from '@cra/core';
import { loadConfig } from '../../src/config/load.js';
import type { RuntimeConfig } from '../../src/config/schema.js';
import { createRuntime, type Runtime, type RuntimeOptions } from '../../src/runtime.js';
import { memoryStores } from './pglite-template.js';

export const repo = (path: string): string => fileURLToPath(new URL(`../../../${path}`, import.meta.url));

export const KEYS = {
  agent: 'dev-agent-key',
  approver: 'dev-approver-key',
  admin: 'dev-admin-key',
} as const;

export const auth = (key: string = KEYS.agent) => ({ authorization: `Bearer ${key}` });

export async function testConfig(overrides: Record<string, unknown> = {}): Promise<Readonly<RuntimeConfig>> {
  return loadConfig({
    env: {},
    overrides: {
      atlases: [repo('atlases')],
      identities: [repo('examples/local/identities.yaml')],
      secretsDir: repo('examples/local/secrets'),
      'store.kind': 'memory',
      watch: false,
      // The per-agent request limit (default 100/min) is tested on its own; suites that make
      // hundreds of calls as one agent set it out of the way.
      'rateLimit.requests': 1_000_000,
      // Load shedding samples the event loop; a test machine busy with other suites must not
      // shed the requests of an unrelated test. metrics.test.ts turns it on.
      'load.maxEventLoopDelayMs': 0,
      'log.level': 'silent',
      ...overrides,
    },
  });
}

export async function testRuntime(
  overrides: Record<string, unknown> = {},
  options: RuntimeOptions = {},
): Promise<Runtime> {
  const config = await testConfig(overrides);
  const stores = options.stores ?? (config.store.kind === 'memory' ? await memoryStores() : undefined);
  return createRuntime(config, { ...options, ...(stores ? { stores } : {}) });
}

export function resolveRequest(input: {
  goal?: string;
  risk?: RiskTier;
  hints?: string[];
  session?: string;
  agent?: string;
  scope?: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    carp_version: '1.0',
    request_id: randomIds.uuid(),
    timestamp: new Date().toISOString(),
    operation: 'resolve',
    requester: { agent_id: input.agent ?? 'dev-agent', session_id: input.session ?? randomIds.uuid() },
    task: {
      goal: input.goal ?? 'Open an issue about the login crash',
      ...(input.risk ? { risk_tier: input.risk } : {}),
      ...(input.hints ? { context_hints: input.hints } : {}),
    },
    ...(input.scope ? { scope: input.scope } : {}),
  };
}

export function executeRequest(
  resolution: CARPResolution,
  actionType: string,
  parameters: Record<string, unknown>,
  extra: { operation?: 'execute' | 'validate'; agent?: string; idempotency_key?: string } = {},
): Record<string, unknown> {
  const grant = resolution.allowed_actions.find((g) => g.action_type === actionType);
  if (!grant)
    throw new Error(`no grant for ${actionType} in ${resolution.allowed_actions.map((g) => g.action_type).join(', ')}`);
  return {
    carp_version: '1.0',
    request_id: randomIds.uuid(),
    timestamp: new Date().toISOString(),
    operation: extra.operation ?? 'execute',
    requester: { agent_id: extra.agent ?? 'dev-agent', session_id: resolution.session_id },
    action: {
      action_id: grant.action_id,
      action_type: actionType,
      parameters,
      resolution_id: resolution.resolution_id,
    },
    ...(extra.idempotency_key ? { idempotency_key: extra.idempotency_key } : {}),
  };
}
