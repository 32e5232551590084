/**
 * In-memory stores for tests, started from a migrated PGlite dump cached in .cache/pglite/
 * (keyed by the migrations), so a test pays initdb once per machine, not once per runtime.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { dumpPglite, openPglite } from '../../src/store/embedded/pglite-client.js';
import { MIGRATIONS, migrate } from '../../src/store/sql/migrations.js';
import type { Stores } from '../../src/store/ports.js';
import { createSqlStores } from '../../src/store/sql/stores.js';
import { fileURLToPath } from 'node:url';

const key = createHash('sha256').update(JSON.stringify(MIGRATIONS)).digest('hex').slice(0, 16);
const file = fileURLToPath(new URL(`../../../.cache/pglite/template-${key}.tar`, import.meta.url));
let template: Promise<Blob> | undefined;

async function build(): Promise<Blob> {
  try {
    return new Blob([await readFile(file)]);
  } catch {
    const client = await openPglite();
    await migrate(client);
    const dump = await dumpPglite(client);
    await client.close();
    await mkdir(dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    await writeFile(tmp, Buffer.from(await dump.arrayBuffer()));
    await rename(tmp, file);
    return dump;
  }
}

export async function memoryStores(): Promise<Stores> {
  template ??= build();
  return createSqlStores(await openPglite(undefined, { loadDataDir: await template }));
}
