// What the chart and the kustomize bases are made from cannot drift: the committed generated files
// are what `npm run gen:deploy` makes (CRD templates from crds/, RBAC from operator/src/rbac.ts,
// config/ from the chart, the values reference from values.yaml); the rendered CRDs are crds/
// exactly; the rendered RBAC is rbac.ts exactly; the dashboard and the alerts only query metrics
// the runtime and the operator export.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { beforeAll, describe, expect, it } from 'vitest';
import { CHART_DIR, MONITORING_API, helmBinary, renderChart, type Manifest } from '../harness/chart.js';
import { REPO_ROOT } from '../harness/runtime-process.js';
import { driftedDeployFiles, readCrds } from '../../operator/scripts/gen-deploy.js';
import { policyRules } from '../../operator/src/rbac.js';
import { OPERATOR_METRICS } from '../../operator/src/metrics.js';
import { LEADER_METRIC } from '../../operator/src/leader/metrics.js';
import { METRICS } from '../../runtime/src/telemetry/metrics.js';

const required = Boolean(process.env['CRA_REQUIRE_CONTROL_PLANE']);
const helm = helmBinary();
const haveHelm = helm !== undefined;

describe('generated files (npm run gen:deploy)', () => {
  it('the chart CRD templates, the RBAC partial and docs/reference/helm-values.md are up to date', async () => {
    expect(await driftedDeployFiles()).toEqual([]);
  });

  it.skipIf(!haveHelm && !required)('config/ (kustomize bases rendered from the chart) is up to date', async () => {
    expect(await driftedDeployFiles({ helm: helm! })).toEqual([]);
  });
});

describe.skipIf(!haveHelm && !required)('the chart renders its sources exactly', () => {
  let objects: Manifest[];
  let watchNs: Manifest[];
  beforeAll(async () => {
    objects = await renderChart();
    watchNs = await renderChart({ set: ['watchNamespaces={team-a,team-b}'] });
  });

  it('each CRD is crds/<file> (spec byte for byte as data, the chart labels added)', async () => {
    const sources = await readCrds();
    expect(sources.length).toBeGreaterThan(0);
    for (const { crd } of sources) {
      const rendered = objects.find(
        (o) => o.kind === 'CustomResourceDefinition' && o.metadata.name === crd.metadata.name,
      );
      expect(rendered, crd.metadata.name).toBeDefined();
      expect(rendered!['spec']).toEqual(crd['spec']);
      expect(rendered!.apiVersion).toBe(crd.apiVersion);
      for (const [k, v] of Object.entries(crd.metadata.labels ?? {})) expect(rendered!.metadata.labels?.[k]).toBe(v);
    }
  });

  it('crds.enabled=false renders no CRD; crds.keep=false drops the keep policy', async () => {
    expect(
      (await renderChart({ set: ['crds.enabled=false'] })).filter((o) => o.kind === 'CustomResourceDefinition'),
    ).toEqual([]);
    const unkept = (await renderChart({ set: ['crds.keep=false'] })).filter(
      (o) => o.kind === 'CustomResourceDefinition',
    );
    expect(unkept).toHaveLength(3);
    for (const o of unkept) expect(o.metadata.annotations?.['helm.sh/resource-policy']).toBeUndefined();
  });

  it('the ClusterRole is policyRules("watched") and the Role is policyRules("operator") of operator/src/rbac.ts', () => {
    const clusterRole = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'cra-operator');
    expect(clusterRole?.['rules']).toEqual(policyRules('watched'));
    const role = objects.find((o) => o.kind === 'Role' && o.metadata.name === 'cra-operator');
    expect(role?.metadata.namespace).toBe('cra-system');
    expect(role?.['rules']).toEqual(policyRules('operator'));
    const bindings = objects.filter((o) => o.kind === 'ClusterRoleBinding' || o.kind === 'RoleBinding');
    for (const b of bindings)
      expect(b['subjects']).toEqual([{ kind: 'ServiceAccount', name: 'cra-operator', namespace: 'cra-system' }]);
  });

  it('with watchNamespaces, each watched namespace gets a Role of policyRules("watched")', () => {
    const roles = watchNs.filter((o) => o.kind === 'Role' && o.metadata.name === 'cra-operator-watched');
    expect(roles.map((r) => r.metadata.namespace).sort()).toEqual(['team-a', 'team-b']);
    for (const r of roles) expect(r['rules']).toEqual(policyRules('watched'));
    expect(watchNs.find((o) => o.kind === 'Role' && o.metadata.name === 'cra-operator')?.['rules']).toEqual(
      policyRules('operator'),
    );
  });

  it('user roles exist per kind and role, and aggregate only when asked', async () => {
    const names = objects.filter(
      (o) => o.kind === 'ClusterRole' && o.metadata.labels?.['app.kubernetes.io/component'] === 'rbac',
    );
    expect(names.map((o) => o.metadata.name).sort()).toEqual(
      ['agentidentity', 'atlas', 'policy']
        .flatMap((k) => ['admin', 'editor', 'viewer'].map((r) => `cra-${k}-${r}`))
        .sort(),
    );
    for (const o of names)
      expect(
        Object.keys(o.metadata.labels ?? {}).some((k) => k.startsWith('rbac.authorization.k8s.io/aggregate')),
      ).toBe(false);
    const aggregated = await renderChart({ set: ['rbac.aggregateToDefaultRoles=true'] });
    const viewer = aggregated.find((o) => o.metadata.name === 'cra-atlas-viewer');
    expect(viewer?.metadata.labels?.['rbac.authorization.k8s.io/aggregate-to-view']).toBe('true');
    expect(viewer?.['rules']).toEqual([
      { apiGroups: ['cra.dev'], resources: ['atlases'], verbs: ['get', 'list', 'watch'] },
      { apiGroups: ['cra.dev'], resources: ['atlases/status'], verbs: ['get'] },
    ]);
  });
});

// ---- metric names in the dashboard and the alerts ------------------------------------------------

const KNOWN = new Set<string>([...Object.values(METRICS), ...Object.values(OPERATOR_METRICS), LEADER_METRIC]);
const metricNames = (expr: string): string[] =>
  [...expr.matchAll(/\bcra_[a-z0-9_]+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, ''));

interface Panel {
  type: string;
  title: string;
  targets?: { expr: string }[];
}
const dashboard = JSON.parse(readFileSync(join(CHART_DIR, 'dashboards', 'cra.json'), 'utf8')) as {
  uid: string;
  panels: Panel[];
  templating: { list: { name: string; definition?: string }[] };
};

describe('charts/cra/dashboards/cra.json', () => {
  const exprs = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => t.expr));

  it('queries only metrics the runtime and the operator export', () => {
    const names = [...exprs, ...dashboard.templating.list.map((v) => v.definition ?? '')].flatMap(metricNames);
    expect(names.length).toBeGreaterThan(20);
    expect([...new Set(names.filter((n) => !KNOWN.has(n)))]).toEqual([]);
  });

  it('has the panels the operators of CRA need', () => {
    const titles = dashboard.panels.map((p) => p.title);
    for (const t of [
      'Resolutions by decision',
      'Resolve latency',
      'Actions by status',
      'Action latency',
      'Rate limited',
      'TRACE events by type',
      'Approvals pending',
      'Bundle version',
      'Reconciles',
      'Reconcile errors',
      'Reconcile latency',
      'Work queue depth',
      'Leader',
    ])
      expect(titles).toContain(t);
    const used = new Set(exprs.flatMap(metricNames));
    for (const m of [
      METRICS.resolutions,
      METRICS.resolutionDuration,
      METRICS.actions,
      METRICS.actionDuration,
      METRICS.rateLimited,
      METRICS.traceEvents,
      METRICS.approvalsPending,
      METRICS.bundleInfo,
      OPERATOR_METRICS.bundleInfo,
      OPERATOR_METRICS.reconciles,
      OPERATOR_METRICS.reconcileDuration,
      OPERATOR_METRICS.queueDepth,
      LEADER_METRIC,
    ])
      expect(used, m).toContain(m);
  });

  it('uses a data source variable and unique panel ids', () => {
    expect(dashboard.templating.list.map((v) => v.name)).toEqual(['datasource', 'namespace']);
    const ids = dashboard.panels.map((p) => (p as unknown as { id: number }).id);
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe.skipIf(!haveHelm && !required)('the PrometheusRule', () => {
  it('queries only exported metrics, and every alert has a severity, a summary and a description', async () => {
    const objects = await renderChart({ set: ['metrics.prometheusRule.enabled=true'], apiVersions: [MONITORING_API] });
    const rule = objects.find((o) => o.kind === 'PrometheusRule') as Manifest & {
      spec: {
        groups: {
          rules: { alert: string; expr: string; labels: { severity: string }; annotations: Record<string, string> }[];
        }[];
      };
    };
    const rules = rule.spec.groups.flatMap((g) => g.rules);
    const unknown = rules.flatMap((r) => metricNames(r.expr)).filter((n) => !KNOWN.has(n));
    expect([...new Set(unknown)]).toEqual([]);
    for (const r of rules) {
      expect(['critical', 'warning', 'info']).toContain(r.labels.severity);
      expect(r.annotations['summary'], r.alert).toBeTruthy();
      expect(r.annotations['description'], r.alert).toBeTruthy();
      expect(r.expr, r.alert).toContain('namespace="cra-system"');
    }
    // Go-template text meant for Alertmanager survives helm's own templating.
    const outbox = rules.find((r) => r.alert === 'CraTraceOutboxBacklog')!;
    expect(outbox.annotations['description']).toContain('{{ $labels.pod }}');
  });

  it('docs/reference/helm-values.md lists every documented value', () => {
    const doc = readFileSync(join(REPO_ROOT, 'docs/reference/helm-values.md'), 'utf8');
    const values = parseYaml(readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8')) as Record<string, unknown>;
    for (const key of Object.keys(values)) expect(doc).toContain(`\`${key}`);
    expect(doc).toContain('| `operator.replicas` | integer 0–10 | `2` |');
  });
});
