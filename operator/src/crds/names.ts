/**
 * Names of CRA's custom resources (CRA-SPEC §1): group `cra.dev`, version `v1alpha1`, all
 * namespaced, one shared category so `kubectl get cra` lists every CRA resource.
 *
 * `@cra/core` exports the same `cra.dev/v1alpha1` as `CRA_API_VERSION` (a test keeps them equal).
 *
 * Short names avoid the common ones other operators already use: `pol` is Kyverno's Policy and
 * `netpol` the NetworkPolicy, so CRA's Policy is `crapol`.
 */
export const CRA_GROUP = 'cra.dev';
export const CRA_VERSION = 'v1alpha1';
export const CRA_CATEGORY = 'cra';

export interface ResourceNames {
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  shortNames: string[];
}

export const ATLAS_NAMES = {
  kind: 'Atlas',
  listKind: 'AtlasList',
  plural: 'atlases',
  singular: 'atlas',
  shortNames: ['atl'],
} as const satisfies ResourceNames;

export const POLICY_NAMES = {
  kind: 'Policy',
  listKind: 'PolicyList',
  plural: 'policies',
  singular: 'policy',
  shortNames: ['crapol'],
} as const satisfies ResourceNames;

export const AGENT_IDENTITY_NAMES = {
  kind: 'AgentIdentity',
  listKind: 'AgentIdentityList',
  plural: 'agentidentities',
  singular: 'agentidentity',
  shortNames: ['agentid', 'aid'],
} as const satisfies ResourceNames;

/** `<plural>.<group>`, the CRD's name. */
export function crdName(names: Pick<ResourceNames, 'plural'>): string {
  return `${names.plural}.${CRA_GROUP}`;
}
