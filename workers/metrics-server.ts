import http from 'node:http';
import net from 'node:net';
import { registry } from '../lib/metrics.js';
import type { Logger } from '../lib/logger.js';

/** A running /metrics endpoint. */
export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves Prometheus text on /metrics: scoreflow's series (lib/metrics.ts and the run gauges) followed by the
 * Temporal SDK's own, which the SDK's exporter serves on a loopback port (`sdkMetricsUrl`, see
 * sdkMetricsAddress): one scrape target per worker, whatever the SDK adds.
 */
export async function startMetricsServer(p: { port: number; host?: string; sdkMetricsUrl?: string; log: Logger }): Promise<MetricsServer> {
  const server = http.createServer((req, res) => {
    if (req.method !== 'GET' || !req.url?.startsWith('/metrics')) {
      res.writeHead(404).end('see /metrics\n');
      return;
    }
    void render(p.sdkMetricsUrl).then(
      (body) => res.writeHead(200, { 'content-type': registry.contentType }).end(body),
      (err: Error) => res.writeHead(500).end(`${err.message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(p.port, p.host ?? '0.0.0.0', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;
  p.log.info({ port }, 'metrics on /metrics');
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

async function render(sdkMetricsUrl: string | undefined): Promise<string> {
  const own = await registry.metrics();
  if (!sdkMetricsUrl) return own;
  const sdk = await fetch(sdkMetricsUrl).then((r) => (r.ok ? r.text() : ''), () => '');
  return `${own}\n${sdk}`;
}

/** A free loopback address for the SDK's Prometheus exporter, which scoreflow's endpoint relays. */
export async function sdkMetricsAddress(): Promise<string> {
  const probe = net.createServer();
  await new Promise<void>((resolve, reject) => probe.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return `127.0.0.1:${port}`;
}

/**
 * A worker process's /metrics on `port`, relaying the SDK's exporter from a free loopback port (install the
 * SDK runtime with `sdkAddress`). A port already taken (a second worker on the host) is logged and leaves
 * that process without metrics rather than without a worker.
 */
export async function openWorkerMetrics(port: number, log: Logger): Promise<(MetricsServer & { sdkAddress: string }) | undefined> {
  const sdkAddress = await sdkMetricsAddress();
  try {
    const server = await startMetricsServer({ port, sdkMetricsUrl: `http://${sdkAddress}/metrics`, log });
    return { ...server, sdkAddress };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    log.warn({ port }, 'SCOREFLOW_METRICS_PORT is in use: this worker serves no metrics; give each worker on a host its own port');
    return undefined;
  }
}
