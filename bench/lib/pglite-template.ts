/**
 * An initialised and migrated PGlite data directory, built once per machine (and per set of
 * migrations) in .cache/bench/, then copied into each run's fresh temp data dir. initdb takes
 * 10–20 s on a small machine; copying takes milliseconds, and the runtime still opens the
 * directory and runs its migration check exactly as `cra serve` does.
 */
import { createHash } from 'node:crypto';
import { cp, mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { dumpPglite, openPglite } from '../../runtime/dist/store/embedded/pglite-client.js';
import { MIGRATIONS, migrate } from '../../runtime/dist/store/sql/migrations.js';
import { repo } from './fixtures.js';

const key = createHash('sha256').update(JSON.stringify(MIGRATIONS)).digest('hex').slice(0, 16);
const template = repo(`.cache/bench/pgdata-${key}`);

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

async function buildTemplate(log: (m: string) => void): Promise<void> {
  if (await exists(join(template, 'PG_VERSION'))) return;
  log('initialising the PGlite template data dir (once per machine)…');
  const tmp = `${template}.${process.pid}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const client = await openPglite(tmp);
  await migrate(client);
  await client.close();
  await rm(template, { recursive: true, force: true });
  await rename(tmp, template);
}

/** A fresh, migrated embedded data dir (the runtime opens `<dataDir>/pg`). */
export async function freshDataDir(dataDir: string, log: (m: string) => void): Promise<string> {
  await buildTemplate(log);
  await mkdir(dataDir, { recursive: true });
  await cp(template, join(dataDir, 'pg'), { recursive: true });
  return dataDir;
}

const dumpFile = repo(`.cache/bench/pgdump-${key}.tar`);

/** The template as a PGlite dump, for an in-memory instance (`openPglite(undefined, {loadDataDir})`). */
export async function templateDump(scratch: string, log: (m: string) => void): Promise<Blob> {
  if (!(await exists(dumpFile))) {
    const dir = await freshDataDir(scratch, log);
    const client = await openPglite(join(dir, 'pg'));
    const dump = await dumpPglite(client);
    await client.close();
    const tmp = `${dumpFile}.${process.pid}.tmp`;
    await writeFile(tmp, Buffer.from(await dump.arrayBuffer()));
    await rename(tmp, dumpFile);
  }
  return new Blob([await readFile(dumpFile)]);
}
