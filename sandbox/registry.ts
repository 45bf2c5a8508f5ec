// The fleet's container registry: Debian's docker-registry with htpasswd (bcrypt) auth on the fleet's
// loopback subnet, plain HTTP (dockerd treats 127.0.0.0/8 registries as insecure by default). Its storage
// is kept in .cache/registry, so images built once serve every later fleet.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { waitForPort } from './droplet-host';
import { ended, stopProcess } from './processes';

export const REGISTRY_USER = 'deployer';
export const REGISTRY_PORT = 5000;

export interface Registry {
  /** host:port, as it appears in image names and in `docker login`. */
  server: string;
  /** Does the registry hold this tag of this repository? */
  hasTag(repository: string, tag: string): Promise<boolean>;
  stop(): Promise<void>;
}

export async function startRegistry(opts: { address: string; dir: string; storage: string; password: string }): Promise<Registry> {
  mkdirSync(opts.dir, { recursive: true });
  mkdirSync(opts.storage, { recursive: true });
  const htpasswd = path.join(opts.dir, 'htpasswd');
  writeFileSync(htpasswd, execFileSync('htpasswd', ['-nbB', REGISTRY_USER, opts.password]));
  const server = `${opts.address}:${REGISTRY_PORT}`;
  const config = path.join(opts.dir, 'config.yml');
  writeFileSync(config, [
    'version: 0.1',
    'log: {level: error, accesslog: {disabled: true}}',
    `storage: {filesystem: {rootdirectory: ${JSON.stringify(opts.storage)}}}`,
    `http: {addr: "${server}", secret: sandbox-not-a-secret}`,
    `auth: {htpasswd: {realm: sandbox-registry, path: ${JSON.stringify(htpasswd)}}}`,
  ].join('\n'));
  const proc: ChildProcess = spawn('docker-registry', ['serve', config], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (c) => (stderr += c));
  await waitForPort(opts.address, REGISTRY_PORT, 10_000, () => (ended(proc) ? `docker-registry exited: ${stderr}` : undefined));
  const auth = `Basic ${Buffer.from(`${REGISTRY_USER}:${opts.password}`).toString('base64')}`;
  return {
    server,
    async hasTag(repository, tag) {
      const res = await fetch(`http://${server}/v2/${repository}/manifests/${tag}`, {
        method: 'HEAD', headers: { authorization: auth, accept: 'application/vnd.docker.distribution.manifest.v2+json' },
      });
      return res.status === 200;
    },
    stop: () => stopProcess(proc),
  };
}
