/**
 * Expected failures of a command: printed as a message (never a stack trace) with an exit code.
 * 1 = the command failed (bad input data, a refused request, a broken chain, a breaking diff);
 * 2 = the command line itself is wrong (commander reports its own usage errors with 2 too).
 */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.failure,
    /** Extra lines printed under the message, e.g. each violation. */
    readonly details: readonly string[] = [],
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, EXIT.usage);
    this.name = 'UsageError';
  }
}

/** A Node system error code (ENOENT, EACCES, …) or the message. */
export function systemReason(err: unknown): string {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.message : String(err);
}
