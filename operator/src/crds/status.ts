/**
 * The `status` schema of CRA's resources: `observedGeneration`, standard conditions
 * (metav1.Condition, a map-list keyed by `type` so server-side apply merges them per type), the
 * bundle version and a few facts per kind. The condition type and reasons the operator writes are
 * its constants (`CONDITION_READY` in k8s/constants.ts, `REASONS` in compile/gather.ts);
 * docs/reference/resources.md lists them (a test keeps the page and the constants equal).
 */

export const MAX_CONDITIONS = 16;

/** metav1.Condition, as controller-gen writes it into CRDs. */
export const conditionSchema = {
  type: 'object',
  required: ['type', 'status', 'reason', 'message', 'lastTransitionTime'],
  properties: {
    type: {
      type: 'string',
      maxLength: 316,
      pattern:
        '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    reason: { type: 'string', minLength: 1, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$' },
    message: { type: 'string', maxLength: 32768 },
    lastTransitionTime: { type: 'string', format: 'date-time' },
    observedGeneration: { type: 'integer', format: 'int64', minimum: 0 },
  },
} as const;

const commonStatus = {
  observedGeneration: {
    type: 'integer',
    format: 'int64',
    minimum: 0,
    description: 'The metadata.generation the operator last acted on.',
  },
  conditions: {
    type: 'array',
    maxItems: MAX_CONDITIONS,
    description: 'Ready, Reconciling and Degraded, one entry per type.',
    'x-kubernetes-list-type': 'map',
    'x-kubernetes-list-map-keys': ['type'],
    items: conditionSchema,
  },
  bundleVersion: {
    type: 'string',
    maxLength: 64,
    description: 'Version of the runtime bundle that includes this generation.',
  },
};

function statusSchema(extra: Record<string, unknown>): Record<string, unknown> {
  return {
    type: 'object',
    description: 'Written by the operator through the status subresource.',
    properties: { ...commonStatus, ...extra },
  };
}

export const atlasStatusSchema = statusSchema({
  ref: { type: 'string', maxLength: 400, description: 'The atlas reference, <namespace>/<name>@<version>.' },
  actions: { type: 'integer', minimum: 0, description: 'Number of actions.' },
  contextPacks: { type: 'integer', minimum: 0, description: 'Number of context packs.' },
});

export const policyStatusSchema = statusSchema({
  rules: { type: 'integer', minimum: 0, description: 'Number of rules.' },
});

export const agentIdentityStatusSchema = statusSchema({
  apiKeyConfigured: {
    type: 'boolean',
    description: 'True when auth.apiKeySecretRef resolved to a valid SHA-256 digest.',
  },
});
