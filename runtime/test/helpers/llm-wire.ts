/**
 * A local stand-in for the OpenAI and Anthropic APIs that speaks their wire formats, so tests
 * drive the real SDK clients (`new OpenAI({baseURL})`, `new Anthropic({baseURL})`):
 * - `POST /v1/chat/completions`: a `chat.completion`, or with `stream: true` SSE
 *   `chat.completion.chunk`s (role, `tool_calls` deltas with the id and name first and the
 *   arguments in fragments, a finish chunk, an optional usage chunk) and `data: [DONE]`;
 * - `POST /v1/responses`: a `response`, or with `stream: true` the semantic events
 *   (`response.created`, `response.in_progress`, `response.output_item.added`,
 *   `response.function_call_arguments.delta`/`.done`, `response.content_part.added`,
 *   `response.output_text.delta`/`.done`, `response.content_part.done`,
 *   `response.output_item.done`, `response.completed`), each with a `sequence_number`;
 * - `POST /v1/messages`: a Messages `message`, or with `stream: true` named SSE events
 *   (`message_start`, `ping`, `content_block_start`, `content_block_delta` with `text_delta` /
 *   `input_json_delta`, `content_block_stop`, `message_delta`, `message_stop`).
 * Each request takes the next scripted model turn ("call tool X with args Y", "answer with
 * text") and every request is recorded.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ScriptedCall {
  name: string;
  arguments?: Record<string, unknown>;
  /** Sent as the arguments text verbatim (e.g. truncated JSON); wins over `arguments`. */
  rawArguments?: string;
  id?: string;
}

export interface Turn {
  text?: string;
  toolCalls?: ScriptedCall[];
}

export type LlmApi = 'chat' | 'responses' | 'messages';

export interface SeenLlmRequest {
  api: LlmApi;
  path: string;
  headers: IncomingMessage['headers'];
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- request bodies are asserted field by field
  body: any;
}

export interface LlmWire {
  url: string;
  /** baseURL for `new OpenAI(...)` (the SDK appends `/chat/completions`, `/responses`). */
  openaiBaseURL: string;
  /** baseURL for `new Anthropic(...)` (the SDK appends `/v1/messages`). */
  anthropicBaseURL: string;
  requests: SeenLlmRequest[];
  /** Appends model turns; each request consumes one. */
  script(...turns: Turn[]): void;
  /** Turns not consumed yet. */
  pending(): number;
  close(): Promise<void>;
}

const rid = (prefix: string): string => `${prefix}${randomBytes(12).toString('hex')}`;

/** Splits a text into up to `parts` fragments (for streamed deltas). */
function fragments(text: string, parts = 3): string[] {
  if (text.length === 0) return [];
  const size = Math.max(1, Math.ceil(text.length / parts));
  const out: string[] = [];
  for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size));
  return out;
}

interface ResolvedCall {
  id: string;
  name: string;
  args: string;
}

function resolveCalls(turn: Turn, prefix: string): ResolvedCall[] {
  return (turn.toolCalls ?? []).map((c) => ({
    id: c.id ?? rid(prefix),
    name: c.name,
    args: c.rawArguments ?? JSON.stringify(c.arguments ?? {}),
  }));
}

class Sse {
  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
  }
  send(data: unknown, event?: string): void {
    this.res.write(
      `${event ? `event: ${event}\n` : ''}data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`,
    );
  }
  end(): void {
    this.res.end();
  }
}

// ---------------------------------------------------------------------------------------------
// Chat Completions

function chatCompletion(body: { model: string }, turn: Turn): unknown {
  const calls = resolveCalls(turn, 'call_');
  return {
    id: rid('chatcmpl-'),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: body.model,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: turn.text ?? null,
          refusal: null,
          annotations: [],
          ...(calls.length > 0
            ? {
                tool_calls: calls.map((c) => ({
                  id: c.id,
                  type: 'function',
                  function: { name: c.name, arguments: c.args },
                })),
              }
            : {}),
        },
        logprobs: null,
        finish_reason: calls.length > 0 ? 'tool_calls' : 'stop',
      },
    ],
    usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
  };
}

function streamChat(sse: Sse, body: { model: string; stream_options?: { include_usage?: boolean } }, turn: Turn): void {
  const id = rid('chatcmpl-');
  const created = Math.floor(Date.now() / 1000);
  const usage = body.stream_options?.include_usage === true;
  const chunk = (delta: unknown, finish: string | null = null) => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model: body.model,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...(usage ? { usage: null } : {}),
  });
  sse.send(chunk({ role: 'assistant', content: turn.text === undefined ? null : '', refusal: null }));
  for (const piece of fragments(turn.text ?? '', 4)) sse.send(chunk({ content: piece }));
  const calls = resolveCalls(turn, 'call_');
  calls.forEach((c, index) => {
    sse.send(chunk({ tool_calls: [{ index, id: c.id, type: 'function', function: { name: c.name, arguments: '' } }] }));
    for (const piece of fragments(c.args)) sse.send(chunk({ tool_calls: [{ index, function: { arguments: piece } }] }));
  });
  sse.send(chunk({}, calls.length > 0 ? 'tool_calls' : 'stop'));
  if (usage) {
    sse.send({
      id,
      object: 'chat.completion.chunk',
      created,
      model: body.model,
      choices: [],
      usage: { prompt_tokens: 10, completion_tokens: 5, total_tokens: 15 },
    });
  }
  sse.send('[DONE]');
  sse.end();
}

// ---------------------------------------------------------------------------------------------
// Responses

type Item = Record<string, unknown>;

function responseItems(turn: Turn): Item[] {
  const items: Item[] = [];
  if (turn.text !== undefined) {
    items.push({
      type: 'message',
      id: rid('msg_'),
      status: 'completed',
      role: 'assistant',
      content: [{ type: 'output_text', text: turn.text, annotations: [], logprobs: [] }],
    });
  }
  for (const c of resolveCalls(turn, 'call_')) {
    items.push({
      type: 'function_call',
      id: rid('fc_'),
      call_id: c.id,
      name: c.name,
      arguments: c.args,
      status: 'completed',
    });
  }
  return items;
}

function responseObject(body: Record<string, unknown>, id: string, status: string, output: Item[]): Item {
  return {
    id,
    object: 'response',
    created_at: Math.floor(Date.now() / 1000),
    status,
    background: false,
    error: null,
    incomplete_details: null,
    instructions: body.instructions ?? null,
    max_output_tokens: null,
    model: body.model,
    output,
    parallel_tool_calls: true,
    previous_response_id: null,
    reasoning: { effort: null, summary: null },
    store: false,
    temperature: 1,
    text: { format: { type: 'text' } },
    tool_choice: body.tool_choice ?? 'auto',
    tools: body.tools ?? [],
    top_p: 1,
    truncation: 'disabled',
    usage:
      status === 'completed'
        ? {
            input_tokens: 10,
            input_tokens_details: { cached_tokens: 0 },
            output_tokens: 5,
            output_tokens_details: { reasoning_tokens: 0 },
            total_tokens: 15,
          }
        : null,
    metadata: {},
  };
}

function streamResponses(sse: Sse, body: Record<string, unknown>, turn: Turn): void {
  const id = rid('resp_');
  let sequence = 0;
  const send = (type: string, fields: Record<string, unknown>) =>
    sse.send({ type, sequence_number: sequence++, ...fields }, type);
  send('response.created', { response: responseObject(body, id, 'in_progress', []) });
  send('response.in_progress', { response: responseObject(body, id, 'in_progress', []) });
  const items = responseItems(turn);
  items.forEach((item, output_index) => {
    const item_id = item.id;
    if (item.type === 'message') {
      const text = (item.content as { text: string }[])[0]!.text;
      send('response.output_item.added', { output_index, item: { ...item, status: 'in_progress', content: [] } });
      const part = { type: 'output_text', text: '', annotations: [], logprobs: [] };
      send('response.content_part.added', { item_id, output_index, content_index: 0, part });
      for (const delta of fragments(text, 4)) {
        send('response.output_text.delta', { item_id, output_index, content_index: 0, delta, logprobs: [] });
      }
      send('response.output_text.done', { item_id, output_index, content_index: 0, text, logprobs: [] });
      send('response.content_part.done', { item_id, output_index, content_index: 0, part: { ...part, text } });
    } else {
      const args = item.arguments as string;
      send('response.output_item.added', { output_index, item: { ...item, arguments: '', status: 'in_progress' } });
      for (const delta of fragments(args)) {
        send('response.function_call_arguments.delta', { item_id, output_index, delta });
      }
      send('response.function_call_arguments.done', { item_id, output_index, arguments: args });
    }
    send('response.output_item.done', { output_index, item });
  });
  send('response.completed', { response: responseObject(body, id, 'completed', items) });
  sse.end();
}

// ---------------------------------------------------------------------------------------------
// Anthropic Messages

function messageBlocks(turn: Turn): Item[] {
  const blocks: Item[] = [];
  if (turn.text !== undefined) blocks.push({ type: 'text', text: turn.text, citations: null });
  for (const c of resolveCalls(turn, 'toolu_')) {
    blocks.push({ type: 'tool_use', id: c.id, name: c.name, input: safeParse(c.args), caller: { type: 'direct' } });
  }
  return blocks;
}

function safeParse(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return text;
  }
}

const anthropicUsage = (output: number) => ({
  input_tokens: 10,
  output_tokens: output,
  cache_creation_input_tokens: 0,
  cache_read_input_tokens: 0,
  server_tool_use: null,
  service_tier: 'standard',
});

function anthropicMessage(body: { model: string }, turn: Turn): Item {
  const content = messageBlocks(turn);
  return {
    id: rid('msg_'),
    type: 'message',
    role: 'assistant',
    model: body.model,
    content,
    stop_reason: content.some((b) => b.type === 'tool_use') ? 'tool_use' : 'end_turn',
    stop_sequence: null,
    usage: anthropicUsage(5),
  };
}

function streamMessages(sse: Sse, body: { model: string }, turn: Turn): void {
  const send = (type: string, fields: Record<string, unknown> = {}) => sse.send({ type, ...fields }, type);
  const message = anthropicMessage(body, turn);
  send('message_start', {
    message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: anthropicUsage(1) },
  });
  send('ping');
  const scripted = resolveCalls(turn, 'toolu_');
  let index = 0;
  if (turn.text !== undefined) {
    send('content_block_start', { index, content_block: { type: 'text', text: '', citations: null } });
    for (const text of fragments(turn.text, 4))
      send('content_block_delta', { index, delta: { type: 'text_delta', text } });
    send('content_block_stop', { index });
    index++;
  }
  for (const c of scripted) {
    send('content_block_start', {
      index,
      content_block: { type: 'tool_use', id: c.id, name: c.name, input: {}, caller: { type: 'direct' } },
    });
    send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json: '' } });
    for (const partial_json of fragments(c.args)) {
      send('content_block_delta', { index, delta: { type: 'input_json_delta', partial_json } });
    }
    send('content_block_stop', { index });
    index++;
  }
  send('message_delta', {
    delta: { stop_reason: scripted.length > 0 ? 'tool_use' : 'end_turn', stop_sequence: null },
    usage: { output_tokens: 5 },
  });
  send('message_stop');
  sse.end();
}

// ---------------------------------------------------------------------------------------------

const ROUTES: Record<string, LlmApi> = {
  '/v1/chat/completions': 'chat',
  '/v1/responses': 'responses',
  '/v1/messages': 'messages',
};

export async function startLlmWire(): Promise<LlmWire> {
  const requests: SeenLlmRequest[] = [];
  const turns: Turn[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const path = (req.url ?? '').split('?')[0]!;
      const api = ROUTES[path];
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      if (req.method !== 'POST' || !api) {
        json(404, { error: { type: 'not_found_error', message: `no route ${req.method} ${path}` } });
        return;
      }
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown> & {
        model: string;
      };
      requests.push({ api, path, headers: req.headers, body });
      const turn = turns.shift();
      if (!turn) {
        json(400, { error: { type: 'invalid_request_error', message: 'llm-wire: no scripted model turn left' } });
        return;
      }
      if (body.stream === true) {
        const sse = new Sse(res);
        if (api === 'chat') streamChat(sse, body, turn);
        else if (api === 'responses') streamResponses(sse, body, turn);
        else streamMessages(sse, body, turn);
        return;
      }
      if (api === 'chat') json(200, chatCompletion(body, turn));
      else if (api === 'responses') json(200, responseObject(body, rid('resp_'), 'completed', responseItems(turn)));
      else json(200, anthropicMessage(body, turn));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    openaiBaseURL: `${url}/v1`,
    anthropicBaseURL: url,
    requests,
    script: (...more) => {
      turns.push(...more);
    },
    pending: () => turns.length,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
