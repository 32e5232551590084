// A CRA runtime as a separate OS process (`cra serve` from the built binary), standing in for a
// runtime pod: configured by environment, ready when /readyz answers.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { freePort } from './ports.js';
import { spawnProcess, waitUntil, type ManagedProcess } from './process.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CRA_BIN = `${REPO_ROOT}runtime/bin/cra.js`;

export interface RuntimeProcess {
  readonly url: string;
  readonly port: number;
  readonly process: ManagedProcess;
  /** SIGTERM and wait (graceful shutdown). */
  stop(): Promise<void>;
}

export interface RuntimeProcessOptions {
  name: string;
  /** CRA_* settings; CRA_PORT and CRA_HOST are chosen by the harness. */
  env: Record<string, string>;
  startTimeoutMs?: number;
  attachOutput?: boolean;
}

export async function startRuntimeProcess(options: RuntimeProcessOptions): Promise<RuntimeProcess> {
  if (!existsSync(`${REPO_ROOT}runtime/dist/cli/main.js`)) {
    throw new Error('runtime/dist is missing: run `make build` (or `npx tsc -b`) before the e2e tests');
  }
  const port = await freePort();
  const child = spawnProcess({
    name: options.name,
    command: process.execPath,
    args: [CRA_BIN, 'serve'],
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      CRA_HOST: '127.0.0.1',
      CRA_PORT: String(port),
      CRA_LOG_LEVEL: 'warn',
      CRA_WATCH: 'false',
      ...options.env,
    },
    ...(options.attachOutput ? { attachOutput: true } : {}),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(
    async () => {
      const res = await fetch(`${url}/readyz`).catch(() => undefined);
      return res?.status === 200;
    },
    {
      description: `${options.name} ready on ${url}`,
      timeoutMs: options.startTimeoutMs ?? 60_000,
      intervalMs: 200,
      process: child,
    },
  );
  return {
    url,
    port,
    process: child,
    async stop() {
      await child.stop({ signal: 'SIGTERM', timeoutMs: 15_000 });
    },
  };
}
