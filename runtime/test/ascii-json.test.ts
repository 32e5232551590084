/**
 * JSON as ASCII: the bytes the Redis stores write (json-bytes.ts) — the same JSON value
 * as JSON.stringify, pure ASCII, the members of an answer serialised once for its two writes — and
 * large JSON answers over HTTP (plugins/ascii-json.ts).
 */
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { asciiJson } from '../src/ascii-json.js';
import { asciiJsonPayload } from '../src/plugins/ascii-json.js';
import { jsonBytes } from '../src/json-bytes.js';

const roundTrip = (value: unknown) => JSON.parse(JSON.stringify(value)) as unknown;

describe('jsonBytes', () => {
  it('is the JSON of the value, with every non-ASCII character escaped', () => {
    const value = {
      title: 'Scale → 5 replicas – now',
      nested: { emoji: '🙂', latin1: 'ü', quote: '"', backslash: '\\', newline: '\n', lone: '\ud800' },
      list: [1, 'two', null, true, { deep: ['→'] }],
      skipped: undefined,
      fn: () => 1,
      when: new Date(0),
      n: 1.5,
    };
    for (const levels of [0, 1, 2, 3]) {
      const bytes = jsonBytes(value, levels);
      expect(bytes.every((b) => b < 0x80)).toBe(true);
      expect(JSON.parse(bytes.toString('utf8'))).toEqual(roundTrip(value));
    }
    expect(JSON.parse(jsonBytes('→ x', 1).toString('utf8'))).toBe('→ x');
    expect(JSON.parse(jsonBytes([{ a: '→' }], 2).toString('utf8'))).toEqual([{ a: '→' }]);
    // Members JSON.stringify leaves out or writes as null, in arrays and objects alike.
    const odd = { a: [undefined, () => 1, Symbol('s'), NaN, -0, Infinity], b: Symbol('s'), c: { toJSON: () => 'x' } };
    for (const levels of [0, 1, 2]) expect(jsonBytes(odd, levels).toString('latin1')).toBe(JSON.stringify(odd));
    expect(jsonBytes(Object.assign(Object.create(null) as object, { k: 1 }), 1).toString('latin1')).toBe('{"k":1}');
    expect(jsonBytes({ 2: 'b', 1: 'a', z: 1, ['é']: '→' }, 1).toString('latin1')).toBe(
      '{"1":"a","2":"b","z":1,"\\u00e9":"\\u2192"}',
    );
    expect(asciiJson('"plain"')).toBe('"plain"');
    expect(asciiJson('"a→b"')).toBe('"a\\u2192b"');
  });

  it('gives a record holding a copy of an answer the same bytes as serialising it from scratch', () => {
    const blocks = [{ id: 'b1', text: 'Read the runbook → then act' }];
    const answer = { resolution_id: 'r1', context_blocks: blocks, telemetry_link: { events_emitted: 0 } };
    const cached = jsonBytes(answer, 1);
    // The record's resolution is a new object sharing the answer's members but for telemetry_link.
    const record = {
      resolution: { ...answer, telemetry_link: { events_emitted: 7 } },
      agent_id: 'a',
      risk_tier: 'low',
    };
    const stored = jsonBytes(record, 2);
    expect(JSON.parse(stored.toString('utf8'))).toEqual(roundTrip(record));
    expect(JSON.parse(cached.toString('utf8'))).toEqual(roundTrip(answer));
  });

  it('refuses a value JSON cannot represent, and cycles', () => {
    expect(() => jsonBytes(undefined)).toThrow(TypeError);
    expect(() => jsonBytes(1n)).toThrow(TypeError);
    const cycle: Record<string, unknown> = {};
    cycle['self'] = cycle;
    expect(() => jsonBytes(cycle)).toThrow(TypeError);
  });
});

describe('large JSON answers over HTTP', () => {
  it('go out as ASCII bytes of the same JSON; small, pure-ASCII and non-JSON answers are left alone', async () => {
    const app = Fastify();
    app.addHook('onSend', asciiJsonPayload);
    const big = { text: 'Scale → 5 replicas – now 🙂 ü '.repeat(400), n: 1 };
    app.get('/big', async () => big);
    app.get('/small', async () => ({ text: 'a → b' }));
    app.get('/ascii', async () => ({ text: 'plain '.repeat(2000) }));
    app.get('/html', async (_req, reply) => reply.type('text/html; charset=utf-8').send(`<p>${'→'.repeat(5000)}</p>`));
    try {
      const res = await app.inject({ method: 'GET', url: '/big' });
      expect(res.rawPayload.every((b) => b < 0x80)).toBe(true);
      expect(Number(res.headers['content-length'])).toBe(res.rawPayload.length);
      expect(res.headers['content-type']).toMatch(/^application\/json/);
      expect(res.json()).toEqual(big);
      expect((await app.inject({ method: 'GET', url: '/small' })).body).toBe('{"text":"a → b"}');
      expect((await app.inject({ method: 'GET', url: '/ascii' })).json()).toEqual({ text: 'plain '.repeat(2000) });
      expect((await app.inject({ method: 'GET', url: '/html' })).body).toBe(`<p>${'→'.repeat(5000)}</p>`);
    } finally {
      await app.close();
    }
  });
});
