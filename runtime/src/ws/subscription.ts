/**
 * One subscription of a `/v1/trace` connection. A session subscription delivers that session's
 * events in sequence order with no gap and no duplicate: it tracks the next sequence it owes the
 * client, replays from the store what it has not seen (a resume, or a hole left by events another
 * replica appended), buffers live events meanwhile and drops the ones the replay already covered.
 * A subscription to every session (admins, auditors) forwards live events as they come.
 */
import type { EventPredicate, TraceEvent } from '@cra/core';

/** Stored events of the subscription's session from `fromSequence` (inclusive), in order. */
export type ReadEvents = (fromSequence: number, limit: number) => Promise<TraceEvent[]>;

/** What a subscription needs from its connection. */
export interface SubscriptionSink {
  /** Sends one text frame; false once the connection is closing. */
  send(frame: string): boolean;
  /** Resolves when what was sent so far left the process (or the connection closed). */
  flushed(): Promise<void>;
  /** Bytes of live events a subscription may hold while it replays; beyond that: `overflow`. */
  readonly maxPendingBytes: number;
  overflow(): void;
  /** Reading the store failed: the subscription cannot keep its promise and ends. */
  failed(subscription: Subscription, error: unknown): void;
}

/** Stored events are replayed this many at a time, each page paced by the client's reading. */
export const REPLAY_PAGE = 200;

interface Held {
  event: TraceEvent;
  json: string;
}

export class Subscription {
  private next: number | undefined;
  private catchingUp = false;
  private pending: Held[] = [];
  private pendingBytes = 0;
  private closed = false;
  private readonly framePrefix: string;

  constructor(
    readonly id: string,
    readonly sessionId: string | undefined,
    private readonly accept: EventPredicate,
    private readonly sink: SubscriptionSink,
    private readonly read: ReadEvents | undefined,
  ) {
    this.framePrefix = `{"type":"event","subscription":${JSON.stringify(id)},"event":`;
  }

  close(): void {
    this.closed = true;
    this.pending = [];
    this.pendingBytes = 0;
  }

  /** Replays stored events from `fromSequence` on, then continues live (already registered). Never rejects. */
  resume(fromSequence: number): Promise<void> {
    this.next = fromSequence;
    return this.catchUp();
  }

  /** A live event of a session this subscription may see. Never throws, never waits. */
  offer(event: TraceEvent, json: string): void {
    if (this.closed) return;
    if (this.catchingUp) {
      this.hold(event, json);
      return;
    }
    if (this.sessionId !== undefined && this.next !== undefined) {
      if (event.sequence < this.next) return;
      if (event.sequence > this.next && this.read) {
        // Events between were appended elsewhere (another replica): fetch them first.
        this.hold(event, json);
        void this.catchUp();
        return;
      }
    }
    this.deliver(event, json);
  }

  private hold(event: TraceEvent, json: string): void {
    this.pending.push({ event, json });
    this.pendingBytes += json.length;
    if (this.pendingBytes > this.sink.maxPendingBytes) this.sink.overflow();
  }

  private deliver(event: TraceEvent, json?: string): void {
    if (this.sessionId !== undefined) this.next = event.sequence + 1;
    if (!this.accept(event)) return;
    this.sink.send(`${this.framePrefix}${json ?? JSON.stringify(event)}}`);
  }

  private async catchUp(): Promise<void> {
    if (this.catchingUp || !this.read) return;
    this.catchingUp = true;
    try {
      let skipHoles = false;
      for (;;) {
        const progressed = await this.replayStored(this.read);
        if (this.closed) return;
        if (!this.drainPending(skipHoles)) return;
        // The store lacks events below a live one even after a fresh read: do not spin on it.
        if (!progressed) skipHoles = true;
      }
    } catch (err) {
      if (!this.closed) this.sink.failed(this, err);
    } finally {
      // Set with no await since the last drain found nothing pending: no live event slips by.
      this.catchingUp = false;
    }
  }

  /** Delivers stored events from `next` on; true when it delivered any. */
  private async replayStored(read: ReadEvents): Promise<boolean> {
    let progressed = false;
    for (;;) {
      const from = this.next ?? 0;
      const page = await read(from, REPLAY_PAGE);
      if (this.closed) return progressed;
      for (const event of page) {
        if (event.sequence < (this.next ?? 0)) continue;
        this.deliver(event);
        progressed = true;
      }
      await this.sink.flushed();
      if (this.closed || page.length < REPLAY_PAGE) return progressed;
    }
  }

  /** Delivers held live events in order; true when a hole below one of them remains. */
  private drainPending(skipHoles: boolean): boolean {
    this.pending.sort((a, b) => a.event.sequence - b.event.sequence);
    while (this.pending.length > 0) {
      const held = this.pending[0]!;
      const next = this.next ?? held.event.sequence;
      if (held.event.sequence > next && !skipHoles) return true;
      this.pending.shift();
      this.pendingBytes -= held.json.length;
      if (held.event.sequence >= next) this.deliver(held.event, held.json);
    }
    this.pendingBytes = 0;
    return false;
  }
}
