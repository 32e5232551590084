/**
 * The one SQL surface the stores use, so Postgres (pg) and the embedded engine (PGlite) run the
 * same schema and the same queries.
 */
export interface QueryOptions {
  /**
   * Names a statement the hot path runs over and over: Postgres then parses and plans it once per
   * connection (a named prepared statement) instead of on every call. Engines without named
   * statements ignore it. One name, one text.
   */
  name?: string;
}

export interface SqlQueryable {
  query<T = Record<string, unknown>>(text: string, params?: unknown[], options?: QueryOptions): Promise<T[]>;
  /** Runs a script of several statements without parameters. */
  exec(script: string): Promise<void>;
}

export interface SqlClient extends SqlQueryable {
  /** Runs `fn` in one transaction (BEGIN … COMMIT, ROLLBACK on error). */
  transaction<T>(fn: (tx: SqlQueryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
  readonly dialect: 'postgres' | 'pglite';
}
