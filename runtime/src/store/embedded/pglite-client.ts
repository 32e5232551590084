/**
 * The embedded SQL engine: PGlite (Postgres compiled to WebAssembly) in a data directory, so
 * `cra serve` needs no services and runs exactly the Postgres schema and queries.
 */
import { mkdir } from 'node:fs/promises';
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

/** `dataDir` undefined = in memory. */
export async function openPglite(dataDir?: string, options: PgliteOptions = {}): Promise<SqlClient> {
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create({
    ...(dataDir !== undefined ? { dataDir } : {}),
    ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
  });
  const root = wrap(db);
  const client: SqlClient = {
    dialect: 'pglite',
    query: root.query,
    exec: root.exec,
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    close: () => db.close(),
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
