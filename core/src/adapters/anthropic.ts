/**
 * Anthropic Messages tool use: `tools: [{name, description, input_schema}]`; the model calls a
 * tool with a `tool_use` content block ({id, name, input}) and `stop_reason: "tool_use"`; each
 * result goes back in the next user message as a `tool_result` block
 * `{type: "tool_result", tool_use_id, content, is_error}`.
 *
 * Streaming (`stream: true`) sends `message_start`, then per content block
 * `content_block_start` (a `tool_use` block with `input: {}`), `content_block_delta`s
 * (`input_json_delta` with `partial_json` fragments, or `text_delta`), `content_block_stop`,
 * then `message_delta` (the `stop_reason`) and `message_stop`; `ping`s may appear anywhere.
 * `AnthropicStreamAssembler` folds those events into the message.
 */
import type { CARPResolution } from '../carp/types.js';
import { describeGrant, grantNames, namedGrants, type MappingsOf, type ToolChoice } from './grants.js';
import { toolCall, type ParsedToolCall, type ToolOutcome } from './tool-calls.js';

export interface AnthropicTool {
  name: string;
  description: string;
  input_schema: Record<string, unknown>;
}

export type AnthropicToolChoice =
  { type: 'auto' } | { type: 'any' } | { type: 'none' } | { type: 'tool'; name: string };

export interface AnthropicToolUse {
  type: 'tool_use';
  id: string;
  name: string;
  /** An object; the raw JSON text when streamed input did not assemble into valid JSON. */
  input: unknown;
}

export interface AnthropicToolResult {
  type: 'tool_result';
  tool_use_id: string;
  content: string;
  is_error: boolean;
}

/** One tool per grant, in tool-name order; high/critical risk and approval are in the description. */
export function anthropicTools(resolution: CARPResolution, mappingsOf: MappingsOf): AnthropicTool[] {
  return namedGrants(grantNames(resolution, 'anthropic', mappingsOf)).map(({ name, grant }) => ({
    name,
    description: describeGrant(grant),
    input_schema: structuredClone(grant.schema),
  }));
}

export function anthropicToolChoice(choice: ToolChoice): AnthropicToolChoice {
  switch (choice) {
    case 'auto':
      return { type: 'auto' };
    case 'required':
      return { type: 'any' };
    case 'none':
      return { type: 'none' };
    default:
      return { type: 'tool', name: choice.name };
  }
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};

/** The `tool_use` blocks of an assistant message's content → calls (other blocks are skipped). */
export function parseAnthropicToolUses(content: readonly unknown[]): ParsedToolCall[] {
  return content
    .map(record)
    .filter((block) => block.type === 'tool_use')
    .map((block) => toolCall(block.id, block.name, block.input));
}

export function anthropicToolResult(outcome: ToolOutcome): AnthropicToolResult {
  return { type: 'tool_result', tool_use_id: outcome.call_id, content: outcome.content, is_error: outcome.is_error };
}

type Block = Record<string, unknown>;

/** Folds Messages stream events into the assistant message. */
export class AnthropicStreamAssembler {
  id: string | null = null;
  stopReason: string | null = null;
  private readonly blocks: Block[] = [];
  private readonly json = new Map<number, string>();
  /** Indexes of tool_use blocks whose streamed input is not valid JSON, with the raw text. */
  private readonly invalid = new Map<number, string>();

  push(raw: unknown): void {
    const event = record(raw);
    const index = typeof event.index === 'number' ? event.index : -1;
    switch (event.type) {
      case 'message_start': {
        const message = record(event.message);
        if (typeof message.id === 'string') this.id = message.id;
        break;
      }
      case 'content_block_start':
        this.blocks[index] = structuredClone(record(event.content_block));
        break;
      case 'content_block_delta':
        this.onDelta(index, record(event.delta));
        break;
      case 'content_block_stop':
        this.finishBlock(index);
        break;
      case 'message_delta': {
        const delta = record(event.delta);
        if (typeof delta.stop_reason === 'string') this.stopReason = delta.stop_reason;
        break;
      }
      default:
        break;
    }
  }

  private onDelta(index: number, delta: Record<string, unknown>): void {
    const block = this.blocks[index];
    if (!block) return;
    if (delta.type === 'text_delta' && typeof delta.text === 'string') {
      block.text = `${typeof block.text === 'string' ? block.text : ''}${delta.text}`;
    } else if (delta.type === 'input_json_delta' && typeof delta.partial_json === 'string') {
      this.json.set(index, `${this.json.get(index) ?? ''}${delta.partial_json}`);
    }
  }

  private finishBlock(index: number): void {
    const block = this.blocks[index];
    const text = this.json.get(index);
    if (!block || text === undefined || text.trim() === '') return;
    try {
      block.input = JSON.parse(text) as unknown;
    } catch {
      block.input = {};
      this.invalid.set(index, text);
    }
  }

  /** The content to send back as the assistant turn (every tool_use input is an object). */
  content(): Block[] {
    return this.blocks.filter((block): block is Block => block !== undefined);
  }

  /** The tool_use blocks, carrying the raw JSON text as `input` where it did not parse. */
  toolUses(): AnthropicToolUse[] {
    return this.blocks.flatMap((block, index) =>
      block?.type === 'tool_use'
        ? [
            {
              type: 'tool_use' as const,
              id: String(block.id),
              name: String(block.name),
              input: this.invalid.has(index) ? this.invalid.get(index) : block.input,
            },
          ]
        : [],
    );
  }

  text(): string {
    return this.content()
      .filter((block) => block.type === 'text' && typeof block.text === 'string')
      .map((block) => block.text as string)
      .join('');
  }
}
