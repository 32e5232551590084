import {
  AppsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  KubernetesObjectApi,
  PolicyV1Api,
  RbacAuthorizationV1Api,
  AutoscalingV2Api,
} from '@kubernetes/client-node';
import { reuseConnections } from './connections.js';

export interface Clients {
  kubeConfig: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
  objects: KubernetesObjectApi;
  coordination: CoordinationV1Api;
  policy: PolicyV1Api;
  rbac: RbacAuthorizationV1Api;
  autoscaling: AutoscalingV2Api;
}

/** In-cluster service account, else KUBECONFIG / ~/.kube/config; connections kept alive and reused. */
export function clients(kubeConfig?: KubeConfig): Clients {
  const kc = reuseConnections(
    kubeConfig ??
      (() => {
        const k = new KubeConfig();
        k.loadFromDefault();
        return k;
      })(),
  );
  return {
    kubeConfig: kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
    objects: KubernetesObjectApi.makeApiClient(kc),
    coordination: kc.makeApiClient(CoordinationV1Api),
    policy: kc.makeApiClient(PolicyV1Api),
    rbac: kc.makeApiClient(RbacAuthorizationV1Api),
    autoscaling: kc.makeApiClient(AutoscalingV2Api),
  };
}

/** The HTTP status of a client-node failure, if it carries one. */
export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}
