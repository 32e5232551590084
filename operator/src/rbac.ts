/**
 * Every API the operator touches, in one table: the chart's ClusterRole and Role and the tests'
 * least-privilege check are generated from it. `scope: watched` rules apply wherever CRA
 * resources are watched (a ClusterRole, or a Role per watched namespace); `scope: operator` only
 * in the operator's own namespace (a Role).
 */
export interface RbacRule {
  scope: 'watched' | 'operator';
  apiGroups: string[];
  resources: string[];
  verbs: string[];
  /** Why the operator needs it (rendered as a comment in the chart). */
  why: string;
}

const MANAGE = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'];

export const RBAC_RULES: readonly RbacRule[] = [
  {
    scope: 'watched',
    apiGroups: ['cra.dev'],
    resources: ['atlases', 'policies', 'agentidentities'],
    verbs: ['get', 'list', 'watch', 'patch'],
    why: 'watch the CRA resources; patch adds and removes the cra.dev/bundle finalizer',
  },
  {
    scope: 'watched',
    apiGroups: ['cra.dev'],
    resources: ['atlases/status', 'policies/status', 'agentidentities/status'],
    verbs: ['get', 'patch', 'update'],
    why: 'report Ready, observedGeneration and the reasons',
  },
  {
    scope: 'watched',
    apiGroups: ['cra.dev'],
    resources: ['atlases/finalizers', 'policies/finalizers', 'agentidentities/finalizers'],
    verbs: ['update'],
    why: 'finalizers on clusters that enforce owner-reference permissions',
  },
  {
    scope: 'watched',
    apiGroups: [''],
    resources: ['configmaps'],
    verbs: ['get'],
    why: 'context packs by configMapRef',
  },
  {
    scope: 'watched',
    apiGroups: [''],
    resources: ['secrets'],
    verbs: ['get'],
    why: 'API-key digests by apiKeySecretRef (only the referenced ones are read)',
  },
  {
    scope: 'watched',
    apiGroups: ['', 'events.k8s.io'],
    resources: ['events'],
    verbs: ['create', 'patch'],
    why: 'Events on the resources',
  },
  { scope: 'operator', apiGroups: [''], resources: ['configmaps'], verbs: MANAGE, why: 'publish the runtime bundle' },
  {
    scope: 'operator',
    apiGroups: ['', 'events.k8s.io'],
    resources: ['events'],
    verbs: ['create', 'patch'],
    why: 'Events on the Lease (leader election) and the bundle ConfigMap, also when this namespace is not watched',
  },
  {
    scope: 'operator',
    apiGroups: ['coordination.k8s.io'],
    resources: ['leases'],
    verbs: MANAGE,
    why: 'leader election',
  },
  {
    scope: 'operator',
    apiGroups: ['', 'apps', 'policy', 'autoscaling'],
    resources: ['services', 'serviceaccounts', 'deployments', 'poddisruptionbudgets', 'horizontalpodautoscalers'],
    verbs: MANAGE,
    why: 'the runtime workload',
  },
  {
    scope: 'operator',
    apiGroups: ['rbac.authorization.k8s.io'],
    resources: ['roles', 'rolebindings'],
    verbs: MANAGE,
    why: "the runtime's read access to the bundle ConfigMaps",
  },
];

/** Kubernetes PolicyRules for one scope. */
export function policyRules(scope: RbacRule['scope']): { apiGroups: string[]; resources: string[]; verbs: string[] }[] {
  return RBAC_RULES.filter((r) => r.scope === scope).map(({ apiGroups, resources, verbs }) => ({
    apiGroups,
    resources,
    verbs,
  }));
}
