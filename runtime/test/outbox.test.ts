import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Outbox, type OutboxRecord } from '../src/store/postgres/outbox.js';

const dirs: string[] = [];
async function dir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'cra-outbox-'));
  dirs.push(d);
  return d;
}
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

const end = (n: number): OutboxRecord => ({
  kind: 'session_end',
  session_id: `s${n}`,
  status: 'ended',
  ended_at: new Date(0).toISOString(),
});

describe('outbox', () => {
  it('keeps records in order across a restart and resumes after the applied ones', async () => {
    const d = await dir();
    const a = await Outbox.open(d);
    for (let i = 0; i < 5; i++) await a.append(end(i), true);
    await a.ack();
    await a.ack();
    await a.close(); // "crash" after two were applied

    const b = await Outbox.open(d);
    expect(b.size).toBe(3);
    const seen: string[] = [];
    for (let r = b.peek(); r; r = b.peek()) {
      seen.push((r as { session_id: string }).session_id);
      await b.ack();
    }
    expect(seen).toEqual(['s2', 's3', 's4']);
    expect(await readFile(join(d, 'outbox.jsonl'), 'utf8')).toBe('');
    await b.close();
    const c = await Outbox.open(d);
    expect(c.size).toBe(0);
    await c.close();
  });

  it('serialises concurrent appends without interleaving lines', async () => {
    const d = await dir();
    const o = await Outbox.open(d);
    await Promise.all(Array.from({ length: 200 }, (_, i) => o.append(end(i), i % 2 === 0)));
    await o.close();
    const lines = (await readFile(join(d, 'outbox.jsonl'), 'utf8')).trim().split('\n');
    expect(lines).toHaveLength(200);
    expect(lines.map((l) => (JSON.parse(l) as { session_id: string }).session_id)).toEqual(
      Array.from({ length: 200 }, (_, i) => `s${i}`),
    );
  });

  it('skips a torn last line left by a crash mid-write', async () => {
    const d = await dir();
    const o = await Outbox.open(d);
    await o.append(end(1), true);
    await o.close();
    const { appendFile } = await import('node:fs/promises');
    await appendFile(join(d, 'outbox.jsonl'), '{"kind":"session_en');
    const again = await Outbox.open(d);
    expect(again.size).toBe(1);
    await again.close();
  });
});
