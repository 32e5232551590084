// The CRA operator as a separate OS process (the built `operator/bin/cra-operator.js`), with a
// kubeconfig file standing in for its in-cluster service account. Ready when /readyz answers 200.
import { existsSync } from 'node:fs';
import { freePort } from './ports.js';
import { spawnProcess, waitUntil, type ManagedProcess } from './process.js';
import { REPO_ROOT } from './runtime-process.js';

export interface OperatorProcess {
  readonly url: string;
  readonly process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startOperatorProcess(options: {
  name: string;
  kubeconfigPath: string;
  env: Record<string, string>;
  attachOutput?: boolean;
}): Promise<OperatorProcess> {
  if (!existsSync(`${REPO_ROOT}operator/dist/main.js`)) {
    throw new Error('operator/dist is missing: run `make build` (or `npx tsc -b`) before the e2e tests');
  }
  const port = await freePort();
  const child = spawnProcess({
    name: options.name,
    command: process.execPath,
    args: [`${REPO_ROOT}operator/bin/cra-operator.js`],
    cwd: REPO_ROOT,
    env: {
      PATH: process.env.PATH,
      HOME: process.env.HOME,
      KUBECONFIG: options.kubeconfigPath,
      CRA_OPERATOR_PORT: String(port),
      CRA_LOG_LEVEL: 'info',
      ...options.env,
    },
    ...(options.attachOutput ? { attachOutput: true } : {}),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntil(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.status === 200, {
    description: `${options.name} ready on ${url}`,
    timeoutMs: 60_000,
    intervalMs: 200,
    process: child,
  });
  return {
    url,
    process: child,
    async stop() {
      await child.stop({ signal: 'SIGTERM', timeoutMs: 20_000 });
    },
  };
}
