/**
 * The API key the user signed in with, kept in sessionStorage: it lives as long as the tab, is
 * not shared with other tabs and is never written to a cookie or the URL.
 */
const STORAGE_KEY = 'cra.viewer.apiKey';

export const credentials = {
  get(): string | null {
    try {
      return sessionStorage.getItem(STORAGE_KEY);
    } catch {
      return null;
    }
  },
  set(key: string): void {
    sessionStorage.setItem(STORAGE_KEY, key);
  },
  clear(): void {
    try {
      sessionStorage.removeItem(STORAGE_KEY);
    } catch {
      // storage disabled: nothing was kept
    }
  },
};
