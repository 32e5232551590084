/**
 * A local HTTP server standing in for a third-party API (GitHub, a helpdesk) in tests: records
 * every request and answers with a scripted response. CRA's executor really calls it.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SeenRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export type Responder = (req: SeenRequest) => { status?: number; body?: unknown; delayMs?: number };

export interface FakeApi {
  url: string;
  seen: SeenRequest[];
  respond(responder: Responder): void;
  close(): Promise<void>;
}

export async function startFakeApi(initial?: Responder): Promise<FakeApi> {
  const seen: SeenRequest[] = [];
  let responder: Responder =
    initial ?? ((req) => ({ status: 201, body: { ok: true, method: req.method, url: req.url } }));
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const record: SeenRequest = {
        method: req.method ?? '',
        url: req.url ?? '',
        headers: req.headers,
        body: text ? (JSON.parse(text) as unknown) : undefined,
      };
      seen.push(record);
      const { status = 200, body = {}, delayMs = 0 } = responder(record);
      setTimeout(() => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      }, delayMs);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    seen,
    respond: (r) => {
      responder = r;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
