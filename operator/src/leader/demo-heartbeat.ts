/**
 * The demo's guarded work: while `signal` is not aborted, PUT a ConfigMap on the resourceVersion last
 * seen, stamped with the writer's identity and a counter, every `intervalMs`. Each successful write is
 * reported with its wall-clock start and end so overlapping leaders would show.
 */
import { ApiException, type CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import { sleep, systemElectionClock } from './clock.js';
import { abortOptions } from './lease-lock.js';

/** Annotations on the heartbeat ConfigMap. */
export const DEMO_WRITER_ANNOTATION = 'leader-demo.cra.dev/writer';
export const DEMO_COUNTER_ANNOTATION = 'leader-demo.cra.dev/counter';

export interface HeartbeatOptions {
  core: Pick<CoreV1Api, 'readNamespacedConfigMap' | 'createNamespacedConfigMap' | 'replaceNamespacedConfigMap'>;
  namespace: string;
  name: string;
  identity: string;
  intervalMs: number;
  /** Reports `write` {counter, rv, start}, `write_failed` and `heartbeat_stopped`. */
  emit: (event: string, fields?: Record<string, unknown>) => void;
  signal: AbortSignal;
}

export async function heartbeat(options: HeartbeatOptions): Promise<void> {
  const { core, namespace, name, identity, emit, signal } = options;
  let cached: V1ConfigMap | undefined;
  let counter = 0;
  while (!signal.aborted) {
    try {
      if (cached === undefined) {
        cached = await core
          .readNamespacedConfigMap({ name, namespace }, abortOptions(signal))
          .catch((error: unknown) => {
            if (error instanceof ApiException && error.code === 404) return undefined;
            throw error;
          });
      }
      if (signal.aborted) break;
      counter += 1;
      const annotations = {
        ...cached?.metadata?.annotations,
        [DEMO_WRITER_ANNOTATION]: identity,
        [DEMO_COUNTER_ANNOTATION]: String(counter),
      };
      const start = Date.now();
      const written =
        cached === undefined
          ? await core.createNamespacedConfigMap(
              { namespace, body: { metadata: { name, annotations } } },
              abortOptions(signal),
            )
          : await core.replaceNamespacedConfigMap(
              { name, namespace, body: { ...cached, metadata: { ...cached.metadata, annotations } } },
              abortOptions(signal),
            );
      cached = written;
      emit('write', { counter, rv: written.metadata?.resourceVersion, start });
    } catch (error) {
      cached = undefined; // re-read on the next tick (409: someone else wrote it; 404: deleted)
      emit('write_failed', {
        ...(error instanceof ApiException ? { status: error.code } : {}),
        aborted: signal.aborted,
        err: error instanceof Error ? (error.message.split('\n')[0] ?? '') : String(error),
      });
    }
    await sleep(systemElectionClock, options.intervalMs, signal);
  }
  emit('heartbeat_stopped', { writes: counter });
}
