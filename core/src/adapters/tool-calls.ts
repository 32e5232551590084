/**
 * Platform-neutral tool calls and their outcomes. Each platform adapter parses its own call shape
 * into a `ParsedToolCall` and renders a `ToolOutcome` as its own tool-result shape; what a call
 * does (look up the grant, execute through CARP) is the runtime's `ToolCallBridge`.
 */
import type { CARPExecutionResult, Violation } from '../carp/types.js';

export interface ParsedToolCall {
  /** The platform's call id (`tool_call_id`, `call_id`, `tool_use_id`). */
  call_id: string;
  name: string;
  /** The parsed arguments; absent when `error` says why they could not be read. */
  arguments?: Record<string, unknown>;
  /** Why the call cannot run as sent (arguments not valid JSON or not an object, no name). */
  error?: { code: 'INVALID_REQUEST'; message: string; violations: Violation[] };
}

/** Where arguments sit in the CARP execute request; violations point inside them. */
const ARGUMENTS_PATH = '/';

function invalid(message: string): NonNullable<ParsedToolCall['error']> {
  return { code: 'INVALID_REQUEST', message, violations: [{ code: 'INVALID_REQUEST', path: ARGUMENTS_PATH, message }] };
}

/**
 * Arguments as a model sends them: a JSON text (OpenAI) or an already-parsed value (Anthropic,
 * MCP). An empty text is `{}` (a call without parameters). Anything but a JSON object is an error
 * that names the problem, never an exception.
 */
export function parseArguments(raw: unknown): Pick<ParsedToolCall, 'arguments' | 'error'> {
  let value = raw;
  if (typeof raw === 'string') {
    if (raw.trim() === '') return { arguments: {} };
    try {
      value = JSON.parse(raw) as unknown;
    } catch (err) {
      return { error: invalid(`arguments are not valid JSON: ${(err as Error).message}`) };
    }
  } else if (raw === undefined || raw === null) {
    return { arguments: {} };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return {
      error: invalid(`arguments must be a JSON object, not ${Array.isArray(value) ? 'an array' : typeof value}`),
    };
  }
  return { arguments: value as Record<string, unknown> };
}

/** A call with its name and id checked and its arguments parsed. */
export function toolCall(callId: unknown, name: unknown, rawArguments: unknown): ParsedToolCall {
  const id = typeof callId === 'string' ? callId : '';
  if (typeof name !== 'string' || name === '') {
    return { call_id: id, name: '', error: invalid('the tool call names no tool') };
  }
  return { call_id: id, name, ...parseArguments(rawArguments) };
}

export const TOOL_OUTCOME_STATUSES = ['success', 'pending_approval', 'failed', 'timeout', 'denied'] as const;
export type ToolOutcomeStatus = (typeof TOOL_OUTCOME_STATUSES)[number];

export interface ToolOutcomeError {
  code: string;
  message: string;
  violations?: Violation[];
  retriable: boolean;
  retry_after_seconds?: number;
  /** Policy rules behind a refusal (`<source>#<rule>`). */
  policy_refs?: string[];
  /** What would make the call acceptable. */
  remediation?: string;
}

/** What became of one tool call, and the text the model reads about it. */
export interface ToolOutcome {
  call_id: string;
  name: string;
  /** `denied`: refused before anything ran (unknown tool, bad arguments, any execute check). */
  status: ToolOutcomeStatus;
  is_error: boolean;
  /** The tool result the model sees: a JSON text. */
  content: string;
  action_id?: string;
  action_type?: string;
  execution_id?: string;
  approval_id?: string;
  error?: ToolOutcomeError;
}

interface CallRef {
  call_id: string;
  name: string;
  action_id?: string;
  action_type?: string;
}

const ids = (ref: CallRef) => ({
  call_id: ref.call_id,
  name: ref.name,
  ...(ref.action_id ? { action_id: ref.action_id } : {}),
  ...(ref.action_type ? { action_type: ref.action_type } : {}),
});

/** A call refused before execution (`status: "denied"`, `is_error: true`). */
export function refusedOutcome(ref: CallRef, error: ToolOutcomeError): ToolOutcome {
  const visible = {
    status: 'denied',
    error: {
      code: error.code,
      message: error.message,
      ...(error.violations && error.violations.length > 0
        ? { violations: error.violations.map((v) => ({ path: v.path, message: v.message })) }
        : {}),
      ...(error.retriable ? { retriable: true } : {}),
      ...(error.retry_after_seconds !== undefined ? { retry_after_seconds: error.retry_after_seconds } : {}),
      ...(error.policy_refs && error.policy_refs.length > 0 ? { policy_refs: error.policy_refs } : {}),
      ...(error.remediation ? { remediation: error.remediation } : {}),
    },
  };
  return { ...ids(ref), status: 'denied', is_error: true, content: JSON.stringify(visible), error };
}

export const PENDING_APPROVAL_MESSAGE =
  'This action needs human approval and has not run yet. Do not call it again; tell the user it is waiting for approval.';

/** The execution result of a call, as the model sees it. */
export function executionOutcome(ref: CallRef, result: CARPExecutionResult): ToolOutcome {
  const base = { ...ids(ref), execution_id: result.execution_id };
  switch (result.status) {
    case 'success':
    case 'partial_success':
      return {
        ...base,
        status: 'success',
        is_error: false,
        content: JSON.stringify(result.result?.output ?? null),
      };
    case 'pending_approval':
      return {
        ...base,
        status: 'pending_approval',
        is_error: false,
        ...(result.approval_id ? { approval_id: result.approval_id } : {}),
        content: JSON.stringify({
          status: 'pending_approval',
          approval_id: result.approval_id,
          message: PENDING_APPROVAL_MESSAGE,
        }),
      };
    default: {
      const error: ToolOutcomeError = {
        code: result.error?.code ?? 'EXECUTION_FAILED',
        message: result.error?.message ?? `the execution ended with status ${result.status}`,
        retriable: result.error?.retriable ?? false,
      };
      const status: ToolOutcomeStatus = result.status === 'timeout' ? 'timeout' : 'failed';
      return {
        ...base,
        status,
        is_error: true,
        error,
        content: JSON.stringify({
          status,
          error: { code: error.code, message: error.message, ...(error.retriable ? { retriable: true } : {}) },
        }),
      };
    }
  }
}
