/**
 * Signed checkpoints (CRA-SPEC §6.3): at an interval the runtime signs the heads of the sessions
 * that changed (EdDSA JWS) and writes them outside the trace database. Someone who rewrites the
 * trace tables — even recomputing every hash into a valid chain — cannot forge these signatures,
 * so `verifyCheckpoints` detects the rewrite.
 */
import { canonicalJson, sha256Hex, type ChainHead, type Clock, type TraceEvent } from '@cra/core';
import { CompactSign, compactVerify, importJWK, type JWK } from 'jose';

export const CHECKPOINT_TYPE = 'cra-checkpoint+jws';

export interface CheckpointPayload {
  typ: 'cra.checkpoint';
  /** Instance that signed. */
  iss: string;
  /** Epoch seconds. */
  iat: number;
  /** Counter per instance, and the SHA-256 of the previous checkpoint of this instance. */
  seq: number;
  prev: string | null;
  heads: { session_id: string; sequence: number; event_hash: string }[];
}

/** Where checkpoints live: a directory, a bucket … never the trace database. */
export interface CheckpointSink {
  write(name: string, jws: string): Promise<void>;
  list(): Promise<{ name: string; jws: string }[]>;
  publishKey(kid: string, jwk: JWK): Promise<void>;
  keys(): Promise<JWK[]>;
}

export interface SigningKey {
  kid: string;
  privateKey: Parameters<CompactSign['sign']>[0];
  publicJwk: JWK;
}

export interface CheckpointerOptions {
  sink: CheckpointSink;
  key: SigningKey;
  instanceId: string;
  clock: Clock;
  /** Records the checkpoint in TRACE (`trace.checkpoint.signed`). */
  record(payload: Record<string, unknown>): Promise<void>;
  onWritten?: () => void;
}

export class Checkpointer {
  private readonly dirty = new Map<string, ChainHead>();
  private seq = 0;
  private prev: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<string | undefined> | undefined;

  constructor(private readonly options: CheckpointerOptions) {}

  /** Feed with every sealed event batch (Tracer.subscribe). */
  track(events: readonly TraceEvent[]): void {
    for (const e of events) {
      if (e.event_type === 'trace.checkpoint.signed') continue; // would re-dirty every interval
      const known = this.dirty.get(e.session_id);
      if (!known || known.sequence < e.sequence) {
        this.dirty.set(e.session_id, { sequence: e.sequence, event_hash: e.event_hash });
      }
    }
  }

  start(intervalSeconds: number): void {
    if (intervalSeconds <= 0) return;
    this.timer = setInterval(() => void this.checkpoint().catch(() => undefined), intervalSeconds * 1000);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await this.checkpoint();
  }

  /** Signs and writes the heads changed since the last checkpoint; returns its name, if any. */
  checkpoint(): Promise<string | undefined> {
    this.running ??= this.write().finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  private async write(): Promise<string | undefined> {
    if (this.dirty.size === 0) return undefined;
    const heads = [...this.dirty.entries()]
      .map(([session_id, head]) => ({ session_id, ...head }))
      .sort((a, b) => (a.session_id < b.session_id ? -1 : 1));
    this.dirty.clear();
    this.seq += 1;
    const now = this.options.clock.now();
    const payload: CheckpointPayload = {
      typ: 'cra.checkpoint',
      iss: this.options.instanceId,
      iat: Math.floor(now / 1000),
      seq: this.seq,
      prev: this.prev,
      heads,
    };
    const jws = await new CompactSign(new TextEncoder().encode(canonicalJson(payload)))
      .setProtectedHeader({ alg: 'EdDSA', kid: this.options.key.kid, typ: CHECKPOINT_TYPE })
      .sign(this.options.key.privateKey);
    const safeInstance = this.options.instanceId.replace(/[^A-Za-z0-9._-]/g, '_');
    const name = `${new Date(now).toISOString().replace(/[:.]/g, '-')}-${safeInstance}-${this.seq}.jws`;
    await this.options.sink.write(name, jws);
    this.prev = sha256Hex(jws);
    this.options.onWritten?.();
    await this.options.record({
      checkpoint: name,
      sessions: heads.length,
      sha256: this.prev,
      kid: this.options.key.kid,
    });
    return name;
  }
}

export type CheckpointFailure =
  | { checkpoint: string; error: 'signature_invalid' | 'unknown_key' | 'malformed'; message: string }
  | {
      checkpoint: string;
      error: 'event_missing' | 'hash_mismatch';
      session_id: string;
      sequence: number;
      message: string;
    };

export interface CheckpointReport {
  valid: boolean;
  checkpoints: number;
  heads_checked: number;
  failures: CheckpointFailure[];
}

/**
 * Checks every head signed in `checkpoints` against the chains as stored now. `chainOf` returns
 * a session's events (null if the session is not part of this verification).
 */
export async function verifyCheckpoints(
  checkpoints: readonly { name: string; jws: string }[],
  keys: readonly JWK[],
  chainOf: (sessionId: string) => Promise<readonly TraceEvent[] | null>,
): Promise<CheckpointReport> {
  const failures: CheckpointFailure[] = [];
  let checked = 0;
  const byKid = new Map(keys.filter((k) => k.kid).map((k) => [k.kid!, k]));
  const chains = new Map<string, Map<number, string> | null>();
  for (const { name, jws } of checkpoints) {
    let payload: CheckpointPayload;
    try {
      const header = JSON.parse(Buffer.from(jws.split('.')[0] ?? '', 'base64url').toString('utf8')) as { kid?: string };
      const jwk = header.kid ? byKid.get(header.kid) : undefined;
      if (!jwk) {
        failures.push({
          checkpoint: name,
          error: 'unknown_key',
          message: `no public key with kid ${String(header.kid)}`,
        });
        continue;
      }
      const key = await importJWK(jwk, 'EdDSA');
      const verified = await compactVerify(jws, key, { algorithms: ['EdDSA'] });
      payload = JSON.parse(new TextDecoder().decode(verified.payload)) as CheckpointPayload;
    } catch (err) {
      const code = (err as { code?: string }).code;
      failures.push({
        checkpoint: name,
        error: code === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED' ? 'signature_invalid' : 'malformed',
        message: (err as Error).message,
      });
      continue;
    }
    for (const head of payload.heads) {
      if (!chains.has(head.session_id)) {
        const events = await chainOf(head.session_id);
        chains.set(head.session_id, events ? new Map(events.map((e) => [e.sequence, e.event_hash])) : null);
      }
      const chain = chains.get(head.session_id);
      if (!chain) continue;
      checked += 1;
      const stored = chain.get(head.sequence);
      if (stored === undefined) {
        failures.push({
          checkpoint: name,
          error: 'event_missing',
          session_id: head.session_id,
          sequence: head.sequence,
          message: `signed head ${head.sequence} is missing from the stored chain`,
        });
      } else if (stored !== head.event_hash) {
        failures.push({
          checkpoint: name,
          error: 'hash_mismatch',
          session_id: head.session_id,
          sequence: head.sequence,
          message: `event ${head.sequence} hashes to ${stored}, the checkpoint signed ${head.event_hash}: the chain was rewritten`,
        });
      }
    }
  }
  return { valid: failures.length === 0, checkpoints: checkpoints.length, heads_checked: checked, failures };
}
