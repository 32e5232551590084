import { createHmac, hash } from 'node:crypto';

/** Lowercase hex SHA-256 of a UTF-8 string (one-shot `crypto.hash`: no Hash object per call). */
export function sha256Hex(text: string): string {
  return hash('sha256', text, 'hex');
}

/** Lowercase hex HMAC-SHA-256. */
export function hmacSha256Hex(key: string, text: string): string {
  return createHmac('sha256', key).update(text, 'utf8').digest('hex');
}

/** v0.1's goal hash: SHA-256 of the trimmed, lower-cased goal. */
export function goalHash(goal: string): string {
  return sha256Hex(goal.trim().toLowerCase());
}

/** Token estimate used for context budgets: one token per four UTF-8 bytes, rounded up. */
export function estimateTokens(text: string): number {
  return Math.ceil(Buffer.byteLength(text, 'utf8') / 4);
}
