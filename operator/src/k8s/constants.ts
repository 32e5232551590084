/** Names the operator writes: field managers, labels, annotations, finalizers, condition types. */
export const GROUP = 'cra.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export const PLURALS = { Atlas: 'atlases', Policy: 'policies', AgentIdentity: 'agentidentities' } as const;

export const FIELD_MANAGER = 'cra-operator';
export const FINALIZER_FIELD_MANAGER = 'cra-operator-finalizer';
export const FINALIZER = 'cra.dev/bundle';

export const LABEL_MANAGED_BY = 'app.kubernetes.io/managed-by';
export const LABEL_NAME = 'app.kubernetes.io/name';
export const LABEL_COMPONENT = 'app.kubernetes.io/component';
export const LABEL_PART_OF = 'app.kubernetes.io/part-of';
export const MANAGED_BY = 'cra-operator';
export const BUNDLE_LABEL = 'cra.dev/bundle';
export const ANNOTATION_BUNDLE_VERSION = 'cra.dev/bundle-version';
export const ANNOTATION_CONFIG_HASH = 'cra.dev/config-hash';

export const CONDITION_READY = 'Ready';

export const EVENT_REASONS = {
  published: 'Published',
  rejected: 'Rejected',
  bundlePublished: 'BundlePublished',
} as const;
