/**
 * The runtime's Redis layer in one place (`runtime.ts` wires it when `redis.url` is set): the
 * connection, the shared rate limiter, the stores wrapper, and logging of connection trouble and
 * limiter mode changes. The logger arrives after the app is built; what happened before is kept
 * and written then.
 */
import type { Stores } from '../ports.js';
import { createRedis, type RedisConnection } from './client.js';
import { RedisRateLimiter, type LimiterModeChange } from './rate-limiter.js';
import { withRedis } from './stores.js';
import { RedisTraceFanout } from './trace-fanout.js';

export interface LayerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface RedisLayerConfig {
  redis: { url?: string; keyPrefix: string };
  cluster: { replicas?: number };
}

export interface RedisLayer {
  redis: RedisConnection;
  limiter: RedisRateLimiter;
  /** Live TRACE events of the other replicas (for WebSocket subscribers). */
  fanout: RedisTraceFanout;
  /**
   * Moves the shared stores (resolutions, idempotency, resolution cache) to Redis; closing them
   * also closes the limiter and the connection.
   */
  wrap(stores: Stores): Stores;
  attachLogger(log: LayerLogger): void;
}

export async function openRedisLayer(
  config: RedisLayerConfig,
  options: { instanceId: string; now?: () => number },
): Promise<RedisLayer> {
  if (!config.redis.url) throw new Error('redis.url is not set');
  let logger: LayerLogger | undefined;
  const pending: [level: 'info' | 'warn', obj: object, msg: string][] = [];
  const log = (level: 'info' | 'warn', obj: object, msg: string) => {
    if (logger) logger[level](obj, msg);
    else if (pending.length < 50) pending.push([level, obj, msg]);
  };

  const redis = createRedis(config.redis.url, {
    keyPrefix: config.redis.keyPrefix,
    onError: (err) => log('warn', { err: err.message }, 'redis connection error'),
  });
  const connected = await redis.connect();
  if (!connected) log('warn', { status: redis.status() }, 'redis unreachable at start; reconnecting in the background');

  const limiter = new RedisRateLimiter(redis, {
    instanceId: options.instanceId,
    ...(config.cluster.replicas !== undefined ? { replicas: config.cluster.replicas } : {}),
    ...(options.now ? { now: options.now } : {}),
    onModeChange: (change: LimiterModeChange) =>
      change.mode === 'redis'
        ? log('info', { mode: change.mode }, 'rate limiter back on redis')
        : log(
            'warn',
            { mode: change.mode, replicas: change.replicas, reason: change.reason },
            'redis unavailable: rate limiting locally with this replica share of each limit',
          ),
  });
  await limiter.start();
  const fanout = new RedisTraceFanout(redis, options.instanceId);
  await fanout.start();

  return {
    redis,
    limiter,
    fanout,
    wrap: (stores) =>
      withRedis(stores, redis, {
        ...(options.now ? { now: options.now } : {}),
        onCacheError: (err, operation) => log('warn', { err: err.message, operation }, 'resolution cache degraded'),
        beforeCloseRedis: async () => {
          await fanout.close();
          await limiter.close();
        },
      }),
    attachLogger(next) {
      logger = next;
      for (const [level, obj, msg] of pending.splice(0)) next[level](obj, msg);
    },
  };
}
