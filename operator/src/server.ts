/** /healthz (alive), /readyz (caches synced; leader or standby), /metrics — on one port. */
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthSources {
  ready(): boolean;
  healthy(): boolean;
  detail(): Record<string, unknown>;
}

export function startHttp(port: number, registry: Registry, health: HealthSources): Promise<Server> {
  const server = createServer((req, res) => {
    const url = (req.url ?? '/').split('?')[0];
    const json = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (url === '/healthz')
      return json(health.healthy() ? 200 : 503, { status: health.healthy() ? 'ok' : 'unhealthy' });
    if (url === '/readyz')
      return json(health.ready() ? 200 : 503, { status: health.ready() ? 'ready' : 'not_ready', ...health.detail() });
    if (url === '/metrics') {
      registry.metrics().then(
        (text) => {
          res.writeHead(200, { 'content-type': registry.contentType });
          res.end(text);
        },
        () => json(500, { error: 'metrics failed' }),
      );
      return undefined;
    }
    return json(404, { error: 'not found' });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '0.0.0.0', () => resolve(server));
  });
}
