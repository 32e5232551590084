/**
 * The resolution a platform adapter works on: it must be the calling agent's own (another
 * agent's resolution does not exist for it, as with `GET /v1/resolutions/{id}`), and adapter
 * events join the resolution's trace unless the caller sends its own `traceparent`.
 */
import { CraError, type CARPResolution } from '@cra/core';
import type { CallContext } from '../domain/call-context.js';
import type { Cra } from '../domain/cra.js';

export async function ownResolution(cra: Cra, ctx: CallContext, resolutionId: string): Promise<CARPResolution> {
  if (!ctx.principal.roles.includes('agent')) {
    throw new CraError('FORBIDDEN', 'platform adapters need the agent role', {
      details: { roles: ctx.principal.roles },
    });
  }
  const record = await cra.stores.resolutions.get(resolutionId);
  if (!record || record.agent_id !== ctx.principal.agentId) {
    throw new CraError('RESOLUTION_NOT_FOUND', `resolution ${resolutionId} does not exist`);
  }
  return record.resolution;
}

/** Parent of an adapter operation's span: the caller's traceparent, else the resolution's span. */
export function adapterParent(
  ctx: CallContext,
  resolution: CARPResolution,
): { trace_id: string; parent_span_id: string } | undefined {
  return ctx.traceparent
    ? undefined
    : { trace_id: resolution.telemetry_link.trace_id, parent_span_id: resolution.telemetry_link.span_id };
}
