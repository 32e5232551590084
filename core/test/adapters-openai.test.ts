import { describe, expect, it } from 'vitest';
import {
  chatToolChoice,
  chatToolMessage,
  chatTools,
  parseChatToolCalls,
  parseResponsesFunctionCalls,
  responsesFunctionCallOutput,
  responsesToolChoice,
  responsesTools,
} from '../src/adapters/openai.js';
import { ChatCompletionAssembler, ResponsesStreamAssembler } from '../src/adapters/openai-stream.js';
import { grantNames, toolNameIndex } from '../src/adapters/grants.js';
import { executionOutcome, refusedOutcome } from '../src/adapters/tool-calls.js';
import { createIssue, listLabels, mappings, mergePr, resolution } from './adapters-fixture.js';

describe('OpenAI tools', () => {
  it('Chat Completions: one function tool per grant, named by toolMappings, in name order', () => {
    const tools = chatTools(resolution(), mappings);
    expect(tools.map((t) => t.function.name)).toEqual([
      'api_github_list_labels',
      'github_create_issue',
      'github_merge_pr',
    ]);
    const merge = tools.find((t) => t.function.name === 'github_merge_pr')!;
    expect(merge).toEqual({
      type: 'function',
      function: {
        name: 'github_merge_pr',
        description: expect.stringMatching(/^\[HIGH RISK\] Merges a pull request\.\nRequires human approval/),
        parameters: mergePr.schema,
        strict: true,
      },
    });
    expect(merge.function.parameters).not.toBe(mergePr.schema);
  });

  it('sets strict only where the schema is strict-compatible as it is', () => {
    const strict = Object.fromEntries(
      chatTools(resolution(), mappings).map((t) => [t.function.name, t.function.strict]),
    );
    expect(strict).toEqual({ api_github_list_labels: true, github_create_issue: false, github_merge_pr: true });
  });

  it('Responses: flat function tools with the same names, descriptions and strictness', () => {
    const chat = chatTools(resolution(), mappings);
    const responses = responsesTools(resolution(), mappings);
    expect(responses).toEqual(chat.map((t) => ({ type: 'function', ...t.function })));
    expect(responses[1]).toMatchObject({ type: 'function', name: 'github_create_issue', strict: false });
    expect(responses[1]!.description).toBe('Opens a new issue in a repository.\nExample: Report a login bug');
  });

  it('names are stable: the same resolution gives the same tools whatever the grant order', () => {
    const a = chatTools(resolution(), mappings);
    const b = chatTools(resolution({ allowed_actions: [listLabels, createIssue, mergePr] }), mappings);
    expect(b).toEqual(a);
    const index = toolNameIndex(grantNames(resolution(), 'openai', mappings));
    expect(index.github_create_issue).toEqual({
      action_id: createIssue.action_id,
      action_type: 'api.github.create_issue',
      atlas_action_id: 'create-issue',
      atlas_ref: createIssue.atlas_ref,
      risk_tier: 'low',
      requires_approval: false,
    });
  });

  it('maps tool choices to each API', () => {
    expect(chatToolChoice('required')).toBe('required');
    expect(chatToolChoice({ name: 'github_merge_pr' })).toEqual({
      type: 'function',
      function: { name: 'github_merge_pr' },
    });
    expect(responsesToolChoice('auto')).toBe('auto');
    expect(responsesToolChoice({ name: 'github_merge_pr' })).toEqual({ type: 'function', name: 'github_merge_pr' });
  });
});

describe('OpenAI tool calls', () => {
  it('parses Chat tool_calls, JSON-decoding arguments', () => {
    const calls = parseChatToolCalls([
      { id: 'call_1', type: 'function', function: { name: 'github_create_issue', arguments: '{"owner":"acme"}' } },
      { id: 'call_2', type: 'function', function: { name: 'github_merge_pr', arguments: '' } },
    ]);
    expect(calls).toEqual([
      { call_id: 'call_1', name: 'github_create_issue', arguments: { owner: 'acme' } },
      { call_id: 'call_2', name: 'github_merge_pr', arguments: {} },
    ]);
  });

  it('reports invalid JSON and non-object arguments as a clear error, never a throw', () => {
    const [bad, array] = parseChatToolCalls([
      { id: 'call_1', type: 'function', function: { name: 'x', arguments: '{"owner": "acme", ' } },
      { id: 'call_2', type: 'function', function: { name: 'x', arguments: '[1]' } },
    ]);
    expect(bad!.arguments).toBeUndefined();
    expect(bad!.error).toMatchObject({
      code: 'INVALID_REQUEST',
      message: expect.stringMatching(/^arguments are not valid JSON: /),
    });
    expect(bad!.error!.violations[0]).toMatchObject({ path: '/' });
    expect(array!.error!.message).toBe('arguments must be a JSON object, not an array');
  });

  it('parses the function_call items of a Responses output and skips other items', () => {
    const calls = parseResponsesFunctionCalls([
      { type: 'reasoning', id: 'rs_1', summary: [] },
      { type: 'function_call', id: 'fc_1', call_id: 'call_9', name: 'github_merge_pr', arguments: '{"pull_number":5}' },
      { type: 'message', id: 'msg_1', role: 'assistant', content: [] },
    ]);
    expect(calls).toEqual([{ call_id: 'call_9', name: 'github_merge_pr', arguments: { pull_number: 5 } }]);
  });

  it('renders outcomes as tool messages and function_call_output items', () => {
    const ok = executionOutcome(
      { call_id: 'call_1', name: 'github_create_issue' },
      {
        carp_version: '1.0',
        request_id: 'r',
        execution_id: 'e',
        resolution_id: 'res',
        action_id: 'a',
        timestamp: 't',
        status: 'success',
        result: { output: { number: 42 }, output_hash: 'h', output_type: 'json' },
        metrics: { duration_ms: 1 },
        telemetry_link: { trace_id: 't', span_id: 's', events_emitted: 1 },
      },
    );
    expect(chatToolMessage(ok)).toEqual({ role: 'tool', tool_call_id: 'call_1', content: '{"number":42}' });
    expect(responsesFunctionCallOutput(ok)).toEqual({
      type: 'function_call_output',
      call_id: 'call_1',
      output: '{"number":42}',
    });
    const refused = refusedOutcome(
      { call_id: 'call_2', name: 'x' },
      {
        code: 'CONSTRAINT_VIOLATED',
        message: 'bad',
        retriable: false,
        violations: [{ code: 'CONSTRAINT_VIOLATED', path: '/title', message: 'is required' }],
      },
    );
    expect(JSON.parse(chatToolMessage(refused).content)).toEqual({
      status: 'denied',
      error: { code: 'CONSTRAINT_VIOLATED', message: 'bad', violations: [{ path: '/title', message: 'is required' }] },
    });
    expect(refused.is_error).toBe(true);
  });
});

describe('OpenAI streaming', () => {
  it('assembles Chat tool calls from deltas (id and name first, arguments in fragments)', () => {
    const chunk = (delta: unknown, finish: string | null = null) => ({
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, finish_reason: finish }],
    });
    const a = new ChatCompletionAssembler();
    for (const c of [
      chunk({ role: 'assistant', content: null }),
      chunk({
        tool_calls: [
          { index: 0, id: 'call_a', type: 'function', function: { name: 'github_create_issue', arguments: '' } },
        ],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '{"owner":' } }] }),
      chunk({
        tool_calls: [
          { index: 1, id: 'call_b', type: 'function', function: { name: 'github_merge_pr', arguments: '' } },
        ],
      }),
      chunk({ tool_calls: [{ index: 0, function: { arguments: '"acme"}' } }] }),
      chunk({ tool_calls: [{ index: 1, function: { arguments: '{}' } }] }),
      chunk({}, 'tool_calls'),
      { object: 'chat.completion.chunk', choices: [], usage: { total_tokens: 3 } },
    ]) {
      a.push(c);
    }
    expect(a.finishReason).toBe('tool_calls');
    expect(a.message()).toEqual({
      role: 'assistant',
      content: null,
      tool_calls: [
        { id: 'call_a', type: 'function', function: { name: 'github_create_issue', arguments: '{"owner":"acme"}' } },
        { id: 'call_b', type: 'function', function: { name: 'github_merge_pr', arguments: '{}' } },
      ],
    });
    expect(parseChatToolCalls(a.toolCalls())[0]!.arguments).toEqual({ owner: 'acme' });
  });

  it('assembles Responses function calls and text from semantic events', () => {
    const r = new ResponsesStreamAssembler();
    let n = 0;
    const ev = (type: string, fields: Record<string, unknown>) => ({ type, sequence_number: n++, ...fields });
    for (const e of [
      ev('response.created', { response: { id: 'resp_1', status: 'in_progress', output: [] } }),
      ev('response.output_item.added', {
        output_index: 0,
        item: { type: 'message', id: 'msg_1', role: 'assistant', content: [] },
      }),
      ev('response.content_part.added', {
        item_id: 'msg_1',
        output_index: 0,
        content_index: 0,
        part: { type: 'output_text', text: '' },
      }),
      ev('response.output_text.delta', { item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Opening ' }),
      ev('response.output_text.delta', { item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'an issue.' }),
      ev('response.output_item.added', {
        output_index: 1,
        item: { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'github_create_issue', arguments: '' },
      }),
      ev('response.function_call_arguments.delta', { item_id: 'fc_1', output_index: 1, delta: '{"owner"' }),
      ev('response.function_call_arguments.delta', { item_id: 'fc_1', output_index: 1, delta: ':"acme"}' }),
      ev('response.completed', { response: { id: 'resp_1', status: 'completed' } }),
    ]) {
      r.push(e);
    }
    expect(r.status).toBe('completed');
    expect(r.text()).toBe('Opening an issue.');
    expect(r.functionCalls()).toEqual([
      {
        type: 'function_call',
        id: 'fc_1',
        call_id: 'call_1',
        name: 'github_create_issue',
        arguments: '{"owner":"acme"}',
      },
    ]);
    expect(parseResponsesFunctionCalls(r.output())).toEqual([
      { call_id: 'call_1', name: 'github_create_issue', arguments: { owner: 'acme' } },
    ]);
  });
});
