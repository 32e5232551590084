/**
 * Schema migrations, shared by Postgres and PGlite. Several replicas may start at once: the
 * runner takes a transaction-scoped advisory lock (`pg_advisory_xact_lock`), so exactly one
 * applies pending migrations while the others wait and then find nothing to do.
 */
import type { SqlClient } from './client.js';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

const GENESIS = '0'.repeat(64);

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'init',
    sql: `
CREATE TABLE cra_sessions (
  session_id    uuid PRIMARY KEY,
  agent_id      text NOT NULL,
  agent_type    text,
  status        text NOT NULL CHECK (status IN ('active', 'ended', 'error')),
  metadata      jsonb NOT NULL DEFAULT '{}',
  started_at    timestamptz NOT NULL,
  ended_at      timestamptz,
  head_sequence bigint NOT NULL DEFAULT -1,
  head_hash     text NOT NULL DEFAULT '${GENESIS}'
);
CREATE INDEX cra_sessions_agent ON cra_sessions (agent_id, started_at DESC);
CREATE INDEX cra_sessions_status ON cra_sessions (status);

CREATE TABLE cra_trace_events (
  session_id  uuid NOT NULL,
  sequence    bigint NOT NULL,
  event_id    uuid NOT NULL UNIQUE,
  event_type  text NOT NULL,
  severity    text NOT NULL,
  ts          timestamptz NOT NULL,
  trace_id    text NOT NULL,
  event_hash  text NOT NULL,
  event       text NOT NULL,
  PRIMARY KEY (session_id, sequence)
);
CREATE INDEX cra_trace_events_ts ON cra_trace_events (ts);
CREATE INDEX cra_trace_events_type ON cra_trace_events (event_type, ts);

CREATE FUNCTION cra_trace_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'cra_trace_events is append-only';
END;
$$;
CREATE TRIGGER cra_trace_events_no_rewrite BEFORE UPDATE OR DELETE ON cra_trace_events
  FOR EACH ROW EXECUTE FUNCTION cra_trace_events_append_only();

CREATE TABLE cra_resolutions (
  resolution_id uuid PRIMARY KEY,
  session_id    uuid NOT NULL,
  agent_id      text NOT NULL,
  risk_tier     text NOT NULL,
  decision      text NOT NULL,
  expires_at    timestamptz NOT NULL,
  body          text NOT NULL
);
CREATE INDEX cra_resolutions_expiry ON cra_resolutions (expires_at);

CREATE TABLE cra_idempotency (
  resolution_id   uuid NOT NULL,
  idempotency_key text NOT NULL,
  state           text NOT NULL CHECK (state IN ('in_progress', 'done')),
  result          text,
  expires_at      timestamptz NOT NULL,
  PRIMARY KEY (resolution_id, idempotency_key)
);

CREATE TABLE cra_executions (
  execution_id  uuid PRIMARY KEY,
  resolution_id uuid NOT NULL,
  agent_id      text NOT NULL,
  session_id    uuid NOT NULL,
  status        text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  body          text NOT NULL
);
CREATE INDEX cra_executions_resolution ON cra_executions (resolution_id);

CREATE TABLE cra_approvals (
  approval_id   uuid PRIMARY KEY,
  status        text NOT NULL CHECK (status IN ('pending', 'approved', 'denied', 'timeout')),
  resolution_id uuid NOT NULL,
  execution_id  uuid NOT NULL,
  agent_id      text NOT NULL,
  session_id    uuid NOT NULL,
  action_type   text NOT NULL,
  created_at    timestamptz NOT NULL,
  expires_at    timestamptz NOT NULL,
  decided_by    text,
  decided_at    timestamptz,
  reason        text,
  body          text NOT NULL
);
CREATE INDEX cra_approvals_pending ON cra_approvals (status, expires_at);
CREATE INDEX cra_approvals_agent ON cra_approvals (agent_id, created_at DESC);
`,
  },
];

const LOCK_KEY = 7_362_910_245; // arbitrary, fixed: "cra migrations"

export async function migrate(client: SqlClient, migrations: readonly Migration[] = MIGRATIONS): Promise<number[]> {
  return client.transaction(async (tx) => {
    // Transaction-scoped: released at COMMIT/ROLLBACK even if this process dies.
    await tx.query('SELECT pg_advisory_xact_lock($1)', [LOCK_KEY]);
    await tx.exec(
      `CREATE TABLE IF NOT EXISTS cra_schema_migrations (
         version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
    );
    const rows = await tx.query<{ version: number }>('SELECT version FROM cra_schema_migrations');
    const applied = new Set(rows.map((r) => Number(r.version)));
    const done: number[] = [];
    for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
      if (applied.has(m.version)) continue;
      await tx.exec(m.sql);
      await tx.query('INSERT INTO cra_schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      done.push(m.version);
    }
    return done;
  });
}
