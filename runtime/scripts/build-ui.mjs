// @ts-check
/**
 * Builds the trace viewer into runtime/dist/ui/: runtime/src/ui/main.ts bundled by esbuild into
 * app.js (with openapi-fetch and core's browser-safe modules; nothing is loaded from elsewhere),
 * plus index.html and app.css. Part of `make build` / `npm run build`, after `tsc -b` has
 * type-checked the viewer (runtime/src/ui/tsconfig.json). The files are written to a temporary
 * directory and swapped in, so a runtime serving /ui never sees half a build.
 */
import { cp, mkdir, rename, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = (/** @type {string} */ path) => fileURLToPath(new URL(path, import.meta.url));
const source = here('../src/ui/');
const out = here('../dist/ui');
const staging = `${out}.${process.pid}.tmp`;

/** `@cra/core/browser` from core's sources: the bundle never depends on a stale core/dist. */
const coreBrowser = {
  name: 'cra-core-browser',
  setup(/** @type {import('esbuild').PluginBuild} */ b) {
    b.onResolve({ filter: /^@cra\/core\/browser$/ }, () => ({ path: here('../../core/src/browser.ts') }));
    b.onResolve({ filter: /^@cra\/core$/ }, () => ({
      errors: [{ text: 'the viewer may import only @cra/core/browser (the main entry point uses Node modules)' }],
    }));
  },
};

await rm(staging, { recursive: true, force: true });
await mkdir(staging, { recursive: true });
try {
  await build({
    entryPoints: [`${source}main.ts`],
    outfile: `${staging}/app.js`,
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['es2022'],
    minify: true,
    sourcemap: 'linked',
    legalComments: 'eof',
    tsconfig: `${source}tsconfig.json`,
    plugins: [coreBrowser],
    logLevel: 'warning',
  });
  await cp(`${source}static/index.html`, `${staging}/index.html`);
  await cp(`${source}static/app.css`, `${staging}/app.css`);
  await rm(out, { recursive: true, force: true });
  await rename(staging, out);
} catch (err) {
  await rm(staging, { recursive: true, force: true });
  throw err;
}
process.stdout.write(`trace viewer built: ${out}\n`);
