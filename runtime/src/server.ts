/**
 * The process around a runtime: logger, tracing, listen, graceful shutdown on signals (stop
 * accepting, finish in-flight requests, flush spools and checkpoints, close stores) within a
 * bounded time. `cra serve` runs this.
 */
import closeWithGrace from 'close-with-grace';
import type { FastifyServerOptions } from 'fastify';
import type { RuntimeConfig } from './config/schema.js';
import { createRuntime, type Runtime } from './runtime.js';
import { startTracing } from './telemetry/tracing.js';

export const LOG_REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers["sec-websocket-protocol"]',
  'req.headers.cookie',
  '*.token',
  '*.apiKey',
  '*.password',
];

/** JSON lines with secrets redacted; pretty only on a terminal and only where pino-pretty is installed. */
export function loggerOptions(level: string): FastifyServerOptions['logger'] {
  let pretty: boolean;
  try {
    pretty = process.stdout.isTTY === true && import.meta.resolve('pino-pretty') !== '';
  } catch {
    pretty = false; // a development dependency: production installs log plain JSON lines
  }
  return {
    level,
    redact: { paths: LOG_REDACT, censor: '[REDACTED]' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss' } } } : {}),
  };
}

export class ListenError extends Error {
  constructor(
    message: string,
    override readonly cause: unknown,
  ) {
    super(message);
    this.name = 'ListenError';
  }
}

export interface StartedServer {
  runtime: Runtime;
  address: string;
  /** Resolves once the server has shut down (after a signal or `close()`). */
  closed: Promise<void>;
  close(): Promise<void>;
}

export async function startServer(config: Readonly<RuntimeConfig>): Promise<StartedServer> {
  const tracing = startTracing(config.server.instanceId ? { instanceId: config.server.instanceId } : {});
  let runtime: Runtime;
  try {
    runtime = await createRuntime(config, { logger: loggerOptions(config.log.level) });
  } catch (err) {
    await tracing.shutdown();
    throw err;
  }
  const log = runtime.app.log;
  if (config.auth.mode === 'insecure-none') {
    log.warn(
      'authentication is OFF (auth.mode=insecure-none): any caller may act as any agent; never use this beyond a laptop',
    );
  } else if (runtime.identities.size === 0) {
    log.warn('no agent identities are configured: every /v1 request will be refused with 401');
  }
  if (!config.trace.hmacKey && config.store.kind === 'postgres') {
    log.warn(
      'trace.hmacKey is not set: redaction hashes differ between replicas and restarts (set CRA_TRACE_HMAC_KEY)',
    );
  }
  for (const p of runtime.problems()) log.warn({ source: p.source, path: p.path }, p.message);
  let address: string;
  try {
    address = await runtime.app.listen({ host: config.server.host, port: config.server.port });
  } catch (err) {
    await runtime.close().catch(() => undefined);
    await tracing.shutdown();
    throw new ListenError(`cannot listen on ${config.server.host}:${config.server.port}`, err);
  }
  const bundle = runtime.cra.bundles.current;
  log.info(
    { address, bundle_version: bundle.version, atlases: bundle.atlases.map((a) => a.atlas.ref) },
    'cra runtime listening',
  );
  let shutdown: Promise<void> | undefined;
  const stop = (): Promise<void> =>
    (shutdown ??= (async () => {
      await runtime.close();
      await tracing.shutdown();
    })());
  const grace = closeWithGrace(
    { delay: config.server.shutdownGraceMs, logger: { error: (message: unknown) => log.error(message) } },
    async ({ signal, err }) => {
      if (err) log.error({ err }, 'shutting down after an uncaught error');
      else log.info({ signal }, 'shutting down');
      await stop();
    },
  );
  const closed = new Promise<void>((done) => runtime.app.server.once('close', () => done()));
  return {
    runtime,
    address,
    closed: closed.then(() => shutdown ?? Promise.resolve()),
    async close() {
      grace.uninstall();
      await stop();
    },
  };
}
