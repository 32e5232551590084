/**
 * The chain verification banner: valid (event count, head), or the first failure with its index,
 * sequence and type (CRA-SPEC §6.3), and the signed-checkpoint result when the runtime has one.
 */
import type { TraceEvent } from '@cra/core/browser';
import type { Verification } from '../api.js';
import { h, shortId } from '../dom.js';

export type VerificationState =
  { state: 'pending' } | { state: 'done'; result: Verification } | { state: 'failed'; message: string };

function checkpointLine(result: Verification): HTMLElement | null {
  const c = result.checkpoints;
  if (!c) return null;
  return h(
    'p',
    { class: c.valid ? 'ok' : 'bad' },
    c.valid
      ? `✓ Signed checkpoints: ${c.heads_checked ?? 0} head(s) checked in ${c.checkpoints ?? 0} checkpoint(s).`
      : `✗ Signed checkpoints: ${c.failures?.length ?? 0} failure(s) — a head signed earlier is no longer in the chain.`,
  );
}

export function verificationView(v: VerificationState, events: readonly TraceEvent[]): HTMLElement {
  const box = h('div', { class: 'verification', role: 'status', 'aria-live': 'polite', 'data-state': v.state });
  if (v.state === 'pending') {
    box.append(h('p', {}, 'Verifying the hash chain…'));
    return box;
  }
  if (v.state === 'failed') {
    box.dataset.valid = 'unknown';
    box.append(h('p', { class: 'bad' }, `Could not verify: ${v.message}`));
    return box;
  }
  const r = v.result;
  box.dataset.valid = String(r.valid);
  const f = r.first_failure;
  if (f) {
    const at = f.index !== undefined ? events[f.index] : undefined;
    box.classList.add('invalid');
    box.append(
      h(
        'p',
        { class: 'bad verdict' },
        `✗ Chain invalid at event index ${f.index ?? '?'}`,
        at ? ` (sequence ${at.sequence}, ${at.event_type})` : '',
        `: ${f.error ?? 'unknown'}`,
      ),
      h('p', { class: 'detail-line' }, f.message ?? ''),
    );
  } else {
    box.classList.add(r.valid ? 'valid' : 'invalid');
    box.append(
      h(
        'p',
        { class: r.valid ? 'ok verdict' : 'bad verdict' },
        `${r.valid ? '✓ Chain valid' : '✗ Chain invalid'}: ${r.event_count} event(s)`,
        r.head?.event_hash
          ? h(
              'span',
              {},
              `, head #${r.head.sequence ?? '?'} `,
              h('code', { title: r.head.event_hash }, shortId(r.head.event_hash, 12, 6)),
            )
          : '',
      ),
    );
  }
  box.append(checkpointLine(r) ?? '');
  return box;
}

/** The sequence of the event where the chain breaks, for the timeline. */
export function brokenSequence(v: VerificationState, events: readonly TraceEvent[]): number | undefined {
  if (v.state !== 'done' || v.result.first_failure?.index === undefined) return undefined;
  return events[v.result.first_failure.index]?.sequence;
}
