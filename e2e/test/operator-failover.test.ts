/**
 * Two real operator processes with Lease leader election against a real kube-apiserver: exactly
 * one reconciles; when it is SIGKILLed the standby takes the Lease and carries on publishing —
 * an Atlas changed after the crash reaches the bundle ConfigMap and gets its status.
 */
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
} from '@kubernetes/client-node';
import { decodeBundle } from '@cra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { controlPlaneBinariesAvailable, startControlPlane, type ControlPlane } from '../harness/control-plane.js';
import { referenceAtlasResource } from '../harness/cra-resources.js';
import { startOperatorProcess, type OperatorProcess } from '../harness/operator-process.js';
import { REPO_ROOT } from '../harness/runtime-process.js';
import { waitUntil } from '../harness/process.js';

const required = process.env.CRA_REQUIRE_CONTROL_PLANE === '1';
const GROUP = { group: 'cra.dev', version: 'v1alpha1' };
const SYSTEM = 'cra-system';
const LEASE = 'cra-operator';

describe.skipIf(!controlPlaneBinariesAvailable() && !required)('operator failover', () => {
  let cp: ControlPlane;
  let team: string;
  const operators = new Map<string, OperatorProcess>();

  beforeAll(async () => {
    cp = await startControlPlane({ crdDirectories: [`${REPO_ROOT}crds`] });
    await cp.kubeConfig.makeApiClient(CoreV1Api).createNamespace({ body: { metadata: { name: SYSTEM } } });
    team = await cp.createNamespace('team');
    await cp.kubeConfig.makeApiClient(CustomObjectsApi).createNamespacedCustomObject({
      ...GROUP,
      namespace: team,
      plural: 'atlases',
      body: await referenceAtlasResource('github-ops', { namespace: team }),
    });
    const started = await Promise.all(
      ['op-a', 'op-b'].map((identity) =>
        startOperatorProcess({
          name: identity,
          kubeconfigPath: cp.kubeconfigPath,
          env: {
            CRA_OPERATOR_NAMESPACE: SYSTEM,
            CRA_OPERATOR_IDENTITY: identity,
            CRA_LEADER_ELECTION: 'true',
            CRA_LEASE_DURATION_MS: '3000',
            CRA_RENEW_DEADLINE_MS: '2000',
            CRA_RETRY_PERIOD_MS: '500',
            CRA_LOG_LEVEL: 'warn',
          },
        }),
      ),
    );
    operators.set('op-a', started[0]!);
    operators.set('op-b', started[1]!);
  }, 240_000);

  afterAll(async () => {
    await Promise.all([...operators.values()].map((o) => o.stop()));
    await cp?.stop();
  });

  const holder = async (): Promise<string | undefined> => {
    const lease = await cp.kubeConfig
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ name: LEASE, namespace: SYSTEM })
      .catch(() => undefined);
    return lease?.spec?.holderIdentity ?? undefined;
  };
  const leading = async (o: OperatorProcess): Promise<boolean> => {
    const body = (await (await fetch(`${o.url}/readyz`)).json()) as { leader?: boolean };
    return body.leader === true;
  };
  const servedVersions = async (): Promise<string[]> => {
    const cm = await cp.kubeConfig
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ name: 'cra-runtime-bundle', namespace: SYSTEM })
      .catch(() => undefined);
    if (!cm) return [];
    const decoded = decodeBundle(cm, () => undefined);
    if (!decoded.ok) return [];
    return (decoded.bundle as { atlases: { spec: { version: string } }[] }).atlases.map((a) => a.spec.version);
  };
  const atlasStatus = async (): Promise<{ observedGeneration?: number; conditions?: { status: string }[] }> => {
    const o = (await cp.kubeConfig
      .makeApiClient(CustomObjectsApi)
      .getNamespacedCustomObject({ ...GROUP, namespace: team, plural: 'atlases', name: 'github-ops' })) as {
      status?: { observedGeneration?: number; conditions?: { status: string }[] };
    };
    return o.status ?? {};
  };

  it('has exactly one leader, which publishes; after it is killed the standby takes over and keeps publishing', async () => {
    await waitUntil(async () => operators.has((await holder()) ?? ''), {
      description: 'a lease holder',
      timeoutMs: 20_000,
    });
    const first = (await holder())!;
    const standbyName = first === 'op-a' ? 'op-b' : 'op-a';
    const leader = operators.get(first)!;
    const standby = operators.get(standbyName)!;
    expect(await leading(leader)).toBe(true);
    expect(await leading(standby)).toBe(false);
    await waitUntil(async () => (await servedVersions()).includes('1.0.0'), {
      description: 'bundle with 1.0.0',
      timeoutMs: 20_000,
    });

    await leader.process.kill();
    operators.delete(first);
    await cp.kubeConfig
      .makeApiClient(CustomObjectsApi)
      .patchNamespacedCustomObject(
        { ...GROUP, namespace: team, plural: 'atlases', name: 'github-ops', body: { spec: { version: '1.1.0' } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );

    await waitUntil(async () => (await holder()) === standbyName, {
      description: 'standby holds the lease',
      timeoutMs: 20_000,
    });
    expect(await leading(standby)).toBe(true);
    await waitUntil(async () => (await servedVersions()).includes('1.1.0'), {
      description: 'bundle with 1.1.0 after failover',
      timeoutMs: 20_000,
    });
    expect(await servedVersions()).toEqual(['1.1.0']);
    await waitUntil(async () => (await atlasStatus()).observedGeneration === 2, {
      description: 'status observedGeneration 2 from the new leader',
      timeoutMs: 20_000,
    });
    expect((await atlasStatus()).conditions?.[0]?.status).toBe('True');
  }, 120_000);
});
