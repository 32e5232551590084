/**
 * A cache hit returns a new resolution (CRA-SPEC §3 step 7): same decision, context and grants,
 * but a fresh resolution id, fresh grant, block and evidence ids, and times counted from now.
 */
import type { CARPResolution, ResolveRequest } from '../carp/types.js';
import { isoTime, type IdSource } from '../ids.js';

export function reissueResolution(
  cached: CARPResolution,
  request: ResolveRequest,
  ids: IdSource,
  now: number,
  telemetry: CARPResolution['telemetry_link'],
): CARPResolution {
  const ttlMs = Date.parse(cached.ttl.resolution_expires_at) - Date.parse(cached.timestamp);
  const expiresAt = isoTime(now + ttlMs);
  const evidenceIds = new Map(cached.evidence.map((e) => [e.evidence_id, ids.uuid()]));
  const remap = (refs: string[]): string[] => refs.map((r) => evidenceIds.get(r) ?? r);
  return {
    ...cached,
    request_id: request.request_id,
    resolution_id: ids.uuid(),
    session_id: request.requester.session_id,
    timestamp: isoTime(now),
    context_blocks: cached.context_blocks.map((b) => ({
      ...b,
      block_id: ids.uuid(),
      evidence_refs: remap(b.evidence_refs),
    })),
    allowed_actions: cached.allowed_actions.map((g) => ({
      ...g,
      action_id: ids.uuid(),
      evidence_refs: remap(g.evidence_refs),
      valid_until: expiresAt,
    })),
    evidence: cached.evidence.map((e) => ({
      ...e,
      evidence_id: evidenceIds.get(e.evidence_id)!,
      created_at: isoTime(now),
    })),
    ttl: {
      context_expires_at: expiresAt,
      resolution_expires_at: expiresAt,
      refresh_hint_seconds: cached.ttl.refresh_hint_seconds,
    },
    telemetry_link: telemetry,
  };
}
