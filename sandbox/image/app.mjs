#!/usr/bin/env node
// The sample app inside its container image (one image per release, built offline by sandbox/images.ts):
// a real HTTP server that reports its release, takes a while to boot, finishes in-flight requests on SIGTERM,
// and keeps data in the named volume mounted at /data. The release tag picks a failure on purpose:
//   *broken*   /healthcheck answers 500            *crash*    exits right after booting
//   *slow*     boots in 40 s (past the health gate)  *stale*    keeps answering as release v1
//   *unready*  /ready (the container healthcheck) answers 503: never "healthy" for compose
import http from 'node:http';
import { appendFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';

const release = process.env.APP_RELEASE || 'unknown';
const answersAs = release.includes('stale') ? 'v1' : release;
const port = Number(process.env.APP_PORT || 8080);
const droplet = process.env.DROPLET_NAME || 'droplet';
const bootMs = release.includes('slow') ? 40_000 : Number(process.env.APP_BOOT_MS ?? 3000);
const requestMs = Number(process.env.APP_REQUEST_MS ?? 0);
const dataDir = process.env.APP_DATA_DIR || '/data';
const log = (msg) => console.log(`${new Date().toISOString()} ${droplet} ${release} ${msg}`);

mkdirSync(dataDir, { recursive: true });
appendFileSync(`${dataDir}/boots.log`, `${new Date().toISOString()} ${release}\n`);
const readValue = () => {
  try {
    return readFileSync(`${dataDir}/value`, 'utf8');
  } catch {
    return null;
  }
};

let stopping = false;
const server = http.createServer((req, res) => {
  const send = (status, body) => {
    res.writeHead(status, { 'content-type': 'application/json', connection: stopping ? 'close' : 'keep-alive' });
    res.end(JSON.stringify(body));
  };
  if (req.url === '/healthcheck') {
    if (release.includes('broken')) return send(500, { status: 'error', release: answersAs, droplet });
    return send(200, { status: 'ok', release: answersAs, droplet });
  }
  if (req.url === '/ready') return release.includes('unready') ? send(503, { status: 'not ready', release }) : send(200, { status: 'ready', release });
  if (req.url === '/data') {
    if (req.method === 'PUT') {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        writeFileSync(`${dataDir}/value`, body);
        send(200, { value: body });
      });
      return;
    }
    return send(200, { value: readValue(), release });
  }
  // Simulated work, so a stop really has requests in flight.
  setTimeout(() => send(200, { hello: 'world', release: answersAs, droplet, env: process.env.APP_GREETING ?? null }), requestMs);
});
server.keepAliveTimeout = 2000;

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
  server.listen(port, '0.0.0.0', () => {
    log(`listening on :${port}`);
    if (release.includes('crash')) {
      log('crashing');
      process.exit(1);
    }
  });
}, bootMs);
