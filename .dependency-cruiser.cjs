/**
 * Dependency direction (DEVELOPERS.md): core imports nothing of ours and performs no I/O;
 * runtime and operator import core and never each other; the trace viewer (runtime/src/ui) is
 * browser code.
 */
const IO_MODULES = '^(node:)?(fs|fs/promises|net|http|https|http2|dgram|dns|child_process|cluster|tls|worker_threads)$';
module.exports = {
  forbidden: [
    {
      name: 'core-imports-nothing-of-ours',
      severity: 'error',
      from: { path: '^core/src' },
      to: { path: '^(runtime|operator|e2e|bench)/' },
    },
    {
      name: 'core-performs-no-io',
      comment: 'core takes contents, not paths: no fs, net, http or process spawning',
      severity: 'error',
      from: { path: '^core/src' },
      to: { dependencyTypes: ['core'], path: IO_MODULES },
    },
    {
      name: 'core-no-io-clients',
      severity: 'error',
      from: { path: '^core/src' },
      to: {
        path: 'node_modules/(ioredis|pg|@electric-sql|@kubernetes|fastify|undici|ws|openai|@anthropic-ai|@modelcontextprotocol)/',
      },
    },
    {
      name: 'runtime-never-imports-operator',
      severity: 'error',
      from: { path: '^runtime/src' },
      to: { path: '^operator/' },
    },
    {
      name: 'operator-never-imports-runtime',
      severity: 'error',
      from: { path: '^operator/src' },
      to: { path: '^runtime/' },
    },
    {
      name: 'domain-is-transport-and-store-free',
      comment: 'runtime/src/domain talks to ports; fastify, ioredis and pg stay in plugins/ and store/',
      severity: 'error',
      from: { path: '^runtime/src/domain' },
      to: { path: 'node_modules/(fastify|ioredis|pg|@electric-sql|@fastify)/' },
    },
    {
      name: 'ui-is-browser-code',
      comment:
        'runtime/src/ui runs in the browser: its own modules, openapi-fetch and @cra/core/browser (core without Node modules) only',
      severity: 'error',
      from: { path: '^runtime/src/ui/' },
      to: { pathNot: ['^runtime/src/ui/', '^node_modules/openapi-fetch/', '^core/(src|dist)/browser\\.'] },
    },
    {
      name: 'no-circular',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.base.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
    },
  },
};
