import { cp, mkdir, mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repo } from './runtime.js';

/** A secrets directory with the dev identities' digests plus the given secrets. */
export async function secretsDir(extra: Record<string, Record<string, string>> = {}): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cra-secrets-'));
  await cp(repo('examples/local/secrets'), dir, { recursive: true });
  for (const [name, keys] of Object.entries(extra)) {
    await mkdir(join(dir, name), { recursive: true });
    for (const [key, value] of Object.entries(keys)) await writeFile(join(dir, name, key), value);
  }
  return dir;
}
