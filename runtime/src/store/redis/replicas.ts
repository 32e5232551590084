/**
 * How many runtime replicas are alive, as seen in Redis: each instance refreshes a heartbeat key
 * `replicas:<instanceId>` with a short TTL and counts the others with SCAN. The rate limiter uses
 * the last count to size each replica's local share of a limit while Redis is unreachable.
 */
import type { RedisConnection } from './client.js';

export const REPLICA_KEY = 'replicas:';

export interface ReplicaHeartbeatOptions {
  instanceId: string;
  /** Default 5 s. */
  intervalMs?: number;
  /** Default 3 × interval: a replica that stopped beating drops out after this. */
  ttlMs?: number;
}

/** Escapes glob characters for SCAN MATCH. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`);
}

export class ReplicaHeartbeat {
  private seen = 1;
  private timer: NodeJS.Timeout | undefined;
  private readonly intervalMs: number;
  private readonly ttlMs: number;

  constructor(
    private readonly redis: RedisConnection,
    private readonly options: ReplicaHeartbeatOptions,
  ) {
    this.intervalMs = options.intervalMs ?? 5_000;
    this.ttlMs = options.ttlMs ?? this.intervalMs * 3;
  }

  /** Live replicas at the last successful beat (this one included); at least 1. */
  get replicas(): number {
    return this.seen;
  }

  start(): Promise<number> {
    if (!this.timer) {
      this.timer = setInterval(() => void this.beat(), this.intervalMs);
      this.timer.unref();
    }
    return this.beat();
  }

  /** Refreshes this instance's key and recounts; keeps the last count when Redis is unreachable. */
  async beat(): Promise<number> {
    if (!this.redis.isReady()) return this.seen;
    try {
      const client = this.redis.client;
      await client.set(`${REPLICA_KEY}${this.options.instanceId}`, String(Date.now()), 'PX', this.ttlMs);
      // SCAN matches raw key names: the client's prefix is not applied to MATCH.
      const match = `${globEscape(this.redis.keyPrefix)}${REPLICA_KEY}*`;
      let cursor = '0';
      const live = new Set<string>(); // SCAN may return a key twice
      do {
        const [next, keys] = await client.scan(cursor, 'MATCH', match, 'COUNT', 1000);
        cursor = next;
        for (const key of keys) live.add(key);
      } while (cursor !== '0');
      this.seen = Math.max(1, live.size);
    } catch {
      // keep the last count
    }
    return this.seen;
  }

  /** Stops beating and removes this instance's key so the others' count drops at once. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    if (!this.redis.isReady()) return;
    await this.redis.client.del(`${REPLICA_KEY}${this.options.instanceId}`).catch(() => undefined);
  }
}
