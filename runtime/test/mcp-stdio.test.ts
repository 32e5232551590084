/**
 * `cra mcp`: the built binary serves MCP over stdio to the SDK's real `Client` (through
 * `StdioClientTransport`), as one agent with the runtime in its own process: tools, a resolve
 * that sends `tools/list_changed`, a granted call that reaches the GitHub stand-in, stdout
 * carrying nothing but the protocol, and the refusals of a bad command line.
 */
import { spawn } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ToolListChangedNotificationSchema, type CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { assertBuilt, BIN } from './cli/helpers.js';
import { startFakeApi, type FakeApi } from './helpers/fake-api.js';
import { repo } from './helpers/runtime.js';
import { secretsDir } from './helpers/secrets.js';

// Spawns the CLI (a Node process with a runtime): slow on a loaded machine, never wrong.
vi.setConfig({ testTimeout: 90_000, hookTimeout: 90_000 });

const TOKEN = 'ghp_testtoken0000000000000000000000000000';
let github: FakeApi;
let secrets: string;

beforeAll(async () => {
  assertBuilt();
  github = await startFakeApi(() => ({ status: 201, body: { number: 7, html_url: 'https://github.example/7' } }));
  secrets = await secretsDir({ 'github-token': { token: TOKEN } });
});
afterAll(async () => {
  await github?.close();
  if (secrets) await rm(secrets, { recursive: true, force: true });
});

function cleanEnv(extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('CRA_') && value !== undefined) env[key] = value;
  }
  return { ...env, NO_COLOR: '1', GITHUB_API_URL: github.url, ...extra };
}

function args(...extra: string[]): string[] {
  return [
    BIN,
    'mcp',
    '--atlases',
    repo('atlases'),
    '--identities',
    repo('examples/local/identities.yaml'),
    '--secrets-dir',
    secrets,
    '--store',
    'memory',
    '--no-watch',
    ...extra,
  ];
}

describe('cra mcp (stdio)', () => {
  it('lists, resolves with a list_changed notification, and calls a granted tool', async () => {
    const transport = new StdioClientTransport({
      command: process.execPath,
      args: args('--agent', 'dev-agent', '--log-level', 'info'),
      env: cleanEnv(),
      stderr: 'pipe',
    });
    let stderr = '';
    transport.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    const protocolErrors: Error[] = [];
    const client = new Client({ name: 'stdio-test', version: '1.0.0' });
    client.onerror = (err) => protocolErrors.push(err);
    const changed: string[] = [];
    let announced!: () => void;
    const gotChange = new Promise<void>((resolve) => {
      announced = resolve;
    });
    client.setNotificationHandler(ToolListChangedNotificationSchema, (n) => {
      changed.push(n.method);
      announced();
    });
    await client.connect(transport);
    try {
      expect(client.getServerVersion()).toMatchObject({ name: 'cra' });
      expect((await client.listTools()).tools.map((t) => t.name).sort()).toEqual([
        'cra_execute',
        'cra_resolve',
        'cra_validate',
      ]);

      const resolved = (await client.callTool({
        name: 'cra_resolve',
        arguments: { goal: 'Report the login crash', context_hints: ['github.issues'] },
      })) as CallToolResult & { structuredContent: { summary: { decision: string; session_id: string } } };
      expect(resolved.isError).toBeFalsy();
      expect(resolved.structuredContent.summary.decision).toBe('allow');
      await gotChange;
      expect(changed).toEqual(['notifications/tools/list_changed']);

      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['github_create_issue', 'github_close_issue']));
      const before = github.seen.length;
      const created = (await client.callTool({
        name: 'github_create_issue',
        arguments: { owner: 'acme', repo: 'mobile-app', title: 'Bug: login crash' },
      })) as CallToolResult & { structuredContent: { status: string; result: { output: unknown } } };
      expect(created.isError).toBeFalsy();
      expect(created.structuredContent.status).toBe('success');
      expect(created.structuredContent.result.output).toMatchObject({ number: 7, url: 'https://github.example/7' });
      expect(github.seen[before]).toMatchObject({ method: 'POST', url: '/repos/acme/mobile-app/issues' });
      expect(github.seen[before]!.headers.authorization).toBe(`Bearer ${TOKEN}`);

      const refused = (await client.callTool({ name: 'github_merge_pr', arguments: {} })) as CallToolResult & {
        structuredContent: { error: { code: string } };
      };
      expect(refused.isError).toBe(true);
      expect(refused.structuredContent.error.code).toBe('ACTION_NOT_PERMITTED');
    } finally {
      await client.close();
    }
    // stdout held only protocol messages (anything else would have been a parse error), and the
    // logs went to stderr.
    expect(protocolErrors).toEqual([]);
    expect(stderr).toContain('cra mcp serving on stdio');
  });

  it('refuses an unknown agent, and a missing one, before speaking MCP', async () => {
    const run = (extra: string[], env: Record<string, string> = {}) =>
      new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
        const child = spawn(process.execPath, args(...extra), { env: cleanEnv(env), stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
        child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
        child.on('close', (code) => resolve({ code, stdout, stderr }));
        child.stdin.end();
      });
    // The variable names the agent as well; with stdin closed at once the server exits 0.
    const [unknown, missing, viaEnv] = await Promise.all([
      run(['--agent', 'nobody']),
      run([]),
      run([], { CRA_AGENT_ID: 'dev-agent' }),
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('agent nobody has no identity');
    expect(unknown.stdout).toBe('');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--agent');
    expect(viaEnv.code, viaEnv.stderr).toBe(0);
    expect(viaEnv.stdout).toBe('');
  });
});
