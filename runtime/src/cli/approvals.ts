/**
 * `cra approvals list|approve|deny`: executions waiting for a human. Approving runs the held
 * execution on the runtime and prints its result; use an approver's API key.
 */
import { Option, type Command } from 'commander';
import type { Approval, ApprovalStatus } from './client.js';
import { executionTable } from './carp.js';
import {
  addOutputOption,
  addRemoteOptions,
  clientOf,
  type CommandRunner,
  examples,
  formatOf,
  type OutputOpts,
  parseInteger,
  type RemoteOpts,
} from './options.js';
import { emit, fields, indentJson, style, table } from './output.js';

const STATUSES: readonly ApprovalStatus[] = ['pending', 'approved', 'denied', 'timeout'];

function statusText(status: ApprovalStatus): string {
  return status === 'approved' ? style.ok(status) : status === 'pending' ? style.warn(status) : style.bad(status);
}

function listTable(approvals: Approval[]): string {
  if (approvals.length === 0) return style.dim('no approvals');
  return table(
    ['APPROVAL ID', 'STATUS', 'AGENT', 'ACTION', 'CREATED', 'EXPIRES'],
    approvals.map((a) => [a.approval_id, statusText(a.status), a.agent_id, a.action_type, a.created_at, a.expires_at]),
  );
}

export function approvalTable(a: Approval): string {
  const head = fields([
    ['Approval', a.approval_id],
    ['Status', statusText(a.status)],
    ['Agent', a.agent_id],
    ['Action', a.action_type],
    ['Decided by', a.decided_by],
    ['Reason', a.reason],
  ]);
  const parts = [head];
  if (a.parameters !== undefined && Object.keys(a.parameters).length > 0) {
    parts.push(`\n${style.bold('Parameters')}\n${indentJson(a.parameters)}`);
  }
  if (a.result !== undefined) parts.push(`\n${style.bold('Execution')}\n${executionTable(a.result)}`);
  return parts.join('\n');
}

const FAILED_RESULTS = new Set(['failed', 'timeout', 'cancelled']);

export function registerApprovals(program: Command, run: CommandRunner): void {
  const approvals = program
    .command('approvals')
    .description('list, approve and deny executions that wait for a human approver')
    .addHelpText(
      'after',
      examples(
        'CRA_API_KEY=dev-approver-key cra approvals list --status pending',
        'CRA_API_KEY=dev-approver-key cra approvals approve 0190… --reason "reviewed the diff"',
      ),
    );

  addOutputOption(
    addRemoteOptions(
      approvals
        .command('list')
        .description('approvals visible to the caller (approvers, admins and auditors see all)')
        .addOption(new Option('--status <status>', 'only approvals in this state').choices(STATUSES))
        .option('--limit <n>', 'most approvals to list', parseInteger(1, 500))
        .addHelpText('after', examples('cra approvals list --status pending', 'cra approvals list -o json')),
    ),
  ).action((opts: OutputOpts & RemoteOpts & { status?: ApprovalStatus; limit?: number }) =>
    run(async () => {
      const list = await clientOf(opts).approvals({
        ...(opts.status ? { status: opts.status } : {}),
        ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
      });
      emit(formatOf(opts), list, listTable);
      return 0;
    }),
  );

  for (const decision of ['approve', 'deny'] as const) {
    addOutputOption(
      addRemoteOptions(
        approvals
          .command(decision)
          .description(
            decision === 'approve'
              ? 'approve: the held execution runs now and its result is printed'
              : 'deny: the held execution is refused',
          )
          .argument('<approval-id>', 'the approval id (from cra execute or cra approvals list)')
          .option('--reason <text>', 'why, recorded in the trace')
          .addHelpText(
            'after',
            examples(`cra approvals ${decision} 0190… --reason "checked with the owner" --api-key dev-approver-key`) +
              (decision === 'approve'
                ? '\n\nExit status: 0 when approved and the execution succeeded, 1 when refused or the execution failed.'
                : '\n\nExit status: 0 when denied, 1 when refused (e.g. already decided, not an approver).'),
          ),
      ),
    ).action((approvalId: string, opts: OutputOpts & RemoteOpts & { reason?: string }) =>
      run(async () => {
        const approval = await clientOf(opts).decide(approvalId, decision, opts.reason);
        emit(formatOf(opts), approval, approvalTable);
        return decision === 'approve' && approval.result !== undefined && FAILED_RESULTS.has(approval.result.status)
          ? 1
          : 0;
      }),
    );
  }
}
