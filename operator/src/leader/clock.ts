/**
 * Time for the elector, injectable for tests. Expiry and `observedTime` use the monotonic clock
 * (`performance.now()`): a wall-clock step (NTP, VM resume) must not make a held lease look expired.
 * The wall clock (`Date.now()`) is used only for the stamps written to the Lease, which no elector
 * ever compares with its own time.
 */

export interface ElectionClock {
  /** Monotonic milliseconds, e.g. `performance.now()`. */
  monotonicMs(): number;
  /** Wall-clock milliseconds since the epoch, e.g. `Date.now()`; only for written stamps. */
  wallMs(): number;
  /** Calls `callback` after `ms`; returns a function that cancels it. */
  setTimer(callback: () => void, ms: number): () => void;
}

export const systemElectionClock: ElectionClock = {
  monotonicMs: () => performance.now(),
  wallMs: () => Date.now(),
  setTimer(callback, ms) {
    const timer = setTimeout(callback, ms);
    return () => clearTimeout(timer);
  },
};

/** Resolves after `ms`, or as soon as `signal` aborts (never rejects). */
export function sleep(clock: ElectionClock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) {
      resolve();
      return;
    }
    const onAbort = (): void => {
      cancel();
      resolve();
    };
    const cancel = clock.setTimer(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** An AbortController that aborts after `ms` on `clock`; `cancel()` drops the timer. */
export function deadline(
  clock: ElectionClock,
  ms: number,
  reason: string,
): { signal: AbortSignal; cancel: () => void } {
  const controller = new AbortController();
  const cancel = clock.setTimer(() => controller.abort(new Error(reason)), ms);
  return { signal: controller.signal, cancel };
}
