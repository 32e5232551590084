/**
 * Leader election: a port of client-go `tools/leaderelection/leaderelection.go` onto a `ResourceLock`
 * (a Lease in production). Documented in docs/reference/leader-election.md.
 *
 * - `tryAcquireOrRenew`: fast path (the leader PUTs on its cached resourceVersion) → GET (404 → create)
 *   → record changed since last seen? then `observedTime = now` on the LOCAL monotonic clock → held by
 *   someone else and `observedTime + leaseDuration > now`? give up → PUT (409 = lost the race).
 *   Lease timestamps are written for humans and other clients but never compared with local time.
 * - Acquire loop: every retryPeriod × (1 + rand·1.2) until it succeeds.
 * - Renew loop: every retryPeriod; a renew that does not succeed within renewDeadline (retrying every
 *   retryPeriod) loses leadership.
 * - The work gets an AbortSignal that aborts the moment leadership ends; on a graceful stop the lease
 *   is released (empty holder, leaseDurationSeconds 1) only after that work has settled.
 */
import { pino, type Logger } from 'pino';
import { deadline, sleep, systemElectionClock, type ElectionClock } from './clock.js';
import {
  JITTER_FACTOR,
  resolveLeaderElectionConfig,
  type LeaderElectionConfig,
  type ResolvedLeaderElectionConfig,
} from './config.js';
import { isLockNotFound, type ObservedLock, type ResourceLock } from './lock.js';
import { noLeaderMetrics, type LeaderMetrics } from './metrics.js';
import { formatMicroTime, type LeaderElectionRecord } from './record.js';

/** Why leadership ended: `lost` = no successful renew within renewDeadline (or another holder took the lease); `stopped` = `stop()`. */
export type StopReason = 'lost' | 'stopped';

export interface StoppedLeadingInfo {
  reason: StopReason;
  /** True when the lease was released (empty holder) before this callback. Never on `lost`. */
  released: boolean;
}

export interface LeaderCallbacks {
  /**
   * Called once leadership is acquired. `signal` aborts the moment leadership ends: gate every write on
   * it. A returned promise is awaited (bounded by renewDeadline) before the lease is released on stop.
   */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  /**
   * Called after leadership ended (never if it was never acquired). On `lost` the operator must exit
   * the process (`exitOnLeadershipLost`): a leader that cannot renew must not go on half-working.
   */
  onStoppedLeading(info: StoppedLeadingInfo): void;
  /** Called when the observed holder changes; `''` means nobody holds the lease (it was released). */
  onNewLeader?(identity: string): void;
}

/** Leadership transitions recorded as Kubernetes Events (client-go `Lock.RecordEvent`). */
export type LeaderTransition = 'became leader' | 'stopped leading';

export interface LeaderEventRecorder {
  /** Best effort; must not throw. */
  record(transition: LeaderTransition, identity: string): void;
}

export interface LeaderElectorOptions {
  config: LeaderElectionConfig;
  lock: ResourceLock;
  callbacks: LeaderCallbacks;
  clock?: ElectionClock;
  /** Uniform in [0, 1) for the acquire jitter. Default `Math.random`. */
  random?: () => number;
  logger?: Logger;
  metrics?: LeaderMetrics;
  events?: LeaderEventRecorder;
}

/** Resolves `promise`, or `fallback` as soon as `signal` aborts. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal, fallback: T): Promise<T> {
  if (signal.aborted) {
    promise.catch(() => undefined);
    return Promise.resolve(fallback);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => resolve(fallback);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error instanceof Error ? error : new Error(String(error)));
      },
    );
  });
}

function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export class LeaderElector {
  readonly config: ResolvedLeaderElectionConfig;
  private readonly lock: ResourceLock;
  private readonly callbacks: LeaderCallbacks;
  private readonly clock: ElectionClock;
  private readonly random: () => number;
  private readonly log: Logger;
  private readonly metrics: LeaderMetrics;
  private readonly events: LeaderEventRecorder | undefined;

  /** The record last seen (read, created or written) and when, on the monotonic clock. */
  private observedRecord: LeaderElectionRecord | undefined;
  private observedRaw: string | undefined;
  private observedTime = Number.NEGATIVE_INFINITY;
  private reportedLeader: string | undefined;

  private readonly stopController = new AbortController();
  private runPromise: Promise<void> | undefined;
  private leading: AbortController | undefined;
  private lossCause = 'no successful renewal within renewDeadline';

  constructor(options: LeaderElectorOptions) {
    this.config = resolveLeaderElectionConfig(options.config);
    this.lock = options.lock;
    this.callbacks = options.callbacks;
    this.clock = options.clock ?? systemElectionClock;
    this.random = options.random ?? Math.random;
    this.metrics = options.metrics ?? noLeaderMetrics;
    this.events = options.events;
    this.log = (options.logger ?? pino({ level: 'silent' })).child({
      component: 'leader-election',
      lease: this.lock.describe(),
      identity: this.config.identity,
    });
    const { leaseDurationMs: ld, renewDeadlineMs: rd, retryPeriodMs: rp } = this.config;
    if (ld <= rd + rp) {
      // A leader gives up at most retryPeriod + renewDeadline after its last renewal; a standby may take
      // over leaseDuration after seeing it. Below this margin the two can overlap.
      this.log.warn(
        { leaseDurationMs: ld, renewDeadlineMs: rd, retryPeriodMs: rp },
        'leaseDuration <= renewDeadline + retryPeriod: a leader that cannot renew may still act after its lease expired',
      );
    }
  }

  get identity(): string {
    return this.config.identity;
  }

  /** True from acquisition until leadership ends (the work's signal aborts at the same moment). */
  isLeader(): boolean {
    return this.leading !== undefined && !this.leading.signal.aborted;
  }

  /** The holder of the last observed record (`''` when released, `undefined` before the first read). */
  getLeader(): string | undefined {
    return this.observedRecord?.holderIdentity;
  }

  /**
   * client-go's `Check`: false when this process leads but has not renewed for longer than
   * leaseDuration + `maxTolerableExpiredMs` (a stuck leader; wire it into /healthz).
   */
  healthy(maxTolerableExpiredMs = 0): boolean {
    if (!this.isLeader()) return true;
    return this.clock.monotonicMs() - this.observedTime <= this.config.leaseDurationMs + maxTolerableExpiredMs;
  }

  /**
   * Campaigns until leadership is acquired, leads until it is lost or `stop()` is called, then
   * resolves. One run per elector: to campaign again, make a new one.
   */
  run(): Promise<void> {
    if (this.runPromise !== undefined) throw new Error('LeaderElector.run() may be called only once');
    this.runPromise = this.runElection();
    return this.runPromise;
  }

  /** Stops campaigning or leading: aborts the work, waits for it (≤ renewDeadline), releases the lease. */
  async stop(): Promise<void> {
    this.stopController.abort(new Error('leader election stopped'));
    await this.runPromise;
  }

  private async runElection(): Promise<void> {
    const stop = this.stopController.signal;
    this.metrics.setLeader(this.identity, false);
    if (!(await this.acquire(stop))) return;
    if (stop.aborted) {
      // Acquired while being stopped: hand the lease straight back, no work was started.
      if (this.config.releaseOnCancel) await this.release();
      return;
    }
    const leading = new AbortController();
    this.leading = leading;
    this.metrics.setLeader(this.identity, true);
    this.events?.record('became leader', this.identity);
    this.log.info({ election: 'started_leading' }, 'acquired the lease: leading');
    const work = Promise.resolve()
      .then(() => this.callbacks.onStartedLeading(leading.signal))
      .catch((error: unknown) => {
        this.log.error({ err: error }, 'onStartedLeading failed');
      });

    const reason = await this.renewUntilLost(stop);
    leading.abort(new Error(reason === 'lost' ? 'leadership lost' : 'leader election stopped'));
    this.metrics.setLeader(this.identity, false);
    this.events?.record('stopped leading', this.identity);

    let released = false;
    if (reason === 'lost') {
      this.log.error({ election: 'stopped_leading', reason, cause: this.lossCause }, 'leadership lost');
    } else {
      // Release only once the guarded work has finished; if it does not settle within renewDeadline,
      // leave the lease to expire rather than let a successor start while it still runs.
      const wait = deadline(this.clock, this.config.renewDeadlineMs, 'work did not stop');
      const settled = await untilAborted(
        work.then(() => true),
        wait.signal,
        false,
      );
      wait.cancel();
      if (!settled) this.log.warn('leading work did not stop within renewDeadline: not releasing the lease');
      else if (this.config.releaseOnCancel) released = await this.release();
      this.log.info({ election: 'stopped_leading', reason, released }, 'stopped leading');
    }
    try {
      this.callbacks.onStoppedLeading({ reason, released });
    } catch (error) {
      this.log.error({ err: error }, 'onStoppedLeading failed');
    }
  }

  /** client-go `acquire`: tryAcquireOrRenew every retryPeriod × (1 + rand·1.2) until it succeeds. */
  private async acquire(stop: AbortSignal): Promise<boolean> {
    this.log.info('attempting to acquire the lease');
    for (;;) {
      if (stop.aborted) return false;
      // Each attempt is bounded by renewDeadline, so a hung request cannot stall the campaign.
      const timeout = deadline(this.clock, this.config.renewDeadlineMs, 'acquire attempt timed out');
      const signal = AbortSignal.any([stop, timeout.signal]);
      const acquired = await untilAborted(this.attempt(signal), signal, false);
      timeout.cancel();
      this.maybeReportTransition();
      if (acquired) return true;
      if (stop.aborted) return false;
      const jittered = this.config.retryPeriodMs * (1 + this.random() * JITTER_FACTOR);
      await sleep(this.clock, jittered, stop);
    }
  }

  /** client-go `renew`: every retryPeriod, a renew that must succeed within renewDeadline. */
  private async renewUntilLost(stop: AbortSignal): Promise<StopReason> {
    // wait.Until: the first renew runs at once, then one every retryPeriod after the previous ended.
    for (;;) {
      if (stop.aborted) return 'stopped';
      const renewed = await this.renewWithinDeadline(stop);
      this.maybeReportTransition();
      if (stop.aborted) return 'stopped';
      if (!renewed) return 'lost';
      await sleep(this.clock, this.config.retryPeriodMs, stop);
    }
  }

  private async renewWithinDeadline(stop: AbortSignal): Promise<boolean> {
    const timeout = deadline(this.clock, this.config.renewDeadlineMs, 'renew deadline exceeded');
    const signal = AbortSignal.any([stop, timeout.signal]);
    try {
      for (;;) {
        if (signal.aborted) return false;
        if (await untilAborted(this.attempt(signal), signal, false)) return true;
        // Deliberately stricter than client-go, which keeps retrying until the deadline: once another
        // identity is seen holding the lease there is nothing left to renew, so stop at once.
        if (this.heldByAnother()) {
          this.lossCause = `the lease is held by ${this.observedRecord?.holderIdentity ?? ''}`;
          return false;
        }
        await sleep(this.clock, this.config.retryPeriodMs, signal);
      }
    } finally {
      timeout.cancel();
    }
  }

  private async attempt(signal: AbortSignal): Promise<boolean> {
    try {
      return await this.tryAcquireOrRenew(signal);
    } catch (error) {
      this.log.error({ err: error }, 'tryAcquireOrRenew failed unexpectedly');
      return false;
    }
  }

  /** client-go `tryAcquireOrRenew`, step for step. */
  private async tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const now = this.clock.monotonicMs();
    const stamp = formatMicroTime(this.clock.wallMs());
    const desired: LeaderElectionRecord = {
      holderIdentity: this.identity,
      leaseDurationSeconds: Math.floor(this.config.leaseDurationMs / 1000),
      acquireTime: stamp,
      renewTime: stamp,
      leaseTransitions: 0,
    };

    // 1. Fast path: the leader updates optimistically, assuming its cached object is current.
    const observed = this.observedRecord;
    if (observed !== undefined && this.observedHolderIsMe() && this.isLeaseValid(now)) {
      const renewal = { ...desired, acquireTime: observed.acquireTime, leaseTransitions: observed.leaseTransitions };
      try {
        await this.lock.update(renewal, signal);
        this.setObservedRecord(renewal);
        return true;
      } catch (error) {
        this.log.debug({ err: describeError(error) }, 'optimistic renew failed, falling back to the slow path');
      }
    }

    // 2. Obtain or create the record.
    let current: ObservedLock;
    try {
      current = await this.lock.get(signal);
    } catch (error) {
      if (!isLockNotFound(error)) {
        this.log.warn({ err: describeError(error) }, 'error retrieving the lease');
        return false;
      }
      try {
        await this.lock.create(desired, signal);
      } catch (createError) {
        this.log.warn({ err: describeError(createError) }, 'error creating the lease');
        return false;
      }
      this.setObservedRecord(desired);
      return true;
    }

    // 3. Record obtained: if it changed since we last looked, restart the expiry clock (local time).
    if (current.raw !== this.observedRaw) {
      this.setObservedRecord(current.record);
      this.observedRaw = current.raw;
    }
    const record = current.record;
    if (
      record.holderIdentity !== '' &&
      record.holderIdentity !== this.identity &&
      this.observedTime + record.leaseDurationSeconds * 1000 > now
    ) {
      this.log.debug({ holder: record.holderIdentity }, 'the lease is held and has not expired');
      return false;
    }

    // 4. Update: keep acquireTime and transitions when renewing, count a transition when taking over.
    const next: LeaderElectionRecord =
      record.holderIdentity === this.identity
        ? { ...desired, acquireTime: record.acquireTime, leaseTransitions: record.leaseTransitions }
        : { ...desired, leaseTransitions: record.leaseTransitions + 1 };
    try {
      await this.lock.update(next, signal);
    } catch (error) {
      this.log.debug({ err: describeError(error) }, 'failed to update the lease');
      return false;
    }
    this.setObservedRecord(next);
    return true;
  }

  /**
   * client-go `release`: re-read the Lease (a renewal aborted in flight may have landed and moved the
   * resourceVersion), and if it is still ours PUT an empty holder, leaseDurationSeconds 1, times now,
   * transitions unchanged. A Lease that someone else holds by now is left alone.
   */
  private async release(): Promise<boolean> {
    if (!this.observedHolderIsMe()) return true;
    const timeout = deadline(this.clock, this.config.renewDeadlineMs, 'release deadline exceeded');
    try {
      const current = await untilAborted(this.lock.get(timeout.signal), timeout.signal, undefined);
      if (current === undefined) throw new Error('release deadline exceeded');
      if (current.record.holderIdentity !== this.identity) {
        this.setObservedRecord(current.record);
        this.observedRaw = current.raw;
        this.log.info({ holder: current.record.holderIdentity }, 'not releasing: the lease is no longer ours');
        return false;
      }
      const stamp = formatMicroTime(this.clock.wallMs());
      const released: LeaderElectionRecord = {
        holderIdentity: '',
        leaseDurationSeconds: 1,
        acquireTime: stamp,
        renewTime: stamp,
        leaseTransitions: current.record.leaseTransitions,
      };
      const done = await untilAborted(
        this.lock.update(released, timeout.signal).then(() => true),
        timeout.signal,
        false,
      );
      if (!done) throw new Error('release deadline exceeded');
      this.setObservedRecord(released);
      this.log.info({ election: 'released' }, 'released the lease');
      return true;
    } catch (error) {
      this.log.warn({ err: describeError(error) }, 'failed to release the lease');
      return false;
    } finally {
      timeout.cancel();
    }
  }

  private setObservedRecord(record: LeaderElectionRecord): void {
    this.observedRecord = record;
    this.observedTime = this.clock.monotonicMs();
  }

  private observedHolderIsMe(): boolean {
    return this.observedRecord?.holderIdentity === this.identity;
  }

  private heldByAnother(): boolean {
    const holder = this.observedRecord?.holderIdentity;
    return holder !== undefined && holder !== '' && holder !== this.identity;
  }

  private isLeaseValid(now: number): boolean {
    const seconds = this.observedRecord?.leaseDurationSeconds ?? 0;
    return this.observedTime + seconds * 1000 > now;
  }

  private maybeReportTransition(): void {
    const holder = this.observedRecord?.holderIdentity;
    if (holder === undefined || holder === this.reportedLeader) return;
    this.reportedLeader = holder;
    this.log.info({ election: 'new_leader', holder }, holder === '' ? 'the lease was released' : 'new leader observed');
    const onNewLeader = this.callbacks.onNewLeader;
    if (onNewLeader === undefined) return;
    queueMicrotask(() => {
      try {
        onNewLeader(holder);
      } catch (error) {
        this.log.error({ err: error }, 'onNewLeader failed');
      }
    });
  }
}
