/**
 * runtime/openapi.json is generated from the route schemas and committed; this test fails when
 * the routes drift from it. Regenerate with `UPDATE_GOLDEN=1 npx vitest run runtime/test/openapi.test.ts`.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Runtime } from '../src/runtime.js';
import { repo, testRuntime } from './helpers/runtime.js';

const file = repo('runtime/openapi.json');
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
  if (process.env.UPDATE_GOLDEN === '1' && !process.env.CI) await writeFile(file, text);
  const committed = await readFile(file, 'utf8').catch(() => '');
  expect(
    committed,
    'runtime/openapi.json is stale: run UPDATE_GOLDEN=1 npx vitest run runtime/test/openapi.test.ts',
  ).toBe(text);
});

it('serves the docs UI at /docs', async () => {
  const res = await rt.app.inject({ method: 'GET', url: '/docs/' });
  expect(res.statusCode).toBe(200);
  expect(res.headers['content-type']).toContain('text/html');
  expect(res.body).toContain('swagger');
});
