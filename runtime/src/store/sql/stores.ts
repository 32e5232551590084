import type { CARPResolution } from '@cra/core';
import { MemoryCache } from '../memory-cache.js';
import type { Cache, Stores } from '../ports.js';
import type { SqlClient } from './client.js';
import { SqlApprovalStore } from './approval-store.js';
import { migrate } from './migrations.js';
import { SqlExecutionStore, SqlIdempotencyStore, SqlResolutionStore } from './resolution-store.js';
import { SqlSessionStore } from './session-store.js';
import { ChainHeads, SqlTraceStore } from './trace-store.js';

export interface SqlStoresOptions {
  /** Apply pending migrations first (safe with several replicas). */
  migrate?: boolean;
  resolutionCache?: Cache<CARPResolution>;
  /** Extra health probes (e.g. Redis). */
  healthProbes?: Record<string, () => Promise<{ ok: boolean; detail?: string }>>;
  onClose?: () => Promise<void>;
}

export async function createSqlStores(client: SqlClient, options: SqlStoresOptions = {}): Promise<Stores> {
  if (options.migrate !== false) await migrate(client);
  const probes = {
    [client.dialect]: async () => {
      await client.query('SELECT 1');
      return { ok: true };
    },
    ...options.healthProbes,
  };
  const heads = new ChainHeads();
  return {
    traces: new SqlTraceStore(client, heads),
    sessions: new SqlSessionStore(client, heads),
    resolutions: new SqlResolutionStore(client),
    idempotency: new SqlIdempotencyStore(client),
    executions: new SqlExecutionStore(client),
    approvals: new SqlApprovalStore(client),
    resolutionCache: options.resolutionCache ?? new MemoryCache<CARPResolution>(),
    async health() {
      const out: Record<string, { ok: boolean; detail?: string }> = {};
      for (const [name, probe] of Object.entries(probes)) {
        try {
          out[name] = await probe();
        } catch (err) {
          out[name] = { ok: false, detail: (err as Error).message };
        }
      }
      return out;
    },
    async close() {
      await options.onClose?.();
      await client.close();
    },
  };
}
