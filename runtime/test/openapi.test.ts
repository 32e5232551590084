/**
 * runtime/openapi.json is generated from the route schemas and committed; this test fails when
 * the routes drift from it. The trace viewer's API types (runtime/src/ui/gen/openapi.ts) are
 * generated from that file by openapi-typescript, committed and checked the same way. Regenerate
 * both with `UPDATE_GOLDEN=1 npx vitest run runtime/test/openapi.test.ts`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Runtime } from '../src/runtime.js';
import { apiTypes } from './helpers/api-types.js';
import { repo, testRuntime } from './helpers/runtime.js';

const file = repo('runtime/openapi.json');
const typesFile = repo('runtime/src/ui/gen/openapi.ts');
const update = process.env.UPDATE_GOLDEN === '1' && !process.env.CI;
let rt: Runtime;
beforeAll(async () => {
  rt = await testRuntime();
});
afterAll(async () => rt.close());

it('serves an OpenAPI 3.1 document at /openapi.json that matches the committed runtime/openapi.json', async () => {
  const res = await rt.app.inject({ method: 'GET', url: '/openapi.json' });
  expect(res.statusCode).toBe(200);
  const doc = res.json<{ openapi: string; paths: Record<string, unknown> }>();
  expect(doc.openapi).toBe('3.1.0');
  for (const path of [
    '/v1/resolve',
    '/v1/execute',
    '/v1/validate',
    '/v1/batch',
    '/v1/sessions',
    '/v1/traces/{session_id}',
    '/v1/atlases',
    '/v1/stats',
  ]) {
    expect(Object.keys(doc.paths)).toContain(path);
  }
  const text = `${JSON.stringify(doc, null, 2)}\n`;
  if (update) await writeFile(file, text);
  const committed = await readFile(file, 'utf8').catch(() => '');
  expect(
    committed,
    'runtime/openapi.json is stale: run UPDATE_GOLDEN=1 npx vitest run runtime/test/openapi.test.ts',
  ).toBe(text);
});

// After the test above: with UPDATE_GOLDEN=1 it has just rewritten runtime/openapi.json.
it('generates the viewer API types from the committed runtime/openapi.json (runtime/src/ui/gen/openapi.ts)', async () => {
  const text = await apiTypes(await readFile(file, 'utf8'));
  expect(text).toContain('"/v1/sessions"');
  if (update) await writeFile(typesFile, text);
  const committed = await readFile(typesFile, 'utf8').catch(() => '');
  expect(
    committed,
    'runtime/src/ui/gen/openapi.ts is stale: run UPDATE_GOLDEN=1 npx vitest run runtime/test/openapi.test.ts',
  ).toBe(text);
});

it('serves the docs UI at /docs', async () => {
  const res = await rt.app.inject({ method: 'GET', url: '/docs/' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toContain('text/html');
  expect(res.body).toContain('swagger');
});
