import type { CARPExecutionResult, CARPResolution, RiskTier } from '@cra/core';
import type {
  ExecutionStore,
  IdempotencyClaim,
  IdempotencyStore,
  ResolutionRecord,
  ResolutionStore,
} from '../ports.js';
import type { SqlClient } from './client.js';

export class SqlResolutionStore implements ResolutionStore {
  constructor(private readonly client: SqlClient) {}

  async put(record: ResolutionRecord): Promise<void> {
    const r = record.resolution;
    await this.client.query(
      `INSERT INTO cra_resolutions (resolution_id, session_id, agent_id, risk_tier, decision, expires_at, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7)`,
      [
        r.resolution_id,
        r.session_id,
        record.agent_id,
        record.risk_tier,
        r.decision.type,
        r.ttl.resolution_expires_at,
        JSON.stringify(r),
      ],
    );
  }

  async get(resolutionId: string): Promise<ResolutionRecord | null> {
    const rows = await this.client.query<{ agent_id: string; risk_tier: RiskTier; body: string }>(
      'SELECT agent_id, risk_tier, body FROM cra_resolutions WHERE resolution_id = $1',
      [resolutionId],
    );
    const row = rows[0];
    if (!row) return null;
    return { agent_id: row.agent_id, risk_tier: row.risk_tier, resolution: JSON.parse(row.body) as CARPResolution };
  }

  async prune(before: number): Promise<number> {
    const rows = await this.client.query('DELETE FROM cra_resolutions WHERE expires_at < $1 RETURNING resolution_id', [
      new Date(before).toISOString(),
    ]);
    return rows.length;
  }
}

export class SqlIdempotencyStore implements IdempotencyStore {
  constructor(private readonly client: SqlClient) {}

  async claim(resolutionId: string, key: string, expiresAt: number): Promise<IdempotencyClaim> {
    const inserted = await this.client.query(
      `INSERT INTO cra_idempotency (resolution_id, idempotency_key, state, expires_at)
       VALUES ($1, $2, 'in_progress', $3) ON CONFLICT DO NOTHING RETURNING state`,
      [resolutionId, key, new Date(expiresAt).toISOString()],
    );
    if (inserted.length === 1) return { state: 'new' };
    const rows = await this.client.query<{ state: string; result: string | null }>(
      'SELECT state, result FROM cra_idempotency WHERE resolution_id = $1 AND idempotency_key = $2',
      [resolutionId, key],
    );
    const row = rows[0];
    if (row?.state === 'done' && row.result) {
      return { state: 'done', result: JSON.parse(row.result) as CARPExecutionResult };
    }
    return { state: 'in_progress' };
  }

  async complete(resolutionId: string, key: string, result: CARPExecutionResult): Promise<void> {
    await this.client.query(
      `UPDATE cra_idempotency SET state = 'done', result = $3 WHERE resolution_id = $1 AND idempotency_key = $2`,
      [resolutionId, key, JSON.stringify(result)],
    );
  }

  async release(resolutionId: string, key: string): Promise<void> {
    await this.client.query(
      `DELETE FROM cra_idempotency WHERE resolution_id = $1 AND idempotency_key = $2 AND state = 'in_progress'`,
      [resolutionId, key],
    );
  }
}

export class SqlExecutionStore implements ExecutionStore {
  constructor(private readonly client: SqlClient) {}

  async put(result: CARPExecutionResult, agentId: string, sessionId: string): Promise<void> {
    await this.client.query(
      `INSERT INTO cra_executions (execution_id, resolution_id, agent_id, session_id, status, body)
       VALUES ($1, $2, $3, $4, $5, $6)
       ON CONFLICT (execution_id) DO UPDATE SET status = EXCLUDED.status, body = EXCLUDED.body`,
      [result.execution_id, result.resolution_id, agentId, sessionId, result.status, JSON.stringify(result)],
    );
  }

  async get(
    executionId: string,
  ): Promise<{ result: CARPExecutionResult; agent_id: string; session_id: string } | null> {
    const rows = await this.client.query<{ agent_id: string; session_id: string; body: string }>(
      'SELECT agent_id, session_id, body FROM cra_executions WHERE execution_id = $1',
      [executionId],
    );
    const row = rows[0];
    return row
      ? { agent_id: row.agent_id, session_id: row.session_id, result: JSON.parse(row.body) as CARPExecutionResult }
      : null;
  }
}
