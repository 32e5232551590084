// Public surface of @cra/runtime: embed the runtime (createRuntime), run it as a server
// (startServer), or load its configuration the way `cra serve` does.
export { createRuntime, loadBundle } from './runtime.js';
export type { Runtime, RuntimeOptions } from './runtime.js';
export { startServer, ListenError } from './server.js';
export type { StartedServer } from './server.js';
export { loadConfig, ConfigError } from './config/load.js';
export type { LoadConfigInput } from './config/load.js';
export type { RuntimeConfig } from './config/schema.js';
export { buildApp } from './app.js';
export type { AppDeps } from './app.js';
export { VERSION } from './version.js';
