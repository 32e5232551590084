/**
 * The operator against a real kube-apiserver, running under a ServiceAccount with exactly the
 * RBAC of operator/src/rbac.ts: Atlas, Policy and AgentIdentity in, runtime bundle, status,
 * conditions, Events, finalizers and the runtime workload out.
 */
import { fileURLToPath } from 'node:url';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  RbacAuthorizationV1Api,
  setHeaderOptions,
  type KubeConfig,
} from '@kubernetes/client-node';
import { decodeBundle, type RuntimeBundle } from '@cra/core';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  controlPlaneBinariesAvailable,
  startControlPlane,
  type ControlPlane,
} from '../../e2e/harness/control-plane.js';
import { referenceAtlasResource } from '../../e2e/harness/cra-resources.js';
import { pollUntil } from '../../e2e/harness/process.js';
import { loadOperatorConfig } from '../src/config.js';
import { Operator } from '../src/operator.js';
import { policyRules } from '../src/rbac.js';

const repo = (p: string) => fileURLToPath(new URL(`../../${p}`, import.meta.url));
const required = process.env.CRA_REQUIRE_CONTROL_PLANE === '1';
const GROUP = { group: 'cra.dev', version: 'v1alpha1' };

/** Polls until `probe` answers something truthy (30_000 ms by default, every 150 ms). */
const eventually = <T>(probe: () => Promise<T | undefined | false | null>, what: string, timeoutMs = 30_000) =>
  pollUntil(probe, what, { timeoutMs, intervalMs: 150 });

describe.skipIf(!controlPlaneBinariesAvailable() && !required)('operator', () => {
  let cp: ControlPlane;
  let admin: { core: CoreV1Api; custom: CustomObjectsApi; apps: AppsV1Api };
  let operator: Operator;
  let operatorKube: KubeConfig;
  const system = 'cra-system';
  let team: string;

  const bundle = async (): Promise<RuntimeBundle | undefined> => {
    const main = await admin.core
      .readNamespacedConfigMap({ namespace: system, name: 'cra-runtime-bundle' })
      .catch(() => undefined);
    if (!main) return undefined;
    const chunks = new Map<number, { binaryData?: Record<string, string> }>();
    const list = await admin.core.listNamespacedConfigMap({
      namespace: system,
      labelSelector: 'cra.dev/bundle=cra-runtime-bundle',
    });
    for (const cm of list.items) {
      const m = /-(\d+)$/.exec(cm.metadata!.name!);
      if (m) chunks.set(Number(m[1]), cm as { binaryData?: Record<string, string> });
    }
    const r = decodeBundle(main as never, (n) => chunks.get(n));
    return r.ok ? (r.bundle as RuntimeBundle) : undefined;
  };

  const statusOf = async (plural: string, name: string) => {
    const o = (await admin.custom.getNamespacedCustomObject({ ...GROUP, namespace: team, plural, name })) as {
      metadata: { generation: number; finalizers?: string[] };
      status?: {
        observedGeneration?: number;
        conditions?: { type: string; status: string; reason: string; message: string }[];
        ref?: string;
        actions?: number;
        contextPacks?: number;
        rules?: number;
        apiKeyConfigured?: boolean;
      };
    };
    return o;
  };

  beforeAll(async () => {
    cp = await startControlPlane({ crdDirectories: [repo('crds')] });
    const kc = cp.kubeConfig;
    admin = {
      core: kc.makeApiClient(CoreV1Api),
      custom: kc.makeApiClient(CustomObjectsApi),
      apps: kc.makeApiClient(AppsV1Api),
    };
    await admin.core.createNamespace({ body: { metadata: { name: system } } });
    team = await cp.createNamespace('team');
    // The operator's own Deployment stands in as the owner of what it creates (no kubelet runs it).
    const owner = await admin.apps.createNamespacedDeployment({
      namespace: system,
      body: {
        metadata: { name: 'cra-operator', namespace: system },
        spec: {
          selector: { matchLabels: { app: 'cra-operator' } },
          template: {
            metadata: { labels: { app: 'cra-operator' } },
            spec: { containers: [{ name: 'operator', image: 'cra:test' }] },
          },
        },
      },
    });
    expect(owner.metadata?.uid).toBeDefined();

    // Exactly the chart's RBAC for the operator's ServiceAccount.
    const rbac = kc.makeApiClient(RbacAuthorizationV1Api);
    await admin.core.createNamespacedServiceAccount({
      namespace: system,
      body: { metadata: { name: 'cra-operator' } },
    });
    await rbac.createClusterRole({ body: { metadata: { name: 'cra-operator' }, rules: policyRules('watched') } });
    await rbac.createClusterRoleBinding({
      body: {
        metadata: { name: 'cra-operator' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'cra-operator' },
        subjects: [{ kind: 'ServiceAccount', name: 'cra-operator', namespace: system }],
      },
    });
    await rbac.createNamespacedRole({
      namespace: system,
      body: { metadata: { name: 'cra-operator' }, rules: policyRules('operator') },
    });
    await rbac.createNamespacedRoleBinding({
      namespace: system,
      body: {
        metadata: { name: 'cra-operator' },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cra-operator' },
        subjects: [{ kind: 'ServiceAccount', name: 'cra-operator', namespace: system }],
      },
    });
    operatorKube = cp.kubeConfigForToken(await cp.serviceAccountToken(system, 'cra-operator'), system);
    const config = loadOperatorConfig({
      CRA_OPERATOR_NAMESPACE: system,
      CRA_OPERATOR_DEPLOYMENT: 'cra-operator',
      CRA_OPERATOR_IDENTITY: 'test-operator',
      CRA_LEASE_DURATION_MS: '3000',
      CRA_RENEW_DEADLINE_MS: '2000',
      CRA_RETRY_PERIOD_MS: '500',
      CRA_LOG_LEVEL: 'silent',
      CRA_RESYNC_SECONDS: '1',
    });
    operator = new Operator({
      config: { ...config, runtime: { ...config.runtime, image: 'cra:test', replicas: 3 } },
      kubeConfig: operatorKube,
      logger: pino({ level: process.env.OPERATOR_TEST_LOG ?? 'silent' }),
      onLeadershipLost: () => undefined,
    });
    await operator.start();
  }, 180_000);

  afterAll(async () => {
    await operator?.stop();
    await cp?.stop();
  });

  it('publishes a valid Atlas into the bundle and reports Ready with observedGeneration, an Event and a finalizer', async () => {
    await admin.custom.createNamespacedCustomObject({
      ...GROUP,
      namespace: team,
      plural: 'atlases',
      body: await referenceAtlasResource('github-ops', { namespace: team }),
    });
    const o = await eventually(async () => {
      const s = await statusOf('atlases', 'github-ops');
      return s.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True') ? s : undefined;
    }, 'Atlas Ready');
    expect(o.status?.observedGeneration).toBe(o.metadata.generation);
    expect(o.status?.ref).toBe(`${team}/github-ops@1.0.0`);
    expect(o.status).toMatchObject({ actions: 5, contextPacks: 3 });
    expect(o.metadata.finalizers).toContain('cra.dev/bundle');
    const b = await eventually(bundle, 'bundle');
    expect(b.atlases.map((a) => a.ref)).toContain(`${team}/github-ops@1.0.0`);
    const events = await admin.core.listNamespacedEvent({ namespace: team });
    expect(events.items.some((e) => e.reason === 'Published' && e.involvedObject.name === 'github-ops')).toBe(true);
    const cm = await admin.core.readNamespacedConfigMap({ namespace: system, name: 'cra-runtime-bundle' });
    expect(cm.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'Deployment',
      name: 'cra-operator',
      controller: true,
    });
  });

  it('publishes a new version when the Atlas changes', async () => {
    // A merge patch of just the field (a merge patch with the whole spec would turn the nulls
    // some action examples carry into deletions).
    await admin.custom.patchNamespacedCustomObject(
      { ...GROUP, namespace: team, plural: 'atlases', name: 'github-ops', body: { spec: { version: '1.1.0' } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const b = await eventually(async () => {
      const x = await bundle();
      return x?.atlases.some((a) => a.ref === `${team}/github-ops@1.1.0`) ? x : undefined;
    }, 'bundle with 1.1.0');
    expect(b.atlases.some((a) => a.ref.endsWith('@1.0.0'))).toBe(false);
    // Status is written after the bundle is published: wait for it rather than race it.
    const s = await eventually(async () => {
      const x = await statusOf('atlases', 'github-ops');
      return x.status?.observedGeneration === x.metadata.generation ? x : undefined;
    }, 'status observes the new generation');
    expect(s.status?.conditions?.find((c) => c.type === 'Ready')).toMatchObject({
      status: 'True',
      reason: 'Published',
    });
  });

  it('marks an invalid Atlas Ready=False with the field, and keeps serving the others', async () => {
    const bad = await referenceAtlasResource('customer-support', { namespace: team });
    (bad.spec as { dependencies?: unknown }).dependencies = [{ atlas: 'does-not-exist', versionRange: '^1.0.0' }];
    await admin.custom.createNamespacedCustomObject({ ...GROUP, namespace: team, plural: 'atlases', body: bad });
    const s = await eventually(async () => {
      const x = await statusOf('atlases', 'customer-support');
      return x.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'False') ? x : undefined;
    }, 'not Ready');
    const ready = s.status!.conditions!.find((c) => c.type === 'Ready')!;
    expect(ready.reason).toBe('DependencyNotFound');
    expect(ready.message).toContain('/spec/dependencies');
    const b = await bundle();
    expect(b!.atlases.map((a) => a.name)).toEqual(['github-ops']);
    const events = await admin.core.listNamespacedEvent({ namespace: team });
    expect(events.items.some((e) => e.reason === 'Rejected' && e.type === 'Warning')).toBe(true);
  });

  it('puts AgentIdentity API-key digests from Secrets into the bundle and names a missing Secret', async () => {
    const digest = 'b'.repeat(64);
    await admin.core.createNamespacedSecret({
      namespace: team,
      body: { metadata: { name: 'bot-key' }, stringData: { digest } },
    });
    for (const [name, secret] of [
      ['bot', 'bot-key'],
      ['ghost', 'no-such-secret'],
    ] as const) {
      await admin.custom.createNamespacedCustomObject({
        ...GROUP,
        namespace: team,
        plural: 'agentidentities',
        body: {
          apiVersion: 'cra.dev/v1alpha1',
          kind: 'AgentIdentity',
          metadata: { name },
          spec: { agentId: name, roles: ['agent'], auth: { apiKeySecretRef: { name: secret, key: 'digest' } } },
        },
      });
    }
    const b = await eventually(async () => {
      const x = await bundle();
      return x?.identities.some((i) => i.spec.agentId === 'bot') ? x : undefined;
    }, 'identity in bundle');
    expect(b.identities.find((i) => i.spec.agentId === 'bot')!.apiKeyDigests).toEqual([digest]);
    const bot = await eventually(async () => {
      const x = await statusOf('agentidentities', 'bot');
      return x.status?.apiKeyConfigured ? x : undefined;
    }, 'bot apiKeyConfigured');
    expect(bot.status?.apiKeyConfigured).toBe(true);
    const ghost = await eventually(async () => {
      const x = await statusOf('agentidentities', 'ghost');
      return x.status?.conditions?.find((c) => c.status === 'False') ? x : undefined;
    }, 'ghost not ready');
    expect(ghost.status!.conditions![0]).toMatchObject({ reason: 'SecretNotFound' });

    // Rotating the key (a new digest in the same Secret) reaches the bundle at the next resync.
    const rotated = 'c'.repeat(64);
    await admin.core.replaceNamespacedSecret({
      namespace: team,
      name: 'bot-key',
      body: { metadata: { name: 'bot-key' }, stringData: { digest: rotated } },
    });
    const after = await eventually(async () => {
      const x = await bundle();
      return x?.identities.find((i) => i.spec.agentId === 'bot')?.apiKeyDigests?.[0] === rotated ? x : undefined;
    }, 'rotated digest in bundle');
    expect(after.identities.find((i) => i.spec.agentId === 'bot')!.apiKeyDigests).toEqual([rotated]);
  });

  it('removes a deleted Atlas from the bundle before its finalizer lets it go', async () => {
    await admin.custom.deleteNamespacedCustomObject({
      ...GROUP,
      namespace: team,
      plural: 'atlases',
      name: 'customer-support',
    });
    await eventually(async () => {
      const gone = await admin.custom
        .getNamespacedCustomObject({ ...GROUP, namespace: team, plural: 'atlases', name: 'customer-support' })
        .then(() => false)
        .catch((e: { code?: number }) => e.code === 404);
      return gone;
    }, 'atlas deleted');
  });

  it('manages the runtime workload: Deployment with config hash, Service, PDB, ServiceAccount and RBAC, all owned', async () => {
    const d = await eventually(
      () => admin.apps.readNamespacedDeployment({ namespace: system, name: 'cra-runtime' }).catch(() => undefined),
      'deployment',
    );
    expect(d.spec?.replicas).toBe(3);
    expect(d.spec?.template.metadata?.annotations?.['cra.dev/config-hash']).toMatch(/^[0-9a-f]{16}$/);
    const container = d.spec!.template.spec!.containers[0]!;
    expect(container.env).toContainEqual({ name: 'CRA_BUNDLE_CONFIGMAP', value: `${system}/cra-runtime-bundle` });
    expect(container.readinessProbe?.httpGet?.path).toBe('/readyz');
    expect(d.metadata?.ownerReferences?.[0]?.name).toBe('cra-operator');
    await admin.core.readNamespacedService({ namespace: system, name: 'cra-runtime' });
    await admin.core.readNamespacedServiceAccount({ namespace: system, name: 'cra-runtime' });
    const rbac = cp.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    await rbac.readNamespacedRole({ namespace: system, name: 'cra-runtime' });
    await rbac.readNamespacedRoleBinding({ namespace: system, name: 'cra-runtime' });
    // Drift is undone: scale by hand, the operator restores the configured replicas.
    await admin.apps.patchNamespacedDeployment(
      { namespace: system, name: 'cra-runtime', body: { spec: { replicas: 1 } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    await eventually(
      async () =>
        (await admin.apps.readNamespacedDeployment({ namespace: system, name: 'cra-runtime' })).spec?.replicas === 3,
      'replicas restored',
    );
    // A deleted Service comes back, and so does a deleted bundle ConfigMap (same version).
    await admin.core.deleteNamespacedService({ namespace: system, name: 'cra-runtime' });
    await eventually(
      () => admin.core.readNamespacedService({ namespace: system, name: 'cra-runtime' }).catch(() => undefined),
      'service recreated',
    );
    const published = await admin.core.readNamespacedConfigMap({ namespace: system, name: 'cra-runtime-bundle' });
    await admin.core.deleteNamespacedConfigMap({ namespace: system, name: 'cra-runtime-bundle' });
    const republished = await eventually(
      () =>
        admin.core.readNamespacedConfigMap({ namespace: system, name: 'cra-runtime-bundle' }).catch(() => undefined),
      'bundle ConfigMap republished',
    );
    expect(republished.metadata?.uid).not.toBe(published.metadata?.uid);
    expect(republished.metadata?.annotations?.['cra.dev/bundle-version']).toBe(
      published.metadata?.annotations?.['cra.dev/bundle-version'],
    );
  });

  it('exposes reconcile metrics and leadership', async () => {
    const text = await operator.metrics.registry.metrics();
    expect(text).toMatch(/cra_reconcile_total\{kind="bundle",result="success"\} [1-9]/);
    expect(text).toContain('cra_reconcile_duration_seconds_bucket');
    expect(text).toMatch(/cra_leader\{identity="test-operator"\} 1/);
    expect(text).toMatch(/^cra_workqueue_depth \d+$/m);
    expect(text).toMatch(/^cra_operator_bundle_info\{version="[0-9a-f]{12}"\} 1$/m);
    expect(text).toMatch(/^cra_resources\{kind="Atlas",ready="true"\} [1-9]/m);
    expect(text).toMatch(/^cra_resources\{kind="AgentIdentity",ready="false"\} [1-9]/m);
    expect(operator.isLeader).toBe(true);
  });
});
