/**
 * The runtime bundle written by the operator (a mounted ConfigMap file). Validated with the same
 * compiled schema the operator used; a bad file is reported and the last good bundle keeps serving.
 */
import { readFile } from 'node:fs/promises';
import { validateBundle, type RuntimeBundle } from '@cra/core';
import type { SourceProblem } from './local-sources.js';

/** Served until a first bundle arrives (the runtime is not ready meanwhile). */
export const EMPTY_BUNDLE: RuntimeBundle = {
  apiVersion: 'cra.dev/v1alpha1',
  kind: 'RuntimeBundle',
  version: 'none',
  contentHash: 'sha256:none',
  atlases: [],
  policies: [],
  identities: [],
};

export async function readBundleFile(file: string): Promise<{ bundle: RuntimeBundle; problems: SourceProblem[] }> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (err) {
    return {
      bundle: EMPTY_BUNDLE,
      problems: [{ source: file, path: '', message: `cannot read the bundle: ${(err as Error).message}` }],
    };
  }
  const errors = validateBundle(value);
  if (errors.length > 0) {
    return { bundle: EMPTY_BUNDLE, problems: errors.map((e) => ({ source: file, path: e.path, message: e.message })) };
  }
  return { bundle: value as RuntimeBundle, problems: [] };
}
