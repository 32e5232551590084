/**
 * A local, append-only outbox for writes that could not reach Postgres. Records are JSON lines
 * in `<dir>/outbox.jsonl`; `<dir>/outbox.offset` remembers how many bytes were applied, so a
 * restart resumes where draining stopped. With `sync` each append is fsync'ed before it returns.
 */
import { mkdir, open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { CARPExecutionResult, EventDraft } from '@cra/core';
import type { ResolutionRecord, SessionRecord } from '../ports.js';

export type OutboxRecord =
  | { kind: 'session'; session: SessionRecord }
  | { kind: 'events'; session_id: string; drafts: EventDraft[] }
  | { kind: 'session_end'; session_id: string; status: 'ended' | 'error'; ended_at: string }
  | { kind: 'execution'; result: CARPExecutionResult; agent_id: string; session_id: string }
  | { kind: 'resolution'; record: ResolutionRecord };

interface Entry {
  record: OutboxRecord;
  bytes: number;
}

export class Outbox {
  private readonly queue: Entry[] = [];
  private applied = 0;
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    private readonly dir: string,
    private handle: FileHandle,
  ) {}

  static async open(dir: string): Promise<Outbox> {
    await mkdir(dir, { recursive: true });
    const file = join(dir, 'outbox.jsonl');
    const offset = Number((await readFile(join(dir, 'outbox.offset'), 'utf8').catch(() => '0')).trim()) || 0;
    const content = await readFile(file).catch(() => Buffer.alloc(0));
    const outbox = new Outbox(dir, await open(file, 'a'));
    outbox.applied = offset;
    let position = 0;
    for (const line of content.toString('utf8').split('\n')) {
      const bytes = Buffer.byteLength(line, 'utf8') + 1;
      if (position >= offset && line.trim() !== '') {
        try {
          outbox.queue.push({ record: JSON.parse(line) as OutboxRecord, bytes });
        } catch {
          // A torn last line (crash mid-write) was never acknowledged to anyone: skip it.
        }
      }
      position += bytes;
    }
    return outbox;
  }

  get size(): number {
    return this.queue.length;
  }

  peek(): OutboxRecord | undefined {
    return this.queue[0]?.record;
  }

  /** Runs file operations one at a time, in order. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.tail.then(fn, fn);
    this.tail = next.then(
      () => undefined,
      () => undefined,
    );
    return next;
  }

  /** Appends a record; with `sync` it is on disk (fsync) when the promise resolves. */
  append(record: OutboxRecord, sync: boolean): Promise<void> {
    const line = `${JSON.stringify(record)}\n`;
    return this.serial(async () => {
      await this.handle.appendFile(line, 'utf8');
      if (sync) await this.handle.datasync();
      this.queue.push({ record, bytes: Buffer.byteLength(line, 'utf8') });
    });
  }

  /** The head record was applied: forget it durably; compact when everything is applied. */
  ack(): Promise<void> {
    return this.serial(async () => {
      const entry = this.queue.shift();
      if (!entry) return;
      this.applied += entry.bytes;
      const compact = this.queue.length === 0;
      // Offset first: a crash between the two steps re-applies records (idempotent), never skips.
      if (compact) this.applied = 0;
      const tmp = join(this.dir, 'outbox.offset.tmp');
      await writeFile(tmp, String(this.applied));
      await rename(tmp, join(this.dir, 'outbox.offset'));
      if (compact) await this.handle.truncate(0);
    });
  }

  async close(): Promise<void> {
    await this.tail;
    await this.handle.close();
  }
}
