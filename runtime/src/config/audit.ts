/**
 * The effective configuration as recorded in TRACE (`system.config.loaded`): everything the
 * runtime was started with, minus its secrets (the password of a store URL and the redaction HMAC
 * key become "[REDACTED]") and minus the instance id, with the SHA-256 of that (RFC 8785 canonical
 * JSON), so replicas and restarts can be compared by one value.
 */
import { createHash } from 'node:crypto';
import { canonicalJson } from '@cra/core';
import type { RuntimeConfig } from './schema.js';

export const REDACTED = '[REDACTED]';

/** Query parameters that carry credentials in connection URLs (`?password=`, `?sslpassword=`…). */
const SECRET_PARAM = /pass|secret|token|key/i;

/** `url` with its password and any credential-like query parameter replaced. */
export function withoutCredentials(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return REDACTED; // not a URL the runtime could have used; it may hold anything
  }
  if (parsed.password !== '') parsed.password = REDACTED;
  for (const name of [...parsed.searchParams.keys()]) {
    if (SECRET_PARAM.test(name)) parsed.searchParams.set(name, REDACTED);
  }
  return parsed.href;
}

export function configForAudit(config: RuntimeConfig): { config: Record<string, unknown>; sha256: string } {
  const copy = structuredClone(config) as RuntimeConfig;
  // Which replica it is goes beside (`instance_id`), so replicas of one deployment hash alike.
  delete copy.server.instanceId;
  if (copy.store.postgresUrl !== undefined) copy.store.postgresUrl = withoutCredentials(copy.store.postgresUrl);
  if (copy.redis.url !== undefined) copy.redis.url = withoutCredentials(copy.redis.url);
  if (copy.trace.hmacKey !== undefined) copy.trace.hmacKey = REDACTED;
  const json = JSON.parse(JSON.stringify(copy)) as Record<string, unknown>;
  return { config: json, sha256: createHash('sha256').update(canonicalJson(json)).digest('hex') };
}
