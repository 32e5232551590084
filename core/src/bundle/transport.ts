/**
 * How a runtime bundle travels in ConfigMaps (the operator writes, the runtime reads; both use
 * these functions). Kubernetes objects are limited to 1 MiB, so:
 *
 * - small bundles: one ConfigMap, `data["bundle.json"]`;
 * - larger ones: gzip, `binaryData["bundle.json.gz"]`;
 * - larger still: the gzip is split into chunk ConfigMaps `<name>-<n>`, and the main ConfigMap
 *   holds only `data["bundle.manifest.json"]` {version, contentHash, sha256, chunks}.
 *
 * The reader verifies the reassembled bytes against the manifest before trusting them, so a
 * reader that sees chunks of two different versions mid-update waits for a consistent set.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import type { RuntimeBundle } from './types.js';

export const BUNDLE_KEY = 'bundle.json';
export const BUNDLE_GZIP_KEY = 'bundle.json.gz';
export const BUNDLE_MANIFEST_KEY = 'bundle.manifest.json';

/** Stay well below the 1 MiB object limit (metadata, base64 growth of binaryData). */
export const DEFAULT_MAX_OBJECT_BYTES = 700_000;

export interface BundlePart {
  /** Suffix for the ConfigMap name: '' for the main one, `-1`, `-2`… for chunks. */
  suffix: string;
  data?: Record<string, string>;
  /** base64 values, as in a ConfigMap's binaryData. */
  binaryData?: Record<string, string>;
}

export interface BundleManifest {
  version: string;
  contentHash: string;
  /** SHA-256 (hex) of the gzip bytes. */
  sha256: string;
  chunks: number;
}

export function encodeBundle(bundle: RuntimeBundle, maxObjectBytes = DEFAULT_MAX_OBJECT_BYTES): BundlePart[] {
  const json = JSON.stringify(bundle);
  if (Buffer.byteLength(json, 'utf8') <= maxObjectBytes) return [{ suffix: '', data: { [BUNDLE_KEY]: json } }];
  const gz = gzipSync(json, { level: 9 });
  // base64 grows by 4/3.
  const perChunk = Math.floor((maxObjectBytes * 3) / 4);
  if (gz.length <= perChunk) return [{ suffix: '', binaryData: { [BUNDLE_GZIP_KEY]: gz.toString('base64') } }];
  const chunks: BundlePart[] = [];
  for (let offset = 0, n = 1; offset < gz.length; offset += perChunk, n++) {
    chunks.push({
      suffix: `-${n}`,
      binaryData: { [BUNDLE_GZIP_KEY]: gz.subarray(offset, offset + perChunk).toString('base64') },
    });
  }
  const manifest: BundleManifest = {
    version: bundle.version,
    contentHash: bundle.contentHash,
    sha256: createHash('sha256').update(gz).digest('hex'),
    chunks: chunks.length,
  };
  return [{ suffix: '', data: { [BUNDLE_MANIFEST_KEY]: JSON.stringify(manifest) } }, ...chunks];
}

export type DecodeResult =
  { ok: true; bundle: unknown } | { ok: false; reason: 'incomplete' | 'invalid'; message: string };

/**
 * Reassembles a bundle from the main part and (when chunked) `chunk(n)` for n = 1…chunks.
 * `incomplete` means "not all chunks of this version are there yet": keep the bundle you have.
 */
export function decodeBundle(
  main: { data?: Record<string, string>; binaryData?: Record<string, string> },
  chunk: (n: number) => { binaryData?: Record<string, string> } | undefined,
): DecodeResult {
  try {
    const plain = main.data?.[BUNDLE_KEY];
    if (plain !== undefined) return { ok: true, bundle: JSON.parse(plain) };
    const gz = main.binaryData?.[BUNDLE_GZIP_KEY];
    if (gz !== undefined)
      return { ok: true, bundle: JSON.parse(gunzipSync(Buffer.from(gz, 'base64')).toString('utf8')) };
    const manifestText = main.data?.[BUNDLE_MANIFEST_KEY];
    if (manifestText === undefined) {
      return {
        ok: false,
        reason: 'invalid',
        message: `no ${BUNDLE_KEY}, ${BUNDLE_GZIP_KEY} or ${BUNDLE_MANIFEST_KEY} key`,
      };
    }
    const manifest = JSON.parse(manifestText) as BundleManifest;
    const parts: Buffer[] = [];
    for (let n = 1; n <= manifest.chunks; n++) {
      const part = chunk(n)?.binaryData?.[BUNDLE_GZIP_KEY];
      if (part === undefined)
        return { ok: false, reason: 'incomplete', message: `chunk ${n} of ${manifest.chunks} is missing` };
      parts.push(Buffer.from(part, 'base64'));
    }
    const bytes = Buffer.concat(parts);
    if (createHash('sha256').update(bytes).digest('hex') !== manifest.sha256) {
      return {
        ok: false,
        reason: 'incomplete',
        message: 'chunks belong to different bundle versions (update in progress)',
      };
    }
    return { ok: true, bundle: JSON.parse(gunzipSync(bytes).toString('utf8')) };
  } catch (err) {
    return { ok: false, reason: 'invalid', message: (err as Error).message };
  }
}
