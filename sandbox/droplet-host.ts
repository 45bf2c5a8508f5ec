// One sandbox droplet: a real OpenSSH sshd on its own loopback address, with its own /root (a private
// mount namespace binds a directory over it), its own host key, and its own Docker Engine started inside
// that namespace. SSH sessions reach the engine through DOCKER_HOST, which sshd sets for them.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fingerprint } from '../src/remote/known-hosts';
import { startEngine, type Engine } from './docker-engine';
import { ended, stopProcess } from './processes';

export interface DropletHostOptions {
  name: string;
  address: string;
  sshPort: number;
  /** Host directory holding this droplet's root home, keys and config. */
  dir: string;
  /** OpenSSH public key line allowed to log in as root. */
  authorizedKey: string;
  /** Extra environment for SSH sessions (compose files read APP_BOOT_MS and REGISTRY_HOST from it). */
  env?: Record<string, string>;
  /** Container networks of this droplet's engine: 10.78.<poolIndex>.0/24. */
  poolIndex: number;
  /** Compose v2 (`docker compose`) as a CLI plugin; without it the droplet has only Compose v1 (`docker-compose`). */
  composeV2?: boolean;
}

export interface DropletHost {
  name: string;
  address: string;
  sshPort: number;
  /** The droplet's /root as seen from outside. */
  rootDir: string;
  hostKeyFingerprint: string;
  /** "[addr]:port ssh-ed25519 AAAA…" for a known_hosts file. */
  knownHostsLine: string;
  stop(): Promise<void>;
  /** Kill the sshd session processes (every open connection) but keep the listener. */
  dropConnections(): void;
  /** The droplet's own Docker Engine. */
  engine: Engine;
  composeV2: boolean;
}

const COMPOSE_V2 = path.resolve(__dirname, '..', '.tools', 'compose-v2', 'docker-compose');

/** ssh-keygen a fresh ed25519 key pair at `file` (and file.pub), replacing any old one. */
export function generateKeyPair(file: string): { privateKey: string; publicKey: string } {
  rmSync(file, { force: true });
  rmSync(`${file}.pub`, { force: true });
  mkdirSync(path.dirname(file), { recursive: true });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'sandbox', '-f', file]);
  return { privateKey: readFileSync(file, 'utf8'), publicKey: readFileSync(`${file}.pub`, 'utf8').trim() };
}

/** True when something already accepts connections there (a fleet left running, another service). */
export async function portInUse(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port }, () => {
      socket.destroy();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });
}

export async function startDropletHost(opts: DropletHostOptions): Promise<DropletHost> {
  if (await portInUse(opts.address, opts.sshPort)) {
    throw new Error(`${opts.address}:${opts.sshPort} is already in use: is another sandbox fleet running? (npm run sandbox -- down)`);
  }
  const rootDir = path.join(opts.dir, 'root');
  const etc = path.join(opts.dir, 'etc');
  mkdirSync(path.join(rootDir, '.ssh'), { recursive: true });
  mkdirSync(etc, { recursive: true });
  mkdirSync('/run/sshd', { recursive: true }); // sshd's privilege-separation directory
  chmodSync(path.join(rootDir, '.ssh'), 0o700);
  writeFileSync(path.join(rootDir, '.ssh', 'authorized_keys'), `${opts.authorizedKey}\n`, { mode: 0o600 });
  const hostKey = path.join(etc, 'ssh_host_ed25519_key');
  if (!existsSync(hostKey)) generateKeyPair(hostKey);
  const hostPub = readFileSync(`${hostKey}.pub`, 'utf8').trim().split(/\s+/);
  const composeV2 = opts.composeV2 ?? true;
  const plugins = path.join(rootDir, '.docker', 'cli-plugins');
  rmSync(plugins, { recursive: true, force: true });
  if (composeV2) {
    if (!existsSync(COMPOSE_V2)) throw new Error(`${COMPOSE_V2} is missing: run npm run setup`);
    mkdirSync(plugins, { recursive: true });
    symlinkSync(COMPOSE_V2, path.join(plugins, 'docker-compose'));
  }
  const engineId = `${path.basename(path.dirname(opts.dir))}-${opts.name}`;
  const env = {
    PATH: `${path.dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    DROPLET_NAME: opts.name, DROPLET_ADDRESS: opts.address, DOCKER_HOST: `unix://${path.join(opts.dir, 'docker.sock')}`, ...opts.env,
  };
  const config = [
    `Port ${opts.sshPort}`, `ListenAddress ${opts.address}`, `HostKey ${hostKey}`, `PidFile ${path.join(opts.dir, 'sshd.pid')}`,
    'AuthorizedKeysFile /root/.ssh/authorized_keys', 'PermitRootLogin prohibit-password', 'PasswordAuthentication no',
    'KbdInteractiveAuthentication no', 'UsePAM no', 'StrictModes no', 'Subsystem sftp internal-sftp', 'LogLevel ERROR',
    'MaxStartups 100', 'MaxSessions 50', `SetEnv ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`,
  ].join('\n');
  const configFile = path.join(etc, 'sshd_config');
  writeFileSync(configFile, `${config}\n`);
  const proc: ChildProcess = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'sh', '-c',
    `mount --bind "$1" /root && exec /usr/sbin/sshd -D -e -f "$2"`, 'sh', rootDir, configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  proc.stderr?.on('data', (c) => (stderr += c));
  await waitForPort(opts.address, opts.sshPort, 10_000, () => (ended(proc) ? `sshd for ${opts.name} exited: ${stderr}` : undefined));

  let engine: Engine;
  try {
    engine = await startEngine({ id: engineId, dir: opts.dir, poolIndex: opts.poolIndex, mountNamespaceOf: proc.pid });
  } catch (err) {
    proc.kill('SIGTERM');
    throw err;
  }
  return {
    name: opts.name,
    address: opts.address,
    sshPort: opts.sshPort,
    rootDir,
    hostKeyFingerprint: fingerprint(Buffer.from(hostPub[1], 'base64')),
    knownHostsLine: `[${opts.address}]:${opts.sshPort} ${hostPub[0]} ${hostPub[1]}`,
    dropConnections() {
      // unshare and sh exec into sshd, so proc.pid is the listener; its children are the sessions.
      if (!proc.pid) return;
      try {
        execFileSync('pkill', ['-9', '-P', String(proc.pid)], { stdio: 'ignore' });
      } catch {
        // no session open
      }
    },
    engine,
    composeV2,
    async stop() {
      await engine.stop();
      await stopProcess(proc);
    },
  };
}

export async function waitForPort(host: string, port: number, timeoutMs: number, failed?: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const why = failed?.();
    if (why) throw new Error(why);
    if (await portInUse(host, port)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${host}:${port} did not open within ${timeoutMs} ms`);
}
