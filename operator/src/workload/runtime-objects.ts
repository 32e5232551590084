/**
 * The runtime workload the operator manages, as pure builders from its configuration: a
 * ServiceAccount with read access to the bundle ConfigMaps, a Deployment (probes, config-hash
 * annotation on the pod template so a restart-requiring change rolls the pods; bundle changes do
 * not — the runtime applies them live), a Service, an optional PodDisruptionBudget and
 * HorizontalPodAutoscaler. Deterministic: no timestamps, sorted keys.
 */
import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { RuntimeWorkloadConfig } from '../config.js';
import { ownerReferences, type Owner } from '../k8s/apply.js';
import {
  ANNOTATION_CONFIG_HASH,
  LABEL_COMPONENT,
  LABEL_MANAGED_BY,
  LABEL_NAME,
  LABEL_PART_OF,
  MANAGED_BY,
} from '../k8s/constants.js';

export interface WorkloadInput {
  namespace: string;
  bundleConfigMap: string;
  owner?: Owner;
  config: RuntimeWorkloadConfig;
}

export type Workload = KubernetesObject & Record<string, unknown>;

function stable(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(stable);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value as object)
        .sort()
        .map((k) => [k, stable((value as Record<string, unknown>)[k])]),
    );
  }
  return value;
}

/** Hash of what needs a restart to take effect (image, env, resources…), not of the bundle. */
export function configHash(input: WorkloadInput): string {
  const { config } = input;
  const relevant = {
    image: config.image,
    env: config.env,
    envFromSecrets: config.envFromSecrets,
    secretEnv: config.secretEnv,
    resources: config.resources,
    port: config.port,
    bundle: `${input.namespace}/${input.bundleConfigMap}`,
  };
  return createHash('sha256')
    .update(JSON.stringify(stable(relevant)))
    .digest('hex')
    .slice(0, 16);
}

export function runtimeObjects(input: WorkloadInput): {
  apply: Workload[];
  remove: { apiVersion: string; kind: string; name: string }[];
} {
  const { namespace, config } = input;
  const name = config.name;
  const selector = { [LABEL_NAME]: 'cra', [LABEL_COMPONENT]: 'runtime' };
  const labels = { ...selector, [LABEL_MANAGED_BY]: MANAGED_BY, [LABEL_PART_OF]: 'cra' };
  const meta = (objectName: string) => ({ name: objectName, namespace, labels, ...ownerReferences(input.owner) });
  const env = [
    { name: 'CRA_BUNDLE_CONFIGMAP', value: `${namespace}/${input.bundleConfigMap}` },
    { name: 'CRA_HOST', value: '0.0.0.0' },
    { name: 'CRA_PORT', value: String(config.port) },
    { name: 'CRA_WATCH', value: 'false' },
    { name: 'CRA_INSTANCE_ID', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: 'CRA_REPLICAS', value: String(config.replicas) },
    ...Object.keys(config.env)
      .sort()
      .map((k) => ({ name: k, value: config.env[k]! })),
    ...[...config.secretEnv]
      .sort((a, b) => a.name.localeCompare(b.name))
      .map((e) => ({ name: e.name, valueFrom: { secretKeyRef: { name: e.secretName, key: e.key } } })),
  ];
  const apply: Workload[] = [
    { apiVersion: 'v1', kind: 'ServiceAccount', metadata: meta(name) },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: meta(name),
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'watch'] }],
    },
    {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: meta(name),
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name },
      subjects: [{ kind: 'ServiceAccount', name, namespace }],
    },
    {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: meta(name),
      spec: {
        ...(config.autoscaling.enabled ? {} : { replicas: config.replicas }),
        selector: { matchLabels: selector },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 0, maxSurge: 1 } },
        template: {
          metadata: {
            labels,
            annotations: { ...config.podAnnotations, [ANNOTATION_CONFIG_HASH]: configHash(input) },
          },
          spec: {
            serviceAccountName: name,
            automountServiceAccountToken: true,
            ...(config.imagePullSecrets.length > 0
              ? { imagePullSecrets: config.imagePullSecrets.map((n) => ({ name: n })) }
              : {}),
            securityContext: {
              runAsNonRoot: true,
              runAsUser: 10001,
              runAsGroup: 10001,
              fsGroup: 10001,
              seccompProfile: { type: 'RuntimeDefault' },
            },
            terminationGracePeriodSeconds: 30,
            containers: [
              {
                name: 'runtime',
                image: config.image,
                imagePullPolicy: config.imagePullPolicy,
                args: ['serve'],
                ports: [{ name: 'http', containerPort: config.port, protocol: 'TCP' }],
                env,
                ...(config.envFromSecrets.length > 0
                  ? { envFrom: config.envFromSecrets.map((s) => ({ secretRef: { name: s } })) }
                  : {}),
                resources: config.resources,
                readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 5, failureThreshold: 3 },
                livenessProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 10, failureThreshold: 3 },
                startupProbe: { httpGet: { path: '/healthz', port: 'http' }, periodSeconds: 2, failureThreshold: 30 },
                lifecycle: { preStop: { sleep: { seconds: 5 } } },
                securityContext: {
                  allowPrivilegeEscalation: false,
                  readOnlyRootFilesystem: true,
                  capabilities: { drop: ['ALL'] },
                },
                volumeMounts: [
                  { name: 'data', mountPath: '/var/lib/cra' },
                  { name: 'tmp', mountPath: '/tmp' },
                ],
              },
            ],
            volumes: [
              { name: 'data', emptyDir: {} },
              { name: 'tmp', emptyDir: {} },
            ],
            ...(Object.keys(config.nodeSelector).length > 0 ? { nodeSelector: config.nodeSelector } : {}),
            ...(config.tolerations.length > 0 ? { tolerations: config.tolerations } : {}),
            ...(Object.keys(config.affinity).length > 0 ? { affinity: config.affinity } : {}),
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: meta(name),
      spec: {
        type: config.serviceType,
        selector,
        ports: [{ name: 'http', port: config.port, targetPort: 'http', protocol: 'TCP' }],
      },
    },
  ];
  const remove: { apiVersion: string; kind: string; name: string }[] = [];
  if (config.podDisruptionBudget.enabled && config.replicas > 1) {
    apply.push({
      apiVersion: 'policy/v1',
      kind: 'PodDisruptionBudget',
      metadata: meta(name),
      spec: { minAvailable: config.podDisruptionBudget.minAvailable, selector: { matchLabels: selector } },
    });
  } else remove.push({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', name });
  if (config.autoscaling.enabled) {
    apply.push({
      apiVersion: 'autoscaling/v2',
      kind: 'HorizontalPodAutoscaler',
      metadata: meta(name),
      spec: {
        scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
        minReplicas: config.autoscaling.minReplicas,
        maxReplicas: config.autoscaling.maxReplicas,
        metrics: [
          {
            type: 'Resource',
            resource: {
              name: 'cpu',
              target: { type: 'Utilization', averageUtilization: config.autoscaling.targetCPUUtilizationPercentage },
            },
          },
        ],
      },
    });
  } else remove.push({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', name });
  return { apply, remove };
}
