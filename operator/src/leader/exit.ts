/**
 * The process-level reaction to losing leadership: exit (as controller-runtime does), so a leader
 * that could not renew cannot keep half-working. The operator's main wires this as
 * `onStoppedLeading`; tests pass their own callback.
 */
import type { Logger } from 'pino';
import type { StoppedLeadingInfo } from './elector.js';

/** Exit status of a process that lost leadership. */
export const LEADERSHIP_LOST_EXIT_CODE = 1;

export interface ExitOnLeadershipLostOptions {
  logger?: Logger;
  /** Default `process.exit`. */
  exit?: (code: number) => void;
}

/** An `onStoppedLeading` callback that exits with `LEADERSHIP_LOST_EXIT_CODE` on `lost` (a `stop()` is left to the caller). */
export function exitOnLeadershipLost(options: ExitOnLeadershipLostOptions = {}): (info: StoppedLeadingInfo) => void {
  const exit = options.exit ?? ((code: number) => process.exit(code));
  return (info) => {
    if (info.reason !== 'lost') return;
    options.logger?.fatal({ election: 'exiting', code: LEADERSHIP_LOST_EXIT_CODE }, 'leadership lost: exiting');
    options.logger?.flush?.();
    exit(LEADERSHIP_LOST_EXIT_CODE);
  };
}
