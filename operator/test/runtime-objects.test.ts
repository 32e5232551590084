/** The runtime workload builders: deterministic objects from the operator's configuration. */
import { describe, expect, it } from 'vitest';
import { loadOperatorConfig, type RuntimeWorkloadConfig } from '../src/config.js';
import { configHash, runtimeObjects } from '../src/workload/runtime-objects.js';

const base = loadOperatorConfig({}).runtime;
const build = (config: Partial<RuntimeWorkloadConfig>) =>
  runtimeObjects({ namespace: 'cra-system', bundleConfigMap: 'cra-runtime-bundle', config: { ...base, ...config } });

interface PodSpec {
  imagePullSecrets?: { name: string }[];
  containers: { env: { name: string; value?: string; valueFrom?: unknown }[]; envFrom?: unknown[] }[];
}
const podSpec = (objects: ReturnType<typeof build>) =>
  (objects.apply.find((o) => o.kind === 'Deployment') as unknown as { spec: { template: { spec: PodSpec } } }).spec
    .template.spec;

describe('runtime workload', () => {
  it('is deterministic', () => {
    expect(JSON.stringify(build({}))).toBe(JSON.stringify(build({})));
  });

  it('sets pull secrets and single variables from Secret keys', () => {
    const spec = podSpec(
      build({
        imagePullSecrets: ['regcred'],
        secretEnv: [{ name: 'GITHUB_API_URL', secretName: 'github-enterprise', key: 'api-url' }],
        envFromSecrets: ['cra-store-urls'],
      }),
    );
    expect(spec.imagePullSecrets).toEqual([{ name: 'regcred' }]);
    expect(spec.containers[0]!.env).toContainEqual({
      name: 'GITHUB_API_URL',
      valueFrom: { secretKeyRef: { name: 'github-enterprise', key: 'api-url' } },
    });
    expect(spec.containers[0]!.envFrom).toEqual([{ secretRef: { name: 'cra-store-urls' } }]);
    expect(podSpec(build({})).imagePullSecrets).toBeUndefined();
  });

  it('rolls the pods (config hash) for a new secret variable, not for a pull secret', () => {
    const input = (config: Partial<RuntimeWorkloadConfig>) => ({
      namespace: 'cra-system',
      bundleConfigMap: 'cra-runtime-bundle',
      config: { ...base, ...config },
    });
    const plain = configHash(input({}));
    expect(configHash(input({ imagePullSecrets: ['regcred'] }))).toBe(plain);
    expect(configHash(input({ secretEnv: [{ name: 'X', secretName: 's', key: 'k' }] }))).not.toBe(plain);
  });
});
