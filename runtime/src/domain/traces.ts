import { verifyChain, type Principal, type TraceEvent, type VerifyResult } from '@cra/core';
import type { ReadEventsOptions, Stores } from '../store/ports.js';
import type { Sessions } from './sessions.js';

/** Reading a session's chain: its owner, admins and auditors may. */
export class Traces {
  constructor(
    private readonly stores: Stores,
    private readonly sessions: Sessions,
  ) {}

  async events(principal: Principal, sessionId: string, options: ReadEventsOptions = {}): Promise<TraceEvent[]> {
    await this.sessions.get(principal, sessionId);
    return this.stores.traces.read(sessionId, options);
  }

  async verify(principal: Principal, sessionId: string): Promise<VerifyResult & { session_id: string }> {
    const events = await this.events(principal, sessionId);
    return { session_id: sessionId, ...verifyChain(events) };
  }
}
