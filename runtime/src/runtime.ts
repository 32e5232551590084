/**
 * Wires one runtime process from its configuration: stores, bundle (local atlases or the
 * operator's bundle file) with live reload, identities, limiter, executors, redaction, the domain
 * and the HTTP app. `server.ts` adds the process concerns (signals, listen).
 */
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CraError,
  createRedactor,
  randomIds,
  systemClock,
  type Clock,
  type IdSource,
  type Principal,
  type RedactionRule,
  type Redactor,
  type RuntimeBundle,
  type TraceEvent,
} from '@cra/core';
import type { KubeConfig } from '@kubernetes/client-node';
import type { FastifyInstance, FastifyServerOptions } from 'fastify';
import { buildApp } from './app.js';
import { IdentityRegistry, principalOf, unauthenticatedPrincipal } from './auth/identities.js';
import { createJwtVerifier } from './auth/jwt.js';
import { EMPTY_BUNDLE } from './bundle/bundle-file.js';
import { buildLocalBundle, type SourceProblem } from './bundle/local-sources.js';
import { watchPaths } from './bundle/watch.js';
import { configForAudit } from './config/audit.js';
import type { RuntimeConfig } from './config/schema.js';
import { BundleHolder } from './domain/bundle-holder.js';
import { createCra, type Cra } from './domain/cra.js';
import type { ActionRunner } from './domain/execute.js';
import type { PayloadRedactor, SpanContext } from './domain/tracer.js';
import { createExecutorRegistry } from './executors/types.js';
import { createHttpExecutor } from './executors/http.js';
import { createMcpExecutor } from './executors/mcp.js';
import { createValueResolver } from './executors/values.js';
import { LocalRateLimiter } from './limits/local-limiter.js';
import type { RateLimiter } from './limits/types.js';
import { openPglite } from './store/embedded/pglite-client.js';
import { Outbox } from './store/postgres/outbox.js';
import { openPostgres } from './store/postgres/pg-client.js';
import { resilientStores } from './store/postgres/resilient.js';
import type { Stores } from './store/ports.js';
import { openRedisLayer } from './store/redis/layer.js';
import { createSqlStores } from './store/sql/stores.js';
import { loadSigningKey } from './auth/signing-key.js';
import { Checkpointer, type CheckpointerOptions, type CheckpointSink } from './domain/checkpoints.js';
import { checkpointDirectory } from './store/checkpoint-files.js';
import { Counters } from './telemetry/counters.js';
import { Metrics } from './telemetry/metrics.js';
import { COMPONENT, VERSION } from './version.js';

export interface Runtime {
  config: Readonly<RuntimeConfig>;
  app: FastifyInstance;
  cra: Cra;
  identities: IdentityRegistry;
  metrics: Metrics;
  /** Sign the changed session heads now (also done on an interval and at shutdown). */
  checkpoint(): Promise<string | undefined>;
  /** Problems found in the bundle sources at the last (re)load. */
  problems(): SourceProblem[];
  /** Rebuild the bundle from its sources now (also triggered by file changes). */
  reload(): Promise<{ changed: boolean; problems: SourceProblem[] }>;
  close(): Promise<void>;
}

export interface RuntimeOptions {
  logger?: FastifyServerOptions['logger'];
  ids?: IdSource;
  clock?: Clock;
  /** Inject stores (tests); default from config.store. */
  stores?: Stores;
  limiter?: RateLimiter;
  runner?: ActionRunner;
  env?: NodeJS.ProcessEnv;
  /** For bundleConfigMap (tests); default in-cluster or KUBECONFIG. */
  kubeConfig?: KubeConfig;
  /** How long to wait for the first bundle from the API at start (default 10 s). */
  bundleWaitMs?: number;
  /** Where the built trace viewer is (tests); default runtime/dist/ui. */
  uiRoot?: string;
}

async function hmacKeyFor(config: RuntimeConfig): Promise<string> {
  if (config.trace.hmacKey) return config.trace.hmacKey;
  if (config.store.kind !== 'embedded') return randomBytes(32).toString('hex');
  const file = join(config.dataDir, 'trace-hmac.key');
  try {
    return (await readFile(file, 'utf8')).trim();
  } catch {
    const key = randomBytes(32).toString('hex');
    await mkdir(config.dataDir, { recursive: true });
    await writeFile(file, `${key}\n`, { mode: 0o600 });
    return key;
  }
}

interface StoreHooks {
  /** Late-bound: events spooled during a Postgres outage reach subscribers when drained. */
  onDrained?: (events: TraceEvent[]) => void;
  log?: { warn(obj: object, msg: string): void; info(obj: object, msg: string): void };
}

async function openStores(config: RuntimeConfig, hooks: StoreHooks): Promise<Stores> {
  switch (config.store.kind) {
    case 'memory':
      return createSqlStores(await openPglite());
    case 'embedded':
      return createSqlStores(await openPglite(join(config.dataDir, 'pg')));
    case 'postgres': {
      const client = openPostgres({ url: config.store.postgresUrl!, poolSize: config.store.poolSize });
      const base = await createSqlStores(client);
      const outbox = await Outbox.open(config.store.spoolDir ?? join(config.dataDir, 'spool'));
      return resilientStores(client, base, {
        outbox,
        mode: config.store.onUnavailable,
        durability: config.store.durability,
        onDrained: (events) => hooks.onDrained?.(events),
        ...(hooks.log ? { log: hooks.log } : {}),
      });
    }
  }
}

function payloadRedactor(hmacKey: string): PayloadRedactor {
  const base = createRedactor({ hmacKey });
  const byRules = new Map<string, Redactor>();
  const seen = new WeakMap<readonly RedactionRule[], Redactor>();
  const redactorFor = (rules: readonly RedactionRule[]): Redactor => {
    if (rules.length === 0) return base;
    let redactor = seen.get(rules);
    if (redactor) return redactor;
    const key = JSON.stringify(rules);
    redactor = byRules.get(key) ?? createRedactor({ hmacKey, rules });
    if (!byRules.has(key) && byRules.size < 256) byRules.set(key, redactor);
    seen.set(rules, redactor);
    return redactor;
  };
  return (payload, rules: readonly RedactionRule[]) => {
    const { value, redactions } = redactorFor(rules).redact(payload, 'payload');
    return { payload: value, redactions };
  };
}

export async function loadBundle(
  config: RuntimeConfig,
): Promise<{ bundle: RuntimeBundle; problems: SourceProblem[]; watch: string[] }> {
  if (config.bundleFile) {
    const { readBundleFile } = await import('./bundle/bundle-file.js');
    const { bundle, problems } = await readBundleFile(config.bundleFile);
    return { bundle, problems, watch: [config.bundleFile] };
  }
  const result = await buildLocalBundle({
    atlases: config.atlases,
    policies: config.policies,
    identities: config.identities,
    ...(config.secretsDir ? { secretsDir: config.secretsDir } : {}),
  });
  return {
    bundle: result.bundle,
    problems: result.problems,
    // The secrets directory too: a rotated API-key digest takes effect without a restart.
    watch: [
      ...result.atlasDirs,
      ...config.policies,
      ...config.identities,
      ...(config.secretsDir && config.identities.length > 0 ? [config.secretsDir] : []),
    ],
  };
}

export async function createRuntime(config: Readonly<RuntimeConfig>, options: RuntimeOptions = {}): Promise<Runtime> {
  const ids = options.ids ?? randomIds;
  const clock = options.clock ?? systemClock;
  const env = options.env ?? process.env;
  const instanceId = config.server.instanceId ?? env.HOSTNAME ?? hostname();

  // The operator's ConfigMap, watched through the API; its updates arrive before `apply` exists.
  let applyFromKube: (bundle: RuntimeBundle) => void = () => undefined;
  let kubeProblems: (problems: SourceProblem[]) => void = () => undefined;
  const kubeSource = config.bundleConfigMap
    ? await (async () => {
        const { watchBundleConfigMaps } = await import('./bundle/kube-source.js');
        const [namespace, name] = config.bundleConfigMap!.split('/') as [string, string];
        return watchBundleConfigMaps({
          namespace,
          name,
          ...(options.kubeConfig ? { kubeConfig: options.kubeConfig } : {}),
          onBundle: (bundle) => applyFromKube(bundle),
          onProblem: (p) => kubeProblems(p),
        });
      })()
    : undefined;
  const initial = kubeSource
    ? { bundle: (await kubeSource.first(options.bundleWaitMs ?? 10_000)) ?? EMPTY_BUNDLE, problems: [], watch: [] }
    : await loadBundle(config);
  let problems: SourceProblem[] = initial.problems;
  if (initial.bundle.atlases.length === 0 && !kubeSource) {
    const detail = problems.map((p) => `${p.source}${p.path ? ` ${p.path}` : ''}: ${p.message}`).join('\n  ');
    throw new Error(`no atlas could be loaded${detail ? `:\n  ${detail}` : ''}`);
  }
  const bundles = new BundleHolder(initial.bundle);
  const identities = new IdentityRegistry(initial.bundle);
  const storeHooks: StoreHooks = {};
  // With Redis: shared rate limits, resolutions, idempotency and resolution cache (every replica).
  const redisLayer = config.redis.url
    ? await openRedisLayer(config, { instanceId, now: () => clock.now() })
    : undefined;
  const baseStores = options.stores ?? (await openStores(config, storeHooks));
  const stores = redisLayer ? redisLayer.wrap(baseStores) : baseStores;
  const limiter = options.limiter ?? redisLayer?.limiter ?? new LocalRateLimiter(() => clock.now());
  const values = createValueResolver({ env, ...(config.secretsDir ? { secretsDir: config.secretsDir } : {}) });
  const mcpExecutor = createMcpExecutor({ values, clientInfo: { name: COMPONENT, version: VERSION } });
  const registry = createExecutorRegistry({
    http: createHttpExecutor({ values, userAgent: `${COMPONENT}/${VERSION}` }),
    mcp: mcpExecutor,
  });
  const runner: ActionRunner = options.runner ?? {
    run: async ({ action, parameters, timeoutMs, traceparent }) => {
      const config_ = action.executor!;
      return registry.executorFor(config_).execute({
        actionId: action.id,
        actionType: action.type,
        config: config_,
        parameters,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
        ...(traceparent ? { traceparent } : {}),
      });
    },
  };
  const counters = new Counters();
  const metrics = new Metrics(
    { version: VERSION, revision: env.CRA_REVISION ?? 'dev' },
    {
      approvalsPending: () => stores.approvals.countPending(),
      storeHealth: () => stores.health(),
      outboxPending: () => (stores as Partial<{ resilience: { pending: number } }>).resilience?.pending ?? 0,
      limiterMode: () => limiter.mode(),
    },
  );
  metrics.bundle(initial.bundle.version);
  const observer = {
    resolved: (decision: string, seconds: number, cacheHit: boolean) => {
      counters.resolved(decision, seconds, cacheHit);
      metrics.resolved(decision, seconds, cacheHit);
    },
    executed: (status: string, seconds: number) => {
      counters.executed(status, seconds);
      metrics.executed(status, seconds);
    },
    rateLimited: (scope: string) => {
      counters.rateLimited(scope);
      metrics.rateLimited(scope);
    },
  };
  const principalFor = (agentId: string): Principal => {
    const known = identities.byAgentId(agentId);
    if (known) return known;
    if (config.auth.mode === 'insecure-none') return unauthenticatedPrincipal(agentId);
    throw new CraError('NOT_FOUND', `agent ${agentId} has no identity`);
  };
  const cra = createCra({
    stores,
    bundles,
    limiter,
    runner,
    ids,
    clock,
    source: { component: COMPONENT, version: VERSION, instance_id: instanceId },
    redact: payloadRedactor(await hmacKeyFor(config)),
    defaults: config.resolver,
    principalFor,
    observer,
  });

  storeHooks.onDrained = (events) => cra.tracer.publish(events);
  const fanout = redisLayer?.fanout;
  if (fanout) cra.tracer.subscribe((events) => fanout.publish(events));
  const traceFeed = fanout
    ? {
        subscribe: (listener: (events: readonly TraceEvent[]) => void) => {
          const local = cra.tracer.subscribe(listener);
          const remote = fanout.subscribe(listener);
          return () => {
            remote();
            return local();
          };
        },
      }
    : undefined;
  cra.tracer.subscribe((events) => metrics.eventsStored(events));
  bundles.onSwap((next) => metrics.bundle(next.version));

  // System events (startup, bundle loads, shutdown) go to this instance's own session.
  const system = unauthenticatedPrincipal(`system:${instanceId}`);
  system.roles = ['admin'];
  const systemSpan = (): SpanContext => ({ trace_id: ids.traceId(), span_id: ids.spanId() });
  const systemSession = await cra.sessions.start(system, systemSpan(), { agentType: 'cra-runtime' });
  const systemEvent = (
    type:
      | 'system.startup'
      | 'system.shutdown'
      | 'system.config.loaded'
      | 'atlas.bundle.loaded'
      | 'atlas.bundle.rejected'
      | 'trace.checkpoint.signed',
    payload: Record<string, unknown>,
  ) =>
    cra.tracer.emit(systemSession.session_id, systemSpan(), [
      { type, severity: type === 'atlas.bundle.rejected' ? 'warn' : 'info', payload },
    ]);
  const bundleSummary = (b: RuntimeBundle) => ({
    bundle_version: b.version,
    content_hash: b.contentHash,
    atlases: b.atlases.map((a) => a.ref),
    policies: b.policies.length,
    identities: b.identities.length,
  });
  const checkpointer = await startCheckpoints(config, {
    instanceId,
    clock,
    onWritten: () => metrics.checkpointWritten(),
    record: (payload) => systemEvent('trace.checkpoint.signed', payload).then(() => undefined),
  });
  if (checkpointer) {
    cra.tracer.subscribe((events) => checkpointer.checkpointer.track(events));
    cra.traces.checkpoints = checkpointer.sink;
  }
  await systemEvent('system.startup', {
    instance_id: instanceId,
    version: VERSION,
    store: config.store.kind,
    auth: config.auth.mode,
  });
  const audited = configForAudit(config);
  await systemEvent('system.config.loaded', {
    instance_id: instanceId,
    config_sha256: audited.sha256,
    config: audited.config,
  });
  await systemEvent('atlas.bundle.loaded', bundleSummary(initial.bundle));
  if (problems.length > 0) await systemEvent('atlas.bundle.rejected', { problems });

  let closing = false;
  const app = await buildApp({
    ...(traceFeed ? { traceFeed } : {}),
    telemetry: {
      metrics,
      openMetrics: config.auth.openMetrics,
      serveMetrics: config.metrics.enabled,
      maxEventLoopDelayMs: config.load.maxEventLoopDelayMs,
      retryAfterSeconds: config.load.retryAfterSeconds,
    },
    cra,
    identities: () => identities,
    authMode: config.auth.mode,
    ...(config.auth.jwt.issuers.length > 0 ? { jwt: createJwtVerifier(config.auth.jwt.issuers) } : {}),
    counters,
    rateLimit: {
      limiter,
      limitFor: (principal) => identities.identity(principal.agentId)?.spec.rateLimit ?? config.rateLimit,
      onLimited: (scope) => observer.rateLimited(scope),
    },
    bodyLimitBytes: config.server.bodyLimitBytes,
    requestTimeoutMs: config.server.requestTimeoutMs,
    ...(options.logger !== undefined ? { logger: options.logger } : {}),
    ids,
    clock,
    lifecycle: { draining: () => closing },
    streaming: config.stream,
    ui: config.ui.enabled ? (options.uiRoot !== undefined ? { root: options.uiRoot } : {}) : false,
    ...(config.mcp.enabled
      ? {
          mcp: {
            sessions: config.mcp.sessions,
            allowedHosts: config.mcp.allowedHosts,
            allowedOrigins: config.mcp.allowedOrigins,
            idleTimeoutMs: config.mcp.idleTimeoutSeconds * 1000,
          },
        }
      : {}),
  });

  storeHooks.log = app.log;
  redisLayer?.attachLogger(app.log);

  /** Serves `next` atomically (bundle, identities, cache); false when it is the version served. */
  const apply = async (next: RuntimeBundle): Promise<boolean> => {
    const changed = bundles.swap(next);
    if (changed) {
      identities.load(next);
      await stores.resolutionCache.clear();
      await systemEvent('atlas.bundle.loaded', bundleSummary(next));
      app.log.info({ bundle_version: next.version }, 'bundle reloaded');
    }
    return changed;
  };
  const reload = async (): Promise<{ changed: boolean; problems: SourceProblem[] }> => {
    if (kubeSource) return { changed: false, problems }; // updates arrive by watch
    const next = await loadBundle(config);
    problems = next.problems;
    if (next.problems.length > 0) await systemEvent('atlas.bundle.rejected', { problems: next.problems });
    if (next.bundle.atlases.length === 0) return { changed: false, problems };
    return { changed: await apply(next.bundle), problems };
  };
  applyFromKube = (bundle) => {
    problems = [];
    apply(bundle).catch((err: unknown) =>
      app.log.error({ err }, 'bundle update failed; still serving the last good bundle'),
    );
  };
  kubeProblems = (found) => {
    problems = found;
    app.log.warn({ problems: found }, 'bundle ConfigMap rejected; still serving the last good bundle');
    systemEvent('atlas.bundle.rejected', { problems: found }).catch(() => undefined);
  };

  const stopWatching = config.watch
    ? watchPaths(initial.watch, () => {
        reload().catch((err: unknown) =>
          app.log.error({ err }, 'bundle reload failed; still serving the last good bundle'),
        );
      })
    : () => undefined;
  const sweeper = setInterval(() => {
    cra.approvals.expireDue().catch((err: unknown) => app.log.warn({ err }, 'approval sweep failed'));
  }, 5_000);
  sweeper.unref();

  return {
    config,
    app,
    cra,
    identities,
    metrics,
    checkpoint: async () => checkpointer?.checkpointer.checkpoint(),
    problems: () => problems,
    reload,
    async close() {
      if (closing) return;
      closing = true;
      stopWatching();
      await kubeSource?.stop();
      clearInterval(sweeper);
      await app.close();
      await mcpExecutor.close().catch(() => undefined);
      await systemEvent('system.shutdown', {
        instance_id: instanceId,
        trace_events_emitted: cra.tracer.eventsEmitted,
      }).catch(() => undefined);
      await cra.sessions.end(system, systemSpan(), systemSession.session_id, 'shutdown').catch(() => undefined);
      await checkpointer?.checkpointer.stop().catch(() => undefined);
      await limiter.close();
      await stores.close();
    },
  };
}

export { principalOf };

async function startCheckpoints(
  config: RuntimeConfig,
  deps: Pick<CheckpointerOptions, 'instanceId' | 'clock' | 'onWritten' | 'record'>,
): Promise<{ checkpointer: Checkpointer; sink: CheckpointSink } | undefined> {
  const settings = config.trace.checkpoint;
  // A throwaway in-memory store has nothing worth signing unless a directory is asked for.
  if (settings.intervalSeconds <= 0 || (config.store.kind === 'memory' && !settings.dir)) return undefined;
  const sink = checkpointDirectory(settings.dir ?? join(config.dataDir, 'checkpoints'));
  const key = await loadSigningKey(settings.signingKeyFile ?? join(config.dataDir, 'checkpoint-key.pem'), {
    create: settings.signingKeyFile === undefined,
  });
  await sink.publishKey(key.kid, key.publicJwk);
  const checkpointer = new Checkpointer({ sink, key, ...deps });
  checkpointer.start(settings.intervalSeconds);
  return { checkpointer, sink };
}
