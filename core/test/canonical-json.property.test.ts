/**
 * canonicalJson takes a fast path through JSON.stringify of a key-sorted copy; the `canonicalize`
 * package (a JCS implementation that serialises member by member) is the reference it must match
 * byte for byte, and the RFC 8785 examples pin both.
 */
import canonicalize from 'canonicalize';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canonicalJson } from '../src/trace/canonical.js';

const keyArb = fc.oneof(
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.string({ unit: 'binary', maxLength: 4 }),
  fc.constantFrom('0', '1', '10', '9', '01', '-1', '1.5', '4294967295', 'a', 'B', '€', '\u0080', '\ud83d\ude00'),
);
const valueArb = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'grapheme', maxLength: 12 }),
    fc.string({ unit: 'binary', maxLength: 6 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.integer(),
    fc.constantFrom(0, -0, 1e21, 1e-7, 5e-324, Number.MAX_VALUE, 0.1 + 0.2),
    fc.boolean(),
    fc.constant(null),
    fc.constant(undefined),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(keyArb, tie('value'), { maxKeys: 5 }),
  ),
})).value;

describe('canonicalJson', () => {
  it('matches the reference JCS implementation on any JSON-ish value', () => {
    fc.assert(
      fc.property(valueArb, (value) => {
        let expected: string | undefined;
        let refused = false;
        try {
          expected = canonicalize(value);
        } catch {
          refused = true;
        }
        if (refused || expected === undefined) {
          expect(() => canonicalJson(value)).toThrow();
        } else {
          expect(canonicalJson(value)).toBe(expected);
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('serialises the RFC 8785 §3.2.3 example exactly', () => {
    const value = {
      numbers: [333333333.3333333, 1e30, 4.5, 2e-3, 0.000000000000000000000000001],
      string: '\u20ac$\u000F\u000aA\'\u0042\u0022\u005c\\"/',
      literals: [null, true, false],
    };
    expect(canonicalJson(value)).toBe(
      '{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],' +
        '"string":"€$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}',
    );
  });

  it('sorts members by UTF-16 code units, index-like keys included', () => {
    expect(canonicalJson({ b: 1, a: 2, 10: 'x', 9: 'y', '\u20ac': 3, '\ud83d\ude00': 4, '\ufb33': 5 })).toBe(
      '{"10":"x","9":"y","a":2,"b":1,"\u20ac":3,"\ud83d\ude00":4,"\ufb33":5}',
    );
    // A literal's `__proto__:` sets the prototype; a computed or parsed key is an own member.
    expect(canonicalJson({ __proto__: null, z: 0 })).toBe('{"z":0}');
    expect(canonicalJson({ ['__proto__']: 1, z: 0 } as Record<string, number>)).toBe('{"__proto__":1,"z":0}');
    expect(canonicalJson(JSON.parse('{"__proto__":1,"z":0}'))).toBe('{"__proto__":1,"z":0}');
  });

  it('refuses what JSON would carry lossily', () => {
    expect(() => canonicalJson({ n: NaN })).toThrow();
    expect(() => canonicalJson([Infinity])).toThrow();
    expect(() => canonicalJson({ s: '\ud800' })).toThrow();
    expect(() => canonicalJson({ ['\udc00']: 1 })).toThrow();
    expect(() => canonicalJson({ big: 1n })).toThrow();
    const cycle: Record<string, unknown> = {};
    cycle['self'] = { cycle };
    expect(() => canonicalJson(cycle)).toThrow();
    expect(() => canonicalJson(undefined)).toThrow(TypeError);
  });

  it('takes toJSON, dates and deep nesting through the reference path', () => {
    const when = new Date(0);
    expect(canonicalJson({ when, b: { toJSON: () => ({ y: 1, x: 2 }) } })).toBe(
      '{"b":{"x":2,"y":1},"when":"1970-01-01T00:00:00.000Z"}',
    );
    let deep: unknown = 'leaf';
    for (let i = 0; i < 100; i++) deep = { [`k${i}`]: deep };
    expect(canonicalJson(deep)).toBe(canonicalize(deep));
  });
});
