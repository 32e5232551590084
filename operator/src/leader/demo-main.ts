/**
 * A runnable leader election demo (and the fixture of operator/test/leader-election.test.ts): one
 * elector per OS process on a Lease, which, while it leads, rewrites a heartbeat ConfigMap every
 * 200 ms — each write a PUT on the resourceVersion it last saw, stamped with its identity and a
 * counter, and only while its leadership signal is not aborted. Every step is a JSON line on stdout:
 *
 *   {"event":"started_leading","identity":"…","at":1732479000000}
 *   {"event":"write","identity":"…","counter":7,"rv":"1234","start":…,"at":…}
 *   {"event":"stopped_leading","identity":"…","reason":"lost","released":false,"at":…}
 *
 * Run: KUBECONFIG=… CRA_LEADER_NAMESPACE=default node --import tsx operator/src/leader/demo-main.ts
 * Environment: CRA_LEADER_NAMESPACE (required), CRA_LEADER_NAME (cra-operator), CRA_LEADER_IDENTITY
 * (hostname_uuid), CRA_LEADER_LEASE_DURATION_MS / _RENEW_DEADLINE_MS / _RETRY_PERIOD_MS (15000 / 10000 /
 * 2000), CRA_LEADER_RELEASE_ON_CANCEL (true), CRA_LEADER_ON_LOSS (`exit`, the operator's behaviour, or
 * `continue`: stay up without leading), CRA_DEMO_CONFIGMAP (leader-writes), CRA_DEMO_INTERVAL_MS (200),
 * CRA_DEMO_EVENTS (true: record LeaderElection Events). SIGTERM/SIGINT stop gracefully (release) and exit 0.
 */
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import { resolveLeaderElectionConfig } from './config.js';
import { LeaderElector, type StoppedLeadingInfo } from './elector.js';
import { leaseEventRecorder } from './events.js';
import { exitOnLeadershipLost } from './exit.js';
import { LeaseLock } from './lease-lock.js';
import { heartbeat } from './demo-heartbeat.js';

function numberFromEnv(name: string): number | undefined {
  const text = process.env[name];
  if (text === undefined || text === '') return undefined;
  const value = Number(text);
  if (!Number.isFinite(value)) throw new Error(`${name} must be a number (got ${JSON.stringify(text)})`);
  return value;
}

function booleanFromEnv(name: string, fallback: boolean): boolean {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  if (['true', '1'].includes(text)) return true;
  if (['false', '0'].includes(text)) return false;
  throw new Error(`${name} must be true or false (got ${JSON.stringify(text)})`);
}

function optional<T>(key: string, value: T | undefined): Record<string, T> {
  return value === undefined ? {} : { [key]: value };
}

async function main(): Promise<void> {
  const logger = pino({ base: null }, pino.destination({ dest: 1, sync: true }));
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromDefault();

  const config = resolveLeaderElectionConfig({
    namespace: process.env['CRA_LEADER_NAMESPACE'] ?? '',
    name: process.env['CRA_LEADER_NAME'] || 'cra-operator',
    ...optional('identity', process.env['CRA_LEADER_IDENTITY'] || undefined),
    ...optional('leaseDurationMs', numberFromEnv('CRA_LEADER_LEASE_DURATION_MS')),
    ...optional('renewDeadlineMs', numberFromEnv('CRA_LEADER_RENEW_DEADLINE_MS')),
    ...optional('retryPeriodMs', numberFromEnv('CRA_LEADER_RETRY_PERIOD_MS')),
    releaseOnCancel: booleanFromEnv('CRA_LEADER_RELEASE_ON_CANCEL', true),
  });
  const onLoss = process.env['CRA_LEADER_ON_LOSS'] || 'exit';
  if (onLoss !== 'exit' && onLoss !== 'continue') throw new Error('CRA_LEADER_ON_LOSS must be exit or continue');
  const configMap = process.env['CRA_DEMO_CONFIGMAP'] || 'leader-writes';
  const intervalMs = numberFromEnv('CRA_DEMO_INTERVAL_MS') ?? 200;
  const identity = config.identity;
  const emit = (event: string, fields: Record<string, unknown> = {}): void => {
    logger.info({ event, identity, ...fields, at: Date.now() });
  };

  const core = kubeConfig.makeApiClient(CoreV1Api);
  const { namespace } = config;

  const exitOnLoss = exitOnLeadershipLost({ logger });
  const elector = new LeaderElector({
    config,
    lock: LeaseLock.fromKubeConfig(kubeConfig, { namespace, name: config.name }),
    logger: logger.child({ src: 'elector' }, { level: process.env['CRA_DEMO_ELECTOR_LOG_LEVEL'] || 'warn' }),
    ...(booleanFromEnv('CRA_DEMO_EVENTS', true)
      ? {
          events: leaseEventRecorder(kubeConfig, {
            namespace,
            name: config.name,
            component: 'cra-leader-demo',
            logger,
          }),
        }
      : {}),
    callbacks: {
      onStartedLeading(signal) {
        emit('started_leading');
        return heartbeat({ core, namespace, name: configMap, identity, intervalMs, emit, signal });
      },
      onStoppedLeading(info: StoppedLeadingInfo) {
        emit('stopped_leading', { reason: info.reason, released: info.released });
        if (onLoss === 'exit') exitOnLoss(info);
      },
      onNewLeader(leader) {
        emit('new_leader', { leader });
      },
    },
  });

  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) return;
    stopping = true;
    emit('shutdown', { signal });
    void elector.stop().then(() => {
      emit('exit', { code: 0 });
      process.exit(0);
    });
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  emit('starting', {
    pid: process.pid,
    lease: `${namespace}/${config.name}`,
    leaseDurationMs: config.leaseDurationMs,
    renewDeadlineMs: config.renewDeadlineMs,
    retryPeriodMs: config.retryPeriodMs,
    onLoss,
  });
  await elector.run();
  if (!stopping && onLoss === 'continue') {
    emit('idle');
    setInterval(() => undefined, 60_000); // stay up, not leading, until signalled
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`leader demo failed: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(2);
});
