import { CraError, sealEvents, type ChainHead, type EventDraft, type TraceEvent } from '@cra/core';
import { eventJson } from '../event-json.js';
import type { ReadEventsOptions, TraceStore } from '../ports.js';
import type { SqlClient, SqlQueryable } from './client.js';

/**
 * The chain head this process last saw per session (written or read), bounded. A hint only: an
 * append that trusts a stale head fails its compare-and-swap and reads the head again, so
 * correctness never depends on it. `null` = the session has no events yet.
 */
export class ChainHeads {
  private readonly heads = new Map<string, ChainHead | null>();

  constructor(private readonly max = 20_000) {}

  get(sessionId: string): ChainHead | null | undefined {
    return this.heads.get(sessionId);
  }

  set(sessionId: string, head: ChainHead | null): void {
    // Re-inserted so the Map's order is least recently written first.
    this.heads.delete(sessionId);
    if (this.heads.size >= this.max) {
      const oldest = this.heads.keys().next().value;
      if (oldest !== undefined) this.heads.delete(oldest);
    }
    this.heads.set(sessionId, head);
  }

  forget(sessionId: string): void {
    this.heads.delete(sessionId);
  }
}

/** Compare-and-swap attempts before an append falls back to taking the session row lock. */
const OPTIMISTIC_ATTEMPTS = 3;

const GENESIS = '0'.repeat(64);

const COLUMNS = 'session_id, sequence, event_id, event_type, severity, ts, trace_id, event_hash, event';

/**
 * The events of one append as statement parameters $2…$9, one per column whatever the number of
 * events (one statement to parse and plan instead of 9 × N placeholders). Each column travels as
 * ONE text, the values joined by newlines and split by `string_to_array` in SQL: none of them can
 * hold a newline (sequence numbers, UUIDs, hex hashes and ids, ISO timestamps, dotted event types
 * and severities, and event JSON — JSON.stringify escapes U+000A inside strings and adds no
 * whitespace). A plain string parameter is sent as is, where an array parameter makes `pg` build
 * an array literal in JavaScript, escaping every element (a regex pass over every event body).
 * Were a newline ever to slip in, the columns would not line up and the insert would fail on a
 * NULL, never store a shifted row.
 */
function eventColumns(events: readonly TraceEvent[]): string[] {
  const column = (value: (e: TraceEvent) => string | number) => events.map(value).join('\n');
  return [
    column((e) => e.sequence),
    column((e) => e.event_id),
    column((e) => e.event_type),
    column((e) => e.severity),
    column((e) => e.timestamp),
    column((e) => e.trace_id),
    column((e) => e.event_hash),
    events.map(eventJson).join('\n'),
  ];
}

const split = (n: number, type = '') => `string_to_array($${n}::text, E'\\n')${type}`;
const UNNEST = `unnest(${split(2, '::bigint[]')}, ${split(3, '::uuid[]')}, ${split(4)}, ${split(5)},
                       ${split(6, '::timestamptz[]')}, ${split(7)}, ${split(8)}, ${split(9)})`;

/**
 * One statement, one round trip, its own transaction: move the head from the expected one to the
 * new one (compare-and-swap on the session row) and insert the events only if that succeeded.
 * A concurrent appender that moved the head first makes the UPDATE match no row (READ COMMITTED
 * re-checks the WHERE clause on the row it waited for), so nothing is inserted and n = 0.
 */
const APPEND_CAS = `
WITH head AS (
  UPDATE cra_sessions SET head_sequence = $10, head_hash = $11
   WHERE session_id = $1 AND head_sequence = $12 AND head_hash = $13
  RETURNING session_id
), inserted AS (
  INSERT INTO cra_trace_events (${COLUMNS})
  SELECT head.session_id, e.* FROM head, ${UNNEST} AS e
  RETURNING 1
)
SELECT count(*)::int AS n FROM inserted`;

/**
 * Appends serialise per session on the session row: the head moves by compare-and-swap in the
 * same statement that inserts the events (one round trip), or, after repeated conflicts, under the
 * row lock (`FOR UPDATE`) in a transaction. Appenders in any number of processes keep one chain;
 * the (session_id, sequence) primary key makes a fork impossible even so.
 */
export class SqlTraceStore implements TraceStore {
  constructor(
    private readonly client: SqlClient,
    private readonly heads: ChainHeads = new ChainHeads(),
    /** 0 = always take the row lock (tests cover both paths). */
    private readonly optimisticAttempts = OPTIMISTIC_ATTEMPTS,
  ) {}

  async append(sessionId: string, drafts: readonly EventDraft[]): Promise<TraceEvent[]> {
    if (drafts.length === 0) return [];
    // Was 5 round trips (BEGIN, SELECT … FOR UPDATE, INSERT, UPDATE, COMMIT); now 1 when this
    // process knows the head (it wrote the session's last events, or created the session), 2 when
    // it must read it first.
    let head = this.heads.get(sessionId);
    for (let attempt = 0; attempt < this.optimisticAttempts; attempt++) {
      if (head === undefined) head = await this.readHead(this.client, sessionId, false);
      const events = sealEvents(head, drafts);
      const last = events[events.length - 1]!;
      const rows = await this.client.query<{ n: number }>(
        APPEND_CAS,
        [
          sessionId,
          ...eventColumns(events),
          last.sequence,
          last.event_hash,
          head?.sequence ?? -1,
          head?.event_hash ?? GENESIS,
        ],
        // Planning this statement cost Postgres about as much as running it: plan it once per connection.
        { name: 'cra_trace_append' },
      );
      if (Number(rows[0]?.n ?? 0) === events.length) {
        this.heads.set(sessionId, { sequence: last.sequence, event_hash: last.event_hash });
        return events;
      }
      head = undefined; // another appender moved the head (or the session is gone): read it again
    }
    return this.appendLocked(sessionId, drafts);
  }

  /** Under the session row lock: cannot conflict, so a busy session still makes progress. */
  private appendLocked(sessionId: string, drafts: readonly EventDraft[]): Promise<TraceEvent[]> {
    return this.client.transaction(async (tx) => {
      const head = await this.readHead(tx, sessionId, true);
      const events = sealEvents(head, drafts);
      await tx.query(`INSERT INTO cra_trace_events (${COLUMNS}) SELECT $1::uuid, * FROM ${UNNEST}`, [
        sessionId,
        ...eventColumns(events),
      ]);
      const last = events[events.length - 1]!;
      await tx.query('UPDATE cra_sessions SET head_sequence = $2, head_hash = $3 WHERE session_id = $1', [
        sessionId,
        last.sequence,
        last.event_hash,
      ]);
      this.heads.set(sessionId, { sequence: last.sequence, event_hash: last.event_hash });
      return events;
    });
  }

  private async readHead(q: SqlQueryable, sessionId: string, lock: boolean): Promise<ChainHead | null> {
    const rows = await q.query<{ head_sequence: string | number; head_hash: string }>(
      `SELECT head_sequence, head_hash FROM cra_sessions WHERE session_id = $1${lock ? ' FOR UPDATE' : ''}`,
      [sessionId],
    );
    const row = rows[0];
    if (!row) {
      this.heads.forget(sessionId);
      throw new CraError('NOT_FOUND', `session ${sessionId} does not exist`);
    }
    const sequence = Number(row.head_sequence);
    return sequence < 0 ? null : { sequence, event_hash: row.head_hash };
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
