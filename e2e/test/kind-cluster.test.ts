// The e2e suite against a real cluster with kubelets (`make kind-e2e`, scripts/kind-e2e.sh: kind,
// the image built with Docker, the chart installed, the reference atlases applied). Skipped unless
// CRA_KIND_E2E=1; the script sets it with KUBECONFIG, CRA_NAMESPACE, and CRA_URL / CRA_API_KEY of a
// port-forward to the runtime Service. Not run in CI (no Docker there).
import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { pollUntil } from '../harness/process.js';

const enabled = process.env['CRA_KIND_E2E'] === '1';
const NS = process.env['CRA_NAMESPACE'] ?? 'cra-system';
const ATLAS_NS = process.env['CRA_ATLAS_NAMESPACE'] ?? 'default';
const URL_ = process.env['CRA_URL'] ?? 'http://127.0.0.1:18080';
const KEY = process.env['CRA_API_KEY'] ?? '';
const REFERENCE = ['cluster-ops', 'customer-support', 'github-ops'];
const GROUP = { group: 'cra.dev', version: 'v1alpha1' };

/** Polls until `probe` answers something truthy (180_000 ms by default, every 1000 ms). */
const eventually = <T>(probe: () => Promise<T | undefined | false | null>, what: string, timeoutMs = 180_000) =>
  pollUntil(probe, what, { timeoutMs, intervalMs: 1000 });

describe.skipIf(!enabled)('CRA on a kind cluster (make kind-e2e)', () => {
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let custom: CustomObjectsApi;
  let coordination: CoordinationV1Api;
  beforeAll(() => {
    const kc = new KubeConfig();
    kc.loadFromDefault(); // KUBECONFIG of the kind cluster
    core = kc.makeApiClient(CoreV1Api);
    apps = kc.makeApiClient(AppsV1Api);
    custom = kc.makeApiClient(CustomObjectsApi);
    coordination = kc.makeApiClient(CoordinationV1Api);
  });

  const atlas = (name: string) =>
    custom.getNamespacedCustomObject({ ...GROUP, namespace: ATLAS_NS, plural: 'atlases', name }) as Promise<{
      metadata: { generation: number };
      spec: { version: string };
      status?: { observedGeneration?: number; conditions?: { type: string; status: string }[] };
    }>;
  const bumpVersion = (name: string, version: string) =>
    custom.patchNamespacedCustomObject(
      { ...GROUP, namespace: ATLAS_NS, plural: 'atlases', name, body: { spec: { version } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  const readyz = async () =>
    (await (await fetch(`${URL_}/readyz`)).json()) as { status: string; bundle: { version: string; atlases: number } };

  it('runs two operator replicas, exactly one of them holding the Lease', async () => {
    const d = await apps.readNamespacedDeployment({ namespace: NS, name: 'cra-operator' });
    expect(d.status?.readyReplicas).toBe(2);
    const lease = await coordination.readNamespacedLease({ namespace: NS, name: 'cra-operator' });
    const pods = await core.listNamespacedPod({ namespace: NS, labelSelector: 'app.kubernetes.io/component=operator' });
    const names = pods.items.map((p) => p.metadata!.name!);
    expect(names.some((n) => lease.spec?.holderIdentity?.startsWith(`${n}_`))).toBe(true);
  });

  it.each(REFERENCE)('Atlas %s is Ready for its current generation', async (name) => {
    await eventually(async () => {
      const a = await atlas(name);
      return (
        a.status?.observedGeneration === a.metadata.generation &&
        a.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
      );
    }, `Atlas ${name} Ready`);
  });

  it('the runtime pods serve the bundle the operator published', async () => {
    const d = await apps.readNamespacedDeployment({ namespace: NS, name: 'cra-runtime' });
    expect(d.status?.availableReplicas).toBeGreaterThanOrEqual(1);
    const cm = await core.readNamespacedConfigMap({ namespace: NS, name: 'cra-runtime-bundle' });
    const published = cm.metadata?.annotations?.['cra.dev/bundle-version'];
    const r = await eventually(async () => {
      const x = await readyz();
      return x.bundle.version === published ? x : undefined;
    }, 'runtime serving the published bundle');
    expect(r.bundle.atlases).toBe(REFERENCE.length);
  });

  it('resolves for an authenticated agent', async () => {
    const response = await fetch(`${URL_}/v1/resolve`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        carp_version: '1.0',
        request_id: uuid7(),
        timestamp: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z'),
        operation: 'resolve',
        requester: { agent_id: 'kind-e2e-agent', agent_type: 'e2e', session_id: uuid7() },
        task: { goal: 'Open an issue about the login crash', risk_tier: 'low' },
      }),
    });
    expect(response.status, await response.clone().text()).toBe(200);
    const body = (await response.json()) as { resolution_id: string };
    expect(body.resolution_id).toBeTruthy();
  });

  it('a new Atlas version reaches the runtime without a restart', async () => {
    const before = await readyz();
    const current = await atlas('github-ops');
    const [major, minor] = current.spec.version.split('.').map(Number) as [number, number];
    await bumpVersion('github-ops', `${major}.${minor + 1}.0`);
    await eventually(
      async () => (await readyz()).bundle.version !== before.bundle.version,
      'a new bundle version served',
    );
  });

  it('survives losing the leader: another replica takes the Lease and publishes', async () => {
    const lease = await coordination.readNamespacedLease({ namespace: NS, name: 'cra-operator' });
    const holder = lease.spec!.holderIdentity!;
    const pod = holder.slice(0, holder.lastIndexOf('_'));
    await core.deleteNamespacedPod({ namespace: NS, name: pod });
    await eventually(
      async () => {
        const l = await coordination.readNamespacedLease({ namespace: NS, name: 'cra-operator' });
        return l.spec?.holderIdentity && !l.spec.holderIdentity.startsWith(`${pod}_`);
      },
      'a new leader',
      120_000,
    );
    const before = await readyz();
    const current = await atlas('customer-support');
    const [major, minor] = current.spec.version.split('.').map(Number) as [number, number];
    await bumpVersion('customer-support', `${major}.${minor + 1}.0`);
    await eventually(
      async () => (await readyz()).bundle.version !== before.bundle.version,
      'the new leader publishing',
    );
  });
});

function uuid7(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  const t = Date.now();
  for (let i = 0; i < 6; i++) b[i] = Math.floor(t / 2 ** (8 * (5 - i))) & 0xff;
  b[6] = 0x70 | (b[6]! & 0x0f);
  b[8] = 0x80 | (b[8]! & 0x3f);
  const h = [...b].map((x) => x.toString(16).padStart(2, '0')).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
