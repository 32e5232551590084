/**
 * OpenAI function calling, both APIs:
 * - Chat Completions: `tools: [{type: "function", function: {name, description, parameters,
 *   strict}}]`, calls in `choices[].message.tool_calls[]` ({id, type: "function", function:
 *   {name, arguments}}), results as `{role: "tool", tool_call_id, content}` messages;
 * - Responses: `tools: [{type: "function", name, description, parameters, strict}]`, calls as
 *   `function_call` output items ({call_id, name, arguments}), results as
 *   `{type: "function_call_output", call_id, output}` input items.
 * `strict` is always sent explicitly: the Responses API treats an omitted `strict` as true and
 * rewrites the schema, so a schema that is not strict-compatible as it is goes out as `false`.
 */
import type { CARPResolution } from '../carp/types.js';
import { describeGrant, grantNames, namedGrants, type MappingsOf, type ToolChoice } from './grants.js';
import { strictCompatible } from './strict-schema.js';
import { toolCall, type ParsedToolCall, type ToolOutcome } from './tool-calls.js';

export interface OpenAIFunction {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
  strict: boolean;
}

export interface ChatFunctionTool {
  type: 'function';
  function: OpenAIFunction;
}

export interface ResponsesFunctionTool extends OpenAIFunction {
  type: 'function';
}

export type ChatToolChoice = 'auto' | 'required' | 'none' | { type: 'function'; function: { name: string } };
export type ResponsesToolChoice = 'auto' | 'required' | 'none' | { type: 'function'; name: string };

export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatToolMessage {
  role: 'tool';
  tool_call_id: string;
  content: string;
}

export interface ResponsesFunctionCall {
  type: 'function_call';
  id?: string;
  call_id: string;
  name: string;
  arguments: string;
  status?: 'in_progress' | 'completed' | 'incomplete';
}

export interface ResponsesFunctionCallOutput {
  type: 'function_call_output';
  call_id: string;
  output: string;
}

/** One function per grant, in tool-name order. */
export function openaiFunctions(resolution: CARPResolution, mappingsOf: MappingsOf): OpenAIFunction[] {
  return namedGrants(grantNames(resolution, 'openai', mappingsOf)).map(({ name, grant }) => ({
    name,
    description: describeGrant(grant),
    parameters: structuredClone(grant.schema),
    strict: strictCompatible(grant.schema),
  }));
}

export function chatTools(resolution: CARPResolution, mappingsOf: MappingsOf): ChatFunctionTool[] {
  return openaiFunctions(resolution, mappingsOf).map((fn) => ({ type: 'function', function: fn }));
}

export function responsesTools(resolution: CARPResolution, mappingsOf: MappingsOf): ResponsesFunctionTool[] {
  return openaiFunctions(resolution, mappingsOf).map((fn) => ({ type: 'function', ...fn }));
}

export function chatToolChoice(choice: ToolChoice): ChatToolChoice {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

export function responsesToolChoice(choice: ToolChoice): ResponsesToolChoice {
  return typeof choice === 'string' ? choice : { type: 'function', name: choice.name };
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};

/** `message.tool_calls` of a Chat Completions assistant message → calls (function calls only). */
export function parseChatToolCalls(toolCalls: readonly unknown[]): ParsedToolCall[] {
  return toolCalls
    .map(record)
    .filter((call) => call.type === undefined || call.type === 'function')
    .map((call) => {
      const fn = record(call.function);
      return toolCall(call.id, fn.name, typeof fn.arguments === 'string' ? fn.arguments : '');
    });
}

/** The `function_call` items of a Responses `output` (other items are skipped). */
export function parseResponsesFunctionCalls(items: readonly unknown[]): ParsedToolCall[] {
  return items
    .map(record)
    .filter((item) => item.type === 'function_call')
    .map((item) => toolCall(item.call_id, item.name, typeof item.arguments === 'string' ? item.arguments : ''));
}

export function chatToolMessage(outcome: ToolOutcome): ChatToolMessage {
  return { role: 'tool', tool_call_id: outcome.call_id, content: outcome.content };
}

export function responsesFunctionCallOutput(outcome: ToolOutcome): ResponsesFunctionCallOutput {
  return { type: 'function_call_output', call_id: outcome.call_id, output: outcome.content };
}
