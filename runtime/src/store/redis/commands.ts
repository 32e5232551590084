/**
 * CRA's Lua scripts as ioredis commands (`defineCommand`: EVALSHA, falling back to EVAL when the
 * server does not know the script yet), typed by declaration merging on `RedisCommander`.
 * ioredis applies the client's `keyPrefix` to KEYS.
 */
import type { Redis, Result } from 'ioredis';
import { GCRA_LUA } from './gcra-script.js';
import {
  CACHE_GET_LUA,
  CACHE_GET_REFERENCED_LUA,
  CACHE_SET_LUA,
  IDEMPOTENCY_CLAIM_LUA,
  IDEMPOTENCY_COMPLETE_LUA,
  IDEMPOTENCY_RELEASE_LUA,
} from './scripts.js';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** [allowed 0|1, remaining, retryAfterMs, resetMs] */
    craTakeToken(
      key: string,
      requests: number,
      windowMs: number,
      cost: number,
      take: 0 | 1,
    ): Result<[number, number, number, number], Context>;
    craIdemClaim(key: string, marker: string, ttlMs: number): Result<string | null, Context>;
    craIdemComplete(key: string, value: string, minTtlMs: number): Result<number, Context>;
    craIdemRelease(key: string, marker: string): Result<number, Context>;
    craCacheGet(generationKey: string, entryPrefix: string, key: string): Result<string | null, Context>;
    craCacheGetReferenced(
      generationKey: string,
      entryPrefix: string,
      key: string,
      referencePrefix: string,
    ): Result<string | null, Context>;
    craCacheSet(
      generationKey: string,
      entryPrefix: string,
      key: string,
      value: string | Buffer,
      ttlMs: number,
    ): Result<number, Context>;
  }
}

const COMMANDS = {
  craTakeToken: GCRA_LUA,
  craIdemClaim: IDEMPOTENCY_CLAIM_LUA,
  craIdemComplete: IDEMPOTENCY_COMPLETE_LUA,
  craIdemRelease: IDEMPOTENCY_RELEASE_LUA,
  craCacheGet: CACHE_GET_LUA,
  craCacheGetReferenced: CACHE_GET_REFERENCED_LUA,
  craCacheSet: CACHE_SET_LUA,
} as const;

/** Registers every CRA script on `client` (idempotent). */
export function defineCraCommands(client: Redis): void {
  for (const [name, lua] of Object.entries(COMMANDS)) {
    if (typeof (client as unknown as Record<string, unknown>)[name] !== 'function') {
      client.defineCommand(name, { numberOfKeys: 1, lua });
    }
  }
}
