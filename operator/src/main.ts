/**
 * `cra-operator`: configuration, logger, the operator, /healthz /readyz /metrics, graceful shutdown
 * (stop reconciling, release the Lease, stop watching) on SIGTERM/SIGINT.
 */
import { pino } from 'pino';
import { loadOperatorConfig, OperatorConfigError } from './config.js';
import { Operator } from './operator.js';
import { startHttp } from './server.js';

export async function main(env: NodeJS.ProcessEnv = process.env): Promise<number> {
  let config;
  try {
    config = loadOperatorConfig(env);
  } catch (err) {
    if (err instanceof OperatorConfigError) {
      process.stderr.write(`${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const log = pino({ level: config.logLevel, base: { component: 'cra-operator', identity: config.identity } });
  const operator = new Operator({ config, logger: log });
  const http = await startHttp(config.httpPort, operator.metrics.registry, {
    ready: () => operator.ready,
    healthy: () => operator.healthy(),
    detail: () => ({ leader: operator.isLeader, queue_depth: operator.queue.length }),
  });
  await operator.start();
  log.info(
    { namespace: config.namespace, watch: config.watchNamespaces.length > 0 ? config.watchNamespaces : 'all' },
    'cra operator started',
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log.info({ signal }, 'shutting down');
      const force = setTimeout(() => process.exit(1), 20_000);
      force.unref();
      operator
        .stop()
        .catch((err: unknown) => log.error({ err }, 'shutdown failed'))
        .finally(() => http.close(() => resolve()));
    };
    process.once('SIGTERM', () => stop('SIGTERM'));
    process.once('SIGINT', () => stop('SIGINT'));
  });
  return 0;
}
