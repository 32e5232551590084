import { indexBundle, type BundleIndex, type RuntimeBundle } from '@cra/core';

export type BundleListener = (next: BundleIndex, previous: BundleIndex | undefined) => void;

/**
 * The bundle being served. A new version is indexed first and then swapped in with one
 * assignment, so a request sees either the old bundle or the new one, never a mix.
 */
export class BundleHolder {
  private index: BundleIndex | undefined;
  private readonly listeners = new Set<BundleListener>();

  constructor(bundle?: RuntimeBundle) {
    if (bundle) this.index = indexBundle(bundle);
  }

  get current(): BundleIndex {
    if (!this.index) throw new Error('no bundle loaded');
    return this.index;
  }

  get loaded(): boolean {
    return this.index !== undefined;
  }

  /** Returns false (and changes nothing) when the version is already served. */
  swap(bundle: RuntimeBundle): boolean {
    if (this.index?.bundle.contentHash === bundle.contentHash) return false;
    const previous = this.index;
    const next = indexBundle(bundle);
    this.index = next;
    for (const listener of this.listeners) listener(next, previous);
    return true;
  }

  onSwap(listener: BundleListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
