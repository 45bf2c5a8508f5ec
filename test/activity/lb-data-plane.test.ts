// The local load balancer's data plane (HAProxy) does what DigitalOcean's does with a droplet that is added back:
// it starts DOWN and gets traffic only after `healthy_threshold` passing checks; a dead one never gets any. The
// settle exists for that rise, so the fleet must really have it. A removed droplet gets no new requests.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { HaproxyLoadBalancer } from '../../sandbox/haproxy';

const ADDRESS = '127.0.77.1';
const LB_PORT = 8077;
let dir: string;
let lb: HaproxyLoadBalancer;
const servers: http.Server[] = [];
const served = { alive: 0 };

/** A backend that answers its health check and counts the requests that are not checks. */
async function backend(port: number, counter: { alive: number }): Promise<http.Server> {
  const server = http.createServer((req, res) => {
    if (req.url !== '/healthcheck') counter.alive++;
    res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(port, ADDRESS, resolve));
  servers.push(server);
  return server;
}

const status = async (name: string) => (await lb.servers()).find((s) => s.name === name)?.status ?? 'missing';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(name: string, want: RegExp, timeoutMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    if (want.test(await status(name))) return Date.now() - start;
    if (Date.now() - start > timeoutMs) throw new Error(`${name} is ${await status(name)}, not ${want}, after ${timeoutMs} ms`);
    await sleep(50);
  }
}

before(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'lb-data-plane-'));
  await backend(9101, served);
  // 9102: nothing listens there (a droplet whose app is down).
  lb = new HaproxyLoadBalancer({
    dir, bindAddress: ADDRESS, bindPort: LB_PORT,
    healthCheck: { protocol: 'http', port: 9101, path: '/healthcheck', check_interval_seconds: 1, response_timeout_seconds: 1, healthy_threshold: 3, unhealthy_threshold: 2 },
    backends: [{ dropletId: 1, name: 'alive', address: ADDRESS, port: 9101 }, { dropletId: 2, name: 'dead', address: ADDRESS, port: 9102 }],
    initialMembers: [1],
  });
  await lb.start();
  await waitFor('alive', /^UP/, 10_000);
});

after(async () => {
  await lb?.stop();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

test('a droplet added back starts DOWN and takes traffic only after healthy_threshold checks', async () => {
  await lb.applyMembership([]);
  assert.match(await status('alive'), /MAINT/);
  await sleep(1500);
  const before = served.alive;
  await lb.applyMembership([1]);
  const right = await status('alive');
  assert.doesNotMatch(right, /^UP/, `just added back it is ${right}`);
  // While it rises, requests through the LB do not reach it.
  const early = await fetch(`http://${ADDRESS}:${LB_PORT}/`).then((r) => r.status, () => 0);
  assert.equal(served.alive, before, `no request reached it before its rise (the LB answered ${early})`);
  const riseMs = await waitFor('alive', /^UP/, 10_000);
  // Three passing checks a second apart: about 2–3 s after the add, never at once.
  assert.ok(riseMs >= 1500, `UP after ${riseMs} ms`);
  assert.equal((await fetch(`http://${ADDRESS}:${LB_PORT}/`)).status, 200);
  assert.equal(served.alive, before + 1);
});

test('a dead droplet added to the load balancer never takes traffic', async () => {
  await lb.applyMembership([1, 2]);
  await sleep(3500);
  assert.match(await status('dead'), /^DOWN/);
  for (let k = 0; k < 6; k++) assert.equal((await fetch(`http://${ADDRESS}:${LB_PORT}/`)).status, 200, 'every request goes to the live one');
  await lb.applyMembership([1]);
});
