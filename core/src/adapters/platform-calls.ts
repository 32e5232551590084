/**
 * Tool calls in and tool results out, per platform and API format, for callers that receive a
 * model's calls as they came from the platform (`POST /v1/adapt/{platform}/calls`):
 * - `openai` + `chat`: the assistant message's `tool_calls` → `{role: "tool"}` messages;
 * - `openai` + `responses`: the response's `output` items (function calls) → `function_call_output` items;
 * - `anthropic`: the assistant message's `content` blocks (tool uses) → `tool_result` blocks;
 * - `mcp`: `tools/call` params `{name, arguments}` → `CallToolResult`s.
 */
import type { Platform } from '../atlas/types.js';
import { anthropicToolResult, parseAnthropicToolUses } from './anthropic.js';
import { mcpToolResult } from './mcp.js';
import {
  chatToolMessage,
  parseChatToolCalls,
  parseResponsesFunctionCalls,
  responsesFunctionCallOutput,
} from './openai.js';
import { toolCall, type ParsedToolCall, type ToolOutcome } from './tool-calls.js';

export const OPENAI_FORMATS = ['chat', 'responses'] as const;
export type OpenAIFormat = (typeof OPENAI_FORMATS)[number];

export function parsePlatformCalls(
  platform: Platform,
  format: OpenAIFormat,
  calls: readonly unknown[],
): ParsedToolCall[] {
  switch (platform) {
    case 'openai':
      return format === 'responses' ? parseResponsesFunctionCalls(calls) : parseChatToolCalls(calls);
    case 'anthropic':
      return parseAnthropicToolUses(calls);
    case 'mcp':
      return calls.map((raw, i) => {
        const call = (typeof raw === 'object' && raw !== null ? raw : {}) as { name?: unknown; arguments?: unknown };
        return toolCall(String(i), call.name, call.arguments);
      });
  }
}

export function renderPlatformResults(
  platform: Platform,
  format: OpenAIFormat,
  outcomes: readonly ToolOutcome[],
): object[] {
  switch (platform) {
    case 'openai':
      return format === 'responses' ? outcomes.map(responsesFunctionCallOutput) : outcomes.map(chatToolMessage);
    case 'anthropic':
      return outcomes.map(anthropicToolResult);
    case 'mcp':
      return outcomes.map(mcpToolResult);
  }
}
