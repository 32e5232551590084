/**
 * The OpenAI adapter end to end with the real `openai` SDK against a local server speaking the
 * Chat Completions and Responses wire formats: resolve → adapt → the model requests a tool →
 * CRA executes it (the fake GitHub API sees the real call) → the tool result goes back in the
 * next request → the model answers. Refusals (denied, unknown, invalid arguments, invalid JSON)
 * execute nothing; approvals hold the action.
 */
import { ChatCompletionAssembler, ResponsesStreamAssembler, verifyChain, type CARPResolution } from '@cra/core';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { ResponseInputItem } from 'openai/resources/responses/responses';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adapted,
  adapterEnv,
  events,
  ISSUE,
  MERGE,
  resolveGithub,
  runCalls,
  type AdapterEnv,
} from './helpers/adapters.js';
import type { Turn } from './helpers/llm-wire.js';

let env: AdapterEnv;
let openai: OpenAI;

beforeAll(async () => {
  env = await adapterEnv();
  openai = new OpenAI({ baseURL: env.wire.openaiBaseURL, apiKey: 'test', maxRetries: 0 });
});
afterAll(async () => env.close());

interface ChatRound {
  r: CARPResolution;
  tools: unknown[];
  outcomes: Awaited<ReturnType<typeof runCalls>>['outcomes'];
  results: ChatCompletionMessageParam[];
  /** The body of the second model request (carrying the tool results). */
  followUp: { messages: ChatCompletionMessageParam[] };
  answer: string | null;
}

/** One Chat Completions tool round: the model calls tools (turn 1), then answers (turn 2). */
async function chatRound(turn: Turn, options: { stream?: boolean } = {}): Promise<ChatRound> {
  const r = await resolveGithub(env.rt);
  const a = await adapted(env.rt, 'openai', { resolution_id: r.resolution_id, format: 'chat' });
  env.wire.script(turn, { text: 'Done.' });
  const before = env.wire.requests.length;
  const messages: ChatCompletionMessageParam[] = [
    { role: 'developer', content: a.instructions! },
    { role: 'user', content: 'Report the Android login bug in acme/mobile-app.' },
  ];
  let assistant: ChatCompletionMessageParam & { role: 'assistant' };
  if (options.stream) {
    const stream = await openai.chat.completions.create({
      model: 'gpt-test',
      messages,
      tools: a.tools,
      stream: true,
      stream_options: { include_usage: true },
    });
    const assembler = new ChatCompletionAssembler();
    for await (const chunk of stream) assembler.push(chunk);
    expect(assembler.finishReason).toBe('tool_calls');
    assistant = assembler.message() as ChatCompletionMessageParam & { role: 'assistant' };
  } else {
    const completion = await openai.chat.completions.create({ model: 'gpt-test', messages, tools: a.tools });
    expect(completion.choices[0]!.finish_reason).toBe('tool_calls');
    const { content, tool_calls } = completion.choices[0]!.message;
    assistant = { role: 'assistant', content, tool_calls: tool_calls! };
  }
  const sent = env.wire.requests[before]!;
  expect(sent.api).toBe('chat');
  expect(sent.body.tools).toEqual(a.tools);
  expect(sent.body.messages[0]).toEqual({ role: 'developer', content: a.instructions });

  const { outcomes, results } = await runCalls(env.rt, 'openai', r.resolution_id, assistant.tool_calls!, 'chat');
  messages.push(assistant, ...(results as ChatCompletionMessageParam[]));
  const final = await openai.chat.completions.create({ model: 'gpt-test', messages, tools: a.tools });
  return {
    r,
    tools: a.tools,
    outcomes,
    results: results as ChatCompletionMessageParam[],
    followUp: env.wire.requests[before + 1]!.body,
    answer: final.choices[0]!.message.content,
  };
}

describe('OpenAI Chat Completions', () => {
  it('tools: function tools named by toolMappings, strict only where the schema allows it', async () => {
    const r = await resolveGithub(env.rt);
    const a = await adapted(env.rt, 'openai', { resolution_id: r.resolution_id });
    expect(a.format).toBe('chat');
    expect(a.tools.map((t) => t.function.name)).toEqual([
      'github_close_issue',
      'github_create_issue',
      'github_create_pr',
      'github_merge_pr',
    ]);
    for (const tool of a.tools) {
      expect(tool).toEqual({
        type: 'function',
        function: {
          name: expect.any(String),
          description: expect.any(String),
          parameters: expect.any(Object),
          strict: false,
        },
      });
    }
    expect(a.tool_names.github_merge_pr).toMatchObject({
      action_type: 'api.github.merge_pull_request',
      action_id: r.allowed_actions.find((g) => g.action_type === 'api.github.merge_pull_request')!.action_id,
      requires_approval: true,
    });
    expect(a.instructions).toContain('Tools that need human approval: `github_merge_pr`.');
  });

  it('an allowed tool runs through CRA against GitHub and its result reaches the model', async () => {
    const calledBefore = env.github.seen.length;
    const round = await chatRound({
      toolCalls: [{ name: 'github_create_issue', arguments: ISSUE, id: 'call_issue_1' }],
    });
    expect(env.github.seen.slice(calledBefore)).toMatchObject([
      { method: 'POST', url: '/repos/acme/mobile-app/issues', body: { title: ISSUE.title } },
    ]);
    expect(round.outcomes).toMatchObject([
      {
        call_id: 'call_issue_1',
        name: 'github_create_issue',
        status: 'success',
        is_error: false,
        action_type: 'api.github.create_issue',
      },
    ]);
    expect(round.outcomes[0]!.action_id).toBe(
      round.r.allowed_actions.find((g) => g.action_type === 'api.github.create_issue')!.action_id,
    );
    const toolMessage = round.followUp.messages.at(-1);
    expect(toolMessage).toEqual({ role: 'tool', tool_call_id: 'call_issue_1', content: expect.any(String) });
    expect(JSON.parse((toolMessage as { content: string }).content)).toMatchObject({ number: 42, state: 'open' });
    expect(round.followUp.messages.at(-2)).toMatchObject({
      role: 'assistant',
      tool_calls: [{ id: 'call_issue_1', type: 'function', function: { name: 'github_create_issue' } }],
    });
    expect(round.answer).toBe('Done.');

    const chain = await events(env.rt, round.r.session_id);
    const types = chain.map((e) => e.event_type);
    expect(types).toContain('adapter.tools.generated');
    const received = chain.find((e) => e.event_type === 'adapter.call.received')!;
    expect(received.payload).toMatchObject({
      platform: 'openai',
      tool_name: 'github_create_issue',
      call_id: 'call_issue_1',
      known: true,
      action_id: round.outcomes[0]!.action_id,
    });
    const after = types.slice(types.indexOf('adapter.call.received'));
    expect(after).toEqual([
      'adapter.call.received',
      'carp.action.requested',
      'carp.action.validated',
      'carp.action.started',
      'carp.action.side_effect',
      'carp.action.completed',
    ]);
    const execute = chain.find((e) => e.event_type === 'carp.action.requested')!;
    expect(execute.trace_id).toBe(received.trace_id);
    expect(execute.payload).toMatchObject({ idempotency_key: 'tool-call:call_issue_1' });
    expect(verifyChain(chain).valid).toBe(true);
  });

  it('a denied action is refused with ACTION_NOT_PERMITTED and the denial reason; nothing runs', async () => {
    const calledBefore = env.github.seen.length;
    const round = await chatRound({
      toolCalls: [{ name: 'github_update_branch_protection', arguments: { owner: 'acme', repo: 'x', branch: 'main' } }],
    });
    expect(env.github.seen.length).toBe(calledBefore);
    expect(round.outcomes[0]).toMatchObject({
      status: 'denied',
      is_error: true,
      error: { code: 'ACTION_NOT_PERMITTED' },
    });
    const content = JSON.parse(round.results[0]!.content as string) as {
      error: { message: string; policy_refs?: string[] };
    };
    expect(content.error.message).toMatch(
      /^github_update_branch_protection \(api\.github\.update_branch_protection\) is denied/,
    );
    expect(round.followUp.messages.at(-1)).toMatchObject({ role: 'tool', content: round.results[0]!.content });
    const received = (await events(env.rt, round.r.session_id)).filter((e) => e.event_type === 'adapter.call.received');
    expect(received.at(-1)).toMatchObject({
      severity: 'warn',
      payload: { tool_name: 'github_update_branch_protection', known: false, error_code: 'ACTION_NOT_PERMITTED' },
    });
  });

  it('an approval-required tool returns pending_approval (not an error) and does not run', async () => {
    const calledBefore = env.github.seen.length;
    const round = await chatRound({ toolCalls: [{ name: 'github_merge_pr', arguments: MERGE }] });
    expect(env.github.seen.length).toBe(calledBefore);
    const [outcome] = round.outcomes;
    expect(outcome).toMatchObject({ status: 'pending_approval', is_error: false, approval_id: expect.any(String) });
    expect(JSON.parse(round.results[0]!.content as string)).toEqual({
      status: 'pending_approval',
      approval_id: outcome!.approval_id,
      message: expect.stringMatching(/needs human approval and has not run/),
    });
    const types = (await events(env.rt, round.r.session_id)).map((e) => e.event_type);
    expect(types.at(-1)).toBe('carp.action.approval.pending');
  });

  it('invalid arguments from the model: CONSTRAINT_VIOLATED with pointers, nothing runs', async () => {
    const calledBefore = env.github.seen.length;
    const round = await chatRound({
      toolCalls: [{ name: 'github_create_issue', arguments: { owner: 'acme', repo: 'mobile-app', labels: 'bug' } }],
    });
    expect(env.github.seen.length).toBe(calledBefore);
    expect(round.outcomes[0]).toMatchObject({
      status: 'denied',
      is_error: true,
      error: { code: 'CONSTRAINT_VIOLATED' },
    });
    const content = JSON.parse(round.results[0]!.content as string) as {
      error: { violations: { path: string; message: string }[] };
    };
    expect(content.error.violations.map((v) => v.path).sort()).toEqual(['/labels', '/title']);
    const types = (await events(env.rt, round.r.session_id)).map((e) => e.event_type);
    expect(types.slice(-2)).toEqual(['carp.action.requested', 'carp.action.denied']);
  });

  it('an unknown tool name: an error result naming the granted tools and an adapter.call.received event', async () => {
    const round = await chatRound({ toolCalls: [{ name: 'delete_repository', arguments: { repo: 'x' } }] });
    expect(round.outcomes[0]).toMatchObject({ status: 'denied', error: { code: 'ACTION_NOT_PERMITTED' } });
    expect(round.outcomes[0]!.action_id).toBeUndefined();
    expect(round.outcomes[0]!.error!.message).toBe(
      'no tool named "delete_repository" is granted for this task; the granted tools are: github_close_issue, github_create_issue, github_create_pr, github_merge_pr',
    );
    const chain = await events(env.rt, round.r.session_id);
    expect(chain.at(-1)).toMatchObject({
      event_type: 'adapter.call.received',
      session_id: round.r.session_id,
      payload: { platform: 'openai', tool_name: 'delete_repository', known: false, error_code: 'ACTION_NOT_PERMITTED' },
    });
  });

  it('arguments that are not valid JSON are reported to the model; nothing runs', async () => {
    const calledBefore = env.github.seen.length;
    const round = await chatRound({
      toolCalls: [{ name: 'github_create_issue', rawArguments: '{"owner": "acme", "repo' }],
    });
    expect(env.github.seen.length).toBe(calledBefore);
    expect(round.outcomes[0]).toMatchObject({ status: 'denied', is_error: true, error: { code: 'INVALID_REQUEST' } });
    expect(round.outcomes[0]!.error!.message).toMatch(/^arguments are not valid JSON: /);
    const chain = await events(env.rt, round.r.session_id);
    expect(chain.at(-1)).toMatchObject({
      event_type: 'adapter.call.received',
      payload: { tool_name: 'github_create_issue', known: true, error_code: 'INVALID_REQUEST' },
    });
  });

  it('streaming: parallel tool calls assembled from deltas run in order', async () => {
    const calledBefore = env.github.seen.length;
    const round = await chatRound(
      {
        toolCalls: [
          { name: 'github_create_issue', arguments: ISSUE, id: 'call_s1' },
          {
            name: 'github_close_issue',
            arguments: { owner: 'acme', repo: 'mobile-app', issue_number: 7, state: 'closed' },
            id: 'call_s2',
          },
        ],
      },
      { stream: true },
    );
    expect(env.github.seen.slice(calledBefore).map((s) => `${s.method} ${s.url}`)).toEqual([
      'POST /repos/acme/mobile-app/issues',
      'PATCH /repos/acme/mobile-app/issues/7',
    ]);
    expect(round.outcomes.map((o) => [o.call_id, o.status])).toEqual([
      ['call_s1', 'success'],
      ['call_s2', 'success'],
    ]);
    expect(round.followUp.messages.slice(-2).map((m) => (m as { tool_call_id: string }).tool_call_id)).toEqual([
      'call_s1',
      'call_s2',
    ]);
  });

  it('repeating a tool call (same call id) does not execute it twice', async () => {
    const r = await resolveGithub(env.rt);
    const call = {
      id: 'call_dup',
      type: 'function',
      function: { name: 'github_create_issue', arguments: JSON.stringify(ISSUE) },
    };
    const calledBefore = env.github.seen.length;
    const first = await runCalls(env.rt, 'openai', r.resolution_id, [call], 'chat');
    const again = await runCalls(env.rt, 'openai', r.resolution_id, [call], 'chat');
    expect(env.github.seen.length).toBe(calledBefore + 1);
    expect(again.outcomes[0]!.execution_id).toBe(first.outcomes[0]!.execution_id);
    expect(again.results).toEqual(first.results);
  });

  it('tool_choice forces a named tool in the Chat shape', async () => {
    const r = await resolveGithub(env.rt);
    const a = await adapted(env.rt, 'openai', {
      resolution_id: r.resolution_id,
      tool_choice: { name: 'github_create_issue' },
    });
    expect(a.tool_choice).toEqual({ type: 'function', function: { name: 'github_create_issue' } });
    env.wire.script({ text: 'ok' });
    await openai.chat.completions.create({
      model: 'gpt-test',
      messages: [{ role: 'user', content: 'x' }],
      tools: a.tools,
      tool_choice: a.tool_choice as never,
    });
    expect(env.wire.requests.at(-1)!.body.tool_choice).toEqual({
      type: 'function',
      function: { name: 'github_create_issue' },
    });
  });
});

describe('OpenAI Responses', () => {
  async function responsesRound(turn: Turn, options: { stream?: boolean } = {}) {
    const r = await resolveGithub(env.rt);
    const a = await adapted(env.rt, 'openai', { resolution_id: r.resolution_id, format: 'responses' });
    env.wire.script(turn, { text: 'Done.' });
    const before = env.wire.requests.length;
    const input: ResponseInputItem[] = [{ role: 'user', content: 'Report the Android login bug in acme/mobile-app.' }];
    let output: unknown[];
    if (options.stream) {
      const stream = await openai.responses.create({
        model: 'gpt-test',
        instructions: a.instructions!,
        input,
        tools: a.tools,
        stream: true,
      });
      const assembler = new ResponsesStreamAssembler();
      for await (const event of stream) assembler.push(event);
      expect(assembler.status).toBe('completed');
      output = assembler.output();
    } else {
      const response = await openai.responses.create({
        model: 'gpt-test',
        instructions: a.instructions!,
        input,
        tools: a.tools,
      });
      output = response.output;
    }
    const sent = env.wire.requests[before]!;
    expect(sent.api).toBe('responses');
    expect(sent.body.tools).toEqual(a.tools);
    expect(sent.body.instructions).toBe(a.instructions);
    const { outcomes, results } = await runCalls(env.rt, 'openai', r.resolution_id, output, 'responses');
    input.push(...(output as ResponseInputItem[]), ...(results as ResponseInputItem[]));
    const final = await openai.responses.create({
      model: 'gpt-test',
      instructions: a.instructions!,
      input,
      tools: a.tools,
    });
    return { r, a, outcomes, results, followUp: env.wire.requests[before + 1]!.body, answer: final.output_text };
  }

  it('flat function tools; an allowed call runs and its function_call_output goes back', async () => {
    const calledBefore = env.github.seen.length;
    const round = await responsesRound({
      toolCalls: [{ name: 'github_create_issue', arguments: ISSUE, id: 'call_r1' }],
    });
    expect(round.a.tools[0]).toEqual({
      type: 'function',
      name: 'github_close_issue',
      description: expect.any(String),
      parameters: expect.any(Object),
      strict: false,
    });
    expect(env.github.seen.slice(calledBefore)).toMatchObject([
      { method: 'POST', url: '/repos/acme/mobile-app/issues' },
    ]);
    expect(round.outcomes).toMatchObject([{ call_id: 'call_r1', status: 'success' }]);
    const input = round.followUp.input as Record<string, unknown>[];
    expect(input.at(-2)).toMatchObject({ type: 'function_call', call_id: 'call_r1', name: 'github_create_issue' });
    expect(input.at(-1)).toEqual({ type: 'function_call_output', call_id: 'call_r1', output: expect.any(String) });
    expect(JSON.parse(input.at(-1)!.output as string)).toMatchObject({ number: 42 });
    expect(round.answer).toBe('Done.');
  });

  it('streaming: a function call assembled from argument deltas; approval and invalid JSON in one turn', async () => {
    const calledBefore = env.github.seen.length;
    const round = await responsesRound(
      {
        text: 'Merging and filing.',
        toolCalls: [
          { name: 'github_merge_pr', arguments: MERGE, id: 'call_m' },
          { name: 'github_create_issue', rawArguments: '{"owner":', id: 'call_bad' },
        ],
      },
      { stream: true },
    );
    expect(env.github.seen.length).toBe(calledBefore);
    expect(round.outcomes.map((o) => [o.call_id, o.status, o.is_error])).toEqual([
      ['call_m', 'pending_approval', false],
      ['call_bad', 'denied', true],
    ]);
    const outputs = (round.followUp.input as Record<string, unknown>[]).filter(
      (i) => i.type === 'function_call_output',
    );
    expect(outputs.map((o) => o.call_id)).toEqual(['call_m', 'call_bad']);
    expect(JSON.parse(outputs[1]!.output as string)).toMatchObject({ error: { code: 'INVALID_REQUEST' } });
  });
});
