// The Kubernetes guides are checked against what they describe: the Argo CD health check of
// gitops.md runs in Lua on CRA statuses; every `--set` names a chart value; monitoring.md lists
// every metric and alert; troubleshooting.md every Ready=False reason; links resolve.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHART_DIR, MONITORING_API, helmBinary, renderChart } from '../harness/chart.js';
import { REPO_ROOT } from '../harness/runtime-process.js';
import { REASONS } from '../../operator/src/compile/gather.js';
import { OPERATOR_METRICS } from '../../operator/src/metrics.js';
import { LEADER_METRIC } from '../../operator/src/leader/metrics.js';
import { METRICS } from '../../runtime/src/telemetry/metrics.js';
import { schemaAt } from '../../operator/scripts/gen-deploy.js';
import { HEALTH_KINDS, argoHealth, argoHealthScripts, luaBinary } from './support/argo-health.js';

const required = Boolean(process.env['CRA_REQUIRE_CONTROL_PLANE']);
const GUIDES = ['install', 'gitops', 'monitoring', 'troubleshooting', 'docker'].map((g) =>
  join(REPO_ROOT, `docs/guides/${g}.md`),
);
const read = (file: string) => readFileSync(file, 'utf8');

const atlas = (generation: number, status?: Record<string, unknown>) => ({
  apiVersion: 'cra.dev/v1alpha1',
  kind: 'Atlas',
  metadata: { name: 'github-ops', namespace: 'team-a', generation },
  spec: { version: '1.0.0' },
  ...(status ? { status } : {}),
});
const ready = (status: string, reason: string, message: string, observedGeneration = 2) => ({
  observedGeneration,
  conditions: [
    { type: 'Ready', status, reason, message, observedGeneration, lastTransitionTime: '2026-01-01T00:00:00Z' },
  ],
});

describe.skipIf(!luaBinary() && !required)('the Argo CD health check of docs/guides/gitops.md (Lua)', () => {
  it('is configured for the three kinds, the same script for each', () => {
    const data = argoHealthScripts();
    const scripts = HEALTH_KINDS.map((k) => data[`resource.customizations.health.cra.dev_${k}`]);
    expect(scripts.every((s) => typeof s === 'string' && s.includes('Ready'))).toBe(true);
    expect(new Set(scripts).size).toBe(1);
  });

  it.each([
    ['no status yet', 'Progressing', atlas(1), /Waiting for the CRA operator/],
    [
      'Ready=True for the current generation',
      'Healthy',
      atlas(2, ready('True', 'Published', 'in bundle 1c4d64465fdd')),
      /Published/,
    ],
    [
      'Ready=False naming the field',
      'Degraded',
      atlas(2, ready('False', 'InvalidSpec', '/spec/actions/0/policy: no such policy')),
      /InvalidSpec: \/spec\/actions\/0\/policy: no such policy/,
    ],
    [
      'a new generation not yet observed',
      'Progressing',
      atlas(3, ready('True', 'Published', 'in bundle x')),
      /generation 3/,
    ],
    ['Ready=Unknown', 'Progressing', atlas(2, ready('Unknown', 'Progressing', 'compiling')), /compiling/],
    ['being deleted', 'Progressing', atlas(2, ready('False', 'Deleting', 'removing from the bundle')), /Deleting/],
  ])('%s → %s', async (_what, status, obj, message) => {
    for (const kind of HEALTH_KINDS) {
      const verdict = await argoHealth({ ...(obj as object), kind }, kind);
      expect(typeof status).toBe('string');
      expect(verdict.status).toBe(status);
      expect(verdict.message).toMatch(message as RegExp);
    }
  });
});

describe('the guides', () => {
  const schema = JSON.parse(read(join(CHART_DIR, 'values.schema.json'))) as Parameters<typeof schemaAt>[0];

  /** A value of the schema, or a key inside a free-form map of it (labels, annotations…). */
  const knownValue = (path: string): boolean => {
    const keys = path.split('.');
    for (let i = keys.length; i > 0; i--) {
      const node = schemaAt(schema, keys.slice(0, i).join('.')) as { properties?: unknown; type?: unknown } | undefined;
      if (node) return i === keys.length || (node.type === 'object' && node.properties === undefined);
    }
    return false;
  };

  it('--set only names chart values', () => {
    const unknown: string[] = [];
    let count = 0;
    for (const file of GUIDES) {
      for (const m of read(file).matchAll(/--set\s+'?([A-Za-z][A-Za-z0-9_.]*)(?:\[\d+\])?=/g)) {
        count++;
        if (!knownValue(m[1]!)) unknown.push(`${file}: ${m[1]}`);
      }
    }
    expect(count).toBeGreaterThanOrEqual(8);
    expect(unknown).toEqual([]);
  });

  it('link to files that exist', () => {
    const broken: string[] = [];
    for (const file of [...GUIDES, join(REPO_ROOT, 'docs/reference/helm-values.md')]) {
      for (const m of read(file).matchAll(/\]\((?!https?:|#)([^)#\s]+)(?:#[^)]*)?\)/g)) {
        const target = resolve(dirname(file), m[1]!);
        if (!existsSync(target)) broken.push(`${file}: ${m[1]}`);
      }
    }
    expect(broken).toEqual([]);
  });

  it('monitoring.md lists every metric of the runtime and the operator', () => {
    const text = read(join(REPO_ROOT, 'docs/guides/monitoring.md'));
    const names = [...Object.values(METRICS), ...Object.values(OPERATOR_METRICS), LEADER_METRIC];
    expect(names.filter((n) => !text.includes(`\`${n}\``))).toEqual([]);
  });

  it('troubleshooting.md explains every Ready=False reason', () => {
    const text = read(join(REPO_ROOT, 'docs/guides/troubleshooting.md'));
    const reasons = Object.values(REASONS).filter((r) => r !== REASONS.published);
    expect(reasons.filter((r) => !text.includes(`| \`${r}\` |`))).toEqual([]);
  });

  it.skipIf(!helmBinary() && !required)('monitoring.md lists every alert of the PrometheusRule', async () => {
    const objects = await renderChart({ set: ['metrics.prometheusRule.enabled=true'], apiVersions: [MONITORING_API] });
    const rule = objects.find((o) => o.kind === 'PrometheusRule') as unknown as {
      spec: { groups: { rules: { alert: string }[] }[] };
    };
    const alerts = rule.spec.groups.flatMap((g) => g.rules.map((r) => r.alert));
    const text = read(join(REPO_ROOT, 'docs/guides/monitoring.md'));
    expect(alerts.filter((a) => !text.includes(`| \`${a}\` |`))).toEqual([]);
  });

  it('every guide is linked from the README', () => {
    const readme = read(join(REPO_ROOT, 'README.md'));
    for (const g of readdirSync(join(REPO_ROOT, 'docs/guides')).filter((f) =>
      ['install.md', 'gitops.md', 'monitoring.md', 'troubleshooting.md', 'docker.md'].includes(f),
    ))
      expect(readme, g).toContain(`docs/guides/${g}`);
  });
});
