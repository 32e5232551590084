/**
 * MCP tool definitions for a resolution's grants (`tools/list`), and tool results
 * (`tools/call`). Names come from the atlas `toolMappings` for `mcp` (dots allowed, 128
 * characters). Annotations are hints for the client (MCP `ToolAnnotations`):
 * - `readOnlyHint: true` only for actions that cannot change anything: an `http` executor with
 *   method GET (the caller's `readOnly` predicate decides; `readOnlyFromBundle` reads executors);
 * - `destructiveHint: true` for high and critical grants and for DELETE executors, `false`
 *   otherwise (MCP defaults it to true, so it is always set when the tool is not read-only);
 * - `idempotentHint: true` for PUT and DELETE executors (RFC 9110 §9.2.2);
 * - `openWorldHint: true`: every executor reaches a system outside CRA.
 */
import type { AtlasAction } from '../atlas/types.js';
import type { ActionPermission, CARPResolution } from '../carp/types.js';
import type { BundleIndex } from '../resolver/bundle-index.js';
import { describeGrant, grantNames, namedGrants, type MappingsOf } from './grants.js';
import type { ToolOutcome } from './tool-calls.js';

export interface McpToolAnnotations {
  title: string;
  readOnlyHint: boolean;
  destructiveHint?: boolean;
  idempotentHint?: boolean;
  openWorldHint: boolean;
}

export interface McpTool {
  name: string;
  title: string;
  description: string;
  inputSchema: Record<string, unknown>;
  annotations: McpToolAnnotations;
}

export interface McpToolsOptions {
  /** The atlas action behind a grant (for its executor); `actionsFromBundle` builds one. */
  actionOf?: (grant: ActionPermission) => AtlasAction | undefined;
}

/** Looks a grant's atlas action up in a loaded bundle. */
export function actionsFromBundle(index: BundleIndex): (grant: ActionPermission) => AtlasAction | undefined {
  const byRef = new Map(index.atlases.map((a) => [a.atlas.ref, a.actions]));
  return (grant) => byRef.get(grant.atlas_ref)?.find((action) => action.id === grant.atlas_action_id);
}

function httpMethod(action: AtlasAction | undefined): string | undefined {
  return action?.executor?.type === 'http' ? action.executor.method : undefined;
}

export function mcpAnnotations(grant: ActionPermission, action: AtlasAction | undefined): McpToolAnnotations {
  const method = httpMethod(action);
  const readOnly = method === 'GET';
  if (readOnly) return { title: grant.name, readOnlyHint: true, openWorldHint: true };
  return {
    title: grant.name,
    readOnlyHint: false,
    destructiveHint: grant.risk_tier === 'high' || grant.risk_tier === 'critical' || method === 'DELETE',
    idempotentHint: method === 'PUT' || method === 'DELETE',
    openWorldHint: true,
  };
}

/** One MCP tool per grant, in tool-name order. */
export function mcpTools(resolution: CARPResolution, mappingsOf: MappingsOf, options: McpToolsOptions = {}): McpTool[] {
  return namedGrants(grantNames(resolution, 'mcp', mappingsOf)).map(({ name, grant }) => ({
    name,
    title: grant.name,
    description: describeGrant(grant),
    inputSchema: structuredClone(grant.schema),
    annotations: mcpAnnotations(grant, options.actionOf?.(grant)),
  }));
}

export interface McpToolResult {
  content: { type: 'text'; text: string }[];
  isError: boolean;
}

/** A `tools/call` result: the outcome's JSON text as one text block. */
export function mcpToolResult(outcome: ToolOutcome): McpToolResult {
  return { content: [{ type: 'text', text: outcome.content }], isError: outcome.is_error };
}
