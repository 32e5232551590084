import { verifyChain, type Principal, type TraceEvent, type VerifyResult } from '@cra/core';
import type { ReadEventsOptions, Stores } from '../store/ports.js';
import { verifyCheckpoints, type CheckpointReport, type CheckpointSink } from './checkpoints.js';
import type { Sessions } from './sessions.js';

/** Reading a session's chain: its owner, admins and auditors may. */
export class Traces {
  /** Set when the runtime writes signed checkpoints: verification then checks them too. */
  checkpoints: CheckpointSink | undefined;

  constructor(
    private readonly stores: Stores,
    private readonly sessions: Sessions,
  ) {}

  async events(principal: Principal, sessionId: string, options: ReadEventsOptions = {}): Promise<TraceEvent[]> {
    await this.sessions.get(principal, sessionId);
    return this.stores.traces.read(sessionId, options);
  }

  async verify(
    principal: Principal,
    sessionId: string,
  ): Promise<VerifyResult & { session_id: string; checkpoints?: CheckpointReport }> {
    const events = await this.events(principal, sessionId);
    const chain = verifyChain(events);
    if (!this.checkpoints) return { session_id: sessionId, ...chain };
    const report = await verifyCheckpoints(await this.checkpoints.list(), await this.checkpoints.keys(), async (id) =>
      id === sessionId ? events : null,
    );
    return { session_id: sessionId, ...chain, valid: chain.valid && report.valid, checkpoints: report };
  }
}
