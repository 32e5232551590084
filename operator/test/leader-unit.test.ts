/**
 * LeaderElector against an in-memory lock ("server" with resourceVersions and injectable faults) and a
 * manual clock: acquisition, held leases, the renew fast path, transitions, observed-time expiry with
 * skewed wall clocks, renew-deadline loss, release semantics, metrics. No real time passes.
 */
import { ApiException, type V1Lease } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import {
  LEADER_METRIC,
  LEADERSHIP_LOST_EXIT_CODE,
  LeaderElectionConfigError,
  LeaderElector,
  LeaseLock,
  LockError,
  MICRO_TIME_PATTERN,
  WireMicroTime,
  exitOnLeadershipLost,
  formatMicroTime,
  leaseSpecFromRecord,
  prometheusLeaderMetrics,
  rawRecord,
  recordFromLeaseSpec,
  resolveLeaderElectionConfig,
  type ElectionClock,
  type LeaderElectionConfig,
  type LeaderElectionRecord,
  type LeaseApi,
  type ObservedLock,
  type ResourceLock,
  type StoppedLeadingInfo,
} from '../src/leader/index.js';

// ---- manual clock ------------------------------------------------------------------------------

async function flush(): Promise<void> {
  for (let i = 0; i < 3; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

interface Timer {
  at: number;
  seq: number;
  callback: () => void;
}

/** Monotonic and wall time advance together; `skewWall` moves only the wall clock. */
class ManualClock implements ElectionClock {
  mono = 10_000;
  wall = Date.UTC(2026, 0, 15, 12, 0, 0);
  private timers: Timer[] = [];
  private seq = 0;

  monotonicMs(): number {
    return this.mono;
  }
  wallMs(): number {
    return this.wall;
  }
  setTimer(callback: () => void, ms: number): () => void {
    const timer = { at: this.mono + Math.max(0, ms), seq: this.seq++, callback };
    this.timers.push(timer);
    return () => {
      this.timers = this.timers.filter((t) => t !== timer);
    };
  }
  skewWall(ms: number): void {
    this.wall += ms;
  }
  /** Runs every timer due within `ms`, in order, letting promises settle between them. */
  async advance(ms: number): Promise<void> {
    const target = this.mono + ms;
    for (;;) {
      await flush();
      const due = this.timers.filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (due === undefined) break;
      this.timers = this.timers.filter((t) => t !== due);
      this.wall += due.at - this.mono;
      this.mono = due.at;
      due.callback();
    }
    this.wall += target - this.mono;
    this.mono = target;
    await flush();
  }
  /** Advances in `step` increments until `predicate` holds; returns the monotonic time it first held. */
  async until(predicate: () => boolean, limitMs: number, step = 10): Promise<number> {
    const end = this.mono + limitMs;
    while (!predicate()) {
      if (this.mono >= end) throw new Error(`condition not met within ${limitMs} ms`);
      await this.advance(step);
    }
    return this.mono;
  }
}

// ---- in-memory lock ----------------------------------------------------------------------------

type Op = 'get' | 'create' | 'update';
/** `applied-then-hang`: the server applies the write, the response never arrives (until aborted). */
type Fault = number | 'hang' | 'applied-then-hang' | undefined;

interface Call {
  client: string;
  op: Op;
  /** resourceVersion the update was guarded by. */
  rv?: number;
  record?: LeaderElectionRecord;
  at: number;
}

class FakeServer {
  object: { record: LeaderElectionRecord; rv: number } | undefined;
  private rv = 100;
  calls: Call[] = [];
  /** Decides a fault per call: an HTTP status to fail with, 'hang' to never answer, undefined to proceed. */
  fault: (client: string, op: Op) => Fault = () => undefined;

  constructor(private readonly clock: ManualClock) {}

  put(record: LeaderElectionRecord): void {
    this.object = { record: { ...record }, rv: ++this.rv };
  }
  /** A write that changes only metadata (labels, annotations): the resourceVersion moves, the record does not. */
  touch(): void {
    if (this.object) this.object.rv = ++this.rv;
  }
  nextRv(): number {
    return ++this.rv;
  }
  record(): LeaderElectionRecord | undefined {
    return this.object?.record;
  }
  log(call: Omit<Call, 'at'>): void {
    this.calls.push({ ...call, at: this.clock.monotonicMs() });
  }
}

class FakeLock implements ResourceLock {
  cached: { record: LeaderElectionRecord; rv: number } | undefined;

  constructor(
    private readonly server: FakeServer,
    private readonly client: string,
  ) {}

  describe(): string {
    return `test/${this.client}`;
  }

  private async io(op: Op, signal: AbortSignal | undefined, fault: Fault): Promise<void> {
    await Promise.resolve();
    if (fault === 'hang' || fault === 'applied-then-hang') {
      await new Promise<never>((_, reject) => {
        signal?.addEventListener('abort', () => reject(new LockError(`${op}: aborted`)), { once: true });
      });
    }
    if (typeof fault === 'number') throw new LockError(`${op}: HTTP ${fault}`, fault);
    if (signal?.aborted) throw new LockError(`${op}: aborted`);
  }

  async get(signal?: AbortSignal): Promise<ObservedLock> {
    this.server.log({ client: this.client, op: 'get' });
    await this.io('get', signal, this.server.fault(this.client, 'get'));
    const object = this.server.object;
    if (object === undefined) throw new LockError('not found', 404);
    this.cached = { record: { ...object.record }, rv: object.rv };
    return { record: { ...object.record }, raw: rawRecord(object.record) };
  }

  async create(record: LeaderElectionRecord, signal?: AbortSignal): Promise<void> {
    this.server.log({ client: this.client, op: 'create', record });
    await this.io('create', signal, this.server.fault(this.client, 'create'));
    if (this.server.object !== undefined) throw new LockError('already exists', 409);
    this.server.put(record);
    this.cached = { record: { ...record }, rv: this.server.object!.rv };
  }

  async update(record: LeaderElectionRecord, signal?: AbortSignal): Promise<void> {
    this.server.log({ client: this.client, op: 'update', record, ...(this.cached ? { rv: this.cached.rv } : {}) });
    const fault = this.server.fault(this.client, 'update');
    if (fault === 'applied-then-hang' && this.server.object?.rv === this.cached?.rv) this.server.put(record);
    await this.io('update', signal, fault); // applied-then-hang: the cache keeps the old resourceVersion
    if (this.cached === undefined) throw new LockError('lease not initialized');
    if (this.server.object?.rv !== this.cached.rv) throw new LockError('conflict', 409);
    this.server.put(record);
    this.cached = { record: { ...record }, rv: this.server.object.rv };
  }
}

// ---- harness -----------------------------------------------------------------------------------

const TIMINGS = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

interface Candidate {
  elector: LeaderElector;
  lock: FakeLock;
  started: AbortSignal[];
  stopped: StoppedLeadingInfo[];
  leaders: string[];
  metric: boolean[];
  done: Promise<void>;
  signal(): AbortSignal;
}

function candidate(
  server: FakeServer,
  clock: ManualClock,
  identity: string,
  options: {
    config?: Partial<LeaderElectionConfig>;
    work?: (signal: AbortSignal) => void | Promise<void>;
    random?: () => number;
  } = {},
): Candidate {
  const lock = new FakeLock(server, identity);
  const started: AbortSignal[] = [];
  const stopped: StoppedLeadingInfo[] = [];
  const leaders: string[] = [];
  const metric: boolean[] = [];
  const elector = new LeaderElector({
    config: { namespace: 'test', name: 'lease', identity, ...TIMINGS, ...options.config },
    lock,
    clock,
    random: options.random ?? (() => 0),
    metrics: { setLeader: (_id, leading) => metric.push(leading) },
    callbacks: {
      onStartedLeading(signal) {
        started.push(signal);
        return options.work?.(signal);
      },
      onStoppedLeading: (info) => stopped.push(info),
      onNewLeader: (leader) => leaders.push(leader),
    },
  });
  return {
    elector,
    lock,
    started,
    stopped,
    leaders,
    metric,
    done: elector.run(),
    signal() {
      const signal = started[0];
      if (signal === undefined) throw new Error(`${identity} never started leading`);
      return signal;
    },
  };
}

function heldBy(identity: string, overrides: Partial<LeaderElectionRecord> = {}): LeaderElectionRecord {
  const stamp = formatMicroTime(Date.UTC(2026, 0, 15, 11, 59, 0));
  return {
    holderIdentity: identity,
    leaseDurationSeconds: 15,
    acquireTime: stamp,
    renewTime: stamp,
    leaseTransitions: 4,
    ...overrides,
  };
}

function setup(): { clock: ManualClock; server: FakeServer } {
  const clock = new ManualClock();
  return { clock, server: new FakeServer(clock) };
}

// ---- configuration -----------------------------------------------------------------------------

describe('configuration', () => {
  it('defaults to 15 s / 10 s / 2 s, releaseOnCancel, and a hostname_uuid identity', () => {
    const config = resolveLeaderElectionConfig({ namespace: 'cra-system', name: 'cra-operator' });
    expect(config).toMatchObject({
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2_000,
      releaseOnCancel: true,
    });
    expect(config.identity).toMatch(/^.+_[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(resolveLeaderElectionConfig({ namespace: 'a', name: 'b' }).identity).not.toBe(config.identity);
  });

  it.each([
    [{ leaseDurationMs: 10_000 }, '/leaseDurationMs', /greater than renewDeadlineMs/],
    [{ renewDeadlineMs: 2_400 }, '/renewDeadlineMs', /greater than 1.2 × retryPeriodMs/],
    [{ leaseDurationMs: 15_500 }, '/leaseDurationMs', /whole number of seconds/],
    [{ retryPeriodMs: 0 }, '/retryPeriodMs', /positive/],
    [{ namespace: '' }, '/namespace', /non-empty/],
    [{ identity: '' }, '/identity', /non-empty/],
  ])('rejects %o naming %s', (override, path, message) => {
    let error: unknown;
    try {
      resolveLeaderElectionConfig({ namespace: 'ns', name: 'lease', ...override });
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(LeaderElectionConfigError);
    const violation = (error as LeaderElectionConfigError).violations.find((v) => v.path === path);
    expect(violation?.message).toMatch(message);
  });

  it('accepts the boundary just above 1.2 × retryPeriod', () => {
    expect(() =>
      resolveLeaderElectionConfig({
        namespace: 'ns',
        name: 'l',
        leaseDurationMs: 3_000,
        renewDeadlineMs: 601,
        retryPeriodMs: 500,
      }),
    ).not.toThrow();
  });
});

// ---- acquisition -------------------------------------------------------------------------------

describe('acquisition', () => {
  it('creates a missing lease and leads at once', async () => {
    const { clock, server } = setup();
    const a = candidate(server, clock, 'a');
    await clock.advance(0);

    expect(a.started).toHaveLength(1);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.signal().aborted).toBe(false);
    const record = server.record()!;
    expect(record).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15, leaseTransitions: 0 });
    expect(record.acquireTime).toBe(formatMicroTime(clock.wall));
    expect(record.renewTime).toMatch(MICRO_TIME_PATTERN);
    expect(a.leaders).toEqual(['a']);
    expect(a.metric).toEqual([false, true]);
    await a.elector.stop();
  });

  it('takes over a released lease (empty holder) immediately and counts a transition', async () => {
    const { clock, server } = setup();
    server.put(heldBy('', { leaseDurationSeconds: 1, leaseTransitions: 7 }));
    const a = candidate(server, clock, 'a');
    await clock.advance(0);

    expect(a.started).toHaveLength(1);
    expect(server.record()).toMatchObject({ holderIdentity: 'a', leaseTransitions: 8, leaseDurationSeconds: 15 });
    await a.elector.stop();
  });

  it('respects a held lease for leaseDuration after it first saw it, however old its renewTime', async () => {
    const { clock, server } = setup();
    // Stamped a year before the local wall clock: a candidate comparing timestamps would take it at once.
    server.put(heldBy('other', { renewTime: formatMicroTime(Date.UTC(2025, 0, 1)) }));
    const t0 = clock.mono;
    const a = candidate(server, clock, 'a');

    const acquiredAt = await clock.until(() => a.started.length > 0, 30_000);
    expect(acquiredAt - t0).toBeGreaterThanOrEqual(TIMINGS.leaseDurationMs);
    // The acquire loop polls every retryPeriod (random() = 0: no jitter), so it is the first poll past expiry.
    expect(acquiredAt - t0).toBeLessThanOrEqual(TIMINGS.leaseDurationMs + TIMINGS.retryPeriodMs);
    expect(server.record()).toMatchObject({ holderIdentity: 'a', leaseTransitions: 5 });
    expect(a.leaders).toEqual(['other', 'a']);
    await a.elector.stop();
  });

  it('takes over a lease stamped in the future once it stops changing (wall-clock skew is irrelevant)', async () => {
    const { clock, server } = setup();
    clock.skewWall(-3_600_000); // this host's wall clock is an hour behind
    server.put(heldBy('other', { renewTime: formatMicroTime(Date.UTC(2026, 0, 15, 12, 0, 0)) }));
    const t0 = clock.mono;
    const a = candidate(server, clock, 'a');

    const acquiredAt = await clock.until(() => a.started.length > 0, 30_000);
    expect(acquiredAt - t0).toBeGreaterThanOrEqual(TIMINGS.leaseDurationMs);
    expect(acquiredAt - t0).toBeLessThanOrEqual(TIMINGS.leaseDurationMs + TIMINGS.retryPeriodMs);
    // The stamps it writes come from its own wall clock, an hour "earlier" than the old ones: no matter.
    expect(server.record()!.acquireTime).toBe(formatMicroTime(clock.wall));
    await a.elector.stop();
  });

  it('never acquires while the holder keeps renewing, and takes over leaseDuration after the last change it saw', async () => {
    const { clock, server } = setup();
    server.put(heldBy('other'));
    const a = candidate(server, clock, 'a');
    let renewals = 0;
    for (let i = 0; i < 20; i++) {
      await clock.advance(1_500);
      server.put(heldBy('other', { renewTime: formatMicroTime(clock.wall) }));
      renewals += 1;
    }
    expect(renewals).toBe(20);
    expect(a.started).toHaveLength(0);
    expect(server.calls.filter((c) => c.client === 'a' && c.op === 'update')).toHaveLength(0);

    // The holder stops. `a` sees the last change at its next poll, then waits a full leaseDuration.
    const lastChange = clock.mono;
    const acquiredAt = await clock.until(() => a.started.length > 0, 30_000);
    expect(acquiredAt - lastChange).toBeGreaterThanOrEqual(TIMINGS.leaseDurationMs);
    expect(acquiredAt - lastChange).toBeLessThanOrEqual(TIMINGS.leaseDurationMs + 2 * TIMINGS.retryPeriodMs);
    await a.elector.stop();
  });

  it('uses the holder’s leaseDurationSeconds from the record, not its own', async () => {
    const { clock, server } = setup();
    server.put(heldBy('other', { leaseDurationSeconds: 40 }));
    const t0 = clock.mono;
    const a = candidate(server, clock, 'a');
    const acquiredAt = await clock.until(() => a.started.length > 0, 60_000);
    expect(acquiredAt - t0).toBeGreaterThanOrEqual(40_000);
    expect(server.record()).toMatchObject({ holderIdentity: 'a', leaseDurationSeconds: 15 });
    await a.elector.stop();
  });

  it('waits retryPeriod × (1 + rand·1.2) between attempts', async () => {
    const { clock, server } = setup();
    server.put(heldBy('other'));
    const draws = [0.5, 1, 0];
    let i = 0;
    const t0 = clock.mono;
    const a = candidate(server, clock, 'a', { random: () => draws[i++ % draws.length]! });
    await clock.advance(12_000);
    const gets = server.calls.filter((c) => c.client === 'a' && c.op === 'get').map((c) => c.at - t0);
    // 0, then +2000×1.6, +2000×2.2, +2000×1.0, +2000×1.6 …
    expect(gets.slice(0, 5)).toEqual([0, 3_200, 7_600, 9_600, 12_800].filter((t) => t <= 12_000));
    await a.elector.stop();
  });

  it('loses a create race with 409 and then respects the winner', async () => {
    const { clock, server } = setup();
    server.fault = (client, op) => {
      if (client === 'a' && op === 'create') {
        server.put(heldBy('b')); // b's create lands first
        return 409;
      }
      return undefined;
    };
    const a = candidate(server, clock, 'a');
    await clock.advance(5_000);
    expect(a.started).toHaveLength(0);
    expect(server.record()?.holderIdentity).toBe('b');
    expect(a.elector.getLeader()).toBe('b');
    await a.elector.stop();
  });

  it('exactly one of several candidates leads', async () => {
    const { clock, server } = setup();
    const all = ['a', 'b', 'c'].map((id, n) => candidate(server, clock, id, { random: () => n / 3 }));
    await clock.advance(60_000);
    expect(all.filter((c) => c.started.length > 0)).toHaveLength(1);
    expect(all.filter((c) => c.elector.isLeader())).toHaveLength(1);
    const leader = server.record()!.holderIdentity;
    for (const c of all) expect(c.leaders).toEqual([leader]);
    await Promise.all(all.map((c) => c.elector.stop()));
  });
});

// ---- renewal -----------------------------------------------------------------------------------

describe('renewal', () => {
  it('renews on the fast path: PUT on the cached resourceVersion, no GET, acquireTime and transitions kept', async () => {
    const { clock, server } = setup();
    server.put(heldBy('', { leaseTransitions: 2 }));
    const a = candidate(server, clock, 'a');
    await clock.advance(0);
    const acquired = { ...server.record()! };
    expect(acquired.leaseTransitions).toBe(3);
    const getsAfterAcquire = server.calls.filter((c) => c.op === 'get').length;

    await clock.advance(20_000);
    const updates = server.calls.filter((c) => c.op === 'update');
    expect(updates.length).toBeGreaterThanOrEqual(10); // one per retryPeriod
    expect(server.calls.filter((c) => c.op === 'get')).toHaveLength(getsAfterAcquire);
    // Each PUT is guarded by the resourceVersion the previous PUT returned.
    for (let i = 1; i < updates.length; i++) expect(updates[i]!.rv).toBe(updates[i - 1]!.rv! + 1);
    const record = server.record()!;
    expect(record).toMatchObject({ holderIdentity: 'a', leaseTransitions: 3, acquireTime: acquired.acquireTime });
    expect(record.renewTime).toBe(formatMicroTime(clock.wall - (clock.mono - updates.at(-1)!.at)));
    expect(record.renewTime! > acquired.renewTime!).toBe(true);
    await a.elector.stop();
  });

  it('falls back to GET + PUT when the fast path hits a 409 (metadata changed), and stays leader', async () => {
    const { clock, server } = setup();
    const a = candidate(server, clock, 'a');
    await clock.advance(0);
    server.touch(); // someone added a label: resourceVersion moves, record unchanged
    await clock.advance(TIMINGS.retryPeriodMs);
    const recent = server.calls.slice(-3).map((c) => c.op);
    expect(recent).toEqual(['update', 'get', 'update']);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.stopped).toEqual([]);
    expect(server.record()?.leaseTransitions).toBe(0);
    await a.elector.stop();
  });

  it('increments leaseTransitions on each takeover, not on renewals', async () => {
    const { clock, server } = setup();
    const a = candidate(server, clock, 'a', { config: { releaseOnCancel: false } });
    await clock.advance(0);
    const b = candidate(server, clock, 'b', { config: { releaseOnCancel: false } });
    await clock.advance(10_000);
    expect(server.record()).toMatchObject({ holderIdentity: 'a', leaseTransitions: 0 });

    // a crashes: no release, no more renewals.
    server.fault = (client) => (client === 'a' ? 'hang' : undefined);
    await clock.until(() => b.started.length > 0, 40_000);
    expect(server.record()).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await clock.advance(10_000);
    expect(server.record()).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(b.leaders).toEqual(['a', 'b']);
    server.fault = () => undefined;
    await Promise.all([a.elector.stop(), b.elector.stop()]);
  });
});

// ---- losing leadership -------------------------------------------------------------------------

describe('losing leadership', () => {
  it.each([
    ['every request fails with 500', 500 as Fault],
    ['every request hangs', 'hang' as Fault],
    ['RBAC was revoked (403)', 403 as Fault],
  ])('stops leading renewDeadline after the first failed renew when %s', async (_name, fault) => {
    const { clock, server } = setup();
    const a = candidate(server, clock, 'a');
    await clock.advance(0);
    // Let a few renewals succeed, then break the server right after one.
    await clock.advance(3 * TIMINGS.retryPeriodMs);
    const lastSuccess = server.calls.filter((c) => c.op === 'update').at(-1)!.at;
    server.fault = () => fault;
    const firstFailedRenew = lastSuccess + TIMINGS.retryPeriodMs;

    await clock.advance(firstFailedRenew + TIMINGS.renewDeadlineMs - 1 - clock.mono);
    expect(a.signal().aborted).toBe(false);
    expect(a.elector.isLeader()).toBe(true);

    await clock.advance(1);
    await a.done;
    expect(a.signal().aborted).toBe(true);
    expect(a.elector.isLeader()).toBe(false);
    expect(a.stopped).toEqual([{ reason: 'lost', released: false }]);
    expect(a.metric.at(-1)).toBe(false);
    // It retried every retryPeriod until the deadline.
    const attempts = server.calls.filter((c) => c.at >= firstFailedRenew && c.op === 'update');
    expect(attempts.length).toBeGreaterThanOrEqual(fault === 'hang' ? 1 : 5);
  });

  it('keeps leading through failures shorter than renewDeadline', async () => {
    const { clock, server } = setup();
    const a = candidate(server, clock, 'a');
    await clock.advance(0);
    server.fault = () => 503;
    await clock.advance(TIMINGS.renewDeadlineMs - TIMINGS.retryPeriodMs);
    server.fault = () => undefined;
    await clock.advance(30_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.stopped).toEqual([]);
    await a.elector.stop();
  });

  it('stops at once when it sees another identity holding the lease', async () => {
    const { clock, server } = setup();
    const a = candidate(server, clock, 'a');
    await clock.advance(0);
    server.put(heldBy('intruder')); // e.g. a forced handover
    const seenAt = await clock.until(() => a.stopped.length > 0, TIMINGS.renewDeadlineMs);
    expect(seenAt - clock.mono).toBeLessThanOrEqual(TIMINGS.retryPeriodMs);
    expect(a.stopped).toEqual([{ reason: 'lost', released: false }]);
    expect(a.signal().aborted).toBe(true);
    expect(a.leaders).toEqual(['a', 'intruder']);
  });

  it('a leader that loses is never writing while its successor leads', async () => {
    const { clock, server } = setup();
    const a = candidate(server, clock, 'a', { config: { releaseOnCancel: false } });
    await clock.advance(0);
    const b = candidate(server, clock, 'b');
    await clock.advance(5_000);
    // a's lease writes are cut off (a partition), its ConfigMap-style work would still run.
    server.fault = (client) => (client === 'a' ? 503 : undefined);
    let overlap = false;
    await clock.until(() => {
      if (b.started.length > 0 && !a.signal().aborted) overlap = true;
      return b.started.length > 0;
    }, 40_000);
    expect(overlap).toBe(false);
    expect(a.stopped).toEqual([{ reason: 'lost', released: false }]);
    await b.elector.stop();
  });
});

// ---- release -----------------------------------------------------------------------------------

describe('release on stop', () => {
  it('aborts the work, then PUTs an empty holder with leaseDurationSeconds 1, times now, transitions kept', async () => {
    const { clock, server } = setup();
    server.put(heldBy('', { leaseTransitions: 9 }));
    const a = candidate(server, clock, 'a');
    await clock.advance(5_000);
    const signal = a.signal();
    let abortedBeforeRelease: boolean | undefined;
    const previousFault = server.fault;
    server.fault = (client, op) => {
      if (op === 'update') abortedBeforeRelease ??= signal.aborted;
      return previousFault(client, op);
    };
    const stopping = a.elector.stop();
    await clock.advance(0);
    await stopping;

    expect(abortedBeforeRelease).toBe(true);
    expect(server.record()).toEqual({
      holderIdentity: '',
      leaseDurationSeconds: 1,
      acquireTime: formatMicroTime(clock.wall),
      renewTime: formatMicroTime(clock.wall),
      leaseTransitions: 10,
    });
    expect(a.stopped).toEqual([{ reason: 'stopped', released: true }]);
    expect(a.metric.at(-1)).toBe(false);
    // Like client-go, the releasing elector reports no transition of its own after the release.
    expect(a.leaders).toEqual(['a']);
    expect(a.elector.getLeader()).toBe('');
  });

  it('re-reads the Lease before releasing: a renewal aborted in flight may have landed', async () => {
    const { clock, server } = setup();
    const a = candidate(server, clock, 'a');
    await clock.advance(0);
    server.fault = (_client, op) => (op === 'update' ? 'applied-then-hang' : undefined);
    await clock.advance(TIMINGS.retryPeriodMs); // the renewal PUT lands, its answer never comes
    const landed = server.object!.rv;
    expect(a.lock.cached!.rv).toBeLessThan(landed);
    server.fault = () => undefined;
    const stopping = a.elector.stop(); // aborts the renewal in flight
    await clock.advance(0);
    await stopping;
    expect(a.stopped).toEqual([{ reason: 'stopped', released: true }]);
    expect(server.record()).toMatchObject({ holderIdentity: '', leaseDurationSeconds: 1 });
    expect(server.calls.slice(-2).map((c) => [c.op, c.rv])).toEqual([
      ['get', undefined],
      ['update', landed],
    ]);
  });

  it('never releases a Lease that another identity holds by then', async () => {
    const { clock, server } = setup();
    const a = candidate(server, clock, 'a');
    await clock.advance(0);
    server.put(heldBy('b', { leaseTransitions: 1 }));
    const stopping = a.elector.stop();
    await clock.advance(0);
    await stopping;
    expect(server.record()).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    expect(a.stopped).toEqual([{ reason: 'stopped', released: false }]);
    expect(server.calls.at(-1)?.op).toBe('get');
  });

  it('lets a standby take over at its next attempt instead of after leaseDuration', async () => {
    const { clock, server } = setup();
    const a = candidate(server, clock, 'a');
    await clock.advance(0);
    const b = candidate(server, clock, 'b');
    await clock.advance(7_000);
    const stopping = a.elector.stop();
    await clock.advance(0);
    await stopping;
    const releasedAt = clock.mono;
    const acquiredAt = await clock.until(() => b.started.length > 0, TIMINGS.leaseDurationMs);
    expect(acquiredAt - releasedAt).toBeLessThanOrEqual(TIMINGS.retryPeriodMs);
    expect(server.record()).toMatchObject({ holderIdentity: 'b', leaseTransitions: 1 });
    await b.elector.stop();
  });

  it('releases only after the work it guards has finished', async () => {
    const { clock, server } = setup();
    const order: string[] = [];
    const a = candidate(server, clock, 'a', {
      work: (signal) =>
        new Promise<void>((resolve) => {
          signal.addEventListener('abort', () => {
            clock.setTimer(() => {
              order.push('work finished');
              resolve();
            }, 1_500);
          });
        }),
    });
    await clock.advance(0);
    server.fault = (_client, op) => {
      if (op === 'update' && a.signal().aborted) order.push('release');
      return undefined;
    };
    const stopping = a.elector.stop();
    await clock.advance(2_000);
    await stopping;
    expect(order).toEqual(['work finished', 'release']);
    expect(a.stopped).toEqual([{ reason: 'stopped', released: true }]);
  });

  it('does not release when the work ignores its signal for longer than renewDeadline', async () => {
    const { clock, server } = setup();
    const a = candidate(server, clock, 'a', { work: () => new Promise<void>(() => undefined) });
    await clock.advance(0);
    const stopping = a.elector.stop();
    await clock.advance(TIMINGS.renewDeadlineMs);
    await stopping;
    expect(server.record()?.holderIdentity).toBe('a');
    expect(a.stopped).toEqual([{ reason: 'stopped', released: false }]);
  });

  it('does not release with releaseOnCancel: false', async () => {
    const { clock, server } = setup();
    const a = candidate(server, clock, 'a', { config: { releaseOnCancel: false } });
    await clock.advance(0);
    const stopping = a.elector.stop();
    await clock.advance(0);
    await stopping;
    expect(server.record()?.holderIdentity).toBe('a');
    expect(a.stopped).toEqual([{ reason: 'stopped', released: false }]);
  });

  it('stopping a candidate that never led calls nothing and writes nothing', async () => {
    const { clock, server } = setup();
    server.put(heldBy('other'));
    const a = candidate(server, clock, 'a');
    await clock.advance(3_000);
    const stopping = a.elector.stop();
    await clock.advance(0);
    await stopping;
    expect(a.started).toEqual([]);
    expect(a.stopped).toEqual([]);
    expect(server.calls.filter((c) => c.client === 'a' && c.op !== 'get')).toEqual([]);
    expect(server.record()?.holderIdentity).toBe('other');
  });

  it('run() is single-use', async () => {
    const { clock, server } = setup();
    const a = candidate(server, clock, 'a');
    expect(() => a.elector.run()).toThrow(/only once/);
    await clock.advance(0);
    await a.elector.stop();
  });
});

// ---- health, metrics, exit -----------------------------------------------------------------------

describe('health, metrics and process exit', () => {
  it('reports unhealthy when leading without a renewal for longer than leaseDuration + tolerance', async () => {
    const { clock, server } = setup();
    // renewDeadline + retryPeriod > leaseDuration: the leader outlives its lease by a second before it gives up.
    const a = candidate(server, clock, 'a', { config: { renewDeadlineMs: 14_000 } });
    await clock.advance(0);
    expect(a.elector.healthy()).toBe(true);
    server.fault = () => 'hang';
    const lastRenewal = server.calls.filter((c) => c.op === 'update').at(-1)!.at;
    await clock.advance(lastRenewal + TIMINGS.leaseDurationMs - clock.mono);
    expect(a.elector.healthy()).toBe(true);
    await clock.advance(1);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.elector.healthy()).toBe(false);
    expect(a.elector.healthy(2_000)).toBe(true);
    await clock.advance(1_000);
    expect(a.elector.isLeader()).toBe(false); // lost: nothing left to be unhealthy about
    expect(a.elector.healthy()).toBe(true);
  });

  it('exports cra_leader{identity} on a prom-client registry', async () => {
    const registry = new Registry();
    const metrics = prometheusLeaderMetrics(registry);
    expect(prometheusLeaderMetrics(registry)).toBeDefined(); // registering twice reuses the gauge
    metrics.setLeader('pod-a_1', true);
    expect(await registry.metrics()).toContain(`${LEADER_METRIC}{identity="pod-a_1"} 1`);
    metrics.setLeader('pod-a_1', false);
    expect(await registry.metrics()).toContain(`${LEADER_METRIC}{identity="pod-a_1"} 0`);
  });

  it('exitOnLeadershipLost exits with status 1 on loss and leaves a stop alone', () => {
    const codes: number[] = [];
    const onStopped = exitOnLeadershipLost({ exit: (code) => codes.push(code) });
    onStopped({ reason: 'stopped', released: true });
    expect(codes).toEqual([]);
    onStopped({ reason: 'lost', released: false });
    expect(codes).toEqual([LEADERSHIP_LOST_EXIT_CODE]);
    expect(LEADERSHIP_LOST_EXIT_CODE).toBe(1);
  });
});

// ---- LeaseLock and MicroTime ---------------------------------------------------------------------

describe('LeaseLock', () => {
  function fakeApi(): LeaseApi & { puts: V1Lease[]; stored: V1Lease | undefined; conflictNext: boolean } {
    const state = {
      puts: [] as V1Lease[],
      stored: undefined as V1Lease | undefined,
      conflictNext: false,
      rv: 1,
    };
    // What the apiserver would store and client-node 2.0.1 hand back: MicroTimes as wire strings.
    const roundTrip = (lease: V1Lease): V1Lease => JSON.parse(JSON.stringify(lease)) as V1Lease;
    const api = {
      readNamespacedLease: async () => {
        if (state.stored === undefined) throw new ApiException(404, 'not found', { message: 'not found' }, {});
        return roundTrip(state.stored);
      },
      createNamespacedLease: async ({ body }: { body: V1Lease }) => {
        state.stored = roundTrip({ ...body, metadata: { ...body.metadata, resourceVersion: String(state.rv++) } });
        return roundTrip(state.stored);
      },
      replaceNamespacedLease: async ({ body }: { body: V1Lease }) => {
        state.puts.push(roundTrip(body));
        if (state.conflictNext || body.metadata?.resourceVersion !== state.stored?.metadata?.resourceVersion) {
          state.conflictNext = false;
          throw new ApiException(409, 'conflict', { message: 'the object has been modified' }, {});
        }
        state.stored = roundTrip({ ...body, metadata: { ...body.metadata, resourceVersion: String(state.rv++) } });
        return roundTrip(state.stored);
      },
    };
    return Object.assign(state, api) as unknown as LeaseApi & typeof state;
  }

  it('creates, reads, and updates on the cached resourceVersion; 404 and 409 surface as LockError', async () => {
    const api = fakeApi();
    const lock = new LeaseLock(api, { namespace: 'ns', name: 'cra-operator' });
    const error = await lock.get().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(LockError);
    expect((error as LockError).notFound).toBe(true);

    const record = heldBy('a');
    await lock.create(record);
    expect(lock.cachedResourceVersion()).toBe('1');
    const read = await lock.get();
    expect(read.record).toEqual(record);
    expect(read.raw).toBe(rawRecord(record));

    await lock.update({ ...record, renewTime: formatMicroTime(Date.UTC(2026, 0, 15, 12, 1, 0)) });
    expect(api.puts.at(-1)?.metadata?.resourceVersion).toBe('1');
    expect(lock.cachedResourceVersion()).toBe('2');

    api.conflictNext = true;
    const conflict = await lock.update(record).catch((e: unknown) => e);
    expect((conflict as LockError).conflict).toBe(true);
    expect((conflict as LockError).message).toMatch(/modified/);
  });

  it('refuses to update before anything was read or created', async () => {
    const lock = new LeaseLock(fakeApi(), { namespace: 'ns', name: 'l' });
    await expect(lock.update(heldBy('a'))).rejects.toThrow(/not initialized/);
  });

  it('sends MicroTimes with six fractional digits and passes foreign microseconds through untouched', () => {
    const goWritten = '2026-01-15T11:59:00.123456Z';
    const spec = leaseSpecFromRecord(heldBy('a', { acquireTime: goWritten }));
    const json = JSON.parse(JSON.stringify(spec)) as Record<string, string>;
    expect(json['acquireTime']).toBe(goWritten);
    expect(json['renewTime']).toMatch(MICRO_TIME_PATTERN);
    expect(formatMicroTime(Date.UTC(2026, 0, 15, 12, 0, 0, 278))).toBe('2026-01-15T12:00:00.278000Z');
    expect(new WireMicroTime(goWritten).getTime()).toBe(Date.parse(goWritten));
  });

  it('reads MicroTimes whether client-node returns strings (2.0.1) or Dates', () => {
    const asStrings = recordFromLeaseSpec({
      holderIdentity: 'a',
      renewTime: '2026-01-15T11:59:00.123456Z' as unknown as Date,
    });
    expect(asStrings).toEqual({
      holderIdentity: 'a',
      leaseDurationSeconds: 0,
      renewTime: '2026-01-15T11:59:00.123456Z',
      leaseTransitions: 0,
    });
    const asDate = recordFromLeaseSpec({ holderIdentity: 'a', renewTime: new Date(Date.UTC(2026, 0, 15)) });
    expect(asDate.renewTime).toBe('2026-01-15T00:00:00.000000Z');
    expect(recordFromLeaseSpec(undefined)).toEqual({
      holderIdentity: '',
      leaseDurationSeconds: 0,
      leaseTransitions: 0,
    });
  });
});
