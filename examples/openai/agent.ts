/**
 * An OpenAI agent governed by CRA. CRA resolves the goal (context + permitted actions), gives
 * the model the granted actions as tools and the context as instructions, and executes every
 * tool call the model makes (policy checks, approvals, audit trail) before the result goes back
 * to the model.
 *
 *   make run                                   # CRA on http://127.0.0.1:8080
 *   OPENAI_API_KEY=sk-... npx tsx examples/openai/agent.ts "Open an issue in acme/mobile-app about the login crash"
 *
 * Environment: OPENAI_API_KEY (required), OPENAI_MODEL (default gpt-4.1-mini), OPENAI_BASE_URL,
 * OPENAI_FORMAT (`chat` or `responses`, default chat), STREAM=1 to stream, CRA_URL, CRA_API_KEY,
 * CRA_AGENT_ID, CRA_RISK_TIER (default medium). See examples/README.md.
 */
import { pathToFileURL } from 'node:url';
import OpenAI from 'openai';
import type { ChatCompletionMessageParam } from 'openai/resources/chat/completions';
import type { ResponseInputItem } from 'openai/resources/responses/responses';
import { craFromEnv, type Adapted, type CraClient, type RiskTier, type ToolOutcome } from '../shared/cra-client.js';

export interface OpenAIAgentOptions {
  openai: OpenAI;
  cra: CraClient;
  goal: string;
  model?: string;
  /** Chat Completions (default) or the Responses API. */
  format?: 'chat' | 'responses';
  stream?: boolean;
  riskTier?: RiskTier;
  hints?: string[];
  scope?: Record<string, unknown>;
  /** Model requests at most (default 8). */
  maxTurns?: number;
}

export interface AgentRun {
  resolution_id: string;
  session_id: string;
  answer: string;
  /** Model requests made. */
  turns: number;
  /** Every tool call CRA handled, in order. */
  outcomes: ToolOutcome[];
}

const DEFAULT_MODEL = 'gpt-4.1-mini';

export async function runOpenAIAgent(options: OpenAIAgentOptions): Promise<AgentRun> {
  const resolution = await options.cra.resolve({
    goal: options.goal,
    ...(options.riskTier ? { riskTier: options.riskTier } : {}),
    ...(options.hints ? { hints: options.hints } : {}),
    ...(options.scope ? { scope: options.scope } : {}),
  });
  const format = options.format ?? 'chat';
  const adapted = await options.cra.adapt('openai', resolution.resolution_id, { format });
  const run: AgentRun = {
    resolution_id: resolution.resolution_id,
    session_id: resolution.session_id,
    answer: '',
    turns: 0,
    outcomes: [],
  };
  const loop = { options, adapted, run, tools: adapted.tools.length > 0 ? { tools: adapted.tools } : {} };
  await (format === 'chat' ? chatLoop(loop) : responsesLoop(loop));
  return run;
}

interface Loop {
  options: OpenAIAgentOptions;
  adapted: Adapted;
  run: AgentRun;
  tools: { tools?: Adapted['tools'] };
}

/** Chat Completions: the assistant message and one `tool` message per call go back each turn. */
async function chatLoop({ options, adapted, run, tools }: Loop): Promise<void> {
  const { openai, cra } = options;
  const messages: ChatCompletionMessageParam[] = [
    { role: 'developer', content: adapted.instructions ?? '' },
    { role: 'user', content: options.goal },
  ];
  while (run.turns < (options.maxTurns ?? 8)) {
    run.turns += 1;
    const params = { model: options.model ?? DEFAULT_MODEL, messages, ...tools };
    const completion = options.stream
      ? await openai.chat.completions.stream(params).finalChatCompletion()
      : await openai.chat.completions.create(params);
    const message = completion.choices[0]?.message;
    const calls = message?.tool_calls ?? [];
    if (calls.length === 0) {
      run.answer = message?.content ?? '';
      return;
    }
    messages.push({ role: 'assistant', content: message?.content ?? null, tool_calls: calls });
    const { results, outcomes } = await cra.calls('openai', run.resolution_id, calls, 'chat');
    run.outcomes.push(...outcomes);
    messages.push(...(results as ChatCompletionMessageParam[]));
  }
}

/** Responses: the output items and one `function_call_output` per call go back each turn. */
async function responsesLoop({ options, adapted, run, tools }: Loop): Promise<void> {
  const { openai, cra } = options;
  const input: ResponseInputItem[] = [{ role: 'user', content: options.goal }];
  while (run.turns < (options.maxTurns ?? 8)) {
    run.turns += 1;
    const params = { model: options.model ?? DEFAULT_MODEL, instructions: adapted.instructions ?? '', input, ...tools };
    const response = options.stream
      ? await openai.responses.stream(params).finalResponse()
      : await openai.responses.create(params);
    if (!response.output.some((item) => item.type === 'function_call')) {
      run.answer = response.output_text;
      return;
    }
    const { results, outcomes } = await cra.calls('openai', run.resolution_id, response.output, 'responses');
    run.outcomes.push(...outcomes);
    input.push(...(response.output as ResponseInputItem[]), ...(results as ResponseInputItem[]));
  }
}

async function main(): Promise<void> {
  const env = process.env;
  if (!env.OPENAI_API_KEY) {
    console.error('Set OPENAI_API_KEY (and start CRA with `make run`). See examples/README.md.');
    process.exit(2);
  }
  const openai = new OpenAI({
    apiKey: env.OPENAI_API_KEY,
    ...(env.OPENAI_BASE_URL ? { baseURL: env.OPENAI_BASE_URL } : {}),
  });
  const run = await runOpenAIAgent({
    openai,
    cra: craFromEnv(env),
    goal: process.argv.slice(2).join(' ') || 'Open an issue in acme/mobile-app: the Android login button does nothing',
    ...(env.OPENAI_MODEL ? { model: env.OPENAI_MODEL } : {}),
    format: env.OPENAI_FORMAT === 'responses' ? 'responses' : 'chat',
    stream: env.STREAM === '1',
    riskTier: (env.CRA_RISK_TIER as RiskTier | undefined) ?? 'medium',
  });
  for (const o of run.outcomes) {
    console.log(`tool ${o.name}: ${o.status}${o.error ? ` (${o.error.code}: ${o.error.message})` : ''}`);
  }
  console.log(`\n${run.answer}\n\nresolution ${run.resolution_id}; audit trail: GET /v1/traces/${run.session_id}`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
