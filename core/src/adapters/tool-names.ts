/**
 * Tool names per platform (CRA-SPEC §1 `toolMappings`). A grant's tool name is the atlas's
 * mapping for its action on that platform; without one it is derived from the action type,
 * made valid for the platform's rules. Names are looked up in a table built per resolution,
 * never parsed back (v0.1's lossy `api.` + segment munging is gone). Collisions resolve
 * deterministically: the first grant in (atlas ref, action id) order keeps the name, later ones
 * get `_2`, `_3`…
 */
import type { Platform, ToolMappings } from '../atlas/types.js';
import { sha256Hex } from '../hash.js';

export const TOOL_NAME_RULES: Record<Platform, { pattern: RegExp; maxLength: number; invalid: RegExp }> = {
  openai: { pattern: /^[a-zA-Z0-9_-]{1,64}$/, maxLength: 64, invalid: /[^a-zA-Z0-9_-]/g },
  anthropic: { pattern: /^[a-zA-Z0-9_-]{1,64}$/, maxLength: 64, invalid: /[^a-zA-Z0-9_-]/g },
  mcp: { pattern: /^[a-zA-Z0-9_.-]{1,128}$/, maxLength: 128, invalid: /[^a-zA-Z0-9_.-]/g },
};

export interface ToolSubject {
  atlas_ref: string;
  atlas_action_id: string;
  action_type: string;
}

/** Valid for `platform`: invalid characters become `_`; too long → shortened with a hash suffix. */
export function deriveToolName(actionType: string, platform: Platform): string {
  const rules = TOOL_NAME_RULES[platform];
  const cleaned = actionType.replace(rules.invalid, '_') || 'tool';
  if (cleaned.length <= rules.maxLength) return cleaned;
  const suffix = `_${sha256Hex(actionType).slice(0, 8)}`;
  return `${cleaned.slice(0, rules.maxLength - suffix.length)}${suffix}`;
}

export interface ToolNameTable<T extends ToolSubject> {
  nameOf(subject: T): string;
  /** The subject a tool name stands for, or undefined for a name this table never issued. */
  subjectOf(name: string): T | undefined;
  names(): string[];
}

export function toolNameTable<T extends ToolSubject>(
  subjects: readonly T[],
  platform: Platform,
  mappingsOf: (atlasRef: string) => ToolMappings | undefined,
): ToolNameTable<T> {
  const rules = TOOL_NAME_RULES[platform];
  const ordered = [...subjects].sort(
    (a, b) =>
      (a.atlas_ref < b.atlas_ref ? -1 : a.atlas_ref > b.atlas_ref ? 1 : 0) ||
      (a.atlas_action_id < b.atlas_action_id ? -1 : a.atlas_action_id > b.atlas_action_id ? 1 : 0),
  );
  const byName = new Map<string, T>();
  const bySubject = new Map<T, string>();
  for (const subject of ordered) {
    const mapped = mappingsOf(subject.atlas_ref)?.[platform]?.[subject.atlas_action_id];
    const wanted =
      mapped !== undefined && rules.pattern.test(mapped) ? mapped : deriveToolName(subject.action_type, platform);
    let name = wanted;
    for (let n = 2; byName.has(name); n++) {
      const suffix = `_${n}`;
      name = `${wanted.slice(0, rules.maxLength - suffix.length)}${suffix}`;
    }
    byName.set(name, subject);
    bySubject.set(subject, name);
  }
  return {
    nameOf: (subject) => {
      const name = bySubject.get(subject);
      if (name === undefined) throw new Error(`no tool name for ${subject.atlas_ref}#${subject.atlas_action_id}`);
      return name;
    },
    subjectOf: (name) => byName.get(name),
    names: () => [...byName.keys()],
  };
}
