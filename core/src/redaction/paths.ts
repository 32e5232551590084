/**
 * The dotted path language shared by redaction rules (CRA-SPEC §6.5) and the trace diff's
 * ignore lists (§7). A path is segments joined by `.`; array elements are numeric segments
 * (`payload.recipients.0.email`). In a pattern:
 * - `*` matches exactly one segment,
 * - `**` matches any number of segments, zero included,
 * - a segment containing `*` (e.g. `*_at`) matches one segment by glob, `*` being any run.
 */
import { CraError } from '../errors.js';

export type PathMatcher = (segments: readonly string[]) => boolean;

type SegmentPattern =
  { kind: 'literal'; value: string } | { kind: 'one' } | { kind: 'any' } | { kind: 'glob'; re: RegExp };

/** Compiles a dotted path pattern; throws INVALID_REQUEST (naming `field`) when it is malformed. */
export function compilePathPattern(pattern: string, field = '/path'): PathMatcher {
  if (typeof pattern !== 'string' || pattern === '') {
    throw invalid(field, 'a path pattern must be a non-empty string');
  }
  const parts = pattern.split('.');
  if (parts.some((part) => part === '')) {
    throw invalid(field, `path pattern "${pattern}" has an empty segment`);
  }
  const compiled = parts.map(compileSegment);
  const last = compiled[compiled.length - 1] as SegmentPattern;
  // Most patterns end in a literal key: comparing the last segment first rejects almost every path.
  const lastKey = last.kind === 'literal' ? last.value : undefined;
  if (!compiled.some((s) => s.kind === 'any')) {
    const length = compiled.length;
    return (segments) =>
      segments.length === length &&
      (lastKey === undefined || segments[length - 1] === lastKey) &&
      matchFixed(compiled, segments);
  }
  return (segments) =>
    (lastKey === undefined || segments[segments.length - 1] === lastKey) && matchFrom(compiled, 0, segments, 0);
}

/** Compiles a glob where `*` is any run of characters (dots included); the match is anchored. */
export function wildcardRegExp(glob: string): RegExp {
  const source = glob
    .split('*')
    .map((literal) => literal.replace(/[\\^$.+?()[\]{}|]/g, '\\$&'))
    .join('[\\s\\S]*');
  return new RegExp(`^${source}$`);
}

/** Dotted form of a path: `payload.parameters.email`, array indices as numeric segments. */
export function formatPath(segments: readonly string[]): string {
  return segments.join('.');
}

function compileSegment(part: string): SegmentPattern {
  if (part === '**') return { kind: 'any' };
  if (part === '*') return { kind: 'one' };
  if (part.includes('*')) return { kind: 'glob', re: wildcardRegExp(part) };
  return { kind: 'literal', value: part };
}

function matchSegment(pattern: SegmentPattern, segment: string): boolean {
  switch (pattern.kind) {
    case 'literal':
      return pattern.value === segment;
    case 'one':
      return true;
    case 'glob':
      return pattern.re.test(segment);
    case 'any':
      return true;
  }
}

function matchFixed(patterns: readonly SegmentPattern[], segments: readonly string[]): boolean {
  for (let i = 0; i < patterns.length; i++) {
    if (!matchSegment(patterns[i] as SegmentPattern, segments[i] as string)) return false;
  }
  return true;
}

function matchFrom(patterns: readonly SegmentPattern[], p: number, segments: readonly string[], s: number): boolean {
  if (p === patterns.length) return s === segments.length;
  const pattern = patterns[p] as SegmentPattern;
  if (pattern.kind === 'any') {
    // `**` consumes zero or more segments; try the shortest first.
    for (let k = s; k <= segments.length; k++) {
      if (matchFrom(patterns, p + 1, segments, k)) return true;
    }
    return false;
  }
  if (s === segments.length) return false;
  return matchSegment(pattern, segments[s] as string) && matchFrom(patterns, p + 1, segments, s + 1);
}

function invalid(field: string, message: string): CraError {
  return new CraError('INVALID_REQUEST', `${field}: ${message}`, {
    details: { violations: [{ path: field, message }] },
  });
}
