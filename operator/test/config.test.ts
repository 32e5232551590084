/** Operator configuration: defaults, and one problem per bad value naming the variable or field. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadOperatorConfig, OperatorConfigError } from '../src/config.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cra-operator-config-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

function problems(env: Record<string, string>): string[] {
  try {
    loadOperatorConfig(env);
  } catch (err) {
    expect(err).toBeInstanceOf(OperatorConfigError);
    return (err as OperatorConfigError).problems;
  }
  throw new Error('expected the configuration to be refused');
}

describe('operator configuration', () => {
  it('has defaults for everything', () => {
    const config = loadOperatorConfig({});
    expect(config).toMatchObject({
      namespace: 'cra-system',
      watchNamespaces: [],
      bundleConfigMap: 'cra-runtime-bundle',
      leaderElection: {
        enabled: true,
        leaseName: 'cra-operator',
        leaseDurationMs: 15_000,
        renewDeadlineMs: 10_000,
        retryPeriodMs: 2_000,
      },
      resyncSeconds: 60,
      httpPort: 8081,
      runtime: {
        enabled: true,
        name: 'cra-runtime',
        replicas: 2,
        podDisruptionBudget: { enabled: true, minAvailable: 1 },
      },
    });
    expect(config.identity).toMatch(/_[0-9a-f-]{36}$/);
  });

  it('names every bad variable at once', () => {
    const found = problems({
      CRA_OPERATOR_NAMESPACE: 'Not_A_Namespace',
      CRA_WATCH_NAMESPACES: 'team-a, Team_B',
      CRA_BUNDLE_CONFIGMAP_NAME: 'bad/name',
      CRA_LEADER_ELECTION: 'maybe',
      CRA_LEASE_DURATION_MS: '15s',
      CRA_RESYNC_SECONDS: '0',
      CRA_OPERATOR_PORT: '70000',
    });
    for (const name of [
      'CRA_OPERATOR_NAMESPACE',
      'CRA_WATCH_NAMESPACES: "Team_B"',
      'CRA_BUNDLE_CONFIGMAP_NAME',
      'CRA_LEADER_ELECTION',
      'CRA_LEASE_DURATION_MS',
      'CRA_RESYNC_SECONDS',
      'CRA_OPERATOR_PORT',
    ])
      expect(
        found.some((p) => p.startsWith(name)),
        `${name} in ${JSON.stringify(found)}`,
      ).toBe(true);
    expect(found).toHaveLength(7);
  });

  it('reads the runtime workload file and names its bad fields', async () => {
    const good = join(dir, 'good.yaml');
    await writeFile(
      good,
      'replicas: 4\nautoscaling:\n  enabled: true\n  maxReplicas: 8\nenv:\n  CRA_LOG_LEVEL: debug\n',
    );
    const config = loadOperatorConfig({ CRA_RUNTIME_CONFIG_FILE: good });
    expect(config.runtime).toMatchObject({
      replicas: 4,
      autoscaling: { enabled: true, minReplicas: 2, maxReplicas: 8 },
    });
    expect(config.runtime.env).toEqual({ CRA_LOG_LEVEL: 'debug' });

    const bad = join(dir, 'bad.yaml');
    await writeFile(bad, 'replicas: many\nserviceType: Ingress\nimagePulPolicy: Always\n');
    const found = problems({ CRA_RUNTIME_CONFIG_FILE: bad });
    expect(found.some((p) => p.startsWith('runtime.replicas'))).toBe(true);
    expect(found.some((p) => p.startsWith('runtime.serviceType'))).toBe(true);
    expect(found.some((p) => p.includes('imagePulPolicy'))).toBe(true);

    const clash = join(dir, 'clash.yaml');
    await writeFile(
      clash,
      'env:\n  GITHUB_API_URL: https://example.test\nsecretEnv:\n  - {name: GITHUB_API_URL, secretName: gh, key: url}\n  - {name: 9BAD, secretName: gh, key: url}\n',
    );
    expect(problems({ CRA_RUNTIME_CONFIG_FILE: clash })).toEqual([
      expect.stringMatching(/^runtime\.secretEnv\.1\.name: /),
    ]);
    await writeFile(
      clash,
      'env:\n  GITHUB_API_URL: https://example.test\nsecretEnv:\n  - {name: GITHUB_API_URL, secretName: gh, key: url}\n',
    );
    expect(problems({ CRA_RUNTIME_CONFIG_FILE: clash })).toEqual([
      'runtime.secretEnv.0.name: GITHUB_API_URL is also set in runtime.env',
    ]);

    expect(problems({ CRA_RUNTIME_CONFIG_FILE: join(dir, 'missing.yaml') })[0]).toMatch(
      /^CRA_RUNTIME_CONFIG_FILE .*missing\.yaml: ENOENT/,
    );
  });
});
