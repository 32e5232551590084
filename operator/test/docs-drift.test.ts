/**
 * The operator's reference pages describe what the code does: every environment variable the
 * configuration reads, every runtime-workload key, every Event reason and every metric.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadOperatorConfig } from '../src/config.js';
import { EVENT_REASONS } from '../src/k8s/constants.js';
import { LEADER_ELECTION_EVENT_REASON } from '../src/leader/events.js';
import { prometheusLeaderMetrics } from '../src/leader/metrics.js';
import { OperatorMetrics } from '../src/metrics.js';

const root = new URL('../../', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const operatorDoc = read('docs/reference/operator.md');
const metricsDoc = read('docs/reference/metrics.md');

describe('docs/reference/operator.md and metrics.md', () => {
  it('describe every environment variable the operator reads', () => {
    const source = read('operator/src/config.ts');
    const names = new Set([...source.matchAll(/\b(CRA_[A-Z_]+)\b/g)].map((m) => m[1]!));
    expect(names.size).toBeGreaterThan(10);
    for (const name of names) expect(operatorDoc, name).toContain(`\`${name}\``);
  });

  it('describe every runtime workload key, with its default', () => {
    const { runtime } = loadOperatorConfig({});
    for (const [key, value] of Object.entries(runtime)) {
      const row = operatorDoc.split('\n').find((line) => line.startsWith(`| \`${key}`));
      expect(row, key).toBeDefined();
      if (typeof value === 'string' || typeof value === 'number') expect(row, key).toContain(`\`${value}\``);
    }
  });

  it('describe every Event reason', () => {
    for (const reason of [...Object.values(EVENT_REASONS), LEADER_ELECTION_EVENT_REASON])
      expect(operatorDoc, reason).toContain(`| \`${reason}\``);
  });

  it('describe every operator metric', async () => {
    const metrics = new OperatorMetrics(() => 0);
    prometheusLeaderMetrics(metrics.registry);
    const names = (await metrics.registry.getMetricsAsJSON())
      .map((m) => m.name)
      .filter((n) => !/^cra_operator_(process|nodejs)_/.test(n));
    expect(names).toContain('cra_reconcile_total');
    for (const name of names) expect(metricsDoc, name).toContain(`| \`${name}\``);
  });
});
