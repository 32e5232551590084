/**
 * `cra resolve`, `cra execute`, `cra validate`: CARP requests against a running runtime.
 */
import { readFile } from 'node:fs/promises';
import {
  CARP_VERSION,
  isoTime,
  randomIds,
  RISK_TIERS,
  type ActionPermission,
  type CARPExecutionResult,
  type CARPResolution,
  type CARPValidationResult,
  type Operation,
  type RiskTier,
} from '@cra/core';
import { Option, type Command } from 'commander';
import { CliError, systemReason, UsageError } from './errors.js';
import {
  addOutputOption,
  addRemoteOptions,
  agentOption,
  clientOf,
  commaList,
  type CommandRunner,
  examples,
  formatOf,
  type OutputOpts,
  parseInteger,
  type RemoteOpts,
} from './options.js';
import { emit, fields, indentJson, MARK, section, style, table, writeErr } from './output.js';

function envelope(operation: Operation, agentId: string, sessionId: string, agentType?: string) {
  return {
    carp_version: CARP_VERSION,
    request_id: randomIds.uuid(),
    timestamp: isoTime(Date.now()),
    operation,
    requester: { agent_id: agentId, session_id: sessionId, ...(agentType ? { agent_type: agentType } : {}) },
  };
}

// --- resolve ---------------------------------------------------------------------------------

interface ResolveOpts extends OutputOpts, RemoteOpts {
  agent: string;
  agentType?: string;
  risk?: RiskTier;
  hints?: string[];
  session?: string;
  atlas?: string[];
  actions?: string[];
  maxTokens?: number;
  maxActions?: number;
}

export function resolveRequest(goal: string, opts: ResolveOpts): Record<string, unknown> {
  const scope = {
    ...(opts.atlas ? { atlases: opts.atlas } : {}),
    ...(opts.actions ? { actions: opts.actions } : {}),
    ...(opts.maxTokens !== undefined ? { max_context_tokens: opts.maxTokens } : {}),
    ...(opts.maxActions !== undefined ? { max_actions: opts.maxActions } : {}),
  };
  return {
    ...envelope('resolve', opts.agent, opts.session ?? randomIds.uuid(), opts.agentType),
    task: {
      goal,
      ...(opts.risk ? { risk_tier: opts.risk } : {}),
      ...(opts.hints ? { context_hints: opts.hints } : {}),
    },
    ...(Object.keys(scope).length > 0 ? { scope } : {}),
  };
}

function decisionLine(r: CARPResolution): string {
  const d = r.decision;
  const painted = d.type === 'deny' || d.type === 'insufficient_context' ? style.bad(d.type) : style.ok(d.type);
  switch (d.type) {
    case 'deny':
      return `${painted}: ${d.reason}`;
    case 'insufficient_context':
      return `${painted}: unknown domains ${d.missing_domains.join(', ')}`;
    case 'partial':
      return `${painted}: ${d.reason}`;
    case 'requires_approval':
      return `${painted} by ${d.approvers.map((a) => a.id).join(', ')}`;
    default:
      return painted;
  }
}

function approvalOf(grant: ActionPermission): string {
  return grant.requires_approval ? style.warn('required') : 'no';
}

export function resolutionTable(r: CARPResolution): string {
  const head = fields([
    ['Decision', decisionLine(r)],
    ['Resolution', r.resolution_id],
    ['Session', r.session_id],
    ['Trace', r.telemetry_link.trace_id],
    ['Bundle', r.bundle_version],
    ['Expires', `${r.ttl.resolution_expires_at} (refresh in ${r.ttl.refresh_hint_seconds} s)`],
  ]);
  const blocks = table(
    ['PACK', 'ATLAS', 'DOMAIN', 'TOKENS'],
    r.context_blocks.map((b) => [b.pack_ref, b.atlas_ref, b.domain, String(b.token_count)]),
  );
  const grants = table(
    ['GRANT ID', 'TYPE', 'RISK', 'APPROVAL'],
    r.allowed_actions.map((g) => [g.action_id, g.action_type, g.risk_tier, approvalOf(g)]),
  );
  const denials = table(
    ['TYPE', 'REASON'],
    r.denied_actions.map((d) => [d.action_type, d.reason]),
  );
  const warnings = (r.warnings ?? []).map((w) => `${style.warn('!')} ${w.code}: ${w.message}`).join('\n');
  const next =
    r.allowed_actions.length > 0
      ? `\n${style.dim(`next: cra execute ${r.resolution_id} ${r.allowed_actions[0]!.action_type} --params '{…}'`)}`
      : '';
  return [
    head,
    section('Context blocks', r.context_blocks.length, blocks),
    section('Grants', r.allowed_actions.length, grants),
    section('Denials', r.denied_actions.length, denials),
    warnings ? `\n${warnings}` : '',
    next,
  ]
    .filter(Boolean)
    .join('\n');
}

// --- execute / validate ----------------------------------------------------------------------

interface ActionOpts extends OutputOpts, RemoteOpts {
  agent: string;
  params?: string;
  paramsFile?: string;
  idempotencyKey?: string;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function parametersOf(opts: { params?: string; paramsFile?: string }): Promise<Record<string, unknown>> {
  if (opts.params !== undefined && opts.paramsFile !== undefined) {
    throw new UsageError('give the parameters with --params or --params-file, not both');
  }
  let text: string;
  let where: string;
  if (opts.paramsFile !== undefined) {
    where = opts.paramsFile === '-' ? 'standard input' : opts.paramsFile;
    try {
      text = opts.paramsFile === '-' ? await readStdin() : await readFile(opts.paramsFile, 'utf8');
    } catch (err) {
      throw new UsageError(`--params-file ${opts.paramsFile}: cannot read (${systemReason(err)})`);
    }
  } else if (opts.params !== undefined) {
    where = '--params';
    text = opts.params;
  } else {
    return {};
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${where}: not valid JSON (${(err as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new UsageError(`${where}: the parameters must be a JSON object, e.g. '{"owner":"acme"}'`);
  }
  return value as Record<string, unknown>;
}

/** The grant for `action` (an action type or the atlas action id) in a stored resolution. */
export function grantFor(resolution: CARPResolution, action: string): ActionPermission {
  const grant =
    resolution.allowed_actions.find((g) => g.action_type === action) ??
    resolution.allowed_actions.find((g) => g.atlas_action_id === action || g.action_id === action);
  if (grant) return grant;
  const denied = resolution.denied_actions.find((d) => d.action_type === action || d.atlas_action_id === action);
  const granted = resolution.allowed_actions.map((g) => g.action_type);
  throw new CliError(
    denied
      ? `resolution ${resolution.resolution_id} denied ${action}: ${denied.reason}`
      : `resolution ${resolution.resolution_id} grants no action ${action}`,
    1,
    [
      granted.length > 0
        ? `granted: ${granted.join(', ')}`
        : `it grants nothing (decision ${resolution.decision.type})`,
    ],
  );
}

async function actionRequest(
  operation: 'execute' | 'validate',
  resolutionId: string,
  action: string,
  opts: ActionOpts,
): Promise<{ request: Record<string, unknown>; client: ReturnType<typeof clientOf> }> {
  const parameters = await parametersOf(opts);
  const client = clientOf(opts);
  const resolution = await client.resolution(resolutionId);
  const grant = grantFor(resolution, action);
  const request = {
    ...envelope(operation, opts.agent, resolution.session_id),
    action: { action_id: grant.action_id, action_type: grant.action_type, parameters, resolution_id: resolutionId },
    ...(opts.idempotencyKey !== undefined ? { idempotency_key: opts.idempotencyKey } : {}),
  };
  return { request, client };
}

const SUCCESSFUL: readonly CARPExecutionResult['status'][] = ['success', 'partial_success', 'pending_approval'];

export function executionTable(r: CARPExecutionResult): string {
  const ok = SUCCESSFUL.includes(r.status);
  const head = fields([
    ['Status', ok ? style.ok(r.status) : style.bad(r.status)],
    ['Execution', r.execution_id],
    ['Resolution', r.resolution_id],
    ['Grant', r.action_id],
    ['Approval', r.approval_id],
    ['Duration', `${r.metrics.duration_ms} ms`],
    ['Trace', r.telemetry_link.trace_id || undefined],
    ['Output hash', r.result?.output_hash],
  ]);
  const parts = [head];
  if (r.status === 'pending_approval' && r.approval_id) {
    parts.push(style.dim(`\nwaiting for an approver: cra approvals approve ${r.approval_id}   (or deny)`));
  }
  if (r.result !== undefined) parts.push(`\n${style.bold('Output')}\n${indentJson(r.result.output)}`);
  if (r.error !== undefined) {
    parts.push(
      `\n${style.bold('Error')}  ${r.error.code}: ${r.error.message}${r.error.retriable ? ' (retriable)' : ''}`,
    );
  }
  return parts.join('\n');
}

export function validationTable(r: CARPValidationResult): string {
  const head = fields([
    ['Valid', r.valid ? style.ok(`${MARK.ok} yes`) : style.bad(`${MARK.fail} no`)],
    ['Decision', r.decision],
    ['Trace', r.telemetry_link.trace_id || undefined],
  ]);
  const violations = table(
    ['CODE', 'PATH', 'MESSAGE'],
    r.violations.map((v) => [v.code, v.path || '/', v.message]),
  );
  return [head, section('Violations', r.violations.length, violations)].join('\n');
}

// --- registration ----------------------------------------------------------------------------

function addActionOptions(command: Command): Command {
  command
    .option('--params <json>', 'action parameters as a JSON object')
    .option('--params-file <path>', 'read the parameters from a JSON file ("-" for standard input)')
    .addOption(agentOption());
  return addOutputOption(addRemoteOptions(command));
}

export function registerCarp(program: Command, run: CommandRunner): void {
  const resolve = program
    .command('resolve')
    .description('ask the runtime what context and which actions a goal gets (CARP resolve)')
    .argument('<goal>', 'what the agent wants to do, in words')
    .addOption(
      new Option('--risk <tier>', 'risk tier of the task (caps which actions are granted)').choices(RISK_TIERS),
    )
    .option('--hints <domains>', 'context hints: domain ids, comma-separated (repeatable)', commaList)
    .option('--session <uuid>', 'session to resolve in (default: a new session)')
    .addOption(agentOption())
    .option('--agent-type <type>', 'kind of agent, recorded in the trace')
    .option('--atlas <ref...>', 'only these atlases (name, namespace/name or full ref)')
    .option('--actions <type...>', 'only these action types (exact names; others are not granted)')
    .option('--max-tokens <n>', 'context token budget', parseInteger(0, 10_000_000))
    .option('--max-actions <n>', 'most grants to return', parseInteger(0, 10_000))
    .addHelpText(
      'after',
      examples(
        'cra resolve "Open an issue about the login crash" --agent dev-agent --risk low',
        'cra resolve "Merge PR 57" --agent dev-agent --risk high --hints github.pulls -o json',
        'CRA_API_KEY=dev-agent-key CRA_AGENT_ID=dev-agent cra resolve "Scale the api deployment" --atlas cluster-ops',
      ),
    );
  addOutputOption(addRemoteOptions(resolve)).action((goal: string, opts: ResolveOpts) =>
    run(async () => {
      const resolution = await clientOf(opts).resolve(resolveRequest(goal, opts));
      emit(formatOf(opts), resolution, resolutionTable);
      return 0;
    }),
  );

  const execute = program
    .command('execute')
    .description('execute a granted action through the runtime (202 pending approval counts as success)')
    .argument('<resolution-id>', 'the resolution that granted the action')
    .argument('<action>', 'action type (or atlas action id) of the grant')
    .option('--idempotency-key <key>', 'repeat-safe key: a retry with the same key returns the first result')
    .addHelpText(
      'after',
      examples(
        `cra execute 0190… api.github.create_issue --agent dev-agent --params '{"owner":"acme","repo":"app","title":"Bug: crash"}'`,
        'cra execute 0190… create-issue --agent dev-agent --params-file issue.json --idempotency-key issue-42',
        'echo \'{"owner":"acme","repo":"app","pull_number":57,"merge_method":"squash"}\' | cra execute 0190… merge-pr --params-file -',
      ) +
        '\n\nExit status: 0 for success, partial_success and pending_approval; 1 for failed, denied, timeout or a refusal.',
    );
  addActionOptions(execute).action((resolutionId: string, action: string, opts: ActionOpts) =>
    run(async () => {
      const { request, client } = await actionRequest('execute', resolutionId, action, opts);
      const result = await client.execute(request);
      emit(formatOf(opts), result, executionTable);
      if (!SUCCESSFUL.includes(result.status)) {
        if (formatOf(opts) !== 'table')
          writeErr(
            `execution ${result.status}${result.error ? `: ${result.error.code}: ${result.error.message}` : ''}`,
          );
        return 1;
      }
      return 0;
    }),
  );

  const validate = program
    .command('validate')
    .description('run every execute check except the executor itself (CARP validate); nothing is executed')
    .argument('<resolution-id>', 'the resolution that granted the action')
    .argument('<action>', 'action type (or atlas action id) of the grant')
    .addHelpText(
      'after',
      examples(
        `cra validate 0190… api.github.create_issue --agent dev-agent --params '{"owner":"acme","repo":"app","title":"x"}'`,
      ) + '\n\nExit status: 0 when valid, 1 when any check fails (each violation is printed with its JSON Pointer).',
    );
  addActionOptions(validate).action((resolutionId: string, action: string, opts: ActionOpts) =>
    run(async () => {
      const { request, client } = await actionRequest('validate', resolutionId, action, opts);
      const result = await client.validate(request);
      emit(formatOf(opts), result, validationTable);
      return result.valid ? 0 : 1;
    }),
  );
}
