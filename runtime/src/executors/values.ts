/**
 * Resolves executor values (header values, base URLs) from their `ValueSource`: a literal, an
 * environment variable of the runtime, or a key of a Kubernetes Secret mounted as a volume at
 * `<secretsDir>/<name>/<key>`. Resolved values are secrets: they are never logged, and errors
 * name where the value was wanted and where it was looked for, never what it is.
 *
 * Decisions:
 * - An environment variable or secret file that is empty counts as unset (`default` applies).
 *   A literal (`"..."` or `{value}`) is used as written, even when empty.
 * - `prefix` is prepended to whatever the source yields, `default` included.
 * - One trailing newline (`\n` or `\r\n`) of a secret file is dropped: `kubectl create secret
 *   --from-file` keeps the newline editors add.
 * - Secret reads are cached for `secretCacheTtlMs` (5 s): a hot action does not read the disk per
 *   call, and a rotated Secret (the kubelet swaps the volume's `..data` link) is seen within the TTL.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CraError, type ValueSource } from '@cra/core';

export interface ValueResolverOptions {
  env: NodeJS.ProcessEnv | Record<string, string | undefined>;
  /** Where Secret volumes are mounted, one directory per Secret name. */
  secretsDir?: string;
  /** How long a secret file read is reused; default 5000 ms. */
  secretCacheTtlMs?: number;
  /** Milliseconds now, for the cache; default `Date.now`. */
  now?: () => number;
}

export interface ValueResolver {
  /** The value of `source`; `where` names the use in errors, e.g. `header Authorization of action x`. */
  resolve(source: string | ValueSource, where: string): Promise<string>;
}

export const DEFAULT_SECRET_CACHE_TTL_MS = 5_000;

/** Kubernetes Secret names are DNS-1123 subdomains. */
const SECRET_NAME = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?(?:\.[a-z0-9](?:[-a-z0-9]*[a-z0-9])?)*$/;
/** Kubernetes Secret keys; `.`, `..` and a leading `..` are refused as Kubernetes does. */
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const MAX_NAME_LENGTH = 253;

interface CachedRead {
  expiresAt: number;
  value: Promise<string | undefined>;
}

export function createValueResolver(options: ValueResolverOptions): ValueResolver {
  const { env, secretsDir } = options;
  const ttl = options.secretCacheTtlMs ?? DEFAULT_SECRET_CACHE_TTL_MS;
  const now = options.now ?? Date.now;
  const cache = new Map<string, CachedRead>();

  function readSecret(path: string, where: string, ref: string): Promise<string | undefined> {
    const at = now();
    const hit = cache.get(path);
    if (hit !== undefined && hit.expiresAt > at) return hit.value;
    const value = readSecretFile(path, where, ref);
    const entry: CachedRead = { expiresAt: at + ttl, value };
    cache.set(path, entry);
    // A failed read (not ENOENT) is not cached: the next call tries again.
    value.catch(() => {
      if (cache.get(path) === entry) cache.delete(path);
    });
    return value;
  }

  async function fromSecret(ref: { name: string; key: string }, where: string): Promise<string | undefined> {
    const { name, key } = ref;
    const label = `secret ${String(name)}/${String(key)}`;
    if (!isSecretName(name) || !isSecretKey(key)) {
      throw new CraError('EXECUTION_FAILED', `${where}: ${label} is not a valid Secret name and key`, {
        details: { where, secret: { name, key } },
        retriable: false,
      });
    }
    if (secretsDir === undefined) return undefined;
    return readSecret(join(secretsDir, name, key), where, label);
  }

  return {
    async resolve(source, where) {
      if (typeof source === 'string') return source;
      const prefix = source.prefix ?? '';
      if (source.value !== undefined) return prefix + source.value;
      let resolved: string | undefined;
      let lookedAt: string;
      const details: Record<string, unknown> = { where };
      const from = source.valueFrom;
      if (from?.env !== undefined) {
        resolved = nonEmpty(env[from.env]);
        lookedAt = `environment variable ${from.env} is not set`;
        details.env = from.env;
      } else if (from?.secretKeyRef !== undefined) {
        const ref = from.secretKeyRef;
        resolved = await fromSecret(ref, where);
        lookedAt =
          secretsDir === undefined
            ? `secret ${ref.name}/${ref.key} cannot be read: no secrets directory is configured`
            : `secret ${ref.name}/${ref.key} is not set (no file ${join(secretsDir, ref.name, ref.key)})`;
        details.secret = { name: ref.name, key: ref.key };
      } else {
        lookedAt = 'the value source names no value, env or secretKeyRef';
      }
      if (resolved === undefined) resolved = source.default;
      if (resolved === undefined) {
        throw new CraError('EXECUTION_FAILED', `${where}: ${lookedAt} and no default is given`, {
          details,
          retriable: false,
        });
      }
      return prefix + resolved;
    },
  };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

function isSecretName(name: unknown): name is string {
  return typeof name === 'string' && name.length <= MAX_NAME_LENGTH && SECRET_NAME.test(name);
}

function isSecretKey(key: unknown): key is string {
  return (
    typeof key === 'string' &&
    key.length <= MAX_NAME_LENGTH &&
    SECRET_KEY.test(key) &&
    key !== '.' &&
    !key.startsWith('..')
  );
}

async function readSecretFile(path: string, where: string, label: string): Promise<string | undefined> {
  try {
    const content = await readFile(path, 'utf8');
    return nonEmpty(content.replace(/\r?\n$/, ''));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return undefined;
    throw new CraError('EXECUTION_FAILED', `${where}: ${label} cannot be read (${errnoCode(error)})`, {
      details: { where, path },
      retriable: false,
      cause: error,
    });
  }
}

function errnoCode(error: unknown): string {
  return (error as NodeJS.ErrnoException).code ?? 'unknown error';
}
