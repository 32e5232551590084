/**
 * MCP tool definitions: CRA's own tools (`cra_resolve`, `cra_execute`, `cra_validate`) and the
 * grants of a resolution as first-class tools. Grant tools are core's platform-neutral MCP
 * definitions (`mcpTools`, `core/src/adapters/mcp.ts`): names from the atlas `toolMappings` for
 * `mcp` through the resolution's tool-name table (looked up, never parsed back), the grant's
 * schema as input schema, annotations from risk tier and executor method.
 */
import {
  actionsFromBundle,
  carpRequestSchema,
  denialNames,
  grantNames,
  mappingsFromBundle,
  mcpTools,
  RISK_TIERS,
  type ActionDenial,
  type ActionPermission,
  type BundleIndex,
  type CARPResolution,
  type MappingsOf,
  type ToolNameTable,
} from '@cra/core';
import type { Tool } from '@modelcontextprotocol/sdk/types.js';

export const CRA_TOOL = {
  resolve: 'cra_resolve',
  execute: 'cra_execute',
  validate: 'cra_validate',
} as const;
export const CRA_TOOL_NAMES: ReadonlySet<string> = new Set(Object.values(CRA_TOOL));

/** `_meta` keys CRA puts on tools and reads from calls. */
export const META = {
  actionType: 'cra.dev/action_type',
  atlasRef: 'cra.dev/atlas_ref',
  atlasActionId: 'cra.dev/atlas_action_id',
  riskTier: 'cra.dev/risk_tier',
  requiresApproval: 'cra.dev/requires_approval',
  /** On `tools/call` params: the execute's `idempotency_key`. */
  idempotencyKey: 'cra.dev/idempotency_key',
} as const;

const task = carpRequestSchema.properties.task.properties;
const scope = carpRequestSchema.properties.scope;

/**
 * A refused call's structured content (`isError: true`). Clients validate structured content
 * against the output schema even on errors, so every output schema admits this shape too.
 */
export const toolErrorSchema = {
  type: 'object',
  required: ['error', 'retry'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: {
        code: { type: 'string' },
        message: { type: 'string' },
        details: { type: 'object' },
        violations: { type: 'array' },
      },
    },
    retry: { type: 'object', required: ['retriable'], properties: { retriable: { type: 'boolean' } } },
  },
} as const;

/** `type: object` at the root (MCP requires it), then the success shape or a refusal. */
function outputSchema(success: Record<string, unknown>): Tool['outputSchema'] {
  return { type: 'object', anyOf: [success, toolErrorSchema] } as Tool['outputSchema'];
}

const executionResultSchema = outputSchema({
  type: 'object',
  required: ['status', 'execution_id', 'resolution_id', 'action_id'],
  properties: {
    status: { type: 'string' },
    execution_id: { type: 'string' },
    resolution_id: { type: 'string' },
    action_id: { type: 'string' },
    approval_id: { type: 'string' },
    result: { type: 'object' },
    error: { type: 'object' },
  },
});

const callTarget = {
  resolution_id: {
    type: 'string',
    description: "The resolution that granted the action; default: this session's current resolution.",
  },
  tool: { type: 'string', description: 'The grant by its MCP tool name (as in tools/list).' },
  action_type: { type: 'string', description: 'The grant by its action type, e.g. api.github.create_issue.' },
  action_id: { type: 'string', description: 'The grant by its grant id (allowed_actions[].action_id).' },
  parameters: { type: 'object', additionalProperties: true, description: "The action's parameters." },
} as const;

/** CRA's own tools; always listed. */
export function craTools(): Tool[] {
  return [
    {
      name: CRA_TOOL.resolve,
      title: 'Resolve context and permitted actions',
      description:
        'Ask CRA what context you may see and which actions you may take for a goal. The answer becomes this ' +
        "session's current resolution: its grants appear as tools (tools/list) and its context blocks as " +
        'resources (resources/list). Resolve again when the goal changes or the resolution expires.',
      inputSchema: {
        type: 'object',
        additionalProperties: false,
        required: ['goal'],
        properties: {
          goal: { ...task.goal, description: 'What you are trying to achieve, in plain words.' },
          risk_tier: {
            type: 'string',
            enum: [...RISK_TIERS],
            description: 'The highest risk you need; actions above it are not granted (default low).',
          },
          context_hints: { ...task.context_hints, description: 'Domains to narrow the answer to, e.g. github.issues.' },
          scope: { ...scope, description: 'Narrow by atlases, domains or action types; token and grant budgets.' },
        },
      },
      outputSchema: outputSchema({
        type: 'object',
        required: ['summary', 'resolution'],
        properties: { summary: { type: 'object' }, resolution: { type: 'object' } },
      }),
      annotations: {
        title: 'Resolve context and permitted actions',
        readOnlyHint: true,
        idempotentHint: false,
        openWorldHint: false,
      },
    },
    {
      name: CRA_TOOL.execute,
      title: 'Execute a granted action',
      description:
        'Run an action a resolution granted, through CRA (which checks it again, records it and calls the ' +
        'target system). Name the grant by tool name, action_type or action_id; parameters follow its schema. ' +
        'Prefer calling the granted tool itself.',
      inputSchema: {
        type: 'object',
        additionalProperties: false,
        required: ['parameters'],
        properties: callTarget,
      },
      outputSchema: executionResultSchema,
      annotations: {
        title: 'Execute a granted action',
        readOnlyHint: false,
        destructiveHint: true,
        idempotentHint: false,
        openWorldHint: true,
      },
    },
    {
      name: CRA_TOOL.validate,
      title: 'Validate an action without running it',
      description:
        'Check what executing a granted action with these parameters would do (allow, deny, requires_approval, ' +
        'rate_limited) and list every violation, without running it.',
      inputSchema: {
        type: 'object',
        additionalProperties: false,
        required: ['parameters'],
        properties: callTarget,
      },
      outputSchema: outputSchema({
        type: 'object',
        required: ['valid', 'decision', 'violations'],
        properties: { valid: { type: 'boolean' }, decision: { type: 'string' }, violations: { type: 'array' } },
      }),
      annotations: {
        title: 'Validate an action without running it',
        readOnlyHint: true,
        idempotentHint: true,
        openWorldHint: false,
      },
    },
  ];
}

const mappingsByIndex = new WeakMap<BundleIndex, MappingsOf>();
const actionsByIndex = new WeakMap<BundleIndex, ReturnType<typeof actionsFromBundle>>();

/** The atlases' `toolMappings` of a bundle (built once per bundle). */
export function mappingsOf(index: BundleIndex): MappingsOf {
  let mappings = mappingsByIndex.get(index);
  if (!mappings) {
    mappings = mappingsFromBundle(index);
    mappingsByIndex.set(index, mappings);
  }
  return mappings;
}

function actionsOf(index: BundleIndex): ReturnType<typeof actionsFromBundle> {
  let actions = actionsByIndex.get(index);
  if (!actions) {
    actions = actionsFromBundle(index);
    actionsByIndex.set(index, actions);
  }
  return actions;
}

export interface GrantTools {
  /** Name → grant, built once per resolution. */
  table: ToolNameTable<ActionPermission>;
  /** Names the denied actions would have had, to explain a refusal. */
  denials: ToolNameTable<ActionDenial>;
}

/** The tool-name tables of a resolution (the bundle gives the atlases' `toolMappings`). */
export function grantTables(resolution: CARPResolution, index: BundleIndex): GrantTools {
  const mappings = mappingsOf(index);
  return {
    table: grantNames(resolution, 'mcp', mappings),
    denials: denialNames(resolution, 'mcp', mappings),
  };
}

/**
 * The grants of a resolution as tools, in name order: core's `mcpTools` (name, title,
 * description, the grant's schema, annotations from risk tier and executor) plus the output
 * schema and CRA's `_meta`. A grant whose name is one of CRA's own tools is left out (it stays
 * callable through `cra_execute`).
 */
export function grantTools(resolution: CARPResolution, index: BundleIndex, tables: GrantTools): Tool[] {
  const tools: Tool[] = [];
  for (const tool of mcpTools(resolution, mappingsOf(index), { actionOf: actionsOf(index) })) {
    const grant = tables.table.subjectOf(tool.name);
    if (CRA_TOOL_NAMES.has(tool.name) || !grant) continue;
    tools.push({
      ...tool,
      // MCP requires an object schema at the root; atlas action schemas are object schemas.
      inputSchema: { ...tool.inputSchema, type: 'object' } as Tool['inputSchema'],
      outputSchema: executionResultSchema,
      _meta: {
        [META.actionType]: grant.action_type,
        [META.atlasRef]: grant.atlas_ref,
        [META.atlasActionId]: grant.atlas_action_id,
        [META.riskTier]: grant.risk_tier,
        [META.requiresApproval]: grant.requires_approval,
      },
    });
  }
  return tools;
}
