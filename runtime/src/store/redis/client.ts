/**
 * The Redis connection the runtime shares between the rate limiter and the stores. It fails fast
 * instead of queueing: no offline queue (a command while disconnected rejects at once), one retry
 * per command, a command timeout, a connect timeout, and reconnection with a capped exponential
 * backoff that never gives up. Callers decide what a failure means (the limiter falls back to a
 * local share, the stores answer 503).
 */
import { Redis } from 'ioredis';
import { defineCraCommands } from './commands.js';

export interface RedisClientOptions {
  /** Prepended to every key (ioredis `keyPrefix`); default `cra:`. */
  keyPrefix?: string;
  connectTimeoutMs?: number;
  /** A command without a reply after this long rejects (a hung server must not hang requests). */
  commandTimeoutMs?: number;
  /** Upper bound of the reconnection backoff. */
  maxReconnectDelayMs?: number;
  /** Connection errors, once per distinct message until the connection is ready again. */
  onError?: (err: Error) => void;
}

export interface RedisConnection {
  readonly client: Redis;
  readonly keyPrefix: string;
  /** ioredis status: wait, connecting, connect, ready, reconnecting, close, end. */
  status(): string;
  /** Commands can be sent now. */
  isReady(): boolean;
  /** Connects once; false when Redis is unreachable (it keeps reconnecting in the background). */
  connect(): Promise<boolean>;
  /** PING, for readiness. */
  ping(): Promise<{ ok: boolean; detail?: string }>;
  /** QUIT (or disconnect when not connected); stops reconnecting. */
  close(): Promise<void>;
}

export const DEFAULT_KEY_PREFIX = 'cra:';

/** Capped exponential backoff: 50 ms, 100 ms, 200 ms … `cap`. Never null: a server keeps trying. */
export function reconnectDelay(attempt: number, cap: number): number {
  return Math.min(50 * 2 ** Math.min(Math.max(attempt - 1, 0), 16), cap);
}

export function createRedis(url: string, options: RedisClientOptions = {}): RedisConnection {
  const keyPrefix = options.keyPrefix ?? DEFAULT_KEY_PREFIX;
  const maxDelay = options.maxReconnectDelayMs ?? 2_000;
  const client = new Redis(url, {
    keyPrefix,
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: options.connectTimeoutMs ?? 2_000,
    commandTimeout: options.commandTimeoutMs ?? 1_000,
    retryStrategy: (attempt) => reconnectDelay(attempt, maxDelay),
    enableReadyCheck: true,
  });
  defineCraCommands(client);

  let lastError: string | undefined;
  client.on('error', (err: Error) => {
    if (err.message === lastError) return;
    lastError = err.message;
    options.onError?.(err);
  });
  client.on('ready', () => {
    lastError = undefined;
  });

  let closed = false;
  return {
    client,
    keyPrefix,
    status: () => client.status,
    isReady: () => client.status === 'ready',
    async connect() {
      if (client.status === 'ready') return true;
      if (client.status !== 'wait') return false;
      try {
        await client.connect();
        return true;
      } catch {
        // ioredis schedules reconnection itself (retryStrategy); callers run degraded meanwhile.
        return false;
      }
    },
    async ping() {
      if (client.status !== 'ready') return { ok: false, detail: `redis ${client.status}` };
      try {
        const reply = await client.ping();
        return reply === 'PONG' ? { ok: true } : { ok: false, detail: `unexpected PING reply ${reply}` };
      } catch (err) {
        return { ok: false, detail: (err as Error).message };
      }
    },
    async close() {
      if (closed || client.status === 'end') return;
      closed = true;
      const ended = new Promise<void>((resolve) => client.once('end', () => resolve()));
      const hasSocket = ['ready', 'connect', 'connecting'].includes(client.status);
      let quitting = false;
      if (client.status === 'ready') {
        try {
          await client.quit();
          quitting = true;
        } catch {
          // fall through to a hard disconnect
        }
      }
      // Also cancels a pending reconnection (between attempts there is no socket to wait for).
      if (!quitting) client.disconnect(false);
      if (!hasSocket) return;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([ended, new Promise<void>((resolve) => (timer = setTimeout(resolve, 1_000)))]);
      clearTimeout(timer);
    },
  };
}
