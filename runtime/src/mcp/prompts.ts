/**
 * One prompt per atlas the agent may use: `<atlas name>.resolve` (arguments `goal`, `risk_tier`).
 * Getting it runs a real resolve scoped to that atlas in the MCP session and returns messages
 * built from the resolution: the goal, the decision and the tools now granted, then each context
 * block as an embedded resource.
 */
import {
  mayUseAtlas,
  RISK_TIERS,
  type BundleIndex,
  type CARPResolution,
  type IndexedAtlas,
  type Principal,
} from '@cra/core';
import type { GetPromptResult, Prompt } from '@modelcontextprotocol/sdk/types.js';
import { MIME_TYPES, resourceUri } from './resources.js';

export const PROMPT_SUFFIX = '.resolve';

/** Prompt name → atlas, for the atlases `principal` may use. */
export function promptAtlases(index: BundleIndex, principal: Principal): Map<string, IndexedAtlas> {
  const usable = index.atlases.filter((a) => mayUseAtlas(a, principal) === undefined);
  const names = new Map<string, number>();
  for (const a of usable) names.set(a.atlas.name, (names.get(a.atlas.name) ?? 0) + 1);
  const out = new Map<string, IndexedAtlas>();
  for (const a of usable) {
    // The same name in two namespaces: qualify both with the namespace.
    const base = (names.get(a.atlas.name) ?? 0) > 1 ? `${a.atlas.namespace}.${a.atlas.name}` : a.atlas.name;
    const name = `${base}${PROMPT_SUFFIX}`;
    // Several versions of one atlas: one prompt (a resolve uses the latest version anyway).
    if (!out.has(name)) out.set(name, a);
  }
  return out;
}

export function atlasPrompt(name: string, atlas: IndexedAtlas): Prompt {
  const domains = [...atlas.domains.keys()].join(', ');
  return {
    name,
    title: `Resolve with ${atlas.atlas.name}`,
    description:
      `Resolve a goal against the ${atlas.atlas.name} atlas (${atlas.atlas.ref}; domains ${domains}): ` +
      'returns its context and the actions you may take, which become this session’s tools.',
    arguments: [
      { name: 'goal', description: 'What you are trying to achieve.', required: true },
      { name: 'risk_tier', description: `Highest risk you need: ${RISK_TIERS.join(', ')} (default low).` },
    ],
  };
}

/** The prompt's messages: an overview first, then each context block as an embedded resource. */
export function promptMessages(goal: string, resolution: CARPResolution, toolNames: string[]): GetPromptResult {
  const decision = resolution.decision;
  const lines = [
    `Goal: ${goal}`,
    '',
    `CRA resolved this goal (resolution ${resolution.resolution_id}, decision ${decision.type}).`,
  ];
  if ('reason' in decision && decision.reason) lines.push(`Reason: ${decision.reason}`);
  lines.push(
    toolNames.length > 0
      ? `Tools you may call now: ${toolNames.join(', ')}. Call them directly; CRA checks and records every call.`
      : 'No action is granted for this goal; you may only read the context below.',
  );
  for (const denial of resolution.denied_actions) lines.push(`Not permitted: ${denial.action_type} (${denial.reason})`);
  if (resolution.context_blocks.length > 0) lines.push('', 'Context follows, one block per message.');
  lines.push(`Resolve again before ${resolution.ttl.resolution_expires_at}.`);
  return {
    description: `CRA resolution ${resolution.resolution_id} (${decision.type})`,
    messages: [
      { role: 'user', content: { type: 'text', text: lines.join('\n') } },
      ...resolution.context_blocks.map((block) => ({
        role: 'user' as const,
        content: {
          type: 'resource' as const,
          resource: { uri: resourceUri(block), mimeType: MIME_TYPES[block.content_type], text: block.content },
        },
      })),
    ],
  };
}
