// The YAML writer behind crds/*.yaml and atlases/*/resource.yaml: whatever JSON goes in comes
// back unchanged from YAML 1.2 and YAML 1.1 readers, and the output is stable and readable.
import fc from 'fast-check';
import { parse, parseAllDocuments } from 'yaml';
import { describe, expect, it } from 'vitest';
import { toYaml, toYamlDocuments } from '../src/crds/yaml.js';

const asJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

function readBack(text: string, version: '1.1' | '1.2'): unknown {
  return parse(text, { version, uniqueKeys: true, prettyErrors: false, maxAliasCount: -1 });
}

describe('toYaml', () => {
  it('round-trips any JSON value through YAML 1.2 and 1.1 readers', () => {
    const values = fc.oneof(
      fc.jsonValue(),
      fc.jsonValue({ stringUnit: 'binary' }),
      fc.jsonValue({ stringUnit: 'grapheme' }),
    );
    fc.assert(
      fc.property(values, (value) => {
        const text = toYaml(value);
        expect(readBack(text, '1.2')).toEqual(asJson(value));
        expect(readBack(text, '1.1')).toEqual(asJson(value));
      }),
      { numRuns: 300 },
    );
  });

  it('round-trips awkward strings as values and keys', () => {
    const strings = [
      '',
      ' ',
      'yes',
      'No',
      'on',
      'OFF',
      'y',
      'null',
      'Null',
      '~',
      'true',
      '1.0.0',
      '0x1F',
      '012',
      '1e3',
      '.inf',
      '- item',
      '? key',
      ': colon',
      'a: b',
      'a #b',
      '#comment',
      "it's",
      '"quoted"',
      'both \' and "',
      'back\\slash',
      'tab\there',
      'trailing space ',
      '\u00e9t\u00e9 \u2014 \ud83d\ude80',
      'line\u2028separator',
      'bom\ufeff',
      'del\u007f',
      'multi\nline',
      'multi\nline\n',
      'multi\nline\n\n',
      '\nleading newline',
      '  indented\nsecond',
      'first\n  indented second\n',
      'blank\n   \nline',
      'crlf\r\nline',
      'a\n\nb\n',
      '---\ndocument marker',
      '...\n---',
      '|\n>',
      '${{ template }}',
      '*alias',
      '&anchor',
      '!tag',
      '%directive',
      '@at',
      '`tick`',
      '[flow]',
      '{flow}',
      'a, b',
      '<<',
      'E0',
      'e+5x',
    ];
    for (const s of strings) {
      const doc = { [s]: s, list: [s, { [s]: [s] }] };
      expect(readBack(toYaml(doc), '1.2'), JSON.stringify(s)).toEqual(doc);
      expect(readBack(toYaml(doc), '1.1'), JSON.stringify(s)).toEqual(doc);
      expect(readBack(toYaml(s), '1.2'), JSON.stringify(s)).toEqual(s);
    }
  });

  it('writes block style with readable scalars', () => {
    expect(
      toYaml({
        name: 'github-ops',
        version: '1.0.0',
        enabled: true,
        count: 3,
        nothing: null,
        skipped: undefined,
        empty: {},
        none: [],
        tags: ['a', 'yes'],
        items: [{ id: 'x', nested: { k: 'v' } }, [1, 2]],
        rule: "self.type != 'http'",
        path: '.status.conditions[?(@.type=="Ready")].status',
        text: 'one\ntwo\n',
      }),
    ).toBe(
      [
        'name: github-ops',
        "version: '1.0.0'",
        'enabled: true',
        'count: 3',
        'nothing: null',
        'empty: {}',
        'none: []',
        'tags:',
        '  - a',
        "  - 'yes'",
        'items:',
        '  - id: x',
        '    nested:',
        '      k: v',
        '  -',
        '    - 1',
        '    - 2',
        'rule: "self.type != \'http\'"',
        'path: \'.status.conditions[?(@.type=="Ready")].status\'',
        'text: |',
        '  one',
        '  two',
        '',
      ].join('\n'),
    );
  });

  it('refuses what JSON cannot hold', () => {
    expect(() => toYaml({ a: [undefined] })).toThrow(/undefined.*\/a\/0/);
    expect(() => toYaml({ a: Number.NaN })).toThrow(/NaN/);
    expect(() => toYaml({ a: () => 1 })).toThrow(/function/);
  });
});

describe('toYamlDocuments', () => {
  it('separates documents and comments the header', () => {
    const text = toYamlDocuments([{ a: 1 }, { b: 2 }], 'line one\n\nline three');
    expect(text).toBe('# line one\n#\n# line three\na: 1\n---\nb: 2\n');
    expect(parseAllDocuments(text).map((d) => d.toJS() as unknown)).toEqual([{ a: 1 }, { b: 2 }]);
  });
});
