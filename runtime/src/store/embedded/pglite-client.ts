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

/** `dataDir` undefined = in memory (tests). */
export async function openPglite(dataDir?: string): Promise<SqlClient> {
  if (dataDir !== undefined) await mkdir(dataDir, { recursive: true });
  const db = dataDir === undefined ? await PGlite.create() : await PGlite.create(dataDir);
  const root = wrap(db);
  return {
    dialect: 'pglite',
    query: root.query,
    exec: root.exec,
    transaction: (fn) => db.transaction((tx) => fn(wrap(tx))),
    close: () => db.close(),
  };
}
