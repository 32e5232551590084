// Child processes for the harnesses: captured logs (ring buffer for failure dumps), readiness
// polling, graceful stop (signal, then SIGKILL after a timeout), and cleanup on exit that only ever
// touches the PIDs and directories this module created.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';

/** The last `capacity` lines written to a stream pair. */
export class LogRing {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(private readonly capacity = 200) {}

  push(chunk: string): void {
    const parts = (this.partial + chunk).split('\n');
    this.partial = parts.pop() ?? '';
    for (const line of parts) this.add(line);
  }

  /** Lines so far, including an unterminated last one. */
  snapshot(): string[] {
    return this.partial === '' ? [...this.lines] : [...this.lines, this.partial];
  }

  private add(line: string): void {
    this.lines.push(line);
    if (this.lines.length > this.capacity) this.lines.shift();
  }
}

export interface SpawnOptions {
  /** Short name used in log prefixes and errors, e.g. `redis` or `kube-apiserver`. */
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Run as this uid/gid (the harness is root in CI; postgres refuses to run as root). */
  uid?: number;
  gid?: number;
  /** Lines kept for failure dumps. Default 200. */
  logLines?: number;
  /** Also stream output to this process's stderr, prefixed with `[name]`. */
  attachOutput?: boolean;
}

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned child with captured output. Create with `spawnProcess()`. */
export class ManagedProcess {
  readonly name: string;
  readonly pid: number;
  private readonly child: ChildProcess;
  private readonly ring: LogRing;
  private status: ExitStatus | undefined;
  private readonly exitPromise: Promise<ExitStatus>;

  constructor(options: SpawnOptions) {
    this.name = options.name;
    this.ring = new LogRing(options.logLines ?? 200);
    this.child = spawn(options.command, [...options.args], {
      cwd: options.cwd,
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      // Own process group: stop()/kill() reach helpers it forks, and a Ctrl-C aimed at the test
      // runner does not race our orderly shutdown.
      detached: true,
      ...(options.uid === undefined ? {} : { uid: options.uid }),
      ...(options.gid === undefined ? {} : { gid: options.gid }),
    });
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      this.ring.push(text);
      if (options.attachOutput) {
        for (const line of text.split('\n')) if (line !== '') process.stderr.write(`[${this.name}] ${line}\n`);
      }
    };
    this.child.stdout?.on('data', onData);
    this.child.stderr?.on('data', onData);
    this.exitPromise = new Promise((resolve) => {
      this.child.once('error', (error) => {
        this.ring.push(`spawn error: ${error.message}\n`);
        this.status ??= { code: null, signal: null };
        untrack(this);
        resolve(this.status);
      });
      this.child.once('exit', (code, signal) => {
        this.status = { code, signal };
        untrack(this);
        resolve(this.status);
      });
    });
    if (this.child.pid === undefined) {
      // spawn failed synchronously (ENOENT arrives as an 'error' event right after).
      this.pid = -1;
      this.status = { code: null, signal: null };
    } else {
      this.pid = this.child.pid;
      track(this);
    }
  }

  get exited(): boolean {
    return this.status !== undefined;
  }

  get exitStatus(): ExitStatus | undefined {
    return this.status;
  }

  /** Captured output, newest last. */
  logs(): string[] {
    return this.ring.snapshot();
  }

  /** A block for error messages: name, pid, exit status and the captured tail of the output. */
  failureDump(lines = 60): string {
    const state = this.status
      ? `exited (code ${String(this.status.code)}, signal ${String(this.status.signal)})`
      : 'running';
    const tail = this.logs().slice(-lines);
    return `--- ${this.name} (pid ${this.pid}, ${state}), last ${tail.length} lines ---\n${tail.join('\n')}\n---`;
  }

  waitForExit(): Promise<ExitStatus> {
    return this.exitPromise;
  }

  /** Sends `signal` to the child (default SIGTERM); SIGKILLs its process group after `timeoutMs`. */
  async stop(options: { signal?: NodeJS.Signals; timeoutMs?: number } = {}): Promise<ExitStatus> {
    if (this.exited) return this.exitPromise;
    this.signal(options.signal ?? 'SIGTERM', false);
    const timeout = sleep(options.timeoutMs ?? 10_000, 'timeout' as const);
    if ((await Promise.race([this.exitPromise, timeout])) === 'timeout') {
      this.signal('SIGKILL', true);
    }
    const status = await this.exitPromise;
    this.signal('SIGKILL', true); // anything the child forked and left behind
    return status;
  }

  /** SIGKILL to the whole process group, at once: simulates a crash or an outage. */
  async kill(): Promise<ExitStatus> {
    this.signal('SIGKILL', true);
    return this.exitPromise;
  }

  private signal(signal: NodeJS.Signals, group: boolean): void {
    if (this.pid <= 0) return;
    try {
      process.kill(group ? -this.pid : this.pid, signal);
    } catch {
      // already gone
    }
  }

  /** Used by the exit hook: synchronous, best effort. */
  killNow(): void {
    this.signal('SIGKILL', true);
  }
}

/** Spawns `options.command`, capturing its output. */
export function spawnProcess(options: SpawnOptions): ManagedProcess {
  return new ManagedProcess(options);
}

export interface WaitOptions {
  /** What is awaited, for the error message, e.g. `redis on 127.0.0.1:6380 to answer PING`. */
  description: string;
  timeoutMs?: number;
  intervalMs?: number;
  /** Fail fast (with its logs) when this process exits while waiting. */
  process?: ManagedProcess;
}

/**
 * Polls `probe` until it returns something other than `undefined`/`false` and returns that.
 * Throws with the last probe error and the process's log tail on timeout or early exit.
 */
export async function waitUntil<T>(probe: () => Promise<T | undefined | false>, options: WaitOptions): Promise<T> {
  const deadline = performance.now() + (options.timeoutMs ?? 30_000);
  let lastError: unknown;
  for (;;) {
    if (options.process?.exited) {
      throw new HarnessError(`${options.description}: process exited before it was ready`, options.process);
    }
    try {
      const result = await probe();
      if (result !== undefined && result !== false) return result;
      lastError = undefined;
    } catch (error) {
      lastError = error;
    }
    if (performance.now() >= deadline) {
      const cause = lastError instanceof Error ? ` (last error: ${lastError.message})` : '';
      throw new HarnessError(
        `timed out after ${options.timeoutMs ?? 30_000} ms waiting for ${options.description}${cause}`,
        options.process,
      );
    }
    await sleep(options.intervalMs ?? 100);
  }
}

/** `waitUntil` for a probe whose falsy answers (null, 0, '') also mean "not yet". */
export function pollUntil<T>(
  probe: () => Promise<T | undefined | false | null>,
  description: string,
  options: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<NonNullable<T>> {
  return waitUntil(async () => (await probe()) || undefined, { description, ...options }) as Promise<NonNullable<T>>;
}

/** An error that carries the failing process's output, so test failures show why. */
export class HarnessError extends Error {
  readonly logs: string;
  constructor(message: string, process?: ManagedProcess) {
    const logs = process ? process.failureDump() : '';
    super(logs === '' ? message : `${message}\n${logs}`);
    this.name = 'HarnessError';
    this.logs = logs;
  }
}

// ---- cleanup on exit -----------------------------------------------------------------------

const live = new Set<ManagedProcess>();
const tempDirs = new Set<string>();
let hooked = false;

function track(child: ManagedProcess): void {
  live.add(child);
  installExitHooks();
}

function untrack(child: ManagedProcess): void {
  live.delete(child);
}

/** Deletes `dir` when the test process exits, unless `removeTempDir()` already did. */
export function registerTempDir(dir: string): void {
  tempDirs.add(dir);
  installExitHooks();
}

export async function removeTempDir(dir: string): Promise<void> {
  tempDirs.delete(dir);
  await rm(dir, { recursive: true, force: true, maxRetries: 3 });
}

function cleanupNow(): void {
  for (const child of live) child.killNow();
  live.clear();
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort at exit
    }
  }
  tempDirs.clear();
}

function installExitHooks(): void {
  if (hooked) return;
  hooked = true;
  process.once('exit', cleanupNow);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      cleanupNow();
      // Restore the default disposition when nobody else handles the signal.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.once(signal, onSignal);
  }
}

/** PIDs started by the harness that are still running (for diagnostics and tests). */
export function harnessPids(): number[] {
  return [...live].map((child) => child.pid);
}
