/**
 * The closed TRACE event catalog (CRA-SPEC §6.4). Extensions use the `custom.` prefix.
 */
export const EVENT_TYPES = [
  'session.started',
  'session.ended',
  'session.error',
  'carp.request.received',
  'carp.request.validated',
  'carp.resolution.started',
  'carp.resolution.completed',
  'carp.resolution.cache_hit',
  'carp.atlas.selected',
  'carp.context.selected',
  'carp.context.assembled',
  'carp.policy.evaluation.started',
  'carp.policy.evaluation.completed',
  'carp.policy.rule.matched',
  'carp.actions.resolved',
  'carp.evidence.gathered',
  'carp.validation.completed',
  'carp.action.requested',
  'carp.action.validated',
  'carp.action.denied',
  'carp.action.rate_limited',
  'carp.action.started',
  'carp.action.completed',
  'carp.action.failed',
  'carp.action.side_effect',
  'carp.action.approval.pending',
  'carp.action.approval.approved',
  'carp.action.approval.denied',
  'carp.action.approval.timeout',
  'atlas.bundle.loaded',
  'atlas.bundle.rejected',
  'adapter.tools.generated',
  'adapter.call.received',
  'system.startup',
  'system.shutdown',
  'system.config.loaded',
  'error.validation',
  'error.auth',
  'error.policy',
  'error.execution',
  'error.internal',
  'trace.checkpoint.signed',
] as const;

export type CatalogEventType = (typeof EVENT_TYPES)[number];
export type EventType = CatalogEventType | `custom.${string}`;

const CATALOG: ReadonlySet<string> = new Set(EVENT_TYPES);

export function isKnownEventType(type: string): type is EventType {
  return CATALOG.has(type) || /^custom\.[a-z0-9_.-]+$/i.test(type);
}
