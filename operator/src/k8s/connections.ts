/**
 * Connection reuse for @kubernetes/client-node 2.x. Its KubeConfig builds a new undici Agent for
 * every request when TLS options are set (always, against a real apiserver), so each API call
 * pays a TCP and TLS handshake and leaves its connection to idle out. `reuseConnections` makes a
 * KubeConfig hand out one keep-alive Agent per cluster and TLS setup instead; when the TLS setup
 * changes (rotated client certificate or CA), the previous Agent finishes its requests and closes.
 */
import { createHash } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';

type CreateDispatcher = (cluster: unknown, agentOptions: unknown) => unknown;
interface Closable {
  close(): Promise<void>;
}

const PATCHED = Symbol('cra.reuseConnections');

export function reuseConnections(kubeConfig: KubeConfig): KubeConfig {
  const target = kubeConfig as unknown as Record<string | symbol, unknown> & {
    createDispatcher: CreateDispatcher;
    createDispatcherOptions(cluster: unknown, agentOptions: unknown): unknown;
  };
  if (target[PATCHED] || typeof target.createDispatcher !== 'function') return kubeConfig;
  const build = target.createDispatcher.bind(kubeConfig);
  const current = new Map<string, { key: string; dispatcher: unknown }>();
  target.createDispatcher = (cluster, agentOptions) => {
    const options = target.createDispatcherOptions(cluster, agentOptions);
    const key = createHash('sha256').update(JSON.stringify(options)).digest('hex');
    const name = (cluster as { name?: string } | null)?.name ?? '';
    const held = current.get(name);
    if (held?.key === key) return held.dispatcher;
    const dispatcher = build(cluster, agentOptions);
    if (dispatcher === undefined) return undefined;
    current.set(name, { key, dispatcher });
    void (held?.dispatcher as Closable | undefined)?.close().catch(() => undefined);
    return dispatcher;
  };
  target[PATCHED] = true;
  return kubeConfig;
}
