/**
 * The runtime bundle from the Kubernetes API: the operator publishes it in ConfigMaps labelled
 * `cra.dev/bundle=<name>` (one, or a manifest and chunks — core's bundle transport); this source
 * watches them and hands every complete, valid version to `onBundle`. Watching the API, not a
 * mounted volume, keeps apply-to-served latency at seconds (kubelet volume sync takes up to a
 * minute). A bad or half-written version is reported and the last good bundle keeps serving.
 */
import { CoreV1Api, KubeConfig, makeInformer, type V1ConfigMap } from '@kubernetes/client-node';
import { decodeBundle, validateBundle, type RuntimeBundle } from '@cra/core';
import type { SourceProblem } from './local-sources.js';

export const BUNDLE_LABEL = 'cra.dev/bundle';

export interface KubeBundleSourceOptions {
  namespace: string;
  name: string;
  /** Default: in-cluster service account, else KUBECONFIG / ~/.kube/config. */
  kubeConfig?: KubeConfig;
  onBundle(bundle: RuntimeBundle): void;
  onProblem(problems: SourceProblem[]): void;
  /** Delay before restarting a failed watch. */
  restartDelayMs?: number;
}

export interface KubeBundleSource {
  /** Resolves with the first complete bundle, or undefined after `timeoutMs`. */
  first(timeoutMs: number): Promise<RuntimeBundle | undefined>;
  stop(): Promise<void>;
}

export function defaultKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  return kc;
}

export async function watchBundleConfigMaps(options: KubeBundleSourceOptions): Promise<KubeBundleSource> {
  const kc = options.kubeConfig ?? defaultKubeConfig();
  const api = kc.makeApiClient(CoreV1Api);
  const selector = `${BUNDLE_LABEL}=${options.name}`;
  const informer = makeInformer<V1ConfigMap>(
    kc,
    `/api/v1/namespaces/${options.namespace}/configmaps`,
    () => api.listNamespacedConfigMap({ namespace: options.namespace, labelSelector: selector }),
    selector,
  );
  const source = `configmap ${options.namespace}/${options.name}`;
  let current: RuntimeBundle | undefined;
  let stopped = false;
  const waiters: ((b: RuntimeBundle) => void)[] = [];

  const evaluate = (): void => {
    const main = informer.get(options.name, options.namespace);
    if (!main) return;
    const result = decodeBundle(main, (n) => informer.get(`${options.name}-${n}`, options.namespace));
    if (!result.ok) {
      if (result.reason === 'invalid') options.onProblem([{ source, path: '', message: result.message }]);
      return; // incomplete: an update is still being written
    }
    const errors = validateBundle(result.bundle);
    if (errors.length > 0) {
      options.onProblem(errors.map((e) => ({ source, path: e.path, message: e.message })));
      return;
    }
    const bundle = result.bundle as RuntimeBundle;
    if (bundle.contentHash === current?.contentHash) return;
    current = bundle;
    options.onBundle(bundle);
    for (const resolve of waiters.splice(0)) resolve(bundle);
  };
  for (const verb of ['add', 'update', 'delete'] as const) informer.on(verb, evaluate);
  informer.on('error', () => {
    // client-node stops an informer on errors other than a timeout or 410: restart it.
    if (stopped) return;
    setTimeout(() => {
      if (!stopped) informer.start().catch(() => undefined);
    }, options.restartDelayMs ?? 2_000).unref();
  });
  await informer.start();
  evaluate();

  return {
    first: (timeoutMs) =>
      current
        ? Promise.resolve(current)
        : new Promise((resolve) => {
            const timer = setTimeout(() => resolve(undefined), timeoutMs);
            timer.unref();
            waiters.push((b) => {
              clearTimeout(timer);
              resolve(b);
            });
          }),
    async stop() {
      stopped = true;
      await informer.stop();
    },
  };
}
