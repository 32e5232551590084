/**
 * Graceful shutdown of a runtime process: SIGTERM stops accepting, lets in-flight requests finish
 * (their TRACE events included), ends within the grace period and exits 0.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CARPExecutionResult, CARPResolution } from '@cra/core';
import { afterAll, expect, it } from 'vitest';
import { REPO_ROOT, startRuntimeProcess } from '../harness/runtime-process.js';

const temps: string[] = [];
afterAll(async () => {
  for (const d of temps) await rm(d, { recursive: true, force: true });
});

function v7(): string {
  const ms = Date.now().toString(16).padStart(12, '0');
  const hex = [...crypto.getRandomValues(new Uint8Array(10))].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7${hex.slice(0, 3)}-8${hex.slice(4, 7)}-${hex.slice(7, 19)}`;
}

it('finishes an in-flight execution on SIGTERM, then exits 0', async () => {
  // A slow stand-in for GitHub: answers after 1.5 s.
  const slow: Server = createServer((_req, res) => {
    setTimeout(() => {
      res.writeHead(201, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ number: 1 }));
    }, 1500);
  });
  await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
  const dataDir = await mkdtemp(join(tmpdir(), 'cra-shutdown-'));
  temps.push(dataDir);
  const rt = await startRuntimeProcess({
    name: 'runtime',
    env: {
      CRA_CONFIG: `${REPO_ROOT}examples/local/cra.yaml`,
      CRA_DATA_DIR: dataDir,
      GITHUB_API_URL: `http://127.0.0.1:${(slow.address() as AddressInfo).port}`,
    },
  });
  try {
    const headers = { authorization: 'Bearer dev-agent-key', 'content-type': 'application/json' };
    const session = v7();
    const base = {
      carp_version: '1.0',
      timestamp: new Date().toISOString(),
      requester: { agent_id: 'dev-agent', session_id: session },
    };
    const r = (await (
      await fetch(`${rt.url}/v1/resolve`, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          ...base,
          request_id: v7(),
          operation: 'resolve',
          task: { goal: 'file a bug', risk_tier: 'low', context_hints: ['github.issues'] },
        }),
      })
    ).json()) as CARPResolution;
    const grant = r.allowed_actions.find((g) => g.action_type === 'api.github.create_issue')!;
    const inFlight = fetch(`${rt.url}/v1/execute`, {
      method: 'POST',
      headers,
      body: JSON.stringify({
        ...base,
        request_id: v7(),
        operation: 'execute',
        action: {
          action_id: grant.action_id,
          action_type: grant.action_type,
          resolution_id: r.resolution_id,
          parameters: { owner: 'o', repo: 'r', title: 't' },
        },
      }),
    });
    await new Promise((res) => setTimeout(res, 300));
    process.kill(rt.process.pid, 'SIGTERM');
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(((await res.json()) as CARPExecutionResult).status).toBe('success');
    const exit = await rt.process.waitForExit();
    expect(exit.code).toBe(0);
    await expect(fetch(`${rt.url}/healthz`)).rejects.toThrow();
  } finally {
    await rt.stop();
    await new Promise<void>((r) => slow.close(() => r()));
  }
}, 120_000);
