/**
 * The executor's target system: a plain `node:http` server in its own process answering every
 * request with `201` and a small JSON body shaped like GitHub's "create issue" answer, so an
 * execute benchmark measures CRA rather than a remote API.
 */
import { spawn } from 'node:child_process';

const SCRIPT = `
const http = require('node:http');
let n = 0;
const server = http.createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    n += 1;
    const body = JSON.stringify({ number: n, html_url: 'https://github.example/acme/mobile-app/issues/' + n, state: 'open', title: 'Bug' });
    res.writeHead(201, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
    res.end(body);
  });
});
server.keepAliveTimeout = 60000;
server.listen(0, '127.0.0.1', () => process.stdout.write(String(server.address().port) + '\\n'));
process.on('SIGTERM', () => server.close(() => process.exit(0)));
// Gone with the benchmark process, even when that one is killed.
process.on('disconnect', () => process.exit(0));
`;

export interface HttpTarget {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startHttpTarget(): Promise<HttpTarget> {
  // The marker argument names the process for /proc CPU accounting (proc-cpu.ts).
  const child = spawn(process.execPath, ['-e', SCRIPT, 'cra-bench-http-target'], {
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve(Number(line));
    });
    child.once('exit', (code) => reject(new Error(`the HTTP target exited (code ${code}) before listening`)));
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid!,
    async stop() {
      if (child.exitCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
