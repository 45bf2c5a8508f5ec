// The local DigitalOcean API behaves as the real one does where the deployer depends on it: the token's quota
// (a sliding hour and a minute, with DigitalOcean's headers), seeded propagation and busy windows, health checks
// within DigitalOcean's ranges, and a fake that reports its own faults instead of taking the process down.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import { FakeDigitalOcean, healthCheckProblems, seededRandom, type FakeOptions } from '../../sandbox/fake-digitalocean';
import { ended, stopProcess } from '../../sandbox/processes';

const TOKEN = 'fake-token-not-a-secret';

async function withFake(opts: FakeOptions, fn: (fake: FakeDigitalOcean, call: (method?: string, path?: string, body?: unknown) => Promise<{ status: number; headers: Headers; body: Record<string, unknown> }>) => Promise<void>) {
  const fake = new FakeDigitalOcean(TOKEN, opts);
  fake.addDroplet({ id: 1, name: 'web-1', publicIp: '127.0.0.2', tags: ['web'] });
  fake.addLoadBalancer({
    id: 'lb-1', name: 'prod-lb', ip: '127.0.0.3', status: 'active', dropletIds: [1],
    healthCheck: { protocol: 'http', port: 8080, path: '/', check_interval_seconds: 10, response_timeout_seconds: 5, healthy_threshold: 3, unhealthy_threshold: 5 },
  });
  const url = await fake.listen(0, '127.0.0.1');
  const call = async (method = 'GET', path = '/droplets', body?: unknown) => {
    const res = await fetch(`${url}${path}`, { method, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, headers: res.headers, body: text ? JSON.parse(text) : {} };
  };
  try {
    await fn(fake, call);
  } finally {
    await fake.close();
  }
}

test('the quota: a minute\'s burst answers 429 with retry-after; a spent hour answers 429 without it until the oldest request ages out', async () => {
  let now = Date.UTC(2026, 11, 7, 12, 0, 0);
  await withFake({ quota: { perHour: 5, perMinute: 3 }, now: () => now }, async (_fake, call) => {
    const first = await call();
    assert.equal(first.status, 200);
    assert.equal(first.headers.get('ratelimit-limit'), '5');
    assert.equal(first.headers.get('ratelimit-remaining'), '4');
    assert.equal(first.headers.get('ratelimit-reset'), String(now / 1000 + 3600), 'reset: when the oldest counted request expires');
    now += 10_000;
    assert.equal((await call()).status, 200);
    assert.equal((await call()).status, 200);
    const burst = await call();
    assert.equal(burst.status, 429);
    assert.equal(burst.body.id, 'too_many_requests');
    assert.equal(burst.headers.get('retry-after'), '50', 'the first request of the minute ages out in 50 s');
    now += 51_000;
    assert.equal((await call()).status, 200, 'the minute moved on');
    now += 10_000;
    assert.equal((await call()).status, 200);
    const spent = await call();
    assert.equal(spent.status, 429, 'five in the hour');
    assert.equal(spent.headers.get('retry-after'), null, 'a spent hour says only when it resets');
    assert.equal(spent.headers.get('ratelimit-remaining'), '0');
    assert.ok(typeof spent.body.request_id === 'string', 'error bodies carry the request ID');
    now = Date.UTC(2026, 11, 7, 13, 0, 0) + 1;
    assert.equal((await call()).status, 200, 'the first request of the hour aged out');
  });
});

test('propagation and busy windows are drawn from a seeded source: the same seed repeats them, within their ranges', async () => {
  const draws = async (seed: number) => {
    const out: number[] = [];
    await withFake({ seed, quota: null }, async (fake, call) => {
      fake.faults.propagationDelayMs = 0;
      fake.faults.attachPropagationMs = { min: 1000, max: 9000 };
      fake.faults.detachPropagationMs = { min: 100, max: 200 };
      for (let k = 0; k < 4; k++) {
        assert.equal((await call('DELETE', '/load_balancers/lb-1/droplets', { droplet_ids: [1] })).status, 204);
        assert.equal((await call('POST', '/load_balancers/lb-1/droplets', { droplet_ids: [1] })).status, 204);
      }
      out.push(...fake.propagations.map((p) => p.delayMs));
      for (const p of fake.propagations) {
        const [min, max] = p.change === 'attach' ? [1000, 9000] : [100, 200];
        assert.ok(p.delayMs >= min && p.delayMs <= max, `${p.change} ${p.delayMs} ms within ${min}–${max}`);
      }
    });
    return out;
  };
  const a = await draws(7);
  assert.deepEqual(await draws(7), a);
  assert.notDeepEqual(await draws(8), a);
  assert.equal(new Set(a).size > 4, true, 'the draws vary');
  assert.deepEqual([seededRandom(3)(), seededRandom(3)()], [seededRandom(3)(), seededRandom(3)()]);
});

test('the data plane applies an LB\'s changes in the order the API took them: a quick attach never lands before a slow detach', async () => {
  await withFake({ quota: null }, async (fake, call) => {
    const applied: number[][] = [];
    fake.onMembershipChange = (_lb, members) => applied.push([...members]);
    fake.faults.detachPropagationMs = 400;
    fake.faults.attachPropagationMs = 0;
    assert.equal((await call('DELETE', '/load_balancers/lb-1/droplets', { droplet_ids: [1] })).status, 204);
    assert.equal((await call('POST', '/load_balancers/lb-1/droplets', { droplet_ids: [1] })).status, 204);
    await new Promise((r) => setTimeout(r, 600));
    assert.deepEqual(applied, [[], [1]], 'detached, then attached: web-1 ends in rotation, as the API says');
  });
});

test('a busy window drawn per change: changes answer 403 "busy" until it passes', async () => {
  let now = 1_000_000;
  await withFake({ now: () => now, quota: null }, async (fake, call) => {
    fake.faults.busyWindowMs = { min: 2000, max: 2000 };
    fake.faults.propagationDelayMs = 0;
    assert.equal((await call('DELETE', '/load_balancers/lb-1/droplets', { droplet_ids: [1] })).status, 204);
    const busy = await call('POST', '/load_balancers/lb-1/droplets', { droplet_ids: [1] });
    assert.equal(busy.status, 403);
    assert.match(String(busy.body.message), /can't be updated while it processes previous actions/);
    now += 2001;
    assert.equal((await call('POST', '/load_balancers/lb-1/droplets', { droplet_ids: [1] })).status, 204);
  });
});

test('health checks outside DigitalOcean\'s ranges are refused with 422, naming each value; inside them they apply', async () => {
  assert.deepEqual(healthCheckProblems({ check_interval_seconds: 10, response_timeout_seconds: 5, healthy_threshold: 3, unhealthy_threshold: 5 }), []);
  assert.deepEqual(healthCheckProblems({ check_interval_seconds: 1, healthy_threshold: 11, unhealthy_threshold: 2.5 }), [
    'health_check.check_interval_seconds must be an integer between 3 and 300',
    'health_check.healthy_threshold must be an integer between 2 and 10',
    'health_check.unhealthy_threshold must be an integer between 2 and 10',
  ]);
  await withFake({ quota: null }, async (fake, call) => {
    const refused = await call('PUT', '/load_balancers/lb-1', { health_check: { check_interval_seconds: 1 } });
    assert.equal(refused.status, 422);
    assert.equal(refused.body.id, 'unprocessable_entity');
    assert.match(String(refused.body.message), /check_interval_seconds must be an integer between 3 and 300/);
    assert.equal(fake.loadBalancers.get('lb-1')?.healthCheck.check_interval_seconds, 10, 'nothing changed');
    const applied = await call('PUT', '/load_balancers/lb-1', { health_check: { check_interval_seconds: 3, healthy_threshold: 2 } });
    assert.equal(applied.status, 200);
    assert.equal((applied.body.load_balancer as { health_check: { check_interval_seconds: number } }).health_check.check_interval_seconds, 3);
  });
});

test('a port in use is the fleet\'s own error, not the process\'s; closing twice is harmless', async () => {
  const holder = http.createServer();
  await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve));
  const port = (holder.address() as { port: number }).port;
  const fake = new FakeDigitalOcean(TOKEN);
  try {
    await assert.rejects(fake.listen(port, '127.0.0.1'), new RegExp(`cannot listen on 127.0.0.1:${port}: .*EADDRINUSE`));
  } finally {
    await fake.close();
    await fake.close();
    await new Promise((resolve) => holder.close(resolve));
  }
});

test('a sandbox process killed by a signal counts as ended: stopping it again returns at once', async () => {
  const child = spawn('sleep', ['30'], { stdio: 'ignore' });
  await new Promise((resolve) => child.once('spawn', resolve));
  assert.equal(ended(child), false);
  await stopProcess(child);
  assert.equal(child.exitCode, null, 'a signal, not an exit code');
  assert.equal(ended(child), true);
  await stopProcess(child); // hung before: it waited for an exit that had already happened
});
