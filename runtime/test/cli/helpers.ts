/**
 * Running the built `cra` binary as a user would (a child process), plus the real parts the
 * remote commands talk to: a runtime listening on loopback and a stand-in for the GitHub API.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Runtime } from '../../src/runtime.js';
import { repo, testRuntime } from '../helpers/runtime.js';

export const BIN = repo('runtime/bin/cra.js');
export const MAIN = repo('runtime/dist/cli/main.js');

/** Fails the suite with a clear message when the CLI was not built (`make test` builds first). */
export function assertBuilt(): void {
  if (!existsSync(MAIN)) {
    throw new Error(`${MAIN} is missing: build first with "npx tsc -b" (make test does)`);
  }
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  input?: string;
}

/** Environment without CRA_* variables of the developer's shell, and without colour. */
function cleanEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!key.startsWith('CRA_')) env[key] = value;
  env.NO_COLOR = '1';
  for (const [key, value] of Object.entries(extra)) {
    if (value === undefined) delete env[key];
    else env[key] = value;
  }
  return env;
}

export function cra(args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      cwd: options.cwd ?? repo(''),
      env: cleanEnv(options.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

export interface RunningCli {
  /** Resolves with the first line the command prints on stdout. */
  firstLine: Promise<string>;
  stderr(): string;
  /** Sends a signal; `exited` resolves when the process ends. */
  kill(signal: NodeJS.Signals): void;
  exited: Promise<CliResult>;
}

/** A long-running command (`cra trace visualize`): started, read while it runs, stopped by a signal. */
export function startCra(args: readonly string[], options: CliOptions = {}): RunningCli {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? repo(''),
    env: cleanEnv(options.env),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const exited = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      stdout += c.toString('utf8');
      const end = stdout.indexOf('\n');
      if (end >= 0) resolve(stdout.slice(0, end));
    });
    void exited.then((r) =>
      reject(new Error(`cra ${args.join(' ')} exited (${r.code}) before printing:\n${r.stderr}`)),
    );
  });
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
  return { firstLine, stderr: () => stderr, kill: (signal) => child.kill(signal), exited };
}

/** Parses stdout as JSON, with the whole result in the message when it is not. */
export function json<T = Record<string, unknown>>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`stdout is not JSON (exit ${result.code}):\n${result.stdout}\nstderr:\n${result.stderr}`);
  }
}

/** A loopback port nothing listens on (it was free a moment ago). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((done) => server.close(() => done()));
  return port;
}

const created: string[] = [];

/** A fresh temporary directory, removed by `removeTempDirs` (call it in afterAll). */
export async function tempDir(prefix = 'cra-cli-'): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  created.push(dir);
  return dir;
}

export async function removeTempDirs(): Promise<void> {
  await Promise.all(created.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
}

/** A secrets directory with the dev identities' digests plus a GitHub token. */
export async function secretsWithGithubToken(): Promise<string> {
  const dir = await tempDir('cra-secrets-');
  await cp(repo('examples/local/secrets'), dir, { recursive: true });
  await mkdir(join(dir, 'github-token'), { recursive: true });
  await writeFile(join(dir, 'github-token', 'token'), 'ghp_testtoken0000000000000000000000000000\n');
  return dir;
}

export interface SeenRequest {
  method: string;
  url: string;
  authorization: string | undefined;
  body: unknown;
}

export interface FakeGithub {
  url: string;
  seen: SeenRequest[];
  close(): Promise<void>;
}

/** Answers like the GitHub REST API for the calls the github-ops atlas makes. */
export async function startFakeGithub(): Promise<FakeGithub> {
  const seen: SeenRequest[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      const body: unknown = text ? JSON.parse(text) : undefined;
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      const merge = /\/pulls\/(\d+)\/merge$/.exec(req.url ?? '');
      const answer = merge
        ? { status: 200, body: { merged: true, sha: 'abc123', message: 'Pull Request successfully merged' } }
        : { status: 201, body: { number: 42, html_url: 'https://github.example/acme/app/issues/42', state: 'open' } };
      res.writeHead(answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer.body));
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    close: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => done());
      }),
  };
}

export interface ListeningRuntime {
  rt: Runtime;
  url: string;
  github: FakeGithub;
  close(): Promise<void>;
}

/** The reference runtime (in-memory store, dev identities) on a free loopback port. */
export async function startRuntime(): Promise<ListeningRuntime> {
  const github = await startFakeGithub();
  const rt = await testRuntime({ secretsDir: await secretsWithGithubToken() }, { env: { GITHUB_API_URL: github.url } });
  const url = await rt.app.listen({ port: 0, host: '127.0.0.1' });
  return {
    rt,
    url,
    github,
    async close() {
      await rt.close();
      await github.close();
    },
  };
}

/** Environment for a remote command as a given agent. */
export function asAgent(url: string, key: string, agent?: string): Record<string, string> {
  return { CRA_URL: url, CRA_API_KEY: key, ...(agent ? { CRA_AGENT_ID: agent } : {}) };
}
