/**
 * Every workspace package's `exports` and `bin` point at files the build produced, and the entry
 * modules load in plain Node (no test-time aliases).
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../harness/runtime-process.js';

interface Manifest {
  name: string;
  exports?: Record<string, { types?: string; default?: string }>;
  bin?: Record<string, string>;
}

describe.each(['core', 'runtime', 'operator'])('package %s', (dir) => {
  const manifest = JSON.parse(readFileSync(`${REPO_ROOT}${dir}/package.json`, 'utf8')) as Manifest;

  it('exports files that exist, and they load', async () => {
    expect(manifest.exports, `${dir}/package.json has no exports`).toBeDefined();
    for (const [subpath, target] of Object.entries(manifest.exports!)) {
      for (const file of [target.types, target.default].filter((f): f is string => f !== undefined)) {
        expect(existsSync(`${REPO_ROOT}${dir}/${file}`), `${manifest.name} ${subpath} → ${file}`).toBe(true);
      }
      const loaded = (await import(`${REPO_ROOT}${dir}/${target.default!}`)) as Record<string, unknown>;
      expect(Object.keys(loaded).length, `${manifest.name} ${subpath} exports nothing`).toBeGreaterThan(0);
    }
  });

  it('has bin entries that exist', () => {
    for (const [name, file] of Object.entries(manifest.bin ?? {}))
      expect(existsSync(`${REPO_ROOT}${dir}/${file}`), `${name} → ${file}`).toBe(true);
  });
});
