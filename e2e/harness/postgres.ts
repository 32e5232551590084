// A private PostgreSQL on loopback: initdb into a temp dir, trust auth, fsync off.
//
// Postgres refuses to run as root. When the harness is root (CI), the temp dir is handed to the
// `postgres` system user and initdb/postgres run with that uid/gid (spawn's uid/gid options: the
// same as `setpriv --reuid --regid`, with no wrapper process between us and the postmaster).
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chown, mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort, isAddressInUse, LOOPBACK, retry } from './ports.js';
import { registerTempDir, removeTempDir, spawnProcess, waitUntil, type ManagedProcess } from './process.js';

const run = promisify(execFile);

export interface PostgresOptions {
  /** Fixed port; default a free one (retried on a bind race). */
  port?: number;
  /** Directory with initdb, postgres, pg_isready, psql, createdb; default `$PG_BIN` or the newest `/usr/lib/postgresql/<v>/bin`. */
  binDir?: string;
  /** Extra `-c name=value` server settings, e.g. `{ max_connections: '200' }`. */
  settings?: Record<string, string>;
  startTimeoutMs?: number;
  attachOutput?: boolean;
}

export interface PostgresInstance {
  /** `postgres://postgres@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly port: number;
  readonly host: string;
  readonly user: string;
  readonly binDir: string;
  /** Fast shutdown (SIGINT) and removal of the temp dir. */
  stop(): Promise<void>;
  /** SIGKILL to the postmaster and its backends: simulates a crash. */
  kill(): Promise<void>;
  /** Starts again on the same port and data directory (crash recovery after `kill()`). */
  restart(): Promise<void>;
  /** Creates database `name` (letters, digits, `_`) and returns its URL. */
  createDatabase(name: string): Promise<string>;
  /** Runs `sql` with the psql CLI (`-XAt`, ON_ERROR_STOP) and returns its trimmed stdout. */
  psql(sql: string, database?: string): Promise<string>;
  logs(): string[];
}

/** The newest `/usr/lib/postgresql/<version>/bin` holding `postgres`, or `$PG_BIN`. */
export function findPostgresBinDir(): string {
  const fromEnv = process.env['PG_BIN'];
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((v) => existsSync(join(root, v, 'bin', 'postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) {
    throw new Error(
      `no PostgreSQL server under ${root}/<version>/bin: run scripts/install-test-deps.sh (or set PG_BIN)`,
    );
  }
  return join(root, newest, 'bin');
}

/** uid/gid of the `postgres` system user, when we are root and must drop privileges. */
function postgresIdentity(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  const fields = line?.split(':');
  if (fields === undefined || fields.length < 4) {
    throw new Error('running as root and there is no `postgres` system user to run the server as');
  }
  return { uid: Number(fields[2]), gid: Number(fields[3]) };
}

const DATABASE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export async function startPostgres(options: PostgresOptions = {}): Promise<PostgresInstance> {
  const binDir = options.binDir ?? findPostgresBinDir();
  const bin = (name: string): string => join(binDir, name);
  const identity = postgresIdentity();
  const user = 'postgres';

  const dir = await mkdtemp(join(tmpdir(), 'cra-pg-'));
  registerTempDir(dir);
  const dataDir = join(dir, 'data');
  if (identity) await chown(dir, identity.uid, identity.gid);

  const clientEnv = { ...process.env, PGCONNECT_TIMEOUT: '5' };
  try {
    await run(
      bin('initdb'),
      ['-D', dataDir, '-U', user, '-A', 'trust', '-E', 'UTF8', '--no-locale', '--no-sync', '--no-instructions'],
      { cwd: dir, env: clientEnv, ...(identity ?? {}) },
    );
  } catch (error) {
    await removeTempDir(dir);
    const stderr = (error as { stderr?: string }).stderr ?? '';
    throw new Error(`initdb failed: ${(error as Error).message}\n${stderr}`, { cause: error });
  }

  let port = options.port ?? 0;
  let server: ManagedProcess | undefined;
  const settings: Record<string, string> = {
    listen_addresses: LOOPBACK,
    unix_socket_directories: dir,
    // No fsync: fast, and a killed server (kill()) still recovers everything it committed, because
    // each commit is written to the OS before it returns. (synchronous_commit=off would lose the
    // last few commits on kill(), which crash tests do not expect.)
    fsync: 'off',
    full_page_writes: 'off',
    ...options.settings,
  };

  const launch = async (): Promise<void> => {
    const args = ['-D', dataDir, '-p', String(port)];
    for (const [key, value] of Object.entries(settings)) args.push('-c', `${key}=${value}`);
    const child = spawnProcess({
      name: `postgres:${port}`,
      command: bin('postgres'),
      args,
      cwd: dir,
      attachOutput: options.attachOutput,
      ...(identity ?? {}),
    });
    server = child;
    try {
      await waitUntil(
        async () => {
          await run(bin('pg_isready'), ['-q', '-h', LOOPBACK, '-p', String(port), '-U', user, '-d', 'postgres'], {
            env: clientEnv,
          });
          return true;
        },
        {
          description: `postgres on ${LOOPBACK}:${port} to accept connections`,
          timeoutMs: options.startTimeoutMs ?? 30_000,
          intervalMs: 100,
          process: child,
        },
      );
    } catch (error) {
      await child.kill();
      throw error;
    }
  };

  try {
    await retry(
      async () => {
        if (options.port === undefined) port = await freePort();
        await launch();
      },
      { attempts: options.port === undefined ? 3 : 1, shouldRetry: isAddressInUse },
    );
  } catch (error) {
    await removeTempDir(dir);
    throw error;
  }

  const urlFor = (database: string): string => `postgres://${user}@${LOOPBACK}:${port}/${database}`;

  return {
    url: urlFor('postgres'),
    port,
    host: LOOPBACK,
    user,
    binDir,
    async stop() {
      // SIGINT = fast shutdown: open client connections do not hold it up (SIGTERM would wait for them).
      await server?.stop({ signal: 'SIGINT', timeoutMs: 15_000 });
      await removeTempDir(dir);
    },
    async kill() {
      await server?.kill();
    },
    async restart() {
      await server?.stop({ signal: 'SIGINT', timeoutMs: 15_000 });
      await launch();
    },
    async createDatabase(name: string) {
      if (!DATABASE_NAME.test(name)) {
        throw new Error(`createDatabase: invalid name ${JSON.stringify(name)} (letters, digits and _, max 63)`);
      }
      await run(bin('createdb'), ['-h', LOOPBACK, '-p', String(port), '-U', user, name], { env: clientEnv });
      return urlFor(name);
    },
    async psql(sql: string, database = 'postgres') {
      const { stdout } = await run(
        bin('psql'),
        ['-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-d', urlFor(database), '-c', sql],
        { env: clientEnv },
      );
      return stdout.trim();
    },
    logs: () => server?.logs() ?? [],
  };
}
