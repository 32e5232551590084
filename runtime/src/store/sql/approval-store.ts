import type { ApprovalRecord, ApprovalStatus, ApprovalStore } from '../ports.js';
import type { SqlClient } from './client.js';

interface Row {
  body: string;
  status: ApprovalStatus;
  decided_by: string | null;
  decided_at: Date | string | null;
  reason: string | null;
}

function toRecord(row: Row): ApprovalRecord {
  const record = JSON.parse(row.body) as ApprovalRecord;
  return {
    ...record,
    status: row.status,
    ...(row.decided_by ? { decided_by: row.decided_by } : {}),
    ...(row.decided_at ? { decided_at: new Date(row.decided_at).toISOString() } : {}),
    ...(row.reason ? { reason: row.reason } : {}),
  };
}

const COLUMNS = 'body, status, decided_by, decided_at, reason';

export class SqlApprovalStore implements ApprovalStore {
  constructor(private readonly client: SqlClient) {}

  async create(r: ApprovalRecord): Promise<void> {
    await this.client.query(
      `INSERT INTO cra_approvals (approval_id, status, resolution_id, execution_id, agent_id, session_id, action_type,
                                  created_at, expires_at, body)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [
        r.approval_id,
        r.status,
        r.resolution_id,
        r.execution_id,
        r.agent_id,
        r.session_id,
        r.action_type,
        r.created_at,
        r.expires_at,
        JSON.stringify(r),
      ],
    );
  }

  async get(approvalId: string): Promise<ApprovalRecord | null> {
    const rows = await this.client.query<Row>(`SELECT ${COLUMNS} FROM cra_approvals WHERE approval_id = $1`, [
      approvalId,
    ]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async list(filter: { status?: ApprovalStatus; agentId?: string; limit: number }): Promise<ApprovalRecord[]> {
    const params: unknown[] = [];
    const where: string[] = [];
    if (filter.status) {
      params.push(filter.status);
      where.push(`status = $${params.length}`);
    }
    if (filter.agentId) {
      params.push(filter.agentId);
      where.push(`agent_id = $${params.length}`);
    }
    params.push(filter.limit);
    const rows = await this.client.query<Row>(
      `SELECT ${COLUMNS} FROM cra_approvals ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY created_at DESC, approval_id LIMIT $${params.length}`,
      params,
    );
    return rows.map(toRecord);
  }

  async decide(
    approvalId: string,
    status: Exclude<ApprovalStatus, 'pending'>,
    by: string,
    at: string,
    reason?: string,
  ): Promise<ApprovalRecord | null> {
    const rows = await this.client.query<Row>(
      `UPDATE cra_approvals SET status = $2, decided_by = $3, decided_at = $4, reason = $5
        WHERE approval_id = $1 AND status = 'pending' RETURNING ${COLUMNS}`,
      [approvalId, status, by, at, reason ?? null],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async expired(now: number, limit: number): Promise<ApprovalRecord[]> {
    const rows = await this.client.query<Row>(
      `SELECT ${COLUMNS} FROM cra_approvals WHERE status = 'pending' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`,
      [new Date(now).toISOString(), limit],
    );
    return rows.map(toRecord);
  }

  async countPending(): Promise<number> {
    const rows = await this.client.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM cra_approvals WHERE status = 'pending'`,
    );
    return Number(rows[0]?.n ?? 0);
  }
}
