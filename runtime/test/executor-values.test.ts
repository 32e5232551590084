import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CraError } from '@cra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createValueResolver } from '../src/executors/values.js';

let secretsDir: string;

beforeAll(async () => {
  secretsDir = await mkdtemp(join(tmpdir(), 'cra-values-'));
  await mkdir(join(secretsDir, 'github'), { recursive: true });
  await writeFile(join(secretsDir, 'github', 'token'), 'ghp_secret\n');
  await writeFile(join(secretsDir, 'github', 'crlf'), 'two-lines\n\r\n');
  await writeFile(join(secretsDir, 'github', 'empty'), '');
});

afterAll(async () => {
  await rm(secretsDir, { recursive: true, force: true });
});

async function failure(promise: Promise<unknown>): Promise<CraError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CraError);
  return error as CraError;
}

describe('createValueResolver', () => {
  const env = { API_BASE: 'https://api.example', EMPTY: '' };

  it('returns literals as written', async () => {
    const values = createValueResolver({ env });
    await expect(values.resolve('plain', 'w')).resolves.toBe('plain');
    await expect(values.resolve({ value: 'lit' }, 'w')).resolves.toBe('lit');
    await expect(values.resolve({ value: '' }, 'w')).resolves.toBe('');
    await expect(values.resolve({ value: 'tok', prefix: 'Bearer ' }, 'w')).resolves.toBe('Bearer tok');
  });

  it('reads environment variables, with default and prefix', async () => {
    const values = createValueResolver({ env });
    await expect(values.resolve({ valueFrom: { env: 'API_BASE' } }, 'w')).resolves.toBe('https://api.example');
    await expect(values.resolve({ valueFrom: { env: 'UNSET' }, default: 'd' }, 'w')).resolves.toBe('d');
    await expect(values.resolve({ valueFrom: { env: 'EMPTY' }, default: 'd' }, 'w')).resolves.toBe('d');
    await expect(values.resolve({ valueFrom: { env: 'UNSET' }, default: 'd', prefix: 'p-' }, 'w')).resolves.toBe('p-d');
  });

  it('names the use and the variable when an env value is missing', async () => {
    const values = createValueResolver({ env });
    const error = await failure(
      values.resolve({ valueFrom: { env: 'GITHUB_TOKEN' } }, 'header Authorization of action create-issue'),
    );
    expect(error.code).toBe('EXECUTION_FAILED');
    expect(error.retriable).toBe(false);
    expect(error.message).toContain('header Authorization of action create-issue');
    expect(error.message).toContain('GITHUB_TOKEN');
    expect(error.details).toMatchObject({ where: 'header Authorization of action create-issue', env: 'GITHUB_TOKEN' });
  });

  it('reads a mounted Secret key, dropping one trailing newline', async () => {
    const values = createValueResolver({ env, secretsDir });
    const ref = (key: string) => ({ valueFrom: { secretKeyRef: { name: 'github', key } } });
    await expect(values.resolve({ ...ref('token'), prefix: 'Bearer ' }, 'w')).resolves.toBe('Bearer ghp_secret');
    await expect(values.resolve(ref('crlf'), 'w')).resolves.toBe('two-lines\n');
    await expect(values.resolve({ ...ref('empty'), default: 'fallback' }, 'w')).resolves.toBe('fallback');
    await expect(values.resolve({ ...ref('absent'), default: 'fallback' }, 'w')).resolves.toBe('fallback');
  });

  it('names the secret and its path when it is missing', async () => {
    const values = createValueResolver({ env, secretsDir });
    const error = await failure(
      values.resolve({ valueFrom: { secretKeyRef: { name: 'github', key: 'absent' } } }, 'header X of action a'),
    );
    expect(error.code).toBe('EXECUTION_FAILED');
    expect(error.retriable).toBe(false);
    expect(error.message).toContain('header X of action a');
    expect(error.message).toContain('github/absent');
    expect(error.message).toContain(join(secretsDir, 'github', 'absent'));
  });

  it('says so when no secrets directory is configured', async () => {
    const values = createValueResolver({ env });
    const error = await failure(values.resolve({ valueFrom: { secretKeyRef: { name: 'github', key: 'token' } } }, 'w'));
    expect(error.message).toContain('no secrets directory');
    await expect(
      values.resolve({ valueFrom: { secretKeyRef: { name: 'github', key: 'token' } }, default: 'd' }, 'w'),
    ).resolves.toBe('d');
  });

  it.each([
    ['../github', 'token'],
    ['GitHub', 'token'],
    ['github/x', 'token'],
    ['', 'token'],
    ['github', '..'],
    ['github', '.'],
    ['github', '..data'],
    ['github', 'a/b'],
    ['github', '../github/token'],
    ['github', ''],
  ])('refuses Secret name %j key %j (path traversal)', async (name, key) => {
    const values = createValueResolver({ env, secretsDir });
    const error = await failure(
      values.resolve({ valueFrom: { secretKeyRef: { name, key } }, default: 'never used' }, 'header Y of action b'),
    );
    expect(error.code).toBe('EXECUTION_FAILED');
    expect(error.message).toContain('not a valid Secret name and key');
  });

  it('caches secret reads for the TTL and picks up a rotated secret after it', async () => {
    let now = 1_000;
    const values = createValueResolver({ env, secretsDir, secretCacheTtlMs: 5_000, now: () => now });
    const file = join(secretsDir, 'github', 'rotating');
    const source = { valueFrom: { secretKeyRef: { name: 'github', key: 'rotating' } } };
    await writeFile(file, 'v1\n');
    await expect(values.resolve(source, 'w')).resolves.toBe('v1');
    await writeFile(file, 'v2\n');
    now += 4_999;
    await expect(values.resolve(source, 'w')).resolves.toBe('v1');
    now += 2;
    await expect(values.resolve(source, 'w')).resolves.toBe('v2');
  });

  it('refuses a source that names nothing, unless it has a default', async () => {
    const values = createValueResolver({ env });
    const error = await failure(values.resolve({}, 'baseUrl of action c'));
    expect(error.message).toContain('baseUrl of action c');
    await expect(values.resolve({ default: 'd' }, 'w')).resolves.toBe('d');
  });
});
