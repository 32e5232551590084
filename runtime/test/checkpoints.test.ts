/**
 * Signed checkpoints (CRA-SPEC §6.3): someone with database access rewrites a session's chain
 * into a valid chain; the hashes verify, but the checkpoints signed before the rewrite do not.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sealEvents, toJsonl, verifyChain, type CARPResolution, type EventDraft, type TraceEvent } from '@cra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPostgres, type PostgresInstance } from '../../e2e/harness/postgres.js';
import { openPostgres } from '../src/store/postgres/pg-client.js';
import { auth, repo, resolveRequest, testRuntime } from './helpers/runtime.js';

let pg: PostgresInstance;
const temps: string[] = [];
beforeAll(async () => {
  pg = await startPostgres();
});
afterAll(async () => {
  await pg?.stop();
  for (const d of temps) await rm(d, { recursive: true, force: true });
});

const run = promisify(execFile);
async function craVerify(...args: string[]): Promise<{ code: number; out: string }> {
  try {
    const { stdout } = await run(process.execPath, [
      repo('runtime/bin/cra.js'),
      'trace',
      'verify',
      ...args,
      '-o',
      'json',
    ]);
    return { code: 0, out: stdout };
  } catch (err) {
    const e = err as { code?: number; stdout?: string };
    return { code: e.code ?? -1, out: e.stdout ?? '' };
  }
}

describe('cra trace verify --checkpoints', () => {
  it('accepts an exported chain and rejects one rewritten with valid hashes', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'cra-ckpt-cli-'));
    temps.push(dataDir);
    const rt = await testRuntime({ 'store.kind': 'embedded', dataDir, 'trace.checkpoint.intervalSeconds': 3600 });
    let events: TraceEvent[];
    try {
      const r = (
        await rt.app.inject({
          method: 'POST',
          url: '/v1/resolve',
          headers: auth(),
          payload: resolveRequest({ goal: 'the real goal' }),
        })
      ).json<CARPResolution>();
      await rt.checkpoint();
      events = (await rt.app.inject({ method: 'GET', url: `/v1/traces/${r.session_id}`, headers: auth() })).json<{
        events: TraceEvent[];
      }>().events;
    } finally {
      await rt.close();
    }
    const good = join(dataDir, 'good.jsonl');
    await writeFile(good, toJsonl(events));
    const ok = await craVerify(good, '--checkpoints', join(dataDir, 'checkpoints'));
    expect(ok.code, ok.out).toBe(0);
    expect(JSON.parse(ok.out)).toMatchObject({ valid: true, checkpoints: { valid: true } });

    const forged = sealEvents(
      null,
      events.map(({ sequence: _s, previous_event_hash: _p, event_hash: _h, ...d }) =>
        d.payload.goal === 'the real goal'
          ? ({ ...d, payload: { ...d.payload, goal: 'forged' } } as EventDraft)
          : (d as EventDraft),
      ),
    );
    const bad = join(dataDir, 'forged.jsonl');
    await writeFile(bad, toJsonl(forged));
    const refused = await craVerify(bad, '--checkpoints', join(dataDir, 'checkpoints'));
    expect(refused.code).toBe(1);
    expect(JSON.parse(refused.out)).toMatchObject({
      valid: false,
      checkpoints: { failures: [{ error: 'hash_mismatch' }] },
    });
  });
});

describe('signed checkpoints', () => {
  it('sign session heads with EdDSA outside the database and detect a rewritten table', async () => {
    const url = await pg.createDatabase('cra_checkpoints');
    const dataDir = await mkdtemp(join(tmpdir(), 'cra-ckpt-'));
    temps.push(dataDir);
    const rt = await testRuntime({
      'store.kind': 'postgres',
      'store.postgresUrl': url,
      dataDir,
      'trace.checkpoint.intervalSeconds': 3600,
    });
    try {
      const r = (
        await rt.app.inject({
          method: 'POST',
          url: '/v1/resolve',
          headers: auth(),
          payload: resolveRequest({ goal: 'the real goal' }),
        })
      ).json<CARPResolution>();
      const name = await rt.checkpoint();
      expect(name).toMatch(/\.jws$/);
      const files = await readdir(join(dataDir, 'checkpoints'));
      expect(files).toContain(name);
      expect((await readdir(join(dataDir, 'checkpoints', 'keys'))).length).toBe(1);
      const jws = (await readFile(join(dataDir, 'checkpoints', name!), 'utf8')).trim();
      const header = JSON.parse(Buffer.from(jws.split('.')[0]!, 'base64url').toString()) as { alg: string };
      expect(header.alg).toBe('EdDSA');

      const clean = await rt.app.inject({ method: 'GET', url: `/v1/traces/${r.session_id}/verify`, headers: auth() });
      expect(clean.json()).toMatchObject({ valid: true, checkpoints: { valid: true } });
      expect(clean.json().checkpoints.heads_checked).toBeGreaterThanOrEqual(1);

      // The rewrite: change the goal, re-seal the whole chain so every hash is right again.
      const client = openPostgres({ url });
      try {
        const rows = await client.query<{ event: string }>(
          'SELECT event FROM cra_trace_events WHERE session_id = $1 ORDER BY sequence',
          [r.session_id],
        );
        const events = rows.map((row) => JSON.parse(row.event) as TraceEvent);
        const drafts = events.map(({ sequence: _s, previous_event_hash: _p, event_hash: _h, ...draft }) => {
          const payload =
            draft.payload.goal === 'the real goal' ? { ...draft.payload, goal: 'a forged goal' } : draft.payload;
          return { ...draft, payload } as EventDraft;
        });
        const forged = sealEvents(null, drafts);
        expect(verifyChain(forged).valid).toBe(true);
        await client.transaction(async (tx) => {
          await tx.exec('ALTER TABLE cra_trace_events DISABLE TRIGGER cra_trace_events_no_rewrite');
          for (const e of forged) {
            await tx.query(
              'UPDATE cra_trace_events SET event = $3, event_hash = $4 WHERE session_id = $1 AND sequence = $2',
              [r.session_id, e.sequence, JSON.stringify(e), e.event_hash],
            );
          }
          await tx.exec('ALTER TABLE cra_trace_events ENABLE TRIGGER cra_trace_events_no_rewrite');
        });
      } finally {
        await client.close();
      }

      const tampered = (
        await rt.app.inject({ method: 'GET', url: `/v1/traces/${r.session_id}/verify`, headers: auth() })
      ).json();
      expect(tampered.valid).toBe(false);
      expect(tampered.first_failure).toBeUndefined(); // the chain itself is internally consistent
      expect(tampered.checkpoints.failures[0]).toMatchObject({ error: 'hash_mismatch', session_id: r.session_id });
    } finally {
      await rt.close();
    }
  });

  it('refuses to rewrite trace rows without disabling the append-only trigger', async () => {
    const url = await pg.createDatabase('cra_append_only');
    const dataDir = await mkdtemp(join(tmpdir(), 'cra-ckpt-'));
    temps.push(dataDir);
    const rt = await testRuntime({ 'store.kind': 'postgres', 'store.postgresUrl': url, dataDir });
    const client = openPostgres({ url });
    try {
      await rt.app.inject({ method: 'POST', url: '/v1/resolve', headers: auth(), payload: resolveRequest({}) });
      await expect(client.query("UPDATE cra_trace_events SET event = '{}'")).rejects.toThrow(/append-only/);
      await expect(client.query('DELETE FROM cra_trace_events')).rejects.toThrow(/append-only/);
    } finally {
      await client.close();
      await rt.close();
    }
  });
});
