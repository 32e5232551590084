/**
 * Checkpoints as files in a directory (a volume distinct from the trace database):
 * `<dir>/<name>.jws`, and the public keys as `<dir>/keys/<kid>.jwk.json`. Writes are atomic.
 */
import { mkdir, readdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { JWK } from 'jose';
import type { CheckpointSink } from '../domain/checkpoints.js';

async function atomicWrite(file: string, text: string): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, text, { mode: 0o644 });
  await rename(tmp, file);
}

export function checkpointDirectory(dir: string): CheckpointSink {
  const keysDir = join(dir, 'keys');
  return {
    async write(name, jws) {
      await mkdir(dir, { recursive: true });
      await atomicWrite(join(dir, name), `${jws}\n`);
    },
    async list() {
      const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith('.jws')).sort();
      return Promise.all(names.map(async (name) => ({ name, jws: (await readFile(join(dir, name), 'utf8')).trim() })));
    },
    async publishKey(kid, jwk) {
      await mkdir(keysDir, { recursive: true });
      await atomicWrite(join(keysDir, `${kid}.jwk.json`), `${JSON.stringify({ ...jwk, kid }, null, 2)}\n`);
    },
    async keys() {
      const names = (await readdir(keysDir).catch(() => [] as string[])).filter((n) => n.endsWith('.jwk.json'));
      return Promise.all(names.map(async (n) => JSON.parse(await readFile(join(keysDir, n), 'utf8')) as JWK));
    },
  };
}
