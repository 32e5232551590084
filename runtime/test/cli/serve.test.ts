/**
 * `cra serve` as a subprocess: it starts on a free port with the reference atlases, answers
 * probes and CARP requests, and exits cleanly on SIGTERM; a bad configuration exits 1 naming
 * every problem.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { KEYS, repo } from '../helpers/runtime.js';
import { asAgent, assertBuilt, BIN, cra, json, tempDir, removeTempDirs } from './helpers.js';

// Every test spawns the CLI (a Node process); a loaded machine makes that slow, never wrong.
vi.setConfig({ testTimeout: 90_000 });

beforeAll(assertBuilt);
afterAll(removeTempDirs);

interface Served {
  child: ChildProcessWithoutNullStreams;
  output: () => string;
  /** Resolves with the listening address, or rejects when the process exits first. */
  address: Promise<string>;
  exit: Promise<number | null>;
}

const running: ChildProcessWithoutNullStreams[] = [];
afterEach(() => {
  for (const child of running.splice(0)) if (child.exitCode === null) child.kill('SIGKILL');
});

function serve(args: string[]): Served {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const key of Object.keys(env)) if (key.startsWith('CRA_')) delete env[key];
  const child = spawn(process.execPath, [BIN, 'serve', ...args], { cwd: repo(''), env });
  running.push(child);
  let out = '';
  const exit = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const address = new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      out += chunk.toString('utf8');
      for (const line of out.split('\n')) {
        if (!line.includes('cra runtime listening')) continue;
        resolve((JSON.parse(line) as { address: string }).address);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    void exit.then((code) => reject(new Error(`cra serve exited with ${code} before listening:\n${out}`)));
  });
  return { child, output: () => out, address, exit };
}

const REFERENCE = [
  '--atlases',
  'atlases',
  '--identities',
  'examples/local/identities.yaml',
  '--secrets-dir',
  'examples/local/secrets',
  '--host',
  '127.0.0.1',
  '--port',
  '0',
  '--no-watch',
];

// Starting a runtime (PGlite initdb) takes seconds, more on a loaded machine.
describe('cra serve', { timeout: 180_000 }, () => {
  it('serves the reference atlases on a free port, answers /healthz and CARP, and exits 0 on SIGTERM', async () => {
    const dataDir = join(await tempDir(), 'data');
    const served = serve([...REFERENCE, '--data-dir', dataDir, '--store', 'embedded']);
    const address = await served.address;
    expect(address).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const health = await fetch(`${address}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${address}/readyz`);
    expect(ready.status).toBe(200);

    const r = await cra(['resolve', 'Open an issue', '--risk', 'low', '--hints', 'github.issues', '-o', 'json'], {
      env: asAgent(address, KEYS.agent, 'dev-agent'),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(json<{ decision: { type: string } }>(r).decision.type).toBe('allow');

    served.child.kill('SIGTERM');
    expect(await served.exit).toBe(0);
    expect(served.output()).toContain('shutting down');
  });

  it('warns when authentication is off', async () => {
    const served = serve([...REFERENCE, '--store', 'memory', '--insecure-no-auth']);
    await served.address;
    expect(served.output()).toContain('authentication is OFF');
    served.child.kill('SIGTERM');
    expect(await served.exit).toBe(0);
  });

  it('a bad configuration prints every problem and exits 1', async () => {
    const r = await cra(['serve', '--store', 'memory', '--port', '0', '--log-level', 'silent']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('error: the configuration has 1 problem(s)');
    expect(r.stderr).toMatch(/^ {2}atlases: give at least one atlas directory/m);

    const file = join(await tempDir(), 'cra.yaml');
    await writeFile(file, 'server:\n  port: 70000\n  colour: blue\natlases: [atlases]\nstore:\n  kind: cloud\n');
    const bad = await cra(['serve', '--config', file]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain('error: the configuration has 3 problem(s)');
    expect(bad.stderr).toMatch(/server\.port: /);
    expect(bad.stderr).toMatch(/server\.colour: is not a known field/);
    expect(bad.stderr).toMatch(/store\.kind: /);
    expect(bad.stderr).not.toMatch(/\n\s+at /);
  });

  it('a port in use is an error, not a hang', async () => {
    const blocker = createServer();
    await new Promise<void>((done) => blocker.listen(0, '127.0.0.1', done));
    const { port } = blocker.address() as AddressInfo;
    try {
      const served = serve([...REFERENCE.slice(0, -3), '--port', String(port), '--store', 'memory', '--no-watch']);
      await expect(served.address).rejects.toThrow(/exited with 1/);
      expect(served.output()).toContain(`error: cannot listen on 127.0.0.1:${port} (EADDRINUSE)`);
    } finally {
      blocker.close();
    }
  });
});
