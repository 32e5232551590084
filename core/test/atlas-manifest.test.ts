import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { defaultPackFile, loadLocalAtlas, parseAtlasManifest, requiredFiles } from '../src/atlas/manifest.js';
import { validateLoadedAtlas } from '../src/atlas/validate.js';
import type { LocalAtlasManifest } from '../src/atlas/types.js';
import {
  atlas,
  atVersion,
  fromFile,
  inNamespace,
  pack,
  withContent,
  withLabels,
  withPack,
  withoutPacks,
} from './fixtures/builders.js';

function parsed(manifest: LocalAtlasManifest): LocalAtlasManifest {
  const result = parseAtlasManifest(stringify(manifest), 'atlas.yaml');
  if ('errors' in result) throw new Error(JSON.stringify(result.errors));
  return result.manifest;
}

describe('parseAtlasManifest', () => {
  it('parses a valid manifest to the same value', () => {
    const manifest = atlas(inNamespace('team-a'), withLabels({ env: 'prod' }));
    expect(parsed(manifest)).toEqual(manifest);
  });

  it('accepts JSON, which is YAML', () => {
    const result = parseAtlasManifest(JSON.stringify(atlas()), 'atlas.json');
    expect('manifest' in result).toBe(true);
  });

  it.each<[string, string, RegExp, number, number]>([
    ['unclosed flow sequence', 'name: ops\ntags: [a, b\n', /^atlas\.yaml:3:1: .*\]/, 3, 1],
    ['duplicate key', 'name: ops\nversion: 1.0.0\nname: other\n', /^atlas\.yaml:3:1: Map keys must be unique/, 3, 1],
    ['unterminated quote', 'name: "ops\n', /^atlas\.yaml:2:1: Missing closing "quote/, 2, 1],
    ['two documents', 'name: a\n---\nname: b\n', /^atlas\.yaml:2:1: Source contains multiple documents/, 2, 1],
    ['bad indentation', 'name: ops\n  version: 1.0.0\n', /^atlas\.yaml:1:7: Nested mappings are not allowed/, 1, 7],
  ])('reports YAML syntax errors with line:col: %s', (_name, text, message, line, column) => {
    const result = parseAtlasManifest(text, 'atlas.yaml');
    expect('errors' in result).toBe(true);
    if (!('errors' in result)) return;
    const [first] = result.errors;
    expect(first?.path).toBe('');
    expect(first?.message).toMatch(message);
    expect(first?.line).toBe(line);
    expect(first?.column).toBe(column);
  });

  it.each<[string, string, string]>([
    ['empty file', '', 'must be a YAML mapping'],
    ['a list', '- a\n- b\n', 'must be a YAML mapping'],
    ['a scalar', 'hello\n', 'must be a YAML mapping'],
  ])('rejects a document that is not a mapping: %s', (_name, text, message) => {
    const result = parseAtlasManifest(text, 'x/atlas.yaml');
    expect(result).toEqual({ errors: [{ path: '', message: `x/atlas.yaml: ${message} (the atlas manifest)` }] });
  });

  it('refuses alias bombs', () => {
    const names = 'abcdefghij'.split('');
    const lines = names.map((n, i) => {
      const previous = names[i - 1];
      const items = previous === undefined ? 'x' : Array.from({ length: 10 }, () => `*${previous}`).join(', ');
      return `${n}: &${n} [${items}]`;
    });
    const result = parseAtlasManifest(lines.join('\n'), 'atlas.yaml');
    expect(result).toMatchObject({ errors: [{ path: '', message: expect.stringMatching(/^atlas\.yaml: .*alias/i) }] });
  });

  it('locates schema errors in the YAML by JSON Pointer', () => {
    const text = stringify(atlas(atVersion('1.0'), withPack(pack('runbook', fromFile('../x.md')))));
    const result = parseAtlasManifest(text, 'atlas.yaml');
    if (!('errors' in result)) throw new Error('expected errors');
    const lines = text.split('\n');
    const byPath = new Map(result.errors.map((e) => [e.path, e]));
    const version = byPath.get('/version');
    expect(version?.message).toMatch(/SemVer/);
    expect(lines[version!.line! - 1]).toMatch(/^version: /);
    const file = byPath.get('/contextPacks/1/file');
    expect(lines[file!.line! - 1]).toContain('file: ../x.md');
  });

  it('a YAML number where a string is expected names the field', () => {
    const text = stringify(atlas()).replace('version: 1.0.0', 'version: 1.0');
    const result = parseAtlasManifest(text, 'atlas.yaml');
    expect(result).toMatchObject({ errors: [{ path: '/version', message: 'must be a string' }] });
  });

  it('reports a missing required field at its parent', () => {
    const text = stringify({ ...atlas(), name: undefined });
    const result = parseAtlasManifest(text, 'atlas.yaml');
    expect(result).toMatchObject({ errors: [{ path: '/name', message: 'is required', line: 1, column: 1 }] });
  });
});

describe('requiredFiles', () => {
  it.each<[string, LocalAtlasManifest, string[]]>([
    ['inline packs need no files', atlas(), []],
    ['no packs', atlas(withoutPacks()), []],
    [
      'default file per pack',
      atlas(withPack(pack('runbook', fromFile()), pack('faq', fromFile()))),
      ['context/runbook.md', 'context/faq.md'],
    ],
    [
      'named files, deduplicated',
      atlas(withPack(pack('a', fromFile('docs/shared.md')), pack('b', fromFile('docs/shared.md')))),
      ['docs/shared.md'],
    ],
  ])('%s', (_name, manifest, expected) => {
    expect(requiredFiles(manifest)).toEqual(expected);
  });
});

describe('loadLocalAtlas', () => {
  it('inlines file contents and fills identity defaults', () => {
    const manifest = parsed(atlas(withPack(pack('runbook', fromFile()), pack('faq', fromFile('docs/faq.md')))));
    const result = loadLocalAtlas(manifest, { 'context/runbook.md': '# Runbook\n', 'docs/faq.md': '# FAQ\n' });
    if (!('atlas' in result)) throw new Error(JSON.stringify(result.errors));
    const { atlas: loaded } = result;
    expect(loaded.ref).toBe('default/ops@1.0.0');
    expect(loaded.namespace).toBe('default');
    expect(loaded.labels).toEqual({});
    expect(loaded.spec.contextPacks).toEqual([
      { id: 'guide', domain: 'ops', format: 'markdown', content: '# guide\n' },
      { id: 'runbook', domain: 'ops', format: 'markdown', content: '# Runbook\n' },
      { id: 'faq', domain: 'ops', format: 'markdown', content: '# FAQ\n' },
    ]);
    expect(loaded.spec).not.toHaveProperty('name');
    expect(validateLoadedAtlas(loaded)).toEqual([]);
  });

  it('keeps namespace and labels', () => {
    const result = loadLocalAtlas(atlas(inNamespace('team-a'), withLabels({ env: 'prod' }), atVersion('2.1.0')), {});
    expect(result).toMatchObject({ atlas: { ref: 'team-a/ops@2.1.0', namespace: 'team-a', labels: { env: 'prod' } } });
  });

  it('does not change the manifest it was given', () => {
    const manifest = atlas(withPack(pack('runbook', fromFile())));
    const before = structuredClone(manifest);
    loadLocalAtlas(manifest, { 'context/runbook.md': 'x' });
    expect(manifest).toEqual(before);
  });

  it('keeps an empty file as empty content', () => {
    const result = loadLocalAtlas(atlas(withPack(pack('runbook', fromFile()))), { 'context/runbook.md': '' });
    expect(result).toMatchObject({ atlas: { spec: { contextPacks: [{}, { id: 'runbook', content: '' }] } } });
  });

  it.each<[string, LocalAtlasManifest, Record<string, string>, { path: string; message: string }[]]>([
    [
      'a missing default file is reported at the pack',
      atlas(withPack(pack('runbook', fromFile()))),
      {},
      [{ path: '/contextPacks/1', message: 'context file context/runbook.md of pack "runbook" was not found' }],
    ],
    [
      'a missing named file is reported at its field',
      atlas(withPack(pack('faq', fromFile('docs/faq.md')), pack('runbook', fromFile()))),
      { 'context/runbook.md': 'x' },
      [{ path: '/contextPacks/1/file', message: 'context file docs/faq.md of pack "faq" was not found' }],
    ],
    [
      'inherited object members are not files',
      atlas(withPack(pack('constructor', fromFile('constructor')))),
      {},
      [{ path: '/contextPacks/1/file', message: 'context file constructor of pack "constructor" was not found' }],
    ],
  ])('%s', (_name, manifest, files, errors) => {
    expect(loadLocalAtlas(manifest, files)).toEqual({ errors });
  });

  it('inline content wins over nothing and needs no file', () => {
    const result = loadLocalAtlas(atlas(withPack(pack('p', withContent('inline')))), {});
    expect(result).toMatchObject({ atlas: { spec: { contextPacks: [{}, { content: 'inline' }] } } });
  });

  it('names the default file after the pack id', () => {
    expect(defaultPackFile('issues-guide')).toBe('context/issues-guide.md');
  });
});
