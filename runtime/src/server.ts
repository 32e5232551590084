/**
 * The process around a runtime: logger, listen, graceful shutdown on signals (stop accepting,
 * finish in-flight requests, flush, close stores) within a bounded time.
 */
import closeWithGrace from 'close-with-grace';
import pino from 'pino';
import type { RuntimeConfig } from './config/schema.js';
import { createRuntime, type Runtime } from './runtime.js';
import { startTracing } from './telemetry/tracing.js';

export const LOG_REDACT = [
  'req.headers.authorization',
  'req.headers["x-api-key"]',
  'req.headers.cookie',
  '*.token',
  '*.apiKey',
  '*.password',
];

export function createLogger(level: string): pino.Logger {
  return pino({
    level,
    redact: { paths: LOG_REDACT, censor: '[REDACTED]' },
    ...(process.stdout.isTTY
      ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss' } } }
      : {}),
  });
}

export interface StartedServer {
  runtime: Runtime;
  address: string;
  close(): Promise<void>;
}

export async function startServer(
  config: Readonly<RuntimeConfig>,
  logger = createLogger(config.log.level),
): Promise<StartedServer> {
  const tracing = startTracing(config.server.instanceId ? { instanceId: config.server.instanceId } : {});
  const runtime = await createRuntime(config, { logger: logger as never });
  if (config.auth.mode === 'insecure-none') {
    logger.warn(
      'authentication is OFF (auth.mode=insecure-none): any caller may act as any agent; never use this beyond a laptop',
    );
  } else if (runtime.identities.size === 0) {
    logger.warn('no agent identities are configured: every /v1 request will be refused with 401');
  }
  for (const p of runtime.problems()) logger.warn({ source: p.source, path: p.path }, p.message);
  const address = await runtime.app.listen({ host: config.server.host, port: config.server.port });
  logger.info(
    {
      address,
      bundle_version: runtime.cra.bundles.current.version,
      atlases: runtime.cra.bundles.current.atlases.map((a) => a.atlas.ref),
    },
    'cra runtime listening',
  );
  const grace = closeWithGrace({ delay: config.server.shutdownGraceMs }, async ({ signal, err }) => {
    if (err) logger.error({ err }, 'shutting down after an uncaught error');
    else logger.info({ signal }, 'shutting down');
    await runtime.close();
    await tracing.shutdown();
  });
  return {
    runtime,
    address,
    async close() {
      grace.uninstall();
      await runtime.close();
      await tracing.shutdown();
    },
  };
}
