import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CraError, type HttpExecutor } from '@cra/core';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createHttpExecutor } from '../src/executors/http.js';
import { createExecutorRegistry, type ExecutorInput } from '../src/executors/types.js';
import { createValueResolver } from '../src/executors/values.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const SECRET = 'ghp_top_secret_value';
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

let server: Server;
let base: string;
let refusedBase: string;
let secretsDir: string;
let seen: Seen[] = [];

function last(): Seen {
  const request = seen.at(-1);
  if (request === undefined) throw new Error('the server saw no request');
  return request;
}

function route(request: Seen, res: ServerResponse): void {
  const path = new URL(request.url, 'http://x').pathname;
  const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(value));
  };
  if (path === '/hang') return; // never answers
  if (path === '/text') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' });
    res.end('hello, world');
    return;
  }
  if (path === '/empty') {
    res.writeHead(204);
    res.end();
    return;
  }
  if (path === '/not-json') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{oops');
    return;
  }
  if (path === '/accepted') return json(202, { queued: true });
  if (path === '/big-stream') {
    res.writeHead(200, { 'content-type': 'text/plain' }); // chunked, no content-length
    for (let i = 0; i < 64; i++) res.write('x'.repeat(1024));
    res.end();
    return;
  }
  if (path === '/big-declared') {
    const body = 'y'.repeat(4096);
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(body.length) });
    res.end(body);
    return;
  }
  if (path === '/exact') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end('z'.repeat(1024));
    return;
  }
  const status = /^\/status\/(\d{3})$/.exec(path);
  if (status !== null) {
    const code = Number(status[1]);
    res.writeHead(code, { 'content-type': 'text/plain', ...(code === 503 ? { 'retry-after': '7' } : {}) });
    res.end(`failure ${code}: ${'e'.repeat(5000)}`);
    return;
  }
  // Default: echo what arrived.
  const query = new URL(request.url, 'http://x').searchParams;
  json(path === '/created' ? 201 : 200, {
    method: request.method,
    path,
    query: [...query.entries()],
    body: request.body === '' ? null : (JSON.parse(request.body) as unknown),
    repo: { owner: { login: 'octo' }, tags: ['a', 'b'], 'we/ird~': 1 },
  });
}

beforeAll(async () => {
  server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const request: Seen = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      seen.push(request);
      route(request, res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // A port nothing listens on: bind, note it, close.
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  refusedBase = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
  await new Promise<void>((resolve) => closed.close(() => resolve()));

  secretsDir = await mkdtemp(join(tmpdir(), 'cra-http-'));
  await mkdir(join(secretsDir, 'github'));
  await writeFile(join(secretsDir, 'github', 'token'), `${SECRET}\n`);
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await rm(secretsDir, { recursive: true, force: true });
});

beforeEach(() => {
  seen = [];
});

function executorWith(options: { env?: Record<string, string>; maxResponseBytes?: number; now?: () => number } = {}) {
  const values = createValueResolver({
    env: { API_BASE: base, ...options.env },
    secretsDir,
    ...(options.now === undefined ? {} : { now: options.now, secretCacheTtlMs: 5_000 }),
  });
  return createHttpExecutor({
    values,
    userAgent: 'cra-test/1',
    ...(options.maxResponseBytes === undefined ? {} : { maxResponseBytes: options.maxResponseBytes }),
  });
}

function input(
  config: Partial<HttpExecutor>,
  parameters: Record<string, unknown> = {},
  extra: Partial<ExecutorInput> = {},
) {
  const full: HttpExecutor = { type: 'http', method: 'POST', url: '/echo', baseUrl: base, ...config };
  return { actionId: 'create-issue', actionType: 'github.create_issue', config: full, parameters, ...extra };
}

async function failure(promise: Promise<unknown>): Promise<CraError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CraError);
  return error as CraError;
}

describe('http executor: request', () => {
  it('fills the URL template with percent-encoded parameters and sends the rest as JSON', async () => {
    const result = await executorWith().execute(
      input(
        { url: '/repos/{owner}/{repo}/issues', headers: { 'X-Custom': 'yes' } },
        { owner: 'a/b', repo: 'c d?', title: 'Bug', labels: ['x'] },
      ),
    );
    const request = last();
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/repos/a%2Fb/c%20d%3F/issues');
    expect(JSON.parse(request.body)).toEqual({ title: 'Bug', labels: ['x'] });
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['x-custom']).toBe('yes');
    expect(request.headers['user-agent']).toBe('cra-test/1');
    expect(request.headers.traceparent).toBeUndefined();
    expect(result.status).toBe(200);
    expect(result.apiCalls).toBe(1);
    expect(result.outputType).toBe('application/json');
    expect(result.output).toMatchObject({ method: 'POST', body: { title: 'Bug', labels: ['x'] } });
  });

  it('refuses a missing URL parameter with CONSTRAINT_VIOLATED naming it', async () => {
    const error = await failure(executorWith().execute(input({ url: '/repos/{owner}/{repo}' }, { owner: 'o' })));
    expect(error.code).toBe('CONSTRAINT_VIOLATED');
    expect(error.message).toContain('repo');
    expect(error.details).toEqual({
      violations: [{ code: 'CONSTRAINT_VIOLATED', path: '/repo', message: 'is required by the URL' }],
    });
    expect(seen).toHaveLength(0);
  });

  it('refuses an object as a URL parameter', async () => {
    const error = await failure(executorWith().execute(input({ url: '/x/{id}' }, { id: { a: 1 } })));
    expect(error.code).toBe('CONSTRAINT_VIOLATED');
    expect(error.details).toMatchObject({ violations: [{ path: '/id' }] });
  });

  it.each(['..', '.', ''])('refuses %j as a URL parameter, which would change the path', async (value) => {
    const error = await failure(
      executorWith().execute(input({ url: '/repos/{owner}/{repo}/issues' }, { owner: 'o', repo: value })),
    );
    expect(error.code).toBe('CONSTRAINT_VIOLATED');
    expect(error.details).toMatchObject({ violations: [{ path: '/repo' }] });
    expect(seen).toHaveLength(0);
  });

  it('takes baseUrl from the environment and joins it with exactly one slash', async () => {
    const executor = executorWith({ env: { SLASHED: `${base}/api/` } });
    await executor.execute(input({ url: '/v1/items', baseUrl: { valueFrom: { env: 'SLASHED' } } }));
    expect(last().url).toBe('/api/v1/items');
    await executor.execute(input({ url: 'v1/items', baseUrl: { valueFrom: { env: 'API_BASE' } } }));
    expect(last().url).toBe('/v1/items');
  });

  it('falls back to the baseUrl default and ignores baseUrl for an absolute url', async () => {
    const executor = executorWith();
    await executor.execute(input({ url: '/d', baseUrl: { valueFrom: { env: 'NOT_SET' }, default: base } }));
    expect(last().url).toBe('/d');
    await executor.execute(input({ url: `${base}/absolute`, baseUrl: 'http://127.0.0.1:1/never' }));
    expect(last().url).toBe('/absolute');
  });

  it('names the missing env variable of a baseUrl', async () => {
    const error = await failure(
      executorWith().execute(input({ url: '/x', baseUrl: { valueFrom: { env: 'GITHUB_API' } } })),
    );
    expect(error.code).toBe('EXECUTION_FAILED');
    expect(error.retriable).toBe(false);
    expect(error.message).toContain('baseUrl of action create-issue');
    expect(error.message).toContain('GITHUB_API');
  });

  it('rejects non-http URLs', async () => {
    for (const url of ['file:///etc/passwd', 'ftp://127.0.0.1/x', 'data:text/plain,hi']) {
      const error = await failure(executorWith().execute(input({ url })));
      expect(error.code).toBe('EXECUTION_FAILED');
      expect(error.retriable).toBe(false);
      expect(error.message).toContain('not allowed');
    }
    const relative = await failure(executorWith().execute(input({ url: '/x', baseUrl: undefined })));
    expect(relative.message).toContain('no baseUrl');
    expect(seen).toHaveLength(0);
  });

  it('sends a secret header from a mounted Secret and picks up its rotation', async () => {
    let now = 0;
    const executor = executorWith({ now: () => now });
    const config = {
      headers: { Authorization: { valueFrom: { secretKeyRef: { name: 'github', key: 'token' } }, prefix: 'Bearer ' } },
    };
    await executor.execute(input(config));
    expect(last().headers.authorization).toBe(`Bearer ${SECRET}`);

    await writeFile(join(secretsDir, 'github', 'token'), 'rotated\n');
    await executor.execute(input(config));
    expect(last().headers.authorization).toBe(`Bearer ${SECRET}`); // still cached
    now += 5_001;
    await executor.execute(input(config));
    expect(last().headers.authorization).toBe('Bearer rotated');
    await writeFile(join(secretsDir, 'github', 'token'), `${SECRET}\n`);
  });

  it('names a missing secret without calling the target', async () => {
    const error = await failure(
      executorWith().execute(
        input({ headers: { Authorization: { valueFrom: { secretKeyRef: { name: 'github', key: 'nope' } } } } }),
      ),
    );
    expect(error.code).toBe('EXECUTION_FAILED');
    expect(error.message).toContain('header Authorization of action create-issue');
    expect(error.message).toContain('github/nope');
    expect(seen).toHaveLength(0);
  });

  it('body "parameters" sends every parameter, "none" sends no body', async () => {
    const executor = executorWith();
    await executor.execute(input({ url: '/items/{id}', method: 'PUT', body: 'parameters' }, { id: 7, name: 'n' }));
    expect(last()).toMatchObject({ method: 'PUT', url: '/items/7' });
    expect(JSON.parse(last().body)).toEqual({ id: 7, name: 'n' });

    await executor.execute(input({ url: '/items/{id}', method: 'POST', body: 'none' }, { id: 7, name: 'n' }));
    expect(last().body).toBe('');
    expect(last().headers['content-type']).toBeUndefined();

    await executor.execute(input({ url: '/items/{id}', method: 'PATCH' }, { id: 7 }));
    expect(last().body).toBe('{}');
  });

  it('GET sends the remaining parameters as a query string, arrays as repeated keys', async () => {
    const result = await executorWith().execute(
      input(
        { method: 'GET', url: '/search/{kind}?fixed=1' },
        { kind: 'issues', q: 'a&b=c', page: 2, open: true, labels: ['x', 'y'], skip: null, filter: { a: 1 } },
      ),
    );
    const request = last();
    expect(request.method).toBe('GET');
    expect(request.body).toBe('');
    const url = new URL(request.url, 'http://x');
    expect(url.pathname).toBe('/search/issues');
    expect([...url.searchParams.entries()]).toEqual([
      ['fixed', '1'],
      ['q', 'a&b=c'],
      ['page', '2'],
      ['open', 'true'],
      ['labels', 'x'],
      ['labels', 'y'],
      ['filter', '{"a":1}'],
    ]);
    expect(result.sideEffects).toEqual([]);
  });

  it('DELETE with "remaining" uses the query string', async () => {
    const result = await executorWith().execute(
      input({ method: 'DELETE', url: '/items/{id}' }, { id: 'a b', force: true }),
    );
    expect(last()).toMatchObject({ method: 'DELETE', url: '/items/a%20b?force=true', body: '' });
    expect(result.sideEffects).toEqual([
      { type: 'http.delete', target: `${base}/items/a%20b`, reversible: false, details: { status: 200 } },
    ]);
  });

  it('forwards traceparent and sends exactly the expected request', async () => {
    await executorWith().execute(
      input(
        { url: '/exactly', headers: { 'X-Api-Key': { valueFrom: { env: 'KEY' }, default: 'k1' } } },
        { a: 1 },
        { traceparent: TRACEPARENT },
      ),
    );
    const request = last();
    expect(request.method).toBe('POST');
    expect(request.url).toBe('/exactly');
    expect(request.body).toBe('{"a":1}');
    const {
      host: _host,
      connection: _c,
      'accept-encoding': _ae,
      'accept-language': _al,
      'sec-fetch-mode': _s,
      ...rest
    } = request.headers;
    expect(rest).toEqual({
      'x-api-key': 'k1',
      'user-agent': 'cra-test/1',
      accept: 'application/json, */*;q=0.5',
      'content-type': 'application/json',
      'content-length': '7',
      traceparent: TRACEPARENT,
    });
  });
});

describe('http executor: response', () => {
  it('returns text bodies as text', async () => {
    const result = await executorWith().execute(input({ method: 'GET', url: '/text' }));
    expect(result.output).toBe('hello, world');
    expect(result.outputType).toBe('text/plain');
  });

  it('maps output fields by JSON Pointer, missing ones as null', async () => {
    const result = await executorWith().execute(
      input({
        response: {
          output: {
            login: '/repo/owner/login',
            second: '/repo/tags/1',
            weird: '/repo/we~1ird~0',
            missing: '/repo/nope/deeper',
            proto: '/repo/constructor',
            whole: '/path',
          },
        },
      }),
    );
    expect(result.output).toEqual({ login: 'octo', second: 'b', weird: 1, missing: null, proto: null, whole: '/echo' });
    expect(result.outputType).toBe('application/json');
  });

  it('refuses an output mapping that is not a JSON Pointer, naming the field', async () => {
    const error = await failure(executorWith().execute(input({ response: { output: { login: 'repo/owner' } } })));
    expect(error).toMatchObject({ code: 'EXECUTION_FAILED', retriable: false });
    expect(error.message).toContain('response.output.login');
  });

  it('honours successStatus', async () => {
    const result = await executorWith().execute(input({ url: '/accepted', response: { successStatus: [202] } }));
    expect(result.status).toBe(202);
    expect(result.output).toEqual({ queued: true });
    const error = await failure(executorWith().execute(input({ url: '/created', response: { successStatus: [200] } })));
    expect(error.details).toMatchObject({ status: 201 });
  });

  it('records a POST side effect on the URL without its query', async () => {
    const result = await executorWith().execute(input({ url: '/created?token=abc' }, { a: 1 }));
    expect(result.status).toBe(201);
    expect(result.sideEffects).toEqual([
      { type: 'http.post', target: `${base}/created`, reversible: false, details: { status: 201 } },
    ]);
  });

  it('treats an empty 204 as null output', async () => {
    const result = await executorWith().execute(input({ method: 'DELETE', url: '/empty' }));
    expect(result).toMatchObject({ output: null, status: 204, outputType: 'application/json' });
  });

  it('fails on a JSON content type that is not JSON', async () => {
    const error = await failure(executorWith().execute(input({ method: 'GET', url: '/not-json' })));
    expect(error.code).toBe('EXECUTION_FAILED');
    expect(error.retriable).toBe(false);
    expect(error.details).toMatchObject({ status: 200, body: '{oops' });
  });

  it('maps 4xx to EXECUTION_FAILED, not retriable, with status and a bounded body excerpt', async () => {
    const error = await failure(
      executorWith().execute(
        input({
          url: '/status/404?api_key=should-not-leak',
          headers: { Authorization: { valueFrom: { secretKeyRef: { name: 'github', key: 'token' } } } },
        }),
      ),
    );
    expect(error.code).toBe('EXECUTION_FAILED');
    expect(error.retriable).toBe(false);
    const details = error.details as { status: number; body: string; url: string };
    expect(details.status).toBe(404);
    expect(details.body.startsWith('failure 404: eee')).toBe(true);
    expect(details.body.length).toBe(2048);
    expect(details.url).toBe(`${base}/status/404`);
    const serialized = JSON.stringify({ message: error.message, details: error.details });
    expect(serialized).not.toContain(SECRET);
    expect(serialized).not.toContain('should-not-leak');
    expect(serialized.toLowerCase()).not.toContain('authorization');
  });

  it('maps 503 and 429 to retriable EXECUTION_FAILED with Retry-After', async () => {
    const unavailable = await failure(executorWith().execute(input({ url: '/status/503' })));
    expect(unavailable).toMatchObject({ code: 'EXECUTION_FAILED', retriable: true, retryAfterSeconds: 7 });
    expect(unavailable.details).toMatchObject({ status: 503 });
    const limited = await failure(executorWith().execute(input({ url: '/status/429' })));
    expect(limited).toMatchObject({ code: 'EXECUTION_FAILED', retriable: true });
  });

  it('times out a target that never answers', async () => {
    const error = await failure(
      executorWith().execute(input({ url: '/hang', timeoutMs: 5_000 }, {}, { timeoutMs: 200 })),
    );
    expect(error.code).toBe('TIMEOUT');
    expect(error.retriable).toBe(true);
    expect(error.details).toMatchObject({ timeoutMs: 200, url: `${base}/hang` });
  });

  it('caps the caller timeout by the configured one', async () => {
    const error = await failure(
      executorWith().execute(input({ url: '/hang', timeoutMs: 200 }, {}, { timeoutMs: 60_000 })),
    );
    expect(error.code).toBe('TIMEOUT');
    expect(error.details).toMatchObject({ timeoutMs: 200 });
  });

  it('stops when the caller aborts', async () => {
    const controller = new AbortController();
    const pending = executorWith().execute(input({ url: '/hang' }, {}, { signal: controller.signal }));
    controller.abort();
    const error = await failure(pending);
    expect(error).toMatchObject({ code: 'EXECUTION_FAILED', retriable: true, details: { cancelled: true } });
  });

  it('maps connection refused to a retriable EXECUTION_FAILED', async () => {
    const error = await failure(executorWith().execute(input({ url: '/x', baseUrl: refusedBase })));
    expect(error.code).toBe('EXECUTION_FAILED');
    expect(error.retriable).toBe(true);
    expect(error.details).toMatchObject({ cause: 'ECONNREFUSED', url: `${refusedBase}/x` });
  });

  it('refuses a response larger than maxResponseBytes, streamed or declared', async () => {
    const executor = executorWith({ maxResponseBytes: 1024 });
    for (const url of ['/big-stream', '/big-declared']) {
      const error = await failure(executor.execute(input({ method: 'GET', url })));
      expect(error.code).toBe('EXECUTION_FAILED');
      expect(error.retriable).toBe(false);
      expect(error.details).toMatchObject({ status: 200, limitBytes: 1024 });
    }
    const exact = await executor.execute(input({ method: 'GET', url: '/exact' }));
    expect(exact.output).toBe('z'.repeat(1024));
  });
});

describe('executor registry', () => {
  it('returns the executor of the type and refuses unknown types', () => {
    const http = executorWith();
    const registry = createExecutorRegistry({ http });
    expect(registry.executorFor({ type: 'http', method: 'GET', url: '/' })).toBe(http);
    expect(() => registry.executorFor({ type: 'mcp', url: 'http://x', tool: 't' })).toThrow('no executor of type mcp');
    const error = (() => {
      try {
        registry.executorFor({ type: 'grpc' } as unknown as HttpExecutor);
        return undefined;
      } catch (e) {
        return e;
      }
    })();
    expect(error).toMatchObject({ code: 'EXECUTION_FAILED', retriable: false });
  });
});
