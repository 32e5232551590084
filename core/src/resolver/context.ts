/**
 * Context selection (CRA-SPEC §3 step 3): candidates scored by priority plus the overlap of the
 * goal's words with the pack's tags, id and domain; ordered by score, then priority, then id,
 * then atlas; the token budget is filled skipping any pack that does not fit.
 */
import type { IndexedPack } from './bundle-index.js';
import { wordsOf } from './bundle-index.js';

export interface PlannedBlock {
  pack: IndexedPack;
  score: number;
}

export interface ContextPlan {
  blocks: PlannedBlock[];
  skipped: { pack: string; tokens: number; reason: 'budget' }[];
  totalTokens: number;
  budget: number;
}

export function scorePack(pack: IndexedPack, goalWords: ReadonlySet<string>): number {
  let overlap = 0;
  for (const word of pack.words) if (goalWords.has(word)) overlap += 1;
  return pack.priority + overlap;
}

function compare(a: PlannedBlock, b: PlannedBlock): number {
  return (
    b.score - a.score ||
    b.pack.priority - a.pack.priority ||
    (a.pack.id < b.pack.id ? -1 : a.pack.id > b.pack.id ? 1 : 0) ||
    (a.pack.atlasRef < b.pack.atlasRef ? -1 : a.pack.atlasRef > b.pack.atlasRef ? 1 : 0)
  );
}

export function planContext(packs: readonly IndexedPack[], goal: string, budget: number): ContextPlan {
  const goalWords = new Set(wordsOf(goal));
  const ranked = packs.map((pack) => ({ pack, score: scorePack(pack, goalWords) })).sort(compare);
  const blocks: PlannedBlock[] = [];
  const skipped: ContextPlan['skipped'] = [];
  let remaining = budget;
  for (const candidate of ranked) {
    if (candidate.pack.tokens > remaining) {
      skipped.push({
        pack: `${candidate.pack.atlasRef}#${candidate.pack.id}`,
        tokens: candidate.pack.tokens,
        reason: 'budget',
      });
      continue;
    }
    remaining -= candidate.pack.tokens;
    blocks.push(candidate);
  }
  return { blocks, skipped, totalTokens: budget - remaining, budget };
}
