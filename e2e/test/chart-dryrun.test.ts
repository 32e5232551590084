// Every object the chart renders, for every example values file, judged by a real kube-apiserver:
// server-side apply with dryRun=All and fieldValidation=Strict (schemas, defaults, CEL, RBAC object
// shapes, unknown fields — exactly as a cluster would). The CRDs are applied for real first, and
// prometheus-operator's kinds get stub CRDs. The runtime objects the operator would create from the
// chart's runtime configuration are dry-run too, so values → operator → cluster holds end to end.
import { mkdtemp, rm } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ApiError,
  CHART_DIR,
  MONITORING_API,
  RawApi,
  applyOrder,
  helmBinary,
  installCrdManifests,
  monitoringStubCrds,
  renderChart,
  type Manifest,
} from '../harness/chart.js';
import { controlPlaneBinariesAvailable, startControlPlane, type ControlPlane } from '../harness/control-plane.js';
import { operatorConfigFromChart } from './support/operator-config.js';
import { runtimeObjects } from '../../operator/src/workload/runtime-objects.js';

const required = Boolean(process.env['CRA_REQUIRE_CONTROL_PLANE']);
const available = controlPlaneBinariesAvailable() && helmBinary() !== undefined;
const NAMESPACE = 'cra-system';
const ciFiles = readdirSync(join(CHART_DIR, 'ci'))
  .filter((f) => f.endsWith('-values.yaml'))
  .sort();

async function dryRunAll(api: RawApi, objects: Manifest[], namespace: string): Promise<string[]> {
  const failures: string[] = [];
  for (const o of applyOrder(objects)) {
    try {
      await api.apply(o, { dryRun: true, namespace });
    } catch (error) {
      failures.push(`${o.kind} ${o.metadata.namespace ?? namespace}/${o.metadata.name}: ${(error as Error).message}`);
    }
  }
  return failures;
}

describe.skipIf(!available && !required)('chart manifests against the API server (server-side dry run, strict)', () => {
  let cp: ControlPlane;
  let api: RawApi;
  let dir: string;

  beforeAll(async () => {
    cp = await startControlPlane();
    api = new RawApi(cp.kubeConfig);
    dir = await mkdtemp(join(tmpdir(), 'cra-chart-dryrun-'));
    for (const name of [NAMESPACE, 'team-a', 'team-b'])
      await api.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
    const crds = (await renderChart()).filter((o) => o.kind === 'CustomResourceDefinition');
    await installCrdManifests(api, [...crds, ...monitoringStubCrds()]);
  }, 180_000);

  afterAll(async () => {
    await cp?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it.each(ciFiles)('every object of %s is accepted', async (file) => {
    const objects = await renderChart({
      valuesFiles: [join(CHART_DIR, 'ci', file)],
      apiVersions: [MONITORING_API],
      namespace: NAMESPACE,
    });
    expect(objects.length).toBeGreaterThan(5);
    expect(await dryRunAll(api, objects, NAMESPACE)).toEqual([]);
  });

  it.each(ciFiles)('the runtime workload the operator makes from %s is accepted', async (file) => {
    const objects = await renderChart({ valuesFiles: [join(CHART_DIR, 'ci', file)], namespace: NAMESPACE });
    const { config } = await operatorConfigFromChart(objects, NAMESPACE, dir);
    expect(config.namespace).toBe(NAMESPACE);
    const { apply } = runtimeObjects({
      namespace: NAMESPACE,
      bundleConfigMap: config.bundleConfigMap,
      config: config.runtime,
    });
    const kinds = apply.map((o) => o.kind);
    expect(kinds).toContain('Deployment');
    if (file.startsWith('hpa-on')) expect(kinds).toContain('HorizontalPodAutoscaler');
    if (file.startsWith('external-stores')) expect(kinds).toContain('PodDisruptionBudget');
    expect(await dryRunAll(api, apply as unknown as Manifest[], NAMESPACE)).toEqual([]);
  });

  it('the dry run is strict: an unknown field or a bad value in a rendered object is refused', async () => {
    const objects = await renderChart({ namespace: NAMESPACE });
    const deployment = structuredClone(objects.find((o) => o.kind === 'Deployment')!) as Manifest & { spec: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
    deployment.spec.template.spec.containers[0].colour = 'blue';
    const unknown = await api.apply(deployment, { dryRun: true }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(ApiError);
    expect((unknown as ApiError).message).toMatch(/colour: field not declared in schema|unknown field.*colour/);
    const service = structuredClone(objects.find((o) => o.kind === 'Service')!) as Manifest & { spec: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
    service.spec.ports[0].port = 70000;
    const invalid = await api.apply(service, { dryRun: true }).catch((e: unknown) => e);
    expect((invalid as ApiError).status).toBe(422);
    // Nothing of the dry runs was persisted.
    expect(await api.get(deployment)).toBeUndefined();
  });
});
