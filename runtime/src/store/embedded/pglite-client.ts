/**
 * The embedded SQL engine: PGlite (Postgres compiled to WebAssembly) in a data directory, so
 * `cra serve` needs no services and runs exactly the Postgres schema and queries.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { PGlite, type Transaction } from '@electric-sql/pglite';
import type { SqlClient, SqlQueryable } from '../sql/client.js';

function wrap(db: PGlite | Transaction): SqlQueryable {
  return {
    async query<T>(text: string, params?: unknown[]): Promise<T[]> {
      const result = await db.query<T>(text, params);
      return result.rows;
    },
    async exec(script: string): Promise<void> {
      await db.exec(script);
    },
  };
}

export interface PgliteOptions {
  /** Start from a dump (`dumpPglite`) instead of running initdb: much faster for throwaway instances. */
  loadDataDir?: Blob;
}

/**
 * One process per data directory: PGlite has no locking of its own, and two processes writing one
 * directory corrupt it. A lock file holds the owner's pid; a lock whose process is gone is stale.
 */
const lockedHere = new Set<string>();

async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = join(dataDir, 'cra.lock');
  if (lockedHere.has(file)) throw new Error(`the data directory ${dataDir} is already open in this process`);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, 'wx');
      try {
        await handle.writeFile(String(process.pid));
      } finally {
        await handle.close();
      }
      lockedHere.add(file);
      return async () => {
        lockedHere.delete(file);
        await rm(file, { force: true });
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const owner = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new Error(
          `the data directory ${dataDir} is in use by process ${owner}; stop it or use another --data-dir`,
          { cause: err },
        );
      }
      await rm(file, { force: true }); // stale: its process is gone
    }
  }
  throw new Error(`cannot lock the data directory ${dataDir}`);
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** `dataDir` undefined = in memory. */
export async function openPglite(dataDir?: string, options: PgliteOptions = {}): Promise<SqlClient> {
  let unlock: (() => Promise<void>) | undefined;
  if (dataDir !== undefined) {
    await mkdir(dataDir, { recursive: true });
    unlock = await lockDataDir(dataDir);
  }
  let db: PGlite;
  try {
    db = await PGlite.create({
      ...(dataDir !== undefined ? { dataDir } : {}),
      ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
    });
  } catch (err) {
    await unlock?.();
    throw err;
  }
  const root = wrap(db);
  const client: SqlClient = {
    dialect: 'pglite',
    query: root.query,
    exec: root.exec,
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    close: async () => {
      await db.close();
      await unlock?.();
    },
  };
  instances.set(client, db);
  return client;
}

const instances = new WeakMap<SqlClient, PGlite>();

/** A dump of an embedded database, loadable with `openPglite(undefined, {loadDataDir})`. */
export async function dumpPglite(client: SqlClient): Promise<Blob> {
  const db = instances.get(client);
  if (!db) throw new Error('not a PGlite client');
  return db.dumpDataDir('none');
}
