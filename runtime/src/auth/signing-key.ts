/**
 * The Ed25519 key that signs checkpoints: from a PKCS#8 PEM file (a mounted Secret), or created
 * once and kept in the data directory. The key id is the RFC 7638 thumbprint of the public key.
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { calculateJwkThumbprint, exportJWK, exportPKCS8, generateKeyPair, importPKCS8 } from 'jose';
import type { SigningKey } from '../domain/checkpoints.js';

export async function loadSigningKey(file: string, options: { create: boolean }): Promise<SigningKey> {
  let pem: string;
  try {
    pem = await readFile(file, 'utf8');
  } catch (err) {
    if (!options.create || (err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new Error(
        `checkpoint signing key ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        { cause: err },
      );
    }
    const { privateKey } = await generateKeyPair('EdDSA', { extractable: true });
    pem = await exportPKCS8(privateKey);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, pem, { mode: 0o600 });
  }
  const privateKey = await importPKCS8(pem, 'EdDSA', { extractable: true });
  const { d: _private, ...publicJwk } = await exportJWK(privateKey);
  const kid = await calculateJwkThumbprint(publicJwk);
  return { kid, privateKey, publicJwk: { ...publicJwk, kid, alg: 'EdDSA', use: 'sig' } };
}
