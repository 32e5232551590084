/**
 * JWT bearer tokens (CRA-SPEC §9) verified with jose against the configured issuers: the issuer
 * is chosen by the token's unverified `iss`, then `jwtVerify` checks the signature with that
 * issuer's keys (a remote JWKS, static public keys, or both) and enforces `iss`, `aud`, `exp`,
 * `nbf` and the issuer's asymmetric algorithms. `alg: none` and every HMAC algorithm are refused
 * before any key is looked at, so a token "signed" with a public key as an HMAC secret never
 * reaches a verifier. Every failure is `UNAUTHORIZED` with a short reason; tokens are never logged.
 */
import { createPublicKey, type KeyObject } from 'node:crypto';
import { CraError } from '@cra/core';
import {
  createRemoteJWKSet,
  customFetch as customFetchOption,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  importSPKI,
  jwtVerify,
  type CryptoKey,
  type FetchImplementation,
  type JWTPayload,
  type JWTVerifyGetKey,
  type JWTVerifyOptions,
  type ProtectedHeaderParameters,
} from 'jose';
import type { JwtIssuerConfig } from '../config/schema.js';

export interface VerifiedJwt {
  issuer: string;
  subject: string;
  audience: string[];
  claims: JWTPayload;
}

export interface JwtVerifier {
  /** Verifies a compact JWS; throws `CraError('UNAUTHORIZED')` with the reason when it is refused. */
  verify(token: string): Promise<VerifiedJwt>;
}

export interface JwtVerifierOptions {
  /** Fetch used for JWKS URLs (jose's `[customFetch]`); default the global fetch. */
  customFetch?: FetchImplementation;
}

/** The only algorithms a token may use: asymmetric signatures. HMAC and `none` never qualify. */
export const ASYMMETRIC_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
] as const;
const ASYMMETRIC = new Set<string>(ASYMMETRIC_ALGORITHMS);

const JWKS_COOLDOWN_MS = 30_000;
const JWKS_MAX_AGE_MS = 600_000;
const JWKS_TIMEOUT_MS = 5_000;
/** At most this many keys are tried when a kid-less token matches several keys. */
const MAX_CANDIDATE_KEYS = 8;

const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]+$/;

/**
 * Whether a bearer value is meant as a JWT: three base64url segments (the last may be empty, as in
 * an unsecured token) whose first decodes to a JSON object with a string `alg`.
 */
export function looksLikeJwt(value: string): boolean {
  const parts = value.split('.');
  if (parts.length !== 3) return false;
  const [header, payload, signature] = parts as [string, string, string];
  if (!BASE64URL_SEGMENT.test(header) || !BASE64URL_SEGMENT.test(payload)) return false;
  if (signature !== '' && !BASE64URL_SEGMENT.test(signature)) return false;
  try {
    const decoded: unknown = JSON.parse(Buffer.from(header, 'base64url').toString('utf8'));
    return (
      typeof decoded === 'object' &&
      decoded !== null &&
      !Array.isArray(decoded) &&
      typeof (decoded as { alg?: unknown }).alg === 'string'
    );
  } catch {
    return false;
  }
}

const unauthorized = (message: string): CraError => new CraError('UNAUTHORIZED', message);

// --- static keys -------------------------------------------------------------------------------

interface StaticKey {
  kid?: string;
  algorithms: string[];
  spki: string;
  imported: Map<string, Promise<CryptoKey>>;
}

function algorithmsFor(key: KeyObject): string[] {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512'];
    case 'rsa-pss':
      return ['PS256', 'PS384', 'PS512'];
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve;
      return curve === 'prime256v1'
        ? ['ES256']
        : curve === 'secp384r1'
          ? ['ES384']
          : curve === 'secp521r1'
            ? ['ES512']
            : [];
    }
    case 'ed25519':
      return ['EdDSA'];
    default:
      return [];
  }
}

interface ParsedKey {
  key: KeyObject;
  kid?: string;
  alg?: string;
}

function parseJwk(text: string, where: string): ParsedKey {
  let jwk: unknown;
  try {
    jwk = JSON.parse(text);
  } catch (cause) {
    throw new Error(`${where} is neither a PEM public key nor JWK JSON`, { cause });
  }
  if (typeof jwk !== 'object' || jwk === null || Array.isArray(jwk)) throw new Error(`${where} is not a JWK object`);
  const fields = jwk as Record<string, unknown>;
  if (fields.kty === 'oct') throw new Error(`${where} is a symmetric (oct) key; only public keys are accepted`);
  if ('d' in fields || 'p' in fields || 'priv' in fields) {
    throw new Error(`${where} is a private key; configure the public key only`);
  }
  if (fields.use !== undefined && fields.use !== 'sig') {
    throw new Error(`${where} has use "${String(fields.use)}", not "sig"`);
  }
  let key: KeyObject;
  try {
    key = createPublicKey({ key: fields as never, format: 'jwk' });
  } catch (cause) {
    throw new Error(`${where} is not a usable public JWK: ${(cause as Error).message}`, { cause });
  }
  return {
    key,
    ...(typeof fields.kid === 'string' ? { kid: fields.kid } : {}),
    ...(typeof fields.alg === 'string' ? { alg: fields.alg } : {}),
  };
}

function parsePem(text: string, where: string): ParsedKey {
  if (/PRIVATE KEY-----/.test(text)) throw new Error(`${where} is a private key; configure the public key only`);
  if (!text.startsWith('-----BEGIN PUBLIC KEY-----')) {
    throw new Error(`${where} must be a PEM SPKI public key ("-----BEGIN PUBLIC KEY-----") or JWK JSON`);
  }
  try {
    return { key: createPublicKey({ key: text, format: 'pem' }) };
  } catch (cause) {
    throw new Error(`${where} is not a usable PEM public key: ${(cause as Error).message}`, { cause });
  }
}

function staticKey(source: string, allowed: readonly string[], where: string): StaticKey {
  const text = source.trim();
  const { key, kid, alg } = text.startsWith('{') ? parseJwk(text, where) : parsePem(text, where);
  const modulus = key.asymmetricKeyDetails?.modulusLength;
  if (modulus !== undefined && modulus < 2048)
    throw new Error(`${where} is a ${modulus}-bit RSA key; 2048 bits or more`);
  let algorithms = algorithmsFor(key).filter((a) => allowed.includes(a));
  if (alg !== undefined) {
    if (!algorithms.includes(alg)) {
      throw new Error(`${where} declares alg ${alg}, which is not one of the issuer's algorithms for this key type`);
    }
    algorithms = [alg];
  }
  if (algorithms.length === 0) {
    throw new Error(
      `${where} (${key.asymmetricKeyType ?? 'unknown'} key) fits none of the issuer's algorithms ${allowed.join(', ')}`,
    );
  }
  const spki = key.export({ type: 'spki', format: 'pem' }).toString();
  return { ...(kid !== undefined ? { kid } : {}), algorithms, spki, imported: new Map() };
}

function importedKey(key: StaticKey, alg: string): Promise<CryptoKey> {
  let pending = key.imported.get(alg);
  if (!pending) {
    pending = importSPKI(key.spki, alg);
    key.imported.set(alg, pending);
  }
  return pending;
}

// --- issuers -----------------------------------------------------------------------------------

interface Issuer {
  config: JwtIssuerConfig;
  options: JWTVerifyOptions;
  remote?: JWTVerifyGetKey;
  statics: StaticKey[];
}

function issuerOf(config: JwtIssuerConfig, index: number, options: JwtVerifierOptions): Issuer {
  const where = `auth.jwt.issuers[${index}]`;
  const refused = config.algorithms.filter((alg) => !ASYMMETRIC.has(alg));
  if (refused.length > 0) {
    throw new Error(`${where}.algorithms: ${refused.join(', ')} refused; only asymmetric algorithms are accepted`);
  }
  if (config.algorithms.length === 0) throw new Error(`${where}.algorithms is empty`);
  if (config.audiences.length === 0) throw new Error(`${where}.audiences is empty`);
  if (!config.jwksUri && (config.publicKeys ?? []).length === 0) {
    throw new Error(`${where} needs jwksUri or publicKeys`);
  }
  const statics = (config.publicKeys ?? []).map((source, i) =>
    staticKey(source, config.algorithms, `${where}.publicKeys[${i}]`),
  );
  let remote: JWTVerifyGetKey | undefined;
  if (config.jwksUri) {
    let url: URL;
    try {
      url = new URL(config.jwksUri);
    } catch {
      throw new Error(`${where}.jwksUri is not a URL`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`${where}.jwksUri must be http(s)`);
    remote = createRemoteJWKSet(url, {
      cooldownDuration: JWKS_COOLDOWN_MS,
      cacheMaxAge: JWKS_MAX_AGE_MS,
      timeoutDuration: JWKS_TIMEOUT_MS,
      ...(options.customFetch ? { [customFetchOption]: options.customFetch } : {}),
    });
  }
  return {
    config,
    statics,
    ...(remote ? { remote } : {}),
    options: {
      issuer: config.issuer,
      audience: config.audiences,
      algorithms: config.algorithms,
      clockTolerance: config.clockToleranceSeconds,
      requiredClaims: ['sub', 'exp'],
    },
  };
}

function codeOf(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

const signatureFailed = (err: unknown): boolean => codeOf(err) === 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED';

/** The static keys that may have signed a token with this header. */
function staticCandidates(issuer: Issuer, header: ProtectedHeaderParameters): StaticKey[] {
  const alg = header.alg ?? '';
  return issuer.statics.filter(
    (key) =>
      key.algorithms.includes(alg) && (header.kid === undefined || key.kid === undefined || key.kid === header.kid),
  );
}

/** A kid-less token matched several JWKS keys: the one that verifies wins. */
async function verifyWithAny(token: string, issuer: Issuer, candidates: AsyncIterable<CryptoKey>): Promise<JWTPayload> {
  let tried = 0;
  for await (const key of candidates) {
    if (++tried > MAX_CANDIDATE_KEYS) break;
    try {
      return (await jwtVerify(token, key, issuer.options)).payload;
    } catch (err) {
      if (!signatureFailed(err)) throw err;
    }
  }
  throw new errors.JWSSignatureVerificationFailed();
}

async function verifyWithKeys(token: string, issuer: Issuer, header: ProtectedHeaderParameters): Promise<JWTPayload> {
  let lastFailure: unknown;
  for (const key of staticCandidates(issuer, header).slice(0, MAX_CANDIDATE_KEYS)) {
    try {
      return (await jwtVerify(token, await importedKey(key, header.alg!), issuer.options)).payload;
    } catch (err) {
      if (!signatureFailed(err)) throw err;
      lastFailure = err;
    }
  }
  if (!issuer.remote) throw lastFailure ?? new errors.JWKSNoMatchingKey();
  try {
    return (await jwtVerify(token, issuer.remote, issuer.options)).payload;
  } catch (err) {
    if (codeOf(err) === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS') {
      return verifyWithAny(token, issuer, err as unknown as AsyncIterable<CryptoKey>);
    }
    if (codeOf(err) === 'ERR_JWKS_NO_MATCHING_KEY' && lastFailure !== undefined) throw lastFailure;
    throw err;
  }
}

const KEYS_UNAVAILABLE = "the issuer's keys (JWKS) could not be fetched";

const FAILURES: Record<string, string> = {
  ERR_JWT_EXPIRED: 'token expired',
  ERR_JWS_SIGNATURE_VERIFICATION_FAILED: 'signature verification failed',
  ERR_JWKS_NO_MATCHING_KEY: "no key of the issuer matches the token's kid and alg",
  ERR_JWKS_MULTIPLE_MATCHING_KEYS: 'several issuer keys match a token without kid',
  ERR_JOSE_ALG_NOT_ALLOWED: 'token algorithm not accepted',
  ERR_JWKS_TIMEOUT: "timed out fetching the issuer's keys (JWKS)",
  ERR_JWKS_INVALID: "the issuer's key set (JWKS) is malformed",
  ERR_JOSE_NOT_SUPPORTED: 'token algorithm or key not supported',
  ERR_JWS_INVALID: 'malformed token',
  ERR_JWT_INVALID: 'malformed token',
  // jose's generic error on a JWKS fetch: a non-200 answer or a body that is not JSON.
  ERR_JOSE_GENERIC: KEYS_UNAVAILABLE,
};

const CLAIM_FAILURES: Record<string, string> = {
  aud: 'audience not accepted',
  iss: 'issuer not accepted',
  nbf: 'token not yet valid (nbf)',
  sub: 'token has no subject (sub)',
  exp: 'token has no expiry (exp)',
  iat: 'token issued in the future (iat)',
};

/** A short, token-free reason for a jose failure. */
export function describeJwtFailure(err: unknown): string {
  const code = codeOf(err);
  if (code === 'ERR_JWT_CLAIM_VALIDATION_FAILED') {
    const { claim = 'unknown', reason } = err as { claim?: string; reason?: string };
    if (claim === 'aud' && reason === 'missing') return 'token has no audience (aud)';
    return CLAIM_FAILURES[claim] ?? `token claim ${claim} is invalid`;
  }
  const known = code === undefined ? undefined : FAILURES[code];
  if (known) return known;
  if (err instanceof TypeError) {
    // fetch() failures (connection refused, DNS) and unusable keys (e.g. RSA under 2048 bits).
    return /fetch/i.test(err.message) ? KEYS_UNAVAILABLE : 'the issuer key cannot verify this token';
  }
  return 'token could not be verified';
}

function audiencesOf(aud: JWTPayload['aud']): string[] {
  if (typeof aud === 'string') return [aud];
  return Array.isArray(aud) ? aud.filter((a): a is string => typeof a === 'string') : [];
}

export function createJwtVerifier(issuers: readonly JwtIssuerConfig[], options: JwtVerifierOptions = {}): JwtVerifier {
  const byIssuer = new Map<string, Issuer>();
  issuers.forEach((config, i) => {
    if (byIssuer.has(config.issuer)) throw new Error(`auth.jwt.issuers[${i}].issuer ${config.issuer} is listed twice`);
    byIssuer.set(config.issuer, issuerOf(config, i, options));
  });

  return {
    async verify(token: string): Promise<VerifiedJwt> {
      let header: ProtectedHeaderParameters;
      let unverified: JWTPayload;
      try {
        header = decodeProtectedHeader(token);
        unverified = decodeJwt(token);
      } catch {
        throw unauthorized('malformed token');
      }
      const alg = header.alg;
      if (typeof alg !== 'string') throw unauthorized('malformed token');
      if (alg.toLowerCase() === 'none') throw unauthorized('unsecured tokens (alg none) are refused');
      // The header is the caller's: name the algorithm only when it looks like one.
      const shown = /^[A-Za-z0-9+_-]{1,16}$/.test(alg) ? alg : '(unrecognised)';
      if (!ASYMMETRIC.has(alg))
        throw unauthorized(`token algorithm ${shown} not accepted (asymmetric algorithms only)`);
      const issuer = typeof unverified.iss === 'string' ? byIssuer.get(unverified.iss) : undefined;
      if (!issuer) throw unauthorized('issuer not accepted');
      if (!issuer.config.algorithms.includes(alg)) throw unauthorized(`token algorithm ${shown} not accepted`);

      let payload: JWTPayload;
      try {
        payload = await verifyWithKeys(token, issuer, header);
      } catch (err) {
        throw unauthorized(describeJwtFailure(err));
      }
      if (typeof payload.sub !== 'string' || payload.sub.length === 0) {
        throw unauthorized('token has no subject (sub)');
      }
      return {
        issuer: issuer.config.issuer,
        subject: payload.sub,
        audience: audiencesOf(payload.aud),
        claims: payload,
      };
    },
  };
}
