/**
 * `cra serve` with embedded defaults: sessions, resolutions and the chain live in the data
 * directory and survive a restart; atlas changes on disk are picked up atomically.
 */
import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { verifyChain, type CARPResolution, type TraceEvent } from '@cra/core';
import { afterAll, describe, expect, it } from 'vitest';
import type { Runtime } from '../src/runtime.js';
import { auth, executeRequest, repo, resolveRequest, testRuntime } from './helpers/runtime.js';

const temps: string[] = [];
async function temp(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  temps.push(dir);
  return dir;
}
afterAll(async () => {
  for (const dir of temps) await rm(dir, { recursive: true, force: true });
});

async function resolve(rt: Runtime, body: Record<string, unknown>): Promise<CARPResolution> {
  const res = await rt.app.inject({ method: 'POST', url: '/v1/resolve', headers: auth(), payload: body });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<CARPResolution>();
}

describe('embedded store', () => {
  it('keeps sessions, resolutions and the chain across a restart', async () => {
    const dataDir = await temp('cra-data-');
    const first = await testRuntime({ 'store.kind': 'embedded', dataDir });
    const r = await resolve(first, resolveRequest({ risk: 'high', hints: ['github.pulls'] }));
    await first.close();

    const second = await testRuntime({ 'store.kind': 'embedded', dataDir });
    try {
      const stored = await second.app.inject({
        method: 'GET',
        url: `/v1/resolutions/${r.resolution_id}`,
        headers: auth(),
      });
      expect(stored.json()).toEqual(r);
      // The resolution is still executable after the restart (merge waits for approval).
      const exec = await second.app.inject({
        method: 'POST',
        url: '/v1/execute',
        headers: auth(),
        payload: executeRequest(r, 'api.github.merge_pull_request', {
          owner: 'o',
          repo: 'r',
          pull_number: 1,
          merge_method: 'squash',
        }),
      });
      expect(exec.statusCode, exec.body).toBe(202);
      const events = (
        await second.app.inject({ method: 'GET', url: `/v1/traces/${r.session_id}`, headers: auth() })
      ).json<{
        events: TraceEvent[];
      }>().events;
      expect(verifyChain(events).valid).toBe(true);
      expect(events.map((e) => e.event_type)).toContain('carp.resolution.completed');
      expect(events.at(-1)!.event_type).toBe('carp.action.approval.pending');
    } finally {
      await second.close();
    }
  });
});

describe('data directory lock', () => {
  it('refuses a second runtime on the same data directory instead of corrupting it', async () => {
    const dataDir = await temp('cra-lock-');
    const first = await testRuntime({ 'store.kind': 'embedded', dataDir });
    try {
      await expect(testRuntime({ 'store.kind': 'embedded', dataDir })).rejects.toThrow(
        /already open in this process|in use by process/,
      );
    } finally {
      await first.close();
    }
    const again = await testRuntime({ 'store.kind': 'embedded', dataDir });
    await again.close();
  });
});

describe('atlas reload', () => {
  it('serves a changed atlas after a reload, atomically, and keeps the last good bundle on a broken edit', async () => {
    const atlases = await temp('cra-atlases-');
    await cp(repo('atlases/github-ops'), join(atlases, 'github-ops'), { recursive: true });
    const rt = await testRuntime({ atlases: [atlases] });
    try {
      const before = rt.cra.bundles.current.version;
      const manifest = join(atlases, 'github-ops', 'atlas.yaml');
      const original = await readFile(manifest, 'utf8');
      await writeFile(manifest, original.replace(/^version: 1\.0\.0$/m, 'version: 1.1.0'));
      expect((await rt.reload()).changed).toBe(true);
      expect(rt.cra.bundles.current.version).not.toBe(before);
      const r = await resolve(rt, resolveRequest({ risk: 'low', hints: ['github.issues'] }));
      expect(r.context_blocks[0]!.atlas_ref).toBe('default/github-ops@1.1.0');

      const good = rt.cra.bundles.current.version;
      await writeFile(manifest, `${original.replace(/^version: 1\.0\.0$/m, 'version: not-semver')}`);
      const broken = await rt.reload();
      expect(broken.changed).toBe(false);
      expect(broken.problems.some((p) => p.path.includes('version'))).toBe(true);
      expect(rt.cra.bundles.current.version).toBe(good);
      expect((await resolve(rt, resolveRequest({ risk: 'low' }))).decision.type).toBeDefined();
    } finally {
      await rt.close();
    }
  });

  it('reloads by itself when a watched atlas file changes', async () => {
    const atlases = await temp('cra-watch-');
    await cp(repo('atlases/github-ops'), join(atlases, 'github-ops'), { recursive: true });
    const rt = await testRuntime({ atlases: [atlases], watch: true });
    try {
      const swapped = new Promise<string>((resolveSwap) => rt.cra.bundles.onSwap((next) => resolveSwap(next.version)));
      const pack = join(atlases, 'github-ops', 'context', 'issues-guide.md');
      await writeFile(pack, `${await readFile(pack, 'utf8')}\n\nNew guidance line.\n`);
      const version = await swapped;
      expect(version).toBe(rt.cra.bundles.current.version);
      const r = await resolve(rt, resolveRequest({ risk: 'low', hints: ['github.issues'] }));
      expect(r.context_blocks[0]!.content).toContain('New guidance line.');
    } finally {
      await rt.close();
    }
  });
});
