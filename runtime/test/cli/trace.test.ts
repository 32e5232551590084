/**
 * `cra trace export|verify|diff|replay` on a session recorded by a real runtime: the export
 * verifies, a tampered copy does not, a changed decision is a breaking diff, and replaying the
 * session against the same atlases is not breaking (against changed policies, it is).
 */
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { computeEventHash, parseJsonl, randomIds, toJsonl, type TraceEvent } from '@cra/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { KEYS, repo } from '../helpers/runtime.js';
import { parseCsv } from '../helpers/csv.js';
import {
  asAgent,
  assertBuilt,
  cra,
  json,
  startRuntime,
  tempDir,
  type ListeningRuntime,
  removeTempDirs,
} from './helpers.js';

// Every test spawns the CLI (a Node process); a loaded machine makes that slow, never wrong.
vi.setConfig({ testTimeout: 90_000 });

let server: ListeningRuntime;
let dir: string;
let sessionId: string;
let exported: string;

beforeAll(async () => {
  assertBuilt();
  server = await startRuntime();
  dir = await tempDir();
  sessionId = randomIds.uuid();
  const env = asAgent(server.url, KEYS.agent, 'dev-agent');
  const resolves = [
    ['Open an issue about the login crash', '--risk', 'low', '--hints', 'github.issues'],
    ['Merge the login fix', '--risk', 'high', '--hints', 'github.pulls'],
    ['Scale the api deployment', '--risk', 'medium', '--atlas', 'cluster-ops'],
    ['Delete the staging namespace', '--risk', 'critical', '--hints', 'k8s.admin'],
  ];
  for (const args of resolves) {
    const r = await cra(['resolve', ...args, '--session', sessionId, '-o', 'json'], { env });
    expect(r.code, r.stderr).toBe(0);
  }
  exported = join(dir, 'session.jsonl');
  const r = await cra(['trace', 'export', sessionId, '--out', exported], { env });
  expect(r.code, r.stderr).toBe(0);
});
afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

const read = async (file: string): Promise<TraceEvent[]> => parseJsonl(await readFile(file, 'utf8'));

async function variant(name: string, change: (events: TraceEvent[]) => void): Promise<string> {
  const events = await read(exported);
  change(events);
  const file = join(dir, name);
  await writeFile(file, toJsonl(events));
  return file;
}

describe('cra trace export', () => {
  it('writes the session as JSONL, one event per line, and says so on stderr', async () => {
    const events = await read(exported);
    expect(events[0]).toMatchObject({ event_type: 'session.started', sequence: 0, session_id: sessionId });
    expect(events.filter((e) => e.event_type === 'carp.resolution.completed')).toHaveLength(4);
    const again = await cra(['trace', 'export', sessionId, '--out', join(dir, 'again.jsonl')], {
      env: asAgent(server.url, KEYS.agent),
    });
    expect(again.stderr).toContain(`wrote ${events.length} event(s) of session ${sessionId}`);
  });

  it('streams to standard output without --out', async () => {
    const r = await cra(['trace', 'export', sessionId], { env: asAgent(server.url, KEYS.agent) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(await readFile(exported, 'utf8'));
  });

  it('an unknown session is NOT_FOUND (exit 1)', async () => {
    const r = await cra(['trace', 'export', randomIds.uuid()], { env: asAgent(server.url, KEYS.agent) });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: NOT_FOUND: /);
  });
});

describe('cra trace export --format', () => {
  it('csv: a header and one RFC 4180 row per event, payload as JSON text', async () => {
    const events = await read(exported);
    const r = await cra(['trace', 'export', sessionId, '--format', 'csv'], { env: asAgent(server.url, KEYS.agent) });
    expect(r.code, r.stderr).toBe(0);
    const records = parseCsv(r.stdout);
    expect(records[0]).toEqual([
      'sequence',
      'timestamp',
      'event_type',
      'severity',
      'trace_id',
      'span_id',
      'parent_span_id',
      'event_hash',
      'previous_event_hash',
      'payload',
    ]);
    expect(records.slice(1)).toEqual(
      events.map((e) => [
        String(e.sequence),
        e.timestamp,
        e.event_type,
        e.severity,
        e.trace_id,
        e.span_id,
        e.parent_span_id ?? '',
        e.event_hash,
        e.previous_event_hash,
        JSON.stringify(e.payload),
      ]),
    );
    expect(r.stdout.split('\r\n')).toHaveLength(events.length + 2); // CRLF after every record
  });

  it('json to a file: one array of the events, which trace diff reads as well', async () => {
    const out = join(dir, 'session.json');
    const r = await cra(['trace', 'export', sessionId, '--format', 'json', '--out', out], {
      env: asAgent(server.url, KEYS.agent),
    });
    expect(r.code, r.stderr).toBe(0);
    const events = await read(exported);
    expect(r.stderr).toContain(`wrote ${events.length} event(s) of session ${sessionId} to ${out}`);
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(events);
    const diff = await cra(['trace', 'diff', exported, out, '-o', 'json']);
    expect(diff.code, diff.stderr).toBe(0);
    expect(json(diff)).toMatchObject({ compatibility: 'identical' });
  });

  it('jsonl is the default; another format is a usage error (exit 2)', async () => {
    const r = await cra(['trace', 'export', sessionId, '--format', 'jsonl'], { env: asAgent(server.url, KEYS.agent) });
    expect(r.stdout).toBe(await readFile(exported, 'utf8'));
    const bad = await cra(['trace', 'export', sessionId, '--format', 'xml'], { env: asAgent(server.url, KEYS.agent) });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--format <format>.*xml.*Allowed choices are jsonl, json, csv/s);
  });
});

describe('cra trace verify', () => {
  it('accepts the exported file', async () => {
    const r = await cra(['trace', 'verify', exported, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    const events = await read(exported);
    expect(json(r)).toMatchObject({ valid: true, event_count: events.length, head: { sequence: events.length - 1 } });
  });

  it('asks the runtime when given a session id', async () => {
    const r = await cra(['trace', 'verify', sessionId, '-o', 'table'], { env: asAgent(server.url, KEYS.admin) });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^✓ chain valid: \d+ event\(s\)/);
  });

  it('a tampered payload is a hash_mismatch at that event (exit 1)', async () => {
    const file = await variant('tampered.jsonl', (events) => {
      events[3]!.payload = { ...events[3]!.payload, goal: 'something else' };
    });
    const r = await cra(['trace', 'verify', file, '-o', 'json']);
    expect(r.code).toBe(1);
    expect(json(r)).toMatchObject({ valid: false, first_failure: { index: 3, error: 'hash_mismatch' } });
    const table = await cra(['trace', 'verify', file, '-o', 'table']);
    expect(table.stdout).toMatch(/✗ chain invalid at event index 3 \(sequence 3\): hash_mismatch/);
  });

  it('a rewritten event with a recomputed hash breaks the chain after it (exit 1)', async () => {
    const file = await variant('rewritten.jsonl', (events) => {
      const e = events[2]!;
      e.payload = { ...e.payload, rewritten: true };
      e.event_hash = computeEventHash(e);
    });
    const r = await cra(['trace', 'verify', file, '-o', 'json']);
    expect(r.code).toBe(1);
    expect(json(r)).toMatchObject({ valid: false, first_failure: { index: 3, error: 'chain_broken' } });
  });

  it('a file that is not JSONL names the line', async () => {
    const file = join(dir, 'garbage.jsonl');
    await writeFile(file, `${(await readFile(exported, 'utf8')).split('\n')[0]}\nnot json\n`);
    const r = await cra(['trace', 'verify', file]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('JSONL line 2: not valid JSON');
  });
});

describe('cra trace diff', () => {
  it('identical traces: exit 0', async () => {
    const r = await cra(['trace', 'diff', exported, exported, '-o', 'json']);
    expect(r.code, r.stderr).toBe(0);
    expect(json(r)).toMatchObject({ compatibility: 'identical', differences: [] });
  });

  it('ids and timestamps differ between runs but are ignored; a changed goal is only compatible', async () => {
    const file = await variant('goal.jsonl', (events) => {
      const received = events.find((e) => e.event_type === 'carp.request.received')!;
      received.payload = { ...received.payload, goal: 'Open an issue about the crash' };
      received.event_id = randomIds.uuid();
      received.timestamp = new Date().toISOString();
    });
    const r = await cra(['trace', 'diff', exported, file, '-o', 'json']);
    expect(r.code, r.stdout).toBe(0);
    expect(json(r)).toMatchObject({ compatibility: 'compatible' });
    const strict = await cra(['trace', 'diff', exported, file, '--fail-on', 'compatible', '-o', 'json']);
    expect(strict.code).toBe(1);
    const ignored = await cra(['trace', 'diff', exported, file, '--ignore', 'goal', '-o', 'json']);
    expect(json(ignored)).toMatchObject({ compatibility: 'identical' });
  });

  it('a changed decision is breaking: exit 1 (the CI gate)', async () => {
    const file = await variant('decision.jsonl', (events) => {
      const completed = events.find((e) => e.event_type === 'carp.resolution.completed')!;
      completed.payload = { ...completed.payload, decision_type: 'deny' };
    });
    const r = await cra(['trace', 'diff', exported, file, '-o', 'table']);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/Compatibility\s+breaking/);
    expect(r.stdout).toMatch(/error\s+modified\s+events\[\d+\]\.payload\.decision_type\s+/);
    const asJson = json<{ compatibility: string; differences: { path: string; severity: string }[] }>(
      await cra(['trace', 'diff', exported, file, '-o', 'json']),
    );
    expect(asJson.compatibility).toBe('breaking');
  });

  it('a missing event is breaking', async () => {
    const file = await variant('missing.jsonl', (events) => {
      events.splice(
        events.findIndex((e) => e.event_type === 'carp.actions.resolved'),
        1,
      );
    });
    const r = await cra(['trace', 'diff', exported, file, '-o', 'json']);
    expect(r.code).toBe(1);
    expect(json(r)).toMatchObject({ compatibility: 'breaking', summary: { events_removed: 1 } });
  });
});

// Each replay starts an in-memory runtime (PGlite initdb): seconds, more on a loaded machine.
describe('cra trace replay', { timeout: 180_000 }, () => {
  it('replaying the session against the same atlases and identities is identical', async () => {
    const r = await cra([
      'trace',
      'replay',
      exported,
      '--atlases',
      repo('atlases'),
      '--identities',
      repo('examples/local/identities.yaml'),
      '--secrets-dir',
      repo('examples/local/secrets'),
      '-o',
      'json',
    ]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = json<{
      resolves: number;
      outcome_only: number;
      diff: { compatibility: string; differences: unknown[] };
    }>(r);
    expect(report.resolves).toBe(4);
    expect(report.outcome_only).toBe(0);
    // Same atlases and identities → the same bundle version, so nothing differs at all.
    expect(report.diff.compatibility, JSON.stringify(report.diff.differences, null, 2)).toBe('identical');
  });

  it('without the identities the bundle version differs: compatible, not breaking (exit 0)', async () => {
    const r = await cra(['trace', 'replay', exported, '--atlases', repo('atlases'), '-o', 'json']);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const report = json<{ diff: { compatibility: string; differences: { path: string }[] } }>(r);
    expect(report.diff.compatibility).toBe('compatible');
    expect(report.diff.differences.every((d) => d.path.endsWith('.payload.bundle_version'))).toBe(true);
  });

  it('replaying against changed policies is breaking: exit 1', async () => {
    const atlases = join(dir, 'atlases');
    await cp(repo('atlases'), atlases, { recursive: true });
    const manifest = join(atlases, 'github-ops', 'atlas.yaml');
    const text = await readFile(manifest, 'utf8');
    await writeFile(manifest, text.replace(/(id: allow-github-actions[\s\S]*?effect:) allow/, '$1 deny'));
    const r = await cra(['trace', 'replay', exported, '--atlases', atlases, '-o', 'table']);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/Replayed\s+4 resolve\(s\) in 1 session\(s\)/);
    expect(r.stdout).toMatch(/Compatibility\s+breaking/);
  });

  it('a trace without resolves is an error', async () => {
    const file = await variant('no-resolves.jsonl', (events) => events.splice(1));
    const r = await cra(['trace', 'replay', file, '--atlases', repo('atlases')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('holds no resolve operation');
  });
});
