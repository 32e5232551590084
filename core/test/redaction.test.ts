import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CraError } from '../src/errors.js';
import type { RedactionRule } from '../src/policy/types.js';
import {
  DETECTOR_NAMES,
  DETECTORS,
  compileScanner,
  detectorRegExp,
  isIpv4,
  isIpv6,
  luhnValid,
  type DetectorName,
} from '../src/redaction/detectors.js';
import { DEFAULT_SENSITIVE_KEYS, createRedactor, type RedactorConfig } from '../src/redaction/engine.js';
import { compilePathPattern } from '../src/redaction/paths.js';

/** Runs one detector alone over a string. */
function only(name: DetectorName, text: string): string {
  return createRedactor({ detectors: [name], sensitiveKeys: [] }).redactText(text);
}

function configError(config: RedactorConfig): CraError {
  try {
    createRedactor(config);
  } catch (err) {
    if (err instanceof CraError) return err;
    throw err;
  }
  throw new Error('expected the configuration to be refused');
}

// Strings every TRACE payload is full of: none may be touched by any detector.
const TRACE_NOISE = [
  '018f6b1c-0000-7000-8000-0000000000a1', // UUIDv7
  '01968a2c-3b1f-7c4e-9d2a-123456789012', // UUIDv7 with a long digit run
  'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855', // SHA-256
  '0123456789012345678901234567890123456789012345678901234567890123', // 64 hex, all digits
  '4bf92f3577b34da6a3ce929d0e0e4736', // trace id
  '00f067aa0ba902b7', // span id
  '2026-01-01T00:00:00.000Z',
  '2026-03-14T15:09:26.535+01:00',
  '2026-01-01 12:30:45',
  '1.0',
  '1.2.3',
  '10.20.30',
  '1.2.3-rc.1+build.5',
  'v2.14.0',
  '0',
  '42',
  '1735689600', // epoch seconds
  '1735689600000', // epoch milliseconds
  '1735689600000000', // epoch microseconds
  '1735689600000000000', // epoch nanoseconds
  'sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  'default/github-ops@1.0.0',
  'api.github.create_issue',
  'carp.action.approval.pending',
  'allow_with_constraints',
  '12:30:45',
  '00:1A:2B:3C:4D:5E',
  'std::vector<int>',
  'max_tokens=4096',
  'token_count: 12',
  'The agent opened 3 issues in 2 repositories.',
  'request 018f6b1c-0000-7000-8000-0000000000a1 at 2026-01-01T00:00:00.000Z took 12.5 ms (seq 1234567)',
];

describe('detectors: no false positives on TRACE noise', () => {
  it.each(TRACE_NOISE)('leaves %s untouched', (text) => {
    const redactor = createRedactor({});
    expect(redactor.redactText(text)).toBe(text);
    expect(redactor.redact({ value: text })).toEqual({ value: { value: text }, redactions: [] });
  });

  it('never redacts UUIDs, hex hashes or ISO timestamps (generated)', () => {
    const redactor = createRedactor({});
    const noise = fc.oneof(
      fc.uuid({ version: 7 }),
      fc.stringMatching(/^[0-9a-f]{64}$/),
      fc.stringMatching(/^[0-9a-f]{32}$/),
      fc
        .date({ min: new Date(0), max: new Date(Date.UTC(2200, 0, 1)), noInvalidDate: true })
        .map((d) => d.toISOString()),
      fc.tuple(fc.nat(99), fc.nat(99), fc.nat(99)).map(([a, b, c]) => `${a}.${b}.${c}`),
      fc.nat().map(String),
    );
    fc.assert(
      fc.property(fc.array(noise, { minLength: 1, maxLength: 4 }), (parts) => {
        const text = parts.join(', ');
        expect(redactor.redactText(text)).toBe(text);
      }),
      { numRuns: 500 },
    );
  });
});

describe('detector: email', () => {
  it.each([
    ['alice@example.com', '[EMAIL_REDACTED]'],
    ['mail Alice.Smith+tag@mail.example.co.uk today', 'mail [EMAIL_REDACTED] today'],
    ['a@b.io, c@d.org.', '[EMAIL_REDACTED], [EMAIL_REDACTED].'],
  ])('%s', (text, out) => expect(only('email', text)).toBe(out));
  it.each(['user@localhost', 'default/github-ops@1.0.0', '@handle', 'x@y', 'name@domain.c'])('not %s', (text) =>
    expect(only('email', text)).toBe(text),
  );
});

describe('detector: phone', () => {
  it.each([
    '+44 20 7946 0958',
    '+14155552671',
    '+49 (30) 123456',
    '(415) 555-2671',
    '415-555-2671',
    '415.555.2671',
    '+1 415-555-2671',
  ])('%s', (text) => expect(only('phone', `call ${text} now`)).toBe('call [PHONE_REDACTED] now'));
  it.each([
    '4155552671', // bare digits: more often an epoch or an id than a phone
    '1735689600000',
    '+12345', // too short
    '2026-01-01T00:00:00+01:00',
    '12-34-56',
    '1.2.3.4',
  ])('not %s', (text) => expect(only('phone', text)).toBe(text));
});

describe('detector: ssn', () => {
  it.each(['123-45-6789', 'ssn 123 45 6789'])('%s', (text) =>
    expect(only('ssn', text)).toBe(text.replace(/\d.*/, '[SSN_REDACTED]')),
  );
  it.each(['123456789', '000-12-3456', '666-12-3456', '123-00-6789', '123-45-0000', '123-45 6789', '2026-01-01'])(
    'not %s',
    (text) => expect(only('ssn', text)).toBe(text),
  );
});

describe('detector: payment_card (Luhn-checked)', () => {
  it.each([
    '4111111111111111',
    '4111 1111 1111 1111',
    '4111-1111-1111-1111',
    '5555555555554444',
    '378282246310005',
    '3782 822463 10005',
    '3056 930902 5904', // Diners 4-6-4
    '6011111111111117',
    '4222222222222', // 13 digits
  ])('%s', (text) => expect(only('payment_card', `card ${text}.`)).toBe('card [CARD_REDACTED].'));
  it.each([
    '4111111111111112', // Luhn-invalid
    '4111 1111 1111 1112',
    '514763598 1751243328', // two numbers side by side, Luhn-valid together
    '4111 1111-1111 1111', // mixed separators
    '41 1111 1111 111111',
    '1735689600000', // epoch ms: issuer digit 1
    '1234567812345670', // Luhn-valid but issuer digit 1
    '411111111111', // 12 digits
    '41111111111111111111', // 20 digits
    'abc4111111111111111', // glued to a word
    '4111111111111111abc',
  ])('not %s', (text) => expect(only('payment_card', text)).toBe(text));

  /** Appends the Luhn check digit. */
  const luhn = (body: string): string => {
    for (let d = 0; d <= 9; d++) if (luhnValid(`${body}${d}`)) return `${body}${d}`;
    throw new Error('unreachable');
  };

  it('requires a length that fits the issuer prefix', () => {
    expect(only('payment_card', luhn('411111111111111111'))).toBe('[CARD_REDACTED]'); // Visa 19
    expect(only('payment_card', luhn('41111111111111'))).toMatch(/^\d{15}$/); // Visa 15
    expect(only('payment_card', luhn('371111111111111'))).toMatch(/^\d{16}$/); // Amex 16
    expect(only('payment_card', luhn('222100000000000'))).toBe('[CARD_REDACTED]'); // Mastercard 2-series
    expect(only('payment_card', luhn('202601010000000'))).toMatch(/^\d{16}$/); // 2026… is no issuer
  });

  it('scans strings only: numbers in JSON stay numbers (keys and rules cover them)', () => {
    const input = { sequence: 4111111111111111, n: 5555555555554444 };
    expect(createRedactor({}).redact(input)).toEqual({ value: input, redactions: [] });
  });

  it('known trade-off: a bare Luhn-valid number that fits an issuer is treated as a card', () => {
    expect(only('payment_card', `id ${luhn('628151899158518')} ok`)).toBe('id [CARD_REDACTED] ok');
  });

  it('luhnValid', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
    expect(luhnValid('')).toBe(false);
    expect(luhnValid('12a4')).toBe(false);
  });
});

describe('detector: api_key', () => {
  it.each([
    'sk-abcdefghijklmnop1234567890',
    'sk-proj-Abc123_def456-ghi789jkl012mno345',
    'sk-ant-api03-abcdefghij0123456789',
    'sk_live_abcdefghij1234',
    `ghp_${'a1B2'.repeat(9)}`,
    `gho_${'Z9'.repeat(18)}`,
    `ghs_${'x0'.repeat(18)}`,
    `ghu_${'Q7'.repeat(18)}`,
    'github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz',
    'AKIAIOSFODNN7EXAMPLE',
    'ASIAY34FZKBOKMUTVV7A',
  ])('%s', (key) => expect(only('api_key', `key ${key} here`)).toBe('key [API_KEY_REDACTED] here'));

  it.each([
    ['api_key=abc123secret', 'api_key=[API_KEY_REDACTED]'],
    ['X-Api-Key: zzz999', 'X-Api-Key: [API_KEY_REDACTED]'],
    ['openai_apikey = "sk live"', 'openai_apikey = "[API_KEY_REDACTED]"'],
  ])('keeps the key name of %s', (text, out) => expect(only('api_key', text)).toBe(out));

  it.each([
    'sk-learn',
    'sk-abcdefghijklmnopqrstuvwxyz', // no digit: a slug, not a key
    'task-0123456789abcdefghijklmnop',
    'ghp_short',
    'akiaiosfodnn7example',
    'AKIAIOSFODNN7EXAMPLE1', // 17 characters after the prefix
  ])('not %s', (text) => expect(only('api_key', text)).toBe(text));
});

describe('detector: jwt', () => {
  const jwt =
    'eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U';
  it('a signed token', () => expect(only('jwt', `Bearer ${jwt}`)).toBe('Bearer [JWT_REDACTED]'));
  it('an unsigned token', () => expect(only('jwt', 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.')).toBe('[JWT_REDACTED]'));
  it.each(['eyJhbGciOiJIUzI1NiJ9', 'eyJ.x.y', 'abc.def.ghi', 'xeyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIx.abc'])(
    'not %s',
    (text) => expect(only('jwt', text)).toBe(text),
  );
});

describe('detectors: ipv4 and ipv6', () => {
  it.each(['192.168.1.10', '10.0.0.1', '0.0.0.0', '255.255.255.255'])('ipv4 %s', (ip) =>
    expect(only('ipv4', `from ${ip}.`)).toBe('from [IP_REDACTED].'),
  );
  it.each(['256.1.1.1', '1.2.3', '1.2.3.4.5', 'v1.2.3.4', '01.2.3.4', '1.3.6.1.4.1'])('not ipv4 %s', (text) =>
    expect(only('ipv4', text)).toBe(text),
  );
  it.each([
    '2001:db8::8a2e:370:7334',
    '2001:0db8:85a3:0000:0000:8a2e:0370:7334',
    '::1',
    'fe80::',
    '::ffff:192.0.2.128',
  ])('ipv6 %s', (ip) => expect(only('ipv6', `from ${ip} ok`)).toBe('from [IP_REDACTED] ok'));
  it.each([
    '12:30:45',
    '00:1A:2B:3C:4D:5E',
    'std::vector',
    '::',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    'gggg::1',
    '2026-01-01T10:20:30Z',
  ])('not ipv6 %s', (text) => expect(only('ipv6', text)).toBe(text));
  it('isIpv4 / isIpv6', () => {
    expect(isIpv4('127.0.0.1')).toBe(true);
    expect(isIpv4('127.0.0.01')).toBe(false);
    expect(isIpv6('1:2:3:4:5:6:7:8')).toBe(true);
    expect(isIpv6('1:2:3:4:5:6:7')).toBe(false);
    expect(isIpv6('1:2:3:4:5:6:1.2.3.4')).toBe(true);
    expect(isIpv6('1:2:3:4:5:6:7:1.2.3.4')).toBe(false);
    expect(isIpv6(':::1')).toBe(false);
  });
});

describe('detector: credential_pair (the key is kept, the value redacted)', () => {
  it.each([
    ['password=hunter2', 'password=[REDACTED]'],
    ['PASSWORD: hunter2', 'PASSWORD: [REDACTED]'],
    ['db_password: "s3cr3t with spaces"', 'db_password: "[REDACTED]"'],
    ["secret='x'", "secret='[REDACTED]'"],
    ['{"token":"abc","x":1}', '{"token":"[REDACTED]","x":1}'],
    ['Authorization: Bearer abc.def', 'Authorization: [REDACTED]'],
    ['https://x.test/cb?access_token=abc&state=1', 'https://x.test/cb?access_token=[REDACTED]&state=1'],
    ['clientSecret = abc; next', 'clientSecret = [REDACTED]; next'],
    ['passwd=p private_key: k', 'passwd=[REDACTED] private_key: [REDACTED]'],
  ])('%s', (text, out) => expect(only('credential_pair', text)).toBe(out));

  it.each([
    'tokens=5',
    'token_count=5',
    'max_tokens: 4096',
    'secretary: Bob',
    'password',
    'password=',
    'password=[REDACTED]',
  ])('not %s', (text) => expect(only('credential_pair', text)).toBe(text));
});

describe('detectors: catalogue and combined scan', () => {
  it('every detector is named, has a marker and compiles on its own (non-global)', () => {
    for (const name of DETECTOR_NAMES) {
      const d = DETECTORS[name];
      expect(d.name).toBe(name);
      expect(d.marker).toMatch(/^\[[A-Z_]+\]$/);
      const re = detectorRegExp(name);
      expect(re.global).toBe(false);
      expect(re.sticky).toBe(false);
    }
  });

  it('gives the same answer on repeated calls (no lastIndex state, unlike v0.1)', () => {
    const redactor = createRedactor({});
    const text = 'mail alice@example.com or 4111111111111111';
    const first = redactor.redactText(text);
    for (let i = 0; i < 5; i++) expect(redactor.redactText(text)).toBe(first);
    expect(first).toBe('mail [EMAIL_REDACTED] or [CARD_REDACTED]');
  });

  it('scans once: several detectors in one string, reported once each, in order of firing', () => {
    const scanner = compileScanner([...DETECTOR_NAMES])!;
    const result = scanner.scan('a@b.io 10.0.0.1 c@d.io password=x 4111111111111111');
    expect(result).toEqual({
      text: '[EMAIL_REDACTED] [IP_REDACTED] [EMAIL_REDACTED] password=[REDACTED] [CARD_REDACTED]',
      fired: ['email', 'ipv4', 'credential_pair', 'payment_card'],
    });
    expect(scanner.scan('nothing to see')).toBeUndefined();
    expect(compileScanner([])).toBeUndefined();
  });

  it('earlier detectors win where matches overlap (a pair owns its JWT value)', () => {
    expect(createRedactor({}).redactText('token=eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIx.c2ln')).toBe('token=[REDACTED]');
  });

  it('redacting twice changes nothing more (idempotent markers)', () => {
    const redactor = createRedactor({});
    const once = redactor.redact({ note: 'password=hunter2 mail a@b.io', password: 'x' });
    const twice = redactor.redact(once.value);
    expect(twice.value).toEqual(once.value);
    expect(twice.redactions).toEqual([]);
  });
});

describe('sensitive keys', () => {
  const redactor = createRedactor({});

  it('fully redacts values of sensitive keys, case-insensitively, snake/camel/kebab alike', () => {
    const input = {
      password: 'p',
      Password: 'p',
      apiKey: 'k',
      'api-key': 'k',
      API_KEY: 'k',
      client_secret: 's',
      clientSecret: 's',
      accessToken: 't',
      refresh_token: 't',
      Authorization: 'Bearer x',
      cookie: ['a=1', 'b=2'],
      private_key: { pem: '-----BEGIN' },
      ssn: '123-45-6789',
      credit_card: 4111111111111111,
      cardNumber: '4111',
      cvv: 123,
      pin: '0000',
      db_password: 'suffix match',
      github_token: 'suffix match',
    };
    const { value, redactions } = redactor.redact(input);
    for (const v of Object.values(value)) expect(v).toBe('[REDACTED]');
    expect(redactions).toHaveLength(Object.keys(input).length);
    expect(redactions[0]).toEqual({ rule: 'sensitive_key', path: 'password', mode: 'full' });
  });

  it('leaves look-alike keys alone', () => {
    const input = {
      tokens: 5,
      max_tokens: 4096,
      token_count: 2,
      spin: 'x',
      pinned: true,
      secretary: 'Bob',
      passwords_count: 1,
    };
    expect(redactor.redact(input)).toEqual({ value: input, redactions: [] });
  });

  it('keeps null and booleans (nothing to hide) and does not descend into redacted values', () => {
    const { value, redactions } = redactor.redact({ password: null, token: false, secret: { email: 'a@b.io' } });
    expect(value).toEqual({ password: null, token: false, secret: '[REDACTED]' });
    expect(redactions).toEqual([{ rule: 'sensitive_key', path: 'secret', mode: 'full' }]);
  });

  it('can be replaced or switched off', () => {
    expect(createRedactor({ sensitiveKeys: ['goal'] }).redact({ goal: 'x', password: 'y' }).value).toEqual({
      goal: '[REDACTED]',
      password: 'y',
    });
    expect(createRedactor({ sensitiveKeys: [] }).redact({ password: 'y' }).value).toEqual({ password: 'y' });
    expect(DEFAULT_SENSITIVE_KEYS).toContain('authorization');
  });
});

describe('policy rules', () => {
  const payload = {
    parameters: { email: 'alice@example.com', card: '4111111111111111', name: 'Alice Example', tags: ['a', 'b'] },
    recipients: [
      { email: 'bob@example.com', name: 'Bob' },
      { email: 'carol@example.com', name: 'Carol' },
    ],
    note: 'short',
  };
  const withRule = (rule: RedactionRule, extra: RedactorConfig = {}) =>
    createRedactor({ detectors: [], rules: [rule], hmacKey: 'k'.repeat(32), ...extra }).redact(payload, 'payload');

  it('full', () => {
    const { value, redactions } = withRule({ id: 'r1', path: 'payload.parameters.email', mode: 'full' });
    expect(value.parameters.email).toBe('[REDACTED]');
    expect(redactions).toEqual([{ rule: 'r1', path: 'payload.parameters.email', mode: 'full' }]);
  });

  it('partial: 4 at the end by default; showChars and start; all masked when not longer', () => {
    expect(withRule({ path: 'payload.parameters.card', mode: 'partial' }).value.parameters.card).toBe(
      '************1111',
    );
    expect(
      withRule({ path: 'payload.parameters.name', mode: 'partial', showChars: 3, showPosition: 'start' }).value
        .parameters.name,
    ).toBe('Ali**********');
    expect(withRule({ path: 'payload.note', mode: 'partial', showChars: 5 }).value.note).toBe('*****');
    expect(withRule({ path: 'payload.note', mode: 'partial', showChars: 0 }).value.note).toBe('*****');
  });

  it('partial counts characters, not UTF-16 units', () => {
    const out = createRedactor({ rules: [{ path: 'x', mode: 'partial', showChars: 2 }] }).redact({ x: 'Öl🙂🙂ab' });
    expect(out.value.x).toBe('****ab');
  });

  it('mask: `*` × min(length, 20)', () => {
    expect(withRule({ path: 'payload.parameters.name', mode: 'mask' }).value.parameters.name).toBe('*'.repeat(13));
    const long = createRedactor({ rules: [{ path: 'x', mode: 'mask' }] }).redact({ x: 'y'.repeat(100) });
    expect(long.value.x).toBe('*'.repeat(20));
  });

  it('hash: keyed HMAC-SHA-256, deterministic, different under another key', () => {
    const rule: RedactionRule = { path: 'payload.parameters.email', mode: 'hash' };
    const a = withRule(rule).value.parameters.email;
    const expected = createHmac('sha256', 'k'.repeat(32)).update('alice@example.com').digest('hex');
    expect(a).toBe(`[HASH:${expected}]`);
    expect(withRule(rule).value.parameters.email).toBe(a);
    expect(withRule(rule, { hmacKey: 'another-key-another-key' }).value.parameters.email).not.toBe(a);
    const unkeyed = createHmac('sha256', '').update('alice@example.com').digest('hex');
    expect(a).not.toContain(unkeyed);
  });

  it('hash: containers hash by canonical JSON (key order does not matter)', () => {
    const redactor = createRedactor({ rules: [{ path: 'x', mode: 'hash' }], hmacKey: 'secret-key' });
    expect(redactor.redact({ x: { a: 1, b: 2 } }).value.x).toBe(redactor.redact({ x: { b: 2, a: 1 } }).value.x);
  });

  it('hash without a key is refused when the redactor is built, naming the rule', () => {
    for (const hmacKey of [undefined, '']) {
      const err = configError({
        rules: [{ id: 'pii-email', path: 'payload.email', mode: 'hash' }],
        ...(hmacKey === undefined ? {} : { hmacKey }),
      });
      expect(err.code).toBe('INVALID_REQUEST');
      expect(err.message).toContain('pii-email');
      expect(err.details).toMatchObject({ rule: 'pii-email', violations: [{ path: '/rules/0/mode' }] });
    }
    expect(configError({ rules: [{ path: 'payload.ssn', mode: 'hash' }] }).message).toContain('path:payload.ssn');
  });

  it('remove: the member disappears (and array elements are dropped)', () => {
    const { value, redactions } = withRule({ path: 'payload.parameters.email', mode: 'remove' });
    expect(value.parameters).not.toHaveProperty('email');
    expect(redactions).toEqual([
      { rule: 'path:payload.parameters.email', path: 'payload.parameters.email', mode: 'remove' },
    ]);
    const tags = withRule({ path: 'payload.parameters.tags.0', mode: 'remove' }).value.parameters.tags;
    expect(tags).toEqual(['b']);
  });

  it('wildcards: `*` one segment (array indices included), `**` any depth', () => {
    const one = withRule({ path: 'payload.recipients.*.email', mode: 'full' });
    expect(one.value.recipients.map((r) => r.email)).toEqual(['[REDACTED]', '[REDACTED]']);
    expect(one.value.parameters.email).toBe('alice@example.com');
    expect(one.redactions.map((r) => r.path)).toEqual(['payload.recipients.0.email', 'payload.recipients.1.email']);

    const any = withRule({ path: '**.email', mode: 'mask' });
    expect(any.redactions.map((r) => r.path)).toEqual([
      'payload.parameters.email',
      'payload.recipients.0.email',
      'payload.recipients.1.email',
    ]);
    expect(withRule({ path: 'payload.*.email', mode: 'full' }).redactions.map((r) => r.path)).toEqual([
      'payload.parameters.email',
    ]);
  });

  it('a rule on a container replaces it whole; partial and mask of a container fall back to full', () => {
    expect(withRule({ path: 'payload.parameters', mode: 'full' }).value.parameters).toBe('[REDACTED]');
    expect(withRule({ path: 'payload.recipients', mode: 'mask' }).value.recipients).toBe('[REDACTED]');
  });

  it('numbers are redacted by their text', () => {
    const out = createRedactor({ rules: [{ path: 'n', mode: 'partial', showChars: 2 }] }).redact({ n: 123456 });
    expect(out.value.n).toBe('****56');
  });

  it('the strictest rule matching a path wins (remove > full > mask > hash > partial), ties to the first', () => {
    const rules: RedactionRule[] = [
      { id: 'loose', path: 'payload.parameters.email', mode: 'partial' },
      { id: 'hashed', path: '**.email', mode: 'hash' },
      { id: 'masked', path: 'payload.*.email', mode: 'mask' },
      { id: 'masked-too', path: 'payload.parameters.*', mode: 'mask' },
      { id: 'removed', path: 'payload.**.email', mode: 'remove' },
    ];
    const run = (list: RedactionRule[]) =>
      createRedactor({ rules: list, hmacKey: 'key' }).redact({ parameters: { email: 'a@b.io' } }, 'payload').redactions;
    expect(run(rules)).toEqual([{ rule: 'removed', path: 'payload.parameters.email', mode: 'remove' }]);
    expect(run(rules.slice(0, 4))).toEqual([{ rule: 'masked', path: 'payload.parameters.email', mode: 'mask' }]);
    expect(run(rules.slice(0, 2))).toEqual([{ rule: 'hashed', path: 'payload.parameters.email', mode: 'hash' }]);
  });

  it('a rule on a container applies before rules on its members (top-down)', () => {
    const rules: RedactionRule[] = [
      { id: 'container', path: 'payload.parameters', mode: 'full' },
      { id: 'member', path: 'payload.parameters.email', mode: 'remove' },
    ];
    const { value, redactions } = createRedactor({ rules }).redact({ parameters: { email: 'a@b.io' } }, 'payload');
    expect(value).toEqual({ parameters: '[REDACTED]' });
    expect(redactions).toEqual([{ rule: 'container', path: 'payload.parameters', mode: 'full' }]);
  });

  it('rules come before sensitive keys and detectors', () => {
    const redactor = createRedactor({ rules: [{ id: 'keep-4', path: 'password', mode: 'partial' }] });
    expect(redactor.redact({ password: 'hunter2!' }).value).toEqual({ password: '****er2!' });
  });

  it('a rule never turns a missing or null value into a marker', () => {
    const { value, redactions } = withRule({ path: 'payload.parameters.missing', mode: 'full' });
    expect(value.parameters).not.toHaveProperty('missing');
    expect(redactions).toEqual([]);
    const nulls = createRedactor({ rules: [{ path: 'x', mode: 'full' }] }).redact({ x: null });
    expect(nulls).toEqual({ value: { x: null }, redactions: [] });
  });

  it('rejects a malformed configuration, naming the member', () => {
    const cases: [RedactorConfig, string][] = [
      [{ detectors: ['email', 'telepathy'] }, '/detectors/1'],
      [{ rules: [{ path: '', mode: 'full' }] }, '/rules/0/path'],
      [{ rules: [{ path: 'a..b', mode: 'full' }] }, '/rules/0/path'],
      [{ rules: [{ path: 'a', mode: 'scramble' as 'full' }] }, '/rules/0/mode'],
      [{ rules: [{ path: 'a', mode: 'partial', showChars: -1 }] }, '/rules/0/showChars'],
      [{ rules: [{ path: 'a', mode: 'partial', showPosition: 'middle' as 'end' }] }, '/rules/0/showPosition'],
    ];
    for (const [config, path] of cases) {
      const err = configError(config);
      expect(err.code).toBe('INVALID_REQUEST');
      expect(err.details?.['violations']).toEqual([{ path, message: expect.any(String) }]);
    }
  });
});

describe('the engine', () => {
  const redactor = createRedactor({ rules: [{ id: 'goal', path: 'payload.goal', mode: 'mask' }] });
  const event = {
    goal: 'Email alice@example.com about 4111 1111 1111 1111',
    parameters: {
      to: ['bob@example.com', 'not an address'],
      headers: { Authorization: 'Bearer abc', 'X-Request-Id': '018f6b1c-0000-7000-8000-0000000000a1' },
      body: { text: 'call +44 20 7946 0958', nested: [[{ ip: '10.1.2.3' }]] },
    },
    count: 3,
    ok: true,
    none: null,
    hash: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
  };

  it('walks nested objects and arrays, recording rule and dotted path, never the secret', () => {
    const { value, redactions } = redactor.redact(event, 'payload');
    expect(value).toEqual({
      goal: '*'.repeat(20),
      parameters: {
        to: ['[EMAIL_REDACTED]', 'not an address'],
        headers: { Authorization: '[REDACTED]', 'X-Request-Id': '018f6b1c-0000-7000-8000-0000000000a1' },
        body: { text: 'call [PHONE_REDACTED]', nested: [[{ ip: '[IP_REDACTED]' }]] },
      },
      count: 3,
      ok: true,
      none: null,
      hash: event.hash,
    });
    expect(redactions).toEqual([
      { rule: 'goal', path: 'payload.goal', mode: 'mask' },
      { rule: 'email', path: 'payload.parameters.to.0', mode: 'pattern' },
      { rule: 'sensitive_key', path: 'payload.parameters.headers.Authorization', mode: 'full' },
      { rule: 'phone', path: 'payload.parameters.body.text', mode: 'pattern' },
      { rule: 'ipv4', path: 'payload.parameters.body.nested.0.0.ip', mode: 'pattern' },
    ]);
    const recorded = JSON.stringify(redactions);
    for (const secret of ['alice', 'bob@', 'Bearer', '7946', '10.1.2.3']) expect(recorded).not.toContain(secret);
  });

  it('is pure: the input is not mutated and the output shares no container with it', () => {
    const input = structuredClone(event);
    const { value } = redactor.redact(input, 'payload');
    expect(input).toEqual(event);
    expect(value.parameters).not.toBe(input.parameters);
    expect(value.parameters.body.nested[0]).not.toBe(input.parameters.body.nested[0]);
  });

  it('paths are relative to the root without a base path', () => {
    const { redactions } = createRedactor({}).redact({ a: [{ email: 'x@y.io' }] });
    expect(redactions).toEqual([{ rule: 'email', path: 'a.0.email', mode: 'pattern' }]);
  });

  it('redacts a bare string or array root', () => {
    const r = createRedactor({});
    expect(r.redact('mail a@b.io')).toEqual({
      value: 'mail [EMAIL_REDACTED]',
      redactions: [{ rule: 'email', path: '', mode: 'pattern' }],
    });
    expect(r.redact(['a@b.io', 1]).value).toEqual(['[EMAIL_REDACTED]', 1]);
    expect(r.redact(42)).toEqual({ value: 42, redactions: [] });
  });

  it('handles a `__proto__` member as data, without polluting prototypes', () => {
    const input = JSON.parse('{"__proto__": {"email": "a@b.io"}, "x": 1}') as Record<string, unknown>;
    const { value } = createRedactor({}).redact(input);
    expect(Object.keys(value)).toEqual(['__proto__', 'x']);
    expect(Object.getOwnPropertyDescriptor(value, '__proto__')?.value).toEqual({ email: '[EMAIL_REDACTED]' });
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
  });

  it('runs no detectors with detectors: []', () => {
    expect(createRedactor({ detectors: [] }).redact({ a: 'a@b.io' }).value).toEqual({ a: 'a@b.io' });
  });

  it('never throws on arbitrary JSON, and leaves values without secrets alone', () => {
    const r = createRedactor({ rules: [{ path: '**.x', mode: 'hash' }], hmacKey: 'key' });
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (value) => {
        const before = JSON.stringify(value);
        const { value: out, redactions } = r.redact(value, 'payload');
        expect(JSON.stringify(value)).toBe(before);
        if (redactions.length === 0) expect(out).toEqual(value);
      }),
      { numRuns: 300 },
    );
  });
});

describe('paths', () => {
  it.each([
    ['a.b.c', 'a.b.c', true],
    ['a.b.c', 'a.b', false],
    ['a.*.c', 'a.x.c', true],
    ['a.*.c', 'a.c', false],
    ['a.**.c', 'a.c', true],
    ['a.**.c', 'a.x.y.c', true],
    ['**', '', true],
    ['**', 'a.b', true],
    ['**.c', 'c', true],
    ['a.**', 'a', true],
    ['a.*_at', 'a.created_at', true],
    ['a.*_at', 'a.created', false],
    ['a.**.b.**.c', 'a.x.b.y.z.c', true],
    ['a.**.b.**.c', 'a.x.c', false],
  ])('%s matches %s: %s', (pattern, path, expected) => {
    expect(compilePathPattern(pattern)(path === '' ? [] : path.split('.'))).toBe(expected);
  });
});
