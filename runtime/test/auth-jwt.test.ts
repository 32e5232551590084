/**
 * JWT and API-key authentication over HTTP (CRA-SPEC §9), attacked: tokens are minted with jose,
 * issuer keys are served as a JWKS by a real local HTTP server (and configured as static public
 * keys), and every forgery, claim violation, key-rotation and key-server outage is a 401 with
 * `WWW-Authenticate: Bearer error="invalid_token"` — never a 500, never the token echoed back.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  base64url,
  exportJWK,
  exportSPKI,
  generateKeyPair,
  SignJWT,
  type CryptoKey,
  type JWK,
  type JWTPayload,
} from 'jose';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createJwtVerifier, looksLikeJwt } from '../src/auth/jwt.js';
import type { JwtIssuerConfig } from '../src/config/schema.js';
import type { Runtime } from '../src/runtime.js';
import { identityFiles, type IdentityFiles, type TestIdentity } from './helpers/identities.js';
import { resolveRequest, testRuntime } from './helpers/runtime.js';

// --- a JWKS server -----------------------------------------------------------------------------

interface JwksServer {
  base: string;
  publish(path: string, keys: JWK[]): void;
  fetches(path: string): number;
  close(): Promise<void>;
}

async function startJwksServer(port = 0): Promise<JwksServer> {
  const sets = new Map<string, JWK[]>();
  const counts = new Map<string, number>();
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0]!;
    counts.set(path, (counts.get(path) ?? 0) + 1);
    const keys = sets.get(path);
    if (!keys) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'application/jwk-set+json' }).end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    base: `http://127.0.0.1:${bound}`,
    publish: (path, keys) => sets.set(path, keys),
    fetches: (path) => counts.get(path) ?? 0,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A loopback port with nothing listening on it (yet). */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

// --- keys and tokens ---------------------------------------------------------------------------

interface SigningKey {
  alg: 'RS256' | 'ES256' | 'EdDSA';
  kid: string;
  privateKey: CryptoKey;
  publicKey: CryptoKey;
  jwk: JWK;
}

async function signingKey(alg: SigningKey['alg'], kid: string): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg);
  return { alg, kid, privateKey, publicKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' } };
}

const ISS = {
  main: 'https://idp.test/main',
  static: 'https://idp.test/static',
  rotating: 'https://idp.test/rotating',
  flaky: 'https://idp.test/flaky',
} as const;
const AUD = 'cra-runtime';

interface MintOptions {
  iss?: string;
  sub?: string | null;
  aud?: string | string[];
  /** Seconds from now; negative is in the past. */
  exp?: number | null;
  nbf?: number;
  kid?: string | null;
  claims?: JWTPayload;
}

async function mint(key: SigningKey, options: MintOptions = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const jwt = new SignJWT({ ...options.claims })
    .setProtectedHeader({
      alg: key.alg,
      typ: 'JWT',
      ...(options.kid === null ? {} : { kid: options.kid ?? key.kid }),
    })
    .setIssuer(options.iss ?? ISS.main)
    .setAudience(options.aud ?? AUD)
    .setIssuedAt(now);
  if (options.sub !== null) jwt.setSubject(options.sub ?? 'svc-main');
  if (options.exp !== null) jwt.setExpirationTime(now + (options.exp ?? 600));
  if (options.nbf !== undefined) jwt.setNotBefore(now + options.nbf);
  return jwt.sign(key.privateKey);
}

const encodeJson = (value: unknown): string => base64url.encode(JSON.stringify(value));
const decodeJson = (segment: string): Record<string, unknown> =>
  JSON.parse(new TextDecoder().decode(base64url.decode(segment))) as Record<string, unknown>;

// --- the runtime under test --------------------------------------------------------------------

let jwks: JwksServer;
let flakyPort: number;
let flaky: JwksServer | undefined;
let rt: Runtime;
let files: IdentityFiles;
const keys = {} as Record<
  'rsa' | 'rsa2' | 'ec' | 'ed' | 'staticEc' | 'staticEd' | 'rot1' | 'rot2' | 'flaky' | 'stranger',
  SigningKey
>;
let staticEcPem: string;
let rsaPem: string;

const IDENTITIES: TestIdentity[] = [
  { agentId: 'jwt-agent', jwt: { issuer: ISS.main, subject: 'svc-main' } },
  { agentId: 'aud-agent', jwt: { issuer: ISS.main, subject: 'svc-aud', audiences: ['cra-special'] } },
  { agentId: 'static-agent', jwt: { issuer: ISS.static, subject: 'svc-static' } },
  { agentId: 'rotating-agent', jwt: { issuer: ISS.rotating, subject: 'svc-rotating' } },
  { agentId: 'flaky-agent', jwt: { issuer: ISS.flaky, subject: 'svc-flaky' } },
  { agentId: 'key-agent', apiKey: 'key-agent-0123456789abcdef' },
  { agentId: 'temp-agent', apiKey: 'temp-agent-0123456789abcdef', jwt: { issuer: ISS.main, subject: 'svc-temp' } },
  // Two identities claiming one (issuer, subject): ambiguous, so nobody.
  { agentId: 'twin-one', jwt: { issuer: ISS.main, subject: 'svc-twin' } },
  { agentId: 'twin-two', jwt: { issuer: ISS.main, subject: 'svc-twin' } },
];

beforeAll(async () => {
  keys.rsa = await signingKey('RS256', 'rsa-1');
  keys.rsa2 = await signingKey('RS256', 'rsa-2');
  keys.ec = await signingKey('ES256', 'ec-1');
  keys.ed = await signingKey('EdDSA', 'ed-1');
  keys.staticEc = await signingKey('ES256', 'static-ec');
  keys.staticEd = await signingKey('EdDSA', 'static-ed');
  keys.rot1 = await signingKey('ES256', 'rot-1');
  keys.rot2 = await signingKey('ES256', 'rot-2');
  keys.flaky = await signingKey('ES256', 'flaky-1');
  keys.stranger = await signingKey('RS256', 'stranger');
  staticEcPem = await exportSPKI(keys.staticEc.publicKey);
  rsaPem = await exportSPKI(keys.rsa.publicKey);

  jwks = await startJwksServer();
  jwks.publish('/main/jwks.json', [keys.rsa.jwk, keys.rsa2.jwk, keys.ec.jwk, keys.ed.jwk]);
  jwks.publish('/rotating/jwks.json', [keys.rot1.jwk]);
  flakyPort = await freePort();

  files = await identityFiles(IDENTITIES);
  const issuers: Partial<JwtIssuerConfig>[] = [
    { issuer: ISS.main, jwksUri: `${jwks.base}/main/jwks.json`, audiences: [AUD, 'cra-special'] },
    {
      issuer: ISS.static,
      publicKeys: [staticEcPem, JSON.stringify(keys.staticEd.jwk)],
      audiences: [AUD],
      algorithms: ['ES256', 'EdDSA'],
    },
    { issuer: ISS.rotating, jwksUri: `${jwks.base}/rotating/jwks.json`, audiences: [AUD] },
    { issuer: ISS.flaky, jwksUri: `http://127.0.0.1:${flakyPort}/jwks.json`, audiences: [AUD] },
  ];
  rt = await testRuntime({
    identities: [files.file],
    secretsDir: files.secretsDir,
    'auth.jwt.issuers': issuers,
    'load.maxEventLoopDelayMs': 0, // no load shedding: these tests are about authentication
  });
});

afterAll(async () => {
  await rt.close();
  await jwks.close();
  await flaky?.close();
});

afterEach(() => {
  vi.useRealTimers();
});

const bearer = (token: string) => ({ authorization: `Bearer ${token}` });

const listSessions = (headers: Record<string, string>) =>
  rt.app.inject({ method: 'GET', url: '/v1/sessions', headers });

const resolveAs = (headers: Record<string, string>, agent: string) =>
  rt.app.inject({ method: 'POST', url: '/v1/resolve', headers, payload: resolveRequest({ agent, risk: 'low' }) });

function expectRefused(
  res: { statusCode: number; headers: Record<string, unknown>; body: string; json: () => unknown },
  reason: string,
  token?: string,
): void {
  expect(res.statusCode, res.body).toBe(401);
  const body = res.json() as { error: { code: string; message: string } };
  expect(body.error.code).toBe('UNAUTHORIZED');
  expect(body.error.message).toContain(reason);
  const challenge = String(res.headers['www-authenticate']);
  expect(challenge).toContain('Bearer');
  expect(challenge).toContain('error="invalid_token"');
  expect(challenge).toContain(`error_description="${reason}`);
  if (token) expect(res.body).not.toContain(token);
}

describe('valid JWTs', () => {
  it.each(['rsa', 'ec', 'ed'] as const)('a %s token from the JWKS authenticates as the mapped agent', async (name) => {
    const token = await mint(keys[name]);
    const res = await resolveAs(bearer(token), 'jwt-agent');
    expect(res.statusCode, res.body).toBe(200);
    const session = await rt.app.inject({
      method: 'GET',
      url: `/v1/sessions/${res.json<{ session_id: string }>().session_id}`,
      headers: bearer(token),
    });
    expect(session.json()).toMatchObject({ agent_id: 'jwt-agent' });
  });

  it('a kid-less token that matches several JWKS keys verifies with the one that signed it', async () => {
    const res = await listSessions(bearer(await mint(keys.rsa2, { kid: null })));
    expect(res.statusCode, res.body).toBe(200);
  });

  it('static public keys: PEM SPKI and JWK JSON', async () => {
    for (const key of [keys.staticEc, keys.staticEd]) {
      const res = await resolveAs(bearer(await mint(key, { iss: ISS.static, sub: 'svc-static' })), 'static-agent');
      expect(res.statusCode, res.body).toBe(200);
    }
  });

  it("an identity's audiences narrow the issuer's", async () => {
    const ok = await listSessions(bearer(await mint(keys.ec, { sub: 'svc-aud', aud: ['cra-special'] })));
    expect(ok.statusCode, ok.body).toBe(200);
    const other = await listSessions(bearer(await mint(keys.ec, { sub: 'svc-aud', aud: AUD })));
    expectRefused(other, 'no agent identity for this token');
  });

  it('requester.agent_id must be the identity of the token (403 otherwise)', async () => {
    const res = await resolveAs(bearer(await mint(keys.rsa)), 'key-agent');
    expect(res.statusCode).toBe(403);
    expect(res.json()).toMatchObject({ error: { code: 'FORBIDDEN', details: { authenticated_agent: 'jwt-agent' } } });
  });
});

describe('forged and invalid JWTs are 401', () => {
  it('alg none (an unsecured JWT)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const token = `${encodeJson({ alg: 'none', typ: 'JWT' })}.${encodeJson({
      iss: ISS.main,
      sub: 'svc-main',
      aud: AUD,
      iat: now,
      exp: now + 600,
    })}.`;
    expect(looksLikeJwt(token)).toBe(true);
    expectRefused(await listSessions(bearer(token)), 'unsecured tokens (alg none) are refused', token);
    const noneUpper = token.replace(/^[^.]+/, encodeJson({ alg: 'NONE' }));
    expectRefused(await listSessions(bearer(noneUpper)), 'unsecured tokens (alg none) are refused');
  });

  it('HS256 signed with the issuer public key as the HMAC secret (key confusion)', async () => {
    const now = Math.floor(Date.now() / 1000);
    const claims = { iss: ISS.main, sub: 'svc-main', aud: AUD, iat: now, exp: now + 600 };
    const pemSecret = new TextEncoder().encode(rsaPem);
    const jwkSecret = new TextEncoder().encode(JSON.stringify(keys.rsa.jwk));
    for (const secret of [pemSecret, jwkSecret]) {
      const token = await new SignJWT(claims).setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' }).sign(secret);
      expectRefused(await listSessions(bearer(token)), 'token algorithm HS256 not accepted', token);
    }
    const staticToken = await new SignJWT({ ...claims, iss: ISS.static, sub: 'svc-static' })
      .setProtectedHeader({ alg: 'HS512' })
      .sign(new TextEncoder().encode(staticEcPem));
    expectRefused(await listSessions(bearer(staticToken)), 'token algorithm HS512 not accepted');
  });

  it('an algorithm the issuer does not list', async () => {
    const token = await mint(keys.rsa, { iss: ISS.static, sub: 'svc-static' });
    expectRefused(await listSessions(bearer(token)), 'token algorithm RS256 not accepted');
  });

  it('wrong audience', async () => {
    expectRefused(
      await listSessions(bearer(await mint(keys.rsa, { aud: 'another-service' }))),
      'audience not accepted',
    );
  });

  it('wrong issuer: unknown, and a trusted issuer named on a token signed by another', async () => {
    expectRefused(
      await listSessions(bearer(await mint(keys.rsa, { iss: 'https://evil.test' }))),
      'issuer not accepted',
    );
    const crossed = await mint(keys.ec, { iss: ISS.static, sub: 'svc-static', kid: 'static-ec' });
    expectRefused(await listSessions(bearer(crossed)), 'signature verification failed');
  });

  it('expired, beyond the clock tolerance', async () => {
    expectRefused(await listSessions(bearer(await mint(keys.ec, { exp: -60 }))), 'token expired');
  });

  it('not yet valid (nbf in the future)', async () => {
    expectRefused(await listSessions(bearer(await mint(keys.ec, { nbf: 600 }))), 'token not yet valid (nbf)');
  });

  it('tampered payload: sub changed, signature kept', async () => {
    const [header, payload, signature] = (await mint(keys.rsa)).split('.') as [string, string, string];
    const forged = `${header}.${encodeJson({ ...decodeJson(payload), sub: 'svc-static' })}.${signature}`;
    expectRefused(await listSessions(bearer(forged)), 'signature verification failed', forged);
    const escalated = `${header}.${encodeJson({ ...decodeJson(payload), exp: 4_102_444_800 })}.${signature}`;
    expectRefused(await listSessions(bearer(escalated)), 'signature verification failed');
  });

  it('tampered signature', async () => {
    for (const key of [keys.rsa, keys.ec, keys.ed]) {
      const [header, payload, signature] = (await mint(key)).split('.') as [string, string, string];
      const bytes = base64url.decode(signature);
      bytes[5] = bytes[5]! ^ 0xff;
      const forged = `${header}.${payload}.${base64url.encode(bytes)}`;
      expectRefused(await listSessions(bearer(forged)), 'signature verification failed');
    }
  });

  it('missing sub, and missing exp', async () => {
    expectRefused(await listSessions(bearer(await mint(keys.ec, { sub: null }))), 'token has no subject (sub)');
    expectRefused(await listSessions(bearer(await mint(keys.ec, { exp: null }))), 'token has no expiry (exp)');
  });

  it('unknown kid, and a key the issuer never published', async () => {
    expectRefused(
      await listSessions(bearer(await mint(keys.stranger))),
      "no key of the issuer matches the token's kid and alg",
    );
    expectRefused(
      await listSessions(bearer(await mint(keys.stranger, { kid: 'rsa-1' }))),
      'signature verification failed',
    );
  });

  it('a verified token whose (iss, sub) maps to no identity, or to two', async () => {
    expectRefused(
      await listSessions(bearer(await mint(keys.ec, { sub: 'svc-nobody' }))),
      'no agent identity for this token',
    );
    expectRefused(
      await listSessions(bearer(await mint(keys.ec, { sub: 'svc-twin' }))),
      'no agent identity for this token',
    );
  });

  it('malformed JWT-looking values and a JWE are refused, not crashed on', async () => {
    const header = encodeJson({ alg: 'RS256' });
    for (const value of [`${header}.bm90IGpzb24.c2ln`, `${header}.${encodeJson([1, 2])}.c2ln`]) {
      const res = await listSessions(bearer(value));
      expect(res.statusCode, value).toBe(401);
    }
    const noisy = `${encodeJson({ alg: `HS256"\r\n${'x'.repeat(2000)}` })}.${encodeJson({ iss: ISS.main })}.c2ln`;
    const refused = await listSessions(bearer(noisy));
    expectRefused(refused, 'token algorithm (unrecognised) not accepted');
    expect(String(refused.headers['www-authenticate']).length).toBeLessThan(200);
    const jwe = `${encodeJson({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a.b.c.d`;
    expect((await listSessions(bearer(jwe))).statusCode).toBe(401);
  });
});

describe('JWKS key rotation and outages', () => {
  it('a new kid is fetched after the cooldown, not before', async () => {
    vi.useFakeTimers({ toFake: ['Date'], now: Date.now() });
    const path = '/rotating/jwks.json';
    const first = await listSessions(bearer(await mint(keys.rot1, { iss: ISS.rotating, sub: 'svc-rotating' })));
    expect(first.statusCode, first.body).toBe(200);
    expect(jwks.fetches(path)).toBe(1);

    jwks.publish(path, [keys.rot1.jwk, keys.rot2.jwk]);
    const rotated = await mint(keys.rot2, { iss: ISS.rotating, sub: 'svc-rotating' });
    // Within the 30 s cooldown an unknown kid does not hammer the key server.
    expectRefused(await listSessions(bearer(rotated)), "no key of the issuer matches the token's kid and alg");
    expect(jwks.fetches(path)).toBe(1);

    vi.setSystemTime(Date.now() + 31_000);
    const after = await listSessions(bearer(rotated));
    expect(after.statusCode, after.body).toBe(200);
    expect(jwks.fetches(path)).toBe(2);
    expect((await listSessions(bearer(rotated))).statusCode).toBe(200);
    expect(jwks.fetches(path)).toBe(2);
  });

  it('a key server that is down at first use is a 401, and verification recovers when it is back', async () => {
    const token = await mint(keys.flaky, { iss: ISS.flaky, sub: 'svc-flaky' });
    expectRefused(await listSessions(bearer(token)), "the issuer's keys (JWKS) could not be fetched");
    flaky = await startJwksServer(flakyPort);
    flaky.publish('/jwks.json', [keys.flaky.jwk]);
    const res = await listSessions(bearer(token));
    expect(res.statusCode, res.body).toBe(200);
    expect(flaky.fetches('/jwks.json')).toBe(1);
  });

  it('a key server answering 404 is a 401', async () => {
    const token = await mint(keys.ec, { iss: ISS.main });
    const broken = await startJwksServer();
    const verifier = createJwtVerifier([
      {
        issuer: ISS.main,
        jwksUri: `${broken.base}/missing.json`,
        audiences: [AUD],
        algorithms: ['ES256'],
        clockToleranceSeconds: 5,
      },
    ]);
    await expect(verifier.verify(token)).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      message: "the issuer's keys (JWKS) could not be fetched",
    });
    await broken.close();
  });
});

describe('API keys', () => {
  it('Bearer and X-API-Key authenticate; an unknown key does not', async () => {
    const key = 'key-agent-0123456789abcdef';
    expect((await resolveAs(bearer(key), 'key-agent')).statusCode).toBe(200);
    expect((await resolveAs({ 'x-api-key': key }, 'key-agent')).statusCode).toBe(200);
    expectRefused(await listSessions(bearer('key-agent-0123456789abcdeX')), 'the API key is not valid');
    expectRefused(await listSessions({ 'x-api-key': 'nope' }), 'the API key is not valid');
    // A JWT in X-API-Key is just an (unknown) API key.
    expectRefused(await listSessions({ 'x-api-key': await mint(keys.rsa) }), 'the API key is not valid');
  });

  it('no credentials: 401 with a bare Bearer challenge', async () => {
    const res = await listSessions({});
    expect(res.statusCode).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer realm="cra"');
  });

  it('an identity removed by a bundle reload is refused, by API key and by JWT', async () => {
    const key = 'temp-agent-0123456789abcdef';
    const token = await mint(keys.ec, { sub: 'svc-temp' });
    expect((await resolveAs(bearer(key), 'temp-agent')).statusCode).toBe(200);
    expect((await resolveAs(bearer(token), 'temp-agent')).statusCode).toBe(200);
    await files.write(IDENTITIES.filter((i) => i.agentId !== 'temp-agent'));
    expect((await rt.reload()).changed).toBe(true);
    expectRefused(await listSessions(bearer(key)), 'the API key is not valid');
    expectRefused(await listSessions(bearer(token)), 'no agent identity for this token');
    expect((await listSessions(bearer('key-agent-0123456789abcdef'))).statusCode).toBe(200);
  });
});

describe('configuration', () => {
  it('without issuers a JWT is refused: JWT authentication is not configured', async () => {
    const plain = await testRuntime({ 'load.maxEventLoopDelayMs': 0 });
    try {
      const res = await plain.app.inject({ method: 'GET', url: '/v1/sessions', headers: bearer(await mint(keys.rsa)) });
      expectRefused(res, 'JWT authentication is not configured');
    } finally {
      await plain.close();
    }
  });

  const base: JwtIssuerConfig = {
    issuer: 'https://idp.test/config',
    audiences: [AUD],
    algorithms: ['RS256', 'ES256', 'EdDSA'],
    clockToleranceSeconds: 5,
  };

  it('refuses HMAC algorithms, private keys, symmetric JWKs and issuers without keys', async () => {
    const pair = await generateKeyPair('ES256', { extractable: true });
    const { exportPKCS8 } = await import('jose');
    const cases: [Partial<JwtIssuerConfig>, RegExp][] = [
      [{ algorithms: ['HS256'], publicKeys: [staticEcPem] }, /HS256 refused/],
      [{ publicKeys: [await exportPKCS8(pair.privateKey)] }, /private key/],
      [{ publicKeys: [JSON.stringify(await exportJWK(pair.privateKey))] }, /private key/],
      [{ publicKeys: [JSON.stringify({ kty: 'oct', k: 'c2VjcmV0' })] }, /symmetric/],
      [{ publicKeys: [staticEcPem], algorithms: ['RS256'] }, /fits none/],
      [{}, /needs jwksUri or publicKeys/],
    ];
    for (const [override, message] of cases) {
      expect(() => createJwtVerifier([{ ...base, ...override }])).toThrow(message);
    }
    expect(() =>
      createJwtVerifier([
        { ...base, publicKeys: [staticEcPem] },
        { ...base, publicKeys: [staticEcPem] },
      ]),
    ).toThrow(/listed twice/);
  });

  it('fetches the JWKS through [customFetch] when given', async () => {
    const requested: string[] = [];
    const verifier = createJwtVerifier([{ ...base, jwksUri: 'https://idp.invalid/jwks.json' }], {
      customFetch: async (url) => {
        requested.push(String(url));
        return new Response(JSON.stringify({ keys: [keys.ec.jwk] }), { status: 200 });
      },
    });
    const verified = await verifier.verify(
      await mint(keys.ec, { iss: base.issuer, sub: 'svc-x', claims: { scope: 'a' } }),
    );
    expect(verified).toMatchObject({ issuer: base.issuer, subject: 'svc-x', audience: [AUD], claims: { scope: 'a' } });
    expect(requested).toEqual(['https://idp.invalid/jwks.json']);
  });
});
