/**
 * Where the viewer's data comes from, as `config.json` beside index.html says: the runtime that
 * serves it (`/ui`, API key required) or one JSONL file served by `cra trace visualize` (read-only,
 * no key). The shape mirrors `ViewerConfig` in runtime/src/plugins/ui.ts.
 */

export type ViewerConfig = { mode: 'runtime' } | { mode: 'file'; file: string; events: number; sessions: number };

export async function loadViewerConfig(): Promise<ViewerConfig> {
  try {
    const response = await fetch('config.json', { cache: 'no-store' });
    if (response.ok) {
      const config = (await response.json()) as Partial<ViewerConfig>;
      if (config.mode === 'file' || config.mode === 'runtime') return config as ViewerConfig;
    }
  } catch {
    // An older server without config.json: the runtime's API.
  }
  return { mode: 'runtime' };
}
