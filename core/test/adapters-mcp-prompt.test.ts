import { describe, expect, it } from 'vitest';
import type { AtlasAction } from '../src/atlas/types.js';
import { grantNames } from '../src/adapters/grants.js';
import { mcpToolResult, mcpTools } from '../src/adapters/mcp.js';
import { anthropicSystemPrompt, markdownInstructions } from '../src/adapters/prompt.js';
import { refusedOutcome } from '../src/adapters/tool-calls.js';
import { createIssue, listLabels, mappings, mergePr, resolution } from './adapters-fixture.js';

const action = (method: 'GET' | 'POST' | 'PUT' | 'DELETE'): AtlasAction => ({
  id: 'x',
  type: 'api.x',
  name: 'x',
  description: 'x',
  domain: 'd',
  riskTier: 'low',
  schema: {},
  executor: { type: 'http', method, url: '/x' },
});

describe('MCP tools', () => {
  it('names from toolMappings (dots allowed), inputSchema, annotations from executors and risk', () => {
    const methods: Record<string, 'GET' | 'POST' | 'PUT'> = {
      'create-issue': 'POST',
      'merge-pr': 'PUT',
      'list-labels': 'GET',
    };
    const tools = mcpTools(resolution(), mappings, { actionOf: (g) => action(methods[g.atlas_action_id]!) });
    expect(tools.map((t) => t.name)).toEqual([
      'api.github.list_labels',
      'api.github.merge_pull_request',
      'github.create_issue',
    ]);
    const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
    expect(byName['api.github.list_labels']!.annotations).toEqual({
      title: 'List labels',
      readOnlyHint: true,
      openWorldHint: true,
    });
    expect(byName['github.create_issue']!.annotations).toEqual({
      title: 'Create issue',
      readOnlyHint: false,
      destructiveHint: false,
      idempotentHint: false,
      openWorldHint: true,
    });
    expect(byName['api.github.merge_pull_request']!.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
      idempotentHint: true,
    });
    expect(byName['github.create_issue']!.inputSchema).toEqual(createIssue.schema);
    expect(byName['api.github.merge_pull_request']!.description).toMatch(/^\[HIGH RISK\]/);
  });

  it('without executor knowledge nothing is read-only; a DELETE is destructive', () => {
    const [tool] = mcpTools(resolution({ allowed_actions: [listLabels] }), mappings);
    expect(tool!.annotations.readOnlyHint).toBe(false);
    const [del] = mcpTools(resolution({ allowed_actions: [listLabels] }), mappings, {
      actionOf: () => action('DELETE'),
    });
    expect(del!.annotations.destructiveHint).toBe(true);
  });

  it('renders a CallToolResult', () => {
    const outcome = refusedOutcome(
      { call_id: '0', name: 'x' },
      { code: 'ACTION_NOT_PERMITTED', message: 'no', retriable: false },
    );
    expect(mcpToolResult(outcome)).toEqual({ content: [{ type: 'text', text: outcome.content }], isError: true });
  });
});

describe('system prompts', () => {
  const r = resolution();

  it('OpenAI/MCP: markdown sections with the decision, context, tools needing approval, denials and guidelines', () => {
    const text = markdownInstructions(r, grantNames(r, 'openai', mappings));
    expect(text).toContain(`Resolution \`${r.resolution_id}\`, decision **allow_with_constraints**`);
    expect(text).toContain('## Context');
    expect(text).toContain(
      '### github.issues\n\n_Source: default/github-ops@1.0.0, pack issues-guide_\n\n# Issues\nUse `Bug:` titles & <labels>.',
    );
    expect(text).toContain('- `github_merge_pr`: Merge pull request (high risk, requires human approval)');
    expect(text).toContain('Tools that need human approval: `github_merge_pr`.');
    expect(text).toContain(
      '- `api.github.update_branch_protection`: critical actions are denied at high risk (remediation: resolve at critical risk)',
    );
    expect(text).toContain('## Guidelines');
    expect(text).toMatch(/pending_approval.*has NOT run/);
    expect(text.indexOf('## Context')).toBeLessThan(text.indexOf('## Tools'));
  });

  it('Anthropic: XML tags, domain wrappers, context verbatim, attributes escaped', () => {
    const text = anthropicSystemPrompt(r, grantNames(r, 'anthropic', mappings));
    expect(text.startsWith('<cra_governance>\n<decision type="allow_with_constraints"')).toBe(true);
    expect(text).toContain('<tool name="github_merge_pr" risk="high" approval="required">Merge pull request</tool>');
    expect(text).toContain('<tools_requiring_approval>github_merge_pr</tools_requiring_approval>');
    expect(text).toContain(
      '<domain name="github.issues" atlas="default/github-ops@1.0.0" pack="issues-guide">\n# Issues\nUse `Bug:` titles & <labels>.\n</domain>',
    );
    expect(text).toContain('<denied_actions>\n<action type="api.github.update_branch_protection">');
    expect(text).toMatch(/<guidelines>\n- Use only the tools provided[\s\S]*audit trail\.\n<\/guidelines>\n$/);
  });

  it('is deterministic and independent of grant order', () => {
    const again = resolution({ allowed_actions: [createIssue, listLabels, mergePr] });
    expect(anthropicSystemPrompt(again, grantNames(again, 'anthropic', mappings))).toBe(
      anthropicSystemPrompt(r, grantNames(r, 'anthropic', mappings)),
    );
    expect(markdownInstructions(again, grantNames(again, 'openai', mappings))).toBe(
      markdownInstructions(r, grantNames(r, 'openai', mappings)),
    );
  });

  it('a deny says no tool may be used', () => {
    const denied = resolution({
      decision: { type: 'deny', reason: 'agent is suspended', policy_refs: [] },
      allowed_actions: [],
      context_blocks: [],
    });
    const text = markdownInstructions(denied, grantNames(denied, 'openai', mappings));
    expect(text).toContain('decision **deny**: The request is denied: agent is suspended. No tool may be used.');
    expect(text).toContain('None: no action is permitted for this task.');
    expect(text).not.toContain('## Context');
  });
});
