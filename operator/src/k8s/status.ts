/**
 * Writes a resource's status through the status subresource (merge patch): observedGeneration,
 * the Ready condition (reason constant, field-level message) and kind-specific fields. Skips the
 * write when nothing changed.
 */
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { Verdict } from '../compile/gather.js';
import { sameConditions, setCondition, type Condition } from '../status/conditions.js';
import type { Clients } from './clients.js';
import { CONDITION_READY, GROUP, PLURALS, VERSION } from './constants.js';

export interface CurrentStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  ref?: string;
  bundleVersion?: string;
  actions?: number;
  contextPacks?: number;
  rules?: number;
  apiKeyConfigured?: boolean;
}

/** The status this verdict asks for, or undefined when `current` already says it. */
export function desiredStatus(
  verdict: Verdict,
  current: CurrentStatus | undefined,
  bundleVersion: string,
  now: string,
): CurrentStatus | undefined {
  const conditions = setCondition(
    current?.conditions,
    {
      type: CONDITION_READY,
      status: verdict.ready ? 'True' : 'False',
      reason: verdict.reason,
      message: verdict.message,
      ...(verdict.generation !== undefined ? { observedGeneration: verdict.generation } : {}),
    },
    now,
  );
  const next: CurrentStatus = {
    ...(verdict.generation !== undefined ? { observedGeneration: verdict.generation } : {}),
    conditions,
    ...(verdict.ref ? { ref: verdict.ref } : {}),
    ...(verdict.ready ? { bundleVersion } : {}),
    ...verdict.counts,
    ...(verdict.apiKeyConfigured !== undefined ? { apiKeyConfigured: verdict.apiKeyConfigured } : {}),
  };
  const unchanged =
    current?.observedGeneration === next.observedGeneration &&
    sameConditions(current?.conditions, conditions) &&
    current?.ref === next.ref &&
    current?.bundleVersion === next.bundleVersion &&
    current?.actions === next.actions &&
    current?.contextPacks === next.contextPacks &&
    current?.rules === next.rules &&
    current?.apiKeyConfigured === next.apiKeyConfigured;
  return unchanged ? undefined : next;
}

export async function writeStatus(c: Clients, verdict: Verdict, status: CurrentStatus): Promise<void> {
  await c.custom.patchNamespacedCustomObjectStatus(
    {
      group: GROUP,
      version: VERSION,
      namespace: verdict.namespace,
      plural: PLURALS[verdict.kind],
      name: verdict.name,
      body: {
        status: {
          ...status,
          ...(status.ref === undefined ? { ref: null } : {}),
          ...(status.bundleVersion === undefined ? { bundleVersion: null } : {}),
        },
      },
    },
    setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
  );
}
