/**
 * Built-in secret and PII detectors (CRA-SPEC §6.5). Each detector is a named entry with a
 * regex source and a decision function; `compileScanner` joins the enabled ones into ONE
 * alternation so a string is scanned once, left to right, whatever the number of detectors.
 *
 * TRACE payloads are full of UUIDs, hex hashes, ISO timestamps, semver strings and sequence
 * numbers; every pattern is bounded by look-arounds so that none of those is redacted:
 * - digits glued to letters, `-` or `.` (hashes, UUID segments) never start or end a match;
 * - phone numbers need separators (a bare 10-digit run is more often an epoch than a phone),
 *   and a leading `+` for the international form;
 * - payment cards need 13–19 digits whose length fits the issuer prefix (Visa 4…, Mastercard
 *   51–55/2221–2720, Amex 34/37, …), issuer grouping when separated, and a valid Luhn check, so
 *   epoch times (`17…`) and two numbers side by side are left alone. A bare Luhn-valid number
 *   that fits an issuer is indistinguishable from a card and is redacted;
 * - IPv6 needs a structurally valid address (8 groups, or `::` compression), so `12:30:45`
 *   and MAC addresses are not addresses.
 *
 * The combined regex is global, which is safe only because it is used exclusively through
 * `String.prototype.replace`, which resets `lastIndex` (v0.1's `hasSensitiveData` used
 * `.test()` on global regexes and returned alternating answers). The per-detector regexes
 * exported for tests are non-global.
 */

export const DETECTOR_NAMES = [
  'jwt',
  'api_key',
  'credential_pair',
  'email',
  'payment_card',
  'ssn',
  'phone',
  'ipv6',
  'ipv4',
] as const;
export type DetectorName = (typeof DETECTOR_NAMES)[number];

export interface Detector {
  readonly name: DetectorName;
  /** What a match becomes (pairs keep their key: `password=[REDACTED]`). */
  readonly marker: string;
  /** Regex source; its only capture groups are named and prefixed with the detector's name. */
  readonly source: string;
  /** Length of the shortest string this detector can match. */
  readonly minLength: number;
  /** The replacement for a candidate match, or `undefined` to leave the candidate as it is. */
  readonly replace: (match: string, groups: Readonly<Record<string, string | undefined>>) => string | undefined;
}

export const REDACTED_MARKER = '[REDACTED]';

/** `[pP][aA]…`: case-insensitive letters without the `i` flag, which would leak into every detector. */
function ci(word: string): string {
  return word.replace(/[a-z]/gi, (c) => `[${c.toLowerCase()}${c.toUpperCase()}]`);
}

const WORD = 'A-Za-z0-9_';

/** `key=value`, `key: value`, `"key": "value"`; the key is kept, the value replaced. */
function pairSource(name: string, keys: string): string {
  const value = `"[^"\\n]+"|'[^'\\n]+'|(?:(?:${ci('bearer')}|${ci('basic')}|${ci('token')})\\s+)?[^\\s"'&,;]+`;
  return `(?<![${WORD}-])(?<${name}_k>[${WORD}-]*?(?:${keys})["']?\\s*[:=]\\s*)(?<${name}_v>${value})`;
}

function replacePair(name: string, marker: string) {
  return (_match: string, groups: Readonly<Record<string, string | undefined>>): string | undefined => {
    const key = groups[`${name}_k`] ?? '';
    const value = groups[`${name}_v`] ?? '';
    const quote = value.startsWith('"') || value.startsWith("'") ? value.charAt(0) : '';
    const bare = quote === '' ? value : value.slice(1, -1);
    if (bare === marker || bare === REDACTED_MARKER) return undefined;
    return `${key}${quote}${marker}${quote}`;
  };
}

const always = (marker: string) => (): string | undefined => marker;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (d < 0 || d > 9) return false;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

export function isIpv4(text: string): boolean {
  const parts = text.split('.');
  return parts.length === 4 && parts.every((p) => /^(?:0|[1-9]\d{0,2})$/.test(p) && Number(p) <= 255);
}

export function isIpv6(text: string): boolean {
  if (text === '::' || text.includes(':::')) return false;
  let body = text;
  let extra = 0;
  const lastColon = text.lastIndexOf(':');
  if (text.slice(lastColon + 1).includes('.')) {
    if (!isIpv4(text.slice(lastColon + 1))) return false;
    body = text.slice(0, lastColon + 1) + '0';
    extra = 1; // the IPv4 tail stands for two groups; '0' above holds one of them
  }
  const halves = body.split('::');
  if (halves.length > 2) return false;
  const groups = halves.map((half) => (half === '' ? [] : half.split(':')));
  if (!groups.every((list) => list.every((g) => /^[0-9A-Fa-f]{1,4}$/.test(g)))) return false;
  const count = groups.reduce((n, list) => n + list.length, 0) + extra;
  return halves.length === 2 ? count <= 7 : count === 8;
}

const LONG = [13, 14, 15, 16, 17, 18, 19];
/** Issuer prefixes (IIN ranges, inclusive, compared on as many digits as `from` has) and lengths. */
const ISSUERS: ReadonlyArray<readonly [from: number, to: number, lengths: readonly number[]]> = [
  [4, 4, [13, 16, 19]], // Visa
  [51, 55, [16]], // Mastercard
  [2221, 2720, [16]], // Mastercard 2-series
  [34, 34, [15]], // Amex
  [37, 37, [15]], // Amex
  [300, 305, LONG.slice(1)], // Diners Club
  [36, 36, LONG.slice(1)], // Diners Club
  [38, 39, LONG.slice(1)], // Diners Club
  [3528, 3589, LONG.slice(3)], // JCB
  [50, 50, LONG], // Maestro
  [56, 59, LONG], // Maestro
  [6, 6, LONG], // Discover, UnionPay, RuPay, Maestro
];

/** Whether the number's length fits its issuer prefix; other prefixes are not cards. */
function issuerLength(digits: string): boolean {
  return ISSUERS.some(([from, to, lengths]) => {
    const prefix = Number(digits.slice(0, String(from).length));
    return prefix >= from && prefix <= to && lengths.includes(digits.length);
  });
}

/**
 * Separated card numbers are written in their issuers' groups with one separator throughout:
 * 4-4-4-4 (plus a last group of 1–3 for 17–19 digits, or 4-4-4-1 for 13), Amex 4-6-5, Diners
 * 4-6-4. Two unrelated numbers side by side ("514763598 1751243328") are not a card.
 */
function cardGrouping(match: string): boolean {
  const separators = match.match(/[ -]/g);
  if (separators === null) return true;
  if (new Set(separators).size !== 1) return false;
  const lengths = match.split(/[ -]/).map((g) => g.length);
  const last = lengths[lengths.length - 1] as number;
  const leading = lengths.slice(0, -1);
  if (leading.length >= 3 && leading.every((n) => n === 4) && last >= 1 && last <= 4) return true;
  return lengths.length === 3 && lengths[0] === 4 && lengths[1] === 6 && (last === 5 || last === 4);
}

function hasLetterAndDigit(text: string): boolean {
  return /[0-9]/.test(text) && /[A-Za-z]/.test(text);
}

const API_KEY_MARKER = '[API_KEY_REDACTED]';
const API_KEY_TOKENS = [
  'sk-[A-Za-z0-9_-]{20,}', // OpenAI (sk-…, sk-proj-…), Anthropic (sk-ant-…)
  '[sr]k_(?:live|test)_[A-Za-z0-9]{10,}', // Stripe
  'gh[pousr]_[A-Za-z0-9]{36,255}', // GitHub tokens
  'github_pat_[A-Za-z0-9_]{22,255}', // GitHub fine-grained PAT
  '(?:AKIA|ASIA)[A-Z0-9]{16}', // AWS access key ids
].join('|');
const API_KEY_NAMES = `${ci('x-api-key')}|${ci('api')}[_-]?${ci('key')}`;

export const DETECTORS: Readonly<Record<DetectorName, Detector>> = {
  jwt: {
    name: 'jwt',
    marker: '[JWT_REDACTED]',
    source: `(?<![${WORD}-])eyJ[A-Za-z0-9_-]{2,}\\.[A-Za-z0-9_-]{2,}\\.[A-Za-z0-9_-]*(?![${WORD}-])`,
    minLength: 10,
    replace: always('[JWT_REDACTED]'),
  },
  api_key: {
    name: 'api_key',
    marker: API_KEY_MARKER,
    // Either a key-shaped token, or a generic `api_key=<value>` pair (the key name is kept).
    source: `(?<![${WORD}-])(?<api_key_t>${API_KEY_TOKENS})(?![${WORD}-])|${pairSource('api_key', API_KEY_NAMES)}`,
    minLength: 8,
    replace: (match, groups) => {
      const token = groups['api_key_t'];
      if (token === undefined) return replacePair('api_key', API_KEY_MARKER)(match, groups);
      if (token.startsWith('sk-') && !hasLetterAndDigit(token.slice(3))) return undefined;
      return API_KEY_MARKER;
    },
  },
  credential_pair: {
    name: 'credential_pair',
    marker: REDACTED_MARKER,
    source: pairSource(
      'credential_pair',
      ['password', 'passwd', 'secret', 'token', 'authorization', 'private_key', 'private-key', 'privatekey']
        .map(ci)
        .join('|'),
    ),
    minLength: 7,
    replace: replacePair('credential_pair', REDACTED_MARKER),
  },
  email: {
    name: 'email',
    marker: '[EMAIL_REDACTED]',
    source:
      '(?<![A-Za-z0-9._%+-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\\.[A-Za-z0-9-]+)*\\.[A-Za-z]{2,63}(?![A-Za-z0-9_-])',
    minLength: 6,
    replace: always('[EMAIL_REDACTED]'),
  },
  payment_card: {
    name: 'payment_card',
    marker: '[CARD_REDACTED]',
    source: `(?<![${WORD}.-])[2-6]\\d(?:[ -]?\\d){11,17}(?![${WORD}]|[.-]\\d)`,
    minLength: 13,
    replace: (match) => {
      const digits = match.replace(/[ -]/g, '');
      return cardGrouping(match) && issuerLength(digits) && luhnValid(digits) ? '[CARD_REDACTED]' : undefined;
    },
  },
  ssn: {
    name: 'ssn',
    marker: '[SSN_REDACTED]',
    source: `(?<![${WORD}.-])(?!000|666)\\d{3}(?<ssn_sep>[- ])(?!00)\\d{2}\\k<ssn_sep>(?!0000)\\d{4}(?![${WORD}]|[.-]\\d)`,
    minLength: 11,
    replace: always('[SSN_REDACTED]'),
  },
  phone: {
    name: 'phone',
    marker: '[PHONE_REDACTED]',
    // International: `+` and 8–15 digits with optional single separators and one optional
    // parenthesised group. US: (415) 555-2671, 415-555-2671, 415.555.2671, +1 415 555 2671.
    source:
      `(?<![${WORD}+.-])(?:` +
      `(?<phone_intl>\\+\\d{1,3}[ .-]?(?:\\(\\d{1,4}\\)[ .-]?)?\\d(?:[ .-]?\\d){5,13})` +
      `|(?:\\(\\d{3}\\)[ .-]?|\\d{3}[ .-])\\d{3}[ .-]\\d{4}` +
      `)(?![${WORD}]|[.-]\\d)`,
    minLength: 12,
    replace: (match, groups) => {
      if (groups['phone_intl'] === undefined) return '[PHONE_REDACTED]';
      const digits = match.replace(/\D/g, '').length;
      return digits >= 8 && digits <= 15 ? '[PHONE_REDACTED]' : undefined;
    },
  },
  ipv6: {
    name: 'ipv6',
    marker: '[IP_REDACTED]',
    source:
      '(?<![A-Za-z0-9_:.])(?:[0-9A-Fa-f]{0,4}:){2,7}(?:[0-9A-Fa-f]{1,4}|\\d{1,3}(?:\\.\\d{1,3}){3})?(?![A-Za-z0-9_:]|\\.\\d)',
    minLength: 3,
    replace: (match) => (isIpv6(match) ? '[IP_REDACTED]' : undefined),
  },
  ipv4: {
    name: 'ipv4',
    marker: '[IP_REDACTED]',
    source: `(?<![${WORD}.])(?:\\d{1,3}\\.){3}\\d{1,3}(?![${WORD}]|\\.\\d)`,
    minLength: 7,
    replace: (match) => (isIpv4(match) ? '[IP_REDACTED]' : undefined),
  },
};

export function isDetectorName(name: string): name is DetectorName {
  return (DETECTOR_NAMES as readonly string[]).includes(name);
}

/** One detector alone, non-global: for tests and for callers that only need a yes/no. */
export function detectorRegExp(name: DetectorName): RegExp {
  return new RegExp(DETECTORS[name].source);
}

export interface ScanResult {
  text: string;
  /** Detectors that replaced at least one match, in first-fired order. */
  fired: DetectorName[];
}

export interface Scanner {
  /** Strings shorter than this cannot match and are not scanned. */
  readonly minLength: number;
  /** `undefined` when nothing was replaced (the common case allocates nothing). */
  scan(text: string): ScanResult | undefined;
}

/** What one pass over a string's characters tells about which detectors could match. */
interface Shape {
  at: boolean;
  separators: boolean;
  colons: number;
  dots: number;
  /** Most digits in one run of digits, spaces and dashes (cards, SSNs). */
  cardRun: number;
  /** Most digits in one run of digits, spaces, `.-()+` (phones). */
  phoneRun: number;
  /** Most dots in one run of digits and dots (IPv4). */
  ipRun: number;
}

const DIGIT = 1;
const CARD_SEPARATOR = 2;
const PHONE_SEPARATOR = 4;
/** Character classes of ASCII codes, as bit flags. */
const CHAR_CLASS = new Uint8Array(128);
for (let c = 48; c <= 57; c++) CHAR_CLASS[c] = DIGIT;
for (const c of ' -') CHAR_CLASS[c.charCodeAt(0)] = CARD_SEPARATOR | PHONE_SEPARATOR;
for (const c of '.()+') CHAR_CLASS[c.charCodeAt(0)] = PHONE_SEPARATOR;

function shapeOf(text: string): Shape {
  let at = false;
  let equals = false;
  let colons = 0;
  let dots = 0;
  let card = 0;
  let phone = 0;
  let ip = 0;
  let cardRun = 0;
  let phoneRun = 0;
  let ipRun = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const k = c < 128 ? (CHAR_CLASS[c] as number) : 0;
    if (k === DIGIT) {
      cardRun = Math.max(cardRun, ++card);
      phoneRun = Math.max(phoneRun, ++phone);
      continue;
    }
    if ((k & CARD_SEPARATOR) === 0) card = 0;
    if ((k & PHONE_SEPARATOR) === 0) phone = 0;
    if (c === 46) {
      dots++;
      ipRun = Math.max(ipRun, ++ip);
      continue;
    }
    ip = 0;
    if (c === 58) colons++;
    else if (c === 61) equals = true;
    else if (c === 64) at = true;
  }
  return { at, separators: equals || colons > 0, colons, dots, cardRun, phoneRun, ipRun };
}

/**
 * Shapes that fill TRACE payloads and can contain no detector match: UUIDs, lowercase hex with
 * at least one letter (hashes, trace and span ids; an all-digit string could be a card), and
 * ISO-8601 timestamps. Anchored, so any other string fails at its first few characters.
 */
const SAFE_SHAPES =
  /^(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|(?=[0-9a-f]*[a-f])[0-9a-f]+|\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2}))$/;

const PAIR_KEYWORDS = /passw|secret|token|authori[sz]|private.?key|api.?key/i;
const KEY_TOKENS = /sk-|k_live_|k_test_|gh[pousr]_|github_pat_|A[KS]IA/;

/**
 * Cheap necessary conditions per detector, so a string is scanned only by the alternatives
 * that could possibly match it (a UUID or a hash never meets the email or IP alternatives).
 */
const PRESCREEN: Readonly<Record<DetectorName, (text: string, shape: Shape, keywords: () => boolean) => boolean>> = {
  jwt: (text, shape) => shape.dots >= 2 && text.includes('eyJ'),
  api_key: (text, shape, keywords) => (text.length >= 20 && KEY_TOKENS.test(text)) || (shape.separators && keywords()),
  credential_pair: (_text, shape, keywords) => shape.separators && keywords(),
  email: (_text, shape) => shape.at,
  payment_card: (_text, shape) => shape.cardRun >= 13,
  ssn: (_text, shape) => shape.cardRun >= 9,
  phone: (_text, shape) => shape.phoneRun >= 8,
  ipv6: (_text, shape) => shape.colons >= 2,
  ipv4: (_text, shape) => shape.ipRun >= 3,
};

/**
 * Compiles the enabled detectors (in `DETECTOR_NAMES` priority order) into one scanner. At a
 * given position the first detector in that order wins, and the scan resumes after its match.
 * A string is first prescreened; the alternation of the detectors that pass (compiled once
 * per combination and cached) then scans it in a single pass.
 */
export function compileScanner(names: readonly DetectorName[]): Scanner | undefined {
  const enabled = DETECTOR_NAMES.filter((name) => names.includes(name)).map((name) => DETECTORS[name]);
  if (enabled.length === 0) return undefined;
  const minLength = Math.min(...enabled.map((d) => d.minLength));
  const cache = new Map<number, { regex: RegExp; detectors: Detector[] }>();

  const combinationFor = (mask: number): { regex: RegExp; detectors: Detector[] } => {
    let hit = cache.get(mask);
    if (hit === undefined) {
      const detectors = enabled.filter((_d, i) => (mask & (1 << i)) !== 0);
      const regex = new RegExp(detectors.map((d) => `(?<d_${d.name}>${d.source})`).join('|'), 'g');
      hit = { regex, detectors };
      cache.set(mask, hit);
    }
    return hit;
  };

  return {
    minLength,
    scan(text) {
      if (text.length < minLength || SAFE_SHAPES.test(text)) return undefined;
      const shape = shapeOf(text);
      let keywordHit: boolean | undefined;
      const keywords = (): boolean => (keywordHit ??= PAIR_KEYWORDS.test(text));
      let mask = 0;
      for (let i = 0; i < enabled.length; i++) {
        const d = enabled[i] as Detector;
        if (text.length >= d.minLength && PRESCREEN[d.name](text, shape, keywords)) mask |= 1 << i;
      }
      if (mask === 0) return undefined;
      const { regex, detectors } = combinationFor(mask);
      let fired: DetectorName[] | undefined;
      // `replace` with a global regex starts at 0 and leaves lastIndex at 0: no shared state.
      const out = text.replace(regex, (...args: unknown[]) => {
        const match = args[0] as string;
        const groups = args[args.length - 1] as Record<string, string | undefined>;
        const detector = detectors.find((d) => groups[`d_${d.name}`] !== undefined);
        const replacement = detector?.replace(match, groups);
        if (detector === undefined || replacement === undefined) return match;
        fired ??= [];
        if (!fired.includes(detector.name)) fired.push(detector.name);
        return replacement;
      });
      return fired === undefined ? undefined : { text: out, fired };
    },
  };
}
