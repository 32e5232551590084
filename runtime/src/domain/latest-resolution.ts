/**
 * The latest resolution of a CARP session: the one named by the last `carp.resolution.completed`
 * event on the session's TRACE chain, read from the resolution store. Both the chain and the
 * resolution store are shared by every replica, so any replica gives the same answer; the MCP
 * surface uses it as the session's "current resolution" (docs/adr/0010-mcp-sessions.md).
 *
 * The chain is read backwards in windows (by sequence, through the primary key) so a long
 * session costs a few small reads, not a scan of every event.
 */
import type { ChainHead } from '@cra/core';
import type { ResolutionRecord, Stores } from '../store/ports.js';

/** Events read per step while looking back for the last resolution. */
export const LATEST_RESOLUTION_WINDOW = 256;
const RESOLUTION_COMPLETED = 'carp.resolution.completed';

/**
 * The session's latest resolution issued to `agentId`, or undefined when the session has none
 * (or its record is gone: pruned after expiry). `knownHead`: the chain head the caller just read
 * with the session record (saves reading it again); null = no events yet.
 */
export async function latestResolution(
  stores: Pick<Stores, 'traces' | 'resolutions'>,
  sessionId: string,
  agentId: string,
  knownHead?: ChainHead | null,
): Promise<ResolutionRecord | undefined> {
  const head = knownHead === undefined ? await stores.traces.head(sessionId) : knownHead;
  if (!head) return undefined;
  let to = head.sequence;
  while (to >= 0) {
    const from = Math.max(0, to - LATEST_RESOLUTION_WINDOW + 1);
    const events = await stores.traces.read(sessionId, {
      fromSequence: from,
      limit: to - from + 1,
      eventTypes: [RESOLUTION_COMPLETED],
    });
    const last = events.filter((e) => e.sequence <= to).at(-1);
    if (last) {
      const id = last.payload.resolution_id;
      if (typeof id !== 'string') return undefined;
      const record = await stores.resolutions.get(id);
      return record && record.agent_id === agentId ? record : undefined;
    }
    to = from - 1;
  }
  return undefined;
}
