import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { decodeBundle, encodeBundle, type BundlePart } from '../src/bundle/transport.js';
import type { RuntimeBundle } from '../src/bundle/types.js';

const bundle = (padding: string): RuntimeBundle =>
  ({
    apiVersion: 'cra.dev/v1alpha1',
    kind: 'RuntimeBundle',
    version: 'v1',
    contentHash: 'sha256:x',
    atlases: [{ ref: 'a/b@1.0.0', padding }],
    policies: [],
    identities: [],
  }) as unknown as RuntimeBundle;

const byNumber = (parts: BundlePart[]) => (n: number) => parts.find((p) => p.suffix === `-${n}`);

describe('bundle transport', () => {
  it('keeps a small bundle as plain JSON in one ConfigMap', () => {
    const parts = encodeBundle(bundle('x'));
    expect(parts).toHaveLength(1);
    expect(Object.keys(parts[0]!.data!)).toEqual(['bundle.json']);
    expect(decodeBundle(parts[0]!, byNumber(parts))).toEqual({ ok: true, bundle: bundle('x') });
  });

  it('gzips a bundle over the limit and still decodes it', () => {
    const b = bundle('compressible '.repeat(20_000));
    const parts = encodeBundle(b, 50_000);
    expect(parts).toHaveLength(1);
    expect(Object.keys(parts[0]!.binaryData!)).toEqual(['bundle.json.gz']);
    expect(decodeBundle(parts[0]!, byNumber(parts))).toEqual({ ok: true, bundle: b });
  });

  it('splits an incompressible bundle into chunks that each respect the limit', () => {
    const b = bundle(randomBytes(200_000).toString('base64'));
    const parts = encodeBundle(b, 60_000);
    expect(parts.length).toBeGreaterThan(3);
    for (const p of parts) expect(JSON.stringify(p).length).toBeLessThan(60_000 * 1.01);
    expect(decodeBundle(parts[0]!, byNumber(parts))).toEqual({ ok: true, bundle: b });
  });

  it('reports incomplete while a chunk is missing or from another version', () => {
    const parts = encodeBundle(bundle(randomBytes(100_000).toString('base64')), 40_000);
    const missing = decodeBundle(parts[0]!, (n) => (n === 2 ? undefined : byNumber(parts)(n)));
    expect(missing).toMatchObject({ ok: false, reason: 'incomplete' });
    const other = encodeBundle(bundle(randomBytes(100_000).toString('base64')), 40_000);
    const mixed = decodeBundle(parts[0]!, (n) => (n === 1 ? byNumber(other)(1) : byNumber(parts)(n)));
    expect(mixed).toMatchObject({ ok: false, reason: 'incomplete' });
  });

  it('reports a ConfigMap without a bundle key as invalid', () => {
    expect(decodeBundle({ data: { other: '1' } }, () => undefined)).toMatchObject({ ok: false, reason: 'invalid' });
  });
});
