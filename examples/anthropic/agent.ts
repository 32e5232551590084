/**
 * A Claude agent governed by CRA. CRA resolves the goal (context + permitted actions), gives
 * Claude the granted actions as tools and the context as the system prompt, and executes every
 * tool_use Claude makes (policy checks, approvals, audit trail) before the tool_result goes back.
 *
 *   make run                                   # CRA on http://127.0.0.1:8080
 *   ANTHROPIC_API_KEY=sk-ant-... npx tsx examples/anthropic/agent.ts "Open an issue in acme/mobile-app about the login crash"
 *
 * Environment: ANTHROPIC_API_KEY (required), ANTHROPIC_MODEL (default claude-sonnet-4-5),
 * ANTHROPIC_BASE_URL, STREAM=1 to stream, CRA_URL, CRA_API_KEY, CRA_AGENT_ID, CRA_RISK_TIER
 * (default medium). See examples/README.md.
 */
import { pathToFileURL } from 'node:url';
import Anthropic from '@anthropic-ai/sdk';
import type { ContentBlockParam, MessageParam } from '@anthropic-ai/sdk/resources/messages';
import { craFromEnv, type CraClient, type RiskTier, type ToolOutcome } from '../shared/cra-client.js';

export interface AnthropicAgentOptions {
  anthropic: Anthropic;
  cra: CraClient;
  goal: string;
  model?: string;
  maxTokens?: number;
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
  turns: number;
  outcomes: ToolOutcome[];
}

const DEFAULT_MODEL = 'claude-sonnet-4-5';

export async function runAnthropicAgent(options: AnthropicAgentOptions): Promise<AgentRun> {
  const { anthropic, cra } = options;
  const resolution = await cra.resolve({
    goal: options.goal,
    ...(options.riskTier ? { riskTier: options.riskTier } : {}),
    ...(options.hints ? { hints: options.hints } : {}),
    ...(options.scope ? { scope: options.scope } : {}),
  });
  const adapted = await cra.adapt('anthropic', resolution.resolution_id);
  const run: AgentRun = {
    resolution_id: resolution.resolution_id,
    session_id: resolution.session_id,
    answer: '',
    turns: 0,
    outcomes: [],
  };
  const messages: MessageParam[] = [{ role: 'user', content: options.goal }];
  const maxTurns = options.maxTurns ?? 8;
  while (run.turns < maxTurns) {
    run.turns += 1;
    const params = {
      model: options.model ?? DEFAULT_MODEL,
      max_tokens: options.maxTokens ?? 1024,
      system: adapted.system ?? '',
      messages,
      ...(adapted.tools.length > 0 ? { tools: adapted.tools } : {}),
    };
    const message = options.stream
      ? await anthropic.messages.stream(params).finalMessage()
      : await anthropic.messages.create(params);
    messages.push({ role: 'assistant', content: message.content as ContentBlockParam[] });
    if (message.stop_reason !== 'tool_use') {
      run.answer = message.content.map((block) => (block.type === 'text' ? block.text : '')).join('');
      break;
    }
    const { results, outcomes } = await cra.calls('anthropic', resolution.resolution_id, message.content);
    run.outcomes.push(...outcomes);
    messages.push({ role: 'user', content: results as ContentBlockParam[] });
  }
  return run;
}

async function main(): Promise<void> {
  const env = process.env;
  if (!env.ANTHROPIC_API_KEY) {
    console.error('Set ANTHROPIC_API_KEY (and start CRA with `make run`). See examples/README.md.');
    process.exit(2);
  }
  const anthropic = new Anthropic({
    apiKey: env.ANTHROPIC_API_KEY,
    ...(env.ANTHROPIC_BASE_URL ? { baseURL: env.ANTHROPIC_BASE_URL } : {}),
  });
  const run = await runAnthropicAgent({
    anthropic,
    cra: craFromEnv(env),
    goal: process.argv.slice(2).join(' ') || 'Open an issue in acme/mobile-app: the Android login button does nothing',
    ...(env.ANTHROPIC_MODEL ? { model: env.ANTHROPIC_MODEL } : {}),
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
