/**
 * What every platform adapter needs from a resolution: the tool name of each grant (from the
 * atlas `toolMappings`, CRA-SPEC §1, through `toolNameTable`), the name → grant index the caller
 * keeps, and a description that tells the model the grant's risk and whether it needs approval.
 */
import type { Platform, ToolMappings } from '../atlas/types.js';
import type { ActionDenial, ActionPermission, CARPResolution } from '../carp/types.js';
import type { BundleIndex } from '../resolver/bundle-index.js';
import { toolNameTable, type ToolNameTable } from './tool-names.js';

/** The atlas `toolMappings` of an atlas reference (`<namespace>/<name>@<version>`). */
export type MappingsOf = (atlasRef: string) => ToolMappings | undefined;

/** `MappingsOf` over a loaded bundle. */
export function mappingsFromBundle(index: BundleIndex): MappingsOf {
  const byRef = new Map(index.atlases.map((a) => [a.atlas.ref, a.atlas.spec.toolMappings]));
  return (atlasRef) => byRef.get(atlasRef);
}

/** The tool names of a resolution's grants on `platform`. Same resolution and bundle → same names. */
export function grantNames(
  resolution: Pick<CARPResolution, 'allowed_actions'>,
  platform: Platform,
  mappingsOf: MappingsOf,
): ToolNameTable<ActionPermission> {
  return toolNameTable(resolution.allowed_actions, platform, mappingsOf);
}

/** The names the denied actions would have had: a model asking for one learns why it is refused. */
export function denialNames(
  resolution: Pick<CARPResolution, 'denied_actions'>,
  platform: Platform,
  mappingsOf: MappingsOf,
): ToolNameTable<ActionDenial> {
  return toolNameTable(resolution.denied_actions, platform, mappingsOf);
}

/** Grants in tool-name order, each with its name. */
export function namedGrants(table: ToolNameTable<ActionPermission>): { name: string; grant: ActionPermission }[] {
  return table
    .names()
    .sort()
    .map((name) => ({ name, grant: table.subjectOf(name)! }));
}

export interface ToolNameEntry {
  action_id: string;
  action_type: string;
  atlas_action_id: string;
  atlas_ref: string;
  risk_tier: ActionPermission['risk_tier'];
  requires_approval: boolean;
}

/** `{tool name → grant}` for the caller: the real grant ids, never a name parsed back. */
export function toolNameIndex(table: ToolNameTable<ActionPermission>): Record<string, ToolNameEntry> {
  const out: Record<string, ToolNameEntry> = {};
  for (const { name, grant } of namedGrants(table)) {
    out[name] = {
      action_id: grant.action_id,
      action_type: grant.action_type,
      atlas_action_id: grant.atlas_action_id,
      atlas_ref: grant.atlas_ref,
      risk_tier: grant.risk_tier,
      requires_approval: grant.requires_approval,
    };
  }
  return out;
}

export const APPROVAL_NOTE =
  'Requires human approval: calling it returns status "pending_approval" with an approval_id, and the action runs only after an approver approves it.';

/**
 * The description a model sees for a grant: `[HIGH RISK]`/`[CRITICAL RISK]` first for high and
 * critical grants, then the atlas description, parameter constraints, the approval note and the
 * first example's description.
 */
export function describeGrant(grant: ActionPermission): string {
  const parts: string[] = [];
  const risky = grant.risk_tier === 'high' || grant.risk_tier === 'critical';
  parts.push(`${risky ? `[${grant.risk_tier.toUpperCase()} RISK] ` : ''}${grant.description.trim()}`);
  const constraints = (grant.parameter_constraints ?? []).map(
    (c) =>
      c.message ?? `${c.parameter} ${c.constraint_type}${c.value === undefined ? '' : ` ${JSON.stringify(c.value)}`}`,
  );
  if (constraints.length > 0) parts.push(`Constraints: ${constraints.join('; ')}.`);
  if (grant.requires_approval) parts.push(APPROVAL_NOTE);
  const example = grant.examples?.[0];
  if (example) parts.push(`Example: ${example.description.trim()}`);
  return parts.join('\n');
}

/** A platform-neutral tool choice; each adapter maps it to its platform's shape. */
export type ToolChoice = 'auto' | 'required' | 'none' | { name: string };
