// The DigitalOcean adapter (dots-wrapper underneath) against a local server that answers like the real API.
import { after, before, beforeEach, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ApplicationFailure } from '@temporalio/common';
import { createDigitalOcean } from '../../src/digitalocean/dots-adapter';
import { DigitalOceanError, retryAfter, toDigitalOceanError } from '../../src/digitalocean/errors';
import { toFailure } from '../../src/activities/deps';
import { FakeDigitalOcean } from '../../sandbox/fake-digitalocean';
import { loadBalancerActivities } from '../../src/activities/load-balancer';
import type { ActivityDeps } from '../../src/activities/deps';

const TOKEN = 'dop_v1_test_token';
const HC = { protocol: 'http', port: 80, path: '/healthcheck', check_interval_seconds: 3, response_timeout_seconds: 2, healthy_threshold: 2, unhealthy_threshold: 2 };
let fake: FakeDigitalOcean;
let apiUrl: string;

before(async () => {
  fake = new FakeDigitalOcean(TOKEN);
  apiUrl = await fake.listen();
});
after(async () => {
  assert.deepEqual(fake.fatal, [], 'no load balancer was ever deleted');
  await fake.close();
});
beforeEach(() => {
  fake.droplets.clear();
  fake.loadBalancers.clear();
  fake.requests.length = 0;
  fake.faults = { rateLimitBurst: 0, serverErrors: 0, busyWindowMs: 0, propagationDelayMs: 0 };
  for (let i = 1; i <= 3; i++) fake.addDroplet({ id: i, name: `web-${i}`, publicIp: `127.0.1.${i}`, privateIp: `127.0.2.${i}`, tags: ['web'] });
  fake.addLoadBalancer({ id: 'lb-ids', name: 'prod-lb', ip: '127.0.0.100', status: 'active', dropletIds: [1, 2, 3], healthCheck: HC });
  fake.addLoadBalancer({ id: 'lb-tag', name: 'tag-lb', ip: '127.0.0.101', status: 'active', tag: 'web', dropletIds: [], healthCheck: HC });
});

const api = () => createDigitalOcean({ token: TOKEN, apiUrl });
const changes = () => fake.requests.filter((r) => r.method !== 'GET').map((r) => ({ method: r.method, path: r.path, body: r.body }));

describe('load balancer membership', () => {
  test('detach and attach by droplet ID use the droplets sub-resource with a droplet_ids body', async () => {
    const port = api();
    const lb = await port.getLoadBalancer({ id: 'lb-ids' });
    await port.detachDroplets(lb, [2]);
    assert.deepEqual(fake.loadBalancers.get('lb-ids')?.dropletIds, [1, 3]);
    await port.attachDroplets(lb, [2]);
    assert.deepEqual(changes(), [
      { method: 'DELETE', path: '/v2/load_balancers/lb-ids/droplets', body: { droplet_ids: [2] } },
      { method: 'POST', path: '/v2/load_balancers/lb-ids/droplets', body: { droplet_ids: [2] } },
    ]);
    assert.ok(!fake.requests.some((r) => r.method === 'DELETE' && r.path === '/v2/load_balancers/lb-ids'), 'never DELETE the load balancer itself');
  });

  test('a batch of three leaving and returning together costs one read and one change each way, not three of each', async () => {
    const lb = await api().getLoadBalancer({ id: 'lb-ids' });
    const acts = loadBalancerActivities({ digitalOcean: () => api() } as unknown as ActivityDeps);
    const access = { apiUrl, secrets: { tokenEnv: 'DIGITALOCEAN_TOKEN', sshKeyEnv: 'DEPLOY_SSH_KEY' } };
    const batch = [1, 2, 3].map((id) => ({ access, loadBalancer: lb, droplet: { id, name: `web-${id}`, address: `127.0.1.${id}` }, together: 3 }));
    fake.requests.length = 0;
    await Promise.all(batch.map((input) => acts.detachDroplet(input)));
    assert.deepEqual(fake.loadBalancers.get('lb-ids')?.dropletIds, []);
    await Promise.all(batch.map((input) => acts.attachDroplet(input)));
    assert.deepEqual(fake.loadBalancers.get('lb-ids')?.dropletIds, [1, 2, 3]);
    assert.deepEqual(fake.requests.map((r) => `${r.method} ${r.path}${r.body ? ` ${JSON.stringify(r.body)}` : ''}`), [
      'GET /v2/load_balancers/lb-ids', 'DELETE /v2/load_balancers/lb-ids/droplets {"droplet_ids":[1,2,3]}',
      'GET /v2/load_balancers/lb-ids', 'POST /v2/load_balancers/lb-ids/droplets {"droplet_ids":[1,2,3]}',
    ]);
  });

  test('an LB step answers the token\'s quota, and says when the droplet was already as asked: moved by someone else', async () => {
    const lb = await api().getLoadBalancer({ id: 'lb-ids' });
    const acts = loadBalancerActivities({ digitalOcean: () => api() } as unknown as ActivityDeps);
    const input = { access: { apiUrl, secrets: { tokenEnv: 'DIGITALOCEAN_TOKEN', sshKeyEnv: 'DEPLOY_SSH_KEY' } }, loadBalancer: lb, droplet: { id: 2, name: 'web-2', address: '127.0.1.2' } };
    const first = await acts.detachDroplet(input);
    assert.equal(first.changedElsewhere, undefined);
    assert.equal(first.quota?.limit, 5000);
    fake.loadBalancers.get('lb-ids')?.dropletIds.push(2); // someone adds it back in the control panel
    assert.match((await acts.attachDroplet(input)).changedElsewhere ?? '', /^web-2 was already in load balancer prod-lb when this rollout went to attach it: moved by someone else/);
  });

  test('a tag-targeted load balancer is changed by untagging and re-tagging the droplet: one idempotent request, no read of the LB\'s computed list', async () => {
    const port = api();
    const lb = await port.getLoadBalancer({ name: 'tag-lb' });
    assert.equal(lb.tag, 'web');
    fake.requests.length = 0;
    await port.detachDroplets(lb, [3]);
    assert.deepEqual(fake.members(fake.loadBalancers.get('lb-tag')!), [1, 2]);
    await port.attachDroplets(lb, [3]);
    assert.deepEqual(changes(), [
      { method: 'DELETE', path: '/v2/tags/web/resources', body: { resources: [{ resource_id: '3', resource_type: 'droplet' }] } },
      { method: 'POST', path: '/v2/tags/web/resources', body: { resources: [{ resource_id: '3', resource_type: 'droplet' }] } },
    ]);
    assert.equal(fake.requests.length, 2, 'the tag calls and nothing else');
    await port.attachDroplets(lb, [3]); // a retry after a lost answer: the droplet keeps its one tag
    assert.deepEqual(fake.droplets.get(3)?.tags, ['web']);
  });

  test('a retried attach or detach whose first answer was lost is a no-op', async () => {
    const port = api();
    const lb = await port.getLoadBalancer({ id: 'lb-ids' });
    await port.attachDroplets(lb, [1]); // already a member
    await port.detachDroplets(lb, [2]);
    await port.detachDroplets(lb, [2]); // second time: already gone
    assert.equal(changes().length, 1);
  });

  test('the health check and targeting of the LB are read for the settle arithmetic', async () => {
    const lb = await api().getLoadBalancer({ id: 'lb-ids' });
    assert.deepEqual(lb.healthCheck, { protocol: 'http', port: 80, path: '/healthcheck', checkIntervalSeconds: 3, responseTimeoutSeconds: 2, healthyThreshold: 2, unhealthyThreshold: 2 });
    assert.deepEqual(lb.dropletIds, [1, 2, 3]);
  });
});

describe('listing droplets', () => {
  test('follows links.pages.next across more than 200 droplets with per_page=200', async () => {
    for (let i = 4; i <= 450; i++) fake.addDroplet({ id: i, name: `web-${i}`, publicIp: `127.0.${Math.floor(i / 250) + 3}.${i % 250}`, tags: ['web'] });
    fake.addDroplet({ id: 999, name: 'db-1', publicIp: '127.0.9.9', tags: ['db'] });
    const droplets = await api().listDroplets({ tag: 'web' }, 'public');
    assert.equal(droplets.length, 450);
    assert.ok(!droplets.some((d) => d.name === 'db-1'));
    const pages = fake.requests.filter((r) => r.path === '/v2/droplets');
    assert.deepEqual(pages.map((r) => [r.query.page, r.query.per_page, r.query.tag_name]), [['1', '200', 'web'], ['2', '200', 'web'], ['3', '200', 'web']]);
  });

  test('by names, with the private address when asked', async () => {
    const droplets = await api().listDroplets({ names: ['web-3', 'web-1'] }, 'private');
    assert.deepEqual(droplets, [{ id: 1, name: 'web-1', address: '127.0.2.1' }, { id: 3, name: 'web-3', address: '127.0.2.3' }]);
  });

  test('names that do not exist are named in the error', async () => {
    await assert.rejects(api().listDroplets({ names: ['web-1', 'web-9'] }, 'public'), /droplet\(s\) not found: web-9/);
  });

  test('an empty tag is an error, not an empty rollout', async () => {
    await assert.rejects(api().listDroplets({ tag: 'nothing' }, 'public'), new RegExp(`no droplets carry the tag "nothing" at ${apiUrl}; check droplets.tag`));
  });
});

describe('errors', () => {
  test('401 becomes a clear, non-retryable error about the token', async () => {
    const bad = createDigitalOcean({ token: 'wrong', apiUrl });
    const err = await bad.getLoadBalancer({ id: 'lb-ids' }).catch((e: unknown) => e);
    assert.ok(err instanceof DigitalOceanError);
    assert.equal(err.kind, 'unauthorized');
    assert.equal(err.retryable, false);
    assert.match(err.message, /rejected the API token \(401 unauthorized: Unable to authenticate you; request [0-9a-f-]{36}\)/);
    assert.equal(err.requestId?.length, 36, 'DigitalOcean\'s request ID is kept for its support');
    const failure = toFailure(err) as ApplicationFailure;
    assert.equal(failure.nonRetryable, true);
  });

  test('an unknown load balancer is a non-retryable 404 naming what was asked for', async () => {
    const err = await api().getLoadBalancer({ id: 'nope' }).catch((e: unknown) => e) as DigitalOceanError;
    assert.equal(err.kind, 'not-found');
    assert.equal(err.retryable, false);
    await assert.rejects(api().getLoadBalancer({ name: 'nope-lb' }), /no load balancer is named "nope-lb"/);
  });

  test('429 is retryable after the time the API asks for', async () => {
    fake.faults.rateLimitBurst = 1;
    const err = await api().getLoadBalancer({ id: 'lb-ids' }).catch((e: unknown) => e) as DigitalOceanError;
    assert.equal(err.kind, 'rate-limited');
    assert.equal(err.retryable, true);
    assert.equal(err.retryAfterMs, 1000);
    const failure = toFailure(err) as ApplicationFailure;
    assert.equal(failure.nonRetryable, false);
    assert.equal(failure.nextRetryDelay, 1000);
  });

  test('403 "processes previous actions": the change goes again after a pause, without another read; a longer busy is retryable; 5xx too', async () => {
    fake.faults.busyWindowMs = 800; // over before the first pause (1 s) ends
    const port = api();
    const lb = await port.getLoadBalancer({ id: 'lb-ids' });
    await port.detachDroplets(lb, [1]);
    fake.requests.length = 0;
    await port.detachDroplets(lb, [2]);
    assert.deepEqual(fake.requests.map((r) => `${r.method} ${r.status}`), ['GET 200', 'DELETE 403', 'DELETE 204'], 'refused while busy, sent again as it was');
    fake.faults.busyWindowMs = 60_000;
    await port.detachDroplets(lb, [3]);
    const busy = await port.attachDroplets(lb, [3]).catch((e: unknown) => e) as DigitalOceanError;
    assert.equal(busy.kind, 'busy');
    assert.equal(busy.retryable, true);
    fake.faults.serverErrors = 1;
    const server = await port.getLoadBalancer({ id: 'lb-ids' }).catch((e: unknown) => e) as DigitalOceanError;
    assert.equal(server.kind, 'server');
    assert.equal(server.retryable, true);
  });

  test('a token without write scope: 403 names the token variable and the scopes it needs, with the request ID, not retried', async () => {
    fake.faults.readOnlyToken = true;
    try {
      const port = createDigitalOcean({ token: TOKEN, tokenEnv: 'DIGITALOCEAN_TOKEN', apiUrl });
      const lb = await port.getLoadBalancer({ id: 'lb-ids' });
      const err = await port.detachDroplets(lb, [lb.dropletIds[0]]).catch((e: unknown) => e) as DigitalOceanError;
      assert.equal(err.kind, 'forbidden');
      assert.equal(err.retryable, false);
      assert.match(err.message, /the token in DIGITALOCEAN_TOKEN may not do this \(403: You do not have access for the attempted action\.; request [0-9a-f-]{36}\)\. It needs write scope: load_balancer:update/);
    } finally {
      fake.faults.readOnlyToken = false;
    }
  });

  test('droplets that are off, new, archived or locked are refused by name with their state', async () => {
    fake.addDroplet({ id: 901, name: 'off-1', publicIp: '127.0.9.1', tags: ['unready'], status: 'off' });
    fake.addDroplet({ id: 902, name: 'new-1', publicIp: '127.0.9.2', tags: ['unready'], status: 'new' });
    fake.addDroplet({ id: 903, name: 'locked-1', publicIp: '127.0.9.3', tags: ['unready'], locked: true });
    fake.addDroplet({ id: 904, name: 'ok-1', publicIp: '127.0.9.4', tags: ['unready'] });
    const err = await api().listDroplets({ tag: 'unready' }, 'public').catch((e: unknown) => e) as DigitalOceanError;
    assert.equal(err.retryable, false);
    assert.match(err.message, /^off-1 \(901\) is off, new-1 \(902\) is new, locked-1 \(903\) is locked: only active, unlocked droplets can be deployed to/);
    for (const id of [901, 902, 903, 904]) fake.droplets.delete(id);
  });

  test('an unreachable API is retryable and says so', () => {
    const err = toDigitalOceanError({ code: 'ECONNREFUSED' }, 'get load balancer x');
    assert.equal(err.kind, 'network');
    assert.equal(err.retryable, true);
    assert.match(err.message, /unreachable \(ECONNREFUSED\)/);
  });

  test('a spent hour: the next request is not sent; it fails retryable with the wait until the quota resets', async () => {
    const own = new FakeDigitalOcean(TOKEN, { quota: { perHour: 5, perMinute: 100 } });
    own.addLoadBalancer({ id: 'lb-q', name: 'q-lb', ip: '127.0.0.102', status: 'active', dropletIds: [], healthCheck: HC });
    const port = createDigitalOcean({ token: TOKEN, apiUrl: await own.listen() });
    try {
      for (let i = 0; i < 5; i++) await port.getLoadBalancer({ id: 'lb-q' });
      assert.deepEqual(port.quota(), { ...port.quota(), limit: 5, remaining: 0 });
      const err = await port.getLoadBalancer({ id: 'lb-q' }).catch((e: DigitalOceanError) => e);
      assert.ok(err instanceof DigitalOceanError);
      assert.equal(err.kind, 'rate-limited');
      assert.equal(err.retryable, true);
      assert.match(err.message, /not sent: the token's hourly quota is spent \(0 of 5 left\) until \d\d:\d\d:\d\d UTC/);
      assert.ok((err.retryAfterMs ?? 0) > 3_500_000, `waits for the oldest request to age out (${err.retryAfterMs} ms)`);
      assert.deepEqual(own.requests.map((r) => r.status), [200, 200, 200, 200, 200], 'nothing sent into the spent quota: no 429');
    } finally {
      await own.close();
    }
  });

  test('a minute\'s 429: every request after it waits its retry-after instead of drawing another 429', async () => {
    const own = new FakeDigitalOcean(TOKEN, { quota: { perHour: 100, perMinute: 2 } });
    own.addLoadBalancer({ id: 'lb-q', name: 'q-lb', ip: '127.0.0.102', status: 'active', dropletIds: [], healthCheck: HC });
    const port = createDigitalOcean({ token: TOKEN, apiUrl: await own.listen() });
    try {
      const outcomes: string[] = [];
      for (let i = 0; i < 4; i++) outcomes.push(await port.getLoadBalancer({ id: 'lb-q' }).then(() => 'ok', (e: DigitalOceanError) => e.message.replace(/\(.*/, '').trim()));
      assert.deepEqual(outcomes, ['ok', 'ok', 'get load balancer lb-q: rate limited', 'get load balancer lb-q: not sent: DigitalOcean asked to wait']);
      assert.deepEqual(own.requests.map((r) => r.status), [200, 200, 429], 'one 429, then nothing until retry-after');
    } finally {
      await own.close();
    }
  });

  test('ratelimit-reset (epoch seconds) is used when retry-after is absent', () => {
    const now = () => 1_000_000_000_000;
    assert.equal(retryAfter(undefined, String(1_000_000_030), now), 30_000);
    assert.equal(retryAfter('5', String(1_000_000_030), now), 5000);
    assert.equal(retryAfter(undefined, undefined, now), undefined);
  });
});
