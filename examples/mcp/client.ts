/**
 * An MCP client agent governed by CRA, over MCP's Streamable HTTP transport (`/mcp`). The loop:
 * connect with the agent's API key, resolve the goal with `cra_resolve` (CRA answers with the
 * permitted actions and tells the client its tool list changed), read the context blocks it
 * granted as resources, pick a granted tool and call it. CRA checks every call against policy,
 * runs it against the real system (or holds it for approval) and records it in TRACE.
 *
 * The "pick" step is where a model would decide; here it is a function you pass (the command
 * line version calls the tool named by --tool with the --args JSON).
 *
 *   make run                              # CRA on http://127.0.0.1:8080 (MCP at /mcp)
 *   npx tsx examples/mcp/client.ts "Open an issue in acme/mobile-app: the Android login button does nothing"
 *   npx tsx examples/mcp/client.ts --risk high --tool github_merge_pr \
 *     --args '{"owner":"acme","repo":"mobile-app","pull_number":57,"merge_method":"squash"}' "Merge the login fix"
 *
 * Environment: CRA_URL (default http://127.0.0.1:8080), CRA_API_KEY (default dev-agent-key).
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ToolListChangedNotificationSchema, type CallToolResult, type Tool } from '@modelcontextprotocol/sdk/types.js';

export interface ToolChoice {
  name: string;
  arguments: Record<string, unknown>;
}

export interface McpAgentOptions {
  /** CRA's MCP endpoint, e.g. http://127.0.0.1:8080/mcp. */
  url: string;
  apiKey: string;
  goal: string;
  riskTier?: 'low' | 'medium' | 'high' | 'critical';
  hints?: string[];
  /** What a model would do: choose the calls to make from the granted tools and the context. */
  decide(tools: Tool[], context: { uri: string; text: string }[]): ToolChoice[];
  log?: (line: string) => void;
}

export interface McpAgentRun {
  session_id: string;
  resolution_id: string;
  decision: string;
  /** Granted tools after the resolve (CRA's own cra_* tools left out). */
  tools: string[];
  /** Whether CRA announced the new tool list (notifications/tools/list_changed). */
  toolsChanged: boolean;
  context: string[];
  calls: { name: string; isError: boolean; result: Record<string, unknown> }[];
}

export async function runMcpAgent(options: McpAgentOptions): Promise<McpAgentRun> {
  const log = options.log ?? (() => undefined);
  const client = new Client({ name: 'cra-example-mcp-agent', version: '1.0.0' });
  let toolsChanged = false;
  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    toolsChanged = true;
  });
  const transport = new StreamableHTTPClientTransport(new URL(options.url), {
    requestInit: { headers: { authorization: `Bearer ${options.apiKey}` } },
  });
  await client.connect(transport);
  try {
    // 1. Resolve: what may this agent see and do for the goal?
    const resolved = (await client.callTool({
      name: 'cra_resolve',
      arguments: {
        goal: options.goal,
        ...(options.riskTier ? { risk_tier: options.riskTier } : {}),
        ...(options.hints ? { context_hints: options.hints } : {}),
      },
    })) as CallToolResult;
    const summary = (resolved.structuredContent as { summary?: Record<string, unknown> } | undefined)?.summary;
    if (resolved.isError || !summary) throw new Error(`cra_resolve refused: ${textOf(resolved)}`);
    log(`resolution ${String(summary.resolution_id)}: ${String(summary.decision)}`);

    // 2. The grants are tools now; the context blocks are resources.
    const tools = (await client.listTools()).tools.filter((t) => !t.name.startsWith('cra_'));
    log(`granted tools: ${tools.map((t) => t.name).join(', ') || 'none'}`);
    const context: { uri: string; text: string }[] = [];
    for (const resource of (await client.listResources()).resources) {
      const read = await client.readResource({ uri: resource.uri });
      for (const content of read.contents)
        if ('text' in content) context.push({ uri: content.uri, text: content.text });
    }
    log(`context: ${context.map((c) => c.uri).join(', ') || 'none'}`);

    // 3. Act: each call goes through CRA (checked, executed or held for approval, recorded).
    const calls: McpAgentRun['calls'] = [];
    for (const choice of options.decide(tools, context)) {
      const result = (await client.callTool({ name: choice.name, arguments: choice.arguments })) as CallToolResult;
      const structured = (result.structuredContent ?? {}) as Record<string, unknown>;
      calls.push({ name: choice.name, isError: result.isError === true, result: structured });
      log(`${choice.name} → ${describe(result.isError === true, structured)}`);
    }
    return {
      session_id: String(summary.session_id),
      resolution_id: String(summary.resolution_id),
      decision: String(summary.decision),
      tools: tools.map((t) => t.name),
      toolsChanged,
      context: context.map((c) => c.uri),
      calls,
    };
  } finally {
    await client.close();
  }
}

/** One line about a call's outcome: the output, the approval to wait for, or the error. */
function describe(isError: boolean, structured: Record<string, unknown>): string {
  const {
    status,
    result,
    approval_id: approvalId,
    error,
  } = structured as {
    status?: string;
    result?: { output?: unknown };
    approval_id?: string;
    error?: { code?: string; message?: string };
  };
  if (error) return `${isError ? 'refused/failed' : String(status)}: ${error.code ?? ''} ${error.message ?? ''}`;
  if (status === 'pending_approval') return `pending_approval (approval ${String(approvalId)})`;
  return `${String(status)}: ${JSON.stringify(result?.output ?? null)}`;
}

function textOf(result: CallToolResult): string {
  return result.content.map((c) => (c.type === 'text' ? c.text : `[${c.type}]`)).join(' ');
}

const DEFAULT_GOAL = 'Open an issue in acme/mobile-app: the Android login button does nothing';
const DEFAULT_CALL: ToolChoice = {
  name: 'github_create_issue',
  arguments: {
    owner: 'acme',
    repo: 'mobile-app',
    title: 'Bug: the Android login button does nothing',
    body: 'Tapping "Log in" on Android 14 does nothing; no request reaches the API.',
    labels: ['bug'],
  },
};

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      tool: { type: 'string' },
      args: { type: 'string' },
      risk: { type: 'string' },
    },
  });
  const base = process.env.CRA_URL ?? 'http://127.0.0.1:8080';
  const choice: ToolChoice = values.tool
    ? { name: values.tool, arguments: values.args ? (JSON.parse(values.args) as Record<string, unknown>) : {} }
    : DEFAULT_CALL;
  const run = await runMcpAgent({
    url: new URL('/mcp', base).href,
    apiKey: process.env.CRA_API_KEY ?? 'dev-agent-key',
    goal: positionals.join(' ') || DEFAULT_GOAL,
    ...(values.risk ? { riskTier: values.risk as McpAgentOptions['riskTier'] } : {}),
    // A model would choose from `tools` and `context`; this one calls what it was told to.
    decide: (tools) => (tools.some((t) => t.name === choice.name) ? [choice] : []),
    log: (line) => process.stdout.write(`${line}\n`),
  });
  if (!run.tools.includes(choice.name)) {
    process.stdout.write(`${choice.name} is not granted for this goal; nothing was called.\n`);
  }
  process.stdout.write(`audit trail: GET ${base}/v1/traces/${run.session_id}\n`);
  return run.calls.some((c) => c.isError) ? 1 : 0;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().then(
    (code) => {
      process.exitCode = code;
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
