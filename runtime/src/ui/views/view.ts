/**
 * What every page of the viewer gets (the API, the mode, navigation, announcements) and gives
 * back (its element and what to stop when the user leaves it).
 */
import type { Api } from '../api.js';
import type { ViewerConfig } from '../config.js';

export interface ViewContext {
  config: ViewerConfig;
  api: Api;
  /** The signed-in key (null for a local file): the live tail needs it for its subprotocol. */
  key(): string | null;
  navigate(hash: string): void;
  /** Announces a short message to screen readers and shows it in the status line. */
  announce(message: string): void;
}

export interface View {
  element: HTMLElement;
  /** Called when the user leaves the page (closes sockets, timers). */
  dispose?: () => void;
}

/** A user-facing reason for a failure. */
export function reason(err: unknown): string {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return typeof code === 'string' && code !== 'HTTP_ERROR' ? `${code}: ${err.message}` : err.message;
  }
  return String(err);
}
