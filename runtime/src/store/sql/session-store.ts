import type { SessionRecord, SessionStore } from '../ports.js';
import type { SqlClient } from './client.js';
import type { ChainHeads } from './trace-store.js';

interface Row {
  session_id: string;
  agent_id: string;
  agent_type: string | null;
  status: SessionRecord['status'];
  metadata: Record<string, string> | string;
  started_at: Date | string;
  ended_at: Date | string | null;
  head_sequence: string | number;
  head_hash: string;
}

const iso = (value: Date | string): string => (value instanceof Date ? value : new Date(value)).toISOString();

function toRecord(row: Row): SessionRecord {
  const sequence = Number(row.head_sequence);
  return {
    session_id: row.session_id,
    agent_id: row.agent_id,
    ...(row.agent_type ? { agent_type: row.agent_type } : {}),
    status: row.status,
    metadata: typeof row.metadata === 'string' ? (JSON.parse(row.metadata) as Record<string, string>) : row.metadata,
    started_at: iso(row.started_at),
    ...(row.ended_at ? { ended_at: iso(row.ended_at) } : {}),
    event_count: sequence + 1,
    ...(sequence >= 0 ? { head: { sequence, event_hash: row.head_hash } } : {}),
  };
}

const SELECT = `SELECT session_id, agent_id, agent_type, status, metadata, started_at, ended_at, head_sequence, head_hash
                  FROM cra_sessions`;

export class SqlSessionStore implements SessionStore {
  /** `heads`: shared with the trace store, which then appends a new session's first events without reading its head. */
  constructor(
    private readonly client: SqlClient,
    private readonly heads?: ChainHeads,
  ) {}

  async create(session: SessionRecord): Promise<boolean> {
    const rows = await this.client.query(
      `INSERT INTO cra_sessions (session_id, agent_id, agent_type, status, metadata, started_at)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (session_id) DO NOTHING RETURNING session_id`,
      [
        session.session_id,
        session.agent_id,
        session.agent_type ?? null,
        session.status,
        JSON.stringify(session.metadata),
        session.started_at,
      ],
    );
    if (rows.length !== 1) return false;
    this.heads?.set(session.session_id, null);
    return true;
  }

  async get(sessionId: string): Promise<SessionRecord | null> {
    const rows = await this.client.query<Row>(`${SELECT} WHERE session_id = $1`, [sessionId]);
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async end(sessionId: string, status: 'ended' | 'error', endedAt: string): Promise<SessionRecord | null> {
    const rows = await this.client.query<Row>(
      `UPDATE cra_sessions SET status = $2, ended_at = $3 WHERE session_id = $1 AND status = 'active'
       RETURNING session_id, agent_id, agent_type, status, metadata, started_at, ended_at, head_sequence, head_hash`,
      [sessionId, status, endedAt],
    );
    return rows[0] ? toRecord(rows[0]) : null;
  }

  async list(filter: { agentId?: string; status?: string; limit: number; offset: number }): Promise<SessionRecord[]> {
    const params: unknown[] = [];
    const where: string[] = [];
    if (filter.agentId !== undefined) {
      params.push(filter.agentId);
      where.push(`agent_id = $${params.length}`);
    }
    if (filter.status !== undefined) {
      params.push(filter.status);
      where.push(`status = $${params.length}`);
    }
    params.push(filter.limit, filter.offset);
    const rows = await this.client.query<Row>(
      `${SELECT} ${where.length ? `WHERE ${where.join(' AND ')}` : ''}
       ORDER BY started_at DESC, session_id LIMIT $${params.length - 1} OFFSET $${params.length}`,
      params,
    );
    return rows.map(toRecord);
  }

  async count(filter: { status?: string }): Promise<number> {
    const rows =
      filter.status === undefined
        ? await this.client.query<{ n: number }>('SELECT count(*)::int AS n FROM cra_sessions')
        : await this.client.query<{ n: number }>('SELECT count(*)::int AS n FROM cra_sessions WHERE status = $1', [
            filter.status,
          ]);
    return Number(rows[0]?.n ?? 0);
  }
}
