/**
 * The example agents (examples/openai/agent.ts, examples/anthropic/agent.ts) run their real loop
 * against a listening CRA runtime over HTTP and the local LLM wire server: the same code a user
 * runs with OPENAI_API_KEY / ANTHROPIC_API_KEY against the real services.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAnthropicAgent } from '../../examples/anthropic/agent.js';
import { runOpenAIAgent } from '../../examples/openai/agent.js';
import { CraClient, CraRequestError } from '../../examples/shared/cra-client.js';
import { adapterEnv, events, ISSUE, MERGE, type AdapterEnv } from './helpers/adapters.js';
import { KEYS } from './helpers/runtime.js';

let env: AdapterEnv;
let cra: CraClient;
let craUrl: string;
let openai: OpenAI;
let anthropic: Anthropic;
const GOAL = 'Open an issue in acme/mobile-app: the Android login button does nothing';

beforeAll(async () => {
  env = await adapterEnv();
  await env.rt.app.listen({ port: 0, host: '127.0.0.1' });
  const { port } = env.rt.app.server.address() as AddressInfo;
  craUrl = `http://127.0.0.1:${port}`;
  cra = new CraClient({ url: craUrl, apiKey: KEYS.agent, agentId: 'dev-agent' });
  openai = new OpenAI({ baseURL: env.wire.openaiBaseURL, apiKey: 'test', maxRetries: 0 });
  anthropic = new Anthropic({ baseURL: env.wire.anthropicBaseURL, apiKey: 'test', maxRetries: 0 });
});
afterAll(async () => env.close());

describe('examples/openai/agent.ts', () => {
  for (const format of ['chat', 'responses'] as const) {
    for (const stream of [false, true]) {
      it(`${format}${stream ? ', streamed' : ''}: tool call through CRA, then the answer`, async () => {
        const calledBefore = env.github.seen.length;
        env.wire.script(
          { toolCalls: [{ name: 'github_create_issue', arguments: ISSUE }] },
          { text: 'Opened issue #42.' },
        );
        const run = await runOpenAIAgent({
          openai,
          cra,
          goal: GOAL,
          format,
          stream,
          riskTier: 'medium',
          model: 'gpt-test',
        });
        expect(run.answer).toBe('Opened issue #42.');
        expect(run.turns).toBe(2);
        expect(run.outcomes).toMatchObject([{ name: 'github_create_issue', status: 'success' }]);
        expect(env.github.seen.slice(calledBefore)).toMatchObject([
          { method: 'POST', url: '/repos/acme/mobile-app/issues' },
        ]);
        const last = env.wire.requests.at(-1)!.body;
        if (format === 'chat') {
          expect(last.messages[0]).toMatchObject({
            role: 'developer',
            content: expect.stringMatching(/^# CRA governance/),
          });
          expect(last.messages.at(-1)).toMatchObject({ role: 'tool', tool_call_id: run.outcomes[0]!.call_id });
        } else {
          expect(last.instructions).toMatch(/^# CRA governance/);
          expect(last.input.at(-1)).toMatchObject({ type: 'function_call_output', call_id: run.outcomes[0]!.call_id });
        }
        const types = (await events(env.rt, run.session_id)).map((e) => e.event_type);
        expect(types).toEqual(
          expect.arrayContaining(['adapter.tools.generated', 'adapter.call.received', 'carp.action.completed']),
        );
      });
    }
  }

  it('a merge at high risk waits for approval and the model is told so', async () => {
    env.wire.script(
      { toolCalls: [{ name: 'github_merge_pr', arguments: MERGE }] },
      { text: 'The merge awaits approval.' },
    );
    const run = await runOpenAIAgent({ openai, cra, goal: 'Merge PR 57', riskTier: 'high', model: 'gpt-test' });
    expect(run.outcomes).toMatchObject([{ name: 'github_merge_pr', status: 'pending_approval', is_error: false }]);
    expect(run.answer).toBe('The merge awaits approval.');
  });
});

describe('examples/anthropic/agent.ts', () => {
  for (const stream of [false, true]) {
    it(`${stream ? 'streamed: ' : ''}tool_use through CRA, then the answer`, async () => {
      const calledBefore = env.github.seen.length;
      env.wire.script(
        { text: 'Filing it.', toolCalls: [{ name: 'github_create_issue', arguments: ISSUE }] },
        { text: 'Opened issue #42.' },
      );
      const run = await runAnthropicAgent({ anthropic, cra, goal: GOAL, stream, model: 'claude-test' });
      expect(run.answer).toBe('Opened issue #42.');
      expect(run.outcomes).toMatchObject([{ name: 'github_create_issue', status: 'success' }]);
      expect(env.github.seen.slice(calledBefore)).toMatchObject([
        { method: 'POST', url: '/repos/acme/mobile-app/issues' },
      ]);
      const last = env.wire.requests.at(-1)!.body;
      expect(last.system).toMatch(/^<cra_governance>/);
      expect(last.messages.at(-1)).toMatchObject({
        role: 'user',
        content: [{ type: 'tool_result', tool_use_id: run.outcomes[0]!.call_id, is_error: false }],
      });
    });
  }

  it('a CRA refusal of the whole request surfaces as CraRequestError with the CARP code', async () => {
    const stranger = new CraClient({ url: craUrl, apiKey: KEYS.agent, agentId: 'someone-else' });
    await expect(runAnthropicAgent({ anthropic, cra: stranger, goal: GOAL })).rejects.toMatchObject({
      constructor: CraRequestError,
      status: 403,
      code: 'FORBIDDEN',
    });
  });
});
