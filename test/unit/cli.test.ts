// The operator CLI: plans, exit codes and clear errors before anything on the fleet is touched.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { cli } from '../helpers/cli';
import { historyQuery, renderHistory } from '../../src/cli/history';
import { idleStretches, renderStepLines, renderTimelineSvg } from '../../src/cli/timeline';
import { renderCurrentDetails } from '../../src/status-text';
import { withDropletSteps } from '../../src/cli/view';
import { progressLines, renderStatus } from '../../src/cli/render';
import type { RolloutStatus } from '../../src/workflows/messages';
import { FakeDigitalOcean } from '../../sandbox/fake-digitalocean';
import { legacyRolloutWorkflowId, rolloutWorkflowId } from '../../src/rollout-plan';

const EXAMPLE = path.resolve(__dirname, '..', '..', 'deploy.config.example.yaml');
const HC = { protocol: 'http', port: 8080, path: '/healthcheck', check_interval_seconds: 10, response_timeout_seconds: 5, healthy_threshold: 3, unhealthy_threshold: 3 };
let fake: FakeDigitalOcean;
const saved = { ...process.env };

before(async () => {
  fake = new FakeDigitalOcean('tok');
  for (let i = 1; i <= 3; i++) fake.addDroplet({ id: 100 + i, name: `web-${i}`, publicIp: `127.0.3.${i}`, tags: ['sample-app-production'] });
  fake.addLoadBalancer({ id: 'lb-1', name: 'sample-app-lb', ip: '127.0.3.100', status: 'active', dropletIds: [101, 102, 103], healthCheck: HC });
  process.env.DIGITALOCEAN_API_URL = await fake.listen();
  process.env.DIGITALOCEAN_TOKEN = 'tok';
});
after(async () => {
  process.env = saved;
  assert.deepEqual(fake.fatal, []);
  await fake.close();
});

test('unknown environment: names it and the known ones, exit 2', async () => {
  const { code, err } = await cli('start', 'prod', '--config', EXAMPLE, '--dry-run');
  assert.equal(code, 2);
  assert.match(err, /unknown environment "prod". Known environments: production, staging/);
});

test('usage errors print the usage, exit 2', async () => {
  for (const argv of [['start'], ['frobnicate', 'production'], ['start', 'production', '--batch-size', '0'], ['start', 'production', '--nope']]) {
    const { code, err } = await cli(...argv);
    assert.equal(code, 2, argv.join(' '));
    assert.match(err, /usage:/);
  }
});

test('an unreachable Temporal server says how to start one, exit 2', async () => {
  process.env.TEMPORAL_ADDRESS = '127.0.0.1:1';
  try {
    const { code, err } = await cli('start', 'production', '--config', EXAMPLE, '--release', 'v2');
    assert.equal(code, 2);
    assert.match(err, /cannot reach the Temporal server at 127.0.0.1:1/);
    assert.match(err, /npm run temporal/);
    assert.ok(!fake.requests.some((r) => r.method !== 'GET'), 'nothing on the fleet was touched');
  } finally {
    delete process.env.TEMPORAL_ADDRESS;
  }
});

test('history renders one line per rollout with its outcome and Web UI link', () => {
  assert.equal(historyQuery('shop', 'production'), 'WorkflowType = "rolloutWorkflow" AND DeployApp = "shop" AND DeployEnv = "production" AND ExecutionStatus != "ContinuedAsNew"');
  const text = renderHistory([{ workflowId: 'rollout-shop-production', runId: 'r1', release: 'v2', status: 'COMPLETED', startedAt: '2026-11-30T12:00:00.000Z', closedAt: '2026-11-30T12:01:05.000Z', outcome: 'succeeded', dropletsChanged: 4, webUi: 'http://localhost:8233/namespaces/default/workflows/rollout-shop-production/r1' }]);
  assert.equal(text, '2026-11-30 12:00:00 → 12:01:05  v2           succeeded, 4 droplet(s) updated\n    http://localhost:8233/namespaces/default/workflows/rollout-shop-production/r1');
  assert.equal(renderHistory([]), 'no rollouts found');
});

test('the timeline SVG has a row per droplet, a segment per step, and the error rate of the load', () => {
  const t = 1_000_000;
  const svg = renderTimelineSvg('demo', [
    { name: 'web-1', steps: [{ step: 'detach', startedAt: t, endedAt: t + 100, ok: true }, { step: 'health', startedAt: t + 100, endedAt: t + 3000, ok: false }] },
    { name: 'web-2', steps: [{ step: 'detach', startedAt: t + 3000, endedAt: t + 3100, ok: true }] },
  ], [{ at: t, requests: 50, failed: 0 }, { at: t + 1000, requests: 48, failed: 2 }]);
  assert.match(svg, /^<svg /);
  assert.equal((svg.match(/<title>web-1 /g) ?? []).length, 2);
  assert.match(svg, /<title>web-1 health 2.9s FAILED<\/title>/);
  assert.match(svg, /98 requests, 2 failed \(2.04% error rate\)/);
  assert.match(svg, /<\/svg>$/);
});

test('a paused rollout\'s timeline: the pause is shortened and marked, the work keeps its width; steps also as text', () => {
  const t = 1_000_000;
  const droplets = [
    { name: 'web-1', steps: [{ step: 'detach', startedAt: t, endedAt: t + 1000, ok: true }, { step: 'health', startedAt: t + 1000, endedAt: t + 4000, ok: true }] },
    // Ten minutes paused between the batches.
    { name: 'web-2', steps: [{ step: 'detach', startedAt: t + 604_000, endedAt: t + 605_000, ok: true }, { step: 'health', startedAt: t + 605_000, endedAt: t + 608_000, ok: false }] },
  ];
  assert.deepEqual(idleStretches(droplets), [{ from: t + 4000, to: t + 604_000 }]);
  const svg = renderTimelineSvg('paused', droplets);
  assert.match(svg, /⋯ 10m00s/);
  assert.match(svg, /nothing ran for 600 s \(paused, awaiting approval or baking\): shortened/);
  assert.match(svg, /8\.0 s|608\.0 s \(1 idle stretch shortened\)/);
  // Each droplet's 4 s of work spans far more than the 4/608 of the axis it would get unshortened.
  const widths = [...svg.matchAll(/<rect x="[\d.]+" y="\d+" width="([\d.]+)" height="20" fill="[^"]+"><title>web-1 health/g)].map((m) => Number(m[1]));
  assert.ok(widths[0] > 200, `web-1's health step is drawn ${widths[0]} px wide`);
  const shared = renderTimelineSvg('shared scale', droplets, [], { durationMs: 700_000 });
  assert.doesNotMatch(shared, /shortened/, 'pictures that share a scale are not shortened');
  assert.deepEqual(renderStepLines(droplets), [
    '  web-1  +   0.0s  detach 1.0s → health 3.0s',
    '  web-2  + 604.0s  detach 1.0s → health 3.0s FAILED',
  ]);
});

test('the Web UI current details: aligned table with absolute times, and how to resume a paused rollout', () => {
  const t = Date.UTC(2026, 10, 30, 14, 0, 0);
  const status: RolloutStatus = {
    app: 'shop', env: 'production', release: 'v2', phase: 'paused', paused: true, abortRequested: false, startedAt: t,
    batches: [['web-1'], ['web-2']], currentBatch: 0, settleDelayMs: 5000, warnings: [], needsAttention: [],
    droplets: [
      { name: 'web-1', id: 1, batch: 0, state: 'deployed', previousRelease: 'v1', release: 'v2', steps: [{ step: 'settle', startedAt: t + 20_000, endedAt: t + 25_000, ok: true }] },
      { name: 'web-2', id: 2, batch: 1, state: 'pending', previousRelease: 'v1', steps: [] },
    ],
  };
  const text = renderCurrentDetails(status);
  assert.match(text, /^\*\*shop production → v2: paused after batch 1 of 2\*\*$/m);
  // No step column while no droplet is in a step (the rollout itself knows states; steps live on each droplet).
  const table = ['```', 'droplet  state     since (UTC)  release', 'web-1    deployed  14:00:25     v1 → v2', 'web-2    pending                v1', '```'].join('\n');
  assert.ok(text.includes(table), text);
  assert.match(text, /Send a Signal → `resume`/);
  const running = renderCurrentDetails({ ...status, phase: 'deploying', paused: false, currentBatch: 1, droplets: [status.droplets[0], { ...status.droplets[1], state: 'deploying', release: 'v2', step: 'drain', stepStartedAt: t + 30_000 }] });
  assert.match(running, /^web-2 +deploying +drain +14:00:30 +v1 → v2$/m);
  assert.match(running, /Send a Signal → `pause`/);
  const ended = renderCurrentDetails({ ...status, phase: 'succeeded', paused: false, endedAt: t + 60_000, message: 'shop production: 2 droplet(s) now run v2' });
  assert.doesNotMatch(ended, /Send a Signal/, 'nothing to steer once it has ended');
  assert.match(ended, /ended 14:01:00 UTC/);
});

test('a large fleet\'s current details: counts per state above the batch in flight', () => {
  const status: RolloutStatus = {
    app: 'shop', env: 'production', release: 'v2', phase: 'deploying', paused: false, abortRequested: false, startedAt: Date.UTC(2026, 10, 30),
    batches: [], batchCount: 100, total: 10_000, counts: { deployed: 4_900, deploying: 100, pending: 5_000 }, currentBatch: 49, settleDelayMs: 0,
    warnings: [], needsAttention: [],
    droplets: [{ name: 'web-4901', id: 4901, batch: 49, state: 'deploying', previousRelease: 'v1', release: 'v2', steps: [] }],
  };
  const text = renderCurrentDetails(status);
  assert.match(text, /deploying, batch 50 of 100/);
  assert.match(text, /10000 droplets: 4900 deployed, 100 deploying, 5000 pending; below, the batch in flight/);
  assert.match(text, /^web-4901 +deploying +v1 → v2$/m);
});

test('--help prints the usage once and exits 0; with a verb, that verb\'s usage', async () => {
  const all = await cli('--help');
  assert.equal(all.code, 0);
  assert.equal(all.out.match(/^usage:/gm)?.length, 1, 'printed once');
  for (const verb of ['start', 'status', 'watch', 'pause', 'resume', 'abort', 'history', 'report']) {
    const { code, out, err } = await cli(verb, '--help');
    assert.equal(code, 0, verb);
    assert.equal(err, '');
    assert.match(out, new RegExp(`^usage: npm run (start-deploy|deploy) -- ${verb === 'start' ? '<env>' : `(\\S*\\|)?${verb}`}`), verb);
    assert.match(out, /exit codes:/);
  }
  const unknown = await cli('deploi', '--help');
  assert.equal(unknown.code, 2, 'an unknown verb is a usage error, --help or not');
  assert.match(unknown.err, /unknown command "deploi"/);
});

test('status of a finished rollout says how long it ran, not that it is running', () => {
  const t = Date.UTC(2026, 11, 1, 14, 0, 0);
  const base = {
    app: 'shop', env: 'production', release: 'v2', paused: false, abortRequested: false, startedAt: t,
    batches: [], currentBatch: 0, settleDelayMs: 0, warnings: [], needsAttention: [], droplets: [],
  };
  assert.match(renderStatus({ ...base, phase: 'succeeded', endedAt: t + 752_000 } as RolloutStatus, t + 3_600_000).split('\n')[0], /, ran 12m32s$/);
  assert.match(renderStatus({ ...base, phase: 'deploying' } as RolloutStatus, t + 60_000).split('\n')[0], /, running 1m$/);
});

test('--app: control verbs need no config file; start and report refuse it', async () => {
  process.env.TEMPORAL_ADDRESS = '127.0.0.1:1';
  try {
    // Past the config (there is none here): the next thing is the Temporal connection.
    const { code, err } = await cli('status', 'production', '--app', 'sample-app', '--config', '/nonexistent/deploy.config.yaml');
    assert.equal(code, 2);
    assert.match(err, /cannot reach the Temporal server/);
  } finally {
    delete process.env.TEMPORAL_ADDRESS;
  }
  for (const argv of [['start', 'production', '--app', 'x'], ['status', 'production', '--app', 'Not_An_App']]) {
    const { code, err } = await cli(...argv);
    assert.equal(code, 2, argv.join(' '));
    assert.match(err, /--app/);
  }
});

test('control verbs read only the app and environment: a directory with nothing but the config will do', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'deploy-config-only-'));
  const config = path.join(dir, 'deploy.config.yaml');
  copyFileSync(EXAMPLE, config); // the files it names (compose, env files) are not there
  process.env.TEMPORAL_ADDRESS = '127.0.0.1:1';
  try {
    for (const verb of ['status', 'abort', 'history']) {
      const { code, err } = await cli(verb, 'production', '--config', config);
      assert.equal(code, 2, verb);
      assert.match(err, /cannot reach the Temporal server/, `${verb} got past the config`);
    }
  } finally {
    delete process.env.TEMPORAL_ADDRESS;
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rollout workflow IDs keep every app and environment pair apart', () => {
  assert.notEqual(rolloutWorkflowId('shop-eu', 'prod'), rolloutWorkflowId('shop', 'eu-prod'));
  assert.equal(rolloutWorkflowId('shop-eu', 'prod'), 'rollout-shop-eu.prod');
  // The old form collided; it is kept only to find rollouts started before.
  assert.equal(legacyRolloutWorkflowId('shop-eu', 'prod'), legacyRolloutWorkflowId('shop', 'eu-prod'));
});

test('the CLI loads no activity, SSH or DigitalOcean module', () => {
  const root = path.resolve(__dirname, '..', '..');
  const script = "require('./src/client'); console.log(JSON.stringify(Object.keys(require.cache)))";
  const loaded: string[] = JSON.parse(execFileSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, encoding: 'utf8' }));
  assert.ok(loaded.some((f) => f.endsWith(path.join('src', 'client.ts'))), 'the module graph was read');
  const forbidden = loaded.filter((f) => /node_modules\/(node-ssh|ssh2|dots-wrapper)\//.test(f) || /\/src\/(activities|remote|digitalocean)\//.test(f));
  assert.deepEqual(forbidden, []);
});

test('a YAML alias bomb is a configuration error (exit 2, the file named), not a crash with a stack trace', async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'alias-bomb-'));
  const file = path.join(dir, 'deploy.config.yaml');
  const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
  for (let i = 1; i < 9; i++) levels.push(`${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(9).fill(`*${String.fromCharCode(96 + i)}`).join(',')}]`);
  writeFileSync(file, `${levels.join('\n')}\n`);
  const { code, err } = await cli('start', 'production', '--config', file, '--dry-run');
  assert.equal(code, 2);
  assert.match(err, new RegExp(`${file}: not usable YAML: .*alias`, 'i'));
  assert.doesNotMatch(err, /\n\s+at /, 'no stack trace');
});

test('status shows only this rollout\'s children: none queried for droplets it did not reach, an earlier rollout\'s run ignored', async () => {
  const t = Date.UTC(2026, 11, 1, 14, 0, 0);
  const queried: string[] = [];
  const earlier = { droplet: 'web-2', mode: 'deploy', release: 'v1', steps: [{ step: 'detach', startedAt: t - 86_400_000 }] };
  const ours = { droplet: 'web-1', mode: 'deploy', release: 'v2', outcome: 'deployed', steps: [{ step: 'detach', startedAt: t + 1000, endedAt: t + 2000, ok: true }] };
  const client = {
    getHandle: (id: string) => ({
      query: async () => {
        queried.push(id);
        return id.endsWith('/web-1') ? ours : earlier;
      },
    }),
  } as unknown as Parameters<typeof withDropletSteps>[0];
  const status = {
    app: 'shop', env: 'production', release: 'v2', phase: 'failed', paused: false, abortRequested: false, startedAt: t,
    batches: [], currentBatch: 0, settleDelayMs: 0, warnings: [], needsAttention: [],
    droplets: [
      { name: 'web-1', id: 1, batch: 0, state: 'deployed', previousRelease: 'v1', release: 'v2', steps: [] },
      { name: 'web-2', id: 2, batch: 1, state: 'failed', previousRelease: 'v1', release: 'v2', steps: [] },
      { name: 'web-3', id: 3, batch: 2, state: 'skipped', previousRelease: 'v1', steps: [] },
    ],
  } as unknown as RolloutStatus;
  const view = await withDropletSteps(client, 'rollout-shop.production', status);
  assert.deepEqual(queried.sort(), ['rollout-shop.production/web-1', 'rollout-shop.production/web-2'], 'web-3 was not reached: not queried');
  assert.equal(view.droplets[0].steps.length, 1);
  assert.deepEqual(view.droplets[1].steps, [], 'web-2\'s answering run began before this rollout: not shown');
});

test('a control verb without a config names --app as the fix, not a copy of the example', async () => {
  const { code, err } = await cli('pause', 'production', '--config', '/nonexistent/deploy.config.yaml');
  assert.equal(code, 2);
  assert.match(err, /\/nonexistent\/deploy\.config\.yaml: no such file\. Name the app instead: --app <app>/);
  assert.doesNotMatch(err, /Copy deploy\.config\.example\.yaml/);
});

test('piped progress of a large fleet names the batch count (the status lists only the batch in flight)', () => {
  const status = {
    app: 'shop', env: 'production', release: 'v2', phase: 'deploying', paused: false, abortRequested: false, startedAt: 0,
    batches: [], batchCount: 100, total: 10_000, counts: {}, currentBatch: 49, settleDelayMs: 0, warnings: [], needsAttention: [], droplets: [],
  } as unknown as RolloutStatus;
  assert.match(progressLines(undefined, status)[0], /rollout deploying batch 50 of 100$/);
});

test('status and piped progress say how each watched drain and settle ended, observed or at its maximum', () => {
  const t = Date.UTC(2026, 11, 8, 3, 0, 0);
  const droplet = (steps: RolloutStatus['droplets'][number]['steps']) => ({ name: 'web-1', id: 1, batch: 0, state: 'deployed', release: 'v2', steps });
  const drain = { step: 'drain', startedAt: t, endedAt: t + 1_800, ok: true, how: 'observed', detail: 'no answer from web-1 in 31 requests' } as const;
  const settle = { step: 'settle', startedAt: t + 9_000, endedAt: t + 99_000, ok: true, how: 'maximum', detail: 'answered as v2 1 of 2 times' } as const;
  const status = (steps: RolloutStatus['droplets'][number]['steps']) => ({
    app: 'shop', env: 'production', release: 'v2', phase: 'deploying', paused: false, abortRequested: false, startedAt: t,
    batches: [], currentBatch: 0, settleDelayMs: 0, warnings: [], needsAttention: [], droplets: [droplet(steps)],
  }) as unknown as RolloutStatus;
  const line = renderStatus(status([drain, settle]), t + 100_000).split('\n').find((l) => l.includes('web-1'));
  assert.match(line ?? '', /drain observed in 1\.8s, settle at its maximum \(1m30s\)/);
  const progress = progressLines(status([{ ...drain, endedAt: undefined }]), status([drain, { ...settle, endedAt: undefined }]));
  assert.ok(progress.some((l) => /web-1 drain observed in 1\.8s: no answer from web-1 in 31 requests$/.test(l)), progress.join('\n'));
  assert.equal(renderStatus(status([{ step: 'drain', startedAt: t, endedAt: t + 2_000, ok: true }]), t + 3_000).includes('observed'), false, 'a timed drain claims nothing');
});
