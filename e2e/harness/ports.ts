// Loopback ports for processes the harness starts, and small retry/poll helpers.
//
// A port read from a closed listener can be taken by someone else before our child binds it;
// callers detect that (the child exits with "address already in use") and retry with `retry()`.
import { createServer, connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

export const LOOPBACK = '127.0.0.1';

/** Listens on `host:0`, reads the port the kernel picked, closes, and returns it. */
export async function freePort(host: string = LOOPBACK): Promise<number> {
  const server = createServer();
  server.unref();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port: 0, host, exclusive: true }, resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error(`freePort: no TCP address on ${host}`);
  return address.port;
}

/** `count` distinct free ports (listeners held open together, so the kernel cannot hand out one twice). */
export async function freePorts(count: number, host: string = LOOPBACK): Promise<number[]> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    await Promise.all(
      servers.map(
        (server) =>
          new Promise<void>((resolve, reject) => {
            server.once('error', reject);
            server.listen({ port: 0, host, exclusive: true }, resolve);
          }),
      ),
    );
    return servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error(`freePorts: no TCP address on ${host}`);
      return address.port;
    });
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

/** True when something accepts a TCP connection on `host:port`. */
export async function canConnect(port: number, host: string = LOOPBACK, timeoutMs = 1_000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export interface RetryOptions {
  /** Total attempts, including the first. Default 3. */
  attempts?: number;
  /** Pause between attempts. Default 100 ms. */
  delayMs?: number;
  /** Whether a failure is worth another attempt. Default: every failure is. */
  shouldRetry?: (error: unknown, attempt: number) => boolean;
  /** Called before each new attempt (for logging). */
  onRetry?: (error: unknown, attempt: number) => void;
}

/** Runs `fn(attempt)` (attempt counts from 1) until it resolves or the attempts are used up. */
export async function retry<T>(fn: (attempt: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  const attempts = options.attempts ?? 3;
  let lastError: unknown;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    try {
      return await fn(attempt);
    } catch (error) {
      lastError = error;
      const more = attempt < attempts && (options.shouldRetry?.(error, attempt) ?? true);
      if (!more) throw error;
      options.onRetry?.(error, attempt);
      await sleep(options.delayMs ?? 100);
    }
  }
  throw lastError;
}

/** Runs `fn(port)` with a fresh free port until it succeeds; for "bind raced with someone else" failures. */
export async function withFreePort<T>(fn: (port: number) => Promise<T>, options: RetryOptions = {}): Promise<T> {
  return retry(async () => fn(await freePort()), options);
}

/** True for errors that mean "the port was taken between freePort() and bind". */
export function isAddressInUse(error: unknown): boolean {
  const text = error instanceof Error ? `${error.message}\n${String((error as { logs?: unknown }).logs ?? '')}` : '';
  return /address already in use|EADDRINUSE|bind: address|Address in use/i.test(text);
}
