// The shell commands sent to droplets are built here and nowhere else.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as commands from '../../src/remote/commands';
import { makeReleaseId, planBatches, settleDelayMs, describeSettle } from '../../src/rollout-plan';
import { checkKnownHosts, fingerprint } from '../../src/remote/known-hosts';
import { judgeHostKey } from '../../src/remote/ssh';
import { rollbackTarget } from '../../src/activities/fleet';
import type { RemoteSpec } from '../../src/types';
import { judge, judgeComposeHealth, reportsRelease } from '../../src/activities/health';
import { createHmac, randomBytes } from 'node:crypto';

const remote = { remoteDir: '/srv/my app', composeFiles: ['docker-compose.yml', "o'brien.yml"], composeProject: 'shop', keepReleases: 3 };

test('values are single-quoted so spaces and quotes cannot break out', () => {
  assert.equal(commands.shq("it's"), `'it'\\''s'`);
  assert.equal(execFileSync('sh', ['-c', `printf %s ${commands.shq("a b'c $HOME")}`], { encoding: 'utf8' }), "a b'c $HOME");
});

test('start runs pull then up -d --remove-orphans inside current (its link resolved), with the release exported', () => {
  const [pull, up] = commands.startRelease(remote);
  assert.match(pull, /cd -P '\/srv\/my app\/current'; export APP_RELEASE="\$\(cat RELEASE\)"; if docker compose version .*; fi; dc -p 'shop' -f 'docker-compose.yml' -f 'o'\\''brien.yml' pull$/);
  assert.match(up, /; dc -p .* up -d --remove-orphans$/);
});

test('each droplet uses the Compose it has: v2 first, else v1, else a message naming both', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'compose-select-'));
  try {
    const fake = (name: string, script: string) => writeFileSync(path.join(dir, name), `#!/bin/sh\n${script}\n`, { mode: 0o755 });
    const run = (cmd: string) => {
      try {
        return { code: 0, out: execFileSync('/bin/sh', ['-c', cmd], { env: { PATH: dir, HOME: dir }, encoding: 'utf8', stdio: 'pipe' }) };
      } catch (err) {
        const e = err as { status: number; stderr: string };
        return { code: e.status, out: e.stderr };
      }
    };
    const both = `${commands.selectCompose()}; dc ps`;
    fake('docker', 'if [ "$1" = compose ]; then [ "$2" = version ] && { echo 2.29.0; exit 0; }; echo "v2 $*"; else echo "docker: unknown command: $1" >&2; exit 1; fi');
    fake('docker-compose', '[ "$1" = version ] && { echo 1.29.2; exit 0; }; echo "v1 $*"');
    assert.deepEqual(run(both), { code: 0, out: 'v2 compose ps\n' });
    assert.deepEqual(run(commands.detectCompose()), { code: 0, out: 'compose=v2 2.29.0\n' });
    fake('docker', 'echo "docker: \'compose\' is not a docker command." >&2; exit 1'); // the engine's CLI without the v2 plugin
    assert.deepEqual(run(both), { code: 0, out: 'v1 ps\n' });
    assert.deepEqual(run(commands.detectCompose()), { code: 0, out: 'compose=v1 1.29.2\n' });
    rmSync(path.join(dir, 'docker-compose'));
    assert.deepEqual(run(both), { code: 127, out: `${commands.COMPOSE_MISSING}\n` });
    assert.match(commands.COMPOSE_MISSING, /'docker compose'.*'docker-compose'/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('an abandoned start still running on the droplet never undoes the restore that follows it', async () => {
  // A fake `docker` that takes a second for `up`: the first start is still running when the restore switches
  // `current` back and starts again, like an `up` left running by an aborted activity.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'start-lock-'));
  try {
    const app = path.join(dir, 'app');
    for (const r of ['v1', 'v2']) {
      mkdirSync(path.join(app, 'releases', r), { recursive: true });
      writeFileSync(path.join(app, 'releases', r, 'RELEASE'), `${r}\n`);
    }
    const bin = path.join(dir, 'bin');
    mkdirSync(bin);
    const log = path.join(dir, 'docker.log');
    writeFileSync(path.join(bin, 'docker'), `#!/bin/sh\n[ "$2" = version ] && exit 0\necho "up $APP_RELEASE begin" >> ${log}; sleep 1; echo "up $APP_RELEASE end" >> ${log}\n`, { mode: 0o755 });
    const point = (r: string) => {
      rmSync(path.join(app, 'current'), { force: true });
      symlinkSync(path.join('releases', r), path.join(app, 'current'));
    };
    const [, up] = commands.startRelease({ ...remote, remoteDir: app });
    const start = () => new Promise<number | null>((resolve) => {
      spawn('sh', ['-c', up], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}` }, stdio: 'ignore' }).on('exit', resolve);
    });
    point('v2');
    const abandoned = start();
    await new Promise((r) => setTimeout(r, 300));
    point('v1'); // the restore switched back
    const restore = start();
    assert.deepEqual(await Promise.all([abandoned, restore]), [0, 0]);
    assert.deepEqual(readFileSync(log, 'utf8').trim().split('\n'), ['up v2 begin', 'up v2 end', 'up v1 begin', 'up v1 end'], 'one at a time, the restore last');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('registry login takes the password on stdin only', () => {
  assert.equal(commands.registryLogin({ server: 'registry.example.com', username: 'me' }), "docker login 'registry.example.com' -u 'me' --password-stdin");
});

test('nothing ever prunes volumes', () => {
  const all = [commands.pruneDanglingImages(), commands.pruneReleases(remote), ...commands.startRelease(remote)].join('\n');
  assert.doesNotMatch(all, /--volumes|system prune/);
});

test('the current link is switched by one rename, and only to a sealed release', () => {
  const cmd = commands.activateRelease(remote, '/srv/my app/releases/v2-1');
  assert.match(cmd, /test -f '\/srv\/my app\/releases\/v2-1\/RELEASE'/);
  assert.match(cmd, /ln -sfn 'releases\/v2-1' .current-next; mv -T .current-next current$/);
});

test('the current release is parsed back from readlink, relative to the release root', () => {
  assert.deepEqual(commands.parseCurrentRelease(remote, 'dir=releases/v1-2\nrelease=v1\n'), { release: 'v1', releaseDir: '/srv/my app/releases/v1-2' });
  assert.deepEqual(commands.parseCurrentRelease(remote, 'dir=/elsewhere/x\nrelease=\n'), { releaseDir: '/elsewhere/x' }, 'no RELEASE file: no name, not a made-up one');
  assert.equal(commands.parseCurrentRelease(remote, ''), null);
});

test('release ids are the tag plus the rollout start time', () => {
  assert.equal(makeReleaseId('v2.1', new Date('2026-11-30T12:34:56.789Z')), 'v2.1-20261130123456');
});

test('batches follow droplet names in natural order', () => {
  const names = (n: string[]) => planBatches(n.map((name) => ({ name })), 2).map((b) => b.map((d) => d.name));
  assert.deepEqual(names(['web-10', 'web-2', 'web-1']), [['web-1', 'web-2'], ['web-10']]);
});

test('settle: healthy_threshold × check_interval + margin, unless configured', () => {
  const lb = { id: 'x', name: 'lb', status: 'active', dropletIds: [], healthCheck: { protocol: 'http', port: 80, checkIntervalSeconds: 10, responseTimeoutSeconds: 5, healthyThreshold: 3, unhealthyThreshold: 3 } };
  assert.equal(settleDelayMs({ settleDelayMs: 'auto', settleMarginMs: 5000 }, lb), 35_000);
  assert.equal(describeSettle({ settleDelayMs: 'auto', settleMarginMs: 5000 }, lb), '35s (3 × 10s LB checks + 5s margin)');
  assert.equal(settleDelayMs({ settleDelayMs: 7000, settleMarginMs: 5000 }, lb), 7000);
  assert.equal(settleDelayMs({ settleDelayMs: 'auto', settleMarginMs: 5000 }, undefined), 0);
});

test('health answers must name the release being deployed', () => {
  assert.equal(reportsRelease('{"status":"ok","release":"v2"}', 'v2'), true);
  assert.equal(reportsRelease('{"status":"ok","release":"v20"}', 'v2'), false);
  assert.equal(reportsRelease('running release v2 since noon', 'v2'), true);
  assert.equal(reportsRelease('running release v2.1', 'v2'), false);
  const spec = { expectStatus: 200, releaseMarker: true, intervalMs: 1, timeoutMs: 1, requestTimeoutMs: 1, successes: 1 };
  assert.equal(judge(spec, 'v2', 200, '{"release":"v1"}').ok, false);
  assert.equal(judge(spec, 'v2', 503, '{"release":"v2"}').detail, 'status 503, expected 200');
  assert.equal(judge({ ...spec, releaseMarker: false }, 'v2', 200, 'ok').ok, true);
});

test('known_hosts: plain and hashed entries, mismatch by key type, revoked keys', () => {
  const key = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), randomBytes(36)]);
  const other = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), randomBytes(36)]);
  const b64 = key.toString('base64');
  assert.equal(checkKnownHosts(`[10.0.0.1]:2222 ssh-ed25519 ${b64}`, '10.0.0.1', 2222, key), 'trusted');
  assert.equal(checkKnownHosts(`10.0.0.1 ssh-ed25519 ${b64}`, '10.0.0.1', 2222, key), 'unknown', 'port 22 entry does not cover port 2222');
  const salt = randomBytes(20);
  const hashed = `|1|${salt.toString('base64')}|${createHmac('sha1', salt).update('10.0.0.1').digest('base64')}`;
  assert.equal(checkKnownHosts(`${hashed} ssh-ed25519 ${b64}`, '10.0.0.1', 22, key), 'trusted');
  assert.equal(checkKnownHosts(`10.0.0.1 ssh-ed25519 ${other.toString('base64')}`, '10.0.0.1', 22, key), 'mismatch');
  assert.equal(checkKnownHosts(`10.0.0.1 ssh-rsa AAAAB3Nza`, '10.0.0.1', 22, key), 'unknown', 'a key of another type is not a mismatch');
  assert.equal(checkKnownHosts(`@revoked 10.0.0.1 ssh-ed25519 ${b64}\n10.0.0.1 ssh-ed25519 ${b64}`, '10.0.0.1', 22, key), 'revoked');
  assert.match(fingerprint(key), /^SHA256:[A-Za-z0-9+/]{43}$/);
});

test('compose health: healthy services pass, starting ones wait, unhealthy or crashing ones fail at once with the service named', () => {
  const line = (service: string, state: object, restarts = 0) => `${service} ${JSON.stringify(state)} ${restarts}`;
  const healthy = { Status: 'running', Health: { Status: 'healthy', Log: [{ Output: 'ok' }] } };
  assert.deepEqual(judgeComposeHealth([line('app', healthy), line('worker', { Status: 'running' })].join('\n')).ok, true);
  const starting = judgeComposeHealth(line('app', { Status: 'running', Health: { Status: 'starting', Log: [] } }));
  assert.deepEqual([starting.ok, starting.fatal], [false, undefined]);
  assert.match(starting.detail, /waiting for app starting/);
  const sick = judgeComposeHealth(line('app', { Status: 'running', Health: { Status: 'unhealthy', Log: [{ Output: 'old' }, { Output: 'wget: server returned error: HTTP/1.1 503 Service Unavailable\n' }] } }));
  assert.deepEqual([sick.ok, sick.fatal], [false, true]);
  assert.equal(sick.detail, 'service app is unhealthy; last health log: wget: server returned error: HTTP/1.1 503 Service Unavailable');
  const looping = judgeComposeHealth(line('app', { Status: 'restarting', ExitCode: 1 }, 3));
  assert.equal(looping.fatal, true);
  assert.match(looping.detail, /service app is in a restart loop \(restarted 3×, exit code 1\)/);
  assert.equal(judgeComposeHealth(line('app', { Status: 'exited', ExitCode: 137 })).detail, 'service app exited (exit code 137)');
});

test('a droplet named after a property of Object (constructor, toString) is judged by known_hosts, not by the prototype', () => {
  const key = Buffer.concat([Buffer.from([0, 0, 0, 11]), Buffer.from('ssh-ed25519'), randomBytes(36)]);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'known-hosts-'));
  const knownHostsPath = path.join(dir, 'known_hosts');
  writeFileSync(knownHostsPath, `10.0.0.7 ssh-ed25519 ${key.toString('base64')}\n`);
  const remote = { hostKeys: {}, knownHostsPath, port: 22 } as unknown as RemoteSpec;
  for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
    assert.equal(judgeHostKey({ id: 7, name, address: '10.0.0.7' }, remote, key), undefined, `${name} is trusted through known_hosts`);
  }
});

test('deploy rollback: a recorded previous release that is gone is said to be gone, not "no record"', () => {
  const problems: string[] = [];
  const target = rollbackTarget('web-1', { release: 'v3', releaseDir: '/srv/app/releases/v3-1' },
    { before: '/srv/app/releases/v2-1', kept: [{ release: 'v3', releaseDir: '/srv/app/releases/v3-1' }] }, {}, problems);
  assert.equal(target, undefined);
  assert.deepEqual(problems, ['web-1 ran /srv/app/releases/v2-1 before its last deploy, but that release directory is gone (pruned, or removed by hand); name a kept one with --to <tag> (kept: v3)']);
});
