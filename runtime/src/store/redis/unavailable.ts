import { CraError } from '@cra/core';

/**
 * Runs a Redis operation; a failure (unreachable, timed out) becomes SERVICE_UNAVAILABLE with a
 * short Retry-After instead of an internal error: the client may simply retry.
 */
export async function redisOp<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CraError) throw err;
    throw new CraError('SERVICE_UNAVAILABLE', `shared store unavailable (${what}): ${(err as Error).message}`, {
      retryAfterSeconds: 1,
      cause: err,
    });
  }
}
