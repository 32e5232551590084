/**
 * The executor port (CRA-SPEC §5): the domain hands a permitted action to the executor of its
 * atlas `executor.type` and gets back the output, its MIME type and the side effects.
 *
 * Failures are thrown as CraError: `EXECUTION_FAILED` (details {status?, body? (≤ 2 KB excerpt),
 * url (no query string)}; retriable for network errors, 5xx and 429) or `TIMEOUT` (retriable).
 * Request headers never appear in errors.
 */
import { CraError, type Executor as ExecutorConfig, type SideEffect } from '@cra/core';

export type { ExecutorConfig };

export interface ExecutorInput {
  /** The atlas action id; named in errors. */
  actionId: string;
  actionType: string;
  config: ExecutorConfig;
  /** Validated action parameters. */
  parameters: Record<string, unknown>;
  /** Caller's timeout; capped by the executor's configured timeout. */
  timeoutMs?: number;
  /** Aborts the execution (client gone, shutdown). */
  signal?: AbortSignal;
  /** W3C traceparent forwarded to the target. */
  traceparent?: string;
}

export interface ExecutorOutput {
  output: unknown;
  /** MIME type of `output` as produced (e.g. `application/json`, `text/plain`). */
  outputType: string;
  sideEffects: SideEffect[];
  /** Requests made to the target system. */
  apiCalls: number;
  /** The target's status, when it has one (HTTP). */
  status?: number;
}

export interface Executor {
  execute(input: ExecutorInput): Promise<ExecutorOutput>;
}

export interface ExecutorRegistry {
  /** The executor for `config.type`; throws EXECUTION_FAILED when none is registered. */
  executorFor(config: ExecutorConfig): Executor;
}

export function createExecutorRegistry(executors: { http: Executor; mcp?: Executor }): ExecutorRegistry {
  const byType = new Map<string, Executor>([['http', executors.http]]);
  if (executors.mcp !== undefined) byType.set('mcp', executors.mcp);
  return {
    executorFor(config) {
      const type = String((config as { type?: unknown }).type);
      const executor = byType.get(type);
      if (executor === undefined) {
        throw new CraError('EXECUTION_FAILED', `no executor of type ${type}`, {
          details: { type },
          retriable: false,
        });
      }
      return executor;
    },
  };
}
