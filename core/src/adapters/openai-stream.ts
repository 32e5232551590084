/**
 * Assembling OpenAI tool calls from streamed deltas.
 * - Chat Completions (`stream: true`): `chat.completion.chunk` objects; a tool call starts with a
 *   delta carrying `tool_calls[{index, id, type, function: {name, arguments: ""}}]` and continues
 *   with deltas carrying only `{index, function: {arguments}}` fragments; the last chunk of the
 *   choice sets `finish_reason` (`tool_calls`, `stop`, …).
 * - Responses (`stream: true`): semantic events with a `sequence_number`:
 *   `response.output_item.added` (a `function_call` item with empty `arguments`),
 *   `response.function_call_arguments.delta`* and `.done`, `response.output_item.done`; text
 *   arrives through `response.content_part.added`, `response.output_text.delta`*; the stream ends
 *   with `response.completed` (or `.incomplete` / `.failed`).
 * Both assemblers take the SDK's parsed events as plain objects; nothing here does I/O.
 */
import type { ChatToolCall, ResponsesFunctionCall } from './openai.js';

const record = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {};

export interface AssembledChatMessage {
  role: 'assistant';
  content: string | null;
  tool_calls?: ChatToolCall[];
}

/** Folds `chat.completion.chunk`s of choice 0 into the assistant message they stream. */
export class ChatCompletionAssembler {
  private text = '';
  private sawText = false;
  private readonly calls = new Map<number, ChatToolCall>();
  finishReason: string | null = null;

  push(chunk: unknown): void {
    for (const choice of (record(chunk).choices as unknown[] | undefined) ?? []) {
      const c = record(choice);
      if ((c.index ?? 0) !== 0) continue;
      const delta = record(c.delta);
      if (typeof delta.content === 'string') {
        this.text += delta.content;
        this.sawText = true;
      }
      for (const raw of (delta.tool_calls as unknown[] | undefined) ?? []) this.onToolCall(record(raw));
      if (typeof c.finish_reason === 'string') this.finishReason = c.finish_reason;
    }
  }

  private onToolCall(part: Record<string, unknown>): void {
    const index = typeof part.index === 'number' ? part.index : this.calls.size;
    const call = this.calls.get(index) ?? { id: '', type: 'function', function: { name: '', arguments: '' } };
    const fn = record(part.function);
    if (typeof part.id === 'string' && part.id) call.id = part.id;
    if (typeof fn.name === 'string' && fn.name) call.function.name = fn.name;
    if (typeof fn.arguments === 'string') call.function.arguments += fn.arguments;
    this.calls.set(index, call);
  }

  toolCalls(): ChatToolCall[] {
    return [...this.calls.entries()].sort(([a], [b]) => a - b).map(([, call]) => call);
  }

  /** The assistant message to append to `messages` for the next request. */
  message(): AssembledChatMessage {
    const calls = this.toolCalls();
    return {
      role: 'assistant',
      content: this.sawText ? this.text : null,
      ...(calls.length > 0 ? { tool_calls: calls } : {}),
    };
  }
}

type OutputItem = Record<string, unknown> & { type?: unknown };

const RESPONSE_LIFECYCLE: ReadonlySet<string> = new Set([
  'response.created',
  'response.in_progress',
  'response.completed',
  'response.incomplete',
  'response.failed',
]);

/** Folds Responses stream events into the response's `output` items. */
export class ResponsesStreamAssembler {
  private readonly items: OutputItem[] = [];
  status: string | null = null;
  responseId: string | null = null;

  private at(event: Record<string, unknown>): OutputItem | undefined {
    if (typeof event.output_index === 'number') return this.items[event.output_index];
    return this.items.find((item) => item.id === event.item_id);
  }

  push(raw: unknown): void {
    const event = record(raw);
    const type = typeof event.type === 'string' ? event.type : '';
    if (RESPONSE_LIFECYCLE.has(type)) this.onResponse(record(event.response));
    else if (type === 'response.output_item.added' || type === 'response.output_item.done') this.onItem(event);
    else if (type === 'response.function_call_arguments.delta') this.onArguments(event, false);
    else if (type === 'response.function_call_arguments.done') this.onArguments(event, true);
    else if (type === 'response.content_part.added') this.onPart(event);
    else if (type === 'response.output_text.delta') this.onText(event);
  }

  private onResponse(response: Record<string, unknown>): void {
    if (typeof response.id === 'string') this.responseId = response.id;
    if (typeof response.status === 'string') this.status = response.status;
  }

  private onItem(event: Record<string, unknown>): void {
    if (typeof event.output_index === 'number') this.items[event.output_index] = structuredClone(record(event.item));
  }

  private onArguments(event: Record<string, unknown>, done: boolean): void {
    const item = this.at(event);
    if (!item) return;
    if (done && typeof event.arguments === 'string') item.arguments = event.arguments;
    if (!done && typeof event.delta === 'string') {
      item.arguments = `${typeof item.arguments === 'string' ? item.arguments : ''}${event.delta}`;
    }
  }

  private contentOf(item: OutputItem): Record<string, unknown>[] {
    if (!Array.isArray(item.content)) item.content = [];
    return item.content as Record<string, unknown>[];
  }

  private onPart(event: Record<string, unknown>): void {
    const item = this.at(event);
    if (item && typeof event.content_index === 'number') {
      this.contentOf(item)[event.content_index] = structuredClone(record(event.part));
    }
  }

  private onText(event: Record<string, unknown>): void {
    const item = this.at(event);
    if (!item || typeof event.content_index !== 'number' || typeof event.delta !== 'string') return;
    const content = this.contentOf(item);
    const part = content[event.content_index] ?? { type: 'output_text', text: '', annotations: [] };
    part.text = `${typeof part.text === 'string' ? part.text : ''}${event.delta}`;
    content[event.content_index] = part;
  }

  /** The output items in order: pass them back as input items of the next request. */
  output(): OutputItem[] {
    return this.items.filter((item): item is OutputItem => item !== undefined);
  }

  functionCalls(): ResponsesFunctionCall[] {
    return this.output().filter((item) => item.type === 'function_call') as unknown as ResponsesFunctionCall[];
  }

  /** The concatenated `output_text` of the message items. */
  text(): string {
    return this.output()
      .filter((item) => item.type === 'message')
      .flatMap((item) => (Array.isArray(item.content) ? (item.content as Record<string, unknown>[]) : []))
      .filter((part) => part.type === 'output_text' && typeof part.text === 'string')
      .map((part) => part.text as string)
      .join('');
  }
}
