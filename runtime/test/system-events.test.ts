/**
 * The runtime's own session: `system.startup`, then `system.config.loaded` with the effective
 * configuration minus its secrets and the hash of that, then `atlas.bundle.loaded`.
 */
import type { TraceEvent } from '@cra/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configForAudit, REDACTED, withoutCredentials } from '../src/config/audit.js';
import type { Runtime } from '../src/runtime.js';
import { auth, KEYS, testConfig, testRuntime } from './helpers/runtime.js';

const HMAC_KEY = 'a-redaction-key-of-32-characters';

describe('withoutCredentials', () => {
  it.each([
    ['postgres://cra:s3cret@db:5432/cra', `postgres://cra:${encodeURIComponent(REDACTED)}@db:5432/cra`],
    ['redis://:s3cret@cache:6379/0', `redis://:${encodeURIComponent(REDACTED)}@cache:6379/0`],
    ['postgres://cra@db/cra?sslmode=require', 'postgres://cra@db/cra?sslmode=require'],
    [
      'postgres://db/cra?password=s3cret&sslmode=require',
      `postgres://db/cra?password=${encodeURIComponent(REDACTED)}&sslmode=require`,
    ],
    ['not a url s3cret', REDACTED],
  ])('%s', (url, expected) => {
    expect(withoutCredentials(url)).toBe(expected);
    expect(withoutCredentials(url)).not.toContain('s3cret');
  });
});

describe('configForAudit', () => {
  it('keeps every setting, hides the secrets, and hashes what it keeps', async () => {
    const config = await testConfig({
      'store.postgresUrl': 'postgres://cra:s3cret@db:5432/cra',
      'redis.url': 'redis://:s3cret@cache:6379/0',
      'trace.hmacKey': HMAC_KEY,
    });
    const audited = configForAudit(config);
    const text = JSON.stringify(audited.config);
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain(HMAC_KEY);
    expect(audited.config).toMatchObject({
      rateLimit: config.rateLimit,
      resolver: config.resolver,
      trace: { hmacKey: REDACTED },
    });
    // The input is left alone.
    expect(config.trace.hmacKey).toBe(HMAC_KEY);
    // Same settings, same hash; one setting changed, another hash.
    expect(
      configForAudit(
        await testConfig({
          'trace.hmacKey': HMAC_KEY,
          'store.postgresUrl': 'postgres://cra:other@db:5432/cra',
          'redis.url': 'redis://:x@cache:6379/0',
        }),
      ).sha256,
    ).toBe(audited.sha256);
    expect(configForAudit(await testConfig({ 'trace.hmacKey': HMAC_KEY, 'rateLimit.requests': 7 })).sha256).not.toBe(
      audited.sha256,
    );
    expect(
      configForAudit(await testConfig({ 'server.instanceId': 'cra-runtime-7d9f-abcde', 'trace.hmacKey': HMAC_KEY }))
        .sha256,
    ).toBe(
      configForAudit(await testConfig({ 'server.instanceId': 'cra-runtime-7d9f-fghij', 'trace.hmacKey': HMAC_KEY }))
        .sha256,
    );
    expect(audited.sha256).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('the system session', () => {
  let rt: Runtime;
  beforeAll(async () => {
    rt = await testRuntime({ 'trace.hmacKey': HMAC_KEY });
  });
  afterAll(async () => {
    await rt?.close();
  });

  it('records startup, the configuration and the bundle, in that order', async () => {
    const sessions = (
      await rt.app.inject({ method: 'GET', url: '/v1/sessions?limit=500', headers: auth(KEYS.admin) })
    ).json<{ sessions: { session_id: string; agent_id: string }[] }>().sessions;
    const system = sessions.find((s) => s.agent_id.startsWith('system:'));
    expect(system).toBeDefined();
    const events = (
      await rt.app.inject({ method: 'GET', url: `/v1/traces/${system!.session_id}`, headers: auth(KEYS.admin) })
    ).json<{ events: TraceEvent[] }>().events;
    const types = events.map((e) => e.event_type);
    expect(types.slice(1, 4)).toEqual(['system.startup', 'system.config.loaded', 'atlas.bundle.loaded']);
    const loaded = events.find((e) => e.event_type === 'system.config.loaded')!;
    const expected = configForAudit(rt.config);
    // The payload went through TRACE redaction like any other (§6.5: addresses are masked).
    expect(loaded.payload).toMatchObject({
      config_sha256: expected.sha256,
      config: {
        rateLimit: expected.config['rateLimit'],
        resolver: expected.config['resolver'],
        atlases: expected.config['atlases'],
        trace: { hmacKey: REDACTED },
      },
    });
    expect(JSON.stringify(loaded.payload)).not.toContain(HMAC_KEY);
    expect(loaded.severity).toBe('info');
  });
});
