/**
 * The system prompt (Anthropic `system`) or instructions (OpenAI `instructions` / system message,
 * MCP server instructions) for a resolution: the decision, the resolved context blocks, the
 * tools and which need approval, the denied actions and the rules of engagement. Markdown
 * sections for OpenAI and MCP; XML tags for Anthropic (`<cra_governance>`, `<context>` with a
 * `<domain name="…">` per block, `<guidelines>`). A pure function of the resolution and its tool
 * names: the same resolution always gives the same text. Context content is copied verbatim.
 */
import type { ActionPermission, CARPResolution, Decision } from '../carp/types.js';
import { namedGrants } from './grants.js';
import type { ToolNameTable } from './tool-names.js';

type Names = ToolNameTable<ActionPermission>;

const sentence = (s: string): string => (/[.!?]$/.test(s.trim()) ? s.trim() : `${s.trim()}.`);

/** One line on what the decision means for the model. */
export function decisionSummary(decision: Decision, grants: number): string {
  switch (decision.type) {
    case 'allow':
      return grants > 0 ? 'The listed tools are permitted for this task.' : 'No action is granted for this task.';
    case 'allow_with_constraints': {
      const notes = decision.constraints.map((c) => c.description).filter((d) => d.length > 0);
      return `The listed tools are permitted within their constraints${notes.length > 0 ? `: ${notes.join('; ')}` : ''}.`;
    }
    case 'deny':
      return `The request is denied: ${sentence(decision.reason)}${decision.remediation ? ` Remediation: ${sentence(decision.remediation)}` : ''} No tool may be used.`;
    case 'requires_approval':
      return 'Every action needs a human approver before it runs.';
    case 'insufficient_context':
      return `CRA has no context for ${decision.missing_domains.join(', ')}${decision.suggestion ? `. ${decision.suggestion}` : ''}; do not guess about those domains.`;
    case 'partial':
      return `Only part of the request is permitted: ${sentence(decision.reason)}`;
  }
}

const GUIDELINES = [
  'Use only the tools provided; any other action is refused and recorded.',
  'Follow the domain context; it is the authoritative guidance for this task.',
  'A tool result with status "pending_approval" means the action has NOT run: tell the user it is waiting for human approval and do not call it again.',
  'A tool result with an error carries a code: fix the arguments for CONSTRAINT_VIOLATED or INVALID_REQUEST (the violations point at the offending arguments); do not retry ACTION_NOT_PERMITTED.',
  'Ask the user for clarification when the request is ambiguous instead of guessing arguments.',
  'Every tool call is checked by CRA and recorded in its audit trail.',
];

function toolLine(grant: ActionPermission): string {
  return `${grant.name} (${grant.risk_tier} risk${grant.requires_approval ? ', requires human approval' : ''})`;
}

/** Markdown instructions (OpenAI Chat system/developer message, Responses `instructions`, MCP). */
export function markdownInstructions(resolution: CARPResolution, names: Names): string {
  const grants = namedGrants(names);
  const out: string[] = [
    '# CRA governance',
    '',
    `Resolution \`${resolution.resolution_id}\`, decision **${resolution.decision.type}**: ${decisionSummary(resolution.decision, grants.length)}`,
    `Valid until ${resolution.ttl.resolution_expires_at}.`,
  ];
  if (resolution.context_blocks.length > 0) {
    out.push('', '## Context', '', 'Context resolved by CRA for this task.');
    for (const block of resolution.context_blocks) {
      out.push(
        '',
        `### ${block.domain}`,
        '',
        `_Source: ${block.atlas_ref}, pack ${block.pack_ref}_`,
        '',
        block.content.trimEnd(),
      );
    }
  }
  out.push('', '## Tools', '');
  if (grants.length === 0) out.push('None: no action is permitted for this task.');
  for (const { name, grant } of grants) out.push(`- \`${name}\`: ${toolLine(grant)}`);
  const approval = grants.filter(({ grant }) => grant.requires_approval).map(({ name }) => `\`${name}\``);
  if (approval.length > 0) out.push('', `Tools that need human approval: ${approval.join(', ')}.`);
  if (resolution.denied_actions.length > 0) {
    out.push('', '## Denied actions', '');
    for (const denial of resolution.denied_actions) {
      out.push(
        `- \`${denial.action_type}\`: ${denial.reason}${denial.remediation ? ` (remediation: ${denial.remediation})` : ''}`,
      );
    }
  }
  out.push('', '## Guidelines', '', ...GUIDELINES.map((g) => `- ${g}`));
  return `${out.join('\n')}\n`;
}

const escapeText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const attr = (s: string): string => escapeText(s).replace(/"/g, '&quot;');

/** The Anthropic `system` prompt: XML-tagged sections. */
export function anthropicSystemPrompt(resolution: CARPResolution, names: Names): string {
  const grants = namedGrants(names);
  const out: string[] = [
    '<cra_governance>',
    `<decision type="${attr(resolution.decision.type)}" resolution_id="${attr(resolution.resolution_id)}" expires_at="${attr(resolution.ttl.resolution_expires_at)}">${escapeText(decisionSummary(resolution.decision, grants.length))}</decision>`,
    '<tools>',
    ...grants.map(
      ({ name, grant }) =>
        `<tool name="${attr(name)}" risk="${grant.risk_tier}" approval="${grant.requires_approval ? 'required' : 'not_required'}">${escapeText(grant.name)}</tool>`,
    ),
    '</tools>',
  ];
  const approval = grants.filter(({ grant }) => grant.requires_approval).map(({ name }) => name);
  if (approval.length > 0)
    out.push(`<tools_requiring_approval>${escapeText(approval.join(', '))}</tools_requiring_approval>`);
  if (resolution.denied_actions.length > 0) {
    out.push('<denied_actions>');
    for (const denial of resolution.denied_actions) {
      out.push(
        `<action type="${attr(denial.action_type)}">${escapeText(denial.reason)}${denial.remediation ? ` Remediation: ${escapeText(denial.remediation)}` : ''}</action>`,
      );
    }
    out.push('</denied_actions>');
  }
  out.push('</cra_governance>', '', '<context>');
  for (const block of resolution.context_blocks) {
    out.push(
      `<domain name="${attr(block.domain)}" atlas="${attr(block.atlas_ref)}" pack="${attr(block.pack_ref)}">`,
      block.content.trimEnd(),
      '</domain>',
    );
  }
  out.push('</context>', '', '<guidelines>', ...GUIDELINES.map((g) => `- ${g}`), '</guidelines>');
  return `${out.join('\n')}\n`;
}
