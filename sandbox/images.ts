// The sample app's images, built offline: a base image imported from this machine's busybox and node
// (no outside registry is reachable), then one image per release from sandbox/image/. A builder engine
// whose data root is kept in .cache/ builds and pushes only the tags the registry does not hold yet.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync, chmodSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEngine, type Engine } from './docker-engine';
import { REGISTRY_USER, type Registry } from './registry';

export const APP_REPOSITORY = 'sample-app';
export const BASE_IMAGE = 'sandbox/node-base:1';
const IMAGE_DIR = path.join(__dirname, 'image');
const CACHE = path.resolve(__dirname, '..', '.cache');

/** Registry storage for the current image sources: a change to the app or the Dockerfile starts a fresh one. */
export function registryStorage(): string {
  const hash = createHash('sha256');
  for (const f of ['app.mjs', 'Dockerfile']) hash.update(readFileSync(path.join(IMAGE_DIR, f)));
  hash.update(process.version);
  const dir = path.join(CACHE, `registry-${hash.digest('hex').slice(0, 12)}`);
  if (existsSync(CACHE)) {
    for (const old of readdirSync(CACHE).filter((d) => d.startsWith('registry-') && path.join(CACHE, d) !== dir)) rmSync(path.join(CACHE, old), { recursive: true, force: true });
  }
  return dir;
}

let building: Promise<void> = Promise.resolve();

/** Make sure the registry holds an image for each release tag (built and pushed if missing). */
export function publishReleases(registry: Registry, password: string, tags: string[], log: (line: string) => void = () => undefined): Promise<void> {
  const next = building.then(async () => {
    const missing: string[] = [];
    for (const tag of [...new Set(tags)]) if (!(await registry.hasTag(APP_REPOSITORY, tag))) missing.push(tag);
    if (!missing.length) return;
    log(`building and pushing ${APP_REPOSITORY}:${missing.join(', ')} to ${registry.server}`);
    const engine = await startEngine({ id: `builder-${process.pid}`, dir: path.join(CACHE, 'docker-builder'), poolIndex: 250 });
    const dockerConfig = mkdtempSync(path.join(os.tmpdir(), 'sandbox-builder-'));
    try {
      if (!(await engine.docker(['images', '-q', BASE_IMAGE])).trim()) await importBaseImage(engine);
      const env = { DOCKER_CONFIG: dockerConfig };
      await engine.docker(['login', registry.server, '-u', REGISTRY_USER, '--password-stdin'], { env, input: password });
      for (const tag of missing) {
        const image = `${registry.server}/${APP_REPOSITORY}:${tag}`;
        await engine.docker(['build', '-q', '--build-arg', `RELEASE=${tag}`, '-t', image, IMAGE_DIR], { env });
        await engine.docker(['push', '-q', image], { env });
      }
    } finally {
      rmSync(dockerConfig, { recursive: true, force: true });
      await engine.stop();
    }
  });
  building = next.catch(() => undefined);
  return next;
}

/**
 * busybox (sh, wget for healthchecks) and node with the libraries it links, imported as one layer. `linkedBy`
 * adds the libraries of native modules too (the worker image's Temporal core bridge), under another `tag`.
 */
export async function importBaseImage(engine: Engine, opts: { tag?: string; linkedBy?: string[] } = {}): Promise<void> {
  const root = mkdtempSync(path.join(os.tmpdir(), 'sandbox-rootfs-'));
  try {
    for (const d of ['bin', 'usr/bin', 'etc', 'tmp', 'app', 'data', 'proc', 'sys', 'dev']) mkdirSync(path.join(root, d), { recursive: true });
    chmodSync(path.join(root, 'tmp'), 0o1777);
    cpSync('/bin/busybox', path.join(root, 'bin', 'busybox'));
    for (const applet of ['sh', 'wget', 'cat', 'ls', 'env', 'sleep', 'echo', 'ps', 'kill', 'rm', 'mkdir']) symlinkSync('busybox', path.join(root, 'bin', applet));
    const node = realpathSync(process.execPath);
    cpSync(node, path.join(root, 'usr', 'bin', 'node'));
    const libs = new Set([node, ...(opts.linkedBy ?? [])].flatMap((bin) => execFileSync('ldd', [bin], { encoding: 'utf8' }).match(/\/lib[^\s]*/g) ?? []));
    for (const lib of libs) {
      mkdirSync(path.join(root, path.dirname(lib)), { recursive: true });
      cpSync(realpathSync(lib), path.join(root, lib));
    }
    writeFileSync(path.join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(path.join(root, 'etc', 'group'), 'root:x:0:\n');
    execFileSync('sh', ['-c', `tar -C "$1" -c . | docker -H "$2" import -c 'ENV PATH=/usr/bin:/bin' - "$3"`, 'sh', root, engine.host, opts.tag ?? BASE_IMAGE], { stdio: 'ignore' });
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
