// The chart installed for real into a real kube-apiserver (helm install, no --wait: no kubelet runs
// pods), then THE RBAC PROOF: the operator runs with exactly the configuration the installed
// Deployment gives it and authenticates as the chart's ServiceAccount (a TokenRequest token). It
// publishes the github-ops Atlas into the bundle ConfigMap, reports Ready, holds the Lease and
// creates the runtime workload — so the chart's RBAC is sufficient. Cutting one rule from the
// chart's Role (configmaps) turns the next publish into 403s and no new bundle — so the rule is
// needed; `helm upgrade` restores it, keeps the CRDs (and the resources in them), and publishing
// resumes. `helm uninstall` with crds.keep leaves the CRDs and the Atlas in place.
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { AppsV1Api, CoordinationV1Api, CoreV1Api, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHART_DIR, RawApi, helm, helmBinary, parseManifests, type Manifest } from '../harness/chart.js';
import { controlPlaneBinariesAvailable, startControlPlane, type ControlPlane } from '../harness/control-plane.js';
import { REPO_ROOT } from '../harness/runtime-process.js';
import { pollUntil } from '../harness/process.js';
import { Operator } from '../../operator/src/operator.js';
import { policyRules } from '../../operator/src/rbac.js';
import { operatorConfigFromChart } from './support/operator-config.js';
import { argoHealth, luaBinary } from './support/argo-health.js';

const required = Boolean(process.env['CRA_REQUIRE_CONTROL_PLANE']);
const available = controlPlaneBinariesAvailable() && helmBinary() !== undefined;
const NS = 'cra-system';
const RELEASE = 'cra';
/** The Argo CD health check of docs/guides/gitops.md, on the real objects (Lua). */
const checkArgo = luaBinary() !== undefined || required;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}
interface AtlasObject {
  metadata: { generation: number; uid: string };
  spec: { version: string };
  status?: { observedGeneration?: number; conditions?: Condition[] };
}

/** Polls until `probe` answers something truthy (60_000 ms by default, every 200 ms). */
const eventually = <T>(probe: () => Promise<T | undefined | false | null>, what: string, timeoutMs = 60_000) =>
  pollUntil(probe, what, { timeoutMs, intervalMs: 200 });

describe.skipIf(!available && !required)('the chart installed, and the operator under its RBAC', () => {
  let cp: ControlPlane;
  let api: RawApi;
  let core: CoreV1Api;
  let apps: AppsV1Api;
  let dir: string;
  let operator: Operator | undefined;
  const logs: string[] = [];
  let atlas: Manifest;
  const helmEnv = () => ({ KUBECONFIG: cp.kubeconfigPath });

  const readAtlas = async (): Promise<AtlasObject | undefined> => (await api.get(atlas)) as AtlasObject | undefined;
  const ready = (a: AtlasObject | undefined) =>
    a?.status?.conditions?.find((c) => c.type === 'Ready' && c.status === 'True') &&
    a.status.observedGeneration === a.metadata.generation
      ? a
      : undefined;
  const bundleVersionAnnotation = async () =>
    (await core.readNamespacedConfigMap({ namespace: NS, name: 'cra-runtime-bundle' })).metadata?.annotations?.[
      'cra.dev/bundle-version'
    ];
  const reconcileErrors = async (): Promise<number> => {
    const metric = await operator!.metrics.registry.getSingleMetric('cra_reconcile_total')?.get();
    return (metric?.values ?? []).filter((v) => v.labels['result'] === 'error').reduce((n, v) => n + v.value, 0);
  };

  beforeAll(async () => {
    cp = await startControlPlane();
    api = new RawApi(cp.kubeConfig);
    core = cp.kubeConfig.makeApiClient(CoreV1Api);
    apps = cp.kubeConfig.makeApiClient(AppsV1Api);
    dir = await mkdtemp(join(tmpdir(), 'cra-chart-install-'));
    const docs = parseManifests(await readFile(join(REPO_ROOT, 'atlases/github-ops/resource.yaml'), 'utf8'));
    atlas = docs.find((d) => d.kind === 'Atlas')!;
  }, 180_000);

  afterAll(async () => {
    await operator?.stop();
    await cp?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('helm install (no --wait) creates the CRDs, the operator and its RBAC', async () => {
    const result = await helm(['install', RELEASE, CHART_DIR, '--namespace', NS, '--create-namespace'], helmEnv());
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('STATUS: deployed');
    expect(result.stdout).toContain('kubectl -n cra-system rollout status deployment/cra-operator'); // NOTES.txt
    const d = await apps.readNamespacedDeployment({ namespace: NS, name: 'cra-operator' });
    expect(d.spec?.replicas).toBe(2);
    for (const name of ['atlases.cra.dev', 'policies.cra.dev', 'agentidentities.cra.dev']) {
      const crd = await api.get({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name },
      });
      expect(
        (crd as { metadata: { annotations: Record<string, string> } }).metadata.annotations['helm.sh/resource-policy'],
      ).toBe('keep');
    }
  });

  it('the operator, configured as the installed Deployment says and authenticated as its ServiceAccount, publishes an Atlas and reports Ready', async () => {
    const manifest = await helm(['get', 'manifest', RELEASE, '--namespace', NS], helmEnv());
    expect(manifest.code, manifest.stderr).toBe(0);
    const installed = parseManifests(manifest.stdout);
    const { config, env } = await operatorConfigFromChart(installed, NS, dir);
    expect(env['CRA_OPERATOR_DEPLOYMENT']).toBe('cra-operator');
    const token = await cp.serviceAccountToken(NS, 'cra-operator');
    const kubeConfig = cp.kubeConfigForToken(token, NS);
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString('utf8'));
        done();
      },
    });
    operator = new Operator({
      config: { ...config, logLevel: 'info' },
      kubeConfig,
      logger: pino({ level: 'info' }, sink),
      onLeadershipLost: () => undefined,
    });
    await operator.start();

    await api.apply(atlas);
    const a = await eventually(async () => ready(await readAtlas()), 'Atlas github-ops Ready');
    expect(a.status?.conditions?.find((c) => c.type === 'Ready')?.reason).toBe('Published');
    if (checkArgo) expect((await argoHealth(a)).status).toBe('Healthy');
    // The bundle ConfigMap, owned by the chart's operator Deployment (CRA_OPERATOR_DEPLOYMENT).
    const cm = await core.readNamespacedConfigMap({ namespace: NS, name: 'cra-runtime-bundle' });
    expect(cm.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'Deployment',
      name: 'cra-operator',
      controller: true,
    });
    // The Lease of the chart's leader election settings.
    const lease = await cp.kubeConfig
      .makeApiClient(CoordinationV1Api)
      .readNamespacedLease({ namespace: NS, name: 'cra-operator' });
    expect(lease.spec?.holderIdentity).toBe(config.identity);
    expect(lease.spec?.leaseDurationSeconds).toBe(15);
    expect(operator.isLeader).toBe(true);
    expect(logs.join('')).not.toMatch(/forbidden|\b403\b/i);
    expect(await reconcileErrors()).toBe(0);
  });

  it('the runtime workload the operator created follows the chart values', async () => {
    const d = await eventually(
      () => apps.readNamespacedDeployment({ namespace: NS, name: 'cra-runtime' }).catch(() => undefined),
      'runtime Deployment',
    );
    const c = d.spec!.template.spec!.containers[0]!;
    expect(c.image).toBe('ghcr.io/cra-dev/cra:1.0.0');
    expect(c.args).toEqual(['serve']);
    const env = Object.fromEntries((c.env ?? []).map((e) => [e.name, e.value]));
    expect(env).toMatchObject({
      CRA_BUNDLE_CONFIGMAP: `${NS}/cra-runtime-bundle`,
      CRA_DATA_DIR: '/var/lib/cra',
      CRA_LOG_LEVEL: 'info',
    });
    expect(d.metadata?.ownerReferences?.[0]?.name).toBe('cra-operator');
    expect(d.spec?.template.metadata?.labels).toMatchObject({
      'app.kubernetes.io/name': 'cra',
      'app.kubernetes.io/component': 'runtime',
    });
    await core.readNamespacedService({ namespace: NS, name: 'cra-runtime' });
    await core.readNamespacedServiceAccount({ namespace: NS, name: 'cra-runtime' });
  });

  it('without the configmaps rule of the chart Role the next publish fails with 403 and no bundle is written', async () => {
    const rbac = cp.kubeConfig.makeApiClient(RbacAuthorizationV1Api);
    const role = await rbac.readNamespacedRole({ namespace: NS, name: 'cra-operator' });
    expect(role.rules).toEqual(policyRules('operator'));
    const cut = role.rules!.filter((r) => !(r.resources?.length === 1 && r.resources[0] === 'configmaps'));
    expect(cut.length).toBe(role.rules!.length - 1);
    await rbac.replaceNamespacedRole({ namespace: NS, name: 'cra-operator', body: { ...role, rules: cut } });

    const before = await bundleVersionAnnotation();
    const errorsBefore = await reconcileErrors();
    const current = (await readAtlas())!;
    await api.apply({ ...atlas, spec: { ...(atlas['spec'] as object), version: '1.1.0' } });
    await eventually(async () => (await reconcileErrors()) > errorsBefore, 'a failed reconcile');
    expect(logs.join('')).toMatch(/forbidden|\b403\b/i);
    expect(await bundleVersionAnnotation()).toBe(before);
    const a = (await readAtlas())!;
    expect(a.metadata.generation).toBeGreaterThan(current.metadata.generation);
    expect(ready(a)).toBeUndefined(); // the new generation is not reported Ready
    if (checkArgo) expect((await argoHealth(a)).status).not.toBe('Healthy');
  });

  it('helm upgrade restores the rule and keeps the CRDs and the Atlas; publishing resumes', async () => {
    const uid = async () =>
      (
        (await api.get({
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: 'atlases.cra.dev' },
        })) as {
          metadata: { uid: string };
        }
      ).metadata.uid;
    const crdUid = await uid();
    const atlasUid = (await readAtlas())!.metadata.uid;
    const result = await helm(
      ['upgrade', RELEASE, CHART_DIR, '--namespace', NS, '--reuse-values', '--set', 'operator.logLevel=debug'],
      helmEnv(),
    );
    expect(result.code, result.stderr).toBe(0);
    const role = await cp.kubeConfig
      .makeApiClient(RbacAuthorizationV1Api)
      .readNamespacedRole({ namespace: NS, name: 'cra-operator' });
    expect(role.rules).toEqual(policyRules('operator'));
    expect(await uid()).toBe(crdUid);
    expect((await readAtlas())!.metadata.uid).toBe(atlasUid);
    const a = await eventually(async () => ready(await readAtlas()), 'Atlas 1.1.0 Ready after the upgrade', 90_000);
    expect(a.spec.version).toBe('1.1.0');
    if (checkArgo) expect(await argoHealth(a)).toMatchObject({ status: 'Healthy', message: /^Published: / });
    expect(await bundleVersionAnnotation()).not.toBeUndefined();
    const d = await apps.readNamespacedDeployment({ namespace: NS, name: 'cra-operator' });
    expect(d.spec?.template.spec?.containers[0]?.env?.find((e) => e.name === 'CRA_LOG_LEVEL')?.value).toBe('debug');
  });

  it('helm uninstall with crds.keep removes the release but leaves the CRDs and the Atlas', async () => {
    await operator?.stop();
    operator = undefined;
    const result = await helm(['uninstall', RELEASE, '--namespace', NS], helmEnv());
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout + result.stderr).toMatch(
      /These resources were kept due to the resource policy:[\s\S]*CustomResourceDefinition/,
    );
    await expect(apps.readNamespacedDeployment({ namespace: NS, name: 'cra-operator' })).rejects.toMatchObject({
      code: 404,
    });
    for (const name of ['atlases.cra.dev', 'policies.cra.dev', 'agentidentities.cra.dev']) {
      expect(
        await api.get({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name } }),
      ).toBeDefined();
    }
    expect(await readAtlas()).toBeDefined();
  });
});

describe.skipIf(!available && !required)('the chart with watchNamespaces: Roles per namespace are enough', () => {
  let cp: ControlPlane;
  let api: RawApi;
  let dir: string;
  let operator: Operator | undefined;
  const logs: string[] = [];
  const ns = 'cra-scoped';
  const watched = 'team-x';

  beforeAll(async () => {
    cp = await startControlPlane();
    api = new RawApi(cp.kubeConfig);
    dir = await mkdtemp(join(tmpdir(), 'cra-chart-scoped-'));
    for (const name of [watched, 'team-unwatched'])
      await api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }, 180_000);

  afterAll(async () => {
    await operator?.stop();
    await cp?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('publishes an Atlas of the watched namespace, never lists the others, and nothing is forbidden', async () => {
    const env = { KUBECONFIG: cp.kubeconfigPath };
    const install = await helm(
      [
        'install',
        'cra',
        CHART_DIR,
        '--namespace',
        ns,
        '--create-namespace',
        '--set',
        `watchNamespaces={${watched}}`,
        '--set',
        'rbac.userRoles=false',
      ],
      env,
    );
    expect(install.code, install.stderr).toBe(0);
    const installed = parseManifests((await helm(['get', 'manifest', 'cra', '--namespace', ns], env)).stdout);
    expect(installed.filter((o) => o.kind.startsWith('Cluster'))).toEqual([]);
    const { config } = await operatorConfigFromChart(installed, ns, dir);
    expect(config.watchNamespaces).toEqual([watched]);
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString('utf8'));
        done();
      },
    });
    operator = new Operator({
      config,
      kubeConfig: cp.kubeConfigForToken(await cp.serviceAccountToken(ns, 'cra-operator'), ns),
      logger: pino({ level: 'debug' }, sink),
      onLeadershipLost: () => undefined,
    });
    await operator.start();
    const source = parseManifests(await readFile(join(REPO_ROOT, 'atlases/github-ops/resource.yaml'), 'utf8')).find(
      (d) => d.kind === 'Atlas',
    )!;
    const mine = { ...source, metadata: { ...source.metadata, namespace: watched } };
    const other = { ...source, metadata: { ...source.metadata, namespace: 'team-unwatched' } };
    await api.apply(other);
    await api.apply(mine);
    await eventually(async () => {
      const a = (await api.get(mine)) as AtlasObject | undefined;
      return a?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
    }, 'Atlas in the watched namespace Ready');
    const cm = await cp.kubeConfig
      .makeApiClient(CoreV1Api)
      .readNamespacedConfigMap({ namespace: ns, name: 'cra-runtime-bundle' });
    expect(cm.metadata?.annotations?.['cra.dev/bundle-version']).toBeTruthy();
    expect(((await api.get(other)) as unknown as AtlasObject).status).toBeUndefined();
    expect(logs.join('')).not.toMatch(/forbidden|\b403\b/i);
  });
});
