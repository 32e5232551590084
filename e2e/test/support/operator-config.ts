// The operator's configuration as the chart gives it: the env of the rendered operator Deployment
// (downward API fields resolved as the kubelet would) and its runtime configuration file.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Manifest } from '../../harness/chart.js';
import { loadOperatorConfig, type OperatorConfig } from '../../../operator/src/config.js';

type EnvVar = { name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } };

/** The operator's configuration exactly as the rendered Deployment and ConfigMap give it. */
export async function operatorConfigFromChart(
  objects: Manifest[],
  namespace: string,
  dir: string,
  podName = 'cra-operator-7d4b9c-x2x5q',
): Promise<{ env: Record<string, string>; config: OperatorConfig; deployment: string }> {
  const deployment = objects.find(
    (o) => o.kind === 'Deployment' && o.metadata.labels?.['app.kubernetes.io/component'] === 'operator',
  ) as (Manifest & { spec: { template: { spec: { containers: { env: EnvVar[] }[] } } } }) | undefined;
  if (!deployment) throw new Error('no operator Deployment rendered');
  const configMap = objects.find(
    (o) => o.kind === 'ConfigMap' && o.metadata.name === `${deployment.metadata.name}-config`,
  ) as (Manifest & { data: Record<string, string> }) | undefined;
  if (!configMap) throw new Error('no operator ConfigMap rendered');
  const file = join(dir, 'runtime.yaml');
  await writeFile(file, configMap.data['runtime.yaml']!);
  const env: Record<string, string> = {};
  for (const e of deployment.spec.template.spec.containers[0]!.env) {
    if (e.value !== undefined) env[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = namespace;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = podName;
  }
  env['CRA_RUNTIME_CONFIG_FILE'] = file;
  return { env, config: loadOperatorConfig(env), deployment: deployment.metadata.name };
}
