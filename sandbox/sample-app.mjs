#!/usr/bin/env node
// The sample app a droplet runs (started by the docker shim in place of a container): a real HTTP server
// that reports its release, takes a while to boot, and finishes in-flight requests when stopped.
// Behaviour changes with the release tag, for failure tests:
//   *broken*  /healthcheck answers 500     *crash*  exits right after booting     *slow*  boots in 20 s
import http from 'node:http';

const release = process.env.APP_RELEASE || 'unknown';
const host = process.env.APP_HOST || '127.0.0.1';
const port = Number(process.env.APP_PORT || 8080);
const droplet = process.env.DROPLET_NAME || 'droplet';
const bootMs = release.includes('slow') ? 20_000 : Number(process.env.APP_BOOT_MS ?? 3000);
const requestMs = Number(process.env.APP_REQUEST_MS ?? 0);
const log = (msg) => console.log(`${new Date().toISOString()} ${droplet} ${release} ${msg}`);

const server = http.createServer((req, res) => {
  const send = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json', connection: stopping ? 'close' : 'keep-alive' });
    res.end(JSON.stringify(body));
  };
  if (req.url === '/healthcheck') {
    if (release.includes('broken')) return send(500, { status: 'error', release, droplet });
    return send(200, { status: 'ok', release, droplet });
  }
  // Simulated work, so a stop really has requests in flight.
  setTimeout(() => send(200, { hello: 'world', release, droplet, env: process.env.APP_GREETING ?? null }), requestMs);
});
server.keepAliveTimeout = 2000;

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  log(`${signal}: finishing in-flight requests`);
  server.close(() => {
    log('stopped');
    process.exit(0);
  });
  server.closeIdleConnections();
  setTimeout(() => process.exit(0), 10_000).unref();
}
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

log(`booting (${bootMs} ms)`);
setTimeout(() => {
  server.listen(port, host, () => {
    log(`listening on ${host}:${port}`);
    if (release.includes('crash')) {
      log('crashing');
      process.exit(1);
    }
  });
}, bootMs);
