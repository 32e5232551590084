/** A hand-built resolution for the adapter translation tests (no resolver involved). */
import type { ActionPermission, CARPResolution } from '../src/carp/types.js';
import type { MappingsOf } from '../src/adapters/grants.js';

export const ATLAS = 'default/github-ops@1.0.0';

export function grant(
  overrides: Partial<ActionPermission> & Pick<ActionPermission, 'atlas_action_id' | 'action_type'>,
): ActionPermission {
  return {
    action_id: `018f6b1c-0000-7000-8000-${overrides.atlas_action_id.length.toString(16).padStart(12, '0')}`,
    name: overrides.atlas_action_id,
    description: `Does ${overrides.atlas_action_id}.`,
    schema: { type: 'object', properties: {}, additionalProperties: false },
    constraints: [],
    requires_approval: false,
    risk_tier: 'low',
    atlas_ref: ATLAS,
    domain: 'github.issues',
    evidence_refs: [],
    valid_until: '2030-01-01T00:05:00.000Z',
    ...overrides,
  };
}

export const createIssue = grant({
  action_id: '018f6b1c-0000-7000-8000-000000000001',
  atlas_action_id: 'create-issue',
  action_type: 'api.github.create_issue',
  name: 'Create issue',
  description: 'Opens a new issue in a repository.',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['owner', 'repo', 'title'],
    properties: {
      owner: { type: 'string' },
      repo: { type: 'string' },
      title: { type: 'string', minLength: 1 },
      labels: { type: 'array', uniqueItems: true, items: { type: 'string' } },
    },
  },
  examples: [{ description: 'Report a login bug', parameters: { owner: 'acme', repo: 'app', title: 'Bug: login' } }],
});

export const mergePr = grant({
  action_id: '018f6b1c-0000-7000-8000-000000000002',
  atlas_action_id: 'merge-pr',
  action_type: 'api.github.merge_pull_request',
  name: 'Merge pull request',
  description: 'Merges a pull request.',
  risk_tier: 'high',
  requires_approval: true,
  domain: 'github.pulls',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['owner', 'repo', 'pull_number', 'merge_method'],
    properties: {
      owner: { type: 'string', pattern: '^[a-z]+$' },
      repo: { type: 'string' },
      pull_number: { type: 'integer', minimum: 1 },
      merge_method: { type: 'string', enum: ['squash', 'merge', 'rebase'] },
    },
  },
});

export const listLabels = grant({
  action_id: '018f6b1c-0000-7000-8000-000000000003',
  atlas_action_id: 'list-labels',
  action_type: 'api.github.list_labels',
  name: 'List labels',
  description: 'Lists the labels of a repository.',
  schema: {
    type: 'object',
    additionalProperties: false,
    required: ['owner', 'repo'],
    properties: { owner: { type: 'string' }, repo: { type: 'string' } },
  },
});

export function resolution(overrides: Partial<CARPResolution> = {}): CARPResolution {
  return {
    carp_version: '1.0',
    request_id: '018f6b1c-0000-7000-8000-0000000000a0',
    resolution_id: '018f6b1c-0000-7000-8000-0000000000a1',
    session_id: '018f6b1c-0000-7000-8000-0000000000a2',
    timestamp: '2030-01-01T00:00:00.000Z',
    bundle_version: 'v1',
    decision: {
      type: 'allow_with_constraints',
      constraints: [
        { id: 'c1', type: 'approval_required', description: 'merges need approval', params: {}, enforcement: 'hard' },
      ],
    },
    context_blocks: [
      {
        block_id: '018f6b1c-0000-7000-8000-0000000000b1',
        content_hash: 'x',
        atlas_ref: ATLAS,
        pack_ref: 'issues-guide',
        domain: 'github.issues',
        content_type: 'markdown',
        content: '# Issues\nUse `Bug:` titles & <labels>.\n',
        token_count: 10,
        ttl_seconds: 600,
        evidence_refs: [],
        tags: [],
        priority: 10,
      },
      {
        block_id: '018f6b1c-0000-7000-8000-0000000000b2',
        content_hash: 'y',
        atlas_ref: ATLAS,
        pack_ref: 'pr-guide',
        domain: 'github.pulls',
        content_type: 'markdown',
        content: '# Pull requests\nSquash-merge.',
        token_count: 10,
        ttl_seconds: 600,
        evidence_refs: [],
        tags: [],
        priority: 10,
      },
    ],
    allowed_actions: [mergePr, createIssue, listLabels],
    denied_actions: [
      {
        action_type: 'api.github.update_branch_protection',
        atlas_action_id: 'update-branch-protection',
        atlas_ref: ATLAS,
        reason: 'critical actions are denied at high risk',
        policy_refs: ['github-ops#deny-critical'],
        permanent: false,
        remediation: 'resolve at critical risk',
      },
    ],
    policies_applied: [],
    evidence: [],
    ttl: {
      context_expires_at: '2030-01-01T00:05:00.000Z',
      resolution_expires_at: '2030-01-01T00:05:00.000Z',
      refresh_hint_seconds: 240,
    },
    telemetry_link: { trace_id: '0'.repeat(31) + '1', span_id: '0'.repeat(15) + '1', events_emitted: 10 },
    ...overrides,
  };
}

/** github-ops mappings as in atlases/github-ops (list-labels has none: its name is derived). */
export const mappings: MappingsOf = (ref) =>
  ref === ATLAS
    ? {
        openai: {
          'create-issue': 'github_create_issue',
          'merge-pr': 'github_merge_pr',
          'update-branch-protection': 'github_update_branch_protection',
        },
        anthropic: { 'create-issue': 'github_create_issue', 'merge-pr': 'github_merge_pr' },
        mcp: { 'create-issue': 'github.create_issue' },
      }
    : undefined;
