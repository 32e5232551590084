import { CraError, sealEvents, type ChainHead, type EventDraft, type TraceEvent } from '@cra/core';
import type { ReadEventsOptions, TraceStore } from '../ports.js';
import type { SqlClient } from './client.js';

/**
 * Appends lock the session row (`FOR UPDATE`), so appenders in any number of processes
 * serialise per session; the (session_id, sequence) primary key makes a fork impossible even so.
 */
export class SqlTraceStore implements TraceStore {
  constructor(private readonly client: SqlClient) {}

  async append(sessionId: string, drafts: readonly EventDraft[]): Promise<TraceEvent[]> {
    if (drafts.length === 0) return [];
    return this.client.transaction(async (tx) => {
      const rows = await tx.query<{ head_sequence: string | number; head_hash: string }>(
        'SELECT head_sequence, head_hash FROM cra_sessions WHERE session_id = $1 FOR UPDATE',
        [sessionId],
      );
      const row = rows[0];
      if (!row) throw new CraError('NOT_FOUND', `session ${sessionId} does not exist`);
      const sequence = Number(row.head_sequence);
      const head: ChainHead | null = sequence < 0 ? null : { sequence, event_hash: row.head_hash };
      const events = sealEvents(head, drafts);
      // One parameter per column (arrays), whatever the number of events: one statement to
      // parse and plan instead of 9 × N placeholders.
      await tx.query(
        `INSERT INTO cra_trace_events
           (session_id, sequence, event_id, event_type, severity, ts, trace_id, event_hash, event)
         SELECT $1::uuid, *
           FROM unnest($2::bigint[], $3::uuid[], $4::text[], $5::text[], $6::timestamptz[], $7::text[], $8::text[], $9::text[])`,
        [
          sessionId,
          events.map((e) => e.sequence),
          events.map((e) => e.event_id),
          events.map((e) => e.event_type),
          events.map((e) => e.severity),
          events.map((e) => e.timestamp),
          events.map((e) => e.trace_id),
          events.map((e) => e.event_hash),
          events.map((e) => JSON.stringify(e)),
        ],
      );
      const last = events[events.length - 1]!;
      await tx.query('UPDATE cra_sessions SET head_sequence = $2, head_hash = $3 WHERE session_id = $1', [
        sessionId,
        last.sequence,
        last.event_hash,
      ]);
      return events;
    });
  }

  async read(sessionId: string, options: ReadEventsOptions = {}): Promise<TraceEvent[]> {
    const params: unknown[] = [sessionId, options.fromSequence ?? 0];
    let where = 'session_id = $1 AND sequence >= $2';
    if (options.eventTypes && options.eventTypes.length > 0) {
      params.push(options.eventTypes);
      where += ` AND event_type = ANY($${params.length})`;
    }
    let limit = '';
    if (options.limit !== undefined) {
      params.push(options.limit);
      limit = ` LIMIT $${params.length}`;
    }
    const rows = await this.client.query<{ event: string }>(
      `SELECT event FROM cra_trace_events WHERE ${where} ORDER BY sequence${limit}`,
      params,
    );
    return rows.map((r) => JSON.parse(r.event) as TraceEvent);
  }

  async head(sessionId: string): Promise<ChainHead | null> {
    const rows = await this.client.query<{ head_sequence: string | number; head_hash: string }>(
      'SELECT head_sequence, head_hash FROM cra_sessions WHERE session_id = $1',
      [sessionId],
    );
    const row = rows[0];
    if (!row || Number(row.head_sequence) < 0) return null;
    return { sequence: Number(row.head_sequence), event_hash: row.head_hash };
  }
}
