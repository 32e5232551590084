import { describe, expect, it } from 'vitest';
import { strictCompatible, strictIssues } from '../src/adapters/strict-schema.js';

const obj = (properties: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  type: 'object',
  properties,
  required: Object.keys(properties),
  additionalProperties: false,
  ...extra,
});

describe('strictCompatible (OpenAI strict mode)', () => {
  it('accepts closed objects with every property required, nested, with supported keywords', () => {
    const schema: Record<string, unknown> = obj({
      owner: { type: 'string', pattern: '^[a-z]+$', description: 'who' },
      count: { type: 'integer', minimum: 1, maximum: 10 },
      state: { type: 'string', enum: ['open', 'closed'] },
      kind: { const: 'bug' },
      note: { type: ['string', 'null'] },
      tags: { type: 'array', minItems: 1, items: { type: 'string' } },
      nested: obj({ a: { type: 'boolean' } }),
      either: { anyOf: [{ type: 'string' }, obj({ b: { type: 'number' } })] },
      ref: { $ref: '#/$defs/thing' },
    });
    schema.$defs = { thing: obj({ id: { type: 'string', format: 'uuid' } }) };
    expect(strictIssues(schema)).toEqual([]);
    expect(strictCompatible(schema)).toBe(true);
  });

  it('refuses an optional property, naming it', () => {
    const schema = { ...obj({ a: { type: 'string' }, b: { type: 'string' } }), required: ['a'] };
    expect(strictIssues(schema)).toEqual([
      { path: '/properties/b', message: 'is optional; strict mode requires every property to be listed in "required"' },
    ]);
  });

  it('refuses open objects at any depth', () => {
    const { additionalProperties: _drop, ...open } = obj({ x: { type: 'string' } });
    expect(strictIssues(obj({ inner: open }))).toEqual([
      { path: '/properties/inner/additionalProperties', message: 'must be false' },
    ]);
    expect(strictCompatible(obj({ inner: { ...open, additionalProperties: true } }))).toBe(false);
    expect(strictCompatible(obj({ map: { type: 'object', additionalProperties: { type: 'string' } } }))).toBe(false);
  });

  it('refuses unsupported keywords', () => {
    for (const [keyword, value] of [
      ['uniqueItems', true],
      ['allOf', [{ type: 'string' }]],
      ['oneOf', [{ type: 'string' }]],
      ['not', { type: 'string' }],
      ['if', { type: 'string' }],
      ['patternProperties', { '^x': { type: 'string' } }],
      ['minProperties', 1],
    ] as const) {
      const issues = strictIssues(obj({ a: { type: 'array', items: { type: 'string' }, [keyword]: value } }));
      expect(issues.map((i) => i.path)).toContain(`/properties/a/${keyword}`);
    }
  });

  it('refuses a non-object or union root, tuples, arrays without items, external refs', () => {
    expect(strictCompatible({ type: 'array', items: { type: 'string' } })).toBe(false);
    expect(strictCompatible({ ...obj({}), anyOf: [obj({})] })).toBe(false);
    expect(strictCompatible({ ...obj({}), type: ['object', 'null'] })).toBe(false);
    expect(strictCompatible(obj({ t: { type: 'array', items: [{ type: 'string' }] } }))).toBe(false);
    expect(strictCompatible(obj({ t: { type: 'array' } }))).toBe(false);
    expect(strictCompatible(obj({ r: { $ref: 'https://example.com/s.json' } }))).toBe(false);
    expect(strictCompatible(obj({ b: true }))).toBe(false);
    expect(strictCompatible(null)).toBe(false);
  });

  it('enforces the documented size limits', () => {
    let deep: Record<string, unknown> = obj({ leaf: { type: 'string' } });
    for (let i = 0; i < 10; i++) deep = obj({ next: deep });
    expect(strictIssues(deep).some((i) => /deeper than 10/.test(i.message))).toBe(true);
    const wide = obj(Object.fromEntries(Array.from({ length: 5001 }, (_, i) => [`p${i}`, { type: 'string' }])));
    expect(strictIssues(wide).some((i) => /5000 object properties/.test(i.message))).toBe(true);
    const enums = obj({ e: { type: 'string', enum: Array.from({ length: 1001 }, (_, i) => `v${i}`) } });
    expect(strictIssues(enums).some((i) => /1000 enum values/.test(i.message))).toBe(true);
  });

  it('classifies the reference github-ops schemas: optional parameters keep them non-strict', async () => {
    const { readFile } = await import('node:fs/promises');
    const { parse } = await import('yaml');
    const atlas = parse(await readFile(new URL('../../atlases/github-ops/atlas.yaml', import.meta.url), 'utf8')) as {
      actions: { id: string; schema: unknown }[];
    };
    const verdicts = Object.fromEntries(atlas.actions.map((a) => [a.id, strictCompatible(a.schema)]));
    expect(verdicts).toEqual({
      'create-issue': false,
      'close-issue': false,
      'create-pr': false,
      'merge-pr': false,
      'update-branch-protection': false,
    });
  });
});
