// SSH activities against a real OpenSSH server on a loopback address (a sandbox droplet with its own Docker
// Engine), pulling from a real registry with password auth.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MockActivityEnvironment } from '@temporalio/testing';
import { ApplicationFailure } from '@temporalio/common';
import { createActivities, type ActivityDeps } from '../../src/activities';
import { createSshRemote } from '../../src/remote/ssh';
import { filesDigest } from '../../src/activities/remote';
import type { DropletTarget, HealthCheckSpec, RemoteSpec, SecretRefs } from '../../src/types';
import { generateKeyPair, startDropletHost, type DropletHost } from '../../sandbox/droplet-host';
import { startRegistry, type Registry } from '../../sandbox/registry';
import { workerPolicy } from '../../src/activities/policy';
import { APP_REPOSITORY, publishReleases, registryStorage } from '../../sandbox/images';

const work = path.resolve(__dirname, '..', '..', '.sandbox', `remote-test-${process.pid}`);
const PASSWORD = `s3cret-${randomBytes(6).toString('hex')}`;
let host: DropletHost;
let registry: Registry;
let deps: ActivityDeps;
let files: string;
const droplet: DropletTarget = { id: 1, name: 'web-1', address: '127.0.0.31' };
const secrets: SecretRefs = { tokenEnv: 'UNUSED_TOKEN', sshKeyEnv: 'UNUSED_KEY', registryPasswordEnv: 'REGISTRY_PASSWORD' };
let remote: RemoteSpec;
const health: HealthCheckSpec = { url: 'http://{host}:8080/healthcheck', expectStatus: 200, releaseMarker: true, intervalMs: 100, timeoutMs: 8000, requestTimeoutMs: 1000, successes: 3 };

const acts = () => createActivities(deps);
const run = <F extends (...a: never[]) => Promise<unknown>>(fn: F, ...args: Parameters<F>) => new MockActivityEnvironment().run(fn, ...args) as ReturnType<F>;
const input = () => ({ droplet, remote, secrets });
const onDroplet = (p: string) => path.join(host.rootDir, p);
const containers = async () => (await host.engine.docker(['ps', '--format', '{{.Image}} {{.Names}}'])).trim().split('\n');

before(async () => {
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const client = generateKeyPair(path.join(work, 'client_key'));
  registry = await startRegistry({ address: '127.0.0.30', dir: path.join(work, 'registry'), storage: registryStorage(), password: PASSWORD });
  await publishReleases(registry, PASSWORD, ['v1', 'v3']);
  host = await startDropletHost({
    name: 'web-1', address: droplet.address, sshPort: 2231, dir: path.join(work, 'web-1'), authorizedKey: client.publicKey, poolIndex: 245,
    env: { APP_BOOT_MS: '200', REGISTRY_HOST: registry.server },
  });
  files = path.join(work, 'app');
  mkdirSync(path.join(files, 'nginx'), { recursive: true });
  writeFileSync(path.join(files, 'docker-compose.yml'), [
    'services:', '  app:', `    image: \${REGISTRY_HOST}/${APP_REPOSITORY}:\${APP_RELEASE}`, '    ports: ["${DROPLET_ADDRESS}:8080:8080"]',
    '    env_file: [.env.production]', '    environment: { APP_BOOT_MS: "${APP_BOOT_MS}" }', '    volumes: [data:/data]', 'volumes:', '  data: {}', '',
  ].join('\n'));
  writeFileSync(path.join(files, '.env.production'), 'APP_GREETING=hello\nDATABASE_PASSWORD=hunter2\n');
  writeFileSync(path.join(files, 'nginx', 'app.conf'), 'server { listen 80; }\n');
  remote = {
    user: 'root', port: 2231, addressType: 'public', hostKeys: { 'web-1': host.hostKeyFingerprint }, connectTimeoutMs: 5000,
    remoteDir: 'apps/shop', keepReleases: 2,
    files: [
      { from: path.join(files, 'docker-compose.yml'), to: 'docker-compose.yml', secret: false },
      { from: path.join(files, '.env.production'), to: '.env.production', secret: true },
      { from: path.join(files, 'nginx', 'app.conf'), to: 'nginx/app.conf', secret: false },
    ],
    composeFiles: ['docker-compose.yml'], composeProject: 'shop', registry: { server: registry.server, username: 'deployer' }, pruneImages: true,
  };
  deps = {
    digitalOcean: () => { throw new Error('not used here'); },
    remote: () => createSshRemote(client.privateKey),
    secret: (name) => (name === 'REGISTRY_PASSWORD' ? PASSWORD : undefined),
    policy: workerPolicy({ DEPLOYER_REGISTRIES: registry.server, DEPLOYER_FILES_ROOT: work }),
    fetch: globalThis.fetch,
  };
});

after(async () => {
  await host?.stop();
  await registry?.stop();
  rmSync(work, { recursive: true, force: true });
});

async function deploy(release: string, releaseId: string): Promise<string> {
  const dir = await run(acts().uploadRelease, { ...input(), release, releaseId, filesDigest: filesDigest(remote.files) });
  await run(acts().activateRelease, { ...input(), releaseDir: dir });
  await run(acts().startRelease, input());
  return dir;
}

describe('release layout over SSH', () => {
  test('a droplet that never ran a release has no previous release', async () => {
    assert.equal(await run(acts().recordPreviousRelease, input()), null);
  });

  test('upload, switch and start: files in a release directory, secrets 0600, the release running on the engine', async () => {
    const dir = await deploy('v1', 'v1-20260101000000');
    assert.equal(dir, 'apps/shop/releases/v1-20260101000000');
    assert.equal(readlinkSync(onDroplet('apps/shop/current')), 'releases/v1-20260101000000');
    const mode = (p: string) => statSync(onDroplet(`apps/shop/current/${p}`)).mode & 0o777;
    assert.equal(mode('.env.production'), 0o600);
    assert.equal(mode('docker-compose.yml'), 0o644);
    assert.equal(readFileSync(onDroplet('apps/shop/current/nginx/app.conf'), 'utf8'), 'server { listen 80; }\n');
    assert.equal(readFileSync(onDroplet('apps/shop/current/RELEASE'), 'utf8').trim(), 'v1');
    // Logged in with the password on stdin, pulled from the registry, started by compose on the droplet's engine.
    const auths = JSON.parse(readFileSync(onDroplet('.docker/config.json'), 'utf8')).auths;
    assert.deepEqual(Object.keys(auths), [registry.server]);
    assert.deepEqual(await containers(), [`${registry.server}/${APP_REPOSITORY}:v1 shop-app-1`]);
  });

  test('the registry password never appears in argv, logs or files on the droplet', () => {
    const credentialStore = path.join(host.rootDir, '.docker', 'config.json');
    const readAll = (dir: string): [string, string][] => readdirSync(dir, { withFileTypes: true }).flatMap((e): [string, string][] => {
      const p = path.join(dir, e.name);
      return e.isDirectory() ? readAll(p) : e.isFile() && p !== credentialStore ? [[p, readFileSync(p, 'latin1')]] : [];
    });
    const encoded = Buffer.from(`deployer:${PASSWORD}`).toString('base64');
    const leaks = readAll(host.rootDir).filter(([, text]) => text.includes(PASSWORD) || text.includes(encoded)).map(([p]) => p);
    assert.deepEqual(leaks, [], 'only the engine\'s credential store holds it');
  });

  test('the health poll needs the new release to answer, not just any process', async () => {
    const ok = await run(acts().pollHealth, { ...input(), healthCheck: health, release: 'v1' });
    assert.ok(ok.probes >= 3);
    const err = await run(acts().pollHealth, { ...input(), healthCheck: { ...health, timeoutMs: 600 }, release: 'v9' }).catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'HealthCheckFailed');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /web-1 did not pass its health check 3× in a row .* as release v9: last probe answered, but not as release v9/);
  });

  test('a health command runs on the droplet inside the current release', async () => {
    const spec = { ...health, url: undefined, command: `cat ${'RELEASE'}` };
    const ok = await run(acts().pollHealth, { ...input(), healthCheck: spec, release: 'v1' });
    assert.equal(ok.probes, 3);
  });

  test('the previous release is recorded from the current link', async () => {
    assert.deepEqual(await run(acts().recordPreviousRelease, input()), { release: 'v1', releaseDir: 'apps/shop/releases/v1-20260101000000' });
  });

  test('a connection killed mid-upload leaves the current release intact, and a retry completes', async () => {
    const big = path.join(files, 'assets.bin');
    writeFileSync(big, randomBytes(48 * 1024 * 1024));
    const withBig = { ...remote, files: [...remote.files, { from: big, to: 'assets.bin', secret: false }] };
      const upload = () => run(acts().uploadRelease, { droplet, remote: withBig, secrets, release: 'v2', releaseId: 'v2-20260102000000', filesDigest: filesDigest(withBig.files) });
    const partial = onDroplet('apps/shop/releases/.partial-v2-20260102000000/assets.bin');
    const attempt = upload();
    const deadline = Date.now() + 20_000;
    while (!(existsSync(partial) && statSync(partial).size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    assert.ok(existsSync(partial), 'the upload had started');
    host.dropConnections();
    await assert.rejects(attempt);
    assert.equal(readlinkSync(onDroplet('apps/shop/current')), 'releases/v1-20260101000000', 'current still points at v1');
    assert.equal(readFileSync(onDroplet('apps/shop/current/RELEASE'), 'utf8').trim(), 'v1');
    assert.ok(!existsSync(onDroplet('apps/shop/releases/v2-20260102000000')), 'no half release is visible');
    const dir = await upload();
    assert.equal(statSync(onDroplet(`${dir}/assets.bin`)).size, 48 * 1024 * 1024);
    assert.ok(!existsSync(onDroplet('apps/shop/releases/.partial-v2-20260102000000')));
    assert.equal(readlinkSync(onDroplet('apps/shop/current')), 'releases/v1-20260101000000', 'upload alone does not switch');
    rmSync(big);
  });

  test('files changed on the worker after preflight are refused, not uploaded', async () => {
    const err = await run(acts().uploadRelease, { ...input(), release: 'v3', releaseId: 'v3-x', filesDigest: 'stale' }).catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'FilesChanged');
  });

  test('pruning keeps the newest releases and the current one; images prune without volumes', async () => {
    await deploy('v3', 'v3-20260103000000');
    await run(acts().pruneReleases, input());
    assert.equal(lstatSync(onDroplet('apps/shop/current')).isSymbolicLink(), true);
    assert.deepEqual(readdirSync(onDroplet('apps/shop/releases')).sort(), ['v2-20260102000000', 'v3-20260103000000']);
    assert.deepEqual(await containers(), [`${registry.server}/${APP_REPOSITORY}:v3 shop-app-1`]);
    assert.deepEqual((await host.engine.docker(['volume', 'ls', '-q'])).trim().split('\n'), ['shop_data'], 'the named volume survives the image prune');
  });
});

describe('a registry that refuses the password', () => {
  test('fails a start with the registry\'s own 401; a restore of what the droplet has still comes up', async () => {
    const refused = createActivities({ ...deps, secret: () => 'not-the-password' });
    const err = await run(refused.startRelease, input()).catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure);
    assert.match(err.message, /registry login on web-1 failed \(exit 1\): .*login attempt to http:\/\/127\.0\.0\.30:5000\/v2\/ failed with status: 401 Unauthorized/);
    await run(refused.startRelease, { ...input(), restore: true });
    assert.deepEqual(await containers(), [`${registry.server}/${APP_REPOSITORY}:v3 shop-app-1`]);
  });
});

describe('host key verification', () => {
  const connect = (spec: Partial<RemoteSpec>) => run(acts().recordPreviousRelease, { droplet, secrets, remote: { ...remote, ...spec } });

  test('an unknown host key is refused with the fingerprint and how to trust it', async () => {
    const err = await connect({ hostKeys: {}, knownHostsPath: path.join(work, 'empty_known_hosts') }).catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'HostKeyRejected');
    assert.equal(err.nonRetryable, true);
    assert.ok(err.message.includes(host.hostKeyFingerprint));
    assert.match(err.message, /pin it as ssh.hostKeys.web-1/);
  });

  test('a pinned fingerprint that does not match is refused as a possible man-in-the-middle', async () => {
    const err = await connect({ hostKeys: { 'web-1': 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' } }).catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure);
    assert.match(err.message, /possible man-in-the-middle/);
  });

  test('a known_hosts entry for [address]:port is trusted', async () => {
    const file = path.join(work, 'known_hosts');
    writeFileSync(file, `# fleet\n${host.knownHostsLine}\n`);
    assert.ok(await connect({ hostKeys: {}, knownHostsPath: file }));
  });
});

describe('a release\'s files reach every service', () => {
  // The original setup's topology: a proxy service in front of the app with its config bind-mounted from the
  // release directory. Compose v2 kept the proxy on the old file when it ran inside the `current` link.
  let edge: RemoteSpec;
  let edgeFiles: string;
  const edgeInput = () => ({ droplet, remote: edge, secrets });
  const served = async () => (await host.engine.docker(['exec', 'edge-proxy-1', 'cat', '/etc/proxy.conf'])).trim();
  const release = async (tag: string, id: string, conf: string, switchTo: boolean) => {
    writeFileSync(path.join(edgeFiles, 'proxy', 'proxy.conf'), `${conf}\n`);
    const dir = await run(acts().uploadRelease, { ...edgeInput(), release: tag, releaseId: id, filesDigest: filesDigest(edge.files) });
    if (switchTo) await run(acts().switchRelease, { ...edgeInput(), releaseDir: dir, recordPrevious: true });
    return dir;
  };

  before(() => {
    edgeFiles = path.join(work, 'edge');
    mkdirSync(path.join(edgeFiles, 'proxy'), { recursive: true });
    writeFileSync(path.join(edgeFiles, 'compose.yml'), [
      'services:', '  proxy:', `    image: \${REGISTRY_HOST}/${APP_REPOSITORY}:v1`, '    command: ["node", "-e", "setInterval(() => {}, 1e9)"]',
      '    volumes: ["./proxy/proxy.conf:/etc/proxy.conf:ro"]', '',
    ].join('\n'));
    edge = {
      ...remote, remoteDir: 'apps/edge', composeProject: 'edge', composeFiles: ['compose.yml'], keepReleases: 2, pruneImages: false,
      files: [
        { from: path.join(edgeFiles, 'compose.yml'), to: 'compose.yml', secret: false },
        { from: path.join(edgeFiles, 'proxy', 'proxy.conf'), to: 'proxy/proxy.conf', secret: false },
      ],
    };
  });

  test('a changed config file is what the service serves after the switch (Compose v2, as v1)', async () => {
    assert.equal(host.composeV2, true, 'this droplet drives Compose v2');
    await release('r1', 'r1-20260201000000', 'upstream one', true);
    assert.equal(await served(), 'upstream one');
    await release('r2', 'r2-20260202000000', 'upstream two', true);
    assert.equal(await served(), 'upstream two', 'the proxy was recreated on the new release\'s file');
  });

  test('pruning keeps what `previous` points to (deploy rollback\'s target), besides `current` and the newest', async () => {
    await release('r3', 'r3-20260203000000', 'three', false);
    await release('r4', 'r4-20260204000000', 'four', false);
    assert.equal(readlinkSync(onDroplet('apps/edge/previous')), 'releases/r1-20260201000000');
    await run(acts().pruneReleases, edgeInput());
    assert.deepEqual(readdirSync(onDroplet('apps/edge/releases')).sort(), ['r1-20260201000000', 'r2-20260202000000', 'r3-20260203000000', 'r4-20260204000000']);
    await release('r5', 'r5-20260205000000', 'five', false);
    await run(acts().pruneReleases, edgeInput());
    assert.deepEqual(readdirSync(onDroplet('apps/edge/releases')).sort(), ['r1-20260201000000', 'r2-20260202000000', 'r4-20260204000000', 'r5-20260205000000']);
  });

  test('a release command naming a service the compose files lack is refused while staging, as a configuration error', async () => {
    writeFileSync(path.join(edgeFiles, 'proxy', 'proxy.conf'), 'six\n');
    const err = await run(acts().stageRelease, {
      droplets: [droplet], remote: edge, secrets, concurrency: 1, release: 'r6', releaseId: 'r6-20260206000000', filesDigest: filesDigest(edge.files),
      releaseCommand: { service: 'migrate', on: 'web-1' },
    }).catch((e: unknown) => e);
    assert.ok(err instanceof ApplicationFailure);
    assert.equal(err.type, 'ConfigRefused');
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, /rollout\.releaseCommand\.service "migrate" is not a service of the compose files \(services: proxy\); fix it in the config/);
    assert.equal(await served(), 'upstream two', 'nothing running changed');
  });

  test('the release command runs once per release and one at a time on a droplet: a second start is refused and says why', async () => {
    const dir = 'apps/edge/releases/r2-20260202000000';
    const cmd = (releaseDir: string, command: string) => run(acts().runReleaseCommand, { ...edgeInput(), releaseDir, service: 'proxy', command });
    const first = await cmd(dir, 'echo migrated');
    assert.equal(first.exitCode, 0);
    assert.deepEqual(first.output.filter((l: string) => l === 'migrated'), ['migrated']);
    assert.match(readFileSync(onDroplet(`${dir}/.release-command`), 'utf8'), /^started \S+Z\nexit 0\n$/);
    const again = await cmd(dir, 'echo migrated').catch((e: unknown) => e);
    assert.ok(again instanceof ApplicationFailure);
    assert.equal(again.type, 'ReleaseCommandRefused');
    assert.match(again.message, /not started on web-1: it already started for this release \(started \S+ exit 0 \); an earlier attempt may have run it/);
    // While one runs (a slow migration), another release's command is refused rather than run beside it.
    const slow = cmd('apps/edge/releases/r4-20260204000000', 'sleep 3');
    await new Promise((r) => setTimeout(r, 1500));
    const busy = await cmd('apps/edge/releases/r5-20260205000000', 'echo too-early').catch((e: unknown) => e);
    assert.ok(busy instanceof ApplicationFailure);
    assert.match(busy.message, /another release command is running on this droplet/);
    assert.equal((await slow).exitCode, 0);
  });
});
