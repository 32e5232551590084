// A private redis-server on loopback: no persistence, own temp dir, ready when PING answers.
import { mkdtemp } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, isAddressInUse, LOOPBACK, retry } from './ports.js';
import { registerTempDir, removeTempDir, spawnProcess, waitUntil, type ManagedProcess } from './process.js';

export interface RedisOptions {
  /** Fixed port; default a free one (retried on a bind race). */
  port?: number;
  /** `redis-server` binary; default `$REDIS_SERVER` or `redis-server` on PATH. */
  binary?: string;
  startTimeoutMs?: number;
  attachOutput?: boolean;
}

export interface RedisInstance {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  /** Graceful stop (SIGTERM) and removal of the temp dir. */
  stop(): Promise<void>;
  /** SIGKILL: simulates an outage (connections are refused until `restart()`). */
  kill(): Promise<void>;
  /** Starts again on the same port (data is gone: no persistence). */
  restart(): Promise<void>;
  /** Captured output of the current server process. */
  logs(): string[];
}

/** Sends a RESP `PING` over a raw socket; resolves with the reply line (`+PONG` when healthy). */
export function redisPing(port: number, host: string = LOOPBACK, timeoutMs = 1_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host });
    let reply = '';
    socket.setTimeout(timeoutMs, () => {
      socket.destroy();
      reject(new Error(`redis PING to ${host}:${port} timed out`));
    });
    socket.once('error', reject);
    socket.once('connect', () => socket.write('*1\r\n$4\r\nPING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString('utf8');
      const end = reply.indexOf('\r\n');
      if (end >= 0) {
        socket.destroy();
        resolve(reply.slice(0, end));
      }
    });
  });
}

export async function startRedis(options: RedisOptions = {}): Promise<RedisInstance> {
  const binary = options.binary ?? process.env['REDIS_SERVER'] ?? 'redis-server';
  const dir = await mkdtemp(join(tmpdir(), 'cra-redis-'));
  registerTempDir(dir);

  let port = options.port ?? 0;
  let server: ManagedProcess | undefined;

  const launch = async (): Promise<void> => {
    const child = spawnProcess({
      name: `redis:${port}`,
      command: binary,
      args: [
        '--port',
        String(port),
        '--bind',
        LOOPBACK,
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'no',
        '--dir',
        dir,
        '--daemonize',
        'no',
        '--logfile',
        '',
      ],
      cwd: dir,
      attachOutput: options.attachOutput,
    });
    server = child;
    try {
      await waitUntil(async () => (await redisPing(port)) === '+PONG', {
        description: `redis-server on ${LOOPBACK}:${port} to answer PING`,
        timeoutMs: options.startTimeoutMs ?? 15_000,
        intervalMs: 50,
        process: child,
      });
    } catch (error) {
      await child.kill();
      throw error;
    }
  };

  try {
    await retry(
      async () => {
        if (options.port === undefined) port = await freePort();
        await launch();
      },
      { attempts: options.port === undefined ? 3 : 1, shouldRetry: isAddressInUse },
    );
  } catch (error) {
    await removeTempDir(dir);
    if (error instanceof Error && /ENOENT/.test(error.message)) {
      throw new Error(`redis-server not found (${binary}): run scripts/install-test-deps.sh\n${error.message}`, {
        cause: error,
      });
    }
    throw error;
  }

  return {
    url: `redis://${LOOPBACK}:${port}`,
    port,
    host: LOOPBACK,
    async stop() {
      await server?.stop({ timeoutMs: 10_000 });
      await removeTempDir(dir);
    },
    async kill() {
      await server?.kill();
    },
    async restart() {
      await server?.stop({ timeoutMs: 10_000 });
      await launch();
    },
    logs: () => server?.logs() ?? [],
  };
}
