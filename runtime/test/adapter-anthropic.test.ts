/**
 * The Anthropic adapter end to end with the real `@anthropic-ai/sdk` against a local server
 * speaking the Messages wire format (plain and streamed): resolve → adapt → Claude requests a
 * tool (`tool_use`) → CRA executes it (the fake GitHub API sees the real call) → the
 * `tool_result` goes back in the next request → Claude answers.
 */
import { AnthropicStreamAssembler, fixedClock, verifyChain, type CARPResolution } from '@cra/core';
import Anthropic from '@anthropic-ai/sdk';
import type { ContentBlockParam, MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  adapt,
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
import { auth, KEYS, testRuntime } from './helpers/runtime.js';

let env: AdapterEnv;
let anthropic: Anthropic;

beforeAll(async () => {
  env = await adapterEnv();
  anthropic = new Anthropic({ baseURL: env.wire.anthropicBaseURL, apiKey: 'test', maxRetries: 0 });
});
afterAll(async () => env.close());

/** One tool round: Claude uses tools (turn 1), then answers (turn 2). */
async function round(turn: Turn, options: { stream?: boolean } = {}) {
  const r: CARPResolution = await resolveGithub(env.rt);
  const a = await adapted(env.rt, 'anthropic', { resolution_id: r.resolution_id });
  env.wire.script(turn, { text: 'Done.' });
  const before = env.wire.requests.length;
  const messages: MessageParam[] = [{ role: 'user', content: 'Report the Android login bug in acme/mobile-app.' }];
  const params = { model: 'claude-test', max_tokens: 1024, system: a.system!, tools: a.tools };
  let content: unknown[];
  let toolUses: unknown[];
  if (options.stream) {
    const stream = await anthropic.messages.create({ ...params, messages, stream: true });
    const assembler = new AnthropicStreamAssembler();
    for await (const event of stream) assembler.push(event);
    expect(assembler.stopReason).toBe('tool_use');
    content = assembler.content();
    toolUses = assembler.toolUses();
  } else {
    const message = await anthropic.messages.create({ ...params, messages });
    expect(message.stop_reason).toBe('tool_use');
    content = message.content;
    toolUses = message.content;
  }
  const sent = env.wire.requests[before]!;
  expect(sent.api).toBe('messages');
  expect(sent.body.system).toBe(a.system);
  expect(sent.body.tools).toEqual(a.tools);

  const { outcomes, results } = await runCalls(env.rt, 'anthropic', r.resolution_id, toolUses);
  messages.push({ role: 'assistant', content: content as ContentBlockParam[] });
  messages.push({ role: 'user', content: results as ContentBlockParam[] });
  const final = await anthropic.messages.create({ ...params, messages });
  return {
    r,
    a,
    outcomes,
    results,
    followUp: env.wire.requests[before + 1]!.body as { messages: MessageParam[] },
    answer: final.content.map((b) => (b.type === 'text' ? b.text : '')).join(''),
  };
}

describe('Anthropic Messages', () => {
  it('tools {name, description, input_schema}; system prompt with XML sections', async () => {
    const r = await resolveGithub(env.rt);
    const a = await adapted(env.rt, 'anthropic', { resolution_id: r.resolution_id, tool_choice: 'required' });
    expect(a.tools.map((t) => t.name)).toEqual([
      'github_close_issue',
      'github_create_issue',
      'github_create_pr',
      'github_merge_pr',
    ]);
    const merge = a.tools.find((t) => t.name === 'github_merge_pr');
    expect(Object.keys(merge).sort()).toEqual(['description', 'input_schema', 'name']);
    expect(merge.description).toMatch(/^\[HIGH RISK\] /);
    expect(merge.description).toContain('Requires human approval');
    expect(a.tool_choice).toEqual({ type: 'any' });
    expect(a.system).toMatch(/^<cra_governance>\n<decision type="allow_with_constraints"/);
    expect(a.system).toContain('<domain name="github.issues" atlas="default/github-ops@1.0.0" pack="issues-guide">');
    expect(a.system).toContain('<tools_requiring_approval>github_merge_pr</tools_requiring_approval>');
    expect(a.system).toContain('<action type="api.github.update_branch_protection">');
  });

  it('an allowed tool runs against GitHub; the tool_result goes back in the next user message', async () => {
    const calledBefore = env.github.seen.length;
    const res = await round({
      text: 'Filing it now.',
      toolCalls: [{ name: 'github_create_issue', arguments: ISSUE, id: 'toolu_issue' }],
    });
    expect(env.github.seen.slice(calledBefore)).toMatchObject([
      {
        method: 'POST',
        url: '/repos/acme/mobile-app/issues',
        headers: { authorization: 'Bearer ghp_testtoken0000000000000000000000000000' },
      },
    ]);
    expect(res.outcomes).toMatchObject([{ call_id: 'toolu_issue', status: 'success', is_error: false }]);
    const [assistant, user] = res.followUp.messages.slice(-2);
    expect(assistant).toMatchObject({
      role: 'assistant',
      content: [
        { type: 'text', text: 'Filing it now.' },
        { type: 'tool_use', id: 'toolu_issue', name: 'github_create_issue', input: ISSUE },
      ],
    });
    expect(user).toEqual({
      role: 'user',
      content: [{ type: 'tool_result', tool_use_id: 'toolu_issue', content: expect.any(String), is_error: false }],
    });
    expect(JSON.parse((user!.content as { content: string }[])[0]!.content)).toMatchObject({ number: 42 });
    expect(res.answer).toBe('Done.');
    const chain = await events(env.rt, res.r.session_id);
    expect(chain.filter((e) => e.event_type === 'adapter.call.received').map((e) => e.payload)).toMatchObject([
      { platform: 'anthropic', tool_name: 'github_create_issue', call_id: 'toolu_issue', known: true },
    ]);
    expect(verifyChain(chain).valid).toBe(true);
  });

  it('denied, unknown and invalid calls come back as is_error tool_results; nothing runs', async () => {
    const calledBefore = env.github.seen.length;
    const res = await round({
      toolCalls: [
        { name: 'github_update_branch_protection', arguments: { owner: 'acme' }, id: 'toolu_denied' },
        { name: 'rm_rf', arguments: {}, id: 'toolu_unknown' },
        {
          name: 'github_create_issue',
          arguments: { owner: 'acme', repo: 'mobile-app', title: '' },
          id: 'toolu_invalid',
        },
      ],
    });
    expect(env.github.seen.length).toBe(calledBefore);
    expect(res.outcomes.map((o) => [o.call_id, o.error?.code])).toEqual([
      ['toolu_denied', 'ACTION_NOT_PERMITTED'],
      ['toolu_unknown', 'ACTION_NOT_PERMITTED'],
      ['toolu_invalid', 'CONSTRAINT_VIOLATED'],
    ]);
    const results = res.followUp.messages.at(-1)!.content as {
      tool_use_id: string;
      is_error: boolean;
      content: string;
    }[];
    expect(results.map((b) => [b.tool_use_id, b.is_error])).toEqual([
      ['toolu_denied', true],
      ['toolu_unknown', true],
      ['toolu_invalid', true],
    ]);
    expect(JSON.parse(results[2]!.content)).toMatchObject({
      error: { code: 'CONSTRAINT_VIOLATED', violations: [{ path: '/title' }] },
    });
  });

  it('an approval-required tool is pending_approval, not an error; once approved it runs', async () => {
    const calledBefore = env.github.seen.length;
    const res = await round({ toolCalls: [{ name: 'github_merge_pr', arguments: MERGE, id: 'toolu_merge' }] });
    expect(env.github.seen.length).toBe(calledBefore);
    const [outcome] = res.outcomes;
    expect(outcome).toMatchObject({ status: 'pending_approval', is_error: false });
    const block = (res.followUp.messages.at(-1)!.content as { content: string; is_error: boolean }[])[0]!;
    expect(block.is_error).toBe(false);
    expect(JSON.parse(block.content)).toMatchObject({ status: 'pending_approval', approval_id: outcome!.approval_id });

    const approved = await env.rt.app.inject({
      method: 'POST',
      url: `/v1/approvals/${outcome!.approval_id}/approve`,
      headers: auth(KEYS.approver),
    });
    expect(approved.statusCode, approved.body).toBe(200);
    expect(env.github.seen.slice(calledBefore)).toMatchObject([
      { method: 'PUT', url: '/repos/acme/mobile-app/pulls/57/merge', body: { merge_method: 'squash' } },
    ]);
  });

  it('streaming: tool_use input assembled from input_json_delta fragments', async () => {
    const calledBefore = env.github.seen.length;
    const res = await round(
      { text: 'On it.', toolCalls: [{ name: 'github_create_issue', arguments: ISSUE, id: 'toolu_stream' }] },
      { stream: true },
    );
    expect(env.github.seen.slice(calledBefore)).toMatchObject([{ method: 'POST', body: { title: ISSUE.title } }]);
    expect(res.outcomes).toMatchObject([{ call_id: 'toolu_stream', status: 'success' }]);
    expect(res.followUp.messages.at(-2)).toMatchObject({
      role: 'assistant',
      content: [
        { type: 'text', text: 'On it.' },
        { type: 'tool_use', id: 'toolu_stream', input: ISSUE },
      ],
    });
  });

  it('streaming: input that does not assemble into valid JSON is an is_error result; nothing runs', async () => {
    const calledBefore = env.github.seen.length;
    const res = await round(
      {
        toolCalls: [{ name: 'github_create_issue', rawArguments: '{"owner": "acme", "title": ', id: 'toolu_badjson' }],
      },
      { stream: true },
    );
    expect(env.github.seen.length).toBe(calledBefore);
    expect(res.outcomes[0]).toMatchObject({ status: 'denied', is_error: true, error: { code: 'INVALID_REQUEST' } });
    expect(res.outcomes[0]!.error!.message).toMatch(/^arguments are not valid JSON/);
    // The assistant turn sent back stays valid: the unparseable input became {}.
    expect(res.followUp.messages.at(-2)).toMatchObject({
      content: [{ type: 'tool_use', id: 'toolu_badjson', input: {} }],
    });
  });
});

describe('/v1/adapt', () => {
  it("another agent's resolution does not exist for the caller; a non-agent is forbidden", async () => {
    const r = await resolveGithub(env.rt);
    const other = await adapt(env.rt, 'anthropic', { resolution_id: r.resolution_id }, KEYS.approver);
    expect(other.statusCode).toBe(404);
    expect(other.json()).toMatchObject({ error: { code: 'RESOLUTION_NOT_FOUND' } });
    const admin = await adapt(env.rt, 'anthropic', { resolution_id: r.resolution_id }, KEYS.admin);
    expect([403, 404]).toContain(admin.statusCode);
    const calls = await env.rt.app.inject({
      method: 'POST',
      url: '/v1/adapt/anthropic/calls',
      headers: auth(KEYS.approver),
      payload: { resolution_id: r.resolution_id, calls: [] },
    });
    expect(calls.statusCode).toBe(404);
  });

  it('bad input names the field', async () => {
    const r = await resolveGithub(env.rt);
    const cases: [string, Record<string, unknown>, string][] = [
      ['openai', { resolution_id: r.resolution_id, tool_choice: { name: 'nope' } }, '/tool_choice/name'],
      ['anthropic', { resolution_id: r.resolution_id, format: 'chat' }, '/format'],
      ['mcp', { resolution_id: r.resolution_id, tool_choice: 'auto' }, '/tool_choice'],
      ['openai', { resolution_id: r.resolution_id, format: 'completions' }, '/format'],
      ['openai', {}, '/resolution_id'],
    ];
    for (const [platform, body, path] of cases) {
      const res = await adapt(env.rt, platform, body);
      expect(res.statusCode, `${platform} ${JSON.stringify(body)}`).toBe(400);
      expect(res.json().error.details.violations.map((v: { path: string }) => v.path)).toContain(path);
    }
    const unknown = await adapt(env.rt, 'gemini', { resolution_id: r.resolution_id });
    expect(unknown.statusCode).toBe(400);
  });

  it('mcp: tool definitions with annotations from risk tiers and executor methods', async () => {
    const r = await resolveGithub(env.rt);
    const a = await adapted(env.rt, 'mcp', { resolution_id: r.resolution_id });
    const byName = Object.fromEntries(a.tools.map((t) => [t.name, t]));
    expect(Object.keys(byName).sort()).toEqual([
      'github_close_issue',
      'github_create_issue',
      'github_create_pr',
      'github_merge_pr',
    ]);
    expect(byName.github_create_issue).toMatchObject({
      title: 'Create issue',
      inputSchema: { type: 'object' },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
    });
    expect(byName.github_merge_pr.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
    });
    expect(a.instructions).toMatch(/^# CRA governance/);
  });

  it('mcp: calls {name, arguments} come back as CallToolResults', async () => {
    const r = await resolveGithub(env.rt);
    const { results, outcomes } = await runCalls(env.rt, 'mcp', r.resolution_id, [
      { name: 'github_create_issue', arguments: ISSUE },
      { name: 'nope', arguments: {} },
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['success', 'denied']);
    expect(results).toEqual([
      { content: [{ type: 'text', text: outcomes[0]!.content }], isError: false },
      { content: [{ type: 'text', text: outcomes[1]!.content }], isError: true },
    ]);
  });

  it('an expired resolution is 410 for adapt; its tool calls are refused per call with RESOLUTION_EXPIRED', async () => {
    const clock = fixedClock(Date.parse('2026-03-01T12:00:00Z'));
    const rt = await testRuntime({}, { clock });
    try {
      const r = await resolveGithub(rt);
      expect((await adapt(rt, 'openai', { resolution_id: r.resolution_id })).statusCode).toBe(200);
      clock.advance(301_000);
      const res = await adapt(rt, 'openai', { resolution_id: r.resolution_id });
      expect(res.statusCode).toBe(410);
      expect(res.json()).toMatchObject({ error: { code: 'RESOLUTION_EXPIRED' } });
      const { outcomes } = await runCalls(rt, 'mcp', r.resolution_id, [
        { name: 'github_create_issue', arguments: ISSUE },
      ]);
      expect(outcomes[0]).toMatchObject({ status: 'denied', error: { code: 'RESOLUTION_EXPIRED' } });
    } finally {
      await rt.close();
    }
  });
});
