/**
 * Postgres through a `pg` pool, behind the same SqlClient the embedded engine implements. Errors
 * that mean "the database is not reachable" are recognised so the stores can spool or refuse.
 */
import pg from 'pg';
import type { QueryOptions, SqlClient, SqlQueryable } from '../sql/client.js';

const UNAVAILABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EHOSTUNREACH',
  'EAI_AGAIN',
  '57P01', // admin_shutdown
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now
  '08000',
  '08001',
  '08003',
  '08004',
  '08006',
]);

/** True when `err` says the database could not be reached (as opposed to a bad query). */
export function isUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: string }).code;
  if (code && UNAVAILABLE_CODES.has(code)) return true;
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|connect ECONNREFUSED|Connection ended/i.test(
    err.message,
  );
}

export interface PgOptions {
  url: string;
  poolSize?: number;
  connectionTimeoutMs?: number;
  statementTimeoutMs?: number;
}

export function openPostgres(options: PgOptions): SqlClient & { pool: pg.Pool } {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolSize ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMs ?? 2_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: options.statementTimeoutMs ?? 10_000,
    application_name: 'cra-runtime',
  });
  // An idle client losing its connection must not crash the process; the next query reports it.
  pool.on('error', () => undefined);
  const run = (client: pg.Pool | pg.PoolClient): SqlQueryable => ({
    async query<T>(text: string, params?: unknown[], options?: QueryOptions): Promise<T[]> {
      // pg prepares a named statement once per pooled connection and then only binds and executes it.
      const result = options?.name
        ? await client.query({ name: options.name, text, values: params as unknown[] | undefined })
        : await client.query(text, params as unknown[] | undefined);
      return result.rows as T[];
    },
    async exec(script: string): Promise<void> {
      await client.query(script);
    },
  });
  const root = run(pool);
  return {
    dialect: 'postgres',
    pool,
    query: root.query,
    exec: root.exec,
    async transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T> {
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const result = await fn(run(client));
        await client.query('COMMIT');
        return result;
      } catch (err) {
        broken = isUnavailable(err);
        if (!broken) await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
}
