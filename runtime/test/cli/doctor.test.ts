/**
 * `cra doctor` on the local example configuration (every check passes, with a temporary data
 * directory), on a running runtime, and on broken configurations (✗ lines with fixes, exit 1).
 */
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { repo } from '../helpers/runtime.js';
import { assertBuilt, cra, json, startRuntime, tempDir, type ListeningRuntime, removeTempDirs } from './helpers.js';

// Every test spawns the CLI (a Node process); a loaded machine makes that slow, never wrong.
vi.setConfig({ testTimeout: 120_000 });

interface Report {
  ok: boolean;
  checks: { name: string; status: 'ok' | 'fail' | 'skip'; message: string; fix?: string }[];
}

let server: ListeningRuntime;

beforeAll(async () => {
  assertBuilt();
  server = await startRuntime();
});
afterAll(async () => {
  await server?.close();
  await removeTempDirs();
});

describe('cra doctor', () => {
  it('passes every check on examples/local/cra.yaml with a temporary data dir, and probes --server', async () => {
    const dataDir = join(await tempDir(), 'data');
    const r = await cra(['doctor', '--config', 'examples/local/cra.yaml', '--server', server.url, '-o', 'table'], {
      env: { CRA_DATA_DIR: dataDir },
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    for (const expected of [
      /^✓ node: Node\.js \S+ \(>= 22\.19\.0\)$/,
      /^✓ config: examples\/local\/cra\.yaml loads$/,
      /^✓ atlas: default\/github-ops@1\.0\.0 /,
      /^✓ atlas: default\/cluster-ops@1\.0\.0 /,
      /^✓ atlas: default\/customer-support@1\.0\.0 /,
      /^✓ identities: 3 agent\(s\) with API-key digests: /,
      new RegExp(`^✓ data dir: ${dataDir} is writable$`),
      new RegExp(`^✓ embedded store: ${join(dataDir, 'pg')} opens$`),
      /^✓ \/healthz: /,
      /^✓ \/readyz: /,
    ]) {
      expect(
        lines.some((l) => expected.test(l)),
        `${expected} in\n${r.stdout}`,
      ).toBe(true);
    }
    expect(r.stdout).not.toContain('✗');
    expect(r.stdout).toContain('all checks passed');
  });

  it('reports each configuration problem with a fix and exits 1', async () => {
    const file = join(await tempDir(), 'cra.yaml');
    await writeFile(file, 'server:\n  port: 99999\natlases: []\nstore:\n  kind: cloud\n');
    const r = await cra(['doctor', '--config', file, '-o', 'json']);
    expect(r.code).toBe(1);
    const report = json<Report>(r);
    expect(report.ok).toBe(false);
    const failed = report.checks.filter((c) => c.status === 'fail');
    expect(failed.map((c) => c.message)).toEqual([
      'server.port: must be <= 65535',
      'store.kind: must be one of "embedded", "memory", "postgres"',
      expect.stringMatching(/^atlases: give at least one atlas directory/),
    ]);
    expect(failed[0]!.fix).toContain('CRA_PORT');
    expect(failed[2]!.fix).toContain('CRA_ATLASES');
    for (const c of failed) expect(c.fix).toBeTruthy();

    const table = await cra(['doctor', '--config', file, '-o', 'table']);
    expect(table.code).toBe(1);
    expect(table.stdout).toMatch(/^✗ config: server\.port: must be <= 65535\n {4}fix: /m);
    expect(table.stdout).toContain('3 check(s) failed');
  });

  it('names a broken atlas, a bad digest, an unwritable data dir and an unreachable server', async () => {
    const dir = await tempDir();
    await cp(repo('atlases/github-ops'), join(dir, 'atlases', 'github-ops'), { recursive: true });
    await writeFile(
      join(dir, 'atlases', 'github-ops', 'atlas.yaml'),
      'name: github-ops\nversion: 1.0.0\ndomains: []\n',
    );
    await cp(repo('examples/local/secrets'), join(dir, 'secrets'), { recursive: true });
    await writeFile(join(dir, 'secrets', 'cra-dev-agent', 'digest'), 'dev-agent-key\n');
    await writeFile(join(dir, 'not-a-dir'), 'a file where the data dir should be');
    await writeFile(
      join(dir, 'cra.yaml'),
      [
        'atlases: [atlases, ' + JSON.stringify(repo('atlases/cluster-ops')) + ']',
        `identities: [${JSON.stringify(repo('examples/local/identities.yaml'))}]`,
        'secretsDir: secrets',
        'dataDir: not-a-dir/data',
      ].join('\n'),
    );
    const r = await cra(['doctor', '--config', join(dir, 'cra.yaml'), '--server', 'http://127.0.0.1:1', '-o', 'json']);
    expect(r.code).toBe(1);
    const checks = json<Report>(r).checks;
    const status = (name: string) => checks.filter((c) => c.name === name).map((c) => c.status);
    expect(status('atlas')).toEqual(['fail', 'ok']);
    expect(checks.find((c) => c.name === 'atlas' && c.status === 'fail')!.message).toMatch(
      /github-ops: \d+ problem\(s\); first: .*\/domains/,
    );
    const digest = checks.find((c) => c.name === 'identities')!;
    expect(digest).toMatchObject({
      status: 'fail',
      message: expect.stringContaining('dev-agent/spec/auth/apiKeySecretRef'),
    });
    expect(digest.fix).toContain('sha256sum');
    expect(checks.find((c) => c.name === 'data dir')).toMatchObject({
      status: 'fail',
      message: expect.stringMatching(/not writable/),
    });
    expect(checks.find((c) => c.name === 'embedded store')!.status).toBe('skip');
    expect(checks.find((c) => c.name === '/healthz')).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('cra serve'),
    });
  });
});
