// The chart by itself: helm lint --strict and helm template for every example values file (helm
// built with go install, so --kube-version is always given), values.schema.json accepting the
// examples and refusing bad values with helm's own message naming the value, and values.yaml
// documented and covered by the schema key by key.
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CHART_DIR,
  CHART_KUBE_VERSION,
  MONITORING_API,
  helm,
  helmBinary,
  renderChart,
  templateArgs,
  type Manifest,
} from '../harness/chart.js';
import { parseValuesComments } from '../../operator/scripts/gen-deploy.js';
import { REPO_ROOT } from '../harness/runtime-process.js';

// ajv 8 as core uses it (the hoisted root copy is eslint's ajv 6); its default class speaks draft-07.
interface Validator {
  (data: unknown): boolean;
  errors?: unknown;
}
const { Ajv } = createRequire(new URL('../../core/package.json', import.meta.url))('ajv') as {
  Ajv: new (options: Record<string, unknown>) => { compile(schema: unknown): Validator };
};

const required = Boolean(process.env['CRA_REQUIRE_CONTROL_PLANE']);
const haveHelm = helmBinary() !== undefined;
const CI_DIR = join(CHART_DIR, 'ci');
const ciFiles = readdirSync(CI_DIR)
  .filter((f) => f.endsWith('-values.yaml'))
  .sort();
const schema = JSON.parse(readFileSync(join(CHART_DIR, 'values.schema.json'), 'utf8')) as Record<string, unknown>;
const valuesText = readFileSync(join(CHART_DIR, 'values.yaml'), 'utf8');
const values = parseYaml(valuesText) as Record<string, unknown>;

const find = (objects: Manifest[], kind: string, name?: string): Manifest | undefined =>
  objects.find((o) => o.kind === kind && (name === undefined || o.metadata.name === name));

describe('values.schema.json (ajv, draft-07)', () => {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  const validate = ajv.compile(schema);

  it('is draft-07, the dialect helm 3 validates with, and closed at every level', () => {
    expect(schema['$schema']).toBe('http://json-schema.org/draft-07/schema#');
    const open: string[] = [];
    const walk = (node: Record<string, unknown>, path: string): void => {
      const properties = node['properties'] as Record<string, Record<string, unknown>> | undefined;
      if (properties) {
        if (node['additionalProperties'] !== false) open.push(path || '(root)');
        for (const [k, v] of Object.entries(properties)) walk(v, `${path}.${k}`);
      }
    };
    walk(schema, '');
    expect(open).toEqual([]);
  });

  it.each(['values.yaml', ...ciFiles.map((f) => `ci/${f}`)])('accepts %s', (file) => {
    const merged =
      file === 'values.yaml' ? values : deepMerge(values, parseYaml(readFileSync(join(CHART_DIR, file), 'utf8')) ?? {});
    const ok = validate(merged);
    expect(ok, JSON.stringify(validate.errors, null, 2)).toBe(true);
  });

  it('covers every value in values.yaml (no value without a schema, no schema without a value)', () => {
    const missing: string[] = [];
    const walk = (value: unknown, node: Record<string, unknown> | undefined, path: string): void => {
      if (node === undefined) {
        missing.push(`${path}: no schema`);
        return;
      }
      if (value === null || typeof value !== 'object' || Array.isArray(value)) return;
      const properties = node['properties'] as Record<string, Record<string, unknown>> | undefined;
      if (!properties) return; // a free-form map (labels, resources, affinity…)
      for (const [k, v] of Object.entries(value)) walk(v, properties[k], path ? `${path}.${k}` : k);
      for (const k of Object.keys(properties)) {
        if (!(k in (value as object)) && !(path === '' && k === 'global')) missing.push(`${path}.${k}: no value`);
      }
    };
    walk(values, schema, '');
    expect(missing).toEqual([]);
  });
});

describe('values.yaml documentation', () => {
  const docs = parseValuesComments(valuesText);
  const documented = new Set(docs.filter((d) => d.leaf).map((d) => d.path));

  it('describes every value with a "# -- " comment (itself or a map documented as a whole)', () => {
    const undocumented: string[] = [];
    const walk = (value: unknown, path: string): void => {
      if (path && documented.has(path)) return;
      if (value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0) {
        for (const [k, v] of Object.entries(value)) walk(v, path ? `${path}.${k}` : k);
        return;
      }
      undocumented.push(path);
    };
    walk(values, '');
    expect(undocumented).toEqual([]);
  });

  it('documents only keys that exist', () => {
    const exists = (path: string): boolean => {
      let node: unknown = values;
      for (const k of path.split('.')) {
        if (node === null || typeof node !== 'object' || !(k in node)) return false;
        node = (node as Record<string, unknown>)[k];
      }
      return true;
    };
    expect(docs.map((d) => d.path).filter((p) => !exists(p))).toEqual([]);
  });
});

const helmSuite =
  !haveHelm && !required
    ? 'helm — SKIPPED: helm not found; run scripts/build-envtest.sh (CRA_REQUIRE_CONTROL_PLANE=1 turns this into a failure)'
    : 'helm lint and template';

describe.skipIf(!haveHelm && !required)(helmSuite, () => {
  it('helm is the go-installed 3.22 whose default capabilities are v1.20 (so --kube-version is passed)', async () => {
    const version = await helm(['version', '--short']);
    expect(version.stdout).toMatch(/^v3\.22\./);
    // Without --kube-version the chart's kubeVersion (>=1.34.0-0) refuses the v1.20 default.
    const bare = await helm(['template', 'cra', CHART_DIR]);
    expect(bare.code).not.toBe(0);
    expect(bare.stderr).toMatch(/kubeVersion|incompatible/i);
  });

  it.each(['(chart defaults)', ...ciFiles])('helm lint --strict: %s', async (file) => {
    const args = ['lint', '--strict', '--kube-version', CHART_KUBE_VERSION, CHART_DIR];
    if (file !== '(chart defaults)') args.push('-f', join(CI_DIR, file));
    const result = await helm(args);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toContain('0 chart(s) failed');
  });

  it.each(ciFiles)('helm template: %s', async (file) => {
    const objects = await renderChart({ valuesFiles: [join(CI_DIR, file)], apiVersions: [MONITORING_API] });
    expect(find(objects, 'Deployment', 'cra-operator')).toBeDefined();
    for (const o of objects) {
      expect(o.metadata.labels?.['app.kubernetes.io/part-of'], `${o.kind} ${o.metadata.name}`).toBe('cra');
      expect(o.metadata.labels?.['app.kubernetes.io/managed-by']).toBe('Helm');
    }
  });

  describe('what the defaults render', () => {
    let objects: Manifest[];
    beforeAll(async () => {
      objects = await renderChart();
    });

    it('the CRDs, kept on uninstall', () => {
      const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata.name);
      expect(crds.sort()).toEqual(['agentidentities.cra.dev', 'atlases.cra.dev', 'policies.cra.dev']);
      for (const o of objects.filter((x) => x.kind === 'CustomResourceDefinition'))
        expect(o.metadata.annotations?.['helm.sh/resource-policy']).toBe('keep');
    });

    it('an operator Deployment with 2 replicas, leader election, its own name as owner, probes on 8081, restricted security', () => {
      const d = find(objects, 'Deployment', 'cra-operator') as Manifest & { spec: any }; // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(d.spec.replicas).toBe(2);
      const pod = d.spec.template.spec;
      const c = pod.containers[0];
      expect(c.command).toEqual(['node', 'operator/bin/cra-operator.js']);
      const env = Object.fromEntries(
        c.env.map((e: { name: string; value?: string; valueFrom?: unknown }) => [e.name, e.value ?? e.valueFrom]),
      );
      expect(env).toMatchObject({
        CRA_LEADER_ELECTION: 'true',
        CRA_OPERATOR_DEPLOYMENT: 'cra-operator',
        CRA_OPERATOR_PORT: '8081',
        CRA_RUNTIME_CONFIG_FILE: '/etc/cra/runtime.yaml',
        POD_NAME: { fieldRef: { fieldPath: 'metadata.name' } },
        POD_NAMESPACE: { fieldRef: { fieldPath: 'metadata.namespace' } },
      });
      expect(c.readinessProbe.httpGet).toEqual({ path: '/readyz', port: 'http-metrics' });
      expect(c.livenessProbe.httpGet).toEqual({ path: '/healthz', port: 'http-metrics' });
      expect(c.ports).toEqual([{ name: 'http-metrics', containerPort: 8081, protocol: 'TCP' }]);
      expect(c.securityContext).toEqual({
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ['ALL'] },
      });
      expect(pod.securityContext).toMatchObject({
        runAsNonRoot: true,
        runAsUser: 10001,
        seccompProfile: { type: 'RuntimeDefault' },
      });
      expect(d.spec.template.metadata.annotations['checksum/config']).toMatch(/^[a-f0-9]{64}$/);
      expect(find(objects, 'PodDisruptionBudget', 'cra-operator')).toBeDefined();
    });

    it('sets every variable operator/src/config.ts reads (namespace and identity through the downward API)', () => {
      const source = readFileSync(join(REPO_ROOT, 'operator/src/config.ts'), 'utf8');
      const read = new Set([...source.matchAll(/env(?:\.|,\s*')(CRA_[A-Z_]+)/g)].map((m) => m[1]!));
      expect(read.size).toBeGreaterThan(10);
      const d = find(objects, 'Deployment', 'cra-operator') as any; // eslint-disable-line @typescript-eslint/no-explicit-any
      const set = new Set<string>(d.spec.template.spec.containers[0].env.map((e: { name: string }) => e.name));
      const viaDownwardApi: Record<string, string> = {
        CRA_OPERATOR_NAMESPACE: 'POD_NAMESPACE',
        CRA_OPERATOR_IDENTITY: 'POD_NAME',
      };
      const missing = [...read].filter((v) => !set.has(v) && !(viaDownwardApi[v] && set.has(viaDownwardApi[v])));
      expect(missing).toEqual([]);
    });

    it('no ServiceMonitor, PrometheusRule or NetworkPolicy unless asked; the dashboard ConfigMap with the sidecar label', () => {
      expect(objects.filter((o) => ['ServiceMonitor', 'PrometheusRule', 'NetworkPolicy'].includes(o.kind))).toEqual([]);
      const dashboard = find(objects, 'ConfigMap', 'cra-dashboard-cra') as Manifest & { data: Record<string, string> };
      expect(dashboard.metadata.labels?.['grafana_dashboard']).toBe('1');
      expect(JSON.parse(dashboard.data['cra.json']!).uid).toBe('cra-overview');
    });

    it('checksum/config changes with the runtime configuration', async () => {
      const other = await renderChart({ set: ['runtime.logLevel=debug'] });
      const sum = (list: Manifest[]) =>
        (find(list, 'Deployment', 'cra-operator') as any).spec.template.metadata.annotations['checksum/config']; // eslint-disable-line @typescript-eslint/no-explicit-any
      expect(sum(other)).not.toBe(sum(objects));
    });
  });

  it('monitoring-on: ServiceMonitors for the operator and the runtime (by its component label), the PrometheusRule', async () => {
    const objects = await renderChart({ valuesFiles: [join(CI_DIR, 'monitoring-on-values.yaml')] });
    const monitors = objects.filter((o) => o.kind === 'ServiceMonitor') as (Manifest & { spec: any })[]; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(monitors.map((m) => m.metadata.name).sort()).toEqual(['cra-operator', 'cra-runtime']);
    const runtime = monitors.find((m) => m.metadata.name === 'cra-runtime')!;
    expect(runtime.spec.selector.matchLabels).toEqual({
      'app.kubernetes.io/name': 'cra',
      'app.kubernetes.io/component': 'runtime',
    });
    expect(runtime.spec.endpoints[0]).toMatchObject({
      port: 'http',
      path: '/metrics',
      interval: '15s',
      scrapeTimeout: '10s',
    });
    expect(runtime.metadata.labels?.['release']).toBe('kube-prometheus-stack');
    const rule = find(objects, 'PrometheusRule') as Manifest & {
      spec: { groups: { rules: { alert: string; labels: Record<string, string> }[] }[] };
    };
    const alerts = rule.spec.groups.flatMap((g) => g.rules);
    expect(alerts.map((a) => a.alert).sort()).toEqual([
      'CraBundleVersionSkew',
      'CraMultipleLeaders',
      'CraNoLeader',
      'CraOperatorDown',
      'CraRateLimiterLocalFallback',
      'CraReconcileErrors',
      'CraResolveLatencyHigh',
      'CraResourcesNotReady',
      'CraRuntimeDown',
      'CraStoreDown',
      'CraTraceOutboxBacklog',
    ]);
    for (const a of alerts) expect(a.labels['team']).toBe('platform');
    const dashboard = find(objects, 'ConfigMap', 'cra-dashboard-cra');
    expect(dashboard?.metadata.annotations?.['grafana_folder']).toBe('CRA');
  });

  it('watch-namespaces: a Role and RoleBinding per namespace, no ClusterRole for the operator', async () => {
    const objects = await renderChart({ valuesFiles: [join(CI_DIR, 'watch-namespaces-values.yaml')] });
    expect(objects.filter((o) => o.kind === 'ClusterRole' || o.kind === 'ClusterRoleBinding')).toEqual([]);
    const watched = objects.filter((o) => o.kind === 'Role' && o.metadata.name === 'cra-operator-watched');
    expect(watched.map((r) => r.metadata.namespace).sort()).toEqual(['team-a', 'team-b']);
    const env = (find(objects, 'Deployment', 'cra-operator') as any).spec.template.spec.containers[0].env; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(env.find((e: { name: string }) => e.name === 'CRA_WATCH_NAMESPACES').value).toBe('team-a,team-b');
  });

  it('internal-stores: one generated password per store, the same in its Secret and in the runtime URL', async () => {
    const objects = await renderChart({ valuesFiles: [join(CI_DIR, 'internal-stores-values.yaml')] });
    const secret = (name: string) =>
      (find(objects, 'Secret', name) as Manifest & { stringData: Record<string, string> }).stringData;
    const urls = secret('cra-store-urls');
    expect(urls['CRA_POSTGRES_URL']).toBe(
      `postgres://cra:${secret('cra-postgres')['password']}@cra-postgres.cra-system.svc:5432/cra`,
    );
    expect(urls['CRA_REDIS_URL']).toBe(`redis://:${secret('cra-redis')['password']}@cra-redis.cra-system.svc:6379`);
    expect(secret('cra-postgres')['password']).toMatch(/^[A-Za-z0-9]{32}$/);
    const config = parseYaml((find(objects, 'ConfigMap', 'cra-operator-config') as any).data['runtime.yaml']); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(config.envFromSecrets).toEqual(['cra-store-urls']);
    expect(config.env.CRA_STORE).toBe('postgres');
    expect(
      objects
        .filter((o) => o.kind === 'NetworkPolicy')
        .map((o) => o.metadata.name)
        .sort(),
    ).toEqual(['cra-operator', 'cra-postgres', 'cra-redis', 'cra-runtime']);
  });

  it('external-stores: the URLs and the HMAC key from the named Secrets, settings as strings', async () => {
    const objects = await renderChart({ valuesFiles: [join(CI_DIR, 'external-stores-values.yaml')] });
    expect(find(objects, 'Secret')).toBeUndefined();
    const config = parseYaml((find(objects, 'ConfigMap', 'cra-operator-config') as any).data['runtime.yaml']); // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(config.envFromSecrets).toEqual(['cra-postgres-url', 'cra-redis-url', 'cra-trace-hmac']);
    expect(config.env).toMatchObject({ CRA_STORE: 'postgres', CRA_RATE_LIMIT_REQUESTS: '200', CRA_DURABILITY: 'sync' });
    expect(config.replicas).toBe(3);
    const d = find(objects, 'Deployment', 'cra-operator') as any; // eslint-disable-line @typescript-eslint/no-explicit-any
    expect(d.spec.template.spec.containers[0].image).toBe(`ghcr.io/cra-dev/cra@sha256:${'0'.repeat(64)}`);
    expect(d.spec.template.spec.imagePullSecrets).toEqual([
      { name: 'registry-credentials' },
      { name: 'mirror-credentials' },
    ]);
    // The runtime pods the operator creates get the same pull secrets, and single Secret keys.
    expect(config.imagePullSecrets).toEqual(['registry-credentials', 'mirror-credentials']);
    expect(config.secretEnv).toEqual([{ name: 'GITHUB_API_URL', secretName: 'github-enterprise', key: 'api-url' }]);
  });

  describe('values.schema.json refuses bad values, naming them', () => {
    it.each([
      ['operator.replicas: "two"', ['operator.replicas=two'], "at '/operator/replicas': got string, want integer"],
      ['an empty runtime.image.repository', ['runtime.image.repository='], "at '/runtime/image/repository': minLength"],
      ['an unknown top-level key', ['colour=blue'], "additional properties 'colour' not allowed"],
      [
        'an unknown nested key',
        ['operator.leaderElection.lease=5'],
        "at '/operator/leaderElection': additional properties 'lease'",
      ],
      ['an invalid log level', ['operator.logLevel=loud'], "at '/operator/logLevel': value must be one of"],
      ['a negative port', ['operator.port=-1'], "at '/operator/port': minimum: got -1, want 1"],
      ['a runtime port above 65535', ['runtime.port=70000'], "at '/runtime/port': maximum"],
      ['a service type', ['runtime.serviceType=ExternalName'], "at '/runtime/serviceType': value must be one of"],
      ['a namespace name', ['watchNamespaces[0]=Team_A'], "at '/watchNamespaces/0'"],
      [
        'a password that would break the URL',
        ['postgres.internal.password=p@ss word'],
        "at '/postgres/internal/password'",
      ],
      ['an image digest', ['operator.image.digest=sha256:xyz'], "at '/operator/image/digest'"],
      ['a scrape interval', ['metrics.serviceMonitor.interval=often'], "at '/metrics/serviceMonitor/interval'"],
    ])('%s', async (_what, set, message) => {
      const result = await helm(templateArgs({ set }));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("values don't meet the specifications of the schema");
      expect(result.stderr).toContain(message);
    });

    it('a values file with a typo is refused by helm lint too', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'cra-values-'));
      try {
        await writeFile(join(dir, 'bad-values.yaml'), 'operator:\n  replica: 3\n');
        const result = await helm([
          'lint',
          '--strict',
          '--kube-version',
          CHART_KUBE_VERSION,
          CHART_DIR,
          '-f',
          join(dir, 'bad-values.yaml'),
        ]);
        expect(result.code).not.toBe(0);
        expect(result.stdout + result.stderr).toContain("additional properties 'replica' not allowed");
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });
  });

  describe('combinations the schema cannot express fail with a message', () => {
    it.each([
      [
        'several runtime replicas on the embedded store',
        ['runtime.replicas=3'],
        'runtime.replicas > 1 (or runtime.autoscaling.enabled) needs shared stores',
      ],
      ['autoscaling on the embedded store', ['runtime.autoscaling.enabled=true'], 'needs shared stores'],
      [
        'internal and external Postgres',
        ['postgres.internal.enabled=true', 'postgres.external.existingSecret=pg'],
        'set either postgres.internal.enabled or postgres.external.existingSecret',
      ],
      [
        'two operators without leader election',
        ['operator.leaderElection.enabled=false'],
        'operator.replicas > 1 needs operator.leaderElection.enabled',
      ],
      [
        'a renew deadline not below the lease duration',
        ['operator.leaderElection.renewDeadlineSeconds=15'],
        'leaseDurationSeconds must be greater than renewDeadlineSeconds',
      ],
      [
        'a retry period too close to the renew deadline',
        ['operator.leaderElection.retryPeriodSeconds=9'],
        'renewDeadlineSeconds must be greater than 1.2 × retryPeriodSeconds',
      ],
      ['no ServiceAccount at all', ['serviceAccount.create=false'], 'serviceAccount.name is required'],
    ])('%s', async (_what, set, message) => {
      const result = await helm(templateArgs({ set }));
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain(message);
    });
  });
});

function deepMerge(a: unknown, b: unknown): unknown {
  if (a && b && typeof a === 'object' && typeof b === 'object' && !Array.isArray(a) && !Array.isArray(b)) {
    const out: Record<string, unknown> = { ...(a as Record<string, unknown>) };
    for (const [k, v] of Object.entries(b)) out[k] = deepMerge(out[k], v);
    return out;
  }
  return b === undefined ? a : b;
}

afterAll(() => undefined);
