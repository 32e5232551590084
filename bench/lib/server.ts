/** Starts a server under test (`server-child.ts`) in a child process and controls it over IPC. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ServerSpec {
  /**
   * `cra`: the runtime on the embedded store (PGlite); `cra-prod`: the runtime as deployed
   * (store.kind postgres, redis.url set); `bare`: a fastify server answering canned JSON.
   */
  kind: 'cra' | 'cra-prod' | 'bare';
  /** cra: the embedded data dir (already holding a migrated `pg/`); cra-prod: its data dir (spool, keys). */
  dataDir?: string;
  /** cra-prod: the Postgres database URL. */
  postgresUrl?: string;
  /** cra-prod: the Redis URL. */
  redisUrl?: string;
  /** cra-prod: run the runtime of this checkout (its built `runtime/dist`) instead of this one's. */
  runtimeRoot?: string;
  /** cra, cra-prod: extra configuration (dotted paths, as on the CLI). */
  overrides?: Record<string, unknown>;
  /** Extra environment of the server process (e.g. `GITHUB_API_URL` for the executor's target). */
  env?: Record<string, string>;
  /** bare: JSON file with the array of payloads to answer with (`x-bench-case` picks one). */
  payloadsFile?: string;
  /** bare: JSON file with the execution result `POST /v1/execute` answers with. */
  executePayloadFile?: string;
}

export interface SqlStats {
  statements: number;
  transactions: number;
  statementMs: number;
  transactionMs: number;
}

export interface ServerCpu {
  ms: number;
  loopDelay: { p99Ms: number; maxMs: number };
}

export interface ServerProcess {
  origin: string;
  pid: number;
  /** CPU time (user + system) the server process has used so far, in ms, and its event-loop delay since the last call. */
  cpu(): Promise<ServerCpu>;
  /** Starts the V8 CPU profiler in the server and resets its SQL counters. */
  startProfile(): Promise<void>;
  /** Stops the profiler, writes the `.cpuprofile` to `file`; the SQL counters since the start. */
  stopProfile(file: string): Promise<SqlStats>;
  /** Graceful stop; resolves when the process has exited (and written its profile, if any). */
  stop(): Promise<void>;
}

const CHILD = fileURLToPath(new URL('./server-child.ts', import.meta.url));

export interface StartOptions {
  startTimeoutMs?: number;
}

function once<T>(child: ChildProcess, type: string, timeoutMs: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`server process: no "${type}" message within ${timeoutMs} ms`));
    }, timeoutMs);
    const onMessage = (message: { type?: string }) => {
      if (message?.type !== type) return;
      cleanup();
      resolve(message as T);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`server process exited (code ${code}) before "${type}"`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      child.off('message', onMessage);
      child.off('exit', onExit);
    };
    child.on('message', onMessage);
    child.on('exit', onExit);
  });
}

export async function startServer(spec: ServerSpec, options: StartOptions = {}): Promise<ServerProcess> {
  const child = fork(CHILD, [], {
    execArgv: ['--import', 'tsx'],
    env: { ...process.env, ...spec.env, BENCH_SERVER: JSON.stringify(spec), NODE_ENV: 'production' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let ready: { origin: string };
  try {
    ready = await once<{ origin: string }>(child, 'ready', options.startTimeoutMs ?? 120_000);
  } catch (err) {
    child.kill();
    throw err;
  }
  return {
    origin: ready.origin,
    pid: child.pid!,
    async cpu() {
      const reply = once<ServerCpu>(child, 'cpu', 10_000);
      child.send({ type: 'cpu' });
      const { ms, loopDelay } = await reply;
      return { ms, loopDelay };
    },
    async startProfile() {
      const reply = once(child, 'profiling', 10_000);
      child.send({ type: 'profile-start' });
      await reply;
    },
    async stopProfile(file) {
      const reply = once<{ stats: SqlStats }>(child, 'profile', 60_000);
      child.send({ type: 'profile-stop', file });
      return (await reply).stats;
    },
    async stop() {
      if (child.exitCode !== null) return;
      child.send({ type: 'stop' });
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
