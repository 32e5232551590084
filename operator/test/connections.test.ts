// Connection reuse against a real kube-apiserver: the operator's clients make many API calls over
// a couple of TLS connections (counted by a TCP relay in front of the apiserver), and a changed
// TLS setup gets a fresh Agent while the old one is closed.
import { createServer, connect, type Server, type Socket } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneBinariesAvailable, startControlPlane, type ControlPlane } from '../../e2e/harness/index.js';
import { clients } from '../src/k8s/clients.js';
import { reuseConnections } from '../src/k8s/connections.js';

const required = (process.env['CRA_REQUIRE_CONTROL_PLANE'] ?? '') !== '';
const skip = !controlPlaneBinariesAvailable() && process.env['USE_EXISTING_CLUSTER'] !== 'true' && !required;

/** A TCP relay to `target` that counts the connections it accepts. */
async function relay(target: URL): Promise<{ port: number; connections: () => number; close(): Promise<void> }> {
  let accepted = 0;
  const open = new Set<Socket>();
  const server: Server = createServer((inbound) => {
    accepted++;
    open.add(inbound);
    inbound.on('close', () => open.delete(inbound));
    const outbound = connect(Number(target.port), target.hostname);
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('error', () => outbound.destroy());
    outbound.on('error', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as { port: number }).port,
    connections: () => accepted,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of open) socket.destroy();
      }),
  };
}

/** `kubeConfig` with its cluster's server pointed at 127.0.0.1:`port`. */
function via(kubeConfig: KubeConfig, port: number): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: kubeConfig.getClusters().map((c) => ({ ...c, server: `https://127.0.0.1:${port}` })),
    users: kubeConfig.getUsers(),
    contexts: kubeConfig.getContexts(),
    currentContext: kubeConfig.getCurrentContext(),
  });
  return kc;
}

describe.skipIf(skip)('API connections', () => {
  let cp: ControlPlane;
  beforeAll(async () => {
    cp = await startControlPlane();
  }, 120_000);
  afterAll(async () => {
    await cp?.stop();
  });

  it('are kept alive and reused across calls', async () => {
    const r = await relay(new URL(cp.server));
    try {
      const { core } = clients(via(cp.kubeConfig, r.port));
      for (let i = 0; i < 20; i++) await core.listNamespace();
      await Promise.all(Array.from({ length: 4 }, () => core.readNamespace({ name: 'default' })));
      // Sequential calls share one connection; the four concurrent ones may open up to four.
      expect(r.connections()).toBeLessThanOrEqual(4);
      expect(r.connections()).toBeGreaterThanOrEqual(1);
    } finally {
      await r.close();
    }
  });

  it('get a new Agent when the TLS setup changes, and the old one is closed', async () => {
    const kc = reuseConnections(via(cp.kubeConfig, 1));
    const create = (kc as unknown as { createDispatcher(c: unknown, o: unknown): { closed?: boolean } })
      .createDispatcher;
    const cluster = kc.getCurrentCluster();
    const first = create(cluster, { ca: 'first CA', rejectUnauthorized: true });
    expect(create(cluster, { ca: 'first CA', rejectUnauthorized: true })).toBe(first);
    const second = create(cluster, { ca: 'rotated CA', rejectUnauthorized: true });
    expect(second).not.toBe(first);
    await new Promise((resolve) => setImmediate(resolve));
    expect(first.closed).toBe(true);
    expect(second.closed).toBe(false);
    expect(reuseConnections(kc)).toBe(kc);
  });
});
