/**
 * A temporary identities file and secrets directory for tests: each identity may have an API key
 * (its Secret holds the SHA-256 digest, as in production) and a JWT mapping. `write` replaces the
 * identities (for reload tests).
 */
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Role } from '@cra/core';

export interface TestIdentity {
  agentId: string;
  roles?: Role[];
  apiKey?: string;
  jwt?: { issuer: string; subject: string; audiences?: string[] };
}

export interface IdentityFiles {
  file: string;
  secretsDir: string;
  write(identities: readonly TestIdentity[]): Promise<void>;
}

export const digestOf = (key: string): string => createHash('sha256').update(key, 'utf8').digest('hex');

export async function identityFiles(
  identities: readonly TestIdentity[],
  extraSecrets: Record<string, Record<string, string>> = {},
): Promise<IdentityFiles> {
  const root = await mkdtemp(join(tmpdir(), 'cra-identities-'));
  const secretsDir = join(root, 'secrets');
  const file = join(root, 'identities.yaml');
  await mkdir(secretsDir, { recursive: true });
  for (const [name, keys] of Object.entries(extraSecrets)) {
    await mkdir(join(secretsDir, name), { recursive: true });
    for (const [key, value] of Object.entries(keys)) await writeFile(join(secretsDir, name, key), value);
  }
  const write = async (list: readonly TestIdentity[]): Promise<void> => {
    const docs: string[] = [];
    for (const identity of list) {
      const secret = `key-${identity.agentId}`;
      if (identity.apiKey !== undefined) {
        await mkdir(join(secretsDir, secret), { recursive: true });
        await writeFile(join(secretsDir, secret, 'digest'), `${digestOf(identity.apiKey)}\n`);
      }
      const auth = {
        ...(identity.apiKey !== undefined ? { apiKeySecretRef: { name: secret, key: 'digest' } } : {}),
        ...(identity.jwt ? { jwt: identity.jwt } : {}),
      };
      docs.push(
        JSON.stringify({
          apiVersion: 'cra.dev/v1alpha1',
          kind: 'AgentIdentity',
          metadata: { name: identity.agentId },
          spec: {
            agentId: identity.agentId,
            ...(identity.roles ? { roles: identity.roles } : {}),
            ...(Object.keys(auth).length > 0 ? { auth } : {}),
          },
        }),
      );
    }
    await writeFile(file, `${docs.join('\n---\n')}\n`);
  };
  await write(identities);
  return { file, secretsDir, write };
}
