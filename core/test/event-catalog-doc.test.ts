/**
 * docs/reference/trace-events.md documents exactly the closed TRACE catalog (CRA-SPEC §6.4):
 * one section and one summary-table row per EVENT_TYPES entry, and no other event type; the
 * summary marks as emitted exactly the types that core or runtime code names.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EVENT_TYPES } from '../src/trace/event-types.js';

const doc = readFileSync(fileURLToPath(new URL('../../docs/reference/trace-events.md', import.meta.url)), 'utf8');
const lines = doc.split('\n');
const catalog: string[] = [...EVENT_TYPES].sort();

/** An event type: dotted lower-case segments, e.g. `carp.action.approval.pending`. */
const TYPE = '([a-z][a-z_]*(?:\\.[a-z][a-z_]*)+)';

const headingTypes = lines
  .map((line) => new RegExp(`^#{2,5}\\s+\`${TYPE}\`\\s*$`).exec(line)?.[1])
  .filter((type): type is string => type !== undefined);

const rowTypes = lines
  .map((line) => new RegExp(`^\\|\\s*\`${TYPE}\`\\s*\\|`).exec(line)?.[1])
  .filter((type): type is string => type !== undefined);

/** Summary rows: type → status (`emitted` or `reserved`). */
const statusOf = new Map(
  lines
    .map((line) => new RegExp(`^\\|\\s*\`${TYPE}\`\\s*\\|[^|]*\\|\\s*(emitted|reserved)\\s*\\|`).exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => [m[1]!, m[2]!] as const),
);

/** The source text of core and runtime (the code that emits events), without the catalog itself. */
function sourceText(): string {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const texts: string[] = [];
  for (const dir of ['core/src', 'runtime/src']) {
    for (const entry of readdirSync(join(root, dir), { recursive: true, encoding: 'utf8' })) {
      if (!entry.endsWith('.ts') || entry.endsWith('event-types.ts')) continue;
      texts.push(readFileSync(join(root, dir, entry), 'utf8'));
    }
  }
  return texts.join('\n');
}

describe('docs/reference/trace-events.md', () => {
  it('has a section for every catalog event type, once', () => {
    expect(catalog.filter((type) => !headingTypes.includes(type))).toEqual([]);
    expect(headingTypes.filter((type, i) => headingTypes.indexOf(type) !== i)).toEqual([]);
  });

  it('has a section for no event type outside the catalog', () => {
    expect(headingTypes.filter((type) => !catalog.includes(type))).toEqual([]);
  });

  it('lists exactly the catalog in its summary table', () => {
    expect([...rowTypes].sort()).toEqual(catalog);
  });

  it('mentions no event type that the catalog lacks', () => {
    // Every backticked name shaped like a catalog type (a known top-level group) must exist.
    const groups = new Set(catalog.map((type) => type.split('.')[0]));
    const mentioned = [...doc.matchAll(new RegExp(`\`${TYPE}\``, 'g'))]
      .map((m) => m[1]!)
      .filter((name) => groups.has(name.split('.')[0]!));
    expect([...new Set(mentioned)].filter((name) => !catalog.includes(name))).toEqual([]);
  });

  it('marks as emitted exactly the types the code emits', () => {
    // A type is emitted when the code names it as a string literal outside the catalog.
    const source = sourceText();
    const emitted = catalog.filter((type) => source.includes(`'${type}'`));
    expect(catalog.filter((type) => !statusOf.has(type))).toEqual([]);
    expect(catalog.filter((type) => statusOf.get(type) === 'emitted')).toEqual(emitted);
  });
});
