/**
 * Watches files and directories (recursively) and calls `onChange` once per burst of changes.
 * Works with ConfigMap volumes, whose `..data` symlink swap shows up as a rename in the directory.
 */
import { watch, type FSWatcher } from 'node:fs';

export function watchPaths(paths: readonly string[], onChange: () => void, debounceMs = 200): () => void {
  const watchers: FSWatcher[] = [];
  let timer: NodeJS.Timeout | undefined;
  const trigger = (): void => {
    if (timer) clearTimeout(timer);
    timer = setTimeout(onChange, debounceMs);
    timer.unref();
  };
  for (const path of new Set(paths)) {
    try {
      const watcher = watch(path, { recursive: true, persistent: false }, trigger);
      watcher.on('error', () => undefined);
      watchers.push(watcher);
    } catch {
      // A path that cannot be watched (e.g. missing) is reported by the loader, not here.
    }
  }
  return () => {
    if (timer) clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
