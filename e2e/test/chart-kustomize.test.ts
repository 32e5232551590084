// The kustomize bases (config/, kubebuilder shape): `kubectl kustomize config/default` builds the
// same objects as the chart's defaults (names, RBAC, the operator's container), and every object of
// config/default, config/prometheus and config/network-policy is accepted by a real API server
// (server-side apply, dry run, strict field validation; the Namespace and CRDs applied for real).
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  RawApi,
  applyOrder,
  helmBinary,
  installCrdManifests,
  kubectlBinary,
  monitoringStubCrds,
  parseManifests,
  renderChart,
  runTool,
  type Manifest,
} from '../harness/chart.js';
import { controlPlaneBinariesAvailable, startControlPlane, type ControlPlane } from '../harness/control-plane.js';
import { REPO_ROOT } from '../harness/runtime-process.js';

const required = Boolean(process.env['CRA_REQUIRE_CONTROL_PLANE']);
const kubectl = kubectlBinary();
const available = controlPlaneBinariesAvailable() && kubectl !== undefined && helmBinary() !== undefined;

async function kustomize(dir: string): Promise<Manifest[]> {
  const result = await runTool(kubectl!, ['kustomize', join(REPO_ROOT, dir)]);
  if (result.code !== 0) throw new Error(`kubectl kustomize ${dir} failed:\n${result.stderr}`);
  return parseManifests(result.stdout);
}

const key = (o: Manifest) => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;

describe.skipIf(!available && !required)('kustomize bases (config/)', () => {
  let built: Manifest[];
  let chart: Manifest[];

  beforeAll(async () => {
    built = await kustomize('config/default');
    chart = (await renderChart({ release: 'cra', namespace: 'cra-system' })).filter(
      (o) => !(o.kind === 'ConfigMap' && o.metadata.name.startsWith('cra-dashboard-')),
    );
  });

  it('config/default builds the objects of the chart defaults, in cra-system with the cra- prefix', () => {
    const withoutHash = (o: Manifest) =>
      key(o).replace(/^(ConfigMap\/cra-system\/cra-operator-config)-[a-z0-9]{10}$/, '$1');
    const fromKustomize = built
      .filter((o) => o.kind !== 'Namespace')
      .map(withoutHash)
      .sort();
    expect(fromKustomize).toEqual(chart.map(key).sort());
    expect(built.find((o) => o.kind === 'Namespace')?.metadata).toMatchObject({
      name: 'cra-system',
      labels: { 'pod-security.kubernetes.io/enforce': 'restricted' },
    });
  });

  it('the same RBAC, and the same operator container (its own name as owner via a replacement)', () => {
    for (const kind of ['ClusterRole', 'Role', 'ClusterRoleBinding', 'RoleBinding']) {
      for (const o of chart.filter((x) => x.kind === kind)) {
        const k = built.find((x) => key(x) === key(o));
        expect(k?.['rules'] ?? k?.['subjects'], key(o)).toEqual(o['rules'] ?? o['subjects']);
        if (o['roleRef']) expect(k?.['roleRef']).toEqual(o['roleRef']);
      }
    }
    const container = (list: Manifest[]) =>
      (list.find((o) => o.kind === 'Deployment') as any).spec.template.spec.containers[0]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(container(built)).toEqual(container(chart));
    const data = (list: Manifest[]) =>
      (list.find((o) => o.kind === 'ConfigMap' && o.metadata.name.startsWith('cra-operator-config')) as any).data; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(data(built)).toEqual(data(chart));
  });

  describe('against the API server', () => {
    let cp: ControlPlane;
    let api: RawApi;

    beforeAll(async () => {
      cp = await startControlPlane();
      api = new RawApi(cp.kubeConfig);
    }, 180_000);
    afterAll(async () => {
      await cp?.stop();
    });

    const dryRun = async (objects: Manifest[], namespace: string): Promise<string[]> => {
      const failures: string[] = [];
      for (const o of applyOrder(objects)) {
        try {
          await api.apply(o, { dryRun: true, namespace });
        } catch (error) {
          failures.push(`${key(o)}: ${(error as Error).message}`);
        }
      }
      return failures;
    };

    it('config/default: the Namespace and CRDs for real, every other object dry-run', async () => {
      for (const ns of built.filter((o) => o.kind === 'Namespace')) await api.apply(ns);
      await installCrdManifests(
        api,
        built.filter((o) => o.kind === 'CustomResourceDefinition'),
      );
      const rest = built.filter((o) => o.kind !== 'Namespace' && o.kind !== 'CustomResourceDefinition');
      expect(rest.length).toBeGreaterThan(10);
      expect(await dryRun(rest, 'cra-system')).toEqual([]);
    });

    it('config/prometheus and config/network-policy (into cra-system)', async () => {
      await installCrdManifests(api, monitoringStubCrds());
      const prometheus = await kustomize('config/prometheus');
      expect(prometheus.map((o) => o.kind).sort()).toEqual(['PrometheusRule', 'ServiceMonitor', 'ServiceMonitor']);
      const policies = await kustomize('config/network-policy');
      expect(policies.map((o) => o.kind)).toEqual(['NetworkPolicy', 'NetworkPolicy']);
      expect(await dryRun([...prometheus, ...policies], 'cra-system')).toEqual([]);
    });
  });
});
