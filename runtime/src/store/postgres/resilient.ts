/**
 * Postgres stores that survive Postgres being unreachable (CRA-SPEC §6.2, issue "Shared state"):
 *
 * - `spool` (default): writes that cannot reach Postgres — new sessions, trace events, session
 *   ends, execution results — go to a local fsync'ed outbox and are drained in order when
 *   Postgres answers again. While anything is queued, every such write queues behind it, so the
 *   order per session is kept. Nothing acknowledged is lost.
 * - `fail`: new operations are refused with 503 while Postgres is down; a write already in
 *   flight when it went down still goes to the outbox rather than being dropped.
 *
 * Reads that need Postgres and have no local answer are refused with 503 (retriable).
 */
import { CraError, type CARPExecutionResult, type EventDraft, type TraceEvent } from '@cra/core';
import type { ResolutionRecord, ResolutionStore, SessionRecord, SessionStore, Stores, TraceStore } from '../ports.js';
import type { SqlClient } from '../sql/client.js';
import { isUnavailable } from './pg-client.js';
import type { Outbox, OutboxRecord } from './outbox.js';

export interface ResilienceOptions {
  outbox: Outbox;
  mode: 'spool' | 'fail';
  durability: 'sync' | 'async';
  probeIntervalMs?: number;
  /** Sealed events that reached Postgres from the outbox (for live subscribers). */
  onDrained?: (events: TraceEvent[]) => void;
  onStateChange?: (up: boolean) => void;
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

const unavailable = (what: string): CraError =>
  new CraError('SERVICE_UNAVAILABLE', `the trace database is unreachable (${what}); retry shortly`, {
    retryAfterSeconds: 2,
  });

class SessionCache {
  private readonly entries = new Map<string, SessionRecord>();
  constructor(private readonly max = 50_000) {}
  get(id: string): SessionRecord | undefined {
    return this.entries.get(id);
  }
  set(record: SessionRecord): void {
    this.entries.delete(record.session_id);
    if (this.entries.size >= this.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(record.session_id, record);
  }
}

export class Resilience {
  up = true;
  private probing: NodeJS.Timeout | undefined;
  private draining: Promise<void> | undefined;
  private closed = false;
  readonly sessions = new SessionCache();
  /** Resolutions written to the outbox, answerable locally until they reach Postgres. */
  readonly spooledResolutions = new Map<string, ResolutionRecord>();

  constructor(
    private readonly client: SqlClient,
    private readonly base: Stores,
    readonly options: ResilienceOptions,
  ) {
    if (options.outbox.size > 0) this.kick();
  }

  get pending(): number {
    return this.options.outbox.size;
  }

  /** Queue writes while the outbox holds anything, so per-session order is kept. */
  get mustQueue(): boolean {
    return !this.up || this.options.outbox.size > 0 || this.options.durability === 'async';
  }

  markDown(err: unknown): void {
    if (this.up) {
      this.up = false;
      this.options.log?.warn({ err: (err as Error).message }, 'postgres unreachable; spooling trace writes locally');
      this.options.onStateChange?.(false);
    }
    this.startProbe();
  }

  private startProbe(): void {
    if (this.probing || this.closed) return;
    this.probing = setInterval(() => {
      this.client.query('SELECT 1').then(
        () => {
          clearInterval(this.probing);
          this.probing = undefined;
          if (!this.up) {
            this.up = true;
            this.options.log?.info({ pending: this.pending }, 'postgres reachable again; draining the outbox');
            this.options.onStateChange?.(true);
          }
          this.kick();
        },
        () => undefined,
      );
    }, this.options.probeIntervalMs ?? 500);
    this.probing.unref();
  }

  /** Starts draining unless already draining; resolves when the outbox is empty or Postgres fails. */
  kick(): Promise<void> {
    this.draining ??= this.drain().finally(() => {
      this.draining = undefined;
    });
    return this.draining;
  }

  private async drain(): Promise<void> {
    const outbox = this.options.outbox;
    for (let record = outbox.peek(); record && this.up && !this.closed; record = outbox.peek()) {
      try {
        await this.apply(record);
        await outbox.ack();
      } catch (err) {
        if (isUnavailable(err)) {
          this.markDown(err);
          return;
        }
        // A record Postgres rejects for good (it should not happen) must not block the rest.
        this.options.log?.warn({ err: (err as Error).message, kind: record.kind }, 'outbox record rejected; skipped');
        await outbox.ack();
      }
    }
  }

  private async apply(record: OutboxRecord): Promise<void> {
    switch (record.kind) {
      case 'session':
        await this.base.sessions.create(record.session);
        return;
      case 'events': {
        const first = record.drafts[0];
        if (first) {
          const seen = await this.client.query('SELECT 1 FROM cra_trace_events WHERE event_id = $1', [first.event_id]);
          if (seen.length > 0) return; // applied before a crash; the offset had not moved yet
        }
        const events = await this.base.traces.append(record.session_id, record.drafts);
        this.options.onDrained?.(events);
        return;
      }
      case 'session_end':
        await this.base.sessions.end(record.session_id, record.status, record.ended_at);
        return;
      case 'execution':
        await this.base.executions.put(record.result, record.agent_id, record.session_id);
        return;
      case 'resolution': {
        const id = record.record.resolution.resolution_id;
        const seen = await this.client.query('SELECT 1 FROM cra_resolutions WHERE resolution_id = $1', [id]);
        if (seen.length === 0) await this.base.resolutions.put(record.record);
        this.spooledResolutions.delete(id);
        return;
      }
    }
  }

  /** Runs a Postgres operation; maps unreachability to a 503 and marks the store down. */
  async guard<T>(what: string, fn: () => Promise<T>): Promise<T> {
    if (!this.up && this.options.mode === 'fail') throw unavailable(what);
    try {
      return await fn();
    } catch (err) {
      if (isUnavailable(err)) {
        this.markDown(err);
        throw unavailable(what);
      }
      throw err;
    }
  }

  /** Write through Postgres, or queue in the outbox when it is down or already queueing. */
  async write<T>(what: string, record: OutboxRecord, direct: () => Promise<T>, queued: T): Promise<T> {
    if (!this.up && this.options.mode === 'fail' && this.pending === 0) throw unavailable(what);
    if (!this.mustQueue) {
      try {
        return await direct();
      } catch (err) {
        if (!isUnavailable(err)) throw err;
        this.markDown(err);
      }
    }
    await this.options.outbox.append(record, this.options.durability === 'sync');
    if (this.up) void this.kick();
    return queued;
  }

  async close(timeoutMs = 5_000): Promise<void> {
    if (this.up && this.pending > 0) {
      await Promise.race([this.kick(), new Promise((r) => setTimeout(r, timeoutMs).unref())]);
    }
    this.closed = true;
    if (this.probing) clearInterval(this.probing);
    await this.options.outbox.close();
  }
}

function resilientTraces(r: Resilience, base: TraceStore): TraceStore {
  return {
    append: (sessionId: string, drafts: readonly EventDraft[]) =>
      r.write<TraceEvent[]>(
        'trace append',
        { kind: 'events', session_id: sessionId, drafts: [...drafts] },
        () => base.append(sessionId, drafts),
        [],
      ),
    read: (sessionId, options) => r.guard('trace read', () => base.read(sessionId, options)),
    head: (sessionId) => r.guard('trace head', () => base.head(sessionId)),
  };
}

function resilientSessions(r: Resilience, base: SessionStore): SessionStore {
  return {
    async create(session, origin = 'client') {
      // A new session is a new operation: fail-closed refuses it while Postgres is down.
      if (!r.up && r.options.mode === 'fail') throw unavailable('session create');
      if (r.mustQueue && origin === 'client' && !r.sessions.get(session.session_id)) {
        // A client-chosen id cannot be checked for ownership without Postgres.
        if (!r.up) throw unavailable('session create');
      }
      const created = await r.write('session create', { kind: 'session', session }, () => base.create(session), true);
      if (created) r.sessions.set(session);
      return created;
    },
    async get(sessionId) {
      try {
        const record = await r.guard('session read', () => base.get(sessionId));
        if (record) r.sessions.set(record);
        return record;
      } catch (err) {
        // Spooling answers from what it knows; fail-closed refuses the operation that asked.
        const cached = r.options.mode === 'spool' ? r.sessions.get(sessionId) : undefined;
        if (cached && err instanceof CraError && err.code === 'SERVICE_UNAVAILABLE') return cached;
        throw err;
      }
    },
    async end(sessionId, status, endedAt) {
      const cached = r.sessions.get(sessionId);
      const ended = await r.write<SessionRecord | null>(
        'session end',
        { kind: 'session_end', session_id: sessionId, status, ended_at: endedAt },
        () => base.end(sessionId, status, endedAt),
        cached ? { ...cached, status, ended_at: endedAt } : null,
      );
      if (ended) r.sessions.set(ended);
      return ended;
    },
    list: (filter) => r.guard('session list', () => base.list(filter)),
    count: (filter) => r.guard('session count', () => base.count(filter)),
    admit() {
      if (!r.up && r.options.mode === 'fail') throw unavailable('new operation');
    },
  };
}

function resilientResolutions(r: Resilience, base: ResolutionStore): ResolutionStore {
  return {
    async put(record) {
      const queued = await r.write(
        'resolution put',
        { kind: 'resolution', record },
        async () => {
          await base.put(record);
          return false;
        },
        true,
      );
      if (queued) r.spooledResolutions.set(record.resolution.resolution_id, record);
    },
    async get(id) {
      const local = r.spooledResolutions.get(id);
      if (local) return local;
      return r.guard('resolution read', () => base.get(id));
    },
    prune: (before) => r.guard('resolution prune', () => base.prune(before)),
  };
}

/** Wraps SQL stores over Postgres with the outbox and 503 mapping. */
export function resilientStores(
  client: SqlClient,
  base: Stores,
  options: ResilienceOptions,
): Stores & { resilience: Resilience } {
  const r = new Resilience(client, base, options);
  const guardAll = <T extends object>(name: string, store: T): T =>
    new Proxy(store, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver) as unknown;
        if (typeof value !== 'function') return value;
        return (...args: unknown[]) =>
          r.guard(`${name}.${String(prop)}`, () =>
            (value as (...a: unknown[]) => Promise<unknown>).apply(target, args),
          );
      },
    });
  return {
    resilience: r,
    traces: resilientTraces(r, base.traces),
    sessions: resilientSessions(r, base.sessions),
    resolutions: resilientResolutions(r, base.resolutions),
    idempotency: guardAll('idempotency', base.idempotency),
    approvals: guardAll('approvals', base.approvals),
    executions: {
      put: (result: CARPExecutionResult, agentId: string, sessionId: string) =>
        r.write(
          'execution put',
          { kind: 'execution', result, agent_id: agentId, session_id: sessionId },
          () => base.executions.put(result, agentId, sessionId),
          undefined,
        ),
      get: (id: string) => r.guard('execution read', () => base.executions.get(id)),
    },
    resolutionCache: base.resolutionCache,
    async health() {
      const out = await base.health();
      out.postgres = {
        ok: r.up || options.mode === 'spool',
        detail: `${r.up ? 'up' : 'unreachable'}; outbox ${r.pending} pending; on unavailable: ${options.mode}`,
      };
      return out;
    },
    async close() {
      await r.close();
      await base.close();
    },
  };
}
