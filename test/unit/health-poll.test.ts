// The health poll heartbeats on its own clock: a probe interval of 30 s (DigitalOcean's own checks run every
// 10 s, and users mirror such values) or a slow probe must not read as a lost worker against the step's
// 10 s heartbeat timeout.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { MockActivityEnvironment } from '@temporalio/testing';
import { healthActivities } from '../../src/activities/health';
import { workerPolicy } from '../../src/activities/policy';
import type { ActivityDeps } from '../../src/activities/deps';
import type { HealthCheckSpec, RemoteSpec } from '../../src/types';

let server: http.Server;
let port = 0;
let probes = 0;
before(async () => {
  server = http.createServer((_req, res) => {
    probes++;
    res.writeHead(200).end('{"release":"v2"}');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(() => server.close());

test('between probes spaced 3 s apart, the poll heartbeats every second', async () => {
  const deps = { fetch: globalThis.fetch, policy: workerPolicy({}) } as unknown as ActivityDeps;
  const spec: HealthCheckSpec = { url: `http://{host}:${port}/health`, expectStatus: 200, releaseMarker: true, intervalMs: 3_000, timeoutMs: 20_000, requestTimeoutMs: 1_000, successes: 2 };
  const env = new MockActivityEnvironment();
  const beats: number[] = [];
  env.on('heartbeat', () => beats.push(Date.now()));
  const started = Date.now();
  const result: { probes: number } = await env.run(healthActivities(deps).pollHealth, {
    droplet: { id: 1, name: 'web-1', address: '127.0.0.1' }, remote: {} as RemoteSpec, secrets: { tokenEnv: 'T', sshKeyEnv: 'K' }, healthCheck: spec, release: 'v2',
  });
  assert.equal(result.probes, 2);
  assert.equal(probes, 2);
  const gaps = [beats[0] - started, ...beats.slice(1).map((t, i) => t - beats[i])];
  assert.ok(beats.length >= 3, `heartbeats while waiting for the second probe (${beats.length})`);
  assert.ok(Math.max(...gaps) < 2_000, `no gap of 2 s or more between heartbeats (${gaps.join(', ')} ms)`);
});
